//! STUN for weft (RFC 8489): the message codec, credentials, a sans-IO client that runs
//! request transactions, a sans-IO binding server, and STUN/TURN URIs.
//!
//! # Contract
//!
//! [`Client`] and [`Server`] are sans-IO machines (see `docs/ARCHITECTURE.md`): they never
//! touch a socket or a clock. Feed datagrams with `handle_input(now, Received)`, drive timers
//! with `handle_timeout(now)` at `poll_timeout()`, and drain `poll_transmit()` and
//! `poll_event()` after every call. Bytes from the network never make them panic or fail the
//! caller: what cannot be decoded is dropped and counted in `stats()`.
//!
//! A run loop, here over the crate's own server, with the client driven to completion:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use weft_proto::{Received, Transport};
//! use weft_stun::{Client, ClientConfig, ClientEvent};
//!
//! let mut now = Instant::now();
//! let me = "192.0.2.10:5000".parse().unwrap();
//! let nobody = "198.51.100.1:3478".parse().unwrap();
//! let mut client = Client::new(ClientConfig { rng_seed: Some([1; 32]), ..Default::default() });
//! client.binding_request(now, me, nobody, Transport::Udp)?;
//! let mut sent = 0;
//! loop {
//!     while let Some(_datagram) = client.poll_transmit() {
//!         sent += 1; // a real driver sends it; here nobody answers
//!     }
//!     if let Some(ClientEvent::TimedOut { .. }) = client.poll_event() {
//!         break;
//!     }
//!     now = client.poll_timeout().expect("a transaction is running");
//!     client.handle_timeout(now);
//! }
//! assert_eq!(sent, 7); // Rc = 7 sends, then Rm * RTO of waiting: 39.5 s in all
//! # Ok::<(), weft_stun::Error>(())
//! ```
//!
//! Messages are built and read with [`Message`]: decoding borrows strings and byte values
//! from the input, so a decode allocates only the attribute list.
//!
//! ```
//! use weft_stun::{Attribute, Class, IntegrityKey, Integrity, Message, Method, TransactionId};
//! let key = IntegrityKey::short_term("pass")?;
//! let req = Message::new(Class::Request, Method::BINDING, TransactionId::new([9; 12]))
//!     .with(Attribute::Username("remote:local"))
//!     .with(Attribute::Priority(1845501695))
//!     .with(Attribute::IceControlling(42))
//!     .with(Attribute::UseCandidate);
//! let bytes = req.to_vec(Some(Integrity::Sha1(&key)), true)?;
//! let got = Message::decode(&bytes).expect("valid");
//! got.verify(&key)?;
//! assert_eq!(got.username(), Some("remote:local"));
//! # Ok::<(), weft_stun::Error>(())
//! ```
//!
//! # What is implemented
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 8489 | §5 header, §6.2.1-§6.2.2 retransmission (Rc, Rm, RTO cache per server, Karn), §6.3 request handling, §9.1 short-term and §9.2 long-term credentials with MD5 and SHA-256, §9.2 nonce cookie, §14 every attribute, §14.5-§14.7 integrity and fingerprint | client and binding server |
//! | RFC 8445 | §16.1 PRIORITY, USE-CANDIDATE, ICE-CONTROLLED, ICE-CONTROLLING | the ICE agent is `weft-ice` |
//! | RFC 8656 | §18 TURN attributes (codec only) | the TURN machines are `weft-turn` |
//! | RFC 8265 | §4.2 OpaqueString | through `precis-profiles` |
//! | RFC 7064, RFC 7065 | STUN and TURN URIs | [`Uri`] |
//! | RFC 5769 | test vectors | in the test suite |
//!
//! Not here: the RFC 3489 "classic STUN" fallback (messages without the magic cookie are not
//! STUN to this crate), DNS SRV discovery (§8, done by the caller), ALTERNATE-SERVER
//! redirection (the usage decides), and resending a request after 401 or 438: the usage does
//! that with [`LongTermClient`], which holds the realm, nonce and key between requests.
//!
//! # Invariants
//! - Decoding never panics and allocates at most one attribute vector bounded by the input.
//! - A decoded message's FINGERPRINT, when present, has been checked.
//! - Attributes after MESSAGE-INTEGRITY (other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT)
//!   and after MESSAGE-INTEGRITY-SHA256 (other than FINGERPRINT) are ignored, as §14.5-§14.6
//!   require; nothing may follow FINGERPRINT; integrity attributes may not repeat.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod auth;
mod client;
mod error;
mod integrity;
mod nonce;
mod server;
pub mod uri;
pub mod wire;

pub use auth::{Challenge, LongTermClient, LongTermServer, LongTermServerConfig, User};
pub use client::{Client, ClientConfig, ClientStats, Event as ClientEvent};
pub use error::{Error, ParseError, ParseErrorKind};
pub use integrity::{IntegrityKey, fingerprint, opaque_string, userhash};
pub use nonce::{NONCE_COOKIE, SecurityFeatures};
pub use server::{Server, ServerConfig, ServerStats};
pub use uri::{Host, Scheme, Uri, UriError, UriTransport};
pub use wire::attr::{AddressFamily, AttrType, Attribute, ErrorCode, PasswordAlgorithm};
pub use wire::{Class, Integrity, Message, Method, TransactionId, frame_len, is_stun, peek_class};
