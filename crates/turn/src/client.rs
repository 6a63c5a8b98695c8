//! The sans-IO TURN client: one allocation on one server (RFC 8656 §7-§12).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, info};
use weft_proto::{Received, Redacted, Transmit, Transport};
use weft_stun::{
    AddressFamily, Attribute, Class, ClientConfig, ClientEvent, LongTermClient, Message, Method,
    TransactionId,
};

use crate::channel_data::{ChannelData, MAX_CHANNEL, MIN_CHANNEL, is_channel_data};
use crate::error::Error;

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The TURN server.
    pub server: SocketAddr,
    /// The local address the client sends from.
    pub local: SocketAddr,
    /// The transport to the server. On TCP and TLS the driver frames messages (STUN by its
    /// length field, ChannelData by its header) and the client pads ChannelData.
    pub transport: Transport,
    /// The long-term credentials.
    pub username: String,
    /// The password.
    pub password: String,
    /// The allocation lifetime to ask for (RFC 8656 §7.2: the server may shorten it).
    pub lifetime: Duration,
    /// STUN transaction settings (retransmission, transaction-id seed).
    pub stun: ClientConfig,
    /// The family of the relayed address (REQUESTED-ADDRESS-FAMILY, RFC 8656 §7.1); IPv4
    /// unless set.
    pub address_family: AddressFamily,
    /// Ask for an IPv6 relayed address next to the IPv4 one (ADDITIONAL-ADDRESS-FAMILY,
    /// dual allocation); ignored when `address_family` is IPv6.
    pub dual_stack: bool,
    /// Ask the server to set DF on relayed datagrams (DONT-FRAGMENT).
    pub dont_fragment: bool,
    /// Ask for an even relay port, reserving the next one when `Some(true)` (EVEN-PORT).
    pub even_port: Option<bool>,
    /// Use a port the server reserved earlier (RESERVATION-TOKEN).
    pub reservation_token: Option<[u8; 8]>,
    /// How many 300 Try Alternate redirects to follow.
    pub max_redirects: u8,
}

impl Config {
    /// Defaults for a server, a local address and credentials.
    pub fn new(server: SocketAddr, local: SocketAddr, username: &str, password: &str) -> Self {
        Config {
            server,
            local,
            transport: Transport::Udp,
            username: username.to_string(),
            password: password.to_string(),
            lifetime: Duration::from_secs(600),
            stun: ClientConfig::default(),
            address_family: AddressFamily::V4,
            dual_stack: false,
            dont_fragment: false,
            even_port: None,
            reservation_token: None,
            max_redirects: 2,
        }
    }
}

/// What a [`Client`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The allocation exists.
    Allocated {
        /// The relayed transport address peers send to.
        relayed: SocketAddr,
        /// The second relayed address of a dual allocation, when the server granted one.
        also_relayed: Option<SocketAddr>,
        /// The token of the port the server reserved (EVEN-PORT with R set).
        reservation_token: Option<[u8; 8]>,
        /// This client's address as the server sees it.
        mapped: Option<SocketAddr>,
        /// How long the server keeps it without a refresh.
        lifetime: Duration,
    },
    /// The allocation failed or was lost; the client is done.
    AllocationFailed {
        /// The TURN/STUN error code, or 0 when the server did not answer.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// A permission for a peer address is installed (RFC 8656 §9).
    PermissionCreated(IpAddr),
    /// A permission could not be installed or refreshed.
    PermissionFailed {
        /// The peer address.
        peer: IpAddr,
        /// The error code, or 0 for a timeout.
        code: u16,
    },
    /// A channel is bound to a peer (RFC 8656 §11).
    ChannelBound {
        /// The peer.
        peer: SocketAddr,
        /// The channel number.
        channel: u16,
    },
    /// A channel could not be bound or refreshed.
    ChannelFailed {
        /// The peer.
        peer: SocketAddr,
        /// The error code, or 0 for a timeout.
        code: u16,
    },
    /// Data a peer sent to the relayed address.
    Data {
        /// The peer.
        peer: SocketAddr,
        /// The data.
        data: Bytes,
    },
    /// The allocation was released with [`Client::close`].
    Closed,
    /// The server answered 300 Try Alternate: the client now talks to `server` (the driver
    /// must send there, and over a new connection on TCP/TLS).
    Redirected {
        /// The alternate server.
        server: SocketAddr,
    },
}

/// Counters of a [`Client`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data sent in Send indications.
    pub send_indications: u64,
    /// Data sent as ChannelData.
    pub channel_data_sent: u64,
    /// Data received (Data indications and ChannelData).
    pub data_received: u64,
    /// Datagrams dropped: not from the server, malformed, or for an unknown channel.
    pub dropped: u64,
}

/// Permissions last 300 s (RFC 8656 §9); refresh a minute early.
const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// Channel bindings last 600 s (RFC 8656 §11); refresh a minute early.
const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// How often a request is retried after 401/438 before giving up.
const MAX_AUTH_RETRIES: u8 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Allocate,
    Refresh(u32),
    Permission(IpAddr),
    ChannelBind(u16, SocketAddr),
}

#[derive(Debug)]
enum State {
    Allocating,
    Allocated {
        relayed: SocketAddr,
        refresh_at: Instant,
    },
    Closing,
    Done,
}

#[derive(Debug)]
struct Permission {
    ip: IpAddr,
    installed: bool,
    refresh_at: Option<Instant>,
}

#[derive(Debug)]
struct Channel {
    number: u16,
    peer: SocketAddr,
    bound: bool,
    refresh_at: Option<Instant>,
}

/// A TURN client for one allocation: allocate with long-term credentials (401, 438 and the
/// SHA-256 password algorithm handled), refresh before expiry, permissions and channel
/// bindings with their refreshes, Send/Data indications and ChannelData.
///
/// It is sans-IO like every weft machine: feed datagrams from the server with
/// [`Client::handle_input`], fire [`Client::handle_timeout`] at [`Client::poll_timeout`], and
/// send what [`Client::poll_transmit`] returns.
#[derive(Debug)]
pub struct Client {
    config: Config,
    stun: weft_stun::Client,
    auth: LongTermClient,
    state: State,
    pending: HashMap<TransactionId, (Purpose, u8)>,
    permissions: Vec<Permission>,
    channels: Vec<Channel>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    now: Instant,
    stats: Stats,
    redirects: u8,
}

impl Client {
    /// A client; the Allocate request goes out at once.
    pub fn new(config: Config, now: Instant) -> Result<Self, Error> {
        let auth = LongTermClient::new(&config.username, &config.password)?;
        let stun = weft_stun::Client::new(config.stun.clone());
        let mut c = Client {
            config,
            stun,
            auth,
            state: State::Allocating,
            pending: HashMap::new(),
            permissions: Vec::new(),
            channels: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            now,
            stats: Stats::default(),
            redirects: 0,
        };
        c.request(Purpose::Allocate, 0)?;
        Ok(c)
    }

    /// The relayed address, once allocated.
    pub fn relayed_address(&self) -> Option<SocketAddr> {
        match self.state {
            State::Allocated { relayed, .. } => Some(relayed),
            _ => None,
        }
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Asks for a permission so that `peer` may send to the relayed address and receive
    /// from it (RFC 8656 §9). It is refreshed while the allocation lives.
    pub fn create_permission(&mut self, now: Instant, peer: IpAddr) -> Result<(), Error> {
        self.tick(now);
        self.allocated()?;
        if !self.permissions.iter().any(|p| p.ip == peer) {
            self.permissions.push(Permission {
                ip: peer,
                installed: false,
                refresh_at: None,
            });
        }
        self.request(Purpose::Permission(peer), 0)?;
        self.drain_stun();
        Ok(())
    }

    /// Binds a channel to `peer` (RFC 8656 §11): cheaper framing for its data. Returns the
    /// channel number; [`Event::ChannelBound`] says when it is usable.
    pub fn bind_channel(&mut self, now: Instant, peer: SocketAddr) -> Result<u16, Error> {
        self.tick(now);
        self.allocated()?;
        if let Some(c) = self.channels.iter().find(|c| c.peer == peer) {
            return Ok(c.number);
        }
        let number = (MIN_CHANNEL..=MAX_CHANNEL)
            .find(|n| !self.channels.iter().any(|c| c.number == *n))
            .ok_or(Error::ChannelsExhausted)?;
        self.channels.push(Channel {
            number,
            peer,
            bound: false,
            refresh_at: None,
        });
        self.request(Purpose::ChannelBind(number, peer), 0)?;
        self.drain_stun();
        Ok(number)
    }

    /// Sends data to a peer through the relay: as ChannelData when a channel is bound, else
    /// in a Send indication (which needs a permission for the peer's address).
    pub fn send(&mut self, now: Instant, peer: SocketAddr, data: &[u8]) -> Result<(), Error> {
        self.tick(now);
        self.allocated()?;
        let mut out = Vec::with_capacity(data.len() + 40);
        if let Some(c) = self.channels.iter().find(|c| c.peer == peer && c.bound) {
            ChannelData {
                channel: c.number,
                data,
            }
            .encode(self.config.transport.is_reliable(), &mut out);
            self.stats.channel_data_sent += 1;
        } else if self.permissions.iter().any(|p| p.ip == peer.ip()) {
            let id = self.stun.new_transaction_id();
            Message::new(Class::Indication, Method::SEND, id)
                .with(Attribute::XorPeerAddress(peer))
                .with(Attribute::Data(data))
                .encode(None, true, &mut out)?;
            self.stats.send_indications += 1;
        } else {
            return Err(Error::NoPermission(peer.ip()));
        }
        self.transmit(Bytes::from(out));
        Ok(())
    }

    /// Releases the allocation (a Refresh with LIFETIME 0, RFC 8656 §7.2).
    pub fn close(&mut self, now: Instant) -> Result<(), Error> {
        self.tick(now);
        self.allocated()?;
        self.state = State::Closing;
        self.request(Purpose::Refresh(0), 0)?;
        self.drain_stun();
        Ok(())
    }

    /// Feeds a datagram (or a framed message) that arrived from the server.
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        self.tick(now);
        if input.source != self.config.server {
            self.stats.dropped += 1;
            return;
        }
        if is_channel_data(&input.payload) {
            match ChannelData::decode(&input.payload) {
                Ok(m) => match self.channels.iter().find(|c| c.number == m.channel) {
                    Some(c) => {
                        let peer = c.peer;
                        let data = input.payload.slice_ref(m.data);
                        self.stats.data_received += 1;
                        self.events.push_back(Event::Data { peer, data });
                    }
                    None => self.stats.dropped += 1,
                },
                Err(e) => {
                    debug!("turn: dropped ChannelData: {e}");
                    self.stats.dropped += 1;
                }
            }
            return;
        }
        let Ok(msg) = Message::decode(&input.payload) else {
            self.stats.dropped += 1;
            return;
        };
        if msg.class == Class::Indication && msg.method == Method::DATA {
            let peer = msg.attributes.iter().find_map(|a| match a {
                Attribute::XorPeerAddress(p) => Some(*p),
                _ => None,
            });
            let data = msg.attributes.iter().find_map(|a| match a {
                Attribute::Data(d) => Some(*d),
                _ => None,
            });
            match (peer, data) {
                (Some(peer), Some(d)) => {
                    let data = input.payload.slice_ref(d);
                    self.stats.data_received += 1;
                    self.events.push_back(Event::Data { peer, data });
                }
                _ => self.stats.dropped += 1,
            }
            return;
        }
        self.stun.handle_input(now, input);
        self.drain_stun();
    }

    /// Retransmits, refreshes the allocation, permissions and channels when due. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        let now = self.now;
        self.stun.handle_timeout(now);
        let lifetime = self.config.lifetime;
        let refresh_due = match &mut self.state {
            State::Allocated { refresh_at, .. } if now >= *refresh_at => {
                // Until the answer arrives, do not ask again.
                *refresh_at = now + lifetime;
                true
            }
            _ => false,
        };
        if refresh_due {
            self.refresh_request(Purpose::Refresh(self.lifetime_secs()));
        }
        let due_perms: Vec<IpAddr> = self
            .permissions
            .iter_mut()
            .filter(|p| p.refresh_at.is_some_and(|t| now >= t))
            .map(|p| {
                p.refresh_at = None;
                p.ip
            })
            .collect();
        for ip in due_perms {
            self.refresh_request(Purpose::Permission(ip));
        }
        let due_chans: Vec<(u16, SocketAddr)> = self
            .channels
            .iter_mut()
            .filter(|c| c.refresh_at.is_some_and(|t| now >= t))
            .map(|c| {
                c.refresh_at = None;
                (c.number, c.peer)
            })
            .collect();
        for (n, peer) in due_chans {
            self.refresh_request(Purpose::ChannelBind(n, peer));
        }
        self.drain_stun();
    }

    /// The next datagram to send to the server.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let refresh = match self.state {
            State::Allocated { refresh_at, .. } => Some(refresh_at),
            _ => None,
        };
        [
            self.stun.poll_timeout(),
            refresh,
            self.permissions.iter().filter_map(|p| p.refresh_at).min(),
            self.channels.iter().filter_map(|c| c.refresh_at).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The requested lifetime in whole seconds, as LIFETIME carries it.
    fn lifetime_secs(&self) -> u32 {
        self.config.lifetime.as_secs().min(u64::from(u32::MAX)) as u32
    }

    /// Starts a timer-driven refresh; a refusal (too many transactions in flight) fails the
    /// thing refreshed, as if the server had not answered.
    fn refresh_request(&mut self, purpose: Purpose) {
        if let Err(e) = self.request(purpose, 0) {
            self.on_failure(purpose, 0, e.to_string());
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn allocated(&self) -> Result<(), Error> {
        match self.state {
            State::Allocated { .. } => Ok(()),
            _ => Err(Error::NotAllocated),
        }
    }

    fn transmit(&mut self, payload: Bytes) {
        self.transmits.push_back(Transmit {
            source: self.config.local,
            destination: self.config.server,
            transport: self.config.transport,
            payload,
        });
    }

    /// Builds, signs (once a challenge was answered) and starts a request for `purpose`.
    fn request(&mut self, purpose: Purpose, retries: u8) -> Result<(), Error> {
        let id = self.stun.new_transaction_id();
        let (method, attrs): (Method, Vec<Attribute<'_>>) = match purpose {
            Purpose::Allocate => {
                // UDP relaying (IP protocol 17), RFC 8656 §7.1.
                let mut v = vec![
                    Attribute::RequestedTransport(17),
                    Attribute::Lifetime(self.lifetime_secs()),
                ];
                if self.config.address_family == AddressFamily::V6 {
                    v.push(Attribute::RequestedAddressFamily(AddressFamily::V6));
                } else if self.config.dual_stack {
                    v.push(Attribute::AdditionalAddressFamily(AddressFamily::V6));
                }
                if self.config.dont_fragment {
                    v.push(Attribute::DontFragment);
                }
                if let Some(token) = self.config.reservation_token {
                    v.push(Attribute::ReservationToken(token));
                } else if let Some(reserve) = self.config.even_port {
                    v.push(Attribute::EvenPort(reserve));
                }
                (Method::ALLOCATE, v)
            }
            Purpose::Refresh(secs) => (Method::REFRESH, vec![Attribute::Lifetime(secs)]),
            Purpose::Permission(ip) => (
                Method::CREATE_PERMISSION,
                vec![Attribute::XorPeerAddress(SocketAddr::new(ip, 0))],
            ),
            Purpose::ChannelBind(n, peer) => (
                Method::CHANNEL_BIND,
                vec![Attribute::ChannelNumber(n), Attribute::XorPeerAddress(peer)],
            ),
        };
        let mut msg = Message::new(Class::Request, method, id);
        for a in attrs {
            msg.push(a);
        }
        let bytes = if self.auth.is_ready() {
            let integrity = self.auth.authenticate(&mut msg)?;
            msg.to_vec(Some(integrity), true)?
        } else {
            msg.to_vec(None, true)?
        };
        let (local, server, transport) =
            (self.config.local, self.config.server, self.config.transport);
        let id = self
            .stun
            .start(self.now, local, server, transport, Bytes::from(bytes))?;
        self.pending.insert(id, (purpose, retries));
        self.drain_transmits();
        Ok(())
    }

    fn drain_transmits(&mut self) {
        while let Some(t) = self.stun.poll_transmit() {
            self.transmits.push_back(t);
        }
    }

    /// Moves STUN transmits out and turns STUN events into TURN state and events.
    fn drain_stun(&mut self) {
        self.drain_transmits();
        while let Some(ev) = self.stun.poll_event() {
            match ev {
                ClientEvent::Response { id, payload, .. } => {
                    if let Some((purpose, retries)) = self.pending.remove(&id) {
                        self.on_response(purpose, retries, &payload);
                    }
                }
                ClientEvent::TimedOut { id } => {
                    if let Some((purpose, _)) = self.pending.remove(&id) {
                        self.on_failure(purpose, 0, "no response".into());
                    }
                }
                _ => {}
            }
            self.drain_transmits();
        }
    }

    fn on_response(&mut self, purpose: Purpose, retries: u8, payload: &[u8]) {
        let Ok(msg) = Message::decode(payload) else {
            return self.on_failure(purpose, 0, "malformed response".into());
        };
        if msg.class == Class::Error {
            let (code, reason) = msg.error_code().map_or((0, String::new()), |e| {
                (e.code, e.reason.trim_end_matches('\0').to_string())
            });
            // RFC 8489 §10: 300 Try Alternate moves the allocation to another server.
            if code == 300
                && matches!(purpose, Purpose::Allocate)
                && self.redirects < self.config.max_redirects
            {
                let alternate = msg.attributes.iter().find_map(|a| match a {
                    Attribute::AlternateServer(s) => Some(*s),
                    _ => None,
                });
                if let Some(server) = alternate
                    && let Ok(auth) =
                        LongTermClient::new(&self.config.username, &self.config.password)
                {
                    self.redirects += 1;
                    self.config.server = server;
                    self.auth = auth;
                    info!("turn: redirected to {}", Redacted(server));
                    self.events.push_back(Event::Redirected { server });
                    if self.request(purpose, 0).is_ok() {
                        return;
                    }
                }
            }
            // RFC 8656 §7.3 / RFC 8489 §9.2.5: answer the challenge and try again.
            if matches!(code, 401 | 438)
                && retries < MAX_AUTH_RETRIES
                && self.auth.handle_challenge(&msg).unwrap_or(false)
                && self.request(purpose, retries + 1).is_ok()
            {
                return;
            }
            return self.on_failure(purpose, code, reason);
        }
        if self.auth.is_ready() && self.auth.verify_response(&msg).is_err() {
            // A response that does not verify is not from the server we authenticated with.
            debug!("turn: dropped a response that fails integrity");
            return self.on_failure(purpose, 0, "response failed integrity".into());
        }
        let now = self.now;
        match purpose {
            Purpose::Allocate => {
                let mut relayed = None;
                let mut also_relayed = None;
                let mut reservation_token = None;
                let mut mapped = None;
                let mut lifetime = self.config.lifetime;
                for a in &msg.attributes {
                    match a {
                        Attribute::XorRelayedAddress(r) if relayed.is_none() => relayed = Some(*r),
                        Attribute::XorRelayedAddress(r) => also_relayed = also_relayed.or(Some(*r)),
                        Attribute::ReservationToken(t) => reservation_token = Some(*t),
                        Attribute::XorMappedAddress(m) => mapped = Some(*m),
                        Attribute::Lifetime(s) => lifetime = Duration::from_secs(u64::from(*s)),
                        _ => {}
                    }
                }
                let Some(relayed) = relayed else {
                    return self.on_failure(purpose, 0, "no XOR-RELAYED-ADDRESS".into());
                };
                info!("turn: allocated {} for {:?}", Redacted(relayed), lifetime);
                self.state = State::Allocated {
                    relayed,
                    refresh_at: now + refresh_margin(lifetime),
                };
                self.events.push_back(Event::Allocated {
                    relayed,
                    also_relayed,
                    reservation_token,
                    mapped,
                    lifetime,
                });
            }
            Purpose::Refresh(0) => {
                self.state = State::Done;
                self.events.push_back(Event::Closed);
            }
            Purpose::Refresh(_) => {
                let lifetime = msg
                    .attributes
                    .iter()
                    .find_map(|a| match a {
                        Attribute::Lifetime(s) => Some(Duration::from_secs(u64::from(*s))),
                        _ => None,
                    })
                    .unwrap_or(self.config.lifetime);
                if let State::Allocated { refresh_at, .. } = &mut self.state {
                    *refresh_at = now + refresh_margin(lifetime);
                }
            }
            Purpose::Permission(ip) => {
                if let Some(p) = self.permissions.iter_mut().find(|p| p.ip == ip) {
                    let first = !p.installed;
                    p.installed = true;
                    p.refresh_at = Some(now + PERMISSION_REFRESH);
                    if first {
                        self.events.push_back(Event::PermissionCreated(ip));
                    }
                }
            }
            Purpose::ChannelBind(n, peer) => {
                if let Some(c) = self.channels.iter_mut().find(|c| c.number == n) {
                    let first = !c.bound;
                    c.bound = true;
                    c.refresh_at = Some(now + CHANNEL_REFRESH);
                    // A channel binding also installs a permission (RFC 8656 §11.2).
                    if !self.permissions.iter().any(|p| p.ip == peer.ip()) {
                        self.permissions.push(Permission {
                            ip: peer.ip(),
                            installed: true,
                            refresh_at: None,
                        });
                    }
                    if first {
                        self.events
                            .push_back(Event::ChannelBound { peer, channel: n });
                    }
                }
            }
        }
    }

    fn on_failure(&mut self, purpose: Purpose, code: u16, reason: String) {
        match purpose {
            Purpose::Allocate | Purpose::Refresh(_) => {
                info!("turn: allocation failed: {code} {reason}");
                self.state = State::Done;
                self.events
                    .push_back(Event::AllocationFailed { code, reason });
            }
            Purpose::Permission(ip) => {
                self.permissions.retain(|p| p.ip != ip);
                self.events
                    .push_back(Event::PermissionFailed { peer: ip, code });
            }
            Purpose::ChannelBind(n, peer) => {
                self.channels.retain(|c| c.number != n);
                self.events.push_back(Event::ChannelFailed { peer, code });
            }
        }
    }
}

/// When to refresh an allocation of `lifetime`: a minute early, or halfway for short ones.
fn refresh_margin(lifetime: Duration) -> Duration {
    if lifetime > Duration::from_secs(120) {
        lifetime - Duration::from_secs(60)
    } else {
        lifetime / 2
    }
}
