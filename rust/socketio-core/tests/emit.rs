//! Emits to one socket: frames, ack ids per namespace, binary attachments,
//! volatile emits, the server's acks, and emits across an upgrade. The server
//! is driven end to end through its public API with a fake clock, over
//! WebSocket and long-polling sessions; the reference behaviour is Node's
//! `socket.io` 4.x (client.ts, socket.ts, namespace.ts).

use engineio_core::Transport;
use socketio_core::{Action, Emit};
use test_support::socket::*;

#[test]
fn emit_to_a_websocket() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["ev","x"]"#));
    assert_eq!(e.ack_id, None);
    assert!(e.recipients.is_empty());
    assert_eq!(e.actions, vec![ws_text_action(&sid, r#"2["ev","x"]"#)]);
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42["ev","x"]"#]);

    let admin = h.join(&sid, "/admin");
    let e = h
        .server
        .emit_to_socket(h.now, &admin, Emit::new(r#"["ev"]"#));
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42/admin,["ev"]"#]);

    // Volatile over WebSocket: sent.
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["v"]"#).volatile());
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42["v"]"#]);
}

#[test]
fn emit_with_ack_numbers_per_namespace() {
    let mut h = Harness::default_config();
    let (sid, a) = h.ws_socket("/");
    let (other, b) = h.ws_socket("/");
    let admin = h.join(&sid, "/admin");

    let e = h
        .server
        .emit_to_socket(h.now, &a, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(0));
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"420["q"]"#]);
    let e = h
        .server
        .emit_to_socket(h.now, &a, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(1));
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"421["q"]"#]);
    // The counter belongs to the namespace, not to the socket.
    let e = h
        .server
        .emit_to_socket(h.now, &b, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(2));
    assert_eq!(texts_to(&e.actions, &other), vec![r#"422["q"]"#]);
    // Another namespace counts on its own.
    let e = h
        .server
        .emit_to_socket(h.now, &admin, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(0));
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42/admin,0["q"]"#]);
    // Without ack: no id, the counter does not move.
    let e = h.server.emit_to_socket(h.now, &a, Emit::new(r#"["n"]"#));
    assert_eq!(e.ack_id, None);
    let e = h
        .server
        .emit_to_socket(h.now, &a, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(3));

    // The client answers; the id comes back.
    assert_eq!(
        h.send(&sid, r#"33["answer"]"#),
        vec![Action::Ack {
            socket_id: a.clone(),
            id: 3,
            data: r#"["answer"]"#.into(),
            binaries: vec![],
        }]
    );
}

#[test]
fn emit_binary_to_a_websocket() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let data = format!(r#"["file",{PLACEHOLDER_0}]"#);
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(&data).with_binaries(&[vec![1, 2, 3]]));
    assert_eq!(
        e.actions,
        vec![
            ws_text_action(&sid, &format!("51-{data}")),
            ws_binary_action(&sid, &[1, 2, 3]),
        ]
    );

    let admin = h.join(&sid, "/admin");
    let data = format!(r#"["two",{PLACEHOLDER_0},{PLACEHOLDER_1}]"#);
    let e = h.server.emit_to_socket(
        h.now,
        &admin,
        Emit::new(&data)
            .with_binaries(&[vec![1], vec![2, 2]])
            .with_ack(),
    );
    assert_eq!(e.ack_id, Some(0));
    assert_eq!(
        unstored(e.actions),
        vec![
            ws_text_action(&sid, &format!("52-/admin,0{data}")),
            ws_binary_action(&sid, &[1]),
            ws_binary_action(&sid, &[2, 2]),
        ]
    );
}

#[test]
fn emits_over_polling_wait_for_the_next_get() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let e = h.server.emit_to_socket(h.now, &id, Emit::new(r#"["a"]"#));
    assert!(e.actions.is_empty());
    h.server.emit_to_socket(h.now, &id, Emit::new(r#"["b",1]"#));
    let data = format!(r#"["c",{PLACEHOLDER_0}]"#);
    let e = h.server.emit_to_socket(
        h.now,
        &id,
        Emit::new(&data).with_binaries(&[vec![1, 2, 3]]).with_ack(),
    );
    assert_eq!(e.ack_id, Some(0));
    assert!(unstored(e.actions).is_empty());
    assert!(!h.server.needs_flush(), "no GET is held");
    assert_eq!(
        packets(&h.get(&sid)),
        vec![
            r#"42["a"]"#.to_owned(),
            r#"42["b",1]"#.to_owned(),
            format!("451-0{data}"),
            b64(&[1, 2, 3]),
        ]
    );
    // Nothing is left: the next GET is held.
    let (_, actions) = h.poll(&sid);
    assert!(actions.is_empty(), "{actions:?}");
}

#[test]
fn emits_over_polling_answer_a_held_get_on_flush() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let (get, actions) = h.poll(&sid);
    assert!(actions.is_empty());
    h.server.emit_to_socket(h.now, &id, Emit::new(r#"["a"]"#));
    h.server
        .emit_to_socket(h.now, &id, Emit::new(r#"["b"]"#).with_binaries(&[vec![7]]));
    assert!(h.server.needs_flush());
    let actions = h.flush();
    assert_eq!(
        body_of(&actions, get),
        Some(format!("42[\"a\"]\x1e451-[\"b\"]\x1e{}", b64(&[7])))
    );
}

#[test]
fn volatile_emits_skip_a_polling_session_without_a_get() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["v"]"#).with_ack().volatile());
    assert!(e.actions.is_empty());
    assert_eq!(e.ack_id, None, "nothing was sent, no ack is expected");
    assert!(!h.server.needs_flush());
    // Nothing was buffered: the next GET is held.
    let (get, actions) = h.poll(&sid);
    assert!(actions.is_empty(), "{actions:?}");
    // With the GET held, a volatile emit goes out.
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["v2"]"#).volatile());
    assert!(e.actions.is_empty());
    let actions = h.flush();
    assert_eq!(body_of(&actions, get), Some(r#"42["v2"]"#.to_owned()));
}

#[test]
fn emit_to_an_unknown_socket_does_nothing() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let e = h
        .server
        .emit_to_socket(h.now, "nope", Emit::new(r#"["x"]"#).with_ack());
    assert!(e.actions.is_empty() && e.ack_id.is_none());
    h.send(&sid, "1");
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["x"]"#).with_ack());
    assert!(e.actions.is_empty() && e.ack_id.is_none());
    assert!(h.server.ack(h.now, &id, 1, "[]", &[]).is_empty());
}

#[test]
fn server_acks() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let admin = h.join(&sid, "/admin");
    assert_eq!(
        h.server.ack(h.now, &id, 7, r#"["r",1]"#, &[]),
        vec![ws_text_action(&sid, r#"37["r",1]"#)]
    );
    assert_eq!(
        texts_to(&h.server.ack(h.now, &admin, 12, "[]", &[]), &sid),
        vec!["43/admin,12[]"]
    );
    let data = format!("[{PLACEHOLDER_0}]");
    assert_eq!(
        h.server.ack(h.now, &admin, 15, &data, &[vec![1, 2, 3, 4]]),
        vec![
            ws_text_action(&sid, &format!("61-/admin,15{data}")),
            ws_binary_action(&sid, &[1, 2, 3, 4]),
        ]
    );

    // Over polling.
    let (psid, pid) = h.polling_socket("/");
    assert!(h
        .server
        .ack(h.now, &pid, 2, r#"["p"]"#, &[vec![0]])
        .is_empty());
    assert_eq!(
        packets(&h.get(&psid)),
        vec![r#"461-2["p"]"#.to_owned(), b64(&[0])]
    );
}

#[test]
fn an_upgrade_carries_the_sockets_over() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    h.server
        .emit_to_socket(h.now, &id, Emit::new(r#"["before"]"#));
    let now = h.now;
    let actions = h.server.begin_upgrade(now, &sid).unwrap();
    assert!(essential(&actions).is_empty(), "{actions:?}");
    let probe = h.ws_text(&sid, "2probe");
    assert_eq!(texts_to(&probe, &sid), vec!["3probe"]);
    let actions = h.ws_text(&sid, "5");
    // What was buffered goes out on the WebSocket.
    assert_eq!(texts_to(&actions, &sid), vec![r#"42["before"]"#]);
    assert_eq!(
        h.server.engine().transport_of(&sid),
        Some(Transport::WebSocket)
    );
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["after"]"#));
    assert_eq!(e.actions, vec![ws_text_action(&sid, r#"2["after"]"#)]);
    assert_eq!(
        h.ws_text(&sid, r#"42["up"]"#),
        vec![event_action(&id, r#"["up"]"#, None, &[])]
    );
}

#[test]
fn an_aborted_upgrade_keeps_the_sockets_on_polling() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let now = h.now;
    h.server.begin_upgrade(now, &sid).unwrap();
    h.ws_text(&sid, "2probe");
    let actions = h.ws_closed(&sid, true);
    assert!(essential(&actions).is_empty(), "{actions:?}");
    assert!(h.is_connected(&id));
    h.server
        .emit_to_socket(h.now, &id, Emit::new(r#"["still"]"#));
    assert_eq!(h.get(&sid), r#"42["still"]"#);
}
