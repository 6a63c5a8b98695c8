//! What RFC 3550 asks a receiver to compute: sequence validation and the extended highest
//! sequence number (A.1), expected and lost packets (A.3), interarrival jitter (A.8), LSR and
//! DLSR (§6.4.1), and the round-trip time a sender derives from a report block.

use std::time::{Duration, Instant};

use crate::types::{CompactNtp, NtpTime, Ssrc};
use crate::wire::{DlrrItem, ReportBlock};

/// RFC 3550 A.1: packets needed in sequence before a source counts as valid.
const MIN_SEQUENTIAL: u32 = 2;
/// RFC 3550 A.1: the largest forward jump taken as loss rather than a restart.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: the largest backward jump taken as reordering.
const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u64 = 1 << 16;

/// Reception statistics of one RTP source, fed packet by packet: a sans-IO helper with no
/// clock (arrival times come in as [`Instant`]s) that produces the source's [`ReportBlock`].
///
/// Follows RFC 3550 Appendix A: a source is validated after two packets in sequence (A.1),
/// a jump of 3000 or more is taken as a restart only when the next packet confirms it, the
/// jitter is the A.8 running estimate kept in 1/16 units, and loss is counted as in A.3.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft_rtcp::{ReceiverStats, Ssrc};
///
/// let t0 = Instant::now();
/// let mut stats = ReceiverStats::new(Ssrc(0x1234), 90_000);
/// for (i, seq) in [100u16, 101, 102, 104].into_iter().enumerate() {
///     let at = t0 + Duration::from_millis(33 * i as u64);
///     stats.handle_packet(seq, 3000 * u32::from(seq), at);
/// }
/// let block = stats.report_block(t0 + Duration::from_secs(1)).expect("source is valid");
/// assert_eq!(block.extended_highest_seq, 104);
/// assert_eq!(block.cumulative_lost, 1); // 103 missing
/// ```
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    ssrc: Ssrc,
    clock_rate: u32,
    started: bool,
    max_seq: u16,
    /// Wraps of the sequence number, times 2^16 (RFC 3550 A.1 `cycles`).
    cycles: u64,
    base_seq: u64,
    bad_seq: u64,
    probation: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    first_arrival: Option<Instant>,
    last_arrival: Option<Instant>,
    last_transit: Option<u32>,
    /// The A.8 jitter estimate times 16 (64 bits: a timestamp jump cannot overflow it).
    jitter_q4: u64,
    last_sr: Option<(CompactNtp, Instant)>,
}

impl ReceiverStats {
    /// Statistics for the source `ssrc`, whose RTP timestamps tick at `clock_rate` Hz.
    pub fn new(ssrc: Ssrc, clock_rate: u32) -> Self {
        ReceiverStats {
            ssrc,
            clock_rate,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            first_arrival: None,
            last_arrival: None,
            last_transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    /// The source these statistics describe.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Records an RTP packet of the source: its sequence number, RTP timestamp and arrival
    /// time. Returns whether the packet was counted (false while the source is on probation
    /// and for a jump that may be a restart, RFC 3550 A.1). An arrival earlier than the
    /// previous one is clamped to it.
    pub fn handle_packet(&mut self, seq: u16, rtp_timestamp: u32, arrival: Instant) -> bool {
        let arrival = match self.last_arrival {
            Some(last) if arrival < last => last,
            _ => arrival,
        };
        self.last_arrival = Some(arrival);
        let first = *self.first_arrival.get_or_insert(arrival);
        if !self.started {
            // RFC 3550 A.1 init: max_seq = seq - 1 so the first packet is "in sequence".
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        if !self.update_seq(seq) {
            return false;
        }
        // RFC 3550 A.8: transit = arrival (in RTP units) - timestamp; the jitter moves 1/16
        // of the way to each new |D|.
        let elapsed = arrival.saturating_duration_since(first);
        let arrival_rtp = (elapsed.as_nanos() * u128::from(self.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival_rtp.wrapping_sub(rtp_timestamp);
        if let Some(last) = self.last_transit {
            let d = u64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            // J += |D| - J/16 in 1/16 units; J/16 <= J, so this never underflows.
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(transit);
        true
    }

    /// Records a sender report from the source, for the LSR and DLSR of the next blocks.
    pub fn handle_sender_report(&mut self, ntp_time: NtpTime, arrival: Instant) {
        self.last_sr = Some((ntp_time.compact(), arrival));
    }

    /// The extended highest sequence number received (RFC 3550 A.1), once valid.
    pub fn extended_highest_seq(&self) -> Option<u32> {
        self.is_valid()
            .then(|| (self.cycles + u64::from(self.max_seq)) as u32)
    }

    /// Packets counted so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected so far (RFC 3550 A.3), once valid.
    pub fn expected(&self) -> Option<u64> {
        self.is_valid()
            .then(|| (self.cycles + u64::from(self.max_seq) + 1).saturating_sub(self.base_seq))
    }

    /// Packets lost since the start (negative with duplicates), once valid.
    pub fn cumulative_lost(&self) -> Option<i64> {
        self.expected().map(|e| e as i64 - self.received as i64)
    }

    /// The interarrival jitter in RTP timestamp units (RFC 3550 A.8).
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// Whether the source has passed probation (RFC 3550 A.1).
    pub fn is_valid(&self) -> bool {
        self.started && self.probation == 0
    }

    /// The report block to send at `now`, or `None` before the source is valid. Starts a
    /// new interval for the fraction lost (RFC 3550 A.3).
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let expected = self.expected()?;
        let lost = expected as i64 - self.received as i64;
        // RFC 3550 A.3: the 24-bit field saturates.
        let cumulative_lost = lost.clamp(-0x80_0000, 0x7F_FFFF) as i32;
        let expected_interval = expected.saturating_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                CompactNtp::from_duration(now.saturating_duration_since(at)),
            ),
            None => (CompactNtp(0), CompactNtp(0)),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: (self.cycles + u64::from(self.max_seq)) as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// RFC 3550 A.1 `update_seq`.
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        }
        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            // A very large jump: a restart only if the next packet follows it.
            if u64::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u64::from(seq) + 1) & (SEQ_MOD - 1);
                return false;
            }
        }
        // Otherwise a duplicate or a reordered packet: counted, max_seq unchanged.
        self.received += 1;
        true
    }
}

/// The round-trip time to the receiver that sent `block`, measured when it arrived at
/// `arrival` on our wall clock (RFC 3550 §6.4.1: arrival − LSR − DLSR).
///
/// `None` when the block carries no LSR (no SR of ours reached the receiver yet) or the
/// result is negative (the clocks or the block are inconsistent). Precision is 1/65536 s.
pub fn rtt(arrival: NtpTime, block: &ReportBlock) -> Option<Duration> {
    rtt_compact(arrival.compact(), block.last_sr, block.delay_since_last_sr)
}

/// The round-trip time from a DLRR sub-block answering our RRTR (RFC 3611 §4.5), computed
/// as [`rtt`] does.
pub fn rtt_from_dlrr(arrival: NtpTime, item: &DlrrItem) -> Option<Duration> {
    rtt_compact(arrival.compact(), item.last_rr, item.delay_since_last_rr)
}

fn rtt_compact(arrival: CompactNtp, last: CompactNtp, delay: CompactNtp) -> Option<Duration> {
    if last.0 == 0 {
        return None;
    }
    let rtt = arrival.0.wrapping_sub(last.0).wrapping_sub(delay.0);
    // Differences past 2^31 units (9 hours) are negative values wrapped.
    (rtt < 1 << 31).then(|| CompactNtp(rtt).to_duration())
}
