//! The durable copy of the socket layer: what the driver writes to storage,
//! what it reads back, and the revival of a connection after a restart.

use std::collections::{HashMap, HashSet};

use engineio_core::{Protocol, Snapshot};

use super::{Action, Client, SocketServer, SocketState};

/// A change to the durable copy of the socket layer's state, for the driver
/// to apply to storage. Only connections that can outlive the object's memory
/// (WebSocket ones) are stored; a polling connection is stored when it
/// upgrades, or from the start with connection state recovery on (so that its
/// sockets can be recovered after the object restarted).
///
/// Room memberships are not reported one by one: the server collects them
/// and says once, with [`StoreOp::RoomsChanged`], that there are some to take
/// with [`SocketServer::take_room_changes`], so that the driver writes a
/// whole turn's joins and leaves at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// A socket joined `nsp` over engine session `sid` (its own id room is implied).
    SocketAdded {
        /// The socket.
        id: String,
        /// Its engine session.
        sid: String,
        /// Its namespace.
        nsp: String,
    },
    /// A socket is gone, with its rooms.
    SocketRemoved {
        /// The socket.
        id: String,
    },
    /// Room memberships changed: take them with
    /// [`SocketServer::take_room_changes`] before the current turn ends.
    /// Reported once until they are taken, however many changes follow.
    RoomsChanged,
    /// Connection state recovery: an event was sent, stamped with `offset` (the
    /// last element of `data`); keep it for sockets of `nsp` that may come back
    /// (in any of `rooms`, or any socket when empty, and in none of `except`).
    /// One per emit, whatever the number of recipients.
    PacketStored {
        /// Its offset, increasing with time (about 1000 per millisecond).
        offset: u64,
        /// The namespace.
        nsp: String,
        /// The rooms it went to (none: the whole namespace).
        rooms: Vec<String>,
        /// The rooms it skipped.
        except: Vec<String>,
        /// The JSON array text `["name", ...args, "<offset>"]`.
        data: String,
        /// Its binary attachments, in placeholder order.
        binaries: Vec<Vec<u8>>,
    },
    /// Connection state recovery: socket `id` of `nsp` lost its connection
    /// (a recoverable reason) at `at`; keep its session (with its private
    /// session id and `socket.data`, which the driver knows) until the window
    /// passes. Comes right before its [`Action::Disconnect`].
    SessionKept {
        /// The socket.
        id: String,
        /// Its namespace.
        nsp: String,
        /// Its rooms, its own id included.
        rooms: Vec<String>,
        /// When it lost its connection.
        at: u64,
    },
    /// Ack ids of `nsp` below `up_to` may have been used: after a restart,
    /// allocation resumes there, so no id is ever reused.
    AckReserved {
        /// The namespace.
        nsp: String,
        /// First id not yet reserved.
        up_to: u64,
    },
}

/// The room changes of one socket since the last
/// [`SocketServer::take_room_changes`], as storage must apply them: a join and
/// a leave of the same room in between cancel out. Own-id rooms never appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomChanges {
    /// The socket.
    pub id: String,
    /// Its namespace.
    pub nsp: String,
    /// Rooms to add (in no particular order).
    pub joined: Vec<String>,
    /// Rooms to remove (in no particular order).
    pub left: Vec<String>,
}

/// How many ack ids are reserved in storage at a time (one write per block).
pub const ACK_BLOCK: u64 = 1000;

/// A stored socket, as the driver reads it back after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSocket {
    /// The socket.
    pub id: String,
    /// Its engine session.
    pub sid: String,
    /// Its namespace.
    pub nsp: String,
    /// Its rooms besides its own id.
    pub rooms: Vec<String>,
}

impl SocketServer {
    /// Brings back a WebSocket session after the object restarted: the
    /// engine session from its snapshot and, from storage, the sockets it
    /// carries (`sockets` may be empty when the driver defers loading them).
    /// A session whose pong deadline passed meanwhile is closed at once, and
    /// its sockets are reported disconnected ("ping timeout").
    pub fn restore(
        &mut self,
        now: u64,
        snapshot: Snapshot,
        sockets: Vec<StoredSocket>,
    ) -> Vec<Action> {
        let sid = snapshot.sid.clone();
        if self.engine.has_session(&sid) {
            self.restore_sockets(now, sockets);
            return Vec::new();
        }
        let parser = self.config.parser;
        let v3 = snapshot.protocol == Protocol::V3;
        self.clients.entry(sid).or_insert_with(|| Client {
            decoder: parser.decoder(),
            nsps: HashMap::new(),
            connect_deadline: None,
            broken: false,
            persisted: true,
            v3,
        });
        for st in sockets {
            self.insert_stored(st);
        }
        let mut engine_actions = Vec::new();
        self.engine.restore(now, snapshot, &mut engine_actions);
        self.process(now, engine_actions)
    }

    /// Stores the sockets of a connection that just became durable (upgraded
    /// to WebSocket).
    pub(super) fn store_connection(&mut self, sid: &str, out: &mut Vec<Action>) {
        let Some(c) = self.clients.get_mut(sid) else {
            return;
        };
        if c.persisted {
            return;
        }
        c.persisted = true;
        for id in c.nsps.values() {
            if let Some(s) = self.sockets.get(id) {
                out.push(Action::Store(StoreOp::SocketAdded {
                    id: id.clone(),
                    sid: sid.to_owned(),
                    nsp: s.nsp.clone(),
                }));
                for room in s.rooms.iter().filter(|r| *r != id) {
                    self.pending_rooms.note(id, room, true, out);
                }
            }
        }
    }

    /// Brings back sockets read from storage after a restart (those already
    /// known are skipped). Their engine sessions must be restored first;
    /// sockets of sessions the engine does not know are skipped.
    pub fn restore_sockets(&mut self, _now: u64, sockets: Vec<StoredSocket>) {
        for st in sockets {
            if self.engine.has_session(&st.sid) {
                self.insert_stored(st);
            }
        }
    }

    fn insert_stored(&mut self, st: StoredSocket) {
        if self.sockets.contains_key(&st.id) {
            return;
        }
        let parser = self.config.parser;
        let v3 = self.engine.protocol_of(&st.sid) == Some(Protocol::V3);
        let client = self
            .clients
            .entry(st.sid.clone())
            .or_insert_with(|| Client {
                decoder: parser.decoder(),
                nsps: HashMap::new(),
                connect_deadline: None,
                broken: false,
                persisted: true,
                v3,
            });
        client.nsps.insert(st.nsp.clone(), st.id.clone());
        client.connect_deadline = None;
        let n = self.namespaces.entry(st.nsp.clone()).or_default();
        n.sockets.insert(st.id.clone());
        let mut rooms: HashSet<String> = st.rooms.into_iter().collect();
        rooms.insert(st.id.clone());
        for room in &rooms {
            n.rooms
                .entry(room.clone())
                .or_default()
                .insert(st.id.clone());
        }
        self.sockets.insert(
            st.id,
            SocketState {
                sid: st.sid,
                nsp: st.nsp,
                rooms,
            },
        );
    }

    /// The room changes of stored sockets since the last call, one entry per
    /// socket that has any (in no particular order), and forgets them: the
    /// driver writes them to storage, all at once, before the turn in which
    /// [`StoreOp::RoomsChanged`] was reported ends.
    pub fn take_room_changes(&mut self, _now: u64) -> Vec<RoomChanges> {
        let PendingRooms {
            joined, mut left, ..
        } = std::mem::take(&mut self.pending_rooms);
        let mut out = Vec::with_capacity(joined.len() + left.len());
        let changes: Vec<_> = joined
            .into_iter()
            .map(|(id, rooms)| {
                let gone = left.remove(&id).unwrap_or_default();
                (id, rooms, gone)
            })
            .collect();
        let rest = left
            .into_iter()
            .map(|(id, rooms)| (id, HashSet::new(), rooms));
        for (id, joined, left) in changes.into_iter().chain(rest) {
            // Sockets gone meanwhile were forgotten; this is only a safeguard.
            if let Some(s) = self.sockets.get(&id) {
                out.push(RoomChanges {
                    nsp: s.nsp.clone(),
                    id,
                    joined: joined.into_iter().collect(),
                    left: left.into_iter().collect(),
                });
            }
        }
        out
    }

    /// Resumes ack id allocation of `nsp` at `next` (a stored reservation).
    pub fn restore_ack_ids(&mut self, _now: u64, nsp: &str, next: u64) {
        let n = self.namespaces.entry(nsp.to_owned()).or_default();
        if next > n.next_ack {
            n.next_ack = next;
            n.ack_reserved = next;
        }
    }
}

/// Room changes of stored sockets since the last take, relative to what
/// storage holds (which is what the server held before them), so that the
/// opposite of a change not taken yet cancels it.
#[derive(Debug, Default)]
pub(super) struct PendingRooms {
    /// Socket → rooms to add.
    joined: HashMap<String, HashSet<String>>,
    /// Socket → rooms to remove.
    left: HashMap<String, HashSet<String>>,
    /// Whether [`StoreOp::RoomsChanged`] went out since the last take.
    signalled: bool,
}

impl PendingRooms {
    /// Records that `id` joined (`join`) or left `room`; the first change since
    /// the last take reports [`StoreOp::RoomsChanged`].
    pub(super) fn note(&mut self, id: &str, room: &str, join: bool, out: &mut Vec<Action>) {
        let (add, undo) = if join {
            (&mut self.joined, &mut self.left)
        } else {
            (&mut self.left, &mut self.joined)
        };
        let cancelled = match undo.get_mut(id) {
            Some(rooms) => {
                let removed = rooms.remove(room);
                if rooms.is_empty() {
                    undo.remove(id);
                }
                removed
            }
            None => false,
        };
        if !cancelled {
            match add.get_mut(id) {
                Some(rooms) => {
                    rooms.insert(room.to_owned());
                }
                None => {
                    add.insert(id.to_owned(), HashSet::from([room.to_owned()]));
                }
            }
        }
        if !self.signalled {
            self.signalled = true;
            out.push(Action::Store(StoreOp::RoomsChanged));
        }
    }

    /// Drops the changes of a socket that is gone (its rows go with it).
    pub(super) fn forget(&mut self, id: &str) {
        self.joined.remove(id);
        self.left.remove(id);
    }
}
