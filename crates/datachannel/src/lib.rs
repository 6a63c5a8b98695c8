//! WebRTC data channels (RFC 8831) with the Data Channel Establishment Protocol (RFC 8832),
//! over a [`weft_sctp::Association`] that this crate owns. Sans-IO: SCTP packets (DTLS record
//! payloads) in and out, `Instant`s in, [`Event`]s out.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use weft_datachannel::{ChannelInit, Config, Endpoint, Event, Role};
//!
//! let now = Instant::now();
//! let mut a = Endpoint::new(Config::new(Role::Client).with_seed([1; 32]), now).unwrap();
//! let mut b = Endpoint::new(Config::new(Role::Server).with_seed([2; 32]), now).unwrap();
//! a.connect(now).unwrap();
//! b.connect(now).unwrap();
//! let chat = a.create_channel(now, ChannelInit::new("chat")).unwrap();
//! let mut got = None;
//! for _ in 0..10 {
//!     while let Some(p) = a.poll_transmit() { b.handle_input(now, p); }
//!     while let Some(p) = b.poll_transmit() { a.handle_input(now, p); }
//!     while let Some(e) = a.poll_event() {
//!         if e == Event::Open(chat) { a.send_text(now, chat, "hello").unwrap(); }
//!     }
//!     while let Some(e) = b.poll_event() {
//!         if let Event::Message(m) = e { got = Some(m.data); }
//!     }
//! }
//! assert_eq!(got.as_deref(), Some(&b"hello"[..]));
//! assert_eq!(b.channel(chat).unwrap().label, "chat");
//! ```
//!
//! # What it implements
//!
//! | spec | sections | notes |
//! |---|---|---|
//! | RFC 8831 | §6.1 stream ids by DTLS role, §6.4 channel types, §6.5 priorities, §6.6 PPIDs incl. empty messages and the deprecated partial PPIDs (received only), §6.7 closing by stream reset | |
//! | RFC 8832 | DATA_CHANNEL_OPEN / ACK, ordered sending until the ACK, any message counts as the ACK | |
//! | W3C webrtc-pc §6.2 | `readyState` connecting / open / closing / closed, `bufferedAmount`, `bufferedAmountLowThreshold`, negotiated channels, error details `data-channel-failure` and `sctp-failure` | |
//!
//! Not implemented: sending the deprecated partial PPIDs (weft sends whole messages up to the
//! peer's max-message-size, as browsers do).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dcep;
mod endpoint;
mod error;

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

pub use endpoint::{ChannelInfo, Endpoint};
pub use error::{Error, ErrorDetail, ParseError, ParseErrorKind};
pub use weft_sctp::CloseReason;

/// The payload protocol identifiers of RFC 8831 §8.
pub mod ppid {
    use weft_sctp::Ppid;

    /// DCEP.
    pub const DCEP: Ppid = Ppid(50);
    /// WebRTC String.
    pub const STRING: Ppid = Ppid(51);
    /// WebRTC Binary Partial (deprecated).
    pub const BINARY_PARTIAL: Ppid = Ppid(52);
    /// WebRTC Binary.
    pub const BINARY: Ppid = Ppid(53);
    /// WebRTC String Partial (deprecated).
    pub const STRING_PARTIAL: Ppid = Ppid(54);
    /// WebRTC String Empty.
    pub const STRING_EMPTY: Ppid = Ppid(56);
    /// WebRTC Binary Empty.
    pub const BINARY_EMPTY: Ppid = Ppid(57);
}

/// A channel id: its SCTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u16);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// This side's DTLS role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// DTLS client: picks even stream ids.
    Client,
    /// DTLS server: picks odd stream ids.
    Server,
}

/// W3C `RTCDataChannelState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelState {
    /// Waiting for the association (or the OPEN to be sent).
    Connecting,
    /// Messages flow.
    Open,
    /// Closing: streams being reset.
    Closing,
    /// Closed.
    Closed,
}

/// Settings of an endpoint.
#[derive(Debug, Clone)]
pub struct Config {
    /// DTLS role.
    pub role: Role,
    /// The association's settings.
    pub sctp: weft_sctp::Config,
}

impl Config {
    /// Defaults for `role`, with zero checksums offered (SCTP runs over DTLS here).
    pub fn new(role: Role) -> Config {
        Config {
            role,
            sctp: weft_sctp::Config {
                zero_checksum: true,
                ..weft_sctp::Config::default()
            },
        }
    }

    /// Seeds the association's random numbers (tests).
    pub fn with_seed(mut self, seed: [u8; 32]) -> Config {
        self.sctp.rng_seed = Some(seed);
        self
    }
}

/// W3C `RTCDataChannelInit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInit {
    /// Label.
    pub label: String,
    /// Ordered delivery (default true).
    pub ordered: bool,
    /// `maxPacketLifeTime`.
    pub max_packet_lifetime: Option<Duration>,
    /// `maxRetransmits`.
    pub max_retransmits: Option<u16>,
    /// Subprotocol.
    pub protocol: String,
    /// `negotiated` with its `id`: created on both sides by the application, no DCEP.
    pub negotiated: Option<ChannelId>,
    /// Priority as in DCEP (W3C `priority`: very-low 128, low 256, medium 512, high 1024).
    pub priority: u16,
}

impl ChannelInit {
    /// A reliable, ordered, in-band channel with this label.
    pub fn new(label: &str) -> ChannelInit {
        ChannelInit {
            label: label.to_owned(),
            ordered: true,
            max_packet_lifetime: None,
            max_retransmits: None,
            protocol: String::new(),
            negotiated: None,
            priority: 256,
        }
    }
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel.
    pub id: ChannelId,
    /// Binary (PPID 53/57) or text (51/56).
    pub binary: bool,
    /// The payload (empty for the "empty" PPIDs).
    pub data: Bytes,
}

impl Message {
    /// The text of a text message, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        if self.binary {
            None
        } else {
            std::str::from_utf8(&self.data).ok()
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The association is up.
    Connected,
    /// The peer created this channel (W3C `datachannel` event); `Open` follows.
    Incoming(ChannelId),
    /// The channel is open (W3C `open`).
    Open(ChannelId),
    /// A message (W3C `message`).
    Message(Message),
    /// `bufferedAmount` fell to the low threshold (W3C `bufferedamountlow`).
    BufferedAmountLow(ChannelId),
    /// The channel started closing (W3C `closing`).
    Closing(ChannelId),
    /// The channel closed (W3C `close`).
    Closed(ChannelId),
    /// A channel error (W3C `error` with an `RTCError` of this detail).
    Error {
        /// The channel.
        id: ChannelId,
        /// `data-channel-failure` or `sctp-failure`.
        detail: ErrorDetail,
    },
    /// The association ended; every channel is closed.
    TransportClosed {
        /// Why.
        reason: CloseReason,
    },
}
