//! Counters of an [`Agent`](crate::Agent) and of its candidate pairs.

use std::time::Duration;

use crate::agent::PairState;
use crate::candidate::Candidate;

/// Agent-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connectivity checks sent (first transmissions; retransmissions are the STUN layer's).
    pub checks_sent: u64,
    /// Binding requests received.
    pub requests_received: u64,
    /// Consent checks sent (RFC 7675).
    pub consent_requests_sent: u64,
    /// Binding indications sent as keepalives.
    pub keepalives_sent: u64,
    /// Binding indications received.
    pub indications_received: u64,
    /// STUN messages that failed authentication (unknown username or bad integrity).
    pub unauthenticated: u64,
    /// Role conflicts seen (RFC 8445 §7.3.1.1 and 487 responses).
    pub role_conflicts: u64,
    /// Pairs dropped or refused at the pair limit.
    pub pairs_pruned: u64,
    /// Selected pair changes.
    pub selected_pair_changes: u64,
    /// Times consent expired on the selected pair.
    pub consent_expirations: u64,
    /// Data datagrams dropped: from no known pair, or over a full queue.
    pub data_dropped: u64,
    /// Other input dropped: malformed STUN, or over a full queue.
    pub dropped: u64,
}

/// A snapshot of one candidate pair (W3C `RTCIceCandidatePairStats` in spirit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairStats {
    /// The local candidate.
    pub local: Candidate,
    /// The remote candidate.
    pub remote: Candidate,
    /// The checklist state.
    pub state: PairState,
    /// The pair priority (RFC 8445 §6.1.2.3).
    pub priority: u64,
    /// In the valid list.
    pub valid: bool,
    /// Nominated.
    pub nominated: bool,
    /// The selected pair.
    pub selected: bool,
    /// Binding requests sent (checks and consent checks).
    pub requests_sent: u64,
    /// Binding requests received.
    pub requests_received: u64,
    /// Success responses sent.
    pub responses_sent: u64,
    /// Responses received.
    pub responses_received: u64,
    /// Consent checks sent.
    pub consent_requests_sent: u64,
    /// The latest round-trip time measured.
    pub current_rtt: Option<Duration>,
    /// The sum of all round-trip times measured (divide by `rtt_samples` for the mean).
    pub total_rtt: Duration,
    /// How many round-trip times were measured.
    pub rtt_samples: u64,
    /// Application bytes sent.
    pub bytes_sent: u64,
    /// Application bytes received.
    pub bytes_received: u64,
    /// Application datagrams sent.
    pub packets_sent: u64,
    /// Application datagrams received.
    pub packets_received: u64,
}
