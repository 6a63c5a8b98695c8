//! The AV1 payload format (AOM "RTP Payload Format For AV1", v1.0.0 §4): the aggregation
//! header (Z, Y, W, N bits), OBU elements without size fields, and fragmentation of OBUs
//! across packets.
//!
//! Frames come in and go out as temporal units in the low-overhead bitstream format (every
//! OBU with `obu_has_size_field` set), as IVF files and decoders use them. The packetizer
//! drops temporal delimiters, tile lists and padding OBUs (§5: they are not sent).

use bytes::Bytes;

use crate::codec::{Depacketizer, Packetizer};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::{Reader, leb128_len, write_leb128};

/// OBU type of a sequence header.
pub const OBU_SEQUENCE_HEADER: u8 = 1;
/// OBU type of a temporal delimiter.
pub const OBU_TEMPORAL_DELIMITER: u8 = 2;
/// OBU type of a frame header.
pub const OBU_FRAME_HEADER: u8 = 3;
/// OBU type of a frame (header and tile group).
pub const OBU_FRAME: u8 = 6;
/// OBU type of a tile list.
pub const OBU_TILE_LIST: u8 = 8;
/// OBU type of padding.
pub const OBU_PADDING: u8 = 15;

/// The default limit on one reassembled OBU.
pub const DEFAULT_MAX_OBU: usize = 4 << 20;

/// The aggregation header (AOM AV1 RTP §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AggregationHeader {
    /// Z: the first OBU element continues an OBU fragment of the previous packet.
    pub continuation: bool,
    /// Y: the last OBU element continues in the next packet.
    pub continues: bool,
    /// W: the number of OBU elements (1..=3, the last without a length field), or 0 when
    /// every element has a length field.
    pub element_count: u8,
    /// N: the packet is the first of a coded video sequence.
    pub new_sequence: bool,
}

impl AggregationHeader {
    /// Decodes the header byte.
    pub fn from_byte(b: u8) -> Self {
        AggregationHeader {
            continuation: b & 0x80 != 0,
            continues: b & 0x40 != 0,
            element_count: (b >> 4) & 0x03,
            new_sequence: b & 0x08 != 0,
        }
    }

    /// The header byte.
    pub fn to_byte(self) -> u8 {
        (if self.continuation { 0x80 } else { 0 })
            | if self.continues { 0x40 } else { 0 }
            | (self.element_count & 0x03) << 4
            | if self.new_sequence { 0x08 } else { 0 }
    }
}

/// One OBU of a temporal unit: header byte(s) and payload, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Obu<'a> {
    /// The OBU type.
    pub obu_type: u8,
    /// The extension byte (temporal and spatial id), if present.
    pub extension: Option<u8>,
    /// The payload.
    pub payload: &'a [u8],
}

impl Obu<'_> {
    /// Writes the OBU in the low-overhead format (with a size field).
    pub fn write_sized(&self, out: &mut Vec<u8>) {
        out.push(self.obu_type << 3 | if self.extension.is_some() { 0x04 } else { 0 } | 0x02);
        if let Some(e) = self.extension {
            out.push(e);
        }
        write_leb128(out, self.payload.len() as u64);
        out.extend_from_slice(self.payload);
    }

    /// Writes the OBU as an RTP OBU element: without a size field (AOM AV1 RTP §4.3).
    fn write_element(&self, out: &mut Vec<u8>) {
        out.push(self.obu_type << 3 | if self.extension.is_some() { 0x04 } else { 0 });
        if let Some(e) = self.extension {
            out.push(e);
        }
        out.extend_from_slice(self.payload);
    }
}

/// Parses one OBU at the start of `data`. Without a size field the OBU runs to the end.
/// Returns the OBU and the bytes it took.
fn parse_obu(data: &[u8], base: usize) -> Result<(Obu<'_>, usize), ParseError> {
    let mut r = Reader::with_base(data, base);
    let h = r.u8()?;
    if h & 0x80 != 0 {
        // AV1 §6.2.1: the forbidden bit must be 0.
        return Err(ParseError::new(ParseErrorKind::BadDescriptor, base));
    }
    let extension = if h & 0x04 != 0 { Some(r.u8()?) } else { None };
    let payload = if h & 0x02 != 0 {
        let size = r.leb128()?;
        let size = usize::try_from(size).map_err(|_| r.err(ParseErrorKind::Truncated))?;
        r.take(size)?
    } else {
        let p = r.rest();
        r.take(p.len())?
    };
    Ok((
        Obu {
            obu_type: (h >> 3) & 0x0f,
            extension,
            payload,
        },
        r.offset() - base,
    ))
}

/// Splits a temporal unit in the low-overhead format into its OBUs.
pub fn parse_temporal_unit(tu: &[u8]) -> Result<Vec<Obu<'_>>, ParseError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < tu.len() {
        let (obu, len) = parse_obu(&tu[pos..], pos)?;
        if tu[pos] & 0x02 == 0 && pos + len < tu.len() {
            // Only the last OBU of a temporal unit may omit its size.
            return Err(ParseError::new(ParseErrorKind::BadDescriptor, pos));
        }
        out.push(obu);
        pos += len;
    }
    Ok(out)
}

/// Whether a temporal unit starts a coded video sequence (holds a sequence header).
pub fn is_keyframe(tu: &[u8]) -> bool {
    parse_temporal_unit(tu).is_ok_and(|obus| obus.iter().any(|o| o.obu_type == OBU_SEQUENCE_HEADER))
}

/// Splits temporal units into RTP payloads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Av1Packetizer;

struct PacketBuilder {
    out: Vec<Bytes>,
    elements: Vec<Vec<u8>>,
    size: usize,
    continuation: bool,
    new_sequence: bool,
}

impl PacketBuilder {
    fn finish(&mut self, continues: bool) {
        if self.elements.is_empty() {
            return;
        }
        let n = self.elements.len();
        let w = if n <= 3 { n as u8 } else { 0 };
        let h = AggregationHeader {
            continuation: self.continuation,
            continues,
            element_count: w,
            new_sequence: self.new_sequence,
        };
        let mut p = Vec::with_capacity(self.size);
        p.push(h.to_byte());
        for (i, e) in self.elements.iter().enumerate() {
            // With W set, the last element has no length field.
            if w == 0 || i + 1 < n {
                write_leb128(&mut p, e.len() as u64);
            }
            p.extend_from_slice(e);
        }
        self.out.push(Bytes::from(p));
        self.elements.clear();
        self.size = 1;
        self.continuation = continues;
        self.new_sequence = false;
    }
}

impl Packetizer for Av1Packetizer {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        if max_payload < 3 {
            return Err(Error::MtuTooSmall(max_payload));
        }
        let obus = parse_temporal_unit(frame)?;
        let mut b = PacketBuilder {
            out: Vec::new(),
            elements: Vec::new(),
            size: 1,
            continuation: false,
            new_sequence: obus.iter().any(|o| o.obu_type == OBU_SEQUENCE_HEADER),
        };
        for obu in obus.iter().filter(|o| {
            !matches!(
                o.obu_type,
                OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST | OBU_PADDING
            )
        }) {
            let mut e = Vec::with_capacity(2 + obu.payload.len());
            obu.write_element(&mut e);
            let mut rest: &[u8] = &e;
            while !rest.is_empty() {
                let room = max_payload - b.size;
                if leb128_len(rest.len() as u64) + rest.len() <= room {
                    b.size += leb128_len(rest.len() as u64) + rest.len();
                    b.elements.push(rest.to_vec());
                    break;
                }
                // Fragment: as much as fits with its length field (AOM AV1 RTP §4.3).
                let take = room.saturating_sub(leb128_len(room as u64));
                if take == 0 {
                    b.finish(false);
                    continue;
                }
                b.elements.push(rest[..take].to_vec());
                rest = &rest[take..];
                b.finish(true);
            }
        }
        b.finish(false);
        if b.out.is_empty() {
            return Err(Error::BadFrame("no OBU to send in the temporal unit"));
        }
        Ok(b.out)
    }
}

/// Turns AV1 payloads back into a temporal unit in the low-overhead format.
#[derive(Debug, Clone)]
pub struct Av1Depacketizer {
    fragment: Option<Vec<u8>>,
    max_obu: usize,
}

impl Default for Av1Depacketizer {
    fn default() -> Self {
        Av1Depacketizer {
            fragment: None,
            max_obu: DEFAULT_MAX_OBU,
        }
    }
}

impl Av1Depacketizer {
    /// A depacketizer with the [`DEFAULT_MAX_OBU`] limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limit on one reassembled OBU.
    pub fn with_max_obu(mut self, max: usize) -> Self {
        self.max_obu = max;
        self
    }

    fn emit(element: &[u8], base: usize, frame: &mut Vec<u8>) -> Result<(), ParseError> {
        let (obu, used) = parse_obu(element, base)?;
        if used != element.len() {
            // A size field inside the element that disagrees with the element's length.
            return Err(ParseError::new(ParseErrorKind::BadAggregation, base));
        }
        if !matches!(obu.obu_type, OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST) {
            obu.write_sized(frame);
        }
        Ok(())
    }
}

impl Depacketizer for Av1Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        let mut r = Reader::new(payload);
        let Ok(h) = r.u8() else {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        };
        let h = AggregationHeader::from_byte(h);
        // Split into elements first so a malformed packet changes nothing.
        let mut elements: Vec<(usize, &[u8])> = Vec::new();
        let w = usize::from(h.element_count);
        while !r.is_empty() {
            let at = r.offset();
            let last_unsized = w != 0 && elements.len() + 1 == w;
            let len = if last_unsized {
                r.remaining()
            } else {
                let l = r
                    .leb128()
                    .map_err(|_| ParseError::new(ParseErrorKind::BadAggregation, at))?;
                usize::try_from(l)
                    .map_err(|_| ParseError::new(ParseErrorKind::BadAggregation, at))?
            };
            let start = r.offset();
            let e = r
                .take(len)
                .map_err(|_| ParseError::new(ParseErrorKind::BadAggregation, at))?;
            elements.push((start, e));
        }
        if elements.is_empty() || (w != 0 && elements.len() != w) {
            return Err(ParseError::new(ParseErrorKind::BadAggregation, 0));
        }
        if h.continuation && self.fragment.is_none() {
            return Err(ParseError::new(ParseErrorKind::MissingStart, 0));
        }
        if !h.continuation {
            // A fragment whose continuation was lost.
            self.fragment = None;
        }
        let n = elements.len();
        for (i, (base, e)) in elements.into_iter().enumerate() {
            let mut whole: Option<Vec<u8>> = None;
            if i == 0 && h.continuation {
                let mut f = self.fragment.take().unwrap_or_default();
                if f.len() + e.len() > self.max_obu {
                    return Err(ParseError::new(ParseErrorKind::TooLarge, base));
                }
                f.extend_from_slice(e);
                whole = Some(f);
            }
            if i + 1 == n && h.continues {
                let f = whole.unwrap_or_else(|| e.to_vec());
                if f.len() > self.max_obu {
                    return Err(ParseError::new(ParseErrorKind::TooLarge, base));
                }
                self.fragment = Some(f);
                break;
            }
            match whole {
                Some(w) => Self::emit(&w, base, frame)?,
                None => Self::emit(e, base, frame)?,
            }
        }
        Ok(())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        payload.first().is_some_and(|b| b & 0x80 == 0)
    }

    fn reset(&mut self) {
        self.fragment = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obu(t: u8, ext: Option<u8>, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        Obu {
            obu_type: t,
            extension: ext,
            payload,
        }
        .write_sized(&mut v);
        v
    }

    fn tu(big: usize) -> (Vec<u8>, Vec<u8>) {
        let td = obu(OBU_TEMPORAL_DELIMITER, None, &[]);
        let seq = obu(OBU_SEQUENCE_HEADER, None, &[0, 0, 0, 0x42, 0xab]);
        let frame_payload: Vec<u8> = (0..big).map(|i| (i * 13) as u8).collect();
        let fr = obu(OBU_FRAME, Some(0x08), &frame_payload);
        let mut with_td = td.clone();
        with_td.extend_from_slice(&seq);
        with_td.extend_from_slice(&fr);
        let mut without = seq;
        without.extend_from_slice(&fr);
        (with_td, without)
    }

    #[test]
    fn small_temporal_unit_in_one_packet_with_w() {
        let (input, expected) = tu(20);
        let p = Av1Packetizer.packetize(&input, 1200).unwrap();
        assert_eq!(p.len(), 1);
        let h = AggregationHeader::from_byte(p[0][0]);
        // Two elements (sequence header, frame), the last without a length; N set.
        assert_eq!(
            h,
            AggregationHeader {
                continuation: false,
                continues: false,
                element_count: 2,
                new_sequence: true
            }
        );
        // The first element: length 6, then the OBU header without the size bit.
        assert_eq!(&p[0][1..3], &[6, OBU_SEQUENCE_HEADER << 3]);
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        d.depacketize(&p[0], &mut out).unwrap();
        assert_eq!(out, expected);
        assert!(is_keyframe(&out));
    }

    #[test]
    fn large_obu_is_fragmented_with_z_and_y() {
        let (input, expected) = tu(5000);
        let p = Av1Packetizer.packetize(&input, 1000).unwrap();
        assert!(p.len() >= 6);
        assert!(p.iter().all(|x| x.len() <= 1000));
        let hs: Vec<_> = p
            .iter()
            .map(|x| AggregationHeader::from_byte(x[0]))
            .collect();
        assert!(!hs[0].continuation && hs[0].continues && hs[0].new_sequence);
        assert!(hs[1].continuation && hs[1].continues && !hs[1].new_sequence);
        let last = hs.last().unwrap();
        assert!(last.continuation && !last.continues);
        let mut d = Av1Depacketizer::new();
        assert!(d.is_frame_start(&p[0]) && !d.is_frame_start(&p[1]));
        let mut out = Vec::new();
        for x in &p {
            d.depacketize(x, &mut out).unwrap();
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn w_zero_with_many_elements() {
        let mut input = Vec::new();
        for i in 0..6u8 {
            input.extend(obu(5, None, &[i; 10]));
        }
        let p = Av1Packetizer.packetize(&input, 1200).unwrap();
        assert_eq!(AggregationHeader::from_byte(p[0][0]).element_count, 0);
        let mut out = Vec::new();
        Av1Depacketizer::new().depacketize(&p[0], &mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn malformed_and_lost_fragments() {
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        // Z set with nothing to continue.
        assert_eq!(
            d.depacketize(&[0x90, 0x30, 1], &mut out).unwrap_err().kind,
            ParseErrorKind::MissingStart
        );
        // W = 2 but the first element's length runs past the end.
        assert_eq!(
            d.depacketize(&[0x20, 9, 0x30], &mut out).unwrap_err().kind,
            ParseErrorKind::BadAggregation
        );
        // W = 3 but only two elements.
        assert_eq!(
            d.depacketize(&[0x30, 1, 0x30, 0x30], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::BadAggregation
        );
        // The forbidden bit.
        assert_eq!(
            d.depacketize(&[0x10, 0x80], &mut out).unwrap_err().kind,
            ParseErrorKind::BadDescriptor
        );
        assert!(out.is_empty());
        // A fragment followed by a packet that is not its continuation: the fragment is lost.
        d.depacketize(&[0x50, 0x30, 1, 2], &mut out).unwrap();
        d.depacketize(&[0x10, 0x28, 7], &mut out).unwrap();
        assert_eq!(out, obu(5, None, &[7]));
        let big = Av1Depacketizer::new().with_max_obu(4);
        let mut big = big;
        assert_eq!(
            big.depacketize(&[0x50, 0x30, 1, 2, 3, 4, 5], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::TooLarge
        );
    }
}
