//! SRTP protect and unprotect of 1200-byte RTP packets, weft next to libsrtp2 in one run:
//! criterion means, then (printed as `floor ...`) the shortest per-packet mean over many batches,
//! which the load of other processes on a shared machine disturbs far less.

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::disallowed_methods, clippy::print_stderr)] // batches are timed with the clock

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use weft_libsrtp_shim::Session;
use weft_srtp::{Config, Context, Profile};

const SIZE: usize = 1200;
const BATCH: u64 = 256;

fn packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 111];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x12, 0x34, 0xca, 0xfe, 0xba, 0xbe]);
    p.resize(SIZE, 0x5a);
    p
}

/// The packet, with a fresh sequence number written in place.
fn fill(buf: &mut Vec<u8>, template: &[u8], seq: u16) {
    buf.clear();
    buf.extend_from_slice(template);
    buf[2..4].copy_from_slice(&seq.to_be_bytes());
}

/// Times `unprotect` alone over `iters` packets, protecting each batch first, untimed.
fn timed_unprotect(
    iters: u64,
    template: &[u8],
    seq: &mut u16,
    mut protect: impl FnMut(&mut Vec<u8>),
    mut unprotect: impl FnMut(&mut Vec<u8>),
) -> Duration {
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH as usize);
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        batch.clear();
        for _ in 0..n {
            *seq = seq.wrapping_add(1);
            let mut p = Vec::with_capacity(SIZE + 200);
            fill(&mut p, template, *seq);
            protect(&mut p);
            batch.push(p);
        }
        let t = Instant::now();
        for p in batch.iter_mut() {
            unprotect(p);
        }
        total += t.elapsed();
        left -= n;
    }
    total
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("srtp");
    g.throughput(Throughput::Bytes(SIZE as u64));
    let profiles = [
        ("aes_cm_128_hmac_sha1_80", Profile::Aes128CmHmacSha1_80, 0),
        ("aead_aes_128_gcm", Profile::AeadAes128Gcm, 2),
    ];
    for (name, profile, lib_id) in profiles {
        let key = vec![0x11; profile.master_key_len()];
        let salt = vec![0x22; profile.master_salt_len()];
        let ks = [key.clone(), salt.clone()].concat();
        let template = packet(0);

        let mut tx = Context::new(profile, &key, &salt, Config::default()).expect("context");
        let mut buf = Vec::with_capacity(SIZE + 32);
        let mut seq = 0u16;
        g.bench_function(format!("weft/protect/{name}"), |b| {
            b.iter(|| {
                seq = seq.wrapping_add(1);
                fill(&mut buf, &template, seq);
                tx.protect_rtp(&mut buf).expect("protect");
                black_box(&buf);
            })
        });
        g.bench_function(format!("weft/unprotect/{name}"), |b| {
            let mut tx = Context::new(profile, &key, &salt, Config::default()).expect("context");
            let mut rx = Context::new(profile, &key, &salt, Config::default()).expect("context");
            let mut seq = 0u16;
            b.iter_custom(|iters| {
                timed_unprotect(
                    iters,
                    &template,
                    &mut seq,
                    |p| tx.protect_rtp(p).expect("protect"),
                    |p| rx.unprotect_rtp(p).expect("unprotect"),
                )
            })
        });

        let Some(mut lib_tx) = Session::new(lib_id, &ks, true) else {
            eprintln!("libsrtp2 not available: weft figures only");
            continue;
        };
        let mut lib_seq = 0u16;
        g.bench_function(format!("libsrtp2/protect/{name}"), |b| {
            b.iter(|| {
                lib_seq = lib_seq.wrapping_add(1);
                fill(&mut buf, &template, lib_seq);
                lib_tx.protect(&mut buf).expect("protect");
                black_box(&buf);
            })
        });
        g.bench_function(format!("libsrtp2/unprotect/{name}"), |b| {
            let mut tx = Session::new(lib_id, &ks, true).expect("session");
            let mut rx = Session::new(lib_id, &ks, false).expect("session");
            let mut seq = 0u16;
            b.iter_custom(|iters| {
                timed_unprotect(
                    iters,
                    &template,
                    &mut seq,
                    |p| tx.protect(p).expect("protect"),
                    |p| rx.unprotect(p).expect("unprotect"),
                )
            })
        });
    }
    g.finish();
}

/// The shortest mean per packet over `rounds` batches of BATCH packets: on a shared machine
/// the criterion means above carry other processes' load, the minimum much less. Protect
/// refills one hot buffer per packet, as the criterion bench does; unprotect times a batch
/// protected beforehand.
fn floor_of(
    rounds: usize,
    template: &[u8],
    mut protect: impl FnMut(&mut Vec<u8>),
    mut feed: impl FnMut(&mut Vec<u8>),
    mut unprotect: impl FnMut(&mut Vec<u8>),
) -> (f64, f64) {
    let n = BATCH as usize;
    let mut batch: Vec<Vec<u8>> = (0..n).map(|_| Vec::with_capacity(SIZE + 200)).collect();
    let mut one = Vec::with_capacity(SIZE + 200);
    let (mut best_p, mut best_u) = (f64::MAX, f64::MAX);
    let (mut seq, mut rx_seq) = (0u16, 0u16);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..n {
            seq = seq.wrapping_add(1);
            fill(&mut one, template, seq);
            protect(&mut one);
            black_box(&one);
        }
        best_p = best_p.min(t.elapsed().as_nanos() as f64 / n as f64);
        for p in batch.iter_mut() {
            rx_seq = rx_seq.wrapping_add(1);
            fill(p, template, rx_seq);
            feed(p);
        }
        let t = Instant::now();
        for p in batch.iter_mut() {
            unprotect(p);
        }
        best_u = best_u.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    (best_p, best_u)
}

/// Prints the per-packet floor (see `floor_of`) of weft and libsrtp2 side by side.
fn floor(_: &mut Criterion) {
    let profiles = [
        ("aes_cm_128_hmac_sha1_80", Profile::Aes128CmHmacSha1_80, 0),
        ("aead_aes_128_gcm", Profile::AeadAes128Gcm, 2),
    ];
    for (name, profile, lib_id) in profiles {
        let key = vec![0x11; profile.master_key_len()];
        let salt = vec![0x22; profile.master_salt_len()];
        let ks = [key.clone(), salt.clone()].concat();
        let template = packet(0);
        let new = || Context::new(profile, &key, &salt, Config::default()).expect("context");
        let (mut tx, mut feed, mut rx) = (new(), new(), new());
        let (p, u) = floor_of(
            2000,
            &template,
            |b| tx.protect_rtp(b).expect("protect"),
            |b| feed.protect_rtp(b).expect("protect"),
            |b| rx.unprotect_rtp(b).expect("unprotect"),
        );
        eprintln!(
            "floor weft/{name}: protect {p:.0} ns, unprotect {u:.0} ns (min of 2000 x {BATCH})"
        );
        let Some(mut ltx) = Session::new(lib_id, &ks, true) else {
            continue;
        };
        let mut lfeed = Session::new(lib_id, &ks, true).expect("session");
        let mut lrx = Session::new(lib_id, &ks, false).expect("session");
        let (p, u) = floor_of(
            500,
            &template,
            |b| ltx.protect(b).expect("protect"),
            |b| lfeed.protect(b).expect("protect"),
            |b| lrx.unprotect(b).expect("unprotect"),
        );
        eprintln!(
            "floor libsrtp2/{name}: protect {p:.0} ns, unprotect {u:.0} ns (min of 500 x {BATCH})"
        );
    }
}

/// The shortest mean of `f` per call over `rounds` batches of BATCH calls.
fn min_mean(rounds: usize, mut f: impl FnMut(u32)) -> f64 {
    let mut best = f64::MAX;
    let mut i = 0u32;
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..BATCH {
            i = i.wrapping_add(1);
            f(i);
        }
        best = best.min(t.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    best
}

/// What OpenSSL's own AES-GCM code costs for one packet's worth of bytes on this machine,
/// through its public EVP API, with no SRTP work at all: the ceiling any SRTP built on it
/// meets (see docs/adr/0009-srtp-gcm-speed-on-openssl.md).
fn openssl_floor(_: &mut Criterion) {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;

    let key = [0x11u8; 16];
    let hdr = [0x80u8; 12];
    let input = vec![0x5au8; SIZE];
    let mut out = vec![0u8; SIZE + 16];
    let nonce = |i: u32| {
        let mut iv = [0x22u8; 12];
        iv[8..].copy_from_slice(&i.to_be_bytes());
        iv
    };

    let mut ecb = CipherCtx::new().expect("ctx");
    ecb.encrypt_init(Some(Cipher::aes_128_ecb()), Some(&key), None)
        .expect("init");
    ecb.set_padding(false);
    let t = min_mean(2000, |_| {
        ecb.cipher_update(&input, Some(&mut out)).expect("ecb");
        black_box(&out);
    });
    eprintln!("floor openssl/aes_128_ecb: {t:.0} ns per {SIZE} B (AES alone, no counters or XOR)");

    // The bulk with nothing per packet: one endless GCM message, 1184 B (74 blocks) a call.
    let mut stream = CipherCtx::new().expect("ctx");
    stream
        .encrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), Some(&nonce(0)))
        .expect("init");
    let t = min_mean(2000, |_| {
        stream
            .cipher_update(&input[..1184], Some(&mut out))
            .expect("gcm");
        black_box(&out);
    });
    eprintln!("floor openssl/aes_128_gcm streaming: {t:.0} ns per 1184 B (no IV, AAD or tag)");

    // GHASH alone, as far as EVP exposes it: a GCM message of 1200 B of AAD and no payload.
    let mut gctx = CipherCtx::new().expect("ctx");
    gctx.encrypt_init(Some(Cipher::aes_128_gcm()), Some(&key), Some(&nonce(0)))
        .expect("init");
    let mut tag = [0u8; 16];
    let t = min_mean(2000, |i| {
        gctx.encrypt_init(None, None, Some(&nonce(i))).expect("iv");
        gctx.cipher_update(&input, None).expect("aad");
        gctx.cipher_final(&mut out).expect("final");
        gctx.tag(&mut tag).expect("tag");
        black_box(&tag);
    });
    eprintln!("floor openssl/ghash: {t:.0} ns per {SIZE} B (GCM with AAD only, per message)");

    // One SRTP-shaped packet at a time: IV, 12 B header as AAD, 1188 B payload, tag.
    let t = min_mean(2000, |i| {
        gctx.encrypt_init(None, None, Some(&nonce(i))).expect("iv");
        gctx.cipher_update(&hdr, None).expect("aad");
        gctx.cipher_update(&input[12..], Some(&mut out))
            .expect("gcm");
        gctx.cipher_final(&mut out[SIZE - 12..]).expect("final");
        gctx.tag(&mut tag).expect("tag");
        black_box(&tag);
    });
    eprintln!(
        "floor openssl/aes_128_gcm per packet: {t:.0} ns (IV, 12 B AAD, {} B, tag; EVP, no SRTP)",
        SIZE - 12
    );
}

criterion_group!(benches, bench, floor, openssl_floor);
criterion_main!(benches);
