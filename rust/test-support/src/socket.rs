//! Driving a [`SocketServer`]: the harness calls, the client side of the
//! wire, and the actions a test expects.

use std::collections::HashMap;

use engineio_core::{Action as EngineAction, CloseReason, Engine, EngineConfig, ReqId, Transport};
use socketio_core::{Action, DisconnectReason, SocketConfig, SocketServer};

pub use crate::actions::*;
use crate::engine;

/// A Socket.IO server driven by a fake clock.
pub type Harness = crate::Harness<SocketServer>;

/// The placeholder of the first binary argument of an event.
pub const PLACEHOLDER_0: &str = r#"{"_placeholder":true,"num":0}"#;
/// The placeholder of the second binary argument of an event.
pub const PLACEHOLDER_1: &str = r#"{"_placeholder":true,"num":1}"#;

impl crate::Harness<SocketServer> {
    /// A server with these options.
    pub fn new(engine: EngineConfig, socket: SocketConfig) -> Self {
        Self::driving(SocketServer::new(Engine::new(engine), socket))
    }

    /// A server with the default options.
    pub fn default_config() -> Self {
        Self::new(EngineConfig::default(), SocketConfig::default())
    }

    /// A server whose connect timeout is `ms`.
    pub fn with_connect_timeout(ms: u64) -> Self {
        Self::new(
            EngineConfig::default(),
            SocketConfig {
                connect_timeout: ms,
                ..SocketConfig::default()
            },
        )
    }

    // ---- engine entry points ------------------------------------------------

    /// Opens a WebSocket session; returns its sid and the actions.
    pub fn open_ws_actions(&mut self) -> (String, Vec<Action>) {
        let random = self.random();
        let actions = self
            .server
            .open(self.now, Transport::WebSocket, None, &random);
        checked(&actions);
        let sid = opened_sid(&actions);
        (sid, actions)
    }

    /// Opens a WebSocket session.
    pub fn open_ws(&mut self) -> String {
        self.open_ws_actions().0
    }

    /// Opens a polling session (the handshake GET is answered).
    pub fn open_polling(&mut self) -> String {
        let req = self.req();
        let random = self.random();
        let actions = self
            .server
            .open(self.now, Transport::Polling, Some(req), &random);
        checked(&actions);
        assert!(body_of(&actions, req).is_some_and(|b| b.starts_with("0{")));
        opened_sid(&actions)
    }

    /// Does what the driver does with a `CloseConnection` action: closes the
    /// engine session right there, its actions taking the place of the request.
    pub fn drive(&mut self, actions: Vec<Action>) -> Vec<Action> {
        let actions = unstored(actions);
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            if let Action::CloseConnection { sid } = &a {
                let closed = unstored(self.server.close(self.now, sid));
                out.push(a);
                out.extend(closed);
            } else {
                out.push(a);
            }
        }
        out
    }

    /// A text frame from the client on the WebSocket of `sid`.
    pub fn ws_text(&mut self, sid: &str, text: &str) -> Vec<Action> {
        let actions = self.server.ws_text(self.now, sid, text);
        let actions = self.drive(actions);
        checked(&actions);
        actions
    }

    /// A binary frame from the client on the WebSocket of `sid`.
    pub fn ws_binary(&mut self, sid: &str, bytes: &[u8]) -> Vec<Action> {
        let actions = self.server.ws_binary(self.now, sid, bytes);
        let actions = self.drive(actions);
        checked(&actions);
        actions
    }

    /// The WebSocket of `sid` closed (failed, with `error`).
    pub fn ws_closed(&mut self, sid: &str, error: bool) -> Vec<Action> {
        let actions = unstored(self.server.ws_closed(self.now, sid, error));
        checked(&actions);
        actions
    }

    /// A long-polling POST with a raw body; returns its id and the actions.
    pub fn post_raw(&mut self, sid: &str, body: &[u8]) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.server.post(self.now, sid, req, None, body);
        let actions = self.drive(actions);
        checked(&actions);
        (req, actions)
    }

    /// A long-polling GET; returns its id and the actions (none when held).
    pub fn poll(&mut self, sid: &str) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.server.poll(self.now, sid, req);
        checked(&actions);
        (req, actions)
    }

    /// A long-polling GET answered at once: its body.
    pub fn get(&mut self, sid: &str) -> String {
        let (req, actions) = self.poll(sid);
        body_of(&actions, req).unwrap_or_else(|| panic!("GET was held: {actions:?}"))
    }

    /// Answers the held GETs that have data waiting.
    pub fn flush(&mut self) -> Vec<Action> {
        let actions = self.server.flush(self.now);
        checked(&actions);
        actions
    }

    /// The alarm fires.
    pub fn tick(&mut self) -> Vec<Action> {
        let actions = unstored(self.server.tick(self.now));
        checked(&actions);
        actions
    }

    // ---- the client side ------------------------------------------------------

    fn transport(&self, sid: &str) -> Transport {
        self.server
            .engine()
            .transport_of(sid)
            .unwrap_or(Transport::WebSocket)
    }

    /// The client sends a Socket.IO packet (the Engine.IO `4` is added) on
    /// its current transport.
    pub fn send(&mut self, sid: &str, packet: &str) -> Vec<Action> {
        let message = format!("4{packet}");
        match self.transport(sid) {
            Transport::WebSocket => self.ws_text(sid, &message),
            Transport::Polling => self.post_raw(sid, message.as_bytes()).1,
        }
    }

    /// The client sends a binary attachment on its current transport.
    pub fn send_binary(&mut self, sid: &str, bytes: &[u8]) -> Vec<Action> {
        match self.transport(sid) {
            Transport::WebSocket => self.ws_binary(sid, bytes),
            Transport::Polling => self.post_raw(sid, b64(bytes).as_bytes()).1,
        }
    }

    /// Joins `nsp` and accepts it; returns the socket id. Over polling the
    /// CONNECT answer is read with a GET.
    pub fn join(&mut self, sid: &str, nsp: &str) -> String {
        let packet = if nsp == "/" {
            "0".to_owned()
        } else {
            format!("0{nsp},")
        };
        let actions = self.send(sid, &packet);
        assert!(
            actions.contains(&Action::Connect {
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
                auth: None,
            }),
            "{actions:?}"
        );
        let random = self.random();
        let (id, actions) = self
            .server
            .accept(self.now, sid, nsp, &random)
            .unwrap_or_else(|| panic!("the CONNECT of {sid} to {nsp} is refused"));
        let actions = unstored(actions);
        checked(&actions);
        let expected = connect_frame(nsp, &id);
        match self.transport(sid) {
            Transport::WebSocket => assert_eq!(actions, vec![ws_text_action(sid, &expected)]),
            Transport::Polling => {
                assert!(actions.is_empty(), "{actions:?}");
                assert_eq!(self.get(sid), format!("4{expected}"));
            }
        }
        id
    }

    /// Opens a WebSocket session and joins `nsp`: (sid, socket id).
    pub fn ws_socket(&mut self, nsp: &str) -> (String, String) {
        let sid = self.open_ws();
        let id = self.join(&sid, nsp);
        (sid, id)
    }

    /// Opens a polling session and joins `nsp`: (sid, socket id).
    pub fn polling_socket(&mut self, nsp: &str) -> (String, String) {
        let sid = self.open_polling();
        let id = self.join(&sid, nsp);
        (sid, id)
    }

    /// Whether socket `id` is connected.
    pub fn is_connected(&self, id: &str) -> bool {
        !self.server.rooms_of(id).is_empty()
    }

    /// The socket ids of `nsp`, sorted.
    pub fn sockets_of(&self, nsp: &str) -> Vec<String> {
        sorted(self.server.sockets_in(nsp, &[], &[]))
    }
}

/// The CONNECT answer for socket `id` on `nsp` (without the Engine.IO `4`).
pub fn connect_frame(nsp: &str, id: &str) -> String {
    if nsp == "/" {
        format!("0{{\"sid\":\"{id}\"}}")
    } else {
        format!("0{nsp},{{\"sid\":\"{id}\"}}")
    }
}

/// The actions without the storage changes (tested on their own).
pub fn unstored(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Store(_)))
        .collect()
}

/// Panics on actions the socket layer must never let through.
pub fn checked(actions: &[Action]) {
    for a in actions {
        assert!(
            !matches!(a, Action::Engine(EngineAction::Message { .. })),
            "an engine message leaked: {a:?}"
        );
    }
}

/// The sid of the session that `actions` opened (their first action).
pub fn opened_sid(actions: &[Action]) -> String {
    match actions.first() {
        Some(Action::Engine(EngineAction::Opened { sid, .. })) => sid.clone(),
        other => panic!("expected Opened first, got {other:?}"),
    }
}

// ---- expected actions -----------------------------------------------------

/// Socket.IO packet `text` (the Engine.IO `4` added) to the WebSocket of `sid`.
pub fn ws_text_action(sid: &str, text: &str) -> Action {
    Action::Engine(engine::ws_text_frame(sid, &format!("4{text}")))
}

/// A binary attachment to the WebSocket of `sid`.
pub fn ws_binary_action(sid: &str, bytes: &[u8]) -> Action {
    Action::Engine(engine::ws_binary_frame(sid, bytes))
}

/// The WebSocket of `sid` closes with `code` and `reason`.
pub fn ws_close_action(sid: &str, code: u16, reason: &'static str) -> Action {
    Action::Engine(engine::ws_close(sid, code, reason))
}

/// Engine session `sid` closed for `reason`.
pub fn closed_action(sid: &str, reason: CloseReason) -> Action {
    Action::Engine(engine::closed(sid, reason))
}

/// Socket `id` left for `reason`.
pub fn disconnect_action(id: &str, reason: DisconnectReason) -> Action {
    Action::Disconnect {
        socket_id: id.to_owned(),
        reason,
    }
}

/// An event for socket `id`.
pub fn event_action(id: &str, data: &str, ack_id: Option<u64>, binaries: &[&[u8]]) -> Action {
    Action::Event {
        socket_id: id.to_owned(),
        data: data.to_owned(),
        ack_id,
        binaries: binaries.iter().map(|b| b.to_vec()).collect(),
    }
}

/// The `200 ok` answer to a POST.
pub fn ok_action(req: ReqId) -> Action {
    Action::Engine(engine::ok(req))
}

// ---- accessors ------------------------------------------------------------

/// The `Disconnect` actions: (socket id, reason).
pub fn disconnects(actions: &[Action]) -> Vec<(String, DisconnectReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Disconnect { socket_id, reason } => Some((socket_id.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// Tracks which socket belongs to which session across a run of actions,
/// checking that a session never closes with sockets left.
#[derive(Default)]
pub struct Ledger {
    /// Socket id → its engine session.
    pub sockets: HashMap<String, String>,
}

impl Ledger {
    /// Socket `id` joined over session `sid`.
    pub fn add(&mut self, id: &str, sid: &str) {
        self.sockets.insert(id.to_owned(), sid.to_owned());
    }

    /// Follows the disconnects and closes of `actions`.
    pub fn apply(&mut self, actions: &[Action]) {
        for a in actions {
            match a {
                Action::Disconnect { socket_id, .. } => {
                    assert!(
                        self.sockets.remove(socket_id).is_some(),
                        "unknown or repeated disconnect of {socket_id}"
                    );
                }
                Action::Engine(EngineAction::Closed { sid, .. }) => {
                    assert!(
                        self.sockets.values().all(|s| s != sid),
                        "session {sid} closed with sockets left"
                    );
                }
                _ => {}
            }
        }
    }
}
