//! RTCP benchmarks: transport-wide CC feedback build and parse (100 and 1000 packets), and
//! a compound SR (2 report blocks) + SDES (CNAME) parse and encode.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use weft_rtcp::{
    ArrivalTime, CompactNtp, Compound, NtpTime, Packet, ReportBlock, SdesChunk, SenderReport,
    SeqNum, SourceDescription, Ssrc, TransportCc,
};

/// A realistic feedback list: packets about 1 ms apart with a little jitter, one loss in 50
/// and a 30 ms pause every 200 packets (a large delta).
fn arrivals(n: u16) -> Vec<(SeqNum, Option<ArrivalTime>)> {
    let mut t = 10_000_000i64;
    (0..n)
        .map(|i| {
            t += 1_000 + i64::from(i % 7) * 250;
            if i % 200 == 199 {
                t += 30_000;
            }
            let arrival = (i % 50 != 17).then_some(ArrivalTime(t));
            (SeqNum(1000u16.wrapping_add(i)), arrival)
        })
        .collect()
}

fn twcc(c: &mut Criterion) {
    let mut g = c.benchmark_group("rtcp_twcc");
    for n in [100u16, 1000] {
        let list = arrivals(n);
        let fb = TransportCc::build(Ssrc(1), Ssrc(2), 0, &list).expect("fits");
        let mut wire = Vec::new();
        fb.encode(&mut wire).expect("encodes");
        g.throughput(Throughput::Elements(u64::from(n)));
        g.bench_with_input(BenchmarkId::new("build_encode", n), &list, |b, list| {
            let mut out = Vec::with_capacity(4096);
            b.iter(|| {
                out.clear();
                let fb = TransportCc::build(Ssrc(1), Ssrc(2), 0, black_box(list)).expect("fits");
                fb.encode(&mut out).expect("encodes");
                black_box(&out);
            })
        });
        g.bench_with_input(BenchmarkId::new("parse_results", n), &wire, |b, wire| {
            b.iter(|| {
                let fb = TransportCc::decode(black_box(wire)).expect("decodes");
                black_box(fb.packet_results())
            })
        });
    }
    g.finish();
}

fn compound(c: &mut Criterion) {
    let block = |s| ReportBlock {
        ssrc: Ssrc(s),
        fraction_lost: 3,
        cumulative_lost: 120,
        extended_highest_seq: 0x0001_2345,
        jitter: 37,
        last_sr: CompactNtp(0x3A10_8000),
        delay_since_last_sr: CompactNtp(0x0000_8000),
    };
    let compound = Compound {
        packets: vec![
            Packet::from(SenderReport {
                ssrc: Ssrc(0x1234_5678),
                ntp_time: NtpTime(0xE89F_3A10_8000_0000),
                rtp_time: 90_000,
                packet_count: 1234,
                octet_count: 1_234_000,
                reports: vec![block(0xAAAA_0001), block(0xAAAA_0002)],
                extension: Bytes::new(),
            }),
            Packet::from(SourceDescription {
                chunks: vec![SdesChunk::cname(Ssrc(0x1234_5678), "f3kWlKk9ZVqZ7wXf")],
            }),
        ],
    };
    let mut wire = Vec::new();
    compound.encode(&mut wire).expect("encodes");
    let mut g = c.benchmark_group("rtcp_compound");
    g.throughput(Throughput::Bytes(wire.len() as u64));
    g.bench_function("parse_sr_sdes", |b| {
        b.iter(|| black_box(Compound::decode(black_box(&wire)).expect("decodes")))
    });
    g.bench_function("walk_sr_sdes", |b| {
        b.iter(|| black_box(weft_rtcp::packets(black_box(&wire)).count()))
    });
    g.bench_function("encode_sr_sdes", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            black_box(&compound).encode(&mut out).expect("encodes");
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, twcc, compound);
criterion_main!(benches);
