//! The Data Channel Establishment Protocol messages (RFC 8832 §5), carried with PPID 50.

use bytes::{BufMut, Bytes};

use crate::error::{ParseError, ParseErrorKind};

/// Message type of DATA_CHANNEL_OPEN.
pub const OPEN: u8 = 0x03;
/// Message type of DATA_CHANNEL_ACK.
pub const ACK: u8 = 0x02;

/// The channel type of DATA_CHANNEL_OPEN (RFC 8832 §5.1): reliability and ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelType {
    /// Reliable (0x00 ordered, 0x80 unordered).
    Reliable,
    /// Partially reliable by retransmission count (0x01 / 0x81).
    PartialReliableRexmit,
    /// Partially reliable by lifetime in milliseconds (0x02 / 0x82).
    PartialReliableTimed,
}

/// DATA_CHANNEL_OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Reliability.
    pub channel_type: ChannelType,
    /// Whether messages may arrive out of order (the 0x80 bit of the channel type).
    pub unordered: bool,
    /// Priority (RFC 8832 §5.1; 128 below normal, 256 normal, 512 high, 1024 extra high).
    pub priority: u16,
    /// Retransmissions or milliseconds, by `channel_type`; 0 for reliable channels.
    pub reliability: u32,
    /// The channel's label (UTF-8 as sent; not checked).
    pub label: Bytes,
    /// The subprotocol.
    pub protocol: Bytes,
}

/// A DCEP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dcep {
    /// DATA_CHANNEL_OPEN.
    Open(Open),
    /// DATA_CHANNEL_ACK.
    Ack,
}

impl Dcep {
    /// Decodes a DCEP message.
    pub fn decode(b: &Bytes) -> Result<Dcep, ParseError> {
        let err = |kind, offset| ParseError { kind, offset };
        let Some(&typ) = b.first() else {
            return Err(err(ParseErrorKind::Truncated, 0));
        };
        match typ {
            ACK => Ok(Dcep::Ack),
            OPEN => {
                if b.len() < 12 {
                    return Err(err(ParseErrorKind::Truncated, b.len()));
                }
                let ct = b[1];
                let channel_type = match ct & 0x7f {
                    0x00 => ChannelType::Reliable,
                    0x01 => ChannelType::PartialReliableRexmit,
                    0x02 => ChannelType::PartialReliableTimed,
                    _ => return Err(err(ParseErrorKind::UnknownChannelType, 1)),
                };
                let priority = u16::from_be_bytes([b[2], b[3]]);
                let reliability = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                let llen = u16::from_be_bytes([b[8], b[9]]) as usize;
                let plen = u16::from_be_bytes([b[10], b[11]]) as usize;
                if b.len() < 12 + llen + plen {
                    return Err(err(ParseErrorKind::Truncated, b.len()));
                }
                Ok(Dcep::Open(Open {
                    channel_type,
                    unordered: ct & 0x80 != 0,
                    priority,
                    reliability,
                    label: b.slice(12..12 + llen),
                    protocol: b.slice(12 + llen..12 + llen + plen),
                }))
            }
            _ => Err(err(ParseErrorKind::UnknownMessageType, 0)),
        }
    }

    /// Bytes on the wire.
    pub fn encoded_len(&self) -> usize {
        match self {
            Dcep::Ack => 1,
            Dcep::Open(o) => 12 + o.label.len() + o.protocol.len(),
        }
    }

    /// Writes the message. Labels and protocols longer than 65535 bytes are cut (the API
    /// refuses them before this point).
    pub fn encode(&self, buf: &mut impl BufMut) {
        match self {
            Dcep::Ack => buf.put_u8(ACK),
            Dcep::Open(o) => {
                buf.put_u8(OPEN);
                let ct = match o.channel_type {
                    ChannelType::Reliable => 0x00,
                    ChannelType::PartialReliableRexmit => 0x01,
                    ChannelType::PartialReliableTimed => 0x02,
                };
                buf.put_u8(ct | if o.unordered { 0x80 } else { 0 });
                buf.put_u16(o.priority);
                buf.put_u32(o.reliability);
                let label = &o.label[..o.label.len().min(65535)];
                let protocol = &o.protocol[..o.protocol.len().min(65535)];
                buf.put_u16(label.len() as u16);
                buf.put_u16(protocol.len() as u16);
                buf.put_slice(label);
                buf.put_slice(protocol);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn open_layout_from_rfc_8832() {
        let o = Dcep::Open(Open {
            channel_type: ChannelType::PartialReliableTimed,
            unordered: true,
            priority: 256,
            reliability: 3000,
            label: Bytes::from_static(b"chat"),
            protocol: Bytes::from_static(b"x"),
        });
        let mut b = BytesMut::new();
        o.encode(&mut b);
        assert_eq!(
            &b[..],
            &[
                3, 0x82, 1, 0, 0, 0, 0x0B, 0xB8, 0, 4, 0, 1, b'c', b'h', b'a', b't', b'x'
            ]
        );
        assert_eq!(Dcep::decode(&b.freeze()).unwrap(), o);
        assert_eq!(Dcep::decode(&Bytes::from_static(&[2])).unwrap(), Dcep::Ack);
    }

    #[test]
    fn malformed_opens_are_typed_errors() {
        assert_eq!(
            Dcep::decode(&Bytes::new()).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
        assert_eq!(
            Dcep::decode(&Bytes::from_static(&[3, 0, 0]))
                .unwrap_err()
                .kind,
            ParseErrorKind::Truncated
        );
        let lying = [3, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, b'a'];
        assert_eq!(
            Dcep::decode(&Bytes::copy_from_slice(&lying))
                .unwrap_err()
                .kind,
            ParseErrorKind::Truncated
        );
        let bad_type = [3, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Dcep::decode(&Bytes::copy_from_slice(&bad_type))
                .unwrap_err()
                .kind,
            ParseErrorKind::UnknownChannelType
        );
        assert_eq!(
            Dcep::decode(&Bytes::from_static(&[9])).unwrap_err().kind,
            ParseErrorKind::UnknownMessageType
        );
    }

    fn open() -> impl Strategy<Value = Dcep> {
        (
            prop_oneof![
                Just(ChannelType::Reliable),
                Just(ChannelType::PartialReliableRexmit),
                Just(ChannelType::PartialReliableTimed)
            ],
            any::<(bool, u16, u32)>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(channel_type, (unordered, priority, reliability), l, p)| {
                Dcep::Open(Open {
                    channel_type,
                    unordered,
                    priority,
                    reliability,
                    label: l.into(),
                    protocol: p.into(),
                })
            })
    }

    proptest! {
        #[test]
        fn dcep_round_trips(m in prop_oneof![open(), Just(Dcep::Ack)]) {
            let mut b = BytesMut::new();
            m.encode(&mut b);
            prop_assert_eq!(b.len(), m.encoded_len());
            prop_assert_eq!(Dcep::decode(&b.freeze()).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Dcep::decode(&Bytes::from(b));
        }
    }
}
