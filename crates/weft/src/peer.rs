//! `PeerConnection`: the W3C peer connection in Rust form, on tokio. One task owns the sans-IO
//! `weft_peerconnection::PeerConnection` and a UDP socket per host address; the handle sends
//! commands and reads events (STYLE.md §7).
//!
//! ```no_run
//! # async fn demo(remote_offer: String) -> Result<(), weft::Error> {
//! use weft::peer::{Event, PeerConnection, RtcConfiguration, SdpType};
//! let mut pc = PeerConnection::new(RtcConfiguration::default()).await?;
//! pc.set_remote_description(SdpType::Offer, &remote_offer).await?;
//! let answer = pc.create_answer().await?;
//! pc.set_local_description(SdpType::Answer, &answer).await?;
//! while let Some(ev) = pc.next_event().await {
//!     if let Event::DataChannel(h) = ev {
//!         pc.send_text(h, "hello").await?;
//!     }
//! }
//! # Ok(()) }
//! ```

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use log::debug;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
pub use weft_datachannel::{ChannelInfo, ChannelInit};
use weft_dtls::{Certificate, KeyType};
pub use weft_peerconnection::jsep::{SdpType, SignalingState};
pub use weft_peerconnection::stats::StatsReport;
pub use weft_peerconnection::{ChannelHandle, ConnectionState, Event};
use weft_proto::{Received, Transport};

use crate::now;

/// `RTCConfiguration`, as far as it is implemented.
#[derive(Debug, Clone)]
pub struct RtcConfiguration {
    /// Addresses to bind host candidates on (interface enumeration is the next step; until
    /// then the application names them). Default: 127.0.0.1.
    pub host_addresses: Vec<IpAddr>,
    /// The certificate (`generateCertificate`); a fresh ECDSA P-256 one when `None`.
    pub certificate: Option<Certificate>,
    /// SCTP settings.
    pub sctp: weft_sctp::Config,
}

impl Default for RtcConfiguration {
    fn default() -> Self {
        RtcConfiguration {
            host_addresses: vec![IpAddr::from([127, 0, 0, 1])],
            certificate: None,
            sctp: weft_sctp::Config {
                zero_checksum: true,
                ..Default::default()
            },
        }
    }
}

type R<T> = oneshot::Sender<Result<T, crate::Error>>;

enum Cmd {
    CreateOffer(R<String>),
    CreateAnswer(R<String>),
    SetLocal(SdpType, String, R<()>),
    SetRemote(SdpType, String, R<()>),
    AddCandidate(String, R<()>),
    CreateChannel(ChannelInit, R<ChannelHandle>),
    Send(ChannelHandle, Bytes, bool, R<()>),
    CloseChannel(ChannelHandle, R<()>),
    Info(ChannelHandle, oneshot::Sender<Option<ChannelInfo>>),
    State(oneshot::Sender<(ConnectionState, SignalingState)>),
    LocalDescription(oneshot::Sender<Option<String>>),
    Buffered(ChannelHandle, oneshot::Sender<usize>),
    LowThreshold(ChannelHandle, usize, R<()>),
    SctpStats(oneshot::Sender<Option<weft_sctp::Stats>>),
    Stats(oneshot::Sender<StatsReport>),
    RestartIce(R<()>),
    Close,
}

/// A peer connection run by its own task.
#[derive(Debug)]
pub struct PeerConnection {
    commands: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<Event>,
    local: Vec<SocketAddr>,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

fn pc_err(e: weft_peerconnection::Error) -> crate::Error {
    crate::Error::PeerConnection(e)
}

impl PeerConnection {
    /// Binds the host sockets, gathers their host candidates and starts the task.
    pub async fn new(config: RtcConfiguration) -> Result<Self, crate::Error> {
        let cert = match config.certificate {
            Some(c) => c,
            None => Certificate::generate(
                KeyType::EcdsaP256,
                SystemTime::now(),
                Duration::from_secs(30 * 86400),
            )?,
        };
        let mut cfg = weft_peerconnection::Config::new(cert);
        cfg.sctp = config.sctp;
        let t = now();
        let mut pc =
            weft_peerconnection::PeerConnection::new(cfg, t, SystemTime::now()).map_err(pc_err)?;
        let mut sockets = Vec::new();
        let mut local = Vec::new();
        for ip in &config.host_addresses {
            let s = UdpSocket::bind(SocketAddr::new(*ip, 0)).await?;
            let a = s.local_addr()?;
            pc.add_local_candidate(t, weft_ice::Candidate::host(a))
                .map_err(pc_err)?;
            local.push(a);
            sockets.push(s);
        }
        pc.end_of_local_candidates(t).map_err(pc_err)?;
        let (commands, rx) = mpsc::channel(256);
        let (etx, events) = mpsc::channel(1024);
        tokio::spawn(run(pc, sockets, rx, etx));
        Ok(PeerConnection {
            commands,
            events,
            local,
        })
    }

    /// The bound host addresses.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// The next event; `None` once the connection is closed and every event was read.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    async fn call<T>(&self, f: impl FnOnce(R<T>) -> Cmd) -> Result<T, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(f(tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)?
    }

    /// `createOffer`.
    pub async fn create_offer(&self) -> Result<String, crate::Error> {
        self.call(Cmd::CreateOffer).await
    }

    /// `createAnswer`.
    pub async fn create_answer(&self) -> Result<String, crate::Error> {
        self.call(Cmd::CreateAnswer).await
    }

    /// `setLocalDescription`.
    pub async fn set_local_description(
        &self,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), crate::Error> {
        let sdp = sdp.to_owned();
        self.call(|r| Cmd::SetLocal(kind, sdp, r)).await
    }

    /// `setRemoteDescription`.
    pub async fn set_remote_description(
        &self,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), crate::Error> {
        let sdp = sdp.to_owned();
        self.call(|r| Cmd::SetRemote(kind, sdp, r)).await
    }

    /// `addIceCandidate` (the `candidate:` attribute value).
    pub async fn add_ice_candidate(&self, candidate: &str) -> Result<(), crate::Error> {
        let c = candidate.to_owned();
        self.call(|r| Cmd::AddCandidate(c, r)).await
    }

    /// `createDataChannel`.
    pub async fn create_data_channel(
        &self,
        init: ChannelInit,
    ) -> Result<ChannelHandle, crate::Error> {
        self.call(|r| Cmd::CreateChannel(init, r)).await
    }

    /// `RTCDataChannel.send` of binary data.
    pub async fn send(&self, h: ChannelHandle, data: Bytes) -> Result<(), crate::Error> {
        self.call(|r| Cmd::Send(h, data, true, r)).await
    }

    /// `RTCDataChannel.send` of text.
    pub async fn send_text(&self, h: ChannelHandle, text: &str) -> Result<(), crate::Error> {
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.call(|r| Cmd::Send(h, data, false, r)).await
    }

    /// `RTCDataChannel.close`.
    pub async fn close_channel(&self, h: ChannelHandle) -> Result<(), crate::Error> {
        self.call(|r| Cmd::CloseChannel(h, r)).await
    }

    /// The channel's label, protocol, state and counters.
    pub async fn channel(&self, h: ChannelHandle) -> Result<Option<ChannelInfo>, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::Info(h, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// `connectionState` and `signalingState`.
    pub async fn state(&self) -> Result<(ConnectionState, SignalingState), crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::State(tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// `localDescription`.
    pub async fn local_description(&self) -> Result<Option<String>, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::LocalDescription(tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// A channel's `bufferedAmount`.
    pub async fn buffered_amount(&self, h: ChannelHandle) -> Result<usize, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::Buffered(h, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// Sets a channel's `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(
        &self,
        h: ChannelHandle,
        bytes: usize,
    ) -> Result<(), crate::Error> {
        self.call(|r| Cmd::LowThreshold(h, bytes, r)).await
    }

    /// The SCTP association's counters, once it exists (a part of `getStats`).
    pub async fn sctp_stats(&self) -> Result<Option<weft_sctp::Stats>, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::SctpStats(tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// `restartIce`: new ICE credentials; `negotiationneeded` follows.
    pub async fn restart_ice(&self) -> Result<(), crate::Error> {
        self.call(Cmd::RestartIce).await
    }

    /// `getStats`: peer-connection, transport, candidate-pair and data-channel reports.
    pub async fn get_stats(&self) -> Result<StatsReport, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::Stats(tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        rx.await.map_err(|_| crate::Error::Closed)
    }

    /// `close`.
    pub async fn close(&self) {
        let _ = self.commands.send(Cmd::Close).await;
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Cmd::Close);
    }
}

async fn run(
    mut pc: weft_peerconnection::PeerConnection,
    sockets: Vec<UdpSocket>,
    mut commands: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<Event>,
) {
    let Some(socket) = sockets.into_iter().next() else {
        return;
    };
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; 65_536];
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut closing = false;
    loop {
        while let Some(t) = pc.poll_transmit() {
            if let Err(e) = socket.send_to(&t.payload, t.destination).await {
                debug!("peer connection: send to {} failed: {e}", t.destination);
            }
        }
        while let Some(ev) = pc.poll_event() {
            if events.send(ev).await.is_err() {
                return;
            }
        }
        if closing {
            return;
        }
        let timer = pc.poll_timeout();
        if let Some(at) = timer {
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) => pc.handle_input(now(), Received {
                    source: from,
                    destination: local,
                    transport: Transport::Udp,
                    payload: Bytes::copy_from_slice(&buf[..n]),
                }),
                Err(e) => debug!("peer connection: receive failed: {e}"),
            },
            _ = &mut sleep, if timer.is_some() => pc.handle_timeout(now()),
            cmd = commands.recv() => {
                let t = now();
                match cmd {
                    Some(Cmd::CreateOffer(r)) => { let _ = r.send(pc.create_offer().map_err(pc_err)); }
                    Some(Cmd::CreateAnswer(r)) => { let _ = r.send(pc.create_answer().map_err(pc_err)); }
                    Some(Cmd::SetLocal(k, s, r)) => { let _ = r.send(pc.set_local_description(t, k, &s).map_err(pc_err)); }
                    Some(Cmd::SetRemote(k, s, r)) => { let _ = r.send(pc.set_remote_description(t, k, &s).map_err(pc_err)); }
                    Some(Cmd::AddCandidate(c, r)) => { let _ = r.send(pc.add_ice_candidate(t, &c).map_err(pc_err)); }
                    Some(Cmd::CreateChannel(i, r)) => { let _ = r.send(pc.create_data_channel(t, i).map_err(pc_err)); }
                    Some(Cmd::Send(h, d, b, r)) => { let _ = r.send(pc.send(t, h, d, b).map_err(pc_err)); }
                    Some(Cmd::CloseChannel(h, r)) => { let _ = r.send(pc.close_channel(t, h).map_err(pc_err)); }
                    Some(Cmd::Info(h, r)) => {
                        let info = pc.channel_id(h).and_then(|id| pc.data_channels().and_then(|d| d.channel(id).cloned()));
                        let _ = r.send(info);
                    }
                    Some(Cmd::State(r)) => { let _ = r.send((pc.connection_state(), pc.jsep().signaling_state())); }
                    Some(Cmd::LocalDescription(r)) => { let _ = r.send(pc.jsep().local_description().map(|(_, s)| s.to_owned())); }
                    Some(Cmd::Buffered(h, r)) => { let _ = r.send(pc.buffered_amount(h)); }
                    Some(Cmd::LowThreshold(h, n, r)) => { let _ = r.send(pc.set_buffered_amount_low_threshold(h, n).map_err(pc_err)); }
                    Some(Cmd::SctpStats(r)) => { let _ = r.send(pc.data_channels().map(|d| d.sctp().stats())); }
                    Some(Cmd::Stats(r)) => { let _ = r.send(pc.stats()); }
                    Some(Cmd::RestartIce(r)) => { let _ = r.send(pc.restart_ice(t).map_err(pc_err)); }
                    Some(Cmd::Close) | None => {
                        pc.close(t);
                        closing = true;
                    }
                }
            }
        }
    }
}
