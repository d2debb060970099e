//! Protocol violations: packets the codec refuses and valid packets out of
//! place close the connection, and only it. The server is driven end to end
//! through its public API with a fake clock, over WebSocket and long-polling
//! sessions; the reference behaviour is Node's `socket.io` 4.x (client.ts,
//! socket.ts, namespace.ts).

use engineio_core::{Action as EngineAction, CloseReason, RequestError};
use socketio_core::{Action, DisconnectReason, Emit, MAX_PAYLOAD_DEPTH};
use test_support::socket::*;

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
