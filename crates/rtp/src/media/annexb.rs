//! H.264 and H.265 Annex B byte streams: NAL units separated by start codes, grouped into
//! access units (one picture each) for the packetizers, and written back.

use crate::codec::{START_CODE, split_annex_b};

/// Which codec's NAL unit header and access-unit rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NalCodec {
    /// H.264: one-byte NAL header (ITU-T H.264 §7.4.1.2.3).
    H264,
    /// H.265: two-byte NAL header (ITU-T H.265 §7.4.2.4.4).
    H265,
}

impl NalCodec {
    /// Whether `nal` begins a new access unit: an access unit delimiter, parameter set or
    /// prefix SEI, or the first slice of a picture (first_mb_in_slice = 0 in H.264,
    /// first_slice_segment_in_pic_flag = 1 in H.265).
    pub fn starts_access_unit(self, nal: &[u8]) -> bool {
        match self {
            NalCodec::H264 => {
                let Some(&h) = nal.first() else { return false };
                match h & 0x1f {
                    6..=9 => true,
                    // first_mb_in_slice is ue(v); the value 0 is the single bit 1.
                    1 | 5 => nal.get(1).is_some_and(|b| b & 0x80 != 0),
                    _ => false,
                }
            }
            NalCodec::H265 => {
                let Some(&h) = nal.first() else { return false };
                match (h >> 1) & 0x3f {
                    32..=35 | 39 => true,
                    0..=31 => nal.get(2).is_some_and(|b| b & 0x80 != 0),
                    _ => false,
                }
            }
        }
    }
}

/// Splits an Annex B stream into access units, each returned as its NAL units.
pub fn access_units(codec: NalCodec, stream: &[u8]) -> Vec<Vec<&[u8]>> {
    let mut out: Vec<Vec<&[u8]>> = Vec::new();
    let mut cur: Vec<&[u8]> = Vec::new();
    let mut has_vcl = false;
    for nal in split_annex_b(stream) {
        let vcl = match codec {
            NalCodec::H264 => matches!(nal[0] & 0x1f, 1..=5),
            NalCodec::H265 => (nal[0] >> 1) & 0x3f < 32,
        };
        // A new access unit starts at a delimiter, parameter set or SEI after a picture, or
        // at the first slice of the next picture.
        if has_vcl && codec.starts_access_unit(nal) {
            out.push(std::mem::take(&mut cur));
            has_vcl = false;
        }
        has_vcl |= vcl;
        cur.push(nal);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Appends NAL units to `out`, each after a four-byte start code.
pub fn write_annex_b<'a>(units: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    for u in units {
        out.extend_from_slice(&START_CODE);
        out.extend_from_slice(u);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_access_units_split_at_first_slices() {
        let sps: &[u8] = &[0x67, 0x42];
        let pps: &[u8] = &[0x68, 0xce];
        let idr0: &[u8] = &[0x65, 0x88, 1]; // first_mb_in_slice = 0
        let idr1: &[u8] = &[0x65, 0x40, 2]; // a second slice of the same picture
        let p0: &[u8] = &[0x41, 0x9a, 3];
        let mut s = Vec::new();
        write_annex_b([sps, pps, idr0, idr1, p0], &mut s);
        let aus = access_units(NalCodec::H264, &s);
        assert_eq!(aus, vec![vec![sps, pps, idr0, idr1], vec![p0]]);
    }

    #[test]
    fn h265_access_units() {
        let vps: &[u8] = &[0x40, 0x01, 0x0c];
        let sps: &[u8] = &[0x42, 0x01, 0x01];
        let pps: &[u8] = &[0x44, 0x01, 0xc1];
        let idr: &[u8] = &[0x26, 0x01, 0xaf, 0x10]; // IDR_W_RADL, first slice
        let trail: &[u8] = &[0x02, 0x01, 0xd0, 0x01]; // TRAIL_R, first slice
        let mut s = Vec::new();
        write_annex_b([vps, sps, pps, idr, trail], &mut s);
        assert_eq!(
            access_units(NalCodec::H265, &s),
            vec![vec![vps, sps, pps, idr], vec![trail]]
        );
    }
}
