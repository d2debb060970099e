//! # engineio-core
//!
//! An Engine.IO v4 server (v3 too, when allowed) as a sans-IO state machine. It knows nothing of
//! Socket.IO, of Durable Objects or of JavaScript: the driver passes the
//! current time and what arrived (an HTTP request, a WebSocket frame, an
//! alarm), and carries out the [`Action`]s that come back.
//!
//! - [`packet`] and [`payload`]: the codecs (WebSocket frames, polling payloads).
//! - [`Engine`]: sessions, long-polling, the WebSocket upgrade, the heartbeat
//!   schedule (one alarm for all sessions) and the limits.
//! - [`RequestError`]: the HTTP errors the reference server answers with.
//! - [`v3`]: the encodings of protocol v3, for servers that also accept
//!   Socket.IO v2 clients (`allowEIO3`): each session speaks the [`Protocol`]
//!   of its handshake.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod engine;
pub mod error;
pub mod packet;
pub mod payload;
pub mod v3;

pub use config::EngineConfig;
pub use engine::{
    error_response, Action, CloseReason, ContentType, Engine, Method, ReqId, RequestInfo, Route,
    Snapshot, Transport, SID_RANDOM_BYTES, UPGRADE_NOOP_DELAY,
};
pub use error::{ProtocolError, RequestError};
pub use packet::{Data, Frame, Packet, PacketType};
pub use v3::Protocol;
