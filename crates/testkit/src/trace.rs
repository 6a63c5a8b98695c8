//! What the simulator did, event by event, and the error that reports it.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use weft_proto::Transport;

use crate::NodeId;
use crate::rng::SEED_ENV;

/// One thing that happened in a simulation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TraceEvent {
    /// Virtual time since the simulator was created.
    pub at: Duration,
    /// What happened.
    pub kind: TraceKind,
}

/// The kinds of [`TraceEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TraceKind {
    /// A node handed a datagram to the network.
    Send {
        /// The sending node.
        node: NodeId,
        /// The datagram as sent.
        packet: PacketInfo,
    },
    /// A datagram was dropped.
    Drop {
        /// The node the datagram was leaving or arriving at when it was dropped.
        at_node: NodeId,
        /// The datagram as it was at that point.
        packet: PacketInfo,
        /// Why it was dropped.
        reason: DropReason,
    },
    /// A link delivered an extra copy of a datagram.
    Duplicate {
        /// The node at the sending end of the link.
        from: NodeId,
        /// The node at the receiving end.
        to: NodeId,
        /// The datagram.
        packet: PacketInfo,
    },
    /// A NAT rewrote a datagram's addresses.
    Translate {
        /// The NAT.
        nat: NodeId,
        /// The datagram after rewriting.
        packet: PacketInfo,
    },
    /// A NAT created a mapping.
    MappingCreated {
        /// The NAT.
        nat: NodeId,
        /// The inside host's address.
        internal: SocketAddr,
        /// The public address it maps to.
        external: SocketAddr,
    },
    /// A node was handed a datagram.
    Deliver {
        /// The receiving node.
        node: NodeId,
        /// The datagram as received.
        packet: PacketInfo,
    },
    /// A node's timer fired.
    Timeout {
        /// The node.
        node: NodeId,
    },
}

/// The identity of a datagram in a trace (its payload is left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// Assigned in send order; copies and translations keep it.
    pub id: u64,
    /// The transport it travels on.
    pub transport: Transport,
    /// Its source address.
    pub source: SocketAddr,
    /// Its destination address.
    pub destination: SocketAddr,
    /// Its payload length in bytes.
    pub len: usize,
}

/// Why the network dropped a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// Random loss on a link.
    Loss,
    /// Gilbert-Elliott loss on a link.
    BurstLoss,
    /// The IP packet was larger than the link's MTU.
    Mtu {
        /// The link's MTU.
        mtu: usize,
    },
    /// The link's bandwidth queue was full.
    QueueFull,
    /// No node owns the destination address.
    NoRoute,
    /// The source address is not one of the sending node's addresses.
    BadSource,
    /// An inbound datagram matched no live NAT mapping.
    NatNoMapping,
    /// An inbound datagram was refused by the NAT's filtering behaviour.
    NatFiltered,
    /// The NAT had no free external port for a new mapping.
    NatPortsExhausted,
}

/// A snapshot of the most recent trace events, oldest first; `Display` prints one per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace(pub Vec<TraceEvent>);

/// Why a run stopped before its condition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimErrorKind {
    /// The run took more steps than the simulator's step budget.
    #[error("step budget of {steps} steps exhausted")]
    StepBudget {
        /// The budget.
        steps: u64,
    },
    /// The next event lay beyond the run's virtual-time budget.
    #[error("virtual time budget of {budget:?} exhausted")]
    TimeBudget {
        /// The budget.
        budget: Duration,
    },
    /// Nothing was in flight and no timer was armed, so nothing could change.
    #[error("network went idle")]
    Idle,
}

/// A failed run: why it stopped, when, the seed that replays it and the last events.
///
/// `Debug` prints the same text as `Display`, so `.unwrap()` and `?` in tests show the trace.
#[derive(Clone, thiserror::Error)]
#[error(
    "{kind} at {at:?} before the condition held (replay with {SEED_ENV}={seed}); last {} events:\n{trace}",
    trace.0.len()
)]
pub struct SimError {
    pub(crate) kind: SimErrorKind,
    pub(crate) at: Duration,
    pub(crate) seed: u64,
    pub(crate) trace: Trace,
}

impl SimError {
    /// Why the run stopped.
    pub fn kind(&self) -> SimErrorKind {
        self.kind
    }

    /// The seed of the failed simulation.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Virtual time since the simulator was created when the run stopped.
    pub fn at(&self) -> Duration {
        self.at
    }

    /// The events leading up to the failure.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

impl fmt::Debug for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for event in &self.0 {
            writeln!(f, "{event}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>12.6}s ", self.at.as_secs_f64())?;
        match &self.kind {
            TraceKind::Send { node, packet } => write!(f, "{node} send {packet}"),
            TraceKind::Drop {
                at_node,
                packet,
                reason,
            } => write!(f, "{at_node} drop {packet} ({reason})"),
            TraceKind::Duplicate { from, to, packet } => {
                write!(f, "{from}->{to} duplicate {packet}")
            }
            TraceKind::Translate { nat, packet } => write!(f, "{nat} translate {packet}"),
            TraceKind::MappingCreated {
                nat,
                internal,
                external,
            } => write!(f, "{nat} map {internal} => {external}"),
            TraceKind::Deliver { node, packet } => write!(f, "{node} recv {packet}"),
            TraceKind::Timeout { node } => write!(f, "{node} timeout"),
        }
    }
}

impl fmt::Display for PacketInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} -> {} {}B",
            self.id, self.transport, self.source, self.destination, self.len
        )
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Loss => f.write_str("random loss"),
            DropReason::BurstLoss => f.write_str("burst loss"),
            DropReason::Mtu { mtu } => write!(f, "larger than mtu {mtu}"),
            DropReason::QueueFull => f.write_str("queue full"),
            DropReason::NoRoute => f.write_str("no route"),
            DropReason::BadSource => f.write_str("source not owned by sender"),
            DropReason::NatNoMapping => f.write_str("no nat mapping"),
            DropReason::NatFiltered => f.write_str("nat filtered"),
            DropReason::NatPortsExhausted => f.write_str("nat ports exhausted"),
        }
    }
}

/// The bounded event log, with a digest of every event ever recorded.
#[derive(Debug)]
pub(crate) struct TraceLog {
    recent: VecDeque<TraceEvent>,
    capacity: usize,
    digest: u64,
    total: u64,
}

impl TraceLog {
    pub(crate) fn new(capacity: usize) -> Self {
        TraceLog {
            recent: VecDeque::new(),
            capacity,
            digest: FNV_OFFSET,
            total: 0,
        }
    }

    pub(crate) fn record(&mut self, event: TraceEvent) {
        log::trace!("{event}");
        // The digest covers the printed form, which holds every field of the event.
        let mut fnv = Fnv(self.digest);
        // Invariant: `Fnv::write_str` never fails and `TraceEvent`'s `Display` only forwards.
        let _ = fmt::Write::write_fmt(&mut fnv, format_args!("{event}"));
        self.digest = fnv.0;
        self.total += 1;
        if self.capacity == 0 {
            return;
        }
        if self.recent.len() == self.capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(event);
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
        while self.recent.len() > capacity {
            self.recent.pop_front();
        }
    }

    pub(crate) fn recent(&self) -> impl Iterator<Item = &TraceEvent> {
        self.recent.iter()
    }

    pub(crate) fn snapshot(&self) -> Trace {
        Trace(self.recent.iter().cloned().collect())
    }

    pub(crate) fn digest(&self) -> u64 {
        self.digest
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

/// FNV-1a over text: a stable digest that does not depend on `std`'s randomized hasher.
struct Fnv(u64);

impl fmt::Write for Fnv {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
        Ok(())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(ms: u64, node: usize) -> TraceEvent {
        TraceEvent {
            at: Duration::from_millis(ms),
            kind: TraceKind::Timeout { node: NodeId(node) },
        }
    }

    #[test]
    fn keeps_only_the_most_recent_events_but_digests_all() {
        let mut log = TraceLog::new(2);
        let mut other = TraceLog::new(10);
        for i in 0..5 {
            log.record(timeout(i, 0));
            other.record(timeout(i, 0));
        }
        let kept: Vec<_> = log.recent().map(|e| e.at.as_millis()).collect();
        assert_eq!(kept, [3, 4]);
        assert_eq!(log.total(), 5);
        assert_eq!(log.digest(), other.digest());
        other.record(timeout(5, 1));
        assert_ne!(log.digest(), other.digest());
    }

    #[test]
    fn error_text_names_the_seed_and_lists_events() {
        let err = SimError {
            kind: SimErrorKind::Idle,
            at: Duration::from_secs(1),
            seed: 42,
            trace: Trace(vec![timeout(3, 1)]),
        };
        let text = format!("{err:?}");
        assert!(text.contains("TEST_SEED=42"), "{text}");
        assert!(text.contains("n1 timeout"), "{text}");
        assert!(text.starts_with("network went idle"), "{text}");
    }
}
