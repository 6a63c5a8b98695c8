//! Errors of the STUN crate: [`ParseError`] for bad bytes, [`Error`] for API misuse.

use thiserror::Error;

/// Why a STUN message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Fewer than the 20 bytes of a STUN header.
    TruncatedHeader,
    /// The first two bits are not zero, so this is not STUN (RFC 8489 §5).
    NotStun,
    /// The magic cookie is not 0x2112A442.
    BadMagicCookie,
    /// The header's length is not a multiple of 4.
    UnalignedLength,
    /// The header's length disagrees with the number of bytes given.
    LengthMismatch,
    /// An attribute header or value runs past the end of the message.
    TruncatedAttribute,
    /// The attribute's value has a length its type does not allow.
    BadAttributeLength,
    /// An address attribute has an unknown family.
    BadAddressFamily,
    /// A text attribute is not UTF-8.
    InvalidUtf8,
    /// A text attribute is longer than its RFC limit.
    TooLong,
    /// An ERROR-CODE outside 300..=699, or with a number above 99.
    BadErrorCode,
    /// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 or FINGERPRINT appears twice.
    DuplicateIntegrity,
    /// An attribute follows FINGERPRINT, which must be last (RFC 8489 §14.7).
    AfterFingerprint,
    /// The FINGERPRINT value does not match the message.
    BadFingerprint,
    /// A value that the RFC constrains is out of range (for example a PASSWORD-ALGORITHM
    /// parameter length).
    BadValue,
}

/// A STUN decoding failure: what went wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("{kind:?} at byte {offset}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The offset in the message where it went wrong.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

/// Errors returned by the STUN API for misuse (never for bytes from the network, which are
/// dropped and counted instead).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A value is too long for its attribute (RFC 8489 §14 limits).
    #[error("{attribute} value is {len} bytes, more than the {max} allowed")]
    ValueTooLong {
        /// The attribute's name.
        attribute: &'static str,
        /// The length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The message would exceed the 16-bit length field.
    #[error("message too large for STUN's 16-bit length")]
    MessageTooLarge,
    /// An ERROR-CODE outside 300..=699.
    #[error("error code {0} outside 300..=699")]
    BadErrorCode(u16),
    /// MESSAGE-INTEGRITY-SHA256 truncation must be 16 to 32 bytes in steps of 4.
    #[error("MESSAGE-INTEGRITY-SHA256 length {0} is not 16..=32 in steps of 4")]
    BadTruncation(usize),
    /// A string failed OpaqueString preparation (RFC 8265 §4.2).
    #[error("{0} is not a valid OpaqueString")]
    Preparation(&'static str),
    /// The message has no integrity attribute to verify.
    #[error("message has no MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256")]
    NoIntegrity,
    /// The integrity attribute does not match the key.
    #[error("message integrity check failed")]
    IntegrityMismatch,
    /// The bytes given as a request are not a STUN request.
    #[error("not a STUN request")]
    NotARequest,
    /// A transaction with that id is already running.
    #[error("a transaction with this id is already running")]
    DuplicateTransaction,
    /// Too many transactions are running at once.
    #[error("too many transactions in flight (limit {0})")]
    TooManyTransactions(usize),
    /// A STUN or TURN URI could not be parsed.
    #[error("invalid STUN/TURN URI: {0}")]
    Uri(#[from] crate::uri::UriError),
    /// A server's challenge (401 or 438) is missing what RFC 8489 §9.2.5 requires, or offers
    /// only algorithms this crate does not implement.
    #[error("unusable challenge: {0}")]
    BadChallenge(&'static str),
    /// A request cannot be signed before a challenge gave a realm and nonce.
    #[error("no credentials yet: answer a 401 challenge first")]
    NoCredentials,
    /// The crypto back-end failed.
    #[error("crypto back-end failed")]
    Crypto,
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(_: openssl::error::ErrorStack) -> Self {
        Error::Crypto
    }
}
