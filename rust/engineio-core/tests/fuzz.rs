//! Fuzz targets of the Engine.IO codecs: packets (text and binary WebSocket
//! frames, single polling packets) and polling payloads.
//!
//! Each target checks that no input panics and that whatever decodes encodes
//! to something that decodes to the same packets. `cargo test` runs each on
//! a fixed number of inputs from a fixed seed; `npm run fuzz` (or
//! `FUZZ_SECONDS=600 cargo test --release -p engineio-core --test fuzz --
//! --nocapture --test-threads=1`) runs each for that many seconds. See
//! `rust/fuzz-support`.

use engineio_core::packet::{Data, Frame, Packet, PacketType};
use engineio_core::payload;
use fuzz_support::{run, Inputs, Result, Unstructured};

/// Inputs per target in the short mode (debug build, inside `cargo test`).
const SHORT: u64 = 20_000;

const TYPES: [PacketType; 7] = [
    PacketType::Open,
    PacketType::Close,
    PacketType::Ping,
    PacketType::Pong,
    PacketType::Message,
    PacketType::Upgrade,
    PacketType::Noop,
];

const DICTIONARY: &[&[u8]] = &[
    b"0",
    b"1",
    b"2",
    b"3",
    b"4",
    b"5",
    b"6",
    b"7",
    b"b",
    b"\x1e",
    b"probe",
    b"=",
    b"==",
    b"AAAA",
    b"/+",
    b"-_",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\xff",
    b"{\"sid\":\"x\"}",
    b"42[\"a\"]",
];

const PACKETS: &[&[u8]] = &[
    br#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#,
    b"1",
    b"2",
    b"3",
    b"2probe",
    b"3probe",
    b"4",
    b"4hello",
    "4héllo €😀".as_bytes(),
    br#"42["chat","hi"]"#,
    b"5",
    b"6",
    b"b",
    b"bAQIDBA==",
    b"bAA==",
    b"\x01\x02\x03\x04",
];

const PAYLOADS: &[&[u8]] = &[
    b"4hello\x1e2\x1e4world\x1ebAQIDBA==",
    b"6",
    b"1",
    b"3\x1e3\x1e3",
    b"40\x1e42[\"a\"]\x1e451-[\"b\",{\"_placeholder\":true,\"num\":0}]\x1ebAQI=",
    "4é\x1eb\x1e4".as_bytes(),
];

fn to_vecs(of: &[&[u8]]) -> Vec<Vec<u8>> {
    of.iter().map(|s| s.to_vec()).collect()
}

fn arbitrary_packet(u: &mut Unstructured) -> Result<Packet> {
    if u.ratio(1, 4)? {
        return Ok(Packet::message(Data::Binary(u.arbitrary()?)));
    }
    let kind = *u.choose(&TYPES)?;
    let text: String = if u.ratio(1, 4)? {
        "probe".into()
    } else {
        u.arbitrary()?
    };
    Ok(Packet::text(kind, text))
}

/// One packet, in one of its three encodings.
fn arbitrary_encoded_packet(u: &mut Unstructured) -> Result<Vec<u8>> {
    let p = arbitrary_packet(u)?;
    Ok(match (u.int_in_range(0..=1)?, p.encode_ws()) {
        (0, Frame::Text(t)) => t.into_bytes(),
        (0, Frame::Binary(b)) => b,
        _ => payload::encode(&[p]).into_bytes(),
    })
}

fn arbitrary_payload(u: &mut Unstructured) -> Result<Vec<u8>> {
    let n = u.int_in_range(1..=6)?;
    let packets = (0..n)
        .map(|_| arbitrary_packet(u))
        .collect::<Result<Vec<_>>>()?;
    Ok(payload::encode(&packets).into_bytes())
}

/// Encodes `p` for polling and decodes it again.
fn polling_round_trip(p: &Packet) -> Packet {
    let mut body = String::new();
    p.encode_polling_into(&mut body);
    match Packet::decode_polling(&body) {
        Ok(again) => again,
        Err(e) => panic!("{p:?} encoded for polling as {body:?}, which fails: {e}"),
    }
}

fn check_packet(bytes: &[u8]) {
    // A binary frame is a message whatever it holds, and goes back as is.
    let p = Packet::decode_binary(bytes);
    assert_eq!(p.encode_ws(), Frame::Binary(bytes.to_vec()));
    assert_eq!(polling_round_trip(&p), p);

    let text = String::from_utf8_lossy(bytes);
    if let Ok(p) = Packet::decode_text(&text) {
        // A text frame is kept as it came.
        assert_eq!(p.encode_ws(), Frame::Text(text.clone().into_owned()));
        assert_eq!(Packet::decode_text(&text), Ok(p.clone()));
        assert_eq!(polling_round_trip(&p), p);
    }
    if let Ok(p) = Packet::decode_polling(&text) {
        assert_eq!(polling_round_trip(&p), p);
    }
}

fn check_payload(bytes: &[u8]) {
    let body = String::from_utf8_lossy(bytes);
    if let Ok(packets) = payload::decode(&body) {
        assert!(!packets.is_empty(), "{body:?}");
        let again = payload::encode(&packets);
        assert_eq!(
            payload::decode(&again),
            Ok(packets),
            "{body:?} -> {again:?}"
        );
    }
}

#[test]
fn fuzz_engineio_packet() {
    let seeds = to_vecs(PACKETS);
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "engineio_packet",
        SHORT,
        |rng| inputs.next(rng, arbitrary_encoded_packet),
        check_packet,
    );
}

#[test]
fn fuzz_engineio_payload() {
    let mut seeds = to_vecs(PAYLOADS);
    seeds.extend(to_vecs(PACKETS));
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: DICTIONARY,
    };
    run(
        "engineio_payload",
        SHORT,
        |rng| inputs.next(rng, arbitrary_payload),
        check_payload,
    );
}

#[test]
fn seeds_are_valid() {
    for seed in PACKETS {
        // Text and polling packets, and one binary frame.
        let ok = std::str::from_utf8(seed).is_ok_and(|t| Packet::decode_polling(t).is_ok());
        assert!(ok || seed[0] < b' ', "{seed:?}");
    }
    for seed in PAYLOADS {
        let body = std::str::from_utf8(seed).expect("UTF-8 seed");
        assert!(payload::decode(body).is_ok(), "{body:?}");
    }
}

/// Protocol v3 payloads: a text payload and a binary one built from arbitrary
/// packets, or their mutations. Decoding never panics, and whatever decodes
/// comes back the same from its text encoding.
fn arbitrary_v3_payload(u: &mut Unstructured) -> Result<Vec<u8>> {
    let n = u.int_in_range(0..=4)?;
    let mut packets = Vec::new();
    for _ in 0..n {
        packets.push(arbitrary_packet(u)?);
    }
    Ok(engineio_core::v3::encode_text_payload(&packets).into_bytes())
}

fn check_v3_payload(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(packets) = engineio_core::v3::decode_text_payload(&text) {
        let again = engineio_core::v3::encode_text_payload(&packets);
        assert_eq!(
            engineio_core::v3::decode_text_payload(&again),
            Ok(packets),
            "{text:?} -> {again:?}"
        );
    }
    let _ = engineio_core::v3::decode_binary_payload(bytes);
    let _ = engineio_core::v3::decode_binary_frame(bytes);
}

#[test]
fn fuzz_engineio_v3_payload() {
    let seeds = to_vecs(&[
        b"6:4hello1:2",
        b"3:4\xe2\x82\xac!",
        b"6:b4AQID",
        b"0:",
        &[0, 2, 255, b'4', b'x', 1, 3, 255, 4, 9, 8],
    ]);
    let inputs = Inputs {
        seeds: &seeds,
        dictionary: &[b":", b"b4", b"4", b"2", b"\xff", b"\x00", b"\x01", b"10"],
    };
    run(
        "engineio_v3_payload",
        SHORT,
        |rng| inputs.next(rng, arbitrary_v3_payload),
        check_v3_payload,
    );
}
