//! `weft`: the command-line front of the weft WebRTC stack.
//!
//! - `weft demo`: the main job: two peers over real loopback UDP, with a timeline and figures.
//! - `weft stun-server --listen ADDR`: a STUN binding server on UDP and TCP.
//! - `weft stun-client stun:HOST[:PORT]`: asks a STUN server for this host's mapped address.
//! - `weft echo --listen ADDR`: a WHIP-shaped answerer that echoes data-channel messages.
//! - `weft call URL`: the offerer against such an endpoint, with RTT and throughput.

// A binary prints, reads the clock and opens sockets; the disallowed lists are for protocol
// crates.
#![allow(
    clippy::print_stdout,
    clippy::disallowed_methods,
    clippy::disallowed_types
)]

mod call;
mod demo;
mod demo_dc;
mod echo;
mod http;
mod turn_server;

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use weft::stun::{ClientConfig, Host, ServerConfig, StunServer, Uri, UriTransport};

#[derive(Parser)]
#[command(name = "weft", version, about = "weft, a WebRTC stack in Rust")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size difference between subcommands costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Two peers on loopback UDP: STUN discovery through a local server, then Binding
    /// transactions between the peers. Prints the timeline and the figures.
    Demo(demo::Options),
    /// Runs a STUN binding server (RFC 8489) on UDP and TCP until interrupted.
    StunServer {
        /// The address to listen on (UDP and TCP).
        #[arg(long, default_value = "0.0.0.0:3478")]
        listen: SocketAddr,
        /// Do not listen on TCP.
        #[arg(long)]
        no_tcp: bool,
        /// The SOFTWARE attribute to put in responses.
        #[arg(long, default_value = concat!("weft ", env!("CARGO_PKG_VERSION")))]
        software: String,
    },
    /// Runs a TURN server (RFC 8656) on UDP with UDP relays until interrupted.
    TurnServer(turn_server::Options),
    /// A WHIP-shaped answerer: POST an application/sdp offer to /whip, get 201 Created with
    /// the answer and a Location (DELETE it to end the session); every data-channel message
    /// is echoed on its channel with its type. GET / serves a page to try it in a browser.
    Echo(echo::Options),
    /// The offerer against a `weft echo` endpoint: opens a channel, sends messages, checks
    /// every echo, prints connect time, round-trip time and throughput.
    Call(call::Options),
    /// Asks a STUN server for the mapped (server-reflexive) address and prints it.
    StunClient {
        /// The server, as a STUN URI: `stun:HOST[:PORT]`.
        uri: String,
        /// Use TCP instead of UDP.
        #[arg(long)]
        tcp: bool,
        /// The initial retransmission timeout in milliseconds (RFC 8489 default: 500).
        #[arg(long, default_value_t = 500)]
        rto_ms: u64,
        /// The local UDP address to send from (default: any address, any port).
        #[arg(long)]
        bind: Option<SocketAddr>,
    },
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    rt.block_on(async move {
        match cli.command {
            Command::Demo(opts) => demo::run(opts).await,
            Command::TurnServer(opts) => turn_server::run(opts).await,
            Command::Echo(opts) => echo::run(opts).await,
            Command::Call(opts) => call::run(opts).await,
            Command::StunServer {
                listen,
                no_tcp,
                software,
            } => stun_server(listen, no_tcp, software).await,
            Command::StunClient {
                uri,
                tcp,
                rto_ms,
                bind,
            } => stun_client(&uri, tcp, rto_ms, bind).await,
        }
    })
}

async fn stun_server(listen: SocketAddr, no_tcp: bool, software: String) -> anyhow::Result<()> {
    let config = ServerConfig {
        software: Some(software),
        ..Default::default()
    };
    let udp = StunServer::udp(listen, config.clone())
        .await
        .with_context(|| format!("cannot listen on udp {listen}"))?;
    println!("stun server listening on udp {}", udp.local_addr());
    let tcp = if no_tcp {
        None
    } else {
        // Listen on the port UDP got, so that `--listen 127.0.0.1:0` serves both on one port.
        let at = udp.local_addr();
        let tcp = StunServer::tcp(at, config)
            .await
            .with_context(|| format!("cannot listen on tcp {at}"))?;
        println!("stun server listening on tcp {}", tcp.local_addr());
        Some(tcp)
    };
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for ctrl-c")?;
    let u = udp.shutdown().await?;
    println!(
        "udp: {} binding requests, {} error responses, {} indications, {} dropped",
        u.binding_requests, u.error_responses, u.indications, u.dropped
    );
    if let Some(tcp) = tcp {
        let t = tcp.shutdown().await?;
        println!(
            "tcp: {} binding requests, {} error responses, {} dropped",
            t.binding_requests, t.error_responses, t.dropped
        );
    }
    Ok(())
}

async fn stun_client(
    uri: &str,
    tcp: bool,
    rto_ms: u64,
    bind: Option<SocketAddr>,
) -> anyhow::Result<()> {
    let uri: Uri = uri
        .parse()
        .with_context(|| format!("bad STUN URI {uri:?}"))?;
    if uri.scheme.is_turn() {
        bail!("{uri} is a TURN URI; stun-client takes stun:HOST[:PORT]");
    }
    if uri.scheme.is_secure() {
        bail!("stuns: needs TLS, which arrives with the TURN client; use stun: here");
    }
    let server = resolve(&uri.host, uri.port()).await?;
    let config = ClientConfig {
        rto: Duration::from_millis(rto_ms),
        software: Some(concat!("weft ", env!("CARGO_PKG_VERSION")).to_string()),
        ..Default::default()
    };
    let answer = if tcp || uri.explicit_transport == Some(UriTransport::Tcp) {
        weft::stun::binding_request_tcp(server, config).await
    } else {
        let bind: SocketAddr = match bind {
            Some(b) => b,
            None if server.is_ipv4() => "0.0.0.0:0".parse()?,
            None => "[::]:0".parse()?,
        };
        let socket = tokio::net::UdpSocket::bind(bind).await?;
        weft::stun::binding_request(&socket, server, config).await
    }
    .with_context(|| format!("binding request to {server} failed"))?;
    println!("mapped address: {}", answer.mapped);
    println!("server: {server}");
    if let Some(s) = answer.software {
        println!("server software: {s}");
    }
    if let Some(rtt) = answer.rtt {
        println!("rtt: {:.3} ms", rtt.as_secs_f64() * 1e3);
    }
    println!("requests sent: {}", answer.requests_sent);
    Ok(())
}

async fn resolve(host: &Host, port: u16) -> anyhow::Result<SocketAddr> {
    match host {
        Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
        Host::Domain(name) => {
            let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), port))
                .await
                .with_context(|| format!("cannot resolve {name}"))?
                .collect();
            // Prefer IPv4, which every STUN server on the Internet serves.
            addrs.sort_by_key(|a| a.is_ipv6());
            addrs
                .into_iter()
                .next()
                .with_context(|| format!("{name} has no address"))
        }
    }
}
