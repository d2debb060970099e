//! Per-connection reassembly of packets and their binary attachments.
//!
//! A `BINARY_EVENT` or `BINARY_ACK` travels as a text message announcing `N`
//! attachments (`51-[...]`) followed by `N` binary messages, in order. The
//! [`Decoder`] holds the packet until they have all arrived. Anything else in
//! between breaks the protocol: the pending packet is dropped and an error
//! returned, after which the connection is expected to be closed.
//!
//! The number of attachments is capped ([`DEFAULT_MAX_ATTACHMENTS`] unless
//! configured), so a client can neither make the decoder wait for an
//! unbounded number of messages nor reserve unbounded memory; the size of
//! each message is bounded by the engine's `maxPayload`.
//!
//! A decoder for the msgpack parser ([`Decoder::msgpack`]) has nothing to
//! reassemble: each binary message is a whole packet, and a text message is an
//! error.

use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::error::ParseError;
use crate::packet::{Packet, DEFAULT_MAX_ATTACHMENTS};

/// A decoded packet with its binary attachments, in placeholder order
/// (`{"_placeholder":true,"num":i}` stands for `binaries[i]`).
///
/// A binary packet keeps its wire kind (`BinaryEvent`, `BinaryAck`) and its
/// attachment count; other packets come with no binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete {
    /// The packet.
    pub packet: Packet,
    /// Its attachments, `packet.attachments` of them.
    pub binaries: Vec<Vec<u8>>,
}

/// A binary packet waiting for its attachments.
#[derive(Debug, Clone)]
struct Pending {
    packet: Packet,
    binaries: Vec<Vec<u8>>,
}

/// Reassembles the packets of one connection.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_attachments: usize,
    pending: Option<Pending>,
    /// Whether packets are msgpack frames.
    msgpack: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder accepting up to [`DEFAULT_MAX_ATTACHMENTS`] attachments per packet.
    pub fn new() -> Self {
        Decoder::with_max_attachments(DEFAULT_MAX_ATTACHMENTS)
    }

    /// A decoder accepting up to `max_attachments` attachments per packet.
    pub fn with_max_attachments(max_attachments: usize) -> Self {
        Decoder {
            max_attachments,
            pending: None,
            msgpack: false,
        }
    }

    /// A decoder of msgpack frames (`socket.io-msgpack-parser`): every binary
    /// message is one packet (see [`crate::msgpack`]).
    pub fn msgpack() -> Self {
        Decoder {
            msgpack: true,
            ..Decoder::new()
        }
    }

    /// The attachment limit of this decoder.
    pub fn max_attachments(&self) -> usize {
        self.max_attachments
    }

    /// Takes a text message. Returns the packet if it is complete, `None` if
    /// it is a binary packet now waiting for its attachments.
    ///
    /// A text message while attachments are expected is an error; the
    /// pending packet is dropped.
    pub fn add_text(&mut self, text: &str) -> Result<Option<Complete>, ParseError> {
        if self.msgpack {
            return Err(ParseError::UnexpectedText);
        }
        if self.pending.take().is_some() {
            return Err(ParseError::TextWhileReconstructing);
        }
        let packet = Packet::decode_with_max_attachments(text, self.max_attachments)?;
        if packet.kind.is_binary() {
            // Decoding guarantees 1 <= attachments <= max_attachments.
            self.pending = Some(Pending {
                binaries: Vec::with_capacity(packet.attachments),
                packet,
            });
            return Ok(None);
        }
        Ok(Some(Complete {
            packet,
            binaries: Vec::new(),
        }))
    }

    /// Takes a binary message. Returns the pending packet once this was its
    /// last attachment, `None` while more are expected.
    ///
    /// A binary message while no packet is pending is an error.
    pub fn add_binary(&mut self, bytes: &[u8]) -> Result<Option<Complete>, ParseError> {
        if self.msgpack {
            return crate::msgpack::decode_packet(bytes).map(Some);
        }
        self.add_binary_owned(bytes.to_vec())
    }

    /// Like [`Decoder::add_binary`], taking ownership of the bytes to avoid a copy.
    pub fn add_binary_owned(&mut self, bytes: Vec<u8>) -> Result<Option<Complete>, ParseError> {
        if self.msgpack {
            return crate::msgpack::decode_packet(&bytes).map(Some);
        }
        let pending = self.pending.as_mut().ok_or(ParseError::UnexpectedBinary)?;
        pending.binaries.push(bytes);
        if pending.binaries.len() < pending.packet.attachments {
            return Ok(None);
        }
        let Some(p) = self.pending.take() else {
            return Ok(None);
        };
        // As Socket.IO's parser, once every attachment is in: each placeholder must
        // name one of them.
        if !placeholders_valid(p.packet.data.as_deref(), p.binaries.len()) {
            return Err(ParseError::BadAttachments);
        }
        Ok(Some(Complete {
            packet: p.packet,
            binaries: p.binaries,
        }))
    }

    /// Whether a binary packet is waiting for attachments.
    pub fn is_reconstructing(&self) -> bool {
        self.pending.is_some()
    }

    /// How many attachments the pending packet still expects (0 when none is pending).
    pub fn missing_attachments(&self) -> usize {
        self.pending
            .as_ref()
            .map_or(0, |p| p.packet.attachments.saturating_sub(p.binaries.len()))
    }

    /// Drops the pending packet, if any.
    pub fn reset(&mut self) {
        self.pending = None;
    }
}

/// Whether every placeholder (`{"_placeholder":true,"num":N}`) of a payload names an
/// attachment: `N` an integer below `count`. Binary packets only; the payload is walked
/// once without building a tree, and its depth was bounded when it was decoded.
fn placeholders_valid(payload: Option<&str>, count: usize) -> bool {
    let Some(text) = payload else {
        return true;
    };
    let mut de = serde_json::Deserializer::from_str(text);
    matches!(de.deserialize_any(Placeholders { count }), Ok(true))
}

/// Walks one JSON value: `true` when every placeholder in it names an attachment.
#[derive(Clone, Copy)]
struct Placeholders {
    count: usize,
}

impl<'de> DeserializeSeed<'de> for Placeholders {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

/// What a key of an object is, for [`Placeholders`].
enum Key {
    Placeholder,
    Num,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "_placeholder" => Key::Placeholder,
                    "num" => Key::Num,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A value under `_placeholder` or `num`, as far as placeholders care.
enum Scalar {
    True,
    Index(u64),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(if v { Scalar::True } else { Scalar::Other })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Index(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(u64::try_from(v).map_or(Scalar::Other, Scalar::Index))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                // `1.0` is the number 1 in JavaScript too.
                let integral = v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64;
                Ok(if integral {
                    Scalar::Index(v as u64)
                } else {
                    Scalar::Other
                })
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Visitor<'de> for Placeholders {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Ok(true)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let mut ok = true;
        while let Some(item) = seq.next_element_seed(self)? {
            ok &= item;
        }
        Ok(ok)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        // An object is a placeholder when `_placeholder` is `true` (wherever the key
        // comes); then its `num` must name an attachment, and its other values do not
        // matter (they are replaced by the attachment).
        let mut placeholder = false;
        let mut num = Scalar::Other;
        let mut inner_ok = true;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Placeholder => placeholder = matches!(map.next_value()?, Scalar::True),
                Key::Num => num = map.next_value()?,
                Key::Other => inner_ok &= map.next_value_seed(self)?,
            }
        }
        Ok(if placeholder {
            matches!(num, Scalar::Index(n) if usize::try_from(n).is_ok_and(|n| n < self.count))
        } else {
            inner_ok
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::PacketKind;

    #[test]
    fn placeholders_must_name_an_attachment() {
        let mut d = Decoder::new();
        assert!(d
            .add_text(r#"52-["ev",{"_placeholder":true,"num":1}]"#)
            .unwrap()
            .is_none());
        assert!(d.add_binary(&[1]).unwrap().is_none());
        assert!(d.add_binary(&[2]).unwrap().is_some());
        for bad in [
            r#"51-["ev",{"_placeholder":true,"num":1}]"#,
            r#"51-["ev",{"_placeholder":true,"num":-1}]"#,
            r#"51-["ev",{"_placeholder":true,"num":0.5}]"#,
            r#"51-["ev",{"_placeholder":true}]"#,
            r#"51-["ev",[{"a":{"_placeholder":true,"num":"0"}}]]"#,
        ] {
            let mut d = Decoder::new();
            assert!(d.add_text(bad).unwrap().is_none(), "{bad}");
            assert_eq!(
                d.add_binary(&[1]).err(),
                Some(ParseError::BadAttachments),
                "{bad}"
            );
            assert!(!d.is_reconstructing());
        }
        // `1.0` is the number 1, as in JavaScript; duplicate keys: the last one counts.
        let mut d = Decoder::new();
        assert!(d
            .add_text(r#"52-["ev",{"num":1.0,"_placeholder":true}]"#)
            .unwrap()
            .is_none());
        assert!(d.add_binary(&[1]).unwrap().is_none());
        assert!(d.add_binary(&[2]).unwrap().is_some());
        // `_placeholder` other than `true` is plain data.
        let mut d = Decoder::new();
        assert!(d
            .add_text(r#"51-["ev",{"_placeholder":1,"num":9}]"#)
            .unwrap()
            .is_none());
        assert!(d.add_binary(&[1]).unwrap().is_some());
    }

    fn complete(result: Result<Option<Complete>, ParseError>) -> Complete {
        match result {
            Ok(Some(c)) => c,
            other => panic!("expected a complete packet, got {other:?}"),
        }
    }

    #[test]
    fn plain_packets_complete_at_once() {
        let mut d = Decoder::new();
        let c = complete(d.add_text(r#"2["hello",1]"#));
        assert_eq!(c.packet.kind, PacketKind::Event);
        assert_eq!(c.packet.data.as_deref(), Some(r#"["hello",1]"#));
        assert!(c.binaries.is_empty());
        assert!(!d.is_reconstructing());
    }

    #[test]
    fn binary_event_with_two_attachments() {
        let mut d = Decoder::new();
        let text =
            r#"52-/admin,7["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        assert_eq!(d.add_text(text), Ok(None));
        assert!(d.is_reconstructing());
        assert_eq!(d.missing_attachments(), 2);
        assert_eq!(d.add_binary(&[1, 2]), Ok(None));
        assert_eq!(d.missing_attachments(), 1);
        let c = complete(d.add_binary(&[3, 4, 5]));
        assert_eq!(c.packet.kind, PacketKind::BinaryEvent);
        assert_eq!(c.packet.nsp, "/admin");
        assert_eq!(c.packet.id, Some(7));
        assert_eq!(c.packet.attachments, 2);
        assert_eq!(c.binaries, vec![vec![1, 2], vec![3, 4, 5]]);
        assert!(!d.is_reconstructing());
        assert_eq!(d.missing_attachments(), 0);
        // The decoder is ready for the next packet.
        assert!(d.add_text("1").is_ok());
    }

    #[test]
    fn binary_ack_with_one_empty_attachment() {
        let mut d = Decoder::new();
        assert_eq!(
            d.add_text(r#"61-15[{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        let c = complete(d.add_binary_owned(Vec::new()));
        assert_eq!(c.packet.kind, PacketKind::BinaryAck);
        assert_eq!(c.binaries, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn zero_attachments_are_refused() {
        let mut d = Decoder::new();
        assert_eq!(d.add_text(r#"50-["a"]"#), Err(ParseError::BadAttachments));
        assert!(!d.is_reconstructing());
    }

    #[test]
    fn text_while_reconstructing_resets() {
        let mut d = Decoder::new();
        assert_eq!(
            d.add_text(r#"51-["a",{"_placeholder":true,"num":0}]"#),
            Ok(None)
        );
        assert_eq!(
            d.add_text(r#"2["b"]"#),
            Err(ParseError::TextWhileReconstructing)
        );
        assert!(!d.is_reconstructing());
        let c = complete(d.add_text(r#"2["c"]"#));
        assert_eq!(c.packet.data.as_deref(), Some(r#"["c"]"#));
    }

    #[test]
    fn binary_without_header_is_refused() {
        let mut d = Decoder::new();
        assert_eq!(d.add_binary(&[1]), Err(ParseError::UnexpectedBinary));
        assert_eq!(complete(d.add_text("0")).packet.kind, PacketKind::Connect);
        assert_eq!(d.add_binary(&[1]), Err(ParseError::UnexpectedBinary));
    }

    #[test]
    fn extra_binary_after_completion_is_refused() {
        let mut d = Decoder::new();
        assert_eq!(d.add_text(r#"51-["a",{}]"#), Ok(None));
        complete(d.add_binary(&[9]));
        assert_eq!(d.add_binary(&[9]), Err(ParseError::UnexpectedBinary));
    }

    #[test]
    fn attachment_cap() {
        let mut d = Decoder::new();
        assert_eq!(
            d.add_text(r#"511-["a"]"#),
            Err(ParseError::TooManyAttachments)
        );
        assert!(!d.is_reconstructing());

        let mut d = Decoder::with_max_attachments(10_000);
        assert_eq!(d.max_attachments(), 10_000);
        assert_eq!(d.add_text(r#"510000-["a"]"#), Ok(None));
        assert_eq!(d.missing_attachments(), 10_000);
        assert_eq!(
            Decoder::with_max_attachments(10_000).add_text(r#"510001-["a"]"#),
            Err(ParseError::TooManyAttachments)
        );
    }

    #[test]
    fn invalid_text_leaves_the_decoder_idle() {
        let mut d = Decoder::new();
        assert_eq!(
            d.add_text(r#"2["connect"]"#),
            Err(ParseError::ReservedEventName)
        );
        assert!(!d.is_reconstructing());
        assert!(d.add_text(r#"2["ok"]"#).is_ok());
    }

    #[test]
    fn reset_drops_the_pending_packet() {
        let mut d = Decoder::default();
        assert_eq!(d.add_text(r#"62-[1,2]"#), Ok(None));
        d.reset();
        assert!(!d.is_reconstructing());
        assert_eq!(d.add_binary(&[0]), Err(ParseError::UnexpectedBinary));
    }
}
