//! DTLS 1.2 for weft: a sans-IO connection over OpenSSL, certificates and fingerprints, and
//! DTLS-SRTP keying.
//!
//! # Contract
//!
//! [`Connection`] is a sans-IO machine carried inside another protocol (ICE below it, SCTP and
//! SRTP above it): feed received datagrams with `handle_input(now, Bytes)`, call
//! `handle_timeout(now)` at `poll_timeout()`, and drain `poll_transmit()` (datagrams to send)
//! and `poll_event()` after every call. OpenSSL runs the protocol through memory BIOs; weft
//! cuts its output into datagrams of at most the MTU and decides, from the `now` it is given,
//! when a flight is retransmitted (ADR 0003: OpenSSL's retransmissions are captured ahead of
//! time and released on weft's schedule). The machine never reads a clock.
//!
//! A peer is identified by the fingerprint of its certificate from SDP (RFC 8122, RFC 8827
//! §6.5), not by a CA: a mismatch closes with [`CloseReason::FingerprintFailure`]; an expired
//! certificate, a peer without DTLS 1.2 or without the extended master secret closes with
//! [`CloseReason::DtlsFailure`] and a reason.
//!
//! Once the handshake is confirmed on both sides (a client at once, a server at the client's
//! first application record), the connection derives the record keys from the master secret,
//! frees its OpenSSL connection (about 50 KiB) and seals and opens application records itself
//! (ADR 0008, [`Config::own_records`]).
//!
//! See [`Connection`] for a complete handshake between two connections in memory.
//!
//! # What is implemented
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 6347 (DTLS 1.2) | §4.1 records, §4.2.4 retransmission with back-off, §4.2.3 MTU | the handshake is OpenSSL's |
//! | RFC 5246 §6.3, RFC 5288, RFC 7905, RFC 6347 §4.1.2 | key expansion, AES-GCM and ChaCha20-Poly1305 records, replay window | after the handshake, weft's (ADR 0008; ciphers and HMAC are OpenSSL's) |
//! | RFC 5764 (DTLS-SRTP) | §4.1.2 `use_srtp`, §4.2 key export and split | AES-CM-80/32, AEAD AES-128/256-GCM |
//! | RFC 7627 | extended master secret, required | |
//! | RFC 8122, RFC 8827 §6.5 | fingerprints, verification | sha-1/224/256/384/512 |
//! | RFC 7983 | first-byte demultiplexing | in `weft-proto` ([`weft_proto::classify`]) |
//!
//! Not here: DTLS 1.3, session resumption (tickets are off), HelloVerifyRequest cookies (ICE
//! has already checked the path in WebRTC), renegotiation (refused).
//!
//! # Invariants
//! - No datagram from the network makes the machine panic; malformed ones are dropped and
//!   counted before OpenSSL sees them.
//! - Keys are never logged; `Debug` of key types shows lengths only.
//! - The only `unsafe` code is in the `ffi` and `gcm` modules, each block with its `SAFETY`
//!   reason.

#![warn(missing_docs)]
#![deny(unsafe_code)]

mod aead;
mod cert;
mod connection;
mod error;
mod ffi;
mod gcm;
pub mod record;
mod srtp;

pub use cert::{Certificate, Fingerprint, FingerprintError, HashAlgorithm, KeyType};
pub use connection::{Config, Connection, Context, Event, Role, State, Stats};
pub use error::{CloseReason, Error};
pub use srtp::{KeyingMaterial, SrtpKey, SrtpProfile};
