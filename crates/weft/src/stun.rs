//! STUN: the `weft-stun` crate, and its tokio driver.
//!
//! ```no_run
//! # async fn demo() -> Result<(), weft::Error> {
//! use weft::stun::{StunServer, ServerConfig, ClientConfig, binding_request};
//! let server = StunServer::udp("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).await?;
//! let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
//! let answer = binding_request(&socket, server.local_addr(), ClientConfig::default()).await?;
//! println!("mapped address {}", answer.mapped);
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use log::{debug, info, warn};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;
use weft_proto::{Received, Redacted, Transport};
pub use weft_stun::*;

use crate::now;

/// The largest datagram the driver reads: STUN's 16-bit length plus its header.
const MAX_MESSAGE: usize = 0xffff + wire::HEADER_LEN;

/// A running STUN binding server (RFC 8489 §12) on one UDP socket or one TCP listener.
///
/// Drop it, or call [`StunServer::shutdown`], to stop it.
#[derive(Debug)]
pub struct StunServer {
    local: SocketAddr,
    transport: Transport,
    stats: watch::Receiver<ServerStats>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

impl StunServer {
    /// Binds a UDP socket at `addr` and answers Binding requests on it.
    pub async fn udp(addr: SocketAddr, config: ServerConfig) -> Result<Self, crate::Error> {
        let socket = UdpSocket::bind(addr).await?;
        let local = socket.local_addr()?;
        let (stats_tx, stats) = watch::channel(ServerStats::default());
        let (stop, stopped) = oneshot::channel();
        info!("stun server listening on udp {local}");
        let task = tokio::spawn(serve_udp(socket, Server::new(config), stats_tx, stopped));
        Ok(StunServer {
            local,
            transport: Transport::Udp,
            stats,
            stop: Some(stop),
            task,
        })
    }

    /// Listens on TCP at `addr` and answers Binding requests on every connection, framed by
    /// STUN's own length field (RFC 8489 §6.2.2).
    pub async fn tcp(addr: SocketAddr, config: ServerConfig) -> Result<Self, crate::Error> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let (stats_tx, stats) = watch::channel(ServerStats::default());
        let (stop, stopped) = oneshot::channel();
        info!("stun server listening on tcp {local}");
        let task = tokio::spawn(serve_tcp(listener, config, stats_tx, stopped));
        Ok(StunServer {
            local,
            transport: Transport::Tcp,
            stats,
            stop: Some(stop),
            task,
        })
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The transport it listens on.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The counters so far.
    pub fn stats(&self) -> ServerStats {
        *self.stats.borrow()
    }

    /// Stops the server and waits for its task; returns the final counters.
    pub async fn shutdown(mut self) -> Result<ServerStats, crate::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r?,
            Err(e) => return Err(crate::Error::Io(io::Error::other(e))),
        }
        Ok(*self.stats.borrow())
    }
}

impl Drop for StunServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve_udp(
    socket: UdpSocket,
    mut server: Server,
    stats: watch::Sender<ServerStats>,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let local = socket.local_addr()?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, source) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(v) => v,
                // ICMP errors of earlier sends surface here on some systems; they concern a
                // client that went away, not this server.
                Err(e) if is_transient(&e) => continue,
                Err(e) => return Err(e),
            },
            _ = &mut stopped => return Ok(()),
        };
        server.handle_input(
            now(),
            Received {
                source,
                destination: local,
                transport: Transport::Udp,
                payload: Bytes::copy_from_slice(&buf[..n]),
            },
        );
        while let Some(t) = server.poll_transmit() {
            if let Err(e) = socket.send_to(&t.payload, t.destination).await {
                debug!(
                    "stun server: send to {} failed: {e}",
                    Redacted(t.destination)
                );
            }
        }
        stats.send_replace(server.stats());
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// How long a TCP connection may stay silent before the server closes it.
const TCP_IDLE: Duration = Duration::from_secs(60);
/// The most TCP connections served at once; more are refused.
const TCP_MAX_CONNECTIONS: usize = 1024;

async fn serve_tcp(
    listener: TcpListener,
    config: ServerConfig,
    stats: watch::Sender<ServerStats>,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let (conn_stats_tx, mut conn_stats) = tokio::sync::mpsc::channel::<ServerStats>(64);
    let mut connections = JoinSet::new();
    let mut total = ServerStats::default();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let (stream, peer) = match r {
                    Ok(v) => v,
                    Err(e) => { warn!("stun server: accept failed: {e}"); continue; }
                };
                if connections.len() >= TCP_MAX_CONNECTIONS {
                    debug!("stun server: refusing {}: too many connections", Redacted(peer));
                    continue;
                }
                let server = Server::new(config.clone());
                connections.spawn(serve_tcp_connection(stream, server, conn_stats_tx.clone()));
            }
            Some(delta) = conn_stats.recv() => {
                total.binding_requests += delta.binding_requests;
                total.error_responses += delta.error_responses;
                total.indications += delta.indications;
                total.dropped += delta.dropped;
                stats.send_replace(total);
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = &mut stopped => {
                connections.abort_all();
                return Ok(());
            }
        }
    }
}

async fn serve_tcp_connection(
    mut stream: TcpStream,
    mut server: Server,
    stats: tokio::sync::mpsc::Sender<ServerStats>,
) {
    let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
        return;
    };
    let mut buf = BytesMut::with_capacity(2048);
    let mut reported = ServerStats::default();
    loop {
        // Serve every whole message already buffered.
        while let Some(len) = wire::frame_len(&buf) {
            if buf.len() < len {
                break;
            }
            let frame = buf.split_to(len).freeze();
            if !is_stun(&frame) {
                debug!("stun server: non-STUN bytes on tcp from {}", Redacted(peer));
                return;
            }
            server.handle_input(
                now(),
                Received {
                    source: peer,
                    destination: local,
                    transport: Transport::Tcp,
                    payload: frame,
                },
            );
            while let Some(t) = server.poll_transmit() {
                if stream.write_all(&t.payload).await.is_err() {
                    return;
                }
            }
        }
        let s = server.stats();
        if s != reported {
            let delta = ServerStats {
                binding_requests: s.binding_requests - reported.binding_requests,
                error_responses: s.error_responses - reported.error_responses,
                indications: s.indications - reported.indications,
                dropped: s.dropped - reported.dropped,
            };
            reported = s;
            let _ = stats.send(delta).await;
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096.min(MAX_MESSAGE));
        }
        match tokio::time::timeout(TCP_IDLE, stream.read_buf(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
    }
}

/// What a Binding transaction learnt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingAnswer {
    /// The reflexive transport address the server saw (XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS
    /// from an old server).
    pub mapped: SocketAddr,
    /// The server's SOFTWARE, if it sent one.
    pub software: Option<String>,
    /// The round-trip time, when the request did not need a retransmission.
    pub rtt: Option<Duration>,
    /// How many requests were sent.
    pub requests_sent: u64,
}

/// Runs one Binding transaction from `socket` to `server` over UDP, retransmitting as RFC 8489
/// §6.2.1 says, and returns the reflexive address.
///
/// Datagrams from other addresses that arrive meanwhile are read and dropped.
pub async fn binding_request(
    socket: &UdpSocket,
    server: SocketAddr,
    config: ClientConfig,
) -> Result<BindingAnswer, crate::Error> {
    let conn = Conn::Udp {
        socket,
        buf: vec![0u8; MAX_MESSAGE],
    };
    transact(conn, socket.local_addr()?, server, config).await
}

/// Runs one Binding transaction over a new TCP connection to `server` (RFC 8489 §6.2.2).
pub async fn binding_request_tcp(
    server: SocketAddr,
    config: ClientConfig,
) -> Result<BindingAnswer, crate::Error> {
    let stream = TcpStream::connect(server).await?;
    let local = stream.local_addr()?;
    let conn = Conn::Tcp {
        stream,
        buf: BytesMut::with_capacity(2048),
    };
    transact(conn, local, server, config).await
}

/// The connection a client transaction runs on.
enum Conn<'s> {
    Udp { socket: &'s UdpSocket, buf: Vec<u8> },
    Tcp { stream: TcpStream, buf: BytesMut },
}

impl Conn<'_> {
    fn transport(&self) -> Transport {
        match self {
            Conn::Udp { .. } => Transport::Udp,
            Conn::Tcp { .. } => Transport::Tcp,
        }
    }

    async fn send(&mut self, bytes: &[u8], to: SocketAddr) -> io::Result<()> {
        match self {
            Conn::Udp { socket, .. } => socket.send_to(bytes, to).await.map(drop),
            Conn::Tcp { stream, .. } => stream.write_all(bytes).await,
        }
    }

    /// Waits for the next message from `server`; `Ok(None)` for input to ignore (a datagram
    /// from elsewhere, a transient ICMP error, a partial TCP frame).
    async fn recv(&mut self, server: SocketAddr) -> Result<Option<Bytes>, crate::Error> {
        match self {
            Conn::Udp { socket, buf } => match socket.recv_from(buf).await {
                Ok((n, source)) if source == server => Ok(Some(Bytes::copy_from_slice(&buf[..n]))),
                Ok(_) => Ok(None),
                Err(e) if is_transient(&e) => Ok(None),
                Err(e) => Err(e.into()),
            },
            Conn::Tcp { stream, buf } => {
                if let Some(frame) = next_frame(buf) {
                    return Ok(Some(frame));
                }
                if stream.read_buf(buf).await? == 0 {
                    return Err(crate::Error::BadResponse(
                        "connection closed before the response",
                    ));
                }
                Ok(next_frame(buf))
            }
        }
    }
}

/// Cuts the first whole STUN message off a stream buffer.
fn next_frame(buf: &mut BytesMut) -> Option<Bytes> {
    let len = wire::frame_len(buf)?;
    (buf.len() >= len).then(|| buf.split_to(len).freeze())
}

/// Drives one Binding transaction of a sans-IO [`Client`] on `conn` to its end.
async fn transact(
    mut conn: Conn<'_>,
    local: SocketAddr,
    server: SocketAddr,
    config: ClientConfig,
) -> Result<BindingAnswer, crate::Error> {
    let transport = conn.transport();
    let mut client = Client::new(config);
    let id = client.binding_request(now(), local, server, transport)?;
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    loop {
        while let Some(t) = client.poll_transmit() {
            conn.send(&t.payload, t.destination).await?;
        }
        if let Some(ev) = client.poll_event() {
            return answer(ev, id, server, client.stats().requests_sent);
        }
        let Some(deadline) = client.poll_timeout() else {
            return Err(crate::Error::TimedOut(server));
        };
        sleep
            .as_mut()
            .reset(tokio::time::Instant::from_std(deadline));
        tokio::select! {
            r = conn.recv(server) => {
                if let Some(payload) = r? {
                    client.handle_input(now(), Received {
                        source: server,
                        destination: local,
                        transport,
                        payload,
                    });
                }
            }
            _ = &mut sleep => client.handle_timeout(now()),
        }
    }
}

fn answer(
    ev: ClientEvent,
    id: TransactionId,
    server: SocketAddr,
    requests_sent: u64,
) -> Result<BindingAnswer, crate::Error> {
    match ev {
        ClientEvent::Response {
            id: got,
            class,
            rtt,
            payload,
            ..
        } if got == id => {
            let msg = Message::decode(&payload)
                .map_err(|_| crate::Error::BadResponse("undecodable response"))?;
            if class == Class::Error {
                let e = msg.error_code().ok_or(crate::Error::BadResponse(
                    "error response without ERROR-CODE",
                ))?;
                return Err(crate::Error::ErrorResponse {
                    code: e.code,
                    reason: e.reason.to_string(),
                });
            }
            let mapped = msg
                .mapped_address()
                .ok_or(crate::Error::BadResponse("no XOR-MAPPED-ADDRESS"))?;
            let software = msg.attributes.iter().find_map(|a| match a {
                Attribute::Software(s) => Some(s.to_string()),
                _ => None,
            });
            Ok(BindingAnswer {
                mapped,
                software,
                rtt,
                requests_sent,
            })
        }
        ClientEvent::TimedOut { .. } => Err(crate::Error::TimedOut(server)),
        _ => Err(crate::Error::BadResponse("unexpected event")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn udp_binding_over_loopback() {
        let server = StunServer::udp("127.0.0.1:0".parse().unwrap(), ServerConfig::default())
            .await
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let a = binding_request(&socket, server.local_addr(), ClientConfig::default())
            .await
            .unwrap();
        assert_eq!(a.mapped, socket.local_addr().unwrap());
        let stats = server.shutdown().await.unwrap();
        assert_eq!(stats.binding_requests, a.requests_sent);
    }

    #[tokio::test]
    async fn tcp_binding_over_loopback() {
        let server = StunServer::tcp(
            "127.0.0.1:0".parse().unwrap(),
            ServerConfig {
                software: Some("weft-test".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let a = binding_request_tcp(server.local_addr(), ClientConfig::default())
            .await
            .unwrap();
        assert_eq!(
            a.mapped.ip(),
            "127.0.0.1".parse::<std::net::IpAddr>().unwrap()
        );
        assert_eq!(a.software.as_deref(), Some("weft-test"));
        assert_eq!(a.requests_sent, 1);
        server.shutdown().await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn silent_server_times_out_after_39_5_seconds() {
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t0 = tokio::time::Instant::now();
        let r = binding_request(
            &socket,
            silent.local_addr().unwrap(),
            ClientConfig::default(),
        )
        .await;
        assert!(matches!(r, Err(crate::Error::TimedOut(_))));
        assert_eq!(t0.elapsed(), Duration::from_millis(39_500));
        // Rc = 7 requests reached the silent socket.
        let mut buf = [0u8; 1500];
        let mut n = 0;
        while silent.try_recv_from(&mut buf).is_ok() {
            n += 1;
        }
        assert_eq!(n, 7);
    }
}
