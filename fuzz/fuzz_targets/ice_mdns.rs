//! Decodes arbitrary bytes as an mDNS (DNS) message, and feeds them to a running `Mdns`
//! machine. Whatever decodes must re-encode to bytes that decode to the same message; the
//! machine must not panic, and must not ask for a timer in the past.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_ice::mdns::{GROUP_V4, Mdns, MdnsConfig, Message, PORT};
use weft_proto::{Received, Transport};

fuzz_target!(|data: &[u8]| {
    static START: OnceLock<Instant> = OnceLock::new();
    let now = *START.get_or_init(Instant::now);
    if let Ok(msg) = Message::decode(data) {
        let bytes = msg.to_vec();
        assert_eq!(bytes.len(), msg.encoded_len());
        assert_eq!(Message::decode(&bytes).as_ref(), Ok(&msg));
    }
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let mut m = Mdns::new(MdnsConfig {
        rng_seed: Some([flags; 32]),
        max_cache: 4,
        ..MdnsConfig::default()
    });
    let _ = m.register(now, "192.168.1.20".parse().unwrap());
    let _ = m.register(now, "fe80::20".parse().unwrap());
    let _ = m.resolve(now, "peer.local");
    while m.poll_transmit().is_some() {}
    let port = if flags & 1 == 0 { PORT } else { 40000 };
    // Each piece (cut at 0xFF 0xFF) is one datagram, a little later than the last.
    for (i, piece) in payload.split(|&b| b == 0xFF).enumerate() {
        let t = now + Duration::from_millis(300 * i as u64);
        m.handle_input(
            t,
            Received {
                source: std::net::SocketAddr::new("192.168.1.30".parse().unwrap(), port),
                destination: GROUP_V4,
                transport: Transport::Udp,
                payload: Bytes::copy_from_slice(piece),
            },
        );
        if let Some(due) = m.poll_timeout()
            && due <= t
        {
            m.handle_timeout(t);
        }
        while let Some(tx) = m.poll_transmit() {
            assert!(Message::decode(&tx.payload).is_ok(), "we send what we parse");
        }
        while m.poll_event().is_some() {}
        if let Some(due) = m.poll_timeout() {
            assert!(due > t, "a timer in the past after handle_timeout");
        }
    }
});
