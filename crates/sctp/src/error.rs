//! Errors: [`ParseError`] for bad bytes, [`Error`] for API misuse, [`CloseReason`] for why an
//! association ended.

use thiserror::Error;

use crate::wire::StreamId;

/// What was wrong with bytes that failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input ends inside a header or a declared length.
    Truncated,
    /// A length field is impossible for its type.
    BadLength,
    /// More parameters or causes than any packet could carry.
    TooMany,
}

/// A decoding failure and the byte offset in the packet where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("{kind:?} at byte {offset}")]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Offset from the start of the packet.
    pub offset: usize,
}

/// Errors returned by the association's commands (API misuse or a full buffer).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The association is not established (yet, or any more).
    #[error("association not established")]
    NotEstablished,
    /// The association has ended.
    #[error("association closed")]
    Closed,
    /// `connect` on an association that already started.
    #[error("association already started")]
    AlreadyStarted,
    /// A message larger than the peer accepts (RFC 8841 max-message-size).
    #[error("message of {size} bytes exceeds the maximum of {max}")]
    MessageTooLarge {
        /// Size of the message.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// SCTP cannot carry empty user messages; WebRTC sends them with the "empty" PPIDs and one
    /// byte of padding (done by `weft-datachannel`).
    #[error("empty message")]
    EmptyMessage,
    /// The send buffer would exceed its configured limit.
    #[error("send buffer full ({buffered} bytes queued, limit {limit})")]
    SendBufferFull {
        /// Bytes already queued.
        buffered: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A stream id at or above the number of outbound streams negotiated.
    #[error("stream {0} not negotiated")]
    InvalidStream(StreamId),
    /// The stream is being reset (closed) and takes no new messages.
    #[error("stream {0} is resetting")]
    StreamResetting(StreamId),
    /// The peer did not negotiate stream reconfiguration (RFC 6525).
    #[error("peer does not support stream reconfiguration")]
    ReconfigNotSupported,
    /// A partial-reliability option without the peer's FORWARD-TSN support (RFC 3758).
    #[error("peer does not support partial reliability")]
    PartialReliabilityNotSupported,
    /// A configuration value out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Why an association ended, carried by `Event::Closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The SHUTDOWN sequence completed.
    Shutdown,
    /// [`Association::abort`](crate::Association::abort) was called.
    Aborted,
    /// The peer sent ABORT; its causes as (code, text) when it gave any.
    AbortedByPeer {
        /// First error cause code, if any.
        cause: Option<u16>,
        /// Its information as text (for user-initiated aborts and protocol violations).
        text: String,
    },
    /// INIT or COOKIE-ECHO went unanswered `max_init_retransmissions` times.
    InitTimeout,
    /// DATA, SHUTDOWN or RE-CONFIG went unanswered `max_retransmissions` times in a row.
    TooManyRetransmissions,
    /// The peer broke the protocol; an ABORT with a Protocol Violation cause was sent.
    ProtocolViolation(&'static str),
    /// The peer restarted the association (RFC 9260 §5.2.4 case A), which weft reports
    /// instead of carrying on with a fresh state under the same object.
    PeerRestarted,
}
