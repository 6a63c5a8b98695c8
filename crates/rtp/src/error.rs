//! Errors of the RTP crate: [`ParseError`] for bad bytes, [`enum@Error`] for API misuse.

use thiserror::Error;

/// Why bytes could not be decoded as an RTP packet, an extension, a payload or a media file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Fewer bytes than the structure needs (a header, a length field that points past the end).
    Truncated,
    /// The RTP version is not 2 (RFC 3550 §5.1).
    BadVersion,
    /// The padding count is zero or larger than the bytes after the header (RFC 3550 §5.1).
    BadPadding,
    /// A header extension element's length runs past the extension block (RFC 8285 §4).
    BadExtensionLength,
    /// An extension value has a length its type does not allow.
    BadExtensionValue,
    /// A text extension (mid, rid) is not the ASCII the RFC allows.
    BadText,
    /// A payload is empty where the payload format needs at least a descriptor.
    EmptyPayload,
    /// A NAL unit / OBU / packet type the payload format reserves or this crate does not handle.
    UnsupportedType,
    /// A fragment continues a frame whose start was never seen (for example an FU-A without
    /// its start bit after a loss).
    MissingStart,
    /// An aggregation packet's unit length runs past the payload.
    BadAggregation,
    /// A payload descriptor field has a value the payload format forbids.
    BadDescriptor,
    /// A reassembled unit would exceed the depacketizer's size limit.
    TooLarge,
    /// A media file's signature or header is wrong.
    BadFileHeader,
    /// The AV1 dependency descriptor refers to a template or structure it does not have.
    BadDependencyDescriptor,
}

/// A decoding failure: what went wrong and at which byte offset of the input.
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

/// Errors returned for API misuse: values that cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// More than 15 CSRCs (the CC field has four bits).
    #[error("{0} CSRCs, at most 15 fit in a header")]
    TooManyCsrcs(usize),
    /// An extension id outside 1..=255, or 15 in the one-byte form.
    #[error("header extension id {0} is reserved")]
    BadExtensionId(u8),
    /// An extension value longer than 255 bytes, or the block longer than 65535 words.
    #[error("header extension value of {0} bytes does not fit")]
    ExtensionTooLong(usize),
    /// The extension map has no id for the extension being set.
    #[error("no extension id is negotiated for {0}")]
    UnmappedExtension(&'static str),
    /// A text extension (mid, rid) with characters RFC 8852 does not allow, or too long.
    #[error("invalid {0} value")]
    BadText(&'static str),
    /// A value out of its field's range (for example a playout delay above 40950 ms).
    #[error("{0} out of range")]
    OutOfRange(&'static str),
    /// Padding of zero bytes was asked for with the padding flag (the count byte makes it one).
    #[error("padding must be 1..=255 bytes")]
    BadPadding,
    /// The MTU leaves no room for a payload after the payload descriptor.
    #[error("mtu {0} is too small for this payload format")]
    MtuTooSmall(usize),
    /// A frame that this payload format cannot split is larger than the MTU.
    #[error("frame of {len} bytes exceeds the mtu {mtu} and cannot be fragmented")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The MTU given.
        mtu: usize,
    },
    /// A frame to packetize is empty or not in the form the packetizer expects.
    #[error("invalid frame: {0}")]
    BadFrame(&'static str),
    /// Bytes that should have been decoded were malformed.
    #[error("malformed input")]
    Parse(#[from] ParseError),
}
