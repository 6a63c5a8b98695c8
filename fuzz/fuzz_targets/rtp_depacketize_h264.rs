//! H.264 (RFC 6184) depacketizer: an input starting with an even byte is a script of packets (see
//! `fuzz/common/rtp_script.rs`) fed to the depacketizer and to sample builders; an odd
//! first byte makes the rest a frame that must survive packetize then depacketize.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::codec::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use weft_rtp::codec::{Depacketizer, Packetizer};

#[path = "../common/rtp_script.rs"]
mod rtp_script;

fuzz_target!(|data: &[u8]| {
    let [mode, mtu, frame @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        rtp_script::run(data, || H264Depacketizer::new().with_max_unit(1 << 16));
        return;
    }
    let mtu = 8 + usize::from(*mtu) * 6;
    let Ok(payloads) = H264Packetizer::new(PacketizationMode::NonInterleaved).packetize(frame, mtu) else {
        return;
    };
    let mut d = H264Depacketizer::new().with_max_unit(1 << 16);
    let mut out = Vec::new();
    for p in &payloads {
        assert!(p.len() <= mtu, "payload above the mtu");
        d.depacketize(p, &mut out).expect("our own payloads depacketize");
    }
    // Access unit delimiters and filler data are not sent; the rest comes back in order.
    let mut expected = Vec::new();
    for u in weft_rtp::codec::split_annex_b(frame) {
        if !matches!(u[0] & 0x1f, 9 | 12) {
            expected.extend_from_slice(&weft_rtp::codec::START_CODE);
            expected.extend_from_slice(u);
        }
    }
    assert_eq!(out, expected);
});
