//! # socketio-durable-wasm
//!
//! The WebAssembly face of the core, called by the Durable Object shim
//! (`ts/shim/`). Two classes: [`EngineCore`] (a bare Engine.IO server) and
//! [`SocketCore`] (Socket.IO with its engine). Each method takes what arrived,
//! runs the sans-IO core, and returns the resulting actions as an array of
//! plain JavaScript objects (`{ type: "respond" | "wsSend" | "event" | ...,
//! ... }`), written as one JSON text and parsed once ([`out`]). Their
//! TypeScript types are generated from [`shapes`] into the package's
//! `core.d.ts`. Binary data crosses as `Uint8Array`. Times are milliseconds
//! since the epoch.
//!
//! The methods for runtime events (requests, frames, the alarm) take the
//! current time; the others (sends, emits, rooms, closes) are called while
//! such an event is handled and pass the core the time it came with, the
//! last one received: the clock stays with the driver.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod engine;
mod out;
mod read;
pub mod shapes;
mod shared;
mod socket;

pub use engine::EngineCore;
pub use socket::SocketCore;

use engineio_core::{
    EngineConfig, Method, Protocol, RequestError, RequestInfo, Route, Snapshot, Transport,
    SID_RANDOM_BYTES,
};
use socketio_core::{Parser, SocketConfig};
use wasm_bindgen::prelude::*;

/// `{ status, body }` for a refused request.
fn error_value(e: RequestError) -> JsValue {
    let obj = js_sys::Object::new();
    set(&obj, "status", JsValue::from(e.status()));
    set(&obj, "body", JsValue::from_str(&e.body()));
    obj.into()
}

/// Server options as the TypeScript side passes them (Socket.IO's names).
#[derive(Default)]
struct JsOptions {
    ping_interval: Option<f64>,
    ping_timeout: Option<f64>,
    max_http_buffer_size: Option<f64>,
    transports: Option<Vec<String>>,
    allow_upgrades: Option<bool>,
    upgrade_timeout: Option<f64>,
    connect_timeout: Option<f64>,
    sid_prefix: Option<String>,
    allow_eio3: Option<bool>,
    /// `connectionStateRecovery.maxDisconnectionDuration`, or its default when the
    /// option is an object without it.
    recovery: Option<f64>,
    /// `parser`: `"default"` or `"msgpack"` (the shim resolves a parser module to
    /// one of the two).
    parser: Option<String>,
}

impl JsOptions {
    fn read(o: &JsValue) -> Result<JsOptions, String> {
        Ok(JsOptions {
            ping_interval: read::number(o, "pingInterval")?,
            ping_timeout: read::number(o, "pingTimeout")?,
            max_http_buffer_size: read::number(o, "maxHttpBufferSize")?,
            transports: read::strings(o, "transports")?,
            allow_upgrades: read::boolean(o, "allowUpgrades")?,
            upgrade_timeout: read::number(o, "upgradeTimeout")?,
            connect_timeout: read::number(o, "connectTimeout")?,
            sid_prefix: read::string(o, "sidPrefix"),
            allow_eio3: read::boolean(o, "allowEIO3")?,
            recovery: recovery_window(o)?,
            parser: read::string(o, "parser"),
        })
    }
}

/// Default `connectionStateRecovery.maxDisconnectionDuration` (ms), Socket.IO's.
const DEFAULT_RECOVERY_WINDOW: f64 = 120_000.0;

/// The recovery window of `connectionStateRecovery`: `None` when the option is absent
/// or false, the default window for `true` or an object without one.
fn recovery_window(o: &JsValue) -> Result<Option<f64>, String> {
    let v = read::get(o, "connectionStateRecovery");
    if v.is_undefined() || v.is_null() || v.as_bool() == Some(false) {
        return Ok(None);
    }
    if v.as_bool() == Some(true) {
        return Ok(Some(DEFAULT_RECOVERY_WINDOW));
    }
    if !v.is_object() {
        return Err("connectionStateRecovery must be an object".into());
    }
    Ok(Some(
        read::number(&v, "maxDisconnectionDuration")?.unwrap_or(DEFAULT_RECOVERY_WINDOW),
    ))
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

/// Parses the options object into the engine's and the socket layer's configs.
fn parse_options(options: JsValue) -> Result<(EngineConfig, SocketConfig), JsError> {
    let o: JsOptions = if options.is_undefined() || options.is_null() {
        JsOptions::default()
    } else {
        JsOptions::read(&options)
            .map_err(|e| JsError::new(&format!("invalid server options: {e}")))?
    };
    let d = EngineConfig::default();
    let (polling, websocket) = match &o.transports {
        Some(t) => (
            t.iter().any(|x| x == "polling"),
            t.iter().any(|x| x == "websocket"),
        ),
        None => (true, true),
    };
    let engine = EngineConfig {
        ping_interval: ms(o.ping_interval, d.ping_interval),
        ping_timeout: ms(o.ping_timeout, d.ping_timeout),
        max_payload: ms(o.max_http_buffer_size, d.max_payload as u64) as usize,
        polling,
        websocket,
        allow_upgrades: o.allow_upgrades.unwrap_or(d.allow_upgrades),
        upgrade_timeout: ms(o.upgrade_timeout, d.upgrade_timeout),
        sid_prefix: o.sid_prefix.unwrap_or_default(),
        allow_eio3: o.allow_eio3.unwrap_or(d.allow_eio3),
    };
    let parser = match o.parser.as_deref() {
        None | Some("default") => Parser::Default,
        Some("msgpack") => Parser::MsgPack,
        Some(other) => {
            return Err(JsError::new(&format!(
                "invalid server options: parser must be \"default\" or \"msgpack\", not {other:?}"
            )))
        }
    };
    let socket = SocketConfig {
        connect_timeout: ms(o.connect_timeout, SocketConfig::default().connect_timeout),
        recovery: o.recovery.map(|w| ms(Some(w), 0)),
        parser,
    };
    Ok((engine, socket))
}

fn request_info<'a>(
    method: &str,
    transport: Option<&'a str>,
    eio: Option<&'a str>,
    sid: Option<&'a str>,
    websocket_upgrade: bool,
) -> RequestInfo<'a> {
    RequestInfo {
        method: match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            _ => Method::Other,
        },
        transport,
        eio,
        sid,
        websocket_upgrade,
    }
}

fn set(obj: &js_sys::Object, key: &str, value: JsValue) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), &value);
}

/// `{ route, transport | sid }` or `{ error: { status, body } }`.
fn classified(result: Result<Route, RequestError>) -> JsValue {
    let obj = js_sys::Object::new();
    match result {
        Ok(Route::Handshake(t)) => {
            set(&obj, "route", "handshake".into());
            set(&obj, "transport", transport_name(t).into());
        }
        Ok(Route::Poll(s)) => {
            set(&obj, "route", "poll".into());
            set(&obj, "sid", s.into());
        }
        Ok(Route::Post(s)) => {
            set(&obj, "route", "post".into());
            set(&obj, "sid", s.into());
        }
        Ok(Route::Upgrade(s)) => {
            set(&obj, "route", "upgrade".into());
            set(&obj, "sid", s.into());
        }
        Ok(Route::CloseAtOnce(s)) => {
            set(&obj, "route", "closeAtOnce".into());
            set(&obj, "sid", s.into());
        }
        Err(e) => set(&obj, "error", error_value(e)),
    }
    obj.into()
}

/// `{ error: { status, body } }`.
fn error_object(e: RequestError) -> JsValue {
    let obj = js_sys::Object::new();
    set(&obj, "error", error_value(e));
    obj.into()
}

fn random_bytes(random: &[u8]) -> Result<[u8; SID_RANDOM_BYTES], JsError> {
    random
        .try_into()
        .map_err(|_| JsError::new("15 random bytes are needed"))
}

fn parse_transport(transport: &str) -> Transport {
    if transport == "websocket" {
        Transport::WebSocket
    } else {
        Transport::Polling
    }
}

pub(crate) fn transport_name(t: Transport) -> &'static str {
    match t {
        Transport::Polling => "polling",
        Transport::WebSocket => "websocket",
    }
}

/// Reads a snapshot written by a `persist` action (`{ sid, nextPingAt, pongDeadline?,
/// eio? }`), with the time the runtime last answered a ping of a v3 client
/// (`pingAnsweredAt`), which the driver adds.
fn parse_snapshot(value: JsValue) -> Option<Snapshot> {
    Some(Snapshot {
        sid: read::string(&value, "sid")?,
        next_ping_at: now_ms(read::number(&value, "nextPingAt").ok()??),
        pong_deadline: read::number(&value, "pongDeadline").ok()?.map(now_ms),
        protocol: if read::number(&value, "eio").ok().flatten() == Some(3.0) {
            Protocol::V3
        } else {
            Protocol::V4
        },
        answered_ping: read::number(&value, "pingAnsweredAt")
            .ok()
            .flatten()
            .map(now_ms),
    })
}

/// Whether a WebSocket text frame is a heartbeat answer (a pong without data): it
/// concerns the engine session alone, so the layers above need not load their state.
#[wasm_bindgen(js_name = isHeartbeat)]
pub fn is_heartbeat(frame: &str) -> bool {
    matches!(
        engineio_core::Packet::decode_text(frame),
        Ok(engineio_core::Packet {
            kind: engineio_core::PacketType::Pong,
            data: engineio_core::Data::Text(ref t),
        }) if t.is_empty()
    )
}

/// The id of a socket that `accept` would create with `random` (15 bytes from a
/// CSPRNG): the provisional `socket.id` while its namespace's middlewares run.
#[wasm_bindgen(js_name = socketIdFromRandom)]
pub fn socket_id_from_random(random: &[u8]) -> Result<String, JsError> {
    Ok(socketio_core::SocketServer::socket_id_from_random(
        &random_bytes(random)?,
    ))
}

/// The offset a client sent back in `auth.offset` (connection state recovery), when it
/// has the form of ours; `undefined` otherwise.
#[wasm_bindgen(js_name = parseOffset)]
pub fn parse_offset(text: &str) -> Option<f64> {
    socketio_core::SocketServer::parse_offset(text).map(|o| o as f64)
}

/// Events stored before `threshold` (ms since the epoch) have offsets below this.
#[wasm_bindgen(js_name = offsetFloor)]
pub fn offset_floor(threshold: f64) -> f64 {
    socketio_core::SocketServer::offset_floor(now_ms(threshold)) as f64
}

/// The answer to a handshake that `allowRequest` refused with `message`: HTTP 403
/// and `{"code":4,"message":...}`, as the reference server answers.
#[wasm_bindgen(unchecked_return_type = "Refusal")]
pub fn forbidden(message: &str) -> JsValue {
    let obj = js_sys::Object::new();
    set(
        &obj,
        "status",
        JsValue::from(RequestError::Forbidden.status()),
    );
    set(
        &obj,
        "body",
        JsValue::from_str(&RequestError::Forbidden.body_with_message(message)),
    );
    obj.into()
}

/// The JSON text of the arguments of `frame` when it is a msgpack EVENT packet of the
/// main namespace (`{type: 2, nsp: "/", data: [...]}`, as `socket.io-msgpack-parser`
/// writes it), `undefined` otherwise: how the shim recognises that parser from what
/// its `Encoder` writes.
#[wasm_bindgen(js_name = msgpackEventArgs)]
pub fn msgpack_event_args(frame: &[u8]) -> Option<String> {
    let c = socketio_core::msgpack::decode_packet(frame).ok()?;
    (c.packet.kind == socketio_core::PacketKind::Event && c.packet.nsp == "/")
        .then_some(c.packet.data)
        .flatten()
}

/// Whether an application may not emit `name`: it means something to the library or
/// the client (`connect`, `disconnect`, ...), and a client sending it is refused.
#[wasm_bindgen(js_name = isReservedEvent)]
pub fn is_reserved_event(name: &str) -> bool {
    socketio_core::packet::is_reserved_event(name)
}
