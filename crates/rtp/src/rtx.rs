//! RTX retransmission packets (RFC 4588 §4): the original sequence number (OSN) in front of
//! the original payload, sent on the RTX stream's SSRC, payload type and sequence numbers.

use bytes::{BufMut, Bytes};

use crate::error::{ParseError, ParseErrorKind};
use crate::packet::{Header, Packet, PacketBuf, PayloadType, SeqNum, Ssrc};

/// Builds the RTX packet that retransmits `original` (RFC 4588 §4).
///
/// The timestamp, marker, CSRCs and header extensions are copied; padding is not.
pub fn wrap(
    original: &Packet<'_>,
    rtx_pt: PayloadType,
    rtx_ssrc: Ssrc,
    rtx_seq: SeqNum,
) -> PacketBuf {
    let mut header = Header::new(rtx_pt, rtx_seq, original.timestamp, rtx_ssrc);
    header.marker = original.marker;
    header.extensions = original.extensions.to_owned();
    let csrcs: Vec<Ssrc> = original.csrcs().collect();
    // A decoded packet has at most 15 CSRCs (four-bit count).
    let _ = header.set_csrcs(&csrcs);
    let mut payload = Vec::with_capacity(2 + original.payload.len());
    payload.put_u16(original.sequence.0);
    payload.extend_from_slice(original.payload);
    PacketBuf::new(header, Bytes::from(payload))
}

/// Recovers the original packet from an RTX packet, given the original stream's payload type
/// (from `a=fmtp:<rtx> apt=`) and SSRC.
///
/// Errors with [`ParseErrorKind::EmptyPayload`] for a packet too short for the OSN, such as
/// the padding-only packets senders use for bandwidth probing.
pub fn unwrap(
    rtx: &Packet<'_>,
    original_pt: PayloadType,
    original_ssrc: Ssrc,
) -> Result<PacketBuf, ParseError> {
    let [a, b, rest @ ..] = rtx.payload else {
        return Err(ParseError::new(
            ParseErrorKind::EmptyPayload,
            rtx.header_len(),
        ));
    };
    let mut header = Header::new(
        original_pt,
        SeqNum::from(u16::from_be_bytes([*a, *b])),
        rtx.timestamp,
        original_ssrc,
    );
    header.marker = rtx.marker;
    header.extensions = rtx.extensions.to_owned();
    let csrcs: Vec<Ssrc> = rtx.csrcs().collect();
    // A decoded packet has at most 15 CSRCs (four-bit count).
    let _ = header.set_csrcs(&csrcs);
    Ok(PacketBuf::new(header, Bytes::copy_from_slice(rest)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::Timestamp;

    #[test]
    fn wrap_then_unwrap_restores_the_original() {
        let mut h = Header::new(
            PayloadType::new(96).unwrap(),
            SeqNum::from(4242),
            Timestamp::from(90_000),
            Ssrc(0xaaaa),
        );
        h.marker = true;
        h.set_csrcs(&[Ssrc(7)]).unwrap();
        h.extensions.set(3, Bytes::from_static(&[1, 2])).unwrap();
        let mut orig = PacketBuf::new(h, Bytes::from_static(b"frame"));
        orig.set_padding(3);
        let wire = orig.to_bytes();
        let view = Packet::decode(&wire).unwrap();

        let rtx = wrap(
            &view,
            PayloadType::new(97).unwrap(),
            Ssrc(0xbbbb),
            SeqNum::from(10),
        );
        let rtx_wire = rtx.to_bytes();
        let rv = Packet::decode(&rtx_wire).unwrap();
        assert_eq!(rv.ssrc, Ssrc(0xbbbb));
        assert_eq!(rv.payload_type.get(), 97);
        assert_eq!(rv.sequence.0, 10);
        assert_eq!(&rv.payload[..2], &4242u16.to_be_bytes());
        assert_eq!(&rv.payload[2..], b"frame");

        let back = unwrap(&rv, PayloadType::new(96).unwrap(), Ssrc(0xaaaa)).unwrap();
        let mut expected = orig.clone();
        expected.set_padding(0);
        assert_eq!(back, expected);
    }

    #[test]
    fn padding_only_rtx_is_an_error() {
        let h = Header::new(
            PayloadType::new(97).unwrap(),
            SeqNum::from(1),
            Timestamp::from(1),
            Ssrc(1),
        );
        let mut p = PacketBuf::new(h, Bytes::from_static(&[9]));
        p.set_padding(200);
        let wire = p.to_bytes();
        let v = Packet::decode(&wire).unwrap();
        assert_eq!(
            unwrap(&v, PayloadType::new(96).unwrap(), Ssrc(2))
                .unwrap_err()
                .kind,
            ParseErrorKind::EmptyPayload
        );
    }
}
