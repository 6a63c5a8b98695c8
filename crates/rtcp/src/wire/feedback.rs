//! RTP/AVPF feedback (RFC 4585 §6): generic NACK, PLI, SLI; FIR (RFC 5104 §4.3.1); REMB
//! (draft-alvestrand-rmcat-remb-03).

use bytes::BufMut;

use super::reader::Reader;
use super::{Body, PT_PSFB, PT_RTPFB, check_count};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::{SeqNum, Ssrc};

/// The largest feedback body: the length field minus the two SSRCs.
const MAX_FCI_ENTRIES_BYTES: usize = 0xFFFF * 4 - 8;

fn decode_ssrcs(r: &mut Reader<'_>) -> Result<(Ssrc, Ssrc), ParseError> {
    Ok((Ssrc(r.u32()?), Ssrc(r.u32()?)))
}

fn check_fci(what: &'static str, entries: usize, entry_len: usize) -> Result<(), Error> {
    check_count(what, entries, MAX_FCI_ENTRIES_BYTES / entry_len)
}

/// One generic NACK entry (RFC 4585 §6.2.1): a lost packet and a bitmask of the 16 after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NackPair {
    /// The packet ID: a lost RTP sequence number.
    pub pid: SeqNum,
    /// Bitmask of following lost packets: bit `i` (least significant first) means
    /// `pid + i + 1` is lost as well.
    pub blp: u16,
}

impl NackPair {
    /// The sequence numbers this entry reports lost, in order.
    pub fn lost(self) -> impl Iterator<Item = SeqNum> {
        std::iter::once(self.pid).chain(
            (0..16u16)
                .filter(move |i| self.blp & (1 << i) != 0)
                .map(move |i| self.pid + (i + 1)),
        )
    }
}

/// A generic NACK (RFC 4585 §6.2.1): RTPFB with FMT 1.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nack {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The SSRC of the media source whose packets were lost.
    pub media_ssrc: Ssrc,
    /// The NACK entries.
    pub pairs: Vec<NackPair>,
}

impl Nack {
    pub(crate) const FMT: u8 = 1;

    /// Builds a NACK for a list of lost sequence numbers, packing each run of up to 17
    /// numbers into one entry. Give them in increasing (wrapping) order for the fewest
    /// entries; duplicates are dropped.
    pub fn from_lost(
        sender_ssrc: Ssrc,
        media_ssrc: Ssrc,
        lost: impl IntoIterator<Item = SeqNum>,
    ) -> Nack {
        let mut pairs: Vec<NackPair> = Vec::new();
        for seq in lost {
            if let Some(last) = pairs.last_mut() {
                let d = seq.0.wrapping_sub(last.pid.0);
                if d == 0 {
                    continue;
                }
                if (1..=16).contains(&d) {
                    last.blp |= 1 << (d - 1);
                    continue;
                }
            }
            pairs.push(NackPair { pid: seq, blp: 0 });
        }
        Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        }
    }

    /// Every sequence number reported lost, entry by entry.
    pub fn lost(&self) -> impl Iterator<Item = SeqNum> + '_ {
        self.pairs.iter().flat_map(|p| p.lost())
    }

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let (sender_ssrc, media_ssrc) = decode_ssrcs(&mut r)?;
        if !r.remaining().is_multiple_of(4) {
            return Err(r.err(ParseErrorKind::BadLength));
        }
        let mut pairs = Vec::with_capacity(r.remaining() / 4);
        while !r.is_empty() {
            pairs.push(NackPair {
                pid: SeqNum(r.u16()?),
                blp: r.u16()?,
            });
        }
        Ok(Nack {
            sender_ssrc,
            media_ssrc,
            pairs,
        })
    }
}

impl Body for Nack {
    fn packet_type(&self) -> u8 {
        PT_RTPFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        8 + 4 * self.pairs.len()
    }
    fn validate(&self) -> Result<(), Error> {
        check_fci("NACK entries", self.pairs.len(), 4)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        for p in &self.pairs {
            out.put_u16(p.pid.0);
            out.put_u16(p.blp);
        }
    }
}

/// A picture loss indication (RFC 4585 §6.3.1): PSFB with FMT 1 and no FCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Pli {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The SSRC of the media source that needs a new picture.
    pub media_ssrc: Ssrc,
}

impl Pli {
    pub(crate) const FMT: u8 = 1;

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let (sender_ssrc, media_ssrc) = decode_ssrcs(&mut r)?;
        // RFC 4585 §6.3.1: PLI carries no FCI.
        r.finish()?;
        Ok(Pli {
            sender_ssrc,
            media_ssrc,
        })
    }
}

impl Body for Pli {
    fn packet_type(&self) -> u8 {
        PT_PSFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        8
    }
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
    }
}

/// One slice loss entry (RFC 4585 §6.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SliEntry {
    /// The first lost macroblock (13 bits).
    pub first: u16,
    /// The number of lost macroblocks (13 bits).
    pub number: u16,
    /// The six least significant bits of the picture ID.
    pub picture_id: u8,
}

/// A slice loss indication (RFC 4585 §6.3.2): PSFB with FMT 2.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sli {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The SSRC of the media source.
    pub media_ssrc: Ssrc,
    /// The lost slices.
    pub entries: Vec<SliEntry>,
}

impl Sli {
    pub(crate) const FMT: u8 = 2;

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let (sender_ssrc, media_ssrc) = decode_ssrcs(&mut r)?;
        if !r.remaining().is_multiple_of(4) {
            return Err(r.err(ParseErrorKind::BadLength));
        }
        let mut entries = Vec::with_capacity(r.remaining() / 4);
        while !r.is_empty() {
            let v = r.u32()?;
            entries.push(SliEntry {
                first: (v >> 19) as u16,
                number: ((v >> 6) & 0x1FFF) as u16,
                picture_id: (v & 0x3F) as u8,
            });
        }
        Ok(Sli {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }
}

impl Body for Sli {
    fn packet_type(&self) -> u8 {
        PT_PSFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        8 + 4 * self.entries.len()
    }
    fn validate(&self) -> Result<(), Error> {
        check_fci("SLI entries", self.entries.len(), 4)?;
        for e in &self.entries {
            if e.first > 0x1FFF || e.number > 0x1FFF || e.picture_id > 0x3F {
                return Err(Error::OutOfRange { what: "SLI field" });
            }
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        for e in &self.entries {
            out.put_u32(
                (u32::from(e.first) << 19) | (u32::from(e.number) << 6) | u32::from(e.picture_id),
            );
        }
    }
}

/// One full intra request entry (RFC 5104 §4.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh point.
    pub ssrc: Ssrc,
    /// The command sequence number; a repeated request keeps the number.
    pub seq_nr: u8,
}

/// A full intra request (RFC 5104 §4.3.1): PSFB with FMT 4.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fir {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The header's media source field, which RFC 5104 §4.3.1.2 says to set to 0.
    pub media_ssrc: Ssrc,
    /// The requests, one per media sender.
    pub entries: Vec<FirEntry>,
}

impl Fir {
    pub(crate) const FMT: u8 = 4;

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let (sender_ssrc, media_ssrc) = decode_ssrcs(&mut r)?;
        if !r.remaining().is_multiple_of(8) {
            return Err(r.err(ParseErrorKind::BadLength));
        }
        let mut entries = Vec::with_capacity(r.remaining() / 8);
        while !r.is_empty() {
            let ssrc = Ssrc(r.u32()?);
            let seq_nr = r.u8()?;
            // 24 reserved bits, ignored on receipt.
            r.take(3)?;
            entries.push(FirEntry { ssrc, seq_nr });
        }
        Ok(Fir {
            sender_ssrc,
            media_ssrc,
            entries,
        })
    }
}

impl Body for Fir {
    fn packet_type(&self) -> u8 {
        PT_PSFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        8 + 8 * self.entries.len()
    }
    fn validate(&self) -> Result<(), Error> {
        check_fci("FIR entries", self.entries.len(), 8)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        for e in &self.entries {
            out.put_u32(e.ssrc.0);
            out.put_u8(e.seq_nr);
            out.put_bytes(0, 3);
        }
    }
}

/// A receiver estimated maximum bitrate message (draft-alvestrand-rmcat-remb-03 §2.2):
/// PSFB with FMT 15 and the identifier "REMB".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Remb {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The header's media source field, which the draft says to set to 0.
    pub media_ssrc: Ssrc,
    /// The estimate in bits per second. On the wire it is an 18-bit mantissa shifted by a
    /// 6-bit exponent, so encoding rounds it down to 18 significant bits.
    pub bitrate: u64,
    /// The media sources the estimate applies to (at most 255).
    pub ssrcs: Vec<Ssrc>,
}

impl Remb {
    pub(crate) const FMT: u8 = 15;
    const ID: &'static [u8; 4] = b"REMB";

    /// Whether a PSFB FMT 15 body is a REMB (application-layer feedback is told apart by its
    /// four-byte identifier).
    pub(crate) fn is_remb(body: &[u8]) -> bool {
        body.get(8..12) == Some(&Self::ID[..])
    }

    /// The exponent and mantissa `bitrate` is sent as: the mantissa keeps the top 18
    /// significant bits.
    pub fn exponent_mantissa(bitrate: u64) -> (u8, u32) {
        let bits = 64 - bitrate.leading_zeros();
        let exp = bits.saturating_sub(18);
        // exp <= 46 and the shifted value has at most 18 bits.
        (exp as u8, (bitrate >> exp) as u32)
    }

    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let (sender_ssrc, media_ssrc) = decode_ssrcs(&mut r)?;
        r.take(4)?; // "REMB", checked by the caller
        let num = r.u8()?;
        let at = r.offset();
        let v = r.u24()?;
        let exp = v >> 18;
        let mantissa = u64::from(v & 0x3_FFFF);
        let bitrate = mantissa << exp;
        if bitrate >> exp != mantissa {
            return Err(ParseError::new(ParseErrorKind::BadValue, at));
        }
        let mut ssrcs = Vec::with_capacity(usize::from(num));
        for _ in 0..num {
            ssrcs.push(Ssrc(r.u32()?));
        }
        r.finish()?;
        Ok(Remb {
            sender_ssrc,
            media_ssrc,
            bitrate,
            ssrcs,
        })
    }
}

impl Body for Remb {
    fn packet_type(&self) -> u8 {
        PT_PSFB
    }
    fn count(&self) -> u8 {
        Self::FMT
    }
    fn body_len(&self) -> usize {
        16 + 4 * self.ssrcs.len()
    }
    fn validate(&self) -> Result<(), Error> {
        check_count("REMB SSRCs", self.ssrcs.len(), 255)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        out.put_u32(self.media_ssrc.0);
        out.put_slice(Self::ID);
        // validate() keeps the list within 255.
        out.put_u8(self.ssrcs.len() as u8);
        let (exp, mantissa) = Self::exponent_mantissa(self.bitrate);
        let v = (u32::from(exp) << 18) | mantissa;
        out.put_slice(&v.to_be_bytes()[1..]);
        for s in &self.ssrcs {
            out.put_u32(s.0);
        }
    }
}
