//! `weft-interop`: a headless browser offers data channels to a native weft peer and both check
//! what they exchange. Run by `cargo xtask interop` inside a private network namespace
//! (`../shared/interop/RECIPES.md`), one browser per run:
//!
//! ```text
//! weft-interop --browser chromium|firefox [--timeout-secs 90]
//! ```
//!
//! The page (`page.html`) creates three channels (reliable, unordered, maxRetransmits 0), offers,
//! and POSTs the offer here. The native side answers with weft-peerconnection's JSEP machine as
//! an ICE-lite, DTLS-active endpoint on 127.0.0.1, answers the browser's connectivity checks with weft-stun, runs weft-dtls and
//! weft-datachannel, echoes every message, opens a channel of its own, and closes what the
//! browser closes. The page checks each echo byte for byte, an 8 MiB bulk echo and the close,
//! then POSTs its verdict; the harness checks its own side and exits non-zero on any failure.
//!
//! The answerer here is test scaffolding: an ICE-lite responder, not the ICE agent. The W3C
//! `PeerConnection` replaces it when it lands.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use weft_datachannel::{
    ChannelId, ChannelInit, ChannelState, Endpoint, Event as DcEvent, Role as DcRole,
};
use weft_dtls::{Certificate, Connection, Fingerprint, HashAlgorithm, KeyType, Role};
use weft_peerconnection::jsep::{Jsep, LocalParameters, SdpType};
use weft_stun::{Attribute, Class, Integrity, IntegrityKey, Message, Method};

const PAGE: &str = include_str!("page.html");

#[derive(Debug)]
enum Http {
    Offer(String, tokio::sync::oneshot::Sender<String>),
    Result(String),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut browser = String::from("chromium");
    let mut timeout = 90u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--browser" => browser = args.next().context("--browser needs a value")?,
            "--timeout-secs" => {
                timeout = args
                    .next()
                    .context("--timeout-secs needs a value")?
                    .parse()?
            }
            other => bail!("unknown argument {other}"),
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (tx, mut rx) = mpsc::channel::<Http>(8);
    tokio::spawn(serve(listener, tx));
    let profile =
        std::env::temp_dir().join(format!("weft-interop-{browser}-{}", std::process::id()));
    std::fs::create_dir_all(&profile)?;
    let url = format!("http://127.0.0.1:{port}/");
    let started = Instant::now();
    let mut child = launch(&browser, &profile, &url)?;
    let outcome = tokio::time::timeout(Duration::from_secs(timeout), drive(&mut rx)).await;
    kill_group(&mut child);
    let _ = std::fs::remove_dir_all(&profile);
    let (page, native) = match outcome {
        Ok(r) => r?,
        Err(_) => bail!("{browser}: no result within {timeout} s"),
    };
    println!("{browser}: page says {page}");
    println!("{browser}: native side: {native}");
    println!("{browser}: {:.1} s in all", started.elapsed().as_secs_f64());
    if !page.contains("\"ok\":true") {
        bail!("{browser}: the page reported a failure");
    }
    Ok(())
}

/// Waits for the offer, answers it, runs the native peer until the page reports.
async fn drive(rx: &mut mpsc::Receiver<Http>) -> anyhow::Result<(String, String)> {
    let (offer, reply) = match rx.recv().await.context("http server stopped")? {
        Http::Offer(o, r) => (o, r),
        Http::Result(r) => bail!("page failed before offering: {r}"),
    };
    let (answer, peer) = Native::answer(&offer).await?;
    let _ = reply.send(answer);
    let (done_tx, mut done_rx) = mpsc::channel::<String>(1);
    let task = tokio::spawn(peer.run(done_tx));
    let page = match rx.recv().await.context("http server stopped")? {
        Http::Result(r) => r,
        Http::Offer(..) => bail!("a second offer"),
    };
    // Give the native side a moment to see the close the page finished with.
    let native = tokio::time::timeout(Duration::from_secs(5), done_rx.recv())
        .await
        .ok()
        .flatten();
    task.abort();
    let native = native.ok_or_else(|| anyhow!("native side did not finish; page said {page}"))?;
    if !native.starts_with("ok") {
        bail!("native side failed: {native}; page said {page}");
    }
    Ok((page, native))
}

struct Native {
    socket: UdpSocket,
    key: IntegrityKey,
    local_ufrag: String,
    remote_ufrag: String,
    dtls: Option<weft_dtls::Config>,
    conn: Option<Connection>,
    ep: Endpoint,
    peer: Option<SocketAddr>,
    checks: u64,
    remote_max_message: usize,
}

impl Native {
    async fn answer(offer: &str) -> anyhow::Result<(String, Native)> {
        let cert = Certificate::generate(
            KeyType::EcdsaP256,
            SystemTime::now(),
            Duration::from_secs(86400),
        )?;
        let fp = cert.fingerprint(HashAlgorithm::Sha256)?;
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let port = socket.local_addr()?.port();
        let local_ufrag = "weft".to_owned();
        let local_pwd = "weftinteroppassword0123".to_owned();
        // The answer comes from weft-peerconnection's JSEP machine, as an ICE-lite endpoint
        // with one host candidate.
        let mut params = LocalParameters::new(
            &local_ufrag,
            &local_pwd,
            Some(weft_sdp::Fingerprint {
                algorithm: weft_sdp::HashFunction::Sha256,
                value: fp.value.clone(),
            }),
        );
        params.ice_lite = true;
        params.gathering_complete = true;
        params.candidates.push(
            format!("candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host")
                .parse()
                .map_err(|_| anyhow!("candidate"))?,
        );
        let mut jsep = Jsep::new(params, 4611731400430051336);
        jsep.set_remote_description(SdpType::Offer, offer)
            .map_err(|e| anyhow!("offer refused: {e}"))?;
        let answer = jsep
            .create_answer()
            .map_err(|e| anyhow!("no answer: {e}"))?;
        jsep.set_local_description(SdpType::Answer, &answer)
            .map_err(|e| anyhow!("answer refused: {e}"))?;
        let n = jsep.negotiated().context("no data section negotiated")?;
        if n.dtls_role != weft_peerconnection::jsep::DtlsRole::Client {
            bail!("expected to be the DTLS client");
        }
        let fps: Vec<Fingerprint> = n
            .remote_fingerprints
            .iter()
            .filter_map(|f| f.to_string().parse().ok())
            .collect();
        if fps.is_empty() {
            bail!("no usable fingerprint in the offer");
        }
        let remote_max_message = usize::try_from(n.remote_max_message_size).unwrap_or(usize::MAX);
        let mut dtls = weft_dtls::Config::new(cert);
        dtls.remote_fingerprints = fps;
        // One 1200-byte SCTP packet per DTLS record.
        dtls.mtu = 1200 + 37;
        let mut sctp = weft_sctp::Config {
            zero_checksum: true,
            ..weft_sctp::Config::default()
        };
        sctp.remote_max_message_size = remote_max_message;
        sctp.remote_port = n.remote_sctp_port;
        let ep = Endpoint::new(
            weft_datachannel::Config {
                role: DcRole::Client,
                sctp,
            },
            Instant::now(),
        )?;
        Ok((
            answer,
            Native {
                socket,
                key: IntegrityKey::short_term(&local_pwd)?,
                local_ufrag,
                remote_ufrag: n.remote_ice_ufrag,
                dtls: Some(dtls),
                conn: None,
                ep,
                peer: None,
                checks: 0,
                remote_max_message,
            },
        ))
    }

    /// Answers a connectivity check (RFC 8445 §7.3 as a lite agent); returns whether it was valid.
    async fn on_stun(&mut self, data: &[u8], from: SocketAddr) -> bool {
        let Ok(msg) = Message::decode(data) else {
            return false;
        };
        if msg.class != Class::Request || msg.method != Method::BINDING {
            return false;
        }
        if msg.verify(&self.key).is_err() {
            return false;
        }
        let expected = format!("{}:{}", self.local_ufrag, self.remote_ufrag);
        if msg.username() != Some(expected.as_str()) {
            return false;
        }
        let resp = Message::new(Class::Success, Method::BINDING, msg.transaction_id)
            .with(Attribute::XorMappedAddress(from));
        if let Ok(bytes) = resp.to_vec(Some(Integrity::Sha1(&self.key)), true) {
            let _ = self.socket.send_to(&bytes, from).await;
        }
        self.checks += 1;
        true
    }

    async fn run(mut self, done: mpsc::Sender<String>) {
        let r = self.run_inner().await;
        let _ = done
            .send(match r {
                Ok(s) => format!("ok: {s}"),
                Err(e) => format!("error: {e:#}"),
            })
            .await;
    }

    async fn run_inner(&mut self) -> anyhow::Result<String> {
        let mut buf = vec![0u8; 65536];
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut labels: HashMap<ChannelId, String> = HashMap::new();
        let mut echoed = 0u64;
        let mut echoed_bytes = 0u64;
        let mut own: Option<ChannelId> = None;
        let mut hello_back = false;
        let mut closed_by_browser = Vec::new();
        let t0 = Instant::now();
        let mut connected_at = None;
        loop {
            let now = Instant::now();
            // Move data between the layers until quiet.
            loop {
                let mut moved = false;
                if let Some(conn) = self.conn.as_mut() {
                    while let Some(p) = self.ep.poll_transmit() {
                        moved = true;
                        if let Err(e) = conn.send(&p) {
                            bail!("dtls refused an sctp packet of {} bytes: {e}", p.len());
                        }
                    }
                    while let Some(d) = conn.poll_transmit() {
                        moved = true;
                        if let Some(peer) = self.peer {
                            self.socket.send_to(&d, peer).await?;
                        }
                    }
                    while let Some(ev) = conn.poll_event() {
                        moved = true;
                        match ev {
                            weft_dtls::Event::Data(b) => self.ep.handle_input(now, b),
                            weft_dtls::Event::Connected { .. } => self.ep.connect(now)?,
                            weft_dtls::Event::Closed { reason } => bail!("dtls closed: {reason:?}"),
                            _ => {}
                        }
                    }
                }
                while let Some(ev) = self.ep.poll_event() {
                    moved = true;
                    match ev {
                        DcEvent::Connected => {
                            connected_at = Some(t0.elapsed());
                            own = Some(self.ep.create_channel(now, ChannelInit::new("from-weft"))?);
                        }
                        DcEvent::Incoming(id) => {
                            let label = self
                                .ep
                                .channel(id)
                                .map(|c| c.label.clone())
                                .unwrap_or_default();
                            labels.insert(id, label);
                        }
                        DcEvent::Open(id) if Some(id) == own => {
                            self.ep.send_text(now, id, "hello from weft")?
                        }
                        DcEvent::Message(m) if Some(m.id) == own => {
                            hello_back |= m.text() == Some("hello back");
                        }
                        DcEvent::Message(m) => {
                            echoed += 1;
                            echoed_bytes += m.data.len() as u64;
                            // Echo with the same type.
                            self.ep
                                .send(now, m.id, m.data, m.binary)
                                .with_context(|| format!("echo on channel {}", m.id))?;
                        }
                        DcEvent::Closed(id) => {
                            if let Some(l) = labels.get(&id) {
                                closed_by_browser.push(l.clone());
                            }
                        }
                        DcEvent::TransportClosed { reason } => bail!("sctp closed: {reason:?}"),
                        DcEvent::Error { id, detail } => bail!("channel {id} error {detail:?}"),
                        _ => {}
                    }
                }
                if !moved {
                    break;
                }
            }
            if hello_back && closed_by_browser.iter().any(|l| l == "partial") {
                let st = self.ep.sctp().stats();
                let still_open = labels
                    .keys()
                    .filter(|id| {
                        self.ep
                            .channel(**id)
                            .is_some_and(|c| c.state == ChannelState::Open)
                    })
                    .count();
                return Ok(format!(
                    "{} checks answered, association up after {:.1} ms, {echoed} messages ({echoed_bytes} bytes) echoed on {} browser channels ({still_open} still open), own channel answered, browser closed {:?}; sctp: {} packets sent, {} retransmitted chunks, zero checksum {}, i-data {}, peer max message {}",
                    self.checks,
                    connected_at.unwrap_or_default().as_secs_f64() * 1e3,
                    labels.len(),
                    closed_by_browser,
                    st.packets_sent,
                    st.retransmitted_chunks,
                    st.zero_checksum,
                    st.interleaving,
                    self.remote_max_message,
                ));
            }
            let timer = [
                self.conn.as_ref().and_then(|c| c.poll_timeout()),
                self.ep.poll_timeout(),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(at) = timer {
                sleep.as_mut().reset(tokio::time::Instant::from_std(at));
            }
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => {
                    let (n, from) = r?;
                    let data = &buf[..n];
                    match data.first() {
                        Some(0..=3) => {
                            let data = data.to_vec();
                            if self.on_stun(&data, from).await && self.conn.is_none() {
                                // The first valid check tells us where the browser is: start DTLS
                                // there as the client (a=setup:active).
                                self.peer = Some(from);
                                let cfg = self.dtls.take().context("dtls config")?;
                                self.conn = Some(Connection::new(Role::Client, cfg, Instant::now(), SystemTime::now())?);
                            }
                        }
                        Some(20..=63) if Some(from) == self.peer => {
                            if let Some(c) = self.conn.as_mut() {
                                c.handle_input(Instant::now(), Bytes::copy_from_slice(data));
                            }
                        }
                        _ => {}
                    }
                }
                _ = &mut sleep, if timer.is_some() => {
                    let t = Instant::now();
                    if let Some(c) = self.conn.as_mut() {
                        c.handle_timeout(t);
                    }
                    self.ep.handle_timeout(t);
                }
            }
        }
    }
}

fn launch(browser: &str, profile: &std::path::Path, url: &str) -> anyhow::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = match browser {
        "chromium" => {
            let mut c = Command::new("/usr/bin/chromium");
            c.args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--allow-loopback-in-peer-connection",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--disable-features=WebRtcHideLocalIpsWithMdns",
            ]);
            c.arg(format!("--user-data-dir={}", profile.display()));
            c
        }
        "firefox" => {
            let prefs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/interop/firefox-user.js");
            std::fs::copy(&prefs, profile.join("user.js"))
                .with_context(|| format!("copying {}", prefs.display()))?;
            let mut c = Command::new("/usr/bin/firefox-esr");
            c.args(["--headless", "--no-remote", "--profile"])
                .arg(profile);
            c
        }
        other => bail!("unknown browser {other}"),
    };
    cmd.arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    cmd.spawn().with_context(|| format!("starting {browser}"))
}

fn kill_group(child: &mut Child) {
    let pgid = child.id();
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
    let _ = child.wait();
}

/// A minimal HTTP/1.1 server: GET serves the page, POST /offer and /result go to the harness.
async fn serve(listener: TcpListener, tx: mpsc::Sender<Http>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = handle(stream, tx).await;
        });
    }
}

async fn handle(stream: TcpStream, tx: mpsc::Sender<Http>) -> anyhow::Result<()> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or("").to_owned(),
        parts.next().unwrap_or("").to_owned(),
    );
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len.min(16 << 20)];
    r.read_exact(&mut body).await?;
    let body = String::from_utf8_lossy(&body).into_owned();
    let (status, ctype, out) = match (method.as_str(), path.as_str()) {
        ("GET", "/") => ("200 OK", "text/html; charset=utf-8", PAGE.to_owned()),
        ("POST", "/offer") => {
            let (rtx, rrx) = tokio::sync::oneshot::channel();
            tx.send(Http::Offer(body, rtx)).await?;
            ("200 OK", "application/sdp", rrx.await?)
        }
        ("POST", "/result") => {
            tx.send(Http::Result(body)).await?;
            ("200 OK", "text/plain", "thanks".to_owned())
        }
        _ => ("404 Not Found", "text/plain", "not found".to_owned()),
    };
    let mut s = r.into_inner();
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        out.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(out.as_bytes()).await?;
    s.shutdown().await?;
    Ok(())
}
