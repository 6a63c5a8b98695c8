//! The audio payload formats: Opus, G.711 and G.722 through the packet script of
//! `fuzz/common/rtp_script.rs`, and every payload as an RFC 4733 telephone event through the
//! event receiver.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::Timestamp;
use weft_rtp::codec::audio::{G711, G711Law, G722, Opus};
use weft_rtp::codec::telephone_event::EventReceiver;

#[path = "../common/rtp_script.rs"]
mod rtp_script;

fuzz_target!(|data: &[u8]| {
    rtp_script::run(data, || Opus);
    rtp_script::run(data, || G711 { law: G711Law::MuLaw });
    rtp_script::run(data, || G722);
    let mut r = EventReceiver::new();
    for (i, s) in rtp_script::steps(data).iter().enumerate() {
        if let Ok(Some(ev)) = r.handle_payload(Timestamp::from(i as u32 / 4), s.payload) {
            assert_eq!(ev.event, s.payload[0]);
        }
    }
});
