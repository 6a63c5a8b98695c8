//! Errors of the data channel layer.

use thiserror::Error;

use crate::ChannelId;

/// What was wrong with a DCEP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Shorter than its fields say.
    Truncated,
    /// A message type other than OPEN and ACK.
    UnknownMessageType,
    /// A channel type RFC 8832 does not define.
    UnknownChannelType,
}

/// A DCEP decoding failure at a byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("{kind:?} at byte {offset}")]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Offset in the message.
    pub offset: usize,
}

/// Errors of the channel commands (API misuse, mostly what the W3C API throws).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// No channel with this id.
    #[error("no channel {0}")]
    NoSuchChannel(ChannelId),
    /// The channel is not open (W3C `InvalidStateError`).
    #[error("channel {0} is not open")]
    NotOpen(ChannelId),
    /// An id already in use (W3C `OperationError`).
    #[error("channel id {0} in use")]
    IdInUse(ChannelId),
    /// Every stream id of our parity is taken (W3C `OperationError`).
    #[error("no stream id left")]
    NoIdLeft,
    /// Both maxPacketLifeTime and maxRetransmits (W3C `TypeError`).
    #[error("maxPacketLifeTime and maxRetransmits are exclusive")]
    BothReliabilityLimits,
    /// A label or protocol over 65535 bytes (W3C `TypeError`).
    #[error("label or protocol longer than 65535 bytes")]
    TooLong,
    /// An id of 65535, which SCTP reserves (W3C `TypeError`).
    #[error("channel id 65535 is reserved")]
    ReservedId,
    /// The SCTP layer refused (message too large, buffer full, association down).
    #[error("sctp")]
    Sctp(#[from] weft_sctp::Error),
}

/// The W3C `RTCErrorDetailType` of a channel error event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorDetail {
    /// `data-channel-failure`: DCEP failed for this channel.
    DataChannelFailure,
    /// `sctp-failure`: the association failed under the channel.
    SctpFailure,
}
