//! Errors of the RTCP crate: [`ParseError`] for bad bytes, [`Error`] for values that cannot be
//! encoded or built.

use thiserror::Error;

/// Why RTCP bytes could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Fewer than the 4 bytes of an RTCP common header.
    TruncatedHeader,
    /// The version field is not 2 (RFC 3550 §6.4.1).
    BadVersion,
    /// The header's length field runs past the end of the buffer.
    LengthPastEnd,
    /// The padding bit is set but the padding count is zero or longer than the packet body.
    BadPadding,
    /// The body is too short for the fields its type (or its count field) requires.
    Truncated,
    /// The body is longer than its type allows, or not a whole number of entries.
    BadLength,
    /// An SDES chunk has no terminating null item, or an item runs past the chunk.
    BadSdesChunk,
    /// A transport-wide CC status symbol is the reserved value 3.
    ReservedStatusSymbol,
    /// A transport-wide CC or RFC 8888 report covers more packets than its counts allow.
    BadStatusCount,
    /// The packet is not of the type the caller asked for.
    UnexpectedType,
    /// A field holds a value its format forbids (for example a REMB bitrate past 64 bits).
    BadValue,
    /// An XR block's length runs past the end of the packet, or does not fit its type.
    BadXrBlock,
}

/// An RTCP decoding failure: what went wrong and at which byte offset of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("{kind:?} at byte {offset}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The offset in the input where it went wrong.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

/// Errors for values that cannot be encoded or built (API misuse, never network bytes).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A list is longer than its count field can say (for example more than 31 report blocks).
    #[error("{what} has {len} entries, more than the {max} its count field allows")]
    TooMany {
        /// What the list is.
        what: &'static str,
        /// The number of entries given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text or data field is longer than its length field can say, or not a multiple of 4
    /// bytes where the format requires whole words.
    #[error("{what} is {len} bytes, which its format cannot carry")]
    BadFieldLength {
        /// What the field is.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A value is outside the range of its wire field.
    #[error("{what} is outside the range of its wire field")]
    OutOfRange {
        /// What the value is.
        what: &'static str,
    },
    /// The packet would exceed the 16-bit length field (256 KiB).
    #[error("packet too large for RTCP's 16-bit length")]
    PacketTooLarge,
    /// The sequence numbers given to a builder are not strictly increasing, or span more
    /// than a 16-bit count can cover.
    #[error("sequence numbers are not strictly increasing within 2^15")]
    BadSequence,
    /// A transport-wide CC receive delta does not fit the 16-bit signed delta field; start a
    /// new feedback packet at that packet.
    #[error("receive delta of packet {seq} does not fit 16 bits of 250 µs")]
    DeltaOutOfRange {
        /// The sequence number of the packet whose delta does not fit.
        seq: u16,
    },
}

/// A rule of RFC 3550 §6.1 that a full (not reduced-size) compound packet breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum CompoundError {
    /// The compound holds no packet.
    #[error("compound packet is empty")]
    Empty,
    /// The first packet is not an SR or RR.
    #[error("first packet of a compound is not an SR or RR")]
    FirstNotReport,
    /// No SDES packet carries a CNAME item.
    #[error("compound packet has no SDES CNAME")]
    NoCname,
}
