//! HTTP long-polling payloads: packets joined by the record separator `\x1e`.

use crate::error::ProtocolError;
use crate::packet::Packet;

/// The record separator between packets of a polling payload.
pub const SEPARATOR: char = '\x1e';

/// Decodes a POST body into packets. An empty body is malformed.
pub fn decode(body: &str) -> Result<Vec<Packet>, ProtocolError> {
    if body.is_empty() {
        return Err(ProtocolError::Empty);
    }
    body.split(SEPARATOR).map(Packet::decode_polling).collect()
}

/// Encodes packets into one GET response body.
pub fn encode(packets: &[Packet]) -> String {
    let mut out = String::new();
    for (i, p) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        p.encode_polling_into(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::{Data, PacketType};

    #[test]
    fn several_packets_round_trip() {
        let body = "4hello\x1e2\x1e4world\x1ebAQIDBA==";
        let packets = decode(body).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::text(PacketType::Message, "hello"),
                Packet::bare(PacketType::Ping),
                Packet::text(PacketType::Message, "world"),
                Packet::message(Data::Binary(vec![1, 2, 3, 4])),
            ]
        );
        assert_eq!(encode(&packets), body);
    }

    #[test]
    fn single_packet() {
        assert_eq!(decode("4x").unwrap().len(), 1);
        assert_eq!(encode(&[Packet::bare(PacketType::Noop)]), "6");
    }

    #[test]
    fn malformed_payloads_are_rejected() {
        assert!(decode("").is_err());
        assert!(decode("abc").is_err());
        assert!(
            decode("4ok\x1e").is_err(),
            "trailing separator is an empty packet"
        );
        assert!(decode("4ok\x1ex").is_err());
        assert!(decode("b@@@").is_err());
    }

    #[test]
    fn empty_message_text_is_valid() {
        assert_eq!(
            decode("4").unwrap(),
            vec![Packet::text(PacketType::Message, "")]
        );
    }
}
