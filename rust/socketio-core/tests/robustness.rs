//! Odd input on WebSocket and long-polling sessions never panics, and a
//! healthy connection next to it keeps working.

use engineio_core::Transport;
use fuzz_support::Rng;
use socketio_core::{Action, Emit};
use test_support::socket::*;

const PIECES: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "9",
    "-",
    "/",
    ",",
    "[",
    "]",
    "{",
    "}",
    "\"",
    ":",
    "_placeholder",
    "true",
    "num",
    "null",
    "é",
    "😀",
    "\u{0}",
    "\\",
    " ",
    "admin",
    "connect",
    "18446744073709551616",
    "1-",
    "2-",
    "a",
    "\u{1e}",
    "\u{fffd}",
    "\"ev\"",
];

const ODD: &[&str] = &[
    "4",
    "40/",
    "40/a,{",
    "40/,",
    "40,",
    "4//",
    "40/\u{0},",
    "41/",
    "42/",
    "42/,[\"a\"]",
    "45",
    "45-",
    "451",
    "451-",
    "451-/",
    "451-/a,",
    "4510-[\"a\"]",
    "46-",
    "4\u{fffd}",
    "4😀",
    "40/😀,{}",
    "42[\"\\ud800\"]",
    "42[\"a\",{\"_placeholder\":true,\"num\":99}]",
    "42[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]",
    "2",
    "",
    "x",
];

/// Up to `max` random bytes.
fn some_bytes(rng: &mut Rng, max: usize) -> Vec<u8> {
    let len = rng.below(max + 1);
    rng.bytes(len)
}

fn random_frame(rng: &mut Rng) -> String {
    if rng.below(4) == 0 {
        return (*rng.pick(ODD)).to_owned();
    }
    let mut s = String::from("4");
    for _ in 0..rng.below(9) {
        let piece = *rng.pick(PIECES);
        s.push_str(piece);
    }
    s
}

#[test]
fn odd_input_never_panics_and_a_healthy_connection_keeps_working() {
    let mut h = Harness::default_config();
    let mut ledger = Ledger::default();
    let (healthy, hid) = h.ws_socket("/");
    ledger.add(&hid, &healthy);
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut victim = h.open_ws();
    let (mut opened, mut events, mut accepts, mut closed) = (1, 0, 0, 0);

    for step in 0..6_000 {
        if !h.server.engine().has_session(&victim) {
            opened += 1;
            victim = if rng.below(2) == 0 {
                h.open_ws()
            } else {
                h.open_polling()
            };
            if rng.below(2) == 0 {
                let id = h.join(&victim, "/");
                ledger.add(&id, &victim);
            }
        }
        let polling = h.server.engine().transport_of(&victim) == Some(Transport::Polling);
        let actions = match rng.below(10) {
            0 | 1 => {
                let bytes = some_bytes(&mut rng, 12);
                h.send_binary(&victim, &bytes)
            }
            2 if polling => {
                // A raw POST body: several packets, base64, invalid UTF-8.
                let mut body = Vec::new();
                for i in 0..=rng.below(3) {
                    if i > 0 {
                        body.push(0x1e);
                    }
                    match rng.below(3) {
                        0 => body.extend(b64(&some_bytes(&mut rng, 6)).into_bytes()),
                        1 => body.extend(some_bytes(&mut rng, 6)),
                        _ => body.extend(random_frame(&mut rng).into_bytes()),
                    }
                }
                h.post_raw(&victim, &body).1
            }
            3 if polling && rng.below(4) == 0 => h.poll(&victim).1,
            _ => {
                let frame = random_frame(&mut rng);
                if polling {
                    h.post_raw(&victim, frame.as_bytes()).1
                } else {
                    h.ws_text(&victim, &frame)
                }
            }
        };
        ledger.apply(&actions);
        closed += closes(&actions).len();
        events += actions
            .iter()
            .filter(|a| matches!(a, Action::Event { .. } | Action::Ack { .. }))
            .count();
        // The driver accepts every CONNECT it is asked about.
        for a in &actions {
            if let Action::Connect { sid, nsp, .. } = a {
                let random = h.random();
                if let Some((id, accepted)) = h.server.accept(h.now, sid, nsp, &random) {
                    checked(&accepted);
                    ledger.add(&id, sid);
                    accepts += 1;
                }
            }
        }
        assert_eq!(
            h.server.sockets_count(),
            ledger.sockets.len(),
            "step {step}"
        );

        if step % 100 == 0 {
            let data = format!(r#"["step",{step}]"#);
            assert_eq!(
                h.ws_text(&healthy, &format!("42{data}")),
                vec![event_action(&hid, &data, None, &[])]
            );
            let e = h
                .server
                .emit_to_socket(h.now, &hid, Emit::new(&data).with_ack());
            assert_eq!(
                texts_to(&e.actions, &healthy),
                vec![format!("42{}{data}", e.ack_id.unwrap())]
            );
        }
    }
    // The run did go through every path.
    assert!(opened > 100, "{opened} sessions");
    assert!(
        closed + 1 >= opened,
        "{closed} closes for {opened} sessions"
    );
    assert!(events > 10, "{events} events");
    assert!(accepts > 10, "{accepts} CONNECTs accepted");
    assert!(h.is_connected(&hid));
    assert!(h.server.engine().has_session(&healthy));
    // Everything the victims left behind is gone with them.
    let live: Vec<String> = sorted(ledger.sockets.keys().cloned().collect());
    let mut listed: Vec<String> = Vec::new();
    for (_, members) in h.server.rooms_in("/") {
        listed.extend(members);
    }
    assert!(listed.iter().all(|id| live.contains(id)));
    let e = h
        .server
        .broadcast(h.now, "/", &[], &[], Emit::new(r#"["bye"]"#));
    assert!(frames_to(&e.actions, &healthy).len() == 1);
}
