//! The VP8 payload format (RFC 7741): the payload descriptor with picture id, TL0PICIDX,
//! temporal layer and key index, a packetizer and a depacketizer, and key-frame detection.

use bytes::{BufMut, Bytes};

use crate::codec::{Depacketizer, Packetizer};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::Reader;

/// The VP8 picture id: 7 or 15 bits (RFC 7741 §4.2, the M bit picks the size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PictureId {
    /// A 7-bit id (M = 0).
    Short(u8),
    /// A 15-bit id (M = 1).
    Long(u16),
}

impl PictureId {
    /// The numeric value.
    pub fn value(self) -> u16 {
        match self {
            PictureId::Short(v) => u16::from(v & 0x7f),
            PictureId::Long(v) => v & 0x7fff,
        }
    }
}

/// The VP8 payload descriptor (RFC 7741 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Vp8Descriptor {
    /// N: the frame can be discarded without hurting others.
    pub non_reference: bool,
    /// S: this packet starts a VP8 partition.
    pub start: bool,
    /// PID: the partition index, 0..=7.
    pub partition: u8,
    /// The picture id (I bit).
    pub picture_id: Option<PictureId>,
    /// TL0PICIDX, the running index of base-layer frames (L bit).
    pub tl0_pic_idx: Option<u8>,
    /// The temporal layer index 0..=3 and the layer-sync bit Y (T bit).
    pub temporal: Option<(u8, bool)>,
    /// The key index 0..=31 (K bit).
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Decodes the descriptor at the start of `payload`, returning it and its length.
    pub fn decode(payload: &[u8]) -> Result<(Vp8Descriptor, usize), ParseError> {
        let mut r = Reader::new(payload);
        if payload.is_empty() {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        }
        let b0 = r.u8()?;
        let mut d = Vp8Descriptor {
            non_reference: b0 & 0x20 != 0,
            start: b0 & 0x10 != 0,
            partition: b0 & 0x07,
            ..Default::default()
        };
        if b0 & 0x80 != 0 {
            let x = r.u8()?;
            if x & 0x80 != 0 {
                let m = r.u8()?;
                d.picture_id = Some(if m & 0x80 != 0 {
                    PictureId::Long(u16::from(m & 0x7f) << 8 | u16::from(r.u8()?))
                } else {
                    PictureId::Short(m)
                });
            }
            if x & 0x40 != 0 {
                d.tl0_pic_idx = Some(r.u8()?);
            }
            if x & 0x30 != 0 {
                let tk = r.u8()?;
                if x & 0x20 != 0 {
                    d.temporal = Some((tk >> 6, tk & 0x20 != 0));
                }
                if x & 0x10 != 0 {
                    d.key_idx = Some(tk & 0x1f);
                }
            }
        }
        Ok((d, r.offset()))
    }

    fn has_extension(&self) -> bool {
        self.picture_id.is_some()
            || self.tl0_pic_idx.is_some()
            || self.temporal.is_some()
            || self.key_idx.is_some()
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        let mut n = 1;
        if self.has_extension() {
            n += 1;
            n += match self.picture_id {
                Some(PictureId::Short(_)) => 1,
                Some(PictureId::Long(_)) => 2,
                None => 0,
            };
            n += usize::from(self.tl0_pic_idx.is_some());
            n += usize::from(self.temporal.is_some() || self.key_idx.is_some());
        }
        n
    }

    /// Writes the descriptor. Fields are masked to their widths.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let x = self.has_extension();
        buf.put_u8(
            if x { 0x80 } else { 0 }
                | if self.non_reference { 0x20 } else { 0 }
                | if self.start { 0x10 } else { 0 }
                | (self.partition & 0x07),
        );
        if !x {
            return;
        }
        buf.put_u8(
            if self.picture_id.is_some() { 0x80 } else { 0 }
                | if self.tl0_pic_idx.is_some() { 0x40 } else { 0 }
                | if self.temporal.is_some() { 0x20 } else { 0 }
                | if self.key_idx.is_some() { 0x10 } else { 0 },
        );
        match self.picture_id {
            Some(PictureId::Short(v)) => buf.put_u8(v & 0x7f),
            Some(PictureId::Long(v)) => buf.put_u16(0x8000 | (v & 0x7fff)),
            None => {}
        }
        if let Some(t) = self.tl0_pic_idx {
            buf.put_u8(t);
        }
        if self.temporal.is_some() || self.key_idx.is_some() {
            let (tid, y) = self.temporal.unwrap_or((0, false));
            buf.put_u8(
                (tid & 0x03) << 6 | if y { 0x20 } else { 0 } | (self.key_idx.unwrap_or(0) & 0x1f),
            );
        }
    }
}

/// Whether a VP8 frame (the bitstream, not a payload) is a key frame: the P bit of its
/// frame tag is 0 (RFC 7741 §4.3, RFC 6386 §9.1).
pub fn is_keyframe_frame(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// Whether an RTP payload starts a VP8 key frame: the first packet of partition 0 (S = 1,
/// PID = 0) whose VP8 payload header has P = 0 (RFC 7741 §4.3).
pub fn is_keyframe(payload: &[u8]) -> bool {
    match Vp8Descriptor::decode(payload) {
        Ok((d, len)) => d.start && d.partition == 0 && is_keyframe_frame(&payload[len..]),
        Err(_) => false,
    }
}

/// Splits VP8 frames into payloads, optionally numbering frames with a 15-bit picture id and
/// marking temporal layers.
#[derive(Debug, Clone, Default)]
pub struct Vp8Packetizer {
    picture_id: Option<u16>,
    temporal: Option<Temporal>,
}

#[derive(Debug, Clone, Copy)]
struct Temporal {
    tl0_pic_idx: u8,
    tid: u8,
    layer_sync: bool,
    sent_base: bool,
}

impl Vp8Packetizer {
    /// A packetizer that sends no picture id.
    pub fn new() -> Self {
        Self::default()
    }

    /// A packetizer that sends 15-bit picture ids, starting at `first` (masked to 15 bits).
    pub fn with_picture_id(first: u16) -> Self {
        Vp8Packetizer {
            picture_id: Some(first & 0x7fff),
            temporal: None,
        }
    }

    /// Also sends TL0PICIDX and the temporal layer index (RFC 7741 §4.2): TL0PICIDX starts at
    /// `first_tl0_pic_idx` and counts base-layer (TID 0) frames.
    pub fn with_temporal_layers(mut self, first_tl0_pic_idx: u8) -> Self {
        self.temporal = Some(Temporal {
            tl0_pic_idx: first_tl0_pic_idx,
            tid: 0,
            layer_sync: false,
            sent_base: false,
        });
        self
    }

    /// The temporal layer (0..=3) and layer-sync bit of the next frame. Has no effect without
    /// [`with_temporal_layers`](Self::with_temporal_layers).
    pub fn set_layer(&mut self, tid: u8, layer_sync: bool) {
        if let Some(t) = &mut self.temporal {
            t.tid = tid & 0x03;
            t.layer_sync = layer_sync;
        }
    }
}

impl Packetizer for Vp8Packetizer {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        if frame.is_empty() {
            return Err(Error::BadFrame("empty vp8 frame"));
        }
        if let Some(t) = &mut self.temporal
            && t.tid == 0
        {
            // RFC 7741 §4.2: TL0PICIDX increments with each base-layer frame.
            if t.sent_base {
                t.tl0_pic_idx = t.tl0_pic_idx.wrapping_add(1);
            }
            t.sent_base = true;
        }
        let mut d = Vp8Descriptor {
            start: true,
            picture_id: self.picture_id.map(PictureId::Long),
            tl0_pic_idx: self.temporal.map(|t| t.tl0_pic_idx),
            temporal: self.temporal.map(|t| (t.tid, t.layer_sync)),
            ..Default::default()
        };
        let hlen = d.encoded_len();
        if max_payload <= hlen {
            return Err(Error::MtuTooSmall(max_payload));
        }
        let mut out = Vec::with_capacity(frame.len().div_ceil(max_payload - hlen));
        for chunk in frame.chunks(max_payload - hlen) {
            let mut p = Vec::with_capacity(hlen + chunk.len());
            d.encode(&mut p);
            p.extend_from_slice(chunk);
            out.push(Bytes::from(p));
            d.start = false;
        }
        if let Some(id) = &mut self.picture_id {
            *id = (*id + 1) & 0x7fff;
        }
        Ok(out)
    }
}

/// Strips VP8 payload descriptors; remembers the last one.
#[derive(Debug, Clone, Default)]
pub struct Vp8Depacketizer {
    last: Option<Vp8Descriptor>,
}

impl Vp8Depacketizer {
    /// A depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The descriptor of the last payload depacketized.
    pub fn last_descriptor(&self) -> Option<&Vp8Descriptor> {
        self.last.as_ref()
    }
}

impl Depacketizer for Vp8Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        let (d, len) = Vp8Descriptor::decode(payload)?;
        self.last = Some(d);
        frame.extend_from_slice(&payload[len..]);
        Ok(())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        matches!(Vp8Descriptor::decode(payload), Ok((d, _)) if d.start && d.partition == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(d: &Vp8Descriptor) -> Vec<u8> {
        let mut v = Vec::new();
        d.encode(&mut v);
        assert_eq!(v.len(), d.encoded_len());
        v
    }

    #[test]
    fn rfc7741_descriptor_fields() {
        // X=1 S=1 PID=0; I=1 L=1 T=1 K=1; M=1 picture id 0x1234; TL0PICIDX 5; TID 2 Y KEYIDX 3.
        let b = [0x90, 0xf0, 0x92, 0x34, 0x05, 0xa3, 0x9d];
        let (d, len) = Vp8Descriptor::decode(&b).unwrap();
        assert_eq!(len, 6);
        assert_eq!(
            d,
            Vp8Descriptor {
                non_reference: false,
                start: true,
                partition: 0,
                picture_id: Some(PictureId::Long(0x1234)),
                tl0_pic_idx: Some(5),
                temporal: Some((2, true)),
                key_idx: Some(3),
            }
        );
        assert_eq!(enc(&d), &b[..6]);
        // A 7-bit picture id.
        let (d, len) = Vp8Descriptor::decode(&[0x80, 0x80, 0x11, 0xaa]).unwrap();
        assert_eq!((d.picture_id, len), (Some(PictureId::Short(0x11)), 3));
        // Truncated extension.
        assert_eq!(
            Vp8Descriptor::decode(&[0x80, 0x80]).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
    }

    #[test]
    fn multi_packet_frame_round_trip_with_picture_ids() {
        let mut p = Vp8Packetizer::with_picture_id(0x7ffe);
        // A key frame: frame tag P bit 0.
        let frame: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8 & 0xfe).collect();
        let pk = p.packetize(&frame, 1000).unwrap();
        assert_eq!(pk.len(), 4);
        assert!(pk.iter().all(|x| x.len() <= 1000));
        assert!(is_keyframe(&pk[0]));
        assert!(!is_keyframe(&pk[1]));
        let mut d = Vp8Depacketizer::new();
        assert!(d.is_frame_start(&pk[0]));
        assert!(!d.is_frame_start(&pk[1]));
        let mut out = Vec::new();
        for x in &pk {
            d.depacketize(x, &mut out).unwrap();
        }
        assert_eq!(out, frame);
        assert!(is_keyframe_frame(&out));
        assert_eq!(
            d.last_descriptor().unwrap().picture_id,
            Some(PictureId::Long(0x7ffe))
        );
        // The picture id wraps at 15 bits.
        let pk2 = p.packetize(&[1, 2, 3], 1000).unwrap();
        assert!(!is_keyframe(&pk2[0]));
        let pk3 = p.packetize(&[1, 2, 3], 1000).unwrap();
        assert_eq!(
            Vp8Descriptor::decode(&pk3[0]).unwrap().0.picture_id,
            Some(PictureId::Long(0))
        );
        assert_eq!(p.packetize(&frame, 4), Err(Error::MtuTooSmall(4)));
    }

    #[test]
    fn temporal_layers_count_tl0picidx() {
        let mut p = Vp8Packetizer::with_picture_id(0).with_temporal_layers(255);
        let mut seen = Vec::new();
        for tid in [0u8, 2, 1, 2, 0, 2] {
            p.set_layer(tid, tid == 1);
            let pk = p.packetize(&[1, 2, 3], 1200).unwrap();
            let (d, _) = Vp8Descriptor::decode(&pk[0]).unwrap();
            seen.push((d.tl0_pic_idx.unwrap(), d.temporal.unwrap()));
        }
        assert_eq!(
            seen,
            [
                (255, (0, false)),
                (255, (2, false)),
                (255, (1, true)),
                (255, (2, false)),
                (0, (0, false)),
                (0, (2, false)),
            ]
        );
    }

    #[test]
    fn empty_payload_is_an_error() {
        let mut d = Vp8Depacketizer::new();
        let mut out = Vec::new();
        assert_eq!(
            d.depacketize(&[], &mut out).unwrap_err().kind,
            ParseErrorKind::EmptyPayload
        );
    }
}
