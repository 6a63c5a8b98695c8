//! The STUN client and server over weft-testkit's simulated network: through NATs, loss and
//! a dead path, in virtual time.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use weft_proto::{Received, Transmit, Transport};
use weft_stun::{Client, ClientConfig, ClientEvent, Message, Server, ServerConfig};
use weft_testkit::{LinkConfig, NatConfig, Node, NodeId, Simulator};

/// A STUN client that keeps the events it produced.
struct ClientNode {
    client: Client,
    events: Vec<ClientEvent>,
}

impl Node for ClientNode {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.client.handle_input(now, input);
        self.events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.client.handle_timeout(now);
        self.events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.client.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.client.poll_timeout()
    }
}

struct ServerNode(Server);

impl Node for ServerNode {
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

const SERVER: &str = "203.0.113.1:3478";

fn setup(seed: u64, nat: Option<NatConfig>) -> (Simulator, NodeId, NodeId, SocketAddr) {
    let mut sim = Simulator::with_seed(seed);
    let server_addr: SocketAddr = SERVER.parse().unwrap();
    let server = sim.add_node(
        server_addr.ip(),
        ServerNode(Server::new(ServerConfig::default())),
    );
    let client_ip: IpAddr = if nat.is_some() {
        "10.0.0.2"
    } else {
        "198.51.100.7"
    }
    .parse()
    .unwrap();
    let node = ClientNode {
        client: Client::new(ClientConfig {
            rng_seed: Some([seed as u8; 32]),
            ..Default::default()
        }),
        events: Vec::new(),
    };
    let client = match nat {
        Some(cfg) => {
            let nat = sim.add_nat("198.51.100.1".parse().unwrap(), cfg);
            sim.add_node_behind(nat, client_ip, node)
        }
        None => sim.add_node(client_ip, node),
    };
    (sim, client, server, SocketAddr::new(client_ip, 40000))
}

fn start(sim: &mut Simulator, client: NodeId, local: SocketAddr) {
    let server: SocketAddr = SERVER.parse().unwrap();
    sim.with_node::<ClientNode, _>(client, |n, now| {
        n.client
            .binding_request(now, local, server, Transport::Udp)
            .unwrap();
    });
}

fn mapped(ev: &ClientEvent) -> Option<SocketAddr> {
    match ev {
        ClientEvent::Response { payload, .. } => Message::decode(payload).ok()?.mapped_address(),
        _ => None,
    }
}

#[test]
fn discovers_the_nat_mapping() {
    for cfg in [
        NatConfig::full_cone(),
        NatConfig::port_restricted_cone(),
        NatConfig::symmetric(),
    ] {
        let (mut sim, client, _server, local) = setup(11, Some(cfg));
        sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(25)));
        start(&mut sim, client, local);
        sim.run_until(
            |s| !s.node::<ClientNode>(client).events.is_empty(),
            Duration::from_secs(60),
        )
        .unwrap();
        let got = mapped(&sim.node::<ClientNode>(client).events[0]).expect("a mapped address");
        assert_eq!(got.ip().to_string(), "198.51.100.1");
        assert_ne!(got, local);
        // Two hops of 25 ms each way.
        assert_eq!(sim.elapsed(), Duration::from_millis(100));
    }
}

#[test]
fn retransmissions_carry_transactions_through_heavy_loss() {
    let (mut sim, client, _server, local) = setup(7, None);
    sim.set_default_link(
        LinkConfig::default()
            .with_latency(Duration::from_millis(40))
            .with_loss(0.3),
    );
    let mut ok = 0;
    let mut timed_out = 0;
    for _ in 0..50 {
        start(&mut sim, client, local);
        sim.run_until(
            |s| !s.node::<ClientNode>(client).events.is_empty(),
            Duration::from_secs(60),
        )
        .unwrap();
        let ev = sim.node_mut::<ClientNode>(client).events.pop().unwrap();
        match ev {
            ClientEvent::Response { .. } => {
                assert_eq!(mapped(&ev), Some(local));
                ok += 1;
            }
            ClientEvent::TimedOut { .. } => timed_out += 1,
            e => panic!("unexpected {e:?}"),
        }
    }
    let stats = sim.node::<ClientNode>(client).client.stats();
    // With 30 % loss each way a request-response pair gets through with p = 0.49; seven tries
    // leave about 1 % of transactions failing.
    assert_eq!(ok + timed_out, 50);
    assert!(
        ok >= 45,
        "only {ok} of 50 transactions succeeded (seed {})",
        sim.seed()
    );
    assert!(stats.retransmissions > 20, "{stats:?}");
}

#[test]
fn dead_path_times_out_after_39_5_seconds_of_virtual_time() {
    let (mut sim, client, _server, local) = setup(3, None);
    sim.set_default_link(LinkConfig::default().with_loss(1.0));
    start(&mut sim, client, local);
    sim.run_until(
        |s| !s.node::<ClientNode>(client).events.is_empty(),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(matches!(
        sim.node::<ClientNode>(client).events[0],
        ClientEvent::TimedOut { .. }
    ));
    assert_eq!(sim.elapsed(), Duration::from_millis(39_500));
    assert_eq!(
        sim.node::<ClientNode>(client).client.stats().requests_sent,
        7
    );
}
