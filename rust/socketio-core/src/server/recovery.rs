//! Connection state recovery (Socket.IO's `connectionStateRecovery`): a client
//! that lost its connection comes back within the window with its socket id,
//! its rooms and every event it missed.
//!
//! With [`SocketConfig::recovery`](super::SocketConfig::recovery) on:
//!
//! - a new socket gets a private session id (`pid`), sent in its CONNECT
//!   answer (`{"sid":..,"pid":..}`), which only its client knows;
//! - every event sent without an ack and not volatile, to one socket or
//!   broadcast, carries its *offset* as its last argument (where Socket.IO puts
//!   it: the client keeps the last one it got) and is stored once, with its
//!   targets ([`StoreOp::PacketStored`]), whatever the number of recipients;
//! - a socket that leaves for a recoverable reason (its transport closed or
//!   failed, a ping timeout, a close by the server) has its session kept
//!   ([`StoreOp::SessionKept`]); a `disconnect()` by either side is final;
//! - a client that reconnects with `{ pid, offset }` gets, if
//!   [`SocketServer::is_recoverable`], [`SocketServer::accept_recovered`]: the
//!   same socket id and rooms, and the stored events it missed, resolved
//!   against its rooms as Socket.IO's in-memory adapter resolves them, before
//!   its CONNECT answer.
//!
//! Offsets grow with time: the offset of an event is the time in milliseconds
//! times 1000, or one more than the last offset when that is higher. So they
//! keep growing across restarts (a restart takes far longer than the
//! thousands of events per millisecond it would take to catch up), events
//! stored before a time `t` are those below `t * 1000`, and they stay exact in
//! a JavaScript number for the next two centuries.

use engineio_core::CloseReason;

use super::{wrap, Accepted, Action, DisconnectReason, Emit, SocketServer, StoreOp};
use crate::packet::{push_decimal, PacketKind};

/// Offsets per millisecond (see the module).
const OFFSETS_PER_MS: u64 = 1000;

/// The session of a socket that lost its connection, as the driver reads it
/// back ([`StoreOp::SessionKept`], with the private session id it knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptSession {
    /// The socket's id.
    pub id: String,
    /// Its private session id.
    pub pid: String,
    /// Its rooms, its own id included.
    pub rooms: Vec<String>,
    /// When it lost its connection (ms).
    pub at: u64,
}

/// An event stored by [`StoreOp::PacketStored`], as the driver reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPacket {
    /// The JSON array text `["name", ...args, "<offset>"]`.
    pub data: String,
    /// The rooms it went to (none: the whole namespace).
    pub rooms: Vec<String>,
    /// The rooms it skipped.
    pub except: Vec<String>,
    /// Its binary attachments, in placeholder order.
    pub binaries: Vec<Vec<u8>>,
}

impl DisconnectReason {
    /// Whether a socket that left for this reason keeps its session for
    /// connection state recovery (Socket.IO's recoverable reasons: the
    /// connection was lost, not ended on purpose).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::Engine(
                CloseReason::TransportClose
                    | CloseReason::TransportError
                    | CloseReason::PingTimeout
                    | CloseReason::ForcedClose
            ) | DisconnectReason::ForcedServerClose
                | DisconnectReason::ServerShuttingDown
        )
    }
}

impl SocketServer {
    /// The recovery window (ms), when connection state recovery is on.
    pub fn recovery_window(&self) -> Option<u64> {
        self.config.recovery
    }

    /// The offset in a client's `auth.offset`, when it has the form of ours (a
    /// decimal integer).
    pub fn parse_offset(text: &str) -> Option<u64> {
        if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse().ok()
    }

    /// Whether a session kept since `at` may be recovered at `now`: recovery is
    /// on, the window has not passed, and the last event its client got is
    /// still stored (`offset_found`; without it the client may have missed
    /// events that are gone).
    pub fn is_recoverable(&self, now: u64, at: u64, offset_found: bool) -> bool {
        self.config
            .recovery
            .is_some_and(|window| offset_found && at.saturating_add(window) >= now)
    }

    /// Events stored before `threshold` (ms) have offsets below this.
    pub fn offset_floor(threshold: u64) -> u64 {
        threshold.saturating_mul(OFFSETS_PER_MS)
    }

    fn next_offset(&mut self, now: u64) -> u64 {
        let offset = Self::offset_floor(now).max(self.last_offset.saturating_add(1));
        self.last_offset = offset;
        offset
    }

    /// With recovery on, gives an event sent to `rooms` of `nsp` (except
    /// `except`) its offset: the event's data with the offset appended, and the
    /// [`StoreOp::PacketStored`] that keeps it. `None` when the event is not
    /// stored (recovery off, an ack asked for, volatile).
    pub(super) fn stamp(
        &mut self,
        now: u64,
        nsp: &str,
        rooms: &[String],
        except: &[String],
        emit: &Emit<'_>,
        out: &mut Vec<Action>,
    ) -> Option<String> {
        if self.config.recovery.is_none() || emit.with_ack || emit.volatile {
            return None;
        }
        let offset = self.next_offset(now);
        let data = with_offset(emit.data_json, offset)?;
        out.push(Action::Store(StoreOp::PacketStored {
            offset,
            nsp: nsp.to_owned(),
            rooms: rooms.to_vec(),
            except: except.to_vec(),
            data: data.clone(),
            binaries: emit.binaries.to_vec(),
        }));
        Some(data)
    }

    /// The session to keep for a socket that leaves for `reason`, when recovery
    /// is on and the reason is recoverable.
    pub(super) fn kept_session(
        &self,
        now: u64,
        socket_id: &str,
        reason: DisconnectReason,
    ) -> Option<Action> {
        if self.config.recovery.is_none() || !reason.is_recoverable() {
            return None;
        }
        let s = self.sockets.get(socket_id)?;
        if self.is_v3(&s.sid) {
            // A v3 client cannot ask for its session back.
            return None;
        }
        let mut rooms: Vec<String> = s.rooms.iter().cloned().collect();
        rooms.sort_unstable();
        Some(Action::Store(StoreOp::SessionKept {
            id: socket_id.to_owned(),
            nsp: s.nsp.clone(),
            rooms,
            at: now,
        }))
    }

    /// Accepts the CONNECT of engine session `sid` to `nsp` as the recovery of
    /// `session` (checked with [`SocketServer::is_recoverable`]): the socket
    /// gets its id back and its rooms, then the events of `missed` (those stored
    /// after the client's offset, in order) that reach it, then the CONNECT
    /// answer with its `pid`. `None` when recovery is off, the engine session is
    /// gone or already joined `nsp`, or the id is in use again.
    pub fn accept_recovered(
        &mut self,
        now: u64,
        sid: &str,
        nsp: &str,
        session: KeptSession,
        missed: &[StoredPacket],
    ) -> Option<Accepted> {
        if self.config.recovery.is_none()
            || !self.may_join(sid, nsp)
            || self.sockets.contains_key(&session.id)
        {
            return None;
        }
        let KeptSession { id, pid, rooms, .. } = session;
        let mut actions = Vec::new();
        self.add_socket(sid, nsp, &id, &mut actions);
        let others: Vec<String> = rooms.iter().filter(|r| **r != id).cloned().collect();
        actions.extend(self.join(now, &id, &others));
        for p in missed {
            if !reaches(&rooms, &p.rooms, &p.except) {
                continue;
            }
            let sent = self.send_packet(
                now,
                sid,
                PacketKind::Event,
                nsp,
                None,
                Some(&p.data),
                &p.binaries,
            );
            actions.extend(wrap(sent));
        }
        self.send_connect(now, sid, nsp, &id, Some(&pid), &mut actions);
        Some(Accepted {
            id,
            pid: Some(pid),
            actions,
        })
    }
}

/// Whether an event sent to `rooms` except `except` reaches a socket in
/// `session_rooms` (the rule of Socket.IO's in-memory adapter for missed
/// packets).
fn reaches(session_rooms: &[String], rooms: &[String], except: &[String]) -> bool {
    let included = rooms.is_empty() || session_rooms.iter().any(|r| rooms.contains(r));
    included && !session_rooms.iter().any(|r| except.contains(r))
}

/// `["name", ...args]` with `"<offset>"` appended as the last element; `None`
/// when `data` is not an array text.
fn with_offset(data: &str, offset: u64) -> Option<String> {
    let body = data.trim_end().strip_suffix(']')?;
    let mut out = String::with_capacity(body.len() + 24);
    out.push_str(body);
    if !body.trim_end().ends_with('[') {
        out.push(',');
    }
    out.push('"');
    push_decimal(offset, &mut out);
    out.push_str("\"]");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_appended_as_the_last_argument() {
        assert_eq!(
            with_offset(r#"["ev",1,{"a":[2]}]"#, 7).as_deref(),
            Some(r#"["ev",1,{"a":[2]},"7"]"#)
        );
        assert_eq!(
            with_offset(r#"["ev"] "#, 8).as_deref(),
            Some(r#"["ev","8"]"#)
        );
        assert_eq!(with_offset("[]", 9).as_deref(), Some(r#"["9"]"#));
        assert_eq!(with_offset("{}", 9), None);
    }

    #[test]
    fn offsets_parse_only_in_our_form() {
        assert_eq!(
            SocketServer::parse_offset("1700000000000123"),
            Some(1_700_000_000_000_123)
        );
        for bad in [
            "",
            "-1",
            "1e3",
            "12a",
            " 1",
            "99999999999999999999",
            "MzUPkW",
        ] {
            assert_eq!(SocketServer::parse_offset(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn missed_packets_follow_the_in_memory_adapter() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let rooms = s(&["id", "a"]);
        assert!(reaches(&rooms, &[], &[]));
        assert!(reaches(&rooms, &s(&["a", "b"]), &[]));
        assert!(reaches(&rooms, &s(&["id"]), &[]));
        assert!(!reaches(&rooms, &s(&["b"]), &[]));
        assert!(!reaches(&rooms, &[], &s(&["a"])));
        assert!(!reaches(&rooms, &s(&["a"]), &s(&["id"])));
    }
}
