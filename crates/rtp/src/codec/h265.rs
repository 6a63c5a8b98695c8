//! The H.265 payload format (RFC 7798): single NAL unit packets, aggregation packets (AP) and
//! fragmentation units (FU).
//!
//! Frames come in and go out as Annex B byte streams. Not implemented: decoding order number
//! fields (DONL/DOND, used only when `sprop-max-don-diff` is above 0) and PACI packets
//! (type 50), which decode to [`ParseErrorKind::UnsupportedType`].

use bytes::{BufMut, Bytes};

use crate::codec::{Depacketizer, Packetizer, START_CODE, split_annex_b};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::Reader;

/// The packet type of an aggregation packet (RFC 7798 §4.4.2).
pub const AP: u8 = 48;
/// The packet type of a fragmentation unit (RFC 7798 §4.4.3).
pub const FU: u8 = 49;
/// The packet type of a PACI packet (RFC 7798 §4.4.4).
pub const PACI: u8 = 50;
/// NAL unit type of a VPS.
pub const NAL_VPS: u8 = 32;
/// NAL unit type of an SPS.
pub const NAL_SPS: u8 = 33;
/// NAL unit type of a PPS.
pub const NAL_PPS: u8 = 34;

/// The default limit on one reassembled NAL unit.
pub const DEFAULT_MAX_UNIT: usize = 4 << 20;

/// The NAL unit type of a two-byte H.265 NAL unit header (its first byte).
pub fn nal_type(first: u8) -> u8 {
    (first >> 1) & 0x3f
}

/// Whether an Annex B access unit holds an IRAP picture (types 16..=23: BLA, IDR, CRA).
pub fn is_keyframe(access_unit: &[u8]) -> bool {
    split_annex_b(access_unit)
        .iter()
        .any(|n| (16..=23).contains(&nal_type(n[0])))
}

/// Splits Annex B access units into RTP payloads: NAL units that fit are aggregated into
/// APs, larger ones fragmented into FUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct H265Packetizer;

impl Packetizer for H265Packetizer {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        let units: Vec<&[u8]> = split_annex_b(frame)
            .into_iter()
            .filter(|n| n.len() >= 2)
            .collect();
        if units.is_empty() {
            return Err(Error::BadFrame("no NAL unit in the access unit"));
        }
        if units.iter().any(|n| nal_type(n[0]) >= AP) {
            // Types 48..=63 would be read as AP, FU or PACI packets.
            return Err(Error::BadFrame("NAL unit type above 47"));
        }
        if max_payload < 4 {
            return Err(Error::MtuTooSmall(max_payload));
        }
        // AP sizes are 16 bits: no payload beyond 64 KiB.
        let max_payload = max_payload.min(usize::from(u16::MAX));
        let mut out = Vec::new();
        let mut pending: Vec<&[u8]> = Vec::new();
        let mut pending_len = 2;
        for u in units {
            if u.len() > max_payload {
                flush_ap(&mut pending, &mut out);
                pending_len = 2;
                fragment(u, max_payload, &mut out);
                continue;
            }
            if !pending.is_empty() && pending_len + 2 + u.len() > max_payload {
                flush_ap(&mut pending, &mut out);
                pending_len = 2;
            }
            pending.push(u);
            pending_len += 2 + u.len();
        }
        flush_ap(&mut pending, &mut out);
        Ok(out)
    }
}

fn flush_ap(pending: &mut Vec<&[u8]>, out: &mut Vec<Bytes>) {
    match pending.len() {
        0 => {}
        1 => out.push(Bytes::copy_from_slice(pending[0])),
        _ => {
            // RFC 7798 §4.4.2: F is the OR of the units' F bits; LayerId and TID the lowest.
            let f = pending.iter().fold(0, |a, u| a | (u[0] & 0x80));
            let layer = pending
                .iter()
                .map(|u| u16::from(u[0] & 0x01) << 5 | u16::from(u[1] >> 3))
                .min()
                .unwrap_or(0);
            let tid = pending.iter().map(|u| u[1] & 0x07).min().unwrap_or(1);
            let mut p = Vec::new();
            p.push(f | AP << 1 | (layer >> 5) as u8);
            p.push(((layer & 0x1f) as u8) << 3 | tid);
            for u in pending.iter() {
                // Aggregated units are at most max_payload bytes; see the caller.
                p.put_u16(u.len() as u16);
                p.put_slice(u);
            }
            out.push(Bytes::from(p));
        }
    }
    pending.clear();
}

/// RFC 7798 §4.4.3: the payload header copies F, LayerId and TID with type 49, then the FU
/// header (S, E, FuType), then the unit without its two-byte header.
fn fragment(unit: &[u8], max_payload: usize, out: &mut Vec<Bytes>) {
    let h0 = (unit[0] & 0x81) | FU << 1;
    let h1 = unit[1];
    let t = nal_type(unit[0]);
    let body = &unit[2..];
    let step = max_payload - 3;
    let n = body.len().div_ceil(step);
    for (i, chunk) in body.chunks(step).enumerate() {
        let mut fh = t;
        if i == 0 {
            fh |= 0x80;
        }
        if i + 1 == n {
            fh |= 0x40;
        }
        let mut p = Vec::with_capacity(3 + chunk.len());
        p.extend_from_slice(&[h0, h1, fh]);
        p.extend_from_slice(chunk);
        out.push(Bytes::from(p));
    }
}

/// Turns H.265 payloads back into an Annex B stream.
#[derive(Debug, Clone)]
pub struct H265Depacketizer {
    fu: Option<Vec<u8>>,
    max_unit: usize,
}

impl Default for H265Depacketizer {
    fn default() -> Self {
        H265Depacketizer {
            fu: None,
            max_unit: DEFAULT_MAX_UNIT,
        }
    }
}

impl H265Depacketizer {
    /// A depacketizer with the [`DEFAULT_MAX_UNIT`] limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the limit on one reassembled NAL unit.
    pub fn with_max_unit(mut self, max: usize) -> Self {
        self.max_unit = max;
        self
    }
}

impl Depacketizer for H265Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        if payload.is_empty() {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        }
        let mut r = Reader::new(payload);
        let h0 = r.u8()?;
        let h1 = r.u8()?;
        match nal_type(h0) {
            0..=47 => {
                frame.extend_from_slice(&START_CODE);
                frame.extend_from_slice(payload);
                Ok(())
            }
            AP => {
                let mut units = Vec::new();
                while !r.is_empty() {
                    let at = r.offset();
                    let bad = |_| ParseError::new(ParseErrorKind::BadAggregation, at);
                    let size = r.u16().map_err(bad)?;
                    if size < 2 {
                        return Err(ParseError::new(ParseErrorKind::BadAggregation, at));
                    }
                    units.push(r.take(usize::from(size)).map_err(bad)?);
                }
                // RFC 7798 §4.4.2: an AP carries at least two units.
                if units.len() < 2 {
                    return Err(ParseError::new(ParseErrorKind::BadAggregation, 2));
                }
                for u in units {
                    frame.extend_from_slice(&START_CODE);
                    frame.extend_from_slice(u);
                }
                Ok(())
            }
            FU => {
                let fh = r.u8()?;
                let (start, end) = (fh & 0x80 != 0, fh & 0x40 != 0);
                if start && end {
                    // RFC 7798 §4.4.3: S and E must not both be set.
                    return Err(ParseError::new(ParseErrorKind::BadDescriptor, 2));
                }
                let body = r.rest();
                if start {
                    let mut unit = Vec::with_capacity(2 + body.len());
                    unit.push((h0 & 0x81) | (fh & 0x3f) << 1);
                    unit.push(h1);
                    unit.extend_from_slice(body);
                    self.fu = Some(unit);
                } else {
                    let Some(unit) = self.fu.as_mut() else {
                        return Err(ParseError::new(ParseErrorKind::MissingStart, 2));
                    };
                    if unit.len() + body.len() > self.max_unit {
                        self.fu = None;
                        return Err(ParseError::new(ParseErrorKind::TooLarge, 3));
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
            [h, _, ..] if nal_type(*h) <= AP => true,
            [h, _, fh, ..] if nal_type(*h) == FU => fh & 0x80 != 0,
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
    use crate::media::annexb::write_annex_b;

    const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01];
    const SPS: &[u8] = &[0x42, 0x01, 0x01, 0x01];
    const PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72];

    fn au(units: &[&[u8]]) -> Vec<u8> {
        let mut v = Vec::new();
        write_annex_b(units.iter().copied(), &mut v);
        v
    }

    fn depacketize_all(p: &[Bytes]) -> Vec<u8> {
        let mut d = H265Depacketizer::new();
        let mut out = Vec::new();
        for x in p {
            d.depacketize(x, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn parameter_sets_aggregate_and_the_idr_fragments() {
        let idr: Vec<u8> = [0x26, 0x01]
            .into_iter()
            .chain((0..4000u32).map(|i| i as u8))
            .collect();
        let frame = au(&[VPS, SPS, PPS, &idr]);
        assert!(is_keyframe(&frame));
        let pk = H265Packetizer.packetize(&frame, 1200).unwrap();
        // One AP (type 48, LayerId 0, TID 1) and 4 FUs.
        assert_eq!(&pk[0][..2], &[AP << 1, 0x01]);
        assert_eq!(pk.len(), 5);
        assert_eq!(&pk[1][..3], &[FU << 1, 0x01, 0x80 | 19]);
        assert_eq!(pk[4][2], 0x40 | 19);
        assert!(pk.iter().all(|p| p.len() <= 1200));
        let d = H265Depacketizer::new();
        assert!(d.is_frame_start(&pk[0]) && d.is_frame_start(&pk[1]) && !d.is_frame_start(&pk[2]));
        assert_eq!(depacketize_all(&pk), frame);
    }

    #[test]
    fn malformed_packets_are_typed_errors() {
        let mut d = H265Depacketizer::new();
        let mut out = Vec::new();
        // FU continuation without a start.
        assert_eq!(
            d.depacketize(&[FU << 1, 1, 0x13, 9], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::MissingStart
        );
        assert_eq!(
            d.depacketize(&[FU << 1, 1, 0xd3, 9], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::BadDescriptor
        );
        // An AP with one unit, and one whose size lies.
        assert_eq!(
            d.depacketize(&[AP << 1, 1, 0, 2, 0x02, 0x01], &mut out)
                .unwrap_err()
                .kind,
            ParseErrorKind::BadAggregation
        );
        assert_eq!(
            d.depacketize(&[AP << 1, 1, 0, 9, 0x02], &mut out)
                .unwrap_err(),
            ParseError::new(ParseErrorKind::BadAggregation, 2)
        );
        assert_eq!(
            d.depacketize(&[PACI << 1, 1], &mut out).unwrap_err().kind,
            ParseErrorKind::UnsupportedType
        );
        assert_eq!(
            d.depacketize(&[0x02], &mut out).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
        assert!(out.is_empty());
    }

    #[test]
    fn loss_mid_fu_then_recovery() {
        let trail: Vec<u8> = [0x02, 0x01]
            .into_iter()
            .chain((0..2500u32).map(|i| i as u8))
            .collect();
        let pk = H265Packetizer.packetize(&au(&[&trail]), 1000).unwrap();
        assert_eq!(pk.len(), 3);
        let mut d = H265Depacketizer::new().with_max_unit(100_000);
        let mut out = Vec::new();
        d.depacketize(&pk[0], &mut out).unwrap();
        d.reset();
        assert_eq!(
            d.depacketize(&pk[2], &mut out).unwrap_err().kind,
            ParseErrorKind::MissingStart
        );
        assert_eq!(depacketize_all(&pk), au(&[&trail]));
    }
}
