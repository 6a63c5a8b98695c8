//! DTLS benchmarks: a full handshake in memory, and application-data seal and open.

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::disallowed_methods)] // benches read the clock to stamp their inputs

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_dtls::{Certificate, Config, Connection, HashAlgorithm, KeyType, Role};

fn pair(kt: KeyType) -> (Connection, Connection) {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let ca = Certificate::generate(kt, wall, Duration::from_secs(86400)).expect("certificate");
    let cb = Certificate::generate(kt, wall, Duration::from_secs(86400)).expect("certificate");
    pair_with(&ca, &cb, now, wall)
}

fn pair_with(
    ca: &Certificate,
    cb: &Certificate,
    now: Instant,
    wall: SystemTime,
) -> (Connection, Connection) {
    let mut a_cfg = Config::new(ca.clone());
    a_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256).expect("fp")];
    let mut b_cfg = Config::new(cb.clone());
    b_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).expect("fp")];
    let mut a = Connection::new(Role::Client, a_cfg, now, wall).expect("client");
    let mut b = Connection::new(Role::Server, b_cfg, now, wall).expect("server");
    while !(a.is_connected() && b.is_connected()) {
        while let Some(d) = a.poll_transmit() {
            b.handle_input(now, d);
        }
        while let Some(d) = b.poll_transmit() {
            a.handle_input(now, d);
        }
    }
    while a.poll_event().is_some() || b.poll_event().is_some() {}
    (a, b)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dtls");
    for (name, kt) in [
        ("ecdsa_p256", KeyType::EcdsaP256),
        ("rsa_2048", KeyType::Rsa2048),
    ] {
        let wall = SystemTime::now();
        let ca = Certificate::generate(kt, wall, Duration::from_secs(86400)).expect("cert");
        let cb = Certificate::generate(kt, wall, Duration::from_secs(86400)).expect("cert");
        g.bench_function(format!("handshake_{name}"), |b| {
            b.iter(|| black_box(pair_with(&ca, &cb, Instant::now(), wall)))
        });
    }
    let (mut a, mut b) = pair(KeyType::EcdsaP256);
    let payload = vec![0x5a; 1100];
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("seal_1100_bytes", |bch| {
        bch.iter(|| {
            a.send(black_box(&payload)).expect("connected");
            black_box(a.poll_transmit());
        })
    });
    let now = Instant::now();
    g.bench_function("seal_and_open_1100_bytes", |bch| {
        bch.iter(|| {
            a.send(black_box(&payload)).expect("connected");
            let d = a.poll_transmit().expect("a datagram");
            b.handle_input(now, d);
            black_box(b.poll_event());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
