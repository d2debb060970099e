//! The Socket.IO server driven end to end through its public API with a fake
//! clock, over WebSocket and long-polling sessions: namespaces, events and
//! acks, emits and broadcasts, rooms, disconnections, protocol violations,
//! the connect timeout and restored sessions. The reference behaviour is
//! Node's `socket.io` 4.x (client.ts, socket.ts, namespace.ts).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use engineio_core::{
    Action as EngineAction, CloseReason, EngineConfig, Frame, RequestError, Snapshot, Transport,
};
use socketio_core::{Action, DisconnectReason, Emit, SocketConfig, MAX_PAYLOAD_DEPTH};
use test_support::socket::*;

// ---------------------------------------------------------------------------
// Connection to a namespace
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Events and acks from the client
// ---------------------------------------------------------------------------

#[test]
fn events_carry_the_json_text_as_received() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let data =
        r#"["chat message", {"a": [1, 2.5e3, null, true]}, "é\u00e9\n", 12345678901234567890123]"#;
    assert_eq!(
        h.send(&sid, &format!("2{data}")),
        vec![event_action(&id, data, None, &[])]
    );
    // A numeric event name is allowed.
    assert_eq!(
        h.send(&sid, "2[42]"),
        vec![event_action(&id, "[42]", None, &[])]
    );
    // With an ack id.
    assert_eq!(
        h.send(&sid, r#"212["ask",{}]"#),
        vec![event_action(&id, r#"["ask",{}]"#, Some(12), &[])]
    );
    assert_eq!(
        h.send(&sid, r#"218446744073709551615["max"]"#),
        vec![event_action(&id, r#"["max"]"#, Some(u64::MAX), &[])]
    );
    // In a namespace, with an ack id.
    let admin = h.join(&sid, "/admin");
    assert_eq!(
        h.send(&sid, r#"2/admin,7["x",1]"#),
        vec![event_action(&admin, r#"["x",1]"#, Some(7), &[])]
    );
}

#[test]
fn events_over_polling_several_per_post() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let (post, actions) = h.post_raw(&sid, b"42[\"hello\"]\x1e42[\"world\"]\x1e423[\"ack\"]");
    assert_eq!(
        actions,
        vec![
            event_action(&id, r#"["hello"]"#, None, &[]),
            event_action(&id, r#"["world"]"#, None, &[]),
            event_action(&id, r#"["ack"]"#, Some(3), &[]),
            ok_action(post),
        ]
    );
}

#[test]
fn binary_events_wait_for_their_attachments() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let data = format!(r#"["up",{PLACEHOLDER_0}]"#);
    assert!(h.send(&sid, &format!("51-{data}")).is_empty());
    assert_eq!(
        h.send_binary(&sid, &[1, 2, 3]),
        vec![event_action(&id, &data, None, &[&[1, 2, 3]])]
    );

    // Two attachments (one empty), in a namespace, with an ack id.
    let admin = h.join(&sid, "/admin");
    let data = format!(r#"["up",{PLACEHOLDER_0},{{"nested":{PLACEHOLDER_1}}}]"#);
    assert!(h.send(&sid, &format!("52-/admin,9{data}")).is_empty());
    assert!(h.send_binary(&sid, &[0xff]).is_empty());
    assert_eq!(
        h.send_binary(&sid, &[]),
        vec![event_action(&admin, &data, Some(9), &[&[0xff], &[]])]
    );

    // The connection goes on with plain packets.
    assert_eq!(
        h.send(&sid, r#"2["next"]"#),
        vec![event_action(&id, r#"["next"]"#, None, &[])]
    );
}

#[test]
fn binary_events_over_polling() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let data = format!(r#"["up",{PLACEHOLDER_0}]"#);
    let body = format!("451-{data}\x1e{}", b64(&[1, 2, 3, 4]));
    let (post, actions) = h.post_raw(&sid, body.as_bytes());
    assert_eq!(
        actions,
        vec![
            event_action(&id, &data, None, &[&[1, 2, 3, 4]]),
            ok_action(post)
        ]
    );
    // The header and its attachment in two POSTs.
    let (post, actions) = h.post_raw(&sid, format!("451-5{data}").as_bytes());
    assert_eq!(actions, vec![ok_action(post)]);
    let (post, actions) = h.post_raw(&sid, b64(&[9]).as_bytes());
    assert_eq!(
        actions,
        vec![event_action(&id, &data, Some(5), &[&[9]]), ok_action(post)]
    );
}

#[test]
fn acks_from_the_client() {
    let mut h = Harness::default_config();
    let (sid, main) = h.ws_socket("/");
    let admin = h.join(&sid, "/admin");
    assert_eq!(
        h.send(&sid, r#"3/admin,5["ok",{"a":1}]"#),
        vec![Action::Ack {
            socket_id: admin.clone(),
            id: 5,
            data: r#"["ok",{"a":1}]"#.into(),
            binaries: vec![],
        }]
    );
    assert_eq!(
        h.send(&sid, "30[]"),
        vec![Action::Ack {
            socket_id: main.clone(),
            id: 0,
            data: "[]".into(),
            binaries: vec![],
        }]
    );
    // A binary ack.
    let data = format!("[{PLACEHOLDER_0}]");
    assert!(h.send(&sid, &format!("61-3{data}")).is_empty());
    assert_eq!(
        h.send_binary(&sid, b"bin"),
        vec![Action::Ack {
            socket_id: main.clone(),
            id: 3,
            data: data.clone(),
            binaries: vec![b"bin".to_vec()],
        }]
    );
    // Acks without an id are ignored, and the connection goes on.
    assert!(h.send(&sid, r#"3["lost"]"#).is_empty());
    assert!(h.send(&sid, r#"3/admin,[]"#).is_empty());
    assert!(h.send(&sid, &format!("61-{data}")).is_empty());
    assert!(h.send_binary(&sid, b"lost").is_empty());
    assert!(h.server.engine().has_session(&sid));
    assert!(h.is_connected(&main) && h.is_connected(&admin));
    assert_eq!(
        h.send(&sid, r#"2["still"]"#),
        vec![event_action(&main, r#"["still"]"#, None, &[])]
    );
}

// ---------------------------------------------------------------------------
// Emits to one socket
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Broadcasts
// ---------------------------------------------------------------------------

/// Three WebSocket sockets and one polling socket in `/`, one WebSocket
/// socket in `/admin` on a connection of its own.
struct Crowd {
    h: Harness,
    ws: Vec<(String, String)>,
    polling: (String, String),
    admin: (String, String),
}

impl Crowd {
    fn new() -> Self {
        let mut h = Harness::default_config();
        let ws = (0..3).map(|_| h.ws_socket("/")).collect();
        let polling = h.polling_socket("/");
        let admin = h.ws_socket("/admin");
        Crowd {
            h,
            ws,
            polling,
            admin,
        }
    }

    fn ws_sids(&self, which: &[usize]) -> Vec<String> {
        sorted(which.iter().map(|&i| self.ws[i].0.clone()).collect())
    }

    fn id(&self, i: usize) -> String {
        self.ws[i].1.clone()
    }
}

#[test]
fn broadcast_to_a_namespace_encodes_once() {
    let mut c = Crowd::new();
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &[], &[], Emit::new(r#"["news",1]"#));
    assert_eq!(e.ack_id, None);
    assert!(
        e.recipients.is_empty(),
        "recipients are listed with an ack only"
    );
    // One action for every WebSocket; the polling socket is buffered.
    assert_eq!(e.actions.len(), 1, "{:?}", e.actions);
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 1, 2]), Frame::Text(r#"42["news",1]"#.into()))]
    );
    // The socket of the other namespace gets nothing.
    assert!(frames_to(&e.actions, &c.admin.0).is_empty());
    let psid = c.polling.0.clone();
    assert_eq!(c.h.get(&psid), r#"42["news",1]"#);

    // A namespace broadcast carries the namespace.
    let e =
        c.h.server
            .broadcast(c.h.now, "/admin", &[], &[], Emit::new(r#"["a"]"#));
    assert_eq!(
        send_many(&e.actions),
        vec![(
            vec![c.admin.0.clone()],
            Frame::Text(r#"42/admin,["a"]"#.into())
        )]
    );
}

#[test]
fn broadcast_reaches_a_held_get_on_flush() {
    let mut c = Crowd::new();
    let psid = c.polling.0.clone();
    let (get, actions) = c.h.poll(&psid);
    assert!(actions.is_empty());
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &[], &[], Emit::new(r#"["x"]"#));
    assert_eq!(send_many(&e.actions).len(), 1);
    assert!(c.h.server.needs_flush());
    let actions = c.h.flush();
    assert_eq!(body_of(&actions, get), Some(r#"42["x"]"#.to_owned()));
}

#[test]
fn broadcast_to_rooms_is_a_union_without_duplicates() {
    let mut c = Crowd::new();
    let (a, b, cc) = (c.id(0), c.id(1), c.id(2));
    let p = c.polling.1.clone();
    let r = |names: &[&str]| strings(names);
    c.h.server.join(c.h.now, &a, &r(&["r1"]));
    c.h.server.join(c.h.now, &b, &r(&["r1", "r2"]));
    c.h.server.join(c.h.now, &cc, &r(&["r2"]));
    // The admin socket joins a room of the same name in its namespace.
    let x = c.admin.1.clone();
    c.h.server.join(c.h.now, &x, &r(&["r1"]));

    assert_eq!(
        sorted(c.h.server.sockets_in("/", &r(&["r1", "r2"]), &[])),
        sorted(vec![a.clone(), b.clone(), cc.clone()])
    );
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &r(&["r1", "r2"]), &[], Emit::new(r#"["u"]"#));
    // b is in both rooms and is in the list once.
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 1, 2]), Frame::Text(r#"42["u"]"#.into()))]
    );

    // Except a room.
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &r(&["r1", "r2"]),
        &r(&["r2"]),
        Emit::new(r#"["e"]"#),
    );
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0]), Frame::Text(r#"42["e"]"#.into()))]
    );

    // Everyone but the sender: except its own room.
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &[],
        std::slice::from_ref(&b),
        Emit::new(r#"["s"]"#).with_ack(),
    );
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 2]), Frame::Text(r#"420["s"]"#.into()))]
    );
    assert_eq!(
        sorted(e.recipients),
        sorted(vec![a.clone(), cc.clone(), p.clone()])
    );
    let psid = c.polling.0.clone();
    assert_eq!(c.h.get(&psid), r#"420["s"]"#);

    // The sender's own room only.
    assert_eq!(
        c.h.server.sockets_in("/", std::slice::from_ref(&a), &[]),
        vec![a.clone()]
    );
    // A room nobody is in: nothing at all.
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &r(&["empty"]),
        &[],
        Emit::new(r#"["n"]"#).with_ack(),
    );
    assert!(e.actions.is_empty());
    assert!(e.recipients.is_empty());
    assert_eq!(e.ack_id, Some(1));
    // Excepting a room that does not exist excludes nobody.
    assert_eq!(
        sorted(c.h.server.sockets_in("/", &[], &r(&["empty"]))),
        sorted(vec![a, b, cc, p])
    );
    // The admin namespace's r1 is its own.
    assert_eq!(c.h.server.sockets_in("/admin", &r(&["r1"]), &[]), vec![x]);
}

#[test]
fn broadcast_with_ack_shares_one_id_and_lists_recipients() {
    let mut c = Crowd::new();
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &[], &[], Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(0));
    let mut expected: Vec<String> = (0..3).map(|i| c.id(i)).collect();
    expected.push(c.polling.1.clone());
    assert_eq!(sorted(e.recipients), sorted(expected));
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 1, 2]), Frame::Text(r#"420["q"]"#.into()))]
    );
    let psid = c.polling.0.clone();
    assert_eq!(c.h.get(&psid), r#"420["q"]"#);

    // Single emits and broadcasts share the namespace counter.
    let a = c.id(0);
    let e =
        c.h.server
            .emit_to_socket(c.h.now, &a, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(1));
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &[], &[], Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(2));
    let e = c.h.server.broadcast(
        c.h.now,
        "/admin",
        &[],
        &[],
        Emit::new(r#"["q"]"#).with_ack(),
    );
    assert_eq!(e.ack_id, Some(0));
    assert_eq!(e.recipients, vec![c.admin.1.clone()]);

    // Each recipient answers with the shared id.
    let sid = c.ws[1].0.clone();
    assert_eq!(
        c.h.send(&sid, "32[1]"),
        vec![Action::Ack {
            socket_id: c.id(1),
            id: 2,
            data: "[1]".into(),
            binaries: vec![],
        }]
    );
}

#[test]
fn binary_broadcast() {
    let mut c = Crowd::new();
    let data = format!(r#"["b",{PLACEHOLDER_0}]"#);
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &[],
        &[],
        Emit::new(&data).with_binaries(&[vec![9, 8]]),
    );
    assert_eq!(
        send_many(&e.actions),
        vec![
            (c.ws_sids(&[0, 1, 2]), Frame::Text(format!("451-{data}"))),
            (c.ws_sids(&[0, 1, 2]), Frame::Binary(vec![9, 8])),
        ]
    );
    let psid = c.polling.0.clone();
    assert_eq!(
        packets(&c.h.get(&psid)),
        vec![format!("451-{data}"), b64(&[9, 8])]
    );
}

#[test]
fn volatile_broadcast_skips_polling_sessions_without_a_get() {
    let mut c = Crowd::new();
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &[],
        &[],
        Emit::new(r#"["v"]"#).with_ack().volatile(),
    );
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 1, 2]), Frame::Text(r#"420["v"]"#.into()))]
    );
    let expected: Vec<String> = (0..3).map(|i| c.id(i)).collect();
    assert_eq!(sorted(e.recipients), sorted(expected));
    let psid = c.polling.0.clone();
    let (_, actions) = c.h.poll(&psid);
    assert!(actions.is_empty(), "nothing was buffered: {actions:?}");
    // Now that a GET is held, the polling socket gets it too.
    let e = c.h.server.broadcast(
        c.h.now,
        "/",
        &[],
        &[],
        Emit::new(r#"["w"]"#).with_ack().volatile(),
    );
    assert_eq!(e.recipients.len(), 4);
}

#[test]
fn broadcast_to_an_unknown_namespace_does_nothing() {
    let mut c = Crowd::new();
    let e =
        c.h.server
            .broadcast(c.h.now, "/nope", &[], &[], Emit::new(r#"["x"]"#));
    assert!(e.actions.is_empty());
    assert!(e.recipients.is_empty());
    assert!(!c.h.server.needs_flush());
}

#[test]
fn broadcast_skips_sockets_that_left() {
    let mut c = Crowd::new();
    let sid = c.ws[1].0.clone();
    c.h.send(&sid, "1");
    let e =
        c.h.server
            .broadcast(c.h.now, "/", &[], &[], Emit::new(r#"["x"]"#).with_ack());
    assert_eq!(
        send_many(&e.actions),
        vec![(c.ws_sids(&[0, 2]), Frame::Text(r#"420["x"]"#.into()))]
    );
    assert_eq!(e.recipients.len(), 3);
}

// ---------------------------------------------------------------------------
// Rooms
// ---------------------------------------------------------------------------

fn rooms(h: &Harness, nsp: &str) -> Vec<(String, Vec<String>)> {
    sorted(
        h.server
            .rooms_in(nsp)
            .into_iter()
            .map(|(r, m)| (r, sorted(m)))
            .collect(),
    )
}

#[test]
fn join_and_leave_rooms() {
    let mut h = Harness::default_config();
    let (_, a) = h.ws_socket("/");
    let (_, b) = h.ws_socket("/");
    let (_, x) = h.ws_socket("/admin");
    h.server.join(h.now, &a, &strings(&["r1", "r2"]));
    h.server.join(h.now, &b, &strings(&["r1"]));
    h.server.join(h.now, &a, &strings(&["r1", "r1"]));
    h.server.join(h.now, &x, &strings(&["r1"]));

    assert_eq!(
        sorted(h.server.rooms_of(&a)),
        sorted(vec![a.clone(), "r1".into(), "r2".into()])
    );
    assert_eq!(
        sorted(h.server.rooms_of(&b)),
        sorted(vec![b.clone(), "r1".into()])
    );
    assert_eq!(
        rooms(&h, "/"),
        sorted(vec![
            (a.clone(), vec![a.clone()]),
            (b.clone(), vec![b.clone()]),
            ("r1".into(), sorted(vec![a.clone(), b.clone()])),
            ("r2".into(), vec![a.clone()]),
        ])
    );
    assert_eq!(
        rooms(&h, "/admin"),
        sorted(vec![
            (x.clone(), vec![x.clone()]),
            ("r1".into(), vec![x.clone()]),
        ])
    );
    assert_eq!(
        sorted(h.server.sockets_in("/", &strings(&["r1"]), &[])),
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        h.server.sockets_in("/", &strings(&["r2"]), &[]),
        vec![a.clone()]
    );

    // The last member leaving deletes the room.
    h.server.leave(h.now, &a, "r2");
    assert!(rooms(&h, "/").iter().all(|(r, _)| r != "r2"));
    assert!(h.server.sockets_in("/", &strings(&["r2"]), &[]).is_empty());
    h.server.leave(h.now, &a, "r1");
    assert_eq!(
        h.server.sockets_in("/", &strings(&["r1"]), &[]),
        vec![b.clone()]
    );
    assert_eq!(h.server.rooms_of(&a), vec![a.clone()]);
    // Leaving a room one is not in, twice, or as an unknown socket: nothing.
    h.server.leave(h.now, &a, "r1");
    h.server.leave(h.now, &a, "never");
    h.server.leave(h.now, "nope", "r1");
    h.server.join(h.now, "nope", &strings(&["ghost"]));
    assert_eq!(
        rooms(&h, "/"),
        sorted(vec![
            (a.clone(), vec![a.clone()]),
            (b.clone(), vec![b.clone()]),
            ("r1".into(), vec![b.clone()]),
        ])
    );
    assert!(h.server.rooms_of("nope").is_empty());
    // The admin namespace did not move.
    assert_eq!(rooms(&h, "/admin").len(), 2);
    assert!(h.server.rooms_in("/nope").is_empty());
    assert!(h.server.sockets_in("/nope", &[], &[]).is_empty());
}

#[test]
fn every_way_out_leaves_every_room() {
    let mut h = Harness::default_config();
    let many = |n: usize| -> Vec<String> { (0..n).map(|i| format!("room-{i}")).collect() };
    let common = strings(&["common"]);

    // Six sockets, each leaving in a different way.
    let (s1, a1) = h.ws_socket("/");
    let (_, a2) = h.ws_socket("/");
    let (s3, a3) = h.ws_socket("/");
    let (s4, a4) = h.polling_socket("/");
    let (s5, a5) = h.ws_socket("/");
    let (_, a6) = h.ws_socket("/");
    for id in [&a1, &a2, &a3, &a4, &a5, &a6] {
        h.server.join(h.now, id, &many(5));
        h.server.join(h.now, id, &common);
    }
    assert_eq!(rooms(&h, "/").len(), 6 + 5 + 1);

    h.send(&s1, "1"); // client DISCONNECT
    h.server.disconnect_socket(h.now, &a2, false); // server disconnect
    h.ws_closed(&s3, false); // transport close
    h.post_raw(&s4, b"4abc"); // protocol violation
    h.send(&s5, r#"2/other,["x"]"#); // packet for a namespace not joined
    assert_eq!(h.sockets_of("/"), vec![a6.clone()]);
    assert_eq!(
        sorted(h.server.sockets_in("/", &common, &[])),
        vec![a6.clone()]
    );
    for gone in [&a1, &a2, &a3, &a4, &a5] {
        assert!(h.server.rooms_of(gone).is_empty());
    }
    h.server.disconnect_socket(h.now, &a6, true);
    assert!(h.server.rooms_in("/").is_empty());
    assert_eq!(h.server.sockets_count(), 0);
}

// ---------------------------------------------------------------------------
// Disconnections
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Protocol violations
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum In {
    Text(&'static str),
    Binary(&'static [u8]),
}

/// Feeds `frames` (Socket.IO packets, the Engine.IO `4` added) to a
/// connection joined to `/`, next to a healthy one. The last frame must
/// close the connection; the healthy one keeps working.
fn check_violation(frames: &[In], polling: bool) -> Vec<Action> {
    let mut h = Harness::default_config();
    let (sid, id) = if polling {
        h.polling_socket("/")
    } else {
        h.ws_socket("/")
    };
    let (healthy, hid) = h.ws_socket("/");
    let (last, rest) = frames.split_last().unwrap();
    let feed = |h: &mut Harness, f: &In| match f {
        In::Text(t) => h.send(&sid, t),
        In::Binary(b) => h.send_binary(&sid, b),
    };
    for f in rest {
        let actions = feed(&mut h, f);
        assert!(
            closes(&actions).is_empty() && disconnects(&actions).is_empty(),
            "{frames:?}: {actions:?}"
        );
        assert!(h.server.engine().has_session(&sid), "{frames:?}");
    }
    let actions = feed(&mut h, last);
    assert_eq!(
        closes(&actions),
        vec![(sid.clone(), CloseReason::ForcedClose)],
        "{frames:?}: {actions:?}"
    );
    assert_eq!(disconnects(&actions).len(), 1, "{frames:?}: {actions:?}");
    assert_eq!(disconnects(&actions)[0].0, id);
    let closed = index_of(&actions, |a| {
        matches!(a, Action::Engine(EngineAction::Closed { .. }))
    });
    let gone = index_of(&actions, |a| matches!(a, Action::Disconnect { .. }));
    assert!(gone < closed);
    assert!(!h.server.engine().has_session(&sid));
    assert!(!h.is_connected(&id));
    assert_eq!(h.sockets_of("/"), vec![hid.clone()]);

    // The healthy connection is untouched.
    assert_eq!(
        h.ws_text(&healthy, r#"42["ok"]"#),
        vec![event_action(&hid, r#"["ok"]"#, None, &[])]
    );
    let e = h
        .server
        .emit_to_socket(h.now, &hid, Emit::new(r#"["back"]"#));
    assert_eq!(texts_to(&e.actions, &healthy), vec![r#"42["back"]"#]);
    actions
}

/// Packets the codec refuses: the connection is closed like Socket.IO does
/// on a decoding error ("forced close" for its sockets).
const UNDECODABLE: &[&[In]] = &[
    &[In::Text("abc")],
    &[In::Text("")],
    &[In::Text("7")],
    &[In::Text("2{}")],
    &[In::Text("2[]")],
    &[In::Text(r#"2["connect"]"#)],
    &[In::Text(r#"2["disconnecting",1]"#)],
    &[In::Text("2abc")],
    &[In::Text("2")],
    &[In::Text(r#"2"str""#)],
    &[In::Text("2[null]")],
    &[In::Text(r#"299999999999999999999999["a"]"#)],
    &[In::Text(r#"2["a"]trailing"#)],
    &[In::Text("3")],
    &[In::Text("3{}")],
    &[In::Text(r#"0"token""#)],
    &[In::Text("0/a,{")],
    &[In::Text("1{}")],
    &[In::Text(r#"5-["a"]"#)],
    &[In::Text(r#"50-["a",{}]"#)],
    &[In::Text(r#"511-["a"]"#)],
    &[
        In::Text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        In::Text(r#"2["b"]"#),
    ],
    &[
        In::Text(r#"52-["a",{"_placeholder":true,"num":0}]"#),
        In::Binary(&[1]),
        In::Text(r#"2["b"]"#),
    ],
    &[In::Binary(&[1, 2, 3])],
    &[
        In::Text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
        In::Binary(&[1]),
        In::Binary(&[2]),
    ],
];

#[test]
fn undecodable_packets_close_the_connection() {
    for frames in UNDECODABLE {
        for polling in [false, true] {
            let actions = check_violation(frames, polling);
            assert_eq!(
                disconnects(&actions)[0].1,
                DisconnectReason::Engine(CloseReason::ForcedClose),
                "{frames:?}"
            );
            if !polling {
                assert!(actions.contains(&ws_close_action(&closes(&actions)[0].0, 1000, "")));
            }
        }
    }
}

#[test]
fn payloads_nested_too_deeply_close_the_connection_like_malformed_ones() {
    let arrays = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let objects = |levels: usize| format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels));
    // The event array is the first level.
    let at_limit = format!(r#"2["ev",{}]"#, arrays(MAX_PAYLOAD_DEPTH - 1));
    let too_deep = [
        format!(r#"2["ev",{}]"#, arrays(MAX_PAYLOAD_DEPTH)),
        format!(r#"2["ev",{}]"#, objects(MAX_PAYLOAD_DEPTH)),
        format!(r#"2["ev",{}]"#, arrays(10_000)),
        format!("3[{}]", objects(10_000)),
    ];
    for polling in [false, true] {
        let mut h = Harness::default_config();
        let (sid, id) = if polling {
            h.polling_socket("/")
        } else {
            h.ws_socket("/")
        };
        let actions = h.send(&sid, &at_limit);
        assert!(actions.contains(&event_action(&id, &at_limit[1..], None, &[])));
        assert!(closes(&actions).is_empty());

        // Exactly what a malformed packet gets: an `error` for each socket,
        // then the connection closed.
        let malformed = check_violation(&[In::Text("2abc")], polling);
        assert!(malformed.contains(&Action::Error {
            socket_id: disconnects(&malformed)[0].0.clone(),
            message: "invalid payload".into(),
        }));
        for text in &too_deep {
            let text: &'static str = Box::leak(text.clone().into_boxed_str());
            assert_eq!(
                check_violation(&[In::Text(text)], polling),
                malformed,
                "{}",
                &text[..20]
            );
        }
    }
}

/// Valid packets out of place: the connection's sockets leave with "forced
/// server close", then the connection is closed.
const OUT_OF_PLACE: &[&[In]] = &[
    &[In::Text(r#"2/admin,["x"]"#)],
    &[In::Text(r#"3/admin,1[]"#)],
    &[In::Text("1/admin,")],
    &[In::Text("0")],
    &[In::Text(r#"0{"again":true}"#)],
    &[In::Text(r#"4{"message":"x"}"#)],
    &[In::Text(r#"4/admin,{"message":"x"}"#)],
    &[
        In::Text(r#"51-/admin,["a",{"_placeholder":true,"num":0}]"#),
        In::Binary(&[1]),
    ],
];

#[test]
fn packets_out_of_place_close_the_connection() {
    for frames in OUT_OF_PLACE {
        for polling in [false, true] {
            let actions = check_violation(frames, polling);
            let sid = closes(&actions)[0].0.clone();
            let id = disconnects(&actions)[0].0.clone();
            let mut expected = vec![disconnect_action(&id, DisconnectReason::ForcedServerClose)];
            if !polling {
                expected.push(ws_close_action(&sid, 1000, ""));
            }
            expected.push(closed_action(&sid, CloseReason::ForcedClose));
            let actions: Vec<Action> = essential(&actions)
                .into_iter()
                .filter(|a| !matches!(a, Action::Engine(EngineAction::Respond { .. })))
                .collect();
            assert_eq!(actions, expected, "{frames:?}");
        }
    }
}

#[test]
fn an_event_before_any_connect_closes_the_connection() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    let (other, o) = h.ws_socket("/");
    assert_eq!(
        h.ws_text(&sid, r#"42["early"]"#),
        vec![
            ws_close_action(&sid, 1000, ""),
            closed_action(&sid, CloseReason::ForcedClose)
        ]
    );
    assert!(!h.server.engine().has_session(&sid));
    assert_eq!(
        h.ws_text(&other, r#"42["ok"]"#),
        vec![event_action(&o, r#"["ok"]"#, None, &[])]
    );
}

#[test]
fn a_violation_answers_the_held_get_with_a_close() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let (get, actions) = h.poll(&sid);
    assert!(actions.is_empty());
    h.server
        .emit_to_socket(h.now, &id, Emit::new(r#"["pending"]"#));
    let (post, actions) = h.post_raw(&sid, b"42{}");
    assert_eq!(body_of(&actions, get), Some("42[\"pending\"]".to_owned()));
    assert_eq!(
        disconnects(&actions),
        vec![(id, DisconnectReason::Engine(CloseReason::ForcedClose))]
    );
    assert_eq!(actions.last(), Some(&ok_action(post)));
    // The next GET carries the close packet alone; then the session is gone.
    let (req, actions) = h.poll(&sid);
    assert_eq!(body_of(&actions, req), Some("1".to_owned()));
    let (req, actions) = h.poll(&sid);
    assert_eq!(
        body_of(&actions, req),
        Some(RequestError::UnknownSid.body())
    );
}

#[test]
fn packets_after_a_violation_in_the_same_post_are_dropped() {
    let mut h = Harness::default_config();
    let (sid, id) = h.polling_socket("/");
    let (post, actions) = h.post_raw(&sid, b"42[\"a\"]\x1e4abc\x1e42[\"b\"]\x1e40/admin,");
    assert_eq!(
        actions,
        vec![
            event_action(&id, r#"["a"]"#, None, &[]),
            Action::Error {
                socket_id: id.clone(),
                message: "unknown packet type".into(),
            },
            Action::CloseConnection { sid: sid.clone() },
            disconnect_action(&id, DisconnectReason::Engine(CloseReason::ForcedClose)),
            closed_action(&sid, CloseReason::ForcedClose),
            ok_action(post),
        ]
    );
}

// ---------------------------------------------------------------------------
// Connect timeout
// ---------------------------------------------------------------------------

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
        let mut h = Harness::new(EngineConfig::default(), SocketConfig { connect_timeout });
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

// ---------------------------------------------------------------------------
// Restored sessions
// ---------------------------------------------------------------------------

/// A WebSocket session joined to `/` in a first server, and its snapshot.
fn snapshot_from_a_lost_server() -> (String, Snapshot) {
    let mut before = Harness::default_config().seeded(1_000_000);
    let (sid, actions) = before.open_ws_actions();
    before.join(&sid, "/");
    (sid, snapshot_of(&actions))
}

#[test]
fn a_restored_session_without_sockets_refuses_events() {
    let (sid, snapshot) = snapshot_from_a_lost_server();
    let mut h = Harness::default_config();
    let (other, o) = h.ws_socket("/");
    let actions = h.server.restore(h.now, snapshot, vec![]);
    assert!(closes(&actions).is_empty());
    assert!(h.server.engine().has_session(&sid));
    assert_eq!(
        h.ws_text(&sid, r#"42["x"]"#),
        vec![
            ws_close_action(&sid, 1000, ""),
            closed_action(&sid, CloseReason::ForcedClose)
        ]
    );
    assert!(!h.server.engine().has_session(&sid));
    assert_eq!(
        h.ws_text(&other, r#"42["ok"]"#),
        vec![event_action(&o, r#"["ok"]"#, None, &[])]
    );
}

#[test]
fn a_restored_session_can_connect_again() {
    let (sid, snapshot) = snapshot_from_a_lost_server();
    let mut h = Harness::default_config();
    h.server.restore(h.now, snapshot.clone(), vec![]);
    // Restoring twice is harmless.
    h.server.restore(h.now, snapshot, vec![]);
    let id = h.join(&sid, "/");
    let admin = h.join(&sid, "/admin");
    assert_eq!(
        h.ws_text(&sid, r#"42/admin,1["hi"]"#),
        vec![event_action(&admin, r#"["hi"]"#, Some(1), &[])]
    );
    let e = h.server.emit_to_socket(h.now, &id, Emit::new(r#"["x"]"#));
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42["x"]"#]);
    // Its sockets leave with the engine's reason when it closes.
    let actions = h.ws_closed(&sid, false);
    assert_eq!(
        by_first(disconnects(&actions)),
        by_first(vec![
            (id, DisconnectReason::Engine(CloseReason::TransportClose)),
            (admin, DisconnectReason::Engine(CloseReason::TransportClose)),
        ])
    );
}

#[test]
fn an_overdue_snapshot_is_closed_at_once() {
    let mut before = Harness::default_config().seeded(1_000_000);
    let (sid, _) = before.open_ws_actions();
    before.advance(25_000);
    let actions = before.tick();
    let snapshot = snapshot_of(&actions);
    assert!(snapshot.pong_deadline.is_some());

    let mut h = Harness::default_config();
    h.now = snapshot.pong_deadline.unwrap();
    let actions = h.server.restore(h.now, snapshot, vec![]);
    checked(&actions);
    assert_eq!(
        closes(&actions),
        vec![(sid.clone(), CloseReason::PingTimeout)]
    );
    let random = h.random();
    assert!(h.server.accept(h.now, &sid, "/", &random).is_none());
    assert!(h
        .ws_text(&sid, "40")
        .iter()
        .all(|a| !matches!(a, Action::Connect { .. })));
}

// ---------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const PIECES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "9",
    "-",
    "/",
    ",",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ":",
    "_placeholder",
    "true",
    "num",
    "null",
    "é",
    "😀",
    "\u{0}",
    "\\",
    " ",
    "admin",
    "connect",
    "18446744073709551616",
    "1-",
    "2-",
    "a",
    "\u{1e}",
    "\u{fffd}",
    "\"ev\"",
];

const ODD: &[&str] = &[
    "4",
    "40/",
    "40/a,{",
    "40/,",
    "40,",
    "4//",
    "40/\u{0},",
    "41/",
    "42/",
    "42/,[\"a\"]",
    "45",
    "45-",
    "451",
    "451-",
    "451-/",
    "451-/a,",
    "4510-[\"a\"]",
    "46-",
    "4\u{fffd}",
    "4😀",
    "40/😀,{}",
    "42[\"\\ud800\"]",
    "42[\"a\",{\"_placeholder\":true,\"num\":99}]",
    "42[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]",
    "2",
    "",
    "x",
];

fn random_frame(rng: &mut Rng) -> String {
    if rng.below(4) == 0 {
        return rng.pick(ODD).to_owned();
    }
    let mut s = String::from("4");
    for _ in 0..rng.below(9) {
        s.push_str(rng.pick(PIECES));
    }
    s
}

#[test]
fn odd_input_never_panics_and_a_healthy_connection_keeps_working() {
    let mut h = Harness::default_config();
    let mut ledger = Ledger::default();
    let (healthy, hid) = h.ws_socket("/");
    ledger.add(&hid, &healthy);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut victim = h.open_ws();
    let (mut opened, mut events, mut accepts, mut closed) = (1, 0, 0, 0);

    for step in 0..6_000 {
        if !h.server.engine().has_session(&victim) {
            opened += 1;
            victim = if rng.below(2) == 0 {
                h.open_ws()
            } else {
                h.open_polling()
            };
            if rng.below(2) == 0 {
                let id = h.join(&victim, "/");
                ledger.add(&id, &victim);
            }
        }
        let polling = h.server.engine().transport_of(&victim) == Some(Transport::Polling);
        let actions = match rng.below(10) {
            0 | 1 => {
                let bytes = rng.bytes(12);
                h.send_binary(&victim, &bytes)
            }
            2 if polling => {
                // A raw POST body: several packets, base64, invalid UTF-8.
                let mut body = Vec::new();
                for i in 0..=rng.below(3) {
                    if i > 0 {
                        body.push(0x1e);
                    }
                    match rng.below(3) {
                        0 => body.extend(b64(&rng.bytes(6)).into_bytes()),
                        1 => body.extend(rng.bytes(6)),
                        _ => body.extend(random_frame(&mut rng).into_bytes()),
                    }
                }
                h.post_raw(&victim, &body).1
            }
            3 if polling && rng.below(4) == 0 => h.poll(&victim).1,
            _ => {
                let frame = random_frame(&mut rng);
                if polling {
                    h.post_raw(&victim, frame.as_bytes()).1
                } else {
                    h.ws_text(&victim, &frame)
                }
            }
        };
        ledger.apply(&actions);
        closed += closes(&actions).len();
        events += actions
            .iter()
            .filter(|a| matches!(a, Action::Event { .. } | Action::Ack { .. }))
            .count();
        // The driver accepts every CONNECT it is asked about.
        for a in &actions {
            if let Action::Connect { sid, nsp, .. } = a {
                let random = h.random();
                if let Some((id, accepted)) = h.server.accept(h.now, sid, nsp, &random) {
                    checked(&accepted);
                    ledger.add(&id, sid);
                    accepts += 1;
                }
            }
        }
        assert_eq!(
            h.server.sockets_count(),
            ledger.sockets.len(),
            "step {step}"
        );

        if step % 100 == 0 {
            let data = format!(r#"["step",{step}]"#);
            assert_eq!(
                h.ws_text(&healthy, &format!("42{data}")),
                vec![event_action(&hid, &data, None, &[])]
            );
            let e = h
                .server
                .emit_to_socket(h.now, &hid, Emit::new(&data).with_ack());
            assert_eq!(
                texts_to(&e.actions, &healthy),
                vec![format!("42{}{data}", e.ack_id.unwrap())]
            );
        }
    }
    // The run did go through every path.
    assert!(opened > 100, "{opened} sessions");
    assert!(
        closed + 1 >= opened,
        "{closed} closes for {opened} sessions"
    );
    assert!(events > 10, "{events} events");
    assert!(accepts > 10, "{accepts} CONNECTs accepted");
    assert!(h.is_connected(&hid));
    assert!(h.server.engine().has_session(&healthy));
    // Everything the victims left behind is gone with them.
    let live: Vec<String> = sorted(ledger.sockets.keys().cloned().collect());
    let mut listed: Vec<String> = Vec::new();
    for (_, members) in h.server.rooms_in("/") {
        listed.extend(members);
    }
    assert!(listed.iter().all(|id| live.contains(id)));
    let e = h
        .server
        .broadcast(h.now, "/", &[], &[], Emit::new(r#"["bye"]"#));
    assert!(frames_to(&e.actions, &healthy).len() == 1);
}
