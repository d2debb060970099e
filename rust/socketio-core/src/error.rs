//! Errors of the Socket.IO codec, one variant per case a packet is refused for.
//!
//! Every error means the same thing to the server: the client broke the
//! protocol and its connection is closed ("parse error"). The variants only
//! tell why, for logs and tests.

use std::fmt;

use crate::packet::PacketKind;

/// A Socket.IO packet (or a sequence of frames) that cannot be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// An empty text frame.
    Empty,
    /// The first character is not a packet type digit (`0`..`6`).
    UnknownType,
    /// A binary packet whose `<count>-` header is missing or malformed, whose
    /// count is zero, or with a placeholder that names no attachment.
    BadAttachments,
    /// A binary packet announcing more attachments than the decoder accepts.
    TooManyAttachments,
    /// An acknowledgement id that does not fit in a `u64`.
    BadAckId,
    /// The payload is not valid JSON.
    InvalidJson,
    /// The payload is valid JSON nested deeper than
    /// [`MAX_PAYLOAD_DEPTH`](crate::MAX_PAYLOAD_DEPTH).
    TooDeep,
    /// The payload is valid JSON of the wrong shape for this packet type
    /// (e.g. an event that is not a non-empty array).
    InvalidPayload(PacketKind),
    /// An event whose name is reserved (`connect`, `disconnect`, ...).
    ReservedEventName,
    /// An event or acknowledgement without a payload.
    MissingPayload(PacketKind),
    /// A text frame arrived while the binary attachments of a packet were
    /// still expected.
    TextWhileReconstructing,
    /// A binary frame arrived while no packet was waiting for attachments.
    UnexpectedBinary,
    /// With the msgpack parser: a frame that is not one well-formed msgpack
    /// value (truncated, a length beyond the frame, an unused marker, bytes
    /// after the value, a map key that is not a string, an integer, a boolean
    /// or nil).
    InvalidMsgPack,
    /// With the msgpack parser: a text frame (every packet is a binary one).
    UnexpectedText,
    /// With the msgpack parser: the packet is not a map with an integer
    /// `type` from 0 to 4.
    BadPacketType,
    /// With the msgpack parser: the packet's `nsp` is missing or not a string.
    BadNamespace,
    /// With the msgpack parser: the packet's `id` is neither absent nor an
    /// integer from 0 to 2^53 - 1.
    BadPacketId,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Empty => f.write_str("empty packet"),
            ParseError::UnknownType => f.write_str("unknown packet type"),
            ParseError::BadAttachments => f.write_str("illegal attachments"),
            ParseError::TooManyAttachments => f.write_str("too many attachments"),
            ParseError::BadAckId => f.write_str("invalid acknowledgement id"),
            ParseError::InvalidJson => f.write_str("invalid JSON payload"),
            ParseError::TooDeep => f.write_str("payload nested too deeply"),
            ParseError::InvalidPayload(kind) => write!(f, "invalid payload for {kind} packet"),
            ParseError::ReservedEventName => f.write_str("reserved event name"),
            ParseError::MissingPayload(kind) => write!(f, "missing payload for {kind} packet"),
            ParseError::TextWhileReconstructing => {
                f.write_str("got plaintext data when reconstructing a packet")
            }
            ParseError::UnexpectedBinary => {
                f.write_str("got binary data when not reconstructing a packet")
            }
            ParseError::InvalidMsgPack => f.write_str("invalid msgpack"),
            ParseError::UnexpectedText => f.write_str("text frame where msgpack was expected"),
            ParseError::BadPacketType => f.write_str("invalid packet type"),
            ParseError::BadNamespace => f.write_str("invalid namespace"),
            ParseError::BadPacketId => f.write_str("invalid packet id"),
        }
    }
}

impl ParseError {
    /// The message the reference parser gives for the same refusal, which is
    /// what applications see in the socket's `error` event (for the msgpack
    /// variants, the messages of `socket.io-msgpack-parser` and of the
    /// msgpack decoder it uses).
    pub fn reference_message(self) -> &'static str {
        match self {
            ParseError::UnknownType => "unknown packet type",
            ParseError::BadAttachments | ParseError::TooManyAttachments => "illegal attachments",
            ParseError::TextWhileReconstructing => {
                "got plaintext data when reconstructing a packet"
            }
            ParseError::UnexpectedBinary => "got binary data when not reconstructing a packet",
            ParseError::InvalidMsgPack => "Could not parse",
            ParseError::UnexpectedText | ParseError::BadPacketType => "invalid packet type",
            ParseError::BadNamespace => "invalid namespace",
            ParseError::BadPacketId => "invalid packet id",
            ParseError::Empty
            | ParseError::BadAckId
            | ParseError::InvalidJson
            | ParseError::TooDeep
            | ParseError::InvalidPayload(_)
            | ParseError::ReservedEventName
            | ParseError::MissingPayload(_) => "invalid payload",
        }
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_packet_kind() {
        assert_eq!(
            ParseError::InvalidPayload(PacketKind::Event).to_string(),
            "invalid payload for EVENT packet"
        );
        assert_eq!(
            ParseError::MissingPayload(PacketKind::BinaryAck).to_string(),
            "missing payload for BINARY_ACK packet"
        );
        assert_eq!(
            ParseError::TooManyAttachments.to_string(),
            "too many attachments"
        );
    }
}
