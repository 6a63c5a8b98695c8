//! Benchmarks: answering connectivity checks, and a full connection of two agents.

#![allow(missing_docs)]
// criterion_group! generates undocumented items
// The benchmark needs one arbitrary origin for the virtual time it passes in.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_ice::{Agent, Candidate, Config, Credentials, Role, State};
use weft_proto::{Received, Transport};
use weft_stun::{Attribute, Class, Integrity, IntegrityKey, Message, Method, TransactionId};

const PWD_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
const PWD_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";

fn agent(ufrag: &str, pwd: &str, role: Role, seed: u8) -> Agent {
    let mut c = Config::new(Credentials::new(ufrag, pwd).unwrap(), role);
    c.rng_seed = Some([seed; 32]);
    Agent::new(c).unwrap()
}

fn checks(c: &mut Criterion) {
    let now = Instant::now();
    let mut b = agent("bbbb", PWD_B, Role::Controlled, 2);
    let local = "192.0.2.2:6000".parse().unwrap();
    let peer = "192.0.2.1:5000".parse().unwrap();
    b.add_local_candidate(now, Candidate::host(local)).unwrap();
    b.set_remote_credentials(now, Credentials::new("aaaa", PWD_A).unwrap())
        .unwrap();
    b.add_remote_candidate(now, Candidate::host(peer)).unwrap();
    while b.poll_transmit().is_some() {}
    let key = IntegrityKey::short_term(PWD_B).unwrap();
    let request = Message::new(Class::Request, Method::BINDING, TransactionId::new([7; 12]))
        .with(Attribute::Username("bbbb:aaaa"))
        .with(Attribute::Priority(1_845_501_695))
        .with(Attribute::IceControlling(1))
        .to_vec(Some(Integrity::Sha1(&key)), true)
        .unwrap();
    let input = Received {
        source: peer,
        destination: local,
        transport: Transport::Udp,
        payload: Bytes::from(request),
    };
    let mut g = c.benchmark_group("ice");
    g.throughput(Throughput::Elements(1));
    g.bench_function("answer_check", |bench| {
        bench.iter(|| {
            b.handle_input(now, input.clone());
            while b.poll_transmit().is_some() {}
            while b.poll_event().is_some() {}
        })
    });
    g.bench_function("connect_two_agents", |bench| {
        bench.iter(|| {
            let mut now = now;
            let mut a = agent("aaaa", PWD_A, Role::Controlling, 1);
            let mut b = agent("bbbb", PWD_B, Role::Controlled, 2);
            a.add_local_candidate(now, Candidate::host(peer)).unwrap();
            b.add_local_candidate(now, Candidate::host(local)).unwrap();
            a.set_remote_credentials(now, b.local_credentials().clone())
                .unwrap();
            b.set_remote_credentials(now, a.local_credentials().clone())
                .unwrap();
            a.add_remote_candidate(now, Candidate::host(local)).unwrap();
            b.add_remote_candidate(now, Candidate::host(peer)).unwrap();
            while a.selected_pair().is_none() || b.selected_pair().is_none() {
                loop {
                    let mut moved = false;
                    while let Some(t) = a.poll_transmit() {
                        b.handle_input(now, Received::from(t));
                        moved = true;
                    }
                    while let Some(t) = b.poll_transmit() {
                        a.handle_input(now, Received::from(t));
                        moved = true;
                    }
                    if !moved {
                        break;
                    }
                }
                now += Duration::from_millis(10);
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            assert_ne!(a.state(), State::Failed);
        })
    });
    g.finish();
}

fn mdns(c: &mut Criterion) {
    use weft_ice::mdns::{GROUP_V4, Mdns, MdnsConfig, Message, Name};
    let now = Instant::now();
    let mut g = c.benchmark_group("mdns");
    g.throughput(Throughput::Elements(1));
    let name = Name::new("1f4712db-ea17-4bcf-a596-105139dfd8bf.local").unwrap();
    let query = Message::query(&name).to_vec();
    g.bench_function("decode_query", |bench| {
        bench.iter(|| Message::decode(std::hint::black_box(&query)).unwrap())
    });
    let mut m = Mdns::new(MdnsConfig {
        rng_seed: Some([1; 32]),
        announcements: 0,
        ..MdnsConfig::default()
    });
    let registered = m.register(now, "192.168.1.20".parse().unwrap()).unwrap();
    let ask = Received {
        source: "192.168.1.30:40000".parse().unwrap(),
        destination: GROUP_V4,
        transport: Transport::Udp,
        payload: Bytes::from(Message::query(&Name::new(&registered).unwrap()).to_vec()),
    };
    // From a legacy port, so that every query is answered (no once-a-second limit).
    g.bench_function("answer_query", |bench| {
        bench.iter(|| {
            m.handle_input(now, ask.clone());
            m.poll_transmit().unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, checks, mdns);
criterion_main!(benches);
