//! Errors of the engine layer, one variant per case the protocol answers differently.

use std::fmt;

/// A malformed packet or payload. The offending session is closed ("parse error").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// An empty packet or payload.
    Empty,
    /// The first character is not a packet type digit.
    UnknownType,
    /// A `b`-prefixed polling packet whose base64 does not decode.
    BadBase64,
    /// A protocol v3 payload whose length prefix is missing, not a number, or
    /// longer than what follows.
    BadLength,
    /// A text packet of a protocol v3 binary payload that is not UTF-8.
    BadUtf8,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProtocolError::Empty => "empty packet",
            ProtocolError::UnknownType => "unknown packet type",
            ProtocolError::BadBase64 => "invalid base64 data",
            ProtocolError::BadLength => "invalid payload length",
            ProtocolError::BadUtf8 => "invalid UTF-8 text",
        })
    }
}

impl std::error::Error for ProtocolError {}

/// A refused HTTP request, answered like the Node `engine.io` server does:
/// status 400 (403 for [`RequestError::Forbidden`]) and a JSON body
/// `{"code":N,"message":"..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Code 0: the `transport` query parameter is missing or not enabled.
    UnknownTransport,
    /// Code 1: the `sid` is not (or no longer) known.
    UnknownSid,
    /// Code 2: a handshake with another method than GET.
    BadHandshakeMethod,
    /// Code 3: a request that does not fit the session (e.g. polling after an upgrade).
    BadRequest,
    /// Code 4: refused by the application's `allowRequest` hook.
    Forbidden,
    /// Code 5: `EIO` is missing or not `4` (and protocol v3 is not allowed).
    UnsupportedProtocolVersion,
}

impl RequestError {
    /// The Engine.IO error code.
    pub fn code(self) -> u8 {
        match self {
            RequestError::UnknownTransport => 0,
            RequestError::UnknownSid => 1,
            RequestError::BadHandshakeMethod => 2,
            RequestError::BadRequest => 3,
            RequestError::Forbidden => 4,
            RequestError::UnsupportedProtocolVersion => 5,
        }
    }

    /// The Engine.IO error message.
    pub fn message(self) -> &'static str {
        match self {
            RequestError::UnknownTransport => "Transport unknown",
            RequestError::UnknownSid => "Session ID unknown",
            RequestError::BadHandshakeMethod => "Bad handshake method",
            RequestError::BadRequest => "Bad request",
            RequestError::Forbidden => "Forbidden",
            RequestError::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(self) -> u16 {
        match self {
            RequestError::Forbidden => 403,
            _ => 400,
        }
    }

    /// The JSON body of the answer.
    pub fn body(self) -> String {
        self.body_with_message(self.message())
    }

    /// The JSON body of the answer with another message (an `allowRequest` hook's
    /// reason for [`RequestError::Forbidden`]).
    pub fn body_with_message(self, message: &str) -> String {
        let mut out = String::with_capacity(24 + message.len());
        out.push_str("{\"code\":");
        out.push(char::from(b'0' + self.code()));
        out.push_str(",\"message\":");
        push_json_string(message, &mut out);
        out.push('}');
        out
    }
}

/// Appends `s` to `out` as a JSON string (quotes, backslashes and control characters
/// escaped).
pub fn push_json_string(s: &str, out: &mut String) {
    out.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Every byte escaped is ASCII, so `start..i` lies on char boundaries.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_the_reference_server() {
        assert_eq!(
            RequestError::UnknownTransport.body(),
            r#"{"code":0,"message":"Transport unknown"}"#
        );
        assert_eq!(
            RequestError::UnsupportedProtocolVersion.body(),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
        assert_eq!(RequestError::Forbidden.status(), 403);
        assert_eq!(
            RequestError::Forbidden.body_with_message("no \"token\"\n"),
            r#"{"code":4,"message":"no \"token\"\n"}"#
        );
        assert_eq!(RequestError::UnknownSid.status(), 400);
    }
}
