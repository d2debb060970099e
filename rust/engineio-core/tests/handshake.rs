//! Handshakes over both transports: the open packet, session ids, the first
//! alarm. The engine is driven end to end with a fake clock; the reference
//! behaviour is Node's `engine.io`.

use engineio_core::{Action, Engine, EngineConfig, Snapshot, Transport, SID_RANDOM_BYTES};
use test_support::engine::*;

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
fn a_sid_prefix_marks_every_session_id_and_the_open_packet() {
    let mut engine = Engine::new(EngineConfig {
        sid_prefix: "3.".into(),
        ..EngineConfig::default()
    });
    let (sid, actions) = engine.open(1_000, Transport::Polling, Some(1), &[0; SID_RANDOM_BYTES]);
    assert_eq!(sid, "3.AAAAAAAAAAAAAAAAAAAA");
    assert!(engine.has_session(&sid));
    assert!(!engine.has_session("AAAAAAAAAAAAAAAAAAAA"));
    let body = actions.iter().find_map(|a| match a {
        Action::Respond { body, .. } => Some(body.clone()),
        _ => None,
    });
    assert!(body.is_some_and(|b| b.contains(r#""sid":"3.AAAAAAAAAAAAAAAAAAAA""#)));
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
                protocol: Default::default(),
                answered_ping: None,
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
