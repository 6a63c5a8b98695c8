//! Feeds arbitrary and mutated records to a connection whose records weft protects itself
//! (after the handshake, ADR 0008): the input is cut into chunks at 0xFF bytes; a chunk is fed
//! as a datagram as it is, or (odd first byte) a genuine record of the peer is sealed around it
//! and then corrupted at the positions the chunk names. Nothing may panic, and only genuine
//! records are delivered.

#![no_main]

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_dtls::{Certificate, Config, Connection, Event, HashAlgorithm, KeyType, Role};

/// A client and a server, both past the handshake with their records taken over.
fn connected() -> (Connection, Connection) {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let day = Duration::from_secs(86400);
    let ca = Certificate::generate(KeyType::EcdsaP256, wall, day).expect("certificate");
    let cb = Certificate::generate(KeyType::EcdsaP256, wall, day).expect("certificate");
    let mut a = Config::new(ca.clone());
    a.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256).expect("fingerprint")];
    let mut b = Config::new(cb);
    b.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).expect("fingerprint")];
    let mut client = Connection::new(Role::Client, a, now, wall).expect("client");
    let mut server = Connection::new(Role::Server, b, now, wall).expect("server");
    for _ in 0..10 {
        while let Some(d) = client.poll_transmit() {
            server.handle_input(now, d);
        }
        while let Some(d) = server.poll_transmit() {
            client.handle_input(now, d);
        }
    }
    client.send(b"confirm").expect("send");
    while let Some(d) = client.poll_transmit() {
        server.handle_input(now, d);
    }
    while server.poll_event().is_some() || client.poll_event().is_some() {}
    assert!(client.owns_records() && server.owns_records());
    (client, server)
}

static PAIR: Mutex<Option<(Connection, Connection)>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = PAIR.lock().unwrap_or_else(|e| e.into_inner());
    if guard
        .as_ref()
        .is_none_or(|(c, s)| !c.is_connected() || !s.is_connected())
    {
        *guard = Some(connected());
    }
    let Some((client, server)) = guard.as_mut() else {
        return;
    };
    let now = Instant::now();
    for chunk in data.split(|&b| b == 0xFF) {
        let corrupt = chunk.first().is_some_and(|b| b & 1 == 1);
        if !corrupt {
            server.handle_input(now, Bytes::copy_from_slice(chunk));
        } else if client.send(chunk).is_ok() {
            while let Some(d) = client.poll_transmit() {
                let mut d = d.to_vec();
                let mut flipped = false;
                for pair in chunk[1..].chunks_exact(2) {
                    let at = usize::from(pair[0]) % d.len();
                    d[at] ^= pair[1];
                    flipped |= pair[1] != 0;
                }
                let genuine = !flipped;
                server.handle_input(now, Bytes::from(d));
                let got: Vec<Bytes> = std::iter::from_fn(|| server.poll_event())
                    .filter_map(|e| match e {
                        Event::Data(d) => Some(d),
                        _ => None,
                    })
                    .collect();
                if !genuine {
                    // A corrupted record is never delivered (a flip may cancel out only
                    // when the same byte is flipped twice by the same value).
                    assert!(got.is_empty() || got == vec![Bytes::copy_from_slice(chunk)]);
                }
            }
        }
        while server.poll_transmit().is_some() {}
        while server.poll_event().is_some() {}
    }
});
