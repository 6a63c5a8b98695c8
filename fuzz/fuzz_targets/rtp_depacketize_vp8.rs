//! VP8 (RFC 7741) depacketizer: an input starting with an even byte is a script of packets (see
//! `fuzz/common/rtp_script.rs`) fed to the depacketizer and to sample builders; an odd
//! first byte makes the rest a frame that must survive packetize then depacketize.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use weft_rtp::codec::{Depacketizer, Packetizer};

#[path = "../common/rtp_script.rs"]
mod rtp_script;

fuzz_target!(|data: &[u8]| {
    let [mode, mtu, frame @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        rtp_script::run(data, || Vp8Depacketizer::new());
        return;
    }
    let mtu = 8 + usize::from(*mtu) * 6;
    let Ok(payloads) = Vp8Packetizer::with_picture_id(1).packetize(frame, mtu) else {
        return;
    };
    let mut d = Vp8Depacketizer::new();
    let mut out = Vec::new();
    for p in &payloads {
        assert!(p.len() <= mtu, "payload above the mtu");
        d.depacketize(p, &mut out).expect("our own payloads depacketize");
    }
    assert_eq!(out, frame);
});
