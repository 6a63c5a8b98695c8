//! The sans-IO peer connection: JSEP, one ICE agent, one DTLS connection and one SCTP
//! association for the BUNDLE transport, composed by value and routed by first byte
//! (RFC 7983), with the W3C states.

use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use log::{debug, info};
use weft_datachannel::{ChannelId, ChannelInit, Endpoint, Role as DcRole};
use weft_dtls::{Certificate, Connection, HashAlgorithm, Role as DtlsRoleD};
use weft_ice::mdns::{Mdns, MdnsConfig, MdnsEvent};
use weft_ice::{
    Agent, Candidate, CandidateKind, Credentials, GatheringState, Role as IceRole,
    State as IceState, StunServer, TurnServer,
};
use weft_proto::{Received, Transmit};

use crate::jsep::{DtlsRole, Jsep, LocalParameters, SdpType, SignalingState};

/// W3C `RTCPeerConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// Nothing started.
    New,
    /// ICE checking or DTLS handshaking.
    Connecting,
    /// ICE connected and DTLS up.
    Connected,
    /// ICE lost consent for now.
    Disconnected,
    /// ICE or DTLS failed.
    Failed,
    /// Closed.
    Closed,
}

/// The state of the DTLS or SCTP transport (W3C `RTCDtlsTransportState` /
/// `RTCSctpTransportState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportState {
    /// The handshake runs.
    Connecting,
    /// Up.
    Connected,
    /// Closed (by either side).
    Closed,
    /// Failed (DTLS: a handshake or certificate error).
    Failed,
}

/// Settings of a [`PeerConnection`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The DTLS certificate.
    pub certificate: Certificate,
    /// SCTP settings (zero checksums are offered: SCTP runs over DTLS).
    pub sctp: weft_sctp::Config,
    /// Seed for ICE credentials, tie-breaker and SCTP; OS entropy when `None`.
    pub rng_seed: Option<[u8; 32]>,
    /// W3C `iceTransportPolicy`: with [`IceTransportPolicy::Relay`] only relayed local
    /// candidates are paired and signalled.
    pub ice_transport_policy: IceTransportPolicy,
    /// mDNS for host candidates (draft-ietf-mmusic-mdns-ice-candidates).
    pub mdns: MdnsMode,
}

/// How a [`PeerConnection`] uses mDNS `.local` names for host candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MdnsMode {
    /// Neither: remote `.local` candidates are dropped.
    Disabled,
    /// Resolve the `.local` candidates peers send (browsers hide their host addresses
    /// this way); signal our own host candidates with their addresses. The default.
    #[default]
    Resolve,
    /// Resolve, and signal our host candidates under fresh `.local` names too (related
    /// addresses of other candidates become `0.0.0.0`), as browsers do.
    ResolveAndHide,
}

/// W3C `RTCIceTransportPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IceTransportPolicy {
    /// Every candidate type.
    #[default]
    All,
    /// Relayed local candidates only (the peer's may be of any type).
    Relay,
}

impl Config {
    /// Defaults around a certificate.
    pub fn new(certificate: Certificate) -> Self {
        Config {
            certificate,
            sctp: weft_sctp::Config {
                zero_checksum: true,
                ..Default::default()
            },
            rng_seed: None,
            ice_transport_policy: IceTransportPolicy::All,
            mdns: MdnsMode::default(),
        }
    }
}

/// A stable handle for a data channel: W3C channel objects exist before their id is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelHandle(pub u32);

/// What a [`PeerConnection`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A local candidate to trickle to the peer (`a=candidate` value).
    IceCandidate(String),
    /// `icegatheringstatechange`: [`GatheringState::Complete`] is also W3C's final
    /// `icecandidate` event without a candidate (signal end-of-candidates).
    IceGatheringState(GatheringState),
    /// `icecandidateerror`: a STUN or TURN server gave no candidate.
    IceCandidateError {
        /// The server's URL.
        url: String,
        /// The STUN error code; 701 when the server could not be reached.
        code: u16,
        /// The reason.
        text: String,
    },
    /// `iceconnectionstatechange`.
    IceConnectionState(IceState),
    /// `connectionstatechange`.
    ConnectionState(ConnectionState),
    /// `signalingstatechange`.
    SignalingState(SignalingState),
    /// `negotiationneeded`.
    NegotiationNeeded,
    /// `RTCDtlsTransport` `statechange`.
    DtlsState(TransportState),
    /// `RTCSctpTransport` `statechange` (`connecting` is reported when DTLS is up and the
    /// association starts).
    SctpState(TransportState),
    /// `datachannel`: the peer opened a channel.
    DataChannel(ChannelHandle),
    /// A channel event, by handle.
    Channel(ChannelHandle, weft_datachannel::Event),
}

/// Errors of the peer connection's commands.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// JSEP refused.
    #[error("jsep")]
    Jsep(#[from] crate::jsep::Error),
    /// ICE refused.
    #[error("ice")]
    Ice(#[from] weft_ice::Error),
    /// DTLS refused.
    #[error("dtls")]
    Dtls(#[from] weft_dtls::Error),
    /// The data channel layer refused.
    #[error("data channel")]
    DataChannel(#[from] weft_datachannel::Error),
    /// No such channel handle.
    #[error("no channel {0:?}")]
    NoChannel(ChannelHandle),
    /// The connection is closed.
    #[error("closed")]
    Closed,
}

/// The sans-IO peer connection.
#[derive(Debug)]
pub struct PeerConnection {
    // The large members are boxed: the peer connection moves by value into its driver's task
    // (and async state machines may keep more than one copy of it), so a small inline size
    // is memory saved per connection.
    jsep: Box<Jsep>,
    /// Controlled until this side makes the first offer (RFC 8445 §6.1.1: the offerer
    /// controls); rebuilt then, before it has talked to anyone.
    ice: Option<Box<Agent>>,
    ice_config: weft_ice::Config,
    /// Local candidates as the driver gave them, to rebuild the agent with.
    gathered: Vec<Candidate>,
    /// STUN and TURN servers, handed to the agent when gathering starts.
    servers: Vec<Server>,
    policy: IceTransportPolicy,
    /// The first `setLocalDescription` started gathering (W3C: `new` until then).
    gathering_started: bool,
    /// The driver added every host candidate it has.
    host_done: bool,
    gathering: GatheringState,
    peer_fingerprint: Option<String>,
    mdns_mode: MdnsMode,
    mdns: Option<Mdns>,
    /// Our `.local` name per host address.
    mdns_names: HashMap<std::net::IpAddr, String>,
    /// Remote candidates waiting for their name to resolve. Bounded.
    mdns_pending: Vec<(String, weft_sdp::Candidate)>,
    role_fixed: bool,
    wall: SystemTime,
    start: Instant,
    /// Until the DTLS connection takes it (it is the only user after that; the local
    /// certificate report is kept as `certificate_stats`).
    certificate: Option<Certificate>,
    /// The local certificate's `RTCCertificateStats`, made once.
    local_certificate_stats: Option<crate::stats::CertificateStats>,
    sctp: weft_sctp::Config,
    dtls: Option<Connection>,
    dtls_role: Option<DtlsRole>,
    remote_fingerprints: Vec<weft_dtls::Fingerprint>,
    dc: Option<Box<Endpoint>>,
    handles: HashMap<u32, Option<ChannelId>>,
    by_id: HashMap<u16, u32>,
    pending: Vec<(u32, ChannelInit)>,
    next_handle: u32,
    events: VecDeque<Event>,
    ice_state: IceState,
    state: ConnectionState,
    dtls_failed: bool,
    /// The remote ICE ufrag applied to the agent (a new one means an ICE restart).
    remote_ufrag: Option<String>,
    /// We asked for an ICE restart and wait for the peer's new credentials.
    restarting: bool,
    /// DTLS records that arrived before our DTLS started (the peer's ClientHello can beat
    /// the answer to us), replayed once it does. Bounded.
    early_dtls: VecDeque<Bytes>,
    /// The last datagrams of a closing connection (SCTP ABORT, close_notify).
    farewell: VecDeque<Transmit>,
    channels_opened: u32,
    channels_closed: u32,
    pair_changes: u32,
    dtls_cipher: Option<String>,
    now: Instant,
}

/// The colon-separated hex of a fingerprint, without the algorithm name.
/// The `RTCCertificateStats` of a local certificate: its SHA-256 fingerprint and DER in base64.
fn certificate_report(certificate: &Certificate) -> Option<crate::stats::CertificateStats> {
    let fp = certificate.fingerprint(HashAlgorithm::Sha256).ok()?;
    let b64 = certificate.certificate_pem().ok().map(|pem| {
        String::from_utf8_lossy(&pem)
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    });
    Some(crate::stats::CertificateStats {
        fingerprint: hex_of(&fp),
        fingerprint_algorithm: "sha-256",
        base64_certificate: b64,
    })
}

fn hex_of(fp: &weft_dtls::Fingerprint) -> String {
    let s = fp.to_string();
    match s.split_once(' ') {
        Some((_, hex)) => hex.to_owned(),
        None => s,
    }
}

/// A STUN or TURN server waiting for gathering to start.
#[derive(Debug)]
enum Server {
    Turn(TurnServer),
    Stun(StunServer),
}

/// Most events queued for the application before data channel messages wait in SCTP.
const MAX_EVENTS: usize = 1024;

/// Most remote candidates waiting for an mDNS answer.
const MAX_MDNS_PENDING: usize = 32;

/// Most early DTLS records kept.
const MAX_EARLY_DTLS: usize = 16;

impl PeerConnection {
    /// A new peer connection; `wall` is the wall-clock time at `now` (certificate validity).
    pub fn new(config: Config, now: Instant, wall: SystemTime) -> Result<PeerConnection, Error> {
        let mut seed = [0u8; 32];
        match config.rng_seed {
            Some(s) => seed = s,
            None => openssl::rand::rand_bytes(&mut seed).map_err(|e| Error::Dtls(e.into()))?,
        };
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let creds = Credentials {
            ufrag: hex(&seed[..4]),
            pwd: hex(&seed[4..16]),
        };
        let mut ice_config = weft_ice::Config::new(creds.clone(), IceRole::Controlled);
        ice_config.rng_seed = Some(seed);
        let fp = config.certificate.fingerprint(HashAlgorithm::Sha256)?;
        let sdp_fp = weft_sdp::Fingerprint {
            algorithm: weft_sdp::HashFunction::Sha256,
            value: fp.value.clone(),
        };
        let mut params = LocalParameters::new(&creds.ufrag, &creds.pwd, Some(sdp_fp));
        params.max_message_size = config.sctp.max_message_size as u64;
        params.sctp_port = config.sctp.local_port;
        let mut sctp = config.sctp;
        if sctp.rng_seed.is_none() {
            sctp.rng_seed = Some(seed);
        }
        Ok(PeerConnection {
            jsep: Box::new(Jsep::new(
                params,
                u64::from_be_bytes([
                    seed[16], seed[17], seed[18], seed[19], seed[20], seed[21], seed[22], 0,
                ]),
            )),
            ice: Some(Box::new(Agent::new(ice_config.clone())?)),
            ice_config,
            gathered: Vec::new(),
            servers: Vec::new(),
            policy: config.ice_transport_policy,
            gathering_started: false,
            host_done: false,
            gathering: GatheringState::New,
            peer_fingerprint: None,
            mdns_mode: config.mdns,
            mdns: (config.mdns != MdnsMode::Disabled).then(|| {
                Mdns::new(MdnsConfig {
                    rng_seed: Some(seed),
                    ipv6: false,
                    ..MdnsConfig::default()
                })
            }),
            mdns_names: HashMap::new(),
            mdns_pending: Vec::new(),
            role_fixed: false,
            wall,
            start: now,
            local_certificate_stats: certificate_report(&config.certificate),
            certificate: Some(config.certificate),
            sctp,
            dtls: None,
            dtls_role: None,
            remote_fingerprints: Vec::new(),
            dc: None,
            handles: HashMap::new(),
            by_id: HashMap::new(),
            pending: Vec::new(),
            next_handle: 1,
            events: VecDeque::new(),
            ice_state: IceState::New,
            state: ConnectionState::New,
            dtls_failed: false,
            remote_ufrag: None,
            restarting: false,
            early_dtls: VecDeque::new(),
            farewell: VecDeque::new(),
            channels_opened: 0,
            channels_closed: 0,
            pair_changes: 0,
            dtls_cipher: None,
            now,
        })
    }

    /// Adds a local candidate the driver gathered (a host address it bound); it goes into
    /// later descriptions and out as [`Event::IceCandidate`]. With
    /// [`IceTransportPolicy::Relay`] only relayed candidates are used; others are kept as
    /// bases for the servers.
    pub fn add_local_candidate(&mut self, now: Instant, c: Candidate) -> Result<(), Error> {
        self.now = now;
        self.gathered.push(c.clone());
        if !self.admits(&c) {
            return Ok(());
        }
        let ice = self.ice.as_mut().ok_or(Error::Closed)?;
        let c = ice.add_local_candidate(now, c)?;
        self.signal_local(now, &c);
        Ok(())
    }

    /// Puts a local candidate into later descriptions and out as [`Event::IceCandidate`],
    /// under its `.local` name when host addresses are hidden.
    fn signal_local(&mut self, now: Instant, c: &Candidate) {
        let s = self.signalled(now, c);
        self.events.push_back(Event::IceCandidate(s.to_string()));
        self.jsep.local_parameters_mut().candidates.push(s);
    }

    fn signalled(&mut self, now: Instant, c: &Candidate) -> weft_sdp::Candidate {
        let mut s = c.to_sdp();
        if self.mdns_mode != MdnsMode::ResolveAndHide {
            return s;
        }
        let Some(mdns) = self.mdns.as_mut() else {
            return s;
        };
        if c.kind == CandidateKind::Host {
            let ip = c.address.ip();
            let name = match self.mdns_names.get(&ip) {
                Some(n) => Some(n.clone()),
                None => match mdns.register(now, ip) {
                    Ok(n) => {
                        self.mdns_names.insert(ip, n.clone());
                        Some(n)
                    }
                    Err(e) => {
                        debug!("peerconnection: no mDNS name for a host candidate: {e}");
                        None
                    }
                },
            };
            if let Some(n) = name {
                s.address = n;
            }
        } else if s.related_address.is_some() {
            s.related_address = Some(if c.address.is_ipv4() { "0.0.0.0" } else { "::" }.into());
            s.related_port = Some(0);
        }
        s
    }

    /// A remote candidate from a description or trickled: `.local` names are resolved
    /// first (when mDNS is on), other candidates go to the agent.
    fn remote_candidate(&mut self, now: Instant, c: weft_sdp::Candidate) -> Result<(), Error> {
        match Candidate::try_from(&c) {
            Ok(cand) => {
                let ice = self.ice.as_mut().ok_or(Error::Closed)?;
                ice.add_remote_candidate(now, cand)?;
                Ok(())
            }
            Err(e) if e.kind == weft_ice::ParseErrorKind::UnresolvedAddress => {
                let Some(mdns) = self.mdns.as_mut() else {
                    debug!("peerconnection: an mDNS candidate dropped (mDNS is off)");
                    return Ok(());
                };
                if self.mdns_pending.len() >= MAX_MDNS_PENDING {
                    debug!("peerconnection: too many mDNS candidates; one dropped");
                    return Ok(());
                }
                match mdns.resolve(now, &c.address) {
                    Ok(()) => self.mdns_pending.push((c.address.clone(), c)),
                    Err(e) => debug!("peerconnection: cannot resolve a candidate: {e}"),
                }
                Ok(())
            }
            Err(_) => Err(Error::Jsep(crate::jsep::Error::Unusable("bad candidate"))),
        }
    }

    /// A datagram that arrived on an mDNS socket (port 5353): answers for our names,
    /// answers to our questions.
    pub fn handle_mdns_input(&mut self, now: Instant, input: Received) {
        self.now = now;
        if let Some(m) = self.mdns.as_mut() {
            m.handle_input(now, input);
        }
        self.pump(now);
    }

    /// Whether this connection speaks mDNS now: the driver needs an mDNS socket (IPv4 group
    /// 224.0.0.251:5353) while this is true. Transmits for it have an unspecified source
    /// address with port 5353.
    pub fn wants_mdns(&self) -> bool {
        !self.mdns_names.is_empty() || !self.mdns_pending.is_empty()
    }

    fn pump_mdns(&mut self, now: Instant) {
        while let Some(ev) = self.mdns.as_mut().and_then(|m| m.poll_event()) {
            match ev {
                MdnsEvent::Resolved { name, addr } => {
                    let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.mdns_pending)
                        .into_iter()
                        .partition(|(n, _)| n.eq_ignore_ascii_case(&name));
                    self.mdns_pending = rest;
                    for (_, mut c) in ready {
                        c.address = addr.to_string();
                        if let Err(e) = self.remote_candidate(now, c) {
                            debug!("peerconnection: a resolved candidate was refused: {e}");
                        }
                    }
                }
                MdnsEvent::Failed { name } => {
                    debug!("peerconnection: an mDNS name did not resolve");
                    self.mdns_pending
                        .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                }
                _ => {}
            }
        }
    }

    fn admits(&self, c: &Candidate) -> bool {
        self.policy == IceTransportPolicy::All || c.kind == CandidateKind::Relayed
    }

    /// Adds a TURN server (its URI already resolved by the driver): the agent allocates a
    /// relayed candidate on it from `server.local` once gathering starts (at the first
    /// `setLocalDescription`, as in browsers), or now if it already has.
    pub fn add_turn_server(&mut self, now: Instant, server: TurnServer) -> Result<(), Error> {
        self.now = now;
        if self.gathering_started {
            let ice = self.ice.as_mut().ok_or(Error::Closed)?;
            ice.add_turn_server(now, server)?;
        } else {
            self.servers.push(Server::Turn(server));
        }
        Ok(())
    }

    /// Adds a STUN server (resolved by the driver): the agent asks it for a
    /// server-reflexive candidate of `server.local` once gathering starts. Ignored under
    /// [`IceTransportPolicy::Relay`].
    pub fn add_stun_server(&mut self, now: Instant, server: StunServer) -> Result<(), Error> {
        self.now = now;
        if self.policy == IceTransportPolicy::Relay {
            return Ok(());
        }
        if self.gathering_started {
            let ice = self.ice.as_mut().ok_or(Error::Closed)?;
            ice.add_stun_server(now, server)?;
        } else {
            self.servers.push(Server::Stun(server));
        }
        Ok(())
    }

    /// The driver has added every host candidate. Gathering is `complete` once the
    /// agent's server requests have finished too.
    pub fn end_of_local_candidates(&mut self, now: Instant) -> Result<(), Error> {
        self.now = now;
        self.host_done = true;
        if self.gathering_started
            && let Some(ice) = self.ice.as_mut()
        {
            ice.end_of_local_candidates(now)?;
        }
        Ok(())
    }

    /// W3C `iceGatheringState`.
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// Starts the servers' requests (the first `setLocalDescription`).
    fn start_gathering(&mut self, now: Instant) -> Result<(), Error> {
        if self.gathering_started {
            return Ok(());
        }
        self.gathering_started = true;
        self.set_gathering(GatheringState::Gathering);
        let ice = self.ice.as_mut().ok_or(Error::Closed)?;
        for s in std::mem::take(&mut self.servers) {
            match s {
                Server::Turn(t) => ice.add_turn_server(now, t)?,
                Server::Stun(t) => ice.add_stun_server(now, t)?,
            }
        }
        if self.host_done {
            ice.end_of_local_candidates(now)?;
        }
        Ok(())
    }

    fn set_gathering(&mut self, g: GatheringState) {
        if g == self.gathering {
            return;
        }
        self.gathering = g;
        self.jsep.local_parameters_mut().gathering_complete = g == GatheringState::Complete;
        self.events.push_back(Event::IceGatheringState(g));
    }

    /// A candidate the peer trickled (`addIceCandidate`); a `.local` one is resolved first.
    pub fn add_ice_candidate(&mut self, now: Instant, candidate: &str) -> Result<(), Error> {
        self.now = now;
        let c: weft_sdp::Candidate = candidate
            .parse()
            .map_err(|_| Error::Jsep(crate::jsep::Error::Unusable("bad candidate")))?;
        if self.ice.is_none() {
            return Err(Error::Jsep(crate::jsep::Error::Unusable(
                "no remote description yet",
            )));
        }
        self.remote_candidate(now, c)?;
        self.pump(now);
        Ok(())
    }

    /// `createDataChannel`: the channel opens once the transport is up.
    pub fn create_data_channel(
        &mut self,
        now: Instant,
        init: ChannelInit,
    ) -> Result<ChannelHandle, Error> {
        self.now = now;
        let h = self.next_handle;
        self.next_handle += 1;
        match self.dc.as_mut() {
            Some(dc) => {
                let id = dc.create_channel(now, init)?;
                self.handles.insert(h, Some(id));
                self.by_id.insert(id.0, h);
            }
            None => {
                self.handles.insert(h, None);
                self.pending.push((h, init));
            }
        }
        let was = self.jsep.is_negotiation_needed();
        self.jsep.set_data_wanted(true);
        if !was && self.jsep.is_negotiation_needed() {
            self.events.push_back(Event::NegotiationNeeded);
        }
        Ok(ChannelHandle(h))
    }

    /// The channel id behind a handle, once the DTLS role fixed it.
    pub fn channel_id(&self, h: ChannelHandle) -> Option<ChannelId> {
        self.handles.get(&h.0).copied().flatten()
    }

    /// Sends on a channel.
    pub fn send(
        &mut self,
        now: Instant,
        h: ChannelHandle,
        data: Bytes,
        binary: bool,
    ) -> Result<(), Error> {
        self.now = now;
        let id = self.channel_id(h).ok_or(Error::NoChannel(h))?;
        let dc = self.dc.as_mut().ok_or(Error::NoChannel(h))?;
        dc.send(now, id, data, binary)?;
        Ok(())
    }

    /// Closes a channel.
    pub fn close_channel(&mut self, now: Instant, h: ChannelHandle) -> Result<(), Error> {
        let id = self.channel_id(h).ok_or(Error::NoChannel(h))?;
        let dc = self.dc.as_mut().ok_or(Error::NoChannel(h))?;
        dc.close_channel(now, id)?;
        Ok(())
    }

    /// A channel's `bufferedAmount`.
    pub fn buffered_amount(&self, h: ChannelHandle) -> usize {
        match (self.channel_id(h), self.dc.as_ref()) {
            (Some(id), Some(dc)) => dc.buffered_amount(id),
            _ => 0,
        }
    }

    /// Sets a channel's `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(
        &mut self,
        h: ChannelHandle,
        bytes: usize,
    ) -> Result<(), Error> {
        let id = self.channel_id(h).ok_or(Error::NoChannel(h))?;
        let dc = self.dc.as_mut().ok_or(Error::NoChannel(h))?;
        dc.set_buffered_amount_low_threshold(id, bytes);
        Ok(())
    }

    /// `getStats`.
    pub fn stats(&self) -> crate::stats::StatsReport {
        use crate::stats::*;
        let pairs = self
            .ice
            .as_ref()
            .map(|i| i.pair_stats())
            .unwrap_or_default();
        let (mut packets_sent, mut packets_received, mut bytes_sent, mut bytes_received) =
            (0, 0, 0, 0);
        for p in &pairs {
            packets_sent += p.packets_sent;
            packets_received += p.packets_received;
            bytes_sent += p.bytes_sent;
            bytes_received += p.bytes_received;
        }
        let dtls_state = match &self.dtls {
            None if self.dtls_failed => "failed",
            None => "new",
            Some(d) if d.is_connected() => "connected",
            Some(_) if self.dtls_failed => "failed",
            Some(_) => "connecting",
        };
        let ice_state = match self.ice_state {
            IceState::New => "new",
            IceState::Checking => "checking",
            IceState::Connected => "connected",
            IceState::Completed => "completed",
            IceState::Disconnected => "disconnected",
            IceState::Failed => "failed",
            IceState::Closed => "closed",
        };
        let data_channels: Vec<DataChannelStats> = self
            .dc
            .iter()
            .flat_map(|d| d.channels())
            .map(|c| DataChannelStats {
                label: c.label.clone(),
                protocol: c.protocol.clone(),
                data_channel_identifier: c.id.0,
                state: c.state,
                messages_sent: c.messages_sent,
                bytes_sent: c.bytes_sent,
                messages_received: c.messages_received,
                bytes_received: c.bytes_received,
            })
            .collect();
        StatsReport {
            peer_connection: PeerConnectionStats {
                data_channels_opened: self.channels_opened,
                data_channels_closed: self.channels_closed,
            },
            transport: TransportStats {
                packets_sent,
                packets_received,
                bytes_sent,
                bytes_received,
                dtls_state,
                dtls_cipher: self.dtls_cipher.clone(),
                ice_state,
                selected_candidate_pair_changes: self.pair_changes,
            },
            candidate_pairs: pairs.iter().map(CandidatePairStats::from).collect(),
            candidates: self
                .ice
                .iter()
                .flat_map(|i| {
                    i.local_candidates()
                        .map(|c| CandidateStats::of(c, false))
                        .chain(i.remote_candidates().map(|c| CandidateStats::of(c, true)))
                })
                .collect(),
            certificates: self.certificate_stats(),
            data_channels,
            sctp: self.dc.as_ref().map(|d| d.sctp().stats()),
        }
    }

    fn certificate_stats(&self) -> Vec<crate::stats::CertificateStats> {
        use crate::stats::CertificateStats;
        let mut out: Vec<CertificateStats> = self.local_certificate_stats.iter().cloned().collect();
        if let Some(fp) = &self.peer_fingerprint {
            out.push(CertificateStats {
                fingerprint: fp.clone(),
                fingerprint_algorithm: "sha-256",
                base64_certificate: None,
            });
        }
        out
    }

    /// The data channel endpoint, once the transport exists.
    pub fn data_channels(&self) -> Option<&Endpoint> {
        self.dc.as_deref()
    }

    /// The JSEP machine (descriptions, signaling state).
    pub fn jsep(&self) -> &Jsep {
        &self.jsep
    }

    /// The ICE agent, once a description fixed its role.
    pub fn ice(&self) -> Option<&Agent> {
        self.ice.as_deref()
    }

    /// `connectionState`.
    pub fn connection_state(&self) -> ConnectionState {
        self.state
    }

    /// `restartIce`: new local ICE credentials now (the agent keeps the selected pair
    /// carrying data until a new one is selected); the next offer carries them.
    pub fn restart_ice(&mut self, now: Instant) -> Result<(), Error> {
        self.now = now;
        self.restart_local(now)?;
        self.restarting = true;
        self.jsep.restart_ice();
        self.events.push_back(Event::NegotiationNeeded);
        Ok(())
    }

    /// New local credentials for the agent and the next description.
    fn restart_local(&mut self, now: Instant) -> Result<(), Error> {
        let mut r = [0u8; 16];
        openssl::rand::rand_bytes(&mut r).map_err(|e| Error::Dtls(e.into()))?;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let creds = Credentials {
            ufrag: hex(&r[..4]),
            pwd: hex(&r[4..]),
        };
        if let Some(ice) = self.ice.as_mut() {
            ice.restart(now, creds.clone())?;
        }
        let local = self.jsep.local_parameters_mut();
        local.ice_ufrag = creds.ufrag.clone();
        local.ice_pwd = creds.pwd.clone();
        local.candidates.clear();
        self.ice_config.local_credentials = creds;
        if let Some(ice) = self.ice.as_ref() {
            // Candidates go out again under the new ufrag.
            let cands: Vec<Candidate> = ice.local_candidates().cloned().collect();
            let signalled = cands.iter().map(|c| self.signalled(now, c)).collect();
            self.jsep.local_parameters_mut().candidates = signalled;
        }
        Ok(())
    }

    /// `createOffer`.
    pub fn create_offer(&mut self) -> Result<String, Error> {
        Ok(self.jsep.create_offer(false)?)
    }

    /// `createAnswer`.
    pub fn create_answer(&mut self) -> Result<String, Error> {
        Ok(self.jsep.create_answer()?)
    }

    /// `setLocalDescription`.
    pub fn set_local_description(
        &mut self,
        now: Instant,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), Error> {
        self.now = now;
        let before = self.jsep.signaling_state();
        self.jsep.set_local_description(kind, sdp)?;
        if kind == SdpType::Offer {
            self.ensure_ice(now, IceRole::Controlling)?;
        }
        if kind != SdpType::Rollback {
            self.start_gathering(now)?;
        }
        self.after_signaling(now, before)
    }

    /// `setRemoteDescription`.
    pub fn set_remote_description(
        &mut self,
        now: Instant,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), Error> {
        self.now = now;
        let before = self.jsep.signaling_state();
        self.jsep.set_remote_description(kind, sdp)?;
        if kind == SdpType::Offer {
            self.ensure_ice(now, IceRole::Controlled)?;
        }
        if kind != SdpType::Rollback {
            self.apply_remote(now)?;
        }
        self.after_signaling(now, before)
    }

    /// Closes everything (W3C `close`): the SCTP association is aborted and DTLS sends
    /// close_notify, both still on the selected pair, before the ICE agent closes; those
    /// last datagrams come out of [`PeerConnection::poll_transmit`].
    pub fn close(&mut self, now: Instant) {
        self.now = now;
        if self.state == ConnectionState::Closed {
            return;
        }
        // Closed first: what the goodbyes cause below (DTLS `Closed`) is not a failure.
        self.set_state(ConnectionState::Closed);
        if let Some(dc) = self.dc.as_mut() {
            dc.sctp_mut().abort(now, "peer connection closed");
        }
        self.pump(now);
        if let Some(d) = self.dtls.as_mut() {
            d.close(now);
        }
        self.pump(now);
        if let Some(ice) = self.ice.as_mut() {
            while let Some(t) = ice.poll_transmit() {
                if self.farewell.len() < MAX_EARLY_DTLS {
                    self.farewell.push_back(t);
                }
            }
            ice.close(now);
        }
        self.jsep.close();
    }

    fn after_signaling(&mut self, now: Instant, before: SignalingState) -> Result<(), Error> {
        let after = self.jsep.signaling_state();
        if after != before {
            self.events.push_back(Event::SignalingState(after));
        }
        if let Some(n) = self.jsep.negotiated()
            && self.dtls_role.is_none()
        {
            self.dtls_role = Some(n.dtls_role);
            self.remote_fingerprints = n
                .remote_fingerprints
                .iter()
                .filter_map(|f| f.to_string().parse().ok())
                .collect();
            let role = match n.dtls_role {
                DtlsRole::Client => DcRole::Client,
                DtlsRole::Server => DcRole::Server,
            };
            let mut sctp = self.sctp.clone();
            sctp.remote_port = n.remote_sctp_port;
            sctp.remote_max_message_size =
                usize::try_from(n.remote_max_message_size).unwrap_or(usize::MAX);
            let mut dc = Endpoint::new(weft_datachannel::Config { role, sctp }, now)?;
            for (h, init) in std::mem::take(&mut self.pending) {
                let id = dc.create_channel(now, init)?;
                self.handles.insert(h, Some(id));
                self.by_id.insert(id.0, h);
            }
            self.dc = Some(Box::new(dc));
        }
        self.maybe_start_dtls(now);
        Ok(())
    }

    /// Fixes the agent's role at the first description (RFC 8445 §6.1.1: the offerer
    /// controls). The agent starts controlled; an offerer's is rebuilt as controlling with
    /// the same candidates, in the same order, before any check went out.
    fn ensure_ice(&mut self, now: Instant, role: IceRole) -> Result<(), Error> {
        if self.role_fixed {
            return Ok(());
        }
        self.role_fixed = true;
        if role == self.ice_config.role {
            return Ok(());
        }
        self.ice_config.role = role;
        let mut ice = Agent::new(self.ice_config.clone())?;
        for c in self.gathered.iter().filter(|c| self.admits(c)) {
            ice.add_local_candidate(now, c.clone())?;
        }
        self.ice = Some(Box::new(ice));
        Ok(())
    }

    fn apply_remote(&mut self, now: Instant) -> Result<(), Error> {
        let Some((ufrag, pwd, lite, candidates, eoc)) = self.jsep.remote_ice() else {
            return Ok(());
        };
        if self.ice.is_none() || self.remote_ufrag.as_deref() == Some(ufrag.as_str()) {
            return Ok(());
        }
        // New remote credentials after the first ones: the peer restarted ICE. Unless we
        // started the restart, RFC 8445 §9 asks for new local credentials too.
        let peer_restarted = self.remote_ufrag.is_some() && !self.restarting;
        self.restarting = false;
        self.remote_ufrag = Some(ufrag.clone());
        if peer_restarted {
            self.restart_local(now)?;
        }
        let Some(ice) = self.ice.as_mut() else {
            return Ok(());
        };
        ice.set_remote_credentials(now, Credentials { ufrag, pwd })?;
        ice.set_remote_lite(now, lite)?;
        for c in candidates {
            if let Err(e) = self.remote_candidate(now, c) {
                debug!("peerconnection: a remote candidate was refused: {e}");
            }
        }
        if eoc && let Some(ice) = self.ice.as_mut() {
            ice.end_of_remote_candidates(now)?;
        }
        Ok(())
    }

    fn maybe_start_dtls(&mut self, now: Instant) {
        if self.dtls.is_some()
            || !matches!(self.ice_state, IceState::Connected | IceState::Completed)
        {
            return;
        }
        let Some(role) = self.dtls_role else { return };
        // The DTLS connection is made once; the certificate goes to it.
        let Some(certificate) = self.certificate.take() else {
            return;
        };
        let mut cfg = weft_dtls::Config::new(certificate);
        cfg.remote_fingerprints = self.remote_fingerprints.clone();
        cfg.mtu = self.sctp.mtu + 37;
        // The first flight can beat the peer's ICE to a usable pair (Firefox drops it then);
        // a short first timeout resends it soon, and the back-off stays exponential.
        cfg.initial_rto = std::time::Duration::from_millis(100);
        let role = match role {
            DtlsRole::Client => DtlsRoleD::Client,
            DtlsRole::Server => DtlsRoleD::Server,
        };
        let wall = self.wall + now.saturating_duration_since(self.start);
        match Connection::new(role, cfg, now, wall) {
            Ok(mut c) => {
                info!("peerconnection: DTLS started as {role:?}");
                self.events
                    .push_back(Event::DtlsState(TransportState::Connecting));
                for rec in std::mem::take(&mut self.early_dtls) {
                    c.handle_input(now, rec);
                }
                self.dtls = Some(c);
                self.update_state();
            }
            Err(e) => {
                debug!("peerconnection: DTLS could not start: {e}");
                self.events
                    .push_back(Event::DtlsState(TransportState::Failed));
                self.dtls_failed = true;
                self.update_state();
            }
        }
    }

    /// A datagram from the network (the driver's socket).
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        self.now = now;
        if let Some(ice) = self.ice.as_mut() {
            ice.handle_input(now, input);
        }
        self.pump(now);
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(ice) = self.ice.as_mut() {
            ice.handle_timeout(now);
        }
        if let Some(d) = self.dtls.as_mut() {
            d.handle_timeout(now);
        }
        if let Some(dc) = self.dc.as_mut() {
            dc.handle_timeout(now);
        }
        if let Some(m) = self.mdns.as_mut() {
            m.handle_timeout(now);
        }
        self.pump(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.farewell.pop_front() {
            return Some(t);
        }
        if let Some(t) = self.mdns.as_mut().and_then(|m| m.poll_transmit()) {
            return Some(t);
        }
        let now = self.now;
        self.pump(now);
        self.ice.as_mut()?.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let now = self.now;
        self.pump(now);
        self.events.pop_front()
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.ice.as_ref().and_then(|i| i.poll_timeout()),
            self.dtls.as_ref().and_then(|d| d.poll_timeout()),
            self.dc.as_ref().and_then(|d| d.poll_timeout()),
            self.mdns.as_ref().and_then(|m| m.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves data between the machines until nothing moves.
    fn pump(&mut self, now: Instant) {
        self.pump_mdns(now);
        for _ in 0..64 {
            let mut moved = false;
            while let Some(ev) = self.ice.as_mut().and_then(|i| i.poll_event()) {
                moved = true;
                match ev {
                    weft_ice::Event::Data(r) => {
                        // RFC 7983: 20-63 is DTLS; STUN was the agent's own.
                        if matches!(r.payload.first(), Some(20..=63)) {
                            match self.dtls.as_mut() {
                                Some(d) => d.handle_input(now, r.payload),
                                None if self.early_dtls.len() < MAX_EARLY_DTLS => {
                                    self.early_dtls.push_back(r.payload)
                                }
                                None => debug!("peerconnection: early DTLS record dropped"),
                            }
                        }
                    }
                    weft_ice::Event::StateChanged(s) => {
                        self.ice_state = s;
                        self.events.push_back(Event::IceConnectionState(s));
                        self.maybe_start_dtls(now);
                        self.update_state();
                    }
                    weft_ice::Event::SelectedPairChanged { .. } => self.pair_changes += 1,
                    weft_ice::Event::GatheringStateChanged(g) if self.gathering_started => {
                        self.set_gathering(g);
                    }
                    weft_ice::Event::CandidateError { url, code, text } => {
                        self.events
                            .push_back(Event::IceCandidateError { url, code, text });
                    }
                    weft_ice::Event::LocalCandidate(c) => self.signal_local(now, &c),
                    _ => {}
                }
            }
            let mut state_changed = false;
            if let Some(d) = self.dtls.as_mut() {
                while let Some(p) = d.poll_transmit() {
                    moved = true;
                    if let Some(Err(e)) = self.ice.as_mut().map(|i| i.send(now, p)) {
                        debug!("peerconnection: no path for DTLS yet: {e}");
                    }
                }
                while let Some(ev) = d.poll_event() {
                    moved = true;
                    match ev {
                        weft_dtls::Event::Data(b) => {
                            if let Some(dc) = self.dc.as_mut() {
                                dc.handle_input(now, b);
                            }
                        }
                        weft_dtls::Event::Connected {
                            cipher,
                            peer_fingerprint,
                        } => {
                            self.dtls_cipher = Some(cipher);
                            self.peer_fingerprint = Some(hex_of(&peer_fingerprint));
                            self.events
                                .push_back(Event::DtlsState(TransportState::Connected));
                            self.events
                                .push_back(Event::SctpState(TransportState::Connecting));
                            if let Some(dc) = self.dc.as_mut() {
                                let _ = dc.connect(now);
                            }
                            state_changed = true;
                        }
                        weft_dtls::Event::Closed { reason } => {
                            let s = if matches!(
                                reason,
                                weft_dtls::CloseReason::PeerClosed
                                    | weft_dtls::CloseReason::LocalClose
                            ) || self.state == ConnectionState::Closed
                            {
                                TransportState::Closed
                            } else {
                                TransportState::Failed
                            };
                            self.events.push_back(Event::DtlsState(s));
                            self.dtls_failed = true;
                            state_changed = true;
                        }
                        _ => {}
                    }
                }
            }
            if state_changed {
                self.update_state();
            }
            if let (Some(dc), Some(d)) = (self.dc.as_mut(), self.dtls.as_mut()) {
                while let Some(p) = dc.poll_transmit() {
                    moved = true;
                    if let Err(e) = d.send(&p) {
                        debug!("peerconnection: DTLS refused an SCTP packet: {e}");
                    }
                }
            }
            if let Some(dc) = self.dc.as_mut() {
                // Past MAX_EVENTS unread events, messages stay in SCTP, whose window
                // shrinks by what it holds: the peer slows down, memory stays bounded.
                while self.events.len() < MAX_EVENTS {
                    let Some(ev) = dc.poll_event() else { break };
                    moved = true;
                    let id = match &ev {
                        weft_datachannel::Event::Incoming(id)
                        | weft_datachannel::Event::Open(id)
                        | weft_datachannel::Event::BufferedAmountLow(id)
                        | weft_datachannel::Event::Closing(id)
                        | weft_datachannel::Event::Closed(id) => Some(*id),
                        weft_datachannel::Event::Message(m) => Some(m.id),
                        weft_datachannel::Event::Error { id, .. } => Some(*id),
                        weft_datachannel::Event::Connected => {
                            self.events
                                .push_back(Event::SctpState(TransportState::Connected));
                            None
                        }
                        weft_datachannel::Event::TransportClosed { .. } => {
                            self.events
                                .push_back(Event::SctpState(TransportState::Closed));
                            None
                        }
                        _ => None,
                    };
                    let Some(id) = id else { continue };
                    let h = match self.by_id.get(&id.0) {
                        Some(h) => *h,
                        None => {
                            let h = self.next_handle;
                            self.next_handle += 1;
                            self.handles.insert(h, Some(id));
                            self.by_id.insert(id.0, h);
                            h
                        }
                    };
                    match ev {
                        weft_datachannel::Event::Open(_) => self.channels_opened += 1,
                        weft_datachannel::Event::Closed(_) => self.channels_closed += 1,
                        _ => {}
                    }
                    if matches!(ev, weft_datachannel::Event::Incoming(_)) {
                        self.events.push_back(Event::DataChannel(ChannelHandle(h)));
                    } else {
                        self.events.push_back(Event::Channel(ChannelHandle(h), ev));
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn update_state(&mut self) {
        if self.state == ConnectionState::Closed {
            return;
        }
        let dtls_up = self.dtls.as_ref().is_some_and(|d| d.is_connected());
        let s = match self.ice_state {
            _ if self.dtls_failed => ConnectionState::Failed,
            IceState::Failed => ConnectionState::Failed,
            IceState::Closed => ConnectionState::Closed,
            IceState::Disconnected => ConnectionState::Disconnected,
            IceState::Connected | IceState::Completed if dtls_up => ConnectionState::Connected,
            IceState::Checking | IceState::Connected | IceState::Completed => {
                ConnectionState::Connecting
            }
            IceState::New => ConnectionState::New,
        };
        self.set_state(s);
    }

    fn set_state(&mut self, s: ConnectionState) {
        if s != self.state {
            info!("peerconnection: {:?} -> {s:?}", self.state);
            self.state = s;
            self.events.push_back(Event::ConnectionState(s));
        }
    }
}
