//! Long-polling: held GETs, POSTs, and the flush that answers them.

use super::upgrade::{UpgradeState, UPGRADE_NOOP_DELAY};
use super::{error_response, payload_response, Action, CloseReason, ContentType, Engine, ReqId};
use crate::error::RequestError;
use crate::payload;
use crate::v3::{self, Protocol};

impl Engine {
    /// A long-polling GET: answered now when packets are waiting, held
    /// otherwise (during an upgrade, a tick answers it with a noop).
    pub fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(d) = self.draining.get_mut(sid) {
            if let Some(packets) = d.payloads.pop_front() {
                actions.push(payload_response(req, d.protocol, &packets));
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
            actions.push(payload_response(req, session.protocol, &packets));
        }
        actions
    }

    /// A long-polling POST with its `Content-Type` and body (packets separated
    /// by `\x1e`). Version 4 payloads are text: a binary content type closes
    /// the session ("transport error") and is answered 400, and bytes that are
    /// not UTF-8 are decoded with U+FFFD in their place, as the reference
    /// server reads the body. Version 3 payloads are length-prefixed text, or
    /// binary with `application/octet-stream` (see [`crate::v3`]). A malformed
    /// payload is answered 400 and closes the session ("parse error").
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
        let protocol = self.protocol_of(sid).unwrap_or_default();
        let binary =
            content_type.is_some_and(|t| t.eq_ignore_ascii_case("application/octet-stream"));
        if binary && protocol == Protocol::V4 {
            self.refuse_with_transport_error(sid, req, 400, &mut actions);
            return actions;
        }
        let decoded = if binary {
            v3::decode_binary_payload(body)
        } else {
            let text = String::from_utf8_lossy(body);
            match protocol {
                Protocol::V4 => payload::decode(&text),
                Protocol::V3 => v3::decode_text_payload(&text),
            }
        };
        let packets = match decoded {
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

    /// Answers held polling GETs of sessions that have packets waiting.
    pub fn flush(&mut self, _now: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        for sid in std::mem::take(&mut self.dirty) {
            if let Some(s) = self.sessions.get_mut(&sid) {
                if s.buffer.is_empty() {
                    continue;
                }
                if let Some(req) = s.pending_get.take() {
                    let packets = std::mem::take(&mut s.buffer);
                    actions.push(payload_response(req, s.protocol, &packets));
                }
            }
        }
        actions
    }

    /// Whether [`Engine::flush`] has work to do.
    pub fn needs_flush(&self) -> bool {
        !self.dirty.is_empty()
    }
}
