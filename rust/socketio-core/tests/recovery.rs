//! Connection state recovery: private session ids in the CONNECT answer,
//! offsets stamped on stored events, sessions kept on recoverable
//! disconnects, and the way back of a reconnecting socket. The reference is
//! Node's `socket.io` 4.8 (socket.ts, namespace.ts, and the session-aware
//! in-memory adapter of socket.io-adapter).

use engineio_core::{EngineConfig, SID_RANDOM_BYTES};
use socketio_core::{
    Accepted, Action, DisconnectReason, Emit, KeptSession, SocketConfig, SocketServer, StoreOp,
    StoredPacket,
};
use test_support::socket::*;

const WINDOW: u64 = 120_000;

fn recovering() -> Harness {
    Harness::new(
        EngineConfig::default(),
        SocketConfig {
            recovery: Some(WINDOW),
            ..SocketConfig::default()
        },
    )
}

/// Joins `nsp` over a new WebSocket session with a pid: (sid, accepted).
fn ws_joined(h: &mut Harness, nsp: &str) -> (String, Accepted) {
    let sid = h.open_ws();
    connect(h, &sid, nsp);
    let (random, pid_random) = (h.random(), h.random());
    let accepted = h
        .server
        .accept_new(h.now, &sid, nsp, &random, Some(&pid_random))
        .expect("accepted");
    (sid, accepted)
}

fn connect(h: &mut Harness, sid: &str, nsp: &str) {
    let packet = if nsp == "/" {
        "0".to_owned()
    } else {
        format!("0{nsp},")
    };
    let actions = h.send(sid, &packet);
    assert!(
        actions.iter().any(|a| matches!(a, Action::Connect { .. })),
        "{actions:?}"
    );
}

/// The packets stored by these actions.
fn stored(actions: &[Action]) -> Vec<(u64, Vec<String>, Vec<String>, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Store(StoreOp::PacketStored {
                offset,
                rooms,
                except,
                data,
                ..
            }) => Some((*offset, rooms.clone(), except.clone(), data.clone())),
            _ => None,
        })
        .collect()
}

fn kept(actions: &[Action]) -> Vec<(String, Vec<String>, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Store(StoreOp::SessionKept { id, rooms, at, .. }) => {
                Some((id.clone(), rooms.clone(), *at))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_connect_answer_carries_the_pid() {
    let mut h = recovering();
    let (sid, a) = ws_joined(&mut h, "/");
    let pid = a.pid.clone().expect("a pid");
    assert_ne!(pid, a.id);
    assert_eq!(pid.len(), a.id.len());
    assert_eq!(
        texts_to(&a.actions, &sid),
        vec![format!(r#"40{{"sid":"{}","pid":"{pid}"}}"#, a.id)]
    );

    // Without recovery there is none, even with random bytes for it.
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    connect(&mut h, &sid, "/admin");
    let (r, p) = (h.random(), h.random());
    let a = h
        .server
        .accept_new(h.now, &sid, "/admin", &r, Some(&p))
        .unwrap();
    assert_eq!(a.pid, None);
    assert_eq!(
        texts_to(&a.actions, &sid),
        vec![format!("40/admin,{{\"sid\":\"{}\"}}", a.id)]
    );
}

#[test]
fn polling_sockets_are_stored_with_recovery_on() {
    let mut h = recovering();
    let sid = h.open_polling();
    connect(&mut h, &sid, "/");
    let (r, p) = (h.random(), h.random());
    let a = h.server.accept_new(h.now, &sid, "/", &r, Some(&p)).unwrap();
    assert!(a.actions.iter().any(|x| matches!(
        x,
        Action::Store(StoreOp::SocketAdded { id, .. }) if *id == a.id
    )));
    // Without recovery, not until it upgrades.
    let mut off = Harness::default_config();
    let sid = off.open_polling();
    connect(&mut off, &sid, "/");
    let r = off.random();
    let (_, actions) = off.server.accept(off.now, &sid, "/", &r).unwrap();
    assert!(!actions
        .iter()
        .any(|x| matches!(x, Action::Store(StoreOp::SocketAdded { .. }))));
}

#[test]
fn stored_events_carry_their_offset_last() {
    let mut h = recovering();
    let (sid, a) = ws_joined(&mut h, "/");
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(r#"["ev",1]"#));
    let s = stored(&e.actions);
    assert_eq!(s.len(), 1);
    let (offset, rooms, except, data) = s[0].clone();
    assert_eq!(offset, h.now * 1000);
    assert_eq!(rooms, vec![a.id.clone()]);
    assert!(except.is_empty());
    assert_eq!(data, format!(r#"["ev",1,"{offset}"]"#));
    assert_eq!(texts_to(&e.actions, &sid), vec![format!("42{data}")]);

    // Same millisecond: the next offset is one more.
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(r#"["ev"]"#));
    assert_eq!(stored(&e.actions)[0].0, offset + 1);
    // Later: time decides again.
    h.advance(5);
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(r#"["ev"]"#));
    assert_eq!(stored(&e.actions)[0].0, h.now * 1000);

    // Acks and volatile events are neither stamped nor stored.
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(r#"["q"]"#).with_ack());
    assert!(stored(&e.actions).is_empty());
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"420["q"]"#]);
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(r#"["v"]"#).volatile());
    assert!(stored(&e.actions).is_empty());
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42["v"]"#]);
}

#[test]
fn a_broadcast_is_stored_once_with_its_targets() {
    let mut h = recovering();
    let (s1, a) = ws_joined(&mut h, "/");
    let (s2, b) = ws_joined(&mut h, "/");
    let _ = h.server.join(h.now, &a.id, &strings(&["r"]));
    let _ = h.server.join(h.now, &b.id, &strings(&["r"]));
    let e = h.server.broadcast(
        h.now,
        "/",
        &strings(&["r"]),
        &strings(&["x"]),
        Emit::new(r#"["hi"]"#),
    );
    let s = stored(&e.actions);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1, strings(&["r"]));
    assert_eq!(s[0].2, strings(&["x"]));
    let frame = format!("42{}", s[0].3);
    for sid in [&s1, &s2] {
        assert_eq!(texts_to(&e.actions, sid), vec![frame.clone()]);
    }
    // A broadcast nobody here receives is stored all the same: a socket that
    // comes back may be one of its targets.
    let e = h
        .server
        .broadcast(h.now, "/", &strings(&["empty"]), &[], Emit::new(r#"["x"]"#));
    assert_eq!(stored(&e.actions).len(), 1);
    // With recovery off: nothing stored, nothing appended.
    let mut off = Harness::default_config();
    let (sid, _) = off.ws_socket("/");
    let e = off
        .server
        .broadcast(off.now, "/", &[], &[], Emit::new(r#"["hi"]"#));
    assert!(stored(&e.actions).is_empty());
    assert_eq!(texts_to(&e.actions, &sid), vec![r#"42["hi"]"#]);
}

#[test]
fn sessions_are_kept_on_a_lost_connection_only() {
    let mut h = recovering();
    let (sid, a) = ws_joined(&mut h, "/");
    let _ = h.server.join(h.now, &a.id, &strings(&["r"]));
    let actions = h.server.ws_closed(h.now, &sid, false);
    let mut rooms = strings(&["r", &a.id]);
    rooms.sort();
    assert_eq!(kept(&actions), vec![(a.id.clone(), rooms, h.now)]);
    // Kept before the socket's disconnect is reported.
    let k = actions
        .iter()
        .position(|x| matches!(x, Action::Store(StoreOp::SessionKept { .. })));
    let d = actions
        .iter()
        .position(|x| matches!(x, Action::Disconnect { .. }));
    assert!(k < d, "{actions:?}");

    // The client's own disconnect is final.
    let (sid, _) = ws_joined(&mut h, "/");
    let actions = h.send(&sid, "1");
    assert_eq!(disconnects(&actions).len(), 1);
    assert!(kept(&actions).is_empty());
    // So is the server's.
    let (_, c) = ws_joined(&mut h, "/");
    let actions = h.server.disconnect_socket(h.now, &c.id, false);
    assert!(kept(&actions).is_empty());
    // A ping timeout is not.
    let (_, d) = ws_joined(&mut h, "/");
    h.advance(25_000);
    h.tick();
    h.advance(20_001);
    let actions = h.server.tick(h.now);
    assert!(
        kept(&actions).iter().any(|(id, ..)| *id == d.id),
        "{actions:?}"
    );

    assert!(DisconnectReason::ServerShuttingDown.is_recoverable());
    assert!(DisconnectReason::ForcedServerClose.is_recoverable());
    assert!(!DisconnectReason::ClientNamespaceDisconnect.is_recoverable());
    assert!(!DisconnectReason::ServerNamespaceDisconnect.is_recoverable());
}

#[test]
fn the_window_and_the_offset_decide() {
    let h = recovering();
    let at = 10_000;
    assert!(h.server.is_recoverable(at + WINDOW, at, true));
    assert!(!h.server.is_recoverable(at + WINDOW + 1, at, true));
    assert!(!h.server.is_recoverable(at, at, false));
    let off = Harness::default_config();
    assert!(!off.server.is_recoverable(at, at, true));
    assert_eq!(SocketServer::offset_floor(5), 5_000);
}

#[test]
fn a_recovered_socket_gets_its_id_rooms_and_missed_events() {
    let mut h = recovering();
    let (sid, a) = ws_joined(&mut h, "/");
    let _ = h.server.join(h.now, &a.id, &strings(&["r"]));
    let mut rooms = h.server.rooms_of(&a.id);
    rooms.sort();
    h.server.ws_closed(h.now, &sid, false);
    assert!(!h.is_connected(&a.id));

    let packet = |data: &str, rooms: &[&str], except: &[&str]| StoredPacket {
        data: data.to_owned(),
        rooms: strings(rooms),
        except: strings(except),
        binaries: Vec::new(),
    };
    let mut missed = vec![
        packet(r#"["all","1"]"#, &[], &[]),
        packet(r#"["room","2"]"#, &["r"], &[]),
        packet(r#"["other","3"]"#, &["s"], &[]),
        packet(r#"["excluded","4"]"#, &[], &["r"]),
        packet(r#"["mine","5"]"#, &[&a.id], &[]),
    ];
    missed.push(StoredPacket {
        binaries: vec![vec![1, 2, 3]],
        ..packet(r#"["bin",{"_placeholder":true,"num":0},"6"]"#, &[], &[])
    });

    let sid2 = h.open_ws();
    connect(&mut h, &sid2, "/");
    let pid = a.pid.clone().unwrap();
    let session = KeptSession {
        id: a.id.clone(),
        pid: pid.clone(),
        rooms: rooms.clone(),
        at: h.now,
    };
    let r = h
        .server
        .accept_recovered(h.now, &sid2, "/", session.clone(), &missed)
        .expect("recovered");
    assert_eq!(r.id, a.id);
    assert_eq!(r.pid.as_deref(), Some(pid.as_str()));
    let frames = frames_to(&r.actions, &sid2);
    let texts = texts_to(&r.actions, &sid2);
    assert_eq!(
        texts,
        vec![
            r#"42["all","1"]"#.to_owned(),
            r#"42["room","2"]"#.to_owned(),
            r#"42["mine","5"]"#.to_owned(),
            r#"451-["bin",{"_placeholder":true,"num":0},"6"]"#.to_owned(),
            format!(r#"40{{"sid":"{}","pid":"{pid}"}}"#, a.id),
        ]
    );
    assert_eq!(frames.len(), 6, "the attachment follows its event");
    let mut now_rooms = h.server.rooms_of(&a.id);
    now_rooms.sort();
    assert_eq!(now_rooms, rooms);
    // Stored again as a WebSocket socket, with its rooms.
    assert!(r.actions.iter().any(|x| matches!(
        x,
        Action::Store(StoreOp::SocketAdded { id, .. }) if *id == a.id
    )));

    // The id is taken now: a second recovery of the same session is refused.
    let sid3 = h.open_ws();
    connect(&mut h, &sid3, "/");
    assert!(h
        .server
        .accept_recovered(h.now, &sid3, "/", session, &missed)
        .is_none());
    // Recovery off: refused.
    let mut off = Harness::default_config();
    let sid = off.open_ws();
    connect(&mut off, &sid, "/");
    let s = KeptSession {
        id: "x".into(),
        pid: "p".into(),
        rooms: Vec::new(),
        at: off.now,
    };
    assert!(off
        .server
        .accept_recovered(off.now, &sid, "/", s, &[])
        .is_none());
    let _: [u8; SID_RANDOM_BYTES] = off.random();
}
