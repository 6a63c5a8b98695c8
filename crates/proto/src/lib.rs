//! The few types every weft layer shares.
//!
//! weft's protocol crates are sans-IO state machines (see `docs/ARCHITECTURE.md`): datagrams
//! come in as [`Received`], go out as [`Transmit`], and time comes in as
//! [`std::time::Instant`]. This crate holds those datagram types, the [`Transport`] they travel
//! on, RFC 1982 serial-number arithmetic ([`Serial16`], [`Serial32`], [`SeqUnwrapper`]), an
//! anti-replay window ([`ReplayWindow`]), first-byte demultiplexing ([`classify`]) and the
//! [`Redacted`] log wrapper.
//!
//! | Spec | What is implemented here |
//! |---|---|
//! | RFC 1982 | serial-number comparison and addition for 16- and 32-bit numbers |
//! | RFC 3711 §3.3.2, RFC 6347 §4.1.2.6 | the sliding replay window both SRTP and DTLS use |
//! | RFC 7983 §7, RFC 5761 §4 | demultiplexing STUN, DTLS, TURN channels and RTP/RTCP by first byte |
//!
//! It holds no state machine, does no IO and has no dependency beyond `bytes`.
//!
//! ```
//! use std::net::SocketAddr;
//! use bytes::Bytes;
//! use weft_proto::{Received, Transmit, Transport};
//!
//! let a: SocketAddr = "127.0.0.1:5000".parse().unwrap();
//! let b: SocketAddr = "127.0.0.1:6000".parse().unwrap();
//! let out = Transmit::udp(a, b, Bytes::from_static(b"hi"));
//! // The simulated or real network delivers it to the other side:
//! let input = Received::from(out);
//! assert_eq!(input.source, a);
//! assert_eq!(input.destination, b);
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod demux;
mod redact;
mod replay;
mod serial;

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

pub use demux::{PacketKind, classify, is_rtcp};
pub use redact::Redacted;
pub use replay::ReplayWindow;
pub use serial::{SeqUnwrapper, Serial16, Serial32};

/// The transport a datagram or stream frame travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// Plain UDP datagrams.
    Udp,
    /// A TCP stream; the layer above frames messages (RFC 4571, RFC 6544 or STUN's own length).
    Tcp,
    /// TLS over TCP.
    Tls,
}

impl Transport {
    /// Whether the transport is a reliable byte stream (TCP or TLS).
    ///
    /// STUN uses this to pick its retransmission rules (RFC 8489 §6.2.2).
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        })
    }
}

/// A datagram a machine wants sent.
///
/// The driver sends `payload` from the local address `source` to `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local address to send from.
    pub source: SocketAddr,
    /// The remote address to send to.
    pub destination: SocketAddr,
    /// The transport to send on.
    pub transport: Transport,
    /// The bytes of the datagram (or of one framed message on a stream transport).
    pub payload: Bytes,
}

impl Transmit {
    /// A UDP datagram from `source` to `destination`.
    pub fn udp(source: SocketAddr, destination: SocketAddr, payload: Bytes) -> Self {
        Transmit {
            source,
            destination,
            transport: Transport::Udp,
            payload,
        }
    }
}

/// A datagram the network delivered to a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The remote address it came from.
    pub source: SocketAddr,
    /// The local address it arrived at.
    pub destination: SocketAddr,
    /// The transport it arrived on.
    pub transport: Transport,
    /// The bytes of the datagram.
    pub payload: Bytes,
}

impl From<Transmit> for Received {
    /// The datagram as its destination sees it, when nothing on the path rewrote it.
    fn from(t: Transmit) -> Self {
        Received {
            source: t.source,
            destination: t.destination,
            transport: t.transport,
            payload: t.payload,
        }
    }
}
