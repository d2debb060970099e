//! Rooms: joining and leaving them, and every way out of a namespace leaving
//! every room. The server is driven end to end through its public API with a
//! fake clock, over WebSocket and long-polling sessions; the reference
//! behaviour is Node's `socket.io` 4.x (client.ts, socket.ts, namespace.ts).

use test_support::socket::*;

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
fn room_size_counts_the_members_of_one_namespace() {
    let mut h = Harness::default_config();
    let (_, a) = h.ws_socket("/");
    let (_, b) = h.ws_socket("/");
    let (_, x) = h.ws_socket("/admin");
    assert_eq!(h.server.room_size("/", &a), 1);
    assert_eq!(h.server.room_size("/", "r"), 0);
    h.server.join(h.now, &a, &strings(&["r", "r"]));
    assert_eq!(h.server.room_size("/", "r"), 1);
    h.server.join(h.now, &b, &strings(&["r"]));
    h.server.join(h.now, &x, &strings(&["r"]));
    assert_eq!(h.server.room_size("/", "r"), 2);
    assert_eq!(h.server.room_size("/admin", "r"), 1);
    h.server.leave(h.now, &a, "r");
    h.server.leave(h.now, &b, "r");
    assert_eq!(h.server.room_size("/", "r"), 0);
    assert_eq!(h.server.room_size("/admin", "r"), 1);
    assert_eq!(h.server.room_size("/nope", "r"), 0);
    h.server.disconnect_socket(h.now, &x, false);
    assert_eq!(h.server.room_size("/admin", "r"), 0);
    assert_eq!(h.server.room_size("/admin", &x), 0);
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

#[test]
fn is_targeted_agrees_with_sockets_in() {
    let mut h = Harness::default_config();
    let (_, a) = h.ws_socket("/");
    let (_, b) = h.ws_socket("/");
    let (_, c) = h.ws_socket("/");
    h.server.join(h.now, &a, &strings(&["r1"]));
    h.server.join(h.now, &b, &strings(&["r1", "r2"]));
    let cases: [(&[&str], &[&str]); 6] = [
        (&[], &[]),
        (&["r1"], &[]),
        (&["r1"], &["r2"]),
        (&[], &["r1"]),
        (&["r2", "nowhere"], &[]),
        (&["r1"], &["r1"]),
    ];
    for (rooms, except) in cases {
        let (rooms, except) = (strings(rooms), strings(except));
        let reached = h.server.sockets_in("/", &rooms, &except);
        for id in [&a, &b, &c] {
            assert_eq!(
                h.server.is_targeted(id, &rooms, &except),
                reached.contains(id),
                "{id} for rooms {rooms:?} except {except:?}"
            );
        }
    }
    assert!(!h.server.is_targeted("no-such-socket", &[], &[]));
}
