use super::*;
use crate::MAX_PAYLOAD_DEPTH;

/// Frames as `socket.io-msgpack-parser` 3.0.2 (notepack.io 2.2) encodes the
/// packets of socket.io-client 4.8, hex.
const CONNECT_NO_AUTH: &str = "83a47479706500a464617461d40000a36e7370a12f";
const CONNECT_AUTH: &str = "83a47479706500a46461746181a5746f6b656ea3616263a36e7370a62f61646d696e";
const EVENT: &str = "85a47479706502a46461746197a568656c6c6f01fecb3ff8000000000000c3c081a1619101a76f7074696f6e7381a8636f6d7072657373c3a2696407a36e7370a12f";
const EVENT_BINARY: &str = "84a47479706502a46461746193a27570c403010203c702000405a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f";
const EVENT_DATE_UNDEFINED: &str =
    "83a47479706502a46461746193a164d7000000018bcfe5687bd40000a36e7370a12f";
const ACK: &str = "84a47479706503a46461746191a26f6ba26964cd012ca36e7370a12f";
const DISCONNECT: &str = "82a47479706501a36e7370a12f";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn decode(h: &str) -> Complete {
    decode_packet(&hex(h)).unwrap()
}

#[test]
fn client_packets_decode() {
    let c = decode(CONNECT_NO_AUTH);
    assert_eq!(c.packet.kind, PacketKind::Connect);
    assert_eq!(c.packet.nsp, "/");
    assert_eq!(c.packet.data, None);

    let c = decode(CONNECT_AUTH);
    assert_eq!(c.packet.nsp, "/admin");
    assert_eq!(c.packet.data.as_deref(), Some(r#"{"token":"abc"}"#));

    let c = decode(EVENT);
    assert_eq!(c.packet.kind, PacketKind::Event);
    assert_eq!(c.packet.id, Some(7));
    assert_eq!(
        c.packet.data.as_deref(),
        Some(r#"["hello",1,-2,1.5,true,null,{"a":[1]}]"#)
    );
    assert!(c.binaries.is_empty());

    let c = decode(EVENT_BINARY);
    assert_eq!(c.packet.kind, PacketKind::BinaryEvent);
    assert_eq!(c.packet.attachments, 2);
    assert_eq!(
        c.packet.data.as_deref(),
        Some(r#"["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
    );
    assert_eq!(c.binaries, vec![vec![1, 2, 3], vec![4, 5]]);

    let c = decode(EVENT_DATE_UNDEFINED);
    assert_eq!(
        c.packet.data.as_deref(),
        Some(r#"["d","2023-11-14T22:13:20.123Z",null]"#)
    );

    let c = decode(ACK);
    assert_eq!(c.packet.kind, PacketKind::Ack);
    assert_eq!(c.packet.id, Some(300));
    assert_eq!(c.packet.data.as_deref(), Some(r#"["ok"]"#));

    let c = decode(DISCONNECT);
    assert_eq!(c.packet.kind, PacketKind::Disconnect);
    assert_eq!(c.packet.data, None);
}

#[test]
fn server_packets_encode_as_notepack_does() {
    // `{type: 3, nsp: "/", data: ["ok"], id: 300}` in our key order.
    let frame = encode_packet(PacketKind::Ack, "/", Some(300), Some(r#"["ok"]"#), &[]).unwrap();
    assert_eq!(
        frame,
        hex("84a47479706503a36e7370a12fa46461746191a26f6ba26964cd012c")
    );
    let frame = encode_packet(PacketKind::Disconnect, "/x", None, None, &[]).unwrap();
    assert_eq!(frame, hex("82a47479706501a36e7370a22f78"));
}

/// Encodes, then decodes again: the JSON and binaries come back.
fn round_trip(kind: PacketKind, json: &str, binaries: &[Vec<u8>]) -> Complete {
    let frame = encode_packet(kind, "/n", Some(5), Some(json), binaries).unwrap();
    decode_packet(&frame).unwrap()
}

#[test]
fn payloads_round_trip() {
    for json in [
        r#"["ev"]"#,
        r#"["ev",0,127,128,255,256,65535,65536,4294967295,4294967296,18446744073709551615]"#,
        r#"["ev",-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649,-9223372036854775808]"#,
        r#"["ev",0.5,-1.25,1e+300,5e-324]"#,
        r#"["ev","","é😀",{"":{"a":[[],{}]}},null,true,false]"#,
        r#"[1,"x"]"#,
    ] {
        let c = round_trip(PacketKind::Event, json, &[]);
        let back: serde_json::Value =
            serde_json::from_str(c.packet.data.as_deref().unwrap()).unwrap();
        let want: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, want, "{json}");
        assert_eq!(c.packet.nsp, "/n");
        assert_eq!(c.packet.id, Some(5));
    }
}

#[test]
fn numbers_are_written_as_notepack_writes_them() {
    let frame = |json: &str| {
        let mut out = Vec::new();
        write::json_to_msgpack(json, &[], &mut out).unwrap();
        out
    };
    assert_eq!(frame("0"), [0x00]);
    assert_eq!(frame("-0"), [0x00]);
    assert_eq!(frame("1e3"), [0xcd, 0x03, 0xe8]);
    assert_eq!(frame("-33"), [0xd0, 0xdf]);
    assert_eq!(frame("0.5"), [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]);
    // Beyond 64 bits: a float.
    assert_eq!(frame("18446744073709551616")[0], 0xcb);
    assert_eq!(frame("1e400"), {
        let mut v = vec![0xcb];
        v.extend_from_slice(&f64::INFINITY.to_bits().to_be_bytes());
        v
    });
}

#[test]
fn strings_resolve_their_escapes() {
    let mut out = Vec::new();
    write::json_to_msgpack(r#""a\"\\\/\n\u00e9\ud83d\ude00\ud800x""#, &[], &mut out).unwrap();
    let text = "a\"\\/\né😀\u{fffd}x";
    let mut want = vec![0xa0 | text.len() as u8];
    want.extend_from_slice(text.as_bytes());
    assert_eq!(out, want);
}

#[test]
fn large_containers_get_wide_headers() {
    let items: Vec<String> = (0..70_000).map(|i| (i % 100).to_string()).collect();
    let json = format!("[\"ev\",{}]", items.join(","));
    let c = round_trip(PacketKind::Event, &json, &[]);
    assert_eq!(c.packet.data.as_deref(), Some(json.as_str()));
    let entries: Vec<String> = (0..20).map(|i| format!("\"k{i}\":{i}")).collect();
    let json = format!("[\"ev\",{{{}}}]", entries.join(","));
    let c = round_trip(PacketKind::Event, &json, &[]);
    assert_eq!(c.packet.data.as_deref(), Some(json.as_str()));
}

#[test]
fn placeholders_become_bin() {
    let bins = vec![vec![9u8; 300], vec![]];
    let json = r#"["ev",{"_placeholder":true,"num":1},[{"num":0,"_placeholder":true}],{"_placeholder":true,"num":2},{"_placeholder":false,"num":0}]"#;
    let frame = encode_packet(PacketKind::Event, "/", None, Some(json), &bins).unwrap();
    // bin 16 of 300 bytes is in the frame.
    assert!(frame.windows(3).any(|w| w == [0xc5, 0x01, 0x2c]));
    let c = decode_packet(&frame).unwrap();
    assert_eq!(c.packet.kind, PacketKind::BinaryEvent);
    assert_eq!(
        c.packet.data.as_deref(),
        Some(
            r#"["ev",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}],{"_placeholder":true,"num":2},{"_placeholder":false,"num":0}]"#
        )
    );
    // The out-of-range placeholder stays an object, decoded with its own index
    // renumbered: only real binaries are attachments.
    assert_eq!(c.binaries, vec![vec![], vec![9u8; 300]]);
    // Without attachments, a placeholder is plain data.
    let frame = encode_packet(PacketKind::Event, "/", None, Some(json), &[]).unwrap();
    assert!(decode_packet(&frame).unwrap().binaries.is_empty());
}

#[test]
fn map_keys_become_property_names() {
    // {1: "a", -2: "b", true: 1, nil: 2}
    let frame = hex("83a47479706502a36e7370a12fa46461746192a1658401a161fea162c301c002");
    assert_eq!(
        decode_packet(&frame).unwrap().packet.data.as_deref(),
        Some(r#"["e",{"1":"a","-2":"b","true":1,"null":2}]"#)
    );
    // A key that is an array.
    let frame = hex("83a47479706502a36e7370a12fa46461746192a1658190c0");
    assert_eq!(
        decode_packet(&frame).err(),
        Some(ParseError::InvalidMsgPack)
    );
}

#[test]
fn other_extensions_are_type_and_bytes() {
    // fixext 2 of type 5, and a timestamp (type -1): notepack 2.2 decodes both to [type, bytes].
    let frame = hex("83a47479706502a36e7370a12fa46461746193a165d5050102d6ff00000001");
    let c = decode_packet(&frame).unwrap();
    assert_eq!(
        c.packet.data.as_deref(),
        Some(r#"["e",[5,{"_placeholder":true,"num":0}],[-1,{"_placeholder":true,"num":1}]]"#)
    );
    assert_eq!(c.binaries, vec![vec![1, 2], vec![0, 0, 0, 1]]);
}

#[test]
fn packet_checks() {
    let frame = |entries: &[(&str, &str)]| {
        let mut h = format!("{:02x}", 0x80 | entries.len());
        for (k, v) in entries {
            h.push_str(&format!("{:02x}", 0xa0 | k.len()));
            h.extend(k.bytes().map(|b| format!("{b:02x}")));
            h.push_str(v);
        }
        decode_packet(&hex(&h)).map(|c| c.packet)
    };
    let nsp = ("nsp", "a12f");
    let event = ("data", "91a165");
    // type: missing, out of range, a string, a float that is not integral.
    assert_eq!(frame(&[nsp, event]), Err(ParseError::BadPacketType));
    assert_eq!(
        frame(&[("type", "05"), nsp, event]),
        Err(ParseError::BadPacketType)
    );
    assert_eq!(
        frame(&[("type", "a132"), nsp, event]),
        Err(ParseError::BadPacketType)
    );
    assert_eq!(
        frame(&[("type", "cb4000000000000001"), nsp, event]),
        Err(ParseError::BadPacketType)
    );
    // type 2.0 is the integer 2 in JavaScript.
    assert_eq!(
        frame(&[("type", "cb4000000000000000"), nsp, event]).map(|p| p.kind),
        Ok(PacketKind::Event)
    );
    // nsp: missing, not a string.
    assert_eq!(
        frame(&[("type", "02"), event]),
        Err(ParseError::BadNamespace)
    );
    assert_eq!(
        frame(&[("type", "02"), ("nsp", "c0"), event]),
        Err(ParseError::BadNamespace)
    );
    // id: negative, a string, nil; undefined is no id.
    for bad in [
        "ff",
        "a131",
        "c0",
        "cb3fe0000000000000",
        "cf0020000000000000",
    ] {
        assert_eq!(
            frame(&[("type", "02"), nsp, event, ("id", bad)]),
            Err(ParseError::BadPacketId),
            "{bad}"
        );
    }
    assert_eq!(
        frame(&[("type", "02"), nsp, event, ("id", "d40000")]).map(|p| p.id),
        Ok(None)
    );
    // Payloads: the default parser's rules.
    let data = |d: &str, t: &str| frame(&[("type", t), nsp, ("data", d)]);
    assert_eq!(
        data("90", "02"),
        Err(ParseError::InvalidPayload(PacketKind::Event))
    );
    assert_eq!(
        data("91c0", "02"),
        Err(ParseError::InvalidPayload(PacketKind::Event))
    );
    assert_eq!(
        data("81a161c0", "02"),
        Err(ParseError::InvalidPayload(PacketKind::Event))
    );
    assert_eq!(
        data("91aa646973636f6e6e656374", "02"),
        Err(ParseError::ReservedEventName)
    );
    assert!(data("9101", "02").is_ok());
    assert!(data("90", "03").is_ok());
    assert_eq!(
        data("a161", "03"),
        Err(ParseError::InvalidPayload(PacketKind::Ack))
    );
    assert_eq!(
        frame(&[("type", "02"), nsp]),
        Err(ParseError::MissingPayload(PacketKind::Event))
    );
    assert_eq!(
        data("90", "00"),
        Err(ParseError::InvalidPayload(PacketKind::Connect))
    );
    assert_eq!(data("c0", "00").map(|p| p.data), Ok(None));
    assert_eq!(
        data("80", "01"),
        Err(ParseError::InvalidPayload(PacketKind::Disconnect))
    );
    assert!(data("d40000", "01").is_ok());
    assert!(data("a161", "04").is_ok());
    // Binary data in a CONNECT's auth.
    assert_eq!(
        data("81a161c40101", "00"),
        Err(ParseError::InvalidPayload(PacketKind::Connect))
    );
    // Unknown keys are skipped, duplicate keys: the last one counts.
    assert_eq!(
        frame(&[("type", "01"), ("type", "02"), ("x", "92c0c0"), nsp, event]).map(|p| p.kind),
        Ok(PacketKind::Event)
    );
}

#[test]
fn hostile_frames_are_refused() {
    let refused = |bytes: &[u8]| decode_packet(bytes).err();
    assert_eq!(refused(&[]), Some(ParseError::InvalidMsgPack));
    // Not a map; the unused marker 0xc1; truncated; trailing bytes.
    assert_eq!(
        refused(&[0x92, 0x02, 0x02]),
        Some(ParseError::BadPacketType)
    );
    assert_eq!(refused(&[0xc1]), Some(ParseError::InvalidMsgPack));
    let whole = hex(ACK);
    for cut in 0..whole.len() {
        assert!(refused(&whole[..cut]).is_some(), "{cut}");
    }
    let mut trailing = whole.clone();
    trailing.push(0);
    assert_eq!(refused(&trailing), Some(ParseError::InvalidMsgPack));
    // Huge declared lengths: a map, an array, a string, binary data, an extension.
    for head in [
        &[0xdf, 0xff, 0xff, 0xff, 0xff][..],
        &[
            0x81, 0xa4, b'd', b'a', b't', b'a', 0xdd, 0xff, 0xff, 0xff, 0xff,
        ],
        &[
            0x81, 0xa4, b'd', b'a', b't', b'a', 0xdb, 0xff, 0xff, 0xff, 0xff,
        ],
        &[
            0x81, 0xa4, b'd', b'a', b't', b'a', 0xc6, 0xff, 0xff, 0xff, 0xff,
        ],
        &[
            0x81, 0xa4, b'd', b'a', b't', b'a', 0xc9, 0xff, 0xff, 0xff, 0xff, 0,
        ],
    ] {
        assert_eq!(refused(head), Some(ParseError::InvalidMsgPack), "{head:x?}");
    }
    // Deep nesting: in `data`, and in a key that is skipped.
    let deep = |depth: usize, key: &[u8]| {
        let mut f = vec![
            0x83, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa3, b'n', b's', b'p', 0xa1, b'/',
        ];
        f.push(0xa0 | key.len() as u8);
        f.extend_from_slice(key);
        f.push(0x92);
        f.extend_from_slice(&[0xa1, b'e']);
        f.extend(std::iter::repeat_n(0x91, depth - 2));
        f.push(0x90);
        f
    };
    let data = |f: Vec<u8>| {
        let mut f = f;
        // A key that is not `data` still needs a payload.
        f[0] = 0x84;
        f.extend_from_slice(&[0xa4, b'd', b'a', b't', b'a', 0x91, 0xa1, b'e']);
        f
    };
    assert!(decode_packet(&deep(MAX_PAYLOAD_DEPTH, b"data")).is_ok());
    assert_eq!(
        refused(&deep(MAX_PAYLOAD_DEPTH + 1, b"data")),
        Some(ParseError::TooDeep)
    );
    assert!(decode_packet(&data(deep(MAX_PAYLOAD_DEPTH, b"xx"))).is_ok());
    assert_eq!(
        refused(&data(deep(100_000, b"xx"))),
        Some(ParseError::TooDeep)
    );
    assert_eq!(refused(&deep(100_000, b"data")), Some(ParseError::TooDeep));
}

#[test]
fn invalid_utf8_is_replaced() {
    // "\xff" as the event name.
    let frame = hex("83a47479706502a36e7370a12fa46461746191a1ff");
    assert_eq!(
        decode_packet(&frame).unwrap().packet.data.as_deref(),
        Some("[\"\u{fffd}\"]")
    );
}

#[test]
fn not_json_has_no_frame() {
    for bad in [
        "",
        "[",
        "[1,]",
        "{\"a\"}",
        "[1] x",
        "\"abc",
        "tru",
        "[\"\\q\"]",
    ] {
        assert_eq!(
            encode_packet(PacketKind::Event, "/", None, Some(bad), &[]),
            Err(NotJson),
            "{bad}"
        );
    }
}

#[test]
fn debug_tmp() {
    for json in [
        r#"["ev",0,127,128,255,256,65535,65536,4294967295,4294967296,18446744073709551615]"#,
        r#"["ev",0.5,-1.25,1e+300,5e-324]"#,
        r#"["ev","","é😀",{"":{"a":[[],{}]}},null,true,false]"#,
        "[\"ev\",0,127,128,255,256]",
        "[\"ev\",65535,65536]",
        "[\"ev\",4294967295,4294967296,18446744073709551615]",
        "[\"ev\",-1,-32,-33]",
        "[\"ev\",0.5]",
    ] {
        let frame = encode_packet(PacketKind::Event, "/n", Some(5), Some(json), &[]).unwrap();
        eprintln!("{json} {:02x?} {:?}", frame, decode_packet(&frame).err());
    }
}
