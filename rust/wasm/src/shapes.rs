//! The JavaScript shapes of what the core returns, as TypeScript types.
//!
//! These definitions are the contract with the shim: `tsify` turns them into the
//! TypeScript types of the generated `core.d.ts` (`CoreAction`, `Classified`, ...),
//! which `ts/shim/` imports. The actions themselves are written as JSON text by
//! [`crate::out`] (one text per call, parsed once on the JavaScript side); the tests of
//! that module read what it writes back into these types, so the writer and the types
//! cannot drift apart.

#[cfg(test)]
use serde::Deserialize;
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

/// An Engine.IO transport.
#[derive(Serialize, Tsify, Debug, PartialEq)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(rename_all = "lowercase")]
pub enum TransportName {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

/// One action of the core, for the shim to carry out (`type` tells which).
///
/// A frame or message is a string (text) or a number: the index of its bytes in the
/// `binaries` of the call's output.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum CoreAction {
    /// A session opened.
    Opened {
        /// The session id.
        sid: String,
        /// Its first transport.
        transport: TransportName,
    },
    /// A message from the client (bare Engine.IO use).
    Message {
        /// The session.
        sid: String,
        /// Text, or the index of its bytes.
        #[tsify(type = "string | number")]
        data: serde_json::Value,
    },
    /// A session closed.
    Closed {
        /// The session.
        sid: String,
        /// Why (Socket.IO's reason strings).
        #[tsify(
            type = "\"transport close\" | \"transport error\" | \"ping timeout\" | \"parse error\" | \"forced close\""
        )]
        reason: String,
    },
    /// Answer a held HTTP request.
    Respond {
        /// The request.
        req: u32,
        /// HTTP status.
        status: u16,
        /// `Content-Type` of the body (empty: none).
        #[serde(rename = "contentType")]
        content_type: String,
        /// The body (empty: none).
        body: String,
    },
    /// Send a frame on the session's WebSocket.
    WsSend {
        /// The session.
        sid: String,
        /// Text, or the index of its bytes.
        #[tsify(type = "string | number")]
        frame: serde_json::Value,
    },
    /// Send one frame on the WebSockets of several sessions (encoded once).
    WsSendMany {
        /// The sessions.
        sids: Vec<String>,
        /// Text, or the index of its bytes.
        #[tsify(type = "string | number")]
        frame: serde_json::Value,
    },
    /// Close the session's WebSocket.
    WsClose {
        /// The session.
        sid: String,
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// Store this snapshot with the session's WebSocket (its attachment).
    Persist {
        /// The session.
        sid: String,
        /// When the next ping is due (ms since the epoch).
        #[serde(rename = "nextPingAt")]
        next_ping_at: f64,
        /// While a ping is unanswered: when the session expires.
        #[serde(rename = "pongDeadline", skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        pong_deadline: Option<f64>,
        /// `3` for a session of Engine.IO protocol v3 (absent for v4).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[tsify(optional, type = "3")]
        eio: Option<u8>,
    },
    /// Set the alarm.
    SetAlarm {
        /// When (ms since the epoch).
        at: f64,
    },
    /// Engine session `sid` asks to join namespace `nsp`.
    Connect {
        /// The engine session.
        sid: String,
        /// The namespace.
        nsp: String,
        /// The CONNECT payload, parsed (absent when the packet had none).
        #[serde(skip_serializing_if = "Option::is_none")]
        #[tsify(optional, type = "unknown")]
        auth: Option<serde_json::Value>,
    },
    /// An EVENT for a socket.
    Event {
        /// The socket.
        #[serde(rename = "socketId")]
        socket_id: String,
        /// `[name, ...args]`, parsed; binary arguments are placeholders.
        #[tsify(type = "unknown[]")]
        args: serde_json::Value,
        /// The ack id the client waits an answer for.
        #[serde(rename = "ackId", skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        ack_id: Option<f64>,
        /// Indexes of the attachments in `binaries`, in placeholder order.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        binaries: Option<Vec<u32>>,
    },
    /// The client's answer to an emit of ours with ack id `id`.
    Ack {
        /// The socket.
        #[serde(rename = "socketId")]
        socket_id: String,
        /// The ack id of our emit.
        id: f64,
        /// The answer's arguments, parsed; binary ones are placeholders.
        #[tsify(type = "unknown[]")]
        args: serde_json::Value,
        /// Indexes of the attachments in `binaries`, in placeholder order.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        binaries: Option<Vec<u32>>,
    },
    /// The connection of `socketId` sent an invalid packet and is about to close.
    Error {
        /// The socket.
        #[serde(rename = "socketId")]
        socket_id: String,
        /// What was wrong.
        message: String,
    },
    /// Close engine session `sid` now: its sockets' `error` listeners have run.
    CloseConnection {
        /// The engine session.
        sid: String,
    },
    /// A socket joined `nsp` over engine session `sid`: add its row.
    SocketAdded {
        /// The socket.
        id: String,
        /// Its engine session.
        sid: String,
        /// Its namespace.
        nsp: String,
    },
    /// A socket is gone: remove its rows.
    SocketRemoved {
        /// The socket.
        id: String,
    },
    /// Room memberships changed: `takeRoomChanges()` returns them, to write before the
    /// turn ends. Comes once until they are taken.
    RoomsChanged {},
    /// Connection state recovery: keep this event (sent once, to `rooms` of `nsp`
    /// except `except`; `data` is its JSON array text, its offset last).
    PacketStored {
        /// Its offset (the row's key: increasing, about 1000 per millisecond).
        offset: f64,
        /// The namespace.
        nsp: String,
        /// The rooms it went to (none: the whole namespace).
        rooms: Vec<String>,
        /// The rooms it skipped.
        except: Vec<String>,
        /// `["name", ...args, "<offset>"]` as JSON text.
        data: String,
        /// Indexes of its attachments in `binaries`, in placeholder order.
        #[serde(skip_serializing_if = "Option::is_none")]
        #[tsify(optional)]
        binaries: Option<Vec<u32>>,
    },
    /// Connection state recovery: socket `id` of `nsp` lost its connection at `at`
    /// (a recoverable reason): keep its session, with its pid and `socket.data`.
    /// Comes right before its `disconnect`.
    SessionKept {
        /// The socket.
        id: String,
        /// Its namespace.
        nsp: String,
        /// Its rooms, its own id included.
        rooms: Vec<String>,
        /// When (ms since the epoch).
        at: f64,
    },
    /// Ack ids of `nsp` below `upTo` may have been used: store the floor.
    AckReserved {
        /// The namespace.
        nsp: String,
        /// First id not yet reserved.
        #[serde(rename = "upTo")]
        up_to: f64,
    },
    /// Socket `socketId` is gone from the core (its rooms already left).
    Disconnect {
        /// The socket.
        #[serde(rename = "socketId")]
        socket_id: String,
        /// Why (Socket.IO's reason strings).
        #[tsify(
            type = "\"transport close\" | \"transport error\" | \"ping timeout\" | \"parse error\" | \"forced close\" | \"forced server close\" | \"server namespace disconnect\" | \"client namespace disconnect\" | \"server shutting down\""
        )]
        reason: String,
    },
}

/// What `accept` returns.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The new socket's id; absent when the engine session is gone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub id: Option<String>,
    /// Its private session id, with connection state recovery on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub pid: Option<String>,
    /// The actions.
    #[tsify(type = "CoreOutput")]
    pub actions: Vec<CoreAction>,
}

/// What `emitToSocket` and `broadcast` return.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Emitted {
    /// The ack id, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub ack_id: Option<f64>,
    /// The sockets the packet went to, when an ack was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[tsify(optional)]
    pub recipients: Option<Vec<String>>,
    /// The actions.
    #[tsify(type = "CoreOutput")]
    pub actions: Vec<CoreAction>,
}

/// A refused request: the HTTP status and the JSON body of the reference server.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// JSON body (`{"code":..,"message":..}`).
    pub body: String,
}

/// The routing verdict of `classify`.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
#[serde(untagged)]
pub enum Classified {
    /// A new session.
    Handshake {
        /// Always `"handshake"`.
        #[tsify(type = "\"handshake\"")]
        route: String,
        /// Its transport.
        transport: TransportName,
    },
    /// A request of session `sid`.
    Session {
        /// What kind.
        #[tsify(type = "\"poll\" | \"post\" | \"upgrade\" | \"closeAtOnce\"")]
        route: String,
        /// The session.
        sid: String,
    },
    /// Refused.
    Refused {
        /// Status and body.
        error: Refusal,
    },
}

/// The room changes of one stored socket since the last `takeRoomChanges()`.
#[derive(Serialize, Tsify, Debug)]
#[cfg_attr(test, derive(Deserialize))]
pub struct RoomChanges {
    /// The socket.
    pub id: String,
    /// Its namespace.
    pub nsp: String,
    /// Rooms it joined (rows to add).
    pub joined: Vec<String>,
    /// Rooms it left (rows to remove).
    pub left: Vec<String>,
}

#[wasm_bindgen(typescript_custom_section)]
const CORE_OUTPUT: &str = r#"
/**
 * The actions of one call, in order. When actions carry binary data, `binaries` holds
 * the bytes and the actions refer to them by index.
 */
export type CoreOutput = CoreAction[] & { binaries?: Uint8Array[] };

/** What `beginUpgrade` returns: the actions, or the refusal of the upgrade. */
export type Upgrading = CoreOutput | { error: Refusal };

/** One stored socket, as `restore` and `restoreSockets` read it. */
export interface StoredSocketRow {
  id: string;
  sid: string;
  nsp: string;
  rooms: string[];
}

/** A kept session (connection state recovery), as `acceptRecovered` takes it. */
export interface KeptSessionRow {
  id: string;
  pid: string;
  rooms: string[];
  at: number;
}

/** A stored event (connection state recovery), as `acceptRecovered` takes it. */
export interface StoredPacketRow {
  data: string;
  rooms: string[];
  except: string[];
  binaries?: Uint8Array[];
}

/** The snapshot of a WebSocket session, as `persist` gave it. */
export interface SessionSnapshot {
  sid: string;
  nextPingAt: number;
  pongDeadline?: number;
  /** `3` for a session of Engine.IO protocol v3 (a Socket.IO v2 client). */
  eio?: 3;
  /**
   * A v3 session: when the runtime last answered a ping of its client (a WebSocket
   * auto-response), added by the driver when it revives the session; never stored.
   */
  pingAnsweredAt?: number;
}
"#;
