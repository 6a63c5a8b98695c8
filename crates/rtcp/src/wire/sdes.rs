//! Source description packets (RFC 3550 §6.5).

use bytes::{BufMut, Bytes};

use super::reader::Reader;
use super::{Body, PT_SDES, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::Ssrc;

/// The type of an SDES item (RFC 3550 §6.5 and the IANA "RTP SDES item types" registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SdesType(pub u8);

impl SdesType {
    /// Canonical end-point identifier (RFC 3550 §6.5.1).
    pub const CNAME: SdesType = SdesType(1);
    /// User name (§6.5.2).
    pub const NAME: SdesType = SdesType(2);
    /// E-mail address (§6.5.3).
    pub const EMAIL: SdesType = SdesType(3);
    /// Phone number (§6.5.4).
    pub const PHONE: SdesType = SdesType(4);
    /// Geographic location (§6.5.5).
    pub const LOC: SdesType = SdesType(5);
    /// Application or tool name (§6.5.6).
    pub const TOOL: SdesType = SdesType(6);
    /// Notice or status (§6.5.7).
    pub const NOTE: SdesType = SdesType(7);
    /// Private extension (§6.5.8): the value holds a prefix length, the prefix and the value.
    pub const PRIV: SdesType = SdesType(8);
    /// RtpStreamId (RFC 8852 §3.1).
    pub const RTP_STREAM_ID: SdesType = SdesType(12);
    /// RepairedRtpStreamId (RFC 8852 §3.2).
    pub const REPAIRED_RTP_STREAM_ID: SdesType = SdesType(13);
    /// MID (RFC 8843, kept by RFC 9143).
    pub const MID: SdesType = SdesType(15);
}

/// One SDES item: a type and up to 255 bytes of value (text is UTF-8 by RFC 3550, but the
/// bytes are kept as they came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// The item type; 0 ends a chunk and is not an item.
    pub kind: SdesType,
    /// The value, at most 255 bytes.
    pub value: Bytes,
}

/// The items describing one source.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SdesChunk {
    /// The source (SSRC or CSRC) described.
    pub source: Ssrc,
    /// Its items, in wire order.
    pub items: Vec<SdesItem>,
}

impl SdesChunk {
    /// A chunk holding only a CNAME.
    pub fn cname(source: Ssrc, cname: impl Into<Bytes>) -> Self {
        SdesChunk {
            source,
            items: vec![SdesItem {
                kind: SdesType::CNAME,
                value: cname.into(),
            }],
        }
    }

    /// The first value of an item type.
    pub fn item(&self, kind: SdesType) -> Option<&Bytes> {
        self.items.iter().find(|i| i.kind == kind).map(|i| &i.value)
    }

    /// The CNAME as text, when present and UTF-8.
    pub fn cname_str(&self) -> Option<&str> {
        self.item(SdesType::CNAME)
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    fn encoded_len(&self) -> usize {
        let items: usize = self.items.iter().map(|i| 2 + i.value.len()).sum();
        // SSRC, items, at least one null octet, padded to a word.
        (4 + items + 1).div_ceil(4) * 4
    }
}

/// A source description packet (RFC 3550 §6.5): up to 31 chunks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceDescription {
    /// The chunks, one per source.
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    pub(crate) fn decode_body(count: u8, mut r: Reader<'_>) -> Result<Self, ParseError> {
        let mut chunks = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            let start = r.remaining();
            let source = Ssrc(r.u32()?);
            let mut items = Vec::new();
            loop {
                let kind = r.u8().map_err(|e| sdes_err(e.offset))?;
                if kind == 0 {
                    // RFC 3550 §6.5: the list ends with one or more null octets, up to the
                    // next 32-bit boundary (which may be the end of a padded body).
                    let used = start - r.remaining();
                    let pad = (4 - used % 4) % 4;
                    r.take(pad.min(r.remaining()))?;
                    break;
                }
                let len = r.u8().map_err(|e| sdes_err(e.offset))?;
                let value = r.take(usize::from(len)).map_err(|e| sdes_err(e.offset))?;
                items.push(SdesItem {
                    kind: SdesType(kind),
                    value: Bytes::copy_from_slice(value),
                });
            }
            chunks.push(SdesChunk { source, items });
        }
        r.finish()?;
        Ok(SourceDescription { chunks })
    }
}

fn sdes_err(offset: usize) -> ParseError {
    ParseError::new(ParseErrorKind::BadSdesChunk, offset)
}

impl Body for SourceDescription {
    fn packet_type(&self) -> u8 {
        PT_SDES
    }
    fn count(&self) -> u8 {
        self.chunks.len() as u8
    }
    fn body_len(&self) -> usize {
        self.chunks.iter().map(SdesChunk::encoded_len).sum()
    }
    fn validate(&self) -> Result<(), Error> {
        check_count("SDES chunks", self.chunks.len(), 31)?;
        for i in self.chunks.iter().flat_map(|c| &c.items) {
            if i.kind.0 == 0 {
                return Err(Error::OutOfRange {
                    what: "SDES item type 0",
                });
            }
            if i.value.len() > 255 {
                return Err(Error::BadFieldLength {
                    what: "SDES item",
                    len: i.value.len(),
                });
            }
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        for c in &self.chunks {
            out.put_u32(c.source.0);
            for i in &c.items {
                out.put_u8(i.kind.0);
                // validate() keeps values within 255 bytes.
                out.put_u8(i.value.len() as u8);
                out.put_slice(&i.value);
            }
            let items: usize = c.items.iter().map(|i| 2 + i.value.len()).sum();
            out.put_bytes(0, c.encoded_len() - 4 - items);
        }
    }
}
