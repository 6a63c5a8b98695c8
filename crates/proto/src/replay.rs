//! A sliding anti-replay window (RFC 3711 §3.3.2, RFC 6347 §4.1.2.6).

/// Remembers which of the most recent `size` packet indices were accepted.
///
/// Indices are 64-bit (already extended, e.g. by [`crate::SeqUnwrapper`] or SRTP's ROC).
/// [`ReplayWindow::check`] says whether an index would be fresh; [`ReplayWindow::accept`]
/// records it once the packet authenticated. Checking before authenticating and recording
/// after is the order both RFCs require: a forged packet must not move the window.
///
/// ```
/// use weft_proto::ReplayWindow;
/// let mut w = ReplayWindow::new(64);
/// assert!(w.check(100));
/// w.accept(100);
/// assert!(!w.check(100)); // replayed
/// assert!(w.check(99)); // late but inside the window
/// assert!(!w.check(30)); // too old
/// ```
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    size: u64,
    highest: Option<u64>,
    /// Bit `i` of the bitmap is index `highest - i`.
    bits: Vec<u64>,
}

impl ReplayWindow {
    /// A window that remembers `size` indices (rounded up to a multiple of 64, at least 64).
    pub fn new(size: usize) -> Self {
        let words = size.div_ceil(64).max(1);
        ReplayWindow {
            size: words as u64 * 64,
            highest: None,
            bits: vec![0; words],
        }
    }

    /// The number of indices the window remembers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The highest index accepted so far.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Whether `index` is new: above the window, or inside it and not yet accepted.
    pub fn check(&self, index: u64) -> bool {
        let Some(highest) = self.highest else {
            return true;
        };
        if index > highest {
            return true;
        }
        let age = highest - index;
        if age >= self.size {
            return false;
        }
        !self.bit(age)
    }

    /// Records `index` as accepted. Returns `false` (and records nothing) when it is a replay.
    pub fn accept(&mut self, index: u64) -> bool {
        if !self.check(index) {
            return false;
        }
        match self.highest {
            Some(highest) if index <= highest => self.set_bit(highest - index),
            Some(highest) => {
                self.shift(index - highest);
                self.highest = Some(index);
                self.set_bit(0);
            }
            None => {
                self.highest = Some(index);
                self.set_bit(0);
            }
        }
        true
    }

    fn bit(&self, age: u64) -> bool {
        let (w, b) = ((age / 64) as usize, age % 64);
        self.bits[w] & (1 << b) != 0
    }

    fn set_bit(&mut self, age: u64) {
        let (w, b) = ((age / 64) as usize, age % 64);
        self.bits[w] |= 1 << b;
    }

    /// Ages every remembered index by `by`.
    fn shift(&mut self, by: u64) {
        if by >= self.size {
            self.bits.iter_mut().for_each(|w| *w = 0);
            return;
        }
        let words = (by / 64) as usize;
        let bits = by % 64;
        let n = self.bits.len();
        for i in (0..n).rev() {
            let lo = i.checked_sub(words).map_or(0, |j| self.bits[j]);
            let carry = if bits == 0 {
                0
            } else {
                i.checked_sub(words + 1)
                    .map_or(0, |j| self.bits[j] >> (64 - bits))
            };
            self.bits[i] = (lo << bits) | carry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// The naive model: a set of accepted indices and the highest one.
    fn model_check(seen: &BTreeSet<u64>, size: u64, index: u64) -> bool {
        match seen.iter().next_back() {
            None => true,
            Some(&h) if index > h => true,
            Some(&h) => h - index < size && !seen.contains(&index),
        }
    }

    #[test]
    fn rejects_replay_and_old() {
        let mut w = ReplayWindow::new(64);
        assert!(w.accept(1000));
        assert!(!w.accept(1000));
        assert!(w.accept(937));
        assert!(!w.check(936));
        assert!(w.accept(1100));
        assert!(!w.check(1000));
    }

    proptest! {
        #[test]
        fn matches_naive_model(size in prop_oneof![Just(64usize), Just(128), Just(1024)],
                               ops in proptest::collection::vec(0u64..3000, 1..400)) {
            let mut w = ReplayWindow::new(size);
            let mut seen = BTreeSet::new();
            for i in ops {
                let expect = model_check(&seen, w.size(), i);
                prop_assert_eq!(w.check(i), expect);
                prop_assert_eq!(w.accept(i), expect);
                if expect { seen.insert(i); }
            }
        }
    }
}
