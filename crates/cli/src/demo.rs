//! `weft demo`: two peers on real loopback UDP.
//!
//! What weft can do end to end today: a STUN server, and two peers (alice and bob) that each
//! own one UDP socket. Each peer learns its mapped address from the server, then both run
//! Binding transactions at each other at once, each socket serving as STUN client and STUN
//! server together (the sans-IO `Client` and `Server` composed by one task). Then the same two
//! sockets run a DTLS 1.2 handshake (certificates checked by fingerprint, DTLS-SRTP keys
//! agreed) and alice's messages are echoed back by bob over it. Last, two fresh sockets carry
//! data channels (SCTP over DTLS): a chat channel echoed by bob and a bulk transfer, then both
//! channels close and the association shuts down. Media joins when its crates land.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{oneshot, watch};
use weft::proto::{Received, Transport};
use weft::stun::{
    Class, Client, ClientConfig, ClientEvent, Message, Server, ServerConfig, StunServer,
    TransactionId,
};

/// Options of `weft demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Binding transactions each peer runs toward the other.
    #[arg(long, default_value_t = 5000)]
    pub transactions: u64,
    /// Transactions (and DTLS messages) each peer keeps in flight at once.
    #[arg(long, default_value_t = 32)]
    pub in_flight: u64,
    /// Messages alice sends over DTLS for bob to echo.
    #[arg(long, default_value_t = 5000)]
    pub messages: u64,
    /// The size of each DTLS message in bytes.
    #[arg(long, default_value_t = 1000)]
    pub message_size: usize,
    /// MiB alice sends bob on the bulk data channel.
    #[arg(long, default_value_t = 64)]
    pub bulk_mib: u64,
}

/// Prints a timeline line, stamped with the time since the demo started.
pub(crate) struct Timeline(Instant);

impl Timeline {
    pub(crate) fn say(&self, what: impl std::fmt::Display) {
        println!("{:>9.3} ms  {what}", self.0.elapsed().as_secs_f64() * 1e3);
    }
}

/// What one peer measured.
#[derive(Debug, Default)]
struct Report {
    ok: u64,
    timed_out: u64,
    wrong_address: u64,
    rtts: Vec<Duration>,
    retransmissions: u64,
    elapsed: Duration,
}

pub async fn run(opts: Options) -> anyhow::Result<()> {
    if opts.transactions == 0 || opts.in_flight == 0 || opts.messages == 0 {
        bail!("--transactions, --in-flight and --messages must be at least 1");
    }
    if !(8..=1100).contains(&opts.message_size) {
        bail!("--message-size must be 8 to 1100 bytes (one DTLS record in a 1200-byte datagram)");
    }
    let tl = Timeline(Instant::now());
    println!(
        "weft demo: STUN, DTLS and data channels over loopback UDP (media joins when it lands)"
    );
    let server = StunServer::udp(
        "127.0.0.1:0".parse()?,
        ServerConfig {
            software: Some("weft demo server".into()),
            ..Default::default()
        },
    )
    .await?;
    tl.say(format!(
        "stun server listening on udp {}",
        server.local_addr()
    ));

    let alice = UdpSocket::bind("127.0.0.1:0").await?;
    let bob = UdpSocket::bind("127.0.0.1:0").await?;
    for (name, socket) in [("alice", &alice), ("bob", &bob)] {
        tl.say(format!("{name} bound udp {}", socket.local_addr()?));
        let answer =
            weft::stun::binding_request(socket, server.local_addr(), ClientConfig::default())
                .await
                .with_context(|| format!("{name}: discovery failed"))?;
        let rtt = answer.rtt.map_or("n/a".to_string(), |r| {
            format!("{:.3} ms", r.as_secs_f64() * 1e3)
        });
        tl.say(format!(
            "{name} learnt its mapped address {} from the server (rtt {rtt}, {} request)",
            answer.mapped, answer.requests_sent
        ));
        if answer.mapped != socket.local_addr()? {
            bail!(
                "{name}: server reported {} for {}",
                answer.mapped,
                socket.local_addr()?
            );
        }
    }
    let server_stats = server.shutdown().await?;
    tl.say(format!(
        "stun server stopped after {} binding requests",
        server_stats.binding_requests
    ));

    let (a_addr, b_addr) = (alice.local_addr()?, bob.local_addr()?);
    tl.say(format!(
        "alice <-> bob: {} Binding transactions each way, {} in flight per peer",
        opts.transactions, opts.in_flight
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let (a_done, a_rx) = oneshot::channel();
    let (b_done, b_rx) = oneshot::channel();
    let a = tokio::spawn(peer(
        alice,
        b_addr,
        opts.clone(),
        [1; 32],
        a_done,
        stop_rx.clone(),
    ));
    let b = tokio::spawn(peer(bob, a_addr, opts.clone(), [2; 32], b_done, stop_rx));
    let a_report = a_rx.await.context("alice stopped early")?;
    tl.say(format!(
        "alice finished her transactions in {:.1} ms",
        ms(a_report.elapsed)
    ));
    let b_report = b_rx.await.context("bob stopped early")?;
    tl.say(format!(
        "bob finished his transactions in {:.1} ms",
        ms(b_report.elapsed)
    ));
    let _ = stop_tx.send(true);
    let (a_answered, alice) = a.await??;
    let (b_answered, bob) = b.await??;
    tl.say("both peers stopped their STUN machines");

    let dtls = dtls_phase(&tl, &opts, alice, bob).await?;
    let dc = crate::demo_dc::run(&tl, &opts).await?;

    println!();
    println!("figures");
    for (name, r, answered) in [
        ("alice", &a_report, a_answered),
        ("bob", &b_report, b_answered),
    ] {
        let mut rtts = r.rtts.clone();
        rtts.sort();
        let pct = |p: f64| rtts.get(((rtts.len() as f64 - 1.0) * p) as usize).copied();
        let fmt = |d: Option<Duration>| {
            d.map_or("n/a".into(), |d| format!("{:.1} us", d.as_secs_f64() * 1e6))
        };
        println!(
            "  {name}: {} ok, {} timed out, {} wrong address, {} retransmissions; answered {} requests from the other peer",
            r.ok, r.timed_out, r.wrong_address, r.retransmissions, answered
        );
        println!(
            "  {name}: rtt min {} / p50 {} / p99 {} / max {}",
            fmt(rtts.first().copied()),
            fmt(pct(0.5)),
            fmt(pct(0.99)),
            fmt(rtts.last().copied())
        );
        println!(
            "  {name}: {:.0} transactions/s",
            r.ok as f64 / r.elapsed.as_secs_f64().max(1e-9)
        );
    }
    dtls.print();
    dc.print();
    let failed =
        a_report.timed_out + b_report.timed_out + a_report.wrong_address + b_report.wrong_address;
    if failed > 0 {
        bail!("{failed} transactions failed");
    }
    if dtls.echoed != opts.messages {
        bail!(
            "{} of {} DTLS messages came back",
            dtls.echoed,
            opts.messages
        );
    }
    println!("demo ok");
    Ok(())
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One peer: a STUN client toward `remote` and a STUN server for whoever asks, on one socket.
/// Reports its own transactions through `done`, keeps answering until `stop`, and returns how
/// many requests it answered.
async fn peer(
    socket: UdpSocket,
    remote: SocketAddr,
    opts: Options,
    seed: [u8; 32],
    done: oneshot::Sender<Report>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(u64, UdpSocket)> {
    let local = socket.local_addr()?;
    let mut client = Client::new(ClientConfig {
        rng_seed: Some(seed),
        max_transactions: opts.in_flight as usize,
        ..Default::default()
    });
    let mut server = Server::new(ServerConfig::default());
    let mut report = Report::default();
    let mut started_at: HashMap<TransactionId, Instant> = HashMap::new();
    let mut done = Some(done);
    let mut started = 0u64;
    let t0 = weft::now();
    let mut buf = vec![0u8; 2048];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    loop {
        while started < opts.transactions && (started_at.len() as u64) < opts.in_flight {
            let now = weft::now();
            let id = client.binding_request(now, local, remote, Transport::Udp)?;
            started_at.insert(id, now);
            started += 1;
        }
        while let Some(t) = client.poll_transmit().or_else(|| server.poll_transmit()) {
            socket.send_to(&t.payload, t.destination).await?;
        }
        while let Some(ev) = client.poll_event() {
            match ev {
                ClientEvent::Response { id, payload, .. } => {
                    let sent = started_at.remove(&id);
                    match Message::decode(&payload)
                        .ok()
                        .and_then(|m| m.mapped_address())
                    {
                        Some(a) if a == local => report.ok += 1,
                        _ => report.wrong_address += 1,
                    }
                    if let Some(sent) = sent {
                        report
                            .rtts
                            .push(weft::now().saturating_duration_since(sent));
                    }
                }
                ClientEvent::TimedOut { id } => {
                    started_at.remove(&id);
                    report.timed_out += 1;
                }
                _ => {}
            }
        }
        if report.ok + report.timed_out + report.wrong_address == opts.transactions
            && let Some(done) = done.take()
        {
            report.elapsed = weft::now() - t0;
            report.retransmissions = client.stats().retransmissions;
            let _ = done.send(std::mem::take(&mut report));
        }
        let deadline = client
            .poll_timeout()
            .unwrap_or_else(|| weft::now() + Duration::from_secs(3600));
        sleep
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let (n, source) = r?;
                let input = Received {
                    source,
                    destination: local,
                    transport: Transport::Udp,
                    payload: Bytes::copy_from_slice(&buf[..n]),
                };
                // One socket, two machines: requests go to the server, responses to the client.
                match weft::stun::peek_class(&input.payload) {
                    Some(Class::Request | Class::Indication) => server.handle_input(weft::now(), input),
                    _ => client.handle_input(weft::now(), input),
                }
            }
            _ = &mut sleep => client.handle_timeout(weft::now()),
            _ = stop.changed() => return Ok((server.stats().binding_requests, socket)),
        }
    }
}

/// What the DTLS phase measured.
struct DtlsFigures {
    handshake: Duration,
    cipher: String,
    profile: String,
    echoed: u64,
    bytes: u64,
    elapsed: Duration,
    rtts: Vec<Duration>,
}

impl DtlsFigures {
    fn print(&self) {
        let mut rtts = self.rtts.clone();
        rtts.sort();
        let pct = |p: f64| {
            rtts.get(((rtts.len() as f64 - 1.0) * p) as usize)
                .map_or("n/a".to_string(), |d| {
                    format!("{:.1} us", d.as_secs_f64() * 1e6)
                })
        };
        println!(
            "  dtls: handshake {:.2} ms, {} with SRTP profile {}",
            ms(self.handshake),
            self.cipher,
            self.profile
        );
        println!(
            "  dtls: {} messages echoed, rtt p50 {} / p99 {}, {:.1} MB/s each way",
            self.echoed,
            pct(0.5),
            pct(0.99),
            self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
        );
    }
}

/// Alice (DTLS client) and bob (server) on the sockets they used for STUN: a handshake, then
/// alice's messages echoed by bob, `in_flight` at a time.
async fn dtls_phase(
    tl: &Timeline,
    opts: &Options,
    alice: UdpSocket,
    bob: UdpSocket,
) -> anyhow::Result<DtlsFigures> {
    use weft::dtls::{Certificate, Config, DtlsTransport, Event, HashAlgorithm, KeyType, Role};

    let wall = std::time::SystemTime::now();
    let day = Duration::from_secs(86400);
    let (ac, bc) = (
        Certificate::generate(KeyType::EcdsaP256, wall, day)?,
        Certificate::generate(KeyType::EcdsaP256, wall, day)?,
    );
    // What the offer and answer would carry in a=fingerprint.
    let (afp, bfp) = (
        ac.fingerprint(HashAlgorithm::Sha256)?,
        bc.fingerprint(HashAlgorithm::Sha256)?,
    );
    tl.say(format!("alice's certificate {afp}"));
    tl.say(format!("bob's certificate   {bfp}"));
    let (a_addr, b_addr) = (alice.local_addr()?, bob.local_addr()?);
    let mut a_cfg = Config::new(ac);
    a_cfg.remote_fingerprints = vec![bfp];
    let mut b_cfg = Config::new(bc);
    b_cfg.remote_fingerprints = vec![afp];
    let started = Instant::now();
    let mut bob = DtlsTransport::start(bob, a_addr, Role::Server, b_cfg)?;
    let mut alice = DtlsTransport::start(alice, b_addr, Role::Client, a_cfg)?;
    tl.say("alice -> bob: DTLS handshake started (alice is the client)");
    let mut profile = String::from("none");
    let cipher = loop {
        match alice.next_event().await {
            Some(Event::KeyingMaterial(k)) => profile = format!("{:?}", k.profile),
            Some(Event::Connected { cipher, .. }) => break cipher,
            Some(Event::Closed { reason }) => bail!("alice's DTLS closed: {reason:?}"),
            Some(_) => {}
            None => bail!("alice's DTLS task stopped"),
        }
    };
    let handshake = started.elapsed();
    tl.say(format!("alice connected: {cipher}, SRTP {profile}"));
    // Bob echoes everything until alice closes.
    let echo = tokio::spawn(async move {
        let mut echoed = 0u64;
        loop {
            match bob.next_event().await {
                Some(Event::Data(d)) => {
                    if bob.send(d).await.is_err() {
                        break;
                    }
                    echoed += 1;
                }
                Some(Event::Closed { .. }) | None => break,
                Some(_) => {}
            }
        }
        echoed
    });
    let payload = vec![0x42u8; opts.message_size];
    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    let mut rtts = Vec::with_capacity(opts.messages as usize);
    let (mut next, mut echoed, mut bytes) = (0u64, 0u64, 0u64);
    let t0 = Instant::now();
    while echoed < opts.messages {
        while next < opts.messages && (sent_at.len() as u64) < opts.in_flight {
            let mut m = payload.clone();
            m[..8].copy_from_slice(&next.to_be_bytes());
            sent_at.insert(next, Instant::now());
            alice.send(Bytes::from(m)).await?;
            next += 1;
        }
        let ev = tokio::time::timeout(Duration::from_secs(2), alice.next_event()).await;
        match ev {
            Ok(Some(Event::Data(d))) if d.len() >= 8 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&d[..8]);
                if let Some(at) = sent_at.remove(&u64::from_be_bytes(n)) {
                    rtts.push(at.elapsed());
                    echoed += 1;
                    bytes += d.len() as u64;
                }
            }
            Ok(Some(Event::Closed { reason })) => bail!("alice's DTLS closed: {reason:?}"),
            Ok(Some(_)) => {}
            Ok(None) => bail!("alice's DTLS task stopped"),
            Err(_) => {
                tl.say(format!(
                    "no echo for 2 s: {} messages lost on the way",
                    sent_at.len()
                ));
                break;
            }
        }
    }
    let elapsed = t0.elapsed();
    tl.say(format!(
        "bob echoed {echoed} messages of {} bytes in {:.1} ms",
        opts.message_size,
        ms(elapsed)
    ));
    alice.close().await;
    let bob_echoed = echo.await?;
    tl.say(format!(
        "alice sent close_notify; bob closed after echoing {bob_echoed}"
    ));
    Ok(DtlsFigures {
        handshake,
        cipher,
        profile,
        echoed,
        bytes,
        elapsed,
        rtts,
    })
}
