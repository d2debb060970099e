//! The msgpack codec, wire-compatible with `socket.io-msgpack-parser` (whose
//! msgpack is notepack's).
//!
//! Every packet is one binary Engine.IO message holding a msgpack map
//! `{type, data, nsp, id}`: `type` the packet kind (0 to 4; there are no
//! binary kinds), `nsp` the namespace (always present), `data` the payload,
//! `id` the ack id when there is one. Binary values are msgpack `bin` inside
//! `data`: there are no attachments.
//!
//! Inside the server a payload stays what the default parser carries, the
//! JSON text with a `{"_placeholder":true,"num":i}` for each binary value and
//! the binaries beside it, so that everything between the wire and the
//! application (events to JavaScript, broadcasts, stored packets, shards) is
//! the same with either parser. [`decode_packet`] writes a frame's `data` as
//! that JSON and checks the packet as the default parser does;
//! [`encode_packet`] writes the JSON (and its binaries) as one frame, once per
//! broadcast.
//!
//! Values with no JSON form arrive as `JSON.stringify` would write them:
//! `undefined` and non-finite numbers as `null`, a `Date` as its ISO text;
//! an extension other than notepack's as `[type, bytes]` (what notepack
//! decodes it to). Map keys that are integers, booleans or nil become their
//! text, as JavaScript property names; other keys are refused.

mod float;
mod read;
mod write;

#[cfg(test)]
mod tests;

use crate::decoder::Complete;
use crate::error::ParseError;
use crate::packet::{Packet, PacketKind};

use read::{Head, Json, Kind, Reader, Scalar};
pub use write::NotJson;

/// Decodes one binary frame into a packet, `data` as JSON text with its
/// binary values as attachments (a packet with any is of the binary kind).
pub fn decode_packet(frame: &[u8]) -> Result<Complete, ParseError> {
    let mut r = Reader::new(frame);
    let Head::Map(entries) = r.head()? else {
        return Err(ParseError::BadPacketType);
    };
    let mut kind = None;
    let mut nsp: Option<String> = None;
    let mut id: Option<Head<'_>> = None;
    let mut data: Option<(Json, Kind)> = None;
    for _ in 0..entries {
        let key = r.head()?;
        let value = r.head()?;
        match key {
            Head::Str(b"type") => {
                kind = Some(packet_kind(value));
                r.skip(value, 0)?;
            }
            Head::Str(b"nsp") => {
                nsp = match value {
                    Head::Str(s) => Some(String::from_utf8_lossy(s).into_owned()),
                    _ => None,
                };
                r.skip(value, 0)?;
            }
            Head::Str(b"id") => {
                id = Some(value);
                r.skip(value, 0)?;
            }
            Head::Str(b"data") => {
                let mut json = Json::new(frame.len());
                let what = json.value(&mut r, value, 0)?;
                data = Some((json, what));
            }
            _ => r.skip(value, 0)?,
        }
    }
    if !r.at_end() {
        return Err(ParseError::InvalidMsgPack);
    }
    let kind = kind.flatten().ok_or(ParseError::BadPacketType)?;
    let nsp = nsp.ok_or(ParseError::BadNamespace)?;
    let id = match id {
        None | Some(Head::Ext(0, [0], true)) => None,
        Some(Head::Uint(n)) if n < MAX_SAFE_INTEGER => Some(n),
        Some(Head::Int(n)) if (0..MAX_SAFE_INTEGER as i64).contains(&n) => Some(n as u64),
        Some(Head::Float(f)) if f.fract() == 0.0 && (0.0..MAX_SAFE_INTEGER as f64).contains(&f) => {
            Some(f as u64)
        }
        Some(_) => return Err(ParseError::BadPacketId),
    };
    // `undefined` is no payload, as in JavaScript.
    let data = data.filter(|(_, what)| *what != Kind::Undefined);
    check(kind, data.as_ref().map(|(_, what)| *what))?;
    // Only events and acks carry binary data (`auth` arrives as JSON).
    let binary = data
        .as_ref()
        .is_some_and(|(json, _)| !json.binaries.is_empty());
    if binary && !matches!(kind, PacketKind::Event | PacketKind::Ack) {
        return Err(ParseError::InvalidPayload(kind));
    }
    let (text, binaries) = match data {
        Some((json, Kind::Nil)) if kind == PacketKind::Connect => (None, json.binaries),
        Some((json, _)) => (Some(json.text), json.binaries),
        None => (None, Vec::new()),
    };
    let kind = match kind {
        PacketKind::Event if !binaries.is_empty() => PacketKind::BinaryEvent,
        PacketKind::Ack if !binaries.is_empty() => PacketKind::BinaryAck,
        k => k,
    };
    Ok(Complete {
        packet: Packet {
            kind,
            nsp,
            id,
            data: text,
            attachments: binaries.len(),
        },
        binaries,
    })
}

/// Ack ids are JavaScript integers: below 2^53.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// The packet kind of a `type` value: an integer from 0 to 4.
fn packet_kind(value: Head<'_>) -> Option<PacketKind> {
    let n = match value {
        Head::Uint(n) => n,
        Head::Int(n) => u64::try_from(n).ok()?,
        Head::Float(f) if f.fract() == 0.0 && (0.0..5.0).contains(&f) => f as u64,
        _ => return None,
    };
    Some(match n {
        0 => PacketKind::Connect,
        1 => PacketKind::Disconnect,
        2 => PacketKind::Event,
        3 => PacketKind::Ack,
        4 => PacketKind::ConnectError,
        _ => return None,
    })
}

/// The payload checks of the default parser (which are stricter than
/// `socket.io-msgpack-parser`'s on events: a name that is a string and not
/// reserved, or a number), on what the payload was.
fn check(kind: PacketKind, data: Option<Kind>) -> Result<(), ParseError> {
    let valid = match (kind, data) {
        (PacketKind::Connect, None | Some(Kind::Map | Kind::Nil)) => true,
        (PacketKind::Disconnect, None) => true,
        (PacketKind::ConnectError, Some(Kind::Map | Kind::Str { .. })) => true,
        (PacketKind::Event, Some(Kind::Array(Some(Scalar::Str { reserved: true })))) => {
            return Err(ParseError::ReservedEventName)
        }
        (
            PacketKind::Event,
            Some(Kind::Array(Some(Scalar::Number | Scalar::Str { reserved: false }))),
        ) => true,
        (PacketKind::Ack, Some(Kind::Array(_))) => true,
        (PacketKind::Event | PacketKind::Ack, None) => {
            return Err(ParseError::MissingPayload(kind))
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(ParseError::InvalidPayload(kind))
    }
}

/// The `type` number of a packet kind (the binary kinds are their plain ones).
fn type_number(kind: PacketKind) -> u8 {
    match kind {
        PacketKind::Connect => 0,
        PacketKind::Disconnect => 1,
        PacketKind::Event | PacketKind::BinaryEvent => 2,
        PacketKind::Ack | PacketKind::BinaryAck => 3,
        PacketKind::ConnectError => 4,
    }
}

/// Encodes a packet as one frame: `{type, nsp, data?, id?}`, `data` the JSON
/// payload (with placeholders for `binaries`) written as msgpack.
pub fn encode_packet(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    binaries: &[Vec<u8>],
) -> Result<Vec<u8>, NotJson> {
    let size = data.map_or(0, str::len) + binaries.iter().map(Vec::len).sum::<usize>();
    let mut out = Vec::with_capacity(size + nsp.len() + 32);
    let entries = 2 + u8::from(data.is_some()) + u8::from(id.is_some());
    out.push(0x80 | entries);
    write::str("type", &mut out)?;
    out.push(type_number(kind));
    write::str("nsp", &mut out)?;
    write::str(nsp, &mut out)?;
    if let Some(data) = data {
        write::str("data", &mut out)?;
        write::json_to_msgpack(data, binaries, &mut out)?;
    }
    if let Some(id) = id {
        write::str("id", &mut out)?;
        write::int(i128::from(id), &mut out);
    }
    Ok(out)
}
