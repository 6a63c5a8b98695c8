//! weft-turn's client against weft-turn's server core on weft-testkit's simulated network,
//! in virtual time: relaying both ways, expiry, stale nonces, quotas, denied peers, REST
//! credentials and a client behind a NAT.

#![allow(clippy::disallowed_methods)] // a fixed wall clock for REST usernames

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use weft_proto::{Received, Transmit};
use weft_stun::AddressFamily;
use weft_testkit::{LinkConfig, NatConfig, Node, NodeId, Simulator};
use weft_turn::server::Event as ServerEvent;
use weft_turn::{Cidr, Client, Config, Event, Server, ServerConfig, ServerStats};

const SERVER_IP: [u8; 4] = [198, 51, 100, 1];
const SERVER_IP6: [u16; 8] = [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1];
const WALL: u64 = 1_800_000_000;

struct ServerNode {
    server: Server,
    next_port: u16,
    closed: Vec<SocketAddr>,
}

impl ServerNode {
    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.server.poll_event() {
            match ev {
                ServerEvent::BindRelay {
                    token,
                    family,
                    even_port,
                } => {
                    if even_port && self.next_port % 2 == 1 {
                        self.next_port += 1;
                    }
                    let ip = match family {
                        AddressFamily::V4 => IpAddr::from(SERVER_IP),
                        _ => IpAddr::from(SERVER_IP6),
                    };
                    let relay = SocketAddr::new(ip, self.next_port);
                    self.next_port += 1;
                    self.server.relay_bound(now, token, Ok(relay));
                }
                ServerEvent::RelayClosed { relay, .. } => self.closed.push(relay),
                _ => {}
            }
        }
    }
}

impl Node for ServerNode {
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

/// A UDP peer that echoes what it gets.
struct Echo {
    out: VecDeque<Transmit>,
    got: u64,
}

impl Node for Echo {
    fn handle_input(&mut self, _now: Instant, input: Received) {
        self.got += 1;
        self.out.push_back(Transmit::udp(
            input.destination,
            input.source,
            input.payload,
        ));
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

struct ClientNode {
    client: Client,
    events: Vec<Event>,
    /// When frozen the client stops running its timers (no refreshes).
    frozen: bool,
}

impl Node for ClientNode {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.client.handle_input(now, input);
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if !self.frozen {
            self.client.handle_timeout(now);
        }
        while let Some(e) = self.client.poll_event() {
            self.events.push(e);
        }
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.client.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        if self.frozen {
            None
        } else {
            self.client.poll_timeout()
        }
    }
}

struct World {
    sim: Simulator,
    server: NodeId,
    peer: NodeId,
    peer_addr: SocketAddr,
}

fn world(seed: u64, config: ServerConfig, peer_ip: IpAddr) -> World {
    let mut sim = Simulator::with_seed(seed);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let now = sim.now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(WALL);
    let server = sim.add_node(
        IpAddr::from(SERVER_IP),
        ServerNode {
            server: Server::new(config, now, wall),
            next_port: 50000,
            closed: vec![],
        },
    );
    let peer = sim.add_node(
        peer_ip,
        Echo {
            out: VecDeque::new(),
            got: 0,
        },
    );
    World {
        sim,
        server,
        peer,
        peer_addr: SocketAddr::new(peer_ip, 7000),
    }
}

fn users() -> ServerConfig {
    let mut c = ServerConfig {
        realm: "test".into(),
        rng_seed: Some([5; 32]),
        ..ServerConfig::default()
    };
    c.users.insert("alice".into(), "alicepw".into());
    c.users.insert("bob".into(), "bobpw".into());
    c
}

fn add_client(w: &mut World, ip: [u8; 4], user: &str, pw: &str, nat: Option<NodeId>) -> NodeId {
    add_client_with(w, ip, user, pw, nat, |_| {})
}

fn add_client_with(
    w: &mut World,
    ip: [u8; 4],
    user: &str,
    pw: &str,
    nat: Option<NodeId>,
    f: impl FnOnce(&mut Config),
) -> NodeId {
    let local = SocketAddr::from((ip, 40000));
    let server = SocketAddr::from((SERVER_IP, 3478));
    let mut cfg = Config::new(server, local, user, pw);
    f(&mut cfg);
    cfg.stun.rng_seed = Some([ip[3]; 32]);
    let client = Client::new(cfg, w.sim.now()).expect("client");
    let node = ClientNode {
        client,
        events: vec![],
        frozen: false,
    };
    match nat {
        Some(n) => w.sim.add_node_behind(n, IpAddr::from(ip), node),
        None => w.sim.add_node(IpAddr::from(ip), node),
    }
}

fn client(w: &World, id: NodeId) -> &ClientNode {
    w.sim.node::<ClientNode>(id)
}

fn stats(w: &World) -> ServerStats {
    w.sim.node::<ServerNode>(w.server).server.stats()
}

fn allocated(w: &mut World, c: NodeId) -> SocketAddr {
    w.sim
        .run_until(
            |s| {
                s.node::<ClientNode>(c)
                    .events
                    .iter()
                    .any(|e| matches!(e, Event::Allocated { .. } | Event::AllocationFailed { .. }))
            },
            Duration::from_secs(30),
        )
        .expect("allocation answered");
    match client(w, c)
        .events
        .iter()
        .find(|e| matches!(e, Event::Allocated { .. } | Event::AllocationFailed { .. }))
    {
        Some(Event::Allocated { relayed, .. }) => *relayed,
        other => panic!("{other:?}"),
    }
}

fn data_count(s: &Simulator, c: NodeId) -> usize {
    s.node::<ClientNode>(c)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Data { .. }))
        .count()
}

fn public_peer() -> IpAddr {
    IpAddr::from([203, 0, 113, 9])
}

#[test]
fn relays_both_ways_with_indications_and_channels() {
    let mut w = world(1, users(), public_peer());
    let c = add_client(&mut w, [192, 0, 2, 10], "alice", "alicepw", None);
    let relayed = allocated(&mut w, c);
    assert_eq!(relayed.ip(), IpAddr::from(SERVER_IP));
    let peer = w.peer_addr;
    w.sim.with_node::<ClientNode, _>(c, |n, now| {
        n.client.create_permission(now, peer.ip()).unwrap()
    });
    w.sim
        .run_until(
            |s| {
                s.node::<ClientNode>(c)
                    .events
                    .contains(&Event::PermissionCreated(peer.ip()))
            },
            Duration::from_secs(5),
        )
        .unwrap();
    // Send indication -> peer -> Data indication back.
    w.sim.with_node::<ClientNode, _>(c, |n, now| {
        n.client.send(now, peer, b"via indication").unwrap()
    });
    w.sim
        .run_until(|s| data_count(s, c) >= 1, Duration::from_secs(5))
        .unwrap();
    // A channel: ChannelData both ways.
    w.sim
        .with_node::<ClientNode, _>(c, |n, now| n.client.bind_channel(now, peer).unwrap());
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    assert!(
        client(&w, c)
            .events
            .iter()
            .any(|e| matches!(e, Event::ChannelBound { .. }))
    );
    for i in 0..10u8 {
        w.sim
            .with_node::<ClientNode, _>(c, |n, now| n.client.send(now, peer, &[i; 100]).unwrap());
    }
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(data_count(&w.sim, c), 11);
    let st = stats(&w);
    assert_eq!(st.bytes_to_peers, 14 + 1000);
    assert_eq!(st.bytes_to_clients, 14 + 1000);
    assert_eq!(client(&w, c).client.stats().channel_data_sent, 10);
    assert_eq!(w.sim.node::<Echo>(w.peer).got, 11);
}

#[test]
fn permissions_channels_and_allocations_expire_without_refresh() {
    let mut w = world(2, users(), public_peer());
    let c = add_client(&mut w, [192, 0, 2, 11], "alice", "alicepw", None);
    let relayed = allocated(&mut w, c);
    let peer = w.peer_addr;
    w.sim
        .with_node::<ClientNode, _>(c, |n, now| n.client.bind_channel(now, peer).unwrap());
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    w.sim.with_node::<ClientNode, _>(c, |n, _| n.frozen = true);
    // Within 5 minutes the peer still gets through.
    w.sim.run_for(Duration::from_secs(200)).unwrap();
    w.sim.send_from(
        w.peer,
        Transmit::udp(peer, relayed, Bytes::from_static(b"early")),
    );
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(data_count(&w.sim, c), 1);
    // After 300 s the permission is gone: the server drops what the peer sends.
    w.sim.run_for(Duration::from_secs(120)).unwrap();
    let dropped = stats(&w).dropped;
    w.sim.send_from(
        w.peer,
        Transmit::udp(peer, relayed, Bytes::from_static(b"late")),
    );
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    assert_eq!(data_count(&w.sim, c), 1);
    assert_eq!(stats(&w).dropped, dropped + 1);
    // After the 600 s lifetime the allocation and its relay are gone.
    w.sim.run_for(Duration::from_secs(300)).unwrap();
    assert_eq!(stats(&w).allocations, 0);
    assert_eq!(w.sim.node::<ServerNode>(w.server).closed, vec![relayed]);
}

#[test]
fn refreshes_keep_an_allocation_alive_through_stale_nonces() {
    let mut cfg = users();
    cfg.nonce_lifetime = Duration::from_secs(60);
    let mut w = world(3, cfg, public_peer());
    let c = add_client(&mut w, [192, 0, 2, 12], "alice", "alicepw", None);
    allocated(&mut w, c);
    let peer = w.peer_addr;
    w.sim.with_node::<ClientNode, _>(c, |n, now| {
        n.client.create_permission(now, peer.ip()).unwrap()
    });
    w.sim.run_for(Duration::from_secs(1800)).unwrap();
    assert_eq!(stats(&w).allocations, 1, "the client's refreshes kept it");
    assert!(
        stats(&w).challenges >= 3,
        "stale nonces were answered with 438: {:?}",
        stats(&w)
    );
    assert!(!client(&w, c).events.iter().any(|e| matches!(
        e,
        Event::AllocationFailed { .. } | Event::PermissionFailed { .. }
    )));
}

#[test]
fn quota_wrong_password_and_denied_peers_are_refused() {
    let mut cfg = users();
    cfg.user_quota = 1;
    let mut w = world(4, cfg, IpAddr::from([10, 1, 2, 3]));
    let a = add_client(&mut w, [192, 0, 2, 13], "alice", "alicepw", None);
    allocated(&mut w, a);
    let a2 = add_client(&mut w, [192, 0, 2, 14], "alice", "alicepw", None);
    w.sim
        .run_until(
            |s| !s.node::<ClientNode>(a2).events.is_empty(),
            Duration::from_secs(30),
        )
        .unwrap();
    assert!(
        matches!(
            client(&w, a2).events[0],
            Event::AllocationFailed { code: 486, .. }
        ),
        "{:?}",
        client(&w, a2).events
    );
    let b = add_client(&mut w, [192, 0, 2, 15], "bob", "wrong", None);
    w.sim
        .run_until(
            |s| !s.node::<ClientNode>(b).events.is_empty(),
            Duration::from_secs(30),
        )
        .unwrap();
    assert!(
        matches!(
            client(&w, b).events[0],
            Event::AllocationFailed { code: 401, .. }
        ),
        "{:?}",
        client(&w, b).events
    );
    assert!(stats(&w).auth_failures >= 1);
    // The peer is on a private network: denied by default (RFC 8656 §21.3).
    let peer = w.peer_addr;
    w.sim.with_node::<ClientNode, _>(a, |n, now| {
        n.client.create_permission(now, peer.ip()).unwrap()
    });
    w.sim.run_for(Duration::from_secs(2)).unwrap();
    assert!(client(&w, a).events.iter().any(|e| *e
        == Event::PermissionFailed {
            peer: peer.ip(),
            code: 403
        }));
    assert_eq!(stats(&w).denied_peers, 1);
}

#[test]
fn an_allowed_private_peer_is_relayed() {
    let mut cfg = users();
    cfg.allow_peers.push("10.0.0.0/8".parse::<Cidr>().unwrap());
    let mut w = world(5, cfg, IpAddr::from([10, 1, 2, 3]));
    let a = add_client(&mut w, [192, 0, 2, 16], "alice", "alicepw", None);
    allocated(&mut w, a);
    let peer = w.peer_addr;
    w.sim.with_node::<ClientNode, _>(a, |n, now| {
        n.client.create_permission(now, peer.ip()).unwrap()
    });
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    w.sim
        .with_node::<ClientNode, _>(a, |n, now| n.client.send(now, peer, b"hi").unwrap());
    w.sim
        .run_until(|s| data_count(s, a) == 1, Duration::from_secs(5))
        .unwrap();
}

#[test]
fn rest_credentials_work_until_they_expire() {
    let mut cfg = ServerConfig {
        realm: "test".into(),
        rng_seed: Some([5; 32]),
        ..ServerConfig::default()
    };
    cfg.auth_secret = Some("north".into());
    let rest = |name: &str| {
        let key = openssl::pkey::PKey::hmac(b"north").unwrap();
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).unwrap();
        s.update(name.as_bytes()).unwrap();
        openssl::base64::encode_block(&s.sign_to_vec().unwrap())
    };
    let mut w = world(6, cfg, public_peer());
    let good = format!("{}:alice", WALL + 3600);
    let a = add_client(&mut w, [192, 0, 2, 17], &good, &rest(&good), None);
    allocated(&mut w, a);
    let old = format!("{}:alice", WALL - 1);
    let b = add_client(&mut w, [192, 0, 2, 18], &old, &rest(&old), None);
    w.sim
        .run_until(
            |s| !s.node::<ClientNode>(b).events.is_empty(),
            Duration::from_secs(30),
        )
        .unwrap();
    assert!(matches!(
        client(&w, b).events[0],
        Event::AllocationFailed { code: 401, .. }
    ));
}

#[test]
fn a_client_behind_a_nat_relays_through_its_mapping() {
    let mut w = world(7, users(), public_peer());
    let nat = w.sim.add_nat(
        IpAddr::from([192, 0, 2, 100]),
        NatConfig::port_restricted_cone(),
    );
    let c = add_client(&mut w, [10, 0, 0, 5], "alice", "alicepw", Some(nat));
    allocated(&mut w, c);
    let mapped = client(&w, c).events.iter().find_map(|e| {
        if let Event::Allocated { mapped, .. } = e {
            *mapped
        } else {
            None
        }
    });
    assert_eq!(mapped.map(|m| m.ip()), Some(IpAddr::from([192, 0, 2, 100])));
    let peer = w.peer_addr;
    w.sim
        .with_node::<ClientNode, _>(c, |n, now| n.client.bind_channel(now, peer).unwrap());
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    w.sim.with_node::<ClientNode, _>(c, |n, now| {
        n.client.send(now, peer, b"through the nat").unwrap()
    });
    w.sim
        .run_until(|s| data_count(s, c) == 1, Duration::from_secs(5))
        .unwrap();
}

fn first_outcome(w: &mut World, c: NodeId) -> Event {
    w.sim
        .run_until(
            |s| {
                s.node::<ClientNode>(c)
                    .events
                    .iter()
                    .any(|e| matches!(e, Event::Allocated { .. } | Event::AllocationFailed { .. }))
            },
            Duration::from_secs(30),
        )
        .unwrap();
    client(w, c)
        .events
        .iter()
        .find(|e| matches!(e, Event::Allocated { .. } | Event::AllocationFailed { .. }))
        .cloned()
        .unwrap()
}

#[test]
fn allocation_options_ipv6_dual_stack_even_port_and_dont_fragment() {
    let mut w = world(8, users(), public_peer());
    let v6 = add_client_with(&mut w, [192, 0, 2, 20], "alice", "alicepw", None, |c| {
        c.address_family = AddressFamily::V6
    });
    assert!(
        matches!(first_outcome(&mut w, v6), Event::Allocated { relayed, .. } if relayed.is_ipv6())
    );
    let dual = add_client_with(&mut w, [192, 0, 2, 21], "alice", "alicepw", None, |c| {
        c.dual_stack = true
    });
    // This server does not do dual allocations: the IPv4 one stands alone.
    assert!(
        matches!(first_outcome(&mut w, dual), Event::Allocated { relayed, also_relayed: None, .. } if relayed.is_ipv4())
    );
    let even = add_client_with(&mut w, [192, 0, 2, 22], "alice", "alicepw", None, |c| {
        c.even_port = Some(false)
    });
    assert!(
        matches!(first_outcome(&mut w, even), Event::Allocated { relayed, .. } if relayed.port() % 2 == 0)
    );
    let reserve = add_client_with(&mut w, [192, 0, 2, 23], "alice", "alicepw", None, |c| {
        c.even_port = Some(true)
    });
    assert!(matches!(
        first_outcome(&mut w, reserve),
        Event::AllocationFailed { code: 508, .. }
    ));
    let df = add_client_with(&mut w, [192, 0, 2, 24], "alice", "alicepw", None, |c| {
        c.dont_fragment = true
    });
    assert!(matches!(
        first_outcome(&mut w, df),
        Event::AllocationFailed { code: 420, .. }
    ));
}

#[test]
fn try_alternate_moves_the_allocation_to_the_other_server() {
    let mut w = world(9, users(), public_peer());
    let second: IpAddr = IpAddr::from([198, 51, 100, 2]);
    let mut cfg = users();
    cfg.alternate_server = Some(SocketAddr::new(second, 3478));
    // The first server (at SERVER_IP) redirects; a second one at .2 serves.
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(WALL);
    let now = w.sim.now();
    w.sim
        .with_node::<ServerNode, _>(w.server, |n, _| n.server = Server::new(cfg, now, wall));
    w.sim.add_node(
        second,
        ServerNode {
            server: Server::new(users(), now, wall),
            next_port: 51000,
            closed: vec![],
        },
    );
    let c = add_client(&mut w, [192, 0, 2, 25], "alice", "alicepw", None);
    match first_outcome(&mut w, c) {
        Event::Allocated { relayed, .. } => {
            assert_eq!(relayed.port(), 51000, "allocated by the second server")
        }
        other => panic!("{other:?}"),
    }
    assert!(client(&w, c).events.contains(&Event::Redirected {
        server: SocketAddr::new(second, 3478)
    }));
}

#[test]
fn the_bandwidth_cap_drops_the_excess_and_reflection_is_refused() {
    let mut cfg = users();
    cfg.bandwidth = Some(10_000); // bytes per second per allocation
    cfg.allow_peers
        .push("198.51.100.0/24".parse::<Cidr>().unwrap());
    let mut w = world(10, cfg, public_peer());
    let c = add_client(&mut w, [192, 0, 2, 30], "alice", "alicepw", None);
    allocated(&mut w, c);
    let peer = w.peer_addr;
    w.sim
        .with_node::<ClientNode, _>(c, |n, now| n.client.bind_channel(now, peer).unwrap());
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    // 100 datagrams of 1000 bytes at once: one second of budget passes, the rest is dropped.
    for _ in 0..100 {
        w.sim
            .with_node::<ClientNode, _>(c, |n, now| n.client.send(now, peer, &[1; 1000]).unwrap());
    }
    w.sim.run_for(Duration::from_secs(1)).unwrap();
    let got = w.sim.node::<Echo>(w.peer).got;
    assert!(
        (9..=11).contains(&got),
        "{got} datagrams passed a 10 kB/s cap"
    );
    assert!(stats(&w).dropped >= 89);
    // A permission towards the server's own listening address is refused even when its
    // prefix is allowed: the datagram would loop back in as client traffic.
    let server = SocketAddr::from((SERVER_IP, 3478));
    w.sim
        .with_node::<ClientNode, _>(c, |n, now| n.client.bind_channel(now, server).unwrap());
    w.sim.run_for(Duration::from_secs(2)).unwrap();
    assert!(
        client(&w, c).events.iter().any(|e| *e
            == Event::ChannelFailed {
                peer: server,
                code: 403
            }),
        "{:?}",
        client(&w, c).events
    );
}
