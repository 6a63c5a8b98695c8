//! TURN: the `weft-turn` crate, and a tokio driver for its server core (UDP listener and UDP
//! relays).
//!
//! ```no_run
//! # async fn demo() -> Result<(), weft::Error> {
//! use weft::turn::{ServerConfig, TurnServer};
//! let mut config = ServerConfig::default();
//! config.users.insert("alice".into(), "secret".into());
//! let server = TurnServer::udp("0.0.0.0:3478".parse().unwrap(), "192.0.2.1".parse().unwrap(), (49152, 65535), config).await?;
//! // ... later
//! let stats = server.shutdown().await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use log::{debug, info, warn};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use weft_proto::{Received, Transport};
pub use weft_turn::server::{Event as ServerEvent, denied_by_default};
pub use weft_turn::*;

use crate::now;

/// A running TURN server: one task owns the core, the listening socket and the relay sockets.
#[derive(Debug)]
pub struct TurnServer {
    local: SocketAddr,
    stats: watch::Receiver<ServerStats>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl TurnServer {
    /// Listens on UDP at `listen`; relayed addresses are `relay_ip` with a port from `ports`
    /// (inclusive).
    pub async fn udp(
        listen: SocketAddr,
        relay_ip: IpAddr,
        ports: (u16, u16),
        config: ServerConfig,
    ) -> Result<Self, crate::Error> {
        let socket = UdpSocket::bind(listen).await?;
        let local = socket.local_addr()?;
        let (stats_tx, stats) = watch::channel(ServerStats::default());
        let (stop, stopped) = oneshot::channel();
        info!(
            "turn server listening on udp {local}, relaying from {relay_ip} ports {}-{}",
            ports.0, ports.1
        );
        let server = Server::new(config, now(), SystemTime::now());
        let task = tokio::spawn(serve(socket, server, relay_ip, ports, stats_tx, stopped));
        Ok(TurnServer {
            local,
            stats,
            stop: Some(stop),
            task,
        })
    }

    /// The listening address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The counters as of now.
    pub fn stats(&self) -> ServerStats {
        self.stats.borrow().clone()
    }

    /// Ends every allocation, closes the sockets and returns the final counters.
    pub async fn shutdown(mut self) -> Result<ServerStats, crate::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r?,
            Err(e) => return Err(crate::Error::Io(io::Error::other(e))),
        }
        Ok(self.stats.borrow().clone())
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

struct Relay {
    socket: Arc<UdpSocket>,
    reader: tokio::task::JoinHandle<()>,
}

async fn serve(
    socket: UdpSocket,
    mut server: Server,
    relay_ip: IpAddr,
    ports: (u16, u16),
    stats: watch::Sender<ServerStats>,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let local = socket.local_addr()?;
    let mut relays: HashMap<SocketAddr, Relay> = HashMap::new();
    let (peer_tx, mut peer_rx) = mpsc::channel::<(SocketAddr, SocketAddr, Bytes)>(1024);
    let mut buf = vec![0u8; 65_536];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    // Spread relay ports over the range instead of always starting at its bottom.
    let span = u32::from(ports.1.saturating_sub(ports.0)) + 1;
    let mut next_port = ports.0 as u32 + (std::process::id() % span);
    let mut stopping = false;
    loop {
        while let Some(ev) = server.poll_event() {
            match ev {
                ServerEvent::BindRelay {
                    token,
                    family,
                    even_port,
                } => {
                    let ip = match (family, relay_ip) {
                        (weft_stun::AddressFamily::V4, ip @ IpAddr::V4(_)) => Some(ip),
                        (weft_stun::AddressFamily::V6, ip @ IpAddr::V6(_)) => Some(ip),
                        _ => None,
                    };
                    let mut bound = None;
                    if let Some(ip) = ip {
                        for _ in 0..span.min(256) {
                            let port = ports.0 as u32 + (next_port - ports.0 as u32) % span;
                            next_port = port + 1;
                            if even_port && port % 2 == 1 {
                                continue;
                            }
                            if let Ok(s) = UdpSocket::bind(SocketAddr::new(ip, port as u16)).await {
                                bound = Some(s);
                                break;
                            }
                        }
                    }
                    match bound.and_then(|s| s.local_addr().ok().map(|a| (a, s))) {
                        Some((addr, s)) => {
                            let s = Arc::new(s);
                            let reader = tokio::spawn(read_relay(s.clone(), addr, peer_tx.clone()));
                            relays.insert(addr, Relay { socket: s, reader });
                            server.relay_bound(now(), token, Ok(addr));
                        }
                        None => {
                            warn!("turn server: no relay port free in {}-{}", ports.0, ports.1);
                            server.relay_bound(now(), token, Err(()));
                        }
                    }
                }
                ServerEvent::RelayClosed {
                    relay,
                    bytes_to_peers,
                    bytes_to_client,
                } => {
                    if let Some(r) = relays.remove(&relay) {
                        r.reader.abort();
                    }
                    info!(
                        "turn server: relay {relay} closed ({bytes_to_peers} bytes to peers, {bytes_to_client} to the client)"
                    );
                }
                ServerEvent::AllocationCreated {
                    client,
                    relay,
                    user,
                    lifetime,
                } => {
                    info!("turn server: {user} at {client} allocated {relay} for {lifetime:?}");
                }
                _ => {}
            }
        }
        while let Some(t) = server.poll_transmit() {
            let r = if t.source == local {
                socket.send_to(&t.payload, t.destination).await
            } else if let Some(relay) = relays.get(&t.source) {
                relay.socket.send_to(&t.payload, t.destination).await
            } else {
                continue;
            };
            if let Err(e) = r {
                debug!("turn server: send to {} failed: {e}", t.destination);
            }
        }
        let _ = stats.send(server.stats());
        if stopping {
            for (_, r) in relays.drain() {
                r.reader.abort();
            }
            return Ok(());
        }
        let timer = server.poll_timeout();
        if let Some(at) = timer {
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => server.handle_input(now(), Received {
                    source: from,
                    destination: local,
                    transport: Transport::Udp,
                    payload: Bytes::copy_from_slice(&buf[..n]),
                }),
                Err(e) => debug!("turn server: receive failed: {e}"),
            },
            Some((relay, from, data)) = peer_rx.recv() => server.handle_input(now(), Received {
                source: from,
                destination: relay,
                transport: Transport::Udp,
                payload: data,
            }),
            _ = &mut sleep, if timer.is_some() => server.handle_timeout(now()),
            _ = &mut stopped, if !stopping => {
                info!("turn server: shutting down");
                server.shutdown();
                stopping = true;
            }
        }
    }
}

async fn read_relay(
    socket: Arc<UdpSocket>,
    addr: SocketAddr,
    tx: mpsc::Sender<(SocketAddr, SocketAddr, Bytes)>,
) {
    let mut buf = vec![0u8; 65_536];
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, from)) => {
                if tx
                    .send((addr, from, Bytes::copy_from_slice(&buf[..n])))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => debug!("turn server: relay {addr} receive failed: {e}"),
        }
    }
}
