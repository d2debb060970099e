//! The Engine.IO server state machine.
//!
//! The [`Engine`] owns every session of one server. The driver (the Durable
//! Object shim) calls it with the current time and what arrived; each call
//! returns the [`Action`]s to carry out, in order. The engine never reads a
//! clock, never sleeps and never does I/O.

use std::collections::{HashMap, VecDeque};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::error::RequestError;
use crate::packet::{Data, Frame, Packet, PacketType};
use crate::payload;

/// Identifies one HTTP request held by the driver, so that the engine can
/// answer it later (a long-polling GET waits for data).
pub type ReqId = u32;

/// Number of random bytes a session id is made of (20 base64url characters).
pub const SID_RANDOM_BYTES: usize = 15;

/// A transport of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    #[serde(rename = "websocket")]
    WebSocket,
}

/// The HTTP method of a request, as far as Engine.IO distinguishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// Any other method.
    Other,
}

/// What the engine needs to know of an HTTP request to route it.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    /// The request method.
    pub method: Method,
    /// The `transport` query parameter.
    pub transport: Option<&'a str>,
    /// The `EIO` query parameter.
    pub eio: Option<&'a str>,
    /// The `sid` query parameter.
    pub sid: Option<&'a str>,
    /// Whether the request asks for a WebSocket upgrade (`Upgrade: websocket`).
    pub websocket_upgrade: bool,
}

/// Where a valid request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A new session over this transport (the app's `allowRequest` runs first).
    Handshake(Transport),
    /// A long-polling GET of an existing session.
    Poll(String),
    /// A long-polling POST of an existing session.
    Post(String),
    /// A WebSocket upgrade of an existing polling session.
    Upgrade(String),
    /// A WebSocket for a session that is already upgrading or on WebSocket:
    /// accepted and closed at once, as the reference server does.
    CloseAtOnce(String),
}

/// Why a session closed, with Socket.IO's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloseReason {
    /// The client closed the transport or sent a close packet.
    TransportClose,
    /// The transport failed (overlapping requests, oversized message, ...).
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent a malformed packet.
    ParseError,
    /// The server closed the session.
    ForcedClose,
}

impl CloseReason {
    /// The reason as Socket.IO reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

/// The body type of an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `text/plain; charset=UTF-8`: a polling payload.
    Payload,
    /// `text/html`: the `ok` answer to a POST.
    Ok,
    /// `application/json`: an error.
    Json,
    /// No body.
    Empty,
}

/// The part of a WebSocket session that must outlive the engine's memory
/// (kept by the driver next to the WebSocket, e.g. in its attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The session id.
    pub sid: String,
    /// When the next ping is due.
    pub next_ping_at: u64,
    /// When an unanswered ping expires, if one is outstanding.
    pub pong_deadline: Option<u64>,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A session opened.
    Opened {
        /// The new session id.
        sid: String,
        /// Its first transport.
        transport: Transport,
    },
    /// A message arrived from the client.
    Message {
        /// The session.
        sid: String,
        /// The message.
        data: Data,
    },
    /// A session closed; it is gone from the engine.
    Closed {
        /// The session.
        sid: String,
        /// Why.
        reason: CloseReason,
    },
    /// Answer a held HTTP request.
    Respond {
        /// The request.
        req: ReqId,
        /// HTTP status.
        status: u16,
        /// Body type.
        content_type: ContentType,
        /// Body.
        body: String,
    },
    /// Send a frame on the session's WebSocket.
    WsSend {
        /// The session.
        sid: String,
        /// The frame.
        frame: Frame,
    },
    /// Send one frame on the WebSockets of several sessions (a broadcast,
    /// encoded once).
    WsSendMany {
        /// The sessions.
        sids: Vec<String>,
        /// The frame.
        frame: Frame,
    },
    /// Close the session's WebSocket.
    WsClose {
        /// The session.
        sid: String,
        /// WebSocket close code.
        code: u16,
        /// Close reason text.
        reason: &'static str,
    },
    /// Store this snapshot with the session's WebSocket.
    Persist(Snapshot),
    /// Schedule the next wake-up (one alarm for all sessions).
    SetAlarm {
        /// Time of the alarm.
        at: u64,
    },
}

#[derive(Debug)]
enum UpgradeState {
    /// No upgrade in progress.
    None,
    /// A WebSocket is attached and waits for `2probe`.
    Probing,
    /// `3probe` was sent; waiting for `5`. A polling GET held at the probe
    /// (or arriving after it) gets a noop [`UPGRADE_NOOP_DELAY`] later, so
    /// that the client can pause polling; packets sent before that still go
    /// over polling.
    Upgrading {
        /// When a held GET gets its noop; `None` once sent, until the next GET.
        noop_at: Option<u64>,
    },
}

/// How long after the probe a held polling GET gets a noop, in milliseconds
/// (the reference server checks every 100 ms).
pub const UPGRADE_NOOP_DELAY: u64 = 100;

#[derive(Debug)]
struct Session {
    transport: Transport,
    upgrade: UpgradeState,
    upgrade_deadline: Option<u64>,
    /// Packets waiting for a polling GET.
    buffer: Vec<Packet>,
    /// The held polling GET, if any.
    pending_get: Option<ReqId>,
    next_ping_at: u64,
    pong_deadline: Option<u64>,
}

impl Session {
    fn next_deadline(&self) -> u64 {
        // While a pong is awaited no ping is due: with a pingTimeout longer than
        // the pingInterval, the next ping time passes first and would ask for
        // alarms in the past, one after another, until the deadline.
        let mut t = self.pong_deadline.unwrap_or(self.next_ping_at);
        if let Some(d) = self.upgrade_deadline {
            t = t.min(d);
        }
        if let UpgradeState::Upgrading { noop_at: Some(at) } = self.upgrade {
            t = t.min(at);
        }
        t
    }
}

/// What a closed polling session still owes its client: the packets buffered
/// when the server closed it, then the close packet, one payload per GET.
#[derive(Debug)]
struct Draining {
    payloads: VecDeque<Vec<Packet>>,
    /// An upgrade had reached its probe: a `5` on that WebSocket takes the
    /// packets instead, as the reference server finishes the upgrade first.
    upgrading: bool,
    /// Set by the first tick after the close; the packets are dropped after it.
    deadline: Option<u64>,
}

/// The Engine.IO server: all sessions of one Durable Object.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    sessions: HashMap<String, Session>,
    /// The alarm the driver has set, as far as the engine knows.
    alarm_at: Option<u64>,
    /// Polling sessions with buffered packets and a held GET.
    dirty: Vec<String>,
    /// Polling sessions closed by the server with packets still to deliver.
    draining: HashMap<String, Draining>,
}

impl Engine {
    /// A server with no sessions.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            sessions: HashMap::new(),
            alarm_at: None,
            dirty: Vec::new(),
            draining: HashMap::new(),
        }
    }

    /// The options.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Number of open sessions.
    pub fn clients_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `sid` is an open session.
    pub fn has_session(&self, sid: &str) -> bool {
        self.sessions.contains_key(sid)
    }

    /// The transport of an open session.
    pub fn transport_of(&self, sid: &str) -> Option<Transport> {
        self.sessions.get(sid).map(|s| s.transport)
    }

    /// Tells the engine which alarm is currently set (after a restart).
    pub fn set_known_alarm(&mut self, at: Option<u64>) {
        self.alarm_at = at;
    }

    /// Routes a request, refusing it like the reference server does.
    pub fn classify(&self, req: &RequestInfo<'_>) -> Result<Route, RequestError> {
        let transport = match req.transport {
            Some("polling") if self.config.polling => Transport::Polling,
            Some("websocket") if self.config.websocket => Transport::WebSocket,
            _ => return Err(RequestError::UnknownTransport),
        };
        if let Some(sid) = req.sid {
            if transport == Transport::Polling
                && req.method == Method::Get
                && self.draining.contains_key(sid)
            {
                return Ok(Route::Poll(sid.to_owned()));
            }
            let session = self.sessions.get(sid).ok_or(RequestError::UnknownSid)?;
            return match transport {
                Transport::WebSocket if req.websocket_upgrade => {
                    if !self.config.allow_upgrades {
                        Err(RequestError::BadRequest)
                    } else if session.transport == Transport::Polling
                        && matches!(session.upgrade, UpgradeState::None)
                    {
                        Ok(Route::Upgrade(sid.to_owned()))
                    } else {
                        Ok(Route::CloseAtOnce(sid.to_owned()))
                    }
                }
                Transport::WebSocket => Err(RequestError::BadRequest),
                Transport::Polling if session.transport != Transport::Polling => {
                    Err(RequestError::BadRequest)
                }
                Transport::Polling => match req.method {
                    Method::Get => Ok(Route::Poll(sid.to_owned())),
                    Method::Post => Ok(Route::Post(sid.to_owned())),
                    Method::Other => Err(RequestError::BadRequest),
                },
            };
        }
        if req.method != Method::Get {
            return Err(RequestError::BadHandshakeMethod);
        }
        if transport == Transport::WebSocket && !req.websocket_upgrade {
            return Err(RequestError::BadRequest);
        }
        if req.eio != Some("4") {
            return Err(RequestError::UnsupportedProtocolVersion);
        }
        Ok(Route::Handshake(transport))
    }

    /// Builds a session id from random bytes (a CSPRNG's, supplied by the driver).
    pub fn sid_from_random(random: &[u8; SID_RANDOM_BYTES]) -> String {
        URL_SAFE_NO_PAD.encode(random)
    }

    fn open_packet(&self, sid: &str, transport: Transport) -> Packet {
        let upgrades = if transport == Transport::Polling
            && self.config.allow_upgrades
            && self.config.websocket
        {
            "[\"websocket\"]"
        } else {
            "[]"
        };
        Packet::text(
            PacketType::Open,
            format!(
                "{{\"sid\":\"{sid}\",\"upgrades\":{upgrades},\"pingInterval\":{},\"pingTimeout\":{},\"maxPayload\":{}}}",
                self.config.ping_interval, self.config.ping_timeout, self.config.max_payload
            ),
        )
    }

    /// Opens a session. Over polling, `req` is the handshake GET and is answered
    /// with the open packet; over WebSocket the open packet is the first frame.
    /// Returns the new sid and the actions (the first one is [`Action::Opened`]).
    pub fn open(
        &mut self,
        now: u64,
        transport: Transport,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> (String, Vec<Action>) {
        let mut sid = Self::sid_from_random(random);
        // A collision is astronomically unlikely; keep ids unique regardless.
        while self.sessions.contains_key(&sid) {
            sid.push('_');
        }
        let session = Session {
            transport,
            upgrade: UpgradeState::None,
            upgrade_deadline: None,
            buffer: Vec::new(),
            pending_get: None,
            next_ping_at: now.saturating_add(self.config.ping_interval),
            pong_deadline: None,
        };
        let open = self.open_packet(&sid, transport);
        let mut actions = vec![Action::Opened {
            sid: sid.clone(),
            transport,
        }];
        match transport {
            Transport::Polling => {
                let mut body = String::new();
                open.encode_polling_into(&mut body);
                if let Some(req) = req {
                    actions.push(Action::Respond {
                        req,
                        status: 200,
                        content_type: ContentType::Payload,
                        body,
                    });
                }
            }
            Transport::WebSocket => {
                actions.push(Action::WsSend {
                    sid: sid.clone(),
                    frame: open.encode_ws(),
                });
            }
        }
        let deadline = session.next_deadline();
        self.sessions.insert(sid.clone(), session);
        if transport == Transport::WebSocket {
            actions.push(self.persist(&sid));
        }
        self.want_alarm(deadline, &mut actions);
        (sid, actions)
    }

    /// Brings back a WebSocket session from its snapshot after the engine's
    /// memory was lost. A session whose ping went unanswered past its deadline
    /// is closed at once. Returns false when the snapshot is refused.
    pub fn restore(&mut self, now: u64, snapshot: Snapshot, actions: &mut Vec<Action>) -> bool {
        if self.sessions.contains_key(&snapshot.sid) {
            return true;
        }
        if snapshot.pong_deadline.is_some_and(|d| d <= now) {
            actions.push(Action::WsClose {
                sid: snapshot.sid.clone(),
                code: 1000,
                reason: CloseReason::PingTimeout.as_str(),
            });
            actions.push(Action::Closed {
                sid: snapshot.sid,
                reason: CloseReason::PingTimeout,
            });
            return false;
        }
        let session = Session {
            transport: Transport::WebSocket,
            upgrade: UpgradeState::None,
            upgrade_deadline: None,
            buffer: Vec::new(),
            pending_get: None,
            next_ping_at: snapshot.next_ping_at,
            pong_deadline: snapshot.pong_deadline,
        };
        let deadline = session.next_deadline();
        self.sessions.insert(snapshot.sid, session);
        self.want_alarm(deadline, actions);
        true
    }

    /// A long-polling GET: answered now when packets are waiting, held
    /// otherwise (during an upgrade, a tick answers it with a noop).
    pub fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(d) = self.draining.get_mut(sid) {
            if let Some(packets) = d.payloads.pop_front() {
                actions.push(payload_response(req, &packets));
            }
            if d.payloads.is_empty() {
                self.draining.remove(sid);
            }
            return actions;
        }
        if self.expire_if_due(now, sid, &mut actions) {
            actions.push(error_response(req, RequestError::UnknownSid));
            return actions;
        }
        let Some(session) = self.sessions.get_mut(sid) else {
            actions.push(error_response(req, RequestError::UnknownSid));
            return actions;
        };
        if session.pending_get.is_some() {
            // Two GETs at once: the session is closed; the held GET learns it
            // with a close packet, the new one gets a 400.
            self.refuse_with_transport_error(sid, req, 400, &mut actions);
            return actions;
        }
        if session.buffer.is_empty() {
            session.pending_get = Some(req);
            if let UpgradeState::Upgrading { noop_at: None } = session.upgrade {
                let at = now.saturating_add(UPGRADE_NOOP_DELAY);
                session.upgrade = UpgradeState::Upgrading { noop_at: Some(at) };
                self.want_alarm(at, &mut actions);
            }
        } else {
            let packets = std::mem::take(&mut session.buffer);
            actions.push(payload_response(req, &packets));
        }
        actions
    }

    /// A long-polling POST with its `Content-Type` and body (packets separated
    /// by `\x1e`). Version 4 payloads are text: a binary content type closes
    /// the session ("transport error") and is answered 400, and bytes that are
    /// not UTF-8 are decoded with U+FFFD in their place, as the reference
    /// server reads the body.
    pub fn post(
        &mut self,
        now: u64,
        sid: &str,
        req: ReqId,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.expire_if_due(now, sid, &mut actions) || !self.sessions.contains_key(sid) {
            actions.push(error_response(req, RequestError::UnknownSid));
            return actions;
        }
        if body.len() > self.config.max_payload {
            self.refuse_with_transport_error(sid, req, 413, &mut actions);
            return actions;
        }
        if content_type.is_some_and(|t| t.eq_ignore_ascii_case("application/octet-stream")) {
            self.refuse_with_transport_error(sid, req, 400, &mut actions);
            return actions;
        }
        let text = String::from_utf8_lossy(body);
        let packets = match payload::decode(&text) {
            Ok(p) => p,
            Err(_) => {
                actions.push(error_response(req, RequestError::BadRequest));
                self.close_session(sid, CloseReason::ParseError, &mut actions);
                return actions;
            }
        };
        for packet in packets {
            if !self.sessions.contains_key(sid) {
                break;
            }
            self.on_packet(now, sid, packet, &mut actions);
        }
        actions.push(Action::Respond {
            req,
            status: 200,
            content_type: ContentType::Ok,
            body: "ok".to_owned(),
        });
        actions
    }

    /// Answers `req` with an empty `status` and closes the session ("transport
    /// error"), as the reference server does for requests that break the
    /// transport (overlapping GETs, an oversized or binary POST).
    fn refuse_with_transport_error(
        &mut self,
        sid: &str,
        req: ReqId,
        status: u16,
        actions: &mut Vec<Action>,
    ) {
        actions.push(Action::Respond {
            req,
            status,
            content_type: ContentType::Empty,
            body: String::new(),
        });
        self.close_session(sid, CloseReason::TransportError, actions);
    }

    /// Checks that a WebSocket may attach to polling session `sid` for an
    /// upgrade, and starts the upgrade (the probe must follow).
    pub fn begin_upgrade(&mut self, now: u64, sid: &str) -> Result<Vec<Action>, RequestError> {
        let mut actions = Vec::new();
        // An overdue session is refused but left for `tick` to close: an `Err`
        // cannot carry the `Closed` action (nor the answer to a held GET).
        if self
            .sessions
            .get(sid)
            .and_then(|s| s.pong_deadline)
            .is_some_and(|d| d <= now)
        {
            return Err(RequestError::UnknownSid);
        }
        let deadline = now.saturating_add(self.config.upgrade_timeout);
        let session = self.sessions.get_mut(sid).ok_or(RequestError::UnknownSid)?;
        if session.transport != Transport::Polling
            || !matches!(session.upgrade, UpgradeState::None)
            || !self.config.allow_upgrades
        {
            return Err(RequestError::BadRequest);
        }
        session.upgrade = UpgradeState::Probing;
        session.upgrade_deadline = Some(deadline);
        self.want_alarm(deadline, &mut actions);
        Ok(actions)
    }

    /// A text frame arrived on the WebSocket of `sid`.
    pub fn ws_text(&mut self, now: u64, sid: &str, frame: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        if frame.len() > self.config.max_payload {
            self.ws_too_big(sid, &mut actions);
            return actions;
        }
        match Packet::decode_text(frame) {
            Ok(packet) => self.ws_packet(now, sid, packet, &mut actions),
            Err(_) => self.ws_parse_error(sid, &mut actions),
        }
        actions
    }

    /// A binary frame arrived on the WebSocket of `sid`.
    pub fn ws_binary(&mut self, now: u64, sid: &str, frame: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        if frame.len() > self.config.max_payload {
            self.ws_too_big(sid, &mut actions);
            return actions;
        }
        self.ws_packet(now, sid, Packet::decode_binary(frame), &mut actions);
        actions
    }

    fn ws_too_big(&mut self, sid: &str, actions: &mut Vec<Action>) {
        actions.push(Action::WsClose {
            sid: sid.to_owned(),
            code: 1009,
            reason: "message too big",
        });
        if self.is_probing(sid) {
            self.abort_upgrade(sid);
        } else {
            self.close_session(sid, CloseReason::TransportError, actions);
        }
    }

    fn ws_parse_error(&mut self, sid: &str, actions: &mut Vec<Action>) {
        actions.push(Action::WsClose {
            sid: sid.to_owned(),
            code: 1002,
            reason: CloseReason::ParseError.as_str(),
        });
        if self.is_probing(sid) {
            self.abort_upgrade(sid);
        } else {
            self.close_session(sid, CloseReason::ParseError, actions);
        }
    }

    fn is_probing(&self, sid: &str) -> bool {
        self.sessions.get(sid).is_some_and(|s| {
            s.transport == Transport::Polling && !matches!(s.upgrade, UpgradeState::None)
        })
    }

    fn abort_upgrade(&mut self, sid: &str) {
        if let Some(s) = self.sessions.get_mut(sid) {
            s.upgrade = UpgradeState::None;
            s.upgrade_deadline = None;
        }
    }

    fn ws_packet(&mut self, now: u64, sid: &str, packet: Packet, actions: &mut Vec<Action>) {
        if self.expire_if_due(now, sid, actions) {
            return;
        }
        if packet.kind == PacketType::Upgrade && self.draining.get(sid).is_some_and(|d| d.upgrading)
        {
            if let Some(d) = self.draining.remove(sid) {
                for p in d.payloads.into_iter().flatten() {
                    if p.kind != PacketType::Close {
                        actions.push(Action::WsSend {
                            sid: sid.to_owned(),
                            frame: p.encode_ws(),
                        });
                    }
                }
            }
            actions.push(Action::WsClose {
                sid: sid.to_owned(),
                code: 1000,
                reason: "",
            });
            return;
        }
        let Some(session) = self.sessions.get_mut(sid) else {
            // A socket whose session is gone: close it.
            actions.push(Action::WsClose {
                sid: sid.to_owned(),
                code: 1000,
                reason: "unknown session",
            });
            return;
        };
        if session.transport == Transport::Polling {
            // The WebSocket is a probe of an upgrade in progress.
            match (&session.upgrade, packet.kind, &packet.data) {
                (UpgradeState::Probing, PacketType::Ping, Data::Text(t)) if t == "probe" => {
                    let noop_at = now.saturating_add(UPGRADE_NOOP_DELAY);
                    session.upgrade = UpgradeState::Upgrading {
                        noop_at: Some(noop_at),
                    };
                    actions.push(Action::WsSend {
                        sid: sid.to_owned(),
                        frame: Packet::text(PacketType::Pong, "probe").encode_ws(),
                    });
                    self.want_alarm(noop_at, actions);
                }
                (UpgradeState::Upgrading { .. }, PacketType::Upgrade, _) => {
                    session.transport = Transport::WebSocket;
                    session.upgrade = UpgradeState::None;
                    session.upgrade_deadline = None;
                    if let Some(req) = session.pending_get.take() {
                        actions.push(payload_response(req, &[Packet::bare(PacketType::Noop)]));
                    }
                    for p in std::mem::take(&mut session.buffer) {
                        actions.push(Action::WsSend {
                            sid: sid.to_owned(),
                            frame: p.encode_ws(),
                        });
                    }
                    actions.push(self.persist(sid));
                }
                _ => {
                    // Anything else ends the attempt; polling goes on.
                    actions.push(Action::WsClose {
                        sid: sid.to_owned(),
                        code: 1002,
                        reason: "invalid upgrade",
                    });
                    session.upgrade = UpgradeState::None;
                    session.upgrade_deadline = None;
                }
            }
            return;
        }
        self.on_packet(now, sid, packet, actions);
    }

    /// A packet from the client on the session's current transport.
    fn on_packet(&mut self, now: u64, sid: &str, packet: Packet, actions: &mut Vec<Action>) {
        match packet.kind {
            PacketType::Message => actions.push(Action::Message {
                sid: sid.to_owned(),
                data: packet.data,
            }),
            PacketType::Pong => {
                let next = now.saturating_add(self.config.ping_interval);
                if let Some(s) = self.sessions.get_mut(sid) {
                    s.pong_deadline = None;
                    s.next_ping_at = next;
                    if s.transport == Transport::WebSocket {
                        actions.push(self.persist(sid));
                    }
                }
            }
            PacketType::Close => {
                if let Some(s) = self.sessions.get_mut(sid) {
                    if let Some(req) = s.pending_get.take() {
                        actions.push(payload_response(req, &[Packet::bare(PacketType::Noop)]));
                    }
                    if s.transport == Transport::WebSocket {
                        actions.push(Action::WsClose {
                            sid: sid.to_owned(),
                            code: 1000,
                            reason: "",
                        });
                    }
                }
                self.close_session(sid, CloseReason::TransportClose, actions);
            }
            PacketType::Ping => {
                // Version 4 pings go from the server to the client only.
                if self.transport_of(sid) == Some(Transport::WebSocket) {
                    actions.push(Action::WsClose {
                        sid: sid.to_owned(),
                        code: 1002,
                        reason: "invalid heartbeat direction",
                    });
                }
                self.close_session(sid, CloseReason::TransportError, actions);
            }
            PacketType::Open | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    /// The WebSocket of `sid` closed (or failed, when `error`).
    pub fn ws_closed(&mut self, _now: u64, sid: &str, error: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.is_probing(sid) {
            self.abort_upgrade(sid);
            return actions;
        }
        if self.transport_of(sid) == Some(Transport::WebSocket) {
            let reason = if error {
                CloseReason::TransportError
            } else {
                CloseReason::TransportClose
            };
            self.close_session(sid, reason, &mut actions);
        }
        actions
    }

    /// Queues a message for the client. WebSocket frames go out at once;
    /// polling packets wait for [`Engine::flush`].
    pub fn send(&mut self, sid: &str, data: Data) -> Vec<Action> {
        let mut actions = Vec::new();
        self.send_packet(sid, Packet::message(data), &mut actions);
        actions
    }

    fn send_packet(&mut self, sid: &str, packet: Packet, actions: &mut Vec<Action>) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.transport == Transport::WebSocket {
            actions.push(Action::WsSend {
                sid: sid.to_owned(),
                frame: packet.encode_ws(),
            });
        } else {
            session.buffer.push(packet);
            if session.pending_get.is_some() && session.buffer.len() == 1 {
                self.dirty.push(sid.to_owned());
            }
        }
    }

    /// Queues the same message for several sessions: one [`Action::WsSendMany`]
    /// for those on WebSocket, buffered packets for those on polling. With
    /// `volatile`, sessions that cannot take the message right now (polling
    /// without a held GET) are skipped.
    pub fn send_many<'a>(
        &mut self,
        sids: impl IntoIterator<Item = &'a str>,
        data: &Data,
        volatile: bool,
        actions: &mut Vec<Action>,
    ) {
        let mut ws = Vec::new();
        for sid in sids {
            let Some(session) = self.sessions.get_mut(sid) else {
                continue;
            };
            if session.transport == Transport::WebSocket {
                ws.push(sid.to_owned());
            } else if !volatile || session.pending_get.is_some() {
                session.buffer.push(Packet::message(data.clone()));
                if session.pending_get.is_some() && session.buffer.len() == 1 {
                    self.dirty.push(sid.to_owned());
                }
            }
        }
        if !ws.is_empty() {
            actions.push(Action::WsSendMany {
                sids: ws,
                frame: Packet::message(data.clone()).encode_ws(),
            });
        }
    }

    /// Whether a message to `sid` would leave at once (WebSocket, or a held
    /// polling GET): the test behind volatile emits.
    pub fn is_writable(&self, sid: &str) -> bool {
        self.sessions
            .get(sid)
            .is_some_and(|s| s.transport == Transport::WebSocket || s.pending_get.is_some())
    }

    /// Makes sure the alarm fires at or before `at` (for timers of the layer
    /// above, such as Socket.IO's connect timeout).
    pub fn schedule(&mut self, at: u64, actions: &mut Vec<Action>) {
        self.want_alarm(at, actions);
    }

    /// Answers held polling GETs of sessions that have packets waiting.
    pub fn flush(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        for sid in std::mem::take(&mut self.dirty) {
            if let Some(s) = self.sessions.get_mut(&sid) {
                if s.buffer.is_empty() {
                    continue;
                }
                if let Some(req) = s.pending_get.take() {
                    let packets = std::mem::take(&mut s.buffer);
                    actions.push(payload_response(req, &packets));
                }
            }
        }
        actions
    }

    /// Whether [`Engine::flush`] has work to do.
    pub fn needs_flush(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Closes a session from the server side (reason "forced close").
    pub fn close(&mut self, sid: &str) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(s) = self.sessions.get_mut(sid) {
            if s.transport == Transport::WebSocket {
                actions.push(Action::WsClose {
                    sid: sid.to_owned(),
                    code: 1000,
                    reason: "",
                });
            } else {
                // Like the reference server, deliver what is buffered (e.g.
                // Socket.IO's disconnect packet) before the close packet, and
                // in an earlier response: clients handle a close packet at
                // once but the packets before it a tick later.
                let buffered = std::mem::take(&mut s.buffer);
                let mut payloads = VecDeque::new();
                match s.pending_get.take() {
                    Some(req) if buffered.is_empty() => {
                        actions.push(payload_response(req, &[Packet::bare(PacketType::Close)]));
                    }
                    Some(req) => {
                        actions.push(payload_response(req, &buffered));
                        payloads.push_back(vec![Packet::bare(PacketType::Close)]);
                    }
                    None => {
                        if !buffered.is_empty() {
                            payloads.push_back(buffered);
                        }
                        payloads.push_back(vec![Packet::bare(PacketType::Close)]);
                    }
                }
                let upgrading = matches!(s.upgrade, UpgradeState::Upgrading { .. });
                if upgrading {
                    // The probe WebSocket stays open to take the packets.
                    s.upgrade = UpgradeState::None;
                }
                if !payloads.is_empty() {
                    self.draining.insert(
                        sid.to_owned(),
                        Draining {
                            payloads,
                            deadline: None,
                            upgrading,
                        },
                    );
                }
            }
            self.close_session(sid, CloseReason::ForcedClose, &mut actions);
        }
        actions
    }

    /// The alarm fired (or the driver checks timers): sends due pings, closes
    /// sessions whose pong or upgrade is overdue, and sets the next alarm.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.alarm_at = None;
        let drain_until = now.saturating_add(self.config.ping_interval);
        self.draining.retain(|_, d| match d.deadline {
            Some(t) => t > now,
            None => {
                d.deadline = Some(drain_until);
                true
            }
        });
        let ping_before = now.saturating_add(self.config.ping_slack());
        let mut expired = Vec::new();
        let mut pinged = Vec::new();
        let mut upgrade_expired = Vec::new();
        for (sid, s) in self.sessions.iter_mut() {
            if s.pong_deadline.is_some_and(|d| d <= now) {
                expired.push(sid.clone());
                continue;
            }
            if s.upgrade_deadline.is_some_and(|d| d <= now) {
                upgrade_expired.push(sid.clone());
            } else if let UpgradeState::Upgrading {
                noop_at: noop_at @ Some(_),
            } = &mut s.upgrade
            {
                if noop_at.is_some_and(|at| at <= now) {
                    *noop_at = None;
                    if s.buffer.is_empty() {
                        if let Some(req) = s.pending_get.take() {
                            actions.push(payload_response(req, &[Packet::bare(PacketType::Noop)]));
                        }
                    }
                }
            }
            if s.pong_deadline.is_none() && s.next_ping_at <= ping_before {
                s.pong_deadline = Some(now.saturating_add(self.config.ping_timeout));
                s.next_ping_at = now.saturating_add(self.config.ping_interval);
                pinged.push(sid.clone());
            }
        }
        for sid in expired {
            if self.transport_of(&sid) == Some(Transport::WebSocket) {
                actions.push(Action::WsClose {
                    sid: sid.clone(),
                    code: 1000,
                    reason: CloseReason::PingTimeout.as_str(),
                });
            }
            self.close_session(&sid, CloseReason::PingTimeout, &mut actions);
        }
        for sid in upgrade_expired {
            actions.push(Action::WsClose {
                sid: sid.clone(),
                code: 1000,
                reason: "upgrade timeout",
            });
            self.abort_upgrade(&sid);
        }
        for sid in pinged {
            self.send_packet(&sid, Packet::bare(PacketType::Ping), &mut actions);
            if self.transport_of(&sid) == Some(Transport::WebSocket) {
                actions.push(self.persist(&sid));
            }
        }
        actions.extend(self.flush());
        let next_session = self.sessions.values().map(Session::next_deadline).min();
        let next_drain = self.draining.values().filter_map(|d| d.deadline).min();
        if let Some(next) = next_session.into_iter().chain(next_drain).min() {
            self.want_alarm(next, &mut actions);
        }
        actions
    }

    fn persist(&self, sid: &str) -> Action {
        let (next_ping_at, pong_deadline) = self
            .sessions
            .get(sid)
            .map(|s| (s.next_ping_at, s.pong_deadline))
            .unwrap_or((0, None));
        Action::Persist(Snapshot {
            sid: sid.to_owned(),
            next_ping_at,
            pong_deadline,
        })
    }

    /// Makes sure an alarm fires at or before `at`. Later deadlines never move
    /// an alarm: when it fires, [`Engine::tick`] sets the next one.
    fn want_alarm(&mut self, at: u64, actions: &mut Vec<Action>) {
        if self.alarm_at.is_none_or(|current| at < current) {
            self.alarm_at = Some(at);
            actions.push(Action::SetAlarm { at });
        }
    }

    /// Closes `sid` at once if its pong is overdue. Returns whether it did.
    fn expire_if_due(&mut self, now: u64, sid: &str, actions: &mut Vec<Action>) -> bool {
        let due = self
            .sessions
            .get(sid)
            .and_then(|s| s.pong_deadline)
            .is_some_and(|d| d <= now);
        if due {
            if self.transport_of(sid) == Some(Transport::WebSocket) {
                actions.push(Action::WsClose {
                    sid: sid.to_owned(),
                    code: 1000,
                    reason: CloseReason::PingTimeout.as_str(),
                });
            }
            self.close_session(sid, CloseReason::PingTimeout, actions);
        }
        due
    }

    fn close_session(&mut self, sid: &str, reason: CloseReason, actions: &mut Vec<Action>) {
        let Some(mut s) = self.sessions.remove(sid) else {
            return;
        };
        if let Some(req) = s.pending_get.take() {
            actions.push(payload_response(req, &[Packet::bare(PacketType::Close)]));
        }
        if s.transport == Transport::Polling && !matches!(s.upgrade, UpgradeState::None) {
            actions.push(Action::WsClose {
                sid: sid.to_owned(),
                code: 1000,
                reason: "",
            });
        }
        actions.push(Action::Closed {
            sid: sid.to_owned(),
            reason,
        });
    }
}

fn payload_response(req: ReqId, packets: &[Packet]) -> Action {
    Action::Respond {
        req,
        status: 200,
        content_type: ContentType::Payload,
        body: payload::encode(packets),
    }
}

/// The answer to a refused request.
pub fn error_response(req: ReqId, err: RequestError) -> Action {
    Action::Respond {
        req,
        status: err.status(),
        content_type: ContentType::Json,
        body: err.body(),
    }
}
