//! ring's AES-128-GCM on one SRTP-sized packet (12 B AAD, 1188 B payload), for ADR 0009.
//! Not part of the workspace: in a scratch crate with `ring = "0.17"` as its one dependency,
//! `cargo run --release`. Each figure is the shortest mean over 4000 batches of 256.
use ring::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use std::time::Instant;

fn nonce(i: u32) -> Nonce {
    let mut n = [0x22u8; 12];
    n[8..].copy_from_slice(&i.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

fn floor(mut f: impl FnMut(u32)) -> f64 {
    let mut best = f64::MAX;
    let mut i = 0u32;
    for _ in 0..4000 {
        let t = Instant::now();
        for _ in 0..256 {
            i = i.wrapping_add(1);
            f(i);
        }
        best = best.min(t.elapsed().as_nanos() as f64 / 256.0);
    }
    best
}

fn main() {
    let key = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[1u8; 16]).expect("key"));
    let hdr = [0x80u8; 12];
    let mut buf = vec![0x5au8; 1188];
    let seal = floor(|i| {
        let tag = key
            .seal_in_place_separate_tag(nonce(i), Aad::from(hdr), &mut buf)
            .expect("seal");
        let _ = std::hint::black_box(tag);
    });
    // One sealed packet, copied back and opened each time (the copy is part of the figure).
    let mut sealed = vec![0x5au8; 1188];
    let tag = key
        .seal_in_place_separate_tag(nonce(0), Aad::from(hdr), &mut sealed)
        .expect("seal");
    sealed.extend_from_slice(tag.as_ref());
    let mut work = sealed.clone();
    let open = floor(|_| {
        work.copy_from_slice(&sealed);
        let plain = key
            .open_in_place(nonce(0), Aad::from(hdr), &mut work)
            .expect("open");
        std::hint::black_box(plain);
    });
    println!("ring AES-128-GCM, 12 B AAD + 1188 B: seal {seal:.0} ns, open {open:.0} ns");
}
