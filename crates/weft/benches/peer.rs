//! Peer connection figures on real loopback UDP, two peers in one process (`cargo bench -p
//! weft --bench peer`, also run by `cargo xtask bench`):
//!
//! - the raw UDP loopback rate of 1200-byte datagrams (one tokio sender, one receiver), the
//!   anchor the data channel throughput is compared with;
//! - connect: from `PeerConnection::new` on both sides to the channel's `open`, median and
//!   90th percentile of 40 connections;
//! - throughput: 256 MiB in 64 KiB messages on one reliable ordered channel, paced by
//!   `bufferedAmountLowThreshold`;
//! - memory: resident memory per idle connection with one open channel, 1000 connections, 2 s
//!   after the last one opened;
//! - the same connect time and throughput between this process and a child process (this
//!   bench binary run with `--child`, signalling over its stdin and stdout);
//! - how long ICE takes to `connected` once both sides have each other's candidates.
//!
//! Timings are printed, never asserted.

#![allow(
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use weft::peer::{
    ChannelEvent, ChannelInit, DataChannel, Event, PeerConnection, RtcConfiguration, SdpType,
};

fn config() -> RtcConfiguration {
    RtcConfiguration {
        channel_objects: true,
        ice_tcp: false,
        ..RtcConfiguration::loopback()
    }
}

type Pair = (
    PeerConnection,
    DataChannel,
    PeerConnection,
    DataChannel,
    Duration,
    Duration,
);

/// Two connected peers: alice with her channel, bob with his object of it, the time from
/// the first `new` to alice's `open`, and the time from the answer being applied (both sides
/// have each other's candidates) to alice's ICE `connected`.
async fn pair(label: &str) -> Pair {
    let t = Instant::now();
    let mut a = PeerConnection::new(config()).await.unwrap();
    let mut b = PeerConnection::new(config()).await.unwrap();
    let mut ch = a.create_channel(ChannelInit::new(label)).await.unwrap();
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    b.set_remote_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(SdpType::Answer, &answer)
        .await
        .unwrap();
    a.set_remote_description(SdpType::Answer, &answer)
        .await
        .unwrap();
    let applied = Instant::now();
    loop {
        if let Some(Event::IceConnectionState(weft::peer::IceConnectionState::Connected)) =
            a.next_event().await
        {
            break;
        }
    }
    let ice = applied.elapsed();
    while !matches!(ch.next_event().await, Some(ChannelEvent::Open(_))) {}
    let took = t.elapsed();
    let h = loop {
        if let Some(Event::DataChannel(h)) = b.next_event().await {
            break h;
        }
    };
    let bch = b.data_channel(h).await.unwrap().unwrap();
    (a, ch, b, bch, took, ice)
}

/// Gbit/s of 1200-byte datagrams one tokio task sends to another over loopback.
async fn raw_udp(secs: f64) -> f64 {
    let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = rx.local_addr().unwrap();
    let counter = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        let mut n = 0u64;
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv(&mut buf)).await
        {
            n += 1;
        }
        n
    });
    let d = [0u8; 1200];
    let start = Instant::now();
    let stop = start + Duration::from_secs_f64(secs);
    while Instant::now() < stop {
        for _ in 0..64 {
            let _ = tx.send_to(&d, to).await;
        }
    }
    let sent_for = start.elapsed().as_secs_f64();
    let received = counter.await.unwrap();
    received as f64 * 1200.0 * 8.0 / sent_for / 1e9
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn throughput() {
    const TOTAL: usize = 256 << 20;
    const MSG: usize = 64 << 10;
    const HIGH: usize = 8 << 20;
    let (a, mut ch, b, mut bch, _, _) = pair("bulk").await;
    let receiver = tokio::spawn(async move {
        let mut got = 0;
        while got < TOTAL {
            match bch.next_event().await {
                Some(ChannelEvent::Message(m)) => got += m.data.len(),
                Some(_) => {}
                None => break,
            }
        }
        (got, Instant::now(), b)
    });
    ch.set_buffered_amount_low_threshold(HIGH / 2)
        .await
        .unwrap();
    let block = Bytes::from(vec![0x5au8; MSG]);
    let start = Instant::now();
    let mut sent = 0;
    while sent < TOTAL {
        while sent < TOTAL && ch.buffered_amount().await.unwrap() < HIGH {
            ch.send(block.clone()).await.unwrap();
            sent += MSG;
        }
        if sent < TOTAL {
            while let Some(ev) = ch.next_event().await {
                if matches!(ev, ChannelEvent::BufferedAmountLow(_)) {
                    break;
                }
            }
        }
    }
    let (got, done, _b) = receiver.await.unwrap();
    let secs = (done - start).as_secs_f64();
    println!(
        "peer/throughput_64KiB: {:.2} Gbit/s ({} MiB in {:.0} ms)",
        got as f64 * 8.0 / secs / 1e9,
        got >> 20,
        secs * 1e3
    );
    a.close().await;
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--child") {
        child().await;
        return;
    }
    // `cargo bench` passes `--bench`; other arguments pick parts by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |p: &str| filter.is_empty() || filter.iter().any(|f| p.contains(f.as_str()));

    // Memory first: the resident size is measured from a process whose heap no earlier part
    // has grown (freed memory that the allocator keeps would hide part of the cost).
    if want("memory") {
        // `WEFT_BENCH_PAIRS` makes a smaller run, `WEFT_BENCH_HOLD` exits with the connections
        // alive (heap profilers).
        let pairs: usize = std::env::var("WEFT_BENCH_PAIRS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(500);
        let before = rss_bytes();
        let mut keep = Vec::new();
        for i in 0..pairs {
            keep.push(pair(&format!("m{i}")).await);
        }
        // Idle: past weft-dtls's `idle_release` (1 s), which frees OpenSSL's record buffers.
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let after = rss_bytes();
        println!(
            "peer/memory_per_idle_connection: {:.1} KiB ({} connections with one open channel each, resident)",
            after.saturating_sub(before) as f64 / (2 * pairs) as f64 / 1024.0,
            2 * pairs
        );
        if std::env::var_os("WEFT_BENCH_HOLD").is_some() {
            // For heap profilers: exit with the idle connections alive, so that what they
            // hold shows as memory still in use at exit.
            std::process::exit(0);
        }
        drop(keep);
    }
    if want("throughput") {
        let g = raw_udp(2.0).await;
        println!("peer/raw_udp_loopback_1200B: {g:.2} Gbit/s received");
        throughput().await;
    }
    if want("connect") {
        let mut times = Vec::new();
        let mut ice = Vec::new();
        for i in 0..40 {
            let (a, _ch, b, _bch, took, ice_took) = pair(&format!("c{i}")).await;
            times.push(took);
            ice.push(ice_took);
            a.close().await;
            b.close().await;
        }
        println!(
            "peer/connect_to_open: {} (40 connections)",
            median_p90(&mut times)
        );
        println!(
            "peer/ice_connected_after_answer: {} (host candidates, real sockets)",
            median_p90(&mut ice)
        );
    }
    if want("process") {
        two_processes().await;
    }
}

fn median_p90(v: &mut [Duration]) -> String {
    v.sort();
    format!(
        "median {:.2} ms, p90 {:.2} ms",
        v[v.len() / 2].as_secs_f64() * 1e3,
        v[v.len() * 9 / 10].as_secs_f64() * 1e3
    )
}

/// The other process of the two-process figures: answers the offer read from stdin,
/// prints its answer, counts what arrives on each channel and says `done` when a channel
/// has carried the byte count in its label.
async fn child() {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(l)) = lines.next_line().await {
        let Some(offer) = l.strip_prefix("SDP ") else {
            continue;
        };
        let mut pc = PeerConnection::new(config()).await.unwrap();
        pc.set_remote_description(SdpType::Offer, &offer.replace("\\n", "\r\n"))
            .await
            .unwrap();
        let answer = pc.create_answer().await.unwrap();
        pc.set_local_description(SdpType::Answer, &answer)
            .await
            .unwrap();
        println!("SDP {}", answer.replace("\r\n", "\\n"));
        tokio::spawn(async move {
            while let Some(ev) = pc.next_event().await {
                let Event::DataChannel(h) = ev else { continue };
                let Ok(Some(mut ch)) = pc.data_channel(h).await else {
                    continue;
                };
                let want: usize = ch
                    .info()
                    .await
                    .ok()
                    .flatten()
                    .and_then(|i| i.label.parse().ok())
                    .unwrap_or(0);
                tokio::spawn(async move {
                    let mut got = 0;
                    while let Some(ev) = ch.next_event().await {
                        if let ChannelEvent::Message(m) = ev {
                            got += m.data.len();
                            if got >= want {
                                let _ = ch.send_text("done").await;
                            }
                        }
                    }
                });
            }
        });
    }
}

/// Connect time and throughput between this process and a child process on loopback.
async fn two_processes() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let exe = std::env::current_exe().unwrap();
    let mut kid = tokio::process::Command::new(exe)
        .arg("--child")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut to_kid = kid.stdin.take().unwrap();
    let mut from_kid = tokio::io::BufReader::new(kid.stdout.take().unwrap()).lines();
    let mut times = Vec::new();
    let mut rate = 0.0;
    for i in 0..21 {
        // The last connection carries the throughput run; the others only connect.
        let total: usize = if i == 20 { 256 << 20 } else { 1 };
        let t = Instant::now();
        let a = PeerConnection::new(config()).await.unwrap();
        let mut ch = a
            .create_channel(ChannelInit::new(&total.to_string()))
            .await
            .unwrap();
        let offer = a.create_offer().await.unwrap();
        a.set_local_description(SdpType::Offer, &offer)
            .await
            .unwrap();
        to_kid
            .write_all(format!("SDP {}\n", offer.replace("\r\n", "\\n")).as_bytes())
            .await
            .unwrap();
        let answer = loop {
            let l = from_kid.next_line().await.unwrap().unwrap();
            if let Some(s) = l.strip_prefix("SDP ") {
                break s.replace("\\n", "\r\n");
            }
        };
        a.set_remote_description(SdpType::Answer, &answer)
            .await
            .unwrap();
        while !matches!(ch.next_event().await, Some(ChannelEvent::Open(_))) {}
        times.push(t.elapsed());
        const MSG: usize = 64 << 10;
        const HIGH: usize = 8 << 20;
        ch.set_buffered_amount_low_threshold(HIGH / 2)
            .await
            .unwrap();
        let block = Bytes::from(vec![0x33u8; MSG.min(total)]);
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            while sent < total && ch.buffered_amount().await.unwrap() < HIGH {
                ch.send(block.clone()).await.unwrap();
                sent += block.len();
            }
            if sent < total {
                while let Some(ev) = ch.next_event().await {
                    if matches!(ev, ChannelEvent::BufferedAmountLow(_)) {
                        break;
                    }
                }
            }
        }
        loop {
            match ch.next_event().await {
                Some(ChannelEvent::Message(m)) if &m.data[..] == b"done" => break,
                Some(_) => {}
                None => panic!("the child's connection ended"),
            }
        }
        if i == 20 {
            rate = total as f64 * 8.0 / start.elapsed().as_secs_f64() / 1e9;
        }
        a.close().await;
    }
    times.pop();
    println!(
        "peer/two_processes_connect_to_open: {} (20 connections)",
        median_p90(&mut times)
    );
    println!("peer/two_processes_throughput_64KiB: {rate:.2} Gbit/s (256 MiB)");
    drop(to_kid);
    let _ = kid.kill().await;
}
