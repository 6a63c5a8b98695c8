//! `getStats`: the W3C statistics reports (webrtc-stats) this peer connection can fill today.
//! Field names follow the W3C dictionaries in snake case (`bytesSent` is `bytes_sent`).

use std::time::Duration;

use weft_datachannel::ChannelState;
use weft_ice::{Candidate, CandidateKind, PairStats};

/// `RTCPeerConnectionStats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerConnectionStats {
    /// `dataChannelsOpened`.
    pub data_channels_opened: u32,
    /// `dataChannelsClosed`.
    pub data_channels_closed: u32,
}

/// `RTCTransportStats` of the BUNDLE transport.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// `packetsSent` (datagrams, all layers).
    pub packets_sent: u64,
    /// `packetsReceived`.
    pub packets_received: u64,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `dtlsState`: `new`, `connecting`, `connected`, `closed` or `failed`.
    pub dtls_state: &'static str,
    /// `dtlsCipher`.
    pub dtls_cipher: Option<String>,
    /// `iceState`, as the W3C names it.
    pub ice_state: &'static str,
    /// `selectedCandidatePairChanges`.
    pub selected_candidate_pair_changes: u32,
}

/// `RTCIceCandidatePairStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidatePairStats {
    /// `localCandidateId`: the `id` of a [`CandidateStats`].
    pub local_candidate_id: String,
    /// `remoteCandidateId`.
    pub remote_candidate_id: String,
    /// The local candidate's `candidate:` line.
    pub local_candidate: String,
    /// The remote candidate's `candidate:` line.
    pub remote_candidate: String,
    /// `state`.
    pub state: String,
    /// `nominated`.
    pub nominated: bool,
    /// Whether it is the selected pair.
    pub selected: bool,
    /// `requestsSent`.
    pub requests_sent: u64,
    /// `requestsReceived`.
    pub requests_received: u64,
    /// `responsesSent`.
    pub responses_sent: u64,
    /// `responsesReceived`.
    pub responses_received: u64,
    /// `consentRequestsSent`.
    pub consent_requests_sent: u64,
    /// `currentRoundTripTime`.
    pub current_round_trip_time: Option<Duration>,
    /// `totalRoundTripTime`.
    pub total_round_trip_time: Duration,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
}

impl From<&PairStats> for CandidatePairStats {
    fn from(p: &PairStats) -> Self {
        CandidatePairStats {
            local_candidate_id: candidate_id(&p.local, false),
            remote_candidate_id: candidate_id(&p.remote, true),
            local_candidate: p.local.to_string(),
            remote_candidate: p.remote.to_string(),
            state: format!("{:?}", p.state).to_lowercase(),
            nominated: p.nominated,
            selected: p.selected,
            requests_sent: p.requests_sent,
            requests_received: p.requests_received,
            responses_sent: p.responses_sent,
            responses_received: p.responses_received,
            consent_requests_sent: p.consent_requests_sent,
            current_round_trip_time: p.current_rtt,
            total_round_trip_time: p.total_rtt,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
        }
    }
}

/// `RTCDataChannelStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataChannelStats {
    /// `label`.
    pub label: String,
    /// `protocol`.
    pub protocol: String,
    /// `dataChannelIdentifier`.
    pub data_channel_identifier: u16,
    /// `state`.
    pub state: ChannelState,
    /// `messagesSent`.
    pub messages_sent: u64,
    /// `bytesSent`.
    pub bytes_sent: u64,
    /// `messagesReceived`.
    pub messages_received: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
}

/// `RTCIceCandidateStats` (`local-candidate` and `remote-candidate` reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateStats {
    /// `id`: the report's id, which [`CandidatePairStats`] reports name.
    pub id: String,
    /// A remote candidate (`remote-candidate`) or a local one.
    pub is_remote: bool,
    /// `address`.
    pub address: String,
    /// `port`.
    pub port: u16,
    /// `protocol`: `udp` or `tcp`.
    pub protocol: &'static str,
    /// `candidateType`: `host`, `srflx`, `prflx` or `relay`.
    pub candidate_type: &'static str,
    /// `priority`.
    pub priority: u32,
    /// `foundation`.
    pub foundation: String,
}

/// `RTCCertificateStats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateStats {
    /// `fingerprint`: colon-separated upper-case hex.
    pub fingerprint: String,
    /// `fingerprintAlgorithm`: `sha-256`.
    pub fingerprint_algorithm: &'static str,
    /// `base64Certificate`: the DER certificate in base64 (known for the local one only;
    /// the peer's is checked against its fingerprint and not kept).
    pub base64_certificate: Option<String>,
}

/// What `getStats` returns today: one report of each kind weft fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsReport {
    /// The `peer-connection` report.
    pub peer_connection: PeerConnectionStats,
    /// The `transport` report.
    pub transport: TransportStats,
    /// The `candidate-pair` reports.
    pub candidate_pairs: Vec<CandidatePairStats>,
    /// The `local-candidate` and `remote-candidate` reports.
    pub candidates: Vec<CandidateStats>,
    /// The `certificate` reports: ours, then the peer's once DTLS verified it.
    pub certificates: Vec<CertificateStats>,
    /// The `data-channel` reports.
    pub data_channels: Vec<DataChannelStats>,
    /// SCTP's own counters (not a W3C report; `RTCSctpTransport` has few numbers).
    pub sctp: Option<weft_sctp::Stats>,
}

/// The stats id of a candidate: side, transport and address, so a pair's ids find it.
pub fn candidate_id(c: &Candidate, remote: bool) -> String {
    let side = if remote { "R" } else { "L" };
    let proto = if c.transport == weft_proto::Transport::Udp {
        "udp"
    } else {
        "tcp"
    };
    format!("I{side}-{proto}-{}", c.address)
}

impl CandidateStats {
    /// The report of a candidate.
    pub fn of(c: &Candidate, remote: bool) -> Self {
        CandidateStats {
            id: candidate_id(c, remote),
            is_remote: remote,
            address: c.address.ip().to_string(),
            port: c.address.port(),
            protocol: if c.transport == weft_proto::Transport::Udp {
                "udp"
            } else {
                "tcp"
            },
            candidate_type: match c.kind {
                CandidateKind::Host => "host",
                CandidateKind::ServerReflexive => "srflx",
                CandidateKind::PeerReflexive => "prflx",
                CandidateKind::Relayed => "relay",
            },
            priority: c.priority,
            foundation: c.foundation.clone(),
        }
    }
}
