//! Link impairments, the virtual clock, determinism and pcap output.

mod common;

use std::time::Duration;

use common::{Peer, addr, ip, ms};
use weft_testkit::{
    DropReason, GilbertElliott, LinkConfig, NatConfig, NodeId, Simulator, TraceEvent, TraceKind,
};

/// Tests use this seed unless `TEST_SEED` replays another; bounds are wide enough for any.
const SEED: u64 = 0x7e57;
const A: &str = "198.51.100.1:5000";
const B: &str = "192.0.2.1:7";

/// A sender `a` and a receiver `b` (echoing if asked), with `config` from `a` to `b`.
fn pair(config: LinkConfig, echo: bool) -> (Simulator, NodeId, NodeId) {
    let mut sim = Simulator::with_seed(SEED);
    let a = sim.add_node(ip("198.51.100.1"), Peer::new(addr(A)));
    let sink = if echo {
        Peer::echo(addr(B))
    } else {
        Peer::new(addr(B))
    };
    let b = sim.add_node(ip("192.0.2.1"), sink);
    sim.set_path(a, b, config);
    (sim, a, b)
}

/// Sends `count` numbered datagrams from `a` to `b`, `interval` apart, and runs until idle.
fn stream(sim: &mut Simulator, a: NodeId, count: u64, interval: Duration) {
    let now = sim.now();
    sim.node_mut::<Peer>(a)
        .pace(now, addr(B), count, interval, 20);
    sim.run_until_idle(Duration::from_secs(3600)).unwrap();
}

/// The lengths of the runs of missing sequence numbers in `0..total`.
fn loss_bursts(received: &[u64], total: u64) -> Vec<u64> {
    let mut got = vec![false; total as usize];
    for &seq in received {
        got[seq as usize] = true;
    }
    got.split(|&g| g)
        .map(|run| run.len() as u64)
        .filter(|&n| n > 0)
        .collect()
}

fn inversions(seqs: &[u64]) -> usize {
    seqs.windows(2).filter(|w| w[1] < w[0]).count()
}

#[test]
fn latency_is_applied_exactly_in_each_direction() {
    let (mut sim, a, b) = pair(LinkConfig::default().with_latency(ms(30)), true);
    sim.set_path(b, a, LinkConfig::default().with_latency(ms(10)));
    let start = sim.now();
    sim.node_mut::<Peer>(a).pace(start, addr(B), 5, ms(100), 20);
    sim.run_until(
        |s| s.node::<Peer>(a).received.len() == 5,
        Duration::from_secs(2),
    )
    .unwrap();
    assert_eq!(sim.node::<Peer>(a).rtts(), vec![ms(40); 5]);
    let arrivals: Vec<_> = sim
        .node::<Peer>(b)
        .received
        .iter()
        .map(|(at, _)| *at - start)
        .collect();
    assert_eq!(arrivals, [30, 130, 230, 330, 430].map(ms));
    assert_eq!(sim.elapsed(), ms(440));
}

#[test]
fn random_loss_rate_is_close_to_configured() {
    let (mut sim, a, b) = pair(LinkConfig::default().with_loss(0.1), false);
    stream(&mut sim, a, 20_000, ms(1));
    let stats = sim.link_stats(a, b);
    assert_eq!(stats.sent, 20_000);
    assert_eq!(stats.delivered + stats.lost, stats.sent);
    assert_eq!(stats.delivered, sim.node::<Peer>(b).received.len() as u64);
    let rate = stats.lost as f64 / stats.sent as f64;
    assert!((0.09..0.11).contains(&rate), "loss rate {rate}");
}

#[test]
fn gilbert_elliott_loses_in_bursts() {
    let model = GilbertElliott::new(0.01, 0.25);
    let (mut sim, a, b) = pair(LinkConfig::default().with_burst_loss(model), false);
    stream(&mut sim, a, 20_000, ms(1));
    let bursts = loss_bursts(&sim.node::<Peer>(b).seqs(), 20_000);
    let lost: u64 = bursts.iter().sum();
    let mean_burst = lost as f64 / bursts.len() as f64;
    assert!(mean_burst > 2.0, "mean burst {mean_burst}");
    let rate = lost as f64 / 20_000.0;
    assert!(
        (0.02..0.06).contains(&rate),
        "loss rate {rate}, model {}",
        model.mean_loss()
    );
    assert_eq!(sim.link_stats(a, b).lost, lost);

    // Independent loss at the same rate hardly ever loses two in a row.
    let (mut sim, a, b) = pair(LinkConfig::default().with_loss(model.mean_loss()), false);
    stream(&mut sim, a, 20_000, ms(1));
    let bursts = loss_bursts(&sim.node::<Peer>(b).seqs(), 20_000);
    let mean_random = bursts.iter().sum::<u64>() as f64 / bursts.len() as f64;
    assert!(mean_random < 1.3, "mean random burst {mean_random}");
}

#[test]
fn duplication_delivers_extra_copies() {
    let (mut sim, a, b) = pair(LinkConfig::default().with_duplicate(0.25), false);
    stream(&mut sim, a, 4_000, ms(1));
    let stats = sim.link_stats(a, b);
    assert!((850..1150).contains(&stats.duplicated), "{stats:?}");
    assert_eq!(stats.delivered, 4_000 + stats.duplicated);
    let mut seqs = sim.node::<Peer>(b).seqs();
    assert_eq!(seqs.len() as u64, stats.delivered);
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 4_000, "every datagram arrives at least once");
    assert!(
        sim.trace()
            .any(|e| matches!(e.kind, TraceKind::Duplicate { .. }))
    );
}

#[test]
fn jitter_reorders_and_stays_in_bounds() {
    let config = LinkConfig::default()
        .with_latency(ms(50))
        .with_jitter(ms(20));
    let (mut sim, a, b) = pair(config, false);
    stream(&mut sim, a, 1_000, ms(1));
    let sent_at = sim.node::<Peer>(a).sent_at.clone();
    let peer = sim.node::<Peer>(b);
    for ((at, _), seq) in peer.received.iter().zip(peer.seqs()) {
        let delay = *at - sent_at[&seq];
        assert!((ms(50)..=ms(70)).contains(&delay), "delay {delay:?}");
    }
    assert!(inversions(&peer.seqs()) > 100);

    let (mut sim, a, b) = pair(LinkConfig::default().with_latency(ms(50)), false);
    stream(&mut sim, a, 1_000, ms(1));
    assert_eq!(
        inversions(&sim.node::<Peer>(b).seqs()),
        0,
        "no jitter, no reordering"
    );
}

#[test]
fn reorder_probability_holds_some_datagrams_back() {
    let config = LinkConfig::default()
        .with_latency(ms(5))
        .with_reorder(0.1, ms(10));
    let (mut sim, a, b) = pair(config, false);
    stream(&mut sim, a, 2_000, ms(1));
    let sent_at = sim.node::<Peer>(a).sent_at.clone();
    let peer = sim.node::<Peer>(b);
    let late = (peer.received.iter().zip(peer.seqs()))
        .filter(|((at, _), seq)| *at - sent_at[seq] == ms(15))
        .count();
    assert!((130..270).contains(&late), "{late} held back");
    assert!(inversions(&peer.seqs()) > 0);
}

#[test]
fn oversize_datagrams_are_dropped_and_counted() {
    let (mut sim, a, b) = pair(LinkConfig::default().with_mtu(1280), false);
    sim.with_node::<Peer, _>(a, |p, _| {
        p.send(addr(B), vec![0; 1252]); // 1280 bytes with IPv4 and UDP headers
        p.send(addr(B), vec![0; 1253]);
    });
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    let lens: Vec<_> = sim
        .node::<Peer>(b)
        .received
        .iter()
        .map(|(_, r)| r.payload.len())
        .collect();
    assert_eq!(lens, [1252]);
    assert_eq!(sim.link_stats(a, b).dropped_mtu, 1);
    assert!(sim.trace().any(|e| matches!(
        e.kind,
        TraceKind::Drop {
            reason: DropReason::Mtu { mtu: 1280 },
            ..
        }
    )));
}

#[test]
fn bandwidth_cap_serializes_and_drops_tail() {
    // 1 Mbit/s: a 1000-byte IP packet takes 8 ms; the queue holds ten of them.
    let config = LinkConfig::default()
        .with_latency(ms(1))
        .with_bandwidth(1_000_000, 10_000);
    let (mut sim, a, b) = pair(config, false);
    let start = sim.now();
    sim.with_node::<Peer, _>(a, |p, _| {
        for _ in 0..20 {
            p.send(addr(B), vec![0; 972]);
        }
    });
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    let arrivals: Vec<_> = sim
        .node::<Peer>(b)
        .received
        .iter()
        .map(|(at, _)| *at - start)
        .collect();
    let expected: Vec<_> = (1..=10).map(|k| ms(8 * k + 1)).collect();
    assert_eq!(arrivals, expected);
    let stats = sim.link_stats(a, b);
    assert_eq!(
        (stats.sent, stats.delivered, stats.dropped_queue),
        (20, 10, 10)
    );

    // Once the queue has drained the link takes datagrams again.
    sim.with_node::<Peer, _>(a, |p, _| p.send(addr(B), vec![0; 972]));
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    assert_eq!(sim.link_stats(a, b).delivered, 11);
}

#[test]
fn unroutable_and_spoofed_datagrams_are_dropped() {
    let (mut sim, a, _) = pair(LinkConfig::default(), false);
    sim.with_node::<Peer, _>(a, |p, _| {
        p.send(addr("203.0.113.99:1"), &b"nowhere"[..]);
        p.send_from(addr("198.51.100.2:1"), addr(B), &b"spoofed"[..]);
    });
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    let reasons: Vec<_> = sim
        .trace()
        .filter_map(|e| match e.kind {
            TraceKind::Drop { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [DropReason::NoRoute, DropReason::BadSource]);
}

/// A busy scenario touching every source of randomness, behind a NAT.
fn scenario(sim: &mut Simulator) -> Vec<TraceEvent> {
    sim.set_trace_capacity(100_000);
    let nat = sim.add_nat(ip("203.0.113.1"), NatConfig::symmetric());
    let client = sim.add_node_behind(nat, ip("10.0.0.2"), Peer::new(addr("10.0.0.2:4000")));
    let server = sim.add_node(ip("192.0.2.1"), Peer::echo(addr(B)));
    sim.set_default_link(
        LinkConfig::default()
            .with_latency(ms(20))
            .with_jitter(ms(15))
            .with_loss(0.05)
            .with_burst_loss(GilbertElliott::new(0.02, 0.3))
            .with_duplicate(0.05)
            .with_reorder(0.05, ms(30)),
    );
    sim.set_link(client, nat, LinkConfig::default().with_latency(ms(1)));
    let now = sim.now();
    sim.node_mut::<Peer>(client)
        .pace(now, addr(B), 500, ms(3), 100);
    sim.run_until_idle(Duration::from_secs(60)).unwrap();
    assert!(sim.link_stats(server, nat).delivered > 0);
    sim.trace().cloned().collect()
}

#[test]
fn same_seed_gives_identical_trace() {
    let mut first = Simulator::with_fixed_seed(1234);
    let mut second = Simulator::with_fixed_seed(1234);
    let mut other = Simulator::with_fixed_seed(1235);
    let trace = scenario(&mut first);
    assert!(trace.len() > 2_000);
    assert_eq!(trace, scenario(&mut second));
    assert_eq!(first.trace_digest(), second.trace_digest());
    assert_eq!(first.event_count(), trace.len() as u64);
    assert_ne!(trace, scenario(&mut other));
    assert_ne!(first.trace_digest(), other.trace_digest());
}

#[test]
fn pcap_holds_a_record_per_hop() {
    let path = std::env::temp_dir().join(format!("weft-testkit-{}.pcap", std::process::id()));
    let (mut sim, a, _) = pair(LinkConfig::default().with_latency(ms(3)), true);
    sim.capture_pcap(&path).unwrap();
    sim.with_node::<Peer, _>(a, |p, _| p.send(addr(B), &b"hello"[..]));
    sim.run_until_idle(Duration::from_secs(1)).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    // File header, then ping and echo: 16-byte record header + 20 IPv4 + 8 UDP + 5 payload.
    assert_eq!(bytes.len(), 24 + 2 * (16 + 33));
    let second = &bytes[24 + 49..];
    assert_eq!(
        u32::from_le_bytes(second[4..8].try_into().unwrap()),
        3_000,
        "at 3 ms"
    );
    assert_eq!(
        &second[16 + 12..16 + 16],
        &[192, 0, 2, 1],
        "the echo's source"
    );
}
