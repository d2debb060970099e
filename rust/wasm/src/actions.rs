//! Core actions as plain JavaScript objects.

use engineio_core::{Action, ContentType, Data, Frame, RequestError};
use serde::Serialize;
use serde_bytes::Bytes;
use wasm_bindgen::JsValue;

/// The JavaScript shape of one action (`type` tells which).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum JsAction<'a> {
    /// A session opened.
    Opened { sid: &'a str, transport: &'a str },
    /// A message from the client: `text` or `binary`.
    Message {
        sid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        binary: Option<&'a Bytes>,
    },
    /// A session closed.
    Closed { sid: &'a str, reason: &'a str },
    /// Answer a held HTTP request.
    Respond {
        req: u32,
        status: u16,
        #[serde(rename = "contentType")]
        content_type: &'a str,
        body: &'a str,
    },
    /// Send a WebSocket frame: `text` or `binary`.
    WsSend {
        sid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        binary: Option<&'a Bytes>,
    },
    /// Send one frame to several sessions' WebSockets.
    WsSendMany {
        sids: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        binary: Option<&'a Bytes>,
    },
    /// Close the session's WebSocket.
    WsClose {
        sid: &'a str,
        code: u16,
        reason: &'a str,
    },
    /// Store this snapshot with the session's WebSocket.
    Persist {
        sid: &'a str,
        #[serde(rename = "nextPingAt")]
        next_ping_at: f64,
        #[serde(rename = "pongDeadline")]
        pong_deadline: Option<f64>,
    },
    /// Set the alarm.
    SetAlarm { at: f64 },
}

fn content_type(c: ContentType) -> &'static str {
    match c {
        ContentType::Payload => "text/plain; charset=UTF-8",
        ContentType::Ok => "text/html",
        ContentType::Json => "application/json",
        ContentType::Empty => "",
    }
}

/// The JavaScript shape of an engine action.
pub fn convert(a: &Action) -> JsAction<'_> {
    match a {
        Action::Opened { sid, transport } => JsAction::Opened {
            sid,
            transport: match transport {
                engineio_core::Transport::Polling => "polling",
                engineio_core::Transport::WebSocket => "websocket",
            },
        },
        Action::Message { sid, data } => match data {
            Data::Text(t) => JsAction::Message {
                sid,
                text: Some(t),
                binary: None,
            },
            Data::Binary(b) => JsAction::Message {
                sid,
                text: None,
                binary: Some(Bytes::new(b)),
            },
        },
        Action::Closed { sid, reason } => JsAction::Closed {
            sid,
            reason: reason.as_str(),
        },
        Action::Respond {
            req,
            status,
            content_type: c,
            body,
        } => JsAction::Respond {
            req: *req,
            status: *status,
            content_type: content_type(*c),
            body,
        },
        Action::WsSend { sid, frame } => match frame {
            Frame::Text(t) => JsAction::WsSend {
                sid,
                text: Some(t),
                binary: None,
            },
            Frame::Binary(b) => JsAction::WsSend {
                sid,
                text: None,
                binary: Some(Bytes::new(b)),
            },
        },
        Action::WsSendMany { sids, frame } => match frame {
            Frame::Text(t) => JsAction::WsSendMany {
                sids,
                text: Some(t),
                binary: None,
            },
            Frame::Binary(b) => JsAction::WsSendMany {
                sids,
                text: None,
                binary: Some(Bytes::new(b)),
            },
        },
        Action::WsClose { sid, code, reason } => JsAction::WsClose {
            sid,
            code: *code,
            reason,
        },
        Action::Persist(s) => JsAction::Persist {
            sid: &s.sid,
            next_ping_at: s.next_ping_at as f64,
            pong_deadline: s.pong_deadline.map(|d| d as f64),
        },
        Action::SetAlarm { at } => JsAction::SetAlarm { at: *at as f64 },
    }
}

/// Converts actions to a JavaScript array.
pub fn to_js(actions: &[Action]) -> JsValue {
    to_js_with(actions, |a| value(&convert(a)))
}

/// Converts any serializable value to a plain JavaScript value.
pub fn value<T: Serialize>(v: &T) -> JsValue {
    // Our action types always serialize; a failure would only lose one entry.
    serde_wasm_bindgen::to_value(v).unwrap_or(JsValue::NULL)
}

/// Converts a list to a JavaScript array with `f`.
pub fn to_js_with<T>(items: &[T], f: impl Fn(&T) -> JsValue) -> JsValue {
    let arr = js_sys::Array::new_with_length(items.len() as u32);
    for (i, a) in items.iter().enumerate() {
        arr.set(i as u32, f(a));
    }
    arr.into()
}

/// `{ status, body }` for a refused request.
pub fn error_value(e: RequestError) -> JsValue {
    let obj = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&obj, &"status".into(), &JsValue::from(e.status()));
    let _ = js_sys::Reflect::set(&obj, &"body".into(), &JsValue::from_str(&e.body()));
    obj.into()
}
