//! Accessors over the actions of either layer, and small helpers for what
//! tests compare.

use std::fmt::Debug;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use engineio_core::{Action as EngineAction, CloseReason, Frame, ReqId, Snapshot};

/// An action that may be an engine action: the engine's own, or the socket
/// layer's `Action::Engine`.
pub trait AsEngineAction {
    /// The engine action, if this is one.
    fn engine_action(&self) -> Option<&EngineAction>;
}

impl AsEngineAction for EngineAction {
    fn engine_action(&self) -> Option<&EngineAction> {
        Some(self)
    }
}

impl AsEngineAction for socketio_core::Action {
    fn engine_action(&self) -> Option<&EngineAction> {
        match self {
            socketio_core::Action::Engine(a) => Some(a),
            _ => None,
        }
    }
}

/// The engine actions among `actions`.
fn engine_actions<A: AsEngineAction>(actions: &[A]) -> impl Iterator<Item = &EngineAction> {
    actions.iter().filter_map(AsEngineAction::engine_action)
}

/// The alarm times requested, in order.
pub fn alarms<A: AsEngineAction>(actions: &(impl AsRef<[A]> + ?Sized)) -> Vec<u64> {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::SetAlarm { at } => Some(*at),
            _ => None,
        })
        .collect()
}

/// The alarm the driver ends up with: it sets them in order.
pub fn effective_alarm<A: AsEngineAction>(actions: &(impl AsRef<[A]> + ?Sized)) -> Option<u64> {
    alarms(actions).last().copied()
}

/// The sessions closed, with why.
pub fn closes<A: AsEngineAction>(
    actions: &(impl AsRef<[A]> + ?Sized),
) -> Vec<(String, CloseReason)> {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::Closed { sid, reason } => Some((sid.clone(), *reason)),
            _ => None,
        })
        .collect()
}

/// The answers to `req`: (status, body).
pub fn answers<A: AsEngineAction>(
    actions: &(impl AsRef<[A]> + ?Sized),
    req: ReqId,
) -> Vec<(u16, String)> {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::Respond {
                req: r,
                status,
                body,
                ..
            } if *r == req => Some((*status, body.clone())),
            _ => None,
        })
        .collect()
}

/// The body of the (first) answer to `req`, if any.
pub fn body_of<A: AsEngineAction>(
    actions: &(impl AsRef<[A]> + ?Sized),
    req: ReqId,
) -> Option<String> {
    answers(actions, req)
        .into_iter()
        .next()
        .map(|(_, body)| body)
}

/// The frames that go out on the WebSocket of `sid`, single or broadcast.
pub fn frames_to<A: AsEngineAction>(actions: &(impl AsRef<[A]> + ?Sized), sid: &str) -> Vec<Frame> {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::WsSend { sid: s, frame } if s == sid => Some(frame.clone()),
            EngineAction::WsSendMany { sids, frame } if sids.iter().any(|s| s == sid) => {
                Some(frame.clone())
            }
            _ => None,
        })
        .collect()
}

/// The text frames that go out on the WebSocket of `sid`.
pub fn texts_to<A: AsEngineAction>(actions: &(impl AsRef<[A]> + ?Sized), sid: &str) -> Vec<String> {
    frames_to(actions, sid)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Text(t) => Some(t),
            Frame::Binary(_) => None,
        })
        .collect()
}

/// The `WsSendMany` actions: (sorted sids, frame).
pub fn send_many<A: AsEngineAction>(
    actions: &(impl AsRef<[A]> + ?Sized),
) -> Vec<(Vec<String>, Frame)> {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::WsSendMany { sids, frame } => Some((sorted(sids.clone()), frame.clone())),
            _ => None,
        })
        .collect()
}

/// The last snapshot persisted.
pub fn snapshot_of<A: AsEngineAction + Debug>(actions: &(impl AsRef<[A]> + ?Sized)) -> Snapshot {
    engine_actions(actions.as_ref())
        .filter_map(|a| match a {
            EngineAction::Persist(s) => Some(s.clone()),
            _ => None,
        })
        .last()
        .unwrap_or_else(|| panic!("no Persist action in {:?}", actions.as_ref()))
}

/// The actions without the alarm ones.
pub fn without_alarms<A: AsEngineAction + Clone>(actions: &(impl AsRef<[A]> + ?Sized)) -> Vec<A> {
    actions
        .as_ref()
        .iter()
        .filter(|a| !matches!(a.engine_action(), Some(EngineAction::SetAlarm { .. })))
        .cloned()
        .collect()
}

/// The actions that are neither alarms nor snapshots.
pub fn essential<A: AsEngineAction + Clone>(actions: &(impl AsRef<[A]> + ?Sized)) -> Vec<A> {
    actions
        .as_ref()
        .iter()
        .filter(|a| {
            !matches!(
                a.engine_action(),
                Some(EngineAction::SetAlarm { .. } | EngineAction::Persist(_))
            )
        })
        .cloned()
        .collect()
}

/// Index of the first action matching `pred`.
pub fn index_of<A: Debug>(
    actions: &(impl AsRef<[A]> + ?Sized),
    pred: impl Fn(&A) -> bool,
) -> usize {
    let actions = actions.as_ref();
    actions
        .iter()
        .position(pred)
        .unwrap_or_else(|| panic!("no such action in {actions:?}"))
}

/// Splits a polling payload into its packets.
pub fn packets(body: &str) -> Vec<String> {
    body.split('\x1e').map(str::to_owned).collect()
}

/// `b<base64>`, a binary packet as in a polling payload.
pub fn b64(bytes: &[u8]) -> String {
    format!("b{}", BASE64.encode(bytes))
}

/// `v`, sorted.
pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// Pairs sorted by their first element.
pub fn by_first<T>(mut v: Vec<(String, T)>) -> Vec<(String, T)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Owned copies of `items`.
pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
