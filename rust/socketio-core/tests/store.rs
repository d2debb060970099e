//! The storage diffs of the socket layer and revival from them: what a Durable
//! Object writes so that its sockets survive eviction, and how a fresh server
//! comes back from it (a restored session, with its sockets or without).

use engineio_core::{Action as EngineAction, CloseReason, Snapshot};
use socketio_core::{
    Action, DisconnectReason, Emit, RoomChanges, SocketServer, StoreOp, StoredSocket, ACK_BLOCK,
};
use test_support::socket::*;

fn stores(actions: &[Action]) -> Vec<StoreOp> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Store(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

/// What `take_room_changes` returns, in a stable order (by socket, rooms sorted).
fn taken(server: &mut SocketServer, now: u64) -> Vec<RoomChanges> {
    let mut changes = server.take_room_changes(now);
    for c in &mut changes {
        c.joined.sort();
        c.left.sort();
    }
    changes.sort_by(|a, b| a.id.cmp(&b.id));
    changes
}

fn change(id: &str, joined: &[&str], left: &[&str]) -> RoomChanges {
    RoomChanges {
        id: id.into(),
        nsp: "/".into(),
        joined: strings(joined),
        left: strings(left),
    }
}

#[test]
fn a_websocket_socket_is_stored_with_its_rooms_and_removed_on_disconnect() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    h.ws_text(&sid, "40");
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_eq!(
        stores(&actions),
        vec![StoreOp::SocketAdded {
            id: id.clone(),
            sid: sid.clone(),
            nsp: "/".into(),
        }]
    );
    // Room changes are announced, then taken together; joining its own room
    // again or a room twice adds nothing.
    let joined = h.server.join(h.now, &id, &strings(&["a", "b", "a"]));
    assert_eq!(stores(&joined), vec![StoreOp::RoomsChanged]);
    assert!(stores(&h.server.join(h.now, &id, &strings(&["a", &id]))).is_empty());
    assert_eq!(
        taken(&mut h.server, h.now),
        vec![change(&id, &["a", "b"], &[])]
    );
    assert_eq!(taken(&mut h.server, h.now), vec![]);
    assert_eq!(
        stores(&h.server.leave(h.now, &id, "a")),
        vec![StoreOp::RoomsChanged]
    );
    assert!(stores(&h.server.leave(h.now, &id, "a")).is_empty());
    assert_eq!(taken(&mut h.server, h.now), vec![change(&id, &[], &["a"])]);
    // Leaving its own room is not stored (own rooms are implied).
    assert!(stores(&h.server.leave(h.now, &id, &id)).is_empty());
    assert_eq!(taken(&mut h.server, h.now), vec![]);

    // Client disconnect: the Disconnect comes first, then the removal.
    let actions = h.server.ws_text(h.now, &sid, "41");
    let disconnect = index_of(&actions, |a| matches!(a, Action::Disconnect { .. }));
    let removal = index_of(&actions, |a| {
        matches!(a, Action::Store(StoreOp::SocketRemoved { .. }))
    });
    assert!(disconnect < removal, "{actions:?}");
}

#[test]
fn room_changes_are_announced_once_per_batch_and_a_join_and_leave_in_between_cancel_out() {
    let mut h = Harness::default_config();
    let (_, id) = h.ws_socket("/");
    let (_, other) = h.ws_socket("/");
    h.server.join(h.now, &id, &strings(&["kept", "stored"]));
    h.server.take_room_changes(h.now);

    // Thousands of calls, one announcement.
    let mut announced = 0;
    for i in 0..2_000 {
        let room = format!("r{i}");
        announced += stores(&h.server.join(h.now, &id, std::slice::from_ref(&room))).len();
        if i % 2 == 0 {
            // Left in the same batch: never reaches storage.
            announced += stores(&h.server.leave(h.now, &id, &room)).len();
        }
    }
    // A stored room left and joined again: storage already holds it.
    announced += stores(&h.server.leave(h.now, &id, "stored")).len();
    announced += stores(&h.server.join(h.now, &id, &strings(&["stored"]))).len();
    // Another socket's changes travel in the same batch.
    announced += stores(&h.server.join(h.now, &other, &strings(&["x"]))).len();
    announced += stores(&h.server.leave(h.now, &id, "kept")).len();
    assert_eq!(announced, 1);

    let odd: Vec<String> = (0..2_000)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("r{i}"))
        .collect();
    let odd: Vec<&str> = odd.iter().map(String::as_str).collect();
    let mut expected = vec![change(&id, &odd, &["kept"]), change(&other, &["x"], &[])];
    expected.iter_mut().for_each(|c| c.joined.sort());
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(taken(&mut h.server, h.now), expected);

    // The next change starts a new batch.
    assert_eq!(
        stores(&h.server.join(h.now, &id, &strings(&["again"]))),
        vec![StoreOp::RoomsChanged]
    );
    assert_eq!(
        taken(&mut h.server, h.now),
        vec![change(&id, &["again"], &[])]
    );
}

#[test]
fn the_room_changes_of_a_socket_that_leaves_are_dropped_with_it() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let (_, other) = h.ws_socket("/");
    h.server.join(h.now, &id, &strings(&["a", "b"]));
    h.server.join(h.now, &other, &strings(&["a"]));
    let actions = h.server.ws_text(h.now, &sid, "41");
    assert!(stores(&actions).contains(&StoreOp::SocketRemoved { id: id.clone() }));
    assert_eq!(
        taken(&mut h.server, h.now),
        vec![change(&other, &["a"], &[])]
    );
}

#[test]
fn messages_write_nothing() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    h.server.join(h.now, &id, &strings(&["r"]));
    for i in 0..50 {
        let actions = h.server.ws_text(h.now, &sid, &format!("42[\"ev\",{i}]"));
        assert!(stores(&actions).is_empty(), "{actions:?}");
        let e = h
            .server
            .broadcast(h.now, "/", &strings(&["r"]), &[], Emit::new(r#"["x"]"#));
        assert!(stores(&e.actions).is_empty());
    }
}

#[test]
fn a_polling_connection_is_stored_when_it_upgrades() {
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    h.send(&sid, "0");
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert!(stores(&actions).is_empty());
    assert!(stores(&h.server.join(h.now, &id, &strings(&["r"]))).is_empty());

    h.server.begin_upgrade(h.now, &sid).unwrap();
    h.server.ws_text(h.now, &sid, "2probe");
    let actions = h.server.ws_text(h.now, &sid, "5");
    assert_eq!(
        stores(&actions),
        vec![
            StoreOp::SocketAdded {
                id: id.clone(),
                sid: sid.clone(),
                nsp: "/".into()
            },
            StoreOp::RoomsChanged,
        ]
    );
    assert_eq!(taken(&mut h.server, h.now), vec![change(&id, &["r"], &[])]);
    // From now on its changes are stored too.
    assert_eq!(
        stores(&h.server.join(h.now, &id, &strings(&["s"]))),
        vec![StoreOp::RoomsChanged]
    );
    assert_eq!(taken(&mut h.server, h.now), vec![change(&id, &["s"], &[])]);
}

#[test]
fn ack_ids_are_reserved_in_blocks_and_never_reused_after_a_restart() {
    let mut h = Harness::default_config();
    let (_, id) = h.ws_socket("/");
    let first = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(first.ack_id, Some(0));
    assert_eq!(
        stores(&first.actions),
        vec![StoreOp::AckReserved {
            nsp: "/".into(),
            up_to: ACK_BLOCK
        }]
    );
    for expected in 1..ACK_BLOCK {
        let e = h
            .server
            .emit_to_socket(h.now, &id, Emit::new(r#"["q"]"#).with_ack());
        assert_eq!(e.ack_id, Some(expected));
        assert!(stores(&e.actions).is_empty());
    }
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(ACK_BLOCK));
    assert_eq!(
        stores(&e.actions),
        vec![StoreOp::AckReserved {
            nsp: "/".into(),
            up_to: 2 * ACK_BLOCK
        }]
    );

    // A fresh server resumes at the reservation.
    let mut fresh = Harness::default_config().seeded(7);
    fresh.server.restore_ack_ids(fresh.now, "/", 2 * ACK_BLOCK);
    let (_, id) = fresh.ws_socket("/");
    let e = fresh
        .server
        .emit_to_socket(fresh.now, &id, Emit::new(r#"["q"]"#).with_ack());
    assert_eq!(e.ack_id, Some(2 * ACK_BLOCK));
}

/// A second server, as a restarted object gets: empty memory, fed from the
/// snapshots and rows the first one wrote.
fn fresh_server() -> SocketServer {
    Harness::default_config().seeded(99).server
}

#[test]
fn a_fresh_server_revives_a_connection_from_its_snapshot_and_rows() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    h.server.join(h.now, &id, &strings(&["room"]));
    let (other_sid, other) = h.ws_socket("/");
    h.server.join(h.now, &other, &strings(&["room"]));

    let mut fresh = fresh_server();
    let now = h.now + 5_000;
    let snapshot = Snapshot {
        sid: sid.clone(),
        next_ping_at: h.now + 25_000,
        pong_deadline: None,
        protocol: Default::default(),
        answered_ping: None,
    };
    let rows = vec![StoredSocket {
        id: id.clone(),
        sid: sid.clone(),
        nsp: "/".into(),
        rooms: strings(&["room"]),
    }];
    let actions = fresh.restore(now, snapshot, rows);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::Engine(EngineAction::Closed { .. }))));
    // An event on the revived connection reaches the same socket id.
    let actions = fresh.ws_text(now, &sid, "42[\"hi\"]");
    assert_eq!(actions, vec![event_action(&id, r#"["hi"]"#, None, &[])]);
    assert_eq!(sorted(fresh.rooms_of(&id)), sorted(strings(&[&id, "room"])));
    // Only this connection is known so far; the index brings the other one.
    assert_eq!(
        fresh.sockets_in("/", &strings(&["room"]), &[]),
        vec![id.clone()]
    );
    fresh.restore(
        now,
        Snapshot {
            sid: other_sid.clone(),
            next_ping_at: h.now + 25_000,
            pong_deadline: None,
            protocol: Default::default(),
            answered_ping: None,
        },
        vec![],
    );
    fresh.restore_sockets(
        now,
        vec![
            StoredSocket {
                id: id.clone(),
                sid: sid.clone(),
                nsp: "/".into(),
                rooms: strings(&["room"]),
            },
            StoredSocket {
                id: other.clone(),
                sid: other_sid.clone(),
                nsp: "/".into(),
                rooms: strings(&["room"]),
            },
            // A row whose session is gone is skipped.
            StoredSocket {
                id: "ghost".into(),
                sid: "gone".into(),
                nsp: "/".into(),
                rooms: strings(&["room"]),
            },
        ],
    );
    assert_eq!(
        sorted(fresh.sockets_in("/", &strings(&["room"]), &[])),
        sorted(vec![id.clone(), other.clone()])
    );
    // A broadcast reaches both connections with one frame.
    let e = fresh.broadcast(now, "/", &strings(&["room"]), &[], Emit::new(r#"["x"]"#));
    let many = send_many(&e.actions);
    assert_eq!(many.len(), 1);
    assert_eq!(sorted(many[0].0.clone()), sorted(vec![sid, other_sid]));
}

#[test]
fn a_connection_that_expired_while_evicted_leaves_with_ping_timeout() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let mut fresh = fresh_server();
    let snapshot = Snapshot {
        sid: sid.clone(),
        next_ping_at: h.now,
        pong_deadline: Some(h.now + 20_000),
        protocol: Default::default(),
        answered_ping: None,
    };
    let rows = vec![StoredSocket {
        id: id.clone(),
        sid: sid.clone(),
        nsp: "/".into(),
        rooms: vec![],
    }];
    let actions = fresh.restore(h.now + 30_000, snapshot, rows);
    assert_eq!(
        disconnects(&actions),
        vec![(
            id.clone(),
            DisconnectReason::Engine(engineio_core::CloseReason::PingTimeout)
        )]
    );
    assert_eq!(
        stores(&actions),
        vec![StoreOp::SocketRemoved { id: id.clone() }]
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Engine(EngineAction::WsClose { sid: s, .. }) if *s == sid
    )));
    assert_eq!(fresh.sockets_count(), 0);
    assert!(!fresh.engine().has_session(&sid));
}

#[test]
fn restored_sockets_are_stored_connections() {
    // Rooms joined after a revival are stored again.
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    let mut fresh = fresh_server();
    fresh.restore(
        h.now,
        Snapshot {
            sid: sid.clone(),
            next_ping_at: h.now + 25_000,
            pong_deadline: None,
            protocol: Default::default(),
            answered_ping: None,
        },
        vec![StoredSocket {
            id: id.clone(),
            sid,
            nsp: "/".into(),
            rooms: vec![],
        }],
    );
    assert_eq!(
        stores(&fresh.join(h.now, &id, &strings(&["late"]))),
        vec![StoreOp::RoomsChanged]
    );
    assert_eq!(taken(&mut fresh, h.now), vec![change(&id, &["late"], &[])]);
}

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
