//! Arbitrary bytes as SRTP and SRTCP for every profile, on a receiver that has already seen a
//! genuine stream (so ROC estimation and replay windows are live). Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_srtp::{Config, Context, Profile};

const PROFILES: [Profile; 5] = [
    Profile::Aes128CmHmacSha1_80,
    Profile::Aes128CmHmacSha1_32,
    Profile::AeadAes128Gcm,
    Profile::AeadAes256Gcm,
    Profile::NullHmacSha1_80,
];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let p = PROFILES[usize::from(sel) % PROFILES.len()];
    let key = vec![7u8; p.master_key_len()];
    let salt = vec![9u8; p.master_salt_len()];
    let mut tx = Context::new(p, &key, &salt, Config::default()).expect("context");
    let mut rx = Context::new(p, &key, &salt, Config::default()).expect("context");
    for seq in [65_530u16, 65_535, 3] {
        let mut pkt = vec![0x80, 96, (seq >> 8) as u8, seq as u8, 0, 0, 0, 1, 0, 0, 0, 42, 1, 2];
        tx.protect_rtp(&mut pkt).expect("protect");
        rx.unprotect_rtp(&mut pkt).expect("unprotect");
    }
    let mut a = rest.to_vec();
    let _ = rx.unprotect_rtp(&mut a);
    let mut b = rest.to_vec();
    let _ = rx.unprotect_rtcp(&mut b);
    if sel & 0x80 != 0 {
        let mut c = rest.to_vec();
        let _ = tx.protect_rtp(&mut c);
    }
});
