//! Events from the server: to one socket or broadcast, with their ack ids;
//! and the answers to the client's acks.

use super::{wrap, Action, SocketServer, StoreOp, ACK_BLOCK};
use crate::packet::PacketKind;

/// An event to send, for [`SocketServer::emit_to_socket`] and
/// [`SocketServer::broadcast`]: `Emit::new(data_json)`, then the options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emit<'a> {
    /// The JSON array text `["name", ...args]`, a placeholder
    /// `{"_placeholder":true,"num":N}` in place of each binary argument.
    pub data_json: &'a str,
    /// The binary attachments, in placeholder order.
    pub binaries: &'a [Vec<u8>],
    /// Whether the client is asked for an ack (an id is allocated).
    pub with_ack: bool,
    /// Whether recipients that cannot take the event right now (polling
    /// without a held GET) are skipped.
    pub volatile: bool,
}

impl<'a> Emit<'a> {
    /// An event without attachments, ack or volatility.
    pub fn new(data_json: &'a str) -> Self {
        Emit {
            data_json,
            binaries: &[],
            with_ack: false,
            volatile: false,
        }
    }

    /// The same event with these binary attachments.
    pub fn with_binaries(self, binaries: &'a [Vec<u8>]) -> Self {
        Emit { binaries, ..self }
    }

    /// The same event, asking the client for an ack.
    pub fn with_ack(self) -> Self {
        Emit {
            with_ack: true,
            ..self
        }
    }

    /// The same event, volatile.
    pub fn volatile(self) -> Self {
        Emit {
            volatile: true,
            ..self
        }
    }
}

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

    /// Sends an event to one socket, binary attachments after it.
    pub fn emit_to_socket(&mut self, now: u64, socket_id: &str, emit: Emit<'_>) -> Emitted {
        let mut out = Emitted::default();
        let Some(s) = self.sockets.get(socket_id) else {
            return out;
        };
        let (sid, nsp) = (s.sid.clone(), s.nsp.clone());
        if emit.volatile && !self.engine.is_writable(&sid) {
            return out;
        }
        let mut stored = Vec::new();
        let ack_id = emit.with_ack.then(|| self.next_ack(&nsp, &mut stored));
        // Stored for recovery as Socket.IO stores it: sent to the socket's own room.
        let own = [socket_id.to_owned()];
        let stamped = self.stamp(now, &nsp, &own, &[], &emit, &mut stored);
        let data = stamped.as_deref().unwrap_or(emit.data_json);
        let actions = self.send_packet(
            now,
            &sid,
            PacketKind::Event,
            &nsp,
            ack_id,
            Some(data),
            emit.binaries,
        );
        out.ack_id = ack_id;
        out.actions = stored;
        out.actions.extend(wrap(actions));
        out
    }

    /// Sends an event to every socket of `nsp` in any of `rooms` (all sockets
    /// when empty) and in none of `except`, encoded once.
    pub fn broadcast(
        &mut self,
        now: u64,
        nsp: &str,
        rooms: &[String],
        except: &[String],
        emit: Emit<'_>,
    ) -> Emitted {
        let mut out = Emitted::default();
        let targets = self.sockets_in(nsp, rooms, except);
        let mut stored = Vec::new();
        let ack_id = emit.with_ack.then(|| self.next_ack(nsp, &mut stored));
        let stamped = self.stamp(now, nsp, rooms, except, &emit, &mut stored);
        let data = stamped.as_deref().unwrap_or(emit.data_json);
        let frames =
            self.config
                .parser
                .encode(PacketKind::Event, nsp, ack_id, Some(data), emit.binaries);
        let mut sids: Vec<&str> = Vec::with_capacity(targets.len());
        let mut recipients = Vec::new();
        for id in &targets {
            if let Some(s) = self.sockets.get(id) {
                if emit.volatile && !self.engine.is_writable(&s.sid) {
                    continue;
                }
                sids.push(&s.sid);
                if emit.with_ack {
                    recipients.push(id.clone());
                }
            }
        }
        let mut actions = Vec::new();
        let sids: Vec<String> = sids.into_iter().map(str::to_owned).collect();
        for frame in &frames {
            self.engine.send_many(
                now,
                sids.iter().map(String::as_str),
                frame,
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
        now: u64,
        socket_id: &str,
        id: u64,
        data_json: &str,
        binaries: &[Vec<u8>],
    ) -> Vec<Action> {
        let Some(s) = self.sockets.get(socket_id) else {
            return Vec::new();
        };
        let (sid, nsp) = (s.sid.clone(), s.nsp.clone());
        wrap(self.send_packet(
            now,
            &sid,
            PacketKind::Ack,
            &nsp,
            Some(id),
            Some(data_json),
            binaries,
        ))
    }
}
