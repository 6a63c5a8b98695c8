//! Goodbye packets (RFC 3550 §6.6).

use bytes::{BufMut, Bytes};

use super::reader::Reader;
use super::{Body, PT_BYE, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::Ssrc;

/// A goodbye packet (RFC 3550 §6.6): sources leaving, with an optional reason.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Goodbye {
    /// Up to 31 sources leaving.
    pub sources: Vec<Ssrc>,
    /// Why they leave, up to 255 bytes (UTF-8 text by the RFC, kept as bytes).
    pub reason: Option<Bytes>,
}

impl Goodbye {
    pub(crate) fn decode_body(count: u8, mut r: Reader<'_>) -> Result<Self, ParseError> {
        let mut sources = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            sources.push(Ssrc(r.u32()?));
        }
        let reason = if r.is_empty() {
            None
        } else {
            let len = r.u8()?;
            let text = r.take(usize::from(len))?;
            // The reason is padded with null octets to a 32-bit boundary.
            if r.remaining() > 3 {
                return Err(r.err(ParseErrorKind::BadLength));
            }
            Some(Bytes::copy_from_slice(text))
        };
        Ok(Goodbye { sources, reason })
    }
}

impl Body for Goodbye {
    fn packet_type(&self) -> u8 {
        PT_BYE
    }
    fn count(&self) -> u8 {
        self.sources.len() as u8
    }
    fn body_len(&self) -> usize {
        4 * self.sources.len()
            + self
                .reason
                .as_ref()
                .map_or(0, |t| (1 + t.len()).div_ceil(4) * 4)
    }
    fn validate(&self) -> Result<(), Error> {
        check_count("BYE sources", self.sources.len(), 31)?;
        if let Some(t) = &self.reason
            && t.len() > 255
        {
            return Err(Error::BadFieldLength {
                what: "BYE reason",
                len: t.len(),
            });
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        for s in &self.sources {
            out.put_u32(s.0);
        }
        if let Some(t) = &self.reason {
            // validate() keeps the reason within 255 bytes.
            out.put_u8(t.len() as u8);
            out.put_slice(t);
            let used = 1 + t.len();
            out.put_bytes(0, used.div_ceil(4) * 4 - used);
        }
    }
}
