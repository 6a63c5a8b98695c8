//! Errors of the ICE crate: [`ParseError`] for candidate text, [`Error`] for API misuse.

use thiserror::Error;

/// Why a candidate attribute could not be turned into a [`Candidate`](crate::Candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text does not follow the RFC 8839 §5.1 grammar.
    Syntax,
    /// The address is a name (an mDNS `.local` name), not an IP literal: resolve it first.
    UnresolvedAddress,
    /// The transport is neither UDP nor TCP.
    UnsupportedTransport,
    /// The `typ` is not host, srflx, prflx or relay.
    UnknownType,
    /// Only one of `raddr` and `rport` is present.
    IncompleteRelatedAddress,
    /// The component id is 0 or above 256.
    BadComponent,
    /// The foundation is not 1 to 32 ice-chars.
    BadFoundation,
}

/// A candidate parsing failure: what went wrong and where.
///
/// `weft-sdp`'s candidate tokenizer reports no position, so `offset` is the start of the
/// attribute value (0) for every kind; it is kept so that the type has the shape of every
/// other weft `ParseError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[error("bad candidate ({kind:?}) at byte {offset}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The byte offset in the attribute value.
    pub offset: usize,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        ParseError { kind, offset }
    }
}

/// Errors the agent's commands return for misuse. Network input never returns an error: it
/// is dropped and counted in [`Stats`](crate::Stats).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The agent is closed.
    #[error("agent is closed")]
    Closed,
    /// No candidate pair can carry data yet.
    #[error("no usable candidate pair")]
    NoPair,
    /// ICE credentials outside RFC 8839 §5.4 (ufrag 4-256 and pwd 22-256 ice-chars).
    #[error("invalid ice credentials: {0}")]
    BadCredentials(&'static str),
    /// A candidate the agent cannot use.
    #[error("invalid candidate: {0}")]
    BadCandidate(&'static str),
    /// The candidate's `ufrag` names another ICE generation.
    #[error("candidate belongs to another ice generation")]
    StaleGeneration,
    /// A candidate limit of [`Config`](crate::Config) is reached.
    #[error("too many candidates (limit {0})")]
    TooManyCandidates(usize),
    /// The outgoing queue is full: drain `poll_transmit` first.
    #[error("transmit queue full")]
    QueueFull,
    /// An [`Mdns`](crate::mdns::Mdns) command was refused: a name that is not `.local`, an
    /// address that cannot have a name, or a full table.
    #[error("mdns: {0}")]
    Mdns(&'static str),
    /// A candidate string did not parse.
    #[error("candidate parse error")]
    Parse(#[from] ParseError),
    /// A TURN client could not be created (bad credentials).
    #[error("turn")]
    Turn(#[from] weft_turn::Error),
    /// The STUN layer refused a message (a configuration value too long for its attribute).
    #[error("stun")]
    Stun(#[from] weft_stun::Error),
}
