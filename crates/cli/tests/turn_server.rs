//! `weft turn-server` against coturn's `turnutils_uclient` (Debian package `coturn`): clients
//! relay to each other through it with channels and with Send/Data indications, with static
//! users and with TURN REST credentials, and loopback peers are refused unless allowed.
//!
//! Without the coturn binaries these tests print why and pass, except under CI.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

use weft_testkit::process::{ChildGuard, have_binary};

const WEFT: &str = env!("CARGO_BIN_EXE_weft");

/// Starts the server on a free port with relay ports `ports`; returns it, its UDP address and
/// its TCP/TLS addresses (in that order, as configured).
fn server(extra: &[&str], ports: (u16, u16)) -> (ChildGuard, SocketAddr, Vec<SocketAddr>) {
    let (lo, hi) = (ports.0.to_string(), ports.1.to_string());
    let mut args = vec![
        "turn-server",
        "--listen",
        "127.0.0.1:0",
        "--min-port",
        &lo,
        "--max-port",
        &hi,
    ];
    args.extend_from_slice(extra);
    let mut child = Command::new(WEFT)
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("weft turn-server listening on udp ")
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    let streams = extra
        .iter()
        .filter(|a| **a == "--tcp" || **a == "--tls-listen")
        .count();
    let mut more = Vec::new();
    for _ in 0..streams {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        more.push(l.trim().rsplit(' ').next().unwrap().parse().unwrap());
    }
    (ChildGuard(child), addr, more)
}

/// Runs turnutils_uclient in client-to-client mode and returns (sent, received, its output).
fn uclient(addr: SocketAddr, extra: &[&str]) -> (u64, u64, String) {
    let port = addr.port().to_string();
    let mut args = vec![
        "-y", "-c", "-n", "100", "-m", "4", "-l", "500", "-z", "5", "-p", &port,
    ];
    args.extend_from_slice(extra);
    args.push("127.0.0.1");
    let out = Command::new("turnutils_uclient")
        .args(&args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let field = |name: &str| {
        text.lines()
            .rev()
            .find_map(|l| l.split(name).nth(1))
            .and_then(|r| {
                r.split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    };
    (field("tot_send_msgs="), field("tot_recv_msgs="), text)
}

#[test]
fn uclient_relays_through_weft_with_channels_and_indications() {
    if !have_binary("turnutils_uclient") {
        return;
    }
    let (_s, addr, _) = server(
        &["--user", "alice:alicepw", "--allow-peer", "127.0.0.0/8"],
        (49650, 49699),
    );
    for mode in [&[][..], &["-s"][..]] {
        let mut args = vec!["-u", "alice", "-w", "alicepw"];
        args.extend_from_slice(mode);
        let (sent, got, text) = uclient(addr, &args);
        assert_eq!(sent, 400, "{text}");
        assert_eq!(got, sent, "lost messages ({mode:?}): {text}");
        assert!(text.contains("Total lost packets 0 (0.000000%)"), "{text}");
    }
}

#[test]
fn uclient_with_rest_credentials_relays_and_loopback_is_refused_by_default() {
    if !have_binary("turnutils_uclient") {
        return;
    }
    let (_s, addr, _) = server(
        &["--auth-secret", "north", "--allow-peer", "127.0.0.0/8"],
        (49700, 49749),
    );
    let (sent, got, text) = uclient(addr, &["-u", "alice", "-W", "north"]);
    assert_eq!((sent, got), (400, 400), "{text}");
    // Without --allow-peer the relays (on 127.0.0.1) are peers a TURN server must not reach.
    let (_s2, addr2, _) = server(&["--user", "alice:alicepw"], (49750, 49799));
    let (_, got, text) = uclient(addr2, &["-u", "alice", "-w", "alicepw"]);
    assert_eq!(got, 0, "{text}");
    assert!(text.contains("403"), "{text}");
}

#[test]
fn uclient_relays_through_weft_over_tcp_and_tls() {
    if !have_binary("turnutils_uclient") || !have_binary("openssl") {
        return;
    }
    let Some((cert, key)) = weft_testkit::process::self_signed_cert("cli-turn-tls") else {
        return;
    };
    let dir = cert.parent().expect("in a directory").to_path_buf();
    let (cs, ks) = (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    );
    let (_s, _, streams) = server(
        &[
            "--user",
            "alice:alicepw",
            "--allow-peer",
            "127.0.0.0/8",
            "--tcp",
            "--tls-listen",
            "127.0.0.1:0",
            "--cert",
            &cs,
            "--key",
            &ks,
        ],
        (49800, 49849),
    );
    assert_eq!(streams.len(), 2);
    for (addr, flags) in [
        (streams[0], &["-t"][..]),
        (streams[0], &["-t", "-s"][..]),
        (streams[1], &["-t", "-S"][..]),
        (streams[1], &["-t", "-S", "-s"][..]),
    ] {
        let mut args = vec!["-u", "alice", "-w", "alicepw"];
        args.extend_from_slice(flags);
        let (sent, got, text) = uclient(addr, &args);
        assert_eq!((sent, got), (400, 400), "{flags:?}: {text}");
        assert!(text.contains("Total lost packets 0 (0.000000%)"), "{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
