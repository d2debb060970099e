//! The Socket.IO server state machine: engine connections ("clients"),
//! namespaces, sockets, rooms, broadcast resolution and ack ids.
//!
//! [`SocketServer`] wraps an [`Engine`]. Every call that can produce engine
//! actions runs them through the socket layer: engine `message`s are decoded
//! into Socket.IO packets and become [`Action::Connect`], [`Action::Event`],
//! [`Action::Ack`] or [`Action::Disconnect`]; a closed engine session
//! disconnects its sockets. Everything else passes through as
//! [`Action::Engine`].
//!
//! What only the application can decide (whether a namespace exists, what the
//! middlewares say) stays outside: a CONNECT becomes [`Action::Connect`] and the
//! driver answers with [`SocketServer::accept`] or [`SocketServer::connect_error`].

use std::collections::{HashMap, HashSet};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use engineio_core::{
    Action as EngineAction, CloseReason, Data, Engine, ReqId, RequestError, RequestInfo, Route,
    Snapshot, Transport, SID_RANDOM_BYTES,
};

use crate::decoder::{Complete, Decoder};
use crate::packet::{encode_frame, PacketKind};

/// Options of the Socket.IO layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// Time an engine connection may stay without joining any namespace
    /// (`connectTimeout`, default 45000 ms).
    pub connect_timeout: u64,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            connect_timeout: 45_000,
        }
    }
}

/// Why a socket left its namespace, with Socket.IO's reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The engine session closed for this reason.
    Engine(CloseReason),
    /// The server closed the connection after an invalid packet sequence.
    ForcedServerClose,
    /// The server disconnected the socket (`socket.disconnect()`).
    ServerNamespaceDisconnect,
    /// The client sent a DISCONNECT packet.
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
}

impl DisconnectReason {
    /// The reason as Socket.IO reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Engine(r) => r.as_str(),
            DisconnectReason::ForcedServerClose => "forced server close",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
        }
    }
}

/// Something the driver must do or learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// An engine action to carry out (never an engine `Message`).
    Engine(EngineAction),
    /// Engine session `sid` asks to join `nsp`; answer with
    /// [`SocketServer::accept`] or [`SocketServer::connect_error`].
    Connect {
        /// The engine session.
        sid: String,
        /// The namespace.
        nsp: String,
        /// The CONNECT payload as JSON text.
        auth: Option<String>,
    },
    /// An event for a socket.
    Event {
        /// The socket.
        socket_id: String,
        /// The JSON array text `["name", ...args]` as received.
        data: String,
        /// The ack id the client waits an answer for.
        ack_id: Option<u64>,
        /// Binary attachments, in placeholder order.
        binaries: Vec<Vec<u8>>,
    },
    /// The client's answer to one of our emits.
    Ack {
        /// The socket.
        socket_id: String,
        /// The ack id of our emit.
        id: u64,
        /// The JSON array text of the answer's arguments.
        data: String,
        /// Binary attachments, in placeholder order.
        binaries: Vec<Vec<u8>>,
    },
    /// The connection of this socket sent an invalid packet; the connection
    /// closes right after (Socket.IO emits `error` on each of its sockets).
    Error {
        /// The socket.
        socket_id: String,
        /// What was wrong.
        message: String,
    },
    /// Apply this change to storage.
    Store(StoreOp),
    /// Close engine session `sid` with [`SocketServer::close`] once the
    /// `error` listeners of its sockets have run (they may still send).
    CloseConnection {
        /// The engine session.
        sid: String,
    },
    /// A socket is gone (its rooms are already left).
    Disconnect {
        /// The socket.
        socket_id: String,
        /// Why.
        reason: DisconnectReason,
    },
}

/// A change to the durable copy of the socket layer's state, for the driver
/// to apply to storage. Only connections that can outlive the object's memory
/// (WebSocket ones) are stored; a polling connection is stored when it
/// upgrades.
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

/// One engine connection and the namespaces it joined.
#[derive(Debug)]
struct Client {
    decoder: Decoder,
    /// Namespace → socket id.
    nsps: HashMap<String, String>,
    connect_deadline: Option<u64>,
    /// Sent an invalid packet: its further packets are ignored until the
    /// driver closes it (after the sockets' `error` listeners ran).
    broken: bool,
    /// Whether its sockets are in storage (WebSocket connections).
    persisted: bool,
}

#[derive(Debug, Default)]
struct Namespace {
    sockets: HashSet<String>,
    rooms: HashMap<String, HashSet<String>>,
    next_ack: u64,
    /// Ack ids below this are reserved in storage.
    ack_reserved: u64,
}

#[derive(Debug)]
struct SocketState {
    sid: String,
    nsp: String,
    rooms: HashSet<String>,
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

/// The Socket.IO server of one Durable Object, engine included.
#[derive(Debug)]
pub struct SocketServer {
    engine: Engine,
    config: SocketConfig,
    clients: HashMap<String, Client>,
    namespaces: HashMap<String, Namespace>,
    sockets: HashMap<String, SocketState>,
    /// Room changes of stored sockets not taken yet.
    pending_rooms: PendingRooms,
}

impl SocketServer {
    /// A server with no connection.
    pub fn new(engine: Engine, config: SocketConfig) -> Self {
        SocketServer {
            engine,
            config,
            clients: HashMap::new(),
            namespaces: HashMap::new(),
            sockets: HashMap::new(),
            pending_rooms: PendingRooms::default(),
        }
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    // ---- engine entry points, run through the socket layer -------------------

    /// See [`Engine::classify`].
    pub fn classify(&self, req: &RequestInfo<'_>) -> Result<Route, RequestError> {
        self.engine.classify(req)
    }

    /// See [`Engine::open`].
    pub fn open(
        &mut self,
        now: u64,
        transport: Transport,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Vec<Action> {
        let (_, actions) = self.engine.open(now, transport, req, random);
        self.process(now, actions)
    }

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
            self.restore_sockets(sockets);
            return Vec::new();
        }
        self.clients.entry(sid).or_insert_with(|| Client {
            decoder: Decoder::new(),
            nsps: HashMap::new(),
            connect_deadline: None,
            broken: false,
            persisted: true,
        });
        for st in sockets {
            self.insert_stored(st);
        }
        let mut engine_actions = Vec::new();
        self.engine.restore(now, snapshot, &mut engine_actions);
        self.process(now, engine_actions)
    }

    /// See [`Engine::poll`].
    pub fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<Action> {
        let a = self.engine.poll(now, sid, req);
        self.process(now, a)
    }

    /// See [`Engine::post`].
    pub fn post(
        &mut self,
        now: u64,
        sid: &str,
        req: ReqId,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Action> {
        let a = self.engine.post(now, sid, req, content_type, body);
        self.process(now, a)
    }

    /// See [`Engine::begin_upgrade`].
    pub fn begin_upgrade(&mut self, now: u64, sid: &str) -> Result<Vec<Action>, RequestError> {
        let a = self.engine.begin_upgrade(now, sid)?;
        Ok(self.process(now, a))
    }

    /// See [`Engine::ws_text`].
    pub fn ws_text(&mut self, now: u64, sid: &str, text: &str) -> Vec<Action> {
        let a = self.engine.ws_text(now, sid, text);
        self.process(now, a)
    }

    /// See [`Engine::ws_binary`].
    pub fn ws_binary(&mut self, now: u64, sid: &str, bytes: &[u8]) -> Vec<Action> {
        let a = self.engine.ws_binary(now, sid, bytes);
        self.process(now, a)
    }

    /// See [`Engine::ws_closed`].
    pub fn ws_closed(&mut self, now: u64, sid: &str, error: bool) -> Vec<Action> {
        let a = self.engine.ws_closed(now, sid, error);
        self.process(now, a)
    }

    /// Sends a raw Engine.IO message, outside of any namespace.
    pub fn send_raw(&mut self, sid: &str, data: Data) -> Vec<Action> {
        wrap(self.engine.send(sid, data))
    }

    /// See [`Engine::flush`].
    pub fn flush(&mut self) -> Vec<Action> {
        wrap(self.engine.flush())
    }

    /// See [`Engine::needs_flush`].
    pub fn needs_flush(&self) -> bool {
        self.engine.needs_flush()
    }

    /// Closes engine session `sid` ("forced close" for its sockets).
    pub fn close(&mut self, now: u64, sid: &str) -> Vec<Action> {
        let a = self.engine.close(sid);
        self.process(now, a)
    }

    /// The alarm fired: engine timers, then the connect timeout of connections
    /// that joined no namespace.
    pub fn tick(&mut self, now: u64) -> Vec<Action> {
        let a = self.engine.tick(now);
        let mut out = self.process(now, a);
        let expired: Vec<String> = self
            .clients
            .iter()
            .filter(|(_, c)| c.nsps.is_empty() && c.connect_deadline.is_some_and(|d| d <= now))
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in expired {
            let a = self.engine.close(&sid);
            out.extend(self.process(now, a));
        }
        if let Some(next) = self
            .clients
            .values()
            .filter_map(|c| c.connect_deadline)
            .min()
        {
            let mut a = Vec::new();
            self.engine.schedule(next, &mut a);
            out.extend(wrap(a));
        }
        out
    }

    /// See [`Engine::set_known_alarm`].
    pub fn set_known_alarm(&mut self, at: Option<u64>) {
        self.engine.set_known_alarm(at);
    }

    // ---- socket layer -------------------------------------------------------

    /// Accepts the CONNECT of engine session `sid` to `nsp`: creates the socket
    /// (id from `random`) and answers `0[/nsp,]{"sid":"<id>"}`. `None` when the
    /// engine session is gone or already joined `nsp`.
    pub fn accept(
        &mut self,
        sid: &str,
        nsp: &str,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Option<(String, Vec<Action>)> {
        let client = self.clients.get(sid)?;
        if client.nsps.contains_key(nsp) || !self.engine.has_session(sid) {
            return None;
        }
        let mut id = URL_SAFE_NO_PAD.encode(random);
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
        actions.extend(wrap(self.engine.send(sid, Data::Text(frame))));
        Some((id, actions))
    }

    /// Refuses the CONNECT of `sid` to `nsp` with CONNECT_ERROR and `data_json`.
    pub fn connect_error(&mut self, sid: &str, nsp: &str, data_json: &str) -> Vec<Action> {
        let frame = encode_frame(PacketKind::ConnectError, nsp, None, 0, Some(data_json));
        wrap(self.engine.send(sid, Data::Text(frame)))
    }

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

    /// Adds a socket to rooms.
    pub fn join(&mut self, socket_id: &str, rooms: &[String]) -> Vec<Action> {
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
    pub fn leave(&mut self, socket_id: &str, room: &str) -> Vec<Action> {
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
                out.extend(wrap(self.engine.send(&sid, Data::Text(frame))));
                self.disconnected(&id, DisconnectReason::ServerNamespaceDisconnect, &mut out);
            }
        }
        if close {
            let a = self.engine.close(&sid);
            out.extend(self.process(now, a));
        }
        out
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

    /// Number of connected sockets (all namespaces).
    pub fn sockets_count(&self) -> usize {
        self.sockets.len()
    }

    // ---- internals ----------------------------------------------------------

    /// Runs engine actions through the socket layer.
    fn process(&mut self, now: u64, engine_actions: Vec<EngineAction>) -> Vec<Action> {
        let mut out = Vec::with_capacity(engine_actions.len());
        let mut connect_deadline = None;
        for a in engine_actions {
            match a {
                EngineAction::Opened { ref sid, transport } => {
                    let deadline = now.saturating_add(self.config.connect_timeout);
                    self.clients.insert(
                        sid.clone(),
                        Client {
                            decoder: Decoder::new(),
                            nsps: HashMap::new(),
                            connect_deadline: Some(deadline),
                            broken: false,
                            persisted: transport == Transport::WebSocket,
                        },
                    );
                    out.push(Action::Engine(a));
                    connect_deadline = Some(deadline);
                }
                EngineAction::Message { sid, data } => self.on_message(now, &sid, data, &mut out),
                EngineAction::Persist(ref snap) => {
                    let sid = snap.sid.clone();
                    out.push(Action::Engine(a));
                    self.store_connection(&sid, &mut out);
                }
                EngineAction::Closed { ref sid, reason } => {
                    self.drop_client(sid, DisconnectReason::Engine(reason), &mut out);
                    out.push(Action::Engine(a));
                }
                other => out.push(Action::Engine(other)),
            }
        }
        if let Some(deadline) = connect_deadline {
            // After the engine's own `SetAlarm`s of the batch: the driver sets
            // them in order, so the earliest must come last.
            let mut alarm = Vec::new();
            self.engine.schedule(deadline, &mut alarm);
            out.extend(wrap(alarm));
        }
        out
    }

    fn on_message(&mut self, now: u64, sid: &str, data: Data, out: &mut Vec<Action>) {
        let Some(client) = self.clients.get_mut(sid) else {
            return;
        };
        if client.broken {
            return;
        }
        let decoded = match &data {
            Data::Text(t) => client.decoder.add_text(t),
            Data::Binary(b) => client.decoder.add_binary(b),
        };
        match decoded {
            Ok(None) => {}
            Ok(Some(complete)) => self.on_packet(now, sid, complete, out),
            Err(e) => {
                // A protocol violation ends the whole connection, after the
                // sockets' `error` listeners had their say.
                client.broken = true;
                if client.nsps.is_empty() {
                    let a = self.engine.close(sid);
                    out.extend(self.process(now, a));
                    return;
                }
                for socket_id in client.nsps.values() {
                    out.push(Action::Error {
                        socket_id: socket_id.clone(),
                        message: e.reference_message().to_owned(),
                    });
                }
                out.push(Action::CloseConnection {
                    sid: sid.to_owned(),
                });
            }
        }
    }

    fn on_packet(&mut self, now: u64, sid: &str, complete: Complete, out: &mut Vec<Action>) {
        let Complete { packet, binaries } = complete;
        let socket_id = self
            .clients
            .get(sid)
            .and_then(|c| c.nsps.get(&packet.nsp))
            .cloned();
        match (packet.kind, socket_id) {
            (PacketKind::Connect, None) => out.push(Action::Connect {
                sid: sid.to_owned(),
                nsp: packet.nsp,
                auth: packet.data,
            }),
            (PacketKind::Event | PacketKind::BinaryEvent, Some(socket_id)) => {
                out.push(Action::Event {
                    socket_id,
                    data: packet.data.unwrap_or_default(),
                    ack_id: packet.id,
                    binaries,
                })
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Some(socket_id)) => {
                if let Some(id) = packet.id {
                    out.push(Action::Ack {
                        socket_id,
                        id,
                        data: packet.data.unwrap_or_default(),
                        binaries,
                    });
                }
            }
            (PacketKind::Disconnect, Some(socket_id)) => {
                self.disconnected(&socket_id, DisconnectReason::ClientNamespaceDisconnect, out);
            }
            _ => {
                // A second CONNECT, a CONNECT_ERROR from the client, or a
                // packet for a namespace the connection never joined.
                self.drop_client(sid, DisconnectReason::ForcedServerClose, out);
                let a = self.engine.close(sid);
                out.extend(self.process(now, a));
            }
        }
    }

    fn drop_client(&mut self, sid: &str, reason: DisconnectReason, out: &mut Vec<Action>) {
        let ids: Vec<String> = self
            .clients
            .get(sid)
            .map(|c| c.nsps.values().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.disconnected(&id, reason, out);
        }
        if reason != DisconnectReason::ForcedServerClose {
            self.clients.remove(sid);
        }
    }

    /// Removes a socket and reports it: the `Disconnect`, then its removal
    /// from storage (after, so the driver can still read it to revive the
    /// socket's JavaScript side for its last listeners).
    fn disconnected(&mut self, socket_id: &str, reason: DisconnectReason, out: &mut Vec<Action>) {
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

    /// Stores the sockets of a connection that just became durable (upgraded
    /// to WebSocket).
    fn store_connection(&mut self, sid: &str, out: &mut Vec<Action>) {
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
    pub fn restore_sockets(&mut self, sockets: Vec<StoredSocket>) {
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
        let client = self
            .clients
            .entry(st.sid.clone())
            .or_insert_with(|| Client {
                decoder: Decoder::new(),
                nsps: HashMap::new(),
                connect_deadline: None,
                broken: false,
                persisted: true,
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
    pub fn take_room_changes(&mut self) -> Vec<RoomChanges> {
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
    pub fn restore_ack_ids(&mut self, nsp: &str, next: u64) {
        let n = self.namespaces.entry(nsp.to_owned()).or_default();
        if next > n.next_ack {
            n.next_ack = next;
            n.ack_reserved = next;
        }
    }

    /// Whether the socket layer knows engine session `sid`'s sockets.
    pub fn has_client(&self, sid: &str) -> bool {
        self.clients.contains_key(sid)
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

/// Room changes of stored sockets since the last take, relative to what
/// storage holds (which is what the server held before them), so that the
/// opposite of a change not taken yet cancels it.
#[derive(Debug, Default)]
struct PendingRooms {
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
    fn note(&mut self, id: &str, room: &str, join: bool, out: &mut Vec<Action>) {
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
    fn forget(&mut self, id: &str) {
        self.joined.remove(id);
        self.left.remove(id);
    }
}

fn wrap(actions: Vec<EngineAction>) -> Vec<Action> {
    actions.into_iter().map(Action::Engine).collect()
}
