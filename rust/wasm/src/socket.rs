//! `SocketCore`: a Socket.IO server with its engine.

use engineio_core::{Data, Engine};
use serde::Serialize;
use serde_bytes::Bytes;
use socketio_core::{Action, Emit, Emitted, RoomChanges, SocketServer, StoreOp, StoredSocket};
use wasm_bindgen::prelude::*;

use crate::actions::{convert, to_js_with, value};
use crate::{
    classified, error_object, now_ms, parse_options, parse_snapshot, parse_transport, random_bytes,
    request_info, set, Clock,
};

/// The JavaScript shape of a Socket.IO action.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum JsSocketAction<'a> {
    Connect {
        sid: &'a str,
        nsp: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        auth: Option<&'a str>,
    },
    Event {
        #[serde(rename = "socketId")]
        socket_id: &'a str,
        data: &'a str,
        #[serde(rename = "ackId", skip_serializing_if = "Option::is_none")]
        ack_id: Option<f64>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        binaries: Vec<&'a Bytes>,
    },
    Ack {
        #[serde(rename = "socketId")]
        socket_id: &'a str,
        id: f64,
        data: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        binaries: Vec<&'a Bytes>,
    },
    Disconnect {
        #[serde(rename = "socketId")]
        socket_id: &'a str,
        reason: &'a str,
    },
    Error {
        #[serde(rename = "socketId")]
        socket_id: &'a str,
        message: &'a str,
    },
    CloseConnection {
        sid: &'a str,
    },
    Store {
        op: &'a str,
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        sid: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nsp: Option<&'a str>,
        #[serde(rename = "upTo", skip_serializing_if = "Option::is_none")]
        up_to: Option<f64>,
    },
}

fn action_value(a: &Action) -> JsValue {
    match a {
        Action::Engine(e) => value(&convert(e)),
        Action::Connect { sid, nsp, auth } => value(&JsSocketAction::Connect {
            sid,
            nsp,
            auth: auth.as_deref(),
        }),
        Action::Event {
            socket_id,
            data,
            ack_id,
            binaries,
        } => value(&JsSocketAction::Event {
            socket_id,
            data,
            ack_id: ack_id.map(|i| i as f64),
            binaries: binaries.iter().map(|b| Bytes::new(b)).collect(),
        }),
        Action::Ack {
            socket_id,
            id,
            data,
            binaries,
        } => value(&JsSocketAction::Ack {
            socket_id,
            id: *id as f64,
            data,
            binaries: binaries.iter().map(|b| Bytes::new(b)).collect(),
        }),
        Action::Error { socket_id, message } => {
            value(&JsSocketAction::Error { socket_id, message })
        }
        Action::CloseConnection { sid } => value(&JsSocketAction::CloseConnection { sid }),
        Action::Store(op) => value(&store_value(op)),
        Action::Disconnect { socket_id, reason } => value(&JsSocketAction::Disconnect {
            socket_id,
            reason: reason.as_str(),
        }),
    }
}

fn store_value(op: &StoreOp) -> JsSocketAction<'_> {
    let (name, id, sid, nsp, up_to) = match op {
        StoreOp::SocketAdded { id, sid, nsp } => (
            "socketAdded",
            id.as_str(),
            Some(sid.as_str()),
            Some(nsp.as_str()),
            None,
        ),
        StoreOp::SocketRemoved { id } => ("socketRemoved", id.as_str(), None, None, None),
        StoreOp::RoomsChanged => ("roomsChanged", "", None, None, None),
        StoreOp::AckReserved { nsp, up_to } => (
            "ackReserved",
            "",
            None,
            Some(nsp.as_str()),
            Some(*up_to as f64),
        ),
    };
    JsSocketAction::Store {
        op: name,
        id,
        sid,
        nsp,
        up_to,
    }
}

/// `[{ id, nsp, joined, left }]`, one object per [`RoomChanges`].
fn room_changes_value(changes: &[RoomChanges]) -> JsValue {
    to_js_with(changes, |c| {
        let obj = js_sys::Object::new();
        set(&obj, "id", JsValue::from_str(&c.id));
        set(&obj, "nsp", JsValue::from_str(&c.nsp));
        set(&obj, "joined", string_array(&c.joined));
        set(&obj, "left", string_array(&c.left));
        obj.into()
    })
}

/// Reads `[{ id, sid, nsp, rooms }]` rows (an absent or malformed list is empty).
fn stored_rows(rows: JsValue) -> Vec<StoredSocket> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        sid: String,
        nsp: String,
        #[serde(default)]
        rooms: Vec<String>,
    }
    if rows.is_undefined() || rows.is_null() {
        return Vec::new();
    }
    let rows: Vec<Row> = serde_wasm_bindgen::from_value(rows).unwrap_or_default();
    rows.into_iter()
        .map(|r| StoredSocket {
            id: r.id,
            sid: r.sid,
            nsp: r.nsp,
            rooms: r.rooms,
        })
        .collect()
}

fn to_js(actions: &[Action]) -> JsValue {
    to_js_with(actions, action_value)
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
    to_js_with(items, |s| JsValue::from_str(s))
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

/// `{ ackId?, recipients?, actions }`.
fn emitted(e: Emitted) -> JsValue {
    let obj = js_sys::Object::new();
    if let Some(id) = e.ack_id {
        set(&obj, "ackId", JsValue::from_f64(id as f64));
        set(&obj, "recipients", string_array(&e.recipients));
    }
    set(&obj, "actions", to_js(&e.actions));
    obj.into()
}

fn ack_id(id: f64) -> Option<u64> {
    (id.is_finite() && id >= 0.0 && id.fract() == 0.0).then_some(id as u64)
}

/// The Socket.IO server of one Durable Object.
#[wasm_bindgen]
pub struct SocketCore {
    server: SocketServer,
    /// The time of the runtime event being handled.
    clock: Clock,
}

#[wasm_bindgen]
impl SocketCore {
    /// Builds the server from the options (Socket.IO's names).
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<SocketCore, JsError> {
        let (engine, socket) = parse_options(options)?;
        Ok(SocketCore {
            server: SocketServer::new(Engine::new(engine), socket),
            clock: Clock::default(),
        })
    }

    /// Routes a request (see `EngineCore.classify`).
    pub fn classify(
        &self,
        method: &str,
        transport: Option<String>,
        eio: Option<String>,
        sid: Option<String>,
        websocket_upgrade: bool,
    ) -> JsValue {
        let info = request_info(
            method,
            transport.as_deref(),
            eio.as_deref(),
            sid.as_deref(),
            websocket_upgrade,
        );
        classified(self.server.classify(&info))
    }

    /// Opens an engine session (see `EngineCore.open`).
    pub fn open(
        &mut self,
        now: f64,
        transport: &str,
        req: Option<u32>,
        random: &[u8],
    ) -> Result<JsValue, JsError> {
        let now = self.clock.at(now);
        let bytes = random_bytes(random)?;
        Ok(to_js(&self.server.open(
            now,
            parse_transport(transport),
            req,
            &bytes,
        )))
    }

    /// Brings back a WebSocket session from its snapshot, with the sockets
    /// it carries as read from storage (`[{ id, sid, nsp, rooms }]`, may be
    /// empty to load them later with `restoreSockets`).
    pub fn restore(&mut self, now: f64, snapshot: JsValue, rows: JsValue) -> JsValue {
        let now = self.clock.at(now);
        match parse_snapshot(snapshot) {
            Some(snap) => to_js(&self.server.restore(now, snap, stored_rows(rows))),
            None => to_js(&[]),
        }
    }

    /// A long-polling GET.
    pub fn poll(&mut self, now: f64, sid: &str, req: u32) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.server.poll(now, sid, req))
    }

    /// A long-polling POST with its `Content-Type` header and body.
    pub fn post(
        &mut self,
        now: f64,
        sid: &str,
        req: u32,
        content_type: Option<String>,
        body: &[u8],
    ) -> JsValue {
        let now = self.clock.at(now);
        to_js(
            &self
                .server
                .post(now, sid, req, content_type.as_deref(), body),
        )
    }

    /// Starts an upgrade of `sid` to WebSocket: actions, or `{ error }`.
    #[wasm_bindgen(js_name = beginUpgrade)]
    pub fn begin_upgrade(&mut self, now: f64, sid: &str) -> JsValue {
        let now = self.clock.at(now);
        match self.server.begin_upgrade(now, sid) {
            Ok(actions) => to_js(&actions),
            Err(e) => error_object(e),
        }
    }

    /// A text frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsText)]
    pub fn ws_text(&mut self, now: f64, sid: &str, text: &str) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.server.ws_text(now, sid, text))
    }

    /// A binary frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsBinary)]
    pub fn ws_binary(&mut self, now: f64, sid: &str, bytes: &[u8]) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.server.ws_binary(now, sid, bytes))
    }

    /// The WebSocket of `sid` closed.
    #[wasm_bindgen(js_name = wsClosed)]
    pub fn ws_closed(&mut self, now: f64, sid: &str, error: bool) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.server.ws_closed(now, sid, error))
    }

    /// Sends a raw Engine.IO text message.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&mut self, sid: &str, text: String) -> JsValue {
        to_js(
            &self
                .server
                .send_raw(self.clock.now(), sid, Data::Text(text)),
        )
    }

    /// Sends a raw Engine.IO binary message.
    #[wasm_bindgen(js_name = sendBinary)]
    pub fn send_binary(&mut self, sid: &str, bytes: Vec<u8>) -> JsValue {
        to_js(
            &self
                .server
                .send_raw(self.clock.now(), sid, Data::Binary(bytes)),
        )
    }

    /// Answers held polling GETs that have data waiting.
    pub fn flush(&mut self) -> JsValue {
        to_js(&self.server.flush(self.clock.now()))
    }

    /// Whether `flush` has work to do.
    #[wasm_bindgen(js_name = needsFlush)]
    pub fn needs_flush(&self) -> bool {
        self.server.needs_flush()
    }

    /// Closes engine session `sid` ("forced close").
    pub fn close(&mut self, sid: &str) -> JsValue {
        to_js(&self.server.close(self.clock.now(), sid))
    }

    /// The alarm fired.
    pub fn tick(&mut self, now: f64) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.server.tick(now))
    }

    /// Tells the core which alarm is set.
    #[wasm_bindgen(js_name = setKnownAlarm)]
    pub fn set_known_alarm(&mut self, at: Option<f64>) {
        self.server
            .set_known_alarm(self.clock.now(), at.map(now_ms));
    }

    /// Number of engine sessions.
    #[wasm_bindgen(js_name = clientsCount)]
    pub fn clients_count(&self) -> u32 {
        self.server.engine().clients_count() as u32
    }

    /// Whether `sid` is an open engine session.
    #[wasm_bindgen(js_name = hasSession)]
    pub fn has_session(&self, sid: &str) -> bool {
        self.server.engine().has_session(sid)
    }

    /// Accepts a CONNECT: `{ id?, actions }`.
    pub fn accept(&mut self, sid: &str, nsp: &str, random: &[u8]) -> Result<JsValue, JsError> {
        let bytes = random_bytes(random)?;
        let obj = js_sys::Object::new();
        match self.server.accept(self.clock.now(), sid, nsp, &bytes) {
            Some((id, actions)) => {
                set(&obj, "id", JsValue::from_str(&id));
                set(&obj, "actions", to_js(&actions));
            }
            None => set(&obj, "actions", to_js(&[])),
        }
        Ok(obj.into())
    }

    /// Refuses a CONNECT with CONNECT_ERROR.
    #[wasm_bindgen(js_name = connectError)]
    pub fn connect_error(&mut self, sid: &str, nsp: &str, data_json: &str) -> JsValue {
        to_js(
            &self
                .server
                .connect_error(self.clock.now(), sid, nsp, data_json),
        )
    }

    /// Sends an event to one socket: `{ ackId?, actions }`.
    #[wasm_bindgen(js_name = emitToSocket)]
    pub fn emit_to_socket(
        &mut self,
        socket_id: &str,
        data_json: &str,
        binaries: &js_sys::Array,
        with_ack: bool,
        volatile: bool,
    ) -> JsValue {
        let bins = binaries_of(binaries);
        emitted(self.server.emit_to_socket(
            self.clock.now(),
            socket_id,
            emit(data_json, &bins, with_ack, volatile),
        ))
    }

    /// Broadcasts an event: `{ ackId?, recipients?, actions }`.
    // One argument per JavaScript parameter: the shim calls it positionally.
    #[allow(clippy::too_many_arguments)]
    pub fn broadcast(
        &mut self,
        nsp: &str,
        rooms: &js_sys::Array,
        except: &js_sys::Array,
        data_json: &str,
        binaries: &js_sys::Array,
        with_ack: bool,
        volatile: bool,
    ) -> JsValue {
        let bins = binaries_of(binaries);
        emitted(self.server.broadcast(
            self.clock.now(),
            nsp,
            &strings(rooms),
            &strings(except),
            emit(data_json, &bins, with_ack, volatile),
        ))
    }

    /// Answers the client's ack `id`.
    pub fn ack(
        &mut self,
        socket_id: &str,
        id: f64,
        data_json: &str,
        binaries: &js_sys::Array,
    ) -> JsValue {
        match ack_id(id) {
            Some(id) => to_js(&self.server.ack(
                self.clock.now(),
                socket_id,
                id,
                data_json,
                &binaries_of(binaries),
            )),
            None => to_js(&[]),
        }
    }

    /// Adds a socket to rooms.
    pub fn join(&mut self, socket_id: &str, rooms: &js_sys::Array) -> JsValue {
        to_js(
            &self
                .server
                .join(self.clock.now(), socket_id, &strings(rooms)),
        )
    }

    /// The room changes of stored sockets since the last call
    /// (`[{ id, nsp, joined, left }]`), to write to storage before the turn in
    /// which a `roomsChanged` store action came ends.
    #[wasm_bindgen(js_name = takeRoomChanges)]
    pub fn take_room_changes(&mut self) -> JsValue {
        room_changes_value(&self.server.take_room_changes(self.clock.now()))
    }

    /// Removes a socket from a room.
    pub fn leave(&mut self, socket_id: &str, room: &str) -> JsValue {
        to_js(&self.server.leave(self.clock.now(), socket_id, room))
    }

    /// Disconnects a socket from the server side.
    #[wasm_bindgen(js_name = disconnectSocket)]
    pub fn disconnect_socket(&mut self, socket_id: &str, close: bool) -> JsValue {
        to_js(
            &self
                .server
                .disconnect_socket(self.clock.now(), socket_id, close),
        )
    }

    /// Ids of the sockets of `nsp` in any of `rooms` and none of `except`.
    #[wasm_bindgen(js_name = socketsIn)]
    pub fn sockets_in(&self, nsp: &str, rooms: &js_sys::Array, except: &js_sys::Array) -> JsValue {
        string_array(
            &self
                .server
                .sockets_in(nsp, &strings(rooms), &strings(except)),
        )
    }

    /// The rooms of a socket.
    #[wasm_bindgen(js_name = roomsOf)]
    pub fn rooms_of(&self, socket_id: &str) -> JsValue {
        string_array(&self.server.rooms_of(socket_id))
    }

    /// Brings back stored sockets (`[{ id, sid, nsp, rooms }]`) after a
    /// restart; their engine sessions must be restored first.
    #[wasm_bindgen(js_name = restoreSockets)]
    pub fn restore_sockets(&mut self, rows: JsValue) {
        self.server
            .restore_sockets(self.clock.now(), stored_rows(rows));
    }

    /// Resumes ack id allocation of `nsp` at `next`.
    #[wasm_bindgen(js_name = restoreAckIds)]
    pub fn restore_ack_ids(&mut self, nsp: &str, next: f64) {
        if let Some(n) = ack_id(next) {
            self.server.restore_ack_ids(self.clock.now(), nsp, n);
        }
    }

    /// Whether the socket layer knows the sockets of engine session `sid`.
    #[wasm_bindgen(js_name = hasClient)]
    pub fn has_client(&self, sid: &str) -> bool {
        self.server.has_client(sid)
    }

    /// Every room of `nsp` with its members: `[room, ids][]`.
    #[wasm_bindgen(js_name = roomsIn)]
    pub fn rooms_in(&self, nsp: &str) -> JsValue {
        let rooms = self.server.rooms_in(nsp);
        to_js_with(&rooms, |(room, ids)| {
            let pair = js_sys::Array::new();
            pair.push(&JsValue::from_str(room));
            pair.push(&string_array(ids));
            pair.into()
        })
    }
}
