//! The SCTP wire format: the common header, every chunk WebRTC uses, their parameters, and the
//! CRC32c checksum. Pure codecs: `decode` borrows nothing and copies nothing but slices of the
//! input [`Bytes`]; `encode` writes into any [`BufMut`](bytes::BufMut).

mod chunk;
pub mod crc32c;
mod packet;
mod param;

pub use chunk::{
    Chunk, ChunkType, Data, ForwardTsn, IData, IForwardTsn, IForwardTsnStream, Init, Sack,
};
pub(crate) use packet::fill_checksum;
pub use packet::{CommonHeader, Packet};
pub use param::{ErrorCause, InitParam, ReconfigParam, ReconfigResult};

use std::fmt;

use bytes::Bytes;

use crate::error::{ParseError, ParseErrorKind};

macro_rules! newtype {
    ($(#[$doc:meta])* $name:ident, $int:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
        pub struct $name(pub $int);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                $name(v)
            }
        }
    };
}

newtype!(
    /// A Transmission Sequence Number (RFC 9260 §3.3.1). Compare with [`Tsn::is_before`]: TSNs
    /// wrap, so the derived `Ord` is only the numeric order.
    Tsn,
    u32
);
newtype!(
    /// A stream identifier (RFC 9260 §3.3.1). In WebRTC, a data channel's id.
    StreamId,
    u16
);
newtype!(
    /// A stream sequence number of an ordered message carried in DATA chunks (RFC 9260 §3.3.1).
    Ssn,
    u16
);
newtype!(
    /// A message identifier of I-DATA (RFC 8260 §2.1).
    Mid,
    u32
);
newtype!(
    /// A payload protocol identifier (RFC 9260 §3.3.1); WebRTC's values are in
    /// `weft-datachannel` (RFC 8831 §8).
    Ppid,
    u32
);

impl Tsn {
    /// Whether `self` comes before `other` in serial-number order (RFC 1982).
    pub fn is_before(self, other: Tsn) -> bool {
        weft_proto::Serial32(self.0).is_before(weft_proto::Serial32(other.0))
    }

    /// The TSN `n` after this one, wrapping.
    pub fn plus(self, n: u32) -> Tsn {
        Tsn(self.0.wrapping_add(n))
    }
}

/// Rounds a length up to the next multiple of 4 (chunks and parameters are padded to 4 bytes).
pub(crate) fn padded(len: usize) -> usize {
    (len + 3) & !3
}

/// A small cursor over a [`Bytes`] that hands out slices and reports the offset of errors.
pub(crate) struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
    /// Offset of `buf[0]` in the whole packet, for error reports.
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a Bytes, base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            offset: self.offset(),
        }
    }

    fn need(&self, n: usize) -> Result<(), ParseError> {
        if self.remaining() < n {
            Err(self.err(ParseErrorKind::Truncated))
        } else {
            Ok(())
        }
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        self.need(1)?;
        let v = self.buf[self.pos];
        self.pos += 1;
        Ok(v)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        self.need(2)?;
        let v = u16::from_be_bytes([self.buf[self.pos], self.buf[self.pos + 1]]);
        self.pos += 2;
        Ok(v)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        self.need(4)?;
        let b = &self.buf[self.pos..self.pos + 4];
        self.pos += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<Bytes, ParseError> {
        self.need(n)?;
        let v = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(v)
    }

    pub(crate) fn rest(&mut self) -> Bytes {
        let v = self.buf.slice(self.pos..);
        self.pos = self.buf.len();
        v
    }

    /// Skips up to `n` bytes of padding (fewer at the end of the buffer).
    pub(crate) fn skip_padding(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

#[cfg(test)]
mod tests;
