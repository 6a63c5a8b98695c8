//! Demultiplexing by the first byte of a datagram (RFC 7983 §7, as updated by RFC 9443).

/// What a datagram on a WebRTC 5-tuple carries, judged by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// 0-3: STUN (ICE checks, TURN control).
    Stun,
    /// 16-19: ZRTP (not used by WebRTC; listed so that it is not mistaken for anything else).
    Zrtp,
    /// 20-63: DTLS records.
    Dtls,
    /// 64-79: TURN ChannelData (RFC 8656 §12).
    TurnChannel,
    /// 128-191: RTP or RTCP (tell them apart with [`is_rtcp`]).
    RtpOrRtcp,
    /// Anything else: drop it.
    Unknown,
}

/// Classifies a datagram by its first byte (RFC 7983 §7). An empty datagram is
/// [`PacketKind::Unknown`].
///
/// ```
/// use weft_proto::{PacketKind, classify};
/// assert_eq!(classify(&[0x00, 0x01]), PacketKind::Stun);
/// assert_eq!(classify(&[22, 0xfe, 0xfd]), PacketKind::Dtls);
/// assert_eq!(classify(&[0x80, 96]), PacketKind::RtpOrRtcp);
/// assert_eq!(classify(&[]), PacketKind::Unknown);
/// ```
pub fn classify(datagram: &[u8]) -> PacketKind {
    match datagram.first() {
        Some(0..=3) => PacketKind::Stun,
        Some(16..=19) => PacketKind::Zrtp,
        Some(20..=63) => PacketKind::Dtls,
        Some(64..=79) => PacketKind::TurnChannel,
        Some(128..=191) => PacketKind::RtpOrRtcp,
        _ => PacketKind::Unknown,
    }
}

/// Whether an RTP-range datagram is RTCP: its second byte, the RTCP packet type, falls in
/// 192-223 (RFC 5761 §4).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram.get(1), Some(192..=223))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_byte_has_one_kind() {
        let mut counts = std::collections::HashMap::new();
        for b in 0..=255u8 {
            *counts.entry(classify(&[b])).or_insert(0) += 1;
        }
        assert_eq!(counts[&PacketKind::Stun], 4);
        assert_eq!(counts[&PacketKind::Zrtp], 4);
        assert_eq!(counts[&PacketKind::Dtls], 44);
        assert_eq!(counts[&PacketKind::TurnChannel], 16);
        assert_eq!(counts[&PacketKind::RtpOrRtcp], 64);
        assert_eq!(counts[&PacketKind::Unknown], 256 - 4 - 4 - 44 - 16 - 64);
    }

    #[test]
    fn rtcp_is_told_from_rtp_by_payload_type() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(!is_rtcp(&[0x80, 111]));
        assert!(!is_rtcp(&[0x80]));
    }
}
