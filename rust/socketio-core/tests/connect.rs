//! Joining namespaces: CONNECT, its acceptance or refusal, one connection in
//! several namespaces; and the connect timeout of connections that join none.
//! The server is driven end to end through its public API with a fake clock,
//! over WebSocket and long-polling sessions; the reference behaviour is Node's
//! `socket.io` 4.x (client.ts, socket.ts, namespace.ts).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use engineio_core::{Action as EngineAction, CloseReason, EngineConfig, Frame, Transport};
use socketio_core::{Action, SocketConfig};
use test_support::socket::*;

#[test]
fn connect_to_the_main_namespace() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let actions = h.ws_text(&sid, "40");
    assert_eq!(
        actions,
        vec![Action::Connect {
            sid: sid.clone(),
            nsp: "/".into(),
            auth: None,
        }]
    );
    // Nothing exists before the driver accepts.
    assert_eq!(h.server.sockets_count(), 0);
    assert!(h.sockets_of("/").is_empty());

    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_eq!(id.len(), 20);
    assert_eq!(id, URL_SAFE_NO_PAD.encode(random));
    assert_ne!(id, sid);
    assert_eq!(
        actions,
        vec![
            // A WebSocket connection's socket is stored at once.
            Action::Store(socketio_core::StoreOp::SocketAdded {
                id: id.clone(),
                sid: sid.clone(),
                nsp: "/".into(),
            }),
            Action::Engine(EngineAction::WsSend {
                sid: sid.clone(),
                frame: Frame::Text(format!("40{{\"sid\":\"{id}\"}}")),
            }),
        ]
    );
    assert_eq!(h.server.sockets_count(), 1);
    assert_eq!(h.server.rooms_of(&id), vec![id.clone()]);
    assert_eq!(h.sockets_of("/"), vec![id.clone()]);
    assert_eq!(h.server.rooms_in("/"), vec![(id.clone(), vec![id.clone()])]);
    assert!(h.sockets_of("/admin").is_empty());
}

#[test]
fn connect_to_a_namespace_with_auth() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let actions = h.ws_text(&sid, r#"40/admin,{"token":"abc","n":[1,2]}"#);
    assert_eq!(
        actions,
        vec![Action::Connect {
            sid: sid.clone(),
            nsp: "/admin".into(),
            auth: Some(r#"{"token":"abc","n":[1,2]}"#.into()),
        }]
    );
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/admin", &random).unwrap();
    assert_eq!(
        texts_to(&actions, &sid),
        vec![format!("40/admin,{{\"sid\":\"{id}\"}}")]
    );
    assert_eq!(h.sockets_of("/admin"), vec![id.clone()]);
    assert!(h.sockets_of("/").is_empty());

    // The main namespace with auth, on the same connection: another socket.
    let actions = h.ws_text(&sid, r#"40{"token":"x"}"#);
    assert_eq!(
        actions,
        vec![Action::Connect {
            sid: sid.clone(),
            nsp: "/".into(),
            auth: Some(r#"{"token":"x"}"#.into()),
        }]
    );
    let random = h.random();
    let (main, _) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_ne!(main, id);
    assert_eq!(h.server.sockets_count(), 2);
}

#[test]
fn connect_error_refuses_without_creating_a_socket() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    h.ws_text(&sid, "40/admin,");
    let actions =
        h.server
            .connect_error(h.now, &sid, "/admin", r#"{"message":"Invalid namespace"}"#);
    assert_eq!(
        actions,
        vec![ws_text_action(
            &sid,
            r#"4/admin,{"message":"Invalid namespace"}"#
        )]
    );
    assert_eq!(
        texts_to(&actions, &sid),
        vec![r#"44/admin,{"message":"Invalid namespace"}"#.to_owned()]
    );
    assert_eq!(h.server.sockets_count(), 0);
    assert!(h.server.rooms_in("/admin").is_empty());

    // Refused on the main namespace: no namespace in the frame.
    h.ws_text(&sid, "40");
    let actions = h.server.connect_error(
        h.now,
        &sid,
        "/",
        r#"{"message":"Not authorized","data":{"a":1}}"#,
    );
    assert_eq!(
        texts_to(&actions, &sid),
        vec![r#"44{"message":"Not authorized","data":{"a":1}}"#.to_owned()]
    );

    // The connection stays open and may try again.
    assert!(h.server.engine().has_session(&sid));
    let id = h.join(&sid, "/admin");
    assert!(h.is_connected(&id));
    // A refusal for a gone session sends nothing.
    assert!(h
        .server
        .connect_error(h.now, "nope", "/", r#"{"message":"x"}"#)
        .is_empty());
}

#[test]
fn accept_refuses_duplicates_and_gone_sessions() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let id = h.join(&sid, "/");

    // Twice for the same namespace.
    let random = h.random();
    assert!(h.server.accept(h.now, &sid, "/", &random).is_none());
    assert_eq!(h.server.sockets_count(), 1);
    assert_eq!(h.sockets_of("/"), vec![id.clone()]);

    // An unknown session.
    let random = h.random();
    assert!(h.server.accept(h.now, "nope", "/", &random).is_none());

    // A CONNECT whose session is gone before the driver answers.
    let other = h.open_ws();
    h.ws_text(&other, "40");
    h.ws_closed(&other, false);
    let random = h.random();
    assert!(h.server.accept(h.now, &other, "/", &random).is_none());

    // Over polling: CONNECT then close in the same POST.
    let polling = h.open_polling();
    let (_, actions) = h.post_raw(&polling, b"40\x1e1");
    assert!(actions.contains(&Action::Connect {
        sid: polling.clone(),
        nsp: "/".into(),
        auth: None,
    }));
    assert_eq!(
        closes(&actions),
        vec![(polling.clone(), CloseReason::TransportClose)]
    );
    let random = h.random();
    assert!(h.server.accept(h.now, &polling, "/", &random).is_none());

    assert_eq!(h.server.sockets_count(), 1);
    assert_eq!(h.sockets_of("/"), vec![id]);
}

#[test]
fn connect_over_polling_answers_the_held_get() {
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    let (get, actions) = h.poll(&sid);
    assert!(actions.is_empty(), "the GET is held: {actions:?}");

    let (post, actions) = h.post_raw(&sid, b"40");
    assert_eq!(
        actions,
        vec![
            Action::Connect {
                sid: sid.clone(),
                nsp: "/".into(),
                auth: None,
            },
            ok_action(post),
        ]
    );
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert!(actions.is_empty(), "buffered until flushed: {actions:?}");
    assert!(h.server.needs_flush());
    let actions = h.flush();
    assert_eq!(
        body_of(&actions, get),
        Some(format!("40{{\"sid\":\"{id}\"}}"))
    );
    assert!(!h.server.needs_flush());
}

#[test]
fn one_connection_multiplexes_namespaces() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let main = h.join(&sid, "/");
    let admin = h.join(&sid, "/admin");
    let chat = h.join(&sid, "/chat");
    assert_eq!(h.server.sockets_count(), 3);
    assert_eq!(h.sockets_of("/"), vec![main.clone()]);
    assert_eq!(h.sockets_of("/admin"), vec![admin.clone()]);
    assert_eq!(h.sockets_of("/chat"), vec![chat.clone()]);

    assert_eq!(
        h.send(&sid, r#"2/chat,["a"]"#),
        vec![event_action(&chat, r#"["a"]"#, None, &[])]
    );
    assert_eq!(
        h.send(&sid, r#"2["b"]"#),
        vec![event_action(&main, r#"["b"]"#, None, &[])]
    );
    assert_eq!(
        h.send(&sid, r#"2/admin,["c"]"#),
        vec![event_action(&admin, r#"["c"]"#, None, &[])]
    );
}

#[test]
fn connections_that_join_nothing_are_closed_after_the_connect_timeout() {
    let mut h = Harness::with_connect_timeout(1_000);
    let (idle, actions) = h.open_ws_actions();
    // The alarm covers the connect deadline (earlier than the first ping).
    assert_eq!(effective_alarm(&actions), Some(h.now + 1_000));

    let (joined, _) = h.ws_socket("/");
    // Refused, then nothing more.
    let refused = h.open_ws();
    h.ws_text(&refused, "40/admin,");
    h.server
        .connect_error(h.now, &refused, "/admin", r#"{"message":"no"}"#);
    // Joined, then left: Socket.IO does not time it out again.
    let (left, left_id) = h.ws_socket("/");
    h.send(&left, "1");
    assert!(!h.is_connected(&left_id));
    let idle_polling = h.open_polling();
    let (get, _) = h.poll(&idle_polling);

    h.advance(999);
    let actions = h.tick();
    assert!(closes(&actions).is_empty(), "{actions:?}");

    h.advance(1);
    let actions = h.tick();
    assert_eq!(
        by_first(closes(&actions)),
        by_first(vec![
            (idle.clone(), CloseReason::ForcedClose),
            (refused.clone(), CloseReason::ForcedClose),
            (idle_polling.clone(), CloseReason::ForcedClose),
        ])
    );
    assert!(actions.contains(&ws_close_action(&idle, 1000, "")));
    assert!(actions.contains(&ws_close_action(&refused, 1000, "")));
    assert_eq!(body_of(&actions, get), Some("1".to_owned()));
    assert!(disconnects(&actions).is_empty());
    for sid in [&joined, &left] {
        assert!(h.server.engine().has_session(sid));
    }
    assert_eq!(h.server.engine().clients_count(), 2);

    // Much later, the others are still there (pings answered).
    for _ in 0..4 {
        h.advance(25_000);
        let actions = h.tick();
        for sid in [&joined, &left] {
            if texts_to(&actions, sid).contains(&"2".to_owned()) {
                h.ws_text(sid, "3");
            }
        }
        assert!(closes(&actions).is_empty(), "{actions:?}");
    }
}

#[test]
fn the_connect_deadline_is_the_last_alarm_of_an_open() {
    // The engine asks for its first ping; the connect deadline is earlier
    // and must be the alarm the driver is left with.
    let mut h = Harness::with_connect_timeout(1_000);
    let (_, actions) = h.open_ws_actions();
    assert_eq!(alarms(&actions), vec![h.now + 25_000, h.now + 1_000]);

    let mut h = Harness::with_connect_timeout(1_000);
    let req = h.req();
    let random = h.random();
    let now = h.now;
    let actions = h.server.open(now, Transport::Polling, Some(req), &random);
    assert_eq!(effective_alarm(&actions), Some(now + 1_000));

    // Later than the first ping: nothing more is asked for.
    let mut h = Harness::with_connect_timeout(45_000);
    let (_, actions) = h.open_ws_actions();
    assert_eq!(alarms(&actions), vec![h.now + 25_000]);
}

#[test]
fn the_alarm_always_covers_the_connect_deadline() {
    // A driver that sets the alarm it is asked for and runs `tick` when it
    // fires, answering pings: the idle connection is closed exactly at its
    // connect deadline, whichever of the timers comes first.
    for connect_timeout in [1_000, 30_000, 45_000, 100_000] {
        let mut h = Harness::new(
            EngineConfig::default(),
            SocketConfig {
                connect_timeout,
                ..SocketConfig::default()
            },
        );
        let opened_at = h.now;
        let (sid, actions) = h.open_ws_actions();
        let (busy, _) = h.ws_socket("/");
        let mut alarm = *alarms(&actions).last().unwrap();
        let deadline = opened_at + connect_timeout;
        let mut closed_at = None;
        for _ in 0..20 {
            assert!(alarm <= deadline, "alarm {alarm} after deadline {deadline}");
            h.now = alarm;
            let actions = h.tick();
            if closes(&actions).contains(&(sid.clone(), CloseReason::ForcedClose)) {
                closed_at = Some(h.now);
                break;
            }
            let mut requested = alarms(&actions);
            for s in [&sid, &busy] {
                if texts_to(&actions, s).contains(&"2".to_owned()) {
                    requested.extend(alarms(&h.ws_text(s, "3")));
                }
            }
            alarm = *requested.last().expect("an alarm is requested");
        }
        assert_eq!(
            closed_at,
            Some(deadline),
            "connect_timeout {connect_timeout}"
        );
        assert!(h.server.engine().has_session(&busy));
    }
}

#[test]
fn a_late_tick_closes_overdue_connections() {
    let mut h = Harness::with_connect_timeout(5_000);
    let sid = h.open_ws();
    h.advance(60_000);
    let actions = h.tick();
    assert!(closes(&actions).contains(&(sid.clone(), CloseReason::ForcedClose)));
    assert!(!h.server.engine().has_session(&sid));
}
