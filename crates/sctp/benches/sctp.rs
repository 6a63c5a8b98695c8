//! Criterion benches: messages through a connected pair in memory (fragment, encode, checksum,
//! decode, SACK, reassemble, deliver) and the packet codec.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_sctp::wire::Packet;
use weft_sctp::{Association, Config, Event, Ppid, SendOptions, StreamId};

fn pair(zero_checksum: bool, interleaving: bool) -> (Association, Association, Instant) {
    #[allow(clippy::disallowed_methods)] // a bench needs one real starting instant
    let now = Instant::now();
    let cfg = |seed| Config {
        rng_seed: Some([seed; 32]),
        zero_checksum,
        interleaving,
        ..Config::default()
    };
    let mut a = Association::new(cfg(1), now).expect("config");
    let mut b = Association::new(cfg(2), now).expect("config");
    a.connect(now).expect("connect");
    b.connect(now).expect("connect");
    for _ in 0..4 {
        pump(&mut a, &mut b, now);
    }
    assert!(a.is_established() && b.is_established());
    (a, b, now)
}

/// Moves every packet both ways once and drains events; returns the messages delivered to b.
fn pump(a: &mut Association, b: &mut Association, now: Instant) -> usize {
    while let Some(p) = a.poll_transmit() {
        b.handle_input(now, p);
    }
    let mut got = 0;
    while let Some(e) = b.poll_event() {
        if matches!(e, Event::Message(_)) {
            got += 1;
        }
    }
    while let Some(p) = b.poll_transmit() {
        a.handle_input(now, p);
    }
    while a.poll_event().is_some() {}
    got
}

fn messages(c: &mut Criterion) {
    let mut g = c.benchmark_group("sctp");
    for (name, zero, size) in [
        ("1100B_message_crc32c", false, 1100),
        ("1100B_message_zero_checksum", true, 1100),
        ("64KiB_message_zero_checksum", true, 65536),
    ] {
        let (mut a, mut b, mut now) = pair(zero, true);
        let data = Bytes::from(vec![7u8; size]);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(name, |bench| {
            bench.iter(|| {
                now += Duration::from_micros(10);
                a.send(
                    now,
                    StreamId(1),
                    Ppid(53),
                    data.clone(),
                    &SendOptions::default(),
                )
                .expect("send");
                let mut got = 0;
                while got == 0 {
                    got = pump(&mut a, &mut b, now);
                    if got == 0 {
                        now += Duration::from_millis(1);
                        a.handle_timeout(now);
                        b.handle_timeout(now);
                    }
                }
            })
        });
    }
    // The packet codec alone: a full DATA packet.
    let (mut a, _b, now) = pair(false, false);
    a.send(
        now,
        StreamId(1),
        Ppid(53),
        Bytes::from(vec![1u8; 1100]),
        &SendOptions::default(),
    )
    .expect("send");
    let pkt = a.poll_transmit().expect("a DATA packet");
    g.throughput(Throughput::Bytes(pkt.len() as u64));
    g.bench_function("decode_data_packet", |bench| {
        bench.iter(|| Packet::decode(&pkt).expect("decodes"))
    });
    g.bench_function("verify_crc32c_1200B", |bench| {
        bench.iter(|| Packet::checksum_ok(&pkt))
    });
    g.finish();
}

criterion_group!(benches, messages);
criterion_main!(benches);
