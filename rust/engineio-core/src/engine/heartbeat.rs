//! The heartbeat: pings, pong deadlines, and the one alarm of all sessions.

use super::session::Session;
use super::upgrade::UpgradeState;
use super::{payload_response, Action, CloseReason, Engine, Snapshot, Transport};
use crate::packet::{Packet, PacketType};
use crate::v3::Protocol;

impl Session {
    /// The earliest time this session needs the alarm.
    pub(super) fn next_deadline(&self) -> u64 {
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

impl Engine {
    /// Tells the engine which alarm is currently set (after a restart).
    pub fn set_known_alarm(&mut self, _now: u64, at: Option<u64>) {
        self.alarm_at = at;
    }

    /// Makes sure the alarm fires at or before `at` (for timers of the layer
    /// above, such as Socket.IO's connect timeout).
    pub fn schedule(&mut self, _now: u64, at: u64, actions: &mut Vec<Action>) {
        self.want_alarm(at, actions);
    }

    /// Makes sure the alarm fires at or before `at`, for work of the driver's own
    /// that runs on the one alarm (the app's scheduled tasks, recovery expiry).
    /// Like every deadline, it is asked again after each [`Engine::tick`].
    pub fn request_alarm(&mut self, now: u64, at: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.schedule(now, at, &mut actions);
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
                            actions.push(payload_response(
                                req,
                                s.protocol,
                                &[Packet::bare(PacketType::Noop)],
                            ));
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
        actions.extend(self.flush(now));
        let next_session = self.sessions.values().map(Session::next_deadline).min();
        let next_drain = self.draining.values().filter_map(|d| d.deadline).min();
        if let Some(next) = next_session.into_iter().chain(next_drain).min() {
            self.want_alarm(next, &mut actions);
        }
        actions
    }

    pub(super) fn persist(&self, sid: &str) -> Action {
        let (next_ping_at, pong_deadline, protocol) = self
            .sessions
            .get(sid)
            .map(|s| (s.next_ping_at, s.pong_deadline, s.protocol))
            .unwrap_or((0, None, Protocol::V4));
        Action::Persist(Snapshot {
            sid: sid.to_owned(),
            next_ping_at,
            pong_deadline,
            protocol,
            answered_ping: None,
        })
    }

    /// A ping of protocol v3 session `sid` at `at` (seen by the engine, or answered
    /// by the runtime on its behalf): the session lives `pingInterval + pingTimeout`
    /// longer. Never moves the deadline earlier.
    pub(super) fn v3_ping(&mut self, _now: u64, sid: &str, at: u64, actions: &mut Vec<Action>) {
        let expiry = at.saturating_add(self.v3_window());
        let Some(s) = self.sessions.get_mut(sid) else {
            return;
        };
        if s.protocol != Protocol::V3 || s.pong_deadline.is_some_and(|d| d >= expiry) {
            return;
        }
        s.pong_deadline = Some(expiry);
        s.next_ping_at = expiry;
        if s.transport == Transport::WebSocket {
            actions.push(self.persist(sid));
        }
    }

    /// The protocol v3 WebSocket sessions whose deadline falls before `now` plus
    /// one ping interval (those that could expire before their client's next
    /// ping: passing them now keeps the deadlines of all sessions together, so
    /// that one alarm serves them). Their client's pings may have been answered
    /// by the runtime (a WebSocket auto-response, unseen by the engine): before
    /// [`Engine::tick`], the driver passes the last one it answered of each to
    /// [`Engine::ping_answered`].
    pub fn ping_checks(&self, now: u64) -> Vec<String> {
        let before = now.saturating_add(self.config.ping_interval);
        self.sessions
            .iter()
            .filter(|(_, s)| {
                s.protocol == Protocol::V3
                    && s.transport == Transport::WebSocket
                    && s.pong_deadline.is_some_and(|d| d <= before)
            })
            .map(|(sid, _)| sid.clone())
            .collect()
    }

    /// The runtime answered a ping of protocol v3 session `sid` at `at` (ms) on the
    /// server's behalf: counts as a ping the engine saw then.
    pub fn ping_answered(&mut self, now: u64, sid: &str, at: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        self.v3_ping(now, sid, at.min(now), &mut actions);
        actions
    }

    /// Makes sure an alarm fires at or before `at`. Later deadlines never move
    /// an alarm: when it fires, [`Engine::tick`] sets the next one.
    pub(super) fn want_alarm(&mut self, at: u64, actions: &mut Vec<Action>) {
        if self.alarm_at.is_none_or(|current| at < current) {
            self.alarm_at = Some(at);
            actions.push(Action::SetAlarm { at });
        }
    }

    /// Closes `sid` at once if its pong is overdue. Returns whether it did. A
    /// protocol v3 WebSocket session is left to [`Engine::tick`]: its client's
    /// pings may have been answered by the runtime without the engine knowing.
    pub(super) fn expire_if_due(&mut self, now: u64, sid: &str, actions: &mut Vec<Action>) -> bool {
        let due = self.sessions.get(sid).is_some_and(|s| {
            s.pong_deadline.is_some_and(|d| d <= now)
                && !(s.protocol == Protocol::V3 && s.transport == Transport::WebSocket)
        });
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
}
