//! The upgrade from long-polling to WebSocket: the probe, the switch, and every
//! way an attempt ends. The engine is driven end to end with a fake clock; the
//! reference behaviour is Node's `engine.io`.

use engineio_core::{
    Action, CloseReason, Data, EngineConfig, Frame, RequestError, Route, Snapshot, Transport,
    UPGRADE_NOOP_DELAY,
};
use test_support::engine::*;

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
                protocol: Default::default(),
                answered_ping: None,
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
            protocol: Default::default(),
            answered_ping: None,
        }))
    );
    assert_eq!(alarms(&h.ws_text(&sid, "3")), Vec::<u64>::new());
}
