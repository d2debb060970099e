//! The storage diffs of the socket layer and revival from them: what a Durable
//! Object writes so that its sockets survive eviction, and how a fresh server
//! comes back from it.

mod common;

use common::*;
use engineio_core::{Action as EngineAction, Snapshot};
use socketio_core::{Action, DisconnectReason, SocketServer, StoreOp, StoredSocket, ACK_BLOCK};

fn stores(actions: &[Action]) -> Vec<StoreOp> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Store(op) => Some(op.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_websocket_socket_is_stored_with_its_rooms_and_removed_on_disconnect() {
    let mut h = Harness::default_config();
    let sid = h.open_ws();
    h.ws_text(&sid, "40");
    let random = h.random();
    let (id, actions) = h.server.accept(&sid, "/", &random).unwrap();
    assert_eq!(
        stores(&actions),
        vec![StoreOp::SocketAdded {
            id: id.clone(),
            sid: sid.clone(),
            nsp: "/".into(),
        }]
    );
    // Joining its own room again or a room twice writes nothing more.
    let joined = h.server.join(&id, &strings(&["a", "b", "a"]));
    assert_eq!(
        stores(&joined),
        vec![
            StoreOp::RoomJoined {
                id: id.clone(),
                nsp: "/".into(),
                room: "a".into()
            },
            StoreOp::RoomJoined {
                id: id.clone(),
                nsp: "/".into(),
                room: "b".into()
            },
        ]
    );
    assert!(stores(&h.server.join(&id, &strings(&["a"]))).is_empty());
    assert_eq!(
        stores(&h.server.leave(&id, "a")),
        vec![StoreOp::RoomLeft {
            id: id.clone(),
            room: "a".into()
        }]
    );
    assert!(stores(&h.server.leave(&id, "a")).is_empty());
    // Leaving its own room is not stored (own rooms are implied).
    assert!(stores(&h.server.leave(&id, &id)).is_empty());

    // Client disconnect: the Disconnect comes first, then the removal.
    let actions = h.server.ws_text(h.now, &sid, "41");
    let disconnect = index_of(&actions, |a| matches!(a, Action::Disconnect { .. }));
    let removal = index_of(&actions, |a| {
        matches!(a, Action::Store(StoreOp::SocketRemoved { .. }))
    });
    assert!(disconnect < removal, "{actions:?}");
}

#[test]
fn messages_write_nothing() {
    let mut h = Harness::default_config();
    let (sid, id) = h.ws_socket("/");
    h.server.join(&id, &strings(&["r"]));
    for i in 0..50 {
        let actions = h.server.ws_text(h.now, &sid, &format!("42[\"ev\",{i}]"));
        assert!(stores(&actions).is_empty(), "{actions:?}");
        let e = h
            .server
            .broadcast("/", &strings(&["r"]), &[], r#"["x"]"#, &[], false, false);
        assert!(stores(&e.actions).is_empty());
    }
}

#[test]
fn a_polling_connection_is_stored_when_it_upgrades() {
    let mut h = Harness::default_config();
    let sid = h.open_polling();
    h.send(&sid, "0");
    let random = h.random();
    let (id, actions) = h.server.accept(&sid, "/", &random).unwrap();
    assert!(stores(&actions).is_empty());
    assert!(stores(&h.server.join(&id, &strings(&["r"]))).is_empty());

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
            StoreOp::RoomJoined {
                id: id.clone(),
                nsp: "/".into(),
                room: "r".into()
            },
        ]
    );
    // From now on its changes are stored too.
    assert_eq!(stores(&h.server.join(&id, &strings(&["s"]))).len(), 1);
}

#[test]
fn ack_ids_are_reserved_in_blocks_and_never_reused_after_a_restart() {
    let mut h = Harness::default_config();
    let (_, id) = h.ws_socket("/");
    let first = h.server.emit_to_socket(&id, r#"["q"]"#, &[], true, false);
    assert_eq!(first.ack_id, Some(0));
    assert_eq!(
        stores(&first.actions),
        vec![StoreOp::AckReserved {
            nsp: "/".into(),
            up_to: ACK_BLOCK
        }]
    );
    for expected in 1..ACK_BLOCK {
        let e = h.server.emit_to_socket(&id, r#"["q"]"#, &[], true, false);
        assert_eq!(e.ack_id, Some(expected));
        assert!(stores(&e.actions).is_empty());
    }
    let e = h.server.emit_to_socket(&id, r#"["q"]"#, &[], true, false);
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
    fresh.server.restore_ack_ids("/", 2 * ACK_BLOCK);
    let (_, id) = fresh.ws_socket("/");
    let e = fresh
        .server
        .emit_to_socket(&id, r#"["q"]"#, &[], true, false);
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
    h.server.join(&id, &strings(&["room"]));
    let (other_sid, other) = h.ws_socket("/");
    h.server.join(&other, &strings(&["room"]));

    let mut fresh = fresh_server();
    let now = h.now + 5_000;
    let snapshot = Snapshot {
        sid: sid.clone(),
        next_ping_at: h.now + 25_000,
        pong_deadline: None,
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
        },
        vec![],
    );
    fresh.restore_sockets(vec![
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
    ]);
    assert_eq!(
        sorted(fresh.sockets_in("/", &strings(&["room"]), &[])),
        sorted(vec![id.clone(), other.clone()])
    );
    // A broadcast reaches both connections with one frame.
    let e = fresh.broadcast("/", &strings(&["room"]), &[], r#"["x"]"#, &[], false, false);
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
        },
        vec![StoredSocket {
            id: id.clone(),
            sid,
            nsp: "/".into(),
            rooms: vec![],
        }],
    );
    assert_eq!(
        stores(&fresh.join(&id, &strings(&["late"]))),
        vec![StoreOp::RoomJoined {
            id,
            nsp: "/".into(),
            room: "late".into()
        }]
    );
}
