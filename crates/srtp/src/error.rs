//! Errors of the SRTP crate.

use thiserror::Error;

/// Why a packet could not be protected or unprotected, or a context not created.
///
/// Unprotect errors are about bytes from the network: the caller drops the packet (each is
/// also counted in [`crate::Stats`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The packet is shorter than its headers and tag.
    #[error("packet too short")]
    TooShort,
    /// Not an RTP/RTCP version 2 packet, or its header lengths lie.
    #[error("malformed RTP/RTCP header")]
    Malformed,
    /// The authentication tag does not match.
    #[error("authentication failed")]
    AuthFailed,
    /// The packet index was already received, or is older than the replay window.
    #[error("replayed packet")]
    Replayed,
    /// The SSRC is not known and the context does not accept new ones.
    #[error("unknown SSRC")]
    UnknownSsrc,
    /// A new SSRC would exceed the context's limit of SSRCs.
    #[error("too many SSRCs (limit {0})")]
    TooManySsrcs(usize),
    /// The key protected 2^48 SRTP or 2^31 SRTCP packets (RFC 3711 §9.2); rekey.
    #[error("key lifetime exhausted: rekey")]
    KeyLifetime,
    /// The master key has the wrong length for the profile.
    #[error("master key of {0} bytes does not fit the profile")]
    KeyLength(usize),
    /// The master salt has the wrong length for the profile.
    #[error("master salt of {0} bytes does not fit the profile")]
    SaltLength(usize),
    /// OpenSSL failed.
    #[error("openssl: {0}")]
    Crypto(String),
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Error::Crypto(e.to_string())
    }
}
