//! Fuzz targets of the Socket.IO codec: the packet decoder, the reassembly
//! of binary packets with their attachments ([`Decoder`]), the JSON
//! payload validator (reached through [`Packet::decode`]), and the msgpack
//! codec (frames decoded, and JSON payloads written as msgpack).
//!
//! Each target checks that no input panics and that whatever decodes encodes
//! to a frame that decodes to the same packet; the reassembly and the JSON
//! validator are also checked against a simple model of what they should
//! answer. `cargo test` runs each on a fixed number of inputs from a fixed
//! seed; `npm run fuzz` (or `FUZZ_SECONDS=600 cargo test --release -p
//! socketio-core --test fuzz -- --nocapture --test-threads=1`) runs each for
//! that many seconds. See `rust/fuzz-support`.

use fuzz_support::{run, Inputs, Result, Unstructured};
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use socketio_core::msgpack::{decode_packet, encode_packet};
use socketio_core::{
    header_len, is_reserved_event, Complete, Decoder, Packet, PacketKind, ParseError,
    DEFAULT_MAX_ATTACHMENTS, MAX_PAYLOAD_DEPTH,
};

/// Inputs per target in the short mode (debug build, inside `cargo test`);
/// the JSON target, whose inputs are larger, runs a quarter of them.
const SHORT: u64 = 20_000;

const DICTIONARY: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"3",
    b"4",
    b"5",
    b"6",
    b"7",
    b"9",
    b"-",
    b"1-",
    b"10-",
    b"11-",
    b"/",
    b"/admin,",
    b",",
    b"[",
    b"]",
    b"{",
    b"}",
    b"[]",
    b"{}",
    b"\"",
    b"\\",
    b"\\\"",
    b"\\\\",
    b":",
    b"null",
    b"true",
    b"false",
    b"-0",
    b"1e400",
    b"0.5E-3",
    b"\"a\"",
    b"\\u0063",
    b"\\ud800",
    b"\\udc00",
    b"\"connect\"",
    b"\"disconnect\"",
    b"\"removeListener\"",
    br#"{"_placeholder":true,"num":0}"#,
    b"18446744073709551615",
    b"18446744073709551616",
    b" ",
    b"\t",
    b"\n",
    "é".as_bytes(),
    "😀".as_bytes(),
    b"\xff",
    b"\xff\xfe",
    b"\xff\xfd",
];

const PACKETS: &[&str] = &[
    "0",
    "0/admin,",
    r#"0{"token":"1"}"#,
    r#"0/admin,{"token":"1"}"#,
    "1",
    "1/admin,",
    r#"2["hello",1]"#,
    r#"2/admin,456["project:delete",123]"#,
    r#"212["foo",{"a":[true,null,-1.5e3]},"é😀"]"#,
    "3/admin,456[]",
    r#"31["bar",2]"#,
    r#"4{"message":"Not authorized"}"#,
    r#"4"Not authorized""#,
    r#"51-["hello",{"_placeholder":true,"num":0}]"#,
    r#"52-/admin,7["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    r#"61-15[{"_placeholder":true,"num":0}]"#,
    r#"2["\ud800","\"[[{{","\\"]"#,
    r#"2[1]"#,
];

/// One message of the reassembly target: inputs are messages separated by
/// `0xFF` (never in UTF-8); a message starting with `0xFE` is binary, `0xFD`
/// alone resets the decoder, any other is text.
#[derive(Debug, Clone, PartialEq)]
enum Message {
    Text(String),
    Binary(Vec<u8>),
    Reset,
}

fn messages(bytes: &[u8]) -> Vec<Message> {
    bytes
        .split(|&b| b == 0xFF)
        .map(|m| match m {
            [0xFE, rest @ ..] => Message::Binary(rest.to_vec()),
            [0xFD] => Message::Reset,
            text => Message::Text(String::from_utf8_lossy(text).into_owned()),
        })
        .collect()
}

fn join_messages(messages: &[Message]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        if i > 0 {
            out.push(0xFF);
        }
        match m {
            Message::Text(t) => out.extend_from_slice(t.as_bytes()),
            Message::Binary(b) => {
                out.push(0xFE);
                out.extend(b.iter().map(|&b| b.min(0xFE)));
            }
            Message::Reset => out.push(0xFD),
        }
    }
    out
}

fn packet_seeds() -> Vec<Vec<u8>> {
    PACKETS.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn message_seeds() -> Vec<Vec<u8>> {
    use Message::*;
    let t = |s: &str| Text(s.to_owned());
    let sequences = [
        vec![t(PACKETS[13]), Binary(vec![1, 2, 3])],
        vec![t(PACKETS[14]), Binary(vec![1]), Binary(vec![]), t("1")],
        vec![t(PACKETS[15]), Binary(vec![0; 20]), t(PACKETS[6])],
        vec![
            t(PACKETS[14]),
            Binary(vec![1]),
            t(PACKETS[6]),
            t(PACKETS[6]),
        ],
        vec![t(PACKETS[13]), Reset, Binary(vec![1]), t("0")],
        vec![Binary(vec![1]), t(PACKETS[0])],
    ];
    let mut seeds: Vec<Vec<u8>> = sequences.iter().map(|s| join_messages(s)).collect();
    seeds.extend(packet_seeds());
    seeds
}

// ---------------------------------------------------------------------------
// Valid inputs built from unstructured bytes
// ---------------------------------------------------------------------------

/// Appends a JSON value, at most `depth` levels deep, to `out`.
fn arbitrary_json(u: &mut Unstructured, depth: usize, out: &mut String) -> Result<()> {
    let last = if depth == 0 { 4 } else { 6 };
    match u.int_in_range(0..=last)? {
        0 => out.push_str(u.choose(&["null", "true", "false", "0", "-0", "1e400", "0.5E-3"])?),
        1 => out.push_str(&u.arbitrary::<i64>()?.to_string()),
        2 => out.push_str(&Value::from(u.arbitrary::<String>()?).to_string()),
        3 => out.push_str(u.choose(&[
            r#""\ud800""#,
            r#""[[[[{{""#,
            r#""\\""#,
            r#""\"]}""#,
            r#""connect""#,
            r#""\u0063onnect""#,
        ])?),
        4 => out.push_str(&Value::from(u.arbitrary::<f64>()?).to_string()),
        5 => {
            out.push('[');
            for i in 0..u.int_in_range(0..=4)? {
                if i > 0 {
                    out.push(',');
                }
                arbitrary_json(u, depth - 1, out)?;
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..u.int_in_range(0..=4)? {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(u.arbitrary::<String>()?).to_string());
                if u.ratio(1, 8)? {
                    out.push(' ');
                }
                out.push(':');
                arbitrary_json(u, depth - 1, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

/// A JSON value, sometimes wrapped in arrays and objects to about the
/// nesting limit.
fn arbitrary_payload_value(u: &mut Unstructured) -> Result<String> {
    let mut inner = String::new();
    arbitrary_json(u, 4, &mut inner)?;
    if !u.ratio(1, 3)? {
        return Ok(inner);
    }
    let levels = *u.choose(&[
        MAX_PAYLOAD_DEPTH - 2,
        MAX_PAYLOAD_DEPTH - 1,
        MAX_PAYLOAD_DEPTH,
        MAX_PAYLOAD_DEPTH + 1,
        300,
    ])?;
    let mut out = String::new();
    let mut closing = String::new();
    for _ in 0..levels {
        if u.ratio(1, 2)? {
            out.push('[');
            closing.push(']');
        } else {
            out.push_str(r#"{"k":"#);
            closing.push('}');
        }
    }
    out.push_str(&inner);
    out.extend(closing.chars().rev());
    Ok(out)
}

/// A payload of the shape `kind` expects, most of the time.
fn arbitrary_payload(u: &mut Unstructured, kind: PacketKind) -> Result<Option<String>> {
    let value = arbitrary_payload_value(u)?;
    Ok(match kind {
        PacketKind::Connect | PacketKind::ConnectError if u.ratio(1, 3)? => None,
        PacketKind::Connect | PacketKind::ConnectError => Some(format!(r#"{{"k":{value}}}"#)),
        PacketKind::Disconnect => None,
        _ => {
            let name = if u.ratio(1, 2)? {
                Value::from(u.arbitrary::<String>()?).to_string()
            } else {
                "\"ev\"".to_owned()
            };
            Some(format!("[{name},{value}]"))
        }
    })
}

fn arbitrary_packet(u: &mut Unstructured) -> Result<Packet> {
    let kind = *u.choose(&PacketKind::ALL)?;
    let nsp = if u.ratio(1, 2)? {
        "/".to_owned()
    } else {
        format!("/{}", u.arbitrary::<String>()?.replace(',', ""))
    };
    let id = if u.ratio(1, 2)? {
        Some(u.arbitrary()?)
    } else {
        None
    };
    let attachments = if kind.is_binary() {
        u.int_in_range(1..=DEFAULT_MAX_ATTACHMENTS)?
    } else {
        0
    };
    Ok(Packet {
        kind,
        nsp,
        id,
        data: arbitrary_payload(u, kind)?,
        attachments,
    })
}

fn arbitrary_packet_text(u: &mut Unstructured) -> Result<Vec<u8>> {
    Ok(arbitrary_packet(u)?.encode().into_bytes())
}

/// Packets with their attachments, more or fewer of them now and then.
fn arbitrary_messages(u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut messages = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let p = arbitrary_packet(u)?;
        messages.push(Message::Text(p.encode()));
        let extra: i8 = *u.choose(&[0, 0, 0, 0, -1, 1])?;
        let n = (p.attachments as isize + extra as isize).max(0);
        for _ in 0..n {
            messages.push(Message::Binary(u.arbitrary()?));
        }
        if u.ratio(1, 10)? {
            messages.push(Message::Reset);
        }
    }
    Ok(join_messages(&messages))
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// What must hold of a packet decoded from `text`, and its round trip.
fn check_decoded(text: &str, p: &Packet) {
    assert!(p.nsp.starts_with('/') && !p.nsp.contains(','), "{p:?}");
    assert_eq!(p.kind.is_binary(), p.attachments > 0, "{p:?}");
    if let Some(data) = &p.data {
        assert!(!data.is_empty() && text.ends_with(data.as_str()), "{p:?}");
    }
    let encoded = p.encode();
    let payload_len = p.data.as_deref().map_or(0, str::len);
    assert_eq!(
        encoded.len(),
        header_len(p.kind, &p.nsp, p.id, p.attachments) + payload_len
    );
    assert_eq!(
        Packet::decode_with_max_attachments(&encoded, p.attachments),
        Ok(p.clone()),
        "{text:?} decoded to {p:?}, encoded as {encoded:?}"
    );
}

fn check_packet(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let decoded = Packet::decode(&text);
    let unlimited = Packet::decode_with_max_attachments(&text, usize::MAX);
    match (&decoded, &unlimited) {
        (Ok(p), _) => {
            assert_eq!(unlimited.as_ref(), Ok(p));
            assert!(p.attachments <= DEFAULT_MAX_ATTACHMENTS);
            check_decoded(&text, p);
        }
        (Err(e), Ok(p)) => {
            assert_eq!(*e, ParseError::TooManyAttachments, "{text:?}");
            check_decoded(&text, p);
        }
        // The count is checked before the payload.
        (Err(ParseError::TooManyAttachments), Err(_)) => {}
        (Err(e), Err(f)) => assert_eq!(e, f, "{text:?}"),
    }
}

/// The `num` of every placeholder object in a payload (`None` for one whose `num` is
/// not a non-negative integer), found by an explicit stack.
fn placeholder_nums(payload: &str) -> Vec<Option<u64>> {
    let Ok(root) = serde_json::from_str::<serde_json::Value>(payload) else {
        return vec![None];
    };
    let mut nums = Vec::new();
    let mut stack = vec![&root];
    while let Some(v) = stack.pop() {
        match v {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) if map.get("_placeholder") == Some(&true.into()) => {
                // A number equal to an integer counts, `1.0` as `1` (JavaScript's view).
                nums.push(map.get("num").and_then(|n| {
                    n.as_u64().or_else(|| {
                        n.as_f64()
                            .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f < u64::MAX as f64)
                            .map(|f| f as u64)
                    })
                }));
            }
            serde_json::Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    nums
}

/// Whether every placeholder of a complete binary packet names one of its `count`
/// attachments.
fn names_attachments(packet: &Packet, count: usize) -> bool {
    packet.data.as_deref().is_none_or(|d| {
        placeholder_nums(d)
            .iter()
            .all(|n| n.is_some_and(|n| n < count as u64))
    })
}

/// A binary packet waiting for attachments, as the model sees it.
struct Pending {
    packet: Packet,
    binaries: Vec<Vec<u8>>,
}

fn check_reassembly(bytes: &[u8]) {
    let mut decoder = Decoder::new();
    let mut model: Option<Pending> = None;
    for message in messages(bytes) {
        let (got, expected) = match message {
            Message::Reset => {
                decoder.reset();
                model = None;
                continue;
            }
            Message::Text(text) => {
                let expected = if model.take().is_some() {
                    Err(ParseError::TextWhileReconstructing)
                } else {
                    match Packet::decode(&text) {
                        Ok(packet) if packet.kind.is_binary() => {
                            model = Some(Pending {
                                packet,
                                binaries: Vec::new(),
                            });
                            Ok(None)
                        }
                        Ok(packet) => Ok(Some(Complete {
                            packet,
                            binaries: Vec::new(),
                        })),
                        Err(e) => Err(e),
                    }
                };
                (decoder.add_text(&text), expected)
            }
            Message::Binary(bytes) => {
                let got = decoder.add_binary(&bytes);
                let expected = match model.as_mut() {
                    None => Err(ParseError::UnexpectedBinary),
                    Some(pending) => {
                        pending.binaries.push(bytes);
                        if pending.binaries.len() < pending.packet.attachments {
                            Ok(None)
                        } else {
                            match model.take() {
                                Some(p) if !names_attachments(&p.packet, p.binaries.len()) => {
                                    Err(ParseError::BadAttachments)
                                }
                                p => Ok(p.map(|p| Complete {
                                    packet: p.packet,
                                    binaries: p.binaries,
                                })),
                            }
                        }
                    }
                };
                (got, expected)
            }
        };
        assert_eq!(got, expected);
        assert_eq!(decoder.is_reconstructing(), model.is_some());
        let missing = model
            .as_ref()
            .map_or(0, |p| p.packet.attachments - p.binaries.len());
        assert_eq!(decoder.missing_attachments(), missing);
        if let Ok(Some(complete)) = &got {
            check_reassembled(complete);
        }
    }
}

/// A reassembled packet, sent again with its attachments, comes out the same.
fn check_reassembled(complete: &Complete) {
    assert_eq!(complete.binaries.len(), complete.packet.attachments);
    let mut decoder = Decoder::new();
    let mut result = decoder.add_text(&complete.packet.encode());
    for binary in &complete.binaries {
        assert_eq!(result, Ok(None));
        result = decoder.add_binary(binary);
    }
    assert_eq!(result, Ok(Some(complete.clone())));
}

/// How deeply arrays and objects nest in a JSON text (0 for a scalar),
/// counted by serde_json on the text itself: a tree would lose the values of
/// duplicate keys.
struct Depth(usize);

impl<'de> Deserialize<'de> for Depth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Depth, D::Error> {
        d.deserialize_any(DepthVisitor)
    }
}

struct DepthVisitor;

impl<'de> Visitor<'de> for DepthVisitor {
    type Value = Depth;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Depth, A::Error> {
        let mut deepest = 0;
        while let Some(Depth(d)) = seq.next_element()? {
            deepest = deepest.max(d);
        }
        Ok(Depth(1 + deepest))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Depth, A::Error> {
        let mut deepest = 0;
        while let Some((IgnoredAny, Depth(d))) = map.next_entry()? {
            deepest = deepest.max(d);
        }
        Ok(Depth(1 + deepest))
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_i64<E>(self, _: i64) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_u64<E>(self, _: u64) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_f64<E>(self, _: f64) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_str<E>(self, _: &str) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }

    fn visit_unit<E>(self) -> std::result::Result<Depth, E> {
        Ok(Depth(0))
    }
}

/// What decoding a packet of `kind` with `payload` should give, told from a
/// tree parse by serde_json; `None` where that parse cannot tell (it refuses
/// lone surrogates and out-of-range numbers, which `JSON.parse` accepts).
fn expected_validation(kind: PacketKind, payload: &str) -> Option<Result<(), ParseError>> {
    use PacketKind::*;
    if payload.is_empty() {
        return Some(match kind {
            Event | Ack | BinaryEvent | BinaryAck => Err(ParseError::MissingPayload(kind)),
            Connect | Disconnect | ConnectError => Ok(()),
        });
    }
    let value = match serde_json::from_str::<Value>(payload) {
        Ok(value) => value,
        Err(e) => {
            let why = e.to_string();
            if [
                "surrogate",
                "hex escape",
                "unicode code point",
                "out of range",
            ]
            .iter()
            .any(|w| why.contains(w))
            {
                return None;
            }
            // Deeper than serde_json goes (127 levels), so deeper than the
            // limit: the validator may say "too deep" or "invalid".
            if why.contains("recursion limit") {
                return Some(Err(ParseError::TooDeep));
            }
            return Some(Err(ParseError::InvalidJson));
        }
    };
    let depth = serde_json::from_str::<Depth>(payload).map_or(0, |d| d.0);
    if depth > MAX_PAYLOAD_DEPTH {
        return Some(Err(ParseError::TooDeep));
    }
    let valid = match (kind, &value) {
        (Connect, Value::Object(_)) => true,
        (ConnectError, Value::Object(_) | Value::String(_)) => true,
        (Event | BinaryEvent, Value::Array(items)) => match items.first() {
            Some(Value::String(name)) if is_reserved_event(name) => {
                return Some(Err(ParseError::ReservedEventName))
            }
            Some(Value::String(_) | Value::Number(_)) => true,
            _ => false,
        },
        (Ack | BinaryAck, Value::Array(_)) => true,
        _ => false,
    };
    Some(if valid {
        Ok(())
    } else {
        Err(ParseError::InvalidPayload(kind))
    })
}

fn check_json(bytes: &[u8]) {
    let payload = String::from_utf8_lossy(bytes);
    for kind in PacketKind::ALL {
        // A namespace keeps the payload apart from the header, unless the
        // payload starts with digits (they would be read as the ack id).
        let header = if kind.is_binary() {
            format!("{}1-/n,", kind.as_char())
        } else {
            format!("{}/n,", kind.as_char())
        };
        let text = format!("{header}{payload}");
        let got = Packet::decode(&text);
        if let Ok(p) = &got {
            check_decoded(&text, p);
        }
        if payload.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let Some(expected) = expected_validation(kind, &payload) else {
            continue;
        };
        let got = got.map(|_| ());
        match expected {
            // Past serde_json's depth the text may be invalid as well.
            Err(ParseError::TooDeep) => assert!(
                matches!(got, Err(ParseError::TooDeep | ParseError::InvalidJson)),
                "{kind} {payload:?}: {got:?}"
            ),
            expected => assert_eq!(got, expected, "{kind} {payload:?}"),
        }
    }
}

// ---------------------------------------------------------------------------
// msgpack
// ---------------------------------------------------------------------------

/// Frames of `socket.io-msgpack-parser` (notepack.io 2.2) for socket.io-client's
/// packets: CONNECT without and with auth, an event with an ack id and `options`,
/// binary as `bin` and as an `ArrayBuffer` extension, a `Date` and `undefined`, an
/// ack, a DISCONNECT.
const MSGPACK_FRAMES: &[&str] = &[
    "83a47479706500a464617461d40000a36e7370a12f",
    "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a62f61646d696e",
    "85a47479706502a46461746197a568656c6c6f01fecb3ff8000000000000c3c081a1619101a76f7074696f6e7381a8636f6d7072657373c3a2696407a36e7370a12f",
    "84a47479706502a46461746193a27570c403010203c702000405a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f",
    "83a47479706502a46461746193a164d7000000018bcfe5687bd40000a36e7370a12f",
    "84a47479706503a46461746191a26f6ba26964cd012ca36e7370a12f",
    "82a47479706501a36e7370a12f",
];

const MSGPACK_DICTIONARY: &[&[u8]] = &[
    b"\x80",
    b"\x81",
    b"\x84",
    b"\x90",
    b"\x91",
    b"\x9f",
    b"\xa0",
    b"\xa4type",
    b"\xa3nsp",
    b"\xa4data",
    b"\xa2id",
    b"\xa1/",
    b"\xc0",
    b"\xc1",
    b"\xc2",
    b"\xc3",
    b"\xc4\x01",
    b"\xc5\xff\xff",
    b"\xc6\xff\xff\xff\xff",
    b"\xc7\x01\x00",
    b"\xd4\x00\x00",
    b"\xd7\x00",
    b"\xd6\xff",
    b"\xca",
    b"\xcb",
    b"\xcf",
    b"\xd3",
    b"\xd9\x05",
    b"\xdc\x00\x10",
    b"\xdd\xff\xff\xff\xff",
    b"\xde\x00\x01",
    b"\xdf\xff\xff\xff\xff",
    b"\xaadisconnect",
    b"\xff",
    b"\xe0",
    b"\x7f",
];

fn msgpack_seeds() -> Vec<Vec<u8>> {
    MSGPACK_FRAMES
        .iter()
        .map(|h| {
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap_or(0))
                .collect()
        })
        .collect()
}

/// A packet written as a msgpack frame, binary values among its arguments.
fn arbitrary_msgpack_frame(u: &mut Unstructured) -> Result<Vec<u8>> {
    let p = arbitrary_packet(u)?;
    let mut binaries: Vec<Vec<u8>> = Vec::new();
    let data = match p.data {
        Some(d) if p.kind.is_binary() => {
            let n = u.int_in_range(1..=3)?;
            for _ in 0..n {
                binaries.push(u.arbitrary()?);
            }
            let placeholders: Vec<String> = (0..n)
                .map(|i| format!(r#"{{"_placeholder":true,"num":{i}}}"#))
                .collect();
            let body = d.strip_suffix(']').unwrap_or(&d).to_owned();
            Some(format!("{body},{}]", placeholders.join(",")))
        }
        d => d,
    };
    Ok(encode_packet(p.kind, &p.nsp, p.id, data.as_deref(), &binaries).unwrap_or_default())
}

/// How deeply arrays and objects nest in a JSON value.
fn depth(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Decodes a frame; what decodes is JSON within the depth limit, with its
/// binaries, and writing it again and reading that back is a fixed point.
fn check_msgpack(bytes: &[u8]) {
    let Ok(c) = decode_packet(bytes) else {
        return;
    };
    let p = &c.packet;
    assert_eq!(p.kind.is_binary(), !c.binaries.is_empty(), "{p:?}");
    assert_eq!(p.attachments, c.binaries.len());
    if let Some(data) = &p.data {
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        assert!(depth(&v) <= MAX_PAYLOAD_DEPTH, "{data}");
    }
    let again = |c: &Complete| {
        let frame = encode_packet(
            c.packet.kind,
            &c.packet.nsp,
            c.packet.id,
            c.packet.data.as_deref(),
            &c.binaries,
        )
        .expect("decoded JSON encodes");
        decode_packet(&frame).expect("an encoded packet decodes")
    };
    let second = again(&c);
    assert_eq!(again(&second), second);
}

/// How deeply brackets nest in JSON text (brackets inside strings do not count).
fn text_depth(text: &str) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Equal values, numbers within a few units in the last place: exact for the
/// shortest digits that `JSON.stringify` writes, close for other digits (see
/// `msgpack/float.rs`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= x.abs().max(y.abs()) * 8.0 * f64::EPSILON
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// JSON numbers as `f64`, as JavaScript reads them.
fn as_js(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_f64().map_or(Value::Null, Value::from),
        Value::Array(items) => Value::Array(items.iter().map(as_js).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), as_js(v))).collect())
        }
        other => other.clone(),
    }
}

/// Writes a JSON payload as msgpack: nothing panics, and what JSON it was
/// comes back (numbers as JavaScript reads them).
fn check_msgpack_writer(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let Ok(frame) = encode_packet(PacketKind::Ack, "/", Some(1), Some(text), &[]) else {
        return;
    };
    let decoded = decode_packet(&frame);
    let Ok(original) = serde_json::from_str::<Value>(text) else {
        return;
    };
    // The text's own depth: duplicate keys, gone from the parsed value, are written too.
    if !original.is_array() || text_depth(text) > MAX_PAYLOAD_DEPTH {
        return;
    }
    let c = decoded.unwrap_or_else(|e| panic!("{e}: {text}"));
    let back: Value = serde_json::from_str(c.packet.data.as_deref().unwrap_or("null")).unwrap();
    assert!(same(&as_js(&back), &as_js(&original)), "{text}\n{back}");
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

#[test]
fn fuzz_socketio_packet() {
    let seeds = packet_seeds();
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "socketio_packet",
        SHORT,
        |rng| inputs.next(rng, arbitrary_packet_text),
        check_packet,
    );
}

#[test]
fn fuzz_socketio_reassembly() {
    let seeds = message_seeds();
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "socketio_reassembly",
        SHORT,
        |rng| inputs.next(rng, arbitrary_messages),
        check_reassembly,
    );
}

#[test]
fn fuzz_json_validator() {
    let seeds: Vec<Vec<u8>> = PACKETS
        .iter()
        .filter_map(|p| p.find(['[', '{', '"']).map(|i| p.as_bytes()[i..].to_vec()))
        .collect();
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "json_validator",
        SHORT / 4,
        |rng| inputs.next(rng, |u| Ok(arbitrary_payload_value(u)?.into_bytes())),
        check_json,
    );
}

#[test]
fn fuzz_msgpack_decoder() {
    let seeds = msgpack_seeds();
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: MSGPACK_DICTIONARY,
    };
    run(
        "msgpack_decoder",
        SHORT,
        |rng| inputs.next(rng, arbitrary_msgpack_frame),
        check_msgpack,
    );
}

#[test]
fn fuzz_msgpack_writer() {
    let seeds: Vec<Vec<u8>> = PACKETS
        .iter()
        .filter_map(|p| p.find('[').map(|i| p.as_bytes()[i..].to_vec()))
        .collect();
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "msgpack_writer",
        SHORT / 4,
        |rng| {
            inputs.next(rng, |u| {
                Ok(format!("[{}]", arbitrary_payload_value(u)?).into_bytes())
            })
        },
        check_msgpack_writer,
    );
}

#[test]
fn seeds_are_valid() {
    for seed in msgpack_seeds() {
        assert!(decode_packet(&seed).is_ok(), "{seed:x?}");
    }
    for text in PACKETS {
        assert!(Packet::decode(text).is_ok(), "{text}");
    }
    for seed in message_seeds() {
        check_reassembly(&seed);
    }
}
