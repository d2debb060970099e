//! `SocketCore`: a Socket.IO server with its engine.

use engineio_core::Engine;
use engineio_core::SID_RANDOM_BYTES;
use socketio_core::{Emit, KeptSession, RoomChanges, SocketServer, StoredPacket, StoredSocket};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::out::Out;
use crate::shared::engine_methods;
use crate::{parse_options, parse_snapshot, random_bytes, read, set};

/// Reads `[{ id, sid, nsp, rooms }]` rows (an absent or malformed list is empty; a
/// malformed row is skipped).
fn stored_rows(rows: JsValue) -> Vec<StoredSocket> {
    let Some(list) = rows.dyn_ref::<js_sys::Array>() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            Some(StoredSocket {
                id: read::string(&r, "id")?,
                sid: read::string(&r, "sid")?,
                nsp: read::string(&r, "nsp")?,
                rooms: read::strings(&r, "rooms").ok()?.unwrap_or_default(),
            })
        })
        .collect()
}

/// Reads `[{ data, rooms, except, binaries? }]` stored packets (a malformed row is
/// skipped).
fn stored_packets(rows: JsValue) -> Vec<StoredPacket> {
    let Some(list) = rows.dyn_ref::<js_sys::Array>() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|r| {
            let binaries = read::get(&r, "binaries");
            Some(StoredPacket {
                data: read::string(&r, "data")?,
                rooms: read::strings(&r, "rooms").ok()?.unwrap_or_default(),
                except: read::strings(&r, "except").ok()?.unwrap_or_default(),
                binaries: binaries
                    .dyn_ref::<js_sys::Array>()
                    .map(binaries_of)
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Copies a JavaScript array of `Uint8Array` into owned buffers.
fn binaries_of(list: &js_sys::Array) -> Vec<Vec<u8>> {
    list.iter()
        .map(|v| js_sys::Uint8Array::new(&v).to_vec())
        .collect()
}

fn strings(list: &js_sys::Array) -> Vec<String> {
    list.iter().filter_map(|v| v.as_string()).collect()
}

fn string_array(items: &[String]) -> JsValue {
    let list = js_sys::Array::new_with_length(items.len() as u32);
    for (i, s) in items.iter().enumerate() {
        list.set(i as u32, JsValue::from_str(s));
    }
    list.into()
}

/// `[{ id, nsp, joined, left }]`, one object per [`RoomChanges`].
fn room_changes_value(changes: &[RoomChanges]) -> JsValue {
    let list = js_sys::Array::new_with_length(changes.len() as u32);
    for (i, c) in changes.iter().enumerate() {
        let obj = js_sys::Object::new();
        set(&obj, "id", JsValue::from_str(&c.id));
        set(&obj, "nsp", JsValue::from_str(&c.nsp));
        set(&obj, "joined", string_array(&c.joined));
        set(&obj, "left", string_array(&c.left));
        list.set(i as u32, obj.into());
    }
    list.into()
}

/// The [`Emit`] of the flags `emitToSocket` and `broadcast` take.
fn emit<'a>(
    data_json: &'a str,
    binaries: &'a [Vec<u8>],
    with_ack: bool,
    volatile: bool,
) -> Emit<'a> {
    Emit {
        data_json,
        binaries,
        with_ack,
        volatile,
    }
}

fn ack_id(id: f64) -> Option<u64> {
    (id.is_finite() && id >= 0.0 && id.fract() == 0.0).then_some(id as u64)
}

/// The Socket.IO server of one Durable Object.
#[wasm_bindgen]
pub struct SocketCore {
    core: SocketServer,
    /// The last time the driver passed, for the calls it passes none to.
    now: u64,
    out: Out,
}

#[wasm_bindgen]
impl SocketCore {
    /// Builds the server from the options (Socket.IO's names).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<SocketCore, JsError> {
        let (engine, socket) = parse_options(options)?;
        Ok(SocketCore {
            core: SocketServer::new(Engine::new(engine), socket),
            now: 0,
            out: Out::default(),
        })
    }

    /// Revives a hibernated WebSocket session from its snapshot, with the
    /// sockets it carries as read from storage (may be empty, to load them later
    /// with `loadSockets`).
    #[wasm_bindgen(js_name = reviveSession, unchecked_return_type = "CoreOutput")]
    pub fn revive_session(
        &mut self,
        now: f64,
        #[wasm_bindgen(unchecked_param_type = "SessionSnapshot")] snapshot: JsValue,
        #[wasm_bindgen(unchecked_param_type = "StoredSocketRow[] | undefined")] rows: JsValue,
    ) -> JsValue {
        let now = self.at(now);
        let actions = match parse_snapshot(snapshot) {
            Some(snap) => self.core.restore(now, snap, stored_rows(rows)),
            None => Vec::new(),
        };
        self.out.socket(actions)
    }

    /// Accepts a CONNECT: the new socket's id (absent when the engine session is
    /// gone), its pid (with connection state recovery on) and the actions. `random`
    /// holds 15 bytes from a CSPRNG for the id, and 15 more for the pid when recovery
    /// is on.
    #[wasm_bindgen(unchecked_return_type = "Accepted")]
    pub fn accept(&mut self, sid: &str, nsp: &str, random: &[u8]) -> Result<JsValue, JsError> {
        let (id_random, pid_random) = match random.len() {
            SID_RANDOM_BYTES => (random, None),
            n if n == 2 * SID_RANDOM_BYTES => {
                let (a, b) = random.split_at(SID_RANDOM_BYTES);
                (a, Some(random_bytes(b)?))
            }
            _ => return Err(JsError::new("15 or 30 random bytes are needed")),
        };
        let bytes = random_bytes(id_random)?;
        Ok(
            match self
                .core
                .accept_new(self.now, sid, nsp, &bytes, pid_random.as_ref())
            {
                Some(a) => self.out.accepted(Some(&a.id), a.pid.as_deref(), a.actions),
                None => self.out.accepted(None, None, Vec::new()),
            },
        )
    }

    /// Accepts a CONNECT as the recovery of a kept session (connection state recovery,
    /// after `isRecoverable`): the socket gets `session.id` and its rooms back, then
    /// the events of `missed` (stored after the client's offset, in order) that reach
    /// it, then the CONNECT answer. Answers like `accept`; no id when it cannot be
    /// recovered after all (the id is in use again, the session is gone).
    #[wasm_bindgen(js_name = acceptRecovered, unchecked_return_type = "Accepted")]
    pub fn accept_recovered(
        &mut self,
        sid: &str,
        nsp: &str,
        #[wasm_bindgen(unchecked_param_type = "KeptSessionRow")] session: JsValue,
        #[wasm_bindgen(unchecked_param_type = "StoredPacketRow[]")] missed: JsValue,
    ) -> JsValue {
        let session = KeptSession {
            id: read::string(&session, "id").unwrap_or_default(),
            pid: read::string(&session, "pid").unwrap_or_default(),
            rooms: read::strings(&session, "rooms")
                .ok()
                .flatten()
                .unwrap_or_default(),
            at: read::number(&session, "at")
                .ok()
                .flatten()
                .map(crate::now_ms)
                .unwrap_or(0),
        };
        if session.id.is_empty() || session.pid.is_empty() {
            return self.out.accepted(None, None, Vec::new());
        }
        let missed = stored_packets(missed);
        match self
            .core
            .accept_recovered(self.now, sid, nsp, session, &missed)
        {
            Some(a) => self.out.accepted(Some(&a.id), a.pid.as_deref(), a.actions),
            None => self.out.accepted(None, None, Vec::new()),
        }
    }

    /// Whether a session kept since `at` may be recovered at `now`: recovery on, within
    /// the window, and the client's last offset still stored (`offsetFound`).
    #[wasm_bindgen(js_name = isRecoverable)]
    pub fn is_recoverable(&self, now: f64, at: f64, offset_found: bool) -> bool {
        self.core
            .is_recoverable(crate::now_ms(now), crate::now_ms(at), offset_found)
    }

    /// The recovery window (ms), when connection state recovery is on.
    #[wasm_bindgen(js_name = recoveryWindow)]
    pub fn recovery_window(&self) -> Option<f64> {
        self.core.recovery_window().map(|w| w as f64)
    }

    /// Refuses a CONNECT with CONNECT_ERROR.
    #[wasm_bindgen(js_name = connectError, unchecked_return_type = "CoreOutput")]
    pub fn connect_error(&mut self, sid: &str, nsp: &str, data_json: &str) -> JsValue {
        let actions = self.core.connect_error(self.now, sid, nsp, data_json);
        self.out.socket(actions)
    }

    /// Refuses a CONNECT for a middleware's error, from the JSON of its `message` and
    /// of its `data` (each absent when undefined): CONNECT_ERROR in the shape the
    /// client's protocol revision expects.
    #[wasm_bindgen(js_name = connectRefused, unchecked_return_type = "CoreOutput")]
    pub fn connect_refused(
        &mut self,
        sid: &str,
        nsp: &str,
        message_json: Option<String>,
        data_json: Option<String>,
    ) -> JsValue {
        let actions = self.core.connect_refused(
            self.now,
            sid,
            nsp,
            message_json.as_deref(),
            data_json.as_deref(),
        );
        self.out.socket(actions)
    }

    /// The id `accept` gives the socket of engine session `sid` in `nsp` made with
    /// `random` (15 bytes; the provisional `socket.id` while the middlewares run): from
    /// the random bytes, or for a v3 client (Socket.IO v2) from its session id.
    #[wasm_bindgen(js_name = socketIdFor)]
    pub fn socket_id_for(&self, sid: &str, nsp: &str, random: &[u8]) -> Result<String, JsError> {
        Ok(self.core.socket_id_for(sid, nsp, &random_bytes(random)?))
    }

    /// Sends an event to one socket: `{ ackId?, actions }`.
    #[wasm_bindgen(js_name = emitToSocket, unchecked_return_type = "Emitted")]
    pub fn emit_to_socket(
        &mut self,
        socket_id: &str,
        data_json: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] binaries: &js_sys::Array,
        with_ack: bool,
        volatile: bool,
    ) -> JsValue {
        let bins = binaries_of(binaries);
        let e = self.core.emit_to_socket(
            self.now,
            socket_id,
            emit(data_json, &bins, with_ack, volatile),
        );
        self.out.emitted(e)
    }

    /// Broadcasts an event: `{ ackId?, recipients?, actions }`.
    // One argument per JavaScript parameter: the shim calls it positionally.
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(unchecked_return_type = "Emitted")]
    pub fn broadcast(
        &mut self,
        nsp: &str,
        #[wasm_bindgen(unchecked_param_type = "string[]")] rooms: &js_sys::Array,
        #[wasm_bindgen(unchecked_param_type = "string[]")] except: &js_sys::Array,
        data_json: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] binaries: &js_sys::Array,
        with_ack: bool,
        volatile: bool,
    ) -> JsValue {
        let bins = binaries_of(binaries);
        let e = self.core.broadcast(
            self.now,
            nsp,
            &strings(rooms),
            &strings(except),
            emit(data_json, &bins, with_ack, volatile),
        );
        self.out.emitted(e)
    }

    /// Answers the client's ack `id`.
    #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
    pub fn ack(
        &mut self,
        socket_id: &str,
        id: f64,
        data_json: &str,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] binaries: &js_sys::Array,
    ) -> JsValue {
        let actions = match ack_id(id) {
            Some(id) => self
                .core
                .ack(self.now, socket_id, id, data_json, &binaries_of(binaries)),
            None => Vec::new(),
        };
        self.out.socket(actions)
    }

    /// Adds a socket to rooms.
    #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
    pub fn join(
        &mut self,
        socket_id: &str,
        #[wasm_bindgen(unchecked_param_type = "string[]")] rooms: &js_sys::Array,
    ) -> JsValue {
        let actions = self.core.join(self.now, socket_id, &strings(rooms));
        self.out.socket(actions)
    }

    /// The room changes of stored sockets since the last call, to write to
    /// storage before the turn in which a `roomsChanged` action came ends.
    #[wasm_bindgen(js_name = takeRoomChanges, unchecked_return_type = "RoomChanges[]")]
    pub fn take_room_changes(&mut self) -> JsValue {
        room_changes_value(&self.core.take_room_changes(self.now))
    }

    /// Removes a socket from a room.
    #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
    pub fn leave(&mut self, socket_id: &str, room: &str) -> JsValue {
        let actions = self.core.leave(self.now, socket_id, room);
        self.out.socket(actions)
    }

    /// Disconnects a socket from the server side (reason "server namespace
    /// disconnect"); with `close`, its whole connection.
    #[wasm_bindgen(js_name = disconnectSocket, unchecked_return_type = "CoreOutput")]
    pub fn disconnect_socket(&mut self, socket_id: &str, close: bool) -> JsValue {
        let actions = self.core.disconnect_socket(self.now, socket_id, close);
        self.out.socket(actions)
    }

    /// Ids of the sockets of `nsp` in any of `rooms` (all when empty) and none
    /// of `except`.
    #[wasm_bindgen(js_name = socketsIn, unchecked_return_type = "string[]")]
    pub fn sockets_in(
        &self,
        nsp: &str,
        #[wasm_bindgen(unchecked_param_type = "string[]")] rooms: &js_sys::Array,
        #[wasm_bindgen(unchecked_param_type = "string[]")] except: &js_sys::Array,
    ) -> JsValue {
        string_array(&self.core.sockets_in(nsp, &strings(rooms), &strings(except)))
    }

    /// Whether a broadcast to `rooms` (all when empty) except `except` reaches
    /// socket `socket_id`.
    #[wasm_bindgen(js_name = isTargeted)]
    pub fn is_targeted(
        &self,
        socket_id: &str,
        #[wasm_bindgen(unchecked_param_type = "string[]")] rooms: &js_sys::Array,
        #[wasm_bindgen(unchecked_param_type = "string[]")] except: &js_sys::Array,
    ) -> bool {
        self.core
            .is_targeted(socket_id, &strings(rooms), &strings(except))
    }

    /// The rooms of a socket (its own id included).
    #[wasm_bindgen(js_name = roomsOf, unchecked_return_type = "string[]")]
    pub fn rooms_of(&self, socket_id: &str) -> JsValue {
        string_array(&self.core.rooms_of(socket_id))
    }

    /// Number of sockets in room `room` of `nsp` (0 when it does not exist).
    #[wasm_bindgen(js_name = roomSize)]
    pub fn room_size(&self, nsp: &str, room: &str) -> u32 {
        u32::try_from(self.core.room_size(nsp, room)).unwrap_or(u32::MAX)
    }

    /// Loads stored sockets after a restart; their engine sessions must be
    /// revived first.
    #[wasm_bindgen(js_name = loadSockets)]
    pub fn load_sockets(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "StoredSocketRow[]")] rows: JsValue,
    ) {
        self.core.restore_sockets(self.now, stored_rows(rows));
    }

    /// Resumes ack id allocation of `nsp` at `next`.
    #[wasm_bindgen(js_name = resumeAckIds)]
    pub fn resume_ack_ids(&mut self, nsp: &str, next: f64) {
        if let Some(n) = ack_id(next) {
            self.core.restore_ack_ids(self.now, nsp, n);
        }
    }

    /// Whether the socket layer knows the sockets of engine session `sid`.
    #[wasm_bindgen(js_name = hasClient)]
    pub fn has_client(&self, sid: &str) -> bool {
        self.core.has_client(sid)
    }

    /// Every room of `nsp` with its members.
    #[wasm_bindgen(js_name = roomsIn, unchecked_return_type = "[string, string[]][]")]
    pub fn rooms_in(&self, nsp: &str) -> JsValue {
        let rooms = self.core.rooms_in(nsp);
        let list = js_sys::Array::new_with_length(rooms.len() as u32);
        for (i, (room, ids)) in rooms.iter().enumerate() {
            let pair = js_sys::Array::new();
            pair.push(&JsValue::from_str(room));
            pair.push(&string_array(ids));
            list.set(i as u32, pair.into());
        }
        list.into()
    }
}

engine_methods!(
    SocketCore,
    output = socket,
    send = send_raw,
    engine = |core| core.engine(),
    opened = |opened| opened,
);
