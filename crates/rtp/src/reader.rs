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
        Reader {
            data,
            pos: 0,
            base: 0,
        }
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

    pub(crate) fn u16(&mut self) -> Result<u16, ParseError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
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

/// A most-significant-bit-first reader over a byte slice (VP9 headers, the AV1 dependency
/// descriptor).
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, bit: 0 }
    }

    /// The number of bits read so far.
    pub(crate) fn position(&self) -> usize {
        self.bit
    }

    pub(crate) fn bits_left(&self) -> usize {
        self.data.len() * 8 - self.bit
    }

    /// Reads `n` (at most 32) bits as an unsigned number.
    pub(crate) fn bits(&mut self, n: u32) -> Result<u32, ParseError> {
        debug_assert!(n <= 32);
        if self.bits_left() < n as usize {
            return Err(ParseError::new(ParseErrorKind::Truncated, self.bit / 8));
        }
        let mut v = 0u64;
        for _ in 0..n {
            let byte = self.data[self.bit / 8];
            let b = (byte >> (7 - self.bit % 8)) & 1;
            v = (v << 1) | u64::from(b);
            self.bit += 1;
        }
        Ok(v as u32)
    }

    pub(crate) fn bit(&mut self) -> Result<bool, ParseError> {
        Ok(self.bits(1)? == 1)
    }

    /// A non-symmetric unsigned number below `n` (AV1 §4.10.7).
    pub(crate) fn ns(&mut self, n: u32) -> Result<u32, ParseError> {
        if n <= 1 {
            return Ok(0);
        }
        let w = 32 - n.leading_zeros(); // FloorLog2(n) + 1
        let m = (1u32 << w) - n;
        let v = self.bits(w - 1)?;
        if v < m {
            return Ok(v);
        }
        let extra = self.bits(1)?;
        Ok((v << 1) - m + extra)
    }
}

/// A most-significant-bit-first writer.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    out: Vec<u8>,
    bit: usize,
}

impl BitWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Writes the low `n` (at most 32) bits of `v`.
    pub(crate) fn put(&mut self, n: u32, v: u32) {
        for i in (0..n).rev() {
            if self.bit.is_multiple_of(8) {
                self.out.push(0);
            }
            let b = ((v >> i) & 1) as u8;
            let last = self.out.len() - 1;
            self.out[last] |= b << (7 - self.bit % 8);
            self.bit += 1;
        }
    }

    pub(crate) fn put_bit(&mut self, b: bool) {
        self.put(1, u32::from(b));
    }

    /// Writes `v < n` as a non-symmetric unsigned number (AV1 §4.10.7).
    pub(crate) fn put_ns(&mut self, n: u32, v: u32) {
        if n <= 1 {
            return;
        }
        let w = 32 - n.leading_zeros();
        let m = (1u32 << w) - n;
        if v < m {
            self.put(w - 1, v);
        } else {
            let x = v + m;
            self.put(w - 1, x >> 1);
            self.put(1, x & 1);
        }
    }

    /// The number of bits written.
    pub(crate) fn len_bits(&self) -> usize {
        self.bit
    }

    /// The bytes, zero-padded to a whole byte.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns_round_trips_for_every_value() {
        for n in 1..40u32 {
            let mut w = BitWriter::new();
            for v in 0..n {
                w.put_ns(n, v);
            }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for v in 0..n {
                assert_eq!(r.ns(n).unwrap(), v, "n={n}");
            }
        }
    }

    #[test]
    fn leb128_round_trips() {
        for v in [0u64, 1, 127, 128, 300, 1 << 21, u64::from(u32::MAX)] {
            let mut out = Vec::new();
            write_leb128(&mut out, v);
            assert_eq!(out.len(), leb128_len(v));
            assert_eq!(Reader::new(&out).leb128().unwrap(), v);
        }
        assert!(Reader::new(&[0xff; 9]).leb128().is_err());
    }
}
