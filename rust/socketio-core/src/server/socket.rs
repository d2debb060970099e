//! Sockets: a connection joining a namespace, and every way of leaving it.

use std::collections::HashSet;

use engineio_core::{Data, SID_RANDOM_BYTES};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{wrap, Action, DisconnectReason, SocketServer, SocketState, StoreOp};
use crate::packet::{encode_frame, PacketKind};

impl SocketServer {
    /// The id a socket accepted with `random` gets (base64url without padding, as
    /// Socket.IO's ids), unless another socket has it already.
    pub fn socket_id_from_random(random: &[u8; SID_RANDOM_BYTES]) -> String {
        URL_SAFE_NO_PAD.encode(random)
    }

    /// Accepts the CONNECT of engine session `sid` to `nsp`: creates the socket
    /// (id from `random`) and answers `0[/nsp,]{"sid":"<id>"}`. `None` when the
    /// engine session is gone or already joined `nsp`.
    pub fn accept(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Option<(String, Vec<Action>)> {
        let client = self.clients.get(sid)?;
        if client.nsps.contains_key(nsp) || !self.engine.has_session(sid) {
            return None;
        }
        let mut id = Self::socket_id_from_random(random);
        while self.sockets.contains_key(&id) {
            id.push('_');
        }
        if let Some(client) = self.clients.get_mut(sid) {
            client.nsps.insert(nsp.to_owned(), id.clone());
            client.connect_deadline = None;
        }
        let namespace = self.namespaces.entry(nsp.to_owned()).or_default();
        namespace.sockets.insert(id.clone());
        namespace
            .rooms
            .entry(id.clone())
            .or_default()
            .insert(id.clone());
        self.sockets.insert(
            id.clone(),
            SocketState {
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
                rooms: HashSet::from([id.clone()]),
            },
        );
        let payload = format!("{{\"sid\":\"{id}\"}}");
        let frame = encode_frame(PacketKind::Connect, nsp, None, 0, Some(&payload));
        let mut actions = Vec::new();
        if self.clients.get(sid).is_some_and(|c| c.persisted) {
            actions.push(Action::Store(StoreOp::SocketAdded {
                id: id.clone(),
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
            }));
        }
        actions.extend(wrap(self.engine.send(now, sid, Data::Text(frame))));
        Some((id, actions))
    }

    /// Refuses the CONNECT of `sid` to `nsp` with CONNECT_ERROR and `data_json`.
    pub fn connect_error(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        data_json: &str,
    ) -> Vec<Action> {
        let frame = encode_frame(PacketKind::ConnectError, nsp, None, 0, Some(data_json));
        wrap(self.engine.send(now, sid, Data::Text(frame)))
    }

    /// Disconnects a socket from the server side: DISCONNECT to the client,
    /// reason "server namespace disconnect". With `close`, every socket of the
    /// same connection goes that way and the engine session is closed.
    pub fn disconnect_socket(&mut self, now: u64, socket_id: &str, close: bool) -> Vec<Action> {
        let Some(s) = self.sockets.get(socket_id) else {
            return Vec::new();
        };
        let sid = s.sid.clone();
        let ids: Vec<String> = if close {
            self.clients
                .get(&sid)
                .map(|c| c.nsps.values().cloned().collect())
                .unwrap_or_default()
        } else {
            vec![socket_id.to_owned()]
        };
        let mut out = Vec::new();
        for id in ids {
            if let Some(nsp) = self.sockets.get(&id).map(|s| s.nsp.clone()) {
                let frame = encode_frame(PacketKind::Disconnect, &nsp, None, 0, None);
                out.extend(wrap(self.engine.send(now, &sid, Data::Text(frame))));
                self.disconnected(&id, DisconnectReason::ServerNamespaceDisconnect, &mut out);
            }
        }
        if close {
            let a = self.engine.close(now, &sid);
            out.extend(self.process(now, a));
        }
        out
    }

    /// Removes a socket and reports it: the `Disconnect`, then its removal
    /// from storage (after, so the driver can still read it to revive the
    /// socket's JavaScript side for its last listeners).
    pub(super) fn disconnected(
        &mut self,
        socket_id: &str,
        reason: DisconnectReason,
        out: &mut Vec<Action>,
    ) {
        let Some(sid) = self.sockets.get(socket_id).map(|s| s.sid.clone()) else {
            return;
        };
        let persisted = self.clients.get(&sid).is_some_and(|c| c.persisted);
        self.remove_socket(socket_id);
        // Its rows go with it: room changes not taken yet are moot.
        self.pending_rooms.forget(socket_id);
        out.push(Action::Disconnect {
            socket_id: socket_id.to_owned(),
            reason,
        });
        if persisted {
            out.push(Action::Store(StoreOp::SocketRemoved {
                id: socket_id.to_owned(),
            }));
        }
    }

    fn remove_socket(&mut self, socket_id: &str) {
        let Some(s) = self.sockets.remove(socket_id) else {
            return;
        };
        if let Some(c) = self.clients.get_mut(&s.sid) {
            c.nsps.remove(&s.nsp);
        }
        if let Some(n) = self.namespaces.get_mut(&s.nsp) {
            n.sockets.remove(socket_id);
            for room in &s.rooms {
                if let Some(members) = n.rooms.get_mut(room) {
                    members.remove(socket_id);
                    if members.is_empty() {
                        n.rooms.remove(room);
                    }
                }
            }
        }
    }
}
