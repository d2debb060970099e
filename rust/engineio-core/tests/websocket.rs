//! WebSocket sessions: messages both ways, malformed and oversized frames,
//! closes. The engine is driven end to end with a fake clock; the reference
//! behaviour is Node's `engine.io`.

use engineio_core::{Action, CloseReason, Data, EngineConfig, Frame};
use test_support::engine::*;

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
