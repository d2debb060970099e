//! Sockets: a connection joining a namespace, and every way of leaving it.

use std::collections::HashSet;

use engineio_core::error::push_json_string;
use engineio_core::SID_RANDOM_BYTES;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::{v3, wrap, Accepted, Action, DisconnectReason, SocketServer, SocketState, StoreOp};
use crate::packet::PacketKind;

impl SocketServer {
    /// The id a socket accepted with `random` gets (base64url without padding, as
    /// Socket.IO's ids), unless another socket has it already.
    pub fn socket_id_from_random(random: &[u8; SID_RANDOM_BYTES]) -> String {
        URL_SAFE_NO_PAD.encode(random)
    }

    /// Accepts the CONNECT of engine session `sid` to `nsp`: creates the socket
    /// (id from `random`) and answers `0[/nsp,]{"sid":"<id>"}`. `None` when the
    /// engine session is gone or already joined `nsp`. With connection state
    /// recovery on, use [`SocketServer::accept_new`], which gives the socket its
    /// private session id too.
    pub fn accept(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Option<(String, Vec<Action>)> {
        self.accept_new(now, sid, nsp, random, None)
            .map(|a| (a.id, a.actions))
    }

    /// Accepts the CONNECT of engine session `sid` to `nsp` with a new socket: its
    /// id from `random` and, when connection state recovery is on, its private
    /// session id (`pid`, sent in the CONNECT answer) from `pid_random`. `None` when
    /// the engine session is gone or already joined `nsp`.
    pub fn accept_new(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        random: &[u8; SID_RANDOM_BYTES],
        pid_random: Option<&[u8; SID_RANDOM_BYTES]>,
    ) -> Option<Accepted> {
        if !self.may_join(sid, nsp) {
            return None;
        }
        let mut id = self.socket_id_for(sid, nsp, random);
        while self.sockets.contains_key(&id) {
            id.push('_');
        }
        // A v3 client has no way to recover a session: its socket gets no pid.
        let pid = self
            .config
            .recovery
            .and(pid_random)
            .filter(|_| !self.is_v3(sid))
            .map(Self::socket_id_from_random);
        let mut actions = Vec::new();
        self.add_socket(sid, nsp, &id, &mut actions);
        self.send_connect(now, sid, nsp, &id, pid.as_deref(), &mut actions);
        Some(Accepted { id, pid, actions })
    }

    /// Whether engine session `sid` may join `nsp` now.
    pub(super) fn may_join(&self, sid: &str, nsp: &str) -> bool {
        self.clients
            .get(sid)
            .is_some_and(|c| !c.nsps.contains_key(nsp))
            && self.engine.has_session(sid)
    }

    /// Creates socket `id` of `sid` in `nsp`, in its own room (stored when its
    /// connection is).
    pub(super) fn add_socket(&mut self, sid: &str, nsp: &str, id: &str, out: &mut Vec<Action>) {
        if let Some(client) = self.clients.get_mut(sid) {
            client.nsps.insert(nsp.to_owned(), id.to_owned());
            client.connect_deadline = None;
        }
        let namespace = self.namespaces.entry(nsp.to_owned()).or_default();
        namespace.sockets.insert(id.to_owned());
        namespace
            .rooms
            .entry(id.to_owned())
            .or_default()
            .insert(id.to_owned());
        self.sockets.insert(
            id.to_owned(),
            SocketState {
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
                rooms: HashSet::from([id.to_owned()]),
            },
        );
        if self.clients.get(sid).is_some_and(|c| c.persisted) {
            out.push(Action::Store(StoreOp::SocketAdded {
                id: id.to_owned(),
                sid: sid.to_owned(),
                nsp: nsp.to_owned(),
            }));
        }
    }

    /// Sends the CONNECT answer: `0[/nsp,]{"sid":"<id>"[,"pid":"<pid>"]}`, or
    /// `0[/nsp,]` to a v3 client.
    pub(super) fn send_connect(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        id: &str,
        pid: Option<&str>,
        out: &mut Vec<Action>,
    ) {
        if self.is_v3(sid) {
            let sent = self.send_packet(now, sid, PacketKind::Connect, nsp, None, None, &[]);
            out.extend(wrap(sent));
            return;
        }
        let mut payload = String::with_capacity(64);
        payload.push_str("{\"sid\":");
        push_json_string(id, &mut payload);
        if let Some(pid) = pid {
            payload.push_str(",\"pid\":");
            push_json_string(pid, &mut payload);
        }
        payload.push('}');
        let sent = self.send_packet(
            now,
            sid,
            PacketKind::Connect,
            nsp,
            None,
            Some(&payload),
            &[],
        );
        out.extend(wrap(sent));
    }

    /// Refuses the CONNECT of `sid` to `nsp` for a middleware's error, from the
    /// JSON of its `message` and of its `data` (each absent when undefined):
    /// CONNECT_ERROR with `{ message, data }`, or for a v3 client `data` if it is
    /// truthy, else `message`, as Node's server answers each.
    pub fn connect_refused(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        message_json: Option<&str>,
        data_json: Option<&str>,
    ) -> Vec<Action> {
        let payload = v3::refusal_payload(self.is_v3(sid), message_json, data_json);
        let kind = PacketKind::ConnectError;
        wrap(self.send_packet(now, sid, kind, nsp, None, payload.as_deref(), &[]))
    }

    /// Refuses the CONNECT of `sid` to `nsp` with CONNECT_ERROR and `data_json`
    /// (the same for every client, as Node's server refuses an unknown namespace).
    pub fn connect_error(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        data_json: &str,
    ) -> Vec<Action> {
        wrap(self.send_packet(
            now,
            sid,
            PacketKind::ConnectError,
            nsp,
            None,
            Some(data_json),
            &[],
        ))
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
                let sent =
                    self.send_packet(now, &sid, PacketKind::Disconnect, &nsp, None, None, &[]);
                out.extend(wrap(sent));
                self.disconnected(
                    now,
                    &id,
                    DisconnectReason::ServerNamespaceDisconnect,
                    &mut out,
                );
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
        now: u64,
        socket_id: &str,
        reason: DisconnectReason,
        out: &mut Vec<Action>,
    ) {
        let Some(sid) = self.sockets.get(socket_id).map(|s| s.sid.clone()) else {
            return;
        };
        let persisted = self.clients.get(&sid).is_some_and(|c| c.persisted);
        if let Some(kept) = self.kept_session(now, socket_id, reason) {
            out.push(kept);
        }
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
