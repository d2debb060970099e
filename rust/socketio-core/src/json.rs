//! Payload validation: is the text valid JSON, and of the shape the packet
//! kind expects?
//!
//! Nothing is built: the payload is validated in one pass, values are
//! skipped, and only the first element of an array (the event name) is
//! looked at. Like `JSON.parse` it accepts lone surrogate escapes and numbers
//! of any magnitude. The skipping does not recurse, so deep nesting cannot
//! exhaust the stack here; a second pass then refuses payloads nested deeper
//! than [`MAX_PAYLOAD_DEPTH`], which the JavaScript side could not handle.

use std::fmt;

use serde::de::{Deserializer as _, IgnoredAny, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::ParseError;
use crate::packet::{is_reserved_event, PacketKind};

/// How deeply arrays and objects may nest in a payload, its outermost array
/// or object counting as level 1: in `2["ev",[[1]]]` the argument `[[1]]`
/// sits at levels 2 and 3. A deeper payload is refused with
/// [`ParseError::TooDeep`], like any malformed packet.
///
/// The payload is handed to JavaScript, where `JSON.parse` copes with any
/// depth but most code that walks the result recurses: V8's `JSON.stringify`
/// and `structuredClone`, the placeholder restoring of binary packets, and
/// application code. In Node 20 they throw `RangeError` somewhere between
/// about 3,000 and 10,000 levels with the default stack, and from about 800
/// levels with a quarter of it; 100 keeps far below that, even for code that
/// starts with a deep stack. It is the default of Ruby's JSON parser, lies
/// below serde_json's recursion limit (127 levels), and matches the depth to
/// which the JavaScript encoder scans arguments for binary data
/// (`MAX_SCAN_DEPTH` in `ts/api/codec.ts`), so a received value emitted
/// again stays on its fast path. Application data rarely nests beyond a few
/// dozen levels.
pub const MAX_PAYLOAD_DEPTH: usize = 100;

/// The top-level shape of a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    Array(First),
    String,
    /// `null`, a boolean or a number.
    Scalar,
}

/// The first element of an array payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum First {
    Missing,
    String { reserved: bool },
    Number,
    Other,
}

/// Checks the payload of a packet of `kind` (`None` when the packet has none).
pub(crate) fn check_payload(kind: PacketKind, payload: Option<&str>) -> Result<(), ParseError> {
    let Some(payload) = payload else {
        return match kind {
            PacketKind::Event
            | PacketKind::Ack
            | PacketKind::BinaryEvent
            | PacketKind::BinaryAck => Err(ParseError::MissingPayload(kind)),
            PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError => Ok(()),
        };
    };
    let shape = shape_of(payload)?;
    let valid = match kind {
        PacketKind::Connect => shape == Shape::Object,
        PacketKind::Disconnect => false,
        PacketKind::ConnectError => matches!(shape, Shape::Object | Shape::String),
        PacketKind::Event | PacketKind::BinaryEvent => match shape {
            Shape::Array(First::String { reserved: true }) => {
                return Err(ParseError::ReservedEventName)
            }
            Shape::Array(First::String { reserved: false } | First::Number) => true,
            _ => false,
        },
        PacketKind::Ack | PacketKind::BinaryAck => matches!(shape, Shape::Array(_)),
    };
    if valid {
        Ok(())
    } else {
        Err(ParseError::InvalidPayload(kind))
    }
}

fn is_json_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Validates `payload` as one JSON value nested at most
/// [`MAX_PAYLOAD_DEPTH`] deep, and tells its shape.
fn shape_of(payload: &str) -> Result<Shape, ParseError> {
    let shape = json_shape_of(payload)?;
    if nests_deeper_than(payload.as_bytes(), MAX_PAYLOAD_DEPTH) {
        return Err(ParseError::TooDeep);
    }
    Ok(shape)
}

/// Whether arrays and objects nest more than `max` levels deep in `json`.
/// Brackets inside strings do not count. Meant for text already validated as
/// JSON (on other text the answer means nothing, but it never panics).
fn nests_deeper_than(json: &[u8], max: usize) -> bool {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            // Skip the string, up to the first quote no backslash escapes.
            b'"' => loop {
                i += 1;
                match json.get(i) {
                    None | Some(b'"') => break,
                    Some(b'\\') => i += 1,
                    Some(_) => {}
                }
            },
            _ => {}
        }
        i += 1;
    }
    false
}

/// Validates `payload` as one JSON value, of any depth, and tells its shape.
fn json_shape_of(payload: &str) -> Result<Shape, ParseError> {
    let lead = payload.bytes().find(|&b| !is_json_whitespace(b));
    match lead {
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_str(payload);
            let first = de
                .deserialize_seq(FirstElement)
                .map_err(|_| ParseError::InvalidJson)?;
            de.end().map_err(|_| ParseError::InvalidJson)?;
            Ok(Shape::Array(first))
        }
        _ => {
            serde_json::from_str::<IgnoredAny>(payload).map_err(|_| ParseError::InvalidJson)?;
            Ok(match lead {
                Some(b'{') => Shape::Object,
                Some(b'"') => Shape::String,
                _ => Shape::Scalar,
            })
        }
    }
}

/// Reads an array: classifies its first element, skips the others.
struct FirstElement;

impl<'de> Visitor<'de> for FirstElement {
    type Value = First;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<First, A::Error> {
        let first = match seq.next_element::<&'de RawValue>()? {
            None => First::Missing,
            Some(raw) => classify(raw.get()),
        };
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }
}

/// Classifies one JSON value from its raw (already validated) text.
fn classify(raw: &str) -> First {
    match raw.as_bytes().first() {
        Some(b'"') => First::String {
            reserved: is_reserved_literal(raw),
        },
        Some(b'-' | b'0'..=b'9') => First::Number,
        _ => First::Other,
    }
}

/// Whether a JSON string literal denotes a reserved event name.
fn is_reserved_literal(literal: &str) -> bool {
    // The longest reserved name, every char written as a `\uXXXX` escape.
    const LONGEST_LITERAL: usize = 2 + 6 * "removeListener".len();
    if literal.len() > LONGEST_LITERAL {
        return false;
    }
    match literal.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(plain) if !plain.contains('\\') => is_reserved_event(plain),
        // Decoding only fails on a lone surrogate escape, which no reserved
        // name contains.
        _ => serde_json::from_str::<String>(literal).is_ok_and(|name| is_reserved_event(&name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape_of(" {} "), Ok(Shape::Object));
        assert_eq!(shape_of(r#""s""#), Ok(Shape::String));
        assert_eq!(shape_of("true"), Ok(Shape::Scalar));
        assert_eq!(shape_of("-0.5"), Ok(Shape::Scalar));
        assert_eq!(shape_of("[]"), Ok(Shape::Array(First::Missing)));
        assert_eq!(shape_of("[[],1]"), Ok(Shape::Array(First::Other)));
        assert_eq!(shape_of("[{}]"), Ok(Shape::Array(First::Other)));
        assert_eq!(shape_of("[false]"), Ok(Shape::Array(First::Other)));
        assert_eq!(shape_of("[ 12 ]"), Ok(Shape::Array(First::Number)));
        assert_eq!(
            shape_of(r#"["disconnect",{}]"#),
            Ok(Shape::Array(First::String { reserved: true }))
        );
        assert_eq!(
            shape_of(r#"["chat"]"#),
            Ok(Shape::Array(First::String { reserved: false }))
        );
    }

    #[test]
    fn invalid_json() {
        for text in [
            "", " ", "[", "]", "[1,]", "{\"a\"}", "nul", "[1][2]", "{}x", "'a'",
        ] {
            assert_eq!(shape_of(text), Err(ParseError::InvalidJson), "{text:?}");
        }
    }

    #[test]
    fn nesting_depth() {
        assert!(!nests_deeper_than(b"1", 0));
        assert!(nests_deeper_than(b"[]", 0));
        assert!(!nests_deeper_than(b"[[],{},[{}]]", 3));
        assert!(nests_deeper_than(b"[[],{},[{}]]", 2));
        assert!(!nests_deeper_than(br#"{"[[[[":"{{{{"}"#, 1));
        assert!(!nests_deeper_than(br#"["\"[[[["]"#, 1));
        assert!(nests_deeper_than(br#"["\\",[[]]]"#, 2));
        // Malformed text gets some answer, and no panic.
        assert!(!nests_deeper_than(b"]]]]", 0));
        assert!(!nests_deeper_than(br#"["abc\"#, 1));
        assert!(!nests_deeper_than(br#"""#, 0));
    }

    #[test]
    fn reserved_literals() {
        assert!(is_reserved_literal(r#""connect_error""#));
        assert!(is_reserved_literal(
            r#""\u0063\u006f\u006e\u006e\u0065\u0063\u0074""#
        ));
        assert!(!is_reserved_literal(r#""\ud800""#));
        assert!(!is_reserved_literal(&format!("\"{}\"", "a".repeat(200))));
    }
}
