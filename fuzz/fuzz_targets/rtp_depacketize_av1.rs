//! AV1 (AOM RTP spec) depacketizer: an input starting with an even byte is a script of packets (see
//! `fuzz/common/rtp_script.rs`) fed to the depacketizer and to sample builders; an odd
//! first byte makes the rest a frame that must survive packetize then depacketize.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::codec::av1::{Av1Depacketizer, Av1Packetizer};
use weft_rtp::codec::{Depacketizer, Packetizer};

#[path = "../common/rtp_script.rs"]
mod rtp_script;

fuzz_target!(|data: &[u8]| {
    let [mode, mtu, frame @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        rtp_script::run(data, || Av1Depacketizer::new().with_max_obu(1 << 16));
        return;
    }
    let mtu = 8 + usize::from(*mtu) * 6;
    let Ok(payloads) = Av1Packetizer.packetize(frame, mtu) else {
        return;
    };
    let mut d = Av1Depacketizer::new().with_max_obu(1 << 16);
    let mut out = Vec::new();
    for p in &payloads {
        assert!(p.len() <= mtu, "payload above the mtu");
        d.depacketize(p, &mut out).expect("our own payloads depacketize");
    }
    // Temporal delimiters, tile lists and padding are not sent; every other OBU comes back
    // with a size field.
    let mut expected = Vec::new();
    for o in weft_rtp::codec::av1::parse_temporal_unit(frame).expect("it packetized") {
        if !matches!(o.obu_type, 2 | 8 | 15) {
            o.write_sized(&mut expected);
        }
    }
    assert_eq!(out, expected);
});
