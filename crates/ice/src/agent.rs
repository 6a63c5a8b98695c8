//! The ICE agent (RFC 8445): candidate pairs, connectivity checks, nomination, consent.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, info, trace};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use weft_proto::{Received, Redacted, Transmit, Transport};
use weft_stun::{
    Attribute, Class, ClientConfig, ClientEvent, ErrorCode, Integrity, IntegrityKey, Message,
    Method, TransactionId,
};

use crate::candidate::{Candidate, CandidateKind, TcpType, priority_for};
use crate::config::{Config, Credentials, Role, StunServer, TurnServer};
use crate::error::Error;
use crate::event::{Event, GatheringState, State};
use crate::stats::{PairStats, Stats};

/// The state of a candidate pair in the checklist (RFC 8445 §6.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairState {
    /// Waiting for a check of the same foundation to succeed.
    Frozen,
    /// Ready to be checked.
    Waiting,
    /// A check is in flight.
    InProgress,
    /// A check succeeded.
    Succeeded,
    /// A check failed or timed out.
    Failed,
}

/// A pair priority (RFC 8445 §6.1.2.3): `2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)`, where G
/// is the controlling agent's candidate priority and D the controlled agent's.
///
/// ```
/// assert_eq!(weft_ice::pair_priority(2, 1), (1u64 << 32) + 4 + 1);
/// ```
pub fn pair_priority(controlling: u32, controlled: u32) -> u64 {
    let (g, d) = (u64::from(controlling), u64::from(controlled));
    (g.min(d) << 32) + 2 * g.max(d) + u64::from(g > d)
}

/// A sans-IO ICE agent for one component (RFC 8445), with trickle (RFC 8838), consent
/// freshness (RFC 7675), restarts and ICE-lite.
///
/// See the [crate documentation](crate) for the run loop and what is implemented.
#[derive(Debug)]
pub struct Agent {
    id: String,
    config: Config,
    rng: ChaCha20Rng,
    checks: weft_stun::Client,
    role: Role,
    tie_breaker: u64,
    now: Option<Instant>,
    generation: u32,
    local_creds: Creds,
    remote_creds: Option<Creds>,
    /// The previous generation's credentials, while its selected pair still carries data.
    old: Option<(Creds, Option<Creds>)>,
    remote_lite: bool,
    local: Vec<Local>,
    remote: Vec<Remote>,
    pairs: Vec<Pair>,
    triggered: VecDeque<usize>,
    transactions: HashMap<TransactionId, CheckTx>,
    consent_tx: HashMap<TransactionId, ConsentTx>,
    next_check_at: Option<Instant>,
    last_check_triggered: bool,
    /// Peer-reflexive remote candidates learnt in this generation.
    learned_prflx: usize,
    selected: Option<usize>,
    nominating: Option<usize>,
    first_valid_at: Option<Instant>,
    remote_end_of_candidates: bool,
    consent_lost: bool,
    gathering: GatheringState,
    state: State,
    local_foundations: Vec<FoundationKey>,
    turns: Vec<Turn>,
    /// Binding requests to STUN servers still waiting for their answer.
    gathers: Vec<StunGather>,
    /// The driver said gathering is over; `complete` waits for TURN allocations too.
    local_gathering_done: bool,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
}

/// A TURN allocation the agent runs for a relayed candidate.
#[derive(Debug)]
struct Turn {
    url: String,
    client: weft_turn::Client,
    server: SocketAddr,
    base: SocketAddr,
    /// The transport to the server (the relayed candidate itself is UDP).
    transport: Transport,
    relayed: Option<SocketAddr>,
    pending: bool,
    /// The allocation was lost: what its relayed candidate would send is dropped.
    lost: bool,
    permitted: Vec<std::net::IpAddr>,
}

/// A Binding request to a STUN server for a server-reflexive candidate.
#[derive(Debug)]
struct StunGather {
    url: String,
    server: SocketAddr,
    base: SocketAddr,
    tx: TransactionId,
    /// When the server counts as unreachable (`Config::stun_timeout` after the first send).
    deadline: Instant,
}

/// What makes two local candidates share a foundation: type, base IP, transport, server IP.
type FoundationKey = (
    CandidateKind,
    std::net::IpAddr,
    Transport,
    Option<std::net::IpAddr>,
);

/// W3C `RTCPeerConnectionIceErrorEvent.errorCode` when a server did not answer at all.
const UNREACHABLE: u16 = 701;

#[derive(Debug, Clone)]
struct Creds {
    creds: Credentials,
    key: IntegrityKey,
}

impl Creds {
    fn new(creds: Credentials) -> Result<Self, Error> {
        let key = IntegrityKey::short_term(&creds.pwd)?;
        Ok(Creds { creds, key })
    }
}

#[derive(Debug, Clone)]
struct Local {
    candidate: Candidate,
    base: SocketAddr,
}

#[derive(Debug, Clone)]
struct Remote {
    candidate: Candidate,
    /// The ICE generation it was signalled or learnt in.
    generation: u32,
}

#[derive(Debug, Clone)]
struct Pair {
    local: usize,
    remote: usize,
    priority: u64,
    state: PairState,
    generation: u32,
    /// In the valid list (RFC 8445 §7.2.5.3.2).
    valid: bool,
    nominated: bool,
    /// The controlled agent got USE-CANDIDATE before this pair's check succeeded.
    nominate_on_success: bool,
    /// The valid pair a successful check of this pair produced.
    valid_pair: Option<usize>,
    /// The transaction whose failure fails this pair.
    tx: Option<TransactionId>,
    retired: bool,
    consent: Option<Consent>,
    last_sent: Option<Instant>,
    counters: Counters,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    requests_sent: u64,
    requests_received: u64,
    responses_sent: u64,
    responses_received: u64,
    consent_requests_sent: u64,
    rtt_current: Option<Duration>,
    rtt_total: Duration,
    rtt_samples: u64,
    bytes_sent: u64,
    bytes_received: u64,
    packets_sent: u64,
    packets_received: u64,
}

#[derive(Debug, Clone, Copy)]
struct Consent {
    last_response: Instant,
    next_send: Instant,
    outstanding: Option<(TransactionId, Instant)>,
    missed: u32,
}

#[derive(Debug, Clone, Copy)]
struct CheckTx {
    pair: usize,
    nominate: bool,
    role: Role,
    priority: u32,
    generation: u32,
    sent: Instant,
}

#[derive(Debug, Clone, Copy)]
struct ConsentTx {
    pair: usize,
    sent: Instant,
}

/// How many consent transactions are remembered for late responses.
const CONSENT_TX_KEPT: usize = 8;

impl Agent {
    /// An agent in state `new`, gathering `new`, with no candidate.
    pub fn new(config: Config) -> Result<Self, Error> {
        config.local_credentials.validate()?;
        let seed = config.rng_seed.unwrap_or_else(os_seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut stun_seed = [0; 32];
        rng.fill_bytes(&mut stun_seed);
        let rc = config.check_attempts.clamp(1, 16);
        let checks = weft_stun::Client::new(ClientConfig {
            rto: config.check_rto,
            rc,
            // RFC 8489 §6.2.1 waits 16 RTO after the last send; ICE checks give up after
            // twice the last interval instead, as the RFC 8445 §14.3 pacing assumes.
            rm: 4,
            // A check over TCP is sent once (RFC 6544 §7.1); it fails when a UDP check with
            // the same settings would have.
            reliable_timeout: config.check_rto * ((1 << (rc - 1)) - 1 + 4),
            rng_seed: Some(stun_seed),
            ..ClientConfig::default()
        });
        let tie_breaker = rng.next_u64();
        let role = if config.lite {
            Role::Controlled
        } else {
            config.role
        };
        let local_creds = Creds::new(config.local_credentials.clone())?;
        let id = format!("ice {:04x}", tie_breaker >> 48);
        info!(
            "{id}: created as {role:?}{}",
            if config.lite { " (lite)" } else { "" }
        );
        Ok(Agent {
            id,
            config,
            rng,
            checks,
            role,
            tie_breaker,
            now: None,
            generation: 0,
            local_creds,
            remote_creds: None,
            old: None,
            remote_lite: false,
            local: Vec::new(),
            remote: Vec::new(),
            pairs: Vec::new(),
            triggered: VecDeque::new(),
            transactions: HashMap::new(),
            consent_tx: HashMap::new(),
            next_check_at: None,
            last_check_triggered: false,
            learned_prflx: 0,
            selected: None,
            nominating: None,
            first_valid_at: None,
            remote_end_of_candidates: false,
            consent_lost: false,
            gathering: GatheringState::New,
            state: State::New,
            local_foundations: Vec::new(),
            turns: Vec::new(),
            gathers: Vec::new(),
            local_gathering_done: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
        })
    }

    // ----- commands -----

    /// Sets the remote side's ufrag and pwd (from the remote description). Checks start once
    /// both credentials and remote candidates are known; requests that arrive before are
    /// answered already (RFC 8838 §4).
    ///
    /// New credentials that differ from those already set mean the remote side restarted:
    /// the agent restarts too, keeping its own credentials. To restart both sides (the JSEP
    /// way), call [`Agent::restart`] first, then this.
    pub fn set_remote_credentials(
        &mut self,
        now: Instant,
        creds: Credentials,
    ) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        creds.validate()?;
        if let Some(r) = &self.remote_creds {
            if r.creds == creds {
                return Ok(());
            }
            let local = self.local_creds.creds.clone();
            self.restart(now, local)?;
        }
        debug!("{}: remote credentials set", self.id);
        self.remote_creds = Some(Creds::new(creds)?);
        self.run(now);
        Ok(())
    }

    /// Says whether the remote agent is ICE-lite (`a=ice-lite`). A full agent facing a lite
    /// one is controlling (RFC 8445 §6.1.1).
    pub fn set_remote_lite(&mut self, now: Instant, lite: bool) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        self.remote_lite = lite;
        if lite && !self.config.lite && self.role != Role::Controlling {
            self.set_role(Role::Controlling);
        }
        self.run(now);
        Ok(())
    }

    /// Adds a local candidate gathered by the driver (host from an interface, server
    /// reflexive from a STUN server, relayed from a TURN allocation) and returns it with its
    /// foundation filled, ready to signal.
    ///
    /// Relayed candidates: the driver owns the TURN client. The agent sends from the relayed
    /// address (`Transmit::source` is the relayed candidate's address) and expects what the
    /// TURN client unwraps as `Received { source: peer, destination: relayed address }`.
    ///
    /// TCP candidates (RFC 6544, built with [`Candidate::host_tcp`]) need their `tcptype`:
    /// an active one is paired with remote passive candidates, a passive one answers the
    /// connections remote active candidates open (see the crate documentation for what the
    /// driver does with TCP transmits).
    pub fn add_local_candidate(
        &mut self,
        now: Instant,
        candidate: Candidate,
    ) -> Result<Candidate, Error> {
        let now = self.clamp(now);
        self.usable()?;
        if self.config.lite && candidate.kind != CandidateKind::Host {
            return Err(Error::BadCandidate(
                "an ice-lite agent has host candidates only",
            ));
        }
        if candidate.kind == CandidateKind::PeerReflexive {
            return Err(Error::BadCandidate(
                "peer-reflexive candidates are learnt, not added",
            ));
        }
        if candidate.transport == Transport::Tcp && candidate.tcp_type.is_none() {
            return Err(Error::BadCandidate("a tcp candidate needs its tcptype"));
        }
        if self.gathering != GatheringState::Gathering {
            // Candidates after `complete` mean gathering started again (a new interface).
            self.local_gathering_done = false;
            self.set_gathering(GatheringState::Gathering);
        }
        let c = self.add_local(now, candidate)?;
        self.run(now);
        Ok(c)
    }

    fn add_local(&mut self, now: Instant, mut candidate: Candidate) -> Result<Candidate, Error> {
        check_candidate(&candidate)?;
        let Some(base) = candidate.base() else {
            return Err(Error::BadCandidate(
                "a server-reflexive candidate needs its base",
            ));
        };
        if let Some(existing) = self.local.iter().find(|l| {
            l.candidate.address == candidate.address && l.candidate.transport == candidate.transport
        }) {
            return Ok(existing.candidate.clone());
        }
        if self.local.len() >= self.config.max_candidates {
            return Err(Error::TooManyCandidates(self.config.max_candidates));
        }
        if candidate.foundation.is_empty() {
            candidate.foundation =
                self.local_foundation(candidate.kind, base, candidate.transport, None);
        }
        candidate.ufrag = Some(self.local_creds.creds.ufrag.clone());
        debug!(
            "{}: local {} candidate {}",
            self.id,
            candidate.kind,
            Redacted(candidate.address)
        );
        self.local.push(Local {
            candidate: candidate.clone(),
            base,
        });
        let l = self.local.len() - 1;
        for r in 0..self.remote.len() {
            self.form_pair(now, l, r);
        }
        Ok(candidate)
    }

    /// Local gathering is over (the driver's `end-of-candidates`).
    pub fn end_of_local_candidates(&mut self, now: Instant) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        self.local_gathering_done = true;
        self.update_gathering();
        self.run(now);
        Ok(())
    }

    /// Allocates a relayed candidate on a TURN server (RFC 8656, over UDP, TCP or TLS to the
    /// server as [`TurnServer::transport`] says; the relayed candidate is UDP): the agent runs the
    /// TURN client, adds the relayed candidate when the allocation succeeds (reported with
    /// [`Event::LocalCandidate`] for signalling), installs permissions for the remote
    /// candidates it pairs it with, binds a channel to the selected peer, and wraps and
    /// unwraps the relayed traffic. A failure is reported with [`Event::CandidateError`].
    /// Gathering is `complete` only once every allocation has succeeded or failed.
    ///
    /// The driver delivers datagrams from the server to [`Agent::handle_input`] like any
    /// other: they arrive at `server.local` from `server.server`. Over TCP or TLS, the
    /// transmits to the server carry that transport; the driver keeps one connection per
    /// server and `local`, frames what it reads with `weft_turn::StreamFramer` (STUN and
    /// ChannelData are self-delimiting), and hands each message back as
    /// `Received { transport, source: server, destination: local }`.
    pub fn add_turn_server(&mut self, now: Instant, server: TurnServer) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        if self.config.lite {
            return Err(Error::BadCandidate(
                "an ice-lite agent has host candidates only",
            ));
        }
        let mut config = weft_turn::Config::new(
            server.server,
            server.local,
            &server.username,
            &server.password,
        );
        config.transport = server.transport;
        let mut seed = [0; 32];
        self.rng.fill_bytes(&mut seed);
        config.stun.rng_seed = Some(seed);
        let client = weft_turn::Client::new(config, now)?;
        info!("{}: allocating on {}", self.id, server.url);
        self.turns.push(Turn {
            url: server.url,
            client,
            server: server.server,
            base: server.local,
            transport: server.transport,
            relayed: None,
            pending: true,
            lost: false,
            permitted: Vec::new(),
        });
        self.update_gathering();
        self.run(now);
        Ok(())
    }

    /// Asks a STUN server for a server-reflexive candidate (RFC 8445 §5.1.1.2, a Binding
    /// request over UDP, RFC 8489): the request leaves from `server.local`, which must be the
    /// address of a UDP host candidate already added, and is retransmitted until it is
    /// answered or [`Config::stun_timeout`] has passed. The candidate (base `server.local`)
    /// is reported with [`Event::LocalCandidate`] for signalling, unless the server saw the
    /// base itself (no NAT: the host candidate says it all) or another server already gave
    /// the same address. An error response or silence is reported with
    /// [`Event::CandidateError`] (code 701 for silence, as W3C `icecandidateerror` does).
    /// Gathering is `complete` only once every request is done.
    ///
    /// The driver delivers datagrams from the server to [`Agent::handle_input`] like any
    /// other: they arrive at `server.local` from `server.server`, and are told apart from
    /// connectivity checks by their transaction id.
    pub fn add_stun_server(&mut self, now: Instant, server: StunServer) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        if self.config.lite {
            return Err(Error::BadCandidate(
                "an ice-lite agent has host candidates only",
            ));
        }
        if !self.local.iter().any(|l| {
            l.candidate.kind == CandidateKind::Host
                && l.candidate.transport == Transport::Udp
                && l.base == server.local
        }) {
            return Err(Error::BadCandidate(
                "a stun server is asked from a udp host candidate's address",
            ));
        }
        if server.server.is_ipv4() != server.local.is_ipv4() {
            return Err(Error::BadCandidate(
                "the stun server and the local address differ in family",
            ));
        }
        if self.gathers.len() >= self.config.max_candidates {
            return Err(Error::TooManyCandidates(self.config.max_candidates));
        }
        let tx = self
            .checks
            .binding_request(now, server.local, server.server, Transport::Udp)?;
        info!("{}: binding request to {}", self.id, server.url);
        self.gathers.push(StunGather {
            url: server.url,
            server: server.server,
            base: server.local,
            tx,
            deadline: now + self.config.stun_timeout,
        });
        self.update_gathering();
        self.run(now);
        Ok(())
    }

    /// Adds a remote candidate (from the remote description or trickled), at any time,
    /// before or after the remote credentials (RFC 8838 §11).
    ///
    /// A candidate whose `ufrag` extension names another generation is refused with
    /// [`Error::StaleGeneration`]; one whose address is already known is ignored, except
    /// that a signalled candidate replaces a peer-reflexive one learnt from a check. A
    /// candidate without a foundation gets one of its own.
    pub fn add_remote_candidate(
        &mut self,
        now: Instant,
        candidate: Candidate,
    ) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        check_candidate(&candidate)?;
        if let (Some(u), Some(r)) = (&candidate.ufrag, &self.remote_creds)
            && *u != r.creds.ufrag
        {
            return Err(Error::StaleGeneration);
        }
        if candidate.address.port() == 0 && candidate.transport == Transport::Udp {
            return Err(Error::BadCandidate("port 0"));
        }
        if let Some(i) = self.find_remote(candidate.address, candidate.transport) {
            let r = &mut self.remote[i].candidate;
            if r.kind == CandidateKind::PeerReflexive
                && candidate.kind != CandidateKind::PeerReflexive
            {
                // RFC 8445 §7.3.1.3: the signalled candidate takes over from the
                // peer-reflexive one learnt from the same address.
                *r = candidate;
                self.recompute_priorities();
                self.run(now);
            }
            return Ok(());
        }
        let slot = if self.remote.len() >= self.config.max_candidates {
            match self.free_remote_slot() {
                Some(r) => Some(r),
                None => return Err(Error::TooManyCandidates(self.config.max_candidates)),
            }
        } else {
            None
        };
        let mut candidate = candidate;
        if candidate.foundation.is_empty() {
            // Signalled candidates always carry one (RFC 8839 §5.1); one built in code may
            // not, and is then unfrozen on its own.
            candidate.foundation = format!("~{}", slot.unwrap_or(self.remote.len()));
        }
        debug!(
            "{}: remote {} candidate {}",
            self.id,
            candidate.kind,
            Redacted(candidate.address)
        );
        let r = self.put_remote(slot, candidate);
        for l in 0..self.local.len() {
            self.form_pair(now, l, r);
        }
        self.run(now);
        Ok(())
    }

    /// The remote side sent `end-of-candidates` (RFC 8838 §8.2): once every pair has failed,
    /// the agent may fail.
    pub fn end_of_remote_candidates(&mut self, now: Instant) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        self.remote_end_of_candidates = true;
        self.run(now);
        Ok(())
    }

    /// Restarts ICE (RFC 8445 §9) with new local credentials: the checklist and the remote
    /// candidates are dropped and gathering goes back to `gathering` (local candidates other
    /// than peer-reflexive ones are kept, TURN allocations included: signal them again from
    /// [`Agent::local_candidates`]; the driver adds fresh ones and calls
    /// [`Agent::end_of_local_candidates`] again). The selected pair, if any, keeps carrying
    /// data and consent with the old credentials until a pair of the new generation is
    /// selected. Set the new remote credentials with [`Agent::set_remote_credentials`].
    pub fn restart(&mut self, now: Instant, local: Credentials) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        local.validate()?;
        let new_local = Creds::new(local)?;
        info!("{}: ice restart", self.id);
        // Keep the selected pair (and its candidates) as the only survivor.
        let kept = self
            .selected
            .filter(|&s| !self.pairs[s].retired && !self.consent_lost);
        let mut local_map = HashMap::new();
        let mut new_locals = Vec::new();
        for (i, l) in self.local.iter().enumerate() {
            let keep = l.candidate.kind != CandidateKind::PeerReflexive
                || kept.is_some_and(|s| self.pairs[s].local == i);
            if keep {
                local_map.insert(i, new_locals.len());
                let mut l = l.clone();
                if l.candidate.kind != CandidateKind::PeerReflexive {
                    l.candidate.ufrag = Some(new_local.creds.ufrag.clone());
                }
                new_locals.push(l);
            }
        }
        let mut new_remote = Vec::new();
        let mut new_pairs = Vec::new();
        if kept.is_none_or(|s| self.pairs[s].generation == self.generation) {
            // A pair kept from an earlier restart keeps that restart's credentials.
            self.old = kept.map(|_| (self.local_creds.clone(), self.remote_creds.clone()));
        }
        if let Some(s) = kept {
            let mut p = self.pairs[s].clone();
            new_remote.push(self.remote[p.remote].clone());
            p.remote = 0;
            // The selected pair's local candidate was kept just above, whatever its type.
            p.local = local_map[&p.local];
            p.valid_pair = Some(0);
            p.tx = None;
            new_pairs.push(p);
        }
        for id in self.transactions.keys() {
            self.checks.cancel(*id);
        }
        self.transactions.clear();
        self.consent_tx.retain(|_, tx| kept == Some(tx.pair));
        for tx in self.consent_tx.values_mut() {
            tx.pair = 0;
        }
        self.local = new_locals;
        self.remote = new_remote;
        self.pairs = new_pairs;
        self.selected = kept.map(|_| 0);
        self.triggered.clear();
        self.nominating = None;
        self.first_valid_at = None;
        self.remote_end_of_candidates = false;
        self.consent_lost = false;
        self.generation += 1;
        self.local_creds = new_local;
        self.remote_creds = None;
        self.learned_prflx = 0;
        self.local_gathering_done = false;
        self.set_gathering(GatheringState::Gathering);
        self.run(now);
        Ok(())
    }

    /// Sends application data (DTLS, SRTP...) on the selected pair, or before nomination on
    /// the best valid pair (so that DTLS can start one round trip after the checks began).
    pub fn send(&mut self, now: Instant, payload: Bytes) -> Result<(), Error> {
        let now = self.clamp(now);
        self.usable()?;
        let Some(p) = self.data_pair() else {
            return Err(Error::NoPair);
        };
        if self.transmits.len() >= self.config.max_queue {
            self.stats.data_dropped += 1;
            return Err(Error::QueueFull);
        }
        let pair = &mut self.pairs[p];
        pair.counters.bytes_sent += payload.len() as u64;
        pair.counters.packets_sent += 1;
        pair.last_sent = Some(now);
        let (l, r) = (&self.local[pair.local], &self.remote[pair.remote]);
        trace!("{}: {} bytes of data", self.id, payload.len());
        self.transmits.push_back(Transmit {
            source: l.base,
            destination: r.candidate.address,
            transport: r.candidate.transport,
            payload,
        });
        Ok(())
    }

    /// Closes the agent: no more checks, transmits or data; state `closed`.
    pub fn close(&mut self, now: Instant) {
        let now = self.clamp(now);
        if self.state == State::Closed {
            return;
        }
        for id in self.transactions.keys() {
            self.checks.cancel(*id);
        }
        self.transactions.clear();
        for g in self.gathers.drain(..) {
            self.checks.cancel(g.tx);
        }
        self.consent_tx.clear();
        self.triggered.clear();
        self.selected = None;
        self.transmits.clear();
        for t in &mut self.turns {
            if t.relayed.is_some() {
                // Release the allocation (a Refresh with lifetime 0); its answer is not awaited.
                let _ = t.client.close(now);
            }
        }
        self.set_state(State::Closed);
    }

    // ----- sans-IO contract -----

    /// Feeds a datagram that arrived at one of the local candidates' bases (or, for a
    /// relayed candidate, that the driver's TURN client unwrapped). STUN is handled here;
    /// anything else that arrives on a known pair comes out as [`Event::Data`].
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        let now = self.clamp(now);
        if self.state == State::Closed {
            return;
        }
        if let Some(g) = self.gather_answered_by(&input) {
            // A STUN server's answer, before the TURN routing: one server may be both.
            let g = &self.gathers[g];
            if g.server == input.source
                && g.base == input.destination
                && input.transport == Transport::Udp
            {
                self.checks.handle_input(now, input);
            } else {
                self.drop_input(&input, "stun answer from elsewhere");
            }
        } else if let Some(i) = self.turns.iter().position(|t| {
            t.server == input.source
                && t.base == input.destination
                && t.transport == input.transport
        }) {
            self.turns[i].client.handle_input(now, input);
            self.drain_turn(now, i);
        } else {
            self.handle_datagram(now, input);
        }
        self.run(now);
    }

    fn handle_datagram(&mut self, now: Instant, input: Received) {
        match weft_stun::peek_class(&input.payload) {
            Some(Class::Request) => self.handle_request(now, &input),
            Some(Class::Success | Class::Error) => {
                let tid = transaction_id(&input.payload);
                if self.consent_tx.contains_key(&tid) {
                    self.handle_consent_response(now, &input, tid);
                } else {
                    self.checks.handle_input(now, input);
                }
            }
            Some(Class::Indication) => {
                // Keepalives (RFC 8445 §11): nothing to do.
                self.stats.indications_received += 1;
            }
            None => self.handle_data(input),
        }
    }

    /// Runs the timers due at `now`: check pacing and retransmissions, nomination, consent,
    /// keepalives. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        if self.state == State::Closed {
            return;
        }
        self.checks.handle_timeout(now);
        for i in 0..self.turns.len() {
            self.turns[i].client.handle_timeout(now);
            self.drain_turn(now, i);
        }
        self.run(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            if let Some(t) = self.turns.iter_mut().find_map(|t| t.client.poll_transmit()) {
                return Some(t);
            }
            let t = self.transmits.pop_front()?;
            // What leaves a relayed candidate goes through its TURN client.
            let Some(turn) = self
                .turns
                .iter_mut()
                .find(|turn| turn.relayed == Some(t.source))
            else {
                return Some(t);
            };
            let now = self.now?;
            if turn.lost {
                self.stats.dropped += 1;
                continue;
            }
            if let Err(e) = turn.client.send(now, t.destination, &t.payload) {
                debug!("{}: relayed datagram dropped: {e}", self.id);
                self.stats.dropped += 1;
            }
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Agent::handle_timeout`] should run next; `None` when nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let mut t = self.checks.poll_timeout();
        for g in &self.gathers {
            t = Some(t.map_or(g.deadline, |t| t.min(g.deadline)));
        }
        for turn in &self.turns {
            if let Some(x) = turn.client.poll_timeout() {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        }
        let mut at = |x: Option<Instant>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t: Instant| t.min(x)));
            }
        };
        if self.peek_check().is_some() {
            at(self.next_check_at.or(self.now));
        }
        if let Some(s) = self.selected {
            let p = &self.pairs[s];
            if let Some(c) = &p.consent {
                at(Some(c.next_send));
                at(c.outstanding.map(|(_, d)| d));
                at(Some(c.last_response + self.config.consent_timeout));
            } else if let Some(last) = p.last_sent {
                at(Some(last + self.config.keepalive_interval));
            }
        }
        at(self.nomination_deadline());
        t
    }

    // ----- getters -----

    /// The current ICE transport state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The gathering state.
    pub fn gathering_state(&self) -> GatheringState {
        self.gathering
    }

    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// This agent's credentials of the current generation.
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds.creds
    }

    /// Whether this is an ICE-lite agent.
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// The local candidates, including peer-reflexive ones learnt from checks.
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.local.iter().map(|l| &l.candidate)
    }

    /// The remote candidates of the current ICE generation, including peer-reflexive ones
    /// learnt from checks.
    pub fn remote_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.remote
            .iter()
            .filter(|r| r.generation == self.generation)
            .map(|r| &r.candidate)
    }

    /// The selected pair as (local, remote) candidates.
    pub fn selected_pair(&self) -> Option<(&Candidate, &Candidate)> {
        let p = &self.pairs[self.selected?];
        Some((
            &self.local[p.local].candidate,
            &self.remote[p.remote].candidate,
        ))
    }

    /// The agent's counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A snapshot of every candidate pair and its counters, highest priority first.
    pub fn pair_stats(&self) -> Vec<PairStats> {
        let mut v: Vec<PairStats> = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.retired)
            .map(|(i, p)| {
                let c = p.counters;
                PairStats {
                    local: self.local[p.local].candidate.clone(),
                    remote: self.remote[p.remote].candidate.clone(),
                    state: p.state,
                    priority: p.priority,
                    valid: p.valid,
                    nominated: p.nominated,
                    selected: self.selected == Some(i),
                    requests_sent: c.requests_sent,
                    requests_received: c.requests_received,
                    responses_sent: c.responses_sent,
                    responses_received: c.responses_received,
                    consent_requests_sent: c.consent_requests_sent,
                    current_rtt: c.rtt_current,
                    total_rtt: c.rtt_total,
                    rtt_samples: c.rtt_samples,
                    bytes_sent: c.bytes_sent,
                    bytes_received: c.bytes_received,
                    packets_sent: c.packets_sent,
                    packets_received: c.packets_received,
                }
            })
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.priority));
        v
    }

    // ----- input handling -----

    fn handle_data(&mut self, input: Received) {
        let found = self.pairs.iter().position(|p| {
            !p.retired
                && self.local[p.local].base == input.destination
                && self.remote[p.remote].candidate.address == input.source
                && self.remote[p.remote].candidate.transport == input.transport
        });
        let Some(p) = found else {
            debug!("{}: dropped data from {}", self.id, Redacted(input.source));
            self.stats.data_dropped += 1;
            return;
        };
        let c = &mut self.pairs[p].counters;
        c.bytes_received += input.payload.len() as u64;
        c.packets_received += 1;
        if self.events.len() >= self.config.max_queue {
            self.stats.data_dropped += 1;
            return;
        }
        self.events.push_back(Event::Data(input));
    }

    fn handle_request(&mut self, now: Instant, input: &Received) {
        self.stats.requests_received += 1;
        let Ok(msg) = Message::decode(&input.payload) else {
            self.drop_input(input, "malformed request");
            return;
        };
        // RFC 8445 §7.3 with RFC 8489 §9.1.3: USERNAME and MESSAGE-INTEGRITY are required.
        let (Some(username), true) = (msg.username(), msg.has_integrity()) else {
            self.error_response(input, &msg, ErrorCode::BAD_REQUEST, None);
            return;
        };
        let local_ufrag = username.split(':').next().unwrap_or_default();
        let (key, current) = if local_ufrag == self.local_creds.creds.ufrag {
            (self.local_creds.key.clone(), true)
        } else if let Some((old, _)) = self
            .old
            .as_ref()
            .filter(|(o, _)| o.creds.ufrag == local_ufrag)
        {
            (old.key.clone(), false)
        } else {
            self.stats.unauthenticated += 1;
            self.error_response(input, &msg, ErrorCode::UNAUTHENTICATED, None);
            return;
        };
        if !cfg!(fuzzing) && msg.verify(&key).is_err() {
            self.stats.unauthenticated += 1;
            self.error_response(input, &msg, ErrorCode::UNAUTHENTICATED, None);
            return;
        }
        let unknown = msg.unknown_comprehension_required(&[]);
        if !unknown.is_empty() {
            let mut resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                .with(Attribute::ErrorCode(ErrorCode::UNKNOWN_ATTRIBUTE));
            resp.push(Attribute::UnknownAttributes(unknown));
            self.respond(input, &resp, Some(&key));
            return;
        }
        let mut prio = None;
        let mut controlling = None;
        let mut controlled = None;
        let mut use_candidate = false;
        for a in &msg.attributes {
            match a {
                Attribute::Priority(p) => prio = Some(*p),
                Attribute::IceControlling(t) => controlling = Some(*t),
                Attribute::IceControlled(t) => controlled = Some(*t),
                Attribute::UseCandidate => use_candidate = true,
                _ => {}
            }
        }
        let (Some(prio), true) = (prio, msg.method == Method::BINDING) else {
            self.error_response(input, &msg, ErrorCode::BAD_REQUEST, Some(&key));
            return;
        };
        // RFC 8445 §7.3.1.1: repair role conflicts.
        match (self.role, controlling, controlled) {
            (Role::Controlling, Some(theirs), _) => {
                if self.tie_breaker >= theirs || self.config.lite {
                    self.stats.role_conflicts += 1;
                    self.error_response(input, &msg, ErrorCode::ROLE_CONFLICT, Some(&key));
                    return;
                }
                self.stats.role_conflicts += 1;
                self.set_role(Role::Controlled);
            }
            (Role::Controlled, _, Some(theirs)) => {
                if self.tie_breaker >= theirs && !self.config.lite {
                    self.stats.role_conflicts += 1;
                    self.set_role(Role::Controlling);
                } else {
                    self.stats.role_conflicts += 1;
                    self.error_response(input, &msg, ErrorCode::ROLE_CONFLICT, Some(&key));
                    return;
                }
            }
            _ => {}
        }
        // RFC 8445 §7.3.1.2: the success response carries the source as seen here.
        let resp = Message::new(Class::Success, Method::BINDING, msg.transaction_id)
            .with(Attribute::XorMappedAddress(input.source));
        self.respond(input, &resp, Some(&key));

        let Some(l) = self.local_at(input.destination, input.transport) else {
            return;
        };
        if !current {
            // A check of the previous generation: only its selected pair lives on.
            if let Some(p) =
                self.find_pair_by_addr(input.destination, input.source, input.transport, false)
            {
                self.pairs[p].counters.requests_received += 1;
                self.pairs[p].counters.responses_sent += 1;
            }
            return;
        }
        // RFC 8445 §7.3.1.3: a source we do not know is a peer-reflexive remote candidate.
        let r = match self.find_remote(input.source, input.transport) {
            Some(r) => r,
            None if self.learned_prflx >= self.config.max_peer_reflexive => {
                // Two symmetric NATs answer every check from a fresh port; learning each
                // one would go on forever. The check was answered; nothing more is learnt.
                self.stats.dropped += 1;
                return;
            }
            None => {
                self.learned_prflx += 1;
                let slot = if self.remote.len() >= self.config.max_candidates {
                    let Some(r) = self.free_remote_slot() else {
                        self.stats.dropped += 1;
                        return;
                    };
                    Some(r)
                } else {
                    None
                };
                let mut c = Candidate::peer_reflexive(input.source, input.source, prio);
                c.related_address = None;
                c.transport = input.transport;
                if input.transport == Transport::Tcp {
                    // RFC 6544 §7.2: a check over a connection the peer opened comes from
                    // its active side's ephemeral port.
                    c.tcp_type = Some(TcpType::Active);
                }
                c.component = self.local[l].candidate.component;
                c.foundation = format!("{:08x}", self.rng.next_u32());
                debug!(
                    "{}: peer-reflexive remote candidate {}",
                    self.id,
                    Redacted(input.source)
                );
                self.put_remote(slot, c)
            }
        };
        // RFC 8445 §7.3.1.4: the pair the request arrived on.
        let p = match self.find_pair_by_addr(input.destination, input.source, input.transport, true)
        {
            Some(p) => p,
            None => match self.push_pair(now, l, r) {
                Some(p) => p,
                None => return,
            },
        };
        self.pairs[p].counters.requests_received += 1;
        self.pairs[p].counters.responses_sent += 1;
        if self.config.lite {
            // RFC 8445 §7.3.1.5 (lite): a pair a check arrived on is valid; USE-CANDIDATE
            // selects it.
            let pair = &mut self.pairs[p];
            pair.state = PairState::Succeeded;
            pair.valid = true;
            pair.valid_pair = Some(p);
            self.first_valid_at.get_or_insert(now);
            if use_candidate {
                self.pairs[p].nominated = true;
                self.select(now, p);
            }
            return;
        }
        match self.pairs[p].state {
            PairState::Succeeded => {}
            PairState::InProgress => {
                // RFC 8445 §7.3.1.4: a fresh check; the running one no longer fails the pair
                // (a late response still counts).
                self.pairs[p].tx = None;
                self.pairs[p].state = PairState::Waiting;
                self.enqueue_triggered(p);
            }
            PairState::Frozen | PairState::Waiting | PairState::Failed => {
                self.pairs[p].state = PairState::Waiting;
                self.enqueue_triggered(p);
            }
        }
        // RFC 8445 §7.3.1.5: the controlled agent follows USE-CANDIDATE; the latest
        // nomination wins, which accepts renomination.
        if use_candidate && self.role == Role::Controlled {
            if self.pairs[p].state == PairState::Succeeded {
                let v = self.pairs[p].valid_pair.unwrap_or(p);
                self.pairs[v].nominated = true;
                self.select(now, v);
            } else {
                self.pairs[p].nominate_on_success = true;
            }
        }
    }

    fn drain_checks(&mut self, now: Instant) {
        while let Some(t) = self.checks.poll_transmit() {
            self.transmits.push_back(t);
        }
        while let Some(ev) = self.checks.poll_event() {
            match ev {
                ClientEvent::Response { id, payload, .. }
                    if self.gathers.iter().any(|g| g.tx == id) =>
                {
                    self.stun_answered(now, id, Some(&payload));
                }
                ClientEvent::TimedOut { id } if self.gathers.iter().any(|g| g.tx == id) => {
                    self.stun_answered(now, id, None);
                }
                ClientEvent::Response {
                    id,
                    class,
                    source,
                    destination,
                    transport,
                    rtt,
                    payload,
                } => {
                    let Some(tx) = self.transactions.remove(&id) else {
                        continue;
                    };
                    self.handle_check_response(
                        now,
                        tx,
                        id,
                        class,
                        (source, destination, transport),
                        rtt,
                        &payload,
                    );
                }
                ClientEvent::TimedOut { id } => {
                    let Some(tx) = self.transactions.remove(&id) else {
                        continue;
                    };
                    let pair = &mut self.pairs[tx.pair];
                    if pair.tx == Some(id) {
                        debug!("{}: check timed out", self.id);
                        pair.tx = None;
                        pair.state = PairState::Failed;
                        if tx.nominate {
                            if let Some(v) = pair.valid_pair {
                                self.pairs[v].valid = false;
                            }
                            if self.nominating == Some(tx.pair) {
                                self.nominating = None;
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_check_response(
        &mut self,
        now: Instant,
        tx: CheckTx,
        id: TransactionId,
        class: Class,
        (source, destination, transport): (SocketAddr, SocketAddr, Transport),
        rtt: Option<Duration>,
        payload: &[u8],
    ) {
        if tx.generation != self.generation || self.pairs[tx.pair].retired {
            return;
        }
        let Ok(msg) = Message::decode(payload) else {
            return;
        };
        let Some(remote_key) = self.remote_creds.as_ref().map(|c| c.key.clone()) else {
            return;
        };
        let p = tx.pair;
        if !cfg!(fuzzing) && msg.verify(&remote_key).is_err() {
            // The transaction is gone; check the pair again rather than trust the response.
            self.stats.unauthenticated += 1;
            if self.pairs[p].tx == Some(id) {
                self.pairs[p].tx = None;
                self.pairs[p].state = PairState::Waiting;
            }
            return;
        }
        let (l, r) = (self.pairs[p].local, self.pairs[p].remote);
        let pair_owns_tx = self.pairs[p].tx == Some(id);
        if pair_owns_tx {
            self.pairs[p].tx = None;
        }
        // RFC 8445 §7.2.5.2.1: the response must come back on the reversed path.
        if source != self.remote[r].candidate.address
            || destination != self.local[l].base
            || transport != self.remote[r].candidate.transport
        {
            debug!("{}: non-symmetric response", self.id);
            self.fail_pair(p, tx.nominate);
            return;
        }
        self.pairs[p].counters.responses_received += 1;
        if class == Class::Error {
            if msg.error_code().is_some_and(|e| e.code == 487) {
                // RFC 8445 §7.2.5.1: take the other role than the one in the request, and
                // check the pair again.
                self.stats.role_conflicts += 1;
                if self.role == tx.role {
                    self.set_role(tx.role.opposite());
                }
                self.pairs[p].state = PairState::Waiting;
                self.enqueue_triggered(p);
            } else {
                self.fail_pair(p, tx.nominate);
            }
            return;
        }
        let Some(mapped) = msg.mapped_address() else {
            self.fail_pair(p, tx.nominate);
            return;
        };
        if let Some(rtt) = rtt {
            let c = &mut self.pairs[p].counters;
            c.rtt_current = Some(rtt);
            c.rtt_total += rtt;
            c.rtt_samples += 1;
        } else {
            let rtt = now.saturating_duration_since(tx.sent);
            self.pairs[p].counters.rtt_current = Some(rtt);
        }
        // RFC 8445 §7.2.5.3.1: an unknown mapped address is a new peer-reflexive local
        // candidate with the priority the check carried.
        let base = self.local[l].base;
        let local_transport = self.local[l].candidate.transport;
        let valid_local =
            match self.local.iter().position(|c| {
                c.candidate.address == mapped && c.candidate.transport == local_transport
            }) {
                Some(i) => i,
                None if self.local.len() < self.config.max_candidates => {
                    let mut c = Candidate::peer_reflexive(mapped, base, tx.priority);
                    c.component = self.local[l].candidate.component;
                    c.transport = local_transport;
                    c.tcp_type = self.local[l].candidate.tcp_type;
                    c.foundation = self.local_foundation(
                        CandidateKind::PeerReflexive,
                        base,
                        local_transport,
                        None,
                    );
                    debug!(
                        "{}: peer-reflexive local candidate {}",
                        self.id,
                        Redacted(mapped)
                    );
                    self.local.push(Local { candidate: c, base });
                    self.local.len() - 1
                }
                None => l,
            };
        // RFC 8445 §7.2.5.3.2: the valid pair is the mapped address with the remote.
        let v = if valid_local == l {
            p
        } else {
            match self
                .pairs
                .iter()
                .position(|q| q.local == valid_local && q.remote == r && !q.retired)
            {
                Some(v) => v,
                // At the pair limit with nothing to evict, the checked pair stands in for
                // the valid pair: both send from the same base to the same remote.
                None => self.push_pair(now, valid_local, r).unwrap_or(p),
            }
        };
        trace!("{}: check succeeded", self.id);
        self.pairs[p].state = PairState::Succeeded;
        self.pairs[p].valid_pair = Some(v);
        self.pairs[v].state = PairState::Succeeded;
        self.pairs[v].valid = true;
        self.pairs[v].valid_pair = Some(v);
        self.first_valid_at.get_or_insert(now);
        // RFC 8445 §7.2.5.3.3: unfreeze pairs of the same foundation.
        let (lf, rf) = self.pair_foundation(p);
        let (lf, rf) = (lf.to_owned(), rf.to_owned());
        for q in 0..self.pairs.len() {
            if self.pairs[q].state == PairState::Frozen && self.pair_foundation(q) == (&lf, &rf) {
                self.pairs[q].state = PairState::Waiting;
            }
        }
        let nominated = (tx.nominate && self.role == Role::Controlling)
            || (self.pairs[p].nominate_on_success && self.role == Role::Controlled);
        if nominated {
            self.pairs[v].nominated = true;
            if self.nominating == Some(p) || self.nominating == Some(v) {
                self.nominating = None;
            }
            self.select(now, v);
        }
    }

    fn handle_consent_response(&mut self, now: Instant, input: &Received, tid: TransactionId) {
        let Some(tx) = self.consent_tx.remove(&tid) else {
            return;
        };
        let Ok(msg) = Message::decode(&input.payload) else {
            self.stats.dropped += 1;
            return;
        };
        let p = tx.pair;
        let remote_key = if self.pairs[p].generation == self.generation {
            self.remote_creds.as_ref().map(|c| c.key.clone())
        } else {
            self.old
                .as_ref()
                .and_then(|(_, r)| r.as_ref())
                .map(|c| c.key.clone())
        };
        let Some(key) = remote_key else {
            return;
        };
        if !cfg!(fuzzing) && msg.verify(&key).is_err() {
            self.stats.unauthenticated += 1;
            return;
        }
        let (l, r) = (self.pairs[p].local, self.pairs[p].remote);
        if msg.class != Class::Success
            || input.source != self.remote[r].candidate.address
            || input.destination != self.local[l].base
        {
            return;
        }
        let pair = &mut self.pairs[p];
        pair.counters.responses_received += 1;
        let rtt = now.saturating_duration_since(tx.sent);
        pair.counters.rtt_current = Some(rtt);
        pair.counters.rtt_total += rtt;
        pair.counters.rtt_samples += 1;
        if let Some(c) = &mut pair.consent {
            // RFC 7675 §5.1: consent is fresh again.
            c.last_response = now;
            c.missed = 0;
            if c.outstanding.is_some_and(|(t, _)| t == tid) {
                c.outstanding = None;
            }
        }
    }

    // ----- the scheduler -----

    fn run(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        self.drain_checks(now);
        self.expire_gathers(now);
        // Consent first: losing it changes what may be checked below.
        self.run_consent(now);
        self.run_keepalive(now);
        self.maybe_nominate(now);
        if self.next_check_at.is_none_or(|t| t <= now)
            && let Some((p, triggered)) = self.peek_check()
        {
            if triggered {
                self.triggered.retain(|&q| q != p);
            }
            self.last_check_triggered = triggered;
            let nominate = self.nominating == Some(p);
            self.send_check(now, p, nominate);
            self.next_check_at = Some(now + self.config.ta);
        }
        let live: Vec<usize> = self
            .triggered
            .iter()
            .copied()
            .filter(|&q| self.triggered_is_live(q))
            .collect();
        self.triggered = live.into();
        self.drain_checks(now);
        self.update_state();
    }

    fn wants_to_nominate(&self) -> bool {
        self.role == Role::Controlling
            && !self.config.lite
            && self.nominating.is_none()
            && self
                .selected
                .is_none_or(|s| self.pairs[s].generation != self.generation)
    }

    /// The best valid pair of this generation, and whether a better pair is still checked.
    fn best_valid(&self) -> Option<(usize, bool)> {
        let g = self.generation;
        let best = (0..self.pairs.len())
            .filter(|&i| {
                let p = &self.pairs[i];
                p.valid && !p.retired && p.generation == g
            })
            .max_by_key(|&i| self.pairs[i].priority)?;
        let prio = self.pairs[best].priority;
        let better_pending = self.pairs.iter().any(|p| {
            p.generation == g
                && !p.retired
                && p.priority > prio
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        Some((best, better_pending))
    }

    /// When the controlling agent stops waiting for a better pair and nominates.
    fn nomination_deadline(&self) -> Option<Instant> {
        if !self.wants_to_nominate() {
            return None;
        }
        let (_, better_pending) = self.best_valid()?;
        if !better_pending {
            return None;
        }
        self.first_valid_at
            .map(|t| t + self.config.nomination_timeout)
    }

    fn maybe_nominate(&mut self, now: Instant) {
        if !self.wants_to_nominate() {
            return;
        }
        let Some((best, better_pending)) = self.best_valid() else {
            return;
        };
        if better_pending && self.nomination_deadline().is_some_and(|t| now < t) {
            return;
        }
        // RFC 8445 §8.1.1: regular nomination, a check with USE-CANDIDATE on the valid pair.
        debug!("{}: nominating", self.id);
        self.nominating = Some(best);
        self.triggered.retain(|&q| q != best);
        self.triggered.push_front(best);
        self.pairs[best].state = PairState::Waiting;
    }

    fn ordinary_checks_allowed(&self) -> bool {
        // RFC 8445 §8.1.2: once a pair of this generation is selected, the waiting and
        // frozen pairs are abandoned.
        self.selected
            .is_none_or(|s| self.pairs[s].generation != self.generation)
    }

    /// The next check, per RFC 8445 §6.1.4.2: the triggered queue first, then the
    /// highest-priority Waiting pair, else the best Frozen pair of a foundation with nothing
    /// Waiting or In-Progress. Returns the pair and whether it came from the triggered queue.
    fn peek_check(&self) -> Option<(usize, bool)> {
        if self.config.lite || self.remote_creds.is_none() {
            return None;
        }
        let triggered = self
            .triggered
            .iter()
            .copied()
            .find(|&p| self.triggered_is_live(p));
        if let Some(p) = triggered
            && (self.nominating == Some(p) || !self.last_check_triggered)
        {
            return Some((p, true));
        }
        // Triggered and ordinary checks take turns, so that a stream of new peer-reflexive
        // candidates (a symmetric NAT on each side) cannot starve the ordinary checklist.
        match self.peek_ordinary() {
            Some(p) => Some((p, false)),
            None => triggered.map(|p| (p, true)),
        }
    }

    fn peek_ordinary(&self) -> Option<usize> {
        if !self.ordinary_checks_allowed() {
            return None;
        }
        let g = self.generation;
        let current = |i: usize| self.pairs[i].generation == g && !self.pairs[i].retired;
        if let Some(p) = (0..self.pairs.len())
            .filter(|&i| {
                current(i)
                    && self.pairs[i].state == PairState::Waiting
                    && !self.triggered.contains(&i)
            })
            .max_by_key(|&i| self.pairs[i].priority)
        {
            return Some(p);
        }
        let busy: Vec<(&str, &str)> = (0..self.pairs.len())
            .filter(|&i| {
                current(i)
                    && matches!(
                        self.pairs[i].state,
                        PairState::Waiting | PairState::InProgress
                    )
            })
            .map(|i| self.pair_foundation(i))
            .collect();
        (0..self.pairs.len())
            .filter(|&i| current(i) && self.pairs[i].state == PairState::Frozen)
            .filter(|&i| !busy.contains(&self.pair_foundation(i)))
            .max_by_key(|&i| self.pairs[i].priority)
    }

    /// Whether a triggered-queue entry still needs its check.
    fn triggered_is_live(&self, p: usize) -> bool {
        let pair = &self.pairs[p];
        !pair.retired
            && pair.generation == self.generation
            && (pair.state != PairState::Succeeded || self.nominating == Some(p))
            && pair.state != PairState::InProgress
    }

    fn send_check(&mut self, now: Instant, p: usize, nominate: bool) {
        let Some(remote) = self.remote_creds.clone() else {
            return;
        };
        let (l, r) = (self.pairs[p].local, self.pairs[p].remote);
        let local = &self.local[l];
        // RFC 8445 §7.2.2: PRIORITY is the priority a peer-reflexive candidate learnt from
        // this check would have.
        let prio = priority_for(
            CandidateKind::PeerReflexive,
            local.candidate.transport,
            local.candidate.local_preference(),
            local.candidate.component,
        );
        let username = format!("{}:{}", remote.creds.ufrag, self.local_creds.creds.ufrag);
        let id = self.checks.new_transaction_id();
        let mut msg = Message::new(Class::Request, Method::BINDING, id)
            .with(Attribute::Username(&username))
            .with(Attribute::Priority(prio));
        msg.push(match self.role {
            Role::Controlling => Attribute::IceControlling(self.tie_breaker),
            Role::Controlled => Attribute::IceControlled(self.tie_breaker),
        });
        let nominate = nominate && self.role == Role::Controlling;
        if nominate {
            msg.push(Attribute::UseCandidate);
        }
        let bytes = match msg.to_vec(Some(Integrity::Sha1(&remote.key)), true) {
            Ok(b) => b,
            Err(e) => {
                log::warn!("{}: cannot encode a check: {e}", self.id);
                self.pairs[p].state = PairState::Failed;
                return;
            }
        };
        let (base, dest, transport) = (
            local.base,
            self.remote[r].candidate.address,
            self.remote[r].candidate.transport,
        );
        match self
            .checks
            .start(now, base, dest, transport, Bytes::from(bytes))
        {
            Ok(id) => {
                trace!(
                    "{}: check {id}{}",
                    self.id,
                    if nominate { " (nominating)" } else { "" }
                );
                self.transactions.insert(
                    id,
                    CheckTx {
                        pair: p,
                        nominate,
                        role: self.role,
                        priority: prio,
                        generation: self.generation,
                        sent: now,
                    },
                );
                let pair = &mut self.pairs[p];
                pair.tx = Some(id);
                pair.state = PairState::InProgress;
                pair.counters.requests_sent += 1;
                pair.last_sent = Some(now);
                self.stats.checks_sent += 1;
            }
            Err(e) => {
                debug!("{}: check not started: {e}", self.id);
                self.pairs[p].state = PairState::Failed;
            }
        }
    }

    fn run_consent(&mut self, now: Instant) {
        if self.config.lite {
            return;
        }
        let Some(s) = self.selected else {
            return;
        };
        let Some(mut c) = self.pairs[s].consent else {
            return;
        };
        // RFC 7675 §5.1: consent expires 30 s after the last response.
        if now >= c.last_response + self.config.consent_timeout {
            info!("{}: consent expired", self.id);
            self.pairs[s].consent = None;
            self.pairs[s].state = PairState::Failed;
            // W3C `failed`: only a restart brings the agent back, so no pair of this
            // generation is used again.
            for p in &mut self.pairs {
                p.valid = false;
            }
            self.selected = None;
            self.consent_lost = true;
            self.stats.consent_expirations += 1;
            return;
        }
        if let Some((_, deadline)) = c.outstanding
            && now >= deadline
        {
            c.missed += 1;
            c.outstanding = None;
            c.next_send = now;
        }
        if c.outstanding.is_none() && now >= c.next_send {
            let creds = if self.pairs[s].generation == self.generation {
                self.remote_creds
                    .clone()
                    .map(|r| (r, self.local_creds.clone()))
            } else {
                self.old.clone().and_then(|(l, r)| r.map(|r| (r, l)))
            };
            let sent = creds.and_then(|(remote, local)| self.send_consent(now, s, &remote, &local));
            if let Some(id) = sent {
                c.outstanding = Some((id, now + self.config.consent_response_timeout));
            }
            // RFC 7675 §5.1: the interval is randomised to 0.8-1.2 times the base.
            let jitter = 0.8 + 0.4 * (self.rng.next_u32() as f64 / u32::MAX as f64);
            c.next_send = now + self.config.consent_interval.mul_f64(jitter);
        }
        self.pairs[s].consent = Some(c);
    }

    fn send_consent(
        &mut self,
        now: Instant,
        p: usize,
        remote: &Creds,
        local: &Creds,
    ) -> Option<TransactionId> {
        let (l, r) = (self.pairs[p].local, self.pairs[p].remote);
        let lc = &self.local[l];
        let prio = priority_for(
            CandidateKind::PeerReflexive,
            lc.candidate.transport,
            lc.candidate.local_preference(),
            lc.candidate.component,
        );
        let username = format!("{}:{}", remote.creds.ufrag, local.creds.ufrag);
        let id = self.checks.new_transaction_id();
        let mut msg = Message::new(Class::Request, Method::BINDING, id)
            .with(Attribute::Username(&username))
            .with(Attribute::Priority(prio));
        msg.push(match self.role {
            Role::Controlling => Attribute::IceControlling(self.tie_breaker),
            Role::Controlled => Attribute::IceControlled(self.tie_breaker),
        });
        let bytes = msg.to_vec(Some(Integrity::Sha1(&remote.key)), true).ok()?;
        if self.consent_tx.len() >= CONSENT_TX_KEPT {
            let oldest = self
                .consent_tx
                .iter()
                .min_by_key(|(_, t)| t.sent)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.consent_tx.remove(&k);
            }
        }
        self.consent_tx.insert(id, ConsentTx { pair: p, sent: now });
        let base = lc.base;
        let (dest, transport) = (
            self.remote[r].candidate.address,
            self.remote[r].candidate.transport,
        );
        let pair = &mut self.pairs[p];
        pair.counters.consent_requests_sent += 1;
        pair.counters.requests_sent += 1;
        pair.last_sent = Some(now);
        self.stats.consent_requests_sent += 1;
        self.transmits.push_back(Transmit {
            source: base,
            destination: dest,
            transport,
            payload: Bytes::from(bytes),
        });
        Some(id)
    }

    fn run_keepalive(&mut self, now: Instant) {
        let Some(s) = self.selected else {
            return;
        };
        if self.pairs[s].consent.is_some() {
            return;
        }
        let due = self.pairs[s]
            .last_sent
            .is_none_or(|t| now >= t + self.config.keepalive_interval);
        if !due {
            return;
        }
        // RFC 8445 §11: a Binding indication keeps the NAT bindings alive.
        let id = self.checks.new_transaction_id();
        let Ok(bytes) = Message::new(Class::Indication, Method::BINDING, id).to_vec(None, true)
        else {
            return;
        };
        let (l, r) = (self.pairs[s].local, self.pairs[s].remote);
        self.pairs[s].last_sent = Some(now);
        self.stats.keepalives_sent += 1;
        self.transmits.push_back(Transmit {
            source: self.local[l].base,
            destination: self.remote[r].candidate.address,
            transport: self.remote[r].candidate.transport,
            payload: Bytes::from(bytes),
        });
    }

    fn update_state(&mut self) {
        let g = self.generation;
        // Runs for every datagram: the pairs are walked in place, never collected.
        let current = || {
            self.pairs
                .iter()
                .filter(move |p| p.generation == g && !p.retired)
        };
        let selected = self.selected.map(|s| &self.pairs[s]);
        let state = if self.consent_lost && self.selected.is_none() {
            State::Failed
        } else if selected.is_some() || current().any(|p| p.valid) {
            let disconnected = selected
                .and_then(|p| p.consent)
                .is_some_and(|c| c.missed >= self.config.consent_missed_for_disconnected.max(1));
            let selected_now = selected.is_some_and(|p| p.generation == g);
            let checking =
                current().any(|p| p.state == PairState::InProgress) || !self.triggered.is_empty();
            if disconnected {
                State::Disconnected
            } else if selected_now
                && !checking
                && self.remote_end_of_candidates
                && self.gathering == GatheringState::Complete
            {
                State::Completed
            } else {
                State::Connected
            }
        } else if current().next().is_none() {
            if self.remote_end_of_candidates
                && self.gathering == GatheringState::Complete
                && self.remote_creds.is_some()
                && !self.remote.is_empty()
            {
                State::Failed
            } else {
                State::New
            }
        } else if self.remote_end_of_candidates
            && self.gathering == GatheringState::Complete
            && self.triggered.is_empty()
            && current().all(|p| p.state == PairState::Failed)
        {
            State::Failed
        } else {
            State::Checking
        };
        self.set_state(state);
    }

    // ----- helpers -----

    fn drain_turn(&mut self, now: Instant, i: usize) {
        while let Some(ev) = self.turns[i].client.poll_event() {
            match ev {
                weft_turn::Event::Allocated {
                    relayed, mapped, ..
                } => {
                    let turn = &mut self.turns[i];
                    turn.relayed = Some(relayed);
                    turn.pending = false;
                    let mapped = mapped.unwrap_or(turn.base);
                    let server = turn.server.ip();
                    // Relaying over UDP to the server beats TCP, which beats TLS (each
                    // adds head-of-line blocking or more), as browsers rank them.
                    let pref = match turn.transport {
                        Transport::Udp => crate::candidate::MAX_LOCAL_PREFERENCE,
                        Transport::Tcp => crate::candidate::MAX_LOCAL_PREFERENCE / 2,
                        Transport::Tls => crate::candidate::MAX_LOCAL_PREFERENCE / 4,
                    };
                    let mut c = Candidate::relayed(relayed, mapped).with_local_preference(pref);
                    // A relayed candidate is its own base (RFC 8445 §5.1.1.2).
                    c.foundation = self.local_foundation(
                        CandidateKind::Relayed,
                        relayed,
                        Transport::Udp,
                        Some(server),
                    );
                    match self.add_local(now, c) {
                        Ok(c) => self.events.push_back(Event::LocalCandidate(c)),
                        Err(e) => debug!("{}: relayed candidate refused: {e}", self.id),
                    }
                    self.update_gathering();
                }
                weft_turn::Event::AllocationFailed { code, reason } => {
                    let turn = &mut self.turns[i];
                    info!("{}: allocation on {} failed: {code}", self.id, turn.url);
                    let was_pending = std::mem::replace(&mut turn.pending, false);
                    self.events.push_back(Event::CandidateError {
                        url: turn.url.clone(),
                        // weft-turn says 0 for silence; W3C says 701.
                        code: if code == 0 { UNREACHABLE } else { code },
                        text: reason,
                    });
                    if !was_pending {
                        // A lost allocation: its candidate's pairs can no longer work.
                        turn.lost = true;
                        if let Some(r) = turn.relayed {
                            for p in 0..self.pairs.len() {
                                if self.local[self.pairs[p].local].base == r {
                                    self.pairs[p].state = PairState::Failed;
                                    self.pairs[p].valid = false;
                                }
                            }
                        }
                    }
                    self.update_gathering();
                }
                weft_turn::Event::Data { peer, data } => {
                    if let Some(relayed) = self.turns[i].relayed {
                        self.handle_datagram(
                            now,
                            Received {
                                source: peer,
                                destination: relayed,
                                transport: Transport::Udp,
                                payload: data,
                            },
                        );
                    }
                }
                other => trace!("{}: turn {other:?}", self.id),
            }
        }
    }

    /// Asks the TURN server behind a relayed local candidate to let `peer` in (RFC 8656 §9).
    fn permit(&mut self, now: Instant, l: usize, peer: std::net::IpAddr) {
        let base = self.local[l].base;
        let Some(turn) = self.turns.iter_mut().find(|t| t.relayed == Some(base)) else {
            return;
        };
        if turn.permitted.contains(&peer) {
            return;
        }
        match turn.client.create_permission(now, peer) {
            Ok(()) => turn.permitted.push(peer),
            Err(e) => debug!("{}: permission not requested: {e}", self.id),
        }
    }

    /// The pending STUN request a response (by its transaction id) answers.
    fn gather_answered_by(&self, input: &Received) -> Option<usize> {
        if self.gathers.is_empty()
            || !matches!(
                weft_stun::peek_class(&input.payload),
                Some(Class::Success | Class::Error)
            )
        {
            return None;
        }
        let tid = transaction_id(&input.payload);
        self.gathers.iter().position(|g| g.tx == tid)
    }

    /// A STUN request for a server-reflexive candidate ended: answered (`payload`) or timed
    /// out.
    fn stun_answered(&mut self, now: Instant, id: TransactionId, payload: Option<&[u8]>) {
        let Some(i) = self.gathers.iter().position(|g| g.tx == id) else {
            return;
        };
        let g = self.gathers.remove(i);
        let msg = payload.and_then(|p| Message::decode(p).ok());
        let outcome = match &msg {
            None => Err((UNREACHABLE, "no answer from the stun server".to_owned())),
            Some(m) if m.class == Class::Error => Err(m.error_code().map_or_else(
                || (UNREACHABLE, "error response without a code".to_owned()),
                |e| (e.code, e.reason.to_string()),
            )),
            Some(m) => m
                .mapped_address()
                .ok_or((UNREACHABLE, "no mapped address in the answer".to_owned())),
        };
        match outcome {
            Err((code, text)) => {
                info!("{}: stun {} failed: {code} {text}", self.id, g.url);
                self.events.push_back(Event::CandidateError {
                    url: g.url,
                    code,
                    text,
                });
            }
            // No NAT: the server saw the host candidate itself, which says it all (this is
            // what browsers do too).
            Ok(mapped) if mapped == g.base => {
                debug!("{}: {} sees the host address", self.id, g.url);
            }
            Ok(mapped) if mapped.is_ipv4() != g.base.is_ipv4() => {
                debug!("{}: {} mapped to another family", self.id, g.url);
                self.stats.dropped += 1;
            }
            Ok(mapped) => {
                let known = self.local.iter().any(|l| {
                    l.candidate.address == mapped && l.candidate.transport == Transport::Udp
                });
                // The host candidate's local preference carries over (RFC 8445 §5.1.2.1).
                let pref = self
                    .local
                    .iter()
                    .find(|l| l.candidate.kind == CandidateKind::Host && l.base == g.base)
                    .map_or(crate::candidate::MAX_LOCAL_PREFERENCE, |l| {
                        l.candidate.local_preference()
                    });
                let mut c = Candidate::server_reflexive(mapped, g.base).with_local_preference(pref);
                c.foundation = self.local_foundation(
                    CandidateKind::ServerReflexive,
                    g.base,
                    Transport::Udp,
                    Some(g.server.ip()),
                );
                match self.add_local(now, c) {
                    Ok(c) if !known => self.events.push_back(Event::LocalCandidate(c)),
                    Ok(_) => {}
                    Err(e) => debug!("{}: server-reflexive candidate refused: {e}", self.id),
                }
            }
        }
        self.update_gathering();
    }

    /// Gives up on STUN requests older than `Config::stun_timeout`.
    fn expire_gathers(&mut self, now: Instant) {
        while let Some(g) = self.gathers.iter().find(|g| g.deadline <= now) {
            let id = g.tx;
            self.checks.cancel(id);
            self.stun_answered(now, id, None);
        }
    }

    fn update_gathering(&mut self) {
        let pending = self.turns.iter().any(|t| t.pending) || !self.gathers.is_empty();
        let g = if self.local_gathering_done && !pending {
            GatheringState::Complete
        } else if self.local.is_empty() && !pending && !self.local_gathering_done {
            GatheringState::New
        } else {
            GatheringState::Gathering
        };
        if g != GatheringState::New {
            self.set_gathering(g);
        }
    }

    fn select(&mut self, now: Instant, v: usize) {
        if self.selected == Some(v) {
            return;
        }
        let jitter = 0.8 + 0.4 * (self.rng.next_u32() as f64 / u32::MAX as f64);
        let consent = Consent {
            last_response: now,
            next_send: now + self.config.consent_interval.mul_f64(jitter),
            outstanding: None,
            missed: 0,
        };
        self.pairs[v].consent = (!self.config.lite).then_some(consent);
        if let Some(old) = self.selected {
            self.pairs[old].consent = None;
            if self.pairs[old].generation != self.pairs[v].generation {
                self.pairs[old].retired = true;
            }
        }
        if self.pairs[v].generation == self.generation {
            // RFC 8445 §8.1.2: checks of lower-priority pairs stop once a pair is selected.
            let floor = self.pairs[v].priority;
            for q in 0..self.pairs.len() {
                let pair = &mut self.pairs[q];
                if pair.state == PairState::InProgress && pair.priority < floor && q != v {
                    if let Some(id) = pair.tx.take() {
                        self.checks.cancel(id);
                        self.transactions.remove(&id);
                    }
                    pair.state = PairState::Waiting;
                }
            }
            // The previous generation's pair is done once this one is selected.
            for p in self
                .pairs
                .iter_mut()
                .filter(|p| p.generation != self.generation)
            {
                p.retired = true;
                p.consent = None;
            }
            self.old = None;
        }
        self.pairs[v].last_sent.get_or_insert(now);
        let (base, peer) = (
            self.local[self.pairs[v].local].base,
            self.remote[self.pairs[v].remote].candidate.address,
        );
        if let Some(turn) = self.turns.iter_mut().find(|t| t.relayed == Some(base)) {
            // RFC 8656 §12: a channel makes the relayed data 36 bytes per packet cheaper.
            if let Err(e) = turn.client.bind_channel(now, peer) {
                debug!("{}: no channel: {e}", self.id);
            }
        }
        self.selected = Some(v);
        self.consent_lost = false;
        self.consent_tx.retain(|_, t| t.pair == v);
        let (l, r) = (self.pairs[v].local, self.pairs[v].remote);
        info!(
            "{}: selected {} {} -> {} {}",
            self.id,
            self.local[l].candidate.kind,
            Redacted(self.local[l].candidate.address),
            self.remote[r].candidate.kind,
            Redacted(self.remote[r].candidate.address)
        );
        self.stats.selected_pair_changes += 1;
        self.events.push_back(Event::SelectedPairChanged {
            local: self.local[l].candidate.clone(),
            remote: self.remote[r].candidate.clone(),
        });
    }

    fn data_pair(&self) -> Option<usize> {
        if let Some(s) = self.selected {
            return Some(s);
        }
        if self.consent_lost {
            return None;
        }
        (0..self.pairs.len())
            .filter(|&i| self.pairs[i].valid && !self.pairs[i].retired)
            .max_by_key(|&i| self.pairs[i].priority)
    }

    fn fail_pair(&mut self, p: usize, nominate: bool) {
        self.pairs[p].state = PairState::Failed;
        if nominate {
            if let Some(v) = self.pairs[p].valid_pair {
                self.pairs[v].valid = false;
            }
            self.pairs[p].valid = false;
            if self.nominating == Some(p) {
                self.nominating = None;
            }
        }
    }

    fn enqueue_triggered(&mut self, p: usize) {
        if !self.triggered.contains(&p) {
            self.triggered.push_back(p);
        }
    }

    fn set_role(&mut self, role: Role) {
        if self.role == role {
            return;
        }
        info!("{}: role {role:?}", self.id);
        self.role = role;
        if role == Role::Controlled {
            self.nominating = None;
        }
        self.recompute_priorities();
        self.events.push_back(Event::RoleChanged(role));
    }

    fn recompute_priorities(&mut self) {
        for i in 0..self.pairs.len() {
            let (l, r) = (self.pairs[i].local, self.pairs[i].remote);
            self.pairs[i].priority = self.compute_priority(l, r);
        }
    }

    fn compute_priority(&self, l: usize, r: usize) -> u64 {
        let lp = self.local[l].candidate.priority;
        let rp = self.remote[r].candidate.priority;
        match self.role {
            Role::Controlling => pair_priority(lp, rp),
            Role::Controlled => pair_priority(rp, lp),
        }
    }

    fn pair_foundation(&self, p: usize) -> (&str, &str) {
        let p = &self.pairs[p];
        (
            &self.local[p.local].candidate.foundation,
            &self.remote[p.remote].candidate.foundation,
        )
    }

    /// RFC 8445 §6.1.2.2-§6.1.2.5: pairs local and remote candidates of the same component,
    /// transport and address family; a server-reflexive local candidate is replaced by its
    /// base, and a pair with the same base and remote as an existing one is redundant.
    fn form_pair(&mut self, now: Instant, l: usize, r: usize) {
        if self.config.lite {
            return;
        }
        let (lc, rc) = (&self.local[l].candidate, &self.remote[r].candidate);
        if lc.component != rc.component
            || lc.transport != rc.transport
            || lc.address.is_ipv4() != rc.address.is_ipv4()
            || lc.kind == CandidateKind::PeerReflexive
        {
            return;
        }
        // RFC 6544 §6.2: a local active candidate pairs with a remote passive one. A local
        // passive candidate waits for the remote active side to connect: its check arrives
        // from an ephemeral port and makes a peer-reflexive pair (§7.2), so pairing it with
        // the remote's port-9 address would only make a pair nobody can check.
        // Simultaneous-open is not supported.
        if lc.transport == Transport::Tcp
            && !(lc.tcp_type == Some(TcpType::Active) && rc.tcp_type == Some(TcpType::Passive))
        {
            return;
        }
        let base = self.local[l].base;
        let prio = self.compute_priority(l, r);
        if let Some(q) = self.find_pair_by_addr(base, rc.address, rc.transport, true) {
            let pair = &mut self.pairs[q];
            if prio > pair.priority && pair.state == PairState::Frozen {
                pair.local = l;
                pair.priority = prio;
            }
            return;
        }
        self.push_pair(now, l, r);
    }

    fn push_pair(&mut self, now: Instant, l: usize, r: usize) -> Option<usize> {
        if self.local[l].candidate.kind == CandidateKind::Relayed {
            let ip = self.remote[r].candidate.address.ip();
            self.permit(now, l, ip);
        }
        let prio = self.compute_priority(l, r);
        let live = self
            .pairs
            .iter()
            .filter(|p| !p.retired && p.generation == self.generation)
            .count();
        let protected = |i: usize| Some(i) == self.selected || Some(i) == self.nominating;
        let slot = if live >= self.config.max_pairs {
            // RFC 8445 §6.1.2.5: keep the highest-priority pairs. Failed pairs go first: a
            // symmetric NAT on each side makes a new peer-reflexive candidate per check.
            let current = |i: usize| {
                let p = &self.pairs[i];
                !p.retired && p.generation == self.generation && !protected(i)
            };
            let failed = (0..self.pairs.len())
                .filter(|&i| current(i) && self.pairs[i].state == PairState::Failed)
                .min_by_key(|&i| self.pairs[i].priority);
            let frozen = (0..self.pairs.len())
                .filter(|&i| current(i) && self.pairs[i].state == PairState::Frozen)
                .min_by_key(|&i| self.pairs[i].priority)
                .filter(|&i| self.pairs[i].priority < prio);
            self.stats.pairs_pruned += 1;
            Some(failed.or(frozen)?)
        } else {
            (0..self.pairs.len()).find(|&i| self.pairs[i].retired && !protected(i))
        };
        match slot {
            Some(i) => {
                self.recycle_pair(i);
                self.pairs[i] = new_pair(l, r, prio, self.generation);
                Some(i)
            }
            None => {
                self.pairs.push(new_pair(l, r, prio, self.generation));
                Some(self.pairs.len() - 1)
            }
        }
    }

    /// Forgets everything that points at pair slot `i` before it is reused.
    fn recycle_pair(&mut self, i: usize) {
        self.pairs[i].retired = true;
        let stale: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.pair == i)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.checks.cancel(id);
            self.transactions.remove(&id);
        }
        self.consent_tx.retain(|_, t| t.pair != i);
        self.triggered.retain(|&q| q != i);
        for p in &mut self.pairs {
            if p.valid_pair == Some(i) {
                p.valid_pair = None;
            }
        }
    }

    /// A remote slot to reuse at the candidate limit: a peer-reflexive candidate of this
    /// generation whose every pair failed. Its pairs are retired.
    fn free_remote_slot(&mut self) -> Option<usize> {
        let g = self.generation;
        let r = (0..self.remote.len()).find(|&r| {
            self.remote[r].generation == g
                && self.remote[r].candidate.kind == CandidateKind::PeerReflexive
                && self.pairs.iter().enumerate().all(|(i, p)| {
                    p.remote != r
                        || p.retired
                        || (p.state == PairState::Failed
                            && Some(i) != self.selected
                            && Some(i) != self.nominating)
                })
        })?;
        for i in 0..self.pairs.len() {
            if self.pairs[i].remote == r && !self.pairs[i].retired {
                self.recycle_pair(i);
            }
        }
        Some(r)
    }

    fn put_remote(&mut self, slot: Option<usize>, candidate: Candidate) -> usize {
        let remote = Remote {
            candidate,
            generation: self.generation,
        };
        match slot {
            Some(r) => {
                self.remote[r] = remote;
                r
            }
            None => {
                self.remote.push(remote);
                self.remote.len() - 1
            }
        }
    }

    fn find_pair_by_addr(
        &self,
        base: SocketAddr,
        remote: SocketAddr,
        transport: Transport,
        current_only: bool,
    ) -> Option<usize> {
        (0..self.pairs.len())
            .filter(|&i| {
                let p = &self.pairs[i];
                !p.retired
                    && (!current_only || p.generation == self.generation)
                    && self.local[p.local].base == base
                    && self.remote[p.remote].candidate.address == remote
                    && self.remote[p.remote].candidate.transport == transport
            })
            .max_by_key(|&i| self.pairs[i].priority)
    }

    fn find_remote(&self, address: SocketAddr, transport: Transport) -> Option<usize> {
        self.remote.iter().position(|r| {
            r.generation == self.generation
                && r.candidate.address == address
                && r.candidate.transport == transport
        })
    }

    /// The local candidate whose base received a datagram: the host or relayed one itself.
    fn local_at(&self, destination: SocketAddr, transport: Transport) -> Option<usize> {
        self.local
            .iter()
            .position(|l| {
                l.base == destination
                    && l.candidate.transport == transport
                    && matches!(
                        l.candidate.kind,
                        CandidateKind::Host | CandidateKind::Relayed
                    )
            })
            .or_else(|| {
                self.local
                    .iter()
                    .position(|l| l.base == destination && l.candidate.transport == transport)
            })
    }

    /// RFC 8445 §5.1.1.3: one foundation per type, base IP, transport and, for the
    /// candidates the agent gathers from servers, the server's IP (a server-reflexive
    /// candidate the driver adds counts as coming from one server per base).
    fn local_foundation(
        &mut self,
        kind: CandidateKind,
        base: SocketAddr,
        transport: Transport,
        server: Option<std::net::IpAddr>,
    ) -> String {
        let key = (kind, base.ip(), transport, server);
        let i = match self.local_foundations.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.local_foundations.push(key);
                self.local_foundations.len() - 1
            }
        };
        (i + 1).to_string()
    }

    fn set_gathering(&mut self, g: GatheringState) {
        if self.gathering != g {
            debug!("{}: gathering {g:?}", self.id);
            self.gathering = g;
            self.events.push_back(Event::GatheringStateChanged(g));
        }
    }

    fn set_state(&mut self, s: State) {
        if self.state != s {
            info!("{}: {:?} -> {s:?}", self.id, self.state);
            self.state = s;
            self.events.push_back(Event::StateChanged(s));
        }
    }

    fn respond(&mut self, input: &Received, msg: &Message<'_>, key: Option<&IntegrityKey>) {
        if self.transmits.len() >= self.config.max_queue {
            self.stats.dropped += 1;
            return;
        }
        let Ok(bytes) = msg.to_vec(key.map(Integrity::Sha1), true) else {
            return;
        };
        self.transmits.push_back(Transmit {
            source: input.destination,
            destination: input.source,
            transport: input.transport,
            payload: Bytes::from(bytes),
        });
    }

    fn error_response(
        &mut self,
        input: &Received,
        req: &Message<'_>,
        code: ErrorCode<'static>,
        key: Option<&IntegrityKey>,
    ) {
        debug!(
            "{}: answering {} to {}",
            self.id,
            code.code,
            Redacted(input.source)
        );
        let resp = Message::new(Class::Error, req.method, req.transaction_id)
            .with(Attribute::ErrorCode(code));
        self.respond(input, &resp, key);
    }

    fn drop_input(&mut self, input: &Received, why: &str) {
        debug!("{}: dropped {why} from {}", self.id, Redacted(input.source));
        self.stats.dropped += 1;
    }

    fn usable(&self) -> Result<(), Error> {
        if self.state == State::Closed {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |last| last.max(now));
        self.now = Some(now);
        now
    }
}

fn new_pair(local: usize, remote: usize, priority: u64, generation: u32) -> Pair {
    Pair {
        local,
        remote,
        priority,
        state: PairState::Frozen,
        generation,
        valid: false,
        nominated: false,
        nominate_on_success: false,
        valid_pair: None,
        tx: None,
        retired: false,
        consent: None,
        last_sent: None,
        counters: Counters::default(),
    }
}

fn check_candidate(c: &Candidate) -> Result<(), Error> {
    if c.component == 0 || c.component > 256 {
        return Err(Error::BadCandidate("component must be 1-256"));
    }
    if !c.foundation.is_empty() && !crate::candidate::is_foundation(&c.foundation) {
        return Err(Error::BadCandidate("a foundation is 1-32 ice-chars"));
    }
    if c.transport == Transport::Tls {
        return Err(Error::BadCandidate("candidates are udp or tcp"));
    }
    if c.address.ip().is_unspecified() {
        return Err(Error::BadCandidate("unspecified address"));
    }
    Ok(())
}

/// The transaction id of a message that `peek_class` accepted (so at least 20 bytes).
fn transaction_id(buf: &[u8]) -> TransactionId {
    let mut id = [0; 12];
    if let Some(b) = buf.get(8..20) {
        id.copy_from_slice(b);
    }
    TransactionId::new(id)
}

/// A seed from OS entropy, through weft-stun's generator (itself seeded by OpenSSL).
pub(crate) fn os_seed() -> [u8; 32] {
    let mut c = weft_stun::Client::new(ClientConfig::default());
    let mut seed = [0; 32];
    for chunk in seed.chunks_mut(12) {
        let id = c.new_transaction_id();
        chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
    }
    seed
}

#[cfg(test)]
// Tests pick an arbitrary origin for the time they pass in.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::candidate::priority;

    const LOCAL_PWD: &str = "localpassword0123456789";
    const REMOTE_PWD: &str = "remotepassword012345678";

    fn local() -> SocketAddr {
        "192.0.2.1:5000".parse().unwrap()
    }

    fn remote(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 2], port))
    }

    fn agent(role: Role) -> (Agent, Instant) {
        let now = Instant::now();
        let mut c = Config::new(Credentials::new("locl", LOCAL_PWD).unwrap(), role);
        c.rng_seed = Some([5; 32]);
        let mut a = Agent::new(c).unwrap();
        a.add_local_candidate(now, Candidate::host(local()))
            .unwrap();
        a.set_remote_credentials(now, Credentials::new("remo", REMOTE_PWD).unwrap())
            .unwrap();
        (a, now)
    }

    /// A check from the peer at `from`, signed with the agent's password.
    fn check(from: SocketAddr, attrs: &[Attribute<'_>], tid: u8) -> Received {
        let key = IntegrityKey::short_term(LOCAL_PWD).unwrap();
        let mut m = Message::new(
            Class::Request,
            Method::BINDING,
            TransactionId::new([tid; 12]),
        )
        .with(Attribute::Username("locl:remo"))
        .with(Attribute::Priority(1_853_824_767));
        for a in attrs {
            m.push(a.clone());
        }
        Received {
            source: from,
            destination: local(),
            transport: Transport::Udp,
            payload: Bytes::from(m.to_vec(Some(Integrity::Sha1(&key)), true).unwrap()),
        }
    }

    /// The peer's success response to a check the agent sent.
    fn answer(t: &Transmit) -> Received {
        let key = IntegrityKey::short_term(REMOTE_PWD).unwrap();
        let req = Message::decode(&t.payload).unwrap();
        let resp = Message::new(Class::Success, Method::BINDING, req.transaction_id)
            .with(Attribute::XorMappedAddress(t.source));
        Received {
            source: t.destination,
            destination: t.source,
            transport: t.transport,
            payload: Bytes::from(resp.to_vec(Some(Integrity::Sha1(&key)), true).unwrap()),
        }
    }

    fn transmits(a: &mut Agent) -> Vec<Transmit> {
        std::iter::from_fn(|| a.poll_transmit()).collect()
    }

    fn events(a: &mut Agent) -> Vec<Event> {
        std::iter::from_fn(|| a.poll_event()).collect()
    }

    fn responses_to(ts: &[Transmit], tid: u8) -> Vec<Message<'_>> {
        ts.iter()
            .filter_map(|t| Message::decode(&t.payload).ok())
            .filter(|m| m.transaction_id == TransactionId::new([tid; 12]))
            .collect()
    }

    #[test]
    fn pair_priority_follows_rfc8445() {
        // RFC 8445 §6.1.2.3 with a host (G) and a server-reflexive (D) candidate.
        let g = priority(CandidateKind::Host, 65535, 1);
        let d = priority(CandidateKind::ServerReflexive, 65535, 1);
        assert_eq!(
            pair_priority(g, d),
            (u64::from(d) << 32) + 2 * u64::from(g) + 1
        );
        assert_eq!(pair_priority(d, g), (u64::from(d) << 32) + 2 * u64::from(g));
    }

    #[test]
    fn answers_a_check_with_its_source_signed() {
        let (mut a, now) = agent(Role::Controlled);
        transmits(&mut a);
        a.handle_input(now, check(remote(6000), &[Attribute::IceControlling(1)], 1));
        let ts = transmits(&mut a);
        let resp = &responses_to(&ts, 1)[0];
        assert_eq!(resp.class, Class::Success);
        assert_eq!(resp.mapped_address(), Some(remote(6000)));
        resp.verify(&IntegrityKey::short_term(LOCAL_PWD).unwrap())
            .unwrap();
        assert!(resp.get(weft_stun::AttrType::FINGERPRINT).is_some());
        // The unknown source became a peer-reflexive remote candidate with the check's
        // PRIORITY, and a triggered check goes back to it.
        let r = a.remote_candidates().next().unwrap();
        assert_eq!(r.kind, CandidateKind::PeerReflexive);
        assert_eq!(r.priority, 1_853_824_767);
        assert!(ts.iter().any(|t| t.destination == remote(6000)
            && Message::decode(&t.payload).unwrap().class == Class::Request));
    }

    #[test]
    fn refuses_unauthenticated_checks() {
        let (mut a, now) = agent(Role::Controlled);
        transmits(&mut a);
        let mut bad = check(remote(6000), &[], 2);
        let mut bytes = bad.payload.to_vec();
        let n = bytes.len();
        bytes[n - 13] ^= 1; // inside MESSAGE-INTEGRITY
        // Recompute nothing: the fingerprint now fails too, so the message does not decode.
        bad.payload = Bytes::from(bytes);
        a.handle_input(now, bad);
        assert!(transmits(&mut a).is_empty());
        assert_eq!(a.stats().dropped, 1);

        // A wrong password: 401.
        let key = IntegrityKey::short_term("wrongpassword0123456789").unwrap();
        let m = Message::new(Class::Request, Method::BINDING, TransactionId::new([3; 12]))
            .with(Attribute::Username("locl:remo"))
            .with(Attribute::Priority(1));
        let input = Received {
            payload: Bytes::from(m.to_vec(Some(Integrity::Sha1(&key)), true).unwrap()),
            ..check(remote(6000), &[], 3)
        };
        a.handle_input(now, input);
        let ts = transmits(&mut a);
        assert_eq!(responses_to(&ts, 3)[0].error_code().unwrap().code, 401);
        // No USERNAME: 400.
        let m = Message::new(Class::Request, Method::BINDING, TransactionId::new([4; 12]));
        let input = Received {
            payload: Bytes::from(m.to_vec(None, true).unwrap()),
            ..check(remote(6000), &[], 4)
        };
        a.handle_input(now, input);
        let ts = transmits(&mut a);
        assert_eq!(responses_to(&ts, 4)[0].error_code().unwrap().code, 400);
        assert_eq!(a.stats().unauthenticated, 1);
        assert_eq!(a.remote_candidates().count(), 0);
    }

    #[test]
    fn role_conflict_answers_487_or_yields() {
        let (mut a, now) = agent(Role::Controlling);
        transmits(&mut a);
        // Our tie-breaker is larger than 0: we stay controlling and answer 487.
        a.handle_input(now, check(remote(6000), &[Attribute::IceControlling(0)], 5));
        let ts = transmits(&mut a);
        let resp = &responses_to(&ts, 5)[0];
        assert_eq!(resp.error_code().unwrap().code, 487);
        resp.verify(&IntegrityKey::short_term(LOCAL_PWD).unwrap())
            .unwrap();
        assert_eq!(a.role(), Role::Controlling);
        // A larger tie-breaker wins: we become controlled and answer with success.
        a.handle_input(
            now,
            check(remote(6000), &[Attribute::IceControlling(u64::MAX)], 6),
        );
        let ts = transmits(&mut a);
        assert_eq!(responses_to(&ts, 6)[0].class, Class::Success);
        assert_eq!(a.role(), Role::Controlled);
        assert!(events(&mut a).contains(&Event::RoleChanged(Role::Controlled)));
    }

    #[test]
    fn a_487_response_swaps_the_role_and_checks_again() {
        let (mut a, now) = agent(Role::Controlling);
        a.add_remote_candidate(now, Candidate::host(remote(6000)))
            .unwrap();
        let ts = transmits(&mut a);
        let req = Message::decode(&ts[0].payload).unwrap();
        assert!(req.get(weft_stun::AttrType::ICE_CONTROLLING).is_some());
        let key = IntegrityKey::short_term(REMOTE_PWD).unwrap();
        let resp = Message::new(Class::Error, Method::BINDING, req.transaction_id)
            .with(Attribute::ErrorCode(ErrorCode::ROLE_CONFLICT));
        a.handle_input(
            now,
            Received {
                source: ts[0].destination,
                destination: ts[0].source,
                transport: Transport::Udp,
                payload: Bytes::from(resp.to_vec(Some(Integrity::Sha1(&key)), true).unwrap()),
            },
        );
        assert_eq!(a.role(), Role::Controlled);
        a.handle_timeout(now + Duration::from_millis(50));
        let ts = transmits(&mut a);
        let again = Message::decode(&ts[0].payload).unwrap();
        assert!(again.get(weft_stun::AttrType::ICE_CONTROLLED).is_some());
    }

    #[test]
    fn controlled_side_follows_nomination_and_renomination() {
        let (mut a, mut now) = agent(Role::Controlled);
        a.add_remote_candidate(now, Candidate::host(remote(6000)))
            .unwrap();
        a.add_remote_candidate(now, Candidate::host(remote(7000)))
            .unwrap();
        // Answer both of the agent's checks.
        for _ in 0..2 {
            for t in transmits(&mut a) {
                a.handle_input(now, answer(&t));
            }
            now += Duration::from_millis(50);
            a.handle_timeout(now);
        }
        assert_eq!(a.state(), State::Connected);
        assert!(a.selected_pair().is_none(), "no nomination yet");
        // Chrome nominates the first pair...
        a.handle_input(
            now,
            check(
                remote(6000),
                &[Attribute::IceControlling(9), Attribute::UseCandidate],
                7,
            ),
        );
        assert_eq!(a.selected_pair().unwrap().1.address, remote(6000));
        // ...then renominates the other one: the latest nomination wins.
        a.handle_input(
            now,
            check(
                remote(7000),
                &[Attribute::IceControlling(9), Attribute::UseCandidate],
                8,
            ),
        );
        assert_eq!(a.selected_pair().unwrap().1.address, remote(7000));
        let changes: Vec<SocketAddr> = events(&mut a)
            .into_iter()
            .filter_map(|e| match e {
                Event::SelectedPairChanged { remote, .. } => Some(remote.address),
                _ => None,
            })
            .collect();
        assert_eq!(changes, vec![remote(6000), remote(7000)]);
        // Data now goes to the renominated pair.
        transmits(&mut a);
        a.send(now, Bytes::from_static(b"x")).unwrap();
        assert_eq!(transmits(&mut a)[0].destination, remote(7000));
    }

    #[test]
    fn nomination_before_the_check_succeeds_selects_on_success() {
        let (mut a, now) = agent(Role::Controlled);
        a.add_remote_candidate(now, Candidate::host(remote(6000)))
            .unwrap();
        let ours = transmits(&mut a);
        a.handle_input(
            now,
            check(
                remote(6000),
                &[Attribute::IceControlling(9), Attribute::UseCandidate],
                9,
            ),
        );
        assert!(a.selected_pair().is_none());
        a.handle_input(now, answer(&ours[0]));
        assert_eq!(a.selected_pair().unwrap().1.address, remote(6000));
    }

    #[test]
    fn data_from_unknown_addresses_is_dropped() {
        let (mut a, now) = agent(Role::Controlled);
        a.handle_input(
            now,
            Received {
                source: remote(9999),
                destination: local(),
                transport: Transport::Udp,
                payload: Bytes::from_static(&[22, 254, 253, 0]),
            },
        );
        assert_eq!(a.stats().data_dropped, 1);
        assert!(!events(&mut a).iter().any(|e| matches!(e, Event::Data(_))));
        assert_eq!(a.send(now, Bytes::from_static(b"x")), Err(Error::NoPair));
    }

    #[test]
    fn gathering_states_and_close() {
        let now = Instant::now();
        let mut c = Config::new(
            Credentials::new("locl", LOCAL_PWD).unwrap(),
            Role::Controlling,
        );
        c.rng_seed = Some([1; 32]);
        let mut a = Agent::new(c).unwrap();
        assert_eq!(a.poll_timeout(), None, "a new agent has no timer");
        assert_eq!(a.gathering_state(), GatheringState::New);
        let c = a
            .add_local_candidate(now, Candidate::host(local()))
            .unwrap();
        assert_eq!(c.foundation, "1");
        let srflx = a
            .add_local_candidate(
                now,
                Candidate::server_reflexive("203.0.113.5:40000".parse().unwrap(), local()),
            )
            .unwrap();
        assert_eq!(srflx.foundation, "2");
        a.end_of_local_candidates(now).unwrap();
        assert_eq!(
            events(&mut a),
            vec![
                Event::GatheringStateChanged(GatheringState::Gathering),
                Event::GatheringStateChanged(GatheringState::Complete)
            ]
        );
        a.close(now);
        assert_eq!(events(&mut a), vec![Event::StateChanged(State::Closed)]);
        assert_eq!(a.poll_timeout(), None);
        assert_eq!(
            a.add_remote_candidate(now, Candidate::host(remote(1))),
            Err(Error::Closed)
        );
    }

    #[test]
    fn checks_are_paced_by_ta() {
        let (mut a, now) = agent(Role::Controlling);
        for port in 6000..6005 {
            a.add_remote_candidate(now, Candidate::host(remote(port)))
                .unwrap();
        }
        assert_eq!(transmits(&mut a).len(), 1, "one check per Ta");
        assert_eq!(a.poll_timeout(), Some(now + Duration::from_millis(50)));
        a.handle_timeout(now + Duration::from_millis(49));
        assert!(transmits(&mut a).is_empty());
        a.handle_timeout(now + Duration::from_millis(50));
        assert_eq!(transmits(&mut a).len(), 1);
        // Calling it again at the same time is a no-op.
        a.handle_timeout(now + Duration::from_millis(50));
        assert!(transmits(&mut a).is_empty());
    }

    #[test]
    fn consent_expiry_leaves_no_timer_in_the_past() {
        // Found by the ice_agent fuzz target: losing consent re-enabled ordinary checks after
        // the pacing step had run, so poll_timeout pointed into the past.
        let (mut a, mut now) = agent(Role::Controlled);
        a.add_remote_candidate(now, Candidate::host(remote(6000)))
            .unwrap();
        let ours = transmits(&mut a);
        a.handle_input(
            now,
            check(
                remote(6000),
                &[Attribute::IceControlling(9), Attribute::UseCandidate],
                1,
            ),
        );
        a.handle_input(now, answer(&ours[0]));
        assert!(a.selected_pair().is_some());
        // A candidate trickled after selection stays unchecked while the pair is selected.
        a.add_remote_candidate(now, Candidate::host(remote(7000)))
            .unwrap();
        for _ in 0..3 {
            now += Duration::from_millis(12_500);
            if a.poll_timeout().is_some_and(|t| t <= now) {
                a.handle_timeout(now);
            }
            transmits(&mut a);
            if let Some(t) = a.poll_timeout() {
                assert!(t > now, "timer {:?} in the past", now - t);
            }
        }
        assert_eq!(a.state(), State::Failed);
    }

    #[test]
    fn credentials_are_checked() {
        assert!(Credentials::new("abc", LOCAL_PWD).is_err());
        assert!(Credentials::new("abcd", "short").is_err());
        assert!(Credentials::new("ab d", LOCAL_PWD).is_err());
        let c = Credentials::random(&[7; 21]);
        c.validate().unwrap();
        assert_eq!((c.ufrag.len(), c.pwd.len()), (4, 24));
        assert!(!format!("{c:?}").contains(&c.pwd));
    }

    fn stun_server(port: u16) -> StunServer {
        let server = SocketAddr::from(([198, 51, 100, 9], port));
        StunServer {
            url: format!("stun:{server}"),
            server,
            local: local(),
        }
    }

    /// A STUN server's answer to the Binding request `t`, with `attr`.
    fn stun_answer(t: &Transmit, class: Class, attr: Attribute<'_>) -> Received {
        let req = Message::decode(&t.payload).unwrap();
        let resp = Message::new(class, Method::BINDING, req.transaction_id).with(attr);
        Received {
            source: t.destination,
            destination: t.source,
            transport: t.transport,
            payload: Bytes::from(resp.to_vec(None, true).unwrap()),
        }
    }

    #[test]
    fn stun_server_gives_a_server_reflexive_candidate() {
        let (mut a, now) = agent(Role::Controlling);
        a.end_of_local_candidates(now).unwrap();
        events(&mut a);
        a.add_stun_server(now, stun_server(3478)).unwrap();
        assert_eq!(a.gathering_state(), GatheringState::Gathering);
        let ts = transmits(&mut a);
        assert_eq!(ts.len(), 1);
        assert_eq!(
            (ts[0].source, ts[0].destination),
            (local(), stun_server(3478).server)
        );
        let req = Message::decode(&ts[0].payload).unwrap();
        assert_eq!((req.class, req.method), (Class::Request, Method::BINDING));
        assert!(req.username().is_none(), "a plain binding request");
        let mapped: SocketAddr = "203.0.113.7:41000".parse().unwrap();
        let later = now + Duration::from_millis(30);
        a.handle_input(
            later,
            stun_answer(&ts[0], Class::Success, Attribute::XorMappedAddress(mapped)),
        );
        let ev = events(&mut a);
        // Gathering was complete; the new server made it start again.
        assert_eq!(
            ev[0],
            Event::GatheringStateChanged(GatheringState::Gathering)
        );
        let Event::LocalCandidate(c) = &ev[1] else {
            panic!("{ev:?}");
        };
        assert_eq!(c.kind, CandidateKind::ServerReflexive);
        assert_eq!((c.address, c.related_address), (mapped, Some(local())));
        assert_eq!(c.foundation, "2", "its own foundation");
        assert_eq!(
            ev[2],
            Event::GatheringStateChanged(GatheringState::Complete)
        );
        assert_eq!(a.local_candidates().count(), 2);
        assert_eq!(a.stats().dropped, 0);
        // The answer was not taken for a connectivity check: nothing else happened.
        assert!(transmits(&mut a).is_empty());
        assert_eq!(a.poll_timeout(), None);
    }

    #[test]
    fn stun_silence_is_a_701_after_the_stun_timeout() {
        let (mut a, now) = agent(Role::Controlling);
        a.add_stun_server(now, stun_server(3478)).unwrap();
        a.end_of_local_candidates(now).unwrap();
        events(&mut a);
        let mut sends = transmits(&mut a).len();
        let mut t = now;
        while let Some(next) = a.poll_timeout() {
            assert!(next > t || next == t && sends == 0, "the timer moves on");
            t = next;
            a.handle_timeout(t);
            a.handle_timeout(t);
            sends += transmits(&mut a).len();
        }
        // Sent at 0, 0.5, 1.5 and 3.5 s; given up at 5 s.
        assert_eq!(sends, 4);
        assert_eq!(t, now + Duration::from_secs(5));
        let ev = events(&mut a);
        assert!(
            matches!(&ev[0], Event::CandidateError { url, code: 701, .. } if *url == stun_server(3478).url),
            "{ev:?}"
        );
        assert_eq!(
            ev[1],
            Event::GatheringStateChanged(GatheringState::Complete)
        );
    }

    #[test]
    fn stun_error_responses_and_spoofed_answers() {
        let (mut a, now) = agent(Role::Controlling);
        a.add_stun_server(now, stun_server(3478)).unwrap();
        a.add_stun_server(now, stun_server(3479)).unwrap();
        a.end_of_local_candidates(now).unwrap();
        events(&mut a);
        let ts = transmits(&mut a);
        assert_eq!(ts.len(), 2);
        // An answer with the right transaction id from another address is not the server's.
        let mut spoofed = stun_answer(
            &ts[0],
            Class::Success,
            Attribute::XorMappedAddress(remote(1)),
        );
        spoofed.source = remote(3478);
        a.handle_input(now, spoofed);
        assert_eq!(a.stats().dropped, 1);
        assert!(events(&mut a).is_empty());
        // An error response is the server's error.
        a.handle_input(
            now,
            stun_answer(
                &ts[0],
                Class::Error,
                Attribute::ErrorCode(ErrorCode::BAD_REQUEST),
            ),
        );
        let ev = events(&mut a);
        assert!(
            matches!(&ev[..], [Event::CandidateError { code: 400, text, .. }] if text == "Bad Request"),
            "{ev:?}"
        );
        // No NAT: the server sees the host address, which gives no new candidate.
        a.handle_input(
            now,
            stun_answer(&ts[1], Class::Success, Attribute::XorMappedAddress(local())),
        );
        assert_eq!(
            events(&mut a),
            vec![Event::GatheringStateChanged(GatheringState::Complete)]
        );
        assert_eq!(a.local_candidates().count(), 1);
        // A second answer to a finished request is nothing.
        a.handle_input(
            now,
            stun_answer(
                &ts[1],
                Class::Success,
                Attribute::XorMappedAddress(remote(2)),
            ),
        );
        assert!(events(&mut a).is_empty());
        assert_eq!(a.local_candidates().count(), 1);
    }

    #[test]
    fn stun_servers_need_a_host_candidate() {
        let (mut a, now) = agent(Role::Controlling);
        let mut s = stun_server(3478);
        s.local = remote(5000);
        assert!(matches!(
            a.add_stun_server(now, s),
            Err(Error::BadCandidate(_))
        ));
        let mut s = stun_server(3478);
        s.server = "[2001:db8::1]:3478".parse().unwrap();
        assert!(matches!(
            a.add_stun_server(now, s),
            Err(Error::BadCandidate(_))
        ));
        assert!(transmits(&mut a).is_empty());
        a.close(now);
        assert_eq!(
            a.add_stun_server(now, stun_server(3478)),
            Err(Error::Closed)
        );
    }

    #[test]
    fn tcp_pairs_follow_rfc6544() {
        let (mut a, now) = agent(Role::Controlling);
        let ip = local().ip();
        let active = a
            .add_local_candidate(
                now,
                Candidate::host_tcp(SocketAddr::new(ip, 0), TcpType::Active),
            )
            .unwrap();
        let passive = a
            .add_local_candidate(
                now,
                Candidate::host_tcp(SocketAddr::new(ip, 443), TcpType::Passive),
            )
            .unwrap();
        assert_eq!(active.address, SocketAddr::new(ip, 9));
        let mut untyped = Candidate::host_tcp(SocketAddr::new(ip, 80), TcpType::Passive);
        untyped.tcp_type = None;
        assert!(matches!(
            a.add_local_candidate(now, untyped),
            Err(Error::BadCandidate(_))
        ));
        let peer = remote(0).ip();
        let tcp = |port, t| Candidate::host_tcp(SocketAddr::new(peer, port), t);
        for c in [
            Candidate::host(remote(6000)),
            tcp(8443, TcpType::Passive),
            tcp(9, TcpType::Active),
            tcp(7000, TcpType::So),
        ] {
            a.add_remote_candidate(now, c).unwrap();
        }
        let pairs: Vec<(SocketAddr, SocketAddr)> = a
            .pair_stats()
            .iter()
            .map(|s| (s.local.address, s.remote.address))
            .collect();
        // UDP with UDP, and our active with their passive: nothing else.
        assert_eq!(
            pairs,
            [
                (local(), remote(6000)),
                (active.address, SocketAddr::new(peer, 8443))
            ]
        );
        // The TCP pair's check leaves the active base for the passive address, over TCP.
        let mut ts = transmits(&mut a);
        for _ in 0..3 {
            a.handle_timeout(now + Duration::from_millis(50));
            ts.extend(transmits(&mut a));
        }
        let t = ts.iter().find(|t| t.transport == Transport::Tcp).unwrap();
        assert_eq!(
            (t.source, t.destination),
            (active.address, SocketAddr::new(peer, 8443))
        );
        // A check over a connection to the passive candidate, from the peer's ephemeral
        // port, teaches a peer-reflexive active candidate and is answered on the connection.
        let mut input = check(
            SocketAddr::new(peer, 50123),
            &[Attribute::IceControlled(1)],
            3,
        );
        input.transport = Transport::Tcp;
        input.destination = passive.address;
        a.handle_input(now, input);
        let r = a
            .remote_candidates()
            .find(|c| c.kind == CandidateKind::PeerReflexive)
            .unwrap();
        assert_eq!((r.address.port(), r.transport), (50123, Transport::Tcp));
        assert_eq!(r.tcp_type, Some(TcpType::Active));
        let out = transmits(&mut a);
        let resp = out
            .iter()
            .find(|t| responses_to(std::slice::from_ref(t), 3).len() == 1)
            .unwrap();
        assert_eq!(
            (resp.source, resp.transport),
            (passive.address, Transport::Tcp)
        );
        // TCP ranks below UDP host and server-reflexive candidates.
        let srflx = Candidate::server_reflexive(remote(1), local());
        assert!(passive.priority < srflx.priority && active.priority < srflx.priority);
        assert!(
            active.priority > passive.priority,
            "RFC 6544 §4.2: active 6, passive 4"
        );
    }

    #[test]
    fn tcp_checks_are_sent_once_and_fail_when_udp_ones_would() {
        let now = Instant::now();
        let mut c = Config::new(
            Credentials::new("locl", LOCAL_PWD).unwrap(),
            Role::Controlling,
        );
        c.rng_seed = Some([5; 32]);
        let mut a = Agent::new(c).unwrap();
        a.add_local_candidate(now, Candidate::host_tcp(local(), TcpType::Active))
            .unwrap();
        a.set_remote_credentials(now, Credentials::new("remo", REMOTE_PWD).unwrap())
            .unwrap();
        a.add_remote_candidate(now, Candidate::host_tcp(remote(8443), TcpType::Passive))
            .unwrap();
        let mut sent = transmits(&mut a).len();
        let mut t = now;
        while a.pair_stats()[0].state != PairState::Failed {
            t = a.poll_timeout().unwrap();
            a.handle_timeout(t);
            sent += transmits(&mut a).len();
        }
        assert_eq!(sent, 1, "no retransmission over TCP (RFC 6544 §7.1)");
        // 500 ms doubling over 5 sends, then 4 RTO: 9.5 s, as on UDP.
        assert_eq!(t - now, Duration::from_millis(9500));
    }
}
