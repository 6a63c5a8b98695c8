//! The TURN client against coturn (Debian): allocate, permission, data through the relay both
//! ways with Send/Data indications and with a channel, refresh-free close; a wrong password
//! fails the allocation with 401.
//!
//! Skipped with a printed reason when `turnserver` is missing, except under CI.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_proto::{Received, Transport};
use weft_testkit::process::{ChildGuard, free_port, have_binary, turnserver};
use weft_turn::{Client, Config, Event};

fn coturn(min_port: u16) -> (ChildGuard, SocketAddr) {
    coturn_with(min_port, &[])
}

fn coturn_with(min_port: u16, extra: &[&str]) -> (ChildGuard, SocketAddr) {
    let port = free_port();
    let mut args = vec!["--lt-cred-mech", "--user=alice:alicepw", "--no-tcp"];
    args.extend_from_slice(extra);
    let guard = turnserver(port, (min_port, min_port + 49), &args).unwrap();
    (guard, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Runs the client over `socket` in real time until `done` holds for the events so far.
fn pump(
    c: &mut Client,
    socket: &UdpSocket,
    events: &mut Vec<Event>,
    done: impl Fn(&[Event]) -> bool,
) {
    socket
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    let local = socket.local_addr().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 2048];
    loop {
        while let Some(t) = c.poll_transmit() {
            socket.send_to(&t.payload, t.destination).unwrap();
        }
        events.extend(std::iter::from_fn(|| c.poll_event()));
        if done(events) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out; events: {events:?}");
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            c.handle_input(
                Instant::now(),
                Received {
                    source: from,
                    destination: local,
                    transport: Transport::Udp,
                    payload: Bytes::copy_from_slice(&buf[..n]),
                },
            );
        }
        c.handle_timeout(Instant::now());
    }
}

fn data_from(events: &[Event], peer: SocketAddr, want: &[u8]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Data { peer: p, data } if *p == peer && data.as_ref() == want))
}

#[test]
fn relays_data_both_ways_with_indications_and_channels() {
    if !have_binary("turnserver") {
        return;
    }
    let (_coturn, server) = coturn(49500);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut config = Config::new(server, socket.local_addr().unwrap(), "alice", "alicepw");
    config.stun.rto = Duration::from_millis(100);
    let mut c = Client::new(config, Instant::now()).unwrap();
    let mut events = Vec::new();

    pump(&mut c, &socket, &mut events, |e| {
        e.iter().any(|e| matches!(e, Event::Allocated { .. }))
    });
    let relayed = c.relayed_address().unwrap();
    assert_eq!(relayed.ip(), peer_addr.ip());
    assert!((49500..=49549).contains(&relayed.port()), "{relayed}");

    // Send indications need a permission.
    assert!(c.send(Instant::now(), peer_addr, b"too early").is_err());
    c.create_permission(Instant::now(), peer_addr.ip()).unwrap();
    pump(&mut c, &socket, &mut events, |e| {
        e.contains(&Event::PermissionCreated(peer_addr.ip()))
    });
    c.send(Instant::now(), peer_addr, b"hello via send")
        .unwrap();
    pump(&mut c, &socket, &mut events, |_| true);
    let mut buf = [0u8; 1500];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello via send"[..], relayed));
    peer.send_to(b"reply via data", relayed).unwrap();
    pump(&mut c, &socket, &mut events, |e| {
        data_from(e, peer_addr, b"reply via data")
    });

    // A channel: ChannelData both ways.
    let channel = c.bind_channel(Instant::now(), peer_addr).unwrap();
    pump(&mut c, &socket, &mut events, |e| {
        e.contains(&Event::ChannelBound {
            peer: peer_addr,
            channel,
        })
    });
    c.send(Instant::now(), peer_addr, b"hello via channel")
        .unwrap();
    pump(&mut c, &socket, &mut events, |_| true);
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello via channel"[..], relayed));
    peer.send_to(b"reply via channel", relayed).unwrap();
    pump(&mut c, &socket, &mut events, |e| {
        data_from(e, peer_addr, b"reply via channel")
    });
    let stats = c.stats();
    assert_eq!((stats.send_indications, stats.channel_data_sent), (1, 1));
    assert_eq!(stats.data_received, 2);

    c.close(Instant::now()).unwrap();
    pump(&mut c, &socket, &mut events, |e| e.contains(&Event::Closed));
    assert!(c.relayed_address().is_none());
}

#[test]
fn wrong_password_fails_the_allocation() {
    if !have_binary("turnserver") {
        return;
    }
    let (_coturn, server) = coturn(49600);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut config = Config::new(server, socket.local_addr().unwrap(), "alice", "wrong");
    config.stun.rto = Duration::from_millis(100);
    let mut c = Client::new(config, Instant::now()).unwrap();
    let mut events = Vec::new();
    pump(&mut c, &socket, &mut events, |e| {
        e.iter()
            .any(|e| matches!(e, Event::AllocationFailed { .. }))
    });
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::AllocationFailed { code: 401, .. })),
        "{events:?}"
    );
}

#[test]
fn refreshes_keep_a_short_allocation_alive() {
    if !have_binary("turnserver") {
        return;
    }
    // The server caps lifetimes at 4 s, so the client must refresh every 2 s.
    let (_coturn, server) = coturn_with(49550, &["--max-allocate-lifetime=4"]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut config = Config::new(server, socket.local_addr().unwrap(), "alice", "alicepw");
    config.stun.rto = Duration::from_millis(100);
    let mut c = Client::new(config, Instant::now()).unwrap();
    let mut events = Vec::new();
    pump(&mut c, &socket, &mut events, |e| {
        e.iter().any(|e| matches!(e, Event::Allocated { .. }))
    });
    assert!(
        events.iter().any(|e| matches!(e, Event::Allocated { lifetime, .. } if *lifetime == Duration::from_secs(4))),
        "{events:?}"
    );
    c.create_permission(Instant::now(), peer_addr.ip()).unwrap();
    let start = Instant::now();
    // Three lifetimes later the allocation still relays.
    pump(&mut c, &socket, &mut events, |_| {
        start.elapsed() > Duration::from_secs(9)
    });
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::AllocationFailed { .. })),
        "{events:?}"
    );
    let relayed = c.relayed_address().unwrap();
    c.send(Instant::now(), peer_addr, b"still here").unwrap();
    pump(&mut c, &socket, &mut events, |_| true);
    let mut buf = [0u8; 100];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"still here"[..], relayed));
}
