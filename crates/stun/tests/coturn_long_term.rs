//! The long-term credential mechanism against coturn: an Allocate request is challenged with
//! 401, answered with credentials, and accepted; the response's integrity verifies with the
//! client's key; a Refresh with LIFETIME 0 releases the allocation.
//!
//! Skipped with a printed reason when `turnserver` is missing, except under CI.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use weft_stun::{Attribute, Class, LongTermClient, Message, Method, TransactionId};
use weft_testkit::process::{free_port, have_binary, turnserver};

/// Sends a request until coturn answers it (it takes a moment to start) and returns the
/// response with the request's transaction id; stale answers to earlier retransmissions are
/// skipped.
fn exchange(socket: &UdpSocket, bytes: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        socket.send(bytes).unwrap();
        loop {
            match socket.recv(&mut buf) {
                Ok(n) if n >= 20 && buf[8..20] == bytes[8..20] => return buf[..n].to_vec(),
                Ok(_) => continue,
                Err(_) if Instant::now() < deadline => break,
                Err(e) => panic!("no answer from coturn: {e}"),
            }
        }
    }
}

fn tid(n: u8) -> TransactionId {
    TransactionId::new([n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
}

#[test]
fn allocate_with_long_term_credentials_against_coturn() {
    if !have_binary("turnserver") {
        return;
    }
    let port = free_port();
    let _coturn = turnserver(
        port,
        (49400, 49499),
        &["--lt-cred-mech", "--user=alice:alicepw", "--no-tcp"],
    )
    .unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    // REQUESTED-TRANSPORT: UDP (IP protocol 17).
    let allocate = |id| {
        Message::new(Class::Request, Method::ALLOCATE, id).with(Attribute::RequestedTransport(17))
    };

    // 1. Unauthenticated: coturn challenges with 401, a realm and a nonce.
    let first = allocate(tid(1)).to_vec(None, true).unwrap();
    let resp = exchange(&socket, &first);
    let resp = Message::decode(&resp).unwrap();
    assert_eq!(resp.class, Class::Error);
    assert_eq!(resp.error_code().unwrap().code, 401);
    let mut client = LongTermClient::new("alice", "alicepw").unwrap();
    assert!(client.handle_challenge(&resp).unwrap());
    eprintln!("coturn challenge negotiated {:?}", client.algorithm());

    // 2. Signed: accepted, with a relayed address, and the response verifies. coturn may have
    // issued a newer nonce to a retransmitted copy of the first request; it then answers 438
    // and the client retries with that nonce, as RFC 8489 §9.2.5 says.
    let mut resp_bytes = Vec::new();
    for attempt in 0..3u8 {
        let mut signed = allocate(tid(10 + attempt));
        let integrity = client.authenticate(&mut signed).unwrap();
        let bytes = signed.to_vec(Some(integrity), true).unwrap();
        resp_bytes = exchange(&socket, &bytes);
        let resp = Message::decode(&resp_bytes).unwrap();
        if resp.error_code().is_some_and(|e| e.code == 438) {
            assert!(
                client.handle_challenge(&resp).unwrap(),
                "438 must be retried"
            );
            continue;
        }
        break;
    }
    let resp = Message::decode(&resp_bytes).unwrap();
    assert_eq!(
        resp.class,
        Class::Success,
        "coturn refused: {:?}",
        resp.error_code()
    );
    client.verify_response(&resp).unwrap();
    let relayed = resp.attributes.iter().find_map(|a| match a {
        Attribute::XorRelayedAddress(r) => Some(*r),
        _ => None,
    });
    let relayed = relayed.expect("XOR-RELAYED-ADDRESS");
    assert_eq!(relayed.ip().to_string(), "127.0.0.1");
    assert!((49400..=49499).contains(&relayed.port()), "{relayed}");
    assert!(
        resp.attributes
            .iter()
            .any(|a| matches!(a, Attribute::Lifetime(s) if *s > 0))
    );
    assert_eq!(resp.mapped_address(), Some(socket.local_addr().unwrap()));

    // 3. Release it: Refresh with LIFETIME 0.
    let mut refresh =
        Message::new(Class::Request, Method::REFRESH, tid(3)).with(Attribute::Lifetime(0));
    let integrity = client.authenticate(&mut refresh).unwrap();
    let bytes = refresh.to_vec(Some(integrity), true).unwrap();
    let resp = exchange(&socket, &bytes);
    let resp = Message::decode(&resp).unwrap();
    assert_eq!(resp.class, Class::Success, "{:?}", resp.error_code());
    client.verify_response(&resp).unwrap();

    // 4. A wrong password is refused, and the client does not retry it.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(("127.0.0.1", port)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut mallory = LongTermClient::new("alice", "not-her-password").unwrap();
    let resp = exchange(&socket, &allocate(tid(4)).to_vec(None, true).unwrap());
    assert!(
        mallory
            .handle_challenge(&Message::decode(&resp).unwrap())
            .unwrap()
    );
    let mut bad = allocate(tid(5));
    let integrity = mallory.authenticate(&mut bad).unwrap();
    let resp = exchange(&socket, &bad.to_vec(Some(integrity), true).unwrap());
    let resp = Message::decode(&resp).unwrap();
    assert_eq!(resp.error_code().unwrap().code, 401);
    assert!(!mallory.handle_challenge(&resp).unwrap());
}
