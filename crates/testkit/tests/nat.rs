//! The RFC 4787 behaviours of simulated NATs.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Peer, addr, ip, ms};
use weft_testkit::{
    DropReason, FilteringBehavior, LinkConfig, MappingBehavior, NatConfig, NodeId, Simulator,
    TraceKind,
};

const NAT_IP: &str = "203.0.113.1";
const CLIENT: &str = "10.0.0.2:4000";
const S1: &str = "192.0.2.1:3478";
const S1_OTHER_PORT: &str = "192.0.2.1:3479";
const S2: &str = "192.0.2.2:3478";

/// A client behind a NAT and two servers on the internet.
struct Net {
    sim: Simulator,
    nat: NodeId,
    client: NodeId,
    s1: NodeId,
    s2: NodeId,
}

impl Net {
    fn new(config: NatConfig) -> Self {
        let mut sim = Simulator::with_seed(4787);
        sim.set_default_link(LinkConfig::default().with_latency(ms(5)));
        let nat = sim.add_nat(ip(NAT_IP), config);
        let client = sim.add_node_behind(nat, ip("10.0.0.2"), Peer::new(addr(CLIENT)));
        let s1 = sim.add_node(ip("192.0.2.1"), Peer::new(addr(S1)));
        let s2 = sim.add_node(ip("192.0.2.2"), Peer::new(addr(S2)));
        Net {
            sim,
            nat,
            client,
            s1,
            s2,
        }
    }

    fn server(&self, to: SocketAddr) -> NodeId {
        if to.ip() == addr(S1).ip() {
            self.s1
        } else {
            self.s2
        }
    }

    /// Sends from the client to `to` and returns the source address the server saw.
    fn observe(&mut self, to: &str) -> SocketAddr {
        let to = addr(to);
        self.sim
            .with_node::<Peer, _>(self.client, |p, _| p.send(to, &b"hi"[..]));
        self.sim.run_until_idle(Duration::from_secs(1)).unwrap();
        let (_, last) = self
            .sim
            .node::<Peer>(self.server(to))
            .received
            .last()
            .unwrap();
        assert_eq!(last.destination, to);
        last.source
    }

    /// Sends from `from` (a server address) to `to`; returns whether the client got it.
    fn reaches_client(&mut self, from: &str, to: SocketAddr) -> bool {
        let from = addr(from);
        let before = self.sim.node::<Peer>(self.client).received.len();
        let server = self.server(from);
        self.sim
            .with_node::<Peer, _>(server, |p, _| p.send_from(from, to, &b"in"[..]));
        self.sim.run_until_idle(Duration::from_secs(1)).unwrap();
        let got = &self.sim.node::<Peer>(self.client).received[before..];
        assert!(
            got.iter()
                .all(|(_, r)| r.source == from && r.destination == addr(CLIENT))
        );
        !got.is_empty()
    }

    fn last_drop(&self) -> Option<DropReason> {
        let drops = self.sim.trace().filter_map(|e| match e.kind {
            TraceKind::Drop { reason, .. } => Some(reason),
            _ => None,
        });
        drops.last()
    }
}

fn mapped_sources(mapping: MappingBehavior) -> (Net, [SocketAddr; 3]) {
    let mut net = Net::new(NatConfig::new(
        mapping,
        FilteringBehavior::EndpointIndependent,
    ));
    let seen = [net.observe(S1), net.observe(S1_OTHER_PORT), net.observe(S2)];
    assert!(seen.iter().all(|s| s.ip() == ip(NAT_IP)), "{seen:?}");
    (net, seen)
}

#[test]
fn endpoint_independent_mapping_reuses_one_mapping_for_every_destination() {
    let (net, [a, b, c]) = mapped_sources(MappingBehavior::EndpointIndependent);
    assert_eq!((a, b), (b, c));
    assert_eq!(net.sim.nat(net.nat).stats().mappings_created, 1);
}

#[test]
fn address_dependent_mapping_is_new_per_destination_ip() {
    let (net, [a, b, c]) = mapped_sources(MappingBehavior::AddressDependent);
    assert_eq!(a, b);
    assert_ne!(b, c);
    assert_eq!(net.sim.nat(net.nat).stats().mappings_created, 2);
}

#[test]
fn address_and_port_dependent_mapping_is_new_per_destination() {
    let (net, [a, b, c]) = mapped_sources(MappingBehavior::AddressAndPortDependent);
    assert!(a != b && b != c && a != c);
    let live = net.sim.nat(net.nat).live_mappings(net.sim.now());
    assert_eq!(live.len(), 3);
    assert!(live.iter().all(|m| m.internal == addr(CLIENT)));
}

/// Which of (S1, S1's other port, S2) may send to the client after it contacted S1.
fn inbound_allowed(filtering: FilteringBehavior) -> [bool; 3] {
    [S1, S1_OTHER_PORT, S2].map(|from| {
        let mut net = Net::new(NatConfig::new(
            MappingBehavior::EndpointIndependent,
            filtering,
        ));
        let mapped = net.observe(S1);
        let allowed = net.reaches_client(from, mapped);
        if !allowed {
            assert_eq!(net.last_drop(), Some(DropReason::NatFiltered));
            assert_eq!(net.sim.nat(net.nat).stats().filtered, 1);
        }
        allowed
    })
}

#[test]
fn endpoint_independent_filtering_lets_anyone_in() {
    assert_eq!(
        inbound_allowed(FilteringBehavior::EndpointIndependent),
        [true; 3]
    );
}

#[test]
fn address_dependent_filtering_admits_only_contacted_ips() {
    assert_eq!(
        inbound_allowed(FilteringBehavior::AddressDependent),
        [true, true, false]
    );
}

#[test]
fn address_and_port_dependent_filtering_admits_only_contacted_endpoints() {
    assert_eq!(
        inbound_allowed(FilteringBehavior::AddressAndPortDependent),
        [true, false, false]
    );
}

#[test]
fn unsolicited_datagram_without_mapping_is_dropped() {
    let mut net = Net::new(NatConfig::full_cone());
    assert!(!net.reaches_client(S1, addr("203.0.113.1:50000")));
    assert_eq!(net.last_drop(), Some(DropReason::NatNoMapping));
}

#[test]
fn mapping_expires_after_timeout_without_outbound_traffic() {
    let mut net = Net::new(NatConfig::full_cone().with_mapping_timeout(Duration::from_secs(30)));
    let first = net.observe(S1);
    net.sim.run_for(Duration::from_secs(29)).unwrap();
    assert!(net.reaches_client(S1, first), "inbound before the timeout");
    net.sim.run_for(Duration::from_secs(2)).unwrap();
    assert!(
        !net.reaches_client(S1, first),
        "inbound did not refresh the mapping"
    );
    assert_eq!(net.last_drop(), Some(DropReason::NatNoMapping));
    let second = net.observe(S1);
    assert_ne!(first, second, "a fresh mapping gets a fresh port");
    assert_eq!(net.sim.nat(net.nat).stats().mappings_expired, 1);
}

#[test]
fn outbound_keepalives_refresh_the_mapping() {
    let mut net = Net::new(NatConfig::full_cone().with_mapping_timeout(Duration::from_secs(30)));
    let now = net.sim.now();
    let interval = Duration::from_secs(20);
    net.sim
        .node_mut::<Peer>(net.client)
        .pace(now, addr(S1), 6, interval, 8);
    net.sim.run_until_idle(Duration::from_secs(200)).unwrap();
    let sources = net.sim.node::<Peer>(net.s1).sources();
    assert_eq!(sources.len(), 6);
    assert!(sources.iter().all(|s| *s == sources[0]), "{sources:?}");
    assert_eq!(net.sim.nat(net.nat).stats().mappings_created, 1);
}

#[test]
fn hairpinning_loops_back_to_an_inside_host() {
    for hairpinning in [true, false] {
        let config = NatConfig::full_cone().with_hairpinning(hairpinning);
        let mut net = Net::new(config);
        let other = "10.0.0.3:4000";
        let peer = net
            .sim
            .add_node_behind(net.nat, ip("10.0.0.3"), Peer::new(addr(other)));
        let mapped = net.observe(S1);
        net.sim
            .with_node::<Peer, _>(peer, |p, _| p.send(mapped, &b"hairpin"[..]));
        net.sim.run_until_idle(Duration::from_secs(1)).unwrap();
        let got = net.sim.node::<Peer>(net.client).sources();
        if hairpinning {
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].ip(), ip(NAT_IP), "the sender appears by its mapping");
        } else {
            assert!(got.is_empty());
        }
    }
}

#[test]
fn nested_nats_translate_twice() {
    let mut sim = Simulator::with_seed(4787);
    let cgn = sim.add_nat(ip(NAT_IP), NatConfig::symmetric());
    let home = sim.add_nat_behind(cgn, ip("100.64.0.2"), NatConfig::default());
    // The same private address behind another NAT does not clash.
    let other_home = sim.add_nat_behind(cgn, ip("100.64.0.3"), NatConfig::default());
    sim.add_node_behind(other_home, ip("10.0.0.2"), Peer::new(addr(CLIENT)));
    let client = sim.add_node_behind(home, ip("10.0.0.2"), Peer::new(addr(CLIENT)));
    let server = sim.add_node(ip("192.0.2.1"), Peer::echo(addr(S1)));
    sim.with_node::<Peer, _>(client, |p, _| p.send(addr(S1), &b"ping"[..]));
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    let seen = sim.node::<Peer>(server).sources();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].ip(), ip(NAT_IP));
    assert_eq!(
        sim.node::<Peer>(client).sources(),
        [addr(S1)],
        "the echo came back"
    );
}
