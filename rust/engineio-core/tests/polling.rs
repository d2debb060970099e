//! Long-polling: held GETs, POSTs, their limits, and the requests that break
//! the transport. The engine is driven end to end with a fake clock; the
//! reference behaviour is Node's `engine.io`.

use engineio_core::{Action, CloseReason, Data, EngineConfig, RequestError, Transport};
use test_support::engine::*;

#[test]
fn a_get_is_held_until_a_send_is_flushed() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![]);
    assert!(!h.server.needs_flush());

    let actions = h.server.send(h.now, &sid, Data::Text("hello".into()));
    assert_eq!(actions, vec![], "polling packets wait for flush()");
    assert!(h.server.needs_flush());
    assert_eq!(h.server.flush(h.now), vec![payload(get, "4hello")]);
    assert!(!h.server.needs_flush());
    assert_eq!(h.server.flush(h.now), vec![]);
}

#[test]
fn several_sends_are_answered_in_one_payload() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.send(h.now, &sid, Data::Text("a".into()));
    h.server.send(h.now, &sid, Data::Binary(vec![1, 2, 3, 4]));
    h.server.send(h.now, &sid, Data::Text("héllo €".into()));
    h.server.send(h.now, &sid, Data::Text(String::new()));
    h.server.send(h.now, &sid, Data::Binary(vec![]));
    assert_eq!(
        h.server.flush(h.now),
        vec![payload(get, "4a\x1ebAQIDBA==\x1e4héllo €\x1e4\x1eb")]
    );
}

#[test]
fn a_get_is_answered_at_once_when_packets_are_waiting() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.send(h.now, &sid, Data::Text("one".into()));
    h.server.send(h.now, &sid, Data::Text("two".into()));
    assert!(!h.server.needs_flush(), "no GET is held");
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "4one\x1e4two")]);
    // The buffer is empty again: the next GET waits.
    let (_, actions) = h.poll(&sid);
    assert_eq!(actions, vec![]);
}

#[test]
fn a_post_delivers_its_packets_in_order() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (post, actions) = h.post(&sid, "4first\x1ebAQID\x1e4\x1e6\x1e4last €".as_bytes());
    assert_eq!(
        actions,
        vec![
            message(&sid, "first"),
            Action::Message {
                sid: sid.clone(),
                data: Data::Binary(vec![1, 2, 3]),
            },
            message(&sid, ""),
            message(&sid, "last €"),
            ok(post),
        ]
    );
    assert!(h.server.has_session(&sid));
}

#[test]
fn a_post_up_to_max_payload_is_accepted() {
    let mut h = Harness::new(EngineConfig {
        max_payload: 10,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    let (post, actions) = h.post(&sid, b"4123456789");
    assert_eq!(actions, vec![message(&sid, "123456789"), ok(post)]);
}

#[test]
fn a_post_larger_than_max_payload_closes_the_session() {
    let mut h = Harness::new(EngineConfig {
        max_payload: 10,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    let (post, actions) = h.post(&sid, b"41234567890");
    assert_eq!(
        actions,
        vec![
            empty_status(post, 413),
            payload(get, "1"),
            closed(&sid, CloseReason::TransportError),
        ]
    );
    assert!(!h.server.has_session(&sid));
    assert_eq!(h.classify_poll(&sid), Err(RequestError::UnknownSid));
}

#[test]
fn a_binary_post_is_refused_and_closes_the_session() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    let req = h.req();
    let actions = h.server.post(
        h.now,
        &sid,
        req,
        Some("Application/Octet-Stream"),
        b"4hello",
    );
    assert_eq!(
        actions,
        vec![
            empty_status(req, 400),
            payload(get, "1"),
            closed(&sid, CloseReason::TransportError),
        ]
    );
    assert!(!h.server.has_session(&sid));
    // Text is read whatever else the type says.
    let (sid, _, _) = h.open_polling();
    let req = h.req();
    let actions = h
        .server
        .post(h.now, &sid, req, Some("text/plain;charset=UTF-8"), b"4hi");
    assert_eq!(actions, vec![message(&sid, "hi"), ok(req)]);
}

#[test]
fn a_post_that_is_not_utf8_is_read_with_replacement_characters() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (req, actions) = h.post(&sid, b"4a\xffb\x1e4\xc3");
    assert_eq!(
        actions,
        vec![
            message(&sid, "a\u{fffd}b"),
            message(&sid, "\u{fffd}"),
            ok(req)
        ]
    );
    assert!(h.server.has_session(&sid));
}

#[test]
fn malformed_posts_close_the_session_with_a_parse_error() {
    let bodies: [&[u8]; 8] = [
        b"abc",
        b"",
        b"b!!!",
        b"bAQ=D",
        &[0xff, 0xfe, 0x34],
        b"4ok\x1e",
        b"\x1e4ok",
        b"4ok\x1e7",
    ];
    for body in bodies {
        let mut h = Harness::default_config();
        let (sid, _, _) = h.open_polling();
        let (post, actions) = h.post(&sid, body);
        assert_eq!(
            actions,
            vec![
                json_error(post, RequestError::BadRequest),
                closed(&sid, CloseReason::ParseError),
            ],
            "body {body:?}"
        );
        assert!(!h.server.has_session(&sid));
    }
}

#[test]
fn a_malformed_post_answers_the_held_get_with_a_close_packet() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    let (post, actions) = h.post(&sid, b"4fine\x1ezzz");
    assert_eq!(
        actions,
        vec![
            json_error(post, RequestError::BadRequest),
            payload(get, "1"),
            closed(&sid, CloseReason::ParseError),
        ],
        "no packet of a malformed payload is delivered"
    );
}

#[test]
fn two_concurrent_gets_close_the_session() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (first, actions) = h.poll(&sid);
    assert_eq!(actions, vec![]);
    let (second, actions) = h.poll(&sid);
    assert_eq!(answers(&actions, first), vec![(200, "1".to_owned())]);
    assert_eq!(answers(&actions, second), vec![(400, String::new())]);
    assert_eq!(
        closes(&actions),
        vec![(sid.clone(), CloseReason::TransportError)]
    );
    assert_eq!(actions.len(), 3);
    assert!(!h.server.has_session(&sid));
    let (third, actions) = h.poll(&sid);
    assert_eq!(actions, vec![json_error(third, RequestError::UnknownSid)]);
}

#[test]
fn a_close_packet_ends_the_pending_get_with_a_noop() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    let (post, actions) = h.post(&sid, b"1");
    assert_eq!(
        actions,
        vec![
            payload(get, "6"),
            closed(&sid, CloseReason::TransportClose),
            ok(post),
        ]
    );
    assert_eq!(h.classify_poll(&sid), Err(RequestError::UnknownSid));
    let (late, actions) = h.post(&sid, b"4late");
    assert_eq!(actions, vec![json_error(late, RequestError::UnknownSid)]);
}

#[test]
fn packets_after_a_close_packet_are_dropped() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (post, actions) = h.post(&sid, b"4before\x1e1\x1e4after");
    assert_eq!(
        actions,
        vec![
            message(&sid, "before"),
            closed(&sid, CloseReason::TransportClose),
            ok(post),
        ]
    );
}

#[test]
fn a_ping_from_a_polling_client_is_a_transport_error() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    let (post, actions) = h.post(&sid, b"2");
    assert_eq!(
        actions,
        vec![
            payload(get, "1"),
            closed(&sid, CloseReason::TransportError),
            ok(post),
        ]
    );
}

#[test]
fn noop_open_and_upgrade_packets_over_polling_are_ignored() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (post, actions) = h.post(&sid, b"6\x1e0\x1e5\x1e6x");
    assert_eq!(actions, vec![ok(post)]);
    assert_eq!(h.server.transport_of(&sid), Some(Transport::Polling));
}

#[test]
fn requests_for_unknown_sessions_get_unknown_sid() {
    let mut h = Harness::default_config();
    let (get, actions) = h.poll("nope");
    assert_eq!(actions, vec![json_error(get, RequestError::UnknownSid)]);
    let (post, actions) = h.post("nope", b"4x");
    assert_eq!(actions, vec![json_error(post, RequestError::UnknownSid)]);
    assert_eq!(h.server.send(h.now, "nope", Data::Text("x".into())), vec![]);
    assert_eq!(
        h.server.begin_upgrade(h.now, "nope"),
        Err(RequestError::UnknownSid)
    );
    assert_eq!(h.server.close(h.now, "nope"), vec![]);
    assert_eq!(h.server.ws_closed(h.now, "nope", false), vec![]);
    assert_eq!(
        h.ws_text("nope", "4x"),
        vec![ws_close("nope", 1000, "unknown session")]
    );
}
