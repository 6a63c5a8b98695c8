//! TURN for weft (RFC 8656): a sans-IO client for one allocation, a sans-IO server core
//! ([`Server`]), and the ChannelData codec.
//!
//! # Contract
//!
//! [`Client`] is a sans-IO machine (see `docs/ARCHITECTURE.md`): feed datagrams from the TURN
//! server with `handle_input(now, Received)`, call `handle_timeout(now)` at `poll_timeout()`,
//! and drain `poll_transmit()` and `poll_event()` after every call. It allocates at once
//! (answering the 401 challenge with long-term credentials, and 438 stale nonces), keeps the
//! allocation, its permissions and channel bindings refreshed, and relays data both ways.
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 8656 | §7 allocate and refresh, §9 permissions, §10 Send/Data indications, §11-§12 channels and ChannelData, §18 attributes | UDP relaying |
//! | RFC 8489 | §9.2 long-term credentials | through `weft-stun` |
//!
//! [`Server`] is the sans-IO core of a TURN server (the umbrella's `weft::turn::TurnServer`
//! and `weft turn-server` drive it on UDP): long-term and TURN REST credentials, allocations
//! with quotas and lifetimes, permissions and channels with their timers, Send/Data
//! indications and ChannelData, a bandwidth cap, and peer address policies that deny
//! loopback, private, link-local, multicast and unspecified peers unless allowed (§21).
//!
//! On TCP and TLS ([`Config::transport`]) the driver owns the stream and cuts it into frames
//! with [`StreamFramer`]; ChannelData is padded there as §12.5 asks. Tested over TCP and TLS
//! against coturn, and the server over all three with coturn's client.
//!
//! Not yet: dual-stack
//! allocations (ADDITIONAL-ADDRESS-FAMILY is parsed, not acted on), ALTERNATE-SERVER,
//! EVEN-PORT reservations (answered 508), DONT-FRAGMENT on the server (answered 420, as §7.2
//! asks of a server that cannot set DF), and RFC 6062 TCP relaying.
//!
//! # Invariants
//! - Only datagrams from the configured server are processed; others are dropped and counted.
//! - After the first challenge every request is signed, and every response verified.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod channel_data;
mod client;
mod error;
mod framing;
pub mod server;

pub use channel_data::{ChannelData, ChannelDataError, MAX_CHANNEL, MIN_CHANNEL, is_channel_data};
pub use client::{Client, Config, Event, Stats};
pub use error::Error;
pub use framing::{FrameError, StreamFramer};
pub use server::{Cidr, Server, ServerConfig, ServerStats};
