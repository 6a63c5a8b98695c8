//! SCTP over DTLS for WebRTC data channels: a deterministic, sans-IO association.
//!
//! One [`Association`] is one SCTP association carried in DTLS records (RFC 8261). It never
//! touches a socket or a clock: packets come in through [`Association::handle_input`], go out
//! through [`Association::poll_transmit`], time comes in as `Instant`s, and what happened comes
//! out of [`Association::poll_event`].
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use weft_sctp::{Association, Config, Event, Ppid, SendOptions, StreamId};
//!
//! let now = Instant::now();
//! let cfg = |seed| Config { rng_seed: Some([seed; 32]), ..Config::default() };
//! let mut a = Association::new(cfg(1), now).unwrap();
//! let mut b = Association::new(cfg(2), now).unwrap();
//! a.connect(now).unwrap();
//! b.connect(now).unwrap(); // both sides connect in WebRTC; the INITs cross
//! let mut got = None;
//! for _ in 0..10 {
//!     while let Some(p) = a.poll_transmit() { b.handle_input(now, p); }
//!     while let Some(p) = b.poll_transmit() { a.handle_input(now, p); }
//!     while let Some(e) = a.poll_event() {
//!         if e == Event::Connected {
//!             a.send(now, StreamId(1), Ppid(51), Bytes::from_static(b"hi"), &SendOptions::default()).unwrap();
//!         }
//!     }
//!     while let Some(e) = b.poll_event() {
//!         if let Event::Message(m) = e { got = Some(m.data); }
//!     }
//! }
//! assert_eq!(got.as_deref(), Some(&b"hi"[..]));
//! ```
//!
//! Drive it as every weft machine: after any `handle_*` call or command, drain
//! `poll_transmit`, then `poll_event`, then arm a timer for `poll_timeout` and call
//! `handle_timeout` when it fires.
//!
//! # What it implements
//!
//! | spec | sections | notes |
//! |---|---|---|
//! | RFC 9260 SCTP | §3 (all chunks WebRTC meets), §5 setup with signed cookie and collisions (§5.2.1-§5.2.4), §6 DATA/SACK, gap blocks, duplicates, delayed SACK, fragmentation, ordered and unordered delivery, §6.3 RTO, §7 slow start, congestion avoidance, fast retransmit and recovery, §8.4-8.5 out-of-the-blue and tag rules, §9 ABORT and SHUTDOWN | one path (no multi-homing); restarts (§5.2.4 A) end the association with `PeerRestarted` |
//! | RFC 8261 / RFC 8831 / RFC 8841 | SCTP over DTLS, ports, max-message-size | message size enforced both ways |
//! | RFC 3758 PR-SCTP | FORWARD-TSN, limited lifetime and limited retransmissions | |
//! | RFC 6525 stream reconfiguration | outgoing SSN reset requests and responses; incoming SSN reset requests answered with an outgoing one | requests for all streams (an empty list), SSN/TSN reset and add-streams are answered "denied" |
//! | RFC 8260 I-DATA | I-DATA, I-FORWARD-TSN, interleaving with a weighted fair scheduler | |
//! | RFC 9653 zero checksum | DTLS as the error detection method | opt-in with [`Config::zero_checksum`] |
//! | RFC 7053 | I bit honoured on receive | never set on send |
//!
//! Not implemented: multi-homing and ADD-IP (RFC 5061 beyond the Supported Extensions
//! parameter), AUTH chunks (RFC 4895), ECN, PAD chunks beyond skipping them, path MTU probing
//! (the MTU is fixed by the lower layer), association restart.
//!
//! # Invariants
//!
//! - Nothing from the network panics or allocates without bound: received data is charged to
//!   the receive buffer (with a per-fragment overhead), TSNs more than 65535 beyond the
//!   cumulative TSN are dropped, control queues are capped, and SACK gap blocks that do not
//!   ascend are ignored.
//! - Sent data is bounded by [`Config::send_buffer`] (queued) and [`Config::max_in_flight`].
//! - Messages are handed to the application once, complete, in order per stream when ordered.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod association;
mod config;
mod cookie;
mod error;
mod event;
mod recv;
mod send;
pub mod wire;

use std::time::Duration;

pub use association::{Association, State};
pub use config::Config;
pub use error::{CloseReason, Error, ParseError, ParseErrorKind};
pub use event::{Event, Message};
pub use wire::{Mid, Ppid, Ssn, StreamId, Tsn};

/// How one message is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Deliver as soon as complete, not in stream order (U bit).
    pub unordered: bool,
    /// Abandon the message when not delivered within this time of `send` (RFC 3758 timed
    /// reliability, W3C `maxPacketLifeTime`).
    pub lifetime: Option<Duration>,
    /// Abandon the message after this many retransmissions (W3C `maxRetransmits`).
    pub max_retransmits: Option<u16>,
}

/// Counters of an association.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Packets handed out by `poll_transmit`.
    pub packets_sent: u64,
    /// Packets given to `handle_input`.
    pub packets_received: u64,
    /// Bytes handed out.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Packets dropped (bad checksum, tag, port, malformed, after close).
    pub dropped_packets: u64,
    /// Of those, bad checksums.
    pub checksum_errors: u64,
    /// Of those, undecodable packets.
    pub malformed_packets: u64,
    /// Unknown chunk types seen.
    pub unknown_chunks: u64,
    /// ERROR chunks received.
    pub error_chunks_received: u64,
    /// Control chunks dropped because the queue was full.
    pub dropped_control: u64,
    /// DATA / I-DATA chunks sent for the first time.
    pub data_chunks_sent: u64,
    /// DATA / I-DATA chunks received (duplicates included).
    pub data_chunks_received: u64,
    /// Chunks sent again.
    pub retransmitted_chunks: u64,
    /// Chunks marked by fast retransmit.
    pub fast_retransmits: u64,
    /// T3-rtx expirations.
    pub t3_expirations: u64,
    /// SACKs sent.
    pub sacks_sent: u64,
    /// SACKs received.
    pub sacks_received: u64,
    /// FORWARD-TSN / I-FORWARD-TSN chunks sent.
    pub forward_tsns_sent: u64,
    /// Messages accepted by `send`.
    pub messages_sent: u64,
    /// Messages delivered to the application.
    pub messages_received: u64,
    /// Messages abandoned after being (partly) sent (RFC 3758).
    pub messages_abandoned: u64,
    /// Messages whose lifetime ended before they were sent at all.
    pub messages_expired_unsent: u64,
    /// Received chunks dropped for lack of buffer or out of TSN range.
    pub dropped_chunks: u64,
    /// Duplicate TSNs received.
    pub duplicate_tsns: u64,
    /// Bytes held in the receive buffer.
    pub receive_buffered: usize,
    /// Congestion window.
    pub cwnd: usize,
    /// Slow start threshold (`usize::MAX` until the first loss).
    pub ssthresh: usize,
    /// Bytes in flight.
    pub flight_size: usize,
    /// The peer's receive window as last known.
    pub peer_rwnd: usize,
    /// Smoothed round-trip time.
    pub srtt: Option<Duration>,
    /// Retransmission timeout.
    pub rto: Duration,
    /// Whether packets to the peer go without CRC32c (RFC 9653 negotiated).
    pub zero_checksum: bool,
    /// Whether I-DATA (RFC 8260) is in use.
    pub interleaving: bool,
}
