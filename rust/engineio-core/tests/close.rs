//! Sessions closed by the server, and what they still deliver afterwards. The
//! engine is driven end to end with a fake clock; the reference behaviour is
//! Node's `engine.io`.

use engineio_core::{
    Action, CloseReason, Data, Engine, EngineConfig, Frame, Method, RequestError, RequestInfo,
    Route, Transport,
};
use test_support::engine::*;

#[test]
fn server_close_of_a_websocket_session() {
    let mut h = Harness::default_config();
    let (sid, _) = h.open_ws();
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![
            ws_close(&sid, 1000, ""),
            closed(&sid, CloseReason::ForcedClose),
        ]
    );
    assert!(!h.server.has_session(&sid));
    assert_eq!(h.server.close(h.now, &sid), vec![]);
    assert_eq!(h.server.send(h.now, &sid, Data::Text("x".into())), vec![]);
}

#[test]
fn server_close_of_a_polling_session_answers_the_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![payload(get, "1"), closed(&sid, CloseReason::ForcedClose)]
    );
    let (late, actions) = h.poll(&sid);
    assert_eq!(actions, vec![json_error(late, RequestError::UnknownSid)]);
}

#[test]
fn server_close_delivers_buffered_packets_before_the_close_packet() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    let (get, _) = h.poll(&sid);
    h.server.send(h.now, &sid, Data::Text("1".into()));
    h.server.send(h.now, &sid, Data::Binary(vec![7]));
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![
            payload(get, "41\x1ebBw=="),
            closed(&sid, CloseReason::ForcedClose),
        ]
    );
    assert_eq!(h.server.flush(h.now), vec![]);
    // The close packet waits for the next GET, alone.
    let (next, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(next, "1")]);
}

#[test]
fn server_close_of_a_polling_session_without_a_held_get() {
    let mut h = Harness::default_config();
    let (sid, _, _) = h.open_polling();
    assert_eq!(
        h.server.close(h.now, &sid),
        vec![closed(&sid, CloseReason::ForcedClose)]
    );
    assert_eq!(h.server.clients_count(), 0);
    // The next GET learns of the close; the one after gets a 400.
    let (next, actions) = h.poll(&sid);
    assert_eq!(actions, vec![payload(next, "1")]);
    let (last, actions) = h.poll(&sid);
    assert_eq!(
        actions,
        vec![engineio_core::error_response(
            last,
            RequestError::UnknownSid
        )]
    );
}

#[test]
fn a_server_close_without_a_held_get_is_delivered_to_the_next_get() {
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, _) = engine.open(1_000, Transport::Polling, Some(1), &[7; 15]);
    engine.send(1_000, &sid, Data::Text("2bye".into()));
    let closed = engine.close(1_000, &sid);
    assert!(closed
        .iter()
        .any(|a| matches!(a, Action::Closed { sid: s, .. } if *s == sid)));
    assert_eq!(engine.clients_count(), 0);
    let get = RequestInfo {
        method: Method::Get,
        transport: Some("polling"),
        eio: Some("4"),
        sid: Some(&sid),
        websocket_upgrade: false,
    };
    assert_eq!(engine.classify(&get), Ok(Route::Poll(sid.clone())));
    let answer = engine.poll(1_010, &sid, 2);
    assert!(matches!(
        answer.as_slice(),
        [Action::Respond { req: 2, status: 200, body, .. }] if body == "42bye"
    ));
    // The close packet comes alone, in the following response.
    assert_eq!(engine.classify(&get), Ok(Route::Poll(sid.clone())));
    let answer = engine.poll(1_020, &sid, 3);
    assert!(matches!(
        answer.as_slice(),
        [Action::Respond { req: 3, status: 200, body, .. }] if body == "1"
    ));
    // Delivered once: afterwards the sid is unknown.
    assert_eq!(engine.classify(&get), Err(RequestError::UnknownSid));
}

#[test]
fn undelivered_close_packets_expire_after_a_ping_interval() {
    let config = EngineConfig::default();
    let interval = config.ping_interval;
    let mut engine = Engine::new(config);
    let (sid, _) = engine.open(0, Transport::Polling, Some(1), &[9; 15]);
    engine.send(0, &sid, Data::Text("2bye".into()));
    engine.close(0, &sid);
    engine.tick(10);
    engine.tick(10 + interval + 1);
    let get = RequestInfo {
        method: Method::Get,
        transport: Some("polling"),
        eio: Some("4"),
        sid: Some(&sid),
        websocket_upgrade: false,
    };
    assert_eq!(engine.classify(&get), Err(RequestError::UnknownSid));
}

#[test]
fn a_server_close_during_an_upgrade_is_delivered_on_the_new_websocket() {
    let mut engine = Engine::new(EngineConfig::default());
    let (sid, _) = engine.open(0, Transport::Polling, Some(1), &[3; 15]);
    engine.begin_upgrade(5, &sid).unwrap();
    engine.ws_text(6, &sid, "2probe");
    engine.send(6, &sid, Data::Text("1".into()));
    let closed = engine.close(6, &sid);
    // The probe stays open: no WsClose yet.
    assert!(!closed.iter().any(|a| matches!(a, Action::WsClose { .. })));
    let done = engine.ws_text(7, &sid, "5");
    assert_eq!(
        done,
        vec![
            Action::WsSend {
                sid: sid.clone(),
                frame: Frame::Text("41".into())
            },
            Action::WsClose {
                sid: sid.clone(),
                code: 1000,
                reason: ""
            },
        ]
    );
}
