//! The H.264 payload format (RFC 6184): single NAL unit packets, STAP-A aggregation and FU-A
//! fragmentation, packetization modes 0 and 1, and SPS/PPS repetition before IDR pictures.
//!
//! Frames come in and go out as Annex B byte streams (start code before each NAL unit).
//! Packetization mode 2 (interleaved: STAP-B, MTAP, FU-B) is not implemented; its packets
//! decode to [`ParseErrorKind::UnsupportedType`].

use bytes::{BufMut, Bytes};

use crate::codec::{Depacketizer, Packetizer, START_CODE, split_annex_b};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::Reader;

/// NAL unit type of a coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// NAL unit type of a sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// NAL unit type of a picture parameter set.
pub const NAL_PPS: u8 = 8;
/// NAL unit type of an access unit delimiter.
pub const NAL_AUD: u8 = 9;
/// NAL unit type of filler data.
pub const NAL_FILLER: u8 = 12;
/// Packet type of a STAP-A (RFC 6184 §5.7.1).
pub const STAP_A: u8 = 24;
/// Packet type of an FU-A (RFC 6184 §5.8).
pub const FU_A: u8 = 28;

/// The default limit on one reassembled NAL unit.
pub const DEFAULT_MAX_UNIT: usize = 4 << 20;

/// The NAL unit type in the low five bits of a NAL header byte.
pub fn nal_type(header: u8) -> u8 {
    header & 0x1f
}

/// Whether an Annex B access unit holds an IDR slice (a key frame).
pub fn is_keyframe(access_unit: &[u8]) -> bool {
    split_annex_b(access_unit)
        .iter()
        .any(|n| nal_type(n[0]) == NAL_IDR)
}

/// The `packetization-mode` of RFC 6184 §6.2 this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PacketizationMode {
    /// Mode 0: one NAL unit per packet, no aggregation or fragmentation.
    SingleNal,
    /// Mode 1: single NAL units, STAP-A and FU-A, in decoding order.
    #[default]
    NonInterleaved,
}

/// Splits Annex B access units into RTP payloads.
#[derive(Debug, Clone, Default)]
pub struct H264Packetizer {
    mode: PacketizationMode,
    repeat_parameter_sets: bool,
    sps: Option<Bytes>,
    pps: Option<Bytes>,
}

impl H264Packetizer {
    /// A packetizer for `mode`. Access unit delimiters and filler data are dropped (RFC 6184
    /// leaves them to the sender; receivers do not need them).
    pub fn new(mode: PacketizationMode) -> Self {
        H264Packetizer {
            mode,
            ..Default::default()
        }
    }

    /// Also sends the last SPS and PPS seen before an IDR picture that comes without them, so
    /// that a receiver joining late can decode from any key frame.
    pub fn repeat_parameter_sets(mut self, on: bool) -> Self {
        self.repeat_parameter_sets = on;
        self
    }
}

impl Packetizer for H264Packetizer {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        let units: Vec<&[u8]> = split_annex_b(frame)
            .into_iter()
            .filter(|n| !matches!(nal_type(n[0]), NAL_AUD | NAL_FILLER))
            .collect();
        if units.is_empty() {
            return Err(Error::BadFrame("no NAL unit in the access unit"));
        }
        if units.iter().any(|n| !(1..=23).contains(&nal_type(n[0]))) {
            // Types 0 and 24..=31 would be read as aggregation or fragmentation packets.
            return Err(Error::BadFrame("NAL unit type outside 1..=23"));
        }
        let has = |t: u8| units.iter().any(|n| nal_type(n[0]) == t);
        let (has_sps, has_pps) = (has(NAL_SPS), has(NAL_PPS));
        // Parameter sets remembered from earlier access units, put in front of the first IDR
        // slice of one that lacks them.
        let stored = match (&self.sps, &self.pps) {
            (Some(s), Some(p)) if self.repeat_parameter_sets && !(has_sps && has_pps) => {
                Some((s.clone(), p.clone()))
            }
            _ => None,
        };
        let mut all: Vec<&[u8]> = Vec::with_capacity(units.len() + 2);
        let mut inserted = false;
        for u in &units {
            if nal_type(u[0]) == NAL_IDR
                && !inserted
                && let Some((s, p)) = &stored
            {
                all.push(s);
                all.push(p);
                inserted = true;
            }
            all.push(u);
        }
        for u in &units {
            match nal_type(u[0]) {
                NAL_SPS => self.sps = Some(Bytes::copy_from_slice(u)),
                NAL_PPS => self.pps = Some(Bytes::copy_from_slice(u)),
                _ => {}
            }
        }
        match self.mode {
            PacketizationMode::SingleNal => all
                .iter()
                .map(|u| {
                    if u.len() > max_payload {
                        Err(Error::FrameTooLarge {
                            len: u.len(),
                            mtu: max_payload,
                        })
                    } else {
                        Ok(Bytes::copy_from_slice(u))
                    }
                })
                .collect(),
            PacketizationMode::NonInterleaved => non_interleaved(&all, max_payload),
        }
    }
}

fn non_interleaved(units: &[&[u8]], max_payload: usize) -> Result<Vec<Bytes>, Error> {
    if max_payload < 3 {
        return Err(Error::MtuTooSmall(max_payload));
    }
    // STAP-A sizes are 16 bits: no payload beyond 64 KiB.
    let max_payload = max_payload.min(usize::from(u16::MAX));
    let mut out = Vec::new();
    let mut pending: Vec<&[u8]> = Vec::new();
    let mut pending_len = 1; // the STAP-A header
    for u in units {
        if u.len() > max_payload {
            flush_stap(&mut pending, &mut out);
            pending_len = 1;
            fragment(u, max_payload, &mut out);
            continue;
        }
        if !pending.is_empty() && pending_len + 2 + u.len() > max_payload {
            flush_stap(&mut pending, &mut out);
            pending_len = 1;
        }
        pending.push(u);
        pending_len += 2 + u.len();
    }
    flush_stap(&mut pending, &mut out);
    Ok(out)
}

/// Sends the pending units: one as a single NAL unit packet, several as a STAP-A.
fn flush_stap(pending: &mut Vec<&[u8]>, out: &mut Vec<Bytes>) {
    match pending.len() {
        0 => {}
        1 => out.push(Bytes::copy_from_slice(pending[0])),
        _ => {
            // RFC 6184 §5.7.1: F is the OR of the units' F bits, NRI their maximum.
            let f = pending.iter().fold(0, |a, u| a | (u[0] & 0x80));
            let nri = pending.iter().map(|u| u[0] & 0x60).max().unwrap_or(0);
            let mut p = Vec::with_capacity(1 + pending.iter().map(|u| 2 + u.len()).sum::<usize>());
            p.put_u8(f | nri | STAP_A);
            for u in pending.iter() {
                // Units in a STAP-A are at most max_payload bytes, far below 64 KiB in practice;
                // larger ones were fragmented instead.
                p.put_u16(u.len() as u16);
                p.put_slice(u);
            }
            out.push(Bytes::from(p));
        }
    }
    pending.clear();
}

/// RFC 6184 §5.8: FU indicator (F, NRI, type 28) and FU header (S, E, R, type), then the
/// unit's payload without its header byte.
fn fragment(unit: &[u8], max_payload: usize, out: &mut Vec<Bytes>) {
    let indicator = (unit[0] & 0xe0) | FU_A;
    let body = &unit[1..];
    let step = max_payload - 2;
    let n = body.len().div_ceil(step);
    for (i, chunk) in body.chunks(step).enumerate() {
        let mut h = nal_type(unit[0]);
        if i == 0 {
            h |= 0x80;
        }
        if i + 1 == n {
            h |= 0x40;
        }
        let mut p = Vec::with_capacity(2 + chunk.len());
        p.push(indicator);
        p.push(h);
        p.extend_from_slice(chunk);
        out.push(Bytes::from(p));
    }
}

/// Turns H.264 payloads back into an Annex B stream.
#[derive(Debug, Clone)]
pub struct H264Depacketizer {
    fu: Option<Vec<u8>>,
    max_unit: usize,
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        H264Depacketizer {
            fu: None,
            max_unit: DEFAULT_MAX_UNIT,
        }
    }
}

impl H264Depacketizer {
    /// A depacketizer with the [`DEFAULT_MAX_UNIT`] limit on fragmented units.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limit on one reassembled NAL unit.
    pub fn with_max_unit(mut self, max: usize) -> Self {
        self.max_unit = max;
        self
    }
}

impl Depacketizer for H264Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        let mut r = Reader::new(payload);
        let Ok(h) = r.u8() else {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        };
        match nal_type(h) {
            1..=23 => {
                frame.extend_from_slice(&START_CODE);
                frame.extend_from_slice(payload);
                Ok(())
            }
            STAP_A => {
                // RFC 6184 §5.7.1: 16-bit size, then the unit, repeated.
                let mut n = 0;
                let mut units = Vec::new();
                while !r.is_empty() {
                    let at = r.offset();
                    let size = r
                        .u16()
                        .map_err(|_| ParseError::new(ParseErrorKind::BadAggregation, at))?;
                    if size == 0 {
                        return Err(ParseError::new(ParseErrorKind::BadAggregation, at));
                    }
                    let unit = r
                        .take(usize::from(size))
                        .map_err(|_| ParseError::new(ParseErrorKind::BadAggregation, at))?;
                    units.push(unit);
                    n += 1;
                }
                if n == 0 {
                    return Err(ParseError::new(ParseErrorKind::BadAggregation, 1));
                }
                for u in units {
                    frame.extend_from_slice(&START_CODE);
                    frame.extend_from_slice(u);
                }
                Ok(())
            }
            FU_A => {
                let fh = r.u8()?;
                let start = fh & 0x80 != 0;
                let end = fh & 0x40 != 0;
                if start && end {
                    // RFC 6184 §5.8: S and E must not both be set.
                    return Err(ParseError::new(ParseErrorKind::BadDescriptor, 1));
                }
                let body = r.rest();
                if start {
                    let mut unit = Vec::with_capacity(1 + body.len());
                    unit.push((h & 0xe0) | nal_type(fh));
                    unit.extend_from_slice(body);
                    self.fu = Some(unit);
                } else {
                    let Some(unit) = self.fu.as_mut() else {
                        return Err(ParseError::new(ParseErrorKind::MissingStart, 1));
                    };
                    if unit.len() + body.len() > self.max_unit {
                        self.fu = None;
                        return Err(ParseError::new(ParseErrorKind::TooLarge, 2));
                    }
                    unit.extend_from_slice(body);
                }
                if end && let Some(unit) = self.fu.take() {
                    frame.extend_from_slice(&START_CODE);
                    frame.extend_from_slice(&unit);
                }
                Ok(())
            }
            _ => Err(ParseError::new(ParseErrorKind::UnsupportedType, 0)),
        }
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        match payload {
            [h, ..] if (1..=STAP_A).contains(&nal_type(*h)) => true,
            [h, fh, ..] if nal_type(*h) == FU_A => fh & 0x80 != 0,
            _ => false,
        }
    }

    fn reset(&mut self) {
        self.fu = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annex_b(units: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        for u in units {
            v.extend_from_slice(&START_CODE);
            v.extend_from_slice(u);
        }
        v
    }

    fn depacketize_all(p: &[Bytes]) -> Vec<u8> {
        let mut d = H264Depacketizer::new();
        let mut out = Vec::new();
        for x in p {
            d.depacketize(x, &mut out).unwrap();
        }
        out
    }

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    #[test]
    fn small_units_go_in_one_stap_a() {
        let idr: Vec<u8> = std::iter::once(0x65).chain(0..20).collect();
        let au = annex_b(&[&[0x09, 0xf0], SPS, PPS, &idr]);
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        let out = p.packetize(&au, 1200).unwrap();
        assert_eq!(out.len(), 1);
        // F=0, NRI = max(3) and type 24; then size/unit pairs (RFC 6184 figure 7).
        assert_eq!(out[0][0], 0x60 | STAP_A);
        assert_eq!(&out[0][1..3], &[0, SPS.len() as u8]);
        // The AUD is dropped.
        assert_eq!(depacketize_all(&out), annex_b(&[SPS, PPS, &idr]));
        assert!(is_keyframe(&au));
    }

    #[test]
    fn large_units_are_fragmented_with_fu_a() {
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..5000u32).map(|i| i as u8))
            .collect();
        let au = annex_b(&[SPS, PPS, &idr]);
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        let out = p.packetize(&au, 1000).unwrap();
        // One STAP-A with the parameter sets, then 6 FU-As (5000 bytes / 998).
        assert_eq!(out.len(), 7);
        assert_eq!(nal_type(out[1][0]), FU_A);
        assert_eq!(out[1][0] & 0xe0, 0x60); // NRI copied to the FU indicator
        assert_eq!(out[1][1], 0x80 | NAL_IDR);
        assert_eq!(out[6][1], 0x40 | NAL_IDR);
        assert!(out.iter().all(|x| x.len() <= 1000));
        let d = H264Depacketizer::new();
        assert!(
            d.is_frame_start(&out[0]) && d.is_frame_start(&out[1]) && !d.is_frame_start(&out[2])
        );
        assert_eq!(depacketize_all(&out), au);
    }

    #[test]
    fn mode_0_sends_units_alone_and_refuses_large_ones() {
        let au = annex_b(&[SPS, PPS, &[0x65, 1, 2, 3]]);
        let mut p = H264Packetizer::new(PacketizationMode::SingleNal);
        let out = p.packetize(&au, 1200).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(&out[0][..], SPS);
        assert_eq!(depacketize_all(&out), au);
        let big = annex_b(&[&[0x65; 2000]]);
        assert_eq!(
            p.packetize(&big, 1200),
            Err(Error::FrameTooLarge {
                len: 2000,
                mtu: 1200
            })
        );
    }

    #[test]
    fn parameter_sets_are_repeated_before_a_bare_idr() {
        let mut p =
            H264Packetizer::new(PacketizationMode::NonInterleaved).repeat_parameter_sets(true);
        p.packetize(&annex_b(&[SPS, PPS, &[0x65, 1]]), 1200)
            .unwrap();
        p.packetize(&annex_b(&[&[0x41, 9]]), 1200).unwrap();
        let out = p.packetize(&annex_b(&[&[0x65, 2]]), 1200).unwrap();
        assert_eq!(depacketize_all(&out), annex_b(&[SPS, PPS, &[0x65, 2]]));
        // A non-IDR frame gets nothing added.
        let out = p.packetize(&annex_b(&[&[0x41, 3]]), 1200).unwrap();
        assert_eq!(depacketize_all(&out), annex_b(&[&[0x41, 3]]));
    }

    #[test]
    fn fu_a_without_start_and_malformed_stap_a_are_typed_errors() {
        let mut d = H264Depacketizer::new();
        let mut out = Vec::new();
        let e = d.depacketize(&[0x7c, 0x05, 1, 2], &mut out).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::MissingStart);
        let e = d.depacketize(&[0x7c, 0xc5, 1], &mut out).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadDescriptor);
        // STAP-A whose second unit claims 9 bytes but has 1.
        let e = d
            .depacketize(&[0x78, 0, 1, 0x41, 0, 9, 0x41], &mut out)
            .unwrap_err();
        assert_eq!(e, ParseError::new(ParseErrorKind::BadAggregation, 4));
        let e = d.depacketize(&[0x78], &mut out).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::BadAggregation);
        for t in [25u8, 26, 27, 29, 30, 31, 0] {
            assert_eq!(
                d.depacketize(&[t, 0, 0], &mut out).unwrap_err().kind,
                ParseErrorKind::UnsupportedType
            );
        }
        assert!(out.is_empty());
    }

    #[test]
    fn lost_fragment_then_reset_recovers() {
        let idr: Vec<u8> = std::iter::once(0x65)
            .chain((0..3000u32).map(|i| i as u8))
            .collect();
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        let out = p.packetize(&annex_b(&[&idr]), 1000).unwrap();
        let mut d = H264Depacketizer::new().with_max_unit(10_000);
        let mut frame = Vec::new();
        d.depacketize(&out[0], &mut frame).unwrap();
        // out[1] is lost; the sample builder notices the gap and resets.
        d.reset();
        assert_eq!(
            d.depacketize(&out[2], &mut frame).unwrap_err().kind,
            ParseErrorKind::MissingStart
        );
        assert!(frame.is_empty());
        // The next frame decodes.
        let next = p.packetize(&annex_b(&[&[0x41, 1, 2]]), 1000).unwrap();
        d.depacketize(&next[0], &mut frame).unwrap();
        assert_eq!(frame, annex_b(&[&[0x41, 1, 2]]));
    }

    #[test]
    fn reassembly_is_bounded() {
        let mut d = H264Depacketizer::new().with_max_unit(8);
        let mut out = Vec::new();
        d.depacketize(&[0x7c, 0x85, 1, 2, 3, 4], &mut out).unwrap();
        assert_eq!(
            d.depacketize(&[0x7c, 0x05, 1, 2, 3, 4], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::TooLarge
        );
    }
}
