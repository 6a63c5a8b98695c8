//! RTP benchmarks: header parse and marshal of a typical video packet (one-byte extensions
//! mid, abs-send-time and transport-cc, 1200-byte payload), and VP8 and H.264 packetize and
//! depacketize of a 100 KB frame at a 1200-byte MTU.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_rtp::codec::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use weft_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use weft_rtp::codec::{Depacketizer, Packetizer, START_CODE};
use weft_rtp::extension::{AbsSendTime, Mid, TransportSequence};
use weft_rtp::{
    ExtensionKind, ExtensionMap, Header, Packet, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp,
};

const FRAME: usize = 100 * 1024;
const MTU: usize = 1200;

fn packet() -> PacketBuf {
    let mut map = ExtensionMap::new();
    map.insert(1, ExtensionKind::Mid).unwrap();
    map.insert(2, ExtensionKind::AbsSendTime).unwrap();
    map.insert(3, ExtensionKind::TransportCc).unwrap();
    let mut h = Header::new(
        PayloadType::new(96).unwrap(),
        SeqNum::from(1234),
        Timestamp::from(90_000),
        Ssrc(0x1234_5678),
    );
    h.marker = true;
    h.set_extension(&map, &Mid::new("0").unwrap()).unwrap();
    h.set_extension(&map, &AbsSendTime::from_bits(0x12_3456))
        .unwrap();
    h.set_extension(&map, &TransportSequence(77)).unwrap();
    PacketBuf::new(h, Bytes::from(vec![0x5a; MTU]))
}

fn header(c: &mut Criterion) {
    let p = packet();
    let wire = p.to_bytes();
    let mut g = c.benchmark_group("rtp_header");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse", |b| {
        b.iter(|| black_box(Packet::decode(black_box(&wire)).expect("valid")))
    });
    g.bench_function("parse_and_read_extensions", |b| {
        b.iter(|| {
            let v = Packet::decode(black_box(&wire)).expect("valid");
            black_box(v.extensions.get(3));
        })
    });
    g.bench_function("marshal", |b| {
        let mut out = Vec::with_capacity(1500);
        b.iter(|| {
            out.clear();
            black_box(&p).encode(&mut out);
            black_box(&out);
        })
    });
    g.finish();
}

fn codecs(c: &mut Criterion) {
    let vp8_frame: Vec<u8> = (0..FRAME).map(|i| (i * 31) as u8 & 0xfe).collect();
    let mut au = Vec::new();
    for unit in [&[0x67u8, 0x42, 0xc0, 0x1f][..], &[0x68, 0xce, 0x3c, 0x80]] {
        au.extend_from_slice(&START_CODE);
        au.extend_from_slice(unit);
    }
    au.extend_from_slice(&START_CODE);
    au.push(0x65);
    // Bytes 1..=255 so that no start code appears inside the slice.
    au.extend((0..FRAME).map(|i| (i % 255) as u8 + 1));

    let mut g = c.benchmark_group("codec_100kb_frame");
    g.throughput(Throughput::Bytes(FRAME as u64));

    let vp8_payloads = Vp8Packetizer::with_picture_id(0)
        .packetize(&vp8_frame, MTU)
        .expect("packetizes");
    g.bench_function("vp8_packetize", |b| {
        let mut p = Vp8Packetizer::with_picture_id(0);
        b.iter(|| black_box(p.packetize(black_box(&vp8_frame), MTU).expect("packetizes")))
    });
    g.bench_function("vp8_depacketize", |b| {
        let mut d = Vp8Depacketizer::new();
        let mut out = Vec::with_capacity(FRAME);
        b.iter(|| {
            out.clear();
            for p in &vp8_payloads {
                d.depacketize(black_box(p), &mut out).expect("valid");
            }
            black_box(&out);
        })
    });

    let h264_payloads = H264Packetizer::new(PacketizationMode::NonInterleaved)
        .packetize(&au, MTU)
        .expect("packetizes");
    g.bench_function("h264_packetize", |b| {
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        b.iter(|| black_box(p.packetize(black_box(&au), MTU).expect("packetizes")))
    });
    g.bench_function("h264_depacketize", |b| {
        let mut d = H264Depacketizer::new();
        let mut out = Vec::with_capacity(FRAME + 64);
        b.iter(|| {
            out.clear();
            for p in &h264_payloads {
                d.depacketize(black_box(p), &mut out).expect("valid");
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group!(benches, header, codecs);
criterion_main!(benches);
