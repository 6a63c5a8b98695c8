//! Cross-implementation: weft and libsrtp2 (Debian's) produce the same bytes for the same
//! packets and each unprotects the other's, for every profile, SRTP and SRTCP, across a
//! rollover-counter wrap.
//!
//! Skipped with a printed reason when libsrtp2 was not found at build time, except under CI.

#![allow(clippy::print_stderr)]

use weft_libsrtp_shim::Session;
use weft_srtp::{Config, Context, Profile};

const PROFILES: [(Profile, i32); 5] = [
    (Profile::Aes128CmHmacSha1_80, 0),
    (Profile::Aes128CmHmacSha1_32, 1),
    (Profile::AeadAes128Gcm, 2),
    (Profile::AeadAes256Gcm, 3),
    (Profile::NullHmacSha1_80, 4),
];

fn available() -> bool {
    if !Session::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "libsrtp2 is missing under CI"
        );
        eprintln!("skipped: libsrtp2-dev not installed");
    }
    Session::available()
}

/// weft's and libsrtp's senders and receivers for one profile and key.
struct Four {
    weft_tx: Context,
    weft_rx: Context,
    lib_tx: Session,
    lib_rx: Session,
}

fn four(p: Profile, id: i32) -> Four {
    let key: Vec<u8> = (0..p.master_key_len() as u8)
        .map(|i| i.wrapping_mul(37) ^ 0x5a)
        .collect();
    let salt: Vec<u8> = (0..p.master_salt_len() as u8)
        .map(|i| i.wrapping_mul(11) ^ 0xa5)
        .collect();
    let ks = [key.clone(), salt.clone()].concat();
    Four {
        weft_tx: Context::new(p, &key, &salt, Config::default()).unwrap(),
        weft_rx: Context::new(p, &key, &salt, Config::default()).unwrap(),
        lib_tx: Session::new(id, &ks, true).unwrap(),
        lib_rx: Session::new(id, &ks, false).unwrap(),
    }
}

/// An RTP packet; every third one carries CSRCs and a one-byte header extension.
fn rtp(seq: u16, ssrc: u32, n: usize) -> Vec<u8> {
    let fancy = seq.is_multiple_of(3);
    let mut p = vec![if fancy { 0x92 } else { 0x80 }, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    if fancy {
        p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0x7f, 0, 0]);
    }
    p.extend((0..n).map(|i| (i as u8) ^ (seq as u8)));
    p
}

/// A sender report with one report block.
fn rtcp(ssrc: u32, n: u8) -> Vec<u8> {
    let mut p = vec![0x81, 200, 0, 12];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..44).map(|i| i ^ n));
    p
}

#[test]
fn weft_and_libsrtp_agree_on_rtp_across_a_roc_wrap() {
    if !available() {
        return;
    }
    for (profile, id) in PROFILES {
        let Four {
            mut weft_tx,
            mut weft_rx,
            mut lib_tx,
            mut lib_rx,
        } = four(profile, id);
        let ssrc = 0x1234_5678;
        // 65500 .. 65535, then 0 .. 100: the ROC goes from 0 to 1.
        for i in 0..136u32 {
            let seq = (65_500 + i) as u16;
            let plain = rtp(seq, ssrc, 20 + (i as usize * 7) % 1100);
            let mut a = plain.clone();
            weft_tx.protect_rtp(&mut a).unwrap();
            let mut b = plain.clone();
            lib_tx.protect(&mut b).unwrap();
            assert_eq!(a, b, "{profile:?} seq {seq}: protected bytes differ");
            let mut from_lib = b.clone();
            weft_rx.unprotect_rtp(&mut from_lib).unwrap();
            assert_eq!(from_lib, plain, "{profile:?} seq {seq}");
            let mut from_weft = a;
            lib_rx.unprotect(&mut from_weft).unwrap();
            assert_eq!(from_weft, plain, "{profile:?} seq {seq}");
        }
        assert_eq!(weft_tx.roc(ssrc), Some(1));
        assert_eq!(weft_rx.roc(ssrc), Some(1));
    }
}

#[test]
fn weft_and_libsrtp_agree_on_rtcp() {
    if !available() {
        return;
    }
    for (profile, id) in PROFILES {
        let Four {
            mut weft_tx,
            mut weft_rx,
            mut lib_tx,
            mut lib_rx,
        } = four(profile, id);
        for n in 0..20u8 {
            let plain = rtcp(0xdead_beef, n);
            let mut a = plain.clone();
            weft_tx.protect_rtcp(&mut a).unwrap();
            let mut b = plain.clone();
            lib_tx.protect_rtcp(&mut b).unwrap();
            // libsrtp numbers its first SRTCP packet 1, weft 0 as RFC 3711 §3.4 says; the
            // indexes travel in the packet, so each side reads the other's.
            let index = |p: &[u8], tag: usize| {
                let at = if profile.is_aead() {
                    p.len() - 4
                } else {
                    p.len() - tag - 4
                };
                u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]) & 0x7fff_ffff
            };
            let tag = profile.rtcp_tag_len();
            assert_eq!(index(&a, tag), u32::from(n));
            assert_eq!(index(&b, tag), u32::from(n) + 1);
            let mut x = b;
            weft_rx.unprotect_rtcp(&mut x).unwrap();
            assert_eq!(x, plain);
            let mut y = a;
            lib_rx.unprotect_rtcp(&mut y).unwrap();
            assert_eq!(y, plain);
        }
    }
}
