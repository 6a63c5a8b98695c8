//! Newtypes for the numbers RTCP puts on the wire.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use weft_proto::Serial16;

/// A synchronization source identifier (RFC 3550 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

/// A 16-bit RTP (or transport-wide) sequence number, compared the short way around the circle
/// (RFC 1982).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u16);

impl SeqNum {
    /// The number that follows this one (wrapping).
    pub fn next(self) -> Self {
        SeqNum(self.0.wrapping_add(1))
    }

    /// Whether `self` comes before `other` on the circle.
    pub fn is_before(self, other: Self) -> bool {
        Serial16(self.0).is_before(Serial16(other.0))
    }

    /// Whether `self` comes after `other` on the circle.
    pub fn is_after(self, other: Self) -> bool {
        other.is_before(self)
    }

    /// The signed distance from `other` to `self`: positive when `self` is after it.
    pub fn diff(self, other: Self) -> i16 {
        Serial16(self.0).diff(Serial16(other.0))
    }
}

impl std::ops::Add<u16> for SeqNum {
    type Output = SeqNum;

    fn add(self, n: u16) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }
}

impl From<u16> for SeqNum {
    fn from(v: u16) -> Self {
        SeqNum(v)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Seconds between the NTP epoch (1900-01-01) and the Unix epoch (1970-01-01).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A 64-bit NTP timestamp (RFC 3550 §4): seconds since 1900 in the high 32 bits and the
/// fraction of a second in the low 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP timestamp of a wall-clock time. Times before 1900 give 0; the 32-bit seconds
    /// wrap in 2036 (era 1), as on the wire.
    pub fn from_system_time(t: SystemTime) -> Self {
        let since_1900 = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d + Duration::from_secs(NTP_UNIX_OFFSET),
            Err(e) => Duration::from_secs(NTP_UNIX_OFFSET).saturating_sub(e.duration()),
        };
        let secs = since_1900.as_secs() & 0xFFFF_FFFF;
        // The fraction is nanos * 2^32 / 1e9, below 2^32 because nanos < 1e9.
        let frac = (u64::from(since_1900.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// The middle 32 bits (16 bits of seconds, 16 of fraction), as carried in LSR and
    /// in RFC 8888 report timestamps.
    pub fn compact(self) -> CompactNtp {
        CompactNtp((self.0 >> 16) as u32)
    }

    /// The seconds field.
    pub fn seconds(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The fraction field, in units of 2^-32 seconds.
    pub fn fraction(self) -> u32 {
        self.0 as u32
    }
}

/// A 32-bit "compact" NTP value: 16 bits of seconds and 16 bits of fraction (units of
/// 1/65536 s). Used for LSR and DLSR (RFC 3550 §6.4.1), DLRR (RFC 3611 §4.5) and RFC 8888.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CompactNtp(pub u32);

impl CompactNtp {
    /// A duration in units of 1/65536 s, rounded to the nearest unit and saturated at the
    /// largest value (about 18.2 hours).
    pub fn from_duration(d: Duration) -> Self {
        let units = (d.as_nanos() * 65536 + 500_000_000) / 1_000_000_000;
        CompactNtp(u32::try_from(units).unwrap_or(u32::MAX))
    }

    /// This value read as a duration (units of 1/65536 s).
    pub fn to_duration(self) -> Duration {
        let nanos = (u64::from(self.0) * 1_000_000_000) >> 16;
        Duration::from_nanos(nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_of_unix_epoch_is_the_rfc_offset() {
        let t = NtpTime::from_system_time(UNIX_EPOCH);
        assert_eq!(t.seconds(), 2_208_988_800);
        assert_eq!(t.fraction(), 0);
        let half = NtpTime::from_system_time(UNIX_EPOCH + Duration::from_millis(500));
        assert_eq!(half.fraction(), 1 << 31);
        assert_eq!(half.compact(), CompactNtp((0x83AA_7E80u32 << 16) | 0x8000));
    }

    #[test]
    fn compact_ntp_converts_durations_both_ways() {
        assert_eq!(
            CompactNtp::from_duration(Duration::from_secs(1)),
            CompactNtp(65536)
        );
        assert_eq!(
            CompactNtp(0x0001_8000).to_duration(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            CompactNtp::from_duration(Duration::from_secs(1 << 20)),
            CompactNtp(u32::MAX)
        );
    }

    #[test]
    fn seq_num_compares_across_the_wrap() {
        assert!(SeqNum(65535).is_before(SeqNum(2)));
        assert_eq!(SeqNum(2).diff(SeqNum(65535)), 3);
        assert_eq!(SeqNum(65535) + 2, SeqNum(1));
    }
}
