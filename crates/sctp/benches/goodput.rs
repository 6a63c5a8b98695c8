//! Goodput of one association on simulated links, in virtual time: the figures the README
//! reports next to the link rate and, with loss, next to what TCP-friendly congestion control
//! (the Mathis et al. formula) predicts. `cargo bench -p weft-sctp --bench goodput`.

#![allow(clippy::print_stdout, clippy::disallowed_methods)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use weft_testkit::LinkConfig;

fn run(label: &str, rate: u64, rtt_ms: u64, loss: f64, bytes: u64) {
    let bdp = (rate / 8 * rtt_ms / 1000) as usize;
    let link = LinkConfig::default()
        .with_latency(Duration::from_millis(rtt_ms) / 2)
        .with_bandwidth(rate, bdp.max(64 * 1024))
        .with_loss(loss);
    let (mut sim, a, b) = pair(7, link, config(1), config(2), false);
    sim.set_step_budget(u64::MAX);
    sim.set_trace_capacity(16);
    connect(&mut sim, a, b);
    let msg = 64 * 1024;
    let count = bytes / msg as u64;
    let start = sim.now();
    let wall = Instant::now();
    ep_mut(&mut sim, a).flows.push(Flow::new(1, msg, count));
    ep_mut(&mut sim, a).send_ahead = 16 << 20;
    ep_mut(&mut sim, a).pump();
    sim.run_until(
        |s| ep(s, b).stream(1).messages == count,
        Duration::from_secs(100_000),
    )
    .expect("transfer completes");
    let took = sim.now() - start;
    let mbps = (count * msg as u64) as f64 * 8.0 / took.as_secs_f64() / 1e6;
    let st = ep(&sim, a).assoc.stats();
    print!(
        "{label:<34} {mbps:>8.1} Mbit/s goodput ({:.1}% of the link), {:.0} MiB in {:.2} s virtual, {:.1} s wall, {} retransmitted chunks",
        mbps * 1e6 / rate as f64 * 100.0,
        (count * msg as u64) as f64 / (1 << 20) as f64,
        took.as_secs_f64(),
        wall.elapsed().as_secs_f64(),
        st.retransmitted_chunks
    );
    if loss > 0.0 {
        // Mathis et al.: rate = MSS / RTT * sqrt(3/2) / sqrt(p).
        let mss = 1172.0 * 8.0;
        let predicted = mss / (rtt_ms as f64 / 1000.0) * (1.5f64).sqrt() / loss.sqrt() / 1e6;
        print!("; TCP-friendly prediction {predicted:.1} Mbit/s");
    }
    println!();
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    println!(
        "sctp goodput, one ordered reliable stream, 64 KiB messages, drop-tail queue of one BDP"
    );
    run(
        "1 Gbit/s, 2 ms RTT, no loss",
        1_000_000_000,
        2,
        0.0,
        1 << 30,
    );
    run(
        "1 Gbit/s, 50 ms RTT, no loss",
        1_000_000_000,
        50,
        0.0,
        1 << 30,
    );
    run(
        "100 Mbit/s, 2 ms RTT, 1% loss",
        100_000_000,
        2,
        0.01,
        256 << 20,
    );
    run(
        "100 Mbit/s, 50 ms RTT, 1% loss",
        100_000_000,
        50,
        0.01,
        32 << 20,
    );
}
