//! The Engine.IO server state machine.
//!
//! The [`Engine`] owns every session of one server. The driver (the Durable
//! Object shim) calls it with the current time and what arrived; each call
//! returns the [`Action`]s to carry out, in order. The engine never reads a
//! clock, never sleeps and never does I/O.
//!
//! Every method that changes the engine takes the current time first (`now`,
//! milliseconds), those that do not need it yet included: the driver passes
//! the time the same way to every call, and a call that comes to need it
//! keeps its signature. The methods that only read (`&self`) take none.
//!
//! One file per responsibility, each adding its part of `impl Engine`; this
//! one holds the types shared by all, the accessors, what the client's
//! packets do on the session's current transport, and the sends:
//!
//! - `action`: what comes out ([`Action`], [`ContentType`], [`Snapshot`],
//!   [`error_response`]);
//! - `classify`: request routing ([`Engine::classify`]);
//! - `session`: opening, restoring and closing sessions;
//! - `polling`: long-polling GETs and POSTs, and [`Engine::flush`];
//! - `websocket`: frames and closes of a session's WebSocket;
//! - `upgrade`: the probe and the switch from polling to WebSocket;
//! - `heartbeat`: pings, pong deadlines and the one alarm ([`Engine::tick`]).

mod action;
mod classify;
mod heartbeat;
mod polling;
mod session;
mod upgrade;
mod websocket;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::EngineConfig;
use crate::packet::{Data, Packet, PacketType};
use crate::v3::Protocol;

pub use action::{error_response, Action, ContentType, Snapshot};
pub use classify::{Method, RequestInfo, Route};
pub use session::SID_RANDOM_BYTES;
pub use upgrade::UPGRADE_NOOP_DELAY;

use action::payload_response;
use session::{Draining, Session};

/// Identifies one HTTP request held by the driver, so that the engine can
/// answer it later (a long-polling GET waits for data).
pub type ReqId = u32;

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

    /// The protocol revision of an open session.
    pub fn protocol_of(&self, sid: &str) -> Option<Protocol> {
        self.sessions.get(sid).map(|s| s.protocol)
    }

    /// A packet from the client on the session's current transport.
    pub(super) fn on_packet(
        &mut self,
        now: u64,
        sid: &str,
        packet: Packet,
        actions: &mut Vec<Action>,
    ) {
        match packet.kind {
            PacketType::Message => actions.push(Action::Message {
                sid: sid.to_owned(),
                data: packet.data,
            }),
            PacketType::Pong if self.protocol_of(sid) == Some(Protocol::V3) => {
                // Version 3 pongs go from the server to the client only.
                self.wrong_heartbeat_direction(sid, actions);
            }
            PacketType::Ping if self.protocol_of(sid) == Some(Protocol::V3) => {
                self.v3_ping(now, sid, now, actions);
                self.send_packet(sid, Packet::bare(PacketType::Pong), actions);
            }
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
                        actions.push(payload_response(
                            req,
                            s.protocol,
                            &[Packet::bare(PacketType::Noop)],
                        ));
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
                self.wrong_heartbeat_direction(sid, actions);
            }
            PacketType::Open | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    /// A ping from a v4 client, or a pong from a v3 one: the session closes.
    fn wrong_heartbeat_direction(&mut self, sid: &str, actions: &mut Vec<Action>) {
        if self.transport_of(sid) == Some(Transport::WebSocket) {
            actions.push(Action::WsClose {
                sid: sid.to_owned(),
                code: 1002,
                reason: "invalid heartbeat direction",
            });
        }
        self.close_session(sid, CloseReason::TransportError, actions);
    }

    /// Queues a message for the client. WebSocket frames go out at once;
    /// polling packets wait for [`Engine::flush`].
    pub fn send(&mut self, _now: u64, sid: &str, data: Data) -> Vec<Action> {
        let mut actions = Vec::new();
        self.send_packet(sid, Packet::message(data), &mut actions);
        actions
    }

    /// Sends one packet: at once on a WebSocket, else into the polling buffer
    /// (the session waits for [`Engine::flush`] when a GET is held).
    pub(super) fn send_packet(&mut self, sid: &str, packet: Packet, actions: &mut Vec<Action>) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
        if session.transport == Transport::WebSocket {
            actions.push(Action::WsSend {
                sid: sid.to_owned(),
                frame: session.protocol.encode_ws(&packet),
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
        _now: u64,
        sids: impl IntoIterator<Item = &'a str>,
        data: &Data,
        volatile: bool,
        actions: &mut Vec<Action>,
    ) {
        let mut ws = Vec::new();
        // Binary frames of protocol v3 carry a type byte: those sessions get their own.
        let mut ws_v3 = Vec::new();
        let binary = matches!(data, Data::Binary(_));
        for sid in sids {
            let Some(session) = self.sessions.get_mut(sid) else {
                continue;
            };
            if session.transport == Transport::WebSocket {
                if binary && session.protocol == Protocol::V3 {
                    ws_v3.push(sid.to_owned());
                } else {
                    ws.push(sid.to_owned());
                }
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
        if !ws_v3.is_empty() {
            actions.push(Action::WsSendMany {
                sids: ws_v3,
                frame: Protocol::V3.encode_ws(&Packet::message(data.clone())),
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
}
