//! Interop with the `openssl` binary: `s_server -dtls1_2` and `s_client -dtls1_2` complete a
//! handshake with weft in both roles over 127.0.0.1 UDP, agree on the SRTP profile and its keys
//! (`-keymatexport`), and exchange application data; a DTLS 1.0-only server is refused.
//!
//! Skipped with a printed reason when `openssl` is missing, except under CI.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use weft_dtls::{
    Certificate, CloseReason, Config, Connection, Event, HashAlgorithm, KeyType, Role, SrtpProfile,
};
use weft_testkit::process::{ChildGuard, have_binary};

/// A certificate written to PEM files for the openssl binary.
fn pem_files(tag: &str, cert: &Certificate) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("weft-dtls-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("cert.pem");
    let k = dir.join("key.pem");
    std::fs::write(&c, cert.certificate_pem().unwrap()).unwrap();
    std::fs::write(&k, cert.private_key_pem().unwrap()).unwrap();
    (c, k)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Collects the lines a child prints, from a thread, so the test can wait for one.
fn lines(out: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &mpsc::Receiver<String>, pred: impl Fn(&str) -> bool, what: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100))
            && pred(&l)
        {
            return l;
        }
    }
    panic!("openssl never printed {what}");
}

/// Drives `conn` over `socket` with real time until `done` says so.
fn drive(
    conn: &mut Connection,
    socket: &UdpSocket,
    peer: &mut Option<SocketAddr>,
    events: &mut Vec<Event>,
    done: impl Fn(&[Event]) -> bool,
) {
    socket
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 2048];
    loop {
        if let Some(p) = *peer {
            while let Some(d) = conn.poll_transmit() {
                socket.send_to(&d, p).unwrap();
            }
        }
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        if done(events) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out; events so far: {events:?}"
        );
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            peer.get_or_insert(from);
            conn.handle_input(Instant::now(), Bytes::copy_from_slice(&buf[..n]));
        }
        conn.handle_timeout(Instant::now());
    }
}

fn keymat_hex(line: &str) -> Vec<u8> {
    let hex = line.split(':').nth(1).unwrap().trim();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn local_keys(events: &[Event]) -> weft_dtls::KeyingMaterial {
    events
        .iter()
        .find_map(|e| match e {
            Event::KeyingMaterial(k) => Some(k.clone()),
            _ => None,
        })
        .expect("keying material")
}

/// Both identities, the openssl side's written to PEM files, and weft's config trusting it.
struct Setup {
    wall: SystemTime,
    cert: PathBuf,
    key: PathBuf,
    config: Config,
}

fn setup(tag: &str, theirs_kt: KeyType) -> Setup {
    let wall = SystemTime::now();
    let day = Duration::from_secs(86400);
    let theirs = Certificate::generate(theirs_kt, wall, day).unwrap();
    let ours = Certificate::generate(KeyType::EcdsaP256, wall, day).unwrap();
    let (cert, key) = pem_files(tag, &theirs);
    let mut config = Config::new(ours);
    config.remote_fingerprints = vec![theirs.fingerprint(HashAlgorithm::Sha256).unwrap()];
    Setup {
        wall,
        cert,
        key,
        config,
    }
}

/// Starts `openssl <args> -cert C -key K` with its stdin and stdout piped.
fn spawn_openssl(args: &[String], s: &Setup) -> (ChildGuard, mpsc::Receiver<String>, ChildStdin) {
    let mut child = Command::new("openssl")
        .args(args)
        .arg("-cert")
        .arg(&s.cert)
        .arg("-key")
        .arg(&s.key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = lines(child.stdout.take().unwrap());
    let stdin = child.stdin.take().unwrap();
    (ChildGuard(child), out, stdin)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|a| a.to_string()).collect()
}

fn connected(events: &[Event]) -> bool {
    events.iter().any(|e| matches!(e, Event::Connected { .. }))
}

fn closed(events: &[Event]) -> bool {
    closed_reason(events).is_some()
}

fn got(events: &[Event], prefix: &[u8]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Data(d) if d.starts_with(prefix)))
}

fn closed_reason(events: &[Event]) -> Option<&CloseReason> {
    events.iter().find_map(|e| match e {
        Event::Closed { reason } => Some(reason),
        _ => None,
    })
}

/// The `Keying material:` line openssl prints, as bytes.
fn exported(out: &mpsc::Receiver<String>) -> Vec<u8> {
    keymat_hex(&wait_line(
        out,
        |l| l.contains("Keying material:"),
        "the keying material",
    ))
}

/// A weft client for an openssl server on `port`.
fn client_of(port: u16, s: &Setup) -> (Connection, UdpSocket, Option<SocketAddr>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let conn = Connection::new(Role::Client, s.config.clone(), Instant::now(), s.wall).unwrap();
    (conn, socket, Some(SocketAddr::from(([127, 0, 0, 1], port))))
}

#[test]
fn weft_client_with_openssl_s_server() {
    if !have_binary("openssl") {
        return;
    }
    let s = setup("server", KeyType::EcdsaP256);
    let port = free_udp_port();
    let (_server, out, mut stdin) = spawn_openssl(
        &args(&[
            "s_server",
            "-dtls1_2",
            "-4",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-use_srtp",
            "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            "56",
            "-verify",
            "1",
        ]),
        &s,
    );
    wait_line(&out, |l| l.starts_with("ACCEPT"), "ACCEPT");
    let (mut conn, socket, mut peer) = client_of(port, &s);
    let mut events = Vec::new();
    drive(&mut conn, &socket, &mut peer, &mut events, connected);
    let keys = local_keys(&events);
    assert_eq!(keys.profile, SrtpProfile::AeadAes128Gcm);
    let export = exported(&out);
    // Client key, server key, client salt, server salt (RFC 5764 §4.2).
    assert_eq!(keys.local.key, export[..16]);
    assert_eq!(keys.remote.key, export[16..32]);
    assert_eq!(keys.local.salt, export[32..44]);
    assert_eq!(keys.remote.salt, export[44..56]);

    // weft -> openssl: s_server prints what it receives.
    conn.send(b"hello from weft\n").unwrap();
    drive(&mut conn, &socket, &mut peer, &mut events, |_| true);
    wait_line(&out, |l| l.contains("hello from weft"), "weft's data");
    // openssl -> weft: s_server sends what it reads on stdin.
    stdin.write_all(b"hello from openssl\n").unwrap();
    stdin.flush().unwrap();
    drive(&mut conn, &socket, &mut peer, &mut events, |e| {
        got(e, b"hello from openssl")
    });
}

#[test]
fn weft_server_with_openssl_s_client() {
    if !have_binary("openssl") {
        return;
    }
    let s = setup("client", KeyType::Rsa2048);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut conn = Connection::new(Role::Server, s.config.clone(), Instant::now(), s.wall).unwrap();
    let (_client, out, mut stdin) = spawn_openssl(
        &args(&[
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-use_srtp",
            "SRTP_AES128_CM_SHA1_80",
            "-keymatexport",
            "EXTRACTOR-dtls_srtp",
            "-keymatexportlen",
            "60",
        ]),
        &s,
    );
    let mut peer = None;
    let mut events = Vec::new();
    drive(&mut conn, &socket, &mut peer, &mut events, connected);
    let keys = local_keys(&events);
    assert_eq!(keys.profile, SrtpProfile::Aes128CmHmacSha1_80);
    let export = exported(&out);
    // We are the server: our local key is the server's.
    assert_eq!(keys.remote.key, export[..16]);
    assert_eq!(keys.local.key, export[16..32]);
    assert_eq!(keys.remote.salt, export[32..46]);
    assert_eq!(keys.local.salt, export[46..60]);

    stdin.write_all(b"hello from openssl\n").unwrap();
    stdin.flush().unwrap();
    drive(&mut conn, &socket, &mut peer, &mut events, |e| {
        got(e, b"hello from openssl")
    });
    conn.send(b"hello from weft\n").unwrap();
    drive(&mut conn, &socket, &mut peer, &mut events, |_| true);
    wait_line(&out, |l| l.contains("hello from weft"), "weft's data");
    // Closing stdin makes s_client send close_notify.
    drop(stdin);
    drive(&mut conn, &socket, &mut peer, &mut events, closed);
    assert_eq!(closed_reason(&events), Some(&CloseReason::PeerClosed));
}

#[test]
fn dtls_1_0_only_server_is_refused() {
    if !have_binary("openssl") {
        return;
    }
    let s = setup("old", KeyType::EcdsaP256);
    let port = free_udp_port();
    let (_server, out, _stdin) = spawn_openssl(
        &args(&[
            "s_server",
            "-dtls1",
            "-4",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ]),
        &s,
    );
    wait_line(&out, |l| l.starts_with("ACCEPT"), "ACCEPT");
    let (mut conn, socket, mut peer) = client_of(port, &s);
    let mut events = Vec::new();
    drive(&mut conn, &socket, &mut peer, &mut events, closed);
    // A DTLS 1.0 server shares no cipher suite with weft (all of weft's are DTLS 1.2 AEAD
    // suites), so it answers with a handshake_failure alert.
    match closed_reason(&events) {
        Some(CloseReason::DtlsFailure(r)) => assert!(r.contains("handshake failure"), "{r}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(!connected(&events));
}

#[test]
fn dtls_1_0_only_client_is_refused() {
    if !have_binary("openssl") {
        return;
    }
    let s = setup("oldclient", KeyType::EcdsaP256);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    let mut conn = Connection::new(Role::Server, s.config.clone(), Instant::now(), s.wall).unwrap();
    let (_client, _out, _stdin) = spawn_openssl(
        &args(&[
            "s_client",
            "-dtls1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ]),
        &s,
    );
    let mut peer = None;
    let mut events = Vec::new();
    drive(&mut conn, &socket, &mut peer, &mut events, closed);
    match closed_reason(&events) {
        Some(CloseReason::DtlsFailure(r)) => {
            assert!(r.contains("version") || r.contains("protocol"), "{r}")
        }
        other => panic!("unexpected {other:?}"),
    }
}
