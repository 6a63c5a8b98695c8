//! Application-defined packets (RFC 3550 §6.7).

use bytes::{BufMut, Bytes};

use super::reader::Reader;
use super::{Body, PT_APP};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::Ssrc;

/// An application-defined packet (RFC 3550 §6.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct App {
    /// The 5-bit subtype carried in the count field.
    pub subtype: u8,
    /// The sender's SSRC.
    pub ssrc: Ssrc,
    /// The four-character name (ASCII by the RFC, kept as bytes).
    pub name: [u8; 4],
    /// Application data, whole 32-bit words.
    pub data: Bytes,
}

impl App {
    pub(crate) fn decode_body(count: u8, mut r: Reader<'_>) -> Result<Self, ParseError> {
        let ssrc = Ssrc(r.u32()?);
        let n = r.take(4)?;
        let name = [n[0], n[1], n[2], n[3]];
        if !r.remaining().is_multiple_of(4) {
            return Err(r.err(ParseErrorKind::BadLength));
        }
        Ok(App {
            subtype: count,
            ssrc,
            name,
            data: Bytes::copy_from_slice(r.rest()),
        })
    }
}

impl Body for App {
    fn packet_type(&self) -> u8 {
        PT_APP
    }
    fn count(&self) -> u8 {
        self.subtype
    }
    fn body_len(&self) -> usize {
        8 + self.data.len()
    }
    fn validate(&self) -> Result<(), Error> {
        if self.subtype > 31 {
            return Err(Error::OutOfRange {
                what: "APP subtype",
            });
        }
        if !self.data.len().is_multiple_of(4) {
            return Err(Error::BadFieldLength {
                what: "APP data",
                len: self.data.len(),
            });
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.ssrc.0);
        out.put_slice(&self.name);
        out.put_slice(&self.data);
    }
}
