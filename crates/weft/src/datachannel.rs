//! Data channels: `weft-datachannel` over `weft-sctp` over DTLS, run by one tokio task per
//! UDP socket and peer. This is the transport under a peer connection's data channels; the
//! W3C-shaped `PeerConnection` (ICE, SDP) builds on it.
//!
//! ```no_run
//! # async fn demo(socket: tokio::net::UdpSocket, peer: std::net::SocketAddr,
//! #               config: weft::dtls::Config) -> Result<(), weft::Error> {
//! use weft::datachannel::{ChannelInit, ChannelEvent, DataChannelTransport, Event};
//! use weft::dtls::Role;
//! let mut t = DataChannelTransport::start(socket, peer, Role::Client, config)?;
//! let chat = t.create_channel(ChannelInit::new("chat")).await?;
//! while let Some(ev) = t.next_event().await {
//!     match ev {
//!         Event::Channel(ChannelEvent::Open(id)) if id == chat => t.send_text(chat, "hi").await?,
//!         Event::Channel(ChannelEvent::Message(m)) => println!("{:?}", m.data),
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use log::debug;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
pub use weft_datachannel::{
    ChannelId, ChannelInfo, ChannelInit, ChannelState, Endpoint, ErrorDetail, Message,
    Role as SctpRole, ppid,
};
use weft_dtls::{Connection, Role};

use crate::now;

/// Events of a data channel endpoint.
pub use weft_datachannel::Event as ChannelEvent;

/// What the transport reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The DTLS handshake completed and the peer's certificate matched.
    DtlsConnected {
        /// The cipher suite.
        cipher: String,
    },
    /// A data channel event (association up, channels opening, messages, closing).
    Channel(ChannelEvent),
    /// DTLS or SCTP ended; nothing follows.
    Closed {
        /// Why, in words.
        reason: String,
    },
}

type Reply<T> = oneshot::Sender<Result<T, weft_datachannel::Error>>;

enum Command {
    Create(ChannelInit, Reply<ChannelId>),
    Send(ChannelId, Bytes, bool, Reply<()>),
    CloseChannel(ChannelId),
    SetLowThreshold(ChannelId, usize),
    BufferedAmount(ChannelId, oneshot::Sender<usize>),
    Info(ChannelId, oneshot::Sender<Option<ChannelInfo>>),
    Stats(oneshot::Sender<weft_sctp::Stats>),
    Close,
}

const EVENT_QUEUE: usize = 1024;

/// DTLS, SCTP and data channels over one UDP socket, run by their own task (STYLE.md §7).
///
/// The SCTP packet size follows the DTLS record limit: `config.mtu` is raised so a 1200-byte
/// SCTP packet fits one record, as RFC 8261 and browsers have it.
#[derive(Debug)]
pub struct DataChannelTransport {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    local: SocketAddr,
}

impl DataChannelTransport {
    /// Starts DTLS in `role` towards `peer`; the association starts when DTLS connects.
    pub fn start(
        socket: UdpSocket,
        peer: SocketAddr,
        role: Role,
        config: weft_dtls::Config,
    ) -> Result<Self, crate::Error> {
        Self::start_with(socket, peer, role, config, weft_sctp::Config::default())
    }

    /// As [`DataChannelTransport::start`], with explicit SCTP settings (zero checksums are
    /// offered either way: SCTP runs over DTLS here).
    pub fn start_with(
        socket: UdpSocket,
        peer: SocketAddr,
        role: Role,
        mut config: weft_dtls::Config,
        mut sctp: weft_sctp::Config,
    ) -> Result<Self, crate::Error> {
        let local = socket.local_addr()?;
        sctp.zero_checksum = true;
        config.mtu = config.mtu.max(sctp.mtu + DTLS_OVERHEAD);
        let conn = Connection::new(role, config, now(), SystemTime::now())?;
        let sctp_role = match role {
            Role::Client => SctpRole::Client,
            Role::Server => SctpRole::Server,
        };
        let ep = Endpoint::new(
            weft_datachannel::Config {
                role: sctp_role,
                sctp,
            },
            now(),
        )?;
        let (commands, command_rx) = mpsc::channel(256);
        let (event_tx, events) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(run(socket, peer, conn, ep, command_rx, event_tx));
        Ok(DataChannelTransport {
            commands,
            events,
            local,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next event; `None` after the transport closed and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Creates a channel (W3C `createDataChannel`); it opens once the association is up.
    pub async fn create_channel(&self, init: ChannelInit) -> Result<ChannelId, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Create(init, tx)).await?;
        dc(rx.await.map_err(|_| crate::Error::Closed)?)
    }

    /// Sends a binary message.
    pub async fn send(&self, id: ChannelId, data: Bytes) -> Result<(), crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Send(id, data, true, tx)).await?;
        dc(rx.await.map_err(|_| crate::Error::Closed)?)
    }

    /// Sends a text message.
    pub async fn send_text(&self, id: ChannelId, text: &str) -> Result<(), crate::Error> {
        let (tx, rx) = oneshot::channel();
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.command(Command::Send(id, data, false, tx)).await?;
        dc(rx.await.map_err(|_| crate::Error::Closed)?)
    }

    /// Closes a channel.
    pub async fn close_channel(&self, id: ChannelId) -> Result<(), crate::Error> {
        self.command(Command::CloseChannel(id)).await
    }

    /// Sets a channel's `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(
        &self,
        id: ChannelId,
        bytes: usize,
    ) -> Result<(), crate::Error> {
        self.command(Command::SetLowThreshold(id, bytes)).await
    }

    /// A channel's `bufferedAmount`.
    pub async fn buffered_amount(&self, id: ChannelId) -> Result<usize, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::BufferedAmount(id, tx)).await?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// What is known of a channel.
    pub async fn channel(&self, id: ChannelId) -> Result<Option<ChannelInfo>, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Info(id, tx)).await?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// The association's counters.
    pub async fn sctp_stats(&self) -> Result<weft_sctp::Stats, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.command(Command::Stats(tx)).await?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// Shuts the association down, then DTLS.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close).await;
    }

    async fn command(&self, c: Command) -> Result<(), crate::Error> {
        self.commands
            .send(c)
            .await
            .map_err(|_| crate::Error::Closed)
    }
}

impl Drop for DataChannelTransport {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Command::Close);
    }
}

/// DTLS 1.2 record overhead with AES-GCM: 13 header + 8 explicit nonce + 16 tag.
const DTLS_OVERHEAD: usize = 37;

fn dc<T>(r: Result<T, weft_datachannel::Error>) -> Result<T, crate::Error> {
    Ok(r?)
}

async fn run(
    socket: UdpSocket,
    peer: SocketAddr,
    mut conn: Connection,
    mut ep: Endpoint,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let mut buf = vec![0u8; 65_536];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut commands_open = true;
    let mut closing = false;
    loop {
        // Move everything between the layers until nothing is left to move.
        loop {
            let mut moved = false;
            while let Some(p) = ep.poll_transmit() {
                moved = true;
                if let Err(e) = conn.send(&p) {
                    debug!("datachannel driver: DTLS refused an SCTP packet: {e}");
                }
            }
            while let Some(d) = conn.poll_transmit() {
                moved = true;
                if let Err(e) = socket.send_to(&d, peer).await {
                    debug!("datachannel driver: send failed: {e}");
                }
            }
            while let Some(ev) = conn.poll_event() {
                moved = true;
                match ev {
                    weft_dtls::Event::Data(b) => ep.handle_input(now(), b),
                    weft_dtls::Event::Connected { cipher, .. } => {
                        if let Err(e) = ep.connect(now()) {
                            debug!("datachannel driver: SCTP did not start: {e}");
                        }
                        let _ = events.send(Event::DtlsConnected { cipher }).await;
                    }
                    weft_dtls::Event::Closed { reason } => {
                        let _ = events
                            .send(Event::Closed {
                                reason: format!("dtls: {reason:?}"),
                            })
                            .await;
                        return;
                    }
                    _ => {}
                }
            }
            while let Some(ev) = ep.poll_event() {
                moved = true;
                let end = matches!(ev, ChannelEvent::TransportClosed { .. });
                if events.send(Event::Channel(ev)).await.is_err() {
                    return;
                }
                if end {
                    conn.close(now());
                    while let Some(d) = conn.poll_transmit() {
                        let _ = socket.send_to(&d, peer).await;
                    }
                    let _ = events
                        .send(Event::Closed {
                            reason: "sctp closed".into(),
                        })
                        .await;
                    return;
                }
            }
            if !moved {
                break;
            }
        }
        let timer = [conn.poll_timeout(), ep.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        if let Some(at) = timer {
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) if from == peer => conn.handle_input(now(), Bytes::copy_from_slice(&buf[..n])),
                Ok(_) => {}
                Err(e) => debug!("datachannel driver: receive failed: {e}"),
            },
            _ = &mut sleep, if timer.is_some() => {
                let t = now();
                conn.handle_timeout(t);
                ep.handle_timeout(t);
            }
            cmd = commands.recv(), if commands_open => {
                let t = now();
                match cmd {
                    Some(Command::Create(init, reply)) => { let _ = reply.send(ep.create_channel(t, init)); }
                    Some(Command::Send(id, data, binary, reply)) => { let _ = reply.send(ep.send(t, id, data, binary)); }
                    Some(Command::CloseChannel(id)) => { let _ = ep.close_channel(t, id); }
                    Some(Command::SetLowThreshold(id, n)) => ep.set_buffered_amount_low_threshold(id, n),
                    Some(Command::BufferedAmount(id, reply)) => { let _ = reply.send(ep.buffered_amount(id)); }
                    Some(Command::Info(id, reply)) => { let _ = reply.send(ep.channel(id).cloned()); }
                    Some(Command::Stats(reply)) => { let _ = reply.send(ep.sctp().stats()); }
                    Some(Command::Close) | None => {
                        commands_open = false;
                        if !closing {
                            closing = true;
                            if ep.sctp().is_established() {
                                ep.close(t);
                            } else {
                                conn.close(t);
                            }
                        }
                    }
                }
            }
        }
    }
}
