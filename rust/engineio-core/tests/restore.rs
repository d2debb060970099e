//! WebSocket sessions brought back from their snapshot after the engine's
//! memory was lost. The engine is driven end to end with a fake clock; the
//! reference behaviour is Node's `engine.io`.

use engineio_core::{Action, CloseReason, Snapshot, Transport};
use test_support::engine::*;

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
                protocol: Default::default(),
                answered_ping: None,
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
        protocol: Default::default(),
        answered_ping: None,
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
        protocol: Default::default(),
        answered_ping: None,
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
            protocol: Default::default(),
            answered_ping: None,
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
            protocol: Default::default(),
            answered_ping: None,
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
        protocol: Default::default(),
        answered_ping: None,
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
        protocol: Default::default(),
        answered_ping: None,
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
