//! Properties: protect then unprotect is the identity, across sequence wraps and SSRCs, for
//! every profile, with and without cryptex; any single bit flip is refused; arbitrary bytes
//! never panic.

use proptest::prelude::*;
use weft_srtp::{Config, Context, Profile};

const PROFILES: [Profile; 5] = [
    Profile::Aes128CmHmacSha1_80,
    Profile::Aes128CmHmacSha1_32,
    Profile::AeadAes128Gcm,
    Profile::AeadAes256Gcm,
    Profile::NullHmacSha1_80,
];

fn pair(p: Profile, cryptex: bool) -> (Context, Context) {
    let key: Vec<u8> = (0..p.master_key_len() as u8).collect();
    let salt: Vec<u8> = (0..p.master_salt_len() as u8).map(|b| b ^ 0x55).collect();
    let config = Config {
        cryptex,
        ..Config::default()
    };
    (
        Context::new(p, &key, &salt, config.clone()).unwrap(),
        Context::new(p, &key, &salt, config).unwrap(),
    )
}

/// An RTP packet with optional CSRCs and a one-byte header extension.
fn rtp(seq: u16, ssrc: u32, csrcs: u8, ext_words: u8, payload: &[u8]) -> Vec<u8> {
    let x = if ext_words > 0 { 0x10 } else { 0 };
    let mut p = vec![0x80 | x | csrcs, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[1, 2, 3, 4]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    for c in 0..csrcs {
        p.extend_from_slice(&u32::from(c).to_be_bytes());
    }
    if ext_words > 0 {
        p.extend_from_slice(&[0xbe, 0xde, 0, ext_words]);
        p.extend((0..ext_words * 4).map(|i| if i == 0 { 0x10 } else { i }));
    }
    p.extend_from_slice(payload);
    p
}

proptest! {
    #[test]
    fn protect_unprotect_is_identity(
        profile in 0usize..5,
        cryptex: bool,
        ssrc: u32,
        start: u16,
        count in 1usize..40,
        csrcs in 0u8..4,
        ext_words in 0u8..4,
        payload in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let p = PROFILES[profile];
        let (mut tx, mut rx) = pair(p, cryptex);
        for i in 0..count {
            let seq = start.wrapping_add(i as u16 * 997);
            let plain = rtp(seq, ssrc, csrcs, ext_words, &payload);
            let mut buf = plain.clone();
            tx.protect_rtp(&mut buf).unwrap();
            rx.unprotect_rtp(&mut buf).unwrap();
            if cryptex && csrcs > 0 && ext_words == 0 {
                // The empty extension the sender added for the CSRCs comes back as 0xBEDE.
                let at = 12 + 4 * usize::from(csrcs);
                prop_assert_eq!(&buf[at..at + 4], &[0xbe, 0xde, 0, 0]);
                buf.drain(at..at + 4);
                buf[0] &= !0x10;
            }
            prop_assert_eq!(buf, plain);
        }
        prop_assert_eq!(tx.roc(ssrc), rx.roc(ssrc));
    }

    #[test]
    fn rtcp_protect_unprotect_is_identity(profile in 0usize..5, ssrc: u32,
                                          body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (mut tx, mut rx) = pair(PROFILES[profile], false);
        let mut plain = vec![0x80, 200, 0, 0];
        plain.extend_from_slice(&ssrc.to_be_bytes());
        plain.extend_from_slice(&body);
        for _ in 0..3 {
            let mut buf = plain.clone();
            tx.protect_rtcp(&mut buf).unwrap();
            rx.unprotect_rtcp(&mut buf).unwrap();
            prop_assert_eq!(&buf, &plain);
        }
    }

    #[test]
    fn any_single_bit_flip_is_refused(profile in 0usize..5, cryptex: bool, seq: u16,
                                      payload in proptest::collection::vec(any::<u8>(), 1..100),
                                      bit in any::<prop::sample::Index>(), rtcp: bool) {
        let (mut tx, mut rx) = pair(PROFILES[profile], cryptex);
        let mut buf = if rtcp {
            let mut p = vec![0x80, 201, 0, 0, 0, 0, 0, 9];
            p.extend_from_slice(&payload);
            tx.protect_rtcp(&mut p).unwrap();
            p
        } else {
            let mut p = rtp(seq, 9, 1, 1, &payload);
            tx.protect_rtp(&mut p).unwrap();
            p
        };
        let b = bit.index(buf.len() * 8);
        buf[b / 8] ^= 1 << (b % 8);
        let r = if rtcp { rx.unprotect_rtcp(&mut buf) } else { rx.unprotect_rtp(&mut buf) };
        prop_assert!(r.is_err(), "flip of bit {} went unnoticed", b);
    }

    #[test]
    fn arbitrary_bytes_never_panic(profile in 0usize..5, bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (_, mut rx) = pair(PROFILES[profile], false);
        let _ = rx.unprotect_rtp(&mut bytes.clone());
        let _ = rx.unprotect_rtcp(&mut bytes.clone());
        let (mut tx, _) = pair(PROFILES[profile], true);
        let _ = tx.protect_rtp(&mut bytes.clone());
        let _ = tx.protect_rtcp(&mut bytes.clone());
    }
}
