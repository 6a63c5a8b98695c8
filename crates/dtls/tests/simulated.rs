//! Two DTLS connections over weft-testkit's simulated network, in virtual time: handshakes
//! under loss and reordering, deterministic for a seed, with matching SRTP keys.

#![allow(clippy::disallowed_methods)] // certificates take a wall-clock `now`

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use weft_dtls::{
    Certificate, CloseReason, Config, Connection, Event, HashAlgorithm, KeyType, KeyingMaterial,
    Role,
};
use weft_proto::{Received, Transmit};
use weft_testkit::{LinkConfig, Node, NodeId, Simulator};

/// A DTLS connection on one address, talking to one peer address.
struct Peer {
    conn: Option<Connection>,
    pending: Option<(Role, Config)>,
    local: SocketAddr,
    remote: SocketAddr,
    events: Vec<Event>,
}

impl Peer {
    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("started")
    }

    fn collect(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            while let Some(e) = c.poll_event() {
                self.events.push(e);
            }
        }
    }

    fn keys(&self) -> Option<&KeyingMaterial> {
        self.events.iter().find_map(|e| match e {
            Event::KeyingMaterial(k) => Some(k),
            _ => None,
        })
    }

    fn connected(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Connected { .. }))
    }

    fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| match e {
            Event::Closed { reason } => Some(reason),
            _ => None,
        })
    }
}

impl Node for Peer {
    fn handle_input(&mut self, now: Instant, input: Received) {
        if self.conn.is_none() {
            // A server starts on its first datagram.
            let (role, cfg) = self.pending.take().expect("config");
            self.conn = Some(Connection::new(role, cfg, now, SystemTime::now()).unwrap());
        }
        self.conn().handle_input(now, input.payload);
        self.collect();
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let Some((role, cfg)) = self.pending.take() {
            self.conn = Some(Connection::new(role, cfg, now, SystemTime::now()).unwrap());
        }
        if let Some(c) = self.conn.as_mut() {
            c.handle_timeout(now);
        }
        self.collect();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let d: Bytes = self.conn.as_mut()?.poll_transmit()?;
        Some(Transmit::udp(self.local, self.remote, d))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match (&self.conn, &self.pending) {
            // A client is created by its first timer, at time zero.
            (None, Some((Role::Client, _))) => Some(Instant::now() - Duration::from_secs(3600)),
            (Some(c), _) => c.poll_timeout(),
            _ => None,
        }
    }
}

fn certs() -> (Certificate, Certificate) {
    let wall = SystemTime::now();
    (
        Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(86400)).unwrap(),
        Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(86400)).unwrap(),
    )
}

/// Runs one handshake; returns the simulator and the two node ids.
fn run(seed: u64, link: LinkConfig, client_fp_ok: bool) -> (Simulator, NodeId, NodeId) {
    let (ca, cb) = certs();
    let mut sim = Simulator::with_seed(seed);
    sim.set_default_link(link);
    let a_ip: IpAddr = "10.0.0.1".parse().unwrap();
    let b_ip: IpAddr = "10.0.0.2".parse().unwrap();
    let a_addr = SocketAddr::new(a_ip, 5000);
    let b_addr = SocketAddr::new(b_ip, 5000);
    let mut a_cfg = Config::new(ca.clone());
    a_cfg.remote_fingerprints = vec![if client_fp_ok {
        cb.fingerprint(HashAlgorithm::Sha256).unwrap()
    } else {
        ca.fingerprint(HashAlgorithm::Sha256).unwrap()
    }];
    let mut b_cfg = Config::new(cb);
    b_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).unwrap()];
    // Loss can take several flights' worth of retransmissions; give the handshake room.
    for c in [&mut a_cfg, &mut b_cfg] {
        c.max_retransmissions = 10;
        c.handshake_timeout = Duration::from_secs(120);
    }
    let a = sim.add_node(
        a_ip,
        Peer {
            conn: None,
            pending: Some((Role::Client, a_cfg)),
            local: a_addr,
            remote: b_addr,
            events: vec![],
        },
    );
    let b = sim.add_node(
        b_ip,
        Peer {
            conn: None,
            pending: Some((Role::Server, b_cfg)),
            local: b_addr,
            remote: a_addr,
            events: vec![],
        },
    );
    sim.run_until(
        |s| {
            let (pa, pb) = (s.node::<Peer>(a), s.node::<Peer>(b));
            (pa.connected() && pb.connected()) || pa.closed().is_some() || pb.closed().is_some()
        },
        Duration::from_secs(300),
    )
    .unwrap();
    (sim, a, b)
}

fn assert_keys_match(sim: &Simulator, a: NodeId, b: NodeId) {
    let (ka, kb) = (
        sim.node::<Peer>(a).keys().unwrap(),
        sim.node::<Peer>(b).keys().unwrap(),
    );
    assert_eq!(ka.profile, kb.profile);
    assert_eq!(ka.local, kb.remote);
    assert_eq!(ka.remote, kb.local);
}

#[test]
fn handshake_over_a_clean_link() {
    let (sim, a, b) = run(
        1,
        LinkConfig::default().with_latency(Duration::from_millis(20)),
        true,
    );
    assert!(sim.node::<Peer>(a).connected() && sim.node::<Peer>(b).connected());
    assert_keys_match(&sim, a, b);
    // Two round trips (no HelloVerifyRequest), nothing retransmitted.
    assert_eq!(sim.elapsed(), Duration::from_millis(80));
    assert_eq!(
        sim.node::<Peer>(a)
            .conn
            .as_ref()
            .unwrap()
            .stats()
            .retransmissions,
        0
    );
}

#[test]
fn handshake_survives_10_and_30_percent_loss() {
    for loss in [0.1, 0.3] {
        let mut ok = 0;
        let mut retransmissions = 0;
        for seed in 0..12 {
            let link = LinkConfig::default()
                .with_latency(Duration::from_millis(30))
                .with_loss(loss);
            let (mut sim, a, b) = run(100 + seed, link, true);
            let (pa, pb) = (sim.node::<Peer>(a), sim.node::<Peer>(b));
            assert!(
                pa.closed().is_none() && pb.closed().is_none(),
                "loss {loss} seed {seed}: {:?} {:?}",
                pa.closed(),
                pb.closed()
            );
            assert_keys_match(&sim, a, b);
            retransmissions += sim.node_mut::<Peer>(a).conn().stats().retransmissions
                + sim.node_mut::<Peer>(b).conn().stats().retransmissions;
            ok += 1;
        }
        assert_eq!(ok, 12);
        assert!(
            retransmissions > 0,
            "loss {loss} needed no retransmission at all"
        );
    }
}

#[test]
fn handshake_survives_reordering_and_duplication() {
    let link = LinkConfig::default()
        .with_latency(Duration::from_millis(20))
        .with_jitter(Duration::from_millis(15))
        .with_reorder(0.3, Duration::from_millis(40))
        .with_duplicate(0.2);
    for seed in 0..8 {
        let (sim, a, b) = run(300 + seed, link.clone(), true);
        assert!(
            sim.node::<Peer>(a).connected() && sim.node::<Peer>(b).connected(),
            "seed {seed}"
        );
        assert_keys_match(&sim, a, b);
    }
}

#[test]
fn same_seed_gives_the_same_run() {
    let link = LinkConfig::default()
        .with_latency(Duration::from_millis(25))
        .with_loss(0.2);
    let outcome = |seed| {
        let (mut sim, a, b) = run(seed, link.clone(), true);
        let sa = sim.node_mut::<Peer>(a).conn().stats();
        let sb = sim.node_mut::<Peer>(b).conn().stats();
        (
            sim.elapsed(),
            sa.retransmissions,
            sb.retransmissions,
            sa.datagrams_out,
            sb.datagrams_out,
        )
    };
    for seed in [7, 8, 9] {
        assert_eq!(outcome(seed), outcome(seed));
    }
}

#[test]
fn fingerprint_mismatch_fails_the_client() {
    let (sim, a, _b) = run(5, LinkConfig::default(), false);
    assert_eq!(
        sim.node::<Peer>(a).closed(),
        Some(&CloseReason::FingerprintFailure)
    );
    assert!(!sim.node::<Peer>(a).connected());
}

#[test]
fn dead_link_times_out_on_schedule() {
    let (sim, a, _b) = {
        let (ca, _) = certs();
        let mut sim = Simulator::with_seed(9);
        sim.set_default_link(LinkConfig::default().with_loss(1.0));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let mut cfg = Config::new(ca);
        cfg.max_retransmissions = 3;
        let a = sim.add_node(
            ip,
            Peer {
                conn: None,
                pending: Some((Role::Client, cfg)),
                local: SocketAddr::new(ip, 1),
                remote: "10.0.0.2:1".parse().unwrap(),
                events: vec![],
            },
        );
        sim.run_until(
            |s| s.node::<Peer>(a).closed().is_some(),
            Duration::from_secs(60),
        )
        .unwrap();
        (sim, a, ())
    };
    assert_eq!(
        sim.node::<Peer>(a).closed(),
        Some(&CloseReason::HandshakeTimeout)
    );
    // Copies at 1 s, 3 s and 7 s, then one more RTO (8 s) of waiting: 15 s.
    assert_eq!(sim.elapsed(), Duration::from_secs(15));
    assert_eq!(
        sim.node::<Peer>(a)
            .conn
            .as_ref()
            .unwrap()
            .stats()
            .retransmissions,
        3
    );
}
