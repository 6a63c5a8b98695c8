//! `weft-interop`: a headless browser offers data channels to a native weft peer and both check
//! what they exchange. Run by `cargo xtask interop` inside a private network namespace
//! (`../shared/interop/RECIPES.md`), one browser per run:
//!
//! ```text
//! weft-interop --browser chromium|firefox [--timeout-secs 90]
//! ```
//!
//! The page (`page.html`) creates three channels (reliable, unordered, maxRetransmits 0), offers,
//! and POSTs the offer here. The native side is `weft::peer::PeerConnection` (JSEP, full ICE as
//! the controlled agent, DTLS, SCTP, data channels) on 127.0.0.1: it answers, echoes every
//! message, opens a channel of its own, and closes what the browser closes. The page checks each echo byte for byte, an 8 MiB bulk echo and the close,
//! then POSTs its verdict; the harness checks its own side and exits non-zero on any failure.
//!
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use weft::peer::{
    ChannelHandle, ChannelInit, ConnectionState, Event, PeerConnection, RtcConfiguration, SdpType,
};
use weft_datachannel::Event as ChannelEvent;

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

/// Waits for the offer, answers it with a `weft::peer::PeerConnection`, runs it until the page
/// reports.
async fn drive(rx: &mut mpsc::Receiver<Http>) -> anyhow::Result<(String, String)> {
    let (offer, reply) = match rx.recv().await.context("http server stopped")? {
        Http::Offer(o, r) => (o, r),
        Http::Result(r) => bail!("page failed before offering: {r}"),
    };
    let mut pc = PeerConnection::new(RtcConfiguration::loopback()).await?;
    pc.set_remote_description(SdpType::Offer, &offer).await?;
    let answer = pc.create_answer().await?;
    pc.set_local_description(SdpType::Answer, &answer).await?;
    // A channel of our own, opened once the association is up.
    let own = pc
        .create_data_channel(ChannelInit::new("from-weft"))
        .await?;
    if std::env::var_os("WEFT_INTEROP_DUMP").is_some() {
        eprintln!("offer:\n{offer}\nanswer:\n{answer}");
    }
    let _ = reply.send(answer);
    let t0 = Instant::now();
    let mut labels: HashMap<ChannelHandle, String> = HashMap::new();
    let (mut echoed, mut echoed_bytes, mut hello_back) = (0u64, 0u64, false);
    let mut closed = Vec::new();
    let mut connected_at = None;
    let mut page = None;
    loop {
        tokio::select! {
            ev = pc.next_event() => {
                let Some(ev) = ev else { bail!("the peer connection stopped") };
                match ev {
                    Event::ConnectionState(ConnectionState::Connected) => connected_at = Some(t0.elapsed()),
                    Event::ConnectionState(ConnectionState::Failed) => bail!("connection failed"),
                    Event::DataChannel(h) => {
                        let label = pc.channel(h).await?.map(|c| c.label).unwrap_or_default();
                        labels.insert(h, label);
                    }
                    Event::Channel(h, ChannelEvent::Open(_)) if h == own => pc.send_text(own, "hello from weft").await?,
                    Event::Channel(h, ChannelEvent::Message(m)) if h == own => hello_back |= m.text() == Some("hello back"),
                    Event::Channel(h, ChannelEvent::Message(m)) => {
                        echoed += 1;
                        echoed_bytes += m.data.len() as u64;
                        // Echo with the same type.
                        if m.binary { pc.send(h, m.data).await? } else { pc.send_text(h, m.text().unwrap_or_default()).await? }
                    }
                    Event::Channel(h, ChannelEvent::Closed(_)) => {
                        if let Some(l) = labels.get(&h) {
                            closed.push(l.clone());
                        }
                    }
                    Event::Channel(h, ChannelEvent::Error { detail, .. }) => bail!("channel {h:?} error {detail:?}"),
                    _ => {}
                }
            }
            m = rx.recv() => match m.context("http server stopped")? {
                Http::Result(r) => page = Some(r),
                Http::Offer(..) => bail!("a second offer"),
            },
        }
        if let Some(p) = &page {
            let done = hello_back && closed.iter().any(|l| l == "partial");
            if done || !p.contains("\"ok\":true") {
                let (state, _) = pc.state().await?;
                let st = pc.get_stats().await?;
                let native = format!(
                    "{state:?}, connected after {:.1} ms (full ICE, DTLS, SCTP), {echoed} messages ({echoed_bytes} bytes) echoed on {} browser channels, own channel answered {hello_back}, browser closed {closed:?}; stats: dtls {} {}, {} candidate pairs, {} channels opened, {} bytes sent",
                    connected_at.unwrap_or_default().as_secs_f64() * 1e3,
                    labels.len(),
                    st.transport.dtls_state,
                    st.transport.dtls_cipher.as_deref().unwrap_or("-"),
                    st.candidate_pairs.len(),
                    st.peer_connection.data_channels_opened,
                    st.transport.bytes_sent,
                );
                if !done {
                    bail!("native side incomplete: {native}; page said {p}");
                }
                pc.close().await;
                return Ok((p.clone(), native));
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
