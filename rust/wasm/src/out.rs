//! What a call of the core hands back to JavaScript.
//!
//! The actions of one call are written as one JSON text in the shapes of
//! [`crate::shapes`], and JavaScript's own `JSON.parse` turns that text into objects in
//! one step: one string crosses the boundary instead of one property at a time, and
//! the JSON arguments of events, already validated by the core, arrive parsed (they are
//! written into the text as they are, not as escaped strings). Binary data cannot be
//! JSON: it goes into a side list of `Uint8Array`s (`binaries` on the output array) and
//! the actions refer to it by index. Bytes are moved out of the actions, not copied in
//! Rust; they are copied once into JavaScript memory.

use engineio_core::error::push_json_string;
use engineio_core::{Action as EngineAction, ContentType, Data, Frame};
use socketio_core::packet::push_decimal;
use socketio_core::{Action, StoreOp};
use wasm_bindgen::JsValue;

use crate::transport_name;

/// Builds the output of a call. One per core object: its buffer is reused.
#[derive(Default)]
pub struct Out {
    json: String,
    binaries: Vec<Vec<u8>>,
}

fn content_type(c: ContentType) -> &'static str {
    match c {
        ContentType::Payload => "text/plain; charset=UTF-8",
        ContentType::Ok => "text/html",
        ContentType::Json => "application/json",
        ContentType::Empty => "",
    }
}

impl Out {
    // ---- JSON writing -------------------------------------------------------------

    /// Appends `s` as a JSON string.
    fn string(&mut self, s: &str) {
        push_json_string(s, &mut self.json);
    }

    /// Appends `"key":` (keys are plain ASCII names).
    fn key(&mut self, key: &str) {
        self.json.push('"');
        self.json.push_str(key);
        self.json.push_str("\":");
    }

    fn field_str(&mut self, key: &str, value: &str) {
        self.json.push(',');
        self.key(key);
        self.string(value);
    }

    fn field_num(&mut self, key: &str, value: u64) {
        self.json.push(',');
        self.key(key);
        push_decimal(value, &mut self.json);
    }

    /// Starts an action object: `{"type":"<kind>"`.
    fn begin(&mut self, kind: &str) {
        self.json.push_str("{\"type\":\"");
        self.json.push_str(kind);
        self.json.push('"');
    }

    fn strings(&mut self, items: &[String]) {
        self.json.push('[');
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.json.push(',');
            }
            self.string(s);
        }
        self.json.push(']');
    }

    /// A frame: a JSON string, or the index of its bytes.
    fn frame(&mut self, key: &str, frame: Frame) {
        self.json.push(',');
        self.key(key);
        match frame {
            Frame::Text(t) => self.string(&t),
            Frame::Binary(b) => self.binary(b),
        }
    }

    /// Moves `bytes` to the side list and writes its index.
    fn binary(&mut self, bytes: Vec<u8>) {
        push_decimal(self.binaries.len() as u64, &mut self.json);
        self.binaries.push(bytes);
    }

    /// `,"binaries":[i, ...]` when there are any.
    fn attachments(&mut self, binaries: Vec<Vec<u8>>) {
        if binaries.is_empty() {
            return;
        }
        self.json.push_str(",\"binaries\":[");
        for (i, b) in binaries.into_iter().enumerate() {
            if i > 0 {
                self.json.push(',');
            }
            self.binary(b);
        }
        self.json.push(']');
    }

    // ---- actions ------------------------------------------------------------------

    fn engine_action(&mut self, a: EngineAction) {
        match a {
            EngineAction::Opened { sid, transport } => {
                self.begin("opened");
                self.field_str("sid", &sid);
                self.field_str("transport", transport_name(transport));
            }
            EngineAction::Message { sid, data } => {
                self.begin("message");
                self.field_str("sid", &sid);
                self.frame(
                    "data",
                    match data {
                        Data::Text(t) => Frame::Text(t),
                        Data::Binary(b) => Frame::Binary(b),
                    },
                );
            }
            EngineAction::Closed { sid, reason } => {
                self.begin("closed");
                self.field_str("sid", &sid);
                self.field_str("reason", reason.as_str());
            }
            EngineAction::Respond {
                req,
                status,
                content_type: c,
                body,
            } => {
                self.begin("respond");
                self.field_num("req", u64::from(req));
                self.field_num("status", u64::from(status));
                self.field_str("contentType", content_type(c));
                self.field_str("body", &body);
            }
            EngineAction::WsSend { sid, frame } => {
                self.begin("wsSend");
                self.field_str("sid", &sid);
                self.frame("frame", frame);
            }
            EngineAction::WsSendMany { sids, frame } => {
                self.begin("wsSendMany");
                self.json.push(',');
                self.key("sids");
                self.strings(&sids);
                self.frame("frame", frame);
            }
            EngineAction::WsClose { sid, code, reason } => {
                self.begin("wsClose");
                self.field_str("sid", &sid);
                self.field_num("code", u64::from(code));
                self.field_str("reason", reason);
            }
            EngineAction::Persist(s) => {
                self.begin("persist");
                self.field_str("sid", &s.sid);
                self.field_num("nextPingAt", s.next_ping_at);
                if let Some(d) = s.pong_deadline {
                    self.field_num("pongDeadline", d);
                }
                if s.protocol == engineio_core::Protocol::V3 {
                    self.field_num("eio", 3);
                }
            }
            EngineAction::SetAlarm { at } => {
                self.begin("setAlarm");
                self.field_num("at", at);
            }
        }
        self.json.push('}');
    }

    fn socket_action(&mut self, a: Action) {
        match a {
            Action::Engine(e) => return self.engine_action(e),
            Action::Connect { sid, nsp, auth } => {
                self.begin("connect");
                self.field_str("sid", &sid);
                self.field_str("nsp", &nsp);
                // The core validated the payload's JSON; an empty one means none.
                if let Some(auth) = auth.filter(|a| !a.is_empty()) {
                    self.json.push(',');
                    self.key("auth");
                    self.json.push_str(&auth);
                }
            }
            Action::Event {
                socket_id,
                data,
                ack_id,
                binaries,
            } => {
                self.begin("event");
                self.field_str("socketId", &socket_id);
                self.json.push(',');
                self.key("args");
                // Validated JSON array text, written as it is: it arrives parsed.
                self.json.push_str(&data);
                if let Some(id) = ack_id {
                    self.field_num("ackId", id);
                }
                self.attachments(binaries);
            }
            Action::Ack {
                socket_id,
                id,
                data,
                binaries,
            } => {
                self.begin("ack");
                self.field_str("socketId", &socket_id);
                self.field_num("id", id);
                self.json.push(',');
                self.key("args");
                self.json.push_str(&data);
                self.attachments(binaries);
            }
            Action::Error { socket_id, message } => {
                self.begin("error");
                self.field_str("socketId", &socket_id);
                self.field_str("message", &message);
            }
            Action::CloseConnection { sid } => {
                self.begin("closeConnection");
                self.field_str("sid", &sid);
            }
            Action::Store(op) => match op {
                StoreOp::SocketAdded { id, sid, nsp } => {
                    self.begin("socketAdded");
                    self.field_str("id", &id);
                    self.field_str("sid", &sid);
                    self.field_str("nsp", &nsp);
                }
                StoreOp::SocketRemoved { id } => {
                    self.begin("socketRemoved");
                    self.field_str("id", &id);
                }
                StoreOp::RoomsChanged => self.begin("roomsChanged"),
                StoreOp::PacketStored {
                    offset,
                    nsp,
                    rooms,
                    except,
                    data,
                    binaries,
                } => {
                    self.begin("packetStored");
                    self.field_num("offset", offset);
                    self.field_str("nsp", &nsp);
                    self.json.push(',');
                    self.key("rooms");
                    self.strings(&rooms);
                    self.json.push(',');
                    self.key("except");
                    self.strings(&except);
                    // Stored as text: written as a string, not embedded.
                    self.field_str("data", &data);
                    self.attachments(binaries);
                }
                StoreOp::SessionKept { id, nsp, rooms, at } => {
                    self.begin("sessionKept");
                    self.field_str("id", &id);
                    self.field_str("nsp", &nsp);
                    self.json.push(',');
                    self.key("rooms");
                    self.strings(&rooms);
                    self.field_num("at", at);
                }
                StoreOp::AckReserved { nsp, up_to } => {
                    self.begin("ackReserved");
                    self.field_str("nsp", &nsp);
                    self.field_num("upTo", up_to);
                }
            },
            Action::Disconnect { socket_id, reason } => {
                self.begin("disconnect");
                self.field_str("socketId", &socket_id);
                self.field_str("reason", reason.as_str());
            }
        }
        self.json.push('}');
    }

    // ---- outputs ------------------------------------------------------------------

    fn list<T>(&mut self, items: Vec<T>, mut write: impl FnMut(&mut Self, T)) {
        self.json.push('[');
        for (i, a) in items.into_iter().enumerate() {
            if i > 0 {
                self.json.push(',');
            }
            write(self, a);
        }
        self.json.push(']');
    }

    /// The JSON text of engine actions (for tests and [`Out::engine`]).
    pub fn engine_json(&mut self, actions: Vec<EngineAction>) -> &str {
        self.reset();
        self.list(actions, Self::engine_action);
        &self.json
    }

    /// The JSON text of Socket.IO actions (for tests and [`Out::socket`]).
    pub fn socket_json(&mut self, actions: Vec<Action>) -> &str {
        self.reset();
        self.list(actions, Self::socket_action);
        &self.json
    }

    /// `{"id"?:..,"pid"?:..,"actions":[..]}` (what `accept` returns).
    pub fn accepted_json(
        &mut self,
        id: Option<&str>,
        pid: Option<&str>,
        actions: Vec<Action>,
    ) -> &str {
        self.reset();
        self.json.push('{');
        if let Some(id) = id {
            self.key("id");
            self.string(id);
            self.json.push(',');
        }
        if let Some(pid) = pid {
            self.key("pid");
            self.string(pid);
            self.json.push(',');
        }
        self.key("actions");
        self.list(actions, Self::socket_action);
        self.json.push('}');
        &self.json
    }

    /// `{"ackId"?:..,"recipients"?:[..],"actions":[..]}` (what emits return).
    pub fn emitted_json(&mut self, e: socketio_core::Emitted) -> &str {
        self.reset();
        self.json.push('{');
        if let Some(id) = e.ack_id {
            self.key("ackId");
            push_decimal(id, &mut self.json);
            self.json.push(',');
            self.key("recipients");
            self.strings(&e.recipients);
            self.json.push(',');
        }
        self.key("actions");
        self.list(e.actions, Self::socket_action);
        self.json.push('}');
        &self.json
    }

    fn reset(&mut self) {
        self.json.clear();
        self.binaries.clear();
    }

    /// Engine actions as a JavaScript array (`CoreOutput`).
    pub fn engine(&mut self, actions: Vec<EngineAction>) -> JsValue {
        self.engine_json(actions);
        self.finish(None)
    }

    /// Socket.IO actions as a JavaScript array (`CoreOutput`).
    pub fn socket(&mut self, actions: Vec<Action>) -> JsValue {
        self.socket_json(actions);
        self.finish(None)
    }

    /// What `accept` returns (`Accepted`).
    pub fn accepted(
        &mut self,
        id: Option<&str>,
        pid: Option<&str>,
        actions: Vec<Action>,
    ) -> JsValue {
        self.accepted_json(id, pid, actions);
        self.finish(Some("actions"))
    }

    /// What emits return (`Emitted`).
    pub fn emitted(&mut self, e: socketio_core::Emitted) -> JsValue {
        self.emitted_json(e);
        self.finish(Some("actions"))
    }

    /// Parses the text in JavaScript and attaches the binaries to the action list
    /// (found under `inner` when the list is a property of the output).
    fn finish(&mut self, inner: Option<&str>) -> JsValue {
        // The text is ours and always valid JSON; should parsing fail anyway, the call
        // yields no actions rather than a trap.
        let value = js_sys::JSON::parse(&self.json).unwrap_or_else(|_| match inner {
            None => js_sys::Array::new().into(),
            Some(key) => {
                let obj = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&obj, &key.into(), &js_sys::Array::new());
                obj.into()
            }
        });
        if !self.binaries.is_empty() {
            let list = js_sys::Array::new_with_length(self.binaries.len() as u32);
            for (i, b) in self.binaries.drain(..).enumerate() {
                list.set(i as u32, js_sys::Uint8Array::from(b.as_slice()).into());
            }
            let target = match inner {
                None => value.clone(),
                Some(key) => js_sys::Reflect::get(&value, &key.into()).unwrap_or(JsValue::NULL),
            };
            let _ = js_sys::Reflect::set(&target, &"binaries".into(), &list);
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{Accepted, CoreAction, Emitted};
    use engineio_core::{CloseReason, Snapshot, Transport};
    use socketio_core::DisconnectReason;

    fn engine_actions() -> Vec<EngineAction> {
        vec![
            EngineAction::Opened {
                sid: "s1".into(),
                transport: Transport::WebSocket,
            },
            EngineAction::Message {
                sid: "s1".into(),
                data: Data::Text("hé \"quoted\" \\ \n\t\u{1}".into()),
            },
            EngineAction::Message {
                sid: "s1".into(),
                data: Data::Binary(vec![1, 2, 3]),
            },
            EngineAction::Closed {
                sid: "s1".into(),
                reason: CloseReason::PingTimeout,
            },
            EngineAction::Respond {
                req: 7,
                status: 400,
                content_type: ContentType::Json,
                body: "{\"code\":1}".into(),
            },
            EngineAction::WsSend {
                sid: "s1".into(),
                frame: Frame::Text("42[\"a\"]".into()),
            },
            EngineAction::WsSendMany {
                sids: vec!["a".into(), "b".into()],
                frame: Frame::Binary(vec![9]),
            },
            EngineAction::WsClose {
                sid: "s1".into(),
                code: 1000,
                reason: "ping timeout",
            },
            EngineAction::Persist(Snapshot {
                sid: "s1".into(),
                next_ping_at: 1_700_000_000_000,
                pong_deadline: Some(1_700_000_020_000),
                protocol: Default::default(),
                answered_ping: None,
            }),
            EngineAction::Persist(Snapshot {
                sid: "s1".into(),
                next_ping_at: 5,
                pong_deadline: None,
                protocol: Default::default(),
                answered_ping: None,
            }),
            EngineAction::Persist(Snapshot {
                sid: "s3".into(),
                next_ping_at: 9,
                pong_deadline: Some(9),
                protocol: engineio_core::Protocol::V3,
                answered_ping: None,
            }),
            EngineAction::SetAlarm { at: 42 },
        ]
    }

    fn socket_actions() -> Vec<Action> {
        vec![
            Action::Connect {
                sid: "s1".into(),
                nsp: "/admin".into(),
                auth: Some("{\"token\":\"x\"}".into()),
            },
            Action::Connect {
                sid: "s1".into(),
                nsp: "/".into(),
                auth: None,
            },
            Action::Event {
                socket_id: "id1".into(),
                data: "[\"ev\",{\"_placeholder\":true,\"num\":0},\"x\\\"y\"]".into(),
                ack_id: Some(3),
                binaries: vec![vec![1], vec![2, 2]],
            },
            Action::Event {
                socket_id: "id1".into(),
                data: "[\"ev\"]".into(),
                ack_id: None,
                binaries: vec![],
            },
            Action::Ack {
                socket_id: "id1".into(),
                id: 4,
                data: "[1,2]".into(),
                binaries: vec![],
            },
            Action::Error {
                socket_id: "id1".into(),
                message: "invalid payload".into(),
            },
            Action::CloseConnection { sid: "s1".into() },
            Action::Store(StoreOp::SocketAdded {
                id: "id1".into(),
                sid: "s1".into(),
                nsp: "/".into(),
            }),
            Action::Store(StoreOp::SocketRemoved { id: "id1".into() }),
            Action::Store(StoreOp::RoomsChanged),
            Action::Store(StoreOp::AckReserved {
                nsp: "/".into(),
                up_to: 1000,
            }),
            Action::Disconnect {
                socket_id: "id1".into(),
                reason: DisconnectReason::ServerNamespaceDisconnect,
            },
            Action::Engine(EngineAction::SetAlarm { at: 1 }),
            Action::Store(StoreOp::PacketStored {
                offset: 1_700_000_000_000_001,
                nsp: "/".into(),
                rooms: vec!["r".into()],
                except: vec![],
                data: "[\"ev\",{\"_placeholder\":true,\"num\":0},\"1700000000000001\"]".into(),
                binaries: vec![vec![7]],
            }),
            Action::Store(StoreOp::SessionKept {
                id: "id1".into(),
                nsp: "/".into(),
                rooms: vec!["id1".into(), "r".into()],
                at: 1_700_000_000_000,
            }),
        ]
    }

    #[test]
    fn engine_actions_read_back_as_their_shapes() {
        let mut out = Out::default();
        let json = out.engine_json(engine_actions()).to_owned();
        let read: Vec<CoreAction> = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(read.len(), engine_actions().len());
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value[1]["data"], "hé \"quoted\" \\ \n\t\u{1}");
        assert_eq!(value[2]["data"], 0);
        assert_eq!(value[6]["frame"], 1);
        assert_eq!(value[8]["pongDeadline"], 1_700_000_020_000u64);
        assert!(value[9].get("pongDeadline").is_none());
        assert_eq!(out.binaries, vec![vec![1, 2, 3], vec![9]]);
    }

    #[test]
    fn socket_actions_read_back_as_their_shapes() {
        let mut out = Out::default();
        let json = out.socket_json(socket_actions()).to_owned();
        let read: Vec<CoreAction> = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(read.len(), socket_actions().len());
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(value[0]["auth"]["token"], "x");
        assert!(value[1].get("auth").is_none());
        assert_eq!(value[2]["args"][2], "x\"y");
        assert_eq!(value[2]["binaries"], serde_json::json!([0, 1]));
        assert!(value[3].get("binaries").is_none());
        assert!(value[3].get("ackId").is_none());
        assert_eq!(value[9], serde_json::json!({ "type": "roomsChanged" }));
        assert_eq!(value[11]["reason"], "server namespace disconnect");
        assert_eq!(value[13]["offset"], 1_700_000_000_000_001u64);
        assert_eq!(
            value[13]["data"],
            "[\"ev\",{\"_placeholder\":true,\"num\":0},\"1700000000000001\"]"
        );
        assert_eq!(value[13]["binaries"], serde_json::json!([2]));
        assert_eq!(value[14]["rooms"], serde_json::json!(["id1", "r"]));
    }

    #[test]
    fn results_read_back_as_their_shapes() {
        let mut out = Out::default();
        let json = out
            .accepted_json(Some("id1"), Some("p1"), socket_actions())
            .to_owned();
        let a: Accepted = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(a.id.as_deref(), Some("id1"));
        assert_eq!(a.pid.as_deref(), Some("p1"));
        let json = out.accepted_json(None, None, vec![]).to_owned();
        let a: Accepted = serde_json::from_str(&json).expect("valid JSON");
        assert!(a.id.is_none());
        let json = out
            .emitted_json(socketio_core::Emitted {
                ack_id: Some(5),
                recipients: vec!["a".into()],
                actions: vec![],
            })
            .to_owned();
        let e: Emitted = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(e.ack_id, Some(5.0));
        assert_eq!(e.recipients, Some(vec!["a".to_owned()]));
    }

    #[test]
    fn strings_escape_every_control_character() {
        let mut out = Out::default();
        let all: String = (0u8..0x20)
            .map(char::from)
            .chain("\"\\/é😀".chars())
            .collect();
        out.reset();
        out.string(&all);
        let back: String = serde_json::from_str(&out.json).expect("valid JSON");
        assert_eq!(back, all);
    }
}
