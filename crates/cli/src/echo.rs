//! `weft echo --listen ADDR`: a WHIP-shaped answerer (RFC 9725's shape, data channels
//! instead of media) that echoes every data-channel message on the same channel with the same
//! type.
//!
//! - `POST /whip` with an `application/sdp` offer: a new `weft::peer::PeerConnection` answers
//!   it; the reply is `201 Created` with the answer (`application/sdp`) and a `Location`
//!   naming the session. Candidates are complete in both directions (no trickle PATCH).
//! - `DELETE <Location>`: ends that session (`200 OK`; `404` for an unknown one).
//! - `GET /`: a page to try it from a browser (connect, send text, see the echo and its RTT).
//! - `OPTIONS`: CORS preflight; the replies allow any origin and expose `Location`, so that a
//!   page served elsewhere can use the endpoint.
//!
//! Requests are served one at a time with a 10 s limit each; at most [`MAX_SESSIONS`] sessions
//! live at once, and one that is not connected 30 s after its offer ends by itself.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use weft::datachannel::ChannelEvent;
use weft::peer::{ConnectionState, Event, PeerConnection, RtcConfiguration, SdpType};

use crate::http;

/// Sessions alive at once.
pub const MAX_SESSIONS: usize = 64;
/// A session must connect within this time of its offer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

const PAGE: &str = include_str!("echo.html");

/// Any origin may use the endpoint (the interop page is served from another port).
const CORS: (&str, &str) = ("Access-Control-Allow-Origin", "*");

/// Options of `weft echo`.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// The HTTP address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Addresses for the peer connections' host candidates (default: the listen address, or
    /// 127.0.0.1 when that is unspecified).
    #[arg(long = "host-ip")]
    pub host_ips: Vec<IpAddr>,
}

/// Runs the server until interrupted.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let listener = TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let at = listener.local_addr()?;
    let host_ips = if !opts.host_ips.is_empty() {
        opts.host_ips.clone()
    } else if at.ip().is_unspecified() {
        vec![IpAddr::from([127, 0, 0, 1])]
    } else {
        vec![at.ip()]
    };
    println!("weft echo: listening on http://{at}/ (POST an offer to http://{at}/whip)");
    let mut server = Server {
        host_ips,
        sessions: HashMap::new(),
        next_id: 1,
        done: mpsc::channel(MAX_SESSIONS),
    };
    loop {
        tokio::select! {
            r = listener.accept() => {
                let (mut s, from) = r.context("accept failed")?;
                if let Err(e) = server.serve(&mut s).await {
                    log::debug!("echo: request from {from}: {e:#}");
                }
            }
            Some(id) = server.done.1.recv() => {
                server.sessions.remove(&id);
            }
            _ = tokio::signal::ctrl_c() => {
                println!("weft echo: stopping ({} sessions)", server.sessions.len());
                return Ok(());
            }
        }
    }
}

struct Server {
    host_ips: Vec<IpAddr>,
    sessions: HashMap<u64, oneshot::Sender<()>>,
    next_id: u64,
    done: (mpsc::Sender<u64>, mpsc::Receiver<u64>),
}

impl Server {
    async fn serve(&mut self, s: &mut TcpStream) -> anyhow::Result<()> {
        let req = match http::read_message(s).await {
            Ok(r) => r,
            Err(e) => {
                reply(s, "400 Bad Request", &[], format!("{e:#}").as_bytes()).await?;
                return Ok(());
            }
        };
        let (method, path) = (req.first.as_str(), req.second.as_str());
        match (method, path) {
            ("GET", "/") => {
                reply(
                    s,
                    "200 OK",
                    &[("Content-Type", "text/html; charset=utf-8")],
                    PAGE.as_bytes(),
                )
                .await
            }
            // CORS preflight: pages from other origins may use the endpoint.
            ("OPTIONS", _) => {
                reply(
                    s,
                    "204 No Content",
                    &[
                        ("Access-Control-Allow-Methods", "POST, DELETE, OPTIONS"),
                        ("Access-Control-Allow-Headers", "Content-Type"),
                    ],
                    b"",
                )
                .await
            }
            ("POST", "/whip") => self.offer(s, &req).await,
            ("DELETE", p) if p.starts_with("/whip/") => {
                let id = p["/whip/".len()..].parse::<u64>().ok();
                match id.and_then(|id| self.sessions.remove(&id)) {
                    Some(stop) => {
                        let _ = stop.send(());
                        reply(s, "200 OK", &[], b"").await
                    }
                    None => reply(s, "404 Not Found", &[], b"no such session").await,
                }
            }
            (_, "/whip") | (_, "/") => {
                reply(s, "405 Method Not Allowed", &[], b"method not allowed").await
            }
            _ => reply(s, "404 Not Found", &[], b"not found").await,
        }
    }

    async fn offer(&mut self, s: &mut TcpStream, req: &http::Message) -> anyhow::Result<()> {
        let ct = req.header("content-type").unwrap_or("");
        if !ct.trim().starts_with("application/sdp") {
            return reply(
                s,
                "415 Unsupported Media Type",
                &[],
                b"the offer must be application/sdp",
            )
            .await;
        }
        if self.sessions.len() >= MAX_SESSIONS {
            return reply(s, "503 Service Unavailable", &[], b"too many sessions").await;
        }
        let Ok(offer) = std::str::from_utf8(&req.body) else {
            return reply(s, "400 Bad Request", &[], b"the offer is not UTF-8").await;
        };
        let config = RtcConfiguration {
            host_addresses: self.host_ips.clone(),
            ..RtcConfiguration::default()
        };
        let pc = PeerConnection::new(config).await?;
        let answer = match answer(&pc, offer).await {
            Ok(a) => a,
            Err(e) => {
                pc.close().await;
                let msg = format!("cannot answer this offer: {e:#}");
                return reply(s, "400 Bad Request", &[], msg.as_bytes()).await;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let (stop_tx, stop_rx) = oneshot::channel();
        self.sessions.insert(id, stop_tx);
        tokio::spawn(session(id, pc, stop_rx, self.done.0.clone()));
        let location = format!("/whip/{id}");
        log::info!("echo: session {id} answered");
        reply(
            s,
            "201 Created",
            &[
                ("Content-Type", "application/sdp"),
                ("Location", &location),
                ("Access-Control-Expose-Headers", "Location"),
            ],
            answer.as_bytes(),
        )
        .await
    }
}

/// A response with the CORS header every reply carries.
async fn reply(
    s: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<()> {
    let mut all = headers.to_vec();
    all.push(CORS);
    http::respond(s, status, &all, body).await
}

async fn answer(pc: &PeerConnection, offer: &str) -> anyhow::Result<String> {
    pc.set_remote_description(SdpType::Offer, offer).await?;
    let answer = pc.create_answer().await?;
    pc.set_local_description(SdpType::Answer, &answer).await?;
    Ok(answer)
}

/// One session: echoes until DELETE, failure, or the peer closing.
async fn session(
    id: u64,
    mut pc: PeerConnection,
    mut stop: oneshot::Receiver<()>,
    done: mpsc::Sender<u64>,
) {
    let deadline = tokio::time::sleep(CONNECT_TIMEOUT);
    tokio::pin!(deadline);
    let mut connected = false;
    let mut echoed = 0u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = &mut deadline, if !connected => {
                log::info!("echo: session {id} did not connect in {CONNECT_TIMEOUT:?}");
                break;
            }
            ev = pc.next_event() => match ev {
                None => break,
                Some(Event::ConnectionState(ConnectionState::Connected)) => connected = true,
                Some(Event::ConnectionState(ConnectionState::Failed | ConnectionState::Closed)) => break,
                Some(Event::Channel(h, ChannelEvent::Message(m))) => {
                    // The same channel, the same type.
                    let r = if m.binary {
                        pc.send(h, m.data).await
                    } else {
                        pc.send_text(h, std::str::from_utf8(&m.data).unwrap_or_default()).await
                    };
                    match r {
                        Ok(()) => echoed += 1,
                        Err(e) => log::debug!("echo: session {id}: echo failed: {e}"),
                    }
                }
                Some(_) => {}
            }
        }
    }
    pc.close().await;
    log::info!("echo: session {id} ended after {echoed} echoes");
    let _ = done.send(id).await;
}
