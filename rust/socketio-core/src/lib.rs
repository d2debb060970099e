//! # socketio-core
//!
//! The Socket.IO v5 layer on top of [`engineio-core`]: what travels inside
//! Engine.IO `message` packets. Like the engine it is sans-IO and knows
//! nothing of Durable Objects or JavaScript.
//!
//! - [`packet`]: the [`Packet`] text format, encoding (once per broadcast with
//!   [`encode_frame`]) and validating decoding.
//! - [`decoder`]: the per-connection [`Decoder`] that joins binary packets
//!   with their attachments.
//! - [`msgpack`]: the msgpack codec (`socket.io-msgpack-parser`'s frames).
//! - [`parser`]: [`Parser`], which of the two a server speaks.
//! - [`error`]: [`ParseError`], why a packet was refused.
//! - [`server`]: [`SocketServer`], the state machine of namespaces, sockets,
//!   rooms, broadcasts and acks, wrapping the engine; an event to send is an
//!   [`Emit`], and what sending it did an [`Emitted`].
//!
//! [`engineio-core`]: https://docs.rs/engineio-core

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod decoder;
pub mod error;
mod json;
pub mod msgpack;
pub mod packet;
pub mod parser;
pub mod server;

pub use decoder::{Complete, Decoder};
pub use error::ParseError;
pub use json::MAX_PAYLOAD_DEPTH;
pub use packet::{
    encode_frame, encode_header, header_len, is_reserved_event, Packet, PacketKind,
    DEFAULT_MAX_ATTACHMENTS, RESERVED_EVENTS,
};
pub use parser::Parser;
pub use server::{
    Accepted, Action, DisconnectReason, Emit, Emitted, KeptSession, RoomChanges, SocketConfig,
    SocketServer, StoreOp, StoredPacket, StoredSocket, ACK_BLOCK,
};
