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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use weft_proto::{Received, Transport};
pub use weft_turn::server::{Event as ServerEvent, RelayError, denied_by_default};
pub use weft_turn::*;

use crate::now;

/// A running TURN server: one task owns the core, the listening socket and the relay sockets.
#[derive(Debug)]
pub struct TurnServer {
    local: SocketAddr,
    stream_locals: Vec<(SocketAddr, Transport)>,
    stats: watch::Receiver<ServerStats>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// Where a [`TurnServer`] listens.
#[derive(Debug, Clone)]
pub struct Listeners {
    /// UDP address.
    pub udp: SocketAddr,
    /// TCP address (RFC 8656 §3.1: STUN and ChannelData framed on the stream), if any.
    pub tcp: Option<SocketAddr>,
    /// TLS address with the certificate chain and private key (PEM), if any.
    pub tls: Option<(SocketAddr, Vec<u8>, Vec<u8>)>,
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
        Self::start(
            Listeners {
                udp: listen,
                tcp: None,
                tls: None,
            },
            relay_ip,
            ports,
            config,
        )
        .await
    }

    /// Listens on UDP and, when configured, TCP and TLS; relays are UDP sockets on `relay_ip`.
    pub async fn start(
        listeners: Listeners,
        relay_ip: IpAddr,
        ports: (u16, u16),
        config: ServerConfig,
    ) -> Result<Self, crate::Error> {
        let socket = UdpSocket::bind(listeners.udp).await?;
        let local = socket.local_addr()?;
        let (stats_tx, stats) = watch::channel(ServerStats::default());
        let (stop, stopped) = oneshot::channel();
        let (stream_tx, stream_rx) = mpsc::channel::<StreamMsg>(1024);
        let mut stream_locals = Vec::new();
        if let Some(addr) = listeners.tcp {
            let l = TcpListener::bind(addr).await?;
            let a = l.local_addr()?;
            info!("turn server listening on tcp {a}");
            stream_locals.push((a, Transport::Tcp));
            tokio::spawn(accept_loop(l, None, Transport::Tcp, stream_tx.clone()));
        }
        if let Some((addr, cert, key)) = listeners.tls {
            let acceptor = tls_acceptor(&cert, &key)?;
            let l = TcpListener::bind(addr).await?;
            let a = l.local_addr()?;
            info!("turn server listening on tls {a}");
            stream_locals.push((a, Transport::Tls));
            tokio::spawn(accept_loop(
                l,
                Some(acceptor),
                Transport::Tls,
                stream_tx.clone(),
            ));
        }
        info!(
            "turn server listening on udp {local}, relaying from {relay_ip} ports {}-{}",
            ports.0, ports.1
        );
        let server = Server::new(config, now(), SystemTime::now());
        let task = tokio::spawn(serve(
            socket, server, relay_ip, ports, stats_tx, stopped, stream_rx,
        ));
        Ok(TurnServer {
            local,
            stream_locals,
            stats,
            stop: Some(stop),
            task,
        })
    }

    /// The TCP and TLS listening addresses.
    pub fn stream_addrs(&self) -> &[(SocketAddr, Transport)] {
        &self.stream_locals
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
    mut streams: mpsc::Receiver<StreamMsg>,
) -> io::Result<()> {
    let local = socket.local_addr()?;
    // Stream connections by client address: where to write what the core sends them.
    let mut conns: HashMap<(SocketAddr, SocketAddr), mpsc::Sender<Bytes>> = HashMap::new();
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
                            server.relay_bound(
                                now(),
                                token,
                                Err(if ip.is_none() {
                                    RelayError::Family
                                } else {
                                    RelayError::Capacity
                                }),
                            );
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
            if t.transport != Transport::Udp {
                if let Some(w) = conns.get(&(t.destination, t.source))
                    && w.try_send(t.payload).is_err()
                {
                    debug!(
                        "turn server: stream to {} is full or gone; dropped",
                        t.destination
                    );
                }
                continue;
            }
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
            Some(m) = streams.recv() => match m {
                StreamMsg::Open { client, local, writer } => { conns.insert((client, local), writer); }
                StreamMsg::Data { client, local, transport, data } => server.handle_input(now(), Received {
                    source: client,
                    destination: local,
                    transport,
                    payload: data,
                }),
                StreamMsg::Closed { client, local } => {
                    conns.remove(&(client, local));
                    // RFC 8656 §7: an allocation over a stream ends with its connection.
                    server.connection_closed(client, local);
                }
            },
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

/// What connection tasks tell the server task.
enum StreamMsg {
    Open {
        client: SocketAddr,
        local: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    Data {
        client: SocketAddr,
        local: SocketAddr,
        transport: Transport,
        data: Bytes,
    },
    Closed {
        client: SocketAddr,
        local: SocketAddr,
    },
}

fn tls_acceptor(cert: &[u8], key: &[u8]) -> Result<openssl::ssl::SslAcceptor, crate::Error> {
    use openssl::ssl::{SslAcceptor, SslMethod};
    let other = |e: openssl::error::ErrorStack| crate::Error::Io(io::Error::other(e));
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).map_err(other)?;
    let mut chain = openssl::x509::X509::stack_from_pem(cert)
        .map_err(other)?
        .into_iter();
    let leaf = chain
        .next()
        .ok_or_else(|| crate::Error::Io(io::Error::other("no certificate in the PEM")))?;
    b.set_certificate(&leaf).map_err(other)?;
    for c in chain {
        b.add_extra_chain_cert(c).map_err(other)?;
    }
    let pkey = openssl::pkey::PKey::private_key_from_pem(key).map_err(other)?;
    b.set_private_key(&pkey).map_err(other)?;
    b.check_private_key().map_err(other)?;
    Ok(b.build())
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<openssl::ssl::SslAcceptor>,
    transport: Transport,
    tx: mpsc::Sender<StreamMsg>,
) {
    loop {
        let Ok((tcp, client)) = listener.accept().await else {
            continue;
        };
        let Ok(local) = tcp.local_addr() else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let tx = tx.clone();
        match &tls {
            None => {
                tokio::spawn(connection(tcp, client, local, transport, tx));
            }
            Some(acceptor) => {
                let Ok(ssl) = openssl::ssl::Ssl::new(acceptor.context()) else {
                    continue;
                };
                tokio::spawn(async move {
                    let Ok(mut s) = tokio_openssl::SslStream::new(ssl, tcp) else {
                        return;
                    };
                    if std::pin::Pin::new(&mut s).accept().await.is_err() {
                        debug!("turn server: TLS handshake with {client} failed");
                        return;
                    }
                    connection(s, client, local, transport, tx).await;
                });
            }
        }
    }
}

/// One client connection: frames STUN messages and ChannelData off the stream (RFC 8656
/// §3.1), writes what the server sends back.
async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    client: SocketAddr,
    local: SocketAddr,
    transport: Transport,
    tx: mpsc::Sender<StreamMsg>,
) {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (wtx, mut wrx) = mpsc::channel::<Bytes>(256);
    if tx
        .send(StreamMsg::Open {
            client,
            local,
            writer: wtx,
        })
        .await
        .is_err()
    {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(b) = wrx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::new();
    let mut chunk = vec![0u8; 16384];
    'read: loop {
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if framer.push(&chunk[..n]).is_err() {
                    break;
                }
            }
        }
        loop {
            match framer.next_frame() {
                Ok(Some(data)) => {
                    if tx
                        .send(StreamMsg::Data {
                            client,
                            local,
                            transport,
                            data,
                        })
                        .await
                        .is_err()
                    {
                        break 'read;
                    }
                }
                Ok(None) => break,
                // Not TURN: drop the connection.
                Err(_) => break 'read,
            }
        }
    }
    writer.abort();
    let _ = tx.send(StreamMsg::Closed { client, local }).await;
}

/// A TURN client allocation run by its own task, over UDP, TCP or TLS to the server
/// (RFC 8656 §3.1): the sans-IO [`Client`] with the socket and, on streams, a
/// [`StreamFramer`].
#[derive(Debug)]
pub struct TurnClient {
    commands: mpsc::Sender<ClientCmd>,
    events: mpsc::Receiver<Event>,
    relayed: SocketAddr,
}

enum ClientCmd {
    Permission(IpAddr, oneshot::Sender<Result<(), Error>>),
    Channel(SocketAddr, oneshot::Sender<Result<u16, Error>>),
    Send(SocketAddr, Bytes, oneshot::Sender<Result<(), Error>>),
    Close,
}

impl std::fmt::Debug for ClientCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientCmd")
    }
}

/// How to reach a TURN server.
#[derive(Debug, Clone)]
pub enum TurnTransport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP, checking the certificate against `domain` unless `verify` is false.
    Tls {
        /// The name the certificate must carry.
        domain: String,
        /// Verify the certificate chain (turn off only for tests with self-signed servers).
        verify: bool,
    },
}

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

impl TurnClient {
    /// Connects to `server`, allocates, and returns once the server granted a relayed
    /// address (or with the error it answered).
    pub async fn allocate(
        server: SocketAddr,
        transport: TurnTransport,
        username: &str,
        password: &str,
    ) -> Result<TurnClient, crate::Error> {
        let (io, local, tr): (ClientIo, SocketAddr, Transport) = match &transport {
            TurnTransport::Udp => {
                let bind: SocketAddr = if server.is_ipv4() {
                    "0.0.0.0:0".parse().expect("literal")
                } else {
                    "[::]:0".parse().expect("literal")
                };
                let s = UdpSocket::bind(bind).await?;
                s.connect(server).await?;
                let local = s.local_addr()?;
                (ClientIo::Udp(s), local, Transport::Udp)
            }
            TurnTransport::Tcp => {
                let s = tokio::net::TcpStream::connect(server).await?;
                let _ = s.set_nodelay(true);
                let local = s.local_addr()?;
                (ClientIo::Stream(Box::new(s)), local, Transport::Tcp)
            }
            TurnTransport::Tls { domain, verify } => {
                let s = tokio::net::TcpStream::connect(server).await?;
                let _ = s.set_nodelay(true);
                let local = s.local_addr()?;
                let other = |e: openssl::error::ErrorStack| crate::Error::Io(io::Error::other(e));
                let mut b = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls())
                    .map_err(other)?;
                if !verify {
                    b.set_verify(openssl::ssl::SslVerifyMode::NONE);
                }
                let ssl = b
                    .build()
                    .configure()
                    .map_err(other)?
                    .into_ssl(domain)
                    .map_err(other)?;
                let mut stream = tokio_openssl::SslStream::new(ssl, s).map_err(other)?;
                std::pin::Pin::new(&mut stream)
                    .connect()
                    .await
                    .map_err(|e| crate::Error::Io(io::Error::other(e.to_string())))?;
                (ClientIo::Stream(Box::new(stream)), local, Transport::Tls)
            }
        };
        let mut config = Config::new(server, local, username, password);
        config.transport = tr;
        let client = Client::new(config, now())?;
        let (commands, crx) = mpsc::channel(64);
        let (etx, mut events) = mpsc::channel(1024);
        tokio::spawn(run_client(client, io, server, local, tr, crx, etx));
        loop {
            match events.recv().await {
                Some(Event::Allocated { relayed, .. }) => {
                    return Ok(TurnClient {
                        commands,
                        events,
                        relayed,
                    });
                }
                Some(Event::AllocationFailed { code, reason }) => {
                    return Err(crate::Error::ErrorResponse { code, reason });
                }
                Some(_) => {}
                None => return Err(crate::Error::Closed),
            }
        }
    }

    /// The relayed address peers send to.
    pub fn relayed_address(&self) -> SocketAddr {
        self.relayed
    }

    /// The next event (data from peers, permission and channel results, failures).
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Installs a permission for `peer` (refreshed while the allocation lives).
    pub async fn create_permission(&self, peer: IpAddr) -> Result<(), crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ClientCmd::Permission(peer, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        Ok(rx.await.map_err(|_| crate::Error::Closed)??)
    }

    /// Binds a channel to `peer`; returns its number.
    pub async fn bind_channel(&self, peer: SocketAddr) -> Result<u16, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ClientCmd::Channel(peer, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        Ok(rx.await.map_err(|_| crate::Error::Closed)??)
    }

    /// Sends `data` to `peer` through the relay.
    pub async fn send(&self, peer: SocketAddr, data: Bytes) -> Result<(), crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(ClientCmd::Send(peer, data, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        Ok(rx.await.map_err(|_| crate::Error::Closed)??)
    }

    /// Releases the allocation.
    pub async fn close(&self) {
        let _ = self.commands.send(ClientCmd::Close).await;
    }
}

impl Drop for TurnClient {
    fn drop(&mut self) {
        let _ = self.commands.try_send(ClientCmd::Close);
    }
}

enum ClientIo {
    Udp(UdpSocket),
    Stream(Box<dyn Duplex>),
}

async fn run_client(
    mut client: Client,
    io: ClientIo,
    server: SocketAddr,
    local: SocketAddr,
    tr: Transport,
    mut commands: mpsc::Receiver<ClientCmd>,
    events: mpsc::Sender<Event>,
) {
    let (mut udp, mut rd, mut wr) = (None, None, None);
    match io {
        ClientIo::Udp(s) => udp = Some(s),
        ClientIo::Stream(s) => {
            let (r, w) = tokio::io::split(s);
            rd = Some(r);
            wr = Some(w);
        }
    }
    let mut framer = StreamFramer::new();
    let mut buf = vec![0u8; 65_536];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut closing = false;
    loop {
        while let Some(t) = client.poll_transmit() {
            let r = match (&udp, wr.as_mut()) {
                (Some(s), _) => s.send(&t.payload).await.map(|_| ()),
                (None, Some(w)) => w.write_all(&t.payload).await,
                _ => Ok(()),
            };
            if let Err(e) = r {
                debug!("turn client: send failed: {e}");
            }
        }
        while let Some(ev) = client.poll_event() {
            let end = matches!(ev, Event::Closed | Event::AllocationFailed { .. });
            if events.send(ev).await.is_err() || end {
                return;
            }
        }
        if closing && client.relayed_address().is_none() {
            return;
        }
        let timer = client.poll_timeout();
        if let Some(at) = timer {
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        tokio::select! {
            r = async {
                match (&udp, rd.as_mut()) {
                    (Some(s), _) => s.recv(&mut buf).await,
                    (None, Some(r)) => r.read(&mut buf).await,
                    _ => std::future::pending().await,
                }
            } => match r {
                Ok(0) if udp.is_none() => {
                    debug!("turn client: server closed the connection");
                    return;
                }
                Ok(n) => {
                    if udp.is_some() {
                        client.handle_input(now(), Received { source: server, destination: local, transport: tr, payload: Bytes::copy_from_slice(&buf[..n]) });
                    } else {
                        if framer.push(&buf[..n]).is_err() {
                            return;
                        }
                        while let Ok(Some(frame)) = framer.next_frame() {
                            client.handle_input(now(), Received { source: server, destination: local, transport: tr, payload: frame });
                        }
                    }
                }
                Err(e) => {
                    debug!("turn client: receive failed: {e}");
                    if udp.is_none() {
                        return;
                    }
                }
            },
            _ = &mut sleep, if timer.is_some() => client.handle_timeout(now()),
            cmd = commands.recv(), if !closing => {
                let t = now();
                match cmd {
                    Some(ClientCmd::Permission(ip, r)) => { let _ = r.send(client.create_permission(t, ip)); }
                    Some(ClientCmd::Channel(p, r)) => { let _ = r.send(client.bind_channel(t, p)); }
                    Some(ClientCmd::Send(p, d, r)) => { let _ = r.send(client.send(t, p, &d)); }
                    Some(ClientCmd::Close) | None => {
                        closing = true;
                        if client.close(t).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
