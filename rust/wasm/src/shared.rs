//! The calls `EngineCore` and `SocketCore` answer alike, written once.
//!
//! [`EngineLike`] is what both cores (the bare [`Engine`] and the [`SocketServer`] on top
//! of it) offer, and [`engine_methods!`] writes the JavaScript methods over it for a
//! binding type with the fields `core`, `now` and `out`.

use engineio_core::{
    Action as EngineAction, Data, Engine, ReqId, RequestError, RequestInfo, Route, Transport,
    SID_RANDOM_BYTES,
};
use socketio_core::{Action, SocketServer};
use wasm_bindgen::JsValue;

use crate::out::Out;

/// What both cores offer, with their own action type.
pub(crate) trait EngineLike {
    /// The core's action type.
    type Action;
    fn classify(&self, info: &RequestInfo<'_>) -> Result<Route, RequestError>;
    fn open(
        &mut self,
        now: u64,
        transport: Transport,
        req: Option<ReqId>,
        random: &[u8; SID_RANDOM_BYTES],
    ) -> Vec<Self::Action>;
    fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<Self::Action>;
    fn post(
        &mut self,
        now: u64,
        sid: &str,
        req: ReqId,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<Self::Action>;
    fn begin_upgrade(&mut self, now: u64, sid: &str) -> Result<Vec<Self::Action>, RequestError>;
    fn ws_text(&mut self, now: u64, sid: &str, text: &str) -> Vec<Self::Action>;
    fn ws_binary(&mut self, now: u64, sid: &str, bytes: &[u8]) -> Vec<Self::Action>;
    fn ws_closed(&mut self, now: u64, sid: &str, error: bool) -> Vec<Self::Action>;
    fn send(&mut self, now: u64, sid: &str, data: Data) -> Vec<Self::Action>;
    fn flush(&mut self, now: u64) -> Vec<Self::Action>;
    fn needs_flush(&self) -> bool;
    fn close(&mut self, now: u64, sid: &str) -> Vec<Self::Action>;
    fn tick(&mut self, now: u64) -> Vec<Self::Action>;
    fn set_known_alarm(&mut self, now: u64, at: Option<u64>);
    fn clients_count(&self) -> usize;
    fn has_session(&self, sid: &str) -> bool;
    /// The JavaScript output of actions.
    fn output(&self, out: &mut Out, actions: Vec<Self::Action>) -> JsValue;
}

/// Forwards the shared calls to inherent methods of the same names.
macro_rules! forward {
    ($ty:ty, $action:ty, $send:ident, |$s:ident| $open:expr, |$o:ident, $a:ident| $output:expr) => {
        impl EngineLike for $ty {
            type Action = $action;
            fn classify(&self, info: &RequestInfo<'_>) -> Result<Route, RequestError> {
                <$ty>::classify(self, info)
            }
            fn open(
                &mut self,
                now: u64,
                transport: Transport,
                req: Option<ReqId>,
                random: &[u8; SID_RANDOM_BYTES],
            ) -> Vec<$action> {
                let $s = <$ty>::open(self, now, transport, req, random);
                $open
            }
            fn poll(&mut self, now: u64, sid: &str, req: ReqId) -> Vec<$action> {
                <$ty>::poll(self, now, sid, req)
            }
            fn post(
                &mut self,
                now: u64,
                sid: &str,
                req: ReqId,
                content_type: Option<&str>,
                body: &[u8],
            ) -> Vec<$action> {
                <$ty>::post(self, now, sid, req, content_type, body)
            }
            fn begin_upgrade(&mut self, now: u64, sid: &str) -> Result<Vec<$action>, RequestError> {
                <$ty>::begin_upgrade(self, now, sid)
            }
            fn ws_text(&mut self, now: u64, sid: &str, text: &str) -> Vec<$action> {
                <$ty>::ws_text(self, now, sid, text)
            }
            fn ws_binary(&mut self, now: u64, sid: &str, bytes: &[u8]) -> Vec<$action> {
                <$ty>::ws_binary(self, now, sid, bytes)
            }
            fn ws_closed(&mut self, now: u64, sid: &str, error: bool) -> Vec<$action> {
                <$ty>::ws_closed(self, now, sid, error)
            }
            fn send(&mut self, now: u64, sid: &str, data: Data) -> Vec<$action> {
                <$ty>::$send(self, now, sid, data)
            }
            fn flush(&mut self, now: u64) -> Vec<$action> {
                <$ty>::flush(self, now)
            }
            fn needs_flush(&self) -> bool {
                <$ty>::needs_flush(self)
            }
            fn close(&mut self, now: u64, sid: &str) -> Vec<$action> {
                <$ty>::close(self, now, sid)
            }
            fn tick(&mut self, now: u64) -> Vec<$action> {
                <$ty>::tick(self, now)
            }
            fn set_known_alarm(&mut self, now: u64, at: Option<u64>) {
                <$ty>::set_known_alarm(self, now, at)
            }
            fn clients_count(&self) -> usize {
                self.engine_ref().clients_count()
            }
            fn has_session(&self, sid: &str) -> bool {
                self.engine_ref().has_session(sid)
            }
            fn output(&self, $o: &mut Out, $a: Vec<$action>) -> JsValue {
                $output
            }
        }
    };
}

/// The engine under a core.
trait EngineRef {
    fn engine_ref(&self) -> &Engine;
}

impl EngineRef for Engine {
    fn engine_ref(&self) -> &Engine {
        self
    }
}

impl EngineRef for SocketServer {
    fn engine_ref(&self) -> &Engine {
        self.engine()
    }
}

forward!(Engine, EngineAction, send, |opened| opened.1, |out, a| out
    .engine(a));
forward!(SocketServer, Action, send_raw, |opened| opened, |out, a| {
    out.socket(a)
});

/// Writes the JavaScript methods shared by the two binding types over their `core`
/// (an [`EngineLike`]), `now` (the last time passed) and `out` (an [`Out`]).
macro_rules! engine_methods {
    ($ty:ident) => {
        #[wasm_bindgen]
        impl $ty {
            /// Routes a request: `{ route, transport | sid }` or `{ error }`.
            #[wasm_bindgen(unchecked_return_type = "Classified")]
            pub fn classify(
                &self,
                method: &str,
                transport: Option<String>,
                eio: Option<String>,
                sid: Option<String>,
                websocket_upgrade: bool,
            ) -> JsValue {
                let info = $crate::request_info(
                    method,
                    transport.as_deref(),
                    eio.as_deref(),
                    sid.as_deref(),
                    websocket_upgrade,
                );
                $crate::classified(EngineLike::classify(&self.core, &info))
            }

            /// Opens a session over `transport` ("polling" or "websocket"). `random`
            /// must hold 15 bytes from a CSPRNG (`crypto.getRandomValues`). Over
            /// polling, `req` is answered with the open packet.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn open(
                &mut self,
                now: f64,
                transport: &str,
                req: Option<u32>,
                random: &[u8],
            ) -> Result<JsValue, JsError> {
                let now = self.at(now);
                let bytes = $crate::random_bytes(random)?;
                let transport = $crate::parse_transport(transport);
                let actions = EngineLike::open(&mut self.core, now, transport, req, &bytes);
                Ok(EngineLike::output(&self.core, &mut self.out, actions))
            }

            /// A long-polling GET of session `sid`, known to the driver as `req`.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn poll(&mut self, now: f64, sid: &str, req: u32) -> JsValue {
                let now = self.at(now);
                let actions = EngineLike::poll(&mut self.core, now, sid, req);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// A long-polling POST with its `Content-Type` header and body.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn post(
                &mut self,
                now: f64,
                sid: &str,
                req: u32,
                content_type: Option<String>,
                body: &[u8],
            ) -> JsValue {
                let now = self.at(now);
                let actions =
                    EngineLike::post(&mut self.core, now, sid, req, content_type.as_deref(), body);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Starts an upgrade of `sid` to WebSocket: actions, or `{ error }`.
            #[wasm_bindgen(js_name = beginUpgrade, unchecked_return_type = "Upgrading")]
            pub fn begin_upgrade(&mut self, now: f64, sid: &str) -> JsValue {
                let now = self.at(now);
                match EngineLike::begin_upgrade(&mut self.core, now, sid) {
                    Ok(actions) => EngineLike::output(&self.core, &mut self.out, actions),
                    Err(e) => $crate::error_object(e),
                }
            }

            /// A text frame on the WebSocket of `sid`.
            #[wasm_bindgen(js_name = wsText, unchecked_return_type = "CoreOutput")]
            pub fn ws_text(&mut self, now: f64, sid: &str, text: &str) -> JsValue {
                let now = self.at(now);
                let actions = EngineLike::ws_text(&mut self.core, now, sid, text);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// A binary frame on the WebSocket of `sid`.
            #[wasm_bindgen(js_name = wsBinary, unchecked_return_type = "CoreOutput")]
            pub fn ws_binary(&mut self, now: f64, sid: &str, bytes: &[u8]) -> JsValue {
                let now = self.at(now);
                let actions = EngineLike::ws_binary(&mut self.core, now, sid, bytes);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// The WebSocket of `sid` closed (`error`: it failed).
            #[wasm_bindgen(js_name = wsClosed, unchecked_return_type = "CoreOutput")]
            pub fn ws_closed(&mut self, now: f64, sid: &str, error: bool) -> JsValue {
                let now = self.at(now);
                let actions = EngineLike::ws_closed(&mut self.core, now, sid, error);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Sends a raw Engine.IO text message to `sid`.
            #[wasm_bindgen(js_name = sendText, unchecked_return_type = "CoreOutput")]
            pub fn send_text(&mut self, sid: &str, text: String) -> JsValue {
                let actions = EngineLike::send(
                    &mut self.core,
                    self.now,
                    sid,
                    engineio_core::Data::Text(text),
                );
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Sends a raw Engine.IO binary message to `sid`.
            #[wasm_bindgen(js_name = sendBinary, unchecked_return_type = "CoreOutput")]
            pub fn send_binary(&mut self, sid: &str, bytes: Vec<u8>) -> JsValue {
                let actions = EngineLike::send(
                    &mut self.core,
                    self.now,
                    sid,
                    engineio_core::Data::Binary(bytes),
                );
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Answers held polling GETs that have data waiting.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn flush(&mut self) -> JsValue {
                let actions = EngineLike::flush(&mut self.core, self.now);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Whether `flush` has work to do.
            #[wasm_bindgen(js_name = needsFlush)]
            pub fn needs_flush(&self) -> bool {
                EngineLike::needs_flush(&self.core)
            }

            /// Closes `sid` from the server side ("forced close").
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn close(&mut self, sid: &str) -> JsValue {
                let actions = EngineLike::close(&mut self.core, self.now, sid);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// The alarm fired: pings, timeouts, next alarm.
            #[wasm_bindgen(unchecked_return_type = "CoreOutput")]
            pub fn tick(&mut self, now: f64) -> JsValue {
                let now = self.at(now);
                let actions = EngineLike::tick(&mut self.core, now);
                EngineLike::output(&self.core, &mut self.out, actions)
            }

            /// Tells the core which alarm is set (after the object restarted).
            #[wasm_bindgen(js_name = setKnownAlarm)]
            pub fn set_known_alarm(&mut self, at: Option<f64>) {
                EngineLike::set_known_alarm(&mut self.core, self.now, at.map($crate::now_ms));
            }

            /// Number of open sessions.
            #[wasm_bindgen(js_name = clientsCount)]
            pub fn clients_count(&self) -> u32 {
                EngineLike::clients_count(&self.core) as u32
            }

            /// Whether `sid` is an open session.
            #[wasm_bindgen(js_name = hasSession)]
            pub fn has_session(&self, sid: &str) -> bool {
                EngineLike::has_session(&self.core, sid)
            }
        }

        impl $ty {
            /// The driver's time as the core counts it, remembered for the calls
            /// that JavaScript makes without one (they pass the core the time of the
            /// last call that had one: the event being handled).
            fn at(&mut self, now: f64) -> u64 {
                self.now = $crate::now_ms(now);
                self.now
            }
        }
    };
}

pub(crate) use engine_methods;
