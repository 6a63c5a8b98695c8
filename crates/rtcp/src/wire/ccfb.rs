//! RTP Control Protocol congestion control feedback (RFC 8888 §3.1): RTPFB with FMT 11.

use std::time::Duration;

use bytes::BufMut;

use super::reader::Reader;
use super::{Body, PT_RTPFB, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::{CompactNtp, SeqNum, Ssrc};

/// The most reports one stream block may hold (RFC 8888 §3.1 bounds it by half the
/// sequence-number space, 16384 packets).
pub const MAX_REPORTS_PER_STREAM: usize = 16_384;
/// Arrival time offsets count units of 1/1024 s.
const ATO_UNITS_PER_SEC: u128 = 1024;

/// The two ECN bits of an IP header (RFC 3168 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Ecn(pub u8);

impl Ecn {
    /// Not ECN-capable transport (00).
    pub const NOT_ECT: Ecn = Ecn(0);
    /// ECN-capable transport, ECT(1) (01).
    pub const ECT1: Ecn = Ecn(1);
    /// ECN-capable transport, ECT(0) (10).
    pub const ECT0: Ecn = Ecn(2);
    /// Congestion experienced (11).
    pub const CE: Ecn = Ecn(3);
}

/// What the report says of one packet (RFC 8888 §3.1): a 16-bit metric block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CcfbMetric {
    /// Whether the packet was received (the R bit).
    pub received: bool,
    /// The ECN marking it arrived with (zero when not received).
    pub ecn: Ecn,
    /// The 13-bit arrival time offset: how long before the report timestamp the packet
    /// arrived, in units of 1/1024 s; 0x1FFE means "that long or longer", 0x1FFF
    /// "unavailable" (zero when not received).
    pub arrival_time_offset: u16,
}

impl CcfbMetric {
    /// The offset value meaning "at least 0x1FFE / 1024 s" (RFC 8888 §3.1).
    pub const OVER_RANGE: u16 = 0x1FFE;
    /// The offset value meaning "unavailable" (RFC 8888 §3.1).
    pub const UNAVAILABLE: u16 = 0x1FFF;

    /// A packet that was not received.
    pub const LOST: CcfbMetric = CcfbMetric {
        received: false,
        ecn: Ecn::NOT_ECT,
        arrival_time_offset: 0,
    };

    /// A received packet that arrived `before_report` before the report timestamp, rounded
    /// to 1/1024 s and capped at [`CcfbMetric::OVER_RANGE`].
    pub fn received(ecn: Ecn, before_report: Duration) -> Self {
        let units = (before_report.as_nanos() * ATO_UNITS_PER_SEC + 500_000_000) / 1_000_000_000;
        CcfbMetric {
            received: true,
            ecn,
            arrival_time_offset: u16::try_from(units)
                .unwrap_or(Self::OVER_RANGE)
                .min(Self::OVER_RANGE),
        }
    }

    /// The arrival time offset as a duration, when the packet was received and the offset is
    /// neither over range nor unavailable.
    pub fn offset(self) -> Option<Duration> {
        if !self.received || self.arrival_time_offset >= Self::OVER_RANGE {
            return None;
        }
        let nanos = u64::from(self.arrival_time_offset) * 1_000_000_000 / 1024;
        Some(Duration::from_nanos(nanos))
    }

    fn encode(self) -> u16 {
        (u16::from(self.received) << 15)
            | (u16::from(self.ecn.0 & 3) << 13)
            | (self.arrival_time_offset & 0x1FFF)
    }

    fn decode(v: u16) -> Self {
        CcfbMetric {
            received: v & 0x8000 != 0,
            ecn: Ecn((v >> 13 & 3) as u8),
            arrival_time_offset: v & 0x1FFF,
        }
    }
}

/// The reports on one RTP stream: consecutive sequence numbers from `begin_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CcfbStream {
    /// The stream's SSRC.
    pub ssrc: Ssrc,
    /// The sequence number of the first packet reported.
    pub begin_seq: SeqNum,
    /// One metric per packet, at most [`MAX_REPORTS_PER_STREAM`].
    pub metrics: Vec<CcfbMetric>,
}

impl CcfbStream {
    fn encoded_len(&self) -> usize {
        8 + (2 * self.metrics.len()).div_ceil(4) * 4
    }
}

/// A congestion control feedback packet (RFC 8888 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CongestionControlFeedback {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The reports, one block per stream.
    pub streams: Vec<CcfbStream>,
    /// When the report was made: the middle 32 bits of an NTP timestamp.
    pub report_timestamp: CompactNtp,
}

impl CongestionControlFeedback {
    pub(crate) const FMT: u8 = 11;

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let sender_ssrc = Ssrc(r.u32()?);
        let mut streams = Vec::new();
        // Stream blocks run up to the 4-byte report timestamp that ends the packet.
        while r.remaining() > 4 {
            let ssrc = Ssrc(r.u32()?);
            let begin_seq = SeqNum(r.u16()?);
            let at = r.offset();
            let n = usize::from(r.u16()?);
            if n > MAX_REPORTS_PER_STREAM {
                return Err(ParseError::new(ParseErrorKind::BadStatusCount, at));
            }
            // Reports of 2 bytes, padded to a word; keep 4 bytes for the timestamp.
            let block = (2 * n).div_ceil(4) * 4;
            if r.remaining() < block + 4 {
                return Err(r.err(ParseErrorKind::Truncated));
            }
            let mut metrics = Vec::with_capacity(n);
            for _ in 0..n {
                metrics.push(CcfbMetric::decode(r.u16()?));
            }
            r.take(block - 2 * n)?;
            streams.push(CcfbStream {
                ssrc,
                begin_seq,
                metrics,
            });
        }
        let report_timestamp = CompactNtp(r.u32()?);
        r.finish()?;
        Ok(CongestionControlFeedback {
            sender_ssrc,
            streams,
            report_timestamp,
        })
    }
}

impl Body for CongestionControlFeedback {
    fn packet_type(&self) -> u8 {
        PT_RTPFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        8 + self
            .streams
            .iter()
            .map(CcfbStream::encoded_len)
            .sum::<usize>()
    }
    fn validate(&self) -> Result<(), Error> {
        for s in &self.streams {
            check_count("RFC 8888 reports", s.metrics.len(), MAX_REPORTS_PER_STREAM)?;
            for m in &s.metrics {
                if m.ecn.0 > 3 || m.arrival_time_offset > 0x1FFF {
                    return Err(Error::OutOfRange {
                        what: "RFC 8888 metric",
                    });
                }
            }
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        for s in &self.streams {
            out.put_u32(s.ssrc.0);
            out.put_u16(s.begin_seq.0);
            // validate() bounds the list to 16384.
            out.put_u16(s.metrics.len() as u16);
            for m in &s.metrics {
                out.put_u16(m.encode());
            }
            if s.metrics.len() % 2 == 1 {
                out.put_u16(0);
            }
        }
        out.put_u32(self.report_timestamp.0);
    }
}
