//! The encodings of Engine.IO protocol v3 (Socket.IO v1 and v2 clients), for
//! servers that accept them (`allowEIO3`).
//!
//! Packets are those of v4 (same types, same text form); what differs:
//!
//! - a polling payload is `<length>:<packet>` repeated, the length counting the
//!   packet's characters as JavaScript does (UTF-16 code units), e.g. `2:4€`;
//!   an empty payload is `0:`;
//! - binary data in a text payload is `b<type><base64>` (`b4AQID`);
//! - a client that supports binary may POST a binary payload
//!   (`application/octet-stream`): per packet, `0` (text) or `1` (binary), the
//!   length as one byte per decimal digit, `255`, then the packet (text as
//!   UTF-8, binary as its type byte and the bytes);
//! - a binary WebSocket frame starts with its packet type byte (`4` for a
//!   message).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::ProtocolError;
use crate::packet::{Data, Frame, Packet, PacketType};

/// Most decimal digits of a length (more than any accepted body can need).
const MAX_LENGTH_DIGITS: usize = 10;

/// The revision of the Engine.IO protocol a session speaks (the `EIO` query
/// parameter of its handshake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Protocol {
    /// Revision 3: Socket.IO v1 and v2 clients.
    V3,
    /// Revision 4: Socket.IO v3 and later clients.
    #[default]
    V4,
}

impl Protocol {
    /// The revision a handshake asks for: `EIO=4` is v4; anything else (also no
    /// `EIO` at all) is v3, as the reference server reads it.
    pub fn from_query(eio: Option<&str>) -> Protocol {
        if eio == Some("4") {
            Protocol::V4
        } else {
            Protocol::V3
        }
    }

    /// A polling payload of `packets` in this revision's framing.
    pub fn encode_payload(self, packets: &[Packet]) -> String {
        match self {
            Protocol::V3 => encode_text_payload(packets),
            Protocol::V4 => crate::payload::encode(packets),
        }
    }

    /// The WebSocket frame of `packet` in this revision.
    pub fn encode_ws(self, packet: &Packet) -> Frame {
        match self {
            Protocol::V3 => encode_ws(packet),
            Protocol::V4 => packet.encode_ws(),
        }
    }
}

fn type_of_digit(c: char) -> Result<PacketType, ProtocolError> {
    u8::try_from(c)
        .ok()
        .and_then(PacketType::from_byte)
        .ok_or(ProtocolError::UnknownType)
}

fn type_of_byte(b: u8) -> Result<PacketType, ProtocolError> {
    if b <= 6 {
        // The type bytes of binary packets are the numbers 0..=6, not digits.
        PacketType::from_byte(b + b'0').ok_or(ProtocolError::UnknownType)
    } else {
        Err(ProtocolError::UnknownType)
    }
}

fn type_number(kind: PacketType) -> u8 {
    // `as_char` is an ASCII digit.
    (kind.as_char() as u8).wrapping_sub(b'0')
}

/// Decodes one packet of a text payload: `b<type><base64>` or a text packet.
fn decode_text_packet(part: &str) -> Result<Packet, ProtocolError> {
    if let Some(rest) = part.strip_prefix('b') {
        let mut chars = rest.chars();
        let kind = type_of_digit(chars.next().ok_or(ProtocolError::UnknownType)?)?;
        let bytes = BASE64
            .decode(chars.as_str().as_bytes())
            .map_err(|_| ProtocolError::BadBase64)?;
        return Ok(Packet {
            kind,
            data: Data::Binary(bytes),
        });
    }
    Packet::decode_text(part)
}

/// Decodes a text payload (`<length>:<packet>...`). A length that is missing,
/// not a number, or longer than what follows makes the whole payload malformed,
/// as does text after the last packet; packets of length 0 are skipped.
pub fn decode_text_payload(body: &str) -> Result<Vec<Packet>, ProtocolError> {
    if body.is_empty() {
        return Err(ProtocolError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let colon = rest.find(':').ok_or(ProtocolError::BadLength)?;
        let digits = &rest[..colon];
        if digits.is_empty()
            || digits.len() > MAX_LENGTH_DIGITS
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ProtocolError::BadLength);
        }
        let units: usize = digits.parse().map_err(|_| ProtocolError::BadLength)?;
        let after = &rest[colon + 1..];
        // Walk `units` UTF-16 code units into what follows.
        let mut counted = 0usize;
        let mut end = 0usize;
        for (i, c) in after.char_indices() {
            if counted >= units {
                break;
            }
            counted += c.len_utf16();
            end = i + c.len_utf8();
        }
        if counted != units {
            return Err(ProtocolError::BadLength);
        }
        let part = &after[..end];
        if !part.is_empty() {
            packets.push(decode_text_packet(part)?);
        }
        rest = &after[end..];
    }
    Ok(packets)
}

/// Decodes a binary payload (a POST of `application/octet-stream`).
pub fn decode_binary_payload(body: &[u8]) -> Result<Vec<Packet>, ProtocolError> {
    if body.is_empty() {
        return Err(ProtocolError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = body;
    while let Some((&flag, tail)) = rest.split_first() {
        let is_text = match flag {
            0 => true,
            1 => false,
            _ => return Err(ProtocolError::BadLength),
        };
        let end = tail
            .iter()
            .position(|&b| b == 255)
            .ok_or(ProtocolError::BadLength)?;
        let digits = &tail[..end];
        if digits.is_empty() || digits.len() > MAX_LENGTH_DIGITS || digits.iter().any(|&d| d > 9) {
            return Err(ProtocolError::BadLength);
        }
        let len = digits.iter().fold(0usize, |n, &d| {
            n.saturating_mul(10).saturating_add(usize::from(d))
        });
        let data = &tail[end + 1..];
        if data.len() < len {
            return Err(ProtocolError::BadLength);
        }
        let (packet, after) = data.split_at(len);
        if is_text {
            let text = std::str::from_utf8(packet).map_err(|_| ProtocolError::BadUtf8)?;
            packets.push(decode_text_packet(text)?);
        } else {
            packets.push(decode_binary_frame(packet)?);
        }
        rest = after;
    }
    Ok(packets)
}

/// Decodes a binary WebSocket frame: its type byte, then the data.
pub fn decode_binary_frame(frame: &[u8]) -> Result<Packet, ProtocolError> {
    let (&kind, data) = frame.split_first().ok_or(ProtocolError::Empty)?;
    Ok(Packet {
        kind: type_of_byte(kind)?,
        data: Data::Binary(data.to_vec()),
    })
}

/// Encodes a packet for a WebSocket frame (binary data after its type byte).
pub fn encode_ws(packet: &Packet) -> Frame {
    match &packet.data {
        Data::Binary(b) => {
            let mut out = Vec::with_capacity(b.len() + 1);
            out.push(type_number(packet.kind));
            out.extend_from_slice(b);
            Frame::Binary(out)
        }
        Data::Text(_) => packet.encode_ws(),
    }
}

/// Encodes packets into one text payload (binary data in base64).
pub fn encode_text_payload(packets: &[Packet]) -> String {
    if packets.is_empty() {
        return "0:".to_owned();
    }
    let mut out = String::new();
    let mut one = String::new();
    for p in packets {
        one.clear();
        match &p.data {
            Data::Binary(b) => {
                one.push('b');
                one.push(p.kind.as_char());
                BASE64.encode_string(b, &mut one);
            }
            Data::Text(t) => {
                one.push(p.kind.as_char());
                one.push_str(t);
            }
        }
        let units: usize = one.chars().map(char::len_utf16).sum();
        out.push_str(&units.to_string());
        out.push(':');
        out.push_str(&one);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(kind: PacketType, t: &str) -> Packet {
        Packet::text(kind, t)
    }

    #[test]
    fn the_handshake_parameter_picks_the_revision() {
        assert_eq!(Protocol::from_query(Some("4")), Protocol::V4);
        assert_eq!(Protocol::from_query(Some("3")), Protocol::V3);
        assert_eq!(Protocol::from_query(None), Protocol::V3);
        assert_eq!(Protocol::from_query(Some("5")), Protocol::V3);
    }

    #[test]
    fn text_payloads_round_trip_with_lengths_in_utf16_units() {
        let packets = vec![
            text(PacketType::Message, "hello"),
            Packet::bare(PacketType::Ping),
            text(PacketType::Message, "€"),
            text(PacketType::Message, "😀"),
            Packet::message(Data::Binary(vec![1, 2, 3])),
        ];
        let body = encode_text_payload(&packets);
        assert_eq!(body, "6:4hello1:22:4€3:4😀6:b4AQID");
        assert_eq!(decode_text_payload(&body).unwrap(), packets);
    }

    #[test]
    fn an_empty_list_is_the_empty_payload() {
        assert_eq!(encode_text_payload(&[]), "0:");
        assert_eq!(decode_text_payload("0:").unwrap(), vec![]);
    }

    #[test]
    fn malformed_text_payloads_are_refused() {
        for body in [
            "",          // empty
            "4hello",    // no length
            ":4x",       // empty length
            "a:4",       // not a number
            "-1:4",      // not digits
            "+1:4",      // not digits
            "10:4short", // truncated
            "2:4a1",     // trailing length without its colon
            "2:4a3:4b",  // trailing packet truncated
            "1:x",       // unknown type
            "2:b9",      // base64 packet of an unknown type
            "3:b4!",     // bad base64
            "1:b",       // base64 packet without a type
            "99999999999:4",
            "2:4\u{1F600}", // a length that splits a surrogate pair
        ] {
            assert!(decode_text_payload(body).is_err(), "{body:?} was accepted");
        }
    }

    #[test]
    fn binary_payloads_decode() {
        // "4héllo" as text (8 bytes of UTF-8), then a binary message [1, 2, 3].
        let mut body = vec![0, 8, 255];
        body.extend_from_slice("4héllo!".as_bytes());
        body.extend_from_slice(&[1, 4, 255, 4, 1, 2, 3]);
        assert_eq!(
            decode_binary_payload(&body).unwrap(),
            vec![
                text(PacketType::Message, "héllo!"),
                Packet::message(Data::Binary(vec![1, 2, 3])),
            ]
        );
        let mut long = vec![1, 1, 2, 255, 4];
        long.extend_from_slice(&[7; 11]);
        assert_eq!(
            decode_binary_payload(&long).unwrap(),
            vec![Packet::message(Data::Binary(vec![7; 11]))]
        );
    }

    #[test]
    fn malformed_binary_payloads_are_refused() {
        let too_long = [vec![0], vec![9; 11], vec![255, b'4']].concat();
        for body in [
            &[][..],
            &[2, 1, 255, b'4'],          // unknown flag
            &[0, 1, b'4'],               // no 255 after the length
            &[0, 255, b'4'],             // empty length
            &[0, 10, 255, b'4'],         // a digit byte above 9
            &[0, 5, 255, b'4', b'a'],    // truncated
            &[1, 0, 255],                // empty binary packet
            &[1, 2, 255, 9, 1],          // unknown type byte
            &[0, 2, 255, b'4', 0xff],    // text that is not UTF-8
            &[0, 1, 255, b'x'],          // unknown text type
            &[0, 1, 255, b'4', 7, 0, 0], // a trailing partial header
            &too_long,
        ] {
            assert!(
                decode_binary_payload(body).is_err(),
                "{body:?} was accepted"
            );
        }
    }

    #[test]
    fn binary_frames_carry_their_type_byte() {
        let p = Packet::message(Data::Binary(vec![1, 2]));
        assert_eq!(encode_ws(&p), Frame::Binary(vec![4, 1, 2]));
        assert_eq!(decode_binary_frame(&[4, 1, 2]).unwrap(), p);
        assert_eq!(
            encode_ws(&text(PacketType::Message, "x")),
            Frame::Text("4x".into())
        );
        assert_eq!(decode_binary_frame(&[]), Err(ProtocolError::Empty));
        assert_eq!(decode_binary_frame(&[7]), Err(ProtocolError::UnknownType));
        assert_eq!(decode_binary_frame(b"4"), Err(ProtocolError::UnknownType));
    }
}
