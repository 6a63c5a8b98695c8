//! One direction of a link between two simulated hosts: its impairments and counters.

use std::time::{Duration, Instant};

use crate::rng::SimRng;
use crate::trace::DropReason;

/// The impairments of one direction of a link.
///
/// The default is a perfect link: no delay, no loss, no MTU, unlimited bandwidth. Build on it
/// with the `with_*` methods:
///
/// ```
/// use std::time::Duration;
/// use weft_testkit::LinkConfig;
///
/// let lossy = LinkConfig::default()
///     .with_latency(Duration::from_millis(40))
///     .with_jitter(Duration::from_millis(5))
///     .with_loss(0.02)
///     .with_mtu(1280);
/// assert_eq!(lossy.latency, Duration::from_millis(40));
/// ```
///
/// Impairments apply in this order: MTU check, bandwidth queue, loss (random, then
/// Gilbert-Elliott), delay (latency, jitter, reordering), duplication.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay added to every datagram.
    pub latency: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` for each datagram; datagrams can overtake
    /// each other when it is larger than their spacing.
    pub jitter: Duration,
    /// Probability that a datagram is lost, independently of the others.
    pub loss: f64,
    /// Bursty loss on top of `loss`.
    pub burst_loss: Option<GilbertElliott>,
    /// Probability that a datagram is delivered twice (the copy gets its own jitter).
    pub duplicate: f64,
    /// Probability that a datagram is held back by `reorder_delay`, letting later ones pass it.
    pub reorder: f64,
    /// The hold-back of a reordered datagram.
    pub reorder_delay: Duration,
    /// The largest IP packet the link carries. A datagram's IP size is its payload plus 28 bytes
    /// of IPv4 and UDP headers (48 for IPv6); larger ones are dropped and counted.
    pub mtu: Option<usize>,
    /// A bandwidth cap with a drop-tail queue.
    pub bandwidth: Option<Bandwidth>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            burst_loss: None,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::ZERO,
            mtu: None,
            bandwidth: None,
        }
    }
}

impl LinkConfig {
    /// Sets [`latency`](Self::latency).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets [`loss`](Self::loss), a probability in `[0, 1]`.
    pub fn with_loss(mut self, loss: f64) -> Self {
        self.loss = loss;
        self
    }

    /// Sets [`burst_loss`](Self::burst_loss).
    pub fn with_burst_loss(mut self, model: GilbertElliott) -> Self {
        self.burst_loss = Some(model);
        self
    }

    /// Sets [`duplicate`](Self::duplicate), a probability in `[0, 1]`.
    pub fn with_duplicate(mut self, probability: f64) -> Self {
        self.duplicate = probability;
        self
    }

    /// Sets [`reorder`](Self::reorder) and [`reorder_delay`](Self::reorder_delay).
    pub fn with_reorder(mut self, probability: f64, delay: Duration) -> Self {
        self.reorder = probability;
        self.reorder_delay = delay;
        self
    }

    /// Sets [`mtu`](Self::mtu), in bytes of IP packet.
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Sets [`bandwidth`](Self::bandwidth).
    pub fn with_bandwidth(mut self, bits_per_second: u64, queue_bytes: usize) -> Self {
        self.bandwidth = Some(Bandwidth {
            bits_per_second,
            queue_bytes,
        });
        self
    }
}

/// The Gilbert-Elliott two-state loss model.
///
/// Before each datagram the link moves from Good to Bad with probability `p` and from Bad to
/// Good with probability `r`; the datagram is then lost with the loss probability of the state it
/// is in. The mean time spent in Bad, and so the mean burst length when Bad loses everything, is
/// `1 / r` datagrams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GilbertElliott {
    /// Probability of moving from Good to Bad before a datagram.
    pub p: f64,
    /// Probability of moving from Bad to Good before a datagram.
    pub r: f64,
    /// Loss probability in the Good state (`1 - k` in the literature).
    pub loss_good: f64,
    /// Loss probability in the Bad state (`1 - h` in the literature).
    pub loss_bad: f64,
}

impl GilbertElliott {
    /// The simple Gilbert model: Good loses nothing, Bad loses everything.
    pub fn new(p: f64, r: f64) -> Self {
        GilbertElliott {
            p,
            r,
            loss_good: 0.0,
            loss_bad: 1.0,
        }
    }

    /// Sets the loss probabilities of the two states.
    pub fn with_state_loss(mut self, loss_good: f64, loss_bad: f64) -> Self {
        self.loss_good = loss_good;
        self.loss_bad = loss_bad;
        self
    }

    /// The long-run fraction of datagrams lost: `π_bad · loss_bad + π_good · loss_good`.
    pub fn mean_loss(&self) -> f64 {
        let total = self.p + self.r;
        if total <= 0.0 {
            return self.loss_good;
        }
        let bad = self.p / total;
        bad * self.loss_bad + (1.0 - bad) * self.loss_good
    }
}

/// A bandwidth cap: datagrams are serialized one after the other at `bits_per_second`, and wait
/// in a drop-tail queue of `queue_bytes` while the link is busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// The link rate.
    pub bits_per_second: u64,
    /// The most bytes waiting to be serialized, counting the arriving datagram and the unsent
    /// rest of the one on the wire. A datagram that would exceed it is dropped.
    pub queue_bytes: usize,
}

/// What happened to datagrams on one direction of a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LinkStats {
    /// Datagrams handed to the link.
    pub sent: u64,
    /// Copies that arrived at the far end (duplicates count twice).
    pub delivered: u64,
    /// Datagrams lost to random or bursty loss.
    pub lost: u64,
    /// Datagrams dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Datagrams dropped because the bandwidth queue was full.
    pub dropped_queue: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
}

/// The state of one direction of a link. The configuration lives in the simulator, so that
/// changing the default reaches links that were never configured on their own.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pub(crate) config: Option<LinkConfig>,
    pub(crate) stats: LinkStats,
    /// When the transmitter finishes serializing what it has queued.
    busy_until: Option<Instant>,
    /// The Gilbert-Elliott state.
    in_bad_state: bool,
}

/// When the copies of an accepted datagram arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrivals {
    pub(crate) first: Instant,
    pub(crate) duplicate: Option<Instant>,
}

impl Link {
    /// Puts a datagram of `ip_len` bytes on the link at `now`.
    pub(crate) fn transmit(
        &mut self,
        config: &LinkConfig,
        now: Instant,
        ip_len: usize,
        rng: &mut SimRng,
    ) -> Result<Arrivals, DropReason> {
        self.stats.sent += 1;
        if let Some(mtu) = config.mtu
            && ip_len > mtu
        {
            self.stats.dropped_mtu += 1;
            return Err(DropReason::Mtu { mtu });
        }
        let departure = match config.bandwidth {
            Some(bw) => self.serialize(bw, now, ip_len).inspect_err(|_| {
                self.stats.dropped_queue += 1;
            })?,
            None => now,
        };
        if rng.chance(config.loss) {
            self.stats.lost += 1;
            return Err(DropReason::Loss);
        }
        if let Some(ge) = config.burst_loss {
            let flip = if self.in_bad_state { ge.r } else { ge.p };
            if rng.chance(flip) {
                self.in_bad_state = !self.in_bad_state;
            }
            let loss = if self.in_bad_state {
                ge.loss_bad
            } else {
                ge.loss_good
            };
            if rng.chance(loss) {
                self.stats.lost += 1;
                return Err(DropReason::BurstLoss);
            }
        }
        let first = departure + self.delay(config, rng);
        let duplicate = if rng.chance(config.duplicate) {
            self.stats.duplicated += 1;
            Some(departure + self.delay(config, rng))
        } else {
            None
        };
        Ok(Arrivals { first, duplicate })
    }

    /// Queues a datagram behind the transmitter and returns when its last bit leaves.
    fn serialize(
        &mut self,
        bw: Bandwidth,
        now: Instant,
        ip_len: usize,
    ) -> Result<Instant, DropReason> {
        let busy_until = self.busy_until.unwrap_or(now).max(now);
        let backlog_nanos = (busy_until - now).as_nanos();
        let rate = u128::from(bw.bits_per_second.max(1));
        let backlog_bytes = (backlog_nanos * rate).div_ceil(8 * 1_000_000_000);
        if backlog_bytes + ip_len as u128 > bw.queue_bytes as u128 {
            return Err(DropReason::QueueFull);
        }
        let wire_nanos = (ip_len as u128 * 8 * 1_000_000_000).div_ceil(rate);
        let done = busy_until + Duration::from_nanos(u64::try_from(wire_nanos).unwrap_or(u64::MAX));
        self.busy_until = Some(done);
        Ok(done)
    }

    fn delay(&self, config: &LinkConfig, rng: &mut SimRng) -> Duration {
        let mut delay = config.latency + rng.duration_up_to(config.jitter);
        if rng.chance(config.reorder) {
            delay += config.reorder_delay;
        }
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn perfect_link_applies_latency_only() {
        let now = Instant::now();
        let mut link = Link::default();
        let cfg = LinkConfig::default().with_latency(ms(25));
        let got = link.transmit(&cfg, now, 100, &mut SimRng::new(1)).unwrap();
        assert_eq!(got.first, now + ms(25));
        assert_eq!(got.duplicate, None);
        assert_eq!(link.stats.sent, 1);
    }

    #[test]
    fn serialization_delay_and_queue_follow_the_rate() {
        let now = Instant::now();
        let mut link = Link::default();
        // 8 kbit/s: one 100-byte packet takes 100 ms; the queue holds 250 bytes.
        let cfg = LinkConfig::default().with_bandwidth(8_000, 250);
        let mut rng = SimRng::new(1);
        let a = link.transmit(&cfg, now, 100, &mut rng).unwrap();
        let b = link.transmit(&cfg, now, 100, &mut rng).unwrap();
        assert_eq!(a.first, now + ms(100));
        assert_eq!(b.first, now + ms(200));
        assert_eq!(
            link.transmit(&cfg, now, 100, &mut rng),
            Err(DropReason::QueueFull)
        );
        assert_eq!(link.stats.dropped_queue, 1);
        // Half a packet later 150 bytes are still waiting, so 100 more fit.
        let c = link.transmit(&cfg, now + ms(50), 100, &mut rng).unwrap();
        assert_eq!(c.first, now + ms(300));
    }

    #[test]
    fn gilbert_elliott_mean_loss() {
        let ge = GilbertElliott::new(0.01, 0.24);
        assert!((ge.mean_loss() - 0.04).abs() < 1e-9);
    }
}
