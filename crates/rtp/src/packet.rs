//! The RTP fixed header (RFC 3550 §5.1): a zero-copy view ([`Packet`]) and an owned packet
//! ([`PacketBuf`]) that encodes.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::extension::{Extension, ExtensionMap, Extensions, ExtensionsRef};
use crate::reader::Reader;

/// An RTP sequence number: 16 bits that wrap, compared by RFC 1982 serial arithmetic.
pub type SeqNum = weft_proto::Serial16;

/// An RTP timestamp: 32 bits that wrap, compared by RFC 1982 serial arithmetic.
pub type Timestamp = weft_proto::Serial32;

/// The size of the fixed RTP header, without CSRCs or extensions.
pub const FIXED_HEADER_LEN: usize = 12;

/// The most CSRCs a header can list (the CC field has four bits).
pub const MAX_CSRCS: usize = 15;

/// A synchronization source identifier (RFC 3550 §3), also used for CSRCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

/// An RTP payload type: seven bits (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PayloadType(u8);

impl PayloadType {
    /// The payload type `v`, or `None` above 127.
    pub const fn new(v: u8) -> Option<Self> {
        if v < 128 { Some(PayloadType(v)) } else { None }
    }

    /// The payload type `v & 0x7f` (the bits a header would carry).
    pub const fn from_bits(v: u8) -> Self {
        PayloadType(v & 0x7f)
    }

    /// The number.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A decoded RTP packet borrowing the bytes it was decoded from.
///
/// Decoding checks every length (CSRC count, extension block and its elements, padding), so
/// the accessors never fail.
///
/// ```
/// use weft_rtp::Packet;
/// let bytes = [0x80, 0xe0, 0x00, 0x01, 0, 0, 0x03, 0xe8, 0xde, 0xad, 0xbe, 0xef, 0xaa];
/// let p = Packet::decode(&bytes).unwrap();
/// assert!(p.marker);
/// assert_eq!(p.payload_type.get(), 96);
/// assert_eq!(p.sequence.0, 1);
/// assert_eq!(p.timestamp.0, 1000);
/// assert_eq!(p.ssrc.0, 0xdeadbeef);
/// assert_eq!(p.payload, &[0xaa]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The marker bit: the meaning is the payload format's (for video, the last packet of a
    /// frame).
    pub marker: bool,
    /// The payload type.
    pub payload_type: PayloadType,
    /// The sequence number.
    pub sequence: SeqNum,
    /// The timestamp.
    pub timestamp: Timestamp,
    /// The synchronization source.
    pub ssrc: Ssrc,
    /// The header extensions (empty when the X bit is clear).
    pub extensions: ExtensionsRef<'a>,
    /// The payload, without padding.
    pub payload: &'a [u8],
    /// The number of padding bytes (including the count byte), 0 without the P bit.
    pub padding: u8,
    csrcs: &'a [u8],
    header_len: usize,
}

impl<'a> Packet<'a> {
    /// Decodes an RTP packet (RFC 3550 §5.1, RFC 8285 §4).
    ///
    /// Errors: [`ParseErrorKind::Truncated`] when a length points past the end,
    /// [`ParseErrorKind::BadVersion`] for a version other than 2,
    /// [`ParseErrorKind::BadPadding`] when the padding count is 0 or longer than the payload,
    /// [`ParseErrorKind::BadExtensionLength`] when an extension element's length lies.
    pub fn decode(bytes: &'a [u8]) -> Result<Packet<'a>, ParseError> {
        let mut r = Reader::new(bytes);
        let b0 = r.u8()?;
        if b0 >> 6 != 2 {
            return Err(ParseError::new(ParseErrorKind::BadVersion, 0));
        }
        let has_padding = b0 & 0x20 != 0;
        let has_extension = b0 & 0x10 != 0;
        let cc = usize::from(b0 & 0x0f);
        let b1 = r.u8()?;
        let sequence = SeqNum::from(r.u16()?);
        let timestamp = Timestamp::from(r.u32()?);
        let ssrc = Ssrc(r.u32()?);
        let csrcs = r.take(cc * 4)?;
        let extensions = if has_extension {
            let start = r.offset();
            let profile = r.u16()?;
            let words = usize::from(r.u16()?);
            let data = r.take(words * 4)?;
            ExtensionsRef::parse(profile, data, start + 4)?
        } else {
            ExtensionsRef::empty()
        };
        let header_len = r.offset();
        let mut payload = r.rest();
        let mut padding = 0u8;
        if has_padding {
            // RFC 3550 §5.1: the last octet of the padding counts the padding octets,
            // itself included.
            let Some(&count) = payload.last() else {
                return Err(ParseError::new(ParseErrorKind::BadPadding, bytes.len()));
            };
            if count == 0 || usize::from(count) > payload.len() {
                return Err(ParseError::new(ParseErrorKind::BadPadding, bytes.len() - 1));
            }
            padding = count;
            payload = &payload[..payload.len() - usize::from(count)];
        }
        Ok(Packet {
            marker: b1 & 0x80 != 0,
            payload_type: PayloadType::from_bits(b1),
            sequence,
            timestamp,
            ssrc,
            extensions,
            payload,
            padding,
            csrcs,
            header_len,
        })
    }

    /// The contributing sources, in header order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = Ssrc> + 'a {
        self.csrcs
            .chunks_exact(4)
            .map(|c| Ssrc(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The length of the header: fixed part, CSRCs and extension block.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The typed extension `T` if the map gives it an id and the packet carries it.
    ///
    /// `Some(Err(_))` when the element is present but malformed.
    pub fn extension<T: Extension>(&self, map: &ExtensionMap) -> Option<Result<T, ParseError>> {
        let id = map.id(T::KIND)?;
        self.extensions.get(id).map(T::decode)
    }

    /// Copies the packet into an owned [`PacketBuf`].
    pub fn to_owned(&self) -> PacketBuf {
        PacketBuf {
            header: Header {
                marker: self.marker,
                payload_type: self.payload_type,
                sequence: self.sequence,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
                csrcs: self.csrcs().collect(),
                extensions: self.extensions.to_owned(),
            },
            payload: Bytes::copy_from_slice(self.payload),
            padding: self.padding,
        }
    }
}

/// The owned header of an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// The marker bit.
    pub marker: bool,
    /// The payload type.
    pub payload_type: PayloadType,
    /// The sequence number.
    pub sequence: SeqNum,
    /// The timestamp.
    pub timestamp: Timestamp,
    /// The synchronization source.
    pub ssrc: Ssrc,
    /// The header extensions.
    pub extensions: Extensions,
    csrcs: Vec<Ssrc>,
}

impl Header {
    /// A header with no CSRCs and no extensions.
    pub fn new(
        payload_type: PayloadType,
        sequence: SeqNum,
        timestamp: Timestamp,
        ssrc: Ssrc,
    ) -> Self {
        Header {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
            extensions: Extensions::default(),
            csrcs: Vec::new(),
        }
    }

    /// The contributing sources.
    pub fn csrcs(&self) -> &[Ssrc] {
        &self.csrcs
    }

    /// Replaces the contributing sources. Errors with more than [`MAX_CSRCS`].
    pub fn set_csrcs(&mut self, csrcs: &[Ssrc]) -> Result<(), Error> {
        if csrcs.len() > MAX_CSRCS {
            return Err(Error::TooManyCsrcs(csrcs.len()));
        }
        self.csrcs = csrcs.to_vec();
        Ok(())
    }

    /// Sets the typed extension `T` under the id `map` gives it.
    pub fn set_extension<T: Extension>(
        &mut self,
        map: &ExtensionMap,
        value: &T,
    ) -> Result<(), Error> {
        let id = map
            .id(T::KIND)
            .ok_or(Error::UnmappedExtension(T::KIND.uri()))?;
        let mut v = Vec::with_capacity(value.encoded_len());
        value.encode(&mut v);
        self.extensions.set(id, Bytes::from(v))
    }

    /// The encoded length of the header (fixed part, CSRCs, extension block).
    pub fn encoded_len(&self) -> usize {
        FIXED_HEADER_LEN + 4 * self.csrcs.len() + self.extensions.encoded_len()
    }

    /// Writes the header; `padding` sets the P bit when non-zero.
    fn encode_with_padding(&self, padding: bool, buf: &mut impl BufMut) {
        let b0 = 0x80
            | if padding { 0x20 } else { 0 }
            | if self.extensions.encoded_len() > 0 { 0x10 } else { 0 }
            // The count is at most 15: set_csrcs is the only way in.
            | (self.csrcs.len() as u8 & 0x0f);
        buf.put_u8(b0);
        buf.put_u8(if self.marker { 0x80 } else { 0 } | self.payload_type.get());
        buf.put_u16(self.sequence.0);
        buf.put_u32(self.timestamp.0);
        buf.put_u32(self.ssrc.0);
        for c in &self.csrcs {
            buf.put_u32(c.0);
        }
        self.extensions.encode(buf);
    }
}

/// An owned RTP packet: a [`Header`], a payload and padding.
///
/// ```
/// use bytes::Bytes;
/// use weft_rtp::{Header, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp};
/// let header = Header::new(PayloadType::new(111).unwrap(), SeqNum::from(7), Timestamp::from(960), Ssrc(1));
/// let p = PacketBuf::new(header, Bytes::from_static(b"opus"));
/// let mut wire = Vec::new();
/// p.encode(&mut wire);
/// assert_eq!(wire.len(), p.encoded_len());
/// assert_eq!(PacketBuf::decode(&wire).unwrap(), p);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketBuf {
    /// The header.
    pub header: Header,
    /// The payload, without padding.
    pub payload: Bytes,
    padding: u8,
}

impl PacketBuf {
    /// A packet without padding.
    pub fn new(header: Header, payload: Bytes) -> Self {
        PacketBuf {
            header,
            payload,
            padding: 0,
        }
    }

    /// Decodes and copies a packet (see [`Packet::decode`]).
    pub fn decode(bytes: &[u8]) -> Result<PacketBuf, ParseError> {
        Ok(Packet::decode(bytes)?.to_owned())
    }

    /// Decodes a packet and slices its payload out of `bytes` without copying it.
    pub fn decode_bytes(bytes: &Bytes) -> Result<PacketBuf, ParseError> {
        let view = Packet::decode(bytes)?;
        let start = view.header_len;
        let payload = bytes.slice(start..start + view.payload.len());
        let mut owned = view.to_owned();
        owned.payload = payload;
        Ok(owned)
    }

    /// The padding length (count byte included); 0 means no P bit.
    pub fn padding(&self) -> u8 {
        self.padding
    }

    /// Sets the padding length, count byte included (0 for none). The padding bytes are zeros
    /// followed by the count (RFC 3550 §5.1).
    pub fn set_padding(&mut self, padding: u8) {
        self.padding = padding;
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len() + self.payload.len() + usize::from(self.padding)
    }

    /// Appends the packet to `buf`.
    pub fn encode(&self, buf: &mut impl BufMut) {
        self.header.encode_with_padding(self.padding > 0, buf);
        buf.put_slice(&self.payload);
        if self.padding > 0 {
            buf.put_bytes(0, usize::from(self.padding) - 1);
            buf.put_u8(self.padding);
        }
    }

    /// The packet as bytes.
    pub fn to_bytes(&self) -> Bytes {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        Bytes::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::{AudioLevel, ExtensionKind};

    fn header() -> Header {
        Header::new(
            PayloadType::new(96).unwrap(),
            SeqNum::from(0x1234),
            Timestamp::from(0xdead_beef),
            Ssrc(0x0102_0304),
        )
    }

    #[test]
    fn decodes_minimal_header() {
        let b = [0x80, 0x60, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4];
        let p = Packet::decode(&b).unwrap();
        assert!(!p.marker);
        assert_eq!(p.payload_type.get(), 96);
        assert_eq!(p.sequence.0, 0x1234);
        assert_eq!(p.timestamp.0, 0xdead_beef);
        assert_eq!(p.ssrc, Ssrc(0x0102_0304));
        assert!(p.payload.is_empty());
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.to_owned(), PacketBuf::new(header(), Bytes::new()));
    }

    #[test]
    fn rejects_wrong_version_and_short_header() {
        let b = [0x40, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            Packet::decode(&b).unwrap_err().kind,
            ParseErrorKind::BadVersion
        );
        assert_eq!(
            Packet::decode(&[0x80, 0x60, 0, 0]).unwrap_err(),
            ParseError::new(ParseErrorKind::Truncated, 4)
        );
    }

    #[test]
    fn csrcs_round_trip_and_truncation() {
        let mut h = header();
        h.set_csrcs(&[Ssrc(1), Ssrc(2), Ssrc(3)]).unwrap();
        let p = PacketBuf::new(h, Bytes::from_static(b"xyz"));
        let wire = p.to_bytes();
        assert_eq!(wire[0] & 0x0f, 3);
        let v = Packet::decode(&wire).unwrap();
        assert_eq!(v.csrcs().collect::<Vec<_>>(), [Ssrc(1), Ssrc(2), Ssrc(3)]);
        assert_eq!(v.payload, b"xyz");
        // CC says 3 but only 2 CSRCs are there.
        let err = Packet::decode(&wire[..20]).unwrap_err();
        assert_eq!(err, ParseError::new(ParseErrorKind::Truncated, 12));
        assert_eq!(
            header().set_csrcs(&[Ssrc(0); 16]),
            Err(Error::TooManyCsrcs(16))
        );
    }

    #[test]
    fn padding_is_stripped_and_checked() {
        let mut p = PacketBuf::new(header(), Bytes::from_static(b"abcd"));
        p.set_padding(4);
        let wire = p.to_bytes();
        assert_eq!(&wire[wire.len() - 4..], &[0, 0, 0, 4]);
        assert_eq!(wire[0] & 0x20, 0x20);
        let v = Packet::decode(&wire).unwrap();
        assert_eq!(v.payload, b"abcd");
        assert_eq!(v.padding, 4);
        assert_eq!(PacketBuf::decode(&wire).unwrap(), p);

        // Padding longer than the payload.
        let mut bad = wire.to_vec();
        *bad.last_mut().unwrap() = 9;
        assert_eq!(
            Packet::decode(&bad).unwrap_err().kind,
            ParseErrorKind::BadPadding
        );
        // A zero count.
        *bad.last_mut().unwrap() = 0;
        assert_eq!(
            Packet::decode(&bad).unwrap_err().kind,
            ParseErrorKind::BadPadding
        );
        // P bit with no byte after the header.
        let mut empty = wire[..12].to_vec();
        empty[0] |= 0x20;
        assert_eq!(
            Packet::decode(&empty).unwrap_err().kind,
            ParseErrorKind::BadPadding
        );
        // Padding that takes the whole payload is allowed.
        let mut all = wire[..12].to_vec();
        all.extend_from_slice(&[0, 0, 3]);
        let v = Packet::decode(&all).unwrap();
        assert!(v.payload.is_empty());
        assert_eq!(v.padding, 3);
    }

    #[test]
    fn decode_bytes_slices_the_payload() {
        let p = PacketBuf::new(header(), Bytes::from_static(b"payload"));
        let wire = p.to_bytes();
        let owned = PacketBuf::decode_bytes(&wire).unwrap();
        assert_eq!(owned, p);
        assert_eq!(owned.payload.as_ptr(), wire[12..].as_ptr());
    }

    #[test]
    fn typed_extension_through_the_map() {
        let mut map = ExtensionMap::new();
        map.insert(1, ExtensionKind::AudioLevel).unwrap();
        let mut h = header();
        let level = AudioLevel {
            voice: true,
            level: 42,
        };
        h.set_extension(&map, &level).unwrap();
        let wire = PacketBuf::new(h, Bytes::from_static(b"a")).to_bytes();
        // RFC 8285 §4.2 one-byte form: 0xBEDE, one word, id 1 len 0 (one byte), value, padding.
        assert_eq!(&wire[12..20], &[0xbe, 0xde, 0, 1, 0x10, 0x80 | 42, 0, 0]);
        let v = Packet::decode(&wire).unwrap();
        assert_eq!(v.extension::<AudioLevel>(&map), Some(Ok(level)));
        let empty = ExtensionMap::new();
        assert_eq!(v.extension::<AudioLevel>(&empty), None);
        assert_eq!(
            header().set_extension(&empty, &level),
            Err(Error::UnmappedExtension(ExtensionKind::AudioLevel.uri()))
        );
    }
}
