//! Shared helpers for the integration tests of the Socket.IO server: a fake
//! clock, request ids, distinct random bytes, a client side that speaks the
//! wire format over WebSocket or long-polling, and accessors over actions.

#![allow(dead_code)]

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use engineio_core::{
    Action as EngineAction, CloseReason, ContentType, Engine, EngineConfig, Frame, ReqId,
    Transport, SID_RANDOM_BYTES,
};
use socketio_core::{Action, DisconnectReason, SocketConfig, SocketServer};

/// A Socket.IO server driven by a fake clock.
pub struct Harness {
    pub server: SocketServer,
    pub now: u64,
    next_req: ReqId,
    seed: u64,
}

impl Harness {
    pub fn new(engine: EngineConfig, socket: SocketConfig) -> Self {
        Harness {
            server: SocketServer::new(Engine::new(engine), socket),
            now: 1_000,
            next_req: 1,
            seed: 0,
        }
    }

    pub fn default_config() -> Self {
        Self::new(EngineConfig::default(), SocketConfig::default())
    }

    /// A server whose connect timeout is `ms`.
    pub fn with_connect_timeout(ms: u64) -> Self {
        Self::new(
            EngineConfig::default(),
            SocketConfig {
                connect_timeout: ms,
            },
        )
    }

    /// Starts the random bytes elsewhere, so that ids do not collide with
    /// those of another harness.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Moves the fake clock forward.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// A fresh request id.
    pub fn req(&mut self) -> ReqId {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    /// Random bytes, different on every call.
    pub fn random(&mut self) -> [u8; SID_RANDOM_BYTES] {
        self.seed += 1;
        let mut r = [0u8; SID_RANDOM_BYTES];
        r[..8].copy_from_slice(&self.seed.to_le_bytes());
        for (i, b) in r[8..].iter_mut().enumerate() {
            *b = 0xa5 ^ (i as u8).wrapping_mul(37);
        }
        r
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

    pub fn ws_text(&mut self, sid: &str, text: &str) -> Vec<Action> {
        let actions = self.server.ws_text(self.now, sid, text);
        let actions = self.drive(actions);
        checked(&actions);
        actions
    }

    pub fn ws_binary(&mut self, sid: &str, bytes: &[u8]) -> Vec<Action> {
        let actions = self.server.ws_binary(self.now, sid, bytes);
        let actions = self.drive(actions);
        checked(&actions);
        actions
    }

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

    pub fn flush(&mut self) -> Vec<Action> {
        let actions = self.server.flush(self.now);
        checked(&actions);
        actions
    }

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
            Transport::Polling => {
                let body = format!("b{}", BASE64.encode(bytes));
                self.post_raw(sid, body.as_bytes()).1
            }
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
            .expect("the CONNECT is accepted");
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

/// Panics on actions the socket layer must never let through.
/// The actions without the storage changes (tested on their own).
pub fn unstored(actions: Vec<Action>) -> Vec<Action> {
    actions
        .into_iter()
        .filter(|a| !matches!(a, Action::Store(_)))
        .collect()
}

pub fn checked(actions: &[Action]) {
    for a in actions {
        assert!(
            !matches!(a, Action::Engine(EngineAction::Message { .. })),
            "an engine message leaked: {a:?}"
        );
    }
}

pub fn opened_sid(actions: &[Action]) -> String {
    match actions.first() {
        Some(Action::Engine(EngineAction::Opened { sid, .. })) => sid.clone(),
        other => panic!("expected Opened first, got {other:?}"),
    }
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

// ---- expected actions -----------------------------------------------------

pub fn ws_text_action(sid: &str, text: &str) -> Action {
    Action::Engine(EngineAction::WsSend {
        sid: sid.to_owned(),
        frame: Frame::Text(format!("4{text}")),
    })
}

pub fn ws_binary_action(sid: &str, bytes: &[u8]) -> Action {
    Action::Engine(EngineAction::WsSend {
        sid: sid.to_owned(),
        frame: Frame::Binary(bytes.to_vec()),
    })
}

pub fn ws_close_action(sid: &str, code: u16, reason: &'static str) -> Action {
    Action::Engine(EngineAction::WsClose {
        sid: sid.to_owned(),
        code,
        reason,
    })
}

pub fn closed_action(sid: &str, reason: CloseReason) -> Action {
    Action::Engine(EngineAction::Closed {
        sid: sid.to_owned(),
        reason,
    })
}

pub fn disconnect_action(id: &str, reason: DisconnectReason) -> Action {
    Action::Disconnect {
        socket_id: id.to_owned(),
        reason,
    }
}

pub fn event_action(id: &str, data: &str, ack_id: Option<u64>, binaries: &[&[u8]]) -> Action {
    Action::Event {
        socket_id: id.to_owned(),
        data: data.to_owned(),
        ack_id,
        binaries: binaries.iter().map(|b| b.to_vec()).collect(),
    }
}

pub fn ok_action(req: ReqId) -> Action {
    Action::Engine(EngineAction::Respond {
        req,
        status: 200,
        content_type: ContentType::Ok,
        body: "ok".to_owned(),
    })
}

// ---- accessors ------------------------------------------------------------

/// The frames that go out on the WebSocket of `sid`, single or broadcast.
pub fn frames_to(actions: &[Action], sid: &str) -> Vec<Frame> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineAction::WsSend { sid: s, frame }) if s == sid => {
                Some(frame.clone())
            }
            Action::Engine(EngineAction::WsSendMany { sids, frame })
                if sids.iter().any(|s| s == sid) =>
            {
                Some(frame.clone())
            }
            _ => None,
        })
        .collect()
}

/// The text frames that go out on the WebSocket of `sid`.
pub fn texts_to(actions: &[Action], sid: &str) -> Vec<String> {
    frames_to(actions, sid)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Text(t) => Some(t),
            Frame::Binary(_) => None,
        })
        .collect()
}

/// The `WsSendMany` actions: (sorted sids, frame).
pub fn send_many(actions: &[Action]) -> Vec<(Vec<String>, Frame)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineAction::WsSendMany { sids, frame }) => {
                Some((sorted(sids.clone()), frame.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The body of the answer to `req`, if any.
pub fn body_of(actions: &[Action], req: ReqId) -> Option<String> {
    actions.iter().find_map(|a| match a {
        Action::Engine(EngineAction::Respond { req: r, body, .. }) if *r == req => {
            Some(body.clone())
        }
        _ => None,
    })
}

/// The `Disconnect` actions.
pub fn disconnects(actions: &[Action]) -> Vec<(String, DisconnectReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Disconnect { socket_id, reason } => Some((socket_id.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// The engine `Closed` actions.
pub fn closes(actions: &[Action]) -> Vec<(String, CloseReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineAction::Closed { sid, reason }) => Some((sid.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// The alarm times requested.
pub fn alarms(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineAction::SetAlarm { at }) => Some(*at),
            _ => None,
        })
        .collect()
}

/// The alarm the driver ends up with: it sets them in order.
pub fn effective_alarm(actions: &[Action]) -> Option<u64> {
    alarms(actions).last().copied()
}

/// The actions that are neither alarms nor snapshots.
pub fn essential(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|a| {
            !matches!(
                a,
                Action::Engine(EngineAction::SetAlarm { .. } | EngineAction::Persist(_))
            )
        })
        .cloned()
        .collect()
}

/// Index of the first action matching `pred`.
pub fn index_of(actions: &[Action], pred: impl Fn(&Action) -> bool) -> usize {
    actions
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such action in {actions:?}"))
}

/// Splits a polling payload into its packets.
pub fn packets(body: &str) -> Vec<String> {
    body.split('\x1e').map(str::to_owned).collect()
}

/// `b<base64>` as in a polling payload.
pub fn b64(bytes: &[u8]) -> String {
    format!("b{}", BASE64.encode(bytes))
}

/// Tracks which socket belongs to which session across a run of actions,
/// checking that a session never closes with sockets left.
#[derive(Default)]
pub struct Ledger {
    pub sockets: HashMap<String, String>,
}

impl Ledger {
    pub fn add(&mut self, id: &str, sid: &str) {
        self.sockets.insert(id.to_owned(), sid.to_owned());
    }

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

/// Pairs sorted by their first element.
pub fn by_first<T>(mut v: Vec<(String, T)>) -> Vec<(String, T)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
