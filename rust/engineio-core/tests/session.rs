//! Sessions of the Engine.IO server driven end to end with a fake clock:
//! routing, handshake, long-polling, heartbeat, upgrade, WebSocket, restore
//! and server-side close. The reference behaviour is Node's `engine.io`.

use std::collections::HashSet;

use engineio_core::{
    error_response, Action, CloseReason, ContentType, Data, Engine, EngineConfig, Frame, Method,
    RequestError, Route, Snapshot, Transport, SID_RANDOM_BYTES, UPGRADE_NOOP_DELAY,
};
use test_support::engine::*;

const INTERVAL: u64 = 25_000;
const TIMEOUT: u64 = 20_000;

// ---------------------------------------------------------------------------
// classify()
// ---------------------------------------------------------------------------

#[test]
fn classify_refuses_unknown_transports() {
    let h = Harness::default_config();
    for transport in [
        None,
        Some(""),
        Some("xhr"),
        Some("POLLING"),
        Some("WebSocket"),
        Some("webtransport"),
        Some("polling "),
    ] {
        assert_eq!(
            h.classify(Method::Get, transport, Some("4"), None, false),
            Err(RequestError::UnknownTransport),
            "transport {transport:?}"
        );
    }
}

#[test]
fn classify_refuses_disabled_transports() {
    let h = Harness::new(EngineConfig {
        polling: false,
        ..EngineConfig::default()
    });
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Err(RequestError::UnknownTransport)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::WebSocket))
    );

    let h = Harness::new(EngineConfig {
        websocket: false,
        ..EngineConfig::default()
    });
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Err(RequestError::UnknownTransport)
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_refuses_unknown_sids() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    for unknown in ["", "nope", &sid[1..], &format!("{sid}x")] {
        for (method, transport, upgrade) in [
            (Method::Get, "polling", false),
            (Method::Post, "polling", false),
            (Method::Other, "polling", false),
            (Method::Get, "websocket", true),
            (Method::Get, "websocket", false),
        ] {
            assert_eq!(
                h.classify(method, Some(transport), Some("4"), Some(unknown), upgrade),
                Err(RequestError::UnknownSid),
                "sid {unknown:?} {method:?} {transport}"
            );
        }
    }
}

#[test]
fn classify_routes_requests_of_a_polling_session() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
    assert_eq!(
        h.classify(Method::Post, Some("polling"), Some("4"), Some(&sid), false),
        Ok(Route::Post(sid.clone()))
    );
    assert_eq!(h.classify_upgrade(&sid), Ok(Route::Upgrade(sid.clone())));
    // Like the reference server, EIO is only looked at during the handshake.
    assert_eq!(
        h.classify(Method::Get, Some("polling"), None, Some(&sid), false),
        Ok(Route::Poll(sid.clone()))
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("3"), Some(&sid), false),
        Ok(Route::Poll(sid.clone()))
    );
    // Neither GET nor POST.
    assert_eq!(
        h.classify(Method::Other, Some("polling"), Some("4"), Some(&sid), false),
        Err(RequestError::BadRequest)
    );
    // A WebSocket request without the upgrade header.
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), Some(&sid), false),
        Err(RequestError::BadRequest)
    );
}

#[test]
fn classify_refuses_polling_on_a_websocket_session() {
    let mut h = Harness::default_config();
    let (upgraded, _, _) = h.open_polling();
    h.upgrade(&upgraded);
    let (ws, _) = h.open_ws();
    for sid in [&upgraded, &ws] {
        assert_eq!(h.classify_poll(sid), Err(RequestError::BadRequest));
        assert_eq!(
            h.classify(Method::Post, Some("polling"), Some("4"), Some(sid), false),
            Err(RequestError::BadRequest)
        );
        // A second WebSocket is accepted and closed at once, as the reference
        // server does.
        assert_eq!(h.classify_upgrade(sid), Ok(Route::CloseAtOnce(sid.clone())));
    }
}

#[test]
fn classify_refuses_handshakes_with_another_method_than_get() {
    let h = Harness::default_config();
    for method in [Method::Post, Method::Other] {
        assert_eq!(
            h.classify(method, Some("polling"), Some("4"), None, false),
            Err(RequestError::BadHandshakeMethod)
        );
        assert_eq!(
            h.classify(method, Some("websocket"), Some("4"), None, true),
            Err(RequestError::BadHandshakeMethod)
        );
    }
}

#[test]
fn classify_refuses_websocket_handshake_without_upgrade_header() {
    let h = Harness::default_config();
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, false),
        Err(RequestError::BadRequest)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::WebSocket))
    );
    // A polling handshake does not care about the header.
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, true),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_refuses_other_protocol_versions() {
    let h = Harness::default_config();
    for eio in [
        None,
        Some("3"),
        Some("abc"),
        Some(""),
        Some("04"),
        Some("5"),
        Some("4 "),
    ] {
        for (transport, upgrade) in [("polling", false), ("websocket", true)] {
            assert_eq!(
                h.classify(Method::Get, Some(transport), eio, None, upgrade),
                Err(RequestError::UnsupportedProtocolVersion),
                "EIO {eio:?} over {transport}"
            );
        }
    }
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("4"), None, false),
        Ok(Route::Handshake(Transport::Polling))
    );
}

#[test]
fn classify_checks_transport_then_sid_then_method_then_version() {
    let mut h = Harness::new(EngineConfig {
        websocket: false,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    // Everything wrong: the transport is reported.
    assert_eq!(
        h.classify(
            Method::Post,
            Some("carrier-pigeon"),
            Some("3"),
            Some("nope"),
            false
        ),
        Err(RequestError::UnknownTransport)
    );
    // A disabled transport wins even with a valid sid.
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("4"), Some(&sid), true),
        Err(RequestError::UnknownTransport)
    );
    // Transport fine: the unknown sid is reported before the method and EIO.
    assert_eq!(
        h.classify(
            Method::Other,
            Some("polling"),
            Some("3"),
            Some("nope"),
            false
        ),
        Err(RequestError::UnknownSid)
    );
    // No sid: the method before EIO.
    assert_eq!(
        h.classify(Method::Post, Some("polling"), Some("3"), None, false),
        Err(RequestError::BadHandshakeMethod)
    );
    assert_eq!(
        h.classify(Method::Get, Some("polling"), Some("3"), None, false),
        Err(RequestError::UnsupportedProtocolVersion)
    );

    let h = Harness::default_config();
    // The method before the upgrade header, the header before EIO.
    assert_eq!(
        h.classify(Method::Post, Some("websocket"), None, None, false),
        Err(RequestError::BadHandshakeMethod)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), None, None, false),
        Err(RequestError::BadRequest)
    );
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), None, None, true),
        Err(RequestError::UnsupportedProtocolVersion)
    );
}

#[test]
fn classify_refuses_upgrades_when_not_allowed() {
    let mut h = Harness::new(EngineConfig {
        allow_upgrades: false,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.classify_upgrade(&sid), Err(RequestError::BadRequest));
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );
    // Polling itself goes on.
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
}

#[test]
fn classify_closes_a_second_websocket_while_an_upgrade_is_in_progress() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    let close = Ok(Route::CloseAtOnce(sid.clone()));
    assert_eq!(h.classify_upgrade(&sid), close);
    h.ws_text(&sid, "2probe");
    assert_eq!(h.classify_upgrade(&sid), close);
    // Polling requests are still routed during the upgrade.
    assert_eq!(h.classify_poll(&sid), Ok(Route::Poll(sid.clone())));
}

#[test]
fn error_responses_carry_the_reference_bodies() {
    let cases = [
        (
            RequestError::UnknownTransport,
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            RequestError::UnknownSid,
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            RequestError::BadHandshakeMethod,
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            RequestError::BadRequest,
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            RequestError::Forbidden,
            403,
            r#"{"code":4,"message":"Forbidden"}"#,
        ),
        (
            RequestError::UnsupportedProtocolVersion,
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
    ];
    for (err, status, body) in cases {
        assert_eq!(
            error_response(42, err),
            Action::Respond {
                req: 42,
                status,
                content_type: ContentType::Json,
                body: body.to_owned(),
            }
        );
    }
}

// ---------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------

#[test]
fn polling_handshake_answers_the_open_packet() {
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, actions) = engine.open(1_000, Transport::Polling, Some(7), &[0; SID_RANDOM_BYTES]);
    assert_eq!(sid, "AAAAAAAAAAAAAAAAAAAA");
    assert_eq!(
        actions,
        vec![
            Action::Opened {
                sid: sid.clone(),
                transport: Transport::Polling,
            },
            payload(
                7,
                r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
            ),
            Action::SetAlarm { at: 26_000 },
        ]
    );
    assert!(engine.has_session(&sid));
    assert_eq!(engine.transport_of(&sid), Some(Transport::Polling));
    assert_eq!(engine.clients_count(), 1);
}

#[test]
fn websocket_handshake_sends_the_open_packet_as_first_frame() {
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, actions) = engine.open(5_000, Transport::WebSocket, None, &[0; SID_RANDOM_BYTES]);
    assert_eq!(
        actions,
        vec![
            Action::Opened {
                sid: sid.clone(),
                transport: Transport::WebSocket,
            },
            ws_text_frame(
                &sid,
                r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
            ),
            Action::Persist(Snapshot {
                sid: sid.clone(),
                next_ping_at: 30_000,
                pong_deadline: None,
            }),
            Action::SetAlarm { at: 30_000 },
        ]
    );
    assert_eq!(engine.transport_of(&sid), Some(Transport::WebSocket));
}

#[test]
fn open_packet_announces_no_upgrade_when_upgrades_are_impossible() {
    for config in [
        EngineConfig {
            allow_upgrades: false,
            ..EngineConfig::default()
        },
        EngineConfig {
            websocket: false,
            ..EngineConfig::default()
        },
    ] {
        let mut engine = Engine::new(config);
        let (_, actions) = engine.open(0, Transport::Polling, Some(1), &[0; SID_RANDOM_BYTES]);
        assert_eq!(
            answers(&actions, 1),
            vec![(
                200,
                r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
                    .to_owned()
            )]
        );
    }
}

#[test]
fn open_packet_reflects_the_configuration() {
    let mut engine = Engine::new(EngineConfig {
        ping_interval: 300,
        ping_timeout: 200,
        max_payload: 12_345,
        ..EngineConfig::default()
    });
    let (_, actions) = engine.open(0, Transport::Polling, Some(1), &[0; SID_RANDOM_BYTES]);
    assert_eq!(
        answers(&actions, 1)[0].1,
        r#"0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":12345}"#
    );
    assert_eq!(alarms(&actions), vec![300]);
}

#[test]
fn polling_handshake_without_a_request_only_opens() {
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, actions) = engine.open(0, Transport::Polling, None, &[9; SID_RANDOM_BYTES]);
    assert_eq!(
        actions,
        vec![
            Action::Opened {
                sid,
                transport: Transport::Polling,
            },
            Action::SetAlarm { at: INTERVAL },
        ]
    );
}

#[test]
fn sid_is_the_base64url_encoding_of_the_random_bytes() {
    assert_eq!(
        Engine::sid_from_random(&[0xfb; SID_RANDOM_BYTES]),
        "-_v7-_v7-_v7-_v7-_v7"
    );
    let mut bytes = [0u8; SID_RANDOM_BYTES];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(200);
    }
    let sid = Engine::sid_from_random(&bytes);
    assert_eq!(sid.len(), 20);
    assert!(sid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));

    let mut engine = Engine::new(EngineConfig::default());
    let (opened, _) = engine.open(0, Transport::Polling, None, &bytes);
    assert_eq!(opened, sid);
}

#[test]
fn sids_stay_unique_even_for_equal_random_bytes() {
    let mut engine = Engine::new(EngineConfig::default());
    let (a, _) = engine.open(0, Transport::Polling, None, &[1; SID_RANDOM_BYTES]);
    let (b, _) = engine.open(0, Transport::WebSocket, None, &[1; SID_RANDOM_BYTES]);
    assert_ne!(a, b);
    assert_eq!(engine.clients_count(), 2);
    assert_eq!(engine.transport_of(&a), Some(Transport::Polling));
    assert_eq!(engine.transport_of(&b), Some(Transport::WebSocket));
}

#[test]
fn only_the_earliest_alarm_is_requested() {
    let mut h = Harness::default_config();
    let (_, _, first) = h.open_polling();
    assert_eq!(alarms(&first), vec![26_000]);
    h.advance(10);
    let (_, _, second) = h.open_polling();
    assert_eq!(
        alarms(&second),
        Vec::<u64>::new(),
        "a later deadline keeps the alarm"
    );
    let (_, third) = h.open_ws();
    assert_eq!(alarms(&third), Vec::<u64>::new());

    // After a restart, the driver tells the engine which alarm is set.
    let mut engine = Engine::new(EngineConfig::default());
    engine.set_known_alarm(1_000, Some(10_000));
    let (_, actions) = engine.open(1_000, Transport::Polling, None, &[1; SID_RANDOM_BYTES]);
    assert_eq!(alarms(&actions), Vec::<u64>::new());
    engine.set_known_alarm(1_000, Some(30_000));
    let (_, actions) = engine.open(1_000, Transport::Polling, None, &[2; SID_RANDOM_BYTES]);
    assert_eq!(alarms(&actions), vec![26_000]);
}

// ---------------------------------------------------------------------------
// Long-polling
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Heartbeat
// ---------------------------------------------------------------------------

#[test]
fn ping_slack_is_a_quarter_interval_capped_by_half_the_timeout() {
    assert_eq!(EngineConfig::default().ping_slack(), 6_250);
    let c = EngineConfig {
        ping_interval: 10_000,
        ping_timeout: 2_000,
        ..EngineConfig::default()
    };
    assert_eq!(c.ping_slack(), 1_000);
}

#[test]
fn polling_ping_waits_for_the_interval_minus_slack() {
    let mut h = Harness::default_config();
    let slack = h.config().ping_slack();
    let opened_at = h.now;
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);

    h.now = opened_at + INTERVAL - slack - 1;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![Action::SetAlarm {
            at: opened_at + INTERVAL
        }]
    );

    h.now = opened_at + INTERVAL - slack;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            payload(get, "2"),
            Action::SetAlarm {
                at: h.now + TIMEOUT
            }
        ]
    );
}

#[test]
fn polling_ping_is_buffered_without_a_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.now += INTERVAL;
    let actions = h.tick();
    assert_eq!(without_alarms(&actions), vec![]);
    h.server.send(h.now, &sid, Data::Text("after".into()));
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "2\x1e4after")]);
}

#[test]
fn websocket_ping_is_sent_and_persisted() {
    let mut h = Harness::default_config();
    let opened_at = h.now;
    let (sid, _) = h.open_ws();
    h.now = opened_at + INTERVAL;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            ws_text_frame(&sid, "2"),
            Action::Persist(Snapshot {
                sid: sid.clone(),
                next_ping_at: h.now + INTERVAL,
                pong_deadline: Some(h.now + TIMEOUT),
            }),
            Action::SetAlarm {
                at: h.now + TIMEOUT
            },
        ]
    );
    // No second ping while one is outstanding.
    h.advance(TIMEOUT - 1);
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &sid), Vec::<String>::new());
    assert!(h.server.has_session(&sid));
}

#[test]
fn websocket_pong_clears_the_deadline_and_reschedules_the_ping() {
    let mut h = Harness::default_config();
    let slack = h.config().ping_slack();
    let (sid, _) = h.open_ws();
    h.advance(INTERVAL);
    let pinged_at = h.now;
    h.tick();

    // Late enough that the next ping is outside the slack of the old deadline.
    h.advance(8_000);
    let pong_at = h.now;
    let actions = h.ws_text(&sid, "3");
    assert_eq!(
        actions,
        vec![Action::Persist(Snapshot {
            sid: sid.clone(),
            next_ping_at: pong_at + INTERVAL,
            pong_deadline: None,
        })],
        "the alarm at the old deadline stays: no SetAlarm"
    );

    // The old deadline passes without closing the session.
    h.now = pinged_at + TIMEOUT;
    let actions = h.tick();
    assert!(closes(&actions).is_empty());
    assert!(h.server.has_session(&sid));

    h.now = pong_at + INTERVAL - slack - 1;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![Action::SetAlarm {
            at: pong_at + INTERVAL
        }]
    );
    h.now = pong_at + INTERVAL - slack;
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &sid), vec!["2".to_owned()]);
}

#[test]
fn polling_pong_arrives_by_post() {
    let mut h = Harness::default_config();
    let slack = h.config().ping_slack();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.advance(INTERVAL);
    let pinged_at = h.now;
    assert_eq!(answers(&h.tick(), get), vec![(200, "2".to_owned())]);
    let (get, _) = h.poll(&sid);

    h.advance(8_000);
    let pong_at = h.now;
    let (post, actions) = h.post(&sid, b"3");
    assert_eq!(actions, vec![ok(post)]);

    h.now = pinged_at + TIMEOUT;
    let actions = h.tick();
    assert!(closes(&actions).is_empty(), "the pong cleared the deadline");
    assert_eq!(answers(&actions, get), vec![]);

    h.now = pong_at + INTERVAL - slack;
    let actions = h.tick();
    assert_eq!(answers(&actions, get), vec![(200, "2".to_owned())]);
}

#[test]
fn missing_pong_closes_a_polling_session_at_the_deadline() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.advance(INTERVAL);
    let deadline = h.now + TIMEOUT;
    assert_eq!(answers(&h.tick(), get), vec![(200, "2".to_owned())]);
    let (get, _) = h.poll(&sid);

    h.now = deadline - 1;
    let actions = h.tick();
    assert_eq!(actions, vec![Action::SetAlarm { at: deadline }]);

    h.now = deadline;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![payload(get, "1"), closed(&sid, CloseReason::PingTimeout)]
    );
    assert_eq!(h.server.clients_count(), 0);
    assert_eq!(h.classify_poll(&sid), Err(RequestError::UnknownSid));
}

#[test]
fn missing_pong_closes_a_websocket_session_at_the_deadline() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    h.advance(INTERVAL);
    let deadline = h.now + TIMEOUT;
    h.tick();
    h.now = deadline;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            ws_close(&sid, 1000, "ping timeout"),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
    assert!(!h.server.has_session(&sid));
}

#[test]
fn an_unanswered_ping_waits_for_its_deadline_when_the_timeout_outlasts_the_interval() {
    // pingTimeout longer than pingInterval: while the pong is awaited, the next
    // ping time passes without a ping, and must not ask for alarms in the past
    // (an alarm storm) until the deadline.
    let mut h = Harness::new(EngineConfig {
        ping_interval: 1_000,
        ping_timeout: 2_000,
        ..EngineConfig::default()
    });
    let (sid, _) = h.open_ws();
    h.advance(1_000);
    let pinged_at = h.now;
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &sid), vec!["2".to_owned()]);
    assert_eq!(alarms(&actions), vec![pinged_at + 2_000]);
    // A tick in between (another session's deadline) keeps the deadline.
    h.advance(1_200);
    let actions = h.tick();
    assert_eq!(without_alarms(&actions), vec![]);
    assert_eq!(alarms(&actions), vec![pinged_at + 2_000]);
    h.now = pinged_at + 2_000;
    assert_eq!(
        h.tick(),
        vec![
            ws_close(&sid, 1000, "ping timeout"),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn overdue_polling_session_is_closed_by_a_late_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.advance(INTERVAL);
    h.tick();
    h.advance(TIMEOUT);
    let (get, actions) = h.poll(&sid);
    assert_eq!(
        actions,
        vec![
            closed(&sid, CloseReason::PingTimeout),
            json_error(get, RequestError::UnknownSid),
        ]
    );
    assert!(!h.server.has_session(&sid));
    // The alarm finds nothing more to do.
    assert_eq!(h.tick(), vec![]);
}

#[test]
fn overdue_polling_session_is_closed_by_a_late_post() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.advance(INTERVAL);
    h.tick();
    h.advance(TIMEOUT + 5);
    let (post, actions) = h.post(&sid, b"3");
    assert_eq!(
        actions,
        vec![
            closed(&sid, CloseReason::PingTimeout),
            json_error(post, RequestError::UnknownSid),
        ],
        "a pong after the deadline is too late"
    );
}

#[test]
fn overdue_websocket_session_is_closed_by_a_late_frame() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    h.advance(INTERVAL);
    h.tick();
    h.advance(TIMEOUT);
    let actions = h.ws_text(&sid, "3");
    assert_eq!(
        actions,
        vec![
            ws_close(&sid, 1000, "ping timeout"),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
    // Same for a binary message on another session.
    let (other, _) = h.open_ws();
    h.advance(INTERVAL);
    h.tick();
    h.advance(TIMEOUT);
    let actions = h.ws_binary(&other, &[1, 2]);
    assert_eq!(
        actions,
        vec![
            ws_close(&other, 1000, "ping timeout"),
            closed(&other, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn an_upgrade_of_an_overdue_session_is_refused_and_the_close_still_reported() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.advance(INTERVAL);
    assert_eq!(answers(&h.tick(), get), vec![(200, "2".to_owned())]);
    let (get, _) = h.poll(&sid);
    h.advance(TIMEOUT);

    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::UnknownSid)
    );
    // The session's end reaches the driver (and its held GET is answered).
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![payload(get, "1"), closed(&sid, CloseReason::PingTimeout)]
    );
}

#[test]
fn one_alarm_serves_every_session() {
    let mut h = Harness::default_config();
    let (a, _) = h.open_ws();
    let (b, _) = h.open_ws();
    let (c, _, _) = h.open_polling();
    h.advance(INTERVAL);
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &a), vec!["2".to_owned()]);
    assert_eq!(texts_to(&actions, &b), vec!["2".to_owned()]);
    assert_eq!(alarms(&actions), vec![h.now + TIMEOUT]);
    let alarm = h.now + TIMEOUT;

    // Pongs move every next ping later than the alarm: no new alarm.
    h.advance(14_000);
    assert_eq!(alarms(&h.ws_text(&a, "3")), Vec::<u64>::new());
    assert_eq!(alarms(&h.ws_text(&b, "3")), Vec::<u64>::new());
    let (_, actions) = h.post(&c, b"3");
    assert_eq!(alarms(&actions), Vec::<u64>::new());
    let pongs_at = h.now;

    // The alarm fires: nothing is due, one alarm for the next pings.
    h.now = alarm;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![Action::SetAlarm {
            at: pongs_at + INTERVAL
        }]
    );
    assert_eq!(h.server.clients_count(), 3);
}

#[test]
fn sessions_opened_close_together_share_one_ping_tick() {
    let mut h = Harness::default_config();
    let (a, first) = h.open_ws();
    h.advance(10);
    let (b, second) = h.open_ws();
    assert_eq!(alarms(&first).len(), 1);
    assert_eq!(alarms(&second), Vec::<u64>::new());

    h.now = alarms(&first)[0];
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &a), vec!["2".to_owned()]);
    assert_eq!(texts_to(&actions, &b), vec!["2".to_owned()]);
    assert_eq!(alarms(&actions), vec![h.now + TIMEOUT]);
    // Both now share the same deadline.
    let persisted: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Persist(s) => Some(s.pong_deadline),
            _ => None,
        })
        .collect();
    assert_eq!(persisted, vec![Some(h.now + TIMEOUT); 2]);
}

#[test]
fn tick_sets_the_alarm_to_the_earliest_deadline() {
    let mut h = Harness::default_config();
    let slack = h.config().ping_slack();
    let t0 = h.now;
    let (a, _) = h.open_ws();
    // Just outside the slack of the first session's ping.
    h.now = t0 + slack + 1;
    let (b, _) = h.open_ws();

    h.now = t0 + INTERVAL;
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &a), vec!["2".to_owned()]);
    assert_eq!(texts_to(&actions, &b), Vec::<String>::new());
    // B's ping (t0+slack+1+interval) is before A's pong deadline (t0+interval+timeout).
    assert_eq!(alarms(&actions), vec![t0 + slack + 1 + INTERVAL]);

    h.now = t0 + slack + 1 + INTERVAL;
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &b), vec!["2".to_owned()]);
    assert_eq!(alarms(&actions), vec![t0 + INTERVAL + TIMEOUT]);
}

#[test]
fn tick_without_sessions_sets_no_alarm() {
    let mut h = Harness::default_config();
    assert_eq!(h.tick(), vec![]);
    let (sid, _) = h.open_ws();
    h.server.close(h.now, &sid);
    h.advance(INTERVAL);
    assert_eq!(h.tick(), vec![]);
}

#[test]
fn an_upgrade_deadline_brings_the_alarm_forward() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let actions = h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(actions, vec![Action::SetAlarm { at: h.now + 10_000 }]);

    let mut h = Harness::new(EngineConfig {
        upgrade_timeout: 30_000,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.server.begin_upgrade(h.now, &sid).unwrap(), vec![]);
}

// ---------------------------------------------------------------------------
// Upgrade
// ---------------------------------------------------------------------------

#[test]
fn polling_upgrades_to_websocket() {
    let mut h = Harness::default_config();
    let opened_at = h.now;
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    assert_eq!(h.classify_upgrade(&sid), Ok(Route::Upgrade(sid.clone())));
    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(h.server.transport_of(&sid), Some(Transport::Polling));

    let actions = h.ws_text(&sid, "2probe");
    assert_eq!(
        without_alarms(&actions),
        vec![ws_text_frame(&sid, "3probe")]
    );
    // The held GET gets a noop a little later, so that the client pauses polling.
    assert_eq!(alarms(&actions), vec![h.now + UPGRADE_NOOP_DELAY]);
    h.advance(UPGRADE_NOOP_DELAY - 1);
    assert_eq!(without_alarms(&h.tick()), vec![]);
    h.advance(1);
    assert_eq!(without_alarms(&h.tick()), vec![payload(get, "6")]);

    // Messages sent once polling has paused wait for the new transport.
    assert_eq!(h.server.send(h.now, &sid, Data::Text("a".into())), vec![]);
    assert_eq!(h.server.send(h.now, &sid, Data::Binary(vec![1, 2])), vec![]);
    assert_eq!(h.server.flush(h.now), vec![]);

    h.advance(50);
    let actions = h.ws_text(&sid, "5");
    assert_eq!(
        actions,
        vec![
            ws_text_frame(&sid, "4a"),
            Action::WsSend {
                sid: sid.clone(),
                frame: Frame::Binary(vec![1, 2]),
            },
            Action::Persist(Snapshot {
                sid: sid.clone(),
                next_ping_at: opened_at + INTERVAL,
                pong_deadline: None,
            }),
        ]
    );
    assert_eq!(h.server.transport_of(&sid), Some(Transport::WebSocket));

    // Polling is over, and so are upgrades.
    assert_eq!(h.classify_poll(&sid), Err(RequestError::BadRequest));
    assert_eq!(
        h.classify_upgrade(&sid),
        Ok(Route::CloseAtOnce(sid.clone()))
    );
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );

    // The WebSocket now carries everything.
    assert_eq!(
        h.server.send(h.now, &sid, Data::Text("now".into())),
        vec![ws_text_frame(&sid, "4now")]
    );
    assert_eq!(h.ws_text(&sid, "4up"), vec![message(&sid, "up")]);
    h.now = opened_at + INTERVAL;
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &sid), vec!["2".to_owned()]);
    assert_eq!(
        h.server.ws_closed(h.now, &sid, false),
        vec![closed(&sid, CloseReason::TransportClose)]
    );
}

#[test]
fn a_get_during_the_upgrade_is_answered_with_a_noop_a_little_later() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.ws_text(&sid, "2probe");
    // No GET was held at the probe: the noop due then is dropped.
    h.advance(UPGRADE_NOOP_DELAY);
    assert_eq!(without_alarms(&h.tick()), vec![]);
    h.advance(30);
    let (get, actions) = h.poll(&sid);
    assert_eq!(alarms(&actions), vec![h.now + UPGRADE_NOOP_DELAY]);
    h.advance(UPGRADE_NOOP_DELAY);
    assert_eq!(without_alarms(&h.tick()), vec![payload(get, "6")]);
    // With packets waiting, the GET carries them at once instead.
    h.server.send(h.now, &sid, Data::Text("x".into()));
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "4x")]);
}

#[test]
fn packets_sent_during_the_upgrade_go_over_the_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.ws_text(&sid, "2probe");
    h.advance(UPGRADE_NOOP_DELAY / 2);
    // Like the reference server, polling keeps working until the noop.
    assert_eq!(h.send_text(&sid, "ack"), vec![payload(get, "4ack")]);
    h.advance(UPGRADE_NOOP_DELAY);
    assert_eq!(
        without_alarms(&h.tick()),
        vec![],
        "no noop without a held GET"
    );
    let actions = h.ws_text(&sid, "5");
    assert!(
        answers(&actions, get).is_empty(),
        "the GET was answered once"
    );
    assert!(texts_to(&actions, &sid).is_empty(), "nothing is sent twice");
    assert_eq!(h.server.transport_of(&sid), Some(Transport::WebSocket));
}

#[test]
fn the_upgrade_packet_answers_a_get_still_held() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.begin_upgrade(h.now, &sid).unwrap();
    // Sent but not flushed yet: the GET is still held when the probe arrives.
    h.server.send(h.now, &sid, Data::Text("x".into()));
    assert_eq!(
        without_alarms(&h.ws_text(&sid, "2probe")),
        vec![ws_text_frame(&sid, "3probe")]
    );
    let actions = h.ws_text(&sid, "5");
    assert_eq!(
        without_alarms(&actions)[..2],
        [payload(get, "6"), ws_text_frame(&sid, "4x")]
    );
    assert_eq!(h.server.flush(h.now), vec![], "nothing is sent twice");
}

#[test]
fn a_second_upgrade_attempt_is_refused() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );
    h.ws_text(&sid, "2probe");
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );
    h.ws_text(&sid, "5");
    assert_eq!(
        h.server.begin_upgrade(h.now, &sid),
        Err(RequestError::BadRequest)
    );
    let (ws, _) = h.open_ws();
    assert_eq!(
        h.server.begin_upgrade(h.now, &ws),
        Err(RequestError::BadRequest)
    );
}

/// Checks that `sid` is a working polling session that may upgrade again.
fn assert_still_polling(h: &mut Harness, sid: &str) {
    assert_eq!(h.server.transport_of(sid), Some(Transport::Polling));
    assert_eq!(h.classify_upgrade(sid), Ok(Route::Upgrade(sid.to_owned())));
    let (get, actions) = h.poll(sid);
    assert_eq!(actions, vec![], "the GET is held again, no noop");
    h.server.send(h.now, sid, Data::Text("still".into()));
    assert_eq!(h.server.flush(h.now), vec![payload(get, "4still")]);
    let (post, actions) = h.post(sid, b"4here");
    assert_eq!(actions, vec![message(sid, "here"), ok(post)]);
}

#[test]
fn an_unexpected_packet_on_the_probe_drops_only_the_probe() {
    // Before `2probe`.
    for frame in ["4hello", "5", "2", "2probex", "3probe", "1", "6", "0"] {
        let mut h = Harness::default_config();
        let (sid, _, _) = h.open_polling();
        h.server.begin_upgrade(h.now, &sid).unwrap();
        assert_eq!(
            h.ws_text(&sid, frame),
            vec![ws_close(&sid, 1002, "invalid upgrade")],
            "frame {frame:?}"
        );
        assert_still_polling(&mut h, &sid);
    }
    // After `2probe`, before `5`.
    for frame in ["2probe", "4hello", "3", "1", "6"] {
        let mut h = Harness::default_config();
        let (sid, _, _) = h.open_polling();
        h.server.begin_upgrade(h.now, &sid).unwrap();
        h.ws_text(&sid, "2probe");
        assert_eq!(
            h.ws_text(&sid, frame),
            vec![ws_close(&sid, 1002, "invalid upgrade")],
            "frame {frame:?}"
        );
        assert_still_polling(&mut h, &sid);
    }
    // A binary frame.
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.ws_binary(&sid, &[5]),
        vec![ws_close(&sid, 1002, "invalid upgrade")]
    );
    assert_still_polling(&mut h, &sid);
}

#[test]
fn a_malformed_or_oversized_probe_frame_drops_only_the_probe() {
    let mut h = Harness::new(EngineConfig {
        max_payload: 8,
        ..EngineConfig::default()
    });
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.ws_text(&sid, "abc"),
        vec![ws_close(&sid, 1002, "parse error")]
    );
    assert_still_polling(&mut h, &sid);

    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.ws_text(&sid, "2probe-too-long"),
        vec![ws_close(&sid, 1009, "message too big")]
    );
    assert_still_polling(&mut h, &sid);

    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.ws_binary(&sid, &[0; 9]),
        vec![ws_close(&sid, 1009, "message too big")]
    );
    assert_still_polling(&mut h, &sid);
}

#[test]
fn an_upgrade_that_takes_too_long_drops_the_probe() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let started = h.now;
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.ws_text(&sid, "2probe");

    h.now = started + 10_000 - 1;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![Action::SetAlarm {
            at: started + 10_000
        }]
    );

    h.now = started + 10_000;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            ws_close(&sid, 1000, "upgrade timeout"),
            Action::SetAlarm {
                at: started + INTERVAL
            },
        ]
    );
    assert_still_polling(&mut h, &sid);
    // A late `5` on the dropped probe does not upgrade.
    assert_eq!(
        h.ws_text(&sid, "5"),
        vec![ws_close(&sid, 1002, "invalid upgrade")]
    );
    assert_eq!(h.server.transport_of(&sid), Some(Transport::Polling));
}

#[test]
fn a_closed_probe_keeps_the_polling_session() {
    for error in [false, true] {
        let mut h = Harness::default_config();
        let (sid, _, _) = h.open_polling();
        h.server.begin_upgrade(h.now, &sid).unwrap();
        h.ws_text(&sid, "2probe");
        assert_eq!(h.server.ws_closed(h.now, &sid, error), vec![]);
        assert!(h.server.has_session(&sid));
        assert_still_polling(&mut h, &sid);
    }
    // A WebSocket closing on a polling session that is not upgrading.
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.server.ws_closed(h.now, &sid, true), vec![]);
    assert_still_polling(&mut h, &sid);
}

#[test]
fn a_frame_without_an_upgrade_is_refused() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(
        h.ws_text(&sid, "2probe"),
        vec![ws_close(&sid, 1002, "invalid upgrade")]
    );
    assert_still_polling(&mut h, &sid);
}

#[test]
fn closing_a_session_during_its_upgrade_closes_the_probe() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.begin_upgrade(h.now, &sid).unwrap();
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![
            payload(get, "1"),
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::ForcedClose),
        ]
    );
    // A late frame of the probe.
    assert_eq!(
        h.ws_text(&sid, "2probe"),
        vec![ws_close(&sid, 1000, "unknown session")]
    );
}

#[test]
fn a_close_packet_by_post_during_the_upgrade_closes_the_probe() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.ws_text(&sid, "2probe");
    let (post, actions) = h.post(&sid, b"1");
    assert_eq!(
        actions,
        vec![
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::TransportClose),
            ok(post),
        ]
    );
}

#[test]
fn a_ping_timeout_during_the_upgrade_closes_the_probe() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.advance(INTERVAL);
    h.tick();
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "2")]);
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.advance(TIMEOUT);
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn pings_queued_during_the_upgrade_go_out_on_the_websocket() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    h.advance(INTERVAL - 1_000);
    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.ws_text(&sid, "2probe");
    h.advance(1_000);
    let actions = h.tick();
    assert_eq!(
        without_alarms(&actions),
        vec![],
        "the ping waits in the buffer"
    );
    let actions = h.ws_text(&sid, "5");
    assert_eq!(texts_to(&actions, &sid), vec!["2".to_owned()]);
    assert_eq!(
        actions.last(),
        Some(&Action::Persist(Snapshot {
            sid: sid.clone(),
            next_ping_at: h.now + INTERVAL,
            pong_deadline: Some(h.now + TIMEOUT),
        }))
    );
    assert_eq!(alarms(&h.ws_text(&sid, "3")), Vec::<u64>::new());
}

// ---------------------------------------------------------------------------
// WebSocket
// ---------------------------------------------------------------------------

#[test]
fn websocket_messages_both_ways() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    assert_eq!(h.ws_text(&sid, "4hello"), vec![message(&sid, "hello")]);
    assert_eq!(h.ws_text(&sid, "4"), vec![message(&sid, "")]);
    assert_eq!(h.ws_text(&sid, "4h€llo 𝄞"), vec![message(&sid, "h€llo 𝄞")]);
    assert_eq!(h.ws_text(&sid, "44\x1e4"), vec![message(&sid, "4\x1e4")]);
    assert_eq!(
        h.ws_binary(&sid, &[0, 1, 2, 255]),
        vec![Action::Message {
            sid: sid.clone(),
            data: Data::Binary(vec![0, 1, 2, 255]),
        }]
    );
    assert_eq!(
        h.ws_binary(&sid, &[]),
        vec![Action::Message {
            sid: sid.clone(),
            data: Data::Binary(vec![]),
        }]
    );
    assert_eq!(
        h.server.send(h.now, &sid, Data::Text("hi".into())),
        vec![ws_text_frame(&sid, "4hi")]
    );
    assert_eq!(
        h.server.send(h.now, &sid, Data::Binary(vec![9, 8])),
        vec![Action::WsSend {
            sid: sid.clone(),
            frame: Frame::Binary(vec![9, 8]),
        }]
    );
    assert!(!h.server.needs_flush());
}

#[test]
fn websocket_ignores_noop_open_and_upgrade_packets() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    for frame in ["6", "0", "5", "6probe"] {
        assert_eq!(h.ws_text(&sid, frame), vec![], "frame {frame:?}");
    }
    assert!(h.server.has_session(&sid));
}

#[test]
fn an_invalid_websocket_frame_is_a_parse_error() {
    for frame in ["abc", "", "7", "€", " 4x"] {
        let mut h = Harness::default_config();
        let (sid, _) = h.open_ws();
        assert_eq!(
            h.ws_text(&sid, frame),
            vec![
                ws_close(&sid, 1002, "parse error"),
                closed(&sid, CloseReason::ParseError),
            ],
            "frame {frame:?}"
        );
        assert!(!h.server.has_session(&sid));
    }
}

#[test]
fn an_oversized_websocket_frame_closes_with_1009() {
    let mut h = Harness::new(EngineConfig {
        max_payload: 6,
        ..EngineConfig::default()
    });
    let (sid, _) = h.open_ws();
    assert_eq!(h.ws_text(&sid, "412345"), vec![message(&sid, "12345")]);
    assert_eq!(h.ws_binary(&sid, &[0; 6]).len(), 1);
    assert_eq!(
        h.ws_text(&sid, "4123456"),
        vec![
            ws_close(&sid, 1009, "message too big"),
            closed(&sid, CloseReason::TransportError),
        ]
    );
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.ws_binary(&sid, &[0; 7]),
        vec![
            ws_close(&sid, 1009, "message too big"),
            closed(&sid, CloseReason::TransportError),
        ]
    );
    // The size counts UTF-8 bytes: "4€€" is 7 bytes.
    let (sid, _) = h.open_ws();
    assert_eq!(closes(&h.ws_text(&sid, "4€€")).len(), 1);
}

#[test]
fn a_websocket_close_packet_closes_the_session() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.ws_text(&sid, "1"),
        vec![
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::TransportClose),
        ]
    );
    assert!(!h.server.has_session(&sid));
    // The socket's own close event afterwards changes nothing.
    assert_eq!(h.server.ws_closed(h.now, &sid, false), vec![]);
}

#[test]
fn a_ping_from_a_websocket_client_is_a_transport_error() {
    for frame in ["2", "2probe"] {
        let mut h = Harness::default_config();
        let (sid, _) = h.open_ws();
        assert_eq!(
            h.ws_text(&sid, frame),
            vec![
                ws_close(&sid, 1002, "invalid heartbeat direction"),
                closed(&sid, CloseReason::TransportError),
            ]
        );
    }
}

#[test]
fn a_closed_websocket_ends_its_session() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.server.ws_closed(h.now, &sid, false),
        vec![closed(&sid, CloseReason::TransportClose)]
    );
    assert!(!h.server.has_session(&sid));
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.server.ws_closed(h.now, &sid, true),
        vec![closed(&sid, CloseReason::TransportError)]
    );
    assert_eq!(h.server.ws_closed(h.now, &sid, true), vec![]);
}

#[test]
fn sessions_are_isolated_from_each_other() {
    let mut h = Harness::default_config();
    let (a, _) = h.open_ws();
    let (b, _) = h.open_ws();
    let (c, _, _) = h.open_polling();
    let (get, _) = h.poll(&c);

    let only_a = |actions: &[Action]| {
        for action in actions {
            assert!(
                matches!(sid_of(action), Some(s) if s == a)
                    || matches!(action, Action::SetAlarm { .. }),
                "action {action:?} is not about {a}"
            );
        }
    };
    h.advance(INTERVAL);
    assert_eq!(answers(&h.tick(), get), vec![(200, "2".to_owned())]);
    let (get_c, _) = h.poll(&c);
    for actions in [
        h.ws_text(&a, "4x"),
        h.ws_binary(&a, &[1]),
        h.ws_text(&a, "3"),
        h.ws_text(&a, "6"),
        h.server.send(h.now, &a, Data::Text("to a".into())),
        h.ws_text(&a, "abc"),
    ] {
        only_a(&actions);
        assert!(!actions.iter().any(|x| matches!(x, Action::Respond { .. })));
    }
    assert!(!h.server.has_session(&a));
    assert!(h.server.has_session(&b));
    assert!(h.server.has_session(&c));
    assert_eq!(h.server.flush(h.now), vec![], "C's GET was not touched");

    assert_eq!(h.ws_text(&b, "4y"), vec![message(&b, "y")]);
    let (post, actions) = h.post(&c, b"4z");
    assert_eq!(actions, vec![message(&c, "z"), ok(post)]);
    h.server.send(h.now, &c, Data::Text("for c".into()));
    assert_eq!(h.server.flush(h.now), vec![payload(get_c, "4for c")]);
}

// ---------------------------------------------------------------------------
// restore()
// ---------------------------------------------------------------------------

#[test]
fn a_restored_websocket_session_keeps_pinging() {
    let mut first = Harness::default_config();
    let (sid, actions) = first.open_ws();
    let snapshot = snapshot_of(&actions);
    assert_eq!(snapshot.next_ping_at, first.now + INTERVAL);

    // The engine's memory is lost; a new one takes over.
    let mut h = Harness::default_config();
    h.now = first.now + 5_000;
    let mut actions = Vec::new();
    assert!(h.server.restore(h.now, snapshot.clone(), &mut actions));
    assert_eq!(
        actions,
        vec![Action::SetAlarm {
            at: snapshot.next_ping_at
        }]
    );
    assert_eq!(h.server.transport_of(&sid), Some(Transport::WebSocket));

    h.now = snapshot.next_ping_at;
    let actions = h.tick();
    assert_eq!(
        actions,
        vec![
            ws_text_frame(&sid, "2"),
            Action::Persist(Snapshot {
                sid: sid.clone(),
                next_ping_at: h.now + INTERVAL,
                pong_deadline: Some(h.now + TIMEOUT),
            }),
            Action::SetAlarm {
                at: h.now + TIMEOUT
            },
        ]
    );
    assert_eq!(h.ws_text(&sid, "4back"), vec![message(&sid, "back")]);
    let actions = h.ws_text(&sid, "3");
    assert_eq!(snapshot_of(&actions).pong_deadline, None);
}

#[test]
fn a_restored_session_with_an_outstanding_ping_still_expires() {
    let mut h = Harness::default_config();
    let snapshot = Snapshot {
        sid: "restored-session-id0".into(),
        next_ping_at: 60_000,
        pong_deadline: Some(50_000),
    };
    h.now = 49_999;
    let mut actions = Vec::new();
    assert!(h.server.restore(h.now, snapshot.clone(), &mut actions));
    assert_eq!(actions, vec![Action::SetAlarm { at: 50_000 }]);
    h.now = 50_000;
    assert_eq!(
        h.tick(),
        vec![
            ws_close(&snapshot.sid, 1000, "ping timeout"),
            closed(&snapshot.sid, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn a_restored_session_with_an_outstanding_ping_accepts_the_pong() {
    let mut h = Harness::default_config();
    let snapshot = Snapshot {
        sid: "restored-session-id1".into(),
        next_ping_at: 60_000,
        pong_deadline: Some(50_000),
    };
    h.now = 45_000;
    let mut actions = Vec::new();
    assert!(h.server.restore(h.now, snapshot.clone(), &mut actions));
    assert_eq!(
        h.ws_text(&snapshot.sid, "3"),
        vec![Action::Persist(Snapshot {
            sid: snapshot.sid.clone(),
            next_ping_at: 45_000 + INTERVAL,
            pong_deadline: None,
        })]
    );
    h.now = 50_000;
    assert!(closes(&h.tick()).is_empty());
}

#[test]
fn a_snapshot_past_its_pong_deadline_is_closed_at_once() {
    for late in [0, 1, 100_000] {
        let mut h = Harness::default_config();
        let snapshot = Snapshot {
            sid: "expired-session-id00".into(),
            next_ping_at: 60_000,
            pong_deadline: Some(50_000),
        };
        h.now = 50_000 + late;
        let mut actions = Vec::new();
        assert!(!h.server.restore(h.now, snapshot.clone(), &mut actions));
        assert_eq!(
            actions,
            vec![
                ws_close(&snapshot.sid, 1000, "ping timeout"),
                closed(&snapshot.sid, CloseReason::PingTimeout),
            ]
        );
        assert!(!h.server.has_session(&snapshot.sid));
        assert_eq!(h.server.clients_count(), 0);
    }
}

#[test]
fn a_snapshot_whose_ping_is_overdue_is_pinged_by_the_next_tick() {
    let mut h = Harness::default_config();
    let snapshot = Snapshot {
        sid: "overdue-ping-session".into(),
        next_ping_at: 10_000,
        pong_deadline: None,
    };
    h.now = 90_000;
    let mut actions = Vec::new();
    assert!(h.server.restore(h.now, snapshot.clone(), &mut actions));
    assert_eq!(actions, vec![Action::SetAlarm { at: 10_000 }]);
    let actions = h.tick();
    assert_eq!(texts_to(&actions, &snapshot.sid), vec!["2".to_owned()]);
}

#[test]
fn restoring_a_live_session_changes_nothing() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    h.advance(INTERVAL);
    h.tick();
    let mut actions = Vec::new();
    let stale = Snapshot {
        sid: sid.clone(),
        next_ping_at: 0,
        pong_deadline: Some(0),
    };
    assert!(h.server.restore(h.now, stale, &mut actions));
    assert_eq!(actions, vec![]);
    // The live state (outstanding ping due at now+timeout) is kept.
    h.advance(TIMEOUT - 1);
    assert!(closes(&h.tick()).is_empty());
    h.advance(1);
    assert_eq!(
        closes(&h.tick()),
        vec![(sid.clone(), CloseReason::PingTimeout)]
    );
}

// ---------------------------------------------------------------------------
// close()
// ---------------------------------------------------------------------------

#[test]
fn server_close_of_a_websocket_session() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::ForcedClose),
        ]
    );
    assert!(!h.server.has_session(&sid));
    assert_eq!(h.server.close(h.now, &sid), vec![]);
    assert_eq!(h.server.send(h.now, &sid, Data::Text("x".into())), vec![]);
}

#[test]
fn server_close_of_a_polling_session_answers_the_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![payload(get, "1"), closed(&sid, CloseReason::ForcedClose)]
    );
    let (late, actions) = h.poll(&sid);
    assert_eq!(actions, vec![json_error(late, RequestError::UnknownSid)]);
}

#[test]
fn server_close_delivers_buffered_packets_before_the_close_packet() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.send(h.now, &sid, Data::Text("1".into()));
    h.server.send(h.now, &sid, Data::Binary(vec![7]));
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![
            payload(get, "41\x1ebBw=="),
            closed(&sid, CloseReason::ForcedClose),
        ]
    );
    assert_eq!(h.server.flush(h.now), vec![]);
    // The close packet waits for the next GET, alone.
    let (next, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(next, "1")]);
}

#[test]
fn server_close_of_a_polling_session_without_a_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![closed(&sid, CloseReason::ForcedClose)]
    );
    assert_eq!(h.server.clients_count(), 0);
    // The next GET learns of the close; the one after gets a 400.
    let (next, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(next, "1")]);
    let (last, actions) = h.poll(&sid);
    assert_eq!(
        actions,
        vec![engineio_core::error_response(
            last,
            RequestError::UnknownSid
        )]
    );
}

// ---------------------------------------------------------------------------
// Arbitrary input
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const FRAGMENTS: &[&str] = &[
    "",
    "\x1e",
    "\x1e\x1e",
    "b",
    "b=",
    "bAQID",
    "bAQIDBA==",
    "b!!",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "9",
    "probe",
    "2probe",
    "3probe",
    "hello",
    "€",
    "𝄞",
    "\u{0}",
    "\u{feff}",
    "99999999999999999999999999999",
    "-1",
    "{\"sid\":1}",
    " ",
    "\n",
    "é",
];

fn odd_string(rng: &mut Rng) -> String {
    let n = rng.below(6);
    (0..n).map(|_| rng.pick(FRAGMENTS)).collect()
}

fn odd_bytes(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = odd_string(rng).into_bytes();
    if rng.below(3) == 0 {
        let at = rng.below(bytes.len() + 1);
        let junk: &[u8] = match rng.below(4) {
            0 => &[0xff],
            1 => &[0xc3],
            2 => &[0xe2, 0x82],
            _ => &[0x80, 0x80],
        };
        bytes.splice(at..at, junk.iter().copied());
    }
    bytes
}

fn reason_index(reason: CloseReason) -> usize {
    match reason {
        CloseReason::TransportClose => 0,
        CloseReason::TransportError => 1,
        CloseReason::PingTimeout => 2,
        CloseReason::ParseError => 3,
        CloseReason::ForcedClose => 4,
    }
}

/// Bookkeeping that checks the actions of every call as they come.
#[derive(Default)]
struct Ledger {
    open: HashSet<String>,
    pending: HashSet<u32>,
    answered: usize,
    /// Closes per reason, indexed by `reason_index`.
    closes: [usize; 5],
}

impl Ledger {
    fn issue(&mut self, req: u32) {
        assert!(self.pending.insert(req));
    }

    fn check(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Opened { sid, .. } => {
                    assert!(self.open.insert(sid.clone()), "opened twice: {sid}")
                }
                Action::Closed { sid, reason } => {
                    assert!(self.open.remove(sid), "closed a session not open: {sid}");
                    self.closes[reason_index(*reason)] += 1;
                }
                Action::Respond { req, status, .. } => {
                    assert!(
                        self.pending.remove(req),
                        "request {req} answered twice or never issued"
                    );
                    assert!([200, 400, 403, 413].contains(status));
                    self.answered += 1;
                }
                Action::Message { sid, .. } | Action::WsSend { sid, .. } => {
                    assert!(self.open.contains(sid), "{action:?} for a closed session")
                }
                Action::Persist(s) => assert!(self.open.contains(&s.sid)),
                Action::WsSendMany { sids, .. } => {
                    for sid in sids {
                        assert!(self.open.contains(sid), "{action:?} for a closed session")
                    }
                }
                Action::WsClose { .. } | Action::SetAlarm { .. } => {}
            }
        }
    }
}

#[test]
fn arbitrary_input_never_panics_and_keeps_the_books_straight() {
    let config = EngineConfig {
        ping_interval: 1_000,
        ping_timeout: 500,
        max_payload: 48,
        upgrade_timeout: 300,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ledger = Ledger::default();
    let mut now: u64 = 1;
    let mut next_req: u32 = 1;
    let methods = [Method::Get, Method::Post, Method::Other];
    let transports = ["polling", "websocket", "", "xhr"];

    for step in 0..30_000 {
        now += rng.below(40) as u64;
        let mut sids: Vec<String> = ledger.open.iter().cloned().collect();
        sids.sort();
        let sid = if sids.is_empty() || rng.below(8) == 0 {
            odd_string(&mut rng)
        } else {
            sids[rng.below(sids.len())].clone()
        };
        let actions = match rng.below(16) {
            0 | 1 => {
                let transport = if rng.below(2) == 0 {
                    Transport::Polling
                } else {
                    Transport::WebSocket
                };
                let mut random = [0u8; SID_RANDOM_BYTES];
                for b in random.iter_mut() {
                    *b = rng.below(256) as u8;
                }
                let req = (transport == Transport::Polling).then(|| {
                    next_req += 1;
                    next_req
                });
                if let Some(r) = req {
                    ledger.issue(r);
                }
                engine.open(now, transport, req, &random).1
            }
            2 => {
                next_req += 1;
                ledger.issue(next_req);
                engine.poll(now, &sid, next_req)
            }
            3 | 4 => {
                next_req += 1;
                ledger.issue(next_req);
                let content_type =
                    [None, Some("text/plain"), Some("application/octet-stream")][rng.below(3)];
                let actions = engine.post(now, &sid, next_req, content_type, &odd_bytes(&mut rng));
                assert!(
                    !answers(&actions, next_req).is_empty(),
                    "a POST is always answered at once"
                );
                actions
            }
            5 | 6 => engine.ws_text(now, &sid, &odd_string(&mut rng)),
            7 => engine.ws_binary(now, &sid, &odd_bytes(&mut rng)),
            8 => engine.begin_upgrade(now, &sid).unwrap_or_default(),
            9 => engine.ws_closed(now, &sid, rng.below(2) == 0),
            10 => {
                let mut a = engine.send(now, &sid, Data::Text(odd_string(&mut rng)));
                a.extend(engine.send(now, &sid, Data::Binary(odd_bytes(&mut rng))));
                a
            }
            11 => engine.flush(now),
            12 => {
                now += rng.below(800) as u64;
                engine.tick(now)
            }
            13 => {
                if rng.below(4) == 0 {
                    engine.close(now, &sid)
                } else {
                    engine.ws_text(now, &sid, rng.pick(&["2probe", "5", "3", "4x"]))
                }
            }
            14 => {
                let eio = odd_string(&mut rng);
                let transport = rng.pick(&transports);
                let info = engineio_core::RequestInfo {
                    method: methods[rng.below(3)],
                    transport: (rng.below(5) != 0).then_some(transport),
                    eio: (rng.below(3) != 0).then_some(if rng.below(2) == 0 { "4" } else { &eio }),
                    sid: (rng.below(2) == 0).then_some(sid.as_str()),
                    websocket_upgrade: rng.below(2) == 0,
                };
                match engine.classify(&info) {
                    Ok(Route::Poll(s))
                    | Ok(Route::Post(s))
                    | Ok(Route::Upgrade(s))
                    | Ok(Route::CloseAtOnce(s)) => {
                        assert!(engine.has_session(&s));
                        assert_eq!(Some(s.as_str()), info.sid);
                    }
                    Ok(Route::Handshake(_)) => assert_eq!(info.sid, None),
                    Err(_) => {}
                }
                Vec::new()
            }
            _ => {
                let snapshot = Snapshot {
                    sid: format!("snap{}", rng.below(50)),
                    next_ping_at: now.saturating_sub(1_000) + rng.below(2_000) as u64,
                    pong_deadline: (rng.below(2) == 0)
                        .then(|| now.saturating_sub(500) + rng.below(1_000) as u64),
                };
                // A restored session was opened earlier, by another engine.
                let known = ledger.open.contains(&snapshot.sid);
                ledger.open.insert(snapshot.sid.clone());
                let mut actions = Vec::new();
                let kept = engine.restore(now, snapshot, &mut actions);
                assert!(kept || !known, "a live session is never refused");
                actions
            }
        };
        ledger.check(&actions);
        assert_eq!(
            engine.clients_count(),
            ledger.open.len(),
            "step {step}: the engine and the ledger disagree"
        );
    }

    // Closing everything answers every request still held.
    let sids: Vec<String> = ledger.open.iter().cloned().collect();
    for sid in sids {
        let actions = engine.close(now, &sid);
        ledger.check(&actions);
    }
    assert_eq!(engine.clients_count(), 0);
    assert!(
        ledger.pending.is_empty(),
        "unanswered: {:?}",
        ledger.pending
    );
    // The run went through the interesting paths.
    assert!(ledger.answered > 1_000);
    for reason in [
        CloseReason::TransportClose,
        CloseReason::TransportError,
        CloseReason::PingTimeout,
        CloseReason::ParseError,
        CloseReason::ForcedClose,
    ] {
        assert!(
            ledger.closes[reason_index(reason)] > 0,
            "no session closed with {reason:?}"
        );
    }
}

#[test]
fn odd_strings_and_bytes_never_panic_on_any_entry_point() {
    let mut rng = Rng(42);
    let mut h = Harness::new(EngineConfig {
        max_payload: 32,
        ..EngineConfig::default()
    });
    for _ in 0..3_000 {
        let text = odd_string(&mut rng);
        let bytes = odd_bytes(&mut rng);
        let (ws, _) = h.open_ws();
        let (polling, _, _) = h.open_polling();
        let _ = h.server.begin_upgrade(h.now, &polling);
        for sid in [ws.as_str(), polling.as_str(), text.as_str()] {
            h.ws_text(sid, &text);
            h.ws_binary(sid, &bytes);
            h.post(sid, &bytes);
            h.post(sid, text.as_bytes());
            h.poll(sid);
            let _ = h.classify(Method::Get, Some(&text), Some(&text), Some(sid), true);
            let _ = h.classify(Method::Post, Some("polling"), Some(&text), Some(sid), false);
            h.server.send(h.now, sid, Data::Text(text.clone()));
            h.server.flush(h.now);
        }
        h.advance(rng.below(10_000) as u64);
        h.tick();
        h.server.close(h.now, &ws);
        h.server.close(h.now, &polling);
        assert!(!h.server.has_session(&ws) && !h.server.has_session(&polling));
    }
    assert_eq!(h.server.clients_count(), 0);
}

#[test]
fn a_server_close_without_a_held_get_is_delivered_to_the_next_get() {
    use engineio_core::{
        Action, Data, Engine, EngineConfig, Method, RequestError, RequestInfo, Route, Transport,
    };
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, _) = engine.open(1_000, Transport::Polling, Some(1), &[7; 15]);
    engine.send(1_000, &sid, Data::Text("2bye".into()));
    let closed = engine.close(1_000, &sid);
    assert!(closed
        .iter()
        .any(|a| matches!(a, Action::Closed { sid: s, .. } if *s == sid)));
    assert_eq!(engine.clients_count(), 0);
    let get = RequestInfo {
        method: Method::Get,
        transport: Some("polling"),
        eio: Some("4"),
        sid: Some(&sid),
        websocket_upgrade: false,
    };
    assert_eq!(engine.classify(&get), Ok(Route::Poll(sid.clone())));
    let answer = engine.poll(1_010, &sid, 2);
    assert!(matches!(
        answer.as_slice(),
        [Action::Respond { req: 2, status: 200, body, .. }] if body == "42bye"
    ));
    // The close packet comes alone, in the following response.
    assert_eq!(engine.classify(&get), Ok(Route::Poll(sid.clone())));
    let answer = engine.poll(1_020, &sid, 3);
    assert!(matches!(
        answer.as_slice(),
        [Action::Respond { req: 3, status: 200, body, .. }] if body == "1"
    ));
    // Delivered once: afterwards the sid is unknown.
    assert_eq!(engine.classify(&get), Err(RequestError::UnknownSid));
}

#[test]
fn undelivered_close_packets_expire_after_a_ping_interval() {
    use engineio_core::{Data, Engine, EngineConfig, Method, RequestError, RequestInfo, Transport};
    let config = EngineConfig::default();
    let interval = config.ping_interval;
    let mut engine = Engine::new(config);
    let (sid, _) = engine.open(0, Transport::Polling, Some(1), &[9; 15]);
    engine.send(0, &sid, Data::Text("2bye".into()));
    engine.close(0, &sid);
    engine.tick(10);
    engine.tick(10 + interval + 1);
    let get = RequestInfo {
        method: Method::Get,
        transport: Some("polling"),
        eio: Some("4"),
        sid: Some(&sid),
        websocket_upgrade: false,
    };
    assert_eq!(engine.classify(&get), Err(RequestError::UnknownSid));
}

#[test]
fn a_server_close_during_an_upgrade_is_delivered_on_the_new_websocket() {
    use engineio_core::{Action, Data, Engine, EngineConfig, Frame, Transport};
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, _) = engine.open(0, Transport::Polling, Some(1), &[3; 15]);
    engine.begin_upgrade(5, &sid).unwrap();
    engine.ws_text(6, &sid, "2probe");
    engine.send(6, &sid, Data::Text("1".into()));
    let closed = engine.close(6, &sid);
    // The probe stays open: no WsClose yet.
    assert!(!closed.iter().any(|a| matches!(a, Action::WsClose { .. })));
    let done = engine.ws_text(7, &sid, "5");
    assert_eq!(
        done,
        vec![
            Action::WsSend {
                sid: sid.clone(),
                frame: Frame::Text("41".into())
            },
            Action::WsClose {
                sid: sid.clone(),
                code: 1000,
                reason: ""
            },
        ]
    );
}
