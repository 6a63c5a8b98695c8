//! Settings of an [`Agent`](crate::Agent).

use std::net::SocketAddr;
use std::time::Duration;

use weft_proto::Transport;

use crate::error::Error;

/// The agent's role (RFC 8445 §6.1.1): the controlling agent nominates the pair both use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Nominates (the offerer, in WebRTC).
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

impl Role {
    /// The other role.
    pub fn opposite(self) -> Role {
        match self {
            Role::Controlling => Role::Controlled,
            Role::Controlled => Role::Controlling,
        }
    }
}

/// The ICE username fragment and password of one side (RFC 8445 §5.3, RFC 8839 §5.4).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// `ice-ufrag`: 4 to 256 ice-chars.
    pub ufrag: String,
    /// `ice-pwd`: 22 to 256 ice-chars. Never logged.
    pub pwd: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // STYLE.md §6: the password is never printed.
        f.debug_struct("Credentials")
            .field("ufrag", &weft_proto::Redacted(&self.ufrag))
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials from a ufrag and a password, checked against RFC 8839 §5.4.
    pub fn new(ufrag: impl Into<String>, pwd: impl Into<String>) -> Result<Self, Error> {
        let c = Credentials {
            ufrag: ufrag.into(),
            pwd: pwd.into(),
        };
        c.validate()?;
        Ok(c)
    }

    /// Random credentials drawn from `rng` bytes: a 4-character ufrag (24 bits) and a
    /// 24-character password (144 bits, above RFC 8445 §5.3's 128).
    pub fn random(bytes: &[u8; 21]) -> Self {
        const ICE_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let chars = |b: &[u8]| -> String {
            // Every 3 bytes give 4 characters of 6 bits each.
            b.chunks(3)
                .flat_map(|c| {
                    let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
                    (0..4)
                        .rev()
                        .map(move |i| ICE_CHARS[((n >> (6 * i)) & 63) as usize] as char)
                })
                .collect()
        };
        Credentials {
            ufrag: chars(&bytes[..3]),
            pwd: chars(&bytes[3..]),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        let ice_chars = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        };
        if !(4..=256).contains(&self.ufrag.len()) || !ice_chars(&self.ufrag) {
            return Err(Error::BadCredentials("ufrag must be 4-256 ice-chars"));
        }
        if !(22..=256).contains(&self.pwd.len()) || !ice_chars(&self.pwd) {
            return Err(Error::BadCredentials("pwd must be 22-256 ice-chars"));
        }
        Ok(())
    }
}

/// A TURN server the agent allocates a relayed candidate on (RFC 8656), given to
/// [`Agent::add_turn_server`](crate::Agent::add_turn_server). The driver resolves the URI
/// (`turn:` over UDP or TCP per its `transport` parameter, `turns:` over TLS) and, for TCP
/// and TLS, runs the connection.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnServer {
    /// The URL as the application gave it (`turn:turn.example.org:3478`), for
    /// [`Event::CandidateError`](crate::Event::CandidateError).
    pub url: String,
    /// The server's resolved address.
    pub server: SocketAddr,
    /// The local host candidate's address to reach it from (the relayed candidate's traffic
    /// leaves from there).
    pub local: SocketAddr,
    /// The long-term username.
    pub username: String,
    /// The long-term password. Never logged.
    pub password: String,
    /// The transport to the server: UDP, TCP (`turn:...?transport=tcp`) or TLS (`turns:`).
    /// The relayed candidate is UDP whatever this is.
    pub transport: Transport,
}

impl TurnServer {
    /// A TURN server reached over UDP.
    pub fn new(
        url: impl Into<String>,
        server: SocketAddr,
        local: SocketAddr,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        TurnServer {
            url: url.into(),
            server,
            local,
            username: username.into(),
            password: password.into(),
            transport: Transport::Udp,
        }
    }
}

impl std::fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServer")
            .field("url", &self.url)
            .field("server", &weft_proto::Redacted(self.server))
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// A STUN server the agent asks for a server-reflexive candidate (RFC 8489 Binding, over
/// UDP), given to [`Agent::add_stun_server`](crate::Agent::add_stun_server). The driver
/// resolves the URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunServer {
    /// The URL as the application gave it (`stun:stun.example.org:3478`), for
    /// [`Event::CandidateError`](crate::Event::CandidateError).
    pub url: String,
    /// The server's resolved address.
    pub server: SocketAddr,
    /// The base to ask from: the address of a UDP host candidate already added. The
    /// server-reflexive candidate has this base.
    pub local: SocketAddr,
}

/// Settings of an [`Agent`](crate::Agent). Start from [`Config::new`] and change fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// This agent's credentials.
    pub local_credentials: Credentials,
    /// The initial role; role conflicts may swap it (RFC 8445 §7.3.1.1).
    pub role: Role,
    /// Run as an ICE-lite agent (RFC 8445 §2.5): host candidates only, no checks sent,
    /// always controlled.
    pub lite: bool,
    /// Ta, the pacing of connectivity checks (RFC 8445 §14.2: 50 ms by default).
    pub ta: Duration,
    /// The first retransmission timeout of a check (RFC 8445 §14.3: at least 500 ms).
    pub check_rto: Duration,
    /// How many times a check is sent before its pair fails (with `check_rto` doubling
    /// each time; default 5, so a pair fails after 9.5 s of silence).
    pub check_attempts: u32,
    /// How long the controlling agent waits, after the first pair became valid, for a better
    /// pair before nominating the best valid one. It nominates at once when no pair of
    /// higher priority is still being checked.
    pub nomination_timeout: Duration,
    /// The mean interval of consent checks on the selected pair (RFC 7675 §5.1: 5 s,
    /// randomised to 0.8-1.2 times this).
    pub consent_interval: Duration,
    /// How long a consent check waits for its response before it counts as missed (and is
    /// sent again).
    pub consent_response_timeout: Duration,
    /// How many consecutive missed consent responses make the agent `disconnected`.
    pub consent_missed_for_disconnected: u32,
    /// How long without a consent response before consent expires and the agent fails
    /// (RFC 7675 §5.1: 30 s).
    pub consent_timeout: Duration,
    /// Tr: a Binding indication goes out on the selected pair after this long without any
    /// traffic (RFC 8445 §11: 15 s). Only lite agents need it: consent checks keep a full
    /// agent's path alive.
    pub keepalive_interval: Duration,
    /// How long a Binding request to a STUN server ([`Agent::add_stun_server`]) may take,
    /// retransmissions included, before the server counts as unreachable (default 5 s).
    /// Requests are resent on the checks' schedule (`check_rto`, doubling).
    ///
    /// [`Agent::add_stun_server`]: crate::Agent::add_stun_server
    pub stun_timeout: Duration,
    /// The most local and the most remote candidates (each).
    pub max_candidates: usize,
    /// The most peer-reflexive remote candidates learnt from checks per ICE generation
    /// (default 16). Between two address-and-port-dependent NATs every answer comes from a
    /// new mapping, so learning never ends; past this limit checks from unknown addresses
    /// are still answered but teach nothing.
    pub max_peer_reflexive: usize,
    /// The most candidate pairs (RFC 8445 §6.1.2.5: 100 by default).
    pub max_pairs: usize,
    /// The most queued events and transmits; data beyond it is dropped and counted.
    pub max_queue: usize,
    /// The seed of the agent's RNG (tie-breaker, transaction ids, consent jitter); OS
    /// entropy when `None`. Tests always pass one.
    pub rng_seed: Option<[u8; 32]>,
}

impl Config {
    /// Defaults for the given credentials and role.
    pub fn new(local_credentials: Credentials, role: Role) -> Self {
        Config {
            local_credentials,
            role,
            lite: false,
            ta: Duration::from_millis(50),
            check_rto: Duration::from_millis(500),
            check_attempts: 5,
            nomination_timeout: Duration::from_secs(1),
            consent_interval: Duration::from_secs(5),
            consent_response_timeout: Duration::from_secs(1),
            consent_missed_for_disconnected: 2,
            consent_timeout: Duration::from_secs(30),
            keepalive_interval: Duration::from_secs(15),
            stun_timeout: Duration::from_secs(5),
            max_candidates: 100,
            max_peer_reflexive: 16,
            max_pairs: 100,
            max_queue: 1024,
            rng_seed: None,
        }
    }
}
