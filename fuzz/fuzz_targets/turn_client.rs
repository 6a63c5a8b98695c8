//! Arbitrary datagrams from the server into a TURN client: ChannelData, Data indications and
//! responses (matched or not), cut at 0xFF bytes, with timers fired in between.

#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_proto::{Received, Transport};
use weft_turn::{Client, Config};

fuzz_target!(|data: &[u8]| {
    static START: OnceLock<Instant> = OnceLock::new();
    let mut now = *START.get_or_init(Instant::now);
    let server: SocketAddr = "192.0.2.1:3478".parse().unwrap();
    let local: SocketAddr = "198.51.100.2:5000".parse().unwrap();
    let mut config = Config::new(server, local, "user", "pass");
    config.stun.rng_seed = Some([1; 32]);
    let mut c = Client::new(config, now).expect("client");
    for chunk in data.split(|&b| b == 0xFF) {
        c.handle_input(
            now,
            Received {
                source: server,
                destination: local,
                transport: Transport::Udp,
                payload: Bytes::copy_from_slice(chunk),
            },
        );
        now += Duration::from_millis(300);
        c.handle_timeout(now);
        while c.poll_transmit().is_some() {}
        while c.poll_event().is_some() {}
    }
});
