//! Interop with coturn, the reference STUN/TURN server (Debian package `coturn`):
//! - coturn's `turnutils_stunclient` gets a correct answer from `weft stun-server`;
//! - `weft stun-client` gets a correct mapped address from coturn's `turnserver`, over UDP
//!   and TCP.
//!
//! Without the coturn binaries these tests print why and pass, except under CI (`CI` set),
//! where `.ci/run` installs them and a missing binary is a failure.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};
use weft_testkit::process::{ChildGuard, free_port, have_binary, turnserver};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

#[test]
fn turnutils_stunclient_gets_answer_from_weft_stun_server() {
    if !have_binary("turnutils_stunclient") {
        return;
    }
    let mut server = Command::new(WEFT)
        .args(["stun-server", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("stun server listening on udp ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let server = ChildGuard(server);

    let r = Command::new("turnutils_stunclient")
        .args(["-p", &addr.port().to_string(), "127.0.0.1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&r.stdout).to_string() + &String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "turnutils_stunclient failed: {text}");
    let mapped = text
        .lines()
        .find_map(|l| l.split("UDP reflexive addr: ").nth(1))
        .unwrap_or_else(|| panic!("no reflexive address in {text:?}"));
    let mapped: SocketAddr = mapped.trim().parse().unwrap();
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    assert_ne!(mapped.port(), 0);
    assert_ne!(mapped.port(), addr.port());

    // Stop the server with SIGINT and check it counted the requests it answered.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let answered: u64 = rest
        .lines()
        .find_map(|l| l.strip_prefix("udp: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stats in {rest:?}"));
    assert!(answered >= 1, "server answered {answered} requests");
}

/// Starts coturn (STUN only: no credentials) on a free loopback port.
fn coturn() -> (ChildGuard, u16) {
    let port = free_port();
    (turnserver(port, (49300, 49399), &[]).unwrap(), port)
}

/// Runs `weft stun-client` until coturn is up (it takes a moment to start listening).
fn weft_client(args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = Command::new(WEFT)
            .arg("stun-client")
            .args(args)
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&r.stdout).to_string();
        if r.status.success() {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "weft stun-client {args:?} kept failing: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} in {out:?}"))
}

#[test]
fn weft_stun_client_gets_mapped_address_from_coturn_over_udp() {
    if !have_binary("turnserver") {
        return;
    }
    let (_coturn, port) = coturn();
    let local = format!("127.0.0.1:{}", free_port());
    let out = weft_client(&[
        &format!("stun:127.0.0.1:{port}"),
        "--bind",
        &local,
        "--rto-ms",
        "100",
    ]);
    assert_eq!(field(&out, "mapped address: "), local);
    assert!(
        field(&out, "server software: ").starts_with("Coturn"),
        "{out}"
    );
}

#[test]
fn weft_stun_client_gets_mapped_address_from_coturn_over_tcp() {
    if !have_binary("turnserver") {
        return;
    }
    let (_coturn, port) = coturn();
    let out = weft_client(&[&format!("stun:127.0.0.1:{port}"), "--tcp"]);
    let mapped: SocketAddr = field(&out, "mapped address: ").parse().unwrap();
    assert_eq!(mapped.ip().to_string(), "127.0.0.1");
    assert_ne!(mapped.port(), port);
    assert!(
        field(&out, "server software: ").starts_with("Coturn"),
        "{out}"
    );
}
