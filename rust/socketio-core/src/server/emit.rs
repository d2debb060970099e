//! Events from the server: to one socket or broadcast, with their ack ids;
//! and the answers to the client's acks.

use engineio_core::Data;

use super::{wrap, Action, SocketServer, StoreOp, ACK_BLOCK};
use crate::packet::{encode_frame, PacketKind};

/// What an emit produced.
#[derive(Debug, Default)]
pub struct Emitted {
    /// The ack id, when one was asked for.
    pub ack_id: Option<u64>,
    /// The sockets the packet went to (filled for broadcasts with ack).
    pub recipients: Vec<String>,
    /// The actions.
    pub actions: Vec<Action>,
}

impl SocketServer {
    fn next_ack(&mut self, nsp: &str, out: &mut Vec<Action>) -> u64 {
        let n = self.namespaces.entry(nsp.to_owned()).or_default();
        let id = n.next_ack;
        n.next_ack = n.next_ack.wrapping_add(1);
        if id >= n.ack_reserved {
            n.ack_reserved = id.saturating_add(ACK_BLOCK);
            out.push(Action::Store(StoreOp::AckReserved {
                nsp: nsp.to_owned(),
                up_to: n.ack_reserved,
            }));
        }
        id
    }

    /// Sends an event (`data_json` = `["name", ...args]` with placeholders) to
    /// one socket, binary attachments after it.
    pub fn emit_to_socket(
        &mut self,
        socket_id: &str,
        data_json: &str,
        binaries: &[Vec<u8>],
        with_ack: bool,
        volatile: bool,
    ) -> Emitted {
        let mut out = Emitted::default();
        let Some(s) = self.sockets.get(socket_id) else {
            return out;
        };
        let (sid, nsp) = (s.sid.clone(), s.nsp.clone());
        if volatile && !self.engine.is_writable(&sid) {
            return out;
        }
        let mut stored = Vec::new();
        let ack_id = with_ack.then(|| self.next_ack(&nsp, &mut stored));
        let kind = if binaries.is_empty() {
            PacketKind::Event
        } else {
            PacketKind::BinaryEvent
        };
        let frame = encode_frame(kind, &nsp, ack_id, binaries.len(), Some(data_json));
        let mut actions = self.engine.send(&sid, Data::Text(frame));
        for b in binaries {
            actions.extend(self.engine.send(&sid, Data::Binary(b.clone())));
        }
        out.ack_id = ack_id;
        out.actions = stored;
        out.actions.extend(wrap(actions));
        out
    }

    /// Sends an event to every socket of `nsp` in any of `rooms` (all sockets
    /// when empty) and in none of `except`, encoded once.
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast(
        &mut self,
        nsp: &str,
        rooms: &[String],
        except: &[String],
        data_json: &str,
        binaries: &[Vec<u8>],
        with_ack: bool,
        volatile: bool,
    ) -> Emitted {
        let mut out = Emitted::default();
        let targets = self.sockets_in(nsp, rooms, except);
        let mut stored = Vec::new();
        let ack_id = with_ack.then(|| self.next_ack(nsp, &mut stored));
        let kind = if binaries.is_empty() {
            PacketKind::Event
        } else {
            PacketKind::BinaryEvent
        };
        let frame = encode_frame(kind, nsp, ack_id, binaries.len(), Some(data_json));
        let mut sids: Vec<&str> = Vec::with_capacity(targets.len());
        let mut recipients = Vec::new();
        for id in &targets {
            if let Some(s) = self.sockets.get(id) {
                if volatile && !self.engine.is_writable(&s.sid) {
                    continue;
                }
                sids.push(&s.sid);
                if with_ack {
                    recipients.push(id.clone());
                }
            }
        }
        let mut actions = Vec::new();
        let sids: Vec<String> = sids.into_iter().map(str::to_owned).collect();
        self.engine.send_many(
            sids.iter().map(String::as_str),
            &Data::Text(frame),
            false,
            &mut actions,
        );
        for b in binaries {
            self.engine.send_many(
                sids.iter().map(String::as_str),
                &Data::Binary(b.clone()),
                false,
                &mut actions,
            );
        }
        out.ack_id = ack_id;
        out.recipients = recipients;
        out.actions = stored;
        out.actions.extend(wrap(actions));
        out
    }

    /// Answers the client's ack `id` on `socket_id`.
    pub fn ack(
        &mut self,
        socket_id: &str,
        id: u64,
        data_json: &str,
        binaries: &[Vec<u8>],
    ) -> Vec<Action> {
        let Some(s) = self.sockets.get(socket_id) else {
            return Vec::new();
        };
        let (sid, nsp) = (s.sid.clone(), s.nsp.clone());
        let kind = if binaries.is_empty() {
            PacketKind::Ack
        } else {
            PacketKind::BinaryAck
        };
        let frame = encode_frame(kind, &nsp, Some(id), binaries.len(), Some(data_json));
        let mut actions = self.engine.send(&sid, Data::Text(frame));
        for b in binaries {
            actions.extend(self.engine.send(&sid, Data::Binary(b.clone())));
        }
        wrap(actions)
    }
}
