//! # socketio-durable-wasm
//!
//! The WebAssembly face of the core, called by the Durable Object shim
//! (`ts/shim/`). Each method takes the current time and what arrived, runs the
//! sans-IO core, and returns the resulting actions as an array of plain
//! JavaScript objects (`{ type: "respond" | "wsSend" | ..., ... }`). Binary
//! data crosses as `Uint8Array`. Times are milliseconds since the epoch.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod actions;

use engineio_core::{
    Data, Engine, EngineConfig, Method, RequestInfo, Route, Snapshot, Transport, SID_RANDOM_BYTES,
};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use actions::{error_value, to_js, JsAction};

/// Engine options as the TypeScript side passes them (Socket.IO's names).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsEngineOptions {
    ping_interval: Option<f64>,
    ping_timeout: Option<f64>,
    max_http_buffer_size: Option<f64>,
    transports: Option<Vec<String>>,
    allow_upgrades: Option<bool>,
    upgrade_timeout: Option<f64>,
}

fn ms(v: Option<f64>, default: u64) -> u64 {
    match v {
        Some(x) if x.is_finite() && x >= 0.0 => x as u64,
        _ => default,
    }
}

/// Converts a JavaScript time (ms) to the core's clock.
fn now_ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// The Engine.IO server of one Durable Object.
#[wasm_bindgen]
pub struct EngineCore {
    engine: Engine,
}

#[wasm_bindgen]
impl EngineCore {
    /// Builds the engine from the server options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<EngineCore, JsError> {
        let o: JsEngineOptions = if options.is_undefined() || options.is_null() {
            JsEngineOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsError::new(&format!("invalid engine options: {e}")))?
        };
        let d = EngineConfig::default();
        let (polling, websocket) = match &o.transports {
            Some(t) => (
                t.iter().any(|x| x == "polling"),
                t.iter().any(|x| x == "websocket"),
            ),
            None => (true, true),
        };
        let config = EngineConfig {
            ping_interval: ms(o.ping_interval, d.ping_interval),
            ping_timeout: ms(o.ping_timeout, d.ping_timeout),
            max_payload: ms(o.max_http_buffer_size, d.max_payload as u64) as usize,
            polling,
            websocket,
            allow_upgrades: o.allow_upgrades.unwrap_or(d.allow_upgrades),
            upgrade_timeout: ms(o.upgrade_timeout, d.upgrade_timeout),
        };
        Ok(EngineCore {
            engine: Engine::new(config),
        })
    }

    /// Routes a request: `{ route: "handshake", transport }`, `{ route: "poll" | "post" |
    /// "upgrade", sid }`, or `{ error: { status, body } }`.
    pub fn classify(
        &self,
        method: &str,
        transport: Option<String>,
        eio: Option<String>,
        sid: Option<String>,
        websocket_upgrade: bool,
    ) -> JsValue {
        let info = RequestInfo {
            method: match method {
                "GET" => Method::Get,
                "POST" => Method::Post,
                _ => Method::Other,
            },
            transport: transport.as_deref(),
            eio: eio.as_deref(),
            sid: sid.as_deref(),
            websocket_upgrade,
        };
        let obj = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(k), &v);
        };
        match self.engine.classify(&info) {
            Ok(Route::Handshake(t)) => {
                set("route", "handshake".into());
                set("transport", transport_name(t).into());
            }
            Ok(Route::Poll(s)) => {
                set("route", "poll".into());
                set("sid", s.into());
            }
            Ok(Route::Post(s)) => {
                set("route", "post".into());
                set("sid", s.into());
            }
            Ok(Route::Upgrade(s)) => {
                set("route", "upgrade".into());
                set("sid", s.into());
            }
            Err(e) => set("error", error_value(e)),
        }
        obj.into()
    }

    /// Opens a session over `transport` ("polling" or "websocket"). `random`
    /// must hold 15 bytes from a CSPRNG (`crypto.getRandomValues`). Over
    /// polling, `req` is answered with the open packet.
    pub fn open(
        &mut self,
        now: f64,
        transport: &str,
        req: Option<u32>,
        random: &[u8],
    ) -> Result<JsValue, JsError> {
        let bytes: [u8; SID_RANDOM_BYTES] = random
            .try_into()
            .map_err(|_| JsError::new("open() needs 15 random bytes"))?;
        let t = if transport == "websocket" {
            Transport::WebSocket
        } else {
            Transport::Polling
        };
        let (_, actions) = self.engine.open(now_ms(now), t, req, &bytes);
        Ok(to_js(&actions))
    }

    /// Brings back a WebSocket session from its snapshot (`{ sid, nextPingAt,
    /// pongDeadline }`); returns the actions (a close if it expired meanwhile).
    pub fn restore(&mut self, now: f64, snapshot: JsValue) -> JsValue {
        let mut actions = Vec::new();
        if let Ok(s) = serde_wasm_bindgen::from_value::<JsSnapshot>(snapshot) {
            let snap = Snapshot {
                sid: s.sid,
                next_ping_at: now_ms(s.next_ping_at),
                pong_deadline: s.pong_deadline.map(now_ms),
            };
            self.engine.restore(now_ms(now), snap, &mut actions);
        }
        to_js(&actions)
    }

    /// A long-polling GET of session `sid`, known to the driver as `req`.
    pub fn poll(&mut self, now: f64, sid: &str, req: u32) -> JsValue {
        to_js(&self.engine.poll(now_ms(now), sid, req))
    }

    /// A long-polling POST with its body.
    pub fn post(&mut self, now: f64, sid: &str, req: u32, body: &[u8]) -> JsValue {
        to_js(&self.engine.post(now_ms(now), sid, req, body))
    }

    /// Starts an upgrade of `sid` to WebSocket: actions, or `{ error }`.
    #[wasm_bindgen(js_name = beginUpgrade)]
    pub fn begin_upgrade(&mut self, now: f64, sid: &str) -> JsValue {
        match self.engine.begin_upgrade(now_ms(now), sid) {
            Ok(actions) => to_js(&actions),
            Err(e) => {
                let obj = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&obj, &"error".into(), &error_value(e));
                obj.into()
            }
        }
    }

    /// A text frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsText)]
    pub fn ws_text(&mut self, now: f64, sid: &str, text: &str) -> JsValue {
        to_js(&self.engine.ws_text(now_ms(now), sid, text))
    }

    /// A binary frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsBinary)]
    pub fn ws_binary(&mut self, now: f64, sid: &str, bytes: &[u8]) -> JsValue {
        to_js(&self.engine.ws_binary(now_ms(now), sid, bytes))
    }

    /// The WebSocket of `sid` closed (`error`: it failed).
    #[wasm_bindgen(js_name = wsClosed)]
    pub fn ws_closed(&mut self, now: f64, sid: &str, error: bool) -> JsValue {
        to_js(&self.engine.ws_closed(now_ms(now), sid, error))
    }

    /// Sends a text message to `sid`.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&mut self, sid: &str, text: String) -> JsValue {
        to_js(&self.engine.send(sid, Data::Text(text)))
    }

    /// Sends a binary message to `sid`.
    #[wasm_bindgen(js_name = sendBinary)]
    pub fn send_binary(&mut self, sid: &str, bytes: Vec<u8>) -> JsValue {
        to_js(&self.engine.send(sid, Data::Binary(bytes)))
    }

    /// Answers held polling GETs that have data waiting.
    pub fn flush(&mut self) -> JsValue {
        to_js(&self.engine.flush())
    }

    /// Whether `flush` has work to do.
    #[wasm_bindgen(js_name = needsFlush)]
    pub fn needs_flush(&self) -> bool {
        self.engine.needs_flush()
    }

    /// Closes `sid` from the server side.
    pub fn close(&mut self, sid: &str) -> JsValue {
        to_js(&self.engine.close(sid))
    }

    /// The alarm fired: pings, timeouts, next alarm.
    pub fn tick(&mut self, now: f64) -> JsValue {
        to_js(&self.engine.tick(now_ms(now)))
    }

    /// Tells the core which alarm is set (after the object restarted).
    #[wasm_bindgen(js_name = setKnownAlarm)]
    pub fn set_known_alarm(&mut self, at: Option<f64>) {
        self.engine.set_known_alarm(at.map(now_ms));
    }

    /// Number of open sessions.
    #[wasm_bindgen(js_name = clientsCount)]
    pub fn clients_count(&self) -> u32 {
        self.engine.clients_count() as u32
    }

    /// Whether `sid` is an open session.
    #[wasm_bindgen(js_name = hasSession)]
    pub fn has_session(&self, sid: &str) -> bool {
        self.engine.has_session(sid)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsSnapshot {
    sid: String,
    next_ping_at: f64,
    pong_deadline: Option<f64>,
}

fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Polling => "polling",
        Transport::WebSocket => "websocket",
    }
}

// Keep the action type reachable for documentation of the JS shape.
#[allow(dead_code)]
fn _shape(_: JsAction<'_>) {}
