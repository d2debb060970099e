//! Encoding and decoding of packets against the reference parser's behaviour.

use super::*;
use crate::MAX_PAYLOAD_DEPTH;

fn packet(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    attachments: usize,
) -> Packet {
    Packet {
        kind,
        nsp: nsp.into(),
        id,
        data: data.map(Into::into),
        attachments,
    }
}

fn ok(text: &str) -> Packet {
    match Packet::decode(text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?} should decode, got {e}"),
    }
}

fn err(text: &str) -> ParseError {
    match Packet::decode(text) {
        Ok(p) => panic!("{text:?} should be refused, got {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn kinds_map_to_digits() {
    for (i, kind) in PacketKind::ALL.into_iter().enumerate() {
        let digit = char::from(b'0' + i as u8);
        assert_eq!(kind.as_char(), digit);
        assert_eq!(PacketKind::from_byte(digit as u8), Some(kind));
    }
    assert_eq!(PacketKind::from_byte(b'7'), None);
    assert!(PacketKind::BinaryAck.is_binary());
    assert!(!PacketKind::Ack.is_binary());
    assert_eq!(PacketKind::ConnectError.to_string(), "CONNECT_ERROR");
}

#[test]
fn connect_packets() {
    use PacketKind::Connect;
    assert_eq!(ok("0"), packet(Connect, "/", None, None, 0));
    assert_eq!(ok("0/admin,"), packet(Connect, "/admin", None, None, 0));
    assert_eq!(
        ok(r#"0{"token":"1"}"#),
        packet(Connect, "/", None, Some(r#"{"token":"1"}"#), 0)
    );
    assert_eq!(
        ok(r#"0/admin,{"token":"1"}"#),
        packet(Connect, "/admin", None, Some(r#"{"token":"1"}"#), 0)
    );
}

#[test]
fn disconnect_packets() {
    use PacketKind::Disconnect;
    assert_eq!(ok("1"), packet(Disconnect, "/", None, None, 0));
    assert_eq!(ok("1/admin,"), packet(Disconnect, "/admin", None, None, 0));
}

#[test]
fn event_and_ack_packets() {
    assert_eq!(
        ok(r#"2["hello",1]"#),
        packet(PacketKind::Event, "/", None, Some(r#"["hello",1]"#), 0)
    );
    assert_eq!(
        ok(r#"2/admin,456["project:delete",123]"#),
        packet(
            PacketKind::Event,
            "/admin",
            Some(456),
            Some(r#"["project:delete",123]"#),
            0
        )
    );
    assert_eq!(
        ok("3/admin,456[]"),
        packet(PacketKind::Ack, "/admin", Some(456), Some("[]"), 0)
    );
    assert_eq!(
        ok(r#"212["foo"]"#),
        packet(PacketKind::Event, "/", Some(12), Some(r#"["foo"]"#), 0)
    );
}

#[test]
fn connect_error_packets() {
    assert_eq!(
        ok(r#"4{"message":"Not authorized"}"#),
        packet(
            PacketKind::ConnectError,
            "/",
            None,
            Some(r#"{"message":"Not authorized"}"#),
            0
        )
    );
    assert_eq!(
        ok(r#"4"Not authorized""#).data.as_deref(),
        Some(r#""Not authorized""#)
    );
}

#[test]
fn binary_packets() {
    assert_eq!(
        ok(r#"51-["hello",{"_placeholder":true,"num":0}]"#),
        packet(
            PacketKind::BinaryEvent,
            "/",
            None,
            Some(r#"["hello",{"_placeholder":true,"num":0}]"#),
            1
        )
    );
    assert_eq!(
        ok(r#"61-/admin,456[{"_placeholder":true,"num":0}]"#),
        packet(
            PacketKind::BinaryAck,
            "/admin",
            Some(456),
            Some(r#"[{"_placeholder":true,"num":0}]"#),
            1
        )
    );
    assert_eq!(ok(r#"510-["a"]"#).attachments, 10);
}

#[test]
fn namespace_runs_to_comma_or_end() {
    assert_eq!(ok("0/admin").nsp, "/admin");
    assert_eq!(ok("1/admin").nsp, "/admin");
    assert_eq!(ok("1/a/b-c_é,").nsp, "/a/b-c_é");
    // The namespace swallows everything up to the end: no payload left.
    assert_eq!(
        err("2/admin"),
        ParseError::MissingPayload(PacketKind::Event)
    );
    // Without a leading `/` there is no namespace: the digits are an id.
    assert_eq!(ok(r#"27["a"]"#).nsp, "/");
}

#[test]
fn payload_keeps_the_original_text() {
    let text = "2[ \"caf\\u00e9\" , {\"b\" : [1, 2.50e1]} ]\n";
    assert_eq!(ok(text).data.as_deref(), Some(&text[1..]));
}

#[test]
fn malformed_headers() {
    assert_eq!(err(""), ParseError::Empty);
    assert_eq!(err("9"), ParseError::UnknownType);
    assert_eq!(err("7"), ParseError::UnknownType);
    assert_eq!(err("x"), ParseError::UnknownType);
    assert_eq!(err("€"), ParseError::UnknownType);
    assert_eq!(err(r#"5-["a"]"#), ParseError::BadAttachments);
    assert_eq!(err(r#"5x-["a"]"#), ParseError::BadAttachments);
    assert_eq!(err(r#"51["a"]"#), ParseError::BadAttachments);
    assert_eq!(err("5"), ParseError::BadAttachments);
    assert_eq!(err("51"), ParseError::BadAttachments);
    assert_eq!(err(r#"50-["a"]"#), ParseError::BadAttachments);
    assert_eq!(err(r#"6 1-[]"#), ParseError::BadAttachments);
    assert_eq!(err(r#"511-["a"]"#), ParseError::TooManyAttachments);
    assert_eq!(
        err(r#"599999999999999999999999999-["a"]"#),
        ParseError::TooManyAttachments
    );
    assert_eq!(
        err(r#"299999999999999999999999["a"]"#),
        ParseError::BadAckId
    );
}

#[test]
fn largest_ack_id_is_accepted() {
    let text = format!("3{}[]", u64::MAX);
    assert_eq!(ok(&text).id, Some(u64::MAX));
    assert_eq!(ok(&text).encode(), text);
    assert_eq!(err("318446744073709551616[]"), ParseError::BadAckId);
}

#[test]
fn attachment_limit_is_configurable() {
    let text = r#"512-["a"]"#;
    assert_eq!(err(text), ParseError::TooManyAttachments);
    let p = Packet::decode_with_max_attachments(text, 12);
    assert_eq!(p.map(|p| p.attachments), Ok(12));
}

#[test]
fn the_attachment_count_is_checked_before_the_payload() {
    // Found by the fuzz target's first draft, which expected the payload
    // error: the header is read first, so the count decides.
    assert_eq!(err("550-"), ParseError::TooManyAttachments);
    assert_eq!(
        Packet::decode_with_max_attachments("550-", 50),
        Err(ParseError::MissingPayload(PacketKind::BinaryEvent))
    );
}

#[test]
fn malformed_payloads() {
    use PacketKind::*;
    use ParseError::*;
    assert_eq!(err("2{}"), InvalidPayload(Event));
    assert_eq!(err("2[]"), InvalidPayload(Event));
    assert_eq!(err("2[null]"), InvalidPayload(Event));
    assert_eq!(err("2[[\"a\"]]"), InvalidPayload(Event));
    assert_eq!(err(r#"2"a""#), InvalidPayload(Event));
    assert_eq!(err(r#"2["connect"]"#), ReservedEventName);
    assert_eq!(err(r#"2/admin,1["disconnecting",1]"#), ReservedEventName);
    assert_eq!(err(r#"51-["newListener"]"#), ReservedEventName);
    assert_eq!(err("2abc"), InvalidJson);
    assert_eq!(err("4abc"), InvalidJson);
    assert_eq!(err(r#"2["a""#), InvalidJson);
    assert_eq!(err(r#"2["a"]x"#), InvalidJson);
    assert_eq!(err(r#"2["a"],"#), InvalidJson);
    assert_eq!(err(r#"2["a",]"#), InvalidJson);
    assert_eq!(err("2[\"a\",01]"), InvalidJson);
    assert_eq!(err("2[\"a\tb\"]"), InvalidJson);
    assert_eq!(err("2 "), InvalidJson);
    assert_eq!(err(r#"1{"a":1}"#), InvalidPayload(Disconnect));
    assert_eq!(err("1/admin,[]"), InvalidPayload(Disconnect));
    assert_eq!(err("0[]"), InvalidPayload(Connect));
    assert_eq!(err(r#"0"str""#), InvalidPayload(Connect));
    assert_eq!(err("0null"), InvalidPayload(Connect));
    assert_eq!(err("4null"), InvalidPayload(ConnectError));
    assert_eq!(err("4[]"), InvalidPayload(ConnectError));
    assert_eq!(err("3{}"), InvalidPayload(Ack));
    assert_eq!(err(r#"61-{}"#), InvalidPayload(BinaryAck));
    assert_eq!(err("3"), MissingPayload(Ack));
    assert_eq!(err("2"), MissingPayload(Event));
    assert_eq!(err("3/admin,12"), MissingPayload(Ack));
    assert_eq!(err("51-"), MissingPayload(BinaryEvent));
    assert_eq!(err("61-/admin,4"), MissingPayload(BinaryAck));
}

#[test]
fn reserved_names_are_found_behind_escapes_and_spaces() {
    assert_eq!(err(r#"2[ "connect" ]"#), ParseError::ReservedEventName);
    assert_eq!(err(r#"2["conn\u0065ct"]"#), ParseError::ReservedEventName);
    assert_eq!(
        err("2[\"remove\\u004cistener\",{}]"),
        ParseError::ReservedEventName
    );
    // Near misses are ordinary events.
    ok(r#"2["Connect"]"#);
    ok(r#"2["connect "]"#);
    ok(r#"2["connection"]"#);
    ok(r#"2["conn\"ect"]"#);
}

#[test]
fn numeric_event_names_are_accepted() {
    // The reference decoder accepts a number as the first element.
    ok("2[1]");
    ok(r#"2[-1.5e3,"x"]"#);
    ok("2[1e400]");
}

#[test]
fn json_the_reference_accepts_is_accepted() {
    // Lone surrogates are valid for JSON.parse.
    ok(r#"2["\ud800"]"#);
    ok(r#"2["a","\udc00x"]"#);
    ok(r#"4"\ud800""#);
}

/// `levels` arrays around `inner`, `[[...inner...]]`.
fn arrays(levels: usize, inner: &str) -> String {
    format!("{}{inner}{}", "[".repeat(levels), "]".repeat(levels))
}

/// `levels` objects around `inner`, `{"k":{"k":...inner...}}`.
fn objects(levels: usize, inner: &str) -> String {
    format!("{}{inner}{}", r#"{"k":"#.repeat(levels), "}".repeat(levels))
}

/// Arrays and objects alternating, `levels` in all, around `inner`.
fn mixed(levels: usize, inner: &str) -> String {
    (0..levels).fold(inner.to_owned(), |acc, i| {
        if i % 2 == 0 {
            format!("[{acc}]")
        } else {
            format!(r#"{{"k":{acc}}}"#)
        }
    })
}

#[test]
fn payloads_nested_up_to_the_limit_are_accepted() {
    // The event array is the first level: its arguments get one less.
    let arg = MAX_PAYLOAD_DEPTH - 1;
    for nested in [arrays(arg, "1"), objects(arg, "1"), mixed(arg, "1")] {
        let text = format!(r#"2["ev",{nested}]"#);
        assert_eq!(ok(&text).data.as_deref(), Some(&text[1..]));
    }
    ok(&format!("3{}", arrays(MAX_PAYLOAD_DEPTH, "")));
    ok(&format!("0{}", objects(MAX_PAYLOAD_DEPTH - 1, "{}")));
    ok(&format!(
        "51-[\"ev\",{}]",
        arrays(arg - 1, r#"{"_placeholder":true,"num":0}"#)
    ));
}

#[test]
fn payloads_nested_deeper_than_the_limit_are_refused() {
    use ParseError::TooDeep;
    let arg = MAX_PAYLOAD_DEPTH;
    for nested in [arrays(arg, "1"), objects(arg, "1"), mixed(arg, "1")] {
        assert_eq!(err(&format!(r#"2["ev",{nested}]"#)), TooDeep, "{nested}");
        assert_eq!(err(&format!(r#"2/admin,7["ev",{nested}]"#)), TooDeep);
    }
    assert_eq!(
        err(&format!("3{}", arrays(MAX_PAYLOAD_DEPTH + 1, ""))),
        TooDeep
    );
    assert_eq!(
        err(&format!("0{}", objects(MAX_PAYLOAD_DEPTH, "{}"))),
        TooDeep
    );
    assert_eq!(
        err(&format!("4{}", objects(MAX_PAYLOAD_DEPTH, "{}"))),
        TooDeep
    );
    assert_eq!(
        err(&format!(
            "61-{}",
            arrays(MAX_PAYLOAD_DEPTH, r#"{"_placeholder":true,"num":0}"#)
        )),
        TooDeep
    );
    // The deep part need not be the first argument, nor the last.
    assert_eq!(
        err(&format!(r#"2["ev",1,{},"x"]"#, mixed(arg, "null"))),
        TooDeep
    );
    // 10,000 levels, which JavaScript code walking the value cannot handle.
    for nested in [
        arrays(10_000, ""),
        objects(10_000, "1"),
        mixed(10_000, "true"),
    ] {
        assert_eq!(err(&format!(r#"2["ev",{nested}]"#)), TooDeep);
        assert_eq!(err(&format!("3[{nested}]")), TooDeep);
    }
    // Also when the deep value is the event name's slot.
    assert_eq!(err(&format!("2[{}]", arrays(10_000, ""))), TooDeep);
    // Too deep and malformed: refused either way.
    assert!(Packet::decode(&format!("2[\"ev\",{}", "[".repeat(10_000))).is_err());
}

#[test]
fn nesting_is_counted_in_the_text_even_under_a_duplicate_key() {
    // Found by the fuzz target's first draft, whose serde_json tree kept
    // only the last value of a duplicate key. `JSON.parse` drops the deep
    // value too, but the validator reads the text as it came.
    let deep = arrays(MAX_PAYLOAD_DEPTH, "");
    assert_eq!(
        err(&format!(r#"2["ev",{{"k":{deep},"k":1}}]"#)),
        ParseError::TooDeep
    );
    ok(&format!(
        r#"2["ev",{{"k":{},"k":1}}]"#,
        arrays(MAX_PAYLOAD_DEPTH - 2, "")
    ));
}

#[test]
fn brackets_inside_strings_are_not_nesting() {
    let deep_text = "[{".repeat(10_000);
    ok(&format!(r#"2["{deep_text}","{deep_text}"]"#));
    ok(&format!(r#"2["ev",{{"{deep_text}":"]]]]"}}]"#));
    // An escaped quote does not end the string; an escaped backslash does
    // not escape the quote after it.
    ok(&format!(r#"2["ev","\"{deep_text}"]"#));
    ok(&format!(r#"2["\\",{}]"#, arrays(MAX_PAYLOAD_DEPTH - 1, "")));
    assert_eq!(
        err(&format!(r#"2["\\",{}]"#, arrays(MAX_PAYLOAD_DEPTH, ""))),
        ParseError::TooDeep
    );
    // A string holding brackets, at the deepest level allowed.
    let nested = arrays(MAX_PAYLOAD_DEPTH - 1, r#""[[[[{{{{""#);
    ok(&format!(r#"2["ev",{nested}]"#));
}

#[test]
fn ids_are_accepted_on_every_kind() {
    // Like the reference parser: an id is read whatever the kind.
    assert_eq!(ok("42{}").id, Some(2));
    assert_eq!(ok("07").id, Some(7));
    assert_eq!(ok("1/admin,3").id, Some(3));
    assert_eq!(ok(r#"2007["a"]"#).id, Some(7));
}

#[test]
fn connect_error_without_payload_is_accepted() {
    assert_eq!(
        ok("4/admin,"),
        packet(PacketKind::ConnectError, "/admin", None, None, 0)
    );
}

#[test]
fn encodes_the_documented_examples() {
    use PacketKind::*;
    assert_eq!(packet(Connect, "/", None, None, 0).encode(), "0");
    assert_eq!(
        packet(Connect, "/admin", None, Some(r#"{"sid":"oSO0"}"#), 0).encode(),
        r#"0/admin,{"sid":"oSO0"}"#
    );
    assert_eq!(
        packet(Disconnect, "/admin", None, None, 0).encode(),
        "1/admin,"
    );
    assert_eq!(
        packet(Event, "/", Some(12), Some(r#"["foo"]"#), 0).encode(),
        r#"212["foo"]"#
    );
    assert_eq!(
        packet(Ack, "/admin", Some(13), Some(r#"["bar"]"#), 0).encode(),
        r#"3/admin,13["bar"]"#
    );
    assert_eq!(
        packet(
            BinaryEvent,
            "/admin",
            None,
            Some(r#"["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            2
        )
        .encode(),
        r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(
        packet(BinaryAck, "/", Some(15), Some("[]"), 1).encode(),
        "61-15[]"
    );
    // An empty namespace is the main one; non-binary kinds drop the count.
    assert_eq!(packet(Event, "", None, Some("[1]"), 3).encode(), "2[1]");
}

#[test]
fn round_trips() {
    let payloads: [(PacketKind, Option<&str>); 11] = [
        (PacketKind::Connect, None),
        (PacketKind::Connect, Some(r#"{"token":"é€😀"}"#)),
        (PacketKind::Disconnect, None),
        (PacketKind::Event, Some(r#"["hello",1,{"a":[true,null]}]"#)),
        (PacketKind::Event, Some(r#"["émoji 😀","日本語"]"#)),
        (PacketKind::Ack, Some("[]")),
        (PacketKind::Ack, Some(r#"["bar",2]"#)),
        (
            PacketKind::ConnectError,
            Some(r#"{"message":"Not authorized"}"#),
        ),
        (PacketKind::ConnectError, Some(r#""nope""#)),
        (
            PacketKind::BinaryEvent,
            Some(r#"["up",{"_placeholder":true,"num":0}]"#),
        ),
        (
            PacketKind::BinaryAck,
            Some(r#"[{"_placeholder":true,"num":0}]"#),
        ),
    ];
    for (kind, data) in payloads {
        for nsp in ["/", "/admin", "/ns/ünï-42"] {
            for id in [None, Some(0), Some(7), Some(u64::MAX)] {
                for attachments in [1, 3, DEFAULT_MAX_ATTACHMENTS] {
                    let attachments = if kind.is_binary() { attachments } else { 0 };
                    let p = packet(kind, nsp, id, data, attachments);
                    let text = p.encode();
                    assert_eq!(Packet::decode(&text), Ok(p), "{text}");
                }
            }
        }
    }
}

#[test]
fn large_payload_round_trips() {
    let big = "x€".repeat(300_000);
    let data = format!(r#"["big","{big}",{{"n":[1,2,3]}}]"#);
    let p = packet(PacketKind::Event, "/chat", Some(99), Some(&data), 0);
    let text = p.encode();
    assert_eq!(text.len(), 1 + "/chat,".len() + 2 + data.len());
    assert_eq!(Packet::decode(&text), Ok(p));
}

#[test]
fn frames_are_allocated_once_at_the_exact_size() {
    let payload = r#"["news",{"_placeholder":true,"num":0}]"#;
    for (kind, nsp, id, attachments) in [
        (PacketKind::Event, "/", None, 0),
        (PacketKind::BinaryEvent, "/room", Some(1234567890), 10),
        (PacketKind::BinaryAck, "/", Some(u64::MAX), 1),
    ] {
        let frame = encode_frame(kind, nsp, id, attachments, Some(payload));
        assert_eq!(
            frame.len(),
            header_len(kind, nsp, id, attachments) + payload.len()
        );
        assert_eq!(frame.capacity(), frame.len());
        let mut header = String::new();
        encode_header(kind, nsp, id, attachments, &mut header);
        assert_eq!(format!("{header}{payload}"), frame);
    }
    assert_eq!(
        encode_frame(PacketKind::BinaryEvent, "/room", Some(5), 2, Some("[1]")),
        "52-/room,5[1]"
    );
    assert_eq!(
        encode_frame(PacketKind::Disconnect, "/", None, 0, None),
        "1"
    );
}

#[test]
fn decimal_helpers() {
    for n in [0, 9, 10, 99, 100, 12345, u64::MAX / 10, u64::MAX] {
        let mut s = String::new();
        push_decimal(n, &mut s);
        assert_eq!(s, n.to_string());
        assert_eq!(decimal_len(n), s.len());
    }
}

#[test]
fn reserved_event_helper() {
    for name in RESERVED_EVENTS {
        assert!(is_reserved_event(name));
    }
    assert!(!is_reserved_event("message"));
}
