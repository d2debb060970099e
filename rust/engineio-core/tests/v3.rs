//! Engine.IO protocol v3 sessions (`allowEIO3`): the handshake, the framing of
//! polling payloads and binary frames, the heartbeat the client drives, and
//! malformed v3 input. The reference is Node's `engine.io` with `allowEIO3: true`.

use engineio_core::{
    Action, CloseReason, Data, EngineConfig, Frame, Method, Protocol, RequestError, Route,
    Snapshot, Transport,
};
use test_support::engine::*;

fn v3_config() -> EngineConfig {
    EngineConfig {
        allow_eio3: true,
        ..EngineConfig::default()
    }
}

/// How long a v3 session lives without a ping (pingInterval + pingTimeout).
const WINDOW: u64 = INTERVAL + TIMEOUT;

fn open_v3_polling(h: &mut Harness) -> (String, Vec<Action>) {
    let (sid, _, actions) = open_v3_polling_req(h);
    (sid, actions)
}

fn open_v3_polling_req(h: &mut Harness) -> (String, u32, Vec<Action>) {
    let req = h.req();
    let random = h.random();
    let (sid, actions) =
        h.server
            .open_protocol(h.now, Transport::Polling, Protocol::V3, Some(req), &random);
    (sid, req, actions)
}

fn open_v3_ws(h: &mut Harness) -> (String, Vec<Action>) {
    let random = h.random();
    h.server
        .open_protocol(h.now, Transport::WebSocket, Protocol::V3, None, &random)
}

fn post_typed(h: &mut Harness, sid: &str, content_type: &str, body: &[u8]) -> (u32, Vec<Action>) {
    let req = h.req();
    let actions = h.server.post(h.now, sid, req, Some(content_type), body);
    (req, actions)
}

#[test]
fn v3_handshakes_are_refused_unless_allowed() {
    let h = Harness::default_config();
    for eio in [Some("3"), None, Some("2")] {
        assert_eq!(
            h.classify(Method::Get, Some("polling"), eio, None, false),
            Err(RequestError::UnsupportedProtocolVersion)
        );
    }
    let h = Harness::new(v3_config());
    for eio in [Some("3"), Some("4"), None] {
        assert_eq!(
            h.classify(Method::Get, Some("polling"), eio, None, false),
            Ok(Route::Handshake(Transport::Polling))
        );
    }
    assert_eq!(
        h.classify(Method::Get, Some("websocket"), Some("3"), None, true),
        Ok(Route::Handshake(Transport::WebSocket))
    );
}

#[test]
fn the_open_packet_is_length_prefixed_over_polling() {
    let mut h = Harness::new(v3_config());
    let (sid, req, actions) = open_v3_polling_req(&mut h);
    let body = body_of(&actions, req).unwrap_or_default();
    let open = format!(
        "0{{\"sid\":\"{sid}\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    assert_eq!(body, format!("{}:{open}", open.len()));
    assert_eq!(h.server.protocol_of(&sid), Some(Protocol::V3));
}

#[test]
fn polling_payloads_use_v3_framing_both_ways() {
    let mut h = Harness::new(v3_config());
    let (sid, _) = open_v3_polling(&mut h);
    let (post, actions) = h.post(&sid, "6:4hello3:4€!".as_bytes());
    assert_eq!(
        actions,
        vec![
            Action::Message {
                sid: sid.clone(),
                data: Data::Text("hello".into()),
            },
            Action::Message {
                sid: sid.clone(),
                data: Data::Text("€!".into()),
            },
            ok(post),
        ]
    );
    h.server.send(h.now, &sid, Data::Text("😀".into()));
    h.server.send(h.now, &sid, Data::Binary(vec![1, 2, 3]));
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "3:4😀6:b4AQID")]);
}

#[test]
fn binary_posts_are_decoded() {
    let mut h = Harness::new(v3_config());
    let (sid, _) = open_v3_polling(&mut h);
    let mut body = vec![0, 2, 255, b'4', b'x', 1, 3, 255, 4, 9, 8];
    body.extend_from_slice(&[0, 1, 255, b'2']);
    let (post, actions) = post_typed(&mut h, &sid, "application/octet-stream", &body);
    assert_eq!(
        essential(&actions),
        vec![
            Action::Message {
                sid: sid.clone(),
                data: Data::Text("x".into()),
            },
            Action::Message {
                sid: sid.clone(),
                data: Data::Binary(vec![9, 8]),
            },
            ok(post),
        ]
    );
    // The ping in the payload was answered.
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "1:3")]);
}

#[test]
fn malformed_payloads_are_answered_400_and_close_the_session() {
    for body in [&b"4hello"[..], b"x:4a", b"9:4short", b"2:4a1", b"1:7", b""] {
        let mut h = Harness::new(v3_config());
        let (sid, _) = open_v3_polling(&mut h);
        let (post, actions) = h.post(&sid, body);
        assert_eq!(
            actions,
            vec![
                json_error(post, RequestError::BadRequest),
                closed(&sid, CloseReason::ParseError),
            ],
            "{body:?}"
        );
        assert!(!h.server.has_session(&sid));
    }
    let mut h = Harness::new(v3_config());
    let (sid, _) = open_v3_polling(&mut h);
    let (post, actions) = post_typed(&mut h, &sid, "application/octet-stream", &[0, 9, 255, b'4']);
    assert_eq!(
        actions,
        vec![
            json_error(post, RequestError::BadRequest),
            closed(&sid, CloseReason::ParseError),
        ]
    );
}

#[test]
fn v4_sessions_of_the_same_server_keep_v4_framing() {
    let mut h = Harness::new(v3_config());
    let (sid, _, _) = h.open_polling();
    assert_eq!(h.server.protocol_of(&sid), Some(Protocol::V4));
    let (post, actions) = post_typed(&mut h, &sid, "application/octet-stream", &[1, 1, 255, 4]);
    assert_eq!(
        actions,
        vec![
            empty_status(post, 400),
            closed(&sid, CloseReason::TransportError),
        ]
    );
}

#[test]
fn websocket_binary_frames_carry_the_type_byte() {
    let mut h = Harness::new(v3_config());
    let (sid, actions) = open_v3_ws(&mut h);
    assert!(matches!(&frames_to(&actions, &sid)[..], [Frame::Text(t)] if t.starts_with("0{")));
    assert_eq!(
        h.ws_binary(&sid, &[4, 7, 7]),
        vec![Action::Message {
            sid: sid.clone(),
            data: Data::Binary(vec![7, 7]),
        }]
    );
    let actions = h.server.send(h.now, &sid, Data::Binary(vec![1]));
    assert_eq!(actions, vec![ws_binary_frame(&sid, &[4, 1])]);
    let actions = h.server.send(h.now, &sid, Data::Text("t".into()));
    assert_eq!(actions, vec![ws_text_frame(&sid, "4t")]);
    // A frame without its type byte is malformed.
    let actions = h.ws_binary(&sid, &[9, 1]);
    assert_eq!(
        essential(&actions),
        vec![
            ws_close(&sid, 1002, "parse error"),
            closed(&sid, CloseReason::ParseError)
        ]
    );
}

#[test]
fn broadcasts_of_binary_data_frame_each_revision_apart() {
    let mut h = Harness::new(v3_config());
    let (v3, _) = open_v3_ws(&mut h);
    let (v4, _) = h.open_ws();
    let mut actions = Vec::new();
    h.server.send_many(
        h.now,
        [v3.as_str(), v4.as_str()],
        &Data::Binary(vec![5]),
        false,
        &mut actions,
    );
    assert_eq!(
        actions,
        vec![
            Action::WsSendMany {
                sids: vec![v4.clone()],
                frame: Frame::Binary(vec![5]),
            },
            Action::WsSendMany {
                sids: vec![v3.clone()],
                frame: Frame::Binary(vec![4, 5]),
            },
        ]
    );
    let mut actions = Vec::new();
    h.server.send_many(
        h.now,
        [v3.as_str(), v4.as_str()],
        &Data::Text("x".into()),
        false,
        &mut actions,
    );
    assert_eq!(send_many(&actions).len(), 1);
}

#[test]
fn the_client_pings_and_the_server_answers() {
    let mut h = Harness::new(v3_config());
    let opened_at = h.now;
    let (sid, actions) = open_v3_ws(&mut h);
    assert_eq!(effective_alarm(&actions), Some(opened_at + WINDOW));
    assert_eq!(
        snapshot_of(&actions),
        Snapshot {
            sid: sid.clone(),
            next_ping_at: opened_at + WINDOW,
            pong_deadline: Some(opened_at + WINDOW),
            protocol: Protocol::V3,
            answered_ping: None,
        }
    );
    // No server ping, ever.
    h.now += INTERVAL;
    assert_eq!(without_alarms(&h.tick()), vec![]);
    let actions = h.ws_text(&sid, "2");
    assert_eq!(frames_to(&actions, &sid), vec![Frame::Text("3".into())]);
    assert_eq!(snapshot_of(&actions).pong_deadline, Some(h.now + WINDOW));
    // The deadline moved: the first one passes quietly.
    h.now = opened_at + WINDOW;
    assert_eq!(without_alarms(&h.tick()), vec![]);
    h.now = opened_at + INTERVAL + WINDOW;
    let actions = h.tick();
    assert_eq!(
        essential(&actions),
        vec![
            ws_close(&sid, 1000, "ping timeout"),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn polling_pings_arrive_in_posts() {
    let mut h = Harness::new(v3_config());
    let opened_at = h.now;
    let (sid, _) = open_v3_polling(&mut h);
    h.now += INTERVAL;
    let (post, actions) = h.post(&sid, b"1:2");
    assert_eq!(actions, vec![ok(post)]);
    let (get, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(get, "1:3")]);
    h.now = opened_at + WINDOW;
    assert_eq!(without_alarms(&h.tick()), vec![]);
    h.now = opened_at + INTERVAL + WINDOW;
    let actions = h.tick();
    assert_eq!(
        essential(&actions),
        vec![closed(&sid, CloseReason::PingTimeout)]
    );
}

#[test]
fn a_pong_from_a_v3_client_closes_the_session() {
    let mut h = Harness::new(v3_config());
    let (sid, _) = open_v3_ws(&mut h);
    let actions = h.ws_text(&sid, "3");
    assert_eq!(
        essential(&actions),
        vec![
            ws_close(&sid, 1002, "invalid heartbeat direction"),
            closed(&sid, CloseReason::TransportError),
        ]
    );
}

#[test]
fn pings_answered_by_the_runtime_keep_the_session() {
    let mut h = Harness::new(v3_config());
    let opened_at = h.now;
    let (sid, _) = open_v3_ws(&mut h);
    h.now = opened_at + WINDOW - INTERVAL - 1;
    assert!(h.server.ping_checks(h.now).is_empty());
    // Within one ping interval of its deadline, a session is checked.
    h.now = opened_at + WINDOW - INTERVAL;
    assert_eq!(h.server.ping_checks(h.now), vec![sid.clone()]);
    h.now = opened_at + WINDOW;
    assert_eq!(h.server.ping_checks(h.now), vec![sid.clone()]);
    let answered = opened_at + WINDOW - 1_000;
    let actions = h.server.ping_answered(h.now, &sid, answered);
    assert_eq!(snapshot_of(&actions).pong_deadline, Some(answered + WINDOW));
    assert!(h.server.ping_checks(h.now).is_empty());
    let actions = h.tick();
    assert_eq!(without_alarms(&actions), vec![]);
    assert_eq!(effective_alarm(&actions), Some(answered + WINDOW));
    // An older answer changes nothing; a time in the future counts as now.
    assert_eq!(h.server.ping_answered(h.now, &sid, opened_at), vec![]);
    let actions = h.server.ping_answered(h.now, &sid, h.now + 1_000_000);
    assert_eq!(snapshot_of(&actions).pong_deadline, Some(h.now + WINDOW));
    // A message does not expire a v3 WebSocket session: the alarm decides, after
    // the driver passed the runtime's answers.
    h.now += WINDOW;
    let actions = h.ws_text(&sid, "4late");
    assert_eq!(
        actions,
        vec![Action::Message {
            sid: sid.clone(),
            data: Data::Text("late".into()),
        }]
    );
    assert_eq!(
        essential(&h.tick()),
        vec![
            ws_close(&sid, 1000, "ping timeout"),
            closed(&sid, CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn a_restored_v3_session_counts_the_runtimes_answered_ping() {
    let mut h = Harness::new(v3_config());
    h.now += 10 * WINDOW;
    let snapshot = Snapshot {
        sid: "old".into(),
        next_ping_at: h.now - 1,
        pong_deadline: Some(h.now - 1),
        protocol: Protocol::V3,
        answered_ping: Some(h.now - 2_000),
    };
    assert!(!h.server.is_expired(h.now, &snapshot));
    assert!(Snapshot {
        answered_ping: None,
        ..snapshot.clone()
    }
    .expired(h.now));
    let mut actions = Vec::new();
    assert!(h.server.restore(h.now, snapshot.clone(), &mut actions));
    assert_eq!(
        snapshot_of(&actions).pong_deadline,
        Some(h.now - 2_000 + WINDOW)
    );
    assert_eq!(h.server.protocol_of("old"), Some(Protocol::V3));
    let actions = h.ws_text("old", "2");
    assert_eq!(frames_to(&actions, "old"), vec![Frame::Text("3".into())]);

    let mut h = Harness::new(v3_config());
    h.now += 10 * WINDOW;
    let stale = Snapshot {
        answered_ping: Some(h.now - WINDOW),
        ..snapshot
    };
    assert!(h.server.is_expired(h.now, &stale));
    let mut actions = Vec::new();
    assert!(!h.server.restore(h.now, stale, &mut actions));
    assert_eq!(
        actions,
        vec![
            ws_close("old", 1000, "ping timeout"),
            closed("old", CloseReason::PingTimeout),
        ]
    );
}

#[test]
fn an_upgraded_v3_session_keeps_its_framing() {
    let mut h = Harness::new(v3_config());
    let (sid, _) = open_v3_polling(&mut h);
    let (get, _) = h.poll(&sid);
    h.server.send(h.now, &sid, Data::Binary(vec![3]));
    let actions = h.server.flush(h.now);
    assert_eq!(actions, vec![payload(get, "6:b4Aw==")]);
    let actions = h.upgrade(&sid);
    assert_eq!(snapshot_of(&actions).protocol, Protocol::V3);
    let actions = h.server.send(h.now, &sid, Data::Binary(vec![3]));
    assert_eq!(actions, vec![ws_binary_frame(&sid, &[4, 3])]);
}

#[test]
fn only_v3_websocket_sessions_are_checked_for_answered_pings() {
    let mut h = Harness::new(v3_config());
    // Pings of v3 polling sessions reach the engine; v4 clients are pinged.
    open_v3_polling(&mut h);
    h.open_ws();
    let (ws, _) = open_v3_ws(&mut h);
    h.now += WINDOW;
    assert_eq!(h.server.ping_checks(h.now), vec![ws]);
}
