//! ICE for weft (RFC 8445): a sans-IO agent for one component, with trickle ICE
//! (RFC 8838), consent freshness (RFC 7675), ICE restarts and ICE-lite.
//!
//! # Contract
//!
//! [`Agent`] is a sans-IO machine (STYLE.md §2): it owns no socket and reads no clock. The
//! driver finds host candidates (interfaces) and hands them to
//! [`Agent::add_local_candidate`], and names the STUN and TURN servers
//! ([`Agent::add_stun_server`], [`Agent::add_turn_server`]): the agent talks to them from the
//! host candidates' bases and reports what it gathers with [`Event::LocalCandidate`]. Remote
//! candidates and credentials come from signalling.
//! Datagrams that arrive at a candidate's base go to [`Agent::handle_input`]; the timer at
//! [`Agent::poll_timeout`] to [`Agent::handle_timeout`]. After every call, drain
//! [`Agent::poll_transmit`] (checks, responses, consent, data) and [`Agent::poll_event`].
//!
//! Data shares the agent's 5-tuples: [`Agent::send`] emits it on the selected pair, and any
//! non-STUN datagram that arrives on a known pair comes back as [`Event::Data`] for the
//! DTLS/SRTP layers. Network input never fails the caller: what is malformed, foreign or
//! unauthenticated is dropped and counted in [`Stats`].
//!
//! Two agents connected through a perfect network, each driven the same way:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use weft_ice::{Agent, Candidate, Config, Credentials, Event, Role, State};
//! use weft_proto::Received;
//!
//! let now = Instant::now();
//! let creds = |u: &str| Credentials::new(u, "abcdefghijklmnopqrstuvwx").unwrap();
//! let mut a = Agent::new(Config { rng_seed: Some([1; 32]), ..Config::new(creds("aaaa"), Role::Controlling) })?;
//! let mut b = Agent::new(Config { rng_seed: Some([2; 32]), ..Config::new(creds("bbbb"), Role::Controlled) })?;
//! let ca = a.add_local_candidate(now, Candidate::host("192.0.2.1:5000".parse().unwrap()))?;
//! let cb = b.add_local_candidate(now, Candidate::host("192.0.2.2:6000".parse().unwrap()))?;
//! // Signalling: credentials and candidates (as `candidate:` strings) cross over.
//! a.set_remote_credentials(now, b.local_credentials().clone())?;
//! b.set_remote_credentials(now, a.local_credentials().clone())?;
//! a.add_remote_candidate(now, cb.to_string().parse()?)?;
//! b.add_remote_candidate(now, ca.to_string().parse()?)?;
//!
//! let mut now = now;
//! while a.selected_pair().is_none() || b.selected_pair().is_none() {
//!     // Deliver everything each side sent, then run the earliest timer.
//!     loop {
//!         let mut moved = false;
//!         while let Some(t) = a.poll_transmit() { b.handle_input(now, Received::from(t)); moved = true; }
//!         while let Some(t) = b.poll_transmit() { a.handle_input(now, Received::from(t)); moved = true; }
//!         if !moved { break; }
//!     }
//!     let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min().unwrap();
//!     now = now.max(next);
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!(a.state(), State::Connected); // `completed` once end-of-candidates is signalled
//! a.send(now, bytes::Bytes::from_static(b"dtls"))?;
//! while let Some(t) = a.poll_transmit() { b.handle_input(now, Received::from(t)); }
//! assert!(std::iter::from_fn(|| b.poll_event()).any(|e| matches!(e, Event::Data(d) if &d.payload[..] == b"dtls")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is implemented
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 8445 | §5.1.2 priorities, §5.1.1.3 foundations, §6.1.2 pairs, pair priority, pruning and the pair limit, §6.1.2.6 checklist states, §6.1.4.2 Ta pacing and the triggered queue, §7.2 checks with PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/-CONTROLLED, §7.2.5 symmetric responses, peer-reflexive local candidates, valid list, unfreezing, §7.3 answering checks, peer-reflexive remote candidates, §7.3.1.1 tie-breaker and 487 role conflicts, §8.1.1 regular nomination, §8.1.2 ending checks, §9 restart, §11 keepalives, ICE-lite both ways | one component per agent (WebRTC bundles with rtcp-mux) |
//! | RFC 6544 | ICE-TCP: active and passive host candidates, §4.2 priorities, §6.2 pairing, checks on connections, peer-reflexive learning of the connecting side | simultaneous-open and reflexive/relayed TCP candidates are not paired; the driver runs the connections |
//! | RFC 4571 | [`framing`]: the 16-bit length framing for the TCP connections | bounded deframer |
//! | RFC 8838 | trickle: candidates and credentials in any order, end-of-candidates | |
//! | RFC 7675 | consent freshness: randomised 4-6 s checks, expiry after 30 s | `disconnected` after missed responses |
//! | RFC 8839 | the `candidate` attribute, through `weft-sdp` | `ufrag` extension honoured |
//! | RFC 8445 §5.1.1.2 with RFC 8489 | server-reflexive candidates: Binding requests to STUN servers, retransmitted, abandoned after [`Config::stun_timeout`] | UDP; no candidate when the server sees the base itself |
//! | RFC 8656 | relayed candidates: allocation, permissions, channel to the selected peer | UDP, TCP or TLS to the server (the driver runs the stream); UDP relayed candidates only |
//! | draft-ietf-mmusic-mdns-ice-candidates, RFC 6762 subset | [`mdns`]: `.local` names for host addresses and their resolution, a sans-IO [`mdns::Mdns`] machine and DNS codec | the driver owns the multicast sockets and swaps names for addresses in candidates |
//! | W3C webrtc-pc | `RTCIceGatheringState`, `RTCIceTransportState` meanings, selected pair change, pair stats, `icecandidateerror` (701 for a silent server) | |
//!
//! USE-CANDIDATE is accepted the way browsers send it: on a check of a pair that already
//! succeeded, on one still in flight (the pair is selected when its check succeeds), and
//! again on another pair later (renomination: the latest nomination wins).
//!
//! Server-reflexive candidates come from STUN servers the agent asks itself
//! ([`Agent::add_stun_server`]): one Binding request per server, from a host candidate's
//! base, told apart from connectivity checks by its transaction id (so one server may be
//! both the STUN and the TURN server). A server-reflexive candidate added by the driver with
//! [`Agent::add_local_candidate`] works as well.
//!
//! Relayed candidates come from TURN servers the agent runs itself
//! ([`Agent::add_turn_server`], RFC 8656 through `weft-turn`): it allocates, reports the
//! relayed candidate with [`Event::LocalCandidate`] (or the failure with
//! [`Event::CandidateError`], W3C `icecandidateerror`), installs permissions for the peers it
//! checks, binds a channel to the selected peer, and wraps and unwraps the relayed traffic,
//! so the driver only moves datagrams. Over TCP or TLS to the server
//! ([`TurnServer::transport`]) those datagrams are STUN and ChannelData messages on a stream
//! the driver runs, cut with `weft_turn::StreamFramer`. A relayed candidate added by the
//! driver with [`Agent::add_local_candidate`] also works: the agent then sends from the
//! relayed address and the driver's own TURN client must wrap it.
//!
//! mDNS names (draft-ietf-mmusic-mdns-ice-candidates) are handled next to the agent, not in
//! it: the [`mdns::Mdns`] machine gives `.local` names to host addresses and answers for them,
//! and resolves the names in remote candidates (which parse as
//! [`ParseErrorKind::UnresolvedAddress`]); the driver runs it on the mDNS multicast sockets
//! and gives the agent addresses only.
//!
//! # ICE-TCP: what the driver does
//!
//! The agent stays datagram-oriented for TCP candidates (RFC 6544); the driver owns the
//! connections and frames them with [`framing`] (RFC 4571):
//!
//! - Local candidates: [`Candidate::host_tcp`] with [`TcpType::Passive`] for a listening
//!   socket, and with [`TcpType::Active`] for outgoing connections (its address gets port 9;
//!   that `ip:9` is the base the agent sends from).
//! - A [`weft_proto::Transmit`] with `transport: Tcp` is one datagram for the connection
//!   between `source` and `destination`: from an active base (`ip:9`) the driver opens a
//!   connection to `destination` if it has none (and keeps it), from a passive candidate it
//!   uses the connection it accepted from `destination`. It writes the payload framed.
//! - Each frame read from a connection goes to [`Agent::handle_input`] as
//!   `Received { transport: Tcp, source: the peer's address as seen on the connection,
//!   destination: the local candidate's address }`: the active base `ip:9` for connections
//!   the driver opened, the listening address for accepted ones. A connection the peer
//!   opened shows up as a peer-reflexive remote candidate at its ephemeral port.
//! - Checks over TCP are sent once (no retransmission, RFC 6544 §7.1) and fail when a UDP
//!   check with the same settings would; a dropped connection is simply silence.
//!
//! Local active candidates pair with remote passive ones (RFC 6544 §6.2); TCP never pairs
//! with UDP, and TCP type preferences sit below UDP's, so UDP wins wherever it works.
//!
//! Not here: finding host candidates (interfaces are the driver's), STUN over TCP or TLS for
//! server-reflexive gathering, ICE-TCP simultaneous-open and TCP server-reflexive or relayed
//! candidates (parsed and kept, not paired), TURN TCP allocations (RFC 6062), several
//! components, aggressive nomination (deprecated by RFC 8445), and renomination sent by the
//! controlling side (it nominates once per generation). A lite agent sends no consent checks. Between two address-and-port-dependent NATs the agent stops
//! learning peer-reflexive candidates after [`Config::max_peer_reflexive`].
//!
//! # Invariants
//!
//! - Bytes from the network never panic and never grow state without bound: candidates,
//!   pairs, queues and remembered transactions have limits ([`Config`]).
//! - Checks leave at most one per Ta; every check and response is authenticated with the
//!   short-term credentials of its generation (fuzzing builds skip the MAC check).
//! - Data is only sent on, and only accepted from, a pair the agent knows; once consent
//!   expires nothing is sent until a new pair is selected.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod agent;
mod candidate;
mod config;
mod error;
mod event;
pub mod framing;
pub mod mdns;
mod stats;

pub use agent::{Agent, PairState, pair_priority};
pub use candidate::{
    Candidate, CandidateKind, MAX_LOCAL_PREFERENCE, TcpType, priority, tcp_local_preference,
    tcp_type_preference,
};
pub use config::{Config, Credentials, Role, StunServer, TurnServer};
pub use error::{Error, ParseError, ParseErrorKind};
pub use event::{Event, GatheringState, State};
pub use stats::{PairStats, Stats};
