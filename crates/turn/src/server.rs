//! A sans-IO TURN server core (RFC 8656): authentication, allocations, permissions, channels
//! and relaying, with the security defaults of §21 and quotas.
//!
//! The core owns no sockets. Client traffic arrives as [`Received`] on a listening address;
//! traffic from peers arrives as [`Received`] whose destination is a relayed address. When an
//! Allocate needs a relayed address, the core asks the driver with [`Event::BindRelay`]; the
//! driver binds a UDP socket (it owns the port range) and answers with
//! [`Server::relay_bound`]. [`Event::RelayClosed`] tells it to close the socket again.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use log::{debug, info};
use weft_proto::{Received, Transmit, Transport};
use weft_stun::{
    AddressFamily, AttrType, Attribute, Challenge, Class, ErrorCode, Integrity, IntegrityKey,
    LongTermServer, LongTermServerConfig, Message, Method, TransactionId, User,
};

use crate::channel_data::{ChannelData, MIN_CHANNEL};

/// The last channel number the server accepts. RFC 8656 §12 narrowed the range to
/// 0x4000-0x4FFF; RFC 5766 allowed up to 0x7FFF and clients still use it (coturn's
/// `turnutils_uclient` among them), so the server accepts both.
pub const SERVER_MAX_CHANNEL: u16 = 0x7FFF;

/// An IP prefix (`10.0.0.0/8`) for peer address policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Whether `ip` is inside the prefix.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let p = self.prefix.min(32) as u32;
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let p = self.prefix.min(128) as u32;
                let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.parse().map_err(|_| format!("bad address in {s:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse().map_err(|_| format!("bad prefix in {s:?}"))?
        };
        if prefix > max {
            return Err(format!("prefix too long in {s:?}"));
        }
        Ok(Cidr { addr, prefix })
    }
}

/// Settings of a [`Server`]. Every security default is the safe one.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Realm of the long-term credentials.
    pub realm: String,
    /// Static users and their passwords.
    pub users: HashMap<String, String>,
    /// The TURN REST shared secret (coturn's `use-auth-secret`): usernames are
    /// `<unix expiry>[:<name>]` and passwords `base64(HMAC-SHA1(secret, username))`.
    pub auth_secret: Option<String>,
    /// Lifetime when the client asks for none or less (RFC 8656: 10 minutes).
    pub default_lifetime: Duration,
    /// Longest lifetime granted (1 hour).
    pub max_lifetime: Duration,
    /// Permission lifetime (RFC 8656 §9: 5 minutes, not negotiable).
    pub permission_lifetime: Duration,
    /// Channel binding lifetime (§12: 10 minutes).
    pub channel_lifetime: Duration,
    /// Allocations in all (508 Insufficient Capacity beyond).
    pub max_allocations: usize,
    /// Allocations per user (486 Allocation Quota Reached beyond).
    pub user_quota: usize,
    /// Bytes per second relayed per allocation (both directions); excess is dropped.
    pub bandwidth: Option<u64>,
    /// Peer addresses allowed even though the defaults deny them (loopback, private,
    /// link-local, multicast, unspecified are denied: RFC 8656 §21.3).
    pub allow_peers: Vec<Cidr>,
    /// Peer addresses always denied.
    pub deny_peers: Vec<Cidr>,
    /// How long a nonce is valid (438 Stale Nonce after).
    pub nonce_lifetime: Duration,
    /// SOFTWARE attribute in responses.
    pub software: Option<String>,
    /// Seed for nonces.
    pub rng_seed: Option<[u8; 32]>,
    /// Send every Allocate to this server instead (300 Try Alternate, RFC 8489 §10).
    pub alternate_server: Option<SocketAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            realm: "weft".into(),
            users: HashMap::new(),
            auth_secret: None,
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            permission_lifetime: Duration::from_secs(300),
            channel_lifetime: Duration::from_secs(600),
            max_allocations: 10_000,
            user_quota: 100,
            bandwidth: None,
            allow_peers: Vec::new(),
            deny_peers: Vec::new(),
            nonce_lifetime: Duration::from_secs(600),
            software: Some(concat!("weft-turn ", env!("CARGO_PKG_VERSION")).into()),
            rng_seed: None,
            alternate_server: None,
        }
    }
}

/// Why the driver could not bind a relayed address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelayError {
    /// No relay address of the requested family (440 Address Family not Supported).
    Family,
    /// No port free (508 Insufficient Capacity).
    Capacity,
}

/// What the server tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Bind a UDP socket for a new allocation of this family (an even port when `even_port`)
    /// and answer with [`Server::relay_bound`] and `token`.
    BindRelay {
        /// Identifies the pending Allocate.
        token: u64,
        /// IPv4 or IPv6.
        family: AddressFamily,
        /// EVEN-PORT was asked for.
        even_port: bool,
    },
    /// An allocation exists.
    AllocationCreated {
        /// The client's transport address.
        client: SocketAddr,
        /// The relayed address.
        relay: SocketAddr,
        /// The user it belongs to.
        user: String,
        /// Its lifetime.
        lifetime: Duration,
    },
    /// An allocation ended (expired, deleted by the client, or failed): close the relay socket.
    RelayClosed {
        /// The relayed address.
        relay: SocketAddr,
        /// Bytes relayed from client to peers.
        bytes_to_peers: u64,
        /// Bytes relayed from peers to the client.
        bytes_to_client: u64,
    },
}

/// Counters of a [`Server`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Allocations now.
    pub allocations: usize,
    /// Allocations made since start.
    pub allocations_total: u64,
    /// Requests answered with 401 or 438 (the first is the normal first step).
    pub challenges: u64,
    /// Requests whose credentials failed (wrong password, unknown user, expired REST name).
    pub auth_failures: u64,
    /// Bytes relayed from clients to peers.
    pub bytes_to_peers: u64,
    /// Bytes relayed from peers to clients.
    pub bytes_to_clients: u64,
    /// Datagrams dropped: no permission, denied peer, over the bandwidth cap, malformed.
    pub dropped: u64,
    /// Relaying refused because the peer address is denied.
    pub denied_peers: u64,
    /// Error responses sent (other than challenges).
    pub errors_sent: u64,
}

#[derive(Debug)]
struct Allocation {
    client: SocketAddr,
    server: SocketAddr,
    transport: Transport,
    relay: SocketAddr,
    user: String,
    expires: Instant,
    /// Permissions by peer IP, with their expiry.
    permissions: HashMap<IpAddr, Instant>,
    /// Channels: number -> (peer, expiry) and the reverse map.
    channels: HashMap<u16, (SocketAddr, Instant)>,
    by_peer: HashMap<SocketAddr, u16>,
    /// The Allocate transaction, to answer its retransmissions the same.
    allocate_tid: TransactionId,
    allocate_response: Vec<u8>,
    /// Token bucket for the bandwidth cap.
    tokens: f64,
    refilled: Instant,
    bytes_to_peers: u64,
    bytes_to_client: u64,
}

#[derive(Debug)]
struct Pending {
    client: SocketAddr,
    server: SocketAddr,
    transport: Transport,
    user: String,
    key: IntegrityKey,
    sha256: bool,
    tid: TransactionId,
    lifetime: Duration,
    dual: bool,
}

/// Most queued datagrams before the oldest are dropped.
const MAX_QUEUE: usize = 4096;

/// A TURN server core. See the module documentation.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    auth: LongTermServer,
    wall_at_start: SystemTime,
    start: Instant,
    now: Instant,
    allocations: HashMap<(SocketAddr, SocketAddr, Transport), Allocation>,
    relays: HashMap<SocketAddr, (SocketAddr, SocketAddr, Transport)>,
    per_user: HashMap<String, usize>,
    /// The addresses clients reached the server on (its listening sockets).
    listening: std::collections::HashSet<SocketAddr>,
    pending: HashMap<u64, Pending>,
    next_token: u64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: ServerStats,
}

impl Server {
    /// A server; `wall` is the wall-clock time at `now` (REST usernames carry unix times).
    pub fn new(config: ServerConfig, now: Instant, wall: SystemTime) -> Server {
        let auth = LongTermServer::new(LongTermServerConfig {
            realm: config.realm.clone(),
            nonce_lifetime: config.nonce_lifetime,
            rng_seed: config.rng_seed,
            ..LongTermServerConfig::default()
        });
        Server {
            config,
            auth,
            wall_at_start: wall,
            start: now,
            now,
            allocations: HashMap::new(),
            relays: HashMap::new(),
            per_user: HashMap::new(),
            listening: std::collections::HashSet::new(),
            pending: HashMap::new(),
            next_token: 1,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ServerStats::default(),
        }
    }

    /// A datagram from a client (to a listening address) or from a peer (to a relayed address).
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        self.now = self.now.max(now);
        if let Some(&key) = self.relays.get(&input.destination) {
            self.relay_from_peer(key, input.source, &input.payload);
            return;
        }
        if self.listening.len() < 64 {
            self.listening.insert(input.destination);
        }
        let data = &input.payload[..];
        if data.first().is_some_and(|b| (0x40..=0x7F).contains(b)) {
            self.channel_data_from_client(&input);
            return;
        }
        match Message::decode(data) {
            Ok(msg) => self.on_message(&input, &msg),
            Err(_) => {
                self.stats.dropped += 1;
                debug!("turn server: undecodable datagram from {}", input.source);
            }
        }
    }

    /// Expires allocations, permissions and channels that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        let expired: Vec<_> = self
            .allocations
            .iter()
            .filter(|(_, a)| a.expires <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.remove(k, "expired");
        }
        for a in self.allocations.values_mut() {
            a.permissions.retain(|_, e| *e > now);
            let gone: Vec<u16> = a
                .channels
                .iter()
                .filter(|(_, (_, e))| *e <= now)
                .map(|(n, _)| *n)
                .collect();
            for n in gone {
                if let Some((peer, _)) = a.channels.remove(&n) {
                    a.by_peer.remove(&peer);
                }
            }
        }
    }

    /// The driver bound (or failed to bind) the relayed address for a pending Allocate.
    pub fn relay_bound(&mut self, now: Instant, token: u64, relay: Result<SocketAddr, RelayError>) {
        self.now = self.now.max(now);
        let Some(p) = self.pending.remove(&token) else {
            return;
        };
        let k = (p.client, p.server, p.transport);
        let relay = match relay {
            Ok(r) if !self.relays.contains_key(&r) && !self.allocations.contains_key(&k) => r,
            Ok(r) => {
                // Someone else got there first: give the socket back.
                self.events.push_back(Event::RelayClosed {
                    relay: r,
                    bytes_to_peers: 0,
                    bytes_to_client: 0,
                });
                return self.error_reply(&p, ErrorCode::new(508, "Insufficient Capacity"));
            }
            Err(RelayError::Family) => {
                return self.error_reply(&p, ErrorCode::new(440, "Address Family not Supported"));
            }
            Err(_) => return self.error_reply(&p, ErrorCode::new(508, "Insufficient Capacity")),
        };
        let mut resp = Message::new(Class::Success, Method::ALLOCATE, p.tid)
            .with(Attribute::XorRelayedAddress(relay))
            .with(Attribute::Lifetime(p.lifetime.as_secs() as u32))
            .with(Attribute::XorMappedAddress(p.client));
        if let Some(s) = &self.config.software {
            resp.push(Attribute::Software(s));
        }
        if p.dual {
            // Dual allocations are not offered: the IPv4 one stands, the IPv6 one is refused
            // (RFC 8656 §7.2).
            resp.push(Attribute::AddressErrorCode {
                family: AddressFamily::V6,
                error: ErrorCode::new(440, "Address Family not Supported"),
            });
        }
        let bytes = sign(&resp, &p.key, p.sha256);
        self.send(p.server, p.client, p.transport, bytes.clone());
        *self.per_user.entry(p.user.clone()).or_default() += 1;
        self.stats.allocations_total += 1;
        info!(
            "turn server: allocation {relay} for {} ({}), {:?}",
            p.client, p.user, p.lifetime
        );
        self.events.push_back(Event::AllocationCreated {
            client: p.client,
            relay,
            user: p.user.clone(),
            lifetime: p.lifetime,
        });
        self.relays.insert(relay, k);
        self.allocations.insert(
            k,
            Allocation {
                client: p.client,
                server: p.server,
                transport: p.transport,
                relay,
                user: p.user,
                expires: self.now + p.lifetime,
                permissions: HashMap::new(),
                channels: HashMap::new(),
                by_peer: HashMap::new(),
                allocate_tid: p.tid,
                allocate_response: bytes,
                tokens: self.config.bandwidth.unwrap_or(0) as f64,
                refilled: self.now,
                bytes_to_peers: 0,
                bytes_to_client: 0,
            },
        );
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.allocations
            .values()
            .flat_map(|a| {
                std::iter::once(a.expires)
                    .chain(a.permissions.values().copied())
                    .chain(a.channels.values().map(|(_, e)| *e))
            })
            .min()
    }

    /// Counters.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            allocations: self.allocations.len(),
            ..self.stats.clone()
        }
    }

    /// The relayed addresses in use.
    pub fn relays(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.relays.keys().copied()
    }

    /// A TCP or TLS connection from `client` to `local` closed: its allocation ends with it
    /// (RFC 8656 §3.1).
    pub fn connection_closed(&mut self, client: SocketAddr, local: SocketAddr) {
        for t in [Transport::Tcp, Transport::Tls] {
            self.remove((client, local, t), "connection closed");
        }
    }

    /// Ends every allocation (graceful shutdown): the driver gets `RelayClosed` for each.
    pub fn shutdown(&mut self) {
        let keys: Vec<_> = self.allocations.keys().copied().collect();
        for k in keys {
            self.remove(k, "server shutdown");
        }
    }

    fn send(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        transport: Transport,
        payload: Vec<u8>,
    ) {
        if self.transmits.len() >= MAX_QUEUE {
            self.transmits.pop_front();
            self.stats.dropped += 1;
        }
        self.transmits.push_back(Transmit {
            source,
            destination,
            transport,
            payload: Bytes::from(payload),
        });
    }

    fn remove(&mut self, k: (SocketAddr, SocketAddr, Transport), why: &str) {
        if let Some(a) = self.allocations.remove(&k) {
            self.relays.remove(&a.relay);
            if let Some(n) = self.per_user.get_mut(&a.user) {
                *n = n.saturating_sub(1);
            }
            info!(
                "turn server: allocation {} of {} ended: {why}",
                a.relay, a.client
            );
            self.events.push_back(Event::RelayClosed {
                relay: a.relay,
                bytes_to_peers: a.bytes_to_peers,
                bytes_to_client: a.bytes_to_client,
            });
        }
    }

    fn unix_now(&self) -> u64 {
        (self.wall_at_start + self.now.saturating_duration_since(self.start))
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// The password of `username`, from the static users or the REST secret.
    fn password(&self, username: &str) -> Option<String> {
        if let Some(p) = self.config.users.get(username) {
            return Some(p.clone());
        }
        let secret = self.config.auth_secret.as_ref()?;
        let expiry: u64 = username.split(':').next()?.parse().ok()?;
        if expiry <= self.unix_now() {
            return None;
        }
        let key = openssl::pkey::PKey::hmac(secret.as_bytes()).ok()?;
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &key).ok()?;
        s.update(username.as_bytes()).ok()?;
        Some(openssl::base64::encode_block(&s.sign_to_vec().ok()?))
    }

    fn on_message(&mut self, input: &Received, msg: &Message<'_>) {
        let k = (input.source, input.destination, input.transport);
        match (msg.class, msg.method) {
            (Class::Request, Method::BINDING) => {
                let resp = Message::new(Class::Success, Method::BINDING, msg.transaction_id)
                    .with(Attribute::XorMappedAddress(input.source));
                if let Ok(b) = resp.to_vec(None, true) {
                    self.send(input.destination, input.source, input.transport, b);
                }
            }
            (Class::Indication, Method::SEND) => self.send_indication(k, msg),
            (Class::Request, m)
                if m == Method::ALLOCATE
                    || m == Method::REFRESH
                    || m == Method::CREATE_PERMISSION
                    || m == Method::CHANNEL_BIND =>
            {
                self.request(input, msg)
            }
            (Class::Request, _) => {
                self.stats.errors_sent += 1;
                let resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                    .with(Attribute::ErrorCode(ErrorCode::BAD_REQUEST));
                if let Ok(b) = resp.to_vec(None, true) {
                    self.send(input.destination, input.source, input.transport, b);
                }
            }
            _ => self.stats.dropped += 1,
        }
    }

    fn request(&mut self, input: &Received, msg: &Message<'_>) {
        let (src, dst, tr) = (input.source, input.destination, input.transport);
        let k = (src, dst, tr);
        // A retransmitted Allocate gets the same answer (RFC 8656 §7.2, step 3).
        if msg.method == Method::ALLOCATE
            && let Some(a) = self.allocations.get(&k)
            && a.allocate_tid == msg.transaction_id
        {
            let b = a.allocate_response.clone();
            return self.send(dst, src, tr, b);
        }
        let user = match self.auth.check(self.now, src, msg) {
            Ok(u) => u,
            Err(c) => return self.challenge(input, msg, c),
        };
        let name = match user {
            User::Name(n) => n.to_owned(),
            User::Hash(h) => match self
                .config
                .users
                .keys()
                .find(|u| weft_stun::userhash(u, &self.config.realm).is_ok_and(|x| x == h))
            {
                Some(u) => u.clone(),
                None => {
                    self.stats.auth_failures += 1;
                    return self.challenge(input, msg, Challenge::Unauthenticated);
                }
            },
        };
        let Some(password) = self.password(&name) else {
            self.stats.auth_failures += 1;
            return self.challenge(input, msg, Challenge::Unauthenticated);
        };
        let key = match self.auth.verify(msg, &name, &password) {
            Ok(k) => k,
            Err(c) => {
                self.stats.auth_failures += 1;
                return self.challenge(input, msg, c);
            }
        };
        let sha256 = msg.get(AttrType::MESSAGE_INTEGRITY_SHA256).is_some();
        if let Some(a) = self.allocations.get(&k)
            && a.user != name
        {
            return self.reply_error(
                k,
                msg,
                &key,
                sha256,
                ErrorCode::new(441, "Wrong Credentials"),
            );
        }
        match msg.method {
            Method::ALLOCATE => self.allocate(k, msg, name, key, sha256),
            Method::REFRESH => self.refresh(k, msg, &key, sha256),
            Method::CREATE_PERMISSION => self.create_permission(k, msg, &key, sha256),
            _ => self.channel_bind(k, msg, &key, sha256),
        }
    }

    fn challenge(&mut self, input: &Received, msg: &Message<'_>, c: Challenge) {
        self.stats.challenges += 1;
        let mut out = Vec::new();
        if self
            .auth
            .write_challenge(self.now, input.source, msg, c, &mut out)
            .is_ok()
        {
            self.send(input.destination, input.source, input.transport, out);
        }
    }

    fn reply_error(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        msg: &Message<'_>,
        key: &IntegrityKey,
        sha256: bool,
        code: ErrorCode<'_>,
    ) {
        self.stats.errors_sent += 1;
        debug!("turn server: {} {} to {}", code.code, code.reason, k.0);
        let resp = Message::new(Class::Error, msg.method, msg.transaction_id)
            .with(Attribute::ErrorCode(code));
        let b = sign(&resp, key, sha256);
        self.send(k.1, k.0, k.2, b);
    }

    fn error_reply(&mut self, p: &Pending, code: ErrorCode<'_>) {
        self.stats.errors_sent += 1;
        let resp =
            Message::new(Class::Error, Method::ALLOCATE, p.tid).with(Attribute::ErrorCode(code));
        let b = sign(&resp, &p.key, p.sha256);
        self.send(p.server, p.client, p.transport, b);
    }

    fn allocate(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        msg: &Message<'_>,
        user: String,
        key: IntegrityKey,
        sha256: bool,
    ) {
        if self.allocations.contains_key(&k)
            || self
                .pending
                .values()
                .any(|p| (p.client, p.server, p.transport) == k && p.tid != msg.transaction_id)
        {
            return self.reply_error(
                k,
                msg,
                &key,
                sha256,
                ErrorCode::new(437, "Allocation Mismatch"),
            );
        }
        if self
            .pending
            .values()
            .any(|p| (p.client, p.server, p.transport) == k)
        {
            return; // a retransmission while the relay is being bound
        }
        match msg.get(AttrType::REQUESTED_TRANSPORT) {
            Some(Attribute::RequestedTransport(17)) => {}
            Some(_) => {
                return self.reply_error(
                    k,
                    msg,
                    &key,
                    sha256,
                    ErrorCode::new(442, "Unsupported Transport Protocol"),
                );
            }
            None => return self.reply_error(k, msg, &key, sha256, ErrorCode::BAD_REQUEST),
        }
        if msg.get(AttrType::DONT_FRAGMENT).is_some() {
            // §7.2: a server that cannot set DF treats the attribute as unknown.
            self.stats.errors_sent += 1;
            let resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                .with(Attribute::ErrorCode(ErrorCode::UNKNOWN_ATTRIBUTE))
                .with(Attribute::UnknownAttributes(vec![
                    AttrType::DONT_FRAGMENT.0,
                ]));
            let b = sign(&resp, &key, sha256);
            return self.send(k.1, k.0, k.2, b);
        }
        if msg.get(AttrType::RESERVATION_TOKEN).is_some()
            || matches!(
                msg.get(AttrType::EVEN_PORT),
                Some(Attribute::EvenPort(true))
            )
        {
            return self.reply_error(
                k,
                msg,
                &key,
                sha256,
                ErrorCode::new(508, "Insufficient Capacity"),
            );
        }
        let family = match msg.get(AttrType::REQUESTED_ADDRESS_FAMILY) {
            Some(Attribute::RequestedAddressFamily(f)) => *f,
            _ => AddressFamily::V4,
        };
        let dual = family == AddressFamily::V4
            && matches!(
                msg.get(AttrType::ADDITIONAL_ADDRESS_FAMILY),
                Some(Attribute::AdditionalAddressFamily(AddressFamily::V6))
            );
        if let Some(alt) = self.config.alternate_server {
            self.stats.errors_sent += 1;
            let resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                .with(Attribute::ErrorCode(ErrorCode::TRY_ALTERNATE))
                .with(Attribute::AlternateServer(alt));
            let b = sign(&resp, &key, sha256);
            return self.send(k.1, k.0, k.2, b);
        }
        if self.allocations.len() + self.pending.len() >= self.config.max_allocations {
            return self.reply_error(
                k,
                msg,
                &key,
                sha256,
                ErrorCode::new(508, "Insufficient Capacity"),
            );
        }
        let mine = self.per_user.get(&user).copied().unwrap_or(0)
            + self.pending.values().filter(|p| p.user == user).count();
        if mine >= self.config.user_quota {
            return self.reply_error(
                k,
                msg,
                &key,
                sha256,
                ErrorCode::new(486, "Allocation Quota Reached"),
            );
        }
        let asked = match msg.get(AttrType::LIFETIME) {
            Some(Attribute::Lifetime(s)) => Duration::from_secs(*s as u64),
            _ => self.config.default_lifetime,
        };
        let lifetime = asked
            .max(self.config.default_lifetime)
            .min(self.config.max_lifetime);
        let token = self.next_token;
        self.next_token += 1;
        let even_port = matches!(msg.get(AttrType::EVEN_PORT), Some(Attribute::EvenPort(_)));
        self.pending.insert(
            token,
            Pending {
                client: k.0,
                server: k.1,
                transport: k.2,
                user,
                key,
                sha256,
                tid: msg.transaction_id,
                lifetime,
                dual,
            },
        );
        self.events.push_back(Event::BindRelay {
            token,
            family,
            even_port,
        });
    }

    fn refresh(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        msg: &Message<'_>,
        key: &IntegrityKey,
        sha256: bool,
    ) {
        if !self.allocations.contains_key(&k) {
            return self.reply_error(
                k,
                msg,
                key,
                sha256,
                ErrorCode::new(437, "Allocation Mismatch"),
            );
        }
        let asked = match msg.get(AttrType::LIFETIME) {
            Some(Attribute::Lifetime(s)) => Duration::from_secs(*s as u64),
            _ => self.config.default_lifetime,
        };
        let granted = if asked.is_zero() {
            self.remove(k, "deleted by the client");
            Duration::ZERO
        } else {
            let l = asked
                .max(self.config.default_lifetime)
                .min(self.config.max_lifetime);
            if let Some(a) = self.allocations.get_mut(&k) {
                a.expires = self.now + l;
            }
            l
        };
        let resp = Message::new(Class::Success, Method::REFRESH, msg.transaction_id)
            .with(Attribute::Lifetime(granted.as_secs() as u32));
        let b = sign(&resp, key, sha256);
        self.send(k.1, k.0, k.2, b);
    }

    fn peer_allowed(&self, peer: SocketAddr, relay: SocketAddr) -> bool {
        let ip = peer.ip();
        // Reflection (§21.2): never relay to the allocation itself or to a port the server
        // listens on, where the datagram would come back in as client traffic.
        if peer == relay || self.listening.contains(&peer) {
            return false;
        }
        if self.config.deny_peers.iter().any(|c| c.contains(ip)) {
            return false;
        }
        if self.config.allow_peers.iter().any(|c| c.contains(ip)) {
            return true;
        }
        !denied_by_default(ip)
    }

    /// §9.1 / §12.1: every peer must be of the relay's family (443) and allowed (403).
    fn check_peers(
        &mut self,
        relay: SocketAddr,
        peers: &[SocketAddr],
    ) -> Result<(), ErrorCode<'static>> {
        if peers.iter().any(|p| p.is_ipv4() != relay.is_ipv4()) {
            return Err(ErrorCode::new(443, "Peer Address Family Mismatch"));
        }
        if !peers.iter().all(|p| self.peer_allowed(*p, relay)) {
            self.stats.denied_peers += 1;
            return Err(ErrorCode::new(403, "Forbidden"));
        }
        Ok(())
    }

    fn create_permission(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        msg: &Message<'_>,
        key: &IntegrityKey,
        sha256: bool,
    ) {
        let Some(a) = self.allocations.get(&k) else {
            return self.reply_error(
                k,
                msg,
                key,
                sha256,
                ErrorCode::new(437, "Allocation Mismatch"),
            );
        };
        let relay = a.relay;
        let peers: Vec<SocketAddr> = msg
            .attributes
            .iter()
            .filter_map(|x| {
                if let Attribute::XorPeerAddress(p) = x {
                    Some(*p)
                } else {
                    None
                }
            })
            .collect();
        if peers.is_empty() {
            return self.reply_error(k, msg, key, sha256, ErrorCode::BAD_REQUEST);
        }
        if let Err(code) = self.check_peers(relay, &peers) {
            return self.reply_error(k, msg, key, sha256, code);
        }
        let until = self.now + self.config.permission_lifetime;
        if let Some(a) = self.allocations.get_mut(&k) {
            for p in peers {
                a.permissions.insert(p.ip(), until);
            }
        }
        let resp = Message::new(
            Class::Success,
            Method::CREATE_PERMISSION,
            msg.transaction_id,
        );
        let b = sign(&resp, key, sha256);
        self.send(k.1, k.0, k.2, b);
    }

    fn channel_bind(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        msg: &Message<'_>,
        key: &IntegrityKey,
        sha256: bool,
    ) {
        let Some(a) = self.allocations.get(&k) else {
            return self.reply_error(
                k,
                msg,
                key,
                sha256,
                ErrorCode::new(437, "Allocation Mismatch"),
            );
        };
        let relay = a.relay;
        let (Some(Attribute::ChannelNumber(n)), Some(Attribute::XorPeerAddress(peer))) = (
            msg.get(AttrType::CHANNEL_NUMBER),
            msg.get(AttrType::XOR_PEER_ADDRESS),
        ) else {
            debug!("turn server: ChannelBind without CHANNEL-NUMBER or XOR-PEER-ADDRESS");
            return self.reply_error(k, msg, key, sha256, ErrorCode::BAD_REQUEST);
        };
        let (n, peer) = (*n, *peer);
        if !(MIN_CHANNEL..=SERVER_MAX_CHANNEL).contains(&n) {
            debug!("turn server: channel number {n:#x} out of range");
            return self.reply_error(k, msg, key, sha256, ErrorCode::BAD_REQUEST);
        }
        // §12.2: the number must not be bound to another peer, nor the peer to another number.
        if a.channels.get(&n).is_some_and(|(p, _)| *p != peer)
            || a.by_peer.get(&peer).is_some_and(|m| *m != n)
        {
            debug!("turn server: channel {n:#x} or peer {peer} already bound otherwise");
            return self.reply_error(k, msg, key, sha256, ErrorCode::BAD_REQUEST);
        }
        if let Err(code) = self.check_peers(relay, &[peer]) {
            return self.reply_error(k, msg, key, sha256, code);
        }
        let (cl, pl) = (
            self.now + self.config.channel_lifetime,
            self.now + self.config.permission_lifetime,
        );
        if let Some(a) = self.allocations.get_mut(&k) {
            a.channels.insert(n, (peer, cl));
            a.by_peer.insert(peer, n);
            let e = a.permissions.entry(peer.ip()).or_insert(pl);
            *e = (*e).max(pl);
        }
        let resp = Message::new(Class::Success, Method::CHANNEL_BIND, msg.transaction_id);
        let b = sign(&resp, key, sha256);
        self.send(k.1, k.0, k.2, b);
    }

    /// Charges `len` bytes to the allocation's bandwidth budget; false when over.
    fn charge(&mut self, k: (SocketAddr, SocketAddr, Transport), len: usize) -> bool {
        let Some(rate) = self.config.bandwidth else {
            return true;
        };
        let now = self.now;
        let Some(a) = self.allocations.get_mut(&k) else {
            return false;
        };
        let dt = now.saturating_duration_since(a.refilled).as_secs_f64();
        a.refilled = now;
        // At most one second of burst.
        a.tokens = (a.tokens + dt * rate as f64).min(rate as f64);
        if a.tokens < len as f64 {
            return false;
        }
        a.tokens -= len as f64;
        true
    }

    fn send_indication(&mut self, k: (SocketAddr, SocketAddr, Transport), msg: &Message<'_>) {
        let (Some(Attribute::XorPeerAddress(peer)), Some(Attribute::Data(data))) =
            (msg.get(AttrType::XOR_PEER_ADDRESS), msg.get(AttrType::DATA))
        else {
            self.stats.dropped += 1;
            return;
        };
        self.relay_to_peer(k, *peer, data.to_vec());
    }

    fn channel_data_from_client(&mut self, input: &Received) {
        let k = (input.source, input.destination, input.transport);
        let p = &input.payload;
        if p.len() < 4 {
            self.stats.dropped += 1;
            return;
        }
        let channel = u16::from_be_bytes([p[0], p[1]]);
        let len = usize::from(u16::from_be_bytes([p[2], p[3]]));
        if p.len() < 4 + len {
            self.stats.dropped += 1;
            return;
        }
        let Some(peer) = self
            .allocations
            .get(&k)
            .and_then(|a| a.channels.get(&channel).map(|(p, _)| *p))
        else {
            self.stats.dropped += 1;
            return;
        };
        self.relay_to_peer(k, peer, p[4..4 + len].to_vec());
    }

    fn relay_to_peer(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        peer: SocketAddr,
        data: Vec<u8>,
    ) {
        let now = self.now;
        let Some(a) = self.allocations.get(&k) else {
            self.stats.dropped += 1;
            return;
        };
        let relay = a.relay;
        if a.permissions.get(&peer.ip()).is_none_or(|e| *e <= now)
            || !self.peer_allowed(peer, relay)
        {
            self.stats.dropped += 1;
            return;
        }
        if !self.charge(k, data.len()) {
            self.stats.dropped += 1;
            return;
        }
        let len = data.len() as u64;
        if let Some(a) = self.allocations.get_mut(&k) {
            a.bytes_to_peers += len;
        }
        self.stats.bytes_to_peers += len;
        self.send(relay, peer, Transport::Udp, data);
    }

    fn relay_from_peer(
        &mut self,
        k: (SocketAddr, SocketAddr, Transport),
        peer: SocketAddr,
        data: &[u8],
    ) {
        let now = self.now;
        let Some(a) = self.allocations.get(&k) else {
            return;
        };
        if a.permissions.get(&peer.ip()).is_none_or(|e| *e <= now) {
            self.stats.dropped += 1;
            return;
        }
        let channel = a
            .by_peer
            .get(&peer)
            .copied()
            .filter(|n| a.channels.get(n).is_some_and(|(_, e)| *e > now));
        let (client, server, transport) = (a.client, a.server, a.transport);
        if !self.charge(k, data.len()) {
            self.stats.dropped += 1;
            return;
        }
        let out = match channel {
            Some(n) => {
                let mut out = Vec::with_capacity(4 + data.len() + 3);
                // Stream transports pad ChannelData to 4 bytes (§12.5).
                ChannelData { channel: n, data }.encode(transport != Transport::Udp, &mut out);
                out
            }
            None => {
                let ind = Message::new(
                    Class::Indication,
                    Method::DATA,
                    TransactionId::new(indication_tid(self.stats.bytes_to_clients)),
                )
                .with(Attribute::XorPeerAddress(peer))
                .with(Attribute::Data(data));
                match ind.to_vec(None, true) {
                    Ok(b) => b,
                    Err(_) => {
                        self.stats.dropped += 1;
                        return;
                    }
                }
            }
        };
        let len = data.len() as u64;
        if let Some(a) = self.allocations.get_mut(&k) {
            a.bytes_to_client += len;
        }
        self.stats.bytes_to_clients += len;
        self.send(server, client, transport, out);
    }
}

/// RFC 8656 §21.3 and common practice: addresses a relay must not reach unless configured.
pub fn denied_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_multicast()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.octets()[0] == 0
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xC0) == 64) // 100.64/10 shared space
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return denied_by_default(IpAddr::V4(v4));
            }
            let s = a.segments()[0];
            a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80
        }
    }
}

fn sign(msg: &Message<'_>, key: &IntegrityKey, sha256: bool) -> Vec<u8> {
    let integrity = if sha256 {
        Integrity::Sha256 { key, len: 32 }
    } else {
        Integrity::Sha1(key)
    };
    // Responses are built from our own bounded attributes; encoding cannot exceed limits.
    msg.to_vec(Some(integrity), true).unwrap_or_default()
}

/// Data indications need unique transaction ids only in principle (they are never answered);
/// a counter keeps them distinct without a random source.
fn indication_tid(n: u64) -> [u8; 12] {
    let mut t = [0u8; 12];
    t[4..].copy_from_slice(&n.to_be_bytes());
    t
}
