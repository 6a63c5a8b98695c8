//! `getStats`: the W3C statistics reports (webrtc-stats) this peer connection can fill today.
//! Field names follow the W3C dictionaries in snake case (`bytesSent` is `bytes_sent`).

use std::time::Duration;

use weft_datachannel::ChannelState;
use weft_ice::PairStats;

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
    /// `localCandidateId` (the candidate line here).
    pub local_candidate: String,
    /// `remoteCandidateId`.
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

/// What `getStats` returns today: one report of each kind weft fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsReport {
    /// The `peer-connection` report.
    pub peer_connection: PeerConnectionStats,
    /// The `transport` report.
    pub transport: TransportStats,
    /// The `candidate-pair` reports.
    pub candidate_pairs: Vec<CandidatePairStats>,
    /// The `data-channel` reports.
    pub data_channels: Vec<DataChannelStats>,
    /// SCTP's own counters (not a W3C report; `RTCSctpTransport` has few numbers).
    pub sctp: Option<weft_sctp::Stats>,
}
