//! weft: a WebRTC stack in Rust.
//!
//! This umbrella crate is the only part of weft that does IO. It runs weft's sans-IO protocol
//! machines on tokio (sockets, timers, tasks) and re-exports each protocol crate under a
//! module path:
//!
//! | module | crate | what the driver adds |
//! |---|---|---|
//! | [`proto`] | `weft-proto` | [`now`], the one clock read of the whole stack |
//! | [`stun`] | `weft-stun` | [`stun::StunServer`] on UDP and TCP, [`stun::binding_request`] |
//! | [`dtls`] | `weft-dtls` | [`dtls::DtlsTransport`]: one connection over a UDP socket |
//! | [`turn`] | `weft-turn` | [`turn::TurnServer`] on UDP, TCP and TLS; [`turn::TurnClient`] |
//! | [`datachannel`] | `weft-datachannel` | [`datachannel::DataChannelTransport`]: DTLS and SCTP without ICE |
//! | [`peer`] | `weft-peerconnection`, `weft-ice` | [`peer::PeerConnection`] and [`peer::DataChannel`]: the W3C `RTCPeerConnection` |
//!
//! [`peer::PeerConnection`] gathers host candidates on every usable interface (one UDP socket
//! each, batched with GSO/GRO through `quinn-udp`, plus an ICE-TCP listener), resolves STUN
//! and TURN URIs for the agent (TURN over UDP, TCP and TLS), runs the ICE-TCP and TURN stream
//! connections, and opens the mDNS multicast socket when `.local` names are in play (ADR
//! 0007). Media arrives with the crates it needs; see the README's status table.
//!
//! # Driver rules (STYLE.md §7)
//! One task owns each machine by value; it drains `poll_transmit` and `poll_event`, then
//! waits on the socket, one reusable `Sleep` set to `poll_timeout()`, and its command channel.
//! Time is read only through [`now`], so tests run under `tokio::time::pause`.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// The umbrella crate is where IO and the clock live (the disallowed lists are for protocol
// crates).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod datachannel;
pub mod dtls;
pub mod peer;
mod streams;
pub mod stun;
pub mod turn;
mod udp;

pub use weft_proto as proto;

pub use peer::{
    Callbacks, DataChannel, Event, IceServer, PeerConnection, RtcConfiguration, SdpType,
};

use std::time::Instant;

/// The current time, as every weft machine expects it.
///
/// Read through tokio's clock so that paused-time tests
/// (`#[tokio::test(start_paused = true)]`) drive weft deterministically.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Errors of the tokio layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket operation failed.
    #[error("socket error")]
    Io(#[from] std::io::Error),
    /// The STUN layer refused a request.
    #[error("stun")]
    Stun(#[from] weft_stun::Error),
    /// The DTLS layer refused a command.
    #[error("dtls")]
    Dtls(#[from] weft_dtls::Error),
    /// The data channel layer refused a command.
    #[error("data channel")]
    DataChannel(#[from] weft_datachannel::Error),
    /// The TURN client refused a command.
    #[error("turn")]
    Turn(#[from] weft_turn::Error),
    /// The peer connection refused a command.
    #[error("peer connection")]
    PeerConnection(#[from] weft_peerconnection::Error),
    /// `setConfiguration` tried to change what cannot change (W3C
    /// `InvalidModificationError`); names the setting.
    #[error("{0} cannot be changed")]
    InvalidModification(&'static str),
    /// The connection's task has stopped.
    #[error("connection closed")]
    Closed,
    /// A host name did not resolve to a usable address.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// The server did not answer in time.
    #[error("no response from {0}")]
    TimedOut(std::net::SocketAddr),
    /// The server answered with an error response.
    #[error("server answered {code} {reason}")]
    ErrorResponse {
        /// The ERROR-CODE.
        code: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// A response that should carry an attribute did not, or could not be read.
    #[error("malformed response: {0}")]
    BadResponse(&'static str),
}
