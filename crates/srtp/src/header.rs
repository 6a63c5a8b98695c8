//! The few RTP and RTCP header fields SRTP needs (RFC 3550 §5.1, §6.4).

use crate::error::Error;

/// What SRTP reads of an RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    /// The sequence number.
    pub seq: u16,
    /// The SSRC.
    pub ssrc: u32,
    /// The number of CSRCs.
    pub csrc_count: usize,
    /// Where the header extension's 4-byte header starts, if the X bit is set.
    pub extension: Option<usize>,
    /// The length of the whole header: fixed part, CSRCs and extension.
    pub len: usize,
}

/// Reads an RTP header, checking version 2 and that the CSRC list and extension fit.
pub(crate) fn rtp(p: &[u8]) -> Result<RtpHeader, Error> {
    if p.len() < 12 {
        return Err(Error::TooShort);
    }
    if p[0] >> 6 != 2 {
        return Err(Error::Malformed);
    }
    let csrc_count = usize::from(p[0] & 0x0f);
    let mut len = 12 + 4 * csrc_count;
    let extension = if p[0] & 0x10 != 0 {
        let at = len;
        if p.len() < at + 4 {
            return Err(Error::TooShort);
        }
        let words = usize::from(u16::from_be_bytes([p[at + 2], p[at + 3]]));
        len = at + 4 + 4 * words;
        Some(at)
    } else {
        None
    };
    if p.len() < len {
        return Err(Error::TooShort);
    }
    Ok(RtpHeader {
        seq: u16::from_be_bytes([p[2], p[3]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        csrc_count,
        extension,
        len,
    })
}

/// The sender SSRC of an RTCP packet (the first packet of a compound one), checking the
/// version and the 8 bytes every RTCP packet starts with.
pub(crate) fn rtcp_ssrc(p: &[u8]) -> Result<u32, Error> {
    if p.len() < 8 {
        return Err(Error::TooShort);
    }
    if p[0] >> 6 != 2 {
        return Err(Error::Malformed);
    }
    Ok(u32::from_be_bytes([p[4], p[5], p[6], p[7]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csrcs_and_extension() {
        let mut p = vec![0x92, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe];
        p.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 8]); // two CSRCs
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]); // one-word extension
        p.extend_from_slice(b"payload");
        let h = rtp(&p).unwrap();
        assert_eq!((h.seq, h.ssrc, h.csrc_count), (0x1234, 0xcafe_babe, 2));
        assert_eq!(h.extension, Some(20));
        assert_eq!(h.len, 28);
    }

    #[test]
    fn rejects_lies() {
        assert_eq!(rtp(&[0x80; 11]), Err(Error::TooShort));
        assert_eq!(rtp(&[0x40; 12]), Err(Error::Malformed));
        let mut p = vec![0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(rtp(&p), Err(Error::TooShort)); // 15 CSRCs announced
        p[0] = 0x90;
        p.extend_from_slice(&[0xbe, 0xde, 0xff, 0xff]);
        assert_eq!(rtp(&p), Err(Error::TooShort)); // extension longer than the packet
        assert_eq!(rtcp_ssrc(&[0x80, 200, 0, 1]), Err(Error::TooShort));
    }
}
