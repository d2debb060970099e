//! The heartbeat: pings, pong deadlines, overdue sessions, and the one alarm
//! for all sessions. The engine is driven end to end with a fake clock; the
//! reference behaviour is Node's `engine.io`.

use engineio_core::{Action, CloseReason, Data, EngineConfig, RequestError, Snapshot};
use test_support::engine::*;

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
                protocol: Default::default(),
                answered_ping: None,
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
            protocol: Default::default(),
            answered_ping: None,
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
