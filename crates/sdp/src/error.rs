//! Errors of the SDP crate: [`ParseError`] for bad text, [`Error`] for API misuse.

use std::fmt;

use thiserror::Error;

/// How many bytes of the offending line a [`ParseError`] keeps.
pub const ERROR_TEXT_LEN: usize = 64;

/// Why a session description could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The description is larger than [`Limits::max_size`](crate::Limits::max_size).
    #[error("description larger than the {limit}-byte limit")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The description has more lines than [`Limits::max_lines`](crate::Limits::max_lines).
    #[error("more than the {limit}-line limit")]
    TooManyLines {
        /// The limit in force.
        limit: usize,
    },
    /// A line is longer than [`Limits::max_line_len`](crate::Limits::max_line_len).
    #[error("line longer than the {limit}-byte limit")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The bytes are not UTF-8 (RFC 8866 §5: SDP text is UTF-8).
    #[error("not valid UTF-8")]
    InvalidUtf8,
    /// The description is empty.
    #[error("empty description")]
    Empty,
    /// A line is not `<letter>=<value>` (RFC 8866 §5).
    #[error("line is not <type>=<value>")]
    BadLine,
    /// A type letter RFC 8866 does not define; §5 says to reject the description.
    #[error("unknown line type")]
    UnknownLineType,
    /// The first line is not `v=0`.
    #[error("description does not start with v=0")]
    BadVersion,
    /// A line appears where RFC 8866 §5 does not allow it (for example `t=` in a media
    /// section, or `r=` before any `t=`).
    #[error("line not allowed here")]
    UnexpectedLine,
    /// A line that may appear once per section appears twice.
    #[error("line repeated in one section")]
    DuplicateLine,
    /// `o=` or `s=` is missing.
    #[error("missing o= or s= line")]
    MissingRequiredLine,
    /// No `t=` line (RFC 8866 §5 requires at least one).
    #[error("missing t= line")]
    MissingTiming,
    /// An `o=` line that does not follow RFC 8866 §5.2.
    #[error("bad o= line")]
    BadOrigin,
    /// A `c=` line (or the address part of `a=rtcp`) that does not follow RFC 8866 §5.7.
    #[error("bad c= line")]
    BadConnection,
    /// A `b=` line that does not follow RFC 8866 §5.8.
    #[error("bad b= line")]
    BadBandwidth,
    /// A `t=` or `r=` line that does not follow RFC 8866 §5.9-§5.10.
    #[error("bad t= or r= line")]
    BadTiming,
    /// An `m=` line that does not follow RFC 8866 §5.14.
    #[error("bad m= line")]
    BadMedia,
    /// An `a=` line with an empty attribute name.
    #[error("attribute without a name")]
    EmptyAttributeName,
    /// An attribute this crate knows whose value does not follow its grammar.
    #[error("bad value for a={name}")]
    BadAttribute {
        /// The attribute's name.
        name: &'static str,
    },
}

/// An SDP parsing failure: what went wrong, on which line, and the start of that line.
///
/// It is `Copy`: the offending text is kept in a small inline buffer, cut to at most
/// [`ERROR_TEXT_LEN`] bytes on a character boundary.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The 1-based line number, or 0 when the error is about the whole description.
    pub line: usize,
    /// The byte offset of the start of that line in the input.
    pub offset: usize,
    text: [u8; ERROR_TEXT_LEN],
    text_len: u8,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, line: usize, offset: usize, text: &str) -> Self {
        let mut end = text.len().min(ERROR_TEXT_LEN);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0; ERROR_TEXT_LEN];
        buf[..end].copy_from_slice(&text.as_bytes()[..end]);
        ParseError {
            kind,
            line,
            offset,
            text: buf,
            // `end` is at most ERROR_TEXT_LEN (64), so it fits in a u8.
            text_len: end as u8,
        }
    }

    pub(crate) fn whole(kind: ParseErrorKind) -> Self {
        Self::new(kind, 0, 0, "")
    }

    /// The start of the offending line (at most [`ERROR_TEXT_LEN`] bytes), empty when the
    /// error is about the whole description.
    pub fn text(&self) -> &str {
        // The buffer was filled from a &str cut on a char boundary; fall back to "" rather
        // than panic should that ever not hold.
        std::str::from_utf8(&self.text[..usize::from(self.text_len)]).unwrap_or("")
    }
}

impl fmt::Debug for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseError")
            .field("kind", &self.kind)
            .field("line", &self.line)
            .field("offset", &self.offset)
            .field("text", &self.text())
            .finish()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{} at line {}: {:?}", self.kind, self.line, self.text())
        }
    }
}

impl std::error::Error for ParseError {}

/// Errors returned by the SDP API for misuse (never for text from a peer, which gives a
/// [`ParseError`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The description built does not survive serialization: some text field holds a line
    /// break, a space where a token is expected, or a value another attribute's grammar
    /// claims. The error is what parsing the serialized form reported.
    #[error("built description does not serialize to valid SDP")]
    Invalid(#[source] ParseError),
    /// The description built serializes to valid SDP that parses to a different value (for
    /// example an [`Attribute::Other`](crate::Attribute::Other) named like a typed
    /// attribute).
    #[error("built description does not parse back to the same value")]
    NotRoundTrip,
    /// Two media sections share a mid (RFC 8843 §7.1 needs them unique).
    #[error("mid {0:?} used by two media sections")]
    DuplicateMid(String),
    /// A codec's payload type is outside 0..=127 (RFC 3550 §5.1).
    #[error("payload type {0} outside 0..=127")]
    BadPayloadType(u8),
    /// Two codecs of one media section share a payload type.
    #[error("payload type {0} used twice in one media section")]
    DuplicatePayloadType(u8),
}
