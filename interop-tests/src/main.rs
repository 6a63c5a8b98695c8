//! `weft-interop`: a headless browser and a native weft peer run the interop matrix: each case
//! with the browser offering and with weft offering. Run by `cargo xtask interop` inside a
//! private network namespace (`../shared/interop/RECIPES.md`), one browser per run:
//!
//! ```text
//! weft-interop --browser chromium|firefox [--case NAME]... [--role browser-offers|weft-offers]
//!              [--timeout-secs 240] [--out FILE] [--bulk-mib 100] [--weft PATH]
//! ```
//!
//! One browser session runs every case: the page (`page.html`) fetches the plan, then for
//! each (role, case) creates a fresh `RTCPeerConnection`, asks the harness to start the native
//! side (`native.rs`: a fresh `weft::peer::PeerConnection`), negotiates through the harness
//! (`POST /offer` answered by weft, or weft's offer in the `/start` reply answered by `POST
//! /answer`; complete candidates, host candidates on 127.0.0.1), runs the case and POSTs its
//! verdict to `/result`. The harness adds weft's own checks and replies with them. Each row of
//! the matrix is printed as it finishes and written to `--out` as
//! `browser<TAB>case<TAB>role<TAB>pass|FAIL|gap<TAB>ms<TAB>note`; the exit status is non-zero on
//! any FAIL. The `whip` case (browser offers only) runs against `weft echo` (`--weft` names the
//! binary; without it the case is left out). A case that fails for a reason recorded in [`known_gap`] is a `gap`, not a FAIL.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod native;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use native::{CASES, PageResult, ROLES, Session, applies, json_str};

const PAGE: &str = include_str!("page.html");

type Reply = oneshot::Sender<Result<String, String>>;

/// A request from the page, for the harness loop.
#[derive(Debug)]
enum Http {
    Plan(Reply),
    Start(String, Reply),
    Offer(String, Reply),
    Answer(String, Reply),
    Reoffer(String, Reply),
    Result(String, Reply),
    Done(Reply),
}

/// One row of the matrix.
#[derive(Debug)]
struct Row {
    case: String,
    role: String,
    status: &'static str,
    ms: u128,
    note: String,
}

/// Cases known to fail for a reason outside this harness: (browser, case, role, reason).
/// `None` for either browser or role matches any.
fn known_gap(browser: &str, case: &str, role: &str) -> Option<&'static str> {
    // (browser, case, role, reason); none today.
    const GAPS: &[(Option<&str>, &str, Option<&str>, &str)] = &[];
    GAPS.iter()
        .find(|(b, c, r, _)| {
            b.is_none_or(|b| b == browser) && *c == case && r.is_none_or(|r| r == role)
        })
        .map(|g| g.3)
}

struct Args {
    browser: String,
    timeout: u64,
    cases: Vec<String>,
    roles: Vec<String>,
    out: Option<std::path::PathBuf>,
    /// The `weft` binary, for `weft echo` in the `whip` case.
    weft: Option<std::path::PathBuf>,
    /// `weft echo`'s endpoint, once started.
    whip: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        browser: "chromium".into(),
        timeout: 240,
        cases: Vec::new(),
        roles: Vec::new(),
        out: None,
        weft: None,
        whip: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(x) = args.next() {
        let mut val = || args.next().with_context(|| format!("{x} needs a value"));
        match x.as_str() {
            "--browser" => a.browser = val()?,
            "--timeout-secs" => a.timeout = val()?.parse()?,
            "--case" => {
                let c = val()?;
                if !CASES.contains(&c.as_str()) {
                    bail!("unknown case {c}; cases: {}", CASES.join(" "));
                }
                a.cases.push(c);
            }
            "--role" => {
                let r = val()?;
                if !ROLES.contains(&r.as_str()) {
                    bail!("unknown role {r}; roles: {}", ROLES.join(" "));
                }
                a.roles.push(r);
            }
            "--out" => a.out = Some(val()?.into()),
            "--weft" => a.weft = Some(val()?.into()),
            "--bulk-mib" => {
                native::BULK_MIB.store(val()?.parse()?, std::sync::atomic::Ordering::Relaxed)
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if a.cases.is_empty() {
        a.cases = CASES.iter().map(|s| s.to_string()).collect();
    }
    if a.weft.is_none() && a.cases.iter().any(|c| c == "whip") {
        eprintln!("(no --weft binary: the whip case is left out)");
        a.cases.retain(|c| c != "whip");
    }
    if a.roles.is_empty() {
        a.roles = ROLES.iter().map(|s| s.to_string()).collect();
    }
    Ok(a)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut args = parse_args()?;
    let browser = args.browser.clone();
    // `weft echo` for the whip case, in this namespace, ended with the run.
    let mut echo = None;
    if let Some(weft) = &args.weft {
        let (child, url) = start_echo(weft)?;
        echo = Some(child);
        args.whip = Some(url);
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
    let mut rows = Vec::new();
    let outcome = tokio::time::timeout(
        Duration::from_secs(args.timeout),
        drive(&args, &mut rx, &mut rows),
    )
    .await;
    kill_group(&mut child);
    if let Some(mut e) = echo {
        let _ = e.kill();
        let _ = e.wait();
    }
    let _ = std::fs::remove_dir_all(&profile);
    let stopped = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(_) => Some(format!("no result within {} s", args.timeout)),
    };
    // Every planned cell gets a row: what never ran is a FAIL.
    for role in &args.roles {
        for case in &args.cases {
            if applies(case, role) && !rows.iter().any(|r| &r.case == case && &r.role == role) {
                rows.push(Row {
                    case: case.clone(),
                    role: role.clone(),
                    status: "FAIL",
                    ms: 0,
                    note: format!(
                        "not run: {}",
                        stopped.as_deref().unwrap_or("the page stopped")
                    ),
                });
            }
        }
    }
    if let Some(path) = &args.out {
        let mut f =
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        for r in &rows {
            writeln!(
                f,
                "{browser}\t{}\t{}\t{}\t{}\t{}",
                r.case,
                r.role,
                r.status,
                r.ms,
                r.note.replace(['\t', '\n'], " ")
            )?;
        }
    }
    let fails = rows.iter().filter(|r| r.status == "FAIL").count();
    println!(
        "{browser}: {} cells, {} pass, {} gap, {fails} FAIL, {:.1} s in all",
        rows.len(),
        rows.iter().filter(|r| r.status == "pass").count(),
        rows.iter().filter(|r| r.status == "gap").count(),
        started.elapsed().as_secs_f64()
    );
    if fails > 0 {
        bail!("{browser}: {fails} cells failed");
    }
    Ok(())
}

/// Serves the page's requests until it says it is done.
async fn drive(
    args: &Args,
    rx: &mut mpsc::Receiver<Http>,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    let browser = args.browser.as_str();
    let mut session: Option<Session> = None;
    // Why the current case's session was dropped, if it was.
    let mut lost: Option<String> = None;
    let mut case_start = Instant::now();
    loop {
        tokio::select! {
            ev = next_event(&mut session) => {
                let s = session.as_mut().context("event without a session")?;
                match ev {
                    Some(ev) => {
                        if let Err(e) = step("event", s.on_event(ev)).await {
                            log::warn!("{}/{}: {e}", s.case, s.role);
                            if e.contains("did not answer") {
                                // Dropping the handle frees weft's stuck driver.
                                lost = Some(e);
                                session = None;
                            }
                        }
                    }
                    None => {
                        log::info!("{}/{}: the peer connection's events ended", s.case, s.role);
                        // Keep the session for the verdict; stop polling a closed stream.
                        s.ended = true;
                    }
                }
            }
            req = rx.recv() => {
                let req = req.context("the http server stopped")?;
                match req {
                    Http::Plan(r) => {
                        let list = |v: &[String]| v.iter().map(|s| json_str(s)).collect::<Vec<_>>().join(",");
                        let whip = args.whip.as_deref().map(json_str).unwrap_or_else(|| "null".into());
                        let _ = r.send(Ok(format!("{{\"cases\":[{}],\"roles\":[{}],\"whip\":{whip}}}", list(&args.cases), list(&args.roles))));
                    }
                    Http::Start(body, r) => {
                        let (case, role) = body.trim().split_once(' ').unwrap_or((body.trim(), ""));
                        case_start = Instant::now();
                        session = None;
                        lost = None;
                        if case == "whip" {
                            // The native side is `weft echo`, a process of its own.
                            let _ = r.send(Ok("{}".into()));
                            continue;
                        }
                        match step("start", Session::start(case, role)).await {
                            Ok((s, json)) => {
                                session = Some(s);
                                let _ = r.send(Ok(json));
                            }
                            Err(e) => {
                                let _ = r.send(Err(e));
                            }
                        }
                    }
                    Http::Offer(sdp, r) => {
                        let res = match session.as_mut() {
                            Some(s) => step("answer", s.answer_offer(&sdp)).await,
                            None => Err("no case started".into()),
                        };
                        dump("offer", &sdp, &res);
                        let _ = r.send(res);
                    }
                    Http::Answer(sdp, r) => {
                        let res = match session.as_mut() {
                            Some(s) => step("set answer", s.take_answer(&sdp)).await.map(|()| "ok".to_owned()),
                            None => Err("no case started".into()),
                        };
                        dump("answer", &sdp, &res);
                        let _ = r.send(res);
                    }
                    Http::Reoffer(what, r) => {
                        let res = match session.as_mut() {
                            Some(s) => step("re-offer", s.reoffer(what.trim())).await,
                            None => Err("no case started".into()),
                        };
                        let _ = r.send(res);
                    }
                    Http::Result(body, r) => {
                        let page = PageResult::parse(&body);
                        let ms = case_start.elapsed().as_millis();
                        let (case, role) = (page.get("case").to_owned(), page.get("role").to_owned());
                        let (bad, summary) = match session.take() {
                            Some(mut s) => match tokio::time::timeout(STEP, s.finish(&page)).await {
                                Ok(r) => r,
                                Err(_) => (vec![format!("weft's checks did not finish within {STEP:?}")], String::new()),
                            },
                            None if case == "whip" => (Vec::new(), "weft echo (its own process) answered".to_owned()),
                            None => (vec![lost.take().unwrap_or_else(|| "no native session".to_owned())], String::new()),
                        };
                        let ok = page.ok && bad.is_empty();
                        let mut note = if page.ok {
                            page.get("detail").to_owned()
                        } else {
                            format!("page: {}", page.get("error"))
                        };
                        if !bad.is_empty() {
                            note = format!("{note}; weft: {}", bad.join("; "));
                        }
                        let status = match (ok, known_gap(browser, &case, &role)) {
                            (true, _) => "pass",
                            (false, Some(reason)) => {
                                note = format!("{reason} ({note})");
                                "gap"
                            }
                            (false, None) => "FAIL",
                        };
                        println!("{browser:8} {case:12} {role:15} {status:4} {:>6} ms  {note}", ms);
                        println!("{:45}weft: {summary}", "");
                        if let Some(log) = page.fields.get("log") && !ok {
                            println!("{:45}page log: {log}", "");
                        }
                        let _ = r.send(Ok(format!("{{\"ok\":{ok},\"weft\":{}}}", json_str(&bad.join("; ")))));
                        rows.push(Row { case, role, status, ms, note });
                    }
                    Http::Done(r) => {
                        let _ = r.send(Ok("bye".into()));
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// How long one native step (a command to weft's driver) may take before the case fails;
/// weft's driver stops serving commands while its event queue is full, and a stuck case must
/// not hold the whole run.
const STEP: Duration = Duration::from_secs(20);

async fn step<T>(
    what: &str,
    f: impl std::future::Future<Output = anyhow::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(STEP, f).await {
        Ok(r) => r.map_err(|e| format!("{e:#}")),
        Err(_) => Err(format!("{what}: weft did not answer within {STEP:?}")),
    }
}

async fn next_event(s: &mut Option<Session>) -> Option<weft::peer::Event> {
    match s {
        Some(s) if !s.ended => s.pc.next_event().await,
        _ => std::future::pending().await,
    }
}

fn dump(what: &str, sdp: &str, res: &Result<String, String>) {
    if std::env::var_os("WEFT_INTEROP_DUMP").is_some() {
        eprintln!("--- browser {what}:\n{sdp}\n--- weft:\n{res:?}");
    }
}

/// Starts `weft echo --listen 127.0.0.1:0` and reads its endpoint from its first line.
fn start_echo(weft: &std::path::Path) -> anyhow::Result<(Child, String)> {
    use std::io::BufRead;
    let mut child = Command::new(weft)
        .args(["echo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} echo", weft.display()))?;
    let out = child.stdout.take().context("weft echo has no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(out).read_line(&mut line)?;
    // "weft echo: listening on http://ADDR/ (POST an offer to http://ADDR/whip)"
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") && w.ends_with("/whip)"))
        .map(|w| w.trim_end_matches(')').to_owned())
        .with_context(|| format!("no endpoint in weft echo's {line:?}"))?;
    Ok((child, url))
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

/// A minimal HTTP/1.1 server: `GET /` serves the page, the rest goes to the harness loop.
async fn serve(listener: TcpListener, tx: mpsc::Sender<Http>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let tx = tx.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, tx).await {
                log::debug!("http: {e:#}");
            }
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
    let (rtx, rrx) = oneshot::channel();
    let req = match (method.as_str(), path.as_str()) {
        ("GET", "/") => None,
        ("GET", "/plan") => Some(Http::Plan(rtx)),
        ("POST", "/start") => Some(Http::Start(body, rtx)),
        ("POST", "/offer") => Some(Http::Offer(body, rtx)),
        ("POST", "/answer") => Some(Http::Answer(body, rtx)),
        ("POST", "/reoffer") => Some(Http::Reoffer(body, rtx)),
        ("POST", "/result") => Some(Http::Result(body, rtx)),
        ("POST", "/done") => Some(Http::Done(rtx)),
        _ => {
            return respond(r.into_inner(), "404 Not Found", "text/plain", "not found").await;
        }
    };
    let (status, ctype, out) = match req {
        None => ("200 OK", "text/html; charset=utf-8", PAGE.to_owned()),
        Some(req) => {
            tx.send(req).await?;
            match rrx.await? {
                Ok(s) => ("200 OK", "text/plain; charset=utf-8", s),
                Err(e) => ("500 Internal Server Error", "text/plain; charset=utf-8", e),
            }
        }
    };
    respond(r.into_inner(), status, ctype, &out).await
}

async fn respond(mut s: TcpStream, status: &str, ctype: &str, body: &str) -> anyhow::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body.as_bytes()).await?;
    s.shutdown().await?;
    Ok(())
}
