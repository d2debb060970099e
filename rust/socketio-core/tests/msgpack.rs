//! A server speaking msgpack (`socket.io-msgpack-parser`): every packet is one
//! binary message both ways, over WebSocket and long-polling; broadcasts are
//! one frame whatever the number of recipients; a malformed frame closes its
//! connection only.

use engineio_core::{Action as EngineAction, EngineConfig, Frame, Snapshot};
use socketio_core::msgpack::{decode_packet, encode_packet};
use socketio_core::{
    Action, Emit, KeptSession, PacketKind, ParseError, Parser, SocketConfig, StoreOp, StoredPacket,
    StoredSocket,
};
use test_support::socket::*;

fn harness() -> Harness {
    Harness::new(
        EngineConfig::default(),
        SocketConfig {
            parser: Parser::MsgPack,
            ..SocketConfig::default()
        },
    )
}

/// A client packet as one frame.
fn frame(
    kind: PacketKind,
    nsp: &str,
    id: Option<u64>,
    data: Option<&str>,
    bins: &[Vec<u8>],
) -> Vec<u8> {
    encode_packet(kind, nsp, id, data, bins).unwrap()
}

/// The client sends a frame on its transport.
fn send(h: &mut Harness, sid: &str, bytes: &[u8]) -> Vec<Action> {
    h.send_binary(sid, bytes)
}

/// A packet the client received: kind, namespace, id, data, binaries.
type Received = (
    PacketKind,
    String,
    Option<u64>,
    Option<String>,
    Vec<Vec<u8>>,
);

/// The binary frames sent to the WebSocket of `sid`, decoded.
fn received(actions: &[Action], sid: &str) -> Vec<Received> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Engine(EngineAction::WsSend {
                sid: s,
                frame: Frame::Binary(b),
            }) if s == sid => {
                let c = decode_packet(b).unwrap();
                Some((
                    c.packet.kind,
                    c.packet.nsp,
                    c.packet.id,
                    c.packet.data,
                    c.binaries,
                ))
            }
            Action::Engine(EngineAction::WsSend {
                sid: s,
                frame: Frame::Text(t),
            }) if s == sid => {
                panic!("a text frame with msgpack: {t}")
            }
            _ => None,
        })
        .collect()
}

/// Joins `nsp` over WebSocket: (sid, socket id).
fn ws_socket(h: &mut Harness, nsp: &str) -> (String, String) {
    let sid = h.open_ws();
    // `{type: 0, data: undefined, nsp}` as socket.io-client sends it without auth.
    let mut connect = vec![
        0x83, 0xa4, b't', b'y', b'p', b'e', 0x00, 0xa4, b'd', b'a', b't', b'a', 0xd4, 0, 0,
    ];
    connect.extend_from_slice(&[0xa3, b'n', b's', b'p', 0xa0 | nsp.len() as u8]);
    connect.extend_from_slice(nsp.as_bytes());
    let actions = send(h, &sid, &connect);
    assert_eq!(
        actions,
        vec![Action::Connect {
            sid: sid.clone(),
            nsp: nsp.to_owned(),
            auth: None
        }]
    );
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, nsp, &random).unwrap();
    let got = received(&unstored(actions), &sid);
    assert_eq!(
        got,
        vec![(
            PacketKind::Connect,
            nsp.to_owned(),
            None,
            Some(format!("{{\"sid\":\"{id}\"}}")),
            vec![]
        )]
    );
    (sid, id)
}

#[test]
fn events_and_acks_both_ways_with_binary_data() {
    let mut h = harness();
    let (sid, id) = ws_socket(&mut h, "/");
    let bins = vec![vec![1, 2, 3], vec![0; 70_000]];
    let data = format!(r#"["up",{PLACEHOLDER_0},{{"nested":[{PLACEHOLDER_1}]}},"é"]"#);
    let actions = send(
        &mut h,
        &sid,
        &frame(PacketKind::Event, "/", Some(4), Some(&data), &bins),
    );
    assert_eq!(
        actions,
        vec![event_action(&id, &data, Some(4), &[&bins[0], &bins[1]])]
    );
    // The server's answer to that ack, with a binary argument.
    let actions = h
        .server
        .ack(h.now, &id, 4, &format!("[{PLACEHOLDER_0},2]"), &[vec![7]]);
    assert_eq!(
        received(&actions, &sid),
        vec![(
            PacketKind::BinaryAck,
            "/".into(),
            Some(4),
            Some(format!("[{PLACEHOLDER_0},2]")),
            vec![vec![7]]
        )]
    );
    // An event from the server that asks for an ack; the client's answer.
    let e = h
        .server
        .emit_to_socket(h.now, &id, Emit::new(r#"["q",{"a":null}]"#).with_ack());
    let ack_id = e.ack_id.unwrap();
    assert_eq!(
        received(&unstored(e.actions), &sid),
        vec![(
            PacketKind::Event,
            "/".into(),
            Some(ack_id),
            Some(r#"["q",{"a":null}]"#.into()),
            vec![]
        )]
    );
    let actions = send(
        &mut h,
        &sid,
        &frame(PacketKind::Ack, "/", Some(ack_id), Some(r#"["yes"]"#), &[]),
    );
    assert_eq!(
        actions,
        vec![Action::Ack {
            socket_id: id.clone(),
            id: ack_id,
            data: r#"["yes"]"#.into(),
            binaries: vec![]
        }]
    );
    // A DISCONNECT from the client.
    let actions = send(
        &mut h,
        &sid,
        &frame(PacketKind::Disconnect, "/", None, None, &[]),
    );
    assert_eq!(
        disconnects(&actions),
        vec![(
            id,
            socketio_core::DisconnectReason::ClientNamespaceDisconnect
        )]
    );
}

#[test]
fn broadcasts_are_one_frame_for_every_recipient() {
    let mut h = harness();
    let a = ws_socket(&mut h, "/");
    let b = ws_socket(&mut h, "/");
    let polling = h.open_polling();
    let connect = frame(PacketKind::Connect, "/", None, None, &[]);
    assert_eq!(
        send(&mut h, &polling, &connect).len(),
        2,
        "Connect and the POST's ok"
    );
    let random = h.random();
    let (pid, _) = h.server.accept(h.now, &polling, "/", &random).unwrap();
    let connected = h.get(&polling);
    assert!(connected.starts_with('b'), "{connected}");

    let bins = vec![vec![5u8; 10]];
    let data = format!(r#"["news",{PLACEHOLDER_0}]"#);
    let e = h
        .server
        .broadcast(h.now, "/", &[], &[], Emit::new(&data).with_binaries(&bins));
    let many = send_many(&e.actions);
    assert_eq!(many.len(), 1, "{:?}", e.actions);
    let (sids, Frame::Binary(bytes)) = &many[0] else {
        panic!("{many:?}")
    };
    assert_eq!(*sids, sorted(vec![a.0.clone(), b.0.clone()]));
    let c = decode_packet(bytes).unwrap();
    assert_eq!(c.packet.data.as_deref(), Some(data.as_str()));
    assert_eq!(c.binaries, bins);
    // The polling client gets the same frame, as a base64 message of its payload.
    assert_eq!(h.get(&polling), b64_message(bytes));
    assert!(h.is_connected(&pid));
}

fn b64_message(bytes: &[u8]) -> String {
    // Engine.IO's binary message in a polling payload: `b` and base64, the `4` implied.
    b64(bytes)
}

#[test]
fn a_malformed_frame_closes_its_connection_only() {
    let mut h = harness();
    let (other_sid, other_id) = ws_socket(&mut h, "/");
    for (bad, message) in [
        (vec![0xc1], "Could not parse"),
        (
            vec![
                0x81, 0xa4, b'd', b'a', b't', b'a', 0xdd, 0xff, 0xff, 0xff, 0xff,
            ],
            "Could not parse",
        ),
        (
            frame(PacketKind::Event, "/", None, Some(r#"["disconnect"]"#), &[]),
            "invalid payload",
        ),
        (vec![0x80], "invalid packet type"),
    ] {
        let (sid, id) = ws_socket(&mut h, "/");
        let actions = send(&mut h, &sid, &bad);
        assert!(
            actions.contains(&Action::Error {
                socket_id: id.clone(),
                message: message.into()
            }),
            "{bad:x?}: {actions:?}"
        );
        assert!(
            closes(&actions).iter().any(|(s, _)| *s == sid),
            "{actions:?}"
        );
        assert!(!h.is_connected(&id));
    }
    // A text frame is no packet with msgpack.
    let (sid, id) = ws_socket(&mut h, "/");
    let actions = h.ws_text(&sid, r#"42["ev"]"#);
    assert!(actions.contains(&Action::Error {
        socket_id: id,
        message: "invalid packet type".into()
    }));
    assert!(h.is_connected(&other_id));
    let actions = send(
        &mut h,
        &other_sid,
        &frame(PacketKind::Event, "/", None, Some(r#"["still"]"#), &[]),
    );
    assert_eq!(
        actions,
        vec![event_action(&other_id, r#"["still"]"#, None, &[])]
    );
    assert_eq!(
        ParseError::UnexpectedText.reference_message(),
        "invalid packet type"
    );
}

#[test]
fn a_revived_connection_still_speaks_msgpack() {
    let mut h = harness();
    let (sid, id) = ws_socket(&mut h, "/");
    // A fresh server after an eviction: the session from its snapshot, the socket from its row.
    let mut fresh = harness().server;
    let snapshot = Snapshot {
        sid: sid.clone(),
        next_ping_at: h.now + 25_000,
        pong_deadline: None,
        protocol: Default::default(),
        answered_ping: None,
    };
    let row = StoredSocket {
        id: id.clone(),
        sid: sid.clone(),
        nsp: "/".into(),
        rooms: vec![],
    };
    fresh.restore(h.now, snapshot, vec![row]);
    let event = frame(PacketKind::Event, "/", None, Some(r#"["after",1]"#), &[]);
    assert_eq!(
        fresh.ws_binary(h.now, &sid, &event),
        vec![event_action(&id, r#"["after",1]"#, None, &[])]
    );
    // Its answers are msgpack too.
    let e = fresh.emit_to_socket(h.now, &id, Emit::new(r#"["back"]"#));
    assert_eq!(
        received(&e.actions, &sid),
        vec![(
            PacketKind::Event,
            "/".into(),
            None,
            Some(r#"["back"]"#.into()),
            vec![]
        )]
    );
}

#[test]
fn recovered_sockets_get_their_missed_packets_as_msgpack() {
    let mut h = Harness::new(
        EngineConfig::default(),
        SocketConfig {
            parser: Parser::MsgPack,
            recovery: Some(120_000),
            ..SocketConfig::default()
        },
    );
    let sid = h.open_ws();
    let connect = frame(PacketKind::Connect, "/", None, None, &[]);
    send(&mut h, &sid, &connect);
    let random = h.random();
    let pid_random = h.random();
    let a = h
        .server
        .accept_new(h.now, &sid, "/", &random, Some(&pid_random))
        .unwrap();
    // An event stored for recovery is JSON, its offset appended.
    let bins = vec![vec![1u8, 2]];
    let data = format!(r#"["bin",{PLACEHOLDER_0}]"#);
    let e = h
        .server
        .emit_to_socket(h.now, &a.id, Emit::new(&data).with_binaries(&bins));
    let stored = e
        .actions
        .iter()
        .find_map(|a| match a {
            Action::Store(StoreOp::PacketStored { data, binaries, .. }) => {
                Some((data.clone(), binaries.clone()))
            }
            _ => None,
        })
        .expect("stored");
    assert!(stored
        .0
        .starts_with(r#"["bin",{"_placeholder":true,"num":0},""#));
    h.server.ws_closed(h.now, &sid, false);
    let sid2 = h.open_ws();
    send(&mut h, &sid2, &connect);
    let session = KeptSession {
        id: a.id.clone(),
        pid: a.pid.clone().unwrap(),
        rooms: vec![a.id.clone()],
        at: h.now,
    };
    let missed = [StoredPacket {
        data: stored.0.clone(),
        rooms: vec![a.id.clone()],
        except: vec![],
        binaries: stored.1,
    }];
    let r = h
        .server
        .accept_recovered(h.now, &sid2, "/", session, &missed)
        .unwrap();
    let got = received(&unstored(r.actions), &sid2);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0],
        (
            PacketKind::BinaryEvent,
            "/".into(),
            None,
            Some(stored.0),
            bins
        )
    );
    assert_eq!(got[1].0, PacketKind::Connect);
}
