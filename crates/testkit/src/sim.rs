//! The simulator: nodes, NATs, links, the virtual clock and the run loop.

use std::any::{Any, type_name};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_proto::{Received, Transmit, Transport};

use crate::link::{Link, LinkConfig, LinkStats};
use crate::nat::{Nat, NatConfig};
use crate::pcap::PcapWriter;
use crate::rng::{SEED_ENV, SimRng, resolve_seed};
use crate::trace::{
    DropReason, PacketInfo, SimError, SimErrorKind, TraceEvent, TraceKind, TraceLog,
};
use crate::{Node, NodeId};

/// The number of trace events kept for error reports unless changed.
const DEFAULT_TRACE_CAPACITY: usize = 200;
/// The number of steps one `run_*` call may take unless changed.
const DEFAULT_STEP_BUDGET: u64 = 1_000_000;

/// A deterministic simulated network; see the [crate docs](crate) for the model.
pub struct Simulator {
    seed: u64,
    rng: SimRng,
    start: Instant,
    now: Instant,
    elements: Vec<Element>,
    /// Who owns each address, per realm (the internet, or the inside of a NAT).
    routes: BTreeMap<(Realm, IpAddr), NodeId>,
    links: BTreeMap<(NodeId, NodeId), Link>,
    default_link: LinkConfig,
    /// Datagrams on links, by arrival time and then by the order they were scheduled in.
    in_flight: BTreeMap<(Instant, u64), InFlight>,
    next_seq: u64,
    next_packet: u64,
    trace: TraceLog,
    step_budget: u64,
    pcap: Option<PcapWriter<Box<dyn Write>>>,
}

impl Default for Simulator {
    fn default() -> Self {
        Self::new()
    }
}

impl Simulator {
    /// A simulator seeded from `TEST_SEED`, or with a fresh seed when it is unset.
    ///
    /// The seed is printed to stderr, which the test harness shows when the test fails.
    ///
    /// # Panics
    ///
    /// When `TEST_SEED` is set but is not a decimal `u64`.
    pub fn new() -> Self {
        Self::create(resolve_seed(None))
    }

    /// A simulator seeded with `seed`, unless `TEST_SEED` is set, which wins so that any test
    /// can be replayed with another seed. This is the constructor tests normally use.
    ///
    /// # Panics
    ///
    /// When `TEST_SEED` is set but is not a decimal `u64`.
    pub fn with_seed(seed: u64) -> Self {
        Self::create(resolve_seed(Some(seed)))
    }

    /// A simulator seeded with exactly `seed`, ignoring `TEST_SEED`.
    pub fn with_fixed_seed(seed: u64) -> Self {
        Self::create(seed)
    }

    // The seed must reach the test's output so that a failure can be replayed.
    #[allow(clippy::print_stderr)]
    fn create(seed: u64) -> Self {
        eprintln!("weft-testkit: seed {seed} (replay with {SEED_ENV}={seed})");
        let start = Instant::now();
        Simulator {
            seed,
            rng: SimRng::new(seed),
            start,
            now: start,
            elements: Vec::new(),
            routes: BTreeMap::new(),
            links: BTreeMap::new(),
            default_link: LinkConfig::default(),
            in_flight: BTreeMap::new(),
            next_seq: 0,
            next_packet: 0,
            trace: TraceLog::new(DEFAULT_TRACE_CAPACITY),
            step_budget: DEFAULT_STEP_BUDGET,
            pcap: None,
        }
    }

    /// The seed this simulator runs with.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The virtual time the simulator was created at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Virtual time since the simulator was created.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Adds a host on the public internet owning `ip`, driven through `node`.
    ///
    /// # Panics
    ///
    /// When another node on the internet already owns `ip`.
    #[track_caller]
    pub fn add_node<N: Node + 'static>(&mut self, ip: IpAddr, node: N) -> NodeId {
        self.add(None, ip, Kind::Host(Box::new(node)))
    }

    /// Adds a host behind `nat` owning the private address `ip`.
    ///
    /// # Panics
    ///
    /// When `nat` is not a NAT, or a host behind it already owns `ip`.
    #[track_caller]
    pub fn add_node_behind<N: Node + 'static>(
        &mut self,
        nat: NodeId,
        ip: IpAddr,
        node: N,
    ) -> NodeId {
        self.nat(nat);
        self.add(Some(nat), ip, Kind::Host(Box::new(node)))
    }

    /// Adds a NAT whose public address `public_ip` is on the internet.
    ///
    /// # Panics
    ///
    /// When another node on the internet already owns `public_ip`.
    #[track_caller]
    pub fn add_nat(&mut self, public_ip: IpAddr, config: NatConfig) -> NodeId {
        self.add(None, public_ip, Kind::Nat(Nat::new(public_ip, config)))
    }

    /// Adds a NAT behind another (carrier-grade NAT), with `public_ip` inside `outer`.
    ///
    /// # Panics
    ///
    /// When `outer` is not a NAT, or a node behind it already owns `public_ip`.
    #[track_caller]
    pub fn add_nat_behind(
        &mut self,
        outer: NodeId,
        public_ip: IpAddr,
        config: NatConfig,
    ) -> NodeId {
        self.nat(outer);
        self.add(
            Some(outer),
            public_ip,
            Kind::Nat(Nat::new(public_ip, config)),
        )
    }

    /// Gives host `id` another address, in the same realm as its first.
    ///
    /// # Panics
    ///
    /// When `id` is a NAT, or another node in the realm already owns `ip`.
    #[track_caller]
    pub fn add_address(&mut self, id: NodeId, ip: IpAddr) {
        let element = self.element(id);
        assert!(matches!(element.kind, Kind::Host(_)), "{id} is a nat");
        let realm = element.realm;
        self.claim(realm, ip, id);
        self.elements[id.0].ips.push(ip);
    }

    /// The addresses node `id` owns (for a NAT, its public address).
    #[track_caller]
    pub fn addresses(&self, id: NodeId) -> &[IpAddr] {
        &self.element(id).ips
    }

    /// The machine driven as node `id`.
    ///
    /// # Panics
    ///
    /// When `id` is not a node of type `T`.
    #[track_caller]
    pub fn node<T: Node + 'static>(&self, id: NodeId) -> &T {
        let Kind::Host(node) = &self.element(id).kind else {
            panic!("{id} is a nat, not a {}", type_name::<T>());
        };
        let node: &dyn Any = &**node;
        node.downcast_ref()
            .unwrap_or_else(|| panic!("{id} is not a {}", type_name::<T>()))
    }

    /// The machine driven as node `id`, to inspect it or issue commands. Datagrams it queues
    /// are sent, at [`now`](Self::now), before the next event; prefer [`with_node`](Self::with_node)
    /// for commands that need `now`.
    ///
    /// # Panics
    ///
    /// When `id` is not a node of type `T`.
    #[track_caller]
    pub fn node_mut<T: Node + 'static>(&mut self, id: NodeId) -> &mut T {
        let Some(Kind::Host(node)) = self.elements.get_mut(id.0).map(|e| &mut e.kind) else {
            panic!("{id} is not a {} node", type_name::<T>());
        };
        let node: &mut dyn Any = &mut **node;
        node.downcast_mut()
            .unwrap_or_else(|| panic!("{id} is not a {}", type_name::<T>()))
    }

    /// Runs `f` on node `id` with the current time, then sends what it queued.
    ///
    /// # Panics
    ///
    /// When `id` is not a node of type `T`.
    #[track_caller]
    pub fn with_node<T: Node + 'static, R>(
        &mut self,
        id: NodeId,
        f: impl FnOnce(&mut T, Instant) -> R,
    ) -> R {
        let now = self.now;
        let out = f(self.node_mut(id), now);
        self.drain(id);
        out
    }

    /// Sends `transmit` as if node `id` had produced it (for unsolicited or spoofed traffic).
    #[track_caller]
    pub fn send_from(&mut self, id: NodeId, transmit: Transmit) {
        self.element(id);
        self.send(id, transmit);
    }

    /// NAT `id`, to read its mappings and stats.
    ///
    /// # Panics
    ///
    /// When `id` is not a NAT.
    #[track_caller]
    pub fn nat(&self, id: NodeId) -> &Nat {
        match &self.element(id).kind {
            Kind::Nat(nat) => nat,
            Kind::Host(_) => panic!("{id} is not a nat"),
        }
    }

    /// Sets the configuration of every link direction not configured on its own (initially a
    /// perfect link).
    pub fn set_default_link(&mut self, config: LinkConfig) {
        self.default_link = config;
    }

    /// Configures both directions of the link between `a` and `b`. Counters and queues carry
    /// over, so this also changes a link mid-run.
    pub fn set_link(&mut self, a: NodeId, b: NodeId, config: LinkConfig) {
        self.set_path(a, b, config.clone());
        self.set_path(b, a, config);
    }

    /// Configures the direction of the link from `from` to `to`.
    pub fn set_path(&mut self, from: NodeId, to: NodeId, config: LinkConfig) {
        self.links.entry((from, to)).or_default().config = Some(config);
    }

    /// The counters of the link direction from `from` to `to` (zero if it carried nothing).
    pub fn link_stats(&self, from: NodeId, to: NodeId) -> LinkStats {
        self.links
            .get(&(from, to))
            .map(|l| l.stats)
            .unwrap_or_default()
    }

    /// Sets how many steps one `run_*` call may take before it fails (initially 1,000,000).
    pub fn set_step_budget(&mut self, steps: u64) {
        self.step_budget = steps;
    }

    /// Sets how many recent events are kept for [`trace`](Self::trace) and error reports
    /// (initially 200).
    pub fn set_trace_capacity(&mut self, events: usize) {
        self.trace.set_capacity(events);
    }

    /// The most recent events, oldest first.
    pub fn trace(&self) -> impl Iterator<Item = &TraceEvent> {
        self.trace.recent()
    }

    /// A digest of every event recorded so far; equal seeds and scenarios give equal digests.
    pub fn trace_digest(&self) -> u64 {
        self.trace.digest()
    }

    /// The number of events recorded so far.
    pub fn event_count(&self) -> u64 {
        self.trace.total()
    }

    /// Writes a pcap record of each datagram as it enters a link, before any impairment, to
    /// `out` (after a pcap file header).
    pub fn set_pcap(&mut self, out: impl Write + 'static) -> io::Result<()> {
        self.pcap = Some(PcapWriter::new(Box::new(out) as Box<dyn Write>)?);
        Ok(())
    }

    /// Like [`set_pcap`](Self::set_pcap), to a new file at `path`.
    pub fn capture_pcap(&mut self, path: impl AsRef<Path>) -> io::Result<()> {
        self.set_pcap(File::create(path)?)
    }

    /// When the next event happens: the earliest of every delivery in flight and every node's
    /// timer, or `None` when the network is idle.
    pub fn next_event_at(&mut self) -> Option<Instant> {
        self.flush_all();
        self.next_event().map(|(at, _)| at)
    }

    /// Whether nothing is in flight and no timer is armed.
    pub fn is_idle(&mut self) -> bool {
        self.next_event_at().is_none()
    }

    /// Advances the clock to the next event and handles it: one delivery, or one node's timer.
    /// At equal times deliveries go first, in send order, then timers in node order. Returns
    /// `false`, leaving the clock alone, when the network is idle.
    pub fn step(&mut self) -> bool {
        self.flush_all();
        let Some((at, next)) = self.next_event() else {
            return false;
        };
        // Timers in the past fire now; the clock never goes backwards.
        self.now = self.now.max(at);
        match next {
            Next::Deliver => {
                // Invariant: `next_event` just peeked this entry and nothing popped it since.
                let (_, flight) = self
                    .in_flight
                    .pop_first()
                    .expect("peeked delivery is present");
                self.deliver(flight);
            }
            Next::Timer(id) => {
                self.record(TraceKind::Timeout { node: id });
                let now = self.now;
                self.host_mut(id).handle_timeout(now);
                self.drain(id);
            }
        }
        true
    }

    /// Steps until `done` returns `true`, checking it before each step.
    ///
    /// Fails when the step budget runs out, when the next event lies more than `budget` of
    /// virtual time ahead (the clock then stops at the budget), or when the network goes idle.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&mut Self) -> bool,
        budget: Duration,
    ) -> Result<(), SimError> {
        let deadline = self.now + budget;
        let mut steps = 0;
        loop {
            self.flush_all();
            if done(self) {
                return Ok(());
            }
            let Some(at) = self.next_event_at() else {
                return Err(self.error(SimErrorKind::Idle));
            };
            if at > deadline {
                self.now = deadline;
                return Err(self.error(SimErrorKind::TimeBudget { budget }));
            }
            if steps == self.step_budget {
                let steps = self.step_budget;
                return Err(self.error(SimErrorKind::StepBudget { steps }));
            }
            self.step();
            steps += 1;
        }
    }

    /// Handles every event in the next `duration` of virtual time, then moves the clock to its
    /// end. Fails only when the step budget runs out.
    pub fn run_for(&mut self, duration: Duration) -> Result<(), SimError> {
        let deadline = self.now + duration;
        let mut steps = 0;
        while self.next_event_at().is_some_and(|at| at <= deadline) {
            if steps == self.step_budget {
                let steps = self.step_budget;
                return Err(self.error(SimErrorKind::StepBudget { steps }));
            }
            self.step();
            steps += 1;
        }
        self.now = self.now.max(deadline);
        Ok(())
    }

    /// Steps until nothing is in flight and no timer is armed, within `budget` of virtual time.
    pub fn run_until_idle(&mut self, budget: Duration) -> Result<(), SimError> {
        self.run_until(Self::is_idle, budget)
    }

    fn add(&mut self, realm: Realm, ip: IpAddr, kind: Kind) -> NodeId {
        let id = NodeId(self.elements.len());
        self.claim(realm, ip, id);
        self.elements.push(Element {
            realm,
            ips: vec![ip],
            kind,
        });
        id
    }

    #[track_caller]
    fn claim(&mut self, realm: Realm, ip: IpAddr, id: NodeId) {
        if let Some(owner) = self.routes.insert((realm, ip), id) {
            panic!("{ip} is already owned by {owner}");
        }
    }

    #[track_caller]
    fn element(&self, id: NodeId) -> &Element {
        self.elements
            .get(id.0)
            .unwrap_or_else(|| panic!("no node {id} in this simulator"))
    }

    fn host_mut(&mut self, id: NodeId) -> &mut dyn Node {
        match &mut self.elements[id.0].kind {
            Kind::Host(node) => &mut **node,
            // Invariant: callers pass only ids they found to be hosts.
            Kind::Nat(_) => unreachable!("{id} is a nat"),
        }
    }

    fn nat_mut(&mut self, id: NodeId) -> &mut Nat {
        match &mut self.elements[id.0].kind {
            Kind::Nat(nat) => nat,
            // Invariant: callers pass only ids they found to be NATs.
            Kind::Host(_) => unreachable!("{id} is a host"),
        }
    }

    fn next_event(&self) -> Option<(Instant, Next)> {
        let delivery = self.in_flight.first_key_value().map(|(&(at, _), _)| at);
        let timer = self
            .elements
            .iter()
            .enumerate()
            .filter_map(|(i, e)| match &e.kind {
                Kind::Host(node) => node.poll_timeout().map(|t| (t.max(self.now), NodeId(i))),
                Kind::Nat(_) => None,
            })
            .min();
        match (delivery, timer) {
            (Some(d), Some((t, _))) if d <= t => Some((d, Next::Deliver)),
            (_, Some((t, id))) => Some((t, Next::Timer(id))),
            (Some(d), None) => Some((d, Next::Deliver)),
            (None, None) => None,
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.elements.len() {
            if matches!(self.elements[i].kind, Kind::Host(_)) {
                self.drain(NodeId(i));
            }
        }
    }

    /// Sends everything host `id` has queued (STYLE §2: drain after each `handle_*`).
    fn drain(&mut self, id: NodeId) {
        while let Some(transmit) = self.host_mut(id).poll_transmit() {
            self.send(id, transmit);
        }
    }

    fn send(&mut self, from: NodeId, t: Transmit) {
        let packet = Packet {
            id: self.next_packet,
            transport: t.transport,
            source: t.source,
            destination: t.destination,
            payload: t.payload,
        };
        self.next_packet += 1;
        self.record(TraceKind::Send {
            node: from,
            packet: packet.info(),
        });
        let element = &self.elements[from.0];
        if !element.ips.contains(&packet.source.ip()) {
            return self.dropped(from, &packet, DropReason::BadSource);
        }
        let realm = element.realm;
        self.forward(from, realm, packet);
    }

    /// Routes a datagram leaving `from` in `realm`: to the owner of its destination there, or
    /// else up to the realm's NAT.
    fn forward(&mut self, from: NodeId, realm: Realm, packet: Packet) {
        let next = self
            .routes
            .get(&(realm, packet.destination.ip()))
            .copied()
            .or(realm);
        match next {
            Some(to) => self.hop(from, to, packet),
            None => self.dropped(from, &packet, DropReason::NoRoute),
        }
    }

    /// Puts a datagram on the link from `from` to `to`.
    fn hop(&mut self, from: NodeId, to: NodeId, packet: Packet) {
        let at = self.elapsed();
        if let Some(pcap) = &mut self.pcap {
            let written = pcap.write_datagram(
                at,
                packet.id,
                packet.source,
                packet.destination,
                &packet.payload,
            );
            if let Err(e) = written {
                log::warn!("pcap: write failed, capture stopped: {e}");
                self.pcap = None;
            }
        }
        let link = self.links.entry((from, to)).or_default();
        let config = link
            .config
            .clone()
            .unwrap_or_else(|| self.default_link.clone());
        match link.transmit(&config, self.now, packet.ip_len(), &mut self.rng) {
            Err(reason) => self.dropped(from, &packet, reason),
            Ok(arrivals) => {
                if let Some(at) = arrivals.duplicate {
                    self.record(TraceKind::Duplicate {
                        from,
                        to,
                        packet: packet.info(),
                    });
                    self.schedule(at, from, to, packet.clone());
                }
                self.schedule(arrivals.first, from, to, packet);
            }
        }
    }

    fn schedule(&mut self, at: Instant, from: NodeId, to: NodeId, packet: Packet) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight
            .insert((at, seq), InFlight { from, to, packet });
    }

    fn deliver(&mut self, flight: InFlight) {
        let InFlight { from, to, packet } = flight;
        self.links.entry((from, to)).or_default().stats.delivered += 1;
        match self.elements[to.0].kind {
            Kind::Host(_) => {
                self.record(TraceKind::Deliver {
                    node: to,
                    packet: packet.info(),
                });
                let now = self.now;
                let input = Received {
                    source: packet.source,
                    destination: packet.destination,
                    transport: packet.transport,
                    payload: packet.payload,
                };
                self.host_mut(to).handle_input(now, input);
                self.drain(to);
            }
            Kind::Nat(_) if self.elements[from.0].realm == Some(to) => {
                self.nat_outbound(to, packet)
            }
            Kind::Nat(_) => self.nat_inbound(to, packet),
        }
    }

    fn nat_outbound(&mut self, id: NodeId, mut packet: Packet) {
        let now = self.now;
        let nat = self.nat_mut(id);
        let (public_ip, hairpinning) = (nat.public_ip(), nat.config().hairpinning);
        let out = match nat.outbound(now, packet.transport, packet.source, packet.destination) {
            Ok(out) => out,
            Err(reason) => return self.dropped(id, &packet, reason),
        };
        if out.created {
            self.record(TraceKind::MappingCreated {
                nat: id,
                internal: packet.source,
                external: out.source,
            });
        }
        packet.source = out.source;
        self.record(TraceKind::Translate {
            nat: id,
            packet: packet.info(),
        });
        if packet.destination.ip() != public_ip {
            let realm = self.elements[id.0].realm;
            self.forward(id, realm, packet);
        } else if hairpinning {
            // RFC 4787 REQ-9: a datagram to one of the NAT's own mappings is looped back in,
            // filtered and translated as if it had arrived from outside.
            self.nat_inbound(id, packet);
        } else {
            self.dropped(id, &packet, DropReason::NoRoute);
        }
    }

    fn nat_inbound(&mut self, id: NodeId, mut packet: Packet) {
        let now = self.now;
        let nat = self.nat_mut(id);
        match nat.inbound(now, packet.transport, packet.source, packet.destination) {
            Err(reason) => self.dropped(id, &packet, reason),
            Ok(internal) => {
                packet.destination = internal;
                self.record(TraceKind::Translate {
                    nat: id,
                    packet: packet.info(),
                });
                match self.routes.get(&(Some(id), internal.ip())).copied() {
                    Some(to) => self.hop(id, to, packet),
                    None => self.dropped(id, &packet, DropReason::NoRoute),
                }
            }
        }
    }

    fn dropped(&mut self, at_node: NodeId, packet: &Packet, reason: DropReason) {
        log::debug!("{at_node} drop {} ({reason})", packet.info());
        self.record(TraceKind::Drop {
            at_node,
            packet: packet.info(),
            reason,
        });
    }

    fn record(&mut self, kind: TraceKind) {
        let at = self.elapsed();
        self.trace.record(TraceEvent { at, kind });
    }

    fn error(&self, kind: SimErrorKind) -> SimError {
        SimError {
            kind,
            at: self.elapsed(),
            seed: self.seed,
            trace: self.trace.snapshot(),
        }
    }
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.seed)
            .field("elapsed", &self.elapsed())
            .field("nodes", &self.elements.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

/// Where an address lives: `None` is the internet, `Some(nat)` the inside of that NAT.
type Realm = Option<NodeId>;

/// What the driver needs of a node besides the [`Node`] methods: a way back to its type.
trait SimNode: Node + Any {}

impl<T: Node + Any> SimNode for T {}

struct Element {
    realm: Realm,
    ips: Vec<IpAddr>,
    kind: Kind,
}

enum Kind {
    Host(Box<dyn SimNode>),
    Nat(Nat),
}

enum Next {
    Deliver,
    Timer(NodeId),
}

#[derive(Debug, Clone)]
struct Packet {
    id: u64,
    transport: Transport,
    source: SocketAddr,
    destination: SocketAddr,
    payload: Bytes,
}

impl Packet {
    fn info(&self) -> PacketInfo {
        PacketInfo {
            id: self.id,
            transport: self.transport,
            source: self.source,
            destination: self.destination,
            len: self.payload.len(),
        }
    }

    /// The size of the IP packet carrying it: IPv4 + UDP headers are 28 bytes, IPv6 + UDP 48.
    fn ip_len(&self) -> usize {
        let headers = if self.source.is_ipv4() && self.destination.is_ipv4() {
            28
        } else {
            48
        };
        headers + self.payload.len()
    }
}

/// A datagram on a link.
struct InFlight {
    from: NodeId,
    to: NodeId,
    packet: Packet,
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    /// Arms one timer and records when it fired.
    struct Alarm {
        at: Option<Instant>,
        fired: Vec<Instant>,
    }

    impl Node for Alarm {
        fn handle_input(&mut self, _now: Instant, _input: Received) {}
        fn handle_timeout(&mut self, now: Instant) {
            if self.at.is_some_and(|at| now >= at) {
                self.at = None;
                self.fired.push(now);
            }
        }
        fn poll_transmit(&mut self) -> Option<Transmit> {
            None
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.at
        }
    }

    /// Answers every datagram, forever.
    #[derive(Default)]
    struct Echo(VecDeque<Transmit>);

    impl Node for Echo {
        fn handle_input(&mut self, _now: Instant, input: Received) {
            self.0.push_back(Transmit::udp(
                input.destination,
                input.source,
                input.payload,
            ));
        }
        fn handle_timeout(&mut self, _now: Instant) {}
        fn poll_transmit(&mut self) -> Option<Transmit> {
            self.0.pop_front()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            None
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn clock_jumps_to_the_timer_deadline() {
        let mut sim = Simulator::with_seed(1);
        let at = sim.now() + Duration::from_secs(3600);
        let id = sim.add_node(
            ip("192.0.2.1"),
            Alarm {
                at: Some(at),
                fired: vec![],
            },
        );
        assert_eq!(sim.next_event_at(), Some(at));
        assert!(sim.step());
        assert_eq!(sim.now(), at);
        assert_eq!(sim.node::<Alarm>(id).fired, [at]);
        assert!(!sim.step(), "nothing left to do");
        assert_eq!(sim.event_count(), 1);
    }

    #[test]
    fn run_for_moves_the_clock_to_the_end() {
        let mut sim = Simulator::with_seed(1);
        let at = sim.now() + Duration::from_millis(10);
        let id = sim.add_node(
            ip("192.0.2.1"),
            Alarm {
                at: Some(at),
                fired: vec![],
            },
        );
        sim.run_for(Duration::from_millis(25)).unwrap();
        assert_eq!(sim.elapsed(), Duration::from_millis(25));
        assert_eq!(sim.node::<Alarm>(id).fired, [at]);
    }

    #[test]
    fn budgets_and_idleness_fail_with_the_seed() {
        let mut sim = Simulator::with_fixed_seed(77);
        let a = sim.add_node(ip("192.0.2.1"), Echo::default());
        sim.add_node(ip("192.0.2.2"), Echo::default());
        let err = sim
            .run_until(|_| false, Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), SimErrorKind::Idle);

        // Two echoes bouncing one datagram never stop; with zero latency only steps run out.
        let (x, y) = (
            "192.0.2.1:1".parse().unwrap(),
            "192.0.2.2:1".parse().unwrap(),
        );
        sim.send_from(a, Transmit::udp(x, y, Bytes::from_static(b"ball")));
        sim.set_step_budget(50);
        let err = sim
            .run_until(|_| false, Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(err.kind(), SimErrorKind::StepBudget { steps: 50 });
        assert_eq!(err.seed(), 77);
        let text = err.to_string();
        assert!(text.contains("TEST_SEED=77"), "{text}");
        assert!(text.contains("recv #0"), "{text}");

        // With latency, virtual time runs out first and the clock stops at the budget.
        sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(30)));
        let before = sim.now();
        let err = sim
            .run_until(|_| false, Duration::from_millis(100))
            .unwrap_err();
        assert!(matches!(err.kind(), SimErrorKind::TimeBudget { .. }));
        assert_eq!(sim.now() - before, Duration::from_millis(100));
        assert!(format!("{err:?}").contains("TEST_SEED=77"));
    }

    #[test]
    #[should_panic(expected = "already owned")]
    fn duplicate_addresses_are_refused() {
        let mut sim = Simulator::with_seed(1);
        sim.add_node(ip("192.0.2.1"), Echo::default());
        sim.add_node(ip("192.0.2.1"), Echo::default());
    }
}
