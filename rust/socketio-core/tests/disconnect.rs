//! Disconnections from either side and engine closes: which sockets leave, in
//! which order, and with which reason. The server is driven end to end through
//! its public API with a fake clock, over WebSocket and long-polling sessions;
//! the reference behaviour is Node's `socket.io` 4.x (client.ts, socket.ts,
//! namespace.ts).

use engineio_core::{Action as EngineAction, CloseReason, Frame, Transport};
use socketio_core::{Action, DisconnectReason, Emit};
use test_support::socket::*;

#[test]
fn client_disconnect_leaves_the_namespace_only() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let main = h.join(&sid, "/");
    let admin = h.join(&sid, "/admin");
    h.server.join(h.now, &main, &strings(&["room"]));

    assert_eq!(
        h.send(&sid, "1"),
        vec![disconnect_action(
            &main,
            DisconnectReason::ClientNamespaceDisconnect
        )]
    );
    assert!(!h.is_connected(&main));
    assert_eq!(h.server.sockets_count(), 1);
    assert!(h.server.rooms_in("/").is_empty());
    assert!(h.server.engine().has_session(&sid));
    assert!(h
        .server
        .emit_to_socket(h.now, &main, Emit::new(r#"["x"]"#))
        .actions
        .is_empty());

    // The other namespace keeps working; "/" can be joined again.
    assert_eq!(
        h.send(&sid, r#"2/admin,["still"]"#),
        vec![event_action(&admin, r#"["still"]"#, None, &[])]
    );
    let again = h.join(&sid, "/");
    assert_ne!(again, main);

    assert_eq!(
        h.send(&sid, "1/admin,"),
        vec![disconnect_action(
            &admin,
            DisconnectReason::ClientNamespaceDisconnect
        )]
    );
    assert_eq!(h.sockets_of("/"), vec![again]);
    assert!(h.sockets_of("/admin").is_empty());
}

#[test]
fn server_disconnect_sends_disconnect() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let main = h.join(&sid, "/");
    let admin = h.join(&sid, "/admin");
    let now = h.now;

    assert_eq!(
        unstored(h.server.disconnect_socket(now, &admin, false)),
        vec![
            ws_text_action(&sid, "1/admin,"),
            disconnect_action(&admin, DisconnectReason::ServerNamespaceDisconnect),
        ]
    );
    assert_eq!(
        h.server.disconnect_socket(now, &main, false),
        vec![
            ws_text_action(&sid, "1"),
            disconnect_action(&main, DisconnectReason::ServerNamespaceDisconnect),
            // Removed from storage after the Disconnect (the driver may still
            // read the row to run the socket's last listeners).
            Action::Store(socketio_core::StoreOp::SocketRemoved { id: main.clone() }),
        ]
    );
    assert_eq!(h.server.sockets_count(), 0);
    // The connection stays open.
    assert!(h.server.engine().has_session(&sid));
    assert!(h.server.disconnect_socket(now, &main, false).is_empty());
    assert!(h.server.disconnect_socket(now, "nope", true).is_empty());

    // Over polling, DISCONNECT waits for the next GET.
    let (psid, p) = h.polling_socket("/");
    let actions = h.server.disconnect_socket(now, &p, false);
    assert_eq!(
        actions,
        vec![disconnect_action(
            &p,
            DisconnectReason::ServerNamespaceDisconnect
        )]
    );
    assert_eq!(h.get(&psid), "41");
}

#[test]
fn server_disconnect_with_close_ends_the_connection() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let main = h.join(&sid, "/");
    let admin = h.join(&sid, "/admin");
    let (other, o) = h.ws_socket("/");
    let now = h.now;

    let actions = unstored(h.server.disconnect_socket(now, &main, true));
    assert_eq!(
        sorted(texts_to(&actions, &sid)),
        vec!["41".to_owned(), "41/admin,".to_owned()]
    );
    assert_eq!(
        by_first(disconnects(&actions)),
        by_first(vec![
            (main.clone(), DisconnectReason::ServerNamespaceDisconnect),
            (admin.clone(), DisconnectReason::ServerNamespaceDisconnect),
        ])
    );
    // The frames, then the close.
    let n = actions.len();
    assert_eq!(
        actions[n - 2..],
        [
            ws_close_action(&sid, 1000, ""),
            closed_action(&sid, CloseReason::ForcedClose)
        ]
    );
    assert_eq!(n, 6, "{actions:?}");
    assert!(!h.server.engine().has_session(&sid));
    assert_eq!(h.server.sockets_count(), 1);
    assert_eq!(h.sockets_of("/"), vec![o.clone()]);
    assert!(h.server.engine().has_session(&other));
}

#[test]
fn server_disconnect_with_close_over_polling() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let (get, actions) = h.poll(&sid);
    assert!(actions.is_empty());
    let now = h.now;
    let actions = h.server.disconnect_socket(now, &id, true);
    // The held GET carries the DISCONNECT, the next one the close packet.
    assert_eq!(body_of(&actions, get), Some("41".to_owned()));
    let (next, close) = h.poll(&sid);
    assert_eq!(body_of(&close, next), Some("1".to_owned()));
    assert_eq!(
        disconnects(&actions),
        vec![(id.clone(), DisconnectReason::ServerNamespaceDisconnect)]
    );
    assert_eq!(
        closes(&actions),
        vec![(sid.clone(), CloseReason::ForcedClose)]
    );
    assert_eq!(h.server.sockets_count(), 0);
}

/// Two sockets on `sid` and one elsewhere; `close` ends `sid`'s session with
/// `reason`. Every socket of that session leaves with the engine's reason
/// before the engine's `Closed`, and the other connection is untouched.
fn check_engine_close(
    mut h: Harness,
    sid: &str,
    close: impl FnOnce(&mut Harness) -> Vec<Action>,
    reason: CloseReason,
    text: &str,
) {
    let main = h.join(sid, "/");
    let admin = h.join(sid, "/admin");
    h.server.join(h.now, &main, &strings(&["room"]));
    let (other, o) = h.ws_socket("/");
    h.server.join(h.now, &o, &strings(&["room"]));

    let actions = close(&mut h);
    let r = DisconnectReason::Engine(reason);
    assert_eq!(r.as_str(), text);
    assert_eq!(
        by_first(disconnects(&actions)),
        by_first(vec![(main.clone(), r), (admin.clone(), r)]),
        "{actions:?}"
    );
    assert_eq!(closes(&actions), vec![(sid.to_owned(), reason)]);
    let closed = index_of(&actions, |a| {
        matches!(a, Action::Engine(EngineAction::Closed { .. }))
    });
    assert!(actions[closed + 1..]
        .iter()
        .all(|a| !matches!(a, Action::Disconnect { .. })));
    assert!(!h.server.engine().has_session(sid));
    assert_eq!(h.server.sockets_count(), 1);
    assert_eq!(
        h.server.sockets_in("/", &strings(&["room"]), &[]),
        vec![o.clone()]
    );
    // The other connection keeps working both ways.
    let e = h.server.emit_to_socket(h.now, &o, Emit::new(r#"["x"]"#));
    assert_eq!(texts_to(&e.actions, &other), vec![r#"42["x"]"#]);
    assert_eq!(
        h.send(&other, r#"2["y"]"#),
        vec![event_action(&o, r#"["y"]"#, None, &[])]
    );
}

#[test]
fn engine_close_disconnects_every_socket_first() {
    type Close = fn(&mut Harness, &str) -> Vec<Action>;
    let cases: [(Close, CloseReason, &str); 6] = [
        (
            |h, sid| h.ws_closed(sid, false),
            CloseReason::TransportClose,
            "transport close",
        ),
        (
            |h, sid| h.ws_closed(sid, true),
            CloseReason::TransportError,
            "transport error",
        ),
        (
            |h, sid| h.ws_text(sid, "1"),
            CloseReason::TransportClose,
            "transport close",
        ),
        (
            |h, sid| h.ws_text(sid, "x"),
            CloseReason::ParseError,
            "parse error",
        ),
        (
            |h, sid| h.ws_text(sid, "2"),
            CloseReason::TransportError,
            "transport error",
        ),
        (
            |h, sid| {
                let now = h.now;
                let actions = h.server.close(now, sid);
                checked(&actions);
                actions
            },
            CloseReason::ForcedClose,
            "forced close",
        ),
    ];
    for (close, reason, text) in cases {
        let mut h = Harness::default_config();
        let sid = h.open_ws();
        let s = sid.clone();
        check_engine_close(h, &sid, move |h| close(h, &s), reason, text);
    }
}

#[test]
fn engine_close_over_polling() {
    // The client's close packet.
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    let s = sid.clone();
    check_engine_close(
        h,
        &sid,
        move |h| h.post_raw(&s, b"1").1,
        CloseReason::TransportClose,
        "transport close",
    );

    // Two GETs at once.
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    let s = sid.clone();
    check_engine_close(
        h,
        &sid,
        move |h| {
            let (_, held) = h.poll(&s);
            assert!(held.is_empty());
            h.poll(&s).1
        },
        CloseReason::TransportError,
        "transport error",
    );

    // A malformed Engine.IO payload.
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    let s = sid.clone();
    check_engine_close(
        h,
        &sid,
        move |h| h.post_raw(&s, b"bnot base64!").1,
        CloseReason::ParseError,
        "parse error",
    );
}

#[test]
fn ping_timeout_disconnects_the_silent_connection_only() {
    for transport in [Transport::WebSocket, Transport::Polling] {
        let mut h = Harness::default_config();
        let sid = match transport {
            Transport::WebSocket => h.open_ws(),
            Transport::Polling => h.open_polling(),
        };
        let s = sid.clone();
        check_engine_close(
            h,
            &sid,
            move |h| {
                h.advance(25_000);
                let pings = h.tick();
                // The other connection answers its ping; this one stays silent.
                let others: Vec<String> = pings
                    .iter()
                    .filter_map(|a| match a {
                        Action::Engine(EngineAction::WsSend { sid, frame }) if *sid != s => {
                            assert_eq!(*frame, Frame::Text("2".into()));
                            Some(sid.clone())
                        }
                        _ => None,
                    })
                    .collect();
                assert_eq!(others.len(), 1, "{pings:?}");
                h.ws_text(&others[0], "3");
                h.advance(20_000);
                h.tick()
            },
            CloseReason::PingTimeout,
            "ping timeout",
        );
    }
}

#[test]
fn disconnect_reasons_read_like_socket_io() {
    for (reason, text) in [
        (DisconnectReason::ForcedServerClose, "forced server close"),
        (
            DisconnectReason::ServerNamespaceDisconnect,
            "server namespace disconnect",
        ),
        (
            DisconnectReason::ClientNamespaceDisconnect,
            "client namespace disconnect",
        ),
        (DisconnectReason::ServerShuttingDown, "server shutting down"),
        (
            DisconnectReason::Engine(CloseReason::PingTimeout),
            "ping timeout",
        ),
    ] {
        assert_eq!(reason.as_str(), text);
    }
}
