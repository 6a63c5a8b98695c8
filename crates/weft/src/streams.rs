//! The stream side of a peer connection's task: TCP and TLS connections to TURN servers
//! (STUN and ChannelData on the stream, RFC 8656 §3.1) and ICE-TCP connections (RFC 6544,
//! RFC 4571 framing). The sans-IO agent speaks datagrams with `Transport::Tcp`/`Tls`; here
//! each `(local, remote)` pair of a transmit is a connection, opened on first use (or
//! accepted on a passive candidate's listener), and each frame read comes back as a datagram
//! from `remote` to `local`. Every connection runs in a small task of its own that ends with
//! the peer connection's task (its channels close).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;

use bytes::Bytes;
use log::debug;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use weft_proto::{Received, Transmit, Transport};

/// Most stream connections per peer connection; more are refused (and counted in the log).
const MAX_CONNECTIONS: usize = 64;
/// Most frames queued for one connection before new ones are dropped.
const MAX_QUEUED: usize = 256;

/// How to reach a TURN server over TLS.
#[derive(Debug, Clone)]
pub(crate) struct TlsTarget {
    /// The name its certificate must carry.
    pub domain: String,
    /// Check the certificate chain.
    pub verify: bool,
}

/// What connection tasks report to the peer connection's task.
#[derive(Debug)]
pub(crate) enum StreamEvent {
    /// A frame arrived.
    Data(Received),
    /// A passive candidate's listener accepted a connection.
    Accepted {
        local: SocketAddr,
        remote: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    /// A connection ended.
    Closed {
        local: SocketAddr,
        remote: SocketAddr,
    },
}

/// The connections of one peer connection.
pub(crate) struct Streams {
    conns: HashMap<(SocketAddr, SocketAddr), mpsc::Sender<Bytes>>,
    /// TURN servers reached over a stream (their framing is STUN's own), with TLS settings
    /// for `turns:` ones.
    turn: HashMap<SocketAddr, Option<TlsTarget>>,
    /// Boxed: a channel allocates room for 32 of its items up front, and an idle peer
    /// connection should not pay 3 KiB for streams it may never have.
    tx: mpsc::Sender<Box<StreamEvent>>,
    /// Where connection tasks report.
    pub rx: mpsc::Receiver<Box<StreamEvent>>,
}

impl Streams {
    pub fn new() -> Self {
        let (tx, rx) = mpsc::channel(1024);
        Streams {
            conns: HashMap::new(),
            turn: HashMap::new(),
            tx,
            rx,
        }
    }

    /// A TURN server the agent reaches over TCP (`tls: None`) or TLS.
    pub fn add_turn_server(&mut self, server: SocketAddr, tls: Option<TlsTarget>) {
        self.turn.insert(server, tls);
    }

    /// Listens for ICE-TCP connections on a passive candidate's address.
    pub fn listen(&self, listener: TcpListener) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let Ok(local) = listener.local_addr() else {
                return;
            };
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = tx.closed() => return,
                };
                match accepted {
                    Ok((s, remote)) => {
                        let _ = s.set_nodelay(true);
                        let (writer, out) = mpsc::channel(MAX_QUEUED);
                        let ev = StreamEvent::Accepted {
                            local,
                            remote,
                            writer,
                        };
                        if tx.send(Box::new(ev)).await.is_err() {
                            return;
                        }
                        tokio::spawn(pump(
                            Box::new(s),
                            local,
                            remote,
                            Transport::Tcp,
                            false,
                            out,
                            tx.clone(),
                        ));
                    }
                    Err(e) => debug!("peer connection: ICE-TCP accept failed: {e}"),
                }
            }
        });
    }

    /// Sends a stream datagram of the agent, opening its connection when needed.
    pub fn send(&mut self, t: Transmit) {
        let key = (t.source, t.destination);
        let turn = self.turn.get(&t.destination).cloned();
        let payload = if turn.is_some() {
            // STUN messages and (padded) ChannelData carry their own lengths.
            t.payload
        } else {
            match weft_ice::framing::frame(&t.payload) {
                Ok(b) => b,
                Err(e) => {
                    debug!("peer connection: ICE-TCP frame refused: {e}");
                    return;
                }
            }
        };
        if let Some(w) = self.conns.get(&key) {
            if w.try_send(payload).is_err() {
                debug!("peer connection: a stream connection is full or gone; frame dropped");
            }
            return;
        }
        let passive_reply = turn.is_none() && t.source.port() != 9;
        if passive_reply {
            // From a passive candidate: only connections the peer opened can carry it.
            debug!("peer connection: no accepted connection for an ICE-TCP reply");
            return;
        }
        if self.conns.len() >= MAX_CONNECTIONS {
            debug!("peer connection: too many stream connections; one refused");
            return;
        }
        let (writer, out) = mpsc::channel(MAX_QUEUED);
        let _ = writer.try_send(payload);
        self.conns.insert(key, writer);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let (local, remote) = key;
            let is_turn = turn.is_some();
            match connect(local, remote, turn.flatten()).await {
                Ok((io, transport)) => pump(io, local, remote, transport, is_turn, out, tx).await,
                Err(e) => {
                    debug!("peer connection: cannot connect to {remote}: {e}");
                    let _ = tx
                        .send(Box::new(StreamEvent::Closed { local, remote }))
                        .await;
                }
            }
        });
    }

    /// Takes in what a connection task reported; frames become datagrams for the machine.
    pub fn handle(&mut self, ev: StreamEvent) -> Option<Received> {
        match ev {
            StreamEvent::Data(r) => Some(r),
            StreamEvent::Accepted {
                local,
                remote,
                writer,
            } => {
                if self.conns.len() < MAX_CONNECTIONS {
                    self.conns.insert((local, remote), writer);
                }
                None
            }
            StreamEvent::Closed { local, remote } => {
                self.conns.remove(&(local, remote));
                None
            }
        }
    }
}

trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// Opens a connection from `local`'s IP (an ephemeral port) to `remote`, in TLS when asked.
async fn connect(
    local: SocketAddr,
    remote: SocketAddr,
    tls: Option<TlsTarget>,
) -> std::io::Result<(Box<dyn Duplex>, Transport)> {
    let socket = if remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.bind(SocketAddr::new(local.ip(), 0))?;
    let s: TcpStream = socket.connect(remote).await?;
    let _ = s.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok((Box::new(s), Transport::Tcp));
    };
    let other = |e: openssl::error::ErrorStack| std::io::Error::other(e);
    let mut b =
        openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).map_err(other)?;
    if !tls.verify {
        b.set_verify(openssl::ssl::SslVerifyMode::NONE);
    }
    let ssl = b
        .build()
        .configure()
        .map_err(other)?
        .into_ssl(&tls.domain)
        .map_err(other)?;
    let mut stream = tokio_openssl::SslStream::new(ssl, s).map_err(other)?;
    Pin::new(&mut stream)
        .connect()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((Box::new(stream), Transport::Tls))
}

/// Moves one connection's bytes: frames read go to the peer connection's task, queued
/// frames are written. Ends when either side closes.
async fn pump(
    io: Box<dyn Duplex>,
    local: SocketAddr,
    remote: SocketAddr,
    transport: Transport,
    turn: bool,
    mut out: mpsc::Receiver<Bytes>,
    tx: mpsc::Sender<Box<StreamEvent>>,
) {
    let (mut rd, mut wr) = tokio::io::split(io);
    let mut turn_framer = weft_turn::StreamFramer::new();
    let mut ice_framer = weft_ice::framing::Deframer::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let mut frames = Vec::new();
                if turn {
                    if turn_framer.push(&buf[..n]).is_err() {
                        break;
                    }
                    while let Ok(Some(f)) = turn_framer.next_frame() {
                        frames.push(f);
                    }
                } else {
                    if ice_framer.push(&buf[..n]).is_err() {
                        break;
                    }
                    loop {
                        match ice_framer.next_frame() {
                            Ok(Some(f)) => frames.push(f),
                            Ok(None) => break,
                            Err(_) => return close(&tx, local, remote).await,
                        }
                    }
                }
                for payload in frames {
                    let r = Received { source: remote, destination: local, transport, payload };
                    if tx.send(Box::new(StreamEvent::Data(r))).await.is_err() {
                        return;
                    }
                }
            }
            frame = out.recv() => match frame {
                Some(f) => {
                    if wr.write_all(&f).await.is_err() {
                        break;
                    }
                }
                None => return,
            },
        }
    }
    close(&tx, local, remote).await
}

async fn close(tx: &mpsc::Sender<Box<StreamEvent>>, local: SocketAddr, remote: SocketAddr) {
    let _ = tx
        .send(Box::new(StreamEvent::Closed { local, remote }))
        .await;
}
