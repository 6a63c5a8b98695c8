//! H.265 (RFC 7798) depacketizer: an input starting with an even byte is a script of packets (see
//! `fuzz/common/rtp_script.rs`) fed to the depacketizer and to sample builders; an odd
//! first byte makes the rest a frame that must survive packetize then depacketize.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use weft_rtp::codec::{Depacketizer, Packetizer};

#[path = "../common/rtp_script.rs"]
mod rtp_script;

fuzz_target!(|data: &[u8]| {
    let [mode, mtu, frame @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        rtp_script::run(data, || H265Depacketizer::new().with_max_unit(1 << 16));
        return;
    }
    let mtu = 8 + usize::from(*mtu) * 6;
    let Ok(payloads) = H265Packetizer.packetize(frame, mtu) else {
        return;
    };
    let mut d = H265Depacketizer::new().with_max_unit(1 << 16);
    let mut out = Vec::new();
    for p in &payloads {
        assert!(p.len() <= mtu, "payload above the mtu");
        d.depacketize(p, &mut out).expect("our own payloads depacketize");
    }
    let mut expected = Vec::new();
    for u in weft_rtp::codec::split_annex_b(frame) {
        if u.len() >= 2 {
            expected.extend_from_slice(&weft_rtp::codec::START_CODE);
            expected.extend_from_slice(u);
        }
    }
    assert_eq!(out, expected);
});
