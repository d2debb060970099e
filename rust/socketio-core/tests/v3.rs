//! Socket.IO v2 clients (Engine.IO protocol v3, `allowEIO3`): the implicit
//! connection to `/`, socket ids made of the session id, CONNECT answers
//! without payload, the auth in a namespace's query, the shape of refusals.
//! The reference is Node's `socket.io` 4.8 (index.ts, client.ts, socket.ts,
//! namespace.ts) with `allowEIO3: true`.

use engineio_core::{EngineConfig, Frame, Protocol, Transport};
use socketio_core::{Action, DisconnectReason, SocketConfig};
use test_support::socket::*;

fn v3_harness(recovery: Option<u64>) -> Harness {
    Harness::new(
        EngineConfig {
            allow_eio3: true,
            ..EngineConfig::default()
        },
        SocketConfig {
            recovery,
            ..SocketConfig::default()
        },
    )
}

fn open_v3(h: &mut Harness, transport: Transport) -> (String, Vec<Action>) {
    let req = h.req();
    let random = h.random();
    let actions = h
        .server
        .open_protocol(h.now, transport, Protocol::V3, Some(req), &random);
    (opened_sid(&actions), actions)
}

fn texts(actions: &[Action], sid: &str) -> Vec<String> {
    frames_to(actions, sid)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Text(t) => Some(t),
            Frame::Binary(_) => None,
        })
        .collect()
}

#[test]
fn the_connection_joins_the_main_namespace_at_once() {
    let mut h = v3_harness(None);
    let (sid, actions) = open_v3(&mut h, Transport::WebSocket);
    assert_eq!(
        actions.last(),
        Some(&Action::Connect {
            sid: sid.clone(),
            nsp: "/".into(),
            auth: None,
        })
    );
    assert!(h.server.is_v3(&sid));
    let random = h.random();
    assert_eq!(h.server.socket_id_for(&sid, "/", &random), sid);
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_eq!(id, sid, "the socket id is the session id");
    assert_eq!(texts(&actions, &sid), vec!["40".to_owned()]);
}

#[test]
fn a_v4_connection_of_the_same_server_waits_for_its_connect() {
    let mut h = v3_harness(None);
    let (sid, actions) = h.open_ws_actions();
    assert!(!actions.iter().any(|a| matches!(a, Action::Connect { .. })));
    assert!(!h.server.is_v3(&sid));
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_ne!(id, sid);
    assert_eq!(
        texts(&actions, &sid),
        vec![format!("4{}", connect_frame("/", &id))]
    );
}

#[test]
fn a_namespace_query_is_the_auth_and_the_id_names_the_namespace() {
    let mut h = v3_harness(None);
    let (sid, _) = open_v3(&mut h, Transport::WebSocket);
    let random = h.random();
    h.server.accept(h.now, &sid, "/", &random).unwrap();
    let actions = h.ws_text(&sid, "40/admin?token=a%20b&x=1,");
    assert_eq!(
        actions,
        vec![Action::Connect {
            sid: sid.clone(),
            nsp: "/admin".into(),
            auth: Some(r#"{"token":"a b","x":"1"}"#.into()),
        }]
    );
    let random = h.random();
    let (id, actions) = h.server.accept(h.now, &sid, "/admin", &random).unwrap();
    assert_eq!(id, format!("/admin#{sid}"));
    assert_eq!(texts(&actions, &sid), vec!["40/admin,".to_owned()]);
    // Without a query, the auth is empty.
    let actions = h.ws_text(&sid, "40/other,");
    assert!(matches!(&actions[..], [Action::Connect { auth: Some(a), .. }] if a == "{}"));
    // Events name the namespace without a query.
    let actions = h.ws_text(&sid, r#"42/admin,["hi",1]"#);
    assert_eq!(actions, vec![event_action(&id, r#"["hi",1]"#, None, &[])]);
}

#[test]
fn refusals_carry_the_error_data_or_message() {
    let mut h = v3_harness(None);
    let (sid, _) = open_v3(&mut h, Transport::WebSocket);
    let actions = h
        .server
        .connect_refused(h.now, &sid, "/", Some(r#""nope""#), None);
    assert_eq!(texts(&actions, &sid), vec![r#"44"nope""#.to_owned()]);
    let actions =
        h.server
            .connect_refused(h.now, &sid, "/admin", Some(r#""nope""#), Some(r#"{"a":1}"#));
    assert_eq!(
        texts(&actions, &sid),
        vec![r#"44/admin,{"a":1}"#.to_owned()]
    );
    // An unknown namespace is refused with an object, for every client.
    let actions = h
        .server
        .connect_error(h.now, &sid, "/x", r#"{"message":"Invalid namespace"}"#);
    assert_eq!(
        texts(&actions, &sid),
        vec![r#"44/x,{"message":"Invalid namespace"}"#.to_owned()]
    );
    // v4 clients get the object.
    let (v4, _) = h.open_ws_actions();
    let actions = h
        .server
        .connect_refused(h.now, &v4, "/", Some(r#""nope""#), Some("2"));
    assert_eq!(
        texts(&actions, &v4),
        vec![r#"44{"message":"nope","data":2}"#.to_owned()]
    );
}

#[test]
fn polling_v3_connections_get_their_connect_in_the_next_poll() {
    let mut h = v3_harness(None);
    let (sid, _) = open_v3(&mut h, Transport::Polling);
    let random = h.random();
    h.server.accept(h.now, &sid, "/", &random).unwrap();
    assert_eq!(h.get(&sid), "2:40");
}

#[test]
fn v3_sockets_have_no_recovery_session() {
    let mut h = v3_harness(Some(120_000));
    let (sid, _) = open_v3(&mut h, Transport::WebSocket);
    let mut random = [0u8; 30];
    random[..15].copy_from_slice(&h.random());
    random[15..].copy_from_slice(&h.random());
    let accepted = h
        .server
        .accept_new(
            h.now,
            &sid,
            "/",
            random[..15].try_into().unwrap(),
            Some(random[15..].try_into().unwrap()),
        )
        .unwrap();
    assert_eq!(accepted.pid, None);
    assert_eq!(texts(&accepted.actions, &sid), vec!["40".to_owned()]);
    let actions = h.ws_closed(&sid, false);
    assert!(!actions
        .iter()
        .any(|a| matches!(a, Action::Store(socketio_core::StoreOp::SessionKept { .. }))));
    assert_eq!(
        disconnects(&actions),
        vec![(
            sid.clone(),
            DisconnectReason::Engine(engineio_core::CloseReason::TransportClose)
        )]
    );
}

#[test]
fn a_revived_v3_session_stays_v3() {
    let mut h = v3_harness(None);
    let (sid, actions) = open_v3(&mut h, Transport::WebSocket);
    let snapshot = snapshot_of(&actions);
    assert_eq!(snapshot.protocol, Protocol::V3);
    let random = h.random();
    let (id, _) = h.server.accept(h.now, &sid, "/", &random).unwrap();

    let mut fresh = v3_harness(None);
    fresh.now = h.now;
    fresh.server.restore(
        fresh.now,
        snapshot,
        vec![socketio_core::StoredSocket {
            id: id.clone(),
            sid: sid.clone(),
            nsp: "/".into(),
            rooms: vec![],
        }],
    );
    assert!(fresh.server.is_v3(&sid));
    let actions = fresh.ws_text(&sid, "2");
    assert_eq!(texts(&actions, &sid), vec!["3".to_owned()]);
    let actions = fresh.ws_text(&sid, "40/admin,");
    assert!(matches!(&actions[..], [Action::Connect { auth: Some(a), .. }] if a == "{}"));
}
