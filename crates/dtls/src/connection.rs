//! The sans-IO DTLS connection.

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use log::{debug, info, trace};
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslSessionCacheMode, SslVerifyMode,
    SslVersion,
};
use openssl::x509::X509VerifyResult;

use crate::aead::{OpenError, Protection, Suite};
use crate::cert::{Certificate, Fingerprint, HashAlgorithm};
use crate::error::{CloseReason, Error};
use crate::ffi::{self, Outcome};
use crate::record;
use crate::srtp::{KeyingMaterial, SrtpProfile};
use weft_proto::ReplayWindow;

/// Which side of the handshake this end plays (from SDP `a=setup`: `active` is the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the ClientHello.
    Client,
    /// Answers it.
    Server,
}

/// The cipher suites offered: ECDHE with AES-GCM and ChaCha20-Poly1305 only.
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

/// The most retransmissions OpenSSL allows per flight before it gives up by itself (its
/// `DTLS1_TMO_ALERT_COUNT` is 12); weft stays below.
const MAX_RETRANSMISSIONS: u32 = 10;

/// Settings of a [`Connection`].
#[derive(Debug, Clone)]
pub struct Config {
    /// This end's certificate.
    pub certificate: Certificate,
    /// The fingerprints the peer's certificate may have (from its SDP). May be left empty and
    /// given later with [`Connection::set_remote_fingerprints`]; the connection then waits for
    /// them before it reports [`Event::Connected`].
    pub remote_fingerprints: Vec<Fingerprint>,
    /// The largest datagram to send (default 1200 bytes, what WebRTC stacks use).
    pub mtu: usize,
    /// The first retransmission timeout of a flight (default 1 s, RFC 6347 §4.2.4.1); it doubles
    /// at each retransmission up to `max_rto`.
    pub initial_rto: Duration,
    /// The retransmission timeout's cap (default 60 s).
    pub max_rto: Duration,
    /// Retransmissions per flight before the handshake fails (default 6, at most 10).
    pub max_retransmissions: u32,
    /// How long the whole handshake may take (default 30 s).
    pub handshake_timeout: Duration,
    /// After the handshake, how long without a datagram in or out before OpenSSL's record
    /// buffers (about 18 KiB) are freed; they come back with the next datagram. `None`
    /// keeps them. Default 1 s.
    pub idle_release: Option<Duration>,
    /// The SRTP profiles to offer or accept, in order of preference; empty disables `use_srtp`.
    pub srtp_profiles: Vec<SrtpProfile>,
    /// Once the handshake is confirmed, protect records in weft and free the OpenSSL
    /// connection (ADR 0008): about 50 KiB less per connection and a cheaper record path.
    /// Default true; false keeps every record in OpenSSL.
    pub own_records: bool,
}

impl Config {
    /// Defaults around a certificate.
    pub fn new(certificate: Certificate) -> Self {
        Config {
            certificate,
            remote_fingerprints: Vec::new(),
            mtu: 1200,
            initial_rto: Duration::from_secs(1),
            max_rto: Duration::from_secs(60),
            max_retransmissions: 6,
            handshake_timeout: Duration::from_secs(30),
            idle_release: Some(Duration::from_secs(1)),
            srtp_profiles: SrtpProfile::ALL.to_vec(),
            own_records: true,
        }
    }
}

/// What a [`Connection`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// DTLS-SRTP keys, split by direction; comes right before [`Event::Connected`] when a
    /// profile was negotiated.
    KeyingMaterial(KeyingMaterial),
    /// The handshake completed and the peer's certificate matches its fingerprint.
    Connected {
        /// The SHA-256 fingerprint of the peer's certificate.
        peer_fingerprint: Fingerprint,
        /// The negotiated cipher suite's OpenSSL name.
        cipher: String,
    },
    /// Application data from the peer.
    Data(Bytes),
    /// The connection ended; nothing more will be sent or received.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}

/// The connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The handshake is running.
    Handshaking,
    /// The handshake completed, but no fingerprint to check the peer against was given yet.
    AwaitingFingerprint,
    /// Application data flows.
    Connected,
    /// Closed; see the [`Event::Closed`] reason.
    Closed,
}

/// Counters of a [`Connection`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams received.
    pub datagrams_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Flight retransmissions sent.
    pub retransmissions: u64,
    /// Datagrams dropped before OpenSSL saw them: not DTLS, or malformed records.
    pub dropped_malformed: u64,
    /// Records of epoch 0 received after the handshake (stale handshake retransmissions),
    /// which OpenSSL discards.
    pub stale_epoch_records: u64,
    /// Application data dropped while waiting for the fingerprint (beyond the buffer).
    pub dropped_before_verification: u64,
    /// Application records dropped as replays of records already delivered.
    pub replayed_records: u64,
    /// Records that failed authentication after weft took the records over (ADR 0008),
    /// dropped (RFC 6347 §4.1.2.7).
    pub rejected_records: u64,
}

/// What the connections of one endpoint share: its certificate, cipher suites, SRTP profiles
/// and policy, as one OpenSSL context. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    ctx: SslContext,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context(..)")
    }
}

impl Context {
    /// A context for connections with `config`'s certificate and SRTP profiles.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let mut ctx = Self::builder(&config.srtp_profiles, SslOptions::empty(), CIPHERS)?;
        ctx.set_certificate(config.certificate.x509())?;
        ctx.set_private_key(config.certificate.key())?;
        ctx.check_private_key()?;
        Ok(Context { ctx: ctx.build() })
    }

    /// The context of [`Connection::new`]: without a certificate (each connection sets its
    /// own on its `SSL`), so that connections with the default SRTP profiles share one, built
    /// once per process. An OpenSSL context costs about 8 KiB; a connection per context was
    /// most of the memory of an idle peer connection after OpenSSL's own buffers. The shared
    /// context holds no per-connection state: its session cache is off.
    fn for_connection(config: &Config, extra: SslOptions, ciphers: &str) -> Result<Self, Error> {
        static DEFAULT: OnceLock<Result<SslContext, String>> = OnceLock::new();
        if extra.is_empty() && ciphers == CIPHERS && config.srtp_profiles == SrtpProfile::ALL {
            return DEFAULT
                .get_or_init(|| {
                    Self::builder(&SrtpProfile::ALL, SslOptions::empty(), CIPHERS)
                        .map(SslContextBuilder::build)
                        .map_err(|e| e.to_string())
                })
                .clone()
                .map(|ctx| Context { ctx })
                .map_err(Error::OpenSsl);
        }
        Ok(Context {
            ctx: Self::builder(&config.srtp_profiles, extra, ciphers)?.build(),
        })
    }

    /// The settings every context has: DTLS 1.2 only, the cipher suites, the SRTP profiles,
    /// no session cache, the fingerprint-only peer check.
    fn builder(
        srtp_profiles: &[SrtpProfile],
        extra: SslOptions,
        ciphers: &str,
    ) -> Result<SslContextBuilder, Error> {
        let mut ctx = SslContextBuilder::new(SslMethod::dtls())?;
        // DTLS 1.0 is refused; DTLS 1.3 is not offered by OpenSSL 3.0 and not yet by browsers.
        ctx.set_min_proto_version(Some(SslVersion::DTLS1_2))?;
        ctx.set_max_proto_version(Some(SslVersion::DTLS1_2))?;
        ctx.set_cipher_list(ciphers)?;
        if !srtp_profiles.is_empty() {
            let names: Vec<&str> = srtp_profiles.iter().map(|p| p.openssl_name()).collect();
            ctx.set_tlsext_use_srtp(&names.join(":"))?;
        }
        ctx.set_options(
            SslOptions::NO_RENEGOTIATION
                | SslOptions::NO_TICKET
                | SslOptions::from_bits_retain(openssl_sys::SSL_OP_NO_QUERY_MTU)
                | extra,
        );
        // No resumption: a session cached in a context shared by many connections would only
        // hold memory (and a peer's certificate) after its connection ended.
        ctx.set_session_cache_mode(SslSessionCacheMode::OFF);
        // (`SSL_MODE_RELEASE_BUFFERS` would not help: OpenSSL 3.0 never releases a DTLS
        // connection's read buffer, and the write buffer is sized to the MTU instead.)
        // No CA: identity is the SDP fingerprint, checked after the handshake. The validity
        // period is still enforced (a `dtls-failure`), at the wall-clock time the connection
        // is given.
        ctx.set_verify_callback(
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT,
            |_, store| {
                let e = store.error().as_raw();
                e != openssl_sys::X509_V_ERR_CERT_HAS_EXPIRED
                    && e != openssl_sys::X509_V_ERR_CERT_NOT_YET_VALID
            },
        );
        Ok(ctx)
    }
}

/// What a [`Connection`] keeps of its [`Config`]: everything but the certificate and the
/// SRTP profiles, which only set up the OpenSSL connection.
#[derive(Debug, Clone)]
struct Settings {
    remote_fingerprints: Vec<Fingerprint>,
    mtu: usize,
    initial_rto: Duration,
    max_rto: Duration,
    handshake_timeout: Duration,
    idle_release: Option<Duration>,
    own_records: bool,
}

impl From<Config> for Settings {
    fn from(c: Config) -> Self {
        Settings {
            remote_fingerprints: c.remote_fingerprints,
            mtu: c.mtu,
            initial_rto: c.initial_rto,
            max_rto: c.max_rto,
            handshake_timeout: c.handshake_timeout,
            idle_release: c.idle_release,
            own_records: c.own_records,
        }
    }
}

/// The smallest read buffer. A datagram's records fit in its length; a larger record (one
/// OpenSSL buffered earlier) makes the buffer grow.
const MIN_READ: usize = 1500;

/// The most application records kept while waiting for the remote fingerprint.
const MAX_EARLY_DATA: usize = 64;

/// A DTLS 1.2 connection: OpenSSL runs the protocol, weft owns the datagrams and the clock.
///
/// ```
/// use std::time::{Duration, Instant, SystemTime};
/// use weft_dtls::{Certificate, Config, Connection, Event, HashAlgorithm, KeyType, Role};
///
/// let (now, wall) = (Instant::now(), SystemTime::now());
/// let ca = Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(86400))?;
/// let cb = Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(86400))?;
/// let mut a_cfg = Config::new(ca.clone());
/// a_cfg.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256)?];
/// let mut b_cfg = Config::new(cb);
/// b_cfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256)?];
/// let mut a = Connection::new(Role::Client, a_cfg, now, wall)?;
/// let mut b = Connection::new(Role::Server, b_cfg, now, wall)?;
/// // Shuttle datagrams until both are connected.
/// for _ in 0..10 {
///     while let Some(d) = a.poll_transmit() { b.handle_input(now, d); }
///     while let Some(d) = b.poll_transmit() { a.handle_input(now, d); }
/// }
/// assert!(a.is_connected() && b.is_connected());
/// a.send(b"hello")?;
/// while let Some(d) = a.poll_transmit() { b.handle_input(now, d); }
/// let data: Vec<_> = std::iter::from_fn(|| b.poll_event())
///     .filter_map(|e| match e { Event::Data(d) => Some(d), _ => None })
///     .collect();
/// assert_eq!(data, vec![bytes::Bytes::from_static(b"hello")]);
/// # Ok::<(), weft_dtls::Error>(())
/// ```
#[derive(Debug)]
pub struct Connection {
    /// OpenSSL's connection: the handshake, and the records until weft takes them over
    /// (then `None`).
    ssl: Option<Ssl>,
    /// The epoch-1 keys once weft protects the records itself (ADR 0008).
    own: Option<Box<Protection>>,
    /// The highest epoch-1 sequence number OpenSSL wrote (weft's records continue after it).
    written_epoch1: Option<u64>,
    role: Role,
    config: Settings,
    state: State,
    /// When the handshake began: at creation for a client, at the first datagram for a server.
    started: Option<Instant>,
    now: Instant,
    transmits: VecDeque<Bytes>,
    events: VecDeque<Event>,
    /// Captured retransmissions of the current flight, each as datagrams, oldest first.
    held: VecDeque<Vec<Bytes>>,
    rto: Duration,
    retransmit_at: Option<Instant>,
    early_data: Vec<Bytes>,
    /// When to check whether the connection went idle, to free OpenSSL's record buffers.
    release_at: Option<Instant>,
    /// A datagram went in or out since `release_at` was armed.
    busy: bool,
    /// OpenSSL's record buffers were freed (and must be set up before OpenSSL runs again).
    released: bool,
    /// Sequence numbers of application records already delivered (RFC 6347 §4.1.2.6), for
    /// counting and dropping replays before OpenSSL sees them.
    replay: ReplayWindow,
    /// Application records delivered (or buffered before verification) so far.
    delivered: u64,
    stats: Stats,
}

impl Connection {
    /// A connection in `role`. A client sends its ClientHello at once. `wall` is the wall-clock
    /// time used to check the peer certificate's validity period.
    pub fn new(role: Role, config: Config, now: Instant, wall: SystemTime) -> Result<Self, Error> {
        Self::with_options(role, config, now, wall, SslOptions::empty(), CIPHERS)
    }

    /// [`Connection::new`] with extra OpenSSL options and other cipher suites (tests use it to
    /// impersonate old peers and to pick a suite).
    fn with_options(
        role: Role,
        config: Config,
        now: Instant,
        wall: SystemTime,
        extra: SslOptions,
        ciphers: &str,
    ) -> Result<Self, Error> {
        Self::check(&config)?;
        let ctx = Context::for_connection(&config, extra, ciphers)?;
        Self::from_context(role, &ctx, config, now, wall)
    }

    /// A connection on a shared [`Context`], which must have been built from a config with
    /// the same certificate and SRTP profiles: a server with many peers builds the OpenSSL
    /// context once.
    pub fn with_context(
        role: Role,
        context: &Context,
        config: Config,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, Error> {
        Self::check(&config)?;
        Self::from_context(role, context, config, now, wall)
    }

    fn check(config: &Config) -> Result<(), Error> {
        if config.max_retransmissions > MAX_RETRANSMISSIONS {
            return Err(Error::Config("max_retransmissions above 10"));
        }
        if !(256..=65_535).contains(&config.mtu) {
            return Err(Error::Config("mtu must be 256 to 65535 bytes"));
        }
        Ok(())
    }

    fn from_context(
        role: Role,
        context: &Context,
        config: Config,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, Error> {
        let ctx = &context.ctx;
        let mut ssl = Ssl::new(ctx)?;
        // The certificate is set per connection (the context may be shared without one); the
        // key is checked against it when the certificate is made or loaded.
        ssl.set_certificate(config.certificate.x509())?;
        ssl.set_private_key(config.certificate.key())?;
        ssl.set_mtu(u32::try_from(config.mtu).map_err(|_| Error::Config("mtu"))?)?;
        let secs = wall
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::BadTime)?
            .as_secs();
        ssl.param_mut()
            .set_time(i64::try_from(secs).map_err(|_| Error::BadTime)?);
        ffi::prepare(&mut ssl, config.max_retransmissions as usize)?;
        // No record is larger than a datagram: OpenSSL's write buffer shrinks from 16 KiB to
        // about the MTU (application records are at most `max_payload`; handshake messages are
        // fragmented to the MTU anyway).
        ffi::set_max_send_fragment(&mut ssl, config.mtu)?;
        match role {
            Role::Client => ssl.set_connect_state(),
            Role::Server => ssl.set_accept_state(),
        }
        let rto = config.initial_rto;
        // The `SSL` holds the certificate and key from here; the connection keeps none, so
        // they are freed with the `SSL` once the records are weft's (ADR 0008).
        let config = Settings::from(config);
        let mut c = Connection {
            ssl: Some(ssl),
            own: None,
            written_epoch1: None,
            role,
            config,
            state: State::Handshaking,
            started: (role == Role::Client).then_some(now),
            now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            held: VecDeque::new(),
            rto,
            retransmit_at: None,
            early_data: Vec::new(),
            release_at: None,
            busy: false,
            released: false,
            replay: ReplayWindow::new(128),
            delivered: 0,
            stats: Stats::default(),
        };
        if role == Role::Client {
            c.drive(0);
        }
        Ok(c)
    }

    /// The connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether application data can flow.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The most application data one [`Connection::send`] can carry: one record in one
    /// datagram of `mtu` bytes (header, explicit nonce and tag of AES-GCM taken off).
    pub fn max_payload(&self) -> usize {
        self.config.mtu - record::HEADER_LEN - 8 - 16
    }

    /// Gives the fingerprints from the peer's SDP. If the handshake already completed, the
    /// peer is checked now.
    pub fn set_remote_fingerprints(&mut self, now: Instant, fingerprints: Vec<Fingerprint>) {
        self.now = self.now.max(now);
        self.config.remote_fingerprints = fingerprints;
        if self.state == State::AwaitingFingerprint {
            self.wake_buffers();
            self.verify_peer();
            self.maybe_take_over();
        }
    }

    /// Feeds one received datagram.
    pub fn handle_input(&mut self, now: Instant, datagram: Bytes) {
        self.now = self.now.max(now);
        if self.state == State::Closed {
            return;
        }
        self.stats.datagrams_in += 1;
        self.started.get_or_insert(self.now);
        let Some(records) = record::split(&datagram) else {
            debug!(
                "dtls: dropped a malformed datagram of {} bytes",
                datagram.len()
            );
            self.stats.dropped_malformed += 1;
            return;
        };
        if self.own.is_some() {
            self.open_records(&records);
            return;
        }
        if self.state != State::Handshaking {
            self.stats.stale_epoch_records +=
                records.iter().filter(|(h, _)| h.epoch == 0).count() as u64;
        }
        // A datagram of one application record (what SCTP sends) is checked against the
        // records already delivered: only those enter the window, so a forged record cannot
        // shut out a genuine one.
        let single_app = match records.as_slice() {
            [(h, _)] if h.content_type == 23 => Some(h.sequence),
            _ => None,
        };
        if let Some(seq) = single_app
            && !self.replay.check(seq)
        {
            trace!("dtls: dropped a replayed record {seq}");
            self.stats.replayed_records += 1;
            return;
        }
        self.wake_buffers();
        let Some(ssl) = self.ssl.as_ref() else {
            return;
        };
        if let Err(e) = ffi::feed(ssl, &datagram) {
            debug!("dtls: {e}");
            self.stats.dropped_malformed += 1;
            return;
        }
        let delivered_before = self.delivered;
        self.drive(datagram.len());
        self.arm_release();
        if let Some(seq) = single_app
            && self.delivered > delivered_before
        {
            self.replay.accept(seq);
        }
        self.maybe_take_over();
    }

    /// The records of one datagram once weft protects them (ADR 0008): application data is
    /// delivered, alerts are acted on, anything else (stale handshake retransmissions, other
    /// epochs) is dropped and counted.
    fn open_records(&mut self, records: &[(record::RecordHeader, &[u8])]) {
        for (h, r) in records {
            let Some(own) = self.own.as_mut() else {
                return;
            };
            if h.epoch != own.epoch() || !matches!(h.content_type, 21 | 23) {
                // Retransmitted handshake records (epoch 0 or a repeated Finished), or a
                // renegotiation attempt, which this crate refuses.
                self.stats.stale_epoch_records += 1;
                continue;
            }
            if !self.replay.check(h.sequence) {
                trace!("dtls: dropped a replayed record {}", h.sequence);
                self.stats.replayed_records += 1;
                continue;
            }
            let plain = match own.open(h, r) {
                Ok(p) => p,
                Err(OpenError::TooShort | OpenError::Authentication) => {
                    trace!("dtls: dropped a record that failed authentication");
                    self.stats.rejected_records += 1;
                    continue;
                }
            };
            self.replay.accept(h.sequence);
            if h.content_type == 23 {
                self.delivered += 1;
                if !plain.is_empty() {
                    self.events.push_back(Event::Data(plain));
                }
                continue;
            }
            match plain.as_ref() {
                // close_notify: answered with ours (RFC 5246 §7.2.1).
                [_, 0] => {
                    info!("dtls: peer sent close_notify");
                    self.seal_alert(0);
                    self.close_with(CloseReason::PeerClosed);
                    return;
                }
                [2, desc] => {
                    info!("dtls: peer sent fatal alert {desc}");
                    self.close_with(CloseReason::DtlsFailure(format!(
                        "peer sent fatal alert {desc}"
                    )));
                    return;
                }
                // Warnings (no_renegotiation and the like) change nothing.
                _ => debug!("dtls: peer sent alert {:?}", plain.as_ref()),
            }
        }
    }

    /// Queues an alert of level warning (1) with `description`, sealed by weft.
    fn seal_alert(&mut self, description: u8) {
        if let Some(own) = self.own.as_mut()
            && let Some(rec) = own.seal(21, &[1, description])
        {
            self.transmits.push_back(rec);
        }
    }

    /// Takes the records over from OpenSSL once the handshake is confirmed on both sides
    /// (ADR 0008): a client as soon as it is connected (the server's Finished was the last
    /// handshake message), a server once the client's application data shows that our
    /// Finished arrived. Until then a lost Finished is still OpenSSL's to repeat.
    fn maybe_take_over(&mut self) {
        if !self.config.own_records
            || self.own.is_some()
            || self.state != State::Connected
            || (self.role == Role::Server && self.delivered == 0)
        {
            return;
        }
        let Some(ssl) = self.ssl.as_ref() else {
            return;
        };
        let Some(suite) = ssl
            .current_cipher()
            .and_then(|c| Suite::from_openssl_name(c.name()))
        else {
            self.config.own_records = false;
            return;
        };
        let Some(session) = ssl.session() else {
            self.config.own_records = false;
            return;
        };
        let mut master = [0u8; 48];
        let n = session.master_key(&mut master);
        let (mut client_random, mut server_random) = ([0u8; 32], [0u8; 32]);
        let cr = ssl.client_random(&mut client_random);
        let sr = ssl.server_random(&mut server_random);
        let next = self.written_epoch1.map_or(0, |s| s + 1);
        let derived = Protection::derive(
            suite,
            &master[..n.min(48)],
            &client_random[..cr.min(32)],
            &server_random[..sr.min(32)],
            self.role == Role::Client,
            1,
            next,
        );
        master.fill(0);
        match derived {
            Ok(p) => {
                debug!("dtls: records taken over from OpenSSL at sequence {next}");
                self.own = Some(Box::new(p));
                // The OpenSSL connection (handshake buffers, retransmission queue, record
                // buffers, the peer's certificate) goes.
                self.ssl = None;
                self.release_at = None;
                self.released = false;
            }
            Err(e) => {
                debug!("dtls: records stay with OpenSSL: {e}");
                self.config.own_records = false;
            }
        }
    }

    /// Whether weft protects the records itself now (ADR 0008), the OpenSSL connection freed.
    pub fn owns_records(&self) -> bool {
        self.own.is_some()
    }

    /// Releases held retransmissions and enforces the handshake timeout. Idempotent.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        if matches!(self.state, State::Connected | State::AwaitingFingerprint) {
            if let Some(at) = self.release_at
                && now >= at
            {
                if std::mem::take(&mut self.busy) {
                    self.release_at = self.config.idle_release.map(|d| now + d);
                } else {
                    self.release_at = None;
                    if let Some(ssl) = self.ssl.as_mut()
                        && ffi::free_buffers(ssl)
                    {
                        trace!("dtls: idle, record buffers freed");
                        self.released = true;
                    }
                }
            }
            return;
        }
        if self.state != State::Handshaking {
            return;
        }
        let Some(started) = self.started else {
            return;
        };
        if now.saturating_duration_since(started) >= self.config.handshake_timeout {
            self.close_with(CloseReason::HandshakeTimeout);
            return;
        }
        let Some(at) = self.retransmit_at else {
            return;
        };
        if now < at {
            return;
        }
        match self.held.pop_front() {
            Some(copy) => {
                trace!("dtls: retransmitting the flight after {:?}", self.rto);
                self.stats.retransmissions += 1;
                self.transmits.extend(copy);
                self.rto = (self.rto * 2).min(self.config.max_rto);
                self.retransmit_at = Some(now + self.rto);
            }
            None => {
                // The last copy went out one RTO ago and nothing came back.
                self.close_with(CloseReason::HandshakeTimeout);
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let d = self.transmits.pop_front();
        if d.is_some() {
            self.stats.datagrams_out += 1;
        }
        d
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Connection::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(self.state, State::Connected | State::AwaitingFingerprint) {
            return self.release_at;
        }
        if self.state != State::Handshaking {
            return None;
        }
        let deadline = self.started? + self.config.handshake_timeout;
        Some(self.retransmit_at.map_or(deadline, |t| t.min(deadline)))
    }

    /// Sends application data as one record (nothing for empty data: like OpenSSL, weft
    /// neither sends nor delivers empty application records).
    pub fn send(&mut self, data: &[u8]) -> Result<(), Error> {
        match self.state {
            State::Connected => {}
            State::Closed => return Err(Error::Closed),
            _ => return Err(Error::NotConnected),
        }
        if data.len() > self.max_payload() {
            return Err(Error::TooLarge {
                len: data.len(),
                max: self.max_payload(),
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        if let Some(own) = self.own.as_mut() {
            return match own.seal(23, data) {
                Some(rec) => {
                    self.transmits.push_back(rec);
                    Ok(())
                }
                None => {
                    self.close_with(CloseReason::DtlsFailure(
                        "cannot seal a record (sequence numbers spent or cipher failure)".into(),
                    ));
                    Err(Error::Closed)
                }
            };
        }
        self.wake_buffers();
        let Some(ssl) = self.ssl.as_mut() else {
            return Err(Error::Closed);
        };
        match ffi::write(ssl, data) {
            Outcome::Done(_) => {}
            Outcome::Fatal(reason) => {
                self.close_with(CloseReason::DtlsFailure(reason));
                return Err(Error::Closed);
            }
            Outcome::Closed | Outcome::WantRead => return Err(Error::Closed),
        }
        self.collect_output();
        Ok(())
    }

    /// Sends `close_notify` and closes.
    pub fn close(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state == State::Closed {
            return;
        }
        if self.own.is_some() {
            self.seal_alert(0);
        } else {
            self.wake_buffers();
            if let Some(ssl) = self.ssl.as_mut() {
                ffi::shutdown(ssl);
            }
            self.collect_output();
        }
        self.close_with(CloseReason::LocalClose);
    }

    /// Before OpenSSL runs: its record buffers back if they were freed, and the connection
    /// counted as busy for the idle check.
    fn wake_buffers(&mut self) {
        if self.released {
            // On failure OpenSSL's own call fails next, and that closes the connection.
            if let Some(ssl) = self.ssl.as_mut() {
                ffi::alloc_buffers(ssl);
            }
            self.released = false;
        }
        self.busy = true;
        self.arm_release();
    }

    /// Arms the idle check once the handshake is over, unless it is armed already.
    fn arm_release(&mut self) {
        if self.release_at.is_none()
            && !self.released
            && self.ssl.is_some()
            && matches!(self.state, State::Connected | State::AwaitingFingerprint)
        {
            self.release_at = self.config.idle_release.map(|d| self.now + d);
        }
    }

    /// Runs OpenSSL on whatever input is buffered (`input_len` bytes, the datagram just fed),
    /// then collects its output.
    fn drive(&mut self, input_len: usize) {
        if self.state == State::Handshaking {
            let Some(ssl) = self.ssl.as_mut() else {
                return;
            };
            match ffi::do_handshake(ssl) {
                Outcome::Done(_) => {
                    self.collect_output();
                    self.handshake_done();
                }
                Outcome::WantRead => {}
                Outcome::Closed => self.fail_handshake("peer closed during the handshake".into()),
                Outcome::Fatal(reason) => self.fail_handshake(reason),
            }
        }
        if matches!(self.state, State::Connected | State::AwaitingFingerprint) {
            self.read_application_data(input_len);
        }
        self.collect_output();
    }

    /// Reads the records of the datagram just fed. Their plaintext is shorter than the
    /// datagram, so one buffer of its length holds them all, and each record is a slice of it
    /// (no per-connection read buffer, no copy).
    fn read_application_data(&mut self, input_len: usize) {
        let mut buf = BytesMut::new();
        loop {
            if buf.capacity() == buf.len() {
                buf.reserve(input_len.max(MIN_READ));
            }
            let Some(ssl) = self.ssl.as_mut() else {
                return;
            };
            match ffi::read(ssl, &mut buf) {
                Outcome::Done(n) => {
                    self.delivered += 1;
                    let data = buf.split_to(n).freeze();
                    if self.state == State::Connected {
                        self.events.push_back(Event::Data(data));
                    } else if self.early_data.len() < MAX_EARLY_DATA {
                        self.early_data.push(data);
                    } else {
                        self.stats.dropped_before_verification += 1;
                    }
                }
                Outcome::WantRead => return,
                Outcome::Closed => {
                    info!("dtls: peer sent close_notify");
                    ffi::shutdown(ssl);
                    self.collect_output();
                    self.close_with(CloseReason::PeerClosed);
                    return;
                }
                Outcome::Fatal(reason) => {
                    self.collect_output();
                    self.close_with(CloseReason::DtlsFailure(reason));
                    return;
                }
            }
        }
    }

    fn fail_handshake(&mut self, reason: String) {
        let verify = self
            .ssl
            .as_ref()
            .map_or(X509VerifyResult::OK, |s| s.verify_result());
        let reason = if verify == X509VerifyResult::OK {
            reason
        } else {
            format!("{reason}: peer certificate: {}", verify.error_string())
        };
        info!("dtls: handshake failed: {reason}");
        self.collect_output();
        self.close_with(CloseReason::DtlsFailure(reason));
    }

    fn handshake_done(&mut self) {
        self.held.clear();
        self.retransmit_at = None;
        let Some(ssl) = self.ssl.as_mut() else {
            return;
        };
        // The handshake's output was just collected; what it left in the BIOs' buffers is
        // freed (records that arrived with the last flight stay, and so do the old BIOs).
        ffi::renew_bios(ssl);
        if !ffi::extended_master_secret(ssl) {
            // RFC 8827 §6.5 and this crate require the extended master secret (RFC 7627).
            ffi::shutdown(ssl);
            self.collect_output();
            self.close_with(CloseReason::DtlsFailure(
                "peer does not support the extended master secret".into(),
            ));
            return;
        }
        if self.config.remote_fingerprints.is_empty() {
            self.state = State::AwaitingFingerprint;
            return;
        }
        self.verify_peer();
    }

    fn verify_peer(&mut self) {
        let Some(ssl) = self.ssl.as_mut() else {
            return;
        };
        let Some(cert) = ssl.peer_certificate() else {
            self.close_with(CloseReason::DtlsFailure("peer sent no certificate".into()));
            return;
        };
        if !self
            .config
            .remote_fingerprints
            .iter()
            .any(|f| f.matches(&cert))
        {
            info!("dtls: peer certificate matches no fingerprint");
            ffi::shutdown(ssl);
            self.collect_output();
            self.close_with(CloseReason::FingerprintFailure);
            return;
        }
        if let Some(p) = ssl
            .selected_srtp_profile()
            .and_then(|p| SrtpProfile::from_openssl_name(p.name()))
        {
            let mut export = vec![0u8; KeyingMaterial::export_len(p)];
            let keys = ssl
                .export_keying_material(&mut export, KeyingMaterial::LABEL, None)
                .ok()
                .and_then(|()| KeyingMaterial::split(p, &export, self.role == Role::Client));
            match keys {
                Some(k) => self.events.push_back(Event::KeyingMaterial(k)),
                None => {
                    self.close_with(CloseReason::DtlsFailure(
                        "cannot export the DTLS-SRTP keys".into(),
                    ));
                    return;
                }
            }
        }
        let peer_fingerprint = match Fingerprint::of(&cert, HashAlgorithm::Sha256) {
            Ok(f) => f,
            Err(e) => {
                self.close_with(CloseReason::DtlsFailure(e.to_string()));
                return;
            }
        };
        let cipher = ssl
            .current_cipher()
            .map(|c| c.name().to_string())
            .unwrap_or_default();
        info!("dtls: connected with {cipher}");
        self.state = State::Connected;
        self.events.push_back(Event::Connected {
            peer_fingerprint,
            cipher,
        });
        for d in std::mem::take(&mut self.early_data) {
            self.events.push_back(Event::Data(d));
        }
    }

    fn close_with(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.held.clear();
        self.retransmit_at = None;
        self.release_at = None;
        // Nothing is sealed or opened any more.
        self.own = None;
        self.events.push_back(Event::Closed { reason });
    }

    /// Notes the highest epoch-1 sequence number in what OpenSSL wrote, where weft's own
    /// records will continue.
    fn note_written(&mut self, out: &[u8]) {
        if !self.config.own_records {
            return;
        }
        for (h, _) in record::split(out).unwrap_or_default() {
            if h.epoch == 1 {
                self.written_epoch1 = Some(
                    self.written_epoch1
                        .map_or(h.sequence, |s| s.max(h.sequence)),
                );
            }
        }
    }

    /// Moves what OpenSSL wrote into datagrams: the live part goes out now, captured
    /// retransmissions are held for the timer (ADR 0003).
    fn collect_output(&mut self) {
        let Some(ssl) = self.ssl.as_mut() else {
            return;
        };
        // OpenSSL's DTLS timer only runs during the handshake; application data skips it.
        let (fresh_start, copy_starts) = if self.state == State::Handshaking {
            ffi::take_timer_state(ssl)
        } else {
            (false, Vec::new())
        };
        let out = ffi::drain(ssl);
        if out.is_empty() && !fresh_start {
            return;
        }
        self.note_written(&out);
        let mtu = self.config.mtu;
        if copy_starts.is_empty() && !fresh_start && out.len() <= mtu {
            // What follows would make exactly this one datagram (the common case once
            // connected: one application record per send): no splitting, no copy.
            self.transmits.push_back(Bytes::from(out));
            return;
        }
        let out = Bytes::from(out);
        let mut bounds: Vec<usize> = copy_starts
            .into_iter()
            .filter(|&b| b <= out.len())
            .collect();
        bounds.push(out.len());
        let mut segments = Vec::with_capacity(bounds.len());
        let mut start = 0;
        for end in bounds {
            segments.push(start..end.max(start));
            start = end.max(start);
        }
        // Each datagram is a run of consecutive records, so a slice of `out`.
        let pack = |seg: &std::ops::Range<usize>| -> Vec<Bytes> {
            match record::split(&out[seg.clone()]) {
                Some(recs) => {
                    let mut datagrams = Vec::new();
                    let (mut from, mut to) = (seg.start, seg.start);
                    for (_, r) in recs {
                        if to > from && to - from + r.len() > mtu {
                            datagrams.push(out.slice(from..to));
                            from = to;
                        }
                        to += r.len();
                    }
                    if to > from {
                        datagrams.push(out.slice(from..to));
                    }
                    datagrams
                }
                // OpenSSL only writes whole records; send anything else as it is.
                None if seg.is_empty() => Vec::new(),
                None => vec![out.slice(seg.clone())],
            }
        };
        let live = pack(&segments[0]);
        let copies: Vec<Vec<Bytes>> = segments[1..].iter().map(pack).collect();
        self.transmits.extend(live);
        if fresh_start || !copies.is_empty() {
            // A new flight: forget the previous one's copies and start its timer.
            self.held = copies.into_iter().filter(|c| !c.is_empty()).collect();
            self.rto = self.config.initial_rto;
            self.retransmit_at = if self.state == State::Handshaking && !self.held.is_empty() {
                Some(self.now + self.rto)
            } else {
                None
            };
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)] // tests pick arbitrary clock origins

    use super::*;
    use crate::cert::KeyType;

    fn cert_valid(wall: SystemTime, from_ago: Duration, lasts: Duration) -> Certificate {
        Certificate::generate(KeyType::EcdsaP256, wall - from_ago, lasts).unwrap()
    }

    fn shuttle(a: &mut Connection, b: &mut Connection, now: Instant) {
        for _ in 0..10 {
            while let Some(d) = a.poll_transmit() {
                b.handle_input(now, d);
            }
            while let Some(d) = b.poll_transmit() {
                a.handle_input(now, d);
            }
        }
    }

    /// Two configs that trust each other, for a client and a server.
    fn trusting_pair(wall: SystemTime) -> (Config, Config) {
        let day = Duration::from_secs(86400);
        let ca = cert_valid(wall, Duration::ZERO, day);
        let cb = cert_valid(wall, Duration::ZERO, day);
        let mut a = Config::new(ca.clone());
        a.remote_fingerprints = vec![cb.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut b = Config::new(cb);
        b.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).unwrap()];
        (a, b)
    }

    /// A client and a server, handshake done, events drained.
    fn connected_pair(now: Instant, wall: SystemTime) -> (Connection, Connection) {
        let (acfg, bcfg) = trusting_pair(wall);
        let mut a = Connection::new(Role::Client, acfg, now, wall).unwrap();
        let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut a, &mut b, now);
        assert!(a.is_connected() && b.is_connected());
        while a.poll_event().is_some() || b.poll_event().is_some() {}
        (a, b)
    }

    /// A client and a server past the handshake whose records stay with OpenSSL.
    fn openssl_pair(now: Instant, wall: SystemTime) -> (Connection, Connection) {
        let (mut acfg, mut bcfg) = trusting_pair(wall);
        acfg.own_records = false;
        bcfg.own_records = false;
        let mut a = Connection::new(Role::Client, acfg, now, wall).unwrap();
        let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut a, &mut b, now);
        (a, b)
    }

    fn closed(c: &mut Connection) -> Option<CloseReason> {
        std::iter::from_fn(|| c.poll_event()).find_map(|e| match e {
            Event::Closed { reason } => Some(reason),
            _ => None,
        })
    }

    #[test]
    fn expired_peer_certificate_is_a_dtls_failure() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let day = Duration::from_secs(86400);
        let fresh = cert_valid(wall, Duration::ZERO, day);
        let old = cert_valid(wall, 3 * day, day);
        let mut cc = Config::new(old.clone());
        cc.remote_fingerprints = vec![fresh.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut sc = Config::new(fresh);
        sc.remote_fingerprints = vec![old.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut client = Connection::new(Role::Client, cc, now, wall).unwrap();
        let mut server = Connection::new(Role::Server, sc, now, wall).unwrap();
        shuttle(&mut client, &mut server, now);
        match closed(&mut server) {
            Some(CloseReason::DtlsFailure(r)) => assert!(r.contains("expired"), "{r}"),
            other => panic!("unexpected {other:?}"),
        }
        // The server's alert ends the client too.
        assert!(matches!(
            closed(&mut client),
            Some(CloseReason::DtlsFailure(_))
        ));
    }

    #[test]
    fn truncated_client_hello_is_dropped_and_counted() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let c = cert_valid(wall, Duration::ZERO, Duration::from_secs(86400));
        let mut client = Connection::new(Role::Client, Config::new(c.clone()), now, wall).unwrap();
        let mut server = Connection::new(Role::Server, Config::new(c), now, wall).unwrap();
        let hello = client.poll_transmit().unwrap();
        for cut in [1, 5, 13, hello.len() / 2, hello.len() - 1] {
            server.handle_input(now, hello.slice(..cut));
        }
        assert_eq!(server.stats().dropped_malformed, 5);
        assert_eq!(server.state(), State::Handshaking);
        assert!(server.poll_transmit().is_none());
        // The whole ClientHello still works afterwards.
        server.handle_input(now, hello);
        assert!(server.poll_transmit().is_some());
    }

    #[test]
    fn garbage_never_panics_and_is_counted() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let c = cert_valid(wall, Duration::ZERO, Duration::from_secs(86400));
        let mut server = Connection::new(Role::Server, Config::new(c), now, wall).unwrap();
        for g in [
            &b""[..],
            b"\x00\x01",
            b"\x17\xfe\xfd\x00\x01\x00\x00\x00\x00\x00\x01\x00\x03abc",
        ] {
            server.handle_input(now, Bytes::copy_from_slice(g));
        }
        assert_eq!(server.stats().dropped_malformed, 2);
        assert!(server.poll_event().is_none());
    }

    #[test]
    fn fingerprints_given_after_the_handshake_are_checked_then() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let ca = cert_valid(wall, Duration::ZERO, Duration::from_secs(86400));
        let cb = cert_valid(wall, Duration::ZERO, Duration::from_secs(86400));
        let mut a = Connection::new(Role::Client, Config::new(ca.clone()), now, wall).unwrap();
        let mut bcfg = Config::new(cb.clone());
        bcfg.remote_fingerprints = vec![ca.fingerprint(HashAlgorithm::Sha256).unwrap()];
        let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut a, &mut b, now);
        assert_eq!(a.state(), State::AwaitingFingerprint);
        assert!(b.is_connected());
        b.send(b"early").unwrap();
        while let Some(d) = b.poll_transmit() {
            a.handle_input(now, d);
        }
        assert!(a.poll_event().is_none(), "nothing before verification");
        assert_eq!(a.send(b"x"), Err(Error::NotConnected));
        a.set_remote_fingerprints(now, vec![cb.fingerprint(HashAlgorithm::Sha256).unwrap()]);
        let events: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
        assert!(matches!(events[0], Event::KeyingMaterial(_)));
        assert!(matches!(events[1], Event::Connected { .. }));
        assert_eq!(events[2], Event::Data(Bytes::from_static(b"early")));
        // The client's records are its own from the verification on, and still reach b.
        assert!(a.owns_records());
        a.send(b"late").unwrap();
        while let Some(d) = a.poll_transmit() {
            b.handle_input(now, d);
        }
        let got: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert!(
            got.contains(&Event::Data(Bytes::from_static(b"late"))),
            "{got:?}"
        );
    }

    #[test]
    fn a_peer_without_extended_master_secret_is_refused() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (acfg, bcfg) = trusting_pair(wall);
        // SSL_OP_NO_EXTENDED_MASTER_SECRET (bit 0 in OpenSSL 3.0's ssl.h; not in openssl-sys).
        let old = SslOptions::from_bits_retain(1);
        let mut a = Connection::with_options(Role::Client, acfg, now, wall, old, CIPHERS).unwrap();
        let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut a, &mut b, now);
        match closed(&mut b) {
            Some(CloseReason::DtlsFailure(r)) => {
                assert!(r.contains("extended master secret"), "{r}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!b.is_connected());
    }

    #[test]
    fn replayed_application_records_are_dropped_and_counted() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut a, mut b) = connected_pair(now, wall);
        a.send(b"once").unwrap();
        let d = a.poll_transmit().unwrap();
        b.handle_input(now, d.clone());
        b.handle_input(now, d.clone());
        // A forged copy with a fresh sequence number fails authentication inside OpenSSL.
        let mut forged = d.to_vec();
        forged[10] ^= 0x40;
        let n = forged.len();
        forged[n - 1] ^= 1;
        b.handle_input(now, Bytes::from(forged));
        let data: Vec<Event> = std::iter::from_fn(|| b.poll_event()).collect();
        assert_eq!(data, vec![Event::Data(Bytes::from_static(b"once"))]);
        assert_eq!(b.stats().replayed_records, 1);
        // The genuine next record still gets through after the forgery.
        a.send(b"twice").unwrap();
        b.handle_input(now, a.poll_transmit().unwrap());
        assert_eq!(
            b.poll_event(),
            Some(Event::Data(Bytes::from_static(b"twice")))
        );
    }

    #[test]
    fn one_context_serves_many_connections() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (acfg, bcfg) = trusting_pair(wall);
        let server_ctx = Context::new(&bcfg).unwrap();
        for _ in 0..3 {
            let mut a = Connection::new(Role::Client, acfg.clone(), now, wall).unwrap();
            let mut b =
                Connection::with_context(Role::Server, &server_ctx, bcfg.clone(), now, wall)
                    .unwrap();
            shuttle(&mut a, &mut b, now);
            assert!(a.is_connected() && b.is_connected());
        }
        let mut bad = bcfg;
        bad.mtu = 10;
        assert!(matches!(
            Connection::with_context(Role::Server, &server_ctx, bad, now, wall),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn a_record_larger_than_the_read_buffer_arrives_whole() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut acfg, mut bcfg) = trusting_pair(wall);
        acfg.mtu = 9000;
        bcfg.mtu = 9000;
        let mut a = Connection::new(Role::Client, acfg, now, wall).unwrap();
        let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut a, &mut b, now);
        while a.poll_event().is_some() || b.poll_event().is_some() {}
        let big: Vec<u8> = (0..8000u32).map(|i| i as u8).collect();
        a.send(&big).unwrap();
        a.send(b"small").unwrap();
        // Fed without its length as a hint: the first read has MIN_READ bytes of room, less
        // than the 8000-byte record, which must still come out as one message.
        while let Some(d) = a.poll_transmit() {
            ffi::feed(b.ssl.as_ref().unwrap(), &d).unwrap();
        }
        b.drive(0);
        let data: Vec<Bytes> = std::iter::from_fn(|| b.poll_event())
            .filter_map(|e| match e {
                Event::Data(d) => Some(d),
                _ => None,
            })
            .collect();
        assert_eq!(data, vec![Bytes::from(big), Bytes::from_static(b"small")]);
    }

    #[test]
    fn idle_connections_free_their_record_buffers_and_get_them_back() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut a, mut b) = openssl_pair(now, wall);
        while a.poll_event().is_some() || b.poll_event().is_some() {}
        let second = Duration::from_secs(1);
        // Armed by the handshake; busy then, so the first check only re-arms.
        assert_eq!(a.poll_timeout(), Some(now + second));
        a.handle_timeout(now + second);
        assert!(!a.released);
        assert_eq!(a.poll_timeout(), Some(now + 2 * second));
        // Calling early is a no-op; a quiet second later the buffers go.
        a.handle_timeout(now + second + second / 2);
        assert!(!a.released);
        a.handle_timeout(now + 2 * second);
        assert!(a.released);
        assert_eq!(a.poll_timeout(), None);
        b.handle_timeout(now + second);
        b.handle_timeout(now + 2 * second);
        assert!(b.released);
        // Both directions work again, and the check is armed again.
        let later = now + 3 * second;
        b.send(b"to a").unwrap();
        a.send(b"to b").unwrap();
        shuttle(&mut a, &mut b, later);
        let got =
            |c: &mut Connection| -> Vec<Event> { std::iter::from_fn(|| c.poll_event()).collect() };
        assert_eq!(got(&mut a), vec![Event::Data(Bytes::from_static(b"to a"))]);
        assert_eq!(got(&mut b), vec![Event::Data(Bytes::from_static(b"to b"))]);
        assert!(!a.released && !b.released);
        assert!(a.poll_timeout().is_some() && b.poll_timeout().is_some());
        // Without `idle_release` nothing is ever freed and no timer is armed.
        let (mut acfg, mut bcfg) = trusting_pair(wall);
        acfg.idle_release = None;
        bcfg.idle_release = None;
        let mut c = Connection::new(Role::Client, acfg, now, wall).unwrap();
        let mut d = Connection::new(Role::Server, bcfg, now, wall).unwrap();
        shuttle(&mut c, &mut d, now);
        assert!(c.is_connected() && c.poll_timeout().is_none() && d.poll_timeout().is_none());
    }

    #[test]
    fn close_notify_reaches_the_peer() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut a, mut b) = connected_pair(now, wall);
        assert_eq!(
            a.send(&vec![0; 2000]),
            Err(Error::TooLarge {
                len: 2000,
                max: a.max_payload()
            })
        );
        a.close(now);
        assert_eq!(closed(&mut a), Some(CloseReason::LocalClose));
        while let Some(d) = a.poll_transmit() {
            b.handle_input(now, d);
        }
        assert_eq!(closed(&mut b), Some(CloseReason::PeerClosed));
        assert_eq!(a.send(b"late"), Err(Error::Closed));
    }

    fn data(c: &mut Connection) -> Vec<Bytes> {
        std::iter::from_fn(|| c.poll_event())
            .filter_map(|e| match e {
                Event::Data(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// Sends `msg` from `a` to `b` and returns what `b` delivered.
    fn one_way(a: &mut Connection, b: &mut Connection, now: Instant, msg: &[u8]) -> Vec<Bytes> {
        a.send(msg).unwrap();
        while let Some(d) = a.poll_transmit() {
            b.handle_input(now, d);
        }
        data(b)
    }

    #[test]
    fn records_are_taken_over_once_the_handshake_is_confirmed() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut client, mut server) = connected_pair(now, wall);
        // The client knows at once that the handshake is over; the server waits for the
        // client's first application record.
        assert!(client.owns_records());
        assert!(!server.owns_records());
        assert_eq!(
            one_way(&mut client, &mut server, now, b"ping"),
            vec![Bytes::from_static(b"ping")]
        );
        assert!(server.owns_records());
        for i in 1..50u8 {
            let msg = vec![i; usize::from(i) * 20];
            assert_eq!(
                one_way(&mut server, &mut client, now, &msg),
                vec![Bytes::from(msg.clone())]
            );
            assert_eq!(
                one_way(&mut client, &mut server, now, &msg),
                vec![Bytes::from(msg)]
            );
        }
        // Without OpenSSL nothing waits on a timer.
        assert_eq!(client.poll_timeout(), None);
        assert_eq!(server.poll_timeout(), None);
        server.close(now);
        while let Some(d) = server.poll_transmit() {
            client.handle_input(now, d);
        }
        assert_eq!(closed(&mut server), Some(CloseReason::LocalClose));
        assert_eq!(closed(&mut client), Some(CloseReason::PeerClosed));
        // The client answered with its own close_notify.
        assert!(client.poll_transmit().is_some());
    }

    /// weft's records against OpenSSL's, each suite, each role: the keys, nonces, additional
    /// data and sequence numbers agree with what OpenSSL itself does.
    #[test]
    fn own_records_interoperate_with_openssl_records_for_every_suite() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        for suite in [
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
        ] {
            for own_side in [Role::Client, Role::Server] {
                let (mut acfg, mut bcfg) = trusting_pair(wall);
                acfg.own_records = own_side == Role::Client;
                bcfg.own_records = own_side == Role::Server;
                let e = SslOptions::empty();
                let mut a =
                    Connection::with_options(Role::Client, acfg, now, wall, e, suite).unwrap();
                let mut b = Connection::new(Role::Server, bcfg, now, wall).unwrap();
                shuttle(&mut a, &mut b, now);
                let cipher = std::iter::from_fn(|| a.poll_event()).find_map(|e| match e {
                    Event::Connected { cipher, .. } => Some(cipher),
                    _ => None,
                });
                assert_eq!(cipher.as_deref(), Some(suite));
                while b.poll_event().is_some() {}
                for round in 1..20u8 {
                    let msg = vec![round; 37 * usize::from(round)];
                    assert_eq!(
                        one_way(&mut a, &mut b, now, &msg),
                        vec![Bytes::from(msg.clone())]
                    );
                    assert_eq!(one_way(&mut b, &mut a, now, &msg), vec![Bytes::from(msg)]);
                }
                assert_eq!(a.owns_records(), own_side == Role::Client, "{suite}");
                assert_eq!(b.owns_records(), own_side == Role::Server, "{suite}");
                // close_notify both ways between the two record layers.
                let (closer, other) = if own_side == Role::Client {
                    (&mut a, &mut b)
                } else {
                    (&mut b, &mut a)
                };
                closer.close(now);
                while let Some(d) = closer.poll_transmit() {
                    other.handle_input(now, d);
                }
                assert_eq!(closed(other), Some(CloseReason::PeerClosed), "{suite}");
                let reply: Vec<Bytes> = std::iter::from_fn(|| other.poll_transmit()).collect();
                assert!(!reply.is_empty(), "{suite}: no close_notify in reply");
                for d in reply {
                    closer.handle_input(now, d);
                }
                assert_eq!(closer.stats().rejected_records, 0, "{suite}");
            }
        }
    }

    #[test]
    fn the_prf_agrees_with_openssls_exporter() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (a, _b) = openssl_pair(now, wall);
        let ssl = a.ssl.as_ref().unwrap();
        let mut master = [0u8; 48];
        let n = ssl.session().unwrap().master_key(&mut master);
        assert_eq!(n, 48);
        let (mut cr, mut sr) = ([0u8; 32], [0u8; 32]);
        ssl.client_random(&mut cr);
        ssl.server_random(&mut sr);
        let mut theirs = [0u8; 77];
        ssl.export_keying_material(&mut theirs, "EXTRACTOR-weft-test", None)
            .unwrap();
        let mut ours = [0u8; 77];
        crate::aead::prf(
            crate::aead::fetched("SHA256").unwrap(),
            &master,
            b"EXTRACTOR-weft-test",
            &[cr, sr].concat(),
            &mut ours,
        )
        .unwrap();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn taken_over_records_drop_replays_forgeries_and_stale_handshake_records() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut client, mut server) = connected_pair(now, wall);
        one_way(&mut client, &mut server, now, b"confirm");
        assert!(server.owns_records());
        client.send(b"once").unwrap();
        let d = client.poll_transmit().unwrap();
        server.handle_input(now, d.clone());
        server.handle_input(now, d.clone());
        assert_eq!(data(&mut server), vec![Bytes::from_static(b"once")]);
        assert_eq!(server.stats().replayed_records, 1);
        // A flipped bit in the ciphertext: the tag fails.
        client.send(b"twice").unwrap();
        let mut forged = client.poll_transmit().unwrap().to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        server.handle_input(now, Bytes::from(forged));
        assert!(data(&mut server).is_empty());
        assert_eq!(server.stats().rejected_records, 1);
        // An epoch-0 handshake record (a late retransmission) is dropped.
        let mut stale = vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 4];
        stale.extend_from_slice(&[1, 0, 0, 0]);
        server.handle_input(now, Bytes::from(stale));
        assert_eq!(server.stats().stale_epoch_records, 1);
        assert_eq!(server.state(), State::Connected);
        assert_eq!(
            one_way(&mut client, &mut server, now, b"after"),
            vec![Bytes::from_static(b"after")]
        );
    }

    #[test]
    fn a_fatal_alert_closes_a_taken_over_connection() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        let (mut client, mut server) = connected_pair(now, wall);
        one_way(&mut client, &mut server, now, b"confirm");
        let alert = client.own.as_mut().unwrap().seal(21, &[2, 80]).unwrap();
        server.handle_input(now, alert);
        match closed(&mut server) {
            Some(CloseReason::DtlsFailure(r)) => assert!(r.contains("80"), "{r}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
