//! A bounds-checked cursor over a byte slice: every read either succeeds or returns a
//! [`ParseError`] with the offset where the input ran out.

use crate::error::{ParseError, ParseErrorKind};

/// A cursor over `data`; `base` is added to offsets in errors (the slice's place in the packet).
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0, base: 0 }
    }

    pub(crate) fn with_base(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    pub(crate) fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind, self.offset())
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.remaining() < n {
            return Err(self.err(ParseErrorKind::Truncated));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn peek_u8(&self) -> Result<u8, ParseError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.err(ParseErrorKind::Truncated))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u24(&mut self) -> Result<u32, ParseError> {
        let b = self.take(3)?;
        Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, ParseError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A LEB128 number (AV1 OBU sizes): at most 8 bytes, value below 2^32 (AV1 §4.10.5).
    pub(crate) fn leb128(&mut self) -> Result<u64, ParseError> {
        let start = self.offset();
        let mut value = 0u64;
        for i in 0..8 {
            let b = self.u8()?;
            value |= u64::from(b & 0x7f) << (i * 7);
            if b & 0x80 == 0 {
                if value > u64::from(u32::MAX) {
                    return Err(ParseError::new(ParseErrorKind::BadDescriptor, start));
                }
                return Ok(value);
            }
        }
        Err(ParseError::new(ParseErrorKind::BadDescriptor, start))
    }
}

/// Appends `v` as LEB128 (AV1 §4.10.5).
pub(crate) fn write_leb128(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// The number of bytes [`write_leb128`] writes for `v`.
pub(crate) fn leb128_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}
