//! TURN for weft (RFC 8656): a sans-IO client for one allocation, and the ChannelData codec.
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
//! Not yet: the TURN server, TCP and TLS sockets to the server (the framing helpers are
//! here: [`ChannelData::frame_len`]; the sockets belong to the umbrella crate), dual-stack
//! allocations (ADDITIONAL-ADDRESS-FAMILY is parsed, not requested), ALTERNATE-SERVER, and
//! EVEN-PORT reservations.
//!
//! # Invariants
//! - Only datagrams from the configured server are processed; others are dropped and counted.
//! - After the first challenge every request is signed, and every response verified.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod channel_data;
mod client;
mod error;

pub use channel_data::{ChannelData, ChannelDataError, MAX_CHANNEL, MIN_CHANNEL, is_channel_data};
pub use client::{Client, Config, Event, Stats};
pub use error::Error;
