//! Errors of the TURN crate.

use std::net::IpAddr;

use thiserror::Error;

/// Errors returned by the TURN client's commands.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The allocation does not exist (yet, or any more).
    #[error("no allocation")]
    NotAllocated,
    /// Data for a peer without a permission or channel.
    #[error("no permission for {0}")]
    NoPermission(IpAddr),
    /// All 4096 channel numbers are in use.
    #[error("no channel number left")]
    ChannelsExhausted,
    /// The STUN layer refused (credentials that fail OpaqueString, a message too large).
    #[error("stun")]
    Stun(#[from] weft_stun::Error),
}
