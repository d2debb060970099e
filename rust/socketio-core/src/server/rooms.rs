//! Rooms: membership, and the sockets a broadcast reaches.

use std::collections::HashSet;

use super::{Action, SocketServer};

impl SocketServer {
    /// Adds a socket to rooms.
    pub fn join(&mut self, _now: u64, socket_id: &str, rooms: &[String]) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(s) = self.sockets.get_mut(socket_id) else {
            return out;
        };
        let persisted = self.clients.get(&s.sid).is_some_and(|c| c.persisted);
        let n = self.namespaces.entry(s.nsp.clone()).or_default();
        for room in rooms {
            if s.rooms.insert(room.clone()) {
                n.rooms
                    .entry(room.clone())
                    .or_default()
                    .insert(socket_id.to_owned());
                if persisted && room != socket_id {
                    self.pending_rooms.note(socket_id, room, true, &mut out);
                }
            }
        }
        out
    }

    /// Removes a socket from a room.
    pub fn leave(&mut self, _now: u64, socket_id: &str, room: &str) -> Vec<Action> {
        let mut out = Vec::new();
        let Some(s) = self.sockets.get_mut(socket_id) else {
            return out;
        };
        if !s.rooms.remove(room) {
            return out;
        }
        if room != socket_id && self.clients.get(&s.sid).is_some_and(|c| c.persisted) {
            self.pending_rooms.note(socket_id, room, false, &mut out);
        }
        if let Some(n) = self.namespaces.get_mut(&s.nsp) {
            if let Some(members) = n.rooms.get_mut(room) {
                members.remove(socket_id);
                if members.is_empty() {
                    n.rooms.remove(room);
                }
            }
        }
        out
    }

    /// Whether a broadcast to `rooms` (every socket of the namespace when empty),
    /// except those in `except`, reaches socket `socket_id`: the rule of
    /// [`SocketServer::sockets_in`], for one socket (its outgoing listeners are told
    /// of the packet).
    pub fn is_targeted(&self, socket_id: &str, rooms: &[String], except: &[String]) -> bool {
        let Some(s) = self.sockets.get(socket_id) else {
            return false;
        };
        if except.iter().any(|r| s.rooms.contains(r)) {
            return false;
        }
        rooms.is_empty() || rooms.iter().any(|r| s.rooms.contains(r))
    }

    /// Ids of the sockets of `nsp` in any of `rooms` (all when empty) and in
    /// none of `except`.
    pub fn sockets_in(&self, nsp: &str, rooms: &[String], except: &[String]) -> Vec<String> {
        let Some(n) = self.namespaces.get(nsp) else {
            return Vec::new();
        };
        let excluded: HashSet<&str> = except
            .iter()
            .filter_map(|r| n.rooms.get(r))
            .flat_map(|m| m.iter().map(String::as_str))
            .collect();
        let keep = |id: &&String| !excluded.contains(id.as_str());
        if rooms.is_empty() {
            return n.sockets.iter().filter(keep).cloned().collect();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for r in rooms {
            if let Some(members) = n.rooms.get(r) {
                for id in members.iter().filter(keep) {
                    if seen.insert(id.as_str()) {
                        out.push(id.clone());
                    }
                }
            }
        }
        out
    }

    /// The rooms of a socket (its own id included).
    pub fn rooms_of(&self, socket_id: &str) -> Vec<String> {
        self.sockets
            .get(socket_id)
            .map(|s| s.rooms.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of sockets in room `room` of `nsp` (0 when the room does not
    /// exist): whether a join created the room, or a leave emptied it.
    pub fn room_size(&self, nsp: &str, room: &str) -> usize {
        self.namespaces
            .get(nsp)
            .and_then(|n| n.rooms.get(room))
            .map_or(0, |m| m.len())
    }

    /// Every room of `nsp` with its members.
    pub fn rooms_in(&self, nsp: &str) -> Vec<(String, Vec<String>)> {
        self.namespaces
            .get(nsp)
            .map(|n| {
                n.rooms
                    .iter()
                    .map(|(r, m)| (r.clone(), m.iter().cloned().collect()))
                    .collect()
            })
            .unwrap_or_default()
    }
}
