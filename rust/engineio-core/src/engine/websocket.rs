//! Frames and closes of a session's WebSocket.

use super::{Action, CloseReason, Engine, Transport};
use crate::packet::{Packet, PacketType};
use crate::v3::{self, Protocol};

impl Engine {
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

    /// A binary frame arrived on the WebSocket of `sid` (of protocol v3: its
    /// packet type byte, then the data).
    pub fn ws_binary(&mut self, now: u64, sid: &str, frame: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        if frame.len() > self.config.max_payload {
            self.ws_too_big(sid, &mut actions);
            return actions;
        }
        let protocol = self
            .protocol_of(sid)
            .or_else(|| self.draining.get(sid).map(|d| d.protocol))
            .unwrap_or_default();
        match protocol {
            Protocol::V4 => self.ws_packet(now, sid, Packet::decode_binary(frame), &mut actions),
            Protocol::V3 => match v3::decode_binary_frame(frame) {
                Ok(packet) => self.ws_packet(now, sid, packet, &mut actions),
                Err(_) => self.ws_parse_error(sid, &mut actions),
            },
        }
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

    fn ws_packet(&mut self, now: u64, sid: &str, packet: Packet, actions: &mut Vec<Action>) {
        if self.expire_if_due(now, sid, actions) {
            return;
        }
        if packet.kind == PacketType::Upgrade && self.draining.get(sid).is_some_and(|d| d.upgrading)
        {
            self.finish_drained_upgrade(sid, actions);
            return;
        }
        let Some(session) = self.sessions.get(sid) else {
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
            self.probe_packet(now, sid, packet, actions);
            return;
        }
        self.on_packet(now, sid, packet, actions);
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
}
