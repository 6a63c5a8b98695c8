//! `weft echo` and `weft call` against each other, as processes on loopback: the WHIP-shaped
//! exchange (201 with a Location, DELETE), every echo checked by `weft call`, and the HTTP
//! errors `weft echo` gives for requests it cannot serve.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Echo {
    child: Child,
    addr: String,
}

impl Drop for Echo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_echo() -> Echo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["echo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("weft echo starts");
    let out = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out)
        .read_line(&mut line)
        .expect("weft echo prints its address");
    // "weft echo: listening on http://127.0.0.1:PORT/ (...)"
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    Echo { child, addr }
}

fn call(addr: &str, extra: &[&str]) -> (bool, String) {
    let url = format!("http://{addr}/whip");
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["call", &url, "--timeout-secs", "60"])
        .args(extra)
        .output()
        .expect("weft call runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn raw(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn call_checks_every_echo_of_binary_and_text_series() {
    let echo = start_echo();
    let (ok, out) = call(&echo.addr, &["--count", "300", "--size", "20000"]);
    assert!(ok, "weft call failed:\n{out}");
    assert!(
        out.contains("300 binary messages of 20000 bytes echoed and checked"),
        "{out}"
    );
    assert!(
        out.contains("connected in") && out.contains("rtt: min"),
        "{out}"
    );
    // Text, up to the default max-message-size, on the same server (a second session).
    let (ok, out) = call(&echo.addr, &["--count", "20", "--size", "262144", "--text"]);
    assert!(ok, "weft call --text failed:\n{out}");
    assert!(
        out.contains("20 text messages of 262144 bytes echoed and checked"),
        "{out}"
    );
}

#[test]
fn echo_answers_http_errors_and_serves_its_page() {
    let echo = start_echo();
    let page = raw(&echo.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.contains("text/html") && page.contains("/whip"),
        "{page}"
    );
    let wrong_type = raw(
        &echo.addr,
        "POST /whip HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert!(wrong_type.starts_with("HTTP/1.1 415"), "{wrong_type}");
    let bad_sdp = raw(
        &echo.addr,
        "POST /whip HTTP/1.1\r\nContent-Type: application/sdp\r\nContent-Length: 9\r\n\r\nnot sdp\r\n",
    );
    assert!(bad_sdp.starts_with("HTTP/1.1 400"), "{bad_sdp}");
    let unknown = raw(&echo.addr, "DELETE /whip/99 HTTP/1.1\r\n\r\n");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
    let method = raw(&echo.addr, "PUT /whip HTTP/1.1\r\n\r\n");
    assert!(method.starts_with("HTTP/1.1 405"), "{method}");
}
