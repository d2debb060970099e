//! The upgrade from long-polling to WebSocket: the probe, then the switch.

use super::{payload_response, Action, Engine, Transport};
use crate::error::RequestError;
use crate::packet::{Data, Packet, PacketType};
use crate::v3::Protocol;

#[derive(Debug)]
pub(super) enum UpgradeState {
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

impl Engine {
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

    /// Whether polling session `sid` has a probe WebSocket attached.
    pub(super) fn is_probing(&self, sid: &str) -> bool {
        self.sessions.get(sid).is_some_and(|s| {
            s.transport == Transport::Polling && !matches!(s.upgrade, UpgradeState::None)
        })
    }

    /// Ends an upgrade attempt: the session goes on polling.
    pub(super) fn abort_upgrade(&mut self, sid: &str) {
        if let Some(s) = self.sessions.get_mut(sid) {
            s.upgrade = UpgradeState::None;
            s.upgrade_deadline = None;
        }
    }

    /// A packet on the probe WebSocket of polling session `sid`: `2probe`
    /// is answered `3probe`, then `5` moves the session to WebSocket;
    /// anything else ends the attempt.
    pub(super) fn probe_packet(
        &mut self,
        now: u64,
        sid: &str,
        packet: Packet,
        actions: &mut Vec<Action>,
    ) {
        let Some(session) = self.sessions.get_mut(sid) else {
            return;
        };
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
                let protocol = session.protocol;
                if let Some(req) = session.pending_get.take() {
                    actions.push(payload_response(
                        req,
                        protocol,
                        &[Packet::bare(PacketType::Noop)],
                    ));
                }
                for p in std::mem::take(&mut session.buffer) {
                    actions.push(Action::WsSend {
                        sid: sid.to_owned(),
                        frame: protocol.encode_ws(&p),
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
    }

    /// A `5` on the probe of a session the server closed during its upgrade:
    /// what the session still owed goes out on the WebSocket, which closes.
    pub(super) fn finish_drained_upgrade(&mut self, sid: &str, actions: &mut Vec<Action>) {
        if let Some(d) = self.draining.remove(sid) {
            let protocol: Protocol = d.protocol;
            for p in d.payloads.into_iter().flatten() {
                if p.kind != PacketType::Close {
                    actions.push(Action::WsSend {
                        sid: sid.to_owned(),
                        frame: protocol.encode_ws(&p),
                    });
                }
            }
        }
        actions.push(Action::WsClose {
            sid: sid.to_owned(),
            code: 1000,
            reason: "",
        });
    }
}
