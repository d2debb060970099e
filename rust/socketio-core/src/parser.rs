//! The wire format of packets: the default parser's (text frames, binary data
//! as attachments) or msgpack's (one binary frame per packet), chosen once per
//! server ([`SocketConfig::parser`](crate::SocketConfig::parser)).
//!
//! Whatever the parser, a packet's payload is the same inside the server: the
//! JSON text with a placeholder for each binary value, and the binaries (see
//! [`crate::msgpack`]). The parser only decides how it is decoded from the
//! frames of a connection ([`Parser::decoder`]) and encoded into frames
//! ([`Parser::encode`]).

use engineio_core::Data;

use crate::decoder::Decoder;
use crate::msgpack;
use crate::packet::{encode_frame, PacketKind};

/// How packets travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Parser {
    /// Socket.IO's default parser (`socket.io-parser`): one text frame per
    /// packet, then one binary frame per attachment.
    #[default]
    Default,
    /// `socket.io-msgpack-parser`: one binary frame per packet, binary values
    /// inside it.
    MsgPack,
}

impl Parser {
    /// A decoder of the frames of one connection.
    pub fn decoder(self) -> Decoder {
        match self {
            Parser::Default => Decoder::new(),
            Parser::MsgPack => Decoder::msgpack(),
        }
    }

    /// The frames of a packet: `kind` its plain kind (`Event`, `Ack`, ...; the
    /// binary kinds are chosen here when there are attachments), `payload` its
    /// JSON with a placeholder for each of `binaries`.
    ///
    /// With msgpack, a payload that is not JSON has no frame: nothing is sent
    /// (the payloads the server sends are written by JavaScript's
    /// `JSON.stringify`, or were validated when they arrived).
    pub fn encode(
        self,
        kind: PacketKind,
        nsp: &str,
        id: Option<u64>,
        payload: Option<&str>,
        binaries: &[Vec<u8>],
    ) -> Vec<Data> {
        match self {
            Parser::Default => {
                let kind = match kind {
                    PacketKind::Event if !binaries.is_empty() => PacketKind::BinaryEvent,
                    PacketKind::Ack if !binaries.is_empty() => PacketKind::BinaryAck,
                    k => k,
                };
                let attachments = if kind.is_binary() { binaries.len() } else { 0 };
                let mut frames = Vec::with_capacity(1 + attachments);
                frames.push(Data::Text(encode_frame(
                    kind,
                    nsp,
                    id,
                    attachments,
                    payload,
                )));
                frames.extend(binaries.iter().take(attachments).cloned().map(Data::Binary));
                frames
            }
            Parser::MsgPack => msgpack::encode_packet(kind, nsp, id, payload, binaries)
                .map(|frame| vec![Data::Binary(frame)])
                .unwrap_or_default(),
        }
    }
}
