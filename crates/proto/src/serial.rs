//! RFC 1982 serial-number arithmetic.
//!
//! Sequence numbers on the wire wrap around. Two serial numbers compare by the shorter way
//! around the circle: `a` is before `b` when `b - a` (wrapping) is less than half the range.
//! Exactly half the range apart is undefined by RFC 1982 §3.2; here neither is before the other.
//! Serial numbers deliberately do not implement `Ord`: the order is not transitive.

macro_rules! serial {
    ($(#[$doc:meta])* $name:ident, $int:ty, $signed:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub $int);

        impl $name {
            const HALF: $int = 1 << (<$int>::BITS - 1);

            /// The number that follows this one (wrapping).
            pub fn next(self) -> Self {
                $name(self.0.wrapping_add(1))
            }

            /// Whether `self` comes before `other` on the circle (RFC 1982 §3.2).
            pub fn is_before(self, other: Self) -> bool {
                let d = other.0.wrapping_sub(self.0);
                d != 0 && d < Self::HALF
            }

            /// Whether `self` comes after `other` on the circle (RFC 1982 §3.2).
            pub fn is_after(self, other: Self) -> bool {
                other.is_before(self)
            }

            /// The signed distance from `other` to `self`: positive when `self` is after it.
            ///
            /// At exactly half the range apart the result is the most negative value.
            pub fn diff(self, other: Self) -> $signed {
                self.0.wrapping_sub(other.0) as $signed
            }
        }

        impl std::ops::Add<$int> for $name {
            type Output = $name;

            /// Adds `n`, wrapping (RFC 1982 §3.1 allows `n` up to half the range).
            fn add(self, n: $int) -> $name {
                $name(self.0.wrapping_add(n))
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                $name(v)
            }
        }
    };
}

serial!(
    /// A 16-bit serial number (RTP sequence numbers, SCTP stream sequence numbers).
    Serial16,
    u16,
    i16
);
serial!(
    /// A 32-bit serial number (SCTP TSNs, RTP timestamps).
    Serial32,
    u32,
    i32
);

/// Extends wrapping 16- or 32-bit sequence numbers to 64 bits.
///
/// Feed each received number to [`SeqUnwrapper::unwrap`]; it picks the 64-bit value closest
/// to the highest one seen so far, so late (reordered) packets map below it and new ones above.
///
/// ```
/// use weft_proto::SeqUnwrapper;
/// let mut u = SeqUnwrapper::new(16);
/// assert_eq!(u.unwrap(65534), 65534);
/// assert_eq!(u.unwrap(1), 65537); // wrapped forwards
/// assert_eq!(u.unwrap(65535), 65535); // a late packet from before the wrap
/// ```
#[derive(Debug, Clone)]
pub struct SeqUnwrapper {
    bits: u32,
    highest: Option<u64>,
}

impl SeqUnwrapper {
    /// An unwrapper for `bits`-bit numbers (1 to 32 bits).
    ///
    /// # Panics
    /// When `bits` is 0 or above 32: that is a programming error, not input.
    pub fn new(bits: u32) -> Self {
        assert!(
            (1..=32).contains(&bits),
            "serial width must be 1 to 32 bits"
        );
        SeqUnwrapper {
            bits,
            highest: None,
        }
    }

    /// The 64-bit value of `seq`, and remember it when it is the highest so far.
    ///
    /// Values that would fall below zero (a late packet from before the first one, across a
    /// wrap) are clamped to their unextended value.
    pub fn unwrap(&mut self, seq: u32) -> u64 {
        let range = 1u64 << self.bits;
        let seq = u64::from(seq) & (range - 1);
        let Some(highest) = self.highest else {
            self.highest = Some(seq);
            return seq;
        };
        let base = highest & !(range - 1);
        // The three candidates around the highest value; take the nearest.
        let candidates = [base.checked_sub(range), Some(base), base.checked_add(range)];
        let value = candidates
            .into_iter()
            .flatten()
            .map(|b| b + seq)
            .min_by_key(|v| v.abs_diff(highest))
            .unwrap_or(seq); // the middle candidate always exists, so this never falls back
        if value > highest {
            self.highest = Some(value);
        }
        value
    }

    /// The highest value seen so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compares_across_wrap() {
        assert!(Serial16(65535).is_before(Serial16(0)));
        assert!(Serial16(0).is_after(Serial16(65535)));
        assert!(!Serial16(5).is_before(Serial16(5)));
        assert_eq!(Serial16(2).diff(Serial16(65534)), 4);
        assert_eq!(Serial32(1).diff(Serial32(u32::MAX)), 2);
    }

    #[test]
    fn half_range_is_neither_before_nor_after() {
        let a = Serial16(0);
        let b = Serial16(0x8000);
        assert!(!a.is_before(b) && !a.is_after(b));
    }

    #[test]
    fn unwraps_reordered_sequence() {
        let mut u = SeqUnwrapper::new(16);
        let seqs = [65530u32, 65535, 2, 65533, 3, 1000];
        let got: Vec<u64> = seqs.iter().map(|&s| u.unwrap(s)).collect();
        assert_eq!(got, vec![65530, 65535, 65538, 65533, 65539, 66536]);
        assert_eq!(u.highest(), Some(66536));
    }

    proptest! {
        #[test]
        fn serial_order_matches_integer_order_within_half_range(a: u32, d in 1u32..0x8000_0000) {
            let x = Serial32(a);
            let y = x + d;
            prop_assert!(x.is_before(y));
            prop_assert!(y.is_after(x));
            prop_assert_eq!(i64::from(y.diff(x)), i64::from(d));
        }

        #[test]
        fn unwrapper_recovers_monotonic_stream(start: u16, steps in proptest::collection::vec(0u64..1000, 1..200)) {
            let mut u = SeqUnwrapper::new(16);
            let mut value = u64::from(start);
            prop_assert_eq!(u.unwrap(u32::from(start)), value);
            for s in steps {
                value += s;
                prop_assert_eq!(u.unwrap((value & 0xffff) as u32), value);
            }
        }
    }
}
