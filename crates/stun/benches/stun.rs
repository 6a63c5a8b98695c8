//! STUN codec benchmarks: the two operations an ICE agent does per connectivity check.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_stun::{Attribute, Class, Integrity, IntegrityKey, Message, Method, TransactionId};

fn ice_request(key: &IntegrityKey, out: &mut Vec<u8>) {
    Message::new(Class::Request, Method::BINDING, TransactionId::new([7; 12]))
        .with(Attribute::Username("a9Fz:Qx3b"))
        .with(Attribute::Priority(1_853_817_087))
        .with(Attribute::IceControlling(0x0123_4567_89ab_cdef))
        .with(Attribute::UseCandidate)
        .encode(Some(Integrity::Sha1(key)), true, out)
        .expect("valid message");
}

fn bench(c: &mut Criterion) {
    let key = IntegrityKey::short_term("ZpVb2bNkcRw0rLsTjVHqXn7B").expect("ascii password");
    let mut encoded = Vec::new();
    ice_request(&key, &mut encoded);

    let mut g = c.benchmark_group("stun");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_sign_binding_request_ice", |b| {
        let mut out = Vec::with_capacity(128);
        b.iter(|| {
            out.clear();
            ice_request(black_box(&key), &mut out);
            black_box(&out);
        })
    });
    g.bench_function("decode_verify_binding_request_ice", |b| {
        b.iter(|| {
            let m = Message::decode(black_box(&encoded)).expect("valid");
            m.verify(&key).expect("authentic");
            black_box(m.username());
        })
    });
    g.bench_function("decode_only_binding_request_ice", |b| {
        b.iter(|| {
            black_box(
                Message::decode(black_box(&encoded))
                    .expect("valid")
                    .attributes
                    .len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
