//! Broadcasts: to a namespace, to rooms and except rooms, with an ack, with
//! attachments, volatile; each encoded once. The server is driven end to end
//! through its public API with a fake clock, over WebSocket and long-polling
//! sessions; the reference behaviour is Node's `socket.io` 4.x (client.ts,
//! socket.ts, namespace.ts).

use engineio_core::Frame;
use socketio_core::{Action, Emit};
use test_support::socket::*;

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
