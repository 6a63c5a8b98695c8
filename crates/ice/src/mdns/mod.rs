//! mDNS for ICE candidates (draft-ietf-mmusic-mdns-ice-candidates, with the subset of
//! RFC 6762 it needs): a sans-IO [`Mdns`] machine that hides local addresses behind random
//! `.local` names and resolves the names browsers put in their candidates, and the DNS
//! wire codec it speaks ([`Message`]).
//!
//! # Driver contract
//!
//! The driver owns the multicast sockets (`224.0.0.251:5353` and `[ff02::fb]:5353`, joined on
//! the interfaces ICE uses, RFC 6762 §3) and drives the machine like every weft machine:
//! datagrams that arrive on them go to [`Mdns::handle_input`], the timer at
//! [`Mdns::poll_timeout`] to [`Mdns::handle_timeout`], and [`Mdns::poll_transmit`] is
//! drained after every call. A transmit's `source` is the unspecified address of its family
//! with port 5353: send it from that family's mDNS socket. Its `destination` is the group,
//! or the asker for a unicast answer. The driver should drop what arrives from off-link
//! (RFC 6762 §11: IP TTL 255, or a local source address); the machine checks the port.
//!
//! - Local side: [`Mdns::register`] gives a fresh name (a version 4 UUID + `.local`) for a
//!   host candidate's address; signal the candidate with the name in place of the address
//!   (`let mut s = c.to_sdp(); s.address = name;`), and the machine answers queries for it.
//! - Remote side: a candidate whose address is a name parses as
//!   [`ParseErrorKind::UnresolvedAddress`](crate::ParseErrorKind::UnresolvedAddress); call
//!   [`Mdns::resolve`] with the name, and on [`MdnsEvent::Resolved`] put the address in the
//!   SDP candidate and hand it to [`Agent::add_remote_candidate`](crate::Agent::add_remote_candidate).
//!   [`MdnsEvent::Failed`] means the candidate is dropped (as browsers do).
//!
//! ```
//! use std::time::Instant;
//! use weft_ice::mdns::{Mdns, MdnsConfig, MdnsEvent};
//! use weft_proto::Received;
//!
//! let now = Instant::now();
//! // No announcements here, so that bob has to ask.
//! let config = |seed| MdnsConfig { rng_seed: Some([seed; 32]), announcements: 0, ..MdnsConfig::default() };
//! let mut alice = Mdns::new(config(1));
//! let mut bob = Mdns::new(config(2));
//! let name = alice.register(now, "192.168.1.20".parse().unwrap())?;
//! bob.resolve(now, &name)?;
//! // The link delivers each multicast datagram to the other side, from port 5353.
//! let link = |t: weft_proto::Transmit, from: &str| Received {
//!     source: from.parse().unwrap(), ..Received::from(t)
//! };
//! while let Some(t) = bob.poll_transmit() { alice.handle_input(now, link(t, "192.168.1.30:5353")); }
//! while let Some(t) = alice.poll_transmit() { bob.handle_input(now, link(t, "192.168.1.20:5353")); }
//! assert_eq!(
//!     bob.poll_event(),
//!     Some(MdnsEvent::Resolved { name, addr: "192.168.1.20".parse().unwrap() })
//! );
//! # Ok::<(), weft_ice::Error>(())
//! ```
//!
//! # What is implemented
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 1035 | §4.1 messages, §4.1.4 compression (decoding) | names written uncompressed |
//! | RFC 6762 | §5.2 queries with doubling retries (QU clear), §5.4 QU answered by unicast, §6 answers (multicast, at most one per record per second, TTL 120 s, cache-flush set), §6.7 legacy unicast answers, §7.1 known-answer suppression, §8.3 announcements, §10.1 goodbyes, §11 source port check, §18 header rules | no probing (§8.1: a random UUID does not collide), no conflict resolution (§9), no NSEC negative answers (§6.1); the cache holds `.local` address records only |
//! | draft-ietf-mmusic-mdns-ice-candidates | §3.1.1 one UUIDv4 name per address, §3.2 resolving `.local` candidates | the ICE agent itself stays address-based: the driver swaps names and addresses |

pub mod wire;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, info, trace};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use weft_proto::{Received, Redacted, Transmit, Transport};

pub use wire::{
    Flags, Message, Name, ParseError, ParseErrorKind, Question, Record, RecordClass, RecordData,
    RecordType,
};

use crate::error::Error;

/// The mDNS port.
pub const PORT: u16 = 5353;
/// The IPv4 mDNS group.
pub const GROUP_V4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), PORT);
/// The IPv6 mDNS group (link-local scope).
pub const GROUP_V6: SocketAddr = SocketAddr::new(
    IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb)),
    PORT,
);

/// Settings of an [`Mdns`] machine. Start from [`MdnsConfig::default`].
#[derive(Debug, Clone)]
pub struct MdnsConfig {
    /// The seed of the name generator; OS entropy when `None`. Tests always pass one.
    pub rng_seed: Option<[u8; 32]>,
    /// Send queries and announcements to the IPv4 group.
    pub ipv4: bool,
    /// Send queries and announcements to the IPv6 group.
    pub ipv6: bool,
    /// The wait before a query is repeated; it doubles each time (RFC 6762 §5.2: at least
    /// 1 s, the default).
    pub query_interval: Duration,
    /// How long [`Mdns::resolve`] tries before [`MdnsEvent::Failed`] (default 5 s).
    pub resolve_timeout: Duration,
    /// The TTL of the records this machine answers with (RFC 6762 §10: 120 s for records
    /// that carry a host name).
    pub ttl: Duration,
    /// How many times a new name is announced, one second apart (RFC 6762 §8.3: 2 by
    /// default; 0 to stay silent until asked).
    pub announcements: u32,
    /// The most registered names.
    pub max_names: usize,
    /// The most names being resolved at once.
    pub max_queries: usize,
    /// The most names remembered from answers and announcements (until their TTL ends; the
    /// entry closest to expiry goes first).
    pub max_cache: usize,
    /// The most queued transmits and events; beyond it, new ones are dropped and counted.
    pub max_queue: usize,
}

impl Default for MdnsConfig {
    fn default() -> Self {
        MdnsConfig {
            rng_seed: None,
            ipv4: true,
            ipv6: true,
            query_interval: Duration::from_secs(1),
            resolve_timeout: Duration::from_secs(5),
            ttl: Duration::from_secs(120),
            announcements: 2,
            max_names: 32,
            max_queries: 32,
            max_cache: 64,
            max_queue: 256,
        }
    }
}

/// What an [`Mdns`] machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MdnsEvent {
    /// A name given to [`Mdns::resolve`] has this address.
    Resolved {
        /// The name, as given to [`Mdns::resolve`].
        name: String,
        /// The address its owner answered with.
        addr: IpAddr,
    },
    /// Nobody answered for a name within [`MdnsConfig::resolve_timeout`].
    Failed {
        /// The name, as given to [`Mdns::resolve`].
        name: String,
    },
}

/// Counters of an [`Mdns`] machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MdnsStats {
    /// Query messages sent (first sends and retries, per group).
    pub queries_sent: u64,
    /// Response messages sent (answers, announcements, goodbyes).
    pub responses_sent: u64,
    /// Datagrams that were not DNS messages.
    pub malformed: u64,
    /// Well-formed messages with nothing for this machine, or refused (wrong port, opcode,
    /// rcode), and answers held back by the one-per-second rule.
    pub ignored: u64,
    /// Names resolved.
    pub resolved: u64,
    /// Resolutions that timed out.
    pub failed: u64,
    /// Transmits or events dropped because a queue was full.
    pub dropped: u64,
}

/// A sans-IO mDNS responder and resolver for ICE host candidates (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct Mdns {
    config: MdnsConfig,
    rng: ChaCha20Rng,
    now: Option<Instant>,
    names: Vec<Registered>,
    queries: Vec<Query>,
    cache: Vec<Cached>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MdnsEvent>,
    stats: MdnsStats,
}

#[derive(Debug)]
struct Registered {
    name: Name,
    addr: IpAddr,
    announcements_left: u32,
    next_announcement: Option<Instant>,
    /// RFC 6762 §6: when the record was last multicast.
    last_multicast: Option<Instant>,
}

#[derive(Debug)]
struct Query {
    /// As the caller spelled it.
    text: String,
    name: Name,
    interval: Duration,
    next_send: Instant,
    deadline: Instant,
}

#[derive(Debug)]
struct Cached {
    name: Name,
    addr: IpAddr,
    expires: Instant,
}

/// The longest a heard record is cached, in seconds (75 minutes, the longest TTL RFC 6762
/// §10 recommends).
const MAX_CACHE_TTL: u32 = 4500;
/// The TTL of legacy unicast answers (RFC 6762 §6.7: at most 10 s).
const LEGACY_TTL: u32 = 10;
/// RFC 6762 §6: a record is multicast at most once per second.
const MULTICAST_SPACING: Duration = Duration::from_secs(1);
/// RFC 6762 §8.3: announcements are one second apart (at least).
const ANNOUNCE_SPACING: Duration = Duration::from_secs(1);

impl Mdns {
    /// A machine with no name registered and nothing to resolve.
    pub fn new(config: MdnsConfig) -> Self {
        let seed = config.rng_seed.unwrap_or_else(crate::agent::os_seed);
        Mdns {
            config,
            rng: ChaCha20Rng::from_seed(seed),
            now: None,
            names: Vec::new(),
            queries: Vec::new(),
            cache: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: MdnsStats::default(),
        }
    }

    // ----- commands -----

    /// A `.local` name for a local address (draft-ietf-mmusic-mdns-ice-candidates §3.1.1:
    /// a fresh version 4 UUID), announced and then answered for. The same address keeps
    /// its name.
    pub fn register(&mut self, now: Instant, addr: IpAddr) -> Result<String, Error> {
        let now = self.clamp(now);
        if let Some(r) = self.names.iter().find(|r| r.addr == addr) {
            return Ok(r.name.as_str().to_owned());
        }
        if addr.is_unspecified() || addr.is_multicast() {
            return Err(Error::Mdns("only unicast addresses get a name"));
        }
        if self.names.len() >= self.config.max_names {
            return Err(Error::Mdns("too many registered names"));
        }
        let text = format!("{}.local", uuid_v4(&mut self.rng));
        // A UUID and ".local" make a name of two valid labels.
        let name = Name::new(&text).map_err(|_| Error::Mdns("generated name refused"))?;
        info!("mdns: registered {text} for {}", Redacted(addr));
        self.names.push(Registered {
            name,
            addr,
            announcements_left: self.config.announcements,
            next_announcement: (self.config.announcements > 0).then_some(now),
            last_multicast: None,
        });
        self.run(now);
        Ok(text)
    }

    /// Withdraws a registered name: a goodbye (TTL 0, RFC 6762 §10.1) goes out, and queries
    /// for it are no longer answered. Returns whether the name was registered.
    pub fn unregister(&mut self, now: Instant, name: &str) -> bool {
        self.clamp(now);
        let Ok(name) = Name::new(name) else {
            return false;
        };
        let Some(i) = self.names.iter().position(|r| r.name.matches(&name)) else {
            return false;
        };
        let r = self.names.remove(i);
        let record = record_for(&r.name, r.addr, 0, true);
        self.multicast_to_family(r.addr, Message::response(vec![record]));
        true
    }

    /// Starts resolving a `.local` name (draft-ietf-mmusic-mdns-ice-candidates §3.2). The
    /// answer comes as [`MdnsEvent::Resolved`] or [`MdnsEvent::Failed`]; a name resolved
    /// recently, or registered here, is answered at once. Resolving a name already being
    /// resolved does nothing more.
    pub fn resolve(&mut self, now: Instant, name: &str) -> Result<(), Error> {
        let now = self.clamp(now);
        let parsed = Name::new(name).map_err(|_| Error::Mdns("not a domain name"))?;
        if !parsed.is_local() {
            return Err(Error::Mdns("not a .local name"));
        }
        let known = self
            .names
            .iter()
            .find(|r| r.name.matches(&parsed))
            .map(|r| r.addr)
            .or_else(|| {
                self.cache
                    .iter()
                    .find(|c| c.name.matches(&parsed) && c.expires > now)
                    .map(|c| c.addr)
            });
        if let Some(addr) = known {
            self.stats.resolved += 1;
            self.push_event(MdnsEvent::Resolved {
                name: name.to_owned(),
                addr,
            });
            return Ok(());
        }
        if self.queries.iter().any(|q| q.name.matches(&parsed)) {
            return Ok(());
        }
        if self.queries.len() >= self.config.max_queries {
            return Err(Error::Mdns("too many names being resolved"));
        }
        debug!("mdns: resolving {name}");
        self.queries.push(Query {
            text: name.to_owned(),
            name: parsed,
            interval: self.config.query_interval,
            next_send: now,
            deadline: now + self.config.resolve_timeout,
        });
        self.run(now);
        Ok(())
    }

    // ----- sans-IO contract -----

    /// Feeds a datagram that arrived on an mDNS socket (multicast or unicast to port 5353).
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        let now = self.clamp(now);
        let msg = match Message::decode(&input.payload) {
            Ok(m) => m,
            Err(e) => {
                debug!(
                    "mdns: dropped datagram from {}: {e}",
                    Redacted(input.source)
                );
                self.stats.malformed += 1;
                return;
            }
        };
        // RFC 6762 §18.3, §18.11: other opcodes and response codes are ignored.
        if msg.flags.opcode() != 0 || msg.flags.rcode() != 0 {
            self.stats.ignored += 1;
            return;
        }
        if msg.flags.is_response() {
            self.handle_response(now, &input, &msg);
        } else {
            self.handle_query(now, &input, &msg);
        }
        self.run(now);
    }

    /// Repeats queries, gives up on the ones past their time, and sends announcements.
    /// Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        self.run(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MdnsEvent> {
        self.events.pop_front()
    }

    /// When [`Mdns::handle_timeout`] should run next; `None` when nothing is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let queries = self.queries.iter().map(|q| q.next_send.min(q.deadline));
        let announcements = self.names.iter().filter_map(|r| r.next_announcement);
        queries.chain(announcements).min()
    }

    // ----- getters -----

    /// The counters.
    pub fn stats(&self) -> MdnsStats {
        self.stats
    }

    /// The address a registered name stands for.
    pub fn registered(&self, name: &str) -> Option<IpAddr> {
        let name = Name::new(name).ok()?;
        self.names
            .iter()
            .find(|r| r.name.matches(&name))
            .map(|r| r.addr)
    }

    // ----- input -----

    fn handle_response(&mut self, now: Instant, input: &Received, msg: &Message) {
        // RFC 6762 §11: responses must come from port 5353.
        if input.source.port() != PORT {
            self.stats.ignored += 1;
            return;
        }
        let mut useful = false;
        for r in msg.records() {
            let addr = match r.data {
                RecordData::A(ip) => IpAddr::V4(ip),
                RecordData::Aaaa(ip) => IpAddr::V6(ip),
                RecordData::Other { .. } => continue,
            };
            if r.class != RecordClass::IN {
                continue;
            }
            if r.ttl == 0 {
                // RFC 6762 §10.1: a goodbye.
                self.cache
                    .retain(|c| !(c.name.matches(&r.name) && c.addr == addr));
                continue;
            }
            if !r.name.is_local() {
                continue;
            }
            // Every `.local` address record heard is cached (RFC 6762 §10), so that a name
            // announced before it is asked for resolves at once.
            let asked = self.queries.iter().position(|q| q.name.matches(&r.name));
            let cached = self.cache.iter().position(|c| c.name.matches(&r.name));
            useful = true;
            // A TTL from the network is capped, so that no record outlives the cap (and no
            // instant overflows).
            let expires = now + Duration::from_secs(u64::from(r.ttl.min(MAX_CACHE_TTL)));
            match cached {
                Some(c) => {
                    self.cache[c].addr = addr;
                    self.cache[c].expires = expires;
                }
                None => {
                    self.cache.retain(|c| c.expires > now);
                    if self.cache.len() >= self.config.max_cache {
                        // Forget the entry closest to expiry.
                        if let Some(i) =
                            (0..self.cache.len()).min_by_key(|&i| self.cache[i].expires)
                        {
                            self.cache.swap_remove(i);
                        }
                    }
                    self.cache.push(Cached {
                        name: r.name.clone(),
                        addr,
                        expires,
                    });
                }
            }
            if let Some(q) = asked {
                let q = self.queries.remove(q);
                info!("mdns: resolved {}", q.text);
                self.stats.resolved += 1;
                self.push_event(MdnsEvent::Resolved { name: q.text, addr });
            }
        }
        if !useful {
            self.stats.ignored += 1;
        }
    }

    fn handle_query(&mut self, now: Instant, input: &Received, msg: &Message) {
        // RFC 6762 §6.7: a query from another port than 5353 is a legacy resolver's; it
        // gets a conventional unicast answer.
        let legacy = input.source.port() != PORT;
        let mut answers = Vec::new();
        let mut unicast = legacy;
        let mut answered = Vec::new();
        for q in &msg.questions {
            if !(q.class == RecordClass::IN || q.class == RecordClass::ANY) {
                continue;
            }
            for (i, r) in self.names.iter().enumerate() {
                if !r.name.matches(&q.name) || answered.contains(&i) {
                    continue;
                }
                let wanted = match r.addr {
                    IpAddr::V4(_) => q.rtype == RecordType::A,
                    IpAddr::V6(_) => q.rtype == RecordType::AAAA,
                } || q.rtype == RecordType::ANY;
                if !wanted {
                    continue;
                }
                let ttl = ttl_secs(self.config.ttl);
                // RFC 6762 §7.1: the asker already knows the record with at least half
                // its TTL left.
                let known = msg.answers.iter().any(|k| {
                    k.name.matches(&r.name) && same_addr(&k.data, r.addr) && k.ttl >= ttl / 2
                });
                if known {
                    continue;
                }
                answered.push(i);
                unicast |= q.unicast_response;
                let record = if legacy {
                    record_for(&r.name, r.addr, LEGACY_TTL, false)
                } else {
                    record_for(&r.name, r.addr, ttl, true)
                };
                answers.push(record);
            }
        }
        if answers.is_empty() {
            self.stats.ignored += 1;
            return;
        }
        trace!(
            "mdns: answering {} from {}",
            answers.len(),
            Redacted(input.source)
        );
        if unicast {
            let mut resp = Message::response(answers);
            if legacy {
                // RFC 6762 §6.7: echo the id and the questions.
                resp.id = msg.id;
                resp.questions = msg.questions.clone();
            }
            let source = SocketAddr::new(unspecified(input.source.ip()), PORT);
            self.push_transmit(source, input.source, resp);
            return;
        }
        // RFC 6762 §6: a record is multicast at most once per second.
        let mut fresh = Vec::new();
        for (record, i) in answers.into_iter().zip(answered) {
            let r = &mut self.names[i];
            if r.last_multicast
                .is_some_and(|t| now < t + MULTICAST_SPACING)
            {
                self.stats.ignored += 1;
                continue;
            }
            r.last_multicast = Some(now);
            fresh.push(record);
        }
        if !fresh.is_empty() {
            let group = group_for(input.source.ip());
            let source = SocketAddr::new(unspecified(group.ip()), PORT);
            self.push_transmit(source, group, Message::response(fresh));
        }
    }

    // ----- the scheduler -----

    fn run(&mut self, now: Instant) {
        // Queries: give up after the deadline, else send when due and double the wait.
        let mut i = 0;
        while i < self.queries.len() {
            if now >= self.queries[i].deadline {
                let q = self.queries.remove(i);
                info!("mdns: could not resolve {}", q.text);
                self.stats.failed += 1;
                self.push_event(MdnsEvent::Failed { name: q.text });
                continue;
            }
            if now >= self.queries[i].next_send {
                let msg = Message::query(&self.queries[i].name);
                for group in self.groups() {
                    self.stats.queries_sent += 1;
                    self.push_transmit(
                        SocketAddr::new(unspecified(group.ip()), PORT),
                        group,
                        msg.clone(),
                    );
                }
                let q = &mut self.queries[i];
                q.next_send = now + q.interval;
                q.interval = q.interval.saturating_mul(2);
            }
            i += 1;
        }
        // Announcements (RFC 6762 §8.3): unsolicited responses, one second apart.
        for i in 0..self.names.len() {
            let r = &mut self.names[i];
            if r.next_announcement.is_none_or(|t| now < t) {
                continue;
            }
            r.announcements_left = r.announcements_left.saturating_sub(1);
            r.next_announcement = (r.announcements_left > 0).then_some(now + ANNOUNCE_SPACING);
            r.last_multicast = Some(now);
            let (name, addr) = (r.name.clone(), r.addr);
            let record = record_for(&name, addr, ttl_secs(self.config.ttl), true);
            self.multicast_to_family(addr, Message::response(vec![record]));
        }
    }

    /// Sends a response to the group of `addr`'s family, if that family is enabled.
    fn multicast_to_family(&mut self, addr: IpAddr, msg: Message) {
        let group = group_for(addr);
        if self.groups().contains(&group) {
            self.push_transmit(SocketAddr::new(unspecified(addr), PORT), group, msg);
        }
    }

    fn groups(&self) -> Vec<SocketAddr> {
        let mut v = Vec::with_capacity(2);
        if self.config.ipv4 {
            v.push(GROUP_V4);
        }
        if self.config.ipv6 {
            v.push(GROUP_V6);
        }
        v
    }

    fn push_transmit(&mut self, source: SocketAddr, destination: SocketAddr, msg: Message) {
        if self.transmits.len() >= self.config.max_queue {
            self.stats.dropped += 1;
            return;
        }
        if msg.flags.is_response() {
            self.stats.responses_sent += 1;
        }
        self.transmits.push_back(Transmit {
            source,
            destination,
            transport: Transport::Udp,
            payload: Bytes::from(msg.to_vec()),
        });
    }

    fn push_event(&mut self, e: MdnsEvent) {
        if self.events.len() >= self.config.max_queue {
            self.stats.dropped += 1;
            return;
        }
        self.events.push_back(e);
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |last| last.max(now));
        self.now = Some(now);
        now
    }
}

fn record_for(name: &Name, addr: IpAddr, ttl: u32, cache_flush: bool) -> Record {
    Record {
        name: name.clone(),
        class: RecordClass::IN,
        cache_flush,
        ttl,
        data: match addr {
            IpAddr::V4(ip) => RecordData::A(ip),
            IpAddr::V6(ip) => RecordData::Aaaa(ip),
        },
    }
}

fn same_addr(data: &RecordData, addr: IpAddr) -> bool {
    match (data, addr) {
        (RecordData::A(a), IpAddr::V4(b)) => *a == b,
        (RecordData::Aaaa(a), IpAddr::V6(b)) => *a == b,
        _ => false,
    }
}

fn ttl_secs(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn group_for(ip: IpAddr) -> SocketAddr {
    if ip.is_ipv4() { GROUP_V4 } else { GROUP_V6 }
}

fn unspecified(ip: IpAddr) -> IpAddr {
    if ip.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    }
}

/// A random (version 4) UUID in its text form (RFC 9562 §5.4).
fn uuid_v4(rng: &mut ChaCha20Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
// Tests pick an arbitrary origin for the time they pass in.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn machine(seed: u8) -> Mdns {
        Mdns::new(MdnsConfig {
            rng_seed: Some([seed; 32]),
            ..MdnsConfig::default()
        })
    }

    /// What the link delivers: the datagram, from `from` (a host at port 5353).
    fn deliver(t: Transmit, from: SocketAddr) -> Received {
        Received {
            source: from,
            ..Received::from(t)
        }
    }

    /// Moves every transmit of `from` to `to`, as multicast on one link would.
    fn pump(now: Instant, from: &mut Mdns, from_addr: SocketAddr, to: &mut Mdns) -> usize {
        let mut n = 0;
        while let Some(t) = from.poll_transmit() {
            to.handle_input(now, deliver(t, from_addr));
            n += 1;
        }
        n
    }

    fn events(m: &mut Mdns) -> Vec<MdnsEvent> {
        std::iter::from_fn(|| m.poll_event()).collect()
    }

    const A: &str = "192.168.1.20:5353";
    const B: &str = "192.168.1.30:5353";

    #[test]
    fn names_are_uuid_v4_under_local() {
        let now = Instant::now();
        let mut m = machine(1);
        let n = m.register(now, "192.0.2.1".parse().unwrap()).unwrap();
        let (uuid, local) = n.split_once('.').unwrap();
        assert_eq!(local, "local");
        let parts: Vec<&str> = uuid.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "version 4");
        assert!("89ab".contains(&parts[3][..1]), "RFC 4122 variant");
        assert!(uuid.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        // Same address, same name; another address, another name.
        assert_eq!(m.register(now, "192.0.2.1".parse().unwrap()).unwrap(), n);
        assert_ne!(m.register(now, "192.0.2.2".parse().unwrap()).unwrap(), n);
        assert_eq!(
            m.registered(&n.to_uppercase()),
            Some("192.0.2.1".parse().unwrap())
        );
        assert!(m.register(now, "0.0.0.0".parse().unwrap()).is_err());
        assert!(m.register(now, "224.0.0.251".parse().unwrap()).is_err());
    }

    fn silent(seed: u8) -> Mdns {
        Mdns::new(MdnsConfig {
            rng_seed: Some([seed; 32]),
            announcements: 0,
            ..MdnsConfig::default()
        })
    }

    #[test]
    fn two_machines_resolve_each_other() {
        let now = Instant::now();
        let (mut a, mut b) = (silent(1), silent(2));
        let (a_addr, b_addr) = (A.parse().unwrap(), B.parse().unwrap());
        let na = a.register(now, "192.168.1.20".parse().unwrap()).unwrap();
        let nb = b.register(now, "fe80::1:2".parse().unwrap()).unwrap();
        assert!(a.poll_transmit().is_none() && b.poll_transmit().is_none());
        let later = now + Duration::from_secs(3);
        a.resolve(later, &nb).unwrap();
        b.resolve(later, &na.to_uppercase()).unwrap();
        // Queries go to both groups.
        let qs: Vec<Transmit> = std::iter::from_fn(|| a.poll_transmit()).collect();
        assert_eq!(
            qs.iter().map(|t| t.destination).collect::<Vec<_>>(),
            [GROUP_V4, GROUP_V6]
        );
        let q = Message::decode(&qs[0].payload).unwrap();
        assert!(!q.flags.is_response() && q.id == 0);
        assert!(q.questions.iter().all(|q| !q.unicast_response));
        for t in qs {
            b.handle_input(later, deliver(t, a_addr));
        }
        pump(later, &mut b, b_addr, &mut a);
        pump(later, &mut a, a_addr, &mut b);
        assert_eq!(
            events(&mut a),
            [MdnsEvent::Resolved {
                name: nb.clone(),
                addr: "fe80::1:2".parse().unwrap()
            }]
        );
        assert_eq!(
            events(&mut b),
            [MdnsEvent::Resolved {
                name: na.to_uppercase(),
                addr: "192.168.1.20".parse().unwrap()
            }]
        );
        // A second question within the TTL is answered from the cache without a query.
        a.resolve(later, &nb).unwrap();
        assert!(a.poll_transmit().is_none());
        assert_eq!(events(&mut a).len(), 1);
        assert_eq!(a.poll_timeout(), None);
        // Past the TTL, it asks again.
        a.resolve(later + Duration::from_secs(121), &nb).unwrap();
        assert!(a.poll_transmit().is_some());
    }

    #[test]
    fn announced_names_resolve_at_once() {
        let now = Instant::now();
        let (mut a, mut b) = (machine(1), machine(2));
        let na = a.register(now, "192.168.1.20".parse().unwrap()).unwrap();
        assert_eq!(pump(now, &mut a, A.parse().unwrap(), &mut b), 1);
        b.resolve(now, &na).unwrap();
        assert!(b.poll_transmit().is_none(), "no query needed");
        assert_eq!(
            events(&mut b),
            [MdnsEvent::Resolved {
                name: na,
                addr: "192.168.1.20".parse().unwrap()
            }]
        );
    }

    #[test]
    fn answers_carry_cache_flush_and_ttl_and_are_rate_limited() {
        let now = Instant::now();
        let mut a = machine(1);
        let name = a.register(now, "192.168.1.20".parse().unwrap()).unwrap();
        let ann: Vec<Transmit> = std::iter::from_fn(|| a.poll_transmit()).collect();
        // IPv4 address: announced on the IPv4 group only.
        assert_eq!(ann.len(), 1);
        assert_eq!(ann[0].destination, GROUP_V4);
        assert_eq!(ann[0].source, "0.0.0.0:5353".parse().unwrap());
        let r = &Message::decode(&ann[0].payload).unwrap().answers[0];
        assert!(r.cache_flush);
        assert_eq!((r.ttl, r.name.as_str()), (120, name.as_str()));
        // The second announcement one second later, then nothing.
        assert_eq!(a.poll_timeout(), Some(now + Duration::from_secs(1)));
        a.handle_timeout(now + Duration::from_secs(1));
        assert_eq!(std::iter::from_fn(|| a.poll_transmit()).count(), 1);
        assert_eq!(a.poll_timeout(), None);
        // A query within a second of the last multicast is held back.
        let query = |id| {
            let mut q = Message::query(&Name::new(&name).unwrap());
            q.id = id;
            Bytes::from(q.to_vec())
        };
        let input = |payload, port| Received {
            source: SocketAddr::new("192.168.1.30".parse().unwrap(), port),
            destination: GROUP_V4,
            transport: Transport::Udp,
            payload,
        };
        let t = now + Duration::from_millis(1500);
        a.handle_input(t, input(query(0), PORT));
        assert!(a.poll_transmit().is_none());
        let t = now + Duration::from_millis(2100);
        a.handle_input(t, input(query(0), PORT));
        let resp = a.poll_transmit().unwrap();
        assert_eq!(resp.destination, GROUP_V4);
        // A legacy resolver (another source port) gets a unicast answer with its id and
        // question, and a short TTL without cache-flush.
        a.handle_input(t, input(query(0x1234), 40000));
        let resp = a.poll_transmit().unwrap();
        assert_eq!(resp.destination.port(), 40000);
        let m = Message::decode(&resp.payload).unwrap();
        assert_eq!((m.id, m.questions.len()), (0x1234, 2));
        assert_eq!((m.answers[0].ttl, m.answers[0].cache_flush), (10, false));
        // Known-answer suppression: the asker lists the record with a fresh TTL.
        let mut q = Message::query(&Name::new(&name).unwrap());
        q.answers.push(record_for(
            &Name::new(&name).unwrap(),
            "192.168.1.20".parse().unwrap(),
            120,
            false,
        ));
        a.handle_input(
            now + Duration::from_secs(9),
            input(Bytes::from(q.to_vec()), PORT),
        );
        assert!(a.poll_transmit().is_none());
        // Malformed and foreign input is counted, not answered.
        a.handle_input(t, input(Bytes::from_static(&[1, 2, 3]), PORT));
        a.handle_input(
            t,
            input(
                Bytes::from(Message::query(&Name::new("other.local").unwrap()).to_vec()),
                PORT,
            ),
        );
        assert_eq!(a.stats().malformed, 1);
        assert!(a.poll_transmit().is_none());
    }

    #[test]
    fn unanswered_resolution_retries_then_fails() {
        let now = Instant::now();
        let mut a = Mdns::new(MdnsConfig {
            rng_seed: Some([1; 32]),
            ipv6: false,
            ..MdnsConfig::default()
        });
        a.resolve(now, "nobody.local").unwrap();
        assert!(a.resolve(now, "example.com").is_err());
        assert!(a.resolve(now, "a..local").is_err());
        let mut sends = vec![];
        let mut t = now;
        loop {
            sends.extend(std::iter::from_fn(|| a.poll_transmit()).map(|_| t - now));
            let Some(next) = a.poll_timeout() else { break };
            assert!(next > t || sends.is_empty());
            t = next;
            a.handle_timeout(t);
            a.handle_timeout(t);
        }
        let s = Duration::from_secs;
        // RFC 6762 §5.2: 1 s, then doubling; failed at 5 s.
        assert_eq!(sends, [s(0), s(1), s(3)]);
        assert_eq!(t - now, s(5));
        assert_eq!(
            events(&mut a),
            [MdnsEvent::Failed {
                name: "nobody.local".into()
            }]
        );
        assert_eq!(a.stats().failed, 1);
    }

    #[test]
    fn responses_from_other_ports_and_goodbyes() {
        let now = Instant::now();
        let (mut a, mut b) = (machine(1), machine(2));
        let nb = b.register(now, "192.168.1.30".parse().unwrap()).unwrap();
        while b.poll_transmit().is_some() {}
        a.resolve(now, &nb).unwrap();
        while a.poll_transmit().is_some() {}
        // A spoofed answer from another port is ignored (RFC 6762 §11).
        let rec = record_for(
            &Name::new(&nb).unwrap(),
            "10.9.9.9".parse().unwrap(),
            120,
            true,
        );
        let bogus = Received {
            source: "192.168.1.66:9999".parse().unwrap(),
            destination: GROUP_V4,
            transport: Transport::Udp,
            payload: Bytes::from(Message::response(vec![rec]).to_vec()),
        };
        a.handle_input(now, bogus);
        assert!(events(&mut a).is_empty());
        // The real answer (a second after b's announcement, RFC 6762 §6).
        let now = now + Duration::from_secs(1);
        let q = Message::query(&Name::new(&nb).unwrap());
        b.handle_input(
            now,
            Received {
                source: A.parse().unwrap(),
                destination: GROUP_V4,
                transport: Transport::Udp,
                payload: Bytes::from(q.to_vec()),
            },
        );
        let b_addr = B.parse().unwrap();
        pump(now, &mut b, b_addr, &mut a);
        assert_eq!(events(&mut a).len(), 1);
        // A goodbye empties the cache: the next resolution asks again.
        assert!(b.unregister(now, &nb));
        assert!(!b.unregister(now, &nb));
        pump(now, &mut b, b_addr, &mut a);
        a.resolve(now, &nb).unwrap();
        assert!(events(&mut a).is_empty());
        assert!(a.poll_transmit().is_some());
        // Unregistered names are not answered any more.
        b.handle_input(
            now,
            Received {
                source: A.parse().unwrap(),
                destination: GROUP_V4,
                transport: Transport::Udp,
                payload: Bytes::from(q.to_vec()),
            },
        );
        assert!(b.poll_transmit().is_none());
    }

    #[test]
    fn a_hidden_host_candidate_crosses_over_by_name() {
        // The driver contract of the module docs, end to end: a hides its host candidate
        // behind a name, b resolves the name and gets an address-based candidate back.
        let now = Instant::now();
        let (mut a, mut b) = (silent(1), silent(2));
        let mut host = crate::Candidate::host("192.168.1.20:5000".parse().unwrap());
        host.foundation = "1".into();
        let name = a.register(now, host.address.ip()).unwrap();
        let mut sdp = host.to_sdp();
        sdp.address = name.clone();
        let text = format!("candidate:{sdp}");
        assert!(!text.contains("192.168.1.20"), "{text}");
        assert_eq!(
            text.parse::<crate::Candidate>().unwrap_err().kind,
            crate::ParseErrorKind::UnresolvedAddress
        );
        let mut remote: weft_sdp::Candidate = text.parse().unwrap();
        b.resolve(now, &remote.address).unwrap();
        pump(now, &mut b, B.parse().unwrap(), &mut a);
        pump(now, &mut a, A.parse().unwrap(), &mut b);
        let Some(MdnsEvent::Resolved { name: got, addr }) = b.poll_event() else {
            panic!("not resolved");
        };
        assert_eq!(got, name);
        remote.address = addr.to_string();
        let c = crate::Candidate::try_from(&remote).unwrap();
        assert_eq!(c.address, host.address);
    }

    #[test]
    fn huge_ttls_are_capped() {
        let now = Instant::now();
        let mut a = machine(1);
        let name = Name::new("peer.local").unwrap();
        let rec = record_for(&name, "192.168.1.9".parse().unwrap(), u32::MAX, true);
        a.handle_input(
            now,
            Received {
                source: B.parse().unwrap(),
                destination: GROUP_V4,
                transport: Transport::Udp,
                payload: Bytes::from(Message::response(vec![rec]).to_vec()),
            },
        );
        a.resolve(now + Duration::from_secs(4499), "peer.local")
            .unwrap();
        assert_eq!(events(&mut a).len(), 1, "cached");
        a.resolve(now + Duration::from_secs(4500), "peer.local")
            .unwrap();
        assert!(events(&mut a).is_empty());
        assert!(a.poll_transmit().is_some(), "asked again");
    }

    #[test]
    fn tables_are_bounded() {
        let now = Instant::now();
        let mut a = Mdns::new(MdnsConfig {
            rng_seed: Some([1; 32]),
            max_names: 2,
            max_queries: 2,
            ..MdnsConfig::default()
        });
        a.register(now, "10.0.0.1".parse().unwrap()).unwrap();
        a.register(now, "10.0.0.2".parse().unwrap()).unwrap();
        assert!(a.register(now, "10.0.0.3".parse().unwrap()).is_err());
        a.resolve(now, "a.local").unwrap();
        a.resolve(now, "b.local").unwrap();
        a.resolve(now, "A.LOCAL").unwrap();
        assert!(a.resolve(now, "c.local").is_err());
    }
}
