//! The SCTP packet: common header (RFC 9260 §3.1) and a list of chunks.

use bytes::{BufMut, Bytes, BytesMut};

use super::crc32c::packet_checksum;
use super::{Chunk, Reader};
use crate::error::{ParseError, ParseErrorKind};

/// The 12-byte common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommonHeader {
    /// Source port (5000 in WebRTC unless SDP says otherwise).
    pub source_port: u16,
    /// Destination port.
    pub destination_port: u16,
    /// Verification tag.
    pub verification_tag: u32,
    /// CRC32c checksum as carried on the wire (read little-endian), or 0 (RFC 9653).
    pub checksum: u32,
}

impl CommonHeader {
    /// Length of the common header.
    pub const LEN: usize = 12;

    /// Reads the common header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<CommonHeader, ParseError> {
        if buf.len() < Self::LEN {
            return Err(ParseError {
                kind: ParseErrorKind::Truncated,
                offset: buf.len(),
            });
        }
        Ok(CommonHeader {
            source_port: u16::from_be_bytes([buf[0], buf[1]]),
            destination_port: u16::from_be_bytes([buf[2], buf[3]]),
            verification_tag: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
            checksum: u32::from_le_bytes([buf[8], buf[9], buf[10], buf[11]]),
        })
    }

    /// Writes the header with the checksum field as given.
    pub fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u16(self.source_port);
        buf.put_u16(self.destination_port);
        buf.put_u32(self.verification_tag);
        buf.put_u32_le(self.checksum);
    }
}

/// A whole SCTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The common header.
    pub header: CommonHeader,
    /// The chunks, in order.
    pub chunks: Vec<Chunk>,
}

impl Packet {
    /// Decodes a packet. The checksum is read but not verified: see [`Packet::checksum_ok`].
    pub fn decode(buf: &Bytes) -> Result<Packet, ParseError> {
        let header = CommonHeader::decode(buf)?;
        let body = buf.slice(CommonHeader::LEN..);
        let mut chunks = Vec::new();
        let mut pos = 0;
        while pos < body.len() {
            if body.len() - pos < 4 {
                return Err(
                    Reader::new(&body, CommonHeader::LEN + pos).err(ParseErrorKind::Truncated)
                );
            }
            let (chunk, used) = Chunk::decode(&body.slice(pos..), CommonHeader::LEN + pos)?;
            chunks.push(chunk);
            pos += used;
        }
        Ok(Packet { header, chunks })
    }

    /// Whether the checksum of the raw packet `buf` is right.
    pub fn checksum_ok(buf: &[u8]) -> bool {
        match CommonHeader::decode(buf) {
            Ok(h) => h.checksum == packet_checksum(buf),
            Err(_) => false,
        }
    }

    /// Bytes the packet takes on the wire.
    pub fn encoded_len(&self) -> usize {
        CommonHeader::LEN + self.chunks.iter().map(Chunk::padded_len).sum::<usize>()
    }

    /// Writes the packet with the header's checksum field as it is (use [`Packet::to_bytes`]
    /// to compute the CRC32c).
    pub fn encode(&self, buf: &mut impl BufMut) {
        self.header.encode(buf);
        for c in &self.chunks {
            c.encode(buf);
        }
    }

    /// Serializes the packet, with a CRC32c checksum or, when `zero_checksum`, with 0
    /// (RFC 9653).
    pub fn to_bytes(&self, zero_checksum: bool) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        let mut h = self.header;
        h.checksum = 0;
        h.encode(&mut buf);
        for c in &self.chunks {
            c.encode(&mut buf);
        }
        if !zero_checksum {
            fill_checksum(&mut buf);
        }
        buf.freeze()
    }
}

/// Computes the CRC32c of a serialized packet and writes it into its header.
pub(crate) fn fill_checksum(buf: &mut [u8]) {
    let c = packet_checksum(buf);
    buf[8..12].copy_from_slice(&c.to_le_bytes());
}
