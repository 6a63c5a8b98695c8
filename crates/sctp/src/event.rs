//! Events an association reports through `poll_event`.

use bytes::Bytes;

use crate::error::CloseReason;
use crate::wire::{Ppid, StreamId};

/// A message delivered to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The stream it arrived on.
    pub stream: StreamId,
    /// Its payload protocol identifier.
    pub ppid: Ppid,
    /// Whether it was sent unordered.
    pub unordered: bool,
    /// The user data: a slice of the received packet when it came in one chunk.
    pub data: Bytes,
}

/// Something that happened to the association.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The association is established (COOKIE-ECHO / COOKIE-ACK exchanged).
    Connected,
    /// A complete user message.
    Message(Message),
    /// The peer reset these incoming streams (RFC 6525): in WebRTC, it closed the data
    /// channels with these ids. Our side should reset its outgoing streams of the same ids.
    IncomingStreamsReset {
        /// The streams; their sequence numbers start again at 0.
        streams: Vec<StreamId>,
    },
    /// Our request to reset these outgoing streams was performed by the peer.
    OutgoingStreamsReset {
        /// The streams; they take messages again, numbered from 0.
        streams: Vec<StreamId>,
    },
    /// The peer refused to reset these outgoing streams.
    StreamResetFailed {
        /// The streams.
        streams: Vec<StreamId>,
    },
    /// The bytes queued on a stream fell to its low threshold or below.
    BufferedAmountLow {
        /// The stream.
        stream: StreamId,
    },
    /// The association ended. No more events follow.
    Closed {
        /// Why.
        reason: CloseReason,
    },
}
