//! What an [`Agent`](crate::Agent) reports.

use weft_proto::Received;

use crate::candidate::Candidate;
use crate::config::Role;

/// The gathering state (W3C `RTCIceGatheringState`), from the agent's side: the driver
/// gathers and adds local candidates, then calls
/// [`Agent::end_of_local_candidates`](crate::Agent::end_of_local_candidates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GatheringState {
    /// No local candidate yet.
    New,
    /// Local candidates are arriving.
    Gathering,
    /// Gathering is over (until a restart).
    Complete,
}

/// The ICE transport state (W3C `RTCIceTransportState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for remote candidates (or credentials): no pair to check.
    New,
    /// Checking pairs; none is usable yet.
    Checking,
    /// A usable pair exists; checks may go on, or more candidates may come.
    Connected,
    /// Checking is over: a pair is selected, both sides are done gathering and the remote
    /// side sent end-of-candidates.
    Completed,
    /// Consent checks on the selected pair go unanswered (RFC 7675); it may come back.
    Disconnected,
    /// Every pair failed after end-of-candidates, or consent expired. A restart recovers.
    Failed,
    /// Closed with [`Agent::close`](crate::Agent::close).
    Closed,
}

/// An agent event. Drain them with [`Agent::poll_event`](crate::Agent::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The gathering state changed.
    GatheringStateChanged(GatheringState),
    /// The ICE transport state changed.
    StateChanged(State),
    /// The selected pair changed (W3C `selectedcandidatepairchange`): data now flows on it.
    SelectedPairChanged {
        /// The local candidate (its base sends the data).
        local: Candidate,
        /// The remote candidate.
        remote: Candidate,
    },
    /// The agent made a local candidate the driver did not add (a server-reflexive one from
    /// a STUN server, or a relayed one from a TURN server the agent runs): signal it to the
    /// peer.
    LocalCandidate(Candidate),
    /// A STUN or TURN server could not give a candidate (W3C `icecandidateerror`).
    CandidateError {
        /// The server's URL, as given to [`Agent::add_stun_server`](crate::Agent::add_stun_server)
        /// or [`Agent::add_turn_server`](crate::Agent::add_turn_server).
        url: String,
        /// The STUN error code, or 701 (as in W3C webrtc-pc) when the server did not answer.
        code: u16,
        /// The reason phrase.
        text: String,
    },
    /// A role conflict swapped the role (RFC 8445 §7.3.1.1, §7.2.5.1).
    RoleChanged(Role),
    /// A non-STUN datagram arrived on a candidate pair: DTLS, SRTP or TURN-free data for
    /// the layers above. `source` and `destination` are as the network delivered it.
    Data(Received),
}
