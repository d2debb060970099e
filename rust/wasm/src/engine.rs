//! `EngineCore`: a bare Engine.IO server.

use engineio_core::{Data, Engine};
use wasm_bindgen::prelude::*;

use crate::actions::to_js;
use crate::{
    classified, error_object, now_ms, parse_options, parse_snapshot, parse_transport, random_bytes,
    request_info, Clock,
};

/// The Engine.IO server of one Durable Object.
#[wasm_bindgen]
pub struct EngineCore {
    engine: Engine,
    /// The time of the runtime event being handled.
    clock: Clock,
}

#[wasm_bindgen]
impl EngineCore {
    /// Builds the engine from the server options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<EngineCore, JsError> {
        let (config, _) = parse_options(options)?;
        Ok(EngineCore {
            engine: Engine::new(config),
            clock: Clock::default(),
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
        let info = request_info(
            method,
            transport.as_deref(),
            eio.as_deref(),
            sid.as_deref(),
            websocket_upgrade,
        );
        classified(self.engine.classify(&info))
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
        let now = self.clock.at(now);
        let bytes = random_bytes(random)?;
        let (_, actions) = self
            .engine
            .open(now, parse_transport(transport), req, &bytes);
        Ok(to_js(&actions))
    }

    /// Brings back a WebSocket session from its snapshot (`{ sid, nextPingAt,
    /// pongDeadline }`); returns the actions (a close if it expired meanwhile).
    pub fn restore(&mut self, now: f64, snapshot: JsValue) -> JsValue {
        let now = self.clock.at(now);
        let mut actions = Vec::new();
        if let Some(snap) = parse_snapshot(snapshot) {
            self.engine.restore(now, snap, &mut actions);
        }
        to_js(&actions)
    }

    /// A long-polling GET of session `sid`, known to the driver as `req`.
    pub fn poll(&mut self, now: f64, sid: &str, req: u32) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.engine.poll(now, sid, req))
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
                .engine
                .post(now, sid, req, content_type.as_deref(), body),
        )
    }

    /// Starts an upgrade of `sid` to WebSocket: actions, or `{ error }`.
    #[wasm_bindgen(js_name = beginUpgrade)]
    pub fn begin_upgrade(&mut self, now: f64, sid: &str) -> JsValue {
        let now = self.clock.at(now);
        match self.engine.begin_upgrade(now, sid) {
            Ok(actions) => to_js(&actions),
            Err(e) => error_object(e),
        }
    }

    /// A text frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsText)]
    pub fn ws_text(&mut self, now: f64, sid: &str, text: &str) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.engine.ws_text(now, sid, text))
    }

    /// A binary frame on the WebSocket of `sid`.
    #[wasm_bindgen(js_name = wsBinary)]
    pub fn ws_binary(&mut self, now: f64, sid: &str, bytes: &[u8]) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.engine.ws_binary(now, sid, bytes))
    }

    /// The WebSocket of `sid` closed (`error`: it failed).
    #[wasm_bindgen(js_name = wsClosed)]
    pub fn ws_closed(&mut self, now: f64, sid: &str, error: bool) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.engine.ws_closed(now, sid, error))
    }

    /// Sends a text message to `sid`.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&mut self, sid: &str, text: String) -> JsValue {
        to_js(&self.engine.send(self.clock.now(), sid, Data::Text(text)))
    }

    /// Sends a binary message to `sid`.
    #[wasm_bindgen(js_name = sendBinary)]
    pub fn send_binary(&mut self, sid: &str, bytes: Vec<u8>) -> JsValue {
        to_js(&self.engine.send(self.clock.now(), sid, Data::Binary(bytes)))
    }

    /// Answers held polling GETs that have data waiting.
    pub fn flush(&mut self) -> JsValue {
        to_js(&self.engine.flush(self.clock.now()))
    }

    /// Whether `flush` has work to do.
    #[wasm_bindgen(js_name = needsFlush)]
    pub fn needs_flush(&self) -> bool {
        self.engine.needs_flush()
    }

    /// Closes `sid` from the server side.
    pub fn close(&mut self, sid: &str) -> JsValue {
        to_js(&self.engine.close(self.clock.now(), sid))
    }

    /// The alarm fired: pings, timeouts, next alarm.
    pub fn tick(&mut self, now: f64) -> JsValue {
        let now = self.clock.at(now);
        to_js(&self.engine.tick(now))
    }

    /// Tells the core which alarm is set (after the object restarted).
    #[wasm_bindgen(js_name = setKnownAlarm)]
    pub fn set_known_alarm(&mut self, at: Option<f64>) {
        self.engine
            .set_known_alarm(self.clock.now(), at.map(now_ms));
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
