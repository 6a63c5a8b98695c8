//! Arbitrary datagrams against a TURN server core that has a live allocation (made by a
//! weft-turn client with a permission and a channel): as client traffic, as peer traffic to the
//! relayed address, and timers. Nothing may panic and no allocation appears without
//! credentials.

#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_proto::{Received, Transport};
use weft_turn::server::Event as ServerEvent;
use weft_turn::{Client, Config, Server, ServerConfig};

fn pump(server: &mut Server, client: &mut Client, now: Instant) {
    for _ in 0..16 {
        while let Some(ev) = server.poll_event() {
            if let ServerEvent::BindRelay { token, .. } = ev {
                server.relay_bound(now, token, Ok("198.51.100.1:50000".parse().unwrap()));
            }
        }
        let mut moved = false;
        while let Some(t) = client.poll_transmit() {
            moved = true;
            server.handle_input(now, Received { source: t.source, destination: t.destination, transport: Transport::Udp, payload: t.payload });
        }
        while let Some(t) = server.poll_transmit() {
            moved = true;
            if t.destination.port() == 40000 {
                client.handle_input(now, Received { source: t.source, destination: t.destination, transport: Transport::Udp, payload: t.payload });
            }
        }
        while client.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let server_addr: SocketAddr = "198.51.100.1:3478".parse().unwrap();
    let client_addr: SocketAddr = "192.0.2.1:40000".parse().unwrap();
    let peer: SocketAddr = "203.0.113.9:7000".parse().unwrap();
    let mut cfg = ServerConfig { rng_seed: Some([1; 32]), ..ServerConfig::default() };
    cfg.users.insert("alice".into(), "pw".into());
    let mut server = Server::new(cfg, now, SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let mut ccfg = Config::new(server_addr, client_addr, "alice", "pw");
    ccfg.stun.rng_seed = Some([2; 32]);
    let mut client = Client::new(ccfg, now).unwrap();
    pump(&mut server, &mut client, now);
    let _ = client.create_permission(now, peer.ip());
    let _ = client.bind_channel(now, peer);
    pump(&mut server, &mut client, now);
    let relay: SocketAddr = "198.51.100.1:50000".parse().unwrap();
    let before = server.stats().allocations;
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        let len = (tail.first().copied().unwrap_or(0) as usize * 2).min(tail.len().saturating_sub(1));
        let body = Bytes::copy_from_slice(tail.get(1..1 + len).unwrap_or(&[]));
        rest = tail.get(1 + len..).unwrap_or(&[]);
        let (source, destination) = match op % 4 {
            0 => (client_addr, server_addr),
            1 => ("192.0.2.77:4000".parse().unwrap(), server_addr),
            2 => (peer, relay),
            _ => {
                now += Duration::from_secs(body.first().copied().unwrap_or(1) as u64 * 10);
                server.handle_timeout(now);
                continue;
            }
        };
        server.handle_input(now, Received { source, destination, transport: Transport::Udp, payload: body });
        while let Some(ev) = server.poll_event() {
            if let ServerEvent::BindRelay { token, .. } = ev {
                server.relay_bound(now, token, Ok("198.51.100.1:50001".parse().unwrap()));
            }
        }
        while server.poll_transmit().is_some() {}
    }
    // Unauthenticated garbage cannot create allocations (forging HMAC-SHA1 is out of reach).
    assert!(server.stats().allocations <= before);
});
