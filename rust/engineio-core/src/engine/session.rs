//! Opening, restoring and closing sessions.

use std::collections::VecDeque;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::upgrade::UpgradeState;
use super::{
    payload_response, Action, CloseReason, ContentType, Engine, ReqId, Snapshot, Transport,
};
use crate::packet::{Packet, PacketType};
use crate::v3::Protocol;

/// Number of random bytes a session id is made of (20 base64url characters).
pub const SID_RANDOM_BYTES: usize = 15;

/// One open session: its transport, its upgrade, what waits for a polling
/// GET, and its heartbeat times.
#[derive(Debug)]
pub(super) struct Session {
    pub(super) protocol: Protocol,
    pub(super) transport: Transport,
    pub(super) upgrade: UpgradeState,
    pub(super) upgrade_deadline: Option<u64>,
    /// Packets waiting for a polling GET.
    pub(super) buffer: Vec<Packet>,
    /// The held polling GET, if any.
    pub(super) pending_get: Option<ReqId>,
    /// Protocol v4: when the next ping is due. Protocol v3: the same as
    /// `pong_deadline` (the server sends no pings).
    pub(super) next_ping_at: u64,
    /// Protocol v4: while a ping is unanswered, when the session expires.
    /// Protocol v3: always set, when the session expires unless the client pings.
    pub(super) pong_deadline: Option<u64>,
}

/// What a closed polling session still owes its client: the packets buffered
/// when the server closed it, then the close packet, one payload per GET.
#[derive(Debug)]
pub(super) struct Draining {
    pub(super) protocol: Protocol,
    pub(super) payloads: VecDeque<Vec<Packet>>,
    /// An upgrade had reached its probe: a `5` on that WebSocket takes the
    /// packets instead, as the reference server finishes the upgrade first.
    pub(super) upgrading: bool,
    /// Set by the first tick after the close; the packets are dropped after it.
    pub(super) deadline: Option<u64>,
}

impl Engine {
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

    /// Opens a protocol v4 session (see [`Engine::open_protocol`]).
    pub fn open(
        &mut self,
        now: u64,
        transport: Transport,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> (String, Vec<Action>) {
        self.open_protocol(now, transport, Protocol::V4, req, random)
    }

    /// How long a protocol v3 session lives without a ping of its client: the
    /// interval plus the timeout, as the reference server waits.
    pub(super) fn v3_window(&self) -> u64 {
        self.config
            .ping_interval
            .saturating_add(self.config.ping_timeout)
    }

    /// Opens a session speaking `protocol` (the revision its handshake asked for,
    /// [`Protocol::from_query`]; [`Engine::classify`] refuses v3 unless allowed).
    /// Over polling, `req` is the handshake GET and is answered with the open
    /// packet; over WebSocket the open packet is the first frame. Returns the new
    /// sid and the actions (the first one is [`Action::Opened`]). A v3 session
    /// waits for the client's pings: it expires [`EngineConfig::ping_interval`] +
    /// [`EngineConfig::ping_timeout`] after the last one (or after the handshake).
    ///
    /// [`EngineConfig::ping_interval`]: crate::EngineConfig::ping_interval
    /// [`EngineConfig::ping_timeout`]: crate::EngineConfig::ping_timeout
    pub fn open_protocol(
        &mut self,
        now: u64,
        transport: Transport,
        protocol: Protocol,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> (String, Vec<Action>) {
        let mut sid = self.config.sid_prefix.clone();
        sid.push_str(&Self::sid_from_random(random));
        // A collision is astronomically unlikely; keep ids unique regardless.
        while self.sessions.contains_key(&sid) {
            sid.push('_');
        }
        let (next_ping_at, pong_deadline) = match protocol {
            Protocol::V4 => (now.saturating_add(self.config.ping_interval), None),
            Protocol::V3 => {
                let expiry = now.saturating_add(self.v3_window());
                (expiry, Some(expiry))
            }
        };
        let session = Session {
            protocol,
            transport,
            upgrade: UpgradeState::None,
            upgrade_deadline: None,
            buffer: Vec::new(),
            pending_get: None,
            next_ping_at,
            pong_deadline,
        };
        let open = self.open_packet(&sid, transport);
        let mut actions = vec![Action::Opened {
            sid: sid.clone(),
            transport,
        }];
        match transport {
            Transport::Polling => {
                if let Some(req) = req {
                    actions.push(Action::Respond {
                        req,
                        status: 200,
                        content_type: ContentType::Payload,
                        body: protocol.encode_payload(std::slice::from_ref(&open)),
                    });
                }
            }
            Transport::WebSocket => {
                actions.push(Action::WsSend {
                    sid: sid.clone(),
                    frame: protocol.encode_ws(&open),
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

    /// The deadline of a snapshot, counting for a protocol v3 session the ping
    /// the runtime answered on the server's behalf ([`Snapshot::answered_ping`]).
    fn snapshot_deadline(&self, snapshot: &Snapshot) -> Option<u64> {
        match (
            snapshot.protocol,
            snapshot.pong_deadline,
            snapshot.answered_ping,
        ) {
            (Protocol::V3, Some(d), Some(at)) => Some(d.max(at.saturating_add(self.v3_window()))),
            (_, d, _) => d,
        }
    }

    /// Whether restoring `snapshot` at `now` would close it with "ping timeout":
    /// its ping went unanswered past its deadline (protocol v4), or its client sent
    /// no ping in time (protocol v3, the runtime's answered ping included).
    pub fn is_expired(&self, now: u64, snapshot: &Snapshot) -> bool {
        self.snapshot_deadline(snapshot).is_some_and(|d| d <= now)
    }

    /// Brings back a WebSocket session from its snapshot after the engine's
    /// memory was lost. A session past its deadline ([`Engine::is_expired`]) is
    /// closed at once. Returns false when the snapshot is refused.
    pub fn restore(&mut self, now: u64, snapshot: Snapshot, actions: &mut Vec<Action>) -> bool {
        if self.sessions.contains_key(&snapshot.sid) {
            return true;
        }
        if self.is_expired(now, &snapshot) {
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
        let pong_deadline = self.snapshot_deadline(&snapshot);
        let moved = pong_deadline != snapshot.pong_deadline;
        let session = Session {
            protocol: snapshot.protocol,
            transport: Transport::WebSocket,
            upgrade: UpgradeState::None,
            upgrade_deadline: None,
            buffer: Vec::new(),
            pending_get: None,
            next_ping_at: match snapshot.protocol {
                Protocol::V4 => snapshot.next_ping_at,
                Protocol::V3 => pong_deadline.unwrap_or(snapshot.next_ping_at),
            },
            pong_deadline,
        };
        let deadline = session.next_deadline();
        let sid = snapshot.sid;
        self.sessions.insert(sid.clone(), session);
        if moved {
            actions.push(self.persist(&sid));
        }
        self.want_alarm(deadline, actions);
        true
    }

    /// Closes a session from the server side (reason "forced close").
    pub fn close(&mut self, _now: u64, sid: &str) -> Vec<Action> {
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
                let protocol = s.protocol;
                let mut payloads = VecDeque::new();
                match s.pending_get.take() {
                    Some(req) if buffered.is_empty() => {
                        actions.push(payload_response(
                            req,
                            protocol,
                            &[Packet::bare(PacketType::Close)],
                        ));
                    }
                    Some(req) => {
                        actions.push(payload_response(req, protocol, &buffered));
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
                            protocol,
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

    pub(super) fn close_session(
        &mut self,
        sid: &str,
        reason: CloseReason,
        actions: &mut Vec<Action>,
    ) {
        let Some(mut s) = self.sessions.remove(sid) else {
            return;
        };
        if let Some(req) = s.pending_get.take() {
            actions.push(payload_response(
                req,
                s.protocol,
                &[Packet::bare(PacketType::Close)],
            ));
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
