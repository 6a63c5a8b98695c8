//! `PeerConnection`: the W3C peer connection in Rust form, on tokio. One task owns the sans-IO
//! `weft_peerconnection::PeerConnection` and a UDP socket per host address; the handle sends
//! commands and reads events (STYLE.md §7). Dropping the handle (or [`PeerConnection::close`])
//! closes the connection, ends the task and frees its sockets.
//!
//! ```no_run
//! # async fn demo(remote_offer: String) -> Result<(), weft::Error> {
//! use weft::peer::{Event, IceServer, PeerConnection, RtcConfiguration, SdpType};
//! let config = RtcConfiguration {
//!     ice_servers: vec![IceServer::new(["stun:stun.example.org"])],
//!     ..Default::default()
//! };
//! let mut pc = PeerConnection::new(config).await?;
//! pc.set_remote_description(SdpType::Offer, &remote_offer).await?;
//! let answer = pc.create_answer().await?;
//! pc.set_local_description(SdpType::Answer, &answer).await?;
//! while let Some(ev) = pc.next_event().await {
//!     match ev {
//!         Event::IceCandidate(c) => { /* signal `c` to the peer */ }
//!         Event::DataChannel(h) => pc.send_text(h, "hello").await?,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Gathering
//! Host candidates are gathered when the connection is made: one UDP socket per usable
//! interface address (IPv4 and IPv6; loopback and link-local addresses only when nothing else
//! exists or [`RtcConfiguration::include_loopback`] asks), narrowed by
//! [`RtcConfiguration::host_addresses`] or [`RtcConfiguration::interface_filter`].
//! Server-reflexive and relayed candidates come from [`RtcConfiguration::ice_servers`]: their
//! URIs are resolved here and the ICE agent runs the STUN and TURN requests from each host
//! socket of the server's address family, starting at the first `setLocalDescription` as in
//! browsers. Failures are [`Event::IceCandidateError`]s.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use log::{debug, info};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, oneshot};
pub use weft_datachannel::{ChannelInfo, ChannelInit};
pub use weft_dtls::{Certificate, KeyType};
use weft_ice::TcpType;
pub use weft_ice::{GatheringState, State as IceConnectionState};
pub use weft_peerconnection::jsep::{SdpType, SignalingState};
pub use weft_peerconnection::stats::StatsReport;
pub use weft_peerconnection::{
    ChannelHandle, ConnectionState, Event, IceTransportPolicy, MdnsMode, TransportState,
};
use weft_proto::{Received, Transmit, Transport};
pub use weft_sctp::State as SctpState;
use weft_stun::{Host, Scheme, Uri, UriTransport};

use crate::streams::{Streams, TlsTarget};
use crate::udp;

use crate::now;

/// W3C `RTCIceServer`: one server reachable at any of `urls`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceServer {
    /// `stun:`, `stuns:`, `turn:` or `turns:` URIs (RFC 7064, RFC 7065).
    pub urls: Vec<String>,
    /// The TURN user name.
    pub username: Option<String>,
    /// The TURN password.
    pub credential: Option<String>,
}

impl IceServer {
    /// A server without credentials (STUN).
    pub fn new<S: Into<String>>(urls: impl IntoIterator<Item = S>) -> Self {
        IceServer {
            urls: urls.into_iter().map(Into::into).collect(),
            username: None,
            credential: None,
        }
    }

    /// A TURN server with its long-term credentials.
    pub fn turn<S: Into<String>>(
        urls: impl IntoIterator<Item = S>,
        username: &str,
        credential: &str,
    ) -> Self {
        IceServer {
            username: Some(username.to_owned()),
            credential: Some(credential.to_owned()),
            ..IceServer::new(urls)
        }
    }
}

/// W3C `RTCBundlePolicy`. weft negotiates one BUNDLE transport for everything it offers (the
/// data section); the policy is kept, reported, and fixed for the connection's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BundlePolicy {
    /// `balanced` (the W3C default).
    #[default]
    Balanced,
    /// `max-compat`.
    MaxCompat,
    /// `max-bundle`.
    MaxBundle,
}

/// W3C `RTCRtcpMuxPolicy`: `require` is the only value left in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RtcpMuxPolicy {
    /// RTP and RTCP share one transport.
    #[default]
    Require,
}

/// An interface address offered to [`RtcConfiguration::interface_filter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface's name (`eth0`, `wlan0`, `lo`).
    pub name: String,
    /// The address.
    pub ip: IpAddr,
}

/// Chooses the interface addresses host candidates are gathered on.
#[derive(Clone)]
pub struct InterfaceFilter(pub Arc<dyn Fn(&InterfaceAddress) -> bool + Send + Sync>);

impl InterfaceFilter {
    /// A filter from a closure.
    pub fn new(f: impl Fn(&InterfaceAddress) -> bool + Send + Sync + 'static) -> Self {
        InterfaceFilter(Arc::new(f))
    }
}

impl fmt::Debug for InterfaceFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InterfaceFilter(..)")
    }
}

/// W3C `RTCConfiguration`, plus the gathering settings native programs need.
#[derive(Debug, Clone)]
pub struct RtcConfiguration {
    /// `iceServers`.
    pub ice_servers: Vec<IceServer>,
    /// `iceTransportPolicy`.
    pub ice_transport_policy: IceTransportPolicy,
    /// `bundlePolicy`.
    pub bundle_policy: BundlePolicy,
    /// `rtcpMuxPolicy`.
    pub rtcp_mux_policy: RtcpMuxPolicy,
    /// `certificates`: the first is used; a fresh ECDSA P-256 one when empty
    /// ([`generate_certificate`]).
    pub certificates: Vec<Certificate>,
    /// `iceCandidatePoolSize`. Host candidates are always gathered when the connection is
    /// made (they cost one socket each); server requests start at `setLocalDescription`. The
    /// value is kept and reported; it cannot change once a local description is set.
    pub ice_candidate_pool_size: u8,
    /// Host candidate addresses to bind instead of enumerating interfaces (empty:
    /// enumerate).
    pub host_addresses: Vec<IpAddr>,
    /// Enumerated addresses are kept only when this returns `true` (`None`: all of them).
    pub interface_filter: Option<InterfaceFilter>,
    /// Gather on loopback (and link-local) addresses too. They are used anyway when the
    /// machine has no other address.
    pub include_loopback: bool,
    /// mDNS: resolve the `.local` candidates browsers send (the default), and optionally
    /// hide our host addresses behind `.local` names too. Uses an IPv4 multicast socket on
    /// port 5353 (shared with other programs through `SO_REUSEADDR`), opened only while a
    /// name is registered or being resolved.
    pub mdns: MdnsMode,
    /// ICE-TCP (RFC 6544): a passive candidate (a listening socket) and an active one per
    /// host address, so that a peer whose UDP is blocked still connects. On by default.
    pub ice_tcp: bool,
    /// Deliver the events of channels the peer opens to their [`DataChannel`] objects
    /// ([`PeerConnection::data_channel`]) instead of [`PeerConnection::next_event`]. Until
    /// the application takes a channel's object, its events wait there (a few hundred; then
    /// messages wait in SCTP and the peer is slowed by its window: nothing is lost and
    /// memory stays bounded). Off by
    /// default: every event comes through `next_event`. Channels made with
    /// [`PeerConnection::create_channel`] always deliver to their object.
    pub channel_objects: bool,
    /// Check `turns:` servers' certificates (turn off only for tests with self-signed
    /// servers).
    pub tls_verify: bool,
    /// SCTP settings.
    pub sctp: weft_sctp::Config,
}

impl Default for RtcConfiguration {
    fn default() -> Self {
        RtcConfiguration {
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            bundle_policy: BundlePolicy::default(),
            rtcp_mux_policy: RtcpMuxPolicy::default(),
            certificates: Vec::new(),
            ice_candidate_pool_size: 0,
            host_addresses: Vec::new(),
            interface_filter: None,
            include_loopback: false,
            mdns: MdnsMode::default(),
            ice_tcp: true,
            channel_objects: false,
            tls_verify: true,
            sctp: weft_sctp::Config {
                zero_checksum: true,
                ..Default::default()
            },
        }
    }
}

impl RtcConfiguration {
    /// A configuration that gathers on 127.0.0.1 only (tests, demos, same-host peers).
    pub fn loopback() -> Self {
        RtcConfiguration {
            host_addresses: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
            ..Default::default()
        }
    }
}

/// `RTCPeerConnection.generateCertificate`: a self-signed certificate valid for 30 days.
pub fn generate_certificate(key_type: KeyType) -> Result<Certificate, crate::Error> {
    Ok(Certificate::generate(
        key_type,
        SystemTime::now(),
        Duration::from_secs(30 * 86400),
    )?)
}

/// The addresses host candidates are gathered on, per `config`: the given ones, else every
/// interface address the filter keeps (without loopback and link-local ones unless asked,
/// or unless nothing else exists).
pub fn gather_addresses(config: &RtcConfiguration) -> Vec<IpAddr> {
    if !config.host_addresses.is_empty() {
        return config.host_addresses.clone();
    }
    let all: Vec<InterfaceAddress> = match if_addrs::get_if_addrs() {
        Ok(v) => v
            .into_iter()
            .map(|i| InterfaceAddress {
                ip: i.ip(),
                name: i.name,
            })
            .collect(),
        Err(e) => {
            debug!("peer connection: cannot list interfaces: {e}");
            Vec::new()
        }
    };
    let keep = |a: &&InterfaceAddress| config.interface_filter.as_ref().is_none_or(|f| (f.0)(a));
    let special = |ip: &IpAddr| match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_link_local() || v.is_unspecified(),
        IpAddr::V6(v) => {
            v.is_loopback() || v.is_unspecified() || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    };
    let mut out: Vec<IpAddr> = all
        .iter()
        .filter(keep)
        .filter(|a| config.include_loopback || !special(&a.ip))
        .map(|a| a.ip)
        .collect();
    if out.is_empty() {
        out = all
            .iter()
            .filter(keep)
            .filter(|a| a.ip.is_loopback())
            .map(|a| a.ip)
            .collect();
    }
    if out.is_empty() && config.interface_filter.is_none() {
        out.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    let mut seen = HashSet::new();
    out.retain(|ip| seen.insert(*ip));
    out
}

/// W3C `RTCSctpTransport`, as far as it has numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SctpTransportInfo {
    /// The association's state.
    pub state: SctpState,
    /// `maxMessageSize`: the largest message this side may send.
    pub max_message_size: usize,
    /// `maxChannels`: the streams both sides allow.
    pub max_channels: u16,
}

type Core = weft_peerconnection::PeerConnection;
type R<T> = oneshot::Sender<Result<T, crate::Error>>;
pub use weft_datachannel::{ChannelState, Event as ChannelEvent};

/// Events a channel's queue holds before its object reads them (then the task waits).
const CHANNEL_QUEUE: usize = 256;
type Job = Box<dyn FnOnce(&mut Core, std::time::Instant) + Send>;

/// A channel's own event queue, between the connection's task and its [`DataChannel`].
/// Events travel boxed: a tokio channel allocates room for 32 items up front, and an idle
/// connection should not pay for 32 unboxed events per queue.
type ChannelRx = mpsc::Receiver<Box<ChannelEvent>>;

/// ICE servers, resolved: TURN and STUN servers for the agent, stream servers for the task.
type Servers = (
    Vec<weft_ice::TurnServer>,
    Vec<weft_ice::StunServer>,
    Vec<(SocketAddr, Option<TlsTarget>)>,
);

enum Cmd {
    /// Runs against the core and answers through its own channel.
    Run(Job),
    /// Creates a channel whose events go to its object. (The larger variants are boxed: the
    /// command queue allocates room for 32 commands up front.)
    CreateChannel(Box<ChannelInit>, R<(ChannelHandle, ChannelRx)>),
    /// Takes the event queue of a channel the peer opened.
    Claim(ChannelHandle, oneshot::Sender<Option<ChannelRx>>),
    /// New ICE servers to use (resolved).
    Servers(Box<Servers>),
    Close,
}

/// A peer connection run by its own task.
#[derive(Debug)]
pub struct PeerConnection {
    commands: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<Box<Event>>,
    local: Vec<SocketAddr>,
    config: RtcConfiguration,
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cmd")
    }
}

fn pc_err(e: weft_peerconnection::Error) -> crate::Error {
    crate::Error::PeerConnection(e)
}

/// One allocation or binding per host socket of the server's family.
struct Resolved {
    turn: Vec<weft_ice::TurnServer>,
    /// TURN servers reached over a stream, with TLS settings for `turns:`.
    streams: Vec<(SocketAddr, Option<TlsTarget>)>,
    stun: Vec<weft_ice::StunServer>,
    errors: Vec<Event>,
}

async fn resolve_servers(servers: &[IceServer], bases: &[SocketAddr], verify: bool) -> Resolved {
    let mut r = Resolved {
        turn: Vec::new(),
        streams: Vec::new(),
        stun: Vec::new(),
        errors: Vec::new(),
    };
    for s in servers {
        for url in &s.urls {
            let uri: Uri = match url.parse() {
                Ok(u) => u,
                Err(e) => {
                    r.errors.push(r_err(url, 701, format!("bad URI: {e}")));
                    continue;
                }
            };
            let stream = uri.scheme.is_secure() || uri.transport() != UriTransport::Udp;
            if stream && !uri.scheme.is_turn() {
                r.errors.push(r_err(
                    url,
                    701,
                    "STUN over TCP or TLS is not supported; use stun: over UDP".into(),
                ));
                continue;
            }
            if uri.scheme == Scheme::Turns && uri.transport() == UriTransport::Udp {
                r.errors
                    .push(r_err(url, 701, "TURN over DTLS is not supported".into()));
                continue;
            }
            let transport = match (uri.scheme.is_secure(), stream) {
                (true, _) => Transport::Tls,
                (false, true) => Transport::Tcp,
                (false, false) => Transport::Udp,
            };
            let addrs: Vec<SocketAddr> = match &uri.host {
                Host::Ip(ip) => vec![SocketAddr::new(*ip, uri.port())],
                Host::Domain(d) => {
                    let lookup = tokio::net::lookup_host((d.as_str(), uri.port()));
                    match tokio::time::timeout(Duration::from_secs(5), lookup).await {
                        Ok(Ok(a)) => a.collect(),
                        _ => Vec::new(),
                    }
                }
            };
            let mut used = false;
            for base in bases {
                let Some(server) = addrs.iter().find(|a| a.is_ipv4() == base.is_ipv4()) else {
                    continue;
                };
                used = true;
                if uri.scheme.is_turn() {
                    r.turn.push(weft_ice::TurnServer {
                        url: url.clone(),
                        server: *server,
                        local: *base,
                        username: s.username.clone().unwrap_or_default(),
                        password: s.credential.clone().unwrap_or_default(),
                        transport,
                    });
                    if transport != Transport::Udp {
                        let tls = (transport == Transport::Tls).then(|| TlsTarget {
                            domain: match &uri.host {
                                Host::Domain(d) => d.clone(),
                                Host::Ip(ip) => ip.to_string(),
                            },
                            verify,
                        });
                        r.streams.push((*server, tls));
                    }
                } else {
                    r.stun.push(weft_ice::StunServer {
                        url: url.clone(),
                        server: *server,
                        local: *base,
                    });
                }
            }
            if !used {
                r.errors.push(r_err(
                    url,
                    701,
                    format!("{} has no address of a host candidate's family", uri.host),
                ));
            }
        }
    }
    r
}

/// Hands resolved servers to the core; one it refuses is logged and skipped.
fn add_servers(
    pc: &mut Core,
    t: std::time::Instant,
    turn: Vec<weft_ice::TurnServer>,
    stun: Vec<weft_ice::StunServer>,
) {
    for s in turn {
        if let Err(e) = pc.add_turn_server(t, s) {
            debug!("peer connection: TURN server refused: {e}");
        }
    }
    for s in stun {
        if let Err(e) = pc.add_stun_server(t, s) {
            debug!("peer connection: STUN server refused: {e}");
        }
    }
}

fn r_err(url: &str, code: u16, text: String) -> Event {
    Event::IceCandidateError {
        url: url.to_owned(),
        code,
        text,
    }
}

impl PeerConnection {
    /// Binds the host sockets, gathers their host candidates, resolves the ICE servers and
    /// starts the task.
    pub async fn new(config: RtcConfiguration) -> Result<Self, crate::Error> {
        let cert = match config.certificates.first() {
            Some(c) => c.clone(),
            None => generate_certificate(KeyType::EcdsaP256)?,
        };
        let mut cfg = weft_peerconnection::Config::new(cert);
        cfg.sctp = config.sctp.clone();
        cfg.ice_transport_policy = config.ice_transport_policy;
        cfg.mdns = config.mdns;
        let t = now();
        let mut pc = Core::new(cfg, t, SystemTime::now()).map_err(pc_err)?;
        let mut sockets = Vec::new();
        let mut listeners = Vec::new();
        let mut local = Vec::new();
        for ip in gather_addresses(&config) {
            let s = match UdpSocket::bind(SocketAddr::new(ip, 0)).await {
                Ok(s) => s,
                Err(e) => {
                    debug!("peer connection: cannot bind {ip}: {e}");
                    continue;
                }
            };
            let a = s.local_addr()?;
            pc.add_local_candidate(t, weft_ice::Candidate::host(a))
                .map_err(pc_err)?;
            local.push(a);
            sockets.push(s);
            if config.ice_tcp {
                match TcpListener::bind(SocketAddr::new(ip, 0)).await {
                    Ok(l) => {
                        let la = l.local_addr()?;
                        pc.add_local_candidate(
                            t,
                            weft_ice::Candidate::host_tcp(la, TcpType::Passive),
                        )
                        .map_err(pc_err)?;
                        pc.add_local_candidate(
                            t,
                            weft_ice::Candidate::host_tcp(la, TcpType::Active),
                        )
                        .map_err(pc_err)?;
                        listeners.push(l);
                    }
                    Err(e) => debug!("peer connection: no ICE-TCP listener on {ip}: {e}"),
                }
            }
        }
        if sockets.is_empty() {
            return Err(crate::Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                "no interface address to gather host candidates on",
            )));
        }
        let resolved = resolve_servers(&config.ice_servers, &local, config.tls_verify).await;
        let mut streams = Streams::new();
        for (server, tls) in resolved.streams {
            streams.add_turn_server(server, tls);
        }
        for l in listeners {
            streams.listen(l);
        }
        add_servers(&mut pc, t, resolved.turn, resolved.stun);
        pc.end_of_local_candidates(t).map_err(pc_err)?;
        let (commands, rx) = mpsc::channel(256);
        let (etx, events) = mpsc::channel(1024);
        for e in resolved.errors {
            let _ = etx.try_send(Box::new(e));
        }
        info!("peer connection: host candidates on {local:?}");
        tokio::spawn(run(pc, config.channel_objects, sockets, streams, rx, etx));
        Ok(PeerConnection {
            commands,
            events,
            local,
            config,
        })
    }

    /// The bound host addresses.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// The next event; `None` once the connection is closed and every event was read.
    /// Together these form the connection's event stream.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await.map(|e| *e)
    }

    /// The callback adapter: reads events and calls `callbacks` for each until the
    /// connection ends.
    pub async fn dispatch(&mut self, callbacks: &mut Callbacks) {
        while let Some(ev) = self.events.recv().await {
            callbacks.call(*ev);
        }
    }

    /// Runs `f` on the sans-IO core inside the task and returns its result.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core, std::time::Instant) -> T + Send + 'static,
    ) -> Result<T, crate::Error> {
        run_on(&self.commands, f).await
    }

    /// [`Self::with`] for commands that can fail.
    async fn try_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core, std::time::Instant) -> Result<T, weft_peerconnection::Error>
        + Send
        + 'static,
    ) -> Result<T, crate::Error> {
        self.with(f).await?.map_err(pc_err)
    }

    /// `createOffer`.
    pub async fn create_offer(&self) -> Result<String, crate::Error> {
        self.try_with(|pc, _| pc.create_offer()).await
    }

    /// `createAnswer`.
    pub async fn create_answer(&self) -> Result<String, crate::Error> {
        self.try_with(|pc, _| pc.create_answer()).await
    }

    /// `setLocalDescription`.
    pub async fn set_local_description(
        &self,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), crate::Error> {
        let sdp = sdp.to_owned();
        self.try_with(move |pc, t| pc.set_local_description(t, kind, &sdp))
            .await
    }

    /// `setRemoteDescription`.
    pub async fn set_remote_description(
        &self,
        kind: SdpType,
        sdp: &str,
    ) -> Result<(), crate::Error> {
        let sdp = sdp.to_owned();
        self.try_with(move |pc, t| pc.set_remote_description(t, kind, &sdp))
            .await
    }

    /// `addIceCandidate` (the `candidate:` attribute value).
    pub async fn add_ice_candidate(&self, candidate: &str) -> Result<(), crate::Error> {
        let c = candidate.to_owned();
        self.try_with(move |pc, t| pc.add_ice_candidate(t, &c))
            .await
    }

    /// `createDataChannel`, W3C style: the channel object, which receives its own events.
    pub async fn create_channel(&self, init: ChannelInit) -> Result<DataChannel, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::CreateChannel(Box::new(init), tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        let (handle, events) = rx.await.map_err(|_| crate::Error::Closed)??;
        Ok(DataChannel {
            handle,
            commands: self.commands.downgrade(),
            events,
        })
    }

    /// The object of a channel the peer opened (after [`Event::DataChannel`]), with every
    /// event of the channel since it was announced, when
    /// [`RtcConfiguration::channel_objects`] is on. `None` if it was taken already, or
    /// the setting is off.
    pub async fn data_channel(
        &self,
        h: ChannelHandle,
    ) -> Result<Option<DataChannel>, crate::Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Cmd::Claim(h, tx))
            .await
            .map_err(|_| crate::Error::Closed)?;
        Ok(rx
            .await
            .map_err(|_| crate::Error::Closed)?
            .map(|events| DataChannel {
                handle: h,
                commands: self.commands.downgrade(),
                events,
            }))
    }

    /// `createDataChannel` for the handle API: its events come through
    /// [`PeerConnection::next_event`] as [`Event::Channel`].
    pub async fn create_data_channel(
        &self,
        init: ChannelInit,
    ) -> Result<ChannelHandle, crate::Error> {
        self.try_with(move |pc, t| pc.create_data_channel(t, init))
            .await
    }

    /// `RTCDataChannel.send` of binary data.
    pub async fn send(&self, h: ChannelHandle, data: Bytes) -> Result<(), crate::Error> {
        self.try_with(move |pc, t| pc.send(t, h, data, true)).await
    }

    /// `RTCDataChannel.send` of text.
    pub async fn send_text(&self, h: ChannelHandle, text: &str) -> Result<(), crate::Error> {
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.try_with(move |pc, t| pc.send(t, h, data, false)).await
    }

    /// `RTCDataChannel.close`.
    pub async fn close_channel(&self, h: ChannelHandle) -> Result<(), crate::Error> {
        self.try_with(move |pc, t| pc.close_channel(t, h)).await
    }

    /// The channel's label, protocol, state and counters.
    pub async fn channel(&self, h: ChannelHandle) -> Result<Option<ChannelInfo>, crate::Error> {
        self.with(move |pc, _| {
            pc.channel_id(h)
                .and_then(|id| pc.data_channels().and_then(|d| d.channel(id).cloned()))
        })
        .await
    }

    /// `connectionState` and `signalingState`.
    pub async fn state(&self) -> Result<(ConnectionState, SignalingState), crate::Error> {
        self.with(|pc, _| (pc.connection_state(), pc.jsep().signaling_state()))
            .await
    }

    /// `connectionState`.
    pub async fn connection_state(&self) -> Result<ConnectionState, crate::Error> {
        self.with(|pc, _| pc.connection_state()).await
    }

    /// `iceConnectionState`.
    pub async fn ice_connection_state(&self) -> Result<IceConnectionState, crate::Error> {
        self.with(|pc, _| pc.ice().map_or(IceConnectionState::Closed, |i| i.state()))
            .await
    }

    /// `iceGatheringState`.
    pub async fn ice_gathering_state(&self) -> Result<GatheringState, crate::Error> {
        self.with(|pc, _| pc.gathering_state()).await
    }

    /// `signalingState`.
    pub async fn signaling_state(&self) -> Result<SignalingState, crate::Error> {
        self.with(|pc, _| pc.jsep().signaling_state()).await
    }

    /// `localDescription`: the pending or current one, with the candidates gathered since
    /// it was set (and `a=end-of-candidates` once gathering is complete).
    pub async fn local_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| {
            pc.jsep()
                .local_description_with_candidates()
                .map(|(_, s)| s)
        })
        .await
    }

    /// `remoteDescription`.
    pub async fn remote_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| pc.jsep().remote_description().map(|(_, s)| s.to_owned()))
            .await
    }

    /// `currentLocalDescription`.
    pub async fn current_local_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| pc.jsep().current_local_description().map(str::to_owned))
            .await
    }

    /// `pendingLocalDescription`.
    pub async fn pending_local_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| pc.jsep().pending_local_description().map(str::to_owned))
            .await
    }

    /// `currentRemoteDescription`.
    pub async fn current_remote_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| pc.jsep().current_remote_description().map(str::to_owned))
            .await
    }

    /// `pendingRemoteDescription`.
    pub async fn pending_remote_description(&self) -> Result<Option<String>, crate::Error> {
        self.with(|pc, _| pc.jsep().pending_remote_description().map(str::to_owned))
            .await
    }

    /// `canTrickleIceCandidates`: `None` until a remote description is set.
    pub async fn can_trickle_ice_candidates(&self) -> Result<Option<bool>, crate::Error> {
        self.with(|pc, _| pc.jsep().remote_can_trickle()).await
    }

    /// `sctp`: `None` until a description with a data section is applied.
    pub async fn sctp(&self) -> Result<Option<SctpTransportInfo>, crate::Error> {
        let local_max = self.config.sctp.max_message_size;
        self.with(move |pc, _| {
            let dc = pc.data_channels()?;
            let remote = pc
                .jsep()
                .negotiated()
                .map_or(65536, |n| n.remote_max_message_size);
            let remote = if remote == 0 {
                usize::MAX
            } else {
                usize::try_from(remote).unwrap_or(usize::MAX)
            };
            let a = dc.sctp();
            Some(SctpTransportInfo {
                state: a.state(),
                max_message_size: remote.min(local_max),
                max_channels: a.outbound_streams().min(a.inbound_streams()),
            })
        })
        .await
    }

    /// A channel's `bufferedAmount`.
    pub async fn buffered_amount(&self, h: ChannelHandle) -> Result<usize, crate::Error> {
        self.with(move |pc, _| pc.buffered_amount(h)).await
    }

    /// Sets a channel's `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(
        &self,
        h: ChannelHandle,
        bytes: usize,
    ) -> Result<(), crate::Error> {
        self.try_with(move |pc, _| pc.set_buffered_amount_low_threshold(h, bytes))
            .await
    }

    /// The SCTP association's counters, once it exists (a part of `getStats`).
    pub async fn sctp_stats(&self) -> Result<Option<weft_sctp::Stats>, crate::Error> {
        self.with(|pc, _| pc.data_channels().map(|d| d.sctp().stats()))
            .await
    }

    /// `restartIce`: new ICE credentials; `negotiationneeded` follows.
    pub async fn restart_ice(&self) -> Result<(), crate::Error> {
        self.try_with(|pc, t| pc.restart_ice(t)).await
    }

    /// `getStats`: peer-connection, transport, candidate-pair, local and remote candidate,
    /// certificate and data-channel reports.
    pub async fn get_stats(&self) -> Result<StatsReport, crate::Error> {
        self.with(|pc, _| pc.stats()).await
    }

    /// `getConfiguration`.
    pub fn get_configuration(&self) -> &RtcConfiguration {
        &self.config
    }

    /// `setConfiguration`. As in the W3C algorithm, the certificates, the bundle and
    /// rtcp-mux policies and the host gathering settings cannot change, nor the pool size
    /// once a local description is set; the ICE transport policy cannot change once gathering
    /// started. ICE servers that were not in the old configuration are added (their
    /// requests start now, or at the first `setLocalDescription`); removed ones keep what
    /// they already gave until the connection closes.
    pub async fn set_configuration(
        &mut self,
        config: RtcConfiguration,
    ) -> Result<(), crate::Error> {
        let old = &self.config;
        let same_certs = config.certificates.is_empty()
            || config.certificates.len() == old.certificates.len()
                && config
                    .certificates
                    .iter()
                    .zip(&old.certificates)
                    .all(|(a, b)| {
                        a.fingerprint(weft_dtls::HashAlgorithm::Sha256).ok()
                            == b.fingerprint(weft_dtls::HashAlgorithm::Sha256).ok()
                    });
        let bad = |what: &'static str| Err(crate::Error::InvalidModification(what));
        if !same_certs {
            return bad("certificates");
        }
        if config.bundle_policy != old.bundle_policy {
            return bad("bundlePolicy");
        }
        if config.rtcp_mux_policy != old.rtcp_mux_policy {
            return bad("rtcpMuxPolicy");
        }
        if config.host_addresses != old.host_addresses
            || config.include_loopback != old.include_loopback
            || config.mdns != old.mdns
        {
            return bad("host gathering settings");
        }
        let started = self.ice_gathering_state().await? != GatheringState::New;
        if started && config.ice_candidate_pool_size != old.ice_candidate_pool_size {
            return bad("iceCandidatePoolSize");
        }
        if started && config.ice_transport_policy != old.ice_transport_policy {
            return bad("iceTransportPolicy");
        }
        let known: HashSet<&String> = old.ice_servers.iter().flat_map(|s| &s.urls).collect();
        let added: Vec<IceServer> = config
            .ice_servers
            .iter()
            .map(|s| IceServer {
                urls: s
                    .urls
                    .iter()
                    .filter(|u| !known.contains(u))
                    .cloned()
                    .collect(),
                ..s.clone()
            })
            .filter(|s| !s.urls.is_empty())
            .collect();
        let resolved = resolve_servers(&added, &self.local, config.tls_verify).await;
        self.commands
            .send(Cmd::Servers(Box::new((
                resolved.turn,
                resolved.stun,
                resolved.streams,
            ))))
            .await
            .map_err(|_| crate::Error::Closed)?;
        let certificates = if config.certificates.is_empty() {
            self.config.certificates.clone()
        } else {
            config.certificates.clone()
        };
        self.config = RtcConfiguration {
            certificates,
            ..config
        };
        if !resolved.errors.is_empty() {
            debug!(
                "peer connection: new ICE servers refused: {:?}",
                resolved.errors
            );
        }
        Ok(())
    }

    /// `close`.
    pub async fn close(&self) {
        let _ = self.commands.send(Cmd::Close).await;
    }
}

/// The optional callback adapter: W3C-style `on…` handlers, called by
/// [`PeerConnection::dispatch`] for each event as it arrives. Unset handlers skip their
/// events.
///
/// ```no_run
/// # async fn demo(mut pc: weft::PeerConnection) {
/// let mut cb = weft::Callbacks::default();
/// cb.on_ice_candidate = Some(Box::new(|c| println!("signal {c}")));
/// cb.on_connection_state_change = Some(Box::new(|s| println!("now {s:?}")));
/// pc.dispatch(&mut cb).await; // until the connection ends
/// # }
/// ```
#[derive(Default)]
#[allow(clippy::type_complexity)]
pub struct Callbacks {
    /// `onicecandidate`.
    pub on_ice_candidate: Option<Box<dyn FnMut(String) + Send>>,
    /// `onicecandidateerror`: URL, code, text.
    pub on_ice_candidate_error: Option<Box<dyn FnMut(String, u16, String) + Send>>,
    /// `onconnectionstatechange`.
    pub on_connection_state_change: Option<Box<dyn FnMut(ConnectionState) + Send>>,
    /// `oniceconnectionstatechange`.
    pub on_ice_connection_state_change: Option<Box<dyn FnMut(IceConnectionState) + Send>>,
    /// `onicegatheringstatechange`.
    pub on_ice_gathering_state_change: Option<Box<dyn FnMut(GatheringState) + Send>>,
    /// `onsignalingstatechange`.
    pub on_signaling_state_change: Option<Box<dyn FnMut(SignalingState) + Send>>,
    /// `onnegotiationneeded`.
    pub on_negotiation_needed: Option<Box<dyn FnMut() + Send>>,
    /// `ondatachannel` (the handle; take the object with [`PeerConnection::data_channel`]).
    pub on_data_channel: Option<Box<dyn FnMut(ChannelHandle) + Send>>,
    /// Events of channels that deliver on the connection ([`Event::Channel`]).
    pub on_channel_event: Option<Box<dyn FnMut(ChannelHandle, ChannelEvent) + Send>>,
    /// Every other event.
    pub on_other: Option<Box<dyn FnMut(Event) + Send>>,
}

impl fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Callbacks(..)")
    }
}

impl Callbacks {
    /// Calls the handler for `ev`, if set.
    pub fn call(&mut self, ev: Event) {
        fn go<A>(h: &mut Option<Box<dyn FnMut(A) + Send>>, a: A) {
            if let Some(h) = h.as_mut() {
                h(a)
            }
        }
        match ev {
            Event::IceCandidate(c) => go(&mut self.on_ice_candidate, c),
            Event::IceCandidateError { url, code, text } => {
                if let Some(h) = self.on_ice_candidate_error.as_mut() {
                    h(url, code, text)
                }
            }
            Event::ConnectionState(s) => go(&mut self.on_connection_state_change, s),
            Event::IceConnectionState(s) => go(&mut self.on_ice_connection_state_change, s),
            Event::IceGatheringState(s) => go(&mut self.on_ice_gathering_state_change, s),
            Event::SignalingState(s) => go(&mut self.on_signaling_state_change, s),
            Event::NegotiationNeeded => {
                if let Some(h) = self.on_negotiation_needed.as_mut() {
                    h()
                }
            }
            Event::DataChannel(h) => go(&mut self.on_data_channel, h),
            Event::Channel(h, e) => {
                if let Some(f) = self.on_channel_event.as_mut() {
                    f(h, e)
                }
            }
            other => go(&mut self.on_other, other),
        }
    }
}

/// Runs `f` on the sans-IO core inside the connection's task and returns its result.
async fn run_on<T: Send + 'static>(
    commands: &mpsc::Sender<Cmd>,
    f: impl FnOnce(&mut Core, std::time::Instant) -> T + Send + 'static,
) -> Result<T, crate::Error> {
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |pc, t| {
        let _ = tx.send(f(pc, t));
    });
    commands
        .send(Cmd::Run(job))
        .await
        .map_err(|_| crate::Error::Closed)?;
    rx.await.map_err(|_| crate::Error::Closed)
}

/// W3C `RTCDataChannel`: a channel with its own events. It does not keep the connection
/// alive: once the [`PeerConnection`] is dropped, its methods return [`crate::Error::Closed`].
///
/// Back-pressure: [`DataChannel::send`] queues in SCTP; watch
/// [`DataChannel::buffered_amount`] and wait for [`ChannelEvent::BufferedAmountLow`] after
/// setting [`DataChannel::set_buffered_amount_low_threshold`], as in browsers. Received
/// messages wait in a bounded queue; when the application stops reading, further messages
/// wait in SCTP, whose receive window shrinks by what it holds, so the peer slows down and
/// memory stays bounded (ICE and DTLS keep running meanwhile).
#[derive(Debug)]
pub struct DataChannel {
    handle: ChannelHandle,
    commands: mpsc::WeakSender<Cmd>,
    events: ChannelRx,
}

impl DataChannel {
    /// The handle of the channel (for [`PeerConnection`]'s handle methods).
    pub fn handle(&self) -> ChannelHandle {
        self.handle
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core, std::time::Instant) -> T + Send + 'static,
    ) -> Result<T, crate::Error> {
        let commands = self.commands.upgrade().ok_or(crate::Error::Closed)?;
        run_on(&commands, f).await
    }

    /// The next event: `open`, `message`, `bufferedamountlow`, `closing`, `close`, `error`.
    /// `None` once the connection is gone and every event was read.
    pub async fn next_event(&mut self) -> Option<ChannelEvent> {
        self.events.recv().await.map(|e| *e)
    }

    /// `send` of binary data.
    pub async fn send(&self, data: Bytes) -> Result<(), crate::Error> {
        let h = self.handle;
        self.with(move |pc, t| pc.send(t, h, data, true))
            .await?
            .map_err(pc_err)
    }

    /// `send` of text.
    pub async fn send_text(&self, text: &str) -> Result<(), crate::Error> {
        let h = self.handle;
        let data = Bytes::copy_from_slice(text.as_bytes());
        self.with(move |pc, t| pc.send(t, h, data, false))
            .await?
            .map_err(pc_err)
    }

    /// `label`, `protocol`, `id`, `ordered`, `maxPacketLifeTime`, `maxRetransmits`,
    /// `negotiated`, `readyState` and the counters.
    pub async fn info(&self) -> Result<Option<ChannelInfo>, crate::Error> {
        let h = self.handle;
        self.with(move |pc, _| {
            pc.channel_id(h)
                .and_then(|id| pc.data_channels().and_then(|d| d.channel(id).cloned()))
        })
        .await
    }

    /// `readyState`.
    pub async fn ready_state(&self) -> Result<ChannelState, crate::Error> {
        let h = self.handle;
        self.with(move |pc, _| {
            pc.channel_id(h)
                .and_then(|id| pc.data_channels().and_then(|d| d.channel(id)))
                .map_or(ChannelState::Connecting, |c| c.state)
        })
        .await
    }

    /// `bufferedAmount`.
    pub async fn buffered_amount(&self) -> Result<usize, crate::Error> {
        let h = self.handle;
        self.with(move |pc, _| pc.buffered_amount(h)).await
    }

    /// `bufferedAmountLowThreshold`.
    pub async fn buffered_amount_low_threshold(&self) -> Result<usize, crate::Error> {
        let h = self.handle;
        self.with(move |pc, _| {
            pc.channel_id(h)
                .and_then(|id| {
                    pc.data_channels()
                        .map(|d| d.buffered_amount_low_threshold(id))
                })
                .unwrap_or(0)
        })
        .await
    }

    /// Sets `bufferedAmountLowThreshold`.
    pub async fn set_buffered_amount_low_threshold(
        &self,
        bytes: usize,
    ) -> Result<(), crate::Error> {
        let h = self.handle;
        self.with(move |pc, _| pc.set_buffered_amount_low_threshold(h, bytes))
            .await?
            .map_err(pc_err)
    }

    /// `close`.
    pub async fn close(&self) -> Result<(), crate::Error> {
        let h = self.handle;
        self.with(move |pc, t| pc.close_channel(t, h))
            .await?
            .map_err(pc_err)
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        let _ = self.commands.try_send(Cmd::Close);
    }
}

/// Waits until one of `sockets` has a datagram; starts polling at `start` for fairness.
fn poll_any(
    sockets: &[udp::Socket],
    start: usize,
    cx: &mut std::task::Context<'_>,
) -> Poll<std::io::Result<()>> {
    let n = sockets.len();
    for k in 0..n {
        if let Poll::Ready(r) = sockets[(start + k) % n].poll_ready(cx) {
            return Poll::Ready(r);
        }
    }
    Poll::Pending
}

/// Where an event goes: the connection's stream or a channel object's queue.
enum Sink {
    Connection,
    Channel(mpsc::Sender<Box<ChannelEvent>>),
}

/// An event on its way.
enum Out {
    Connection(Event),
    Channel(ChannelEvent),
}

enum Delivered {
    Done,
    Full(Out),
    Gone(Sink),
}

fn deliver(events: &mpsc::Sender<Box<Event>>, to: &Sink, ev: Out) -> Delivered {
    use mpsc::error::TrySendError;
    match (to, ev) {
        (Sink::Connection, Out::Connection(e)) => match events.try_send(Box::new(e)) {
            Ok(()) => Delivered::Done,
            Err(TrySendError::Full(e)) => Delivered::Full(Out::Connection(*e)),
            Err(TrySendError::Closed(_)) => Delivered::Gone(Sink::Connection),
        },
        (Sink::Channel(s), Out::Channel(e)) => match s.try_send(Box::new(e)) {
            Ok(()) => Delivered::Done,
            Err(TrySendError::Full(e)) => Delivered::Full(Out::Channel(*e)),
            Err(TrySendError::Closed(_)) => Delivered::Gone(Sink::Channel(s.clone())),
        },
        // Not built: events are paired with their sink where they are made.
        (_, ev) => {
            debug!("peer connection: an event without its queue was dropped");
            let _ = ev;
            Delivered::Done
        }
    }
}

/// Waits until the queue of `to` has room; false when its reader is gone.
async fn wait_room(events: &mpsc::Sender<Box<Event>>, to: Option<&Sink>) -> bool {
    match to {
        Some(Sink::Connection) => events.reserve().await.is_ok(),
        Some(Sink::Channel(s)) => s.reserve().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Most datagrams read from the sockets before the machine's output is sent.
const RECV_BATCH: usize = 64;

async fn run(
    mut pc: Core,
    pc_channel_objects: bool,
    sockets: Vec<UdpSocket>,
    mut streams: Streams,
    mut commands: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<Box<Event>>,
) {
    let sockets: Vec<udp::Socket> = sockets
        .into_iter()
        .filter_map(|s| match udp::Socket::new(s) {
            Ok(s) => Some(s),
            Err(e) => {
                debug!("peer connection: a host socket is unusable: {e}");
                None
            }
        })
        .collect();
    if sockets.is_empty() {
        return;
    }
    let locals: Vec<SocketAddr> = sockets.iter().map(|s| s.local).collect();
    let mut batch: Vec<Transmit> = Vec::new();
    let mut inbound: Vec<Received> = Vec::new();
    let mut mdns: Option<UdpSocket> = None;
    let mut mdns_buf = Vec::new();
    let sleep = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(sleep);
    let mut closing = false;
    let mut start = 0usize;
    let channel_objects = pc_channel_objects;
    let mut sinks: HashMap<ChannelHandle, mpsc::Sender<Box<ChannelEvent>>> = HashMap::new();
    let mut parked: HashMap<ChannelHandle, ChannelRx> = HashMap::new();
    let mut pending: Option<(Sink, Out)> = None;
    let mut due_now = 0;
    loop {
        if mdns.is_none() && pc.wants_mdns() {
            mdns = open_mdns(&locals);
        }
        while let Some(t) = pc.poll_transmit() {
            if t.source.port() == weft_ice::mdns::PORT && t.source.ip().is_unspecified() {
                if let Some(m) = mdns.as_ref() {
                    let r = match m.try_send_to(&t.payload, t.destination) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            m.send_to(&t.payload, t.destination).await
                        }
                        r => r,
                    };
                    if let Err(e) = r {
                        debug!("peer connection: mDNS send failed: {e}");
                    }
                }
                continue;
            }
            if t.transport != Transport::Udp {
                streams.send(t);
                continue;
            }
            batch.push(t);
        }
        // Per socket, in order: runs to one peer leave as one GSO send.
        while !batch.is_empty() {
            let src = batch[0].source;
            let i = locals
                .iter()
                .position(|l| *l == src)
                .or_else(|| {
                    locals
                        .iter()
                        .position(|l| l.is_ipv4() == batch[0].destination.is_ipv4())
                })
                .unwrap_or(0);
            let n = batch.iter().take_while(|t| t.source == src).count();
            sockets[i].send_all(&batch[..n]).await;
            batch.drain(..n);
        }
        // Events go out until a queue is full; then the one in hand waits (below) while
        // the network, commands and timers are still served. Unread events pile up in the
        // core only to a bound; past it data channel messages wait in SCTP, whose window
        // tells the peer to slow down.
        while pending.is_none() {
            let Some(ev) = pc.poll_event() else { break };
            let (to, ev) = match ev {
                Event::Channel(h, cev) if sinks.contains_key(&h) => {
                    if matches!(cev, ChannelEvent::Closed(_)) {
                        // The channel's last event; its queue ends after it.
                        parked.remove(&h);
                        match sinks.remove(&h) {
                            Some(s) => (Sink::Channel(s), Out::Channel(cev)),
                            None => continue,
                        }
                    } else {
                        match sinks.get(&h) {
                            Some(s) => (Sink::Channel(s.clone()), Out::Channel(cev)),
                            None => continue,
                        }
                    }
                }
                Event::DataChannel(h) if channel_objects && parked.len() < 1024 => {
                    let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
                    sinks.insert(h, tx);
                    parked.insert(h, rx);
                    (Sink::Connection, Out::Connection(Event::DataChannel(h)))
                }
                ev => (Sink::Connection, Out::Connection(ev)),
            };
            match deliver(&events, &to, ev) {
                Delivered::Done => {}
                Delivered::Full(ev) => pending = Some((to, ev)),
                Delivered::Gone(Sink::Connection) => {
                    // Nobody listens any more: the handle is gone.
                    pc.close(now());
                    closing = true;
                    break;
                }
                Delivered::Gone(_) => {
                    // Nobody reads this channel's object any more.
                    sinks.retain(|_, s| !s.is_closed());
                }
            }
        }
        if closing {
            while let Some(t) = pc.poll_transmit() {
                if let Some(i) = locals.iter().position(|l| *l == t.source) {
                    let _ = sockets[i].socket.try_send_to(&t.payload, t.destination);
                }
            }
            return;
        }
        let timer = pc.poll_timeout();
        if let Some(at) = timer {
            // A deadline already due runs now: tokio's timer wheel has millisecond steps,
            // and a check or retransmission due now should not wait for the next one.
            let t = now();
            if at <= t && due_now < 16 {
                due_now += 1;
                pc.handle_timeout(t);
                continue;
            }
            sleep.as_mut().reset(tokio::time::Instant::from_std(at));
        }
        due_now = 0;
        tokio::select! {
            ok = wait_room(&events, pending.as_ref().map(|p| &p.0)), if pending.is_some() => {
                if let Some((to, ev)) = pending.take() {
                    if !ok {
                        if matches!(to, Sink::Connection) {
                            pc.close(now());
                            closing = true;
                        }
                    } else if let Delivered::Full(ev) = deliver(&events, &to, ev) {
                        pending = Some((to, ev));
                    }
                }
            },
            r = std::future::poll_fn(|cx| poll_any(&sockets, start, cx)) => {
                start = start.wrapping_add(1);
                if let Err(e) = r {
                    debug!("peer connection: receive failed: {e}");
                }
                // Read what is waiting on every socket, then answer it all at once.
                let t = now();
                loop {
                    let mut got = 0;
                    for s in &sockets {
                        got += s.drain(RECV_BATCH, &mut inbound);
                    }
                    for r in inbound.drain(..) {
                        pc.handle_input(t, r);
                    }
                    if got == 0 || got >= RECV_BATCH {
                        break;
                    }
                }
            },
            r = recv_mdns(mdns.as_ref(), &mut mdns_buf) => match r {
                Ok((n, from)) => {
                    let local = SocketAddr::from(([0, 0, 0, 0], weft_ice::mdns::PORT));
                    pc.handle_mdns_input(now(), received(from, local, &mdns_buf[..n]));
                }
                Err(e) => debug!("peer connection: mDNS receive failed: {e}"),
            },
            Some(ev) = streams.rx.recv() => {
                if let Some(r) = streams.handle(*ev) {
                    pc.handle_input(now(), r);
                }
            },
            _ = &mut sleep, if timer.is_some() => pc.handle_timeout(now()),
            cmd = commands.recv() => {
                let t = now();
                match cmd {
                    Some(Cmd::Run(job)) => job(&mut pc, t),
                    Some(Cmd::CreateChannel(init, r)) => {
                        let made = pc.create_data_channel(t, *init).map_err(pc_err).map(|h| {
                            let (tx, rx) = mpsc::channel(CHANNEL_QUEUE);
                            sinks.insert(h, tx);
                            (h, rx)
                        });
                        let _ = r.send(made);
                    }
                    Some(Cmd::Claim(h, r)) => {
                        let _ = r.send(parked.remove(&h));
                    }
                    Some(Cmd::Servers(servers)) => {
                        let (turn, stun, stream_servers) = *servers;
                        for (server, tls) in stream_servers {
                            streams.add_turn_server(server, tls);
                        }
                        add_servers(&mut pc, t, turn, stun);
                    }
                    Some(Cmd::Close) | None => {
                        pc.close(t);
                        closing = true;
                    }
                }
            }
        }
    }
}

/// Receives on the mDNS socket, or never when there is none.
async fn recv_mdns(
    socket: Option<&UdpSocket>,
    buf: &mut Vec<u8>,
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => {
            buf.resize(9000, 0);
            s.recv_from(buf).await
        }
        None => std::future::pending().await,
    }
}

/// The IPv4 mDNS socket: port 5353 shared with other responders on the machine
/// (`SO_REUSEADDR`/`SO_REUSEPORT`), the group joined on every IPv4 host address, looped back
/// so that programs on this machine hear each other.
fn open_mdns(locals: &[SocketAddr]) -> Option<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let group = Ipv4Addr::new(224, 0, 0, 251);
    let open = || -> std::io::Result<UdpSocket> {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        s.set_nonblocking(true)?;
        s.bind(&SocketAddr::from(([0, 0, 0, 0], weft_ice::mdns::PORT)).into())?;
        let v4: Vec<Ipv4Addr> = locals
            .iter()
            .filter_map(|a| match a.ip() {
                IpAddr::V4(ip) => Some(ip),
                IpAddr::V6(_) => None,
            })
            .collect();
        for ip in &v4 {
            if let Err(e) = s.join_multicast_v4(&group, ip) {
                debug!("peer connection: cannot join the mDNS group on {ip}: {e}");
            }
        }
        if let Some(ip) = v4.first() {
            s.set_multicast_if_v4(ip)?;
        }
        s.set_multicast_loop_v4(true)?;
        s.set_multicast_ttl_v4(255)?;
        UdpSocket::from_std(s.into())
    };
    match open() {
        Ok(s) => Some(s),
        Err(e) => {
            debug!("peer connection: no mDNS socket: {e}");
            None
        }
    }
}

fn received(source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Received {
    Received {
        source,
        destination,
        transport: Transport::Udp,
        payload: Bytes::copy_from_slice(payload),
    }
}
