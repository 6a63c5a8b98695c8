//! Many channels of every kind between two endpoints over a lossy simulated link.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_datachannel::{ChannelId, ChannelInit, Config, Endpoint, Event, Role};
use weft_proto::{Received, Transmit};
use weft_testkit::{LinkConfig, Node, Simulator};

struct Peer {
    ep: Endpoint,
    local: SocketAddr,
    remote: SocketAddr,
    started: bool,
    now: Instant,
    /// Channels to create and how many messages each sends once open.
    plan: Vec<(ChannelInit, u32)>,
    to_send: HashMap<ChannelId, u32>,
    got: HashMap<ChannelId, Vec<Bytes>>,
    closed: Vec<ChannelId>,
}

impl Peer {
    fn new(role: Role, seed: u8, now: Instant, local: SocketAddr, remote: SocketAddr) -> Peer {
        Peer {
            ep: Endpoint::new(Config::new(role).with_seed([seed; 32]), now).unwrap(),
            local,
            remote,
            started: false,
            now,
            plan: vec![],
            to_send: HashMap::new(),
            got: HashMap::new(),
            closed: vec![],
        }
    }

    fn pump(&mut self) {
        let now = self.now;
        if !self.started {
            self.started = true;
            self.ep.connect(now).unwrap();
            for (init, n) in std::mem::take(&mut self.plan) {
                let id = self.ep.create_channel(now, init).unwrap();
                self.to_send.insert(id, n);
            }
        }
        while let Some(e) = self.ep.poll_event() {
            match e {
                Event::Open(id) => {
                    if let Some(n) = self.to_send.remove(&id) {
                        for i in 0..n {
                            let msg = Bytes::from(format!(
                                "{}:{i}:{}",
                                id.0,
                                "x".repeat((i as usize * 37) % 3000)
                            ));
                            self.ep.send(now, id, msg, i % 2 == 0).unwrap();
                        }
                    }
                }
                Event::Message(m) => self.got.entry(m.id).or_default().push(m.data),
                Event::Closed(id) => self.closed.push(id),
                _ => {}
            }
        }
    }
}

impl Node for Peer {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.now = now;
        self.ep.handle_input(now, input.payload);
        self.pump();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if self.started {
            self.ep.handle_timeout(now);
        }
        self.pump();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        Some(Transmit::udp(
            self.local,
            self.remote,
            self.ep.poll_transmit()?,
        ))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        if !self.started {
            return Some(self.now);
        }
        self.ep.poll_timeout()
    }
}

#[test]
fn twenty_channels_of_every_kind_under_loss() {
    let mut sim = Simulator::with_seed(11);
    sim.set_default_link(
        LinkConfig::default()
            .with_latency(Duration::from_millis(15))
            .with_loss(0.05)
            .with_reorder(0.02, Duration::from_millis(5)),
    );
    let (ip_a, ip_b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let (sa, sb) = (SocketAddr::new(ip_a, 5000), SocketAddr::new(ip_b, 5000));
    let now = sim.now();
    let mut a = Peer::new(Role::Client, 1, now, sa, sb);
    let mut b = Peer::new(Role::Server, 2, now, sb, sa);
    for i in 0..10u16 {
        let mut init = ChannelInit::new(&format!("a{i}"));
        init.ordered = i % 2 == 0;
        a.plan.push((init, 100));
        b.plan.push((ChannelInit::new(&format!("b{i}")), 50));
    }
    let a = sim.add_node(ip_a, a);
    let b = sim.add_node(ip_b, b);
    let done = |s: &Simulator| {
        let pa = s.node::<Peer>(a);
        let pb = s.node::<Peer>(b);
        pb.got.len() == 10
            && pb.got.values().all(|v| v.len() == 100)
            && pa.got.len() == 10
            && pa.got.values().all(|v| v.len() == 50)
    };
    sim.run_until(|s| done(s), Duration::from_secs(120))
        .unwrap();
    let pb = sim.node::<Peer>(b);
    for (id, msgs) in &pb.got {
        assert_eq!(id.0 % 2, 0, "a is the DTLS client: even ids");
        if id.0 % 4 == 0 {
            // Ordered channels keep their order.
            for (i, m) in msgs.iter().enumerate() {
                assert!(m.starts_with(format!("{}:{i}:", id.0).as_bytes()));
            }
        }
    }
    // Close every channel from a; both sides see them closed.
    sim.with_node::<Peer, _>(a, |p, now| {
        let ids: Vec<ChannelId> = p.ep.channels().map(|c| c.id).collect();
        for id in ids {
            p.ep.close_channel(now, id).unwrap();
        }
    });
    sim.run_until(
        |s| s.node::<Peer>(a).closed.len() == 20 && s.node::<Peer>(b).closed.len() == 20,
        Duration::from_secs(60),
    )
    .unwrap();
}
