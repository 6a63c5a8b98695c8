//! A sans-IO STUN client: request transactions with retransmission (RFC 8489 §6.2, §6.3.3).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, trace};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use weft_proto::{Received, Redacted, Transmit, Transport};

use crate::error::Error;
use crate::wire::attr::Attribute;
use crate::wire::{Class, Message, Method, TransactionId};

/// Settings of a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The first retransmission timeout on UDP (RFC 8489 §6.2.1: 500 ms by default, and at
    /// least 500 ms unless the path is known to be faster). Also the floor of the RTO that the
    /// client learns from measured round trips.
    pub rto: Duration,
    /// Rc: how many times a request is sent in all on UDP (default 7).
    pub rc: u32,
    /// Rm: after the last send, wait `rm * RTO` before giving up (default 16).
    pub rm: u32,
    /// Ti: how long to wait for a response on TCP or TLS (default 39.5 s, RFC 8489 §6.2.2).
    pub reliable_timeout: Duration,
    /// The most transactions in flight at once; [`Client::start`] refuses more.
    pub max_transactions: usize,
    /// The SOFTWARE attribute put in requests built by [`Client::binding_request`].
    pub software: Option<String>,
    /// The seed of the transaction-id generator; OS entropy when `None`.
    pub rng_seed: Option<[u8; 32]>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            rto: Duration::from_millis(500),
            rc: 7,
            rm: 16,
            reliable_timeout: Duration::from_millis(39_500),
            max_transactions: 1024,
            software: None,
            rng_seed: None,
        }
    }
}

/// What a [`Client`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A success or error response arrived for a transaction. Decode `payload` with
    /// [`Message::decode`] and check its integrity where the usage requires it.
    Response {
        /// The transaction it answers.
        id: TransactionId,
        /// Success or error.
        class: Class,
        /// Where it came from.
        source: SocketAddr,
        /// The local address it arrived at.
        destination: SocketAddr,
        /// The transport it arrived on.
        transport: Transport,
        /// The round-trip time, when the request was sent only once (Karn's rule).
        rtt: Option<Duration>,
        /// The whole response message.
        payload: Bytes,
    },
    /// No response came in time (RFC 8489 §6.2.1, §6.2.2).
    TimedOut {
        /// The transaction that failed.
        id: TransactionId,
    },
}

/// Counters of a [`Client`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests sent, first transmissions and retransmissions.
    pub requests_sent: u64,
    /// Of which retransmissions.
    pub retransmissions: u64,
    /// Responses matched to a transaction.
    pub responses: u64,
    /// Transactions that timed out.
    pub timeouts: u64,
    /// Datagrams that were not STUN, not responses, or matched no transaction.
    pub dropped: u64,
}

#[derive(Debug)]
struct Transaction {
    request: Bytes,
    source: SocketAddr,
    destination: SocketAddr,
    transport: Transport,
    started: Instant,
    sends: u32,
    /// The RTO the transaction started with.
    rto: Duration,
    /// The wait after the latest send.
    interval: Duration,
    deadline: Instant,
}

/// Runs STUN request transactions for any usage (binding discovery, TURN, ICE checks).
///
/// The client owns each request's bytes and resends them on its own schedule; the caller
/// builds and signs them. Responses are matched by transaction id.
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft_proto::{Received, Transport};
/// use weft_stun::{Client, ClientConfig, ClientEvent, Server, ServerConfig};
///
/// let now = Instant::now();
/// let me = "192.0.2.10:5000".parse().unwrap();
/// let server_addr = "198.51.100.1:3478".parse().unwrap();
/// let mut client = Client::new(ClientConfig { rng_seed: Some([7; 32]), ..Default::default() });
/// let mut server = Server::new(ServerConfig::default());
///
/// let id = client.binding_request(now, me, server_addr, Transport::Udp)?;
/// while let Some(t) = client.poll_transmit() {
///     server.handle_input(now, Received::from(t));
/// }
/// while let Some(t) = server.poll_transmit() {
///     client.handle_input(now, Received::from(t));
/// }
/// match client.poll_event() {
///     Some(ClientEvent::Response { id: got, payload, .. }) => {
///         assert_eq!(got, id);
///         let msg = weft_stun::Message::decode(&payload).unwrap();
///         assert_eq!(msg.mapped_address(), Some(me));
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// assert_eq!(client.poll_timeout(), None);
/// # Ok::<(), weft_stun::Error>(())
/// ```
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    rng: ChaCha20Rng,
    transactions: HashMap<TransactionId, Transaction>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    now: Option<Instant>,
    /// RFC 8489 §6.2.1: the RTO learnt per server address, kept for 10 minutes.
    rto: HashMap<IpAddr, RtoEstimator>,
    stats: ClientStats,
}

/// The most servers whose RTO is remembered; the stalest is forgotten first.
const RTO_CACHE_ENTRIES: usize = 256;

impl Client {
    /// A client with no transaction running.
    pub fn new(config: ClientConfig) -> Self {
        let seed = config.rng_seed.unwrap_or_else(os_seed);
        Client {
            config,
            rng: ChaCha20Rng::from_seed(seed),
            transactions: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            now: None,
            rto: HashMap::new(),
            stats: ClientStats::default(),
        }
    }

    /// A fresh random transaction id (RFC 8489 §6: uniformly random, 96 bits).
    pub fn new_transaction_id(&mut self) -> TransactionId {
        let mut b = [0; 12];
        self.rng.fill_bytes(&mut b);
        TransactionId::new(b)
    }

    /// Starts a transaction for an encoded request; it is sent at once.
    pub fn start(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        transport: Transport,
        request: Bytes,
    ) -> Result<TransactionId, Error> {
        let now = self.clamp(now);
        let msg = Message::decode(&request).map_err(|_| Error::NotARequest)?;
        if msg.class != Class::Request {
            return Err(Error::NotARequest);
        }
        let id = msg.transaction_id;
        if self.transactions.contains_key(&id) {
            return Err(Error::DuplicateTransaction);
        }
        if self.transactions.len() >= self.config.max_transactions {
            return Err(Error::TooManyTransactions(self.config.max_transactions));
        }
        let interval = self.rto_for(destination.ip(), now);
        let deadline = if transport.is_reliable() {
            now + self.config.reliable_timeout
        } else if self.config.rc <= 1 {
            now + interval * self.config.rm
        } else {
            now + interval
        };
        debug!(
            "stun {id}: request to {} over {transport}",
            Redacted(destination)
        );
        self.transactions.insert(
            id,
            Transaction {
                request: request.clone(),
                source,
                destination,
                transport,
                started: now,
                sends: 1,
                rto: interval,
                interval,
                deadline,
            },
        );
        self.send(source, destination, transport, request);
        Ok(id)
    }

    /// Builds a Binding request (with SOFTWARE when configured, and FINGERPRINT) and starts
    /// its transaction.
    pub fn binding_request(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        transport: Transport,
    ) -> Result<TransactionId, Error> {
        let id = self.new_transaction_id();
        let mut msg = Message::new(Class::Request, Method::BINDING, id);
        let software = self.config.software.clone();
        if let Some(s) = software.as_deref() {
            msg.push(Attribute::Software(s));
        }
        let bytes = msg.to_vec(None, true)?;
        self.start(now, source, destination, transport, bytes.into())
    }

    /// Stops a transaction without an event. Returns whether it was running.
    pub fn cancel(&mut self, id: TransactionId) -> bool {
        self.transactions.remove(&id).is_some()
    }

    /// Whether a transaction is still waiting for its response.
    pub fn is_pending(&self, id: TransactionId) -> bool {
        self.transactions.contains_key(&id)
    }

    /// Feeds a received datagram. Responses to running transactions end them with
    /// [`Event::Response`]; anything else is dropped and counted.
    pub fn handle_input(&mut self, now: Instant, input: Received) {
        let now = self.clamp(now);
        let msg = match Message::decode(&input.payload) {
            Ok(m) => m,
            Err(e) => {
                debug!(
                    "stun client: dropped datagram from {}: {e}",
                    Redacted(input.source)
                );
                self.stats.dropped += 1;
                return;
            }
        };
        if !msg.class.is_response() {
            self.stats.dropped += 1;
            return;
        }
        let id = msg.transaction_id;
        let class = msg.class;
        let Some(tx) = self.transactions.remove(&id) else {
            trace!("stun {id}: response matches no transaction");
            self.stats.dropped += 1;
            return;
        };
        let rtt = (tx.sends == 1).then(|| now.saturating_duration_since(tx.started));
        if let Some(rtt) = rtt {
            self.sample_rtt(tx.destination.ip(), now, rtt);
        }
        debug!("stun {id}: {class:?} response after {} sends", tx.sends);
        self.stats.responses += 1;
        self.events.push_back(Event::Response {
            id,
            class,
            source: input.source,
            destination: input.destination,
            transport: input.transport,
            rtt,
            payload: input.payload,
        });
    }

    /// Retransmits and times out transactions whose deadline has come. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        let due: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, t)| t.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            // The id came from the map just above, and nothing removed it since.
            let Some(tx) = self.transactions.get_mut(&id) else {
                continue;
            };
            if tx.transport.is_reliable() || tx.sends >= self.config.rc {
                self.transactions.remove(&id);
                debug!("stun {id}: timed out");
                self.stats.timeouts += 1;
                self.events.push_back(Event::TimedOut { id });
                continue;
            }
            // RFC 8489 §6.2.1: resend, doubling the interval each time; after the Rc-th send
            // wait Rm times the RTO.
            tx.sends += 1;
            tx.interval *= 2;
            tx.deadline = if tx.sends >= self.config.rc {
                now + tx.rto * self.config.rm
            } else {
                now + tx.interval
            };
            let (s, d, t, r) = (tx.source, tx.destination, tx.transport, tx.request.clone());
            trace!("stun {id}: retransmission {}", tx.sends - 1);
            self.stats.retransmissions += 1;
            self.send(s, d, t, r);
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.transactions.values().map(|t| t.deadline).min()
    }

    /// The counters.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// The retransmission timeout the next transaction to `server` will start with.
    pub fn current_rto(&self, server: IpAddr) -> Duration {
        match self.now {
            Some(now) => self.rto_for(server, now),
            None => self.config.rto,
        }
    }

    fn rto_for(&self, server: IpAddr, now: Instant) -> Duration {
        self.rto
            .get(&server)
            .map_or(self.config.rto, |e| e.rto(now, self.config.rto))
    }

    fn sample_rtt(&mut self, server: IpAddr, now: Instant, rtt: Duration) {
        if !self.rto.contains_key(&server) && self.rto.len() >= RTO_CACHE_ENTRIES {
            let stalest = self
                .rto
                .iter()
                .min_by_key(|(_, e)| e.last_sample)
                .map(|(ip, _)| *ip);
            if let Some(ip) = stalest {
                self.rto.remove(&ip);
            }
        }
        self.rto
            .entry(server)
            .or_insert_with(|| RtoEstimator::new(now))
            .sample(now, rtt);
    }

    fn send(&mut self, source: SocketAddr, destination: SocketAddr, t: Transport, b: Bytes) {
        self.stats.requests_sent += 1;
        self.transmits.push_back(Transmit {
            source,
            destination,
            transport: t,
            payload: b,
        });
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.now.map_or(now, |last| last.max(now));
        self.now = Some(now);
        now
    }
}

/// RFC 8489 §6.2.1 asks clients to cache the RTO learnt from past transactions (RFC 6298
/// estimator) for 10 minutes, and fall back to the configured value after that.
#[derive(Debug, Clone)]
struct RtoEstimator {
    srtt: Option<(Duration, Duration)>,
    last_sample: Instant,
}

const RTO_CACHE: Duration = Duration::from_secs(600);

impl RtoEstimator {
    fn new(now: Instant) -> Self {
        RtoEstimator {
            srtt: None,
            last_sample: now,
        }
    }

    fn sample(&mut self, now: Instant, rtt: Duration) {
        self.srtt = Some(match self.srtt {
            None => (rtt, rtt / 2),
            Some((srtt, rttvar)) => {
                let delta = srtt.abs_diff(rtt);
                (srtt * 7 / 8 + rtt / 8, rttvar * 3 / 4 + delta / 4)
            }
        });
        self.last_sample = now;
    }

    /// The cached RTO (RFC 6298 §2: SRTT + 4 RTTVAR), never below `floor`; the floor alone
    /// once the cache is stale.
    fn rto(&self, now: Instant, floor: Duration) -> Duration {
        match self.srtt {
            Some((srtt, rttvar)) if now.saturating_duration_since(self.last_sample) < RTO_CACHE => {
                (srtt + rttvar * 4).max(floor)
            }
            _ => floor,
        }
    }
}

/// A seed from the operating system, through the crypto back-end.
pub(crate) fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // OpenSSL's RAND_bytes only fails when the OS has no entropy source at all; a STUN client
    // cannot make safe transaction ids then, so this is a fatal environment error.
    openssl::rand::rand_bytes(&mut seed).expect("OS entropy must be available for STUN ids");
    seed
}

#[cfg(test)]
mod tests {
    // Tests pick an arbitrary origin for the time they pass in.
    #![allow(clippy::disallowed_methods)]

    use super::*;
    use crate::server::{Server, ServerConfig};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn client() -> Client {
        Client::new(ClientConfig {
            rng_seed: Some([3; 32]),
            ..Default::default()
        })
    }

    /// Runs the client alone until its transaction times out; returns the send times.
    fn send_times(c: &mut Client, start: Instant) -> (Vec<Duration>, Duration) {
        let mut times = Vec::new();
        let mut now = start;
        loop {
            while c.poll_transmit().is_some() {
                times.push(now - start);
            }
            if let Some(Event::TimedOut { .. }) = c.poll_event() {
                return (times, now - start);
            }
            now = c.poll_timeout().unwrap();
            c.handle_timeout(now);
        }
    }

    #[test]
    fn retransmits_on_rfc8489_schedule_then_times_out() {
        let mut c = client();
        let t0 = Instant::now();
        c.binding_request(
            t0,
            addr("10.0.0.1:1"),
            addr("10.0.0.2:3478"),
            Transport::Udp,
        )
        .unwrap();
        let (times, end) = send_times(&mut c, t0);
        let ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(end, Duration::from_millis(39_500));
        assert_eq!(c.stats().retransmissions, 6);
        assert_eq!(c.stats().timeouts, 1);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn reliable_transport_sends_once_and_waits_ti() {
        let mut c = client();
        let t0 = Instant::now();
        c.binding_request(
            t0,
            addr("10.0.0.1:1"),
            addr("10.0.0.2:3478"),
            Transport::Tcp,
        )
        .unwrap();
        let (times, end) = send_times(&mut c, t0);
        assert_eq!(times, vec![Duration::ZERO]);
        assert_eq!(end, Duration::from_millis(39_500));
    }

    #[test]
    fn handle_timeout_early_or_twice_is_a_no_op() {
        let mut c = client();
        let t0 = Instant::now();
        c.binding_request(
            t0,
            addr("10.0.0.1:1"),
            addr("10.0.0.2:3478"),
            Transport::Udp,
        )
        .unwrap();
        assert!(c.poll_transmit().is_some());
        c.handle_timeout(t0 + Duration::from_millis(499));
        assert!(c.poll_transmit().is_none());
        c.handle_timeout(t0 + Duration::from_millis(500));
        c.handle_timeout(t0 + Duration::from_millis(500));
        assert!(c.poll_transmit().is_some());
        assert!(c.poll_transmit().is_none());
        // Time going backwards is clamped, not a panic.
        c.handle_timeout(t0);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_millis(1500)));
    }

    #[test]
    fn response_ends_transaction_and_teaches_rto() {
        let mut c = client();
        let mut s = Server::new(ServerConfig::default());
        let me = addr("10.0.0.1:1000");
        let srv = addr("10.0.0.2:3478");
        let t0 = Instant::now();
        let id = c.binding_request(t0, me, srv, Transport::Udp).unwrap();
        s.handle_input(t0, Received::from(c.poll_transmit().unwrap()));
        let t1 = t0 + Duration::from_millis(40);
        c.handle_input(t1, Received::from(s.poll_transmit().unwrap()));
        match c.poll_event() {
            Some(Event::Response {
                id: got,
                class,
                rtt,
                payload,
                ..
            }) => {
                assert_eq!(got, id);
                assert_eq!(class, Class::Success);
                assert_eq!(rtt, Some(Duration::from_millis(40)));
                assert_eq!(
                    Message::decode(&payload).unwrap().mapped_address(),
                    Some(me)
                );
            }
            e => panic!("unexpected {e:?}"),
        }
        assert!(!c.is_pending(id));
        assert_eq!(c.poll_timeout(), None);
        // 40 ms RTT: SRTT + 4 RTTVAR = 120 ms, floored at the configured 500 ms.
        assert_eq!(c.current_rto(srv.ip()), Duration::from_millis(500));
        let mut fast = Client::new(ClientConfig {
            rto: Duration::from_millis(50),
            rng_seed: Some([4; 32]),
            ..Default::default()
        });
        let id = fast.binding_request(t0, me, srv, Transport::Udp).unwrap();
        let req = fast.poll_transmit().unwrap();
        s.handle_input(t0, Received::from(req));
        fast.handle_input(t1, Received::from(s.poll_transmit().unwrap()));
        assert!(!fast.is_pending(id));
        assert_eq!(fast.current_rto(srv.ip()), Duration::from_millis(120));
        // Another server still starts from the configured value.
        assert_eq!(
            fast.current_rto(addr("10.9.9.9:1").ip()),
            Duration::from_millis(50)
        );
        // After 10 minutes without samples the cache is stale.
        fast.handle_timeout(t1 + Duration::from_secs(601));
        assert_eq!(fast.current_rto(srv.ip()), Duration::from_millis(50));
    }

    #[test]
    fn karn_rule_skips_rtt_of_retransmitted_requests() {
        let mut c = client();
        let mut s = Server::new(ServerConfig::default());
        let t0 = Instant::now();
        c.binding_request(
            t0,
            addr("10.0.0.1:1"),
            addr("10.0.0.2:3478"),
            Transport::Udp,
        )
        .unwrap();
        let first = c.poll_transmit().unwrap();
        c.handle_timeout(t0 + Duration::from_millis(500));
        assert!(c.poll_transmit().is_some());
        s.handle_input(t0, Received::from(first));
        c.handle_input(
            t0 + Duration::from_millis(600),
            Received::from(s.poll_transmit().unwrap()),
        );
        assert!(matches!(
            c.poll_event(),
            Some(Event::Response { rtt: None, .. })
        ));
    }

    #[test]
    fn unmatched_and_malformed_input_is_dropped_and_counted() {
        let mut c = client();
        let t0 = Instant::now();
        let rx = |payload: &'static [u8]| Received {
            source: addr("10.0.0.2:3478"),
            destination: addr("10.0.0.1:1"),
            transport: Transport::Udp,
            payload: Bytes::from_static(payload),
        };
        c.handle_input(t0, rx(b"not stun at all, just bytes"));
        let stray = Message::new(Class::Success, Method::BINDING, TransactionId::new([5; 12]))
            .to_vec(None, false)
            .unwrap();
        c.handle_input(
            t0,
            Received {
                payload: stray.into(),
                ..rx(b"")
            },
        );
        let req = Message::new(Class::Request, Method::BINDING, TransactionId::new([6; 12]))
            .to_vec(None, false)
            .unwrap();
        c.handle_input(
            t0,
            Received {
                payload: req.into(),
                ..rx(b"")
            },
        );
        assert_eq!(c.stats().dropped, 3);
        assert!(c.poll_event().is_none());
    }

    #[test]
    fn start_rejects_misuse() {
        let mut c = Client::new(ClientConfig {
            max_transactions: 1,
            rng_seed: Some([1; 32]),
            ..Default::default()
        });
        let t0 = Instant::now();
        let (a, b) = (addr("10.0.0.1:1"), addr("10.0.0.2:2"));
        let ind = Message::new(
            Class::Indication,
            Method::BINDING,
            TransactionId::new([1; 12]),
        )
        .to_vec(None, false)
        .unwrap();
        assert_eq!(
            c.start(t0, a, b, Transport::Udp, ind.into()),
            Err(Error::NotARequest)
        );
        assert_eq!(
            c.start(t0, a, b, Transport::Udp, Bytes::from_static(b"junk")),
            Err(Error::NotARequest)
        );
        let req = Message::new(Class::Request, Method::BINDING, TransactionId::new([1; 12]))
            .to_vec(None, false)
            .unwrap();
        let req = Bytes::from(req);
        let id = c.start(t0, a, b, Transport::Udp, req.clone()).unwrap();
        assert_eq!(
            c.start(t0, a, b, Transport::Udp, req),
            Err(Error::DuplicateTransaction)
        );
        assert_eq!(
            c.binding_request(t0, a, b, Transport::Udp),
            Err(Error::TooManyTransactions(1))
        );
        assert!(c.cancel(id));
        assert!(!c.cancel(id));
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn transaction_ids_are_seeded_and_distinct() {
        let mut a = client();
        let mut b = client();
        let ids: Vec<_> = (0..50).map(|_| a.new_transaction_id()).collect();
        let again: Vec<_> = (0..50).map(|_| b.new_transaction_id()).collect();
        assert_eq!(ids, again);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
    }
}
