//! DTLS: the `weft-dtls` crate, and a tokio driver that runs one connection over a UDP socket.
//!
//! ```no_run
//! # async fn demo(socket: tokio::net::UdpSocket, peer: std::net::SocketAddr,
//! #               config: weft::dtls::Config) -> Result<(), weft::Error> {
//! use weft::dtls::{DtlsTransport, Event, Role};
//! let mut dtls = DtlsTransport::start(socket, peer, Role::Client, config)?;
//! while let Some(ev) = dtls.next_event().await {
//!     if let Event::Connected { .. } = ev {
//!         dtls.send(bytes::Bytes::from_static(b"hello")).await?;
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
pub use weft_dtls::*;

use crate::now;

/// Commands from the handle to the task.
enum Command {
    Send(Bytes, oneshot::Sender<Result<(), weft_dtls::Error>>),
    Close,
}

/// How many events may wait for the application before the task stops reading the socket.
const EVENT_QUEUE: usize = 256;

/// One DTLS connection over a UDP socket, run by its own task (STYLE.md §7).
///
/// Datagrams from any address other than `peer` are ignored. Dropping the handle closes the
/// connection (sending `close_notify`).
#[derive(Debug)]
pub struct DtlsTransport {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<Event>,
    local: SocketAddr,
}

impl DtlsTransport {
    /// Starts the connection's task; a client sends its ClientHello at once.
    pub fn start(
        socket: UdpSocket,
        peer: SocketAddr,
        role: Role,
        config: Config,
    ) -> Result<Self, crate::Error> {
        let local = socket.local_addr()?;
        let conn = Connection::new(role, config, now(), SystemTime::now())?;
        let (commands, command_rx) = mpsc::channel(64);
        let (event_tx, events) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(run(socket, peer, conn, command_rx, event_tx));
        Ok(DtlsTransport {
            commands,
            events,
            local,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next event; `None` once the connection is closed and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// Sends one record of application data.
    pub async fn send(&self, data: Bytes) -> Result<(), crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Send(data, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        Ok(rx.await.map_err(|_| crate::Error::Closed)??)
    }

    /// Sends `close_notify` and stops.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close).await;
    }
}

impl Drop for DtlsTransport {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Command::Close);
    }
}

async fn run(
    socket: UdpSocket,
    peer: SocketAddr,
    mut conn: Connection,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let mut buf = vec![0u8; 65_536];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut commands_open = true;
    loop {
        while let Some(d) = conn.poll_transmit() {
            if let Err(e) = socket.send_to(&d, peer).await {
                debug!("dtls driver: send failed: {e}");
            }
        }
        while let Some(ev) = conn.poll_event() {
            let closed = matches!(ev, Event::Closed { .. });
            if events.send(ev).await.is_err() || closed {
                // Flush what the close queued (close_notify), then stop.
                while let Some(d) = conn.poll_transmit() {
                    let _ = socket.send_to(&d, peer).await;
                }
                return;
            }
        }
        let timer = conn.poll_timeout();
        if let Some(at) = timer {
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) if from == peer => {
                    conn.handle_input(now(), Bytes::copy_from_slice(&buf[..n]));
                }
                Ok(_) => {}
                Err(e) => debug!("dtls driver: receive failed: {e}"),
            },
            _ = &mut sleep, if timer.is_some() => conn.handle_timeout(now()),
            cmd = commands.recv(), if commands_open => match cmd {
                Some(Command::Send(data, reply)) => {
                    let _ = reply.send(conn.send(&data));
                }
                Some(Command::Close) | None => {
                    commands_open = false;
                    conn.close(now());
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn two_transports_handshake_and_echo_over_loopback() {
        let wall = SystemTime::now();
        let ca =
            Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(3600)).unwrap();
        let cb =
            Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(3600)).unwrap();
        let sa = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sb = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (aa, ab) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
        let mut ca_cfg = Config::new(ca.clone());
        ca_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut cb_cfg = Config::new(cb);
        cb_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut b = DtlsTransport::start(sb, aa, Role::Server, cb_cfg).unwrap();
        let mut a = DtlsTransport::start(sa, ab, Role::Client, ca_cfg).unwrap();
        let connected = |ev: Option<Event>| matches!(ev, Some(Event::Connected { .. }));
        let mut got = Vec::new();
        while let Some(ev) = a.next_event().await {
            if connected(Some(ev.clone())) {
                break;
            }
            got.push(ev);
        }
        assert!(matches!(got.as_slice(), [Event::KeyingMaterial(_)]));
        loop {
            if connected(b.next_event().await) {
                break;
            }
        }
        a.send(Bytes::from_static(b"ping")).await.unwrap();
        loop {
            if let Some(Event::Data(d)) = b.next_event().await {
                assert_eq!(d, Bytes::from_static(b"ping"));
                break;
            }
        }
        a.close().await;
        loop {
            if let Some(Event::Closed { reason }) = b.next_event().await {
                assert_eq!(reason, CloseReason::PeerClosed);
                break;
            }
        }
    }
}
