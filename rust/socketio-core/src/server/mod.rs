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
//!
//! As in the engine, every method that changes the server takes the current
//! time first (`now`, milliseconds), whether it needs it yet or not; the
//! methods that only read take none.
//!
//! One file per responsibility, each adding its part of `impl SocketServer`;
//! this one holds the types shared by all and the accessors:
//!
//! - `client`: the engine's entry points, run through the socket layer: an
//!   engine connection's packets, its close, the connect timeout;
//! - `socket`: joining a namespace, leaving it, and the disconnections;
//! - `emit`: events to one socket or a broadcast, ack ids, acks;
//! - `recovery`: connection state recovery: private session ids, packet
//!   offsets, what to store, and the way back of a reconnecting socket;
//! - `rooms`: room membership and broadcast targets;
//! - `store`: the durable copy (what to write, [`StoredSocket`]s read back,
//!   the room changes of a turn) and the revival after a restart;
//! - `v3`: what differs for clients of Engine.IO protocol v3 (Socket.IO v2),
//!   accepted with the engine's `allow_eio3`.

mod client;
mod emit;
mod recovery;
mod rooms;
mod socket;
mod store;
mod v3;

use std::collections::{HashMap, HashSet};

use engineio_core::{Action as EngineAction, CloseReason, Engine};

use crate::packet::PacketKind;

use crate::decoder::Decoder;
use crate::parser::Parser;

pub use emit::{Emit, Emitted};
pub use recovery::{KeptSession, StoredPacket};
pub use store::{RoomChanges, StoreOp, StoredSocket, ACK_BLOCK};

use store::PendingRooms;

/// Options of the Socket.IO layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// Time an engine connection may stay without joining any namespace
    /// (`connectTimeout`, default 45000 ms).
    pub connect_timeout: u64,
    /// Connection state recovery: `Some(window)` keeps the session of a socket
    /// that lost its connection for `window` ms (`maxDisconnectionDuration`) and
    /// stamps every stored event with its offset; `None` (the default) is off.
    pub recovery: Option<u64>,
    /// How packets travel (`parser`): the default parser, or msgpack.
    pub parser: Parser,
}

impl Default for SocketConfig {
    fn default() -> Self {
        SocketConfig {
            connect_timeout: 45_000,
            recovery: None,
            parser: Parser::Default,
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
    /// Whether it speaks Engine.IO protocol v3 (a Socket.IO v2 client).
    v3: bool,
}

/// A namespace: its sockets, its rooms and its ack ids.
#[derive(Debug, Default)]
struct Namespace {
    sockets: HashSet<String>,
    rooms: HashMap<String, HashSet<String>>,
    next_ack: u64,
    /// Ack ids below this are reserved in storage.
    ack_reserved: u64,
}

/// A socket: its engine session, its namespace and its rooms (its own id
/// included).
#[derive(Debug)]
struct SocketState {
    sid: String,
    nsp: String,
    rooms: HashSet<String>,
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
    /// The last packet offset given (connection state recovery).
    last_offset: u64,
}

/// A socket [`SocketServer::accept_new`] or [`SocketServer::accept_recovered`]
/// accepted.
#[derive(Debug)]
pub struct Accepted {
    /// The socket's id.
    pub id: String,
    /// Its private session id, with connection state recovery on.
    pub pid: Option<String>,
    /// The actions (the CONNECT answer, missed packets before it).
    pub actions: Vec<Action>,
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
            last_offset: 0,
        }
    }

    /// The engine underneath.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Number of connected sockets (all namespaces).
    pub fn sockets_count(&self) -> usize {
        self.sockets.len()
    }

    /// Whether the socket layer knows engine session `sid`'s sockets.
    pub fn has_client(&self, sid: &str) -> bool {
        self.clients.contains_key(sid)
    }
}

impl SocketServer {
    /// Sends a packet (see [`Parser::encode`]) to engine session `sid`.
    // The fields of the packet, one argument each, as `Parser::encode` takes them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_packet(
        &mut self,
        now: u64,
        sid: &str,
        kind: PacketKind,
        nsp: &str,
        id: Option<u64>,
        payload: Option<&str>,
        binaries: &[Vec<u8>],
    ) -> Vec<EngineAction> {
        let mut actions = Vec::new();
        for frame in self.config.parser.encode(kind, nsp, id, payload, binaries) {
            actions.extend(self.engine.send(now, sid, frame));
        }
        actions
    }
}

/// Engine actions as they leave the socket layer.
fn wrap(actions: Vec<EngineAction>) -> Vec<Action> {
    actions.into_iter().map(Action::Engine).collect()
}
