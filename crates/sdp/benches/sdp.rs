//! SDP benchmarks: parsing and serializing the Chrome audio+video offer of the fixtures
//! (165 lines, 2 media sections, 31 codecs, 15 extmaps, 4 candidates; 5.9 KB).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_sdp::SessionDescription;

const OFFER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/sdp/chrome-audiovideo-offer.sdp"
));

fn bench(c: &mut Criterion) {
    let sd = SessionDescription::parse(OFFER).expect("fixture parses");
    let mut g = c.benchmark_group("sdp");
    g.throughput(Throughput::Bytes(OFFER.len() as u64));
    g.bench_function("parse_chrome_audiovideo_offer", |b| {
        b.iter(|| {
            black_box(SessionDescription::decode(black_box(OFFER.as_bytes())).expect("valid"))
        })
    });
    g.bench_function("serialize_chrome_audiovideo_offer", |b| {
        let mut out = Vec::with_capacity(8 << 10);
        b.iter(|| {
            out.clear();
            black_box(&sd).encode(&mut out);
            black_box(&out);
        })
    });
    g.bench_function("to_string_chrome_audiovideo_offer", |b| {
        b.iter(|| black_box(black_box(&sd).to_string()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
