//! Errors of the DTLS crate.

use thiserror::Error;

/// Errors returned by the DTLS API for misuse or a failing crypto back-end. Problems caused by
/// the peer or the network are not errors: they end the connection with
/// [`crate::Event::Closed`] and a [`CloseReason`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// OpenSSL failed (its own error text).
    #[error("openssl: {0}")]
    OpenSsl(String),
    /// A certificate's key does not belong to it.
    #[error("private key does not match the certificate")]
    KeyMismatch,
    /// A time outside what a certificate can hold.
    #[error("time out of range for a certificate")]
    BadTime,
    /// Application data before the handshake completed.
    #[error("not connected yet")]
    NotConnected,
    /// The connection is closed.
    #[error("connection closed")]
    Closed,
    /// Application data larger than one record fits in the MTU.
    #[error("{len} bytes do not fit one datagram (at most {max})")]
    TooLarge {
        /// The length given.
        len: usize,
        /// The most that fits.
        max: usize,
    },
    /// A setting is out of range.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
}

impl From<openssl::error::ErrorStack> for Error {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Error::OpenSsl(e.to_string())
    }
}

/// Why a connection closed, as [`crate::Event::Closed`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent `close_notify`.
    PeerClosed,
    /// [`crate::Connection::close`] was called.
    LocalClose,
    /// The peer's certificate matches none of the fingerprints from its SDP (the W3C
    /// `fingerprint-failure`, RFC 8827 §6.5).
    FingerprintFailure,
    /// The handshake or a record failed: a fatal alert, a protocol version below DTLS 1.2, an
    /// expired certificate, no extended master secret. The text says which (the W3C
    /// `dtls-failure`).
    DtlsFailure(String),
    /// The handshake did not complete in time (retransmissions exhausted or the handshake
    /// timeout passed).
    HandshakeTimeout,
}
