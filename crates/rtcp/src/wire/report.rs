//! Sender and receiver reports with their report blocks (RFC 3550 §6.4).

use bytes::{BufMut, Bytes};

use super::reader::Reader;
use super::{Body, PT_RR, PT_SR, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::{CompactNtp, NtpTime, Ssrc};

/// The most report blocks one SR or RR carries (5-bit count).
pub const MAX_REPORT_BLOCKS: usize = 31;
const REPORT_BLOCK_LEN: usize = 24;

/// A reception report block (RFC 3550 §6.4.1): what one receiver saw of one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: Ssrc,
    /// Packets lost since the previous report, as a fraction of 256.
    pub fraction_lost: u8,
    /// Packets lost since the start (24-bit signed on the wire: -8388608..=8388607; duplicates
    /// can make it negative).
    pub cumulative_lost: i32,
    /// The highest sequence number received, extended with the count of wraps.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// The middle 32 bits of the NTP timestamp of the last SR from this source (0 if none).
    pub last_sr: CompactNtp,
    /// The delay since that SR arrived, in units of 1/65536 s (0 if none).
    pub delay_since_last_sr: CompactNtp,
}

/// The range of the 24-bit signed cumulative-loss field.
pub(crate) const CUMULATIVE_LOST_RANGE: std::ops::RangeInclusive<i32> = -0x80_0000..=0x7F_FFFF;

impl ReportBlock {
    fn decode(r: &mut Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = Ssrc(r.u32()?);
        let fraction_lost = r.u8()?;
        let raw = r.u24()?;
        // Sign-extend the 24-bit two's complement value.
        let cumulative_lost = ((raw << 8) as i32) >> 8;
        Ok(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: r.u32()?,
            jitter: r.u32()?,
            last_sr: CompactNtp(r.u32()?),
            delay_since_last_sr: CompactNtp(r.u32()?),
        })
    }

    fn validate(&self) -> Result<(), Error> {
        if !CUMULATIVE_LOST_RANGE.contains(&self.cumulative_lost) {
            return Err(Error::OutOfRange {
                what: "cumulative lost",
            });
        }
        Ok(())
    }

    fn write(&self, out: &mut dyn BufMut) {
        out.put_u32(self.ssrc.0);
        out.put_u8(self.fraction_lost);
        let lost = (self.cumulative_lost as u32) & 0xFF_FFFF;
        out.put_slice(&lost.to_be_bytes()[1..]);
        out.put_u32(self.extended_highest_seq);
        out.put_u32(self.jitter);
        out.put_u32(self.last_sr.0);
        out.put_u32(self.delay_since_last_sr.0);
    }
}

/// A sender report (RFC 3550 §6.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: Ssrc,
    /// The wall-clock time the report was sent.
    pub ntp_time: NtpTime,
    /// The same instant in the RTP timestamp units of the sender's stream.
    pub rtp_time: u32,
    /// RTP data packets sent since the start.
    pub packet_count: u32,
    /// RTP payload octets sent since the start.
    pub octet_count: u32,
    /// Up to 31 reception report blocks.
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension after the blocks (whole 32-bit words), usually empty.
    pub extension: Bytes,
}

impl SenderReport {
    pub(crate) fn decode_body(count: u8, mut r: Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = Ssrc(r.u32()?);
        let ntp_time = NtpTime(r.u64()?);
        let rtp_time = r.u32()?;
        let packet_count = r.u32()?;
        let octet_count = r.u32()?;
        let reports = decode_blocks(count, &mut r)?;
        let extension = decode_extension(&mut r)?;
        Ok(SenderReport {
            ssrc,
            ntp_time,
            rtp_time,
            packet_count,
            octet_count,
            reports,
            extension,
        })
    }
}

impl Body for SenderReport {
    fn packet_type(&self) -> u8 {
        PT_SR
    }
    fn count(&self) -> u8 {
        self.reports.len() as u8
    }
    fn body_len(&self) -> usize {
        24 + REPORT_BLOCK_LEN * self.reports.len() + self.extension.len()
    }
    fn validate(&self) -> Result<(), Error> {
        validate_blocks(&self.reports, &self.extension)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.ssrc.0);
        out.put_u64(self.ntp_time.0);
        out.put_u32(self.rtp_time);
        out.put_u32(self.packet_count);
        out.put_u32(self.octet_count);
        for b in &self.reports {
            b.write(out);
        }
        out.put_slice(&self.extension);
    }
}

/// A receiver report (RFC 3550 §6.4.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: Ssrc,
    /// Up to 31 reception report blocks (none is valid: an empty RR heads a compound).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension after the blocks (whole 32-bit words), usually empty.
    pub extension: Bytes,
}

impl ReceiverReport {
    pub(crate) fn decode_body(count: u8, mut r: Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = Ssrc(r.u32()?);
        let reports = decode_blocks(count, &mut r)?;
        let extension = decode_extension(&mut r)?;
        Ok(ReceiverReport {
            ssrc,
            reports,
            extension,
        })
    }
}

impl Body for ReceiverReport {
    fn packet_type(&self) -> u8 {
        PT_RR
    }
    fn count(&self) -> u8 {
        self.reports.len() as u8
    }
    fn body_len(&self) -> usize {
        4 + REPORT_BLOCK_LEN * self.reports.len() + self.extension.len()
    }
    fn validate(&self) -> Result<(), Error> {
        validate_blocks(&self.reports, &self.extension)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.ssrc.0);
        for b in &self.reports {
            b.write(out);
        }
        out.put_slice(&self.extension);
    }
}

fn decode_blocks(count: u8, r: &mut Reader<'_>) -> Result<Vec<ReportBlock>, ParseError> {
    // The count is 5 bits, so at most 31 blocks are allocated; each is checked against the
    // bytes present as it is read.
    let mut v = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        v.push(ReportBlock::decode(r)?);
    }
    Ok(v)
}

fn decode_extension(r: &mut Reader<'_>) -> Result<Bytes, ParseError> {
    // RFC 3550 §6.4.1: a profile may append an extension; the length keeps it whole words.
    if !r.remaining().is_multiple_of(4) {
        return Err(r.err(ParseErrorKind::BadLength));
    }
    Ok(Bytes::copy_from_slice(r.rest()))
}

fn validate_blocks(reports: &[ReportBlock], extension: &[u8]) -> Result<(), Error> {
    check_count("report blocks", reports.len(), MAX_REPORT_BLOCKS)?;
    for b in reports {
        b.validate()?;
    }
    if !extension.len().is_multiple_of(4) {
        return Err(Error::BadFieldLength {
            what: "report extension",
            len: extension.len(),
        });
    }
    Ok(())
}
