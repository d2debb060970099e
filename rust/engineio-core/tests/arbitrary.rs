//! Arbitrary input on every entry point: nothing panics, every request is
//! answered once, and the books of sessions stay straight.

use std::collections::HashSet;

use engineio_core::{
    Action, CloseReason, Data, Engine, EngineConfig, Method, Route, Snapshot, Transport,
    SID_RANDOM_BYTES,
};
use fuzz_support::Rng;
use test_support::engine::*;

const FRAGMENTS: &[&str] = &[
    "",
    "\x1e",
    "\x1e\x1e",
    "b",
    "b=",
    "bAQID",
    "bAQIDBA==",
    "b!!",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "9",
    "probe",
    "2probe",
    "3probe",
    "hello",
    "€",
    "𝄞",
    "\u{0}",
    "\u{feff}",
    "99999999999999999999999999999",
    "-1",
    "{\"sid\":1}",
    " ",
    "\n",
    "é",
];

fn odd_string(rng: &mut Rng) -> String {
    let n = rng.below(6);
    (0..n).map(|_| *rng.pick(FRAGMENTS)).collect()
}

fn odd_bytes(rng: &mut Rng) -> Vec<u8> {
    let mut bytes = odd_string(rng).into_bytes();
    if rng.below(3) == 0 {
        let at = rng.below(bytes.len() + 1);
        let junk: &[u8] = match rng.below(4) {
            0 => &[0xff],
            1 => &[0xc3],
            2 => &[0xe2, 0x82],
            _ => &[0x80, 0x80],
        };
        bytes.splice(at..at, junk.iter().copied());
    }
    bytes
}

fn reason_index(reason: CloseReason) -> usize {
    match reason {
        CloseReason::TransportClose => 0,
        CloseReason::TransportError => 1,
        CloseReason::PingTimeout => 2,
        CloseReason::ParseError => 3,
        CloseReason::ForcedClose => 4,
    }
}

/// Bookkeeping that checks the actions of every call as they come.
#[derive(Default)]
struct Ledger {
    open: HashSet<String>,
    pending: HashSet<u32>,
    answered: usize,
    /// Closes per reason, indexed by `reason_index`.
    closes: [usize; 5],
}

impl Ledger {
    fn issue(&mut self, req: u32) {
        assert!(self.pending.insert(req));
    }

    fn check(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Opened { sid, .. } => {
                    assert!(self.open.insert(sid.clone()), "opened twice: {sid}")
                }
                Action::Closed { sid, reason } => {
                    assert!(self.open.remove(sid), "closed a session not open: {sid}");
                    self.closes[reason_index(*reason)] += 1;
                }
                Action::Respond { req, status, .. } => {
                    assert!(
                        self.pending.remove(req),
                        "request {req} answered twice or never issued"
                    );
                    assert!([200, 400, 403, 413].contains(status));
                    self.answered += 1;
                }
                Action::Message { sid, .. } | Action::WsSend { sid, .. } => {
                    assert!(self.open.contains(sid), "{action:?} for a closed session")
                }
                Action::Persist(s) => assert!(self.open.contains(&s.sid)),
                Action::WsSendMany { sids, .. } => {
                    for sid in sids {
                        assert!(self.open.contains(sid), "{action:?} for a closed session")
                    }
                }
                Action::WsClose { .. } | Action::SetAlarm { .. } => {}
            }
        }
    }
}

#[test]
fn arbitrary_input_never_panics_and_keeps_the_books_straight() {
    let config = EngineConfig {
        ping_interval: 1_000,
        ping_timeout: 500,
        max_payload: 48,
        upgrade_timeout: 300,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(config);
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut ledger = Ledger::default();
    let mut now: u64 = 1;
    let mut next_req: u32 = 1;
    let methods = [Method::Get, Method::Post, Method::Other];
    let transports = ["polling", "websocket", "", "xhr"];

    for step in 0..30_000 {
        now += rng.below(40) as u64;
        let mut sids: Vec<String> = ledger.open.iter().cloned().collect();
        sids.sort();
        let sid = if sids.is_empty() || rng.below(8) == 0 {
            odd_string(&mut rng)
        } else {
            sids[rng.below(sids.len())].clone()
        };
        let actions = match rng.below(16) {
            0 | 1 => {
                let transport = if rng.below(2) == 0 {
                    Transport::Polling
                } else {
                    Transport::WebSocket
                };
                let mut random = [0u8; SID_RANDOM_BYTES];
                for b in random.iter_mut() {
                    *b = rng.below(256) as u8;
                }
                let req = (transport == Transport::Polling).then(|| {
                    next_req += 1;
                    next_req
                });
                if let Some(r) = req {
                    ledger.issue(r);
                }
                engine.open(now, transport, req, &random).1
            }
            2 => {
                next_req += 1;
                ledger.issue(next_req);
                engine.poll(now, &sid, next_req)
            }
            3 | 4 => {
                next_req += 1;
                ledger.issue(next_req);
                let content_type =
                    [None, Some("text/plain"), Some("application/octet-stream")][rng.below(3)];
                let actions = engine.post(now, &sid, next_req, content_type, &odd_bytes(&mut rng));
                assert!(
                    !answers(&actions, next_req).is_empty(),
                    "a POST is always answered at once"
                );
                actions
            }
            5 | 6 => engine.ws_text(now, &sid, &odd_string(&mut rng)),
            7 => engine.ws_binary(now, &sid, &odd_bytes(&mut rng)),
            8 => engine.begin_upgrade(now, &sid).unwrap_or_default(),
            9 => engine.ws_closed(now, &sid, rng.below(2) == 0),
            10 => {
                let mut a = engine.send(now, &sid, Data::Text(odd_string(&mut rng)));
                a.extend(engine.send(now, &sid, Data::Binary(odd_bytes(&mut rng))));
                a
            }
            11 => engine.flush(now),
            12 => {
                now += rng.below(800) as u64;
                engine.tick(now)
            }
            13 => {
                if rng.below(4) == 0 {
                    engine.close(now, &sid)
                } else {
                    let frame = *rng.pick(&["2probe", "5", "3", "4x"]);
                    engine.ws_text(now, &sid, frame)
                }
            }
            14 => {
                let eio = odd_string(&mut rng);
                let transport = *rng.pick(&transports);
                let info = engineio_core::RequestInfo {
                    method: methods[rng.below(3)],
                    transport: (rng.below(5) != 0).then_some(transport),
                    eio: (rng.below(3) != 0).then_some(if rng.below(2) == 0 { "4" } else { &eio }),
                    sid: (rng.below(2) == 0).then_some(sid.as_str()),
                    websocket_upgrade: rng.below(2) == 0,
                };
                match engine.classify(&info) {
                    Ok(Route::Poll(s))
                    | Ok(Route::Post(s))
                    | Ok(Route::Upgrade(s))
                    | Ok(Route::CloseAtOnce(s)) => {
                        assert!(engine.has_session(&s));
                        assert_eq!(Some(s.as_str()), info.sid);
                    }
                    Ok(Route::Handshake(_)) => assert_eq!(info.sid, None),
                    Err(_) => {}
                }
                Vec::new()
            }
            _ => {
                let snapshot = Snapshot {
                    sid: format!("snap{}", rng.below(50)),
                    next_ping_at: now.saturating_sub(1_000) + rng.below(2_000) as u64,
                    pong_deadline: (rng.below(2) == 0)
                        .then(|| now.saturating_sub(500) + rng.below(1_000) as u64),
                    protocol: Default::default(),
                    answered_ping: None,
                };
                // A restored session was opened earlier, by another engine.
                let known = ledger.open.contains(&snapshot.sid);
                ledger.open.insert(snapshot.sid.clone());
                let mut actions = Vec::new();
                let kept = engine.restore(now, snapshot, &mut actions);
                assert!(kept || !known, "a live session is never refused");
                actions
            }
        };
        ledger.check(&actions);
        assert_eq!(
            engine.clients_count(),
            ledger.open.len(),
            "step {step}: the engine and the ledger disagree"
        );
    }

    // Closing everything answers every request still held.
    let sids: Vec<String> = ledger.open.iter().cloned().collect();
    for sid in sids {
        let actions = engine.close(now, &sid);
        ledger.check(&actions);
    }
    assert_eq!(engine.clients_count(), 0);
    assert!(
        ledger.pending.is_empty(),
        "unanswered: {:?}",
        ledger.pending
    );
    // The run went through the interesting paths.
    assert!(ledger.answered > 1_000);
    for reason in [
        CloseReason::TransportClose,
        CloseReason::TransportError,
        CloseReason::PingTimeout,
        CloseReason::ParseError,
        CloseReason::ForcedClose,
    ] {
        assert!(
            ledger.closes[reason_index(reason)] > 0,
            "no session closed with {reason:?}"
        );
    }
}

#[test]
fn odd_strings_and_bytes_never_panic_on_any_entry_point() {
    let mut rng = Rng::new(42);
    let mut h = Harness::new(EngineConfig {
        max_payload: 32,
        ..EngineConfig::default()
    });
    for _ in 0..3_000 {
        let text = odd_string(&mut rng);
        let bytes = odd_bytes(&mut rng);
        let (ws, _) = h.open_ws();
        let (polling, _, _) = h.open_polling();
        let _ = h.server.begin_upgrade(h.now, &polling);
        for sid in [ws.as_str(), polling.as_str(), text.as_str()] {
            h.ws_text(sid, &text);
            h.ws_binary(sid, &bytes);
            h.post(sid, &bytes);
            h.post(sid, text.as_bytes());
            h.poll(sid);
            let _ = h.classify(Method::Get, Some(&text), Some(&text), Some(sid), true);
            let _ = h.classify(Method::Post, Some("polling"), Some(&text), Some(sid), false);
            h.server.send(h.now, sid, Data::Text(text.clone()));
            h.server.flush(h.now);
        }
        h.advance(rng.below(10_000) as u64);
        h.tick();
        h.server.close(h.now, &ws);
        h.server.close(h.now, &polling);
        assert!(!h.server.has_session(&ws) && !h.server.has_session(&polling));
    }
    assert_eq!(h.server.clients_count(), 0);
}
