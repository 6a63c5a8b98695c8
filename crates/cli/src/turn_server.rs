//! `weft turn-server`: the weft-turn server core behind a UDP listener.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};
use weft::turn::{Cidr, Listeners, ServerConfig, TurnServer};

/// Options of `weft turn-server`.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// UDP address to listen on.
    #[arg(long, default_value = "0.0.0.0:3478")]
    pub listen: SocketAddr,
    /// Also listen on TCP at the same address (a free port when the UDP port is 0).
    #[arg(long)]
    pub tcp: bool,
    /// Listen on TLS at this address (needs --cert and --key).
    #[arg(long)]
    pub tls_listen: Option<SocketAddr>,
    /// Certificate chain (PEM) for TLS.
    #[arg(long)]
    pub cert: Option<std::path::PathBuf>,
    /// Private key (PEM) for TLS.
    #[arg(long)]
    pub key: Option<std::path::PathBuf>,
    /// The address relayed ports are bound on (default: the listening address, or 127.0.0.1
    /// when that is unspecified).
    #[arg(long)]
    pub relay_ip: Option<IpAddr>,
    /// Lowest relay port.
    #[arg(long, default_value_t = 49152)]
    pub min_port: u16,
    /// Highest relay port.
    #[arg(long, default_value_t = 65535)]
    pub max_port: u16,
    /// Realm of the long-term credentials.
    #[arg(long, default_value = "weft")]
    pub realm: String,
    /// A static user as NAME:PASSWORD (repeatable).
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// A file of static users, one NAME:PASSWORD per line (# starts a comment).
    #[arg(long)]
    pub users_file: Option<std::path::PathBuf>,
    /// TURN REST shared secret (coturn's use-auth-secret): time-limited usernames.
    #[arg(long)]
    pub auth_secret: Option<String>,
    /// Allow relaying to peers in this prefix even if denied by default (repeatable), e.g.
    /// 127.0.0.0/8. Loopback, private, link-local, multicast and unspecified peers are denied
    /// unless allowed here.
    #[arg(long = "allow-peer")]
    pub allow_peers: Vec<String>,
    /// Always deny peers in this prefix (repeatable).
    #[arg(long = "deny-peer")]
    pub deny_peers: Vec<String>,
    /// Most allocations in all.
    #[arg(long, default_value_t = 10_000)]
    pub max_allocations: usize,
    /// Most allocations per user.
    #[arg(long, default_value_t = 100)]
    pub user_quota: usize,
    /// Bytes per second per allocation (both directions); unlimited when absent.
    #[arg(long)]
    pub bandwidth: Option<u64>,
    /// Longest allocation lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub max_lifetime: u64,
    /// Print the counters every this many seconds (0: only at shutdown and on SIGUSR1).
    #[arg(long, default_value_t = 0)]
    pub stats_interval: u64,
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let mut users = HashMap::new();
    let mut add = |spec: &str| -> anyhow::Result<()> {
        let (n, p) = spec
            .split_once(':')
            .with_context(|| format!("user {spec:?} is not NAME:PASSWORD"))?;
        users.insert(n.to_owned(), p.to_owned());
        Ok(())
    };
    for u in &o.users {
        add(u)?;
    }
    if let Some(f) = &o.users_file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            add(line)?;
        }
    }
    if users.is_empty() && o.auth_secret.is_none() {
        bail!("no users: give --user, --users-file or --auth-secret (authentication is required)");
    }
    if o.min_port > o.max_port {
        bail!("--min-port is above --max-port");
    }
    let parse = |v: &[String]| -> anyhow::Result<Vec<Cidr>> {
        v.iter()
            .map(|s| s.parse::<Cidr>().map_err(anyhow::Error::msg))
            .collect()
    };
    let config = ServerConfig {
        realm: o.realm.clone(),
        users,
        auth_secret: o.auth_secret.clone(),
        max_lifetime: Duration::from_secs(o.max_lifetime),
        max_allocations: o.max_allocations,
        user_quota: o.user_quota,
        bandwidth: o.bandwidth,
        allow_peers: parse(&o.allow_peers)?,
        deny_peers: parse(&o.deny_peers)?,
        ..ServerConfig::default()
    };
    let relay_ip = o.relay_ip.unwrap_or(if o.listen.ip().is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        o.listen.ip()
    });
    let tls = match (o.tls_listen, &o.cert, &o.key) {
        (Some(addr), Some(c), Some(k)) => Some((
            addr,
            std::fs::read(c).with_context(|| format!("reading {}", c.display()))?,
            std::fs::read(k).with_context(|| format!("reading {}", k.display()))?,
        )),
        (Some(_), _, _) => bail!("--tls-listen needs --cert and --key"),
        _ => None,
    };
    let listeners = Listeners {
        udp: o.listen,
        tcp: o.tcp.then_some(o.listen),
        tls,
    };
    let server = TurnServer::start(listeners, relay_ip, (o.min_port, o.max_port), config).await?;
    println!(
        "weft turn-server listening on udp {}, relaying from {relay_ip} ports {}-{}",
        server.local_addr(),
        o.min_port,
        o.max_port
    );
    for (addr, t) in server.stream_addrs() {
        let kind = if *t == weft::proto::Transport::Tls {
            "tls"
        } else {
            "tcp"
        };
        println!("weft turn-server listening on {kind} {addr}");
    }
    let mut ticker = tokio::time::interval(Duration::from_secs(o.stats_interval.max(1)));
    ticker.tick().await;
    // SIGUSR1 prints the counters on request; SIGINT and SIGTERM shut down gracefully.
    use tokio::signal::unix::{SignalKind, signal};
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut term = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
            _ = usr1.recv() => println!("{:?}", server.stats()),
            _ = ticker.tick(), if o.stats_interval > 0 => println!("{:?}", server.stats()),
        }
    }
    let stats = server.shutdown().await?;
    println!("weft turn-server stopped: {stats:?}");
    Ok(())
}
