//! Engine.IO v4 packets and their encodings.
//!
//! A packet is a type (`0`..`6`) and optional data. Over WebSocket each packet is
//! one frame: text frames carry `<type><data>`, binary frames carry the raw bytes
//! of a `message` packet. Over HTTP long-polling several packets travel in one
//! payload (see [`crate::payload`]), binary data as `b` + base64.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::error::ProtocolError;

/// The kind of an Engine.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: handshake, sent by the server with the session parameters.
    Open,
    /// `1`: the transport can be closed.
    Close,
    /// `2`: heartbeat request (server to client in v4; `2probe` during upgrade).
    Ping,
    /// `3`: heartbeat answer (`3probe` during upgrade).
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: no operation, used to end a pending poll during an upgrade.
    Noop,
}

impl PacketType {
    /// The ASCII digit that starts a text-encoded packet of this type.
    pub fn as_char(self) -> char {
        match self {
            PacketType::Open => '0',
            PacketType::Close => '1',
            PacketType::Ping => '2',
            PacketType::Pong => '3',
            PacketType::Message => '4',
            PacketType::Upgrade => '5',
            PacketType::Noop => '6',
        }
    }

    /// Parses the leading digit of a text packet.
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }
}

/// Data carried by a packet: text or bytes. Only `message` packets carry bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// UTF-8 text (possibly empty).
    Text(String),
    /// Raw bytes.
    Binary(Vec<u8>),
}

impl Data {
    /// Length in bytes of the data as it travels (text as UTF-8, binary raw).
    pub fn len(&self) -> usize {
        match self {
            Data::Text(s) => s.len(),
            Data::Binary(b) => b.len(),
        }
    }

    /// Whether the data is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketType,
    /// The packet data (empty text when the packet has none).
    pub data: Data,
}

impl Packet {
    /// A packet of `kind` without data.
    pub fn bare(kind: PacketType) -> Self {
        Packet {
            kind,
            data: Data::Text(String::new()),
        }
    }

    /// A packet of `kind` with text data.
    pub fn text(kind: PacketType, text: impl Into<String>) -> Self {
        Packet {
            kind,
            data: Data::Text(text.into()),
        }
    }

    /// A `message` packet carrying `data`.
    pub fn message(data: Data) -> Self {
        Packet {
            kind: PacketType::Message,
            data,
        }
    }

    /// Decodes a text WebSocket frame (or one polling packet that is not base64).
    pub fn decode_text(frame: &str) -> Result<Self, ProtocolError> {
        let bytes = frame.as_bytes();
        let first = *bytes.first().ok_or(ProtocolError::Empty)?;
        let kind = PacketType::from_byte(first).ok_or(ProtocolError::UnknownType)?;
        // The first byte is ASCII, so slicing after it stays on a char boundary.
        let rest = &frame[1..];
        Ok(Packet {
            kind,
            data: Data::Text(rest.to_owned()),
        })
    }

    /// Decodes a binary WebSocket frame: always a `message` packet.
    pub fn decode_binary(frame: &[u8]) -> Self {
        Packet::message(Data::Binary(frame.to_vec()))
    }

    /// Decodes one packet of a polling payload: `b<base64>` or a text packet.
    pub fn decode_polling(part: &str) -> Result<Self, ProtocolError> {
        if let Some(b64) = part.strip_prefix('b') {
            let bytes = BASE64
                .decode(b64.as_bytes())
                .map_err(|_| ProtocolError::BadBase64)?;
            Ok(Packet::message(Data::Binary(bytes)))
        } else {
            Packet::decode_text(part)
        }
    }

    /// Encodes the packet for a WebSocket frame.
    pub fn encode_ws(&self) -> Frame {
        match &self.data {
            Data::Binary(b) => Frame::Binary(b.clone()),
            Data::Text(t) => {
                let mut s = String::with_capacity(t.len() + 1);
                s.push(self.kind.as_char());
                s.push_str(t);
                Frame::Text(s)
            }
        }
    }

    /// Appends the packet's polling encoding to `out`.
    pub fn encode_polling_into(&self, out: &mut String) {
        match &self.data {
            Data::Binary(b) => {
                out.push('b');
                BASE64.encode_string(b, out);
            }
            Data::Text(t) => {
                out.push(self.kind.as_char());
                out.push_str(t);
            }
        }
    }
}

/// One WebSocket frame to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_as_text() {
        for (digit, kind) in [
            ('0', PacketType::Open),
            ('1', PacketType::Close),
            ('2', PacketType::Ping),
            ('3', PacketType::Pong),
            ('4', PacketType::Message),
            ('5', PacketType::Upgrade),
            ('6', PacketType::Noop),
        ] {
            let frame = format!("{digit}data");
            let p = Packet::decode_text(&frame).unwrap();
            assert_eq!(p.kind, kind);
            assert_eq!(p.data, Data::Text("data".into()));
            assert_eq!(p.encode_ws(), Frame::Text(frame));
        }
    }

    #[test]
    fn bare_packets_have_empty_data() {
        let p = Packet::decode_text("3").unwrap();
        assert_eq!(p, Packet::bare(PacketType::Pong));
        assert_eq!(p.encode_ws(), Frame::Text("3".into()));
    }

    #[test]
    fn probe_packets() {
        let p = Packet::decode_text("2probe").unwrap();
        assert_eq!(p, Packet::text(PacketType::Ping, "probe"));
        assert_eq!(
            Packet::text(PacketType::Pong, "probe").encode_ws(),
            Frame::Text("3probe".into())
        );
    }

    #[test]
    fn malformed_text_is_rejected() {
        assert_eq!(Packet::decode_text(""), Err(ProtocolError::Empty));
        assert_eq!(Packet::decode_text("abc"), Err(ProtocolError::UnknownType));
        assert_eq!(Packet::decode_text("7"), Err(ProtocolError::UnknownType));
        assert_eq!(Packet::decode_text("€"), Err(ProtocolError::UnknownType));
    }

    #[test]
    fn utf8_message_keeps_its_text() {
        let p = Packet::decode_text("4héllo €").unwrap();
        assert_eq!(p.data, Data::Text("héllo €".into()));
        assert_eq!(p.data.len(), "héllo €".len());
    }

    #[test]
    fn binary_frames_are_messages() {
        let p = Packet::decode_binary(&[1, 2, 3, 4]);
        assert_eq!(p.kind, PacketType::Message);
        assert_eq!(p.encode_ws(), Frame::Binary(vec![1, 2, 3, 4]));
    }

    #[test]
    fn polling_binary_is_base64() {
        let p = Packet::decode_polling("bAQIDBA==").unwrap();
        assert_eq!(p, Packet::message(Data::Binary(vec![1, 2, 3, 4])));
        let mut out = String::new();
        p.encode_polling_into(&mut out);
        assert_eq!(out, "bAQIDBA==");
    }

    #[test]
    fn polling_bad_base64_is_rejected() {
        assert_eq!(
            Packet::decode_polling("b!!!"),
            Err(ProtocolError::BadBase64)
        );
    }

    #[test]
    fn empty_binary_round_trips() {
        let p = Packet::decode_polling("b").unwrap();
        assert_eq!(p, Packet::message(Data::Binary(vec![])));
    }
}
