//! Events and acks from the client, over both transports, with binary
//! attachments. The server is driven end to end through its public API with a
//! fake clock, over WebSocket and long-polling sessions; the reference
//! behaviour is Node's `socket.io` 4.x (client.ts, socket.ts, namespace.ts).

use socketio_core::Action;
use test_support::socket::*;

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
