//! What the engine asks the driver to do.

use serde::{Deserialize, Serialize};

use super::{CloseReason, ReqId, Transport};
use crate::error::RequestError;
use crate::packet::{Data, Frame, Packet};
use crate::v3::Protocol;

/// The body type of an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `text/plain; charset=UTF-8`: a polling payload.
    Payload,
    /// `text/html`: the `ok` answer to a POST.
    Ok,
    /// `application/json`: an error.
    Json,
    /// No body.
    Empty,
}

/// The part of a WebSocket session that must outlive the engine's memory
/// (kept by the driver next to the WebSocket, e.g. in its attachment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The session id.
    pub sid: String,
    /// When the next ping is due.
    pub next_ping_at: u64,
    /// When an unanswered ping expires, if one is outstanding. For a protocol v3
    /// session, always set: when it expires unless the client pings before.
    pub pong_deadline: Option<u64>,
    /// The protocol revision of the session.
    #[serde(default)]
    pub protocol: Protocol,
    /// Protocol v3 over WebSocket: when the runtime last answered a ping of the
    /// client on the server's behalf (a WebSocket auto-response, which the engine
    /// does not see), as the driver read it when reviving the session. Not stored.
    #[serde(default, skip_serializing)]
    pub answered_ping: Option<u64>,
}

impl Snapshot {
    /// Whether the session's unanswered ping is past its deadline at `now`: restoring
    /// it closes it with "ping timeout". (For a protocol v3 session, a ping the
    /// runtime answered counts: see [`crate::Engine::is_expired`].)
    pub fn expired(&self, now: u64) -> bool {
        self.pong_deadline.is_some_and(|d| d <= now)
    }
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A session opened.
    Opened {
        /// The new session id.
        sid: String,
        /// Its first transport.
        transport: Transport,
    },
    /// A message arrived from the client.
    Message {
        /// The session.
        sid: String,
        /// The message.
        data: Data,
    },
    /// A session closed; it is gone from the engine.
    Closed {
        /// The session.
        sid: String,
        /// Why.
        reason: CloseReason,
    },
    /// Answer a held HTTP request.
    Respond {
        /// The request.
        req: ReqId,
        /// HTTP status.
        status: u16,
        /// Body type.
        content_type: ContentType,
        /// Body.
        body: String,
    },
    /// Send a frame on the session's WebSocket.
    WsSend {
        /// The session.
        sid: String,
        /// The frame.
        frame: Frame,
    },
    /// Send one frame on the WebSockets of several sessions (a broadcast,
    /// encoded once).
    WsSendMany {
        /// The sessions.
        sids: Vec<String>,
        /// The frame.
        frame: Frame,
    },
    /// Close the session's WebSocket.
    WsClose {
        /// The session.
        sid: String,
        /// WebSocket close code.
        code: u16,
        /// Close reason text.
        reason: &'static str,
    },
    /// Store this snapshot with the session's WebSocket.
    Persist(Snapshot),
    /// Schedule the next wake-up (one alarm for all sessions).
    SetAlarm {
        /// Time of the alarm.
        at: u64,
    },
}

/// The `200` answer to a polling GET, carrying `packets` in the framing of `protocol`.
pub(super) fn payload_response(req: ReqId, protocol: Protocol, packets: &[Packet]) -> Action {
    Action::Respond {
        req,
        status: 200,
        content_type: ContentType::Payload,
        body: protocol.encode_payload(packets),
    }
}

/// The answer to a refused request.
pub fn error_response(req: ReqId, err: RequestError) -> Action {
    Action::Respond {
        req,
        status: err.status(),
        content_type: ContentType::Json,
        body: err.body(),
    }
}
