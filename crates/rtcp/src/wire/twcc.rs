//! Transport-wide congestion control feedback
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1): RTPFB with FMT 15.

use std::time::Duration;

use bytes::BufMut;

use super::reader::Reader;
use super::{Body, PT_RTPFB, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::{SeqNum, Ssrc};

/// The reference time counts multiples of 64 ms.
const REFERENCE_TICK_US: i64 = 64_000;
/// Receive deltas count multiples of 250 µs.
const DELTA_TICK_US: i64 = 250;
/// The reference time is 24 bits wide.
const REFERENCE_MASK: u32 = 0xFF_FFFF;
/// A run-length chunk counts up to 2^13 - 1 packets.
const MAX_RUN: u16 = 0x1FFF;

/// When a packet arrived, in microseconds on the feedback sender's clock, from an origin it
/// chooses (only differences matter). Signed: deltas may be negative, so a parsed time can
/// fall before the origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArrivalTime(pub i64);

impl ArrivalTime {
    /// An arrival `d` after the origin (saturating past about 292 000 years).
    pub fn from_duration(d: Duration) -> Self {
        ArrivalTime(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// The time since the origin, or `None` when it falls before the origin.
    pub fn to_duration(self) -> Option<Duration> {
        u64::try_from(self.0).ok().map(Duration::from_micros)
    }

    /// Microseconds since the origin.
    pub fn as_micros(self) -> i64 {
        self.0
    }
}

/// What the feedback says of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketStatus {
    /// Not received (symbol 0).
    NotReceived,
    /// Received, with a one-byte delta of 0 to 63.75 ms (symbol 1).
    SmallDelta,
    /// Received, with a two-byte signed delta (symbol 2).
    LargeDelta,
}

impl PacketStatus {
    fn symbol(self) -> u16 {
        match self {
            PacketStatus::NotReceived => 0,
            PacketStatus::SmallDelta => 1,
            PacketStatus::LargeDelta => 2,
        }
    }

    fn from_symbol(s: u16) -> Option<PacketStatus> {
        match s {
            0 => Some(PacketStatus::NotReceived),
            1 => Some(PacketStatus::SmallDelta),
            2 => Some(PacketStatus::LargeDelta),
            _ => None,
        }
    }

    /// The bytes of the receive delta this status carries.
    fn delta_len(self) -> usize {
        match self {
            PacketStatus::NotReceived => 0,
            PacketStatus::SmallDelta => 1,
            PacketStatus::LargeDelta => 2,
        }
    }
}

/// A packet status chunk (draft §3.1.2 to §3.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketChunk {
    /// `run` consecutive packets (at most 8191) with the same status.
    RunLength {
        /// The status shared by the run.
        status: PacketStatus,
        /// How many packets.
        run: u16,
    },
    /// A status vector of 14 one-bit symbols, the first in the most significant of the 14
    /// bits: 0 is not received, 1 a small delta.
    OneBit(u16),
    /// A status vector of 7 two-bit symbols, the first in the most significant pair; the
    /// value 3 is reserved.
    TwoBit(u16),
}

impl PacketChunk {
    /// How many packets the chunk covers.
    pub fn len(self) -> usize {
        match self {
            PacketChunk::RunLength { run, .. } => usize::from(run),
            PacketChunk::OneBit(_) => 14,
            PacketChunk::TwoBit(_) => 7,
        }
    }

    /// Whether the chunk covers no packet (a run of zero).
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The status of the `i`-th packet covered, `i < self.len()`.
    pub fn status(self, i: usize) -> PacketStatus {
        match self {
            PacketChunk::RunLength { status, .. } => status,
            PacketChunk::OneBit(v) => {
                if v >> (13 - i) & 1 == 1 {
                    PacketStatus::SmallDelta
                } else {
                    PacketStatus::NotReceived
                }
            }
            // The reserved symbol 3 is refused on decode and encode; it reads as large.
            PacketChunk::TwoBit(v) => {
                PacketStatus::from_symbol(v >> (12 - 2 * i) & 3).unwrap_or(PacketStatus::LargeDelta)
            }
        }
    }

    fn decode(v: u16) -> Option<PacketChunk> {
        if v & 0x8000 == 0 {
            // Run length chunk: T=0, S (2 bits), run length (13 bits).
            Some(PacketChunk::RunLength {
                status: PacketStatus::from_symbol(v >> 13 & 3)?,
                run: v & MAX_RUN,
            })
        } else if v & 0x4000 == 0 {
            Some(PacketChunk::OneBit(v & 0x3FFF))
        } else {
            let bits = v & 0x3FFF;
            if (0..7).any(|i| bits >> (2 * i) & 3 == 3) {
                return None;
            }
            Some(PacketChunk::TwoBit(bits))
        }
    }

    fn is_valid(self) -> bool {
        match self {
            PacketChunk::RunLength { run, .. } => run <= MAX_RUN,
            PacketChunk::OneBit(v) => v <= 0x3FFF,
            PacketChunk::TwoBit(v) => v <= 0x3FFF && (0..7).all(|i| v >> (2 * i) & 3 != 3),
        }
    }

    fn encode(self) -> u16 {
        match self {
            PacketChunk::RunLength { status, run } => (status.symbol() << 13) | run,
            PacketChunk::OneBit(v) => 0x8000 | v,
            PacketChunk::TwoBit(v) => 0xC000 | v,
        }
    }
}

/// A transport-wide congestion control feedback packet, in its wire form.
///
/// [`TransportCc::build`] makes one from a list of packets and arrival times, choosing the
/// chunks; [`TransportCc::packet_results`] gives that list back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransportCc {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The SSRC of the media source (libwebrtc sends the first media SSRC it saw).
    pub media_ssrc: Ssrc,
    /// The transport-wide sequence number of the first packet reported.
    pub base_seq: SeqNum,
    /// How many packets are reported, from `base_seq` on.
    pub status_count: u16,
    /// The 24-bit reference time, in multiples of 64 ms.
    pub reference_time: u32,
    /// The feedback packet's own sequence number, so the sender can detect lost feedback.
    pub fb_pkt_count: u8,
    /// The status chunks, covering at least `status_count` packets (the last vector may
    /// cover more; those symbols are ignored).
    pub chunks: Vec<PacketChunk>,
    /// One receive delta per received packet, in multiples of 250 µs: 0..=255 for a small
    /// delta, any `i16` for a large one.
    pub deltas: Vec<i16>,
}

impl TransportCc {
    pub(crate) const FMT: u8 = 15;

    /// Builds feedback for `packets`: transport-wide sequence numbers in increasing order
    /// (wrapping; gaps are reported as not received) with their arrival times, or `None`
    /// for lost packets.
    ///
    /// The reference time is the first arrival rounded down to 64 ms; each delta is rounded
    /// to 250 µs from the previous rounded time, so rounding errors do not add up. Fails when
    /// the numbers are not increasing, span more than 65 535, or a delta does not fit 16 bits
    /// (the caller then ends this feedback before that packet and starts a new one).
    pub fn build(
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
        fb_pkt_count: u8,
        packets: &[(SeqNum, Option<ArrivalTime>)],
    ) -> Result<TransportCc, Error> {
        let Some(&(base_seq, _)) = packets.first() else {
            return Ok(TransportCc {
                sender_ssrc,
                media_ssrc,
                fb_pkt_count,
                ..TransportCc::default()
            });
        };
        let first_arrival = packets.iter().find_map(|(_, t)| *t);
        let reference = first_arrival.map_or(0, |t| t.0.div_euclid(REFERENCE_TICK_US));
        let mut prev_us = reference * REFERENCE_TICK_US;
        let mut statuses = Vec::with_capacity(packets.len());
        let mut deltas = Vec::with_capacity(packets.len());
        let mut prev_seq: Option<SeqNum> = None;
        for &(seq, arrival) in packets {
            if let Some(p) = prev_seq {
                let step = seq.diff(p);
                if step <= 0 {
                    return Err(Error::BadSequence);
                }
                for _ in 1..step {
                    statuses.push(PacketStatus::NotReceived);
                }
            }
            if statuses.len() >= usize::from(u16::MAX) {
                return Err(Error::BadSequence);
            }
            prev_seq = Some(seq);
            let Some(t) = arrival else {
                statuses.push(PacketStatus::NotReceived);
                continue;
            };
            // Round to the nearest 250 µs tick.
            let ticks = (t.0 - prev_us + DELTA_TICK_US / 2).div_euclid(DELTA_TICK_US);
            let delta = i16::try_from(ticks).map_err(|_| Error::DeltaOutOfRange { seq: seq.0 })?;
            prev_us += ticks * DELTA_TICK_US;
            statuses.push(if (0..=255).contains(&delta) {
                PacketStatus::SmallDelta
            } else {
                PacketStatus::LargeDelta
            });
            deltas.push(delta);
        }
        if statuses.len() > usize::from(u16::MAX) {
            return Err(Error::BadSequence);
        }
        Ok(TransportCc {
            sender_ssrc,
            media_ssrc,
            base_seq,
            // Checked just above.
            status_count: statuses.len() as u16,
            reference_time: (reference.rem_euclid(1 << 24)) as u32,
            fb_pkt_count,
            chunks: chunk_statuses(&statuses),
            deltas,
        })
    }

    /// The status of each of the `status_count` packets reported, in order.
    pub fn statuses(&self) -> impl Iterator<Item = PacketStatus> + '_ {
        self.chunks
            .iter()
            .flat_map(|&c| (0..c.len()).map(move |i| c.status(i)))
            .take(usize::from(self.status_count))
    }

    /// Every packet reported, with its arrival time (`None` when not received): the list
    /// [`TransportCc::build`] was given, gaps filled in. Times are the reference time plus
    /// the running sum of the deltas; the reference time is read as unsigned 24 bits, so
    /// times wrap every 2^24 × 64 ms (about 12.4 days).
    pub fn packet_results(&self) -> Vec<(SeqNum, Option<ArrivalTime>)> {
        let mut t = i64::from(self.reference_time & REFERENCE_MASK) * REFERENCE_TICK_US;
        let mut deltas = self.deltas.iter();
        let mut out = Vec::with_capacity(usize::from(self.status_count));
        for (i, s) in self.statuses().enumerate() {
            // i < status_count <= u16::MAX.
            let seq = self.base_seq + i as u16;
            let arrival = if s == PacketStatus::NotReceived {
                None
            } else {
                deltas.next().map(|&d| {
                    t += i64::from(d) * DELTA_TICK_US;
                    ArrivalTime(t)
                })
            };
            out.push((seq, arrival));
        }
        out
    }

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let sender_ssrc = Ssrc(r.u32()?);
        let media_ssrc = Ssrc(r.u32()?);
        let base_seq = SeqNum(r.u16()?);
        let status_count = r.u16()?;
        let reference_time = r.u24()?;
        let fb_pkt_count = r.u8()?;
        let mut chunks = Vec::new();
        let mut covered = 0usize;
        while covered < usize::from(status_count) {
            let at = r.offset();
            let chunk = PacketChunk::decode(r.u16()?)
                .ok_or(ParseError::new(ParseErrorKind::ReservedStatusSymbol, at))?;
            covered += chunk.len();
            chunks.push(chunk);
        }
        let mut tcc = TransportCc {
            sender_ssrc,
            media_ssrc,
            base_seq,
            status_count,
            reference_time,
            fb_pkt_count,
            chunks,
            deltas: Vec::new(),
        };
        let mut deltas = Vec::with_capacity(r.remaining());
        for s in tcc.statuses() {
            match s {
                PacketStatus::NotReceived => {}
                PacketStatus::SmallDelta => deltas.push(i16::from(r.u8()?)),
                PacketStatus::LargeDelta => deltas.push(r.u16()? as i16),
            }
        }
        // Zero padding to a 32-bit boundary may follow.
        if r.remaining() > 3 {
            return Err(r.err(ParseErrorKind::BadLength));
        }
        tcc.deltas = deltas;
        Ok(tcc)
    }

    fn unpadded_len(&self) -> usize {
        20 + 2 * self.chunks.len() + self.statuses().map(PacketStatus::delta_len).sum::<usize>()
    }
}

impl Body for TransportCc {
    fn packet_type(&self) -> u8 {
        PT_RTPFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        self.unpadded_len().div_ceil(4) * 4 - 4
    }
    fn validate(&self) -> Result<(), Error> {
        check_count("TWCC chunks", self.chunks.len(), 0x7FFF)?;
        if self.reference_time > REFERENCE_MASK {
            return Err(Error::OutOfRange {
                what: "reference time",
            });
        }
        // Decoding reads chunks while fewer than status_count packets are covered, so every
        // chunk but the last must leave some uncovered and the last must cover the rest.
        let mut covered = 0usize;
        for c in &self.chunks {
            if !c.is_valid() {
                return Err(Error::OutOfRange {
                    what: "status chunk",
                });
            }
            if covered >= usize::from(self.status_count) {
                return Err(Error::OutOfRange {
                    what: "status chunks past the status count",
                });
            }
            covered += c.len();
        }
        if covered < usize::from(self.status_count) {
            return Err(Error::OutOfRange {
                what: "status chunks short of the status count",
            });
        }
        let mut deltas = self.deltas.iter();
        for s in self.statuses() {
            if s == PacketStatus::NotReceived {
                continue;
            }
            match (s, deltas.next()) {
                (PacketStatus::SmallDelta, Some(d)) if (0..=255).contains(d) => {}
                (PacketStatus::LargeDelta, Some(_)) => {}
                _ => {
                    return Err(Error::OutOfRange {
                        what: "receive delta",
                    });
                }
            }
        }
        if deltas.next().is_some() {
            return Err(Error::OutOfRange {
                what: "more deltas than received packets",
            });
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        out.put_u16(self.base_seq.0);
        out.put_u16(self.status_count);
        out.put_slice(&self.reference_time.to_be_bytes()[1..]);
        out.put_u8(self.fb_pkt_count);
        for c in &self.chunks {
            out.put_u16(c.encode());
        }
        let mut deltas = self.deltas.iter();
        for s in self.statuses() {
            match s {
                PacketStatus::NotReceived => {}
                // validate() pairs every received status with a delta of the right range.
                PacketStatus::SmallDelta => out.put_u8(deltas.next().copied().unwrap_or(0) as u8),
                PacketStatus::LargeDelta => out.put_i16(deltas.next().copied().unwrap_or(0)),
            }
        }
        let len = self.unpadded_len();
        out.put_bytes(0, len.div_ceil(4) * 4 - len);
    }
}

/// Packs statuses into chunks: a run-length chunk when the run is at least as long as the
/// vector that could start here, otherwise a one-bit vector when the next 14 packets have no
/// large delta, otherwise a two-bit vector. The last vector is padded with "not received".
fn chunk_statuses(s: &[PacketStatus]) -> Vec<PacketChunk> {
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let rest = &s[i..];
        let run = rest
            .iter()
            .take(usize::from(MAX_RUN))
            .take_while(|&&x| x == rest[0])
            .count();
        let one_bit_span = rest.len().min(14);
        let one_bit = !rest[..one_bit_span].contains(&PacketStatus::LargeDelta);
        let vector_span = if one_bit {
            one_bit_span
        } else {
            rest.len().min(7)
        };
        if run >= vector_span {
            chunks.push(PacketChunk::RunLength {
                status: rest[0],
                // run <= MAX_RUN.
                run: run as u16,
            });
            i += run;
            continue;
        }
        let mut v = 0u16;
        if one_bit {
            for (k, st) in rest[..vector_span].iter().enumerate() {
                v |= st.symbol() << (13 - k);
            }
            chunks.push(PacketChunk::OneBit(v));
        } else {
            for (k, st) in rest[..vector_span].iter().enumerate() {
                v |= st.symbol() << (12 - 2 * k);
            }
            chunks.push(PacketChunk::TwoBit(v));
        }
        i += vector_span;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: i64) -> Option<ArrivalTime> {
        Some(ArrivalTime(v * 1000))
    }

    #[test]
    fn long_runs_become_run_length_chunks() {
        let mut s = vec![PacketStatus::SmallDelta; 100];
        s.extend([PacketStatus::NotReceived; 20]);
        let c = chunk_statuses(&s);
        assert_eq!(
            c,
            vec![
                PacketChunk::RunLength {
                    status: PacketStatus::SmallDelta,
                    run: 100
                },
                PacketChunk::RunLength {
                    status: PacketStatus::NotReceived,
                    run: 20
                },
            ]
        );
    }

    #[test]
    fn mixed_statuses_become_vectors() {
        use PacketStatus::*;
        let s = [
            SmallDelta,
            NotReceived,
            SmallDelta,
            NotReceived,
            SmallDelta,
            SmallDelta,
            NotReceived,
            SmallDelta,
            NotReceived,
            SmallDelta,
            NotReceived,
            SmallDelta,
            SmallDelta,
            NotReceived,
            LargeDelta,
            SmallDelta,
        ];
        let c = chunk_statuses(&s);
        assert_eq!(c[0], PacketChunk::OneBit(0b10_1011_0101_0110));
        // The last two: a two-bit vector, padded with "not received".
        assert_eq!(c[1], PacketChunk::TwoBit(0b10_0100_0000_0000));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn build_and_parse_give_the_list_back() {
        let list = vec![
            (SeqNum(65534), ms(1000)),
            (SeqNum(65535), None),
            (SeqNum(0), ms(1001)),
            (SeqNum(1), ms(1500)),
            (SeqNum(2), ms(1400)),
            (SeqNum(3), ms(1400)),
        ];
        let t = TransportCc::build(Ssrc(1), Ssrc(2), 7, &list).unwrap();
        assert_eq!(t.base_seq, SeqNum(65534));
        assert_eq!(t.status_count, 6);
        assert_eq!(t.reference_time, 15); // 1000 ms / 64 ms
        assert_eq!(t.packet_results(), list);
        let mut buf = Vec::new();
        t.encode(&mut buf).unwrap();
        assert_eq!(buf.len(), t.encoded_len());
        assert_eq!(TransportCc::decode(&buf).unwrap(), t);
    }

    #[test]
    fn gaps_are_reported_lost_and_bad_orders_refused() {
        let t = TransportCc::build(
            Ssrc(1),
            Ssrc(2),
            0,
            &[(SeqNum(10), ms(5)), (SeqNum(13), ms(6))],
        )
        .unwrap();
        assert_eq!(
            t.packet_results(),
            vec![
                (SeqNum(10), ms(5)),
                (SeqNum(11), None),
                (SeqNum(12), None),
                (SeqNum(13), ms(6))
            ]
        );
        assert_eq!(
            TransportCc::build(
                Ssrc(1),
                Ssrc(2),
                0,
                &[(SeqNum(10), None), (SeqNum(10), None)]
            ),
            Err(Error::BadSequence)
        );
        assert_eq!(
            TransportCc::build(
                Ssrc(1),
                Ssrc(2),
                0,
                &[(SeqNum(1), ms(0)), (SeqNum(2), ms(9000))]
            ),
            Err(Error::DeltaOutOfRange { seq: 2 })
        );
    }

    #[test]
    fn rounding_does_not_accumulate() {
        // 30 packets 333 µs apart: each time is within 125 µs of the truth.
        let list: Vec<_> = (0..30u16)
            .map(|i| (SeqNum(i), Some(ArrivalTime(64_000 + 333 * i64::from(i)))))
            .collect();
        let t = TransportCc::build(Ssrc(1), Ssrc(2), 0, &list).unwrap();
        for ((_, want), (_, got)) in list.iter().zip(t.packet_results()) {
            let d = (want.unwrap().0 - got.unwrap().0).abs();
            assert!(d <= 125, "{d} µs off");
        }
    }
}
