//! Helpers for tests that run real peers (coturn, the `openssl` binary, browsers): find the
//! binary, keep the process from outliving the test, pick a free port.

// Real peers need real sockets and processes: this module is the test kit's one door to them.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};

/// Whether `bin` is on `PATH`. Without it, tests print why and skip, except under CI (the
/// `CI` variable is set), where `.ci/run` installs every real peer and a missing one is a bug:
/// this panics then.
pub fn have_binary(bin: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{bin} is missing under CI: .ci/run must install it"
        );
        // Test output: the reason a test is skipped.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: {bin} not installed");
        }
    }
    found
}

/// A child process killed and reaped when the guard drops, however the test ends.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback UDP port that was free a moment ago (and free for TCP too).
pub fn free_port() -> u16 {
    loop {
        // The sockets close at the end of each iteration; the port stays free unless someone
        // else takes it in between, which tests tolerate by retrying their peers' start.
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else {
            continue;
        };
        if std::net::TcpListener::bind(("127.0.0.1", addr.port())).is_ok() {
            return addr.port();
        }
    }
}

/// Starts coturn's `turnserver` on 127.0.0.1:`port` with relay ports `relay.0..=relay.1`,
/// loopback peers allowed, no TLS/DTLS, and the given extra arguments (credentials, limits).
pub fn turnserver(port: u16, relay: (u16, u16), extra: &[&str]) -> std::io::Result<ChildGuard> {
    Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            "--realm=weft.test",
            "--allow-loopback-peers",
            "--fingerprint",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--log-file=stdout",
        ])
        .arg(format!("--listening-port={port}"))
        .arg(format!("--min-port={}", relay.0))
        .arg(format!("--max-port={}", relay.1))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(ChildGuard)
}

/// A self-signed ECDSA P-256 certificate for `localhost` and its key, as PEM files in a fresh
/// directory under the system temp dir (made by the `openssl` binary, as servers under test
/// read them from files). `None` when `openssl` is missing (a failure under CI, as with
/// [`have_binary`]). The caller removes the directory.
pub fn self_signed_cert(name: &str) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    if !have_binary("openssl") {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("weft-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .ok()?;
    ok.success().then_some((cert, key))
}
