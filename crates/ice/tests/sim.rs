//! ICE agents driven through the simulated network: connection time, loss, role conflicts,
//! ICE-lite, trickle, consent, restarts and the RFC 4787 NAT matrix.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_ice::{
    Agent, Candidate, CandidateKind, Config, Credentials, Event, GatheringState, Role, State,
    StunServer, TurnServer,
};
use weft_proto::{Received, Transmit, Transport};
use weft_stun::{ClientConfig, ClientEvent, Message, Server, ServerConfig};
use weft_testkit::{
    FilteringBehavior, LinkConfig, MappingBehavior, NatConfig, Node, NodeId, Simulator,
};

/// One endpoint: an ICE agent plus the driver's part, recording every event with its
/// virtual time. Server-reflexive candidates come from the agent's own STUN requests, or,
/// with `driver_stun`, from a STUN client of the driver's.
struct Peer {
    agent: Agent,
    host: SocketAddr,
    stun: weft_stun::Client,
    stun_server: Option<SocketAddr>,
    driver_stun: bool,
    events: Vec<(Instant, Event)>,
    /// Local candidates not yet signalled to the other side.
    outbox: Vec<Candidate>,
    /// Local end-of-candidates not yet signalled.
    eoc_pending: bool,
    data: Vec<Bytes>,
    turn: Option<TurnServer>,
    tcp: TcpDriver,
}

/// The driver's ICE-TCP part (RFC 6544 with RFC 4571 framing), as the crate documentation
/// describes it: a transmit from an active candidate's base (port 9) goes out on a
/// connection of its own from an ephemeral port; what arrives on that connection is handed
/// back as arriving at the base. Connections are datagrams here, framed and deframed.
#[derive(Default)]
struct TcpDriver {
    /// UDP is blocked (a firewall on the host): UDP datagrams neither leave nor arrive.
    udp_blocked: bool,
    /// Active connections: (agent's base, remote) and the ephemeral local address.
    connections: Vec<((SocketAddr, SocketAddr), SocketAddr)>,
    /// One deframer per connection, by (local, remote) as seen on the network.
    deframers: Vec<((SocketAddr, SocketAddr), weft_ice::framing::Deframer)>,
    next_port: u16,
    /// A TURN server reached over TCP or TLS: its stream carries STUN and ChannelData,
    /// self-delimiting, cut with weft-turn's framer instead of RFC 4571.
    turn: Option<SocketAddr>,
    turn_framer: weft_turn::StreamFramer,
    /// What left towards the TURN server, by transport.
    to_turn: Vec<Transport>,
}

impl TcpDriver {
    /// What the agent sends, as it goes on the wire (or `None` when blocked).
    fn outbound(&mut self, t: Transmit) -> Option<Transmit> {
        if Some(t.destination) == self.turn {
            self.to_turn.push(t.transport);
        }
        if t.transport != Transport::Udp && Some(t.destination) == self.turn {
            return Some(t);
        }
        match t.transport {
            Transport::Udp if self.udp_blocked => None,
            Transport::Tcp => {
                let source = if t.source.port() == 9 {
                    let key = (t.source, t.destination);
                    match self.connections.iter().find(|(k, _)| *k == key) {
                        Some((_, eph)) => *eph,
                        None => {
                            let eph = SocketAddr::new(t.source.ip(), 40000 + self.next_port);
                            self.next_port += 1;
                            self.connections.push((key, eph));
                            eph
                        }
                    }
                } else {
                    t.source
                };
                Some(Transmit {
                    source,
                    payload: weft_ice::framing::frame(&t.payload).unwrap(),
                    ..t
                })
            }
            _ => Some(t),
        }
    }

    /// What the network delivers, as datagrams for the agent.
    fn inbound(&mut self, input: Received) -> Vec<Received> {
        if input.transport != Transport::Udp && Some(input.source) == self.turn {
            self.turn_framer.push(&input.payload).unwrap();
            return std::iter::from_fn(|| self.turn_framer.next_frame().unwrap())
                .map(|payload| Received {
                    payload,
                    ..input.clone()
                })
                .collect();
        }
        match input.transport {
            Transport::Udp if self.udp_blocked => Vec::new(),
            Transport::Tcp => {
                let key = (input.destination, input.source);
                let i = match self.deframers.iter().position(|(k, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        self.deframers
                            .push((key, weft_ice::framing::Deframer::new()));
                        self.deframers.len() - 1
                    }
                };
                let d = &mut self.deframers[i].1;
                d.push(&input.payload).unwrap();
                let destination = self
                    .connections
                    .iter()
                    .find(|(_, eph)| *eph == input.destination)
                    .map_or(input.destination, |((base, _), _)| *base);
                std::iter::from_fn(|| d.next_frame().unwrap())
                    .map(|payload| Received {
                        source: input.source,
                        destination,
                        transport: Transport::Tcp,
                        payload,
                    })
                    .collect()
            }
            _ => vec![input],
        }
    }
}

impl Peer {
    fn new(agent: Agent, host: SocketAddr, stun_server: Option<SocketAddr>) -> Self {
        Peer {
            agent,
            host,
            stun: weft_stun::Client::new(ClientConfig {
                rng_seed: Some([9; 32]),
                ..ClientConfig::default()
            }),
            stun_server,
            driver_stun: false,
            events: Vec::new(),
            outbox: Vec::new(),
            eoc_pending: false,
            data: Vec::new(),
            turn: None,
            tcp: TcpDriver::default(),
        }
    }

    /// Starts gathering: the host candidate at once, server-reflexive through STUN.
    fn gather(&mut self, now: Instant) {
        if let Some(t) = self.turn.clone() {
            self.agent.add_turn_server(now, t).unwrap();
        }
        let c = self
            .agent
            .add_local_candidate(now, Candidate::host(self.host))
            .unwrap();
        self.outbox.push(c);
        self.gather_srflx(now);
    }

    /// Server-reflexive gathering from the host candidate, then end-of-candidates (at once
    /// when the agent asks the STUN server; on the answer when the driver does).
    fn gather_srflx(&mut self, now: Instant) {
        match (self.stun_server, self.driver_stun) {
            (Some(s), true) => {
                self.stun
                    .binding_request(now, self.host, s, Transport::Udp)
                    .unwrap();
            }
            (Some(s), false) => {
                let server = StunServer {
                    url: format!("stun:{s}"),
                    server: s,
                    local: self.host,
                };
                self.agent.add_stun_server(now, server).unwrap();
                self.finish_gathering(now);
            }
            (None, _) => self.finish_gathering(now),
        }
        self.drain(now);
    }

    fn finish_gathering(&mut self, now: Instant) {
        self.agent.end_of_local_candidates(now).unwrap();
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            match &e {
                Event::Data(d) => self.data.push(d.payload.clone()),
                Event::LocalCandidate(c) => self.outbox.push(c.clone()),
                Event::GatheringStateChanged(GatheringState::Complete) => self.eoc_pending = true,
                _ => {}
            }
            self.events.push((now, e));
        }
    }

    fn stun_events(&mut self, now: Instant) {
        while let Some(e) = self.stun.poll_event() {
            match e {
                ClientEvent::Response { payload, .. } => {
                    let mapped = Message::decode(&payload).unwrap().mapped_address().unwrap();
                    let c = self
                        .agent
                        .add_local_candidate(now, Candidate::server_reflexive(mapped, self.host))
                        .unwrap();
                    if c.kind == CandidateKind::ServerReflexive {
                        self.outbox.push(c);
                    }
                    self.finish_gathering(now);
                }
                ClientEvent::TimedOut { .. } => self.finish_gathering(now),
                _ => {}
            }
        }
    }

    fn first(&self, f: impl Fn(&Event) -> bool) -> Option<Instant> {
        self.events.iter().find(|(_, e)| f(e)).map(|(t, _)| *t)
    }

    fn state_at(&self, s: State) -> Option<Instant> {
        self.first(|e| *e == Event::StateChanged(s))
    }
}

impl Node for Peer {
    fn handle_input(&mut self, now: Instant, input: Received) {
        if self.driver_stun && Some(input.source) == self.stun_server {
            self.stun.handle_input(now, input);
            self.stun_events(now);
        } else {
            for input in self.tcp.inbound(input) {
                self.agent.handle_input(now, input);
            }
        }
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.stun.handle_timeout(now);
        self.stun_events(now);
        self.agent.handle_timeout(now);
        self.drain(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.stun.poll_transmit() {
            return Some(t);
        }
        while let Some(t) = self.agent.poll_transmit() {
            if let Some(t) = self.tcp.outbound(t) {
                return Some(t);
            }
        }
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.stun.poll_timeout(), self.agent.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }
}

/// A STUN binding server on the public side.
struct StunNode(Server);

impl Node for StunNode {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.0.handle_input(now, input);
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.0.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

const PWD: &str = "0123456789abcdefghijklmnop";

fn creds(ufrag: &str) -> Credentials {
    Credentials::new(ufrag, PWD).unwrap()
}

fn config(ufrag: &str, role: Role, seed: u8) -> Config {
    let mut c = Config::new(creds(ufrag), role);
    c.rng_seed = Some([seed; 32]);
    c
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Moves candidates and end-of-candidates from `from` to `to`, through their string form.
fn signal(sim: &mut Simulator, from: NodeId, to: NodeId) {
    let (cands, eoc) = sim.with_node::<Peer, _>(from, |p, _| {
        (
            std::mem::take(&mut p.outbox),
            std::mem::replace(&mut p.eoc_pending, false),
        )
    });
    if cands.is_empty() && !eoc {
        return;
    }
    sim.with_node::<Peer, _>(to, |p, now| {
        for c in cands {
            let text = format!("candidate:{c}");
            p.agent
                .add_remote_candidate(now, text.parse().unwrap())
                .unwrap();
        }
        if eoc {
            p.agent.end_of_remote_candidates(now).unwrap();
        }
        p.drain(now);
    });
}

fn exchange_credentials(sim: &mut Simulator, a: NodeId, b: NodeId) {
    let ca = sim.node::<Peer>(a).agent.local_credentials().clone();
    let cb = sim.node::<Peer>(b).agent.local_credentials().clone();
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.set_remote_credentials(now, cb).unwrap();
        p.drain(now);
    });
    sim.with_node::<Peer, _>(b, |p, now| {
        p.agent.set_remote_credentials(now, ca).unwrap();
        p.drain(now);
    });
}

fn run_until(
    sim: &mut Simulator,
    a: NodeId,
    b: NodeId,
    budget: Duration,
    mut done: impl FnMut(&Peer, &Peer) -> bool,
) -> Result<(), weft_testkit::SimError> {
    sim.run_until(
        |sim| {
            signal(sim, a, b);
            signal(sim, b, a);
            done(sim.node::<Peer>(a), sim.node::<Peer>(b))
        },
        budget,
    )
}

fn both_selected(a: &Peer, b: &Peer) -> bool {
    a.agent.selected_pair().is_some() && b.agent.selected_pair().is_some()
}

/// The selected pairs of both sides describe the same path.
fn assert_same_path(a: &Peer, b: &Peer) {
    let (al, ar) = a.agent.selected_pair().unwrap();
    let (bl, br) = b.agent.selected_pair().unwrap();
    assert_eq!(al.base(), Some(a.host));
    assert_eq!(bl.base(), Some(b.host));
    assert_eq!(ar.address, bl.address, "a sends to what b's local is");
    assert_eq!(br.address, al.address, "b sends to what a's local is");
}

/// Two public hosts, 20 ms apart.
fn public_pair(seed: u64, latency: Duration) -> (Simulator, NodeId, NodeId) {
    let mut sim = Simulator::with_seed(seed);
    sim.set_default_link(LinkConfig::default().with_latency(latency));
    let a = Agent::new(config("aaaa", Role::Controlling, 1)).unwrap();
    let b = Agent::new(config("bbbb", Role::Controlled, 2)).unwrap();
    let a = sim.add_node(ip("192.0.2.1"), Peer::new(a, addr("192.0.2.1:5000"), None));
    let b = sim.add_node(ip("192.0.2.2"), Peer::new(b, addr("192.0.2.2:6000"), None));
    (sim, a, b)
}

#[test]
fn connects_one_round_trip_after_candidates_are_exchanged() {
    let latency = Duration::from_millis(20);
    let (mut sim, a, b) = public_pair(1, latency);
    exchange_credentials(&mut sim, a, b);
    let t0 = sim.now();
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert_same_path(pa, pb);
    let connected_a = pa.state_at(State::Connected).unwrap() - t0;
    let connected_b = pb.state_at(State::Connected).unwrap() - t0;
    let sel = |p: &Peer| {
        p.first(|e| matches!(e, Event::SelectedPairChanged { .. }))
            .unwrap()
            - t0
    };
    println!(
        "time to connected: a {connected_a:?}, b {connected_b:?}; selected: a {:?}, b {:?}",
        sel(pa),
        sel(pb)
    );
    // Both sides check at once: each has a valid pair when its first response is back.
    assert_eq!(connected_a, 2 * latency);
    assert_eq!(connected_b, 2 * latency);
    // The nomination waits for its Ta slot (50 ms after the first check), then one more
    // round trip.
    assert_eq!(sel(pb), Duration::from_millis(50) + latency);
    assert_eq!(sel(pa), Duration::from_millis(50) + 2 * latency);
    for p in [pa, pb] {
        let (l, r) = p.agent.selected_pair().unwrap();
        assert_eq!((l.kind, r.kind), (CandidateKind::Host, CandidateKind::Host));
        assert_eq!(p.agent.state(), State::Completed);
        assert_eq!(p.agent.gathering_state(), GatheringState::Complete);
    }

    // Data flows both ways on the selected pair and comes out as events.
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.send(now, Bytes::from_static(b"hello b")).unwrap()
    });
    sim.with_node::<Peer, _>(b, |p, now| {
        p.agent.send(now, Bytes::from_static(b"hello a")).unwrap()
    });
    sim.run_for(Duration::from_millis(100)).unwrap();
    assert_eq!(
        sim.node::<Peer>(b).data,
        vec![Bytes::from_static(b"hello b")]
    );
    assert_eq!(
        sim.node::<Peer>(a).data,
        vec![Bytes::from_static(b"hello a")]
    );
    let stats = sim.node::<Peer>(a).agent.pair_stats();
    let selected = stats.iter().find(|s| s.selected).unwrap();
    assert!(selected.nominated);
    assert_eq!(selected.bytes_sent, 7);
    assert_eq!(selected.bytes_received, 7);
    assert!(selected.responses_received >= 2);
    assert_eq!(selected.current_rtt, Some(2 * latency));
}

#[test]
fn consent_keeps_a_healthy_path_completed() {
    let (mut sim, a, b) = public_pair(2, Duration::from_millis(10));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    sim.run_for(Duration::from_secs(120)).unwrap();
    for id in [a, b] {
        let p = sim.node::<Peer>(id);
        assert_eq!(p.agent.state(), State::Completed);
        let s = p.agent.stats();
        // RFC 7675: one check every 4-6 s, so 20 to 30 in two minutes.
        assert!(
            (20..=31).contains(&s.consent_requests_sent),
            "{}",
            s.consent_requests_sent
        );
        assert_eq!(s.keepalives_sent, 0);
    }
}

#[test]
fn connects_under_heavy_loss() {
    for seed in 0..8 {
        let mut sim = Simulator::with_seed(100 + seed);
        sim.set_default_link(
            LinkConfig::default()
                .with_latency(Duration::from_millis(30))
                .with_loss(0.3),
        );
        let a = Agent::new(config("aaaa", Role::Controlling, 1 + seed as u8)).unwrap();
        let b = Agent::new(config("bbbb", Role::Controlled, 50 + seed as u8)).unwrap();
        let a = sim.add_node(ip("192.0.2.1"), Peer::new(a, addr("192.0.2.1:5000"), None));
        let b = sim.add_node(ip("192.0.2.2"), Peer::new(b, addr("192.0.2.2:6000"), None));
        exchange_credentials(&mut sim, a, b);
        sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
        sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
        run_until(&mut sim, a, b, Duration::from_secs(10), both_selected).unwrap();
        assert_same_path(sim.node::<Peer>(a), sim.node::<Peer>(b));
    }
}

#[test]
fn role_conflict_is_resolved_by_the_tie_breaker() {
    for (ra, rb) in [
        (Role::Controlling, Role::Controlling),
        (Role::Controlled, Role::Controlled),
    ] {
        let mut sim = Simulator::with_seed(3);
        sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(15)));
        let a = Agent::new(config("aaaa", ra, 1)).unwrap();
        let b = Agent::new(config("bbbb", rb, 2)).unwrap();
        let a = sim.add_node(ip("192.0.2.1"), Peer::new(a, addr("192.0.2.1:5000"), None));
        let b = sim.add_node(ip("192.0.2.2"), Peer::new(b, addr("192.0.2.2:6000"), None));
        exchange_credentials(&mut sim, a, b);
        sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
        sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
        run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
        let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
        assert_ne!(pa.agent.role(), pb.agent.role(), "{ra:?}/{rb:?}");
        assert_same_path(pa, pb);
        let switched = pa
            .events
            .iter()
            .chain(&pb.events)
            .filter(|(_, e)| matches!(e, Event::RoleChanged(_)))
            .count();
        assert_eq!(switched, 1, "exactly one side gives in");
        assert!(pa.agent.stats().role_conflicts + pb.agent.stats().role_conflicts >= 1);
    }
}

#[test]
fn full_agent_connects_to_a_lite_agent() {
    let mut sim = Simulator::with_seed(4);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(20)));
    // The full agent starts controlled, as a browser answering a lite server's offer might:
    // learning that the peer is lite makes it controlling (RFC 8445 §6.1.1).
    let full = Agent::new(config("full", Role::Controlled, 1)).unwrap();
    let mut lite_config = config("lite", Role::Controlling, 2);
    lite_config.lite = true;
    let lite = Agent::new(lite_config).unwrap();
    assert_eq!(lite.role(), Role::Controlled);
    let a = sim.add_node(
        ip("198.51.100.7"),
        Peer::new(full, addr("198.51.100.7:5000"), None),
    );
    let b = sim.add_node(
        ip("192.0.2.80"),
        Peer::new(lite, addr("192.0.2.80:443"), None),
    );
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.set_remote_lite(now, true).unwrap();
        p.gather(now)
    });
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert_eq!(pa.agent.role(), Role::Controlling);
    assert_same_path(pa, pb);
    // The lite side never sends a check of its own.
    assert_eq!(pb.agent.stats().checks_sent, 0);
    assert!(pa.agent.stats().checks_sent >= 2);
    // A lite agent keeps the path alive with Binding indications (RFC 8445 §11), and the
    // full agent's consent checks keep being answered.
    sim.run_for(Duration::from_secs(40)).unwrap();
    assert!(sim.node::<Peer>(b).agent.stats().keepalives_sent >= 2);
    assert_eq!(sim.node::<Peer>(a).agent.state(), State::Completed);
    assert_eq!(sim.node::<Peer>(b).agent.state(), State::Completed);
}

#[test]
fn trickled_checks_before_the_remote_description_are_answered() {
    let (mut sim, a, b) = public_pair(5, Duration::from_millis(20));
    // a knows everything about b; b knows nothing about a yet (its answer is late).
    let cb = sim.node::<Peer>(b).agent.local_credentials().clone();
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.set_remote_credentials(now, cb).unwrap();
        p.gather(now);
    });
    sim.with_node::<Peer, _>(b, |p, now| {
        let c = p
            .agent
            .add_local_candidate(now, Candidate::host(p.host))
            .unwrap();
        p.agent.end_of_local_candidates(now).unwrap();
        p.drain(now);
        c
    });
    let host_b = sim.node::<Peer>(b).host;
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent
            .add_remote_candidate(now, Candidate::host(host_b))
            .unwrap();
    });
    // a's outbox stays unsignalled: b learns a only from its checks.
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.state() == State::Connected,
        Duration::from_secs(2),
    )
    .unwrap();
    let pb = sim.node::<Peer>(b);
    let prflx: Vec<_> = pb.agent.remote_candidates().collect();
    assert_eq!(prflx.len(), 1);
    assert_eq!(prflx[0].kind, CandidateKind::PeerReflexive);
    assert_eq!(prflx[0].address, sim.node::<Peer>(a).host);
    // b cannot check without a's credentials, but has answered, and was nominated.
    assert_eq!(pb.agent.stats().checks_sent, 0);
    // Now the remote description arrives: credentials, then the (same) host candidate.
    let ca = sim.node::<Peer>(a).agent.local_credentials().clone();
    sim.with_node::<Peer, _>(b, |p, now| p.agent.set_remote_credentials(now, ca).unwrap());
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert_same_path(pa, pb);
    let remote: Vec<_> = pb.agent.remote_candidates().collect();
    assert_eq!(
        remote.len(),
        1,
        "the signalled candidate replaced the prflx one"
    );
    assert_eq!(remote[0].kind, CandidateKind::Host);
    assert!(pb.agent.stats().checks_sent >= 1);
}

#[test]
fn candidates_trickled_before_credentials_wait_for_them() {
    let (mut sim, a, b) = public_pair(6, Duration::from_millis(20));
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    // Candidates cross, credentials do not: nothing can be checked.
    run_until(&mut sim, a, b, Duration::from_secs(1), |_, _| false).unwrap_err();
    for id in [a, b] {
        let p = sim.node::<Peer>(id);
        assert_eq!(p.agent.stats().checks_sent, 0);
        assert_eq!(p.agent.state(), State::Checking);
    }
    exchange_credentials(&mut sim, a, b);
    let t = sim.now();
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    assert_same_path(sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert!(sim.now() - t < Duration::from_millis(200));
}

#[test]
fn consent_loss_disconnects_then_fails() {
    let (mut sim, a, b) = public_pair(7, Duration::from_millis(20));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    sim.run_for(Duration::from_secs(12)).unwrap();
    let cut = sim.now();
    sim.set_link(a, b, LinkConfig::default().with_loss(1.0));
    sim.run_for(Duration::from_secs(40)).unwrap();
    for id in [a, b] {
        let p = sim.node::<Peer>(id);
        let disconnected = p.state_at(State::Disconnected).unwrap() - cut;
        let failed = p.state_at(State::Failed).unwrap() - cut;
        println!("consent: disconnected after {disconnected:?}, failed after {failed:?}");
        // The next check is due within 6 s; two missed responses of 1 s each.
        assert!(disconnected >= Duration::from_secs(2) && disconnected <= Duration::from_secs(8));
        // Consent expires 30 s after the last response, which came at most 6 s before the cut.
        assert!(failed > Duration::from_secs(24) && failed <= Duration::from_secs(30));
        assert!(p.agent.selected_pair().is_none());
        assert_eq!(p.agent.stats().consent_expirations, 1);
        let now = sim.now();
        assert_eq!(
            sim.node_mut::<Peer>(id)
                .agent
                .send(now, Bytes::from_static(b"x")),
            Err(weft_ice::Error::NoPair)
        );
    }
}

#[test]
fn disconnected_recovers_when_responses_return() {
    let (mut sim, a, b) = public_pair(8, Duration::from_millis(20));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    sim.set_link(a, b, LinkConfig::default().with_loss(1.0));
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.state() == State::Disconnected,
        Duration::from_secs(10),
    )
    .unwrap();
    sim.set_link(
        a,
        b,
        LinkConfig::default().with_latency(Duration::from_millis(20)),
    );
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.state() == State::Completed,
        Duration::from_secs(3),
    )
    .unwrap();
}

#[test]
fn restart_keeps_the_old_pair_until_a_new_one_is_selected() {
    let (mut sim, a, b) = public_pair(9, Duration::from_millis(20));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
    sim.run_for(Duration::from_secs(1)).unwrap();
    // Both restart (JSEP: the offerer's new credentials, then the answerer's).
    for (id, u) in [(a, "aaa2"), (b, "bbb2")] {
        sim.with_node::<Peer, _>(id, |p, now| {
            p.agent.restart(now, creds(u)).unwrap();
            p.drain(now);
        });
    }
    // The old pair still carries data while nothing of the new generation is checked.
    for id in [a, b] {
        let p = sim.node::<Peer>(id);
        assert!(p.agent.selected_pair().is_some());
        assert_eq!(p.agent.gathering_state(), GatheringState::Gathering);
    }
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.send(now, Bytes::from_static(b"during")).unwrap()
    });
    sim.run_for(Duration::from_secs(8)).unwrap();
    assert_eq!(
        sim.node::<Peer>(b).data,
        vec![Bytes::from_static(b"during")]
    );
    // Consent of the old generation is still answered with the old credentials.
    assert_eq!(sim.node::<Peer>(a).agent.state(), State::Connected);
    let before = sim.node::<Peer>(a).events.len();
    exchange_credentials(&mut sim, a, b);
    for id in [a, b] {
        sim.with_node::<Peer, _>(id, |p, now| {
            let host = p.host;
            p.outbox.push(
                p.agent
                    .local_candidates()
                    .find(|c| c.address == host)
                    .unwrap()
                    .clone(),
            );
            p.finish_gathering(now);
        });
    }
    run_until(&mut sim, a, b, Duration::from_secs(5), |a, b| {
        a.agent.state() == State::Completed && b.agent.state() == State::Completed
    })
    .unwrap();
    let pa = sim.node::<Peer>(a);
    assert!(
        pa.events[before..]
            .iter()
            .any(|(_, e)| matches!(e, Event::SelectedPairChanged { .. })),
        "a new pair of the new generation is selected"
    );
    assert_same_path(pa, sim.node::<Peer>(b));
    assert!(
        pa.events
            .iter()
            .all(|(_, e)| *e != Event::StateChanged(State::Disconnected))
    );
    // Stale candidates of the old generation are refused.
    let mut stale = Candidate::host(addr("192.0.2.2:7000"));
    stale.ufrag = Some("bbbb".into());
    let now = sim.now();
    assert_eq!(
        sim.node_mut::<Peer>(a)
            .agent
            .add_remote_candidate(now, stale),
        Err(weft_ice::Error::StaleGeneration)
    );
}

/// a and b behind their own NATs, with a STUN server on the public side.
fn natted(seed: u64, nat_a: NatConfig, nat_b: NatConfig) -> (Simulator, NodeId, NodeId, NodeId) {
    natted_with(seed, nat_a, nat_b, false)
}

/// `natted`, where `driver_stun` makes the drivers gather server-reflexive candidates
/// themselves and add them with `add_local_candidate`.
fn natted_with(
    seed: u64,
    nat_a: NatConfig,
    nat_b: NatConfig,
    driver_stun: bool,
) -> (Simulator, NodeId, NodeId, NodeId) {
    let mut sim = Simulator::with_fixed_seed(seed);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let server = addr("203.0.113.1:3478");
    sim.add_node(server.ip(), StunNode(Server::new(ServerConfig::default())));
    let na = sim.add_nat(ip("198.51.100.1"), nat_a);
    let nb = sim.add_nat(ip("198.51.100.2"), nat_b);
    let ha = addr("10.0.1.2:5000");
    let hb = addr("10.0.2.2:5000");
    let a = Agent::new(config("aaaa", Role::Controlling, 1)).unwrap();
    let b = Agent::new(config("bbbb", Role::Controlled, 2)).unwrap();
    let mut pa = Peer::new(a, ha, Some(server));
    let mut pb = Peer::new(b, hb, Some(server));
    pa.driver_stun = driver_stun;
    pb.driver_stun = driver_stun;
    let a = sim.add_node_behind(na, ha.ip(), pa);
    let b = sim.add_node_behind(nb, hb.ip(), pb);
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    (sim, a, b, na)
}

/// Whether ICE connects two hosts directly through these NATs, from the RFC 4787
/// behaviours (no relay). See `nat_matrix_selects_the_expected_pair_types` for the reasoning.
fn direct_possible(
    (ma, fa): (MappingBehavior, FilteringBehavior),
    (mb, fb): (MappingBehavior, FilteringBehavior),
) -> bool {
    use FilteringBehavior as F;
    use MappingBehavior as M;
    let eim = |m| m == M::EndpointIndependent;
    match (eim(ma), eim(mb)) {
        (true, true) => true,
        // The endpoint-independent side sees the other's packets from a fresh port, on the
        // mapping it only opened towards the other's server-reflexive port.
        (true, false) => fa != F::AddressAndPortDependent,
        (false, true) => fb != F::AddressAndPortDependent,
        (false, false) => {
            // The first check can only land on a mapping opened towards the STUN server, so
            // the receiving side must filter endpoint-independently; then its answers come
            // from a new mapping, which the sender's filter must accept, and one side must
            // reuse its mapping for the other's IP so that checks become symmetric.
            let then = |mx: M, my: M, fy: F| {
                fy != F::AddressAndPortDependent
                    && (mx == M::AddressDependent || my == M::AddressDependent)
            };
            (fa == F::EndpointIndependent && then(ma, mb, fb))
                || (fb == F::EndpointIndependent && then(mb, ma, fa))
        }
    }
}

#[test]
fn nat_matrix_selects_the_expected_pair_types() {
    use FilteringBehavior as F;
    use MappingBehavior as M;
    let maps = [
        M::EndpointIndependent,
        M::AddressDependent,
        M::AddressAndPortDependent,
    ];
    let filters = [
        F::EndpointIndependent,
        F::AddressDependent,
        F::AddressAndPortDependent,
    ];
    let kinds: Vec<(M, F)> = maps
        .iter()
        .flat_map(|&m| filters.iter().map(move |&f| (m, f)))
        .collect();
    let mut connected = 0;
    let mut table = String::new();
    for (i, &ka) in kinds.iter().enumerate() {
        for (j, &kb) in kinds.iter().enumerate() {
            let seed = (i * 9 + j) as u64;
            let (mut sim, a, b, _) =
                natted(seed, NatConfig::new(ka.0, ka.1), NatConfig::new(kb.0, kb.1));
            let expect = direct_possible(ka, kb);
            let r = run_until(&mut sim, a, b, Duration::from_secs(40), |a, b| {
                both_selected(a, b)
                    || (a.agent.state() == State::Failed && b.agent.state() == State::Failed)
            });
            r.unwrap_or_else(|e| panic!("{ka:?} / {kb:?}: {e}"));
            let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
            let got = both_selected(pa, pb);
            table.push_str(&format!(
                "{ka:?} / {kb:?}: {}\n",
                if got { "direct" } else { "failed" }
            ));
            assert_eq!(got, expect, "{ka:?} / {kb:?}");
            if !got {
                continue;
            }
            connected += 1;
            assert_same_path(pa, pb);
            // An endpoint-independent mapping is the server-reflexive candidate; any other
            // mapping is learnt from the checks as peer-reflexive.
            let kind = |m: M| {
                if m == M::EndpointIndependent {
                    CandidateKind::ServerReflexive
                } else {
                    CandidateKind::PeerReflexive
                }
            };
            let (al, ar) = pa.agent.selected_pair().unwrap();
            let (bl, br) = pb.agent.selected_pair().unwrap();
            assert_eq!(
                (al.kind, ar.kind),
                (kind(ka.0), kind(kb.0)),
                "{ka:?} / {kb:?}"
            );
            assert_eq!(
                (bl.kind, br.kind),
                (kind(kb.0), kind(ka.0)),
                "{ka:?} / {kb:?}"
            );
        }
    }
    println!("{table}");
    println!("{connected} of 81 NAT combinations connect directly");
}

#[test]
fn classic_cone_and_symmetric_nats() {
    // The usual names: full cone, restricted, port-restricted, symmetric. Here the drivers
    // gather the server-reflexive candidates and add them themselves.
    let cases = [
        (NatConfig::full_cone(), NatConfig::symmetric(), true),
        (NatConfig::restricted_cone(), NatConfig::symmetric(), true),
        (
            NatConfig::port_restricted_cone(),
            NatConfig::symmetric(),
            false,
        ),
        (NatConfig::symmetric(), NatConfig::symmetric(), false),
        (
            NatConfig::port_restricted_cone(),
            NatConfig::port_restricted_cone(),
            true,
        ),
    ];
    for (i, (na, nb, direct)) in cases.into_iter().enumerate() {
        let (mut sim, a, b, _) = natted_with(500 + i as u64, na, nb, true);
        run_until(&mut sim, a, b, Duration::from_secs(40), |a, b| {
            both_selected(a, b) || a.agent.state() == State::Failed
        })
        .unwrap();
        assert_eq!(
            both_selected(sim.node::<Peer>(a), sim.node::<Peer>(b)),
            direct,
            "case {i}"
        );
        if !direct {
            // Without a relay, every pair fails once both sides are done gathering.
            assert_eq!(sim.node::<Peer>(a).agent.state(), State::Failed);
        }
    }
}

#[test]
fn hosts_behind_one_nat_use_host_candidates() {
    let mut sim = Simulator::with_fixed_seed(11);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(5)));
    let server = addr("203.0.113.1:3478");
    sim.add_node(server.ip(), StunNode(Server::new(ServerConfig::default())));
    let nat = sim.add_nat(ip("198.51.100.1"), NatConfig::symmetric());
    let (ha, hb) = (addr("10.0.0.2:5000"), addr("10.0.0.3:5000"));
    let a = Agent::new(config("aaaa", Role::Controlling, 1)).unwrap();
    let b = Agent::new(config("bbbb", Role::Controlled, 2)).unwrap();
    let a = sim.add_node_behind(nat, ha.ip(), Peer::new(a, ha, Some(server)));
    let b = sim.add_node_behind(nat, hb.ip(), Peer::new(b, hb, Some(server)));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    run_until(&mut sim, a, b, Duration::from_secs(5), |a, b| {
        a.agent.state() == State::Completed && b.agent.state() == State::Completed
    })
    .unwrap();
    let (l, r) = sim.node::<Peer>(a).agent.selected_pair().unwrap();
    assert_eq!((l.kind, r.kind), (CandidateKind::Host, CandidateKind::Host));
}

#[test]
fn restart_recovers_after_the_nat_mapping_changes() {
    // a sits behind a NAT whose mapping is lost while the path is down; the old pair is dead
    // for good, and only a restart (re-gathering a new server-reflexive candidate) recovers.
    let nat_a = NatConfig::port_restricted_cone().with_mapping_timeout(Duration::from_secs(20));
    let (mut sim, a, b, na) = natted(12, nat_a, NatConfig::port_restricted_cone());
    run_until(&mut sim, a, b, Duration::from_secs(10), both_selected).unwrap();
    let old_srflx = sim.node::<Peer>(b).agent.selected_pair().unwrap().1.address;
    // The NAT's uplink goes down long enough for consent to fail and the mapping to expire.
    sim.set_default_link(LinkConfig::default().with_loss(1.0));
    sim.run_for(Duration::from_secs(60)).unwrap();
    for id in [a, b] {
        assert_eq!(sim.node::<Peer>(id).agent.state(), State::Failed);
    }
    assert!(sim.nat(na).live_mappings(sim.now()).is_empty());
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    // Both restart; a gathers again.
    for (id, u) in [(a, "aaa2"), (b, "bbb2")] {
        sim.with_node::<Peer, _>(id, |p, now| {
            p.agent.restart(now, creds(u)).unwrap();
            p.drain(now);
        });
    }
    exchange_credentials(&mut sim, a, b);
    for id in [a, b] {
        sim.with_node::<Peer, _>(id, |p, now| {
            // The kept candidates are signalled again (a server-reflexive one whose mapping
            // survived is not reported a second time), then STUN is asked again.
            let kept: Vec<Candidate> = p
                .agent
                .local_candidates()
                .filter(|c| c.kind != CandidateKind::PeerReflexive)
                .cloned()
                .collect();
            p.outbox.extend(kept);
            p.gather_srflx(now);
        });
    }
    run_until(&mut sim, a, b, Duration::from_secs(10), both_selected).unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert_same_path(pa, pb);
    let new_srflx = pb.agent.selected_pair().unwrap().1.address;
    assert_ne!(new_srflx, old_srflx, "the NAT gave a new mapping");
    assert_ne!(pa.agent.state(), State::Failed);
}

/// weft-turn's server core as the TURN server of the tests, relaying from its own IP. Every
/// peer address is allowed: the simulated "public" addresses include documentation ranges a
/// production server would treat like any other.
struct TurnNode {
    ip: IpAddr,
    server: weft_turn::Server,
    next_port: u16,
}

const TURN_USER: &str = "user";
const TURN_PASS: &str = "pass";

impl TurnNode {
    fn new(addr: SocketAddr, now: Instant) -> Self {
        let mut config = weft_turn::ServerConfig {
            rng_seed: Some([3; 32]),
            allow_peers: vec!["0.0.0.0/0".parse().unwrap()],
            ..Default::default()
        };
        config.users.insert(TURN_USER.into(), TURN_PASS.into());
        // REST credentials are not used, so the wall clock does not matter.
        TurnNode {
            ip: addr.ip(),
            server: weft_turn::Server::new(config, now, std::time::SystemTime::UNIX_EPOCH),
            next_port: 50000,
        }
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.server.poll_event() {
            if let weft_turn::server::Event::BindRelay { token, .. } = ev {
                let relay = SocketAddr::new(self.ip, self.next_port);
                self.next_port += 1;
                self.server.relay_bound(now, token, Ok(relay));
            }
        }
    }
}

impl Node for TurnNode {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.server.handle_input(now, input);
        self.pump(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.server.handle_timeout(now);
        self.pump(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.server.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.server.poll_timeout()
    }
}

fn turn_server(local: SocketAddr) -> TurnServer {
    TurnServer {
        url: "turn:203.0.113.2:3478".into(),
        server: addr("203.0.113.2:3478"),
        local,
        username: TURN_USER.into(),
        password: TURN_PASS.into(),
        transport: Transport::Udp,
    }
}

/// Like `natted`, with a TURN server next to the STUN server, used by both sides.
fn natted_with_turn(
    seed: u64,
    nat_a: NatConfig,
    nat_b: NatConfig,
) -> (Simulator, NodeId, NodeId, NodeId) {
    let mut sim = Simulator::with_fixed_seed(seed);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let server = addr("203.0.113.1:3478");
    sim.add_node(server.ip(), StunNode(Server::new(ServerConfig::default())));
    let now = sim.now();
    let turn = sim.add_node(
        ip("203.0.113.2"),
        TurnNode::new(addr("203.0.113.2:3478"), now),
    );
    let na = sim.add_nat(ip("198.51.100.1"), nat_a);
    let nb = sim.add_nat(ip("198.51.100.2"), nat_b);
    let ha = addr("10.0.1.2:5000");
    let hb = addr("10.0.2.2:5000");
    let mut pa = Peer::new(
        Agent::new(config("aaaa", Role::Controlling, 1)).unwrap(),
        ha,
        Some(server),
    );
    let mut pb = Peer::new(
        Agent::new(config("bbbb", Role::Controlled, 2)).unwrap(),
        hb,
        Some(server),
    );
    pa.turn = Some(turn_server(ha));
    pb.turn = Some(turn_server(hb));
    let a = sim.add_node_behind(na, ha.ip(), pa);
    let b = sim.add_node_behind(nb, hb.ip(), pb);
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    (sim, a, b, turn)
}

#[test]
fn nat_matrix_with_turn_connects_every_pair() {
    use FilteringBehavior as F;
    use MappingBehavior as M;
    let maps = [
        M::EndpointIndependent,
        M::AddressDependent,
        M::AddressAndPortDependent,
    ];
    let filters = [
        F::EndpointIndependent,
        F::AddressDependent,
        F::AddressAndPortDependent,
    ];
    let kinds: Vec<(M, F)> = maps
        .iter()
        .flat_map(|&m| filters.iter().map(move |&f| (m, f)))
        .collect();
    let mut relayed = 0;
    for (i, &ka) in kinds.iter().enumerate() {
        for (j, &kb) in kinds.iter().enumerate() {
            let (mut sim, a, b, _) = natted_with_turn(
                1000 + (i * 9 + j) as u64,
                NatConfig::new(ka.0, ka.1),
                NatConfig::new(kb.0, kb.1),
            );
            if let Err(e) = run_until(&mut sim, a, b, Duration::from_secs(20), both_selected) {
                for id in [a, b] {
                    let p = sim.node::<Peer>(id);
                    for st in p.agent.pair_stats() {
                        println!(
                            "{:?} {} {} -> {} {} {:?} valid {} req {} resp {}",
                            id,
                            st.local.kind,
                            st.local.address,
                            st.remote.kind,
                            st.remote.address,
                            st.state,
                            st.valid,
                            st.requests_sent,
                            st.responses_received
                        );
                    }
                    println!("{:?} {:?}", p.agent.state(), p.agent.stats());
                }
                panic!("{ka:?} / {kb:?}: {e}");
            }
            // Let a late nomination settle before reading the selected pair.
            sim.run_for(Duration::from_secs(2)).unwrap();
            let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
            let (al, ar) = pa.agent.selected_pair().unwrap();
            let (bl, br) = pb.agent.selected_pair().unwrap();
            let via_relay = [al.kind, ar.kind].contains(&CandidateKind::Relayed);
            assert_eq!(
                via_relay,
                [bl.kind, br.kind].contains(&CandidateKind::Relayed),
                "{ka:?} / {kb:?}"
            );
            assert_eq!(via_relay, !direct_possible(ka, kb), "{ka:?} / {kb:?}");
            relayed += usize::from(via_relay);
            // Data flows both ways on whatever was selected.
            sim.with_node::<Peer, _>(a, |p, now| {
                p.agent.send(now, Bytes::from_static(b"a->b")).unwrap()
            });
            sim.with_node::<Peer, _>(b, |p, now| {
                p.agent.send(now, Bytes::from_static(b"b->a")).unwrap()
            });
            sim.run_for(Duration::from_millis(500)).unwrap();
            assert!(
                sim.node::<Peer>(b)
                    .data
                    .contains(&Bytes::from_static(b"a->b")),
                "{ka:?} / {kb:?}"
            );
            assert!(
                sim.node::<Peer>(a)
                    .data
                    .contains(&Bytes::from_static(b"b->a")),
                "{ka:?} / {kb:?}"
            );
        }
    }
    println!("with TURN: 81 of 81 connect, {relayed} through the relay");
}

#[test]
fn turn_failure_is_a_candidate_error_and_gathering_still_completes() {
    let (mut sim, a, _b) = public_pair(13, Duration::from_millis(10));
    let now = sim.now();
    sim.add_node(
        ip("203.0.113.2"),
        TurnNode::new(addr("203.0.113.2:3478"), now),
    );
    let host = sim.node::<Peer>(a).host;
    sim.with_node::<Peer, _>(a, |p, now| {
        let mut t = turn_server(host);
        t.password = "wrong".into();
        p.agent.add_turn_server(now, t).unwrap();
        p.agent
            .add_local_candidate(now, Candidate::host(host))
            .unwrap();
        p.finish_gathering(now);
    });
    assert_eq!(
        sim.node::<Peer>(a).agent.gathering_state(),
        GatheringState::Gathering
    );
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.gathering_state() == GatheringState::Complete,
        Duration::from_secs(5),
    )
    .unwrap();
    let err = sim
        .node::<Peer>(a)
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::CandidateError { url, code, .. } => Some((url.clone(), *code)),
            _ => None,
        })
        .unwrap();
    assert_eq!(err, ("turn:203.0.113.2:3478".to_string(), 401));
}

#[test]
fn one_server_for_stun_and_turn_gives_both_candidates() {
    // coturn-style: the TURN server answers Binding requests too, on the same address; the
    // agent tells its STUN answers from its TURN traffic by transaction id.
    let mut sim = Simulator::with_fixed_seed(14);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let now = sim.now();
    let server = addr("203.0.113.2:3478");
    sim.add_node(server.ip(), TurnNode::new(server, now));
    let na = sim.add_nat(ip("198.51.100.1"), NatConfig::full_cone());
    let host = addr("10.0.1.2:5000");
    let mut peer = Peer::new(
        Agent::new(config("aaaa", Role::Controlling, 1)).unwrap(),
        host,
        Some(server),
    );
    peer.turn = Some(turn_server(host));
    let a = sim.add_node_behind(na, host.ip(), peer);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    assert_eq!(
        sim.node::<Peer>(a).agent.gathering_state(),
        GatheringState::Gathering
    );
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.gathering_state() == GatheringState::Complete,
        Duration::from_secs(5),
    )
    .unwrap();
    let p = sim.node::<Peer>(a);
    let kinds: Vec<CandidateKind> = p.outbox.iter().map(|c| c.kind).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    for k in [
        CandidateKind::Host,
        CandidateKind::ServerReflexive,
        CandidateKind::Relayed,
    ] {
        assert!(kinds.contains(&k), "{kinds:?}");
    }
    let srflx = p
        .outbox
        .iter()
        .find(|c| c.kind == CandidateKind::ServerReflexive)
        .unwrap();
    assert_eq!(srflx.address.ip(), ip("198.51.100.1"));
    assert_eq!(srflx.related_address, Some(host));
    assert!(
        !p.events
            .iter()
            .any(|(_, e)| matches!(e, Event::CandidateError { .. }))
    );
    // The complete state came after the last candidate.
    let complete = p
        .first(|e| *e == Event::GatheringStateChanged(GatheringState::Complete))
        .unwrap();
    assert!(
        p.events
            .iter()
            .filter(|(_, e)| matches!(e, Event::LocalCandidate(_)))
            .all(|(t, _)| *t <= complete)
    );
}

#[test]
fn unreachable_stun_server_is_a_701_and_gathering_completes() {
    let (mut sim, a, b) = public_pair(15, Duration::from_millis(10));
    // Nobody listens at the server's address.
    let server = addr("203.0.113.9:3478");
    let host = sim.node::<Peer>(a).host;
    let start = sim.now();
    sim.with_node::<Peer, _>(a, |p, now| {
        p.stun_server = Some(server);
        p.gather(now);
    });
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    exchange_credentials(&mut sim, a, b);
    sim.run_until(
        |sim| sim.node::<Peer>(a).agent.gathering_state() == GatheringState::Complete,
        Duration::from_secs(10),
    )
    .unwrap();
    let p = sim.node::<Peer>(a);
    let (at, err) = p
        .events
        .iter()
        .find_map(|(t, e)| match e {
            Event::CandidateError { url, code, .. } => Some((*t, (url.clone(), *code))),
            _ => None,
        })
        .unwrap();
    assert_eq!(err, (format!("stun:{server}"), 701));
    assert_eq!(at - start, Duration::from_secs(5), "Config::stun_timeout");
    assert!(p.agent.local_candidates().all(|c| c.address == host));
    // The host path works all the same.
    run_until(&mut sim, a, b, Duration::from_secs(5), both_selected).unwrap();
}

#[test]
fn no_nat_means_no_server_reflexive_candidate() {
    let (mut sim, a, b) = public_pair(16, Duration::from_millis(10));
    let server = addr("203.0.113.1:3478");
    sim.add_node(server.ip(), StunNode(Server::new(ServerConfig::default())));
    for id in [a, b] {
        sim.with_node::<Peer, _>(id, |p, now| {
            p.stun_server = Some(server);
            p.gather(now);
        });
    }
    exchange_credentials(&mut sim, a, b);
    run_until(&mut sim, a, b, Duration::from_secs(5), |a, b| {
        a.agent.state() == State::Completed && b.agent.state() == State::Completed
    })
    .unwrap();
    for id in [a, b] {
        let p = sim.node::<Peer>(id);
        assert_eq!(p.agent.local_candidates().count(), 1);
        assert!(
            !p.events
                .iter()
                .any(|(_, e)| matches!(e, Event::CandidateError { .. } | Event::LocalCandidate(_)))
        );
    }
}

/// Two public hosts with UDP host candidates and TCP active and passive ones.
fn tcp_pair(seed: u64, udp_blocked: bool) -> (Simulator, NodeId, NodeId) {
    let (mut sim, a, b) = public_pair(seed, Duration::from_millis(10));
    exchange_credentials(&mut sim, a, b);
    for (id, passive_port) in [(a, 443), (b, 8443)] {
        sim.with_node::<Peer, _>(id, |p, now| {
            p.tcp.udp_blocked = udp_blocked;
            let ip = p.host.ip();
            for c in [
                Candidate::host_tcp(SocketAddr::new(ip, 0), weft_ice::TcpType::Active),
                Candidate::host_tcp(
                    SocketAddr::new(ip, passive_port),
                    weft_ice::TcpType::Passive,
                ),
            ] {
                let c = p.agent.add_local_candidate(now, c).unwrap();
                p.outbox.push(c);
            }
            p.gather(now);
        });
    }
    (sim, a, b)
}

#[test]
fn udp_blocked_connects_over_a_tcp_pair() {
    let (mut sim, a, b) = tcp_pair(17, true);
    run_until(&mut sim, a, b, Duration::from_secs(15), |a, b| {
        a.agent.state() == State::Completed && b.agent.state() == State::Completed
    })
    .unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    let (al, ar) = pa.agent.selected_pair().unwrap();
    let (bl, br) = pb.agent.selected_pair().unwrap();
    assert_eq!((ar.address, br.address), (bl.address, al.address));
    for p in [pa, pb] {
        let (l, r) = p.agent.selected_pair().unwrap();
        assert_eq!((l.transport, r.transport), (Transport::Tcp, Transport::Tcp));
        // One side connected from its active candidate to the other's passive one; the
        // other learnt the connecting side's ephemeral port as peer-reflexive.
        match l.tcp_type {
            Some(weft_ice::TcpType::Active) => {
                assert_eq!(l.base().unwrap().port(), 9);
                assert_eq!(r.tcp_type, Some(weft_ice::TcpType::Passive));
            }
            Some(weft_ice::TcpType::Passive) => {
                assert_eq!(r.kind, CandidateKind::PeerReflexive);
                assert_eq!(r.tcp_type, Some(weft_ice::TcpType::Active));
                assert!(r.address.port() >= 40000, "the ephemeral port");
            }
            other => panic!("{other:?}"),
        }
    }
    // Data over the connection, both ways.
    sim.with_node::<Peer, _>(a, |p, now| {
        p.agent.send(now, Bytes::from_static(b"a->b")).unwrap()
    });
    sim.with_node::<Peer, _>(b, |p, now| {
        p.agent.send(now, Bytes::from_static(b"b->a")).unwrap()
    });
    sim.run_for(Duration::from_millis(100)).unwrap();
    assert!(
        sim.node::<Peer>(b)
            .data
            .contains(&Bytes::from_static(b"a->b"))
    );
    assert!(
        sim.node::<Peer>(a)
            .data
            .contains(&Bytes::from_static(b"b->a"))
    );
    // Consent keeps the TCP path up.
    sim.run_for(Duration::from_secs(40)).unwrap();
    assert_eq!(sim.node::<Peer>(a).agent.state(), State::Completed);
}

#[test]
fn udp_wins_over_tcp_when_both_work() {
    let (mut sim, a, b) = tcp_pair(18, false);
    run_until(&mut sim, a, b, Duration::from_secs(15), |a, b| {
        a.agent.state() == State::Completed && b.agent.state() == State::Completed
    })
    .unwrap();
    let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
    assert_same_path(pa, pb);
    let (l, r) = pa.agent.selected_pair().unwrap();
    assert_eq!((l.transport, r.transport), (Transport::Udp, Transport::Udp));
    // TCP pairs were formed (active with passive only) but rank below.
    let stats = pa.agent.pair_stats();
    let tcp: Vec<_> = stats
        .iter()
        .filter(|s| s.local.transport == Transport::Tcp)
        .collect();
    assert!(!tcp.is_empty());
    for s in &tcp {
        // Active to passive, or passive answering a connection (a peer-reflexive remote).
        let active_to_passive = s.local.tcp_type == Some(weft_ice::TcpType::Active)
            && s.remote.tcp_type == Some(weft_ice::TcpType::Passive);
        let passive_answering = s.local.tcp_type == Some(weft_ice::TcpType::Passive)
            && s.remote.kind == CandidateKind::PeerReflexive
            && s.remote.tcp_type == Some(weft_ice::TcpType::Active);
        assert!(active_to_passive || passive_answering, "{s:?}");
        assert!(s.priority < stats[0].priority);
    }
    assert!(
        stats
            .iter()
            .all(|s| s.local.transport == s.remote.transport),
        "never TCP with UDP"
    );
}

/// a behind a symmetric NAT with UDP blocked, reaching the TURN server over `transport`; b a
/// public host.
fn turn_stream_pair(seed: u64, transport: Transport) -> (Simulator, NodeId, NodeId) {
    let mut sim = Simulator::with_fixed_seed(seed);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let now = sim.now();
    let server = addr("203.0.113.2:3478");
    sim.add_node(server.ip(), TurnNode::new(server, now));
    let na = sim.add_nat(ip("198.51.100.1"), NatConfig::symmetric());
    let ha = addr("10.0.1.2:5000");
    let mut pa = Peer::new(
        Agent::new(config("aaaa", Role::Controlling, 1)).unwrap(),
        ha,
        None,
    );
    pa.turn = Some(TurnServer {
        transport,
        ..turn_server(ha)
    });
    pa.tcp.udp_blocked = true;
    pa.tcp.turn = Some(server);
    let a = sim.add_node_behind(na, ha.ip(), pa);
    let b = Agent::new(config("bbbb", Role::Controlled, 2)).unwrap();
    let b = sim.add_node(ip("192.0.2.2"), Peer::new(b, addr("192.0.2.2:6000"), None));
    exchange_credentials(&mut sim, a, b);
    sim.with_node::<Peer, _>(a, |p, now| p.gather(now));
    sim.with_node::<Peer, _>(b, |p, now| p.gather(now));
    (sim, a, b)
}

#[test]
fn turn_over_tcp_and_tls_relays_for_a_udp_blocked_host() {
    for (i, transport) in [Transport::Tcp, Transport::Tls].into_iter().enumerate() {
        let (mut sim, a, b) = turn_stream_pair(19 + i as u64, transport);
        run_until(&mut sim, a, b, Duration::from_secs(10), both_selected)
            .unwrap_or_else(|e| panic!("{transport:?}: {e}"));
        let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
        let (al, ar) = pa.agent.selected_pair().unwrap();
        let (bl, br) = pb.agent.selected_pair().unwrap();
        assert_eq!(al.kind, CandidateKind::Relayed, "{transport:?}");
        assert_eq!((al.address, ar.address), (br.address, bl.address));
        // The relayed candidate is UDP, below a UDP relay's priority.
        assert_eq!(al.transport, Transport::Udp);
        let udp_relay = Candidate::relayed(al.address, al.related_address.unwrap());
        assert!(al.priority < udp_relay.priority);
        // Everything to the server went over the stream transport.
        assert!(!pa.tcp.to_turn.is_empty());
        assert!(
            pa.tcp.to_turn.iter().all(|&t| t == transport),
            "{transport:?}"
        );
        sim.with_node::<Peer, _>(a, |p, now| {
            p.agent.send(now, Bytes::from_static(b"a->b")).unwrap()
        });
        sim.with_node::<Peer, _>(b, |p, now| {
            p.agent.send(now, Bytes::from_static(b"b->a")).unwrap()
        });
        sim.run_for(Duration::from_millis(300)).unwrap();
        assert!(
            sim.node::<Peer>(b)
                .data
                .contains(&Bytes::from_static(b"a->b"))
        );
        assert!(
            sim.node::<Peer>(a)
                .data
                .contains(&Bytes::from_static(b"b->a"))
        );
    }
}
