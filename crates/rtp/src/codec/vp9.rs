//! The VP9 payload format (RFC 9628): the payload descriptor in flexible and non-flexible
//! modes with the layer indices and the scalability structure (SS), a packetizer, a
//! depacketizer, and key-frame detection from the VP9 uncompressed header.
//!
//! The depacketizer returns one *layer frame* at a time: the sample builder ends a frame at
//! the E bit (or the marker), so each spatial layer of a picture comes out as its own frame,
//! as a VP9 decoder takes them.

use bytes::{BufMut, Bytes};

use crate::codec::vp8::PictureId;
use crate::codec::{Depacketizer, Packetizer};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::{BitReader, Reader};

/// The layer indices (L bit, RFC 9628 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LayerIndices {
    /// TID: the temporal layer, 0..=7.
    pub temporal: u8,
    /// U: a switching-up point.
    pub switching_up: bool,
    /// SID: the spatial layer, 0..=7.
    pub spatial: u8,
    /// D: the frame depends on the spatial layer below.
    pub inter_layer_dependency: bool,
}

/// One picture of the picture group in a scalability structure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PictureGroupEntry {
    /// The temporal layer.
    pub temporal: u8,
    /// A switching-up point.
    pub switching_up: bool,
    /// Reference picture id differences (at most 3).
    pub ref_diffs: Vec<u8>,
}

/// The scalability structure (V bit, RFC 9628 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScalabilityStructure {
    /// The number of spatial layers, 1..=8.
    pub spatial_layers: u8,
    /// The width and height of each spatial layer (Y bit), if sent.
    pub resolutions: Option<Vec<(u16, u16)>>,
    /// The picture group description (G bit), if sent: at most 255 entries.
    pub picture_group: Option<Vec<PictureGroupEntry>>,
}

/// The VP9 payload descriptor (RFC 9628 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Vp9Descriptor {
    /// The picture id (I bit).
    pub picture_id: Option<PictureId>,
    /// P: the picture is predicted from earlier pictures.
    pub inter_picture_predicted: bool,
    /// F: flexible mode (references listed per packet) rather than non-flexible (references
    /// implied by the scalability structure's picture group).
    pub flexible: bool,
    /// B: the packet starts a layer frame.
    pub start_of_frame: bool,
    /// E: the packet ends a layer frame.
    pub end_of_frame: bool,
    /// Z: the frame is not used for inter-layer prediction of higher spatial layers.
    pub not_upper_reference: bool,
    /// The layer indices.
    pub layer: Option<LayerIndices>,
    /// TL0PICIDX: present in non-flexible mode with layer indices.
    pub tl0_pic_idx: Option<u8>,
    /// P_DIFF reference differences: flexible mode with P set, 1..=3 entries.
    pub ref_diffs: Vec<u8>,
    /// The scalability structure.
    pub scalability: Option<ScalabilityStructure>,
}

impl Vp9Descriptor {
    /// Decodes the descriptor at the start of `payload`, returning it and its length.
    pub fn decode(payload: &[u8]) -> Result<(Vp9Descriptor, usize), ParseError> {
        if payload.is_empty() {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        }
        let mut r = Reader::new(payload);
        let b0 = r.u8()?;
        let mut d = Vp9Descriptor {
            inter_picture_predicted: b0 & 0x40 != 0,
            flexible: b0 & 0x10 != 0,
            start_of_frame: b0 & 0x08 != 0,
            end_of_frame: b0 & 0x04 != 0,
            not_upper_reference: b0 & 0x01 != 0,
            ..Default::default()
        };
        if b0 & 0x80 != 0 {
            let m = r.u8()?;
            d.picture_id = Some(if m & 0x80 != 0 {
                PictureId::Long(u16::from(m & 0x7f) << 8 | u16::from(r.u8()?))
            } else {
                PictureId::Short(m)
            });
        }
        if b0 & 0x20 != 0 {
            let l = r.u8()?;
            d.layer = Some(LayerIndices {
                temporal: l >> 5,
                switching_up: l & 0x10 != 0,
                spatial: (l >> 1) & 0x07,
                inter_layer_dependency: l & 0x01 != 0,
            });
            if !d.flexible {
                d.tl0_pic_idx = Some(r.u8()?);
            }
        }
        if d.flexible && d.inter_picture_predicted {
            loop {
                let at = r.offset();
                let b = r.u8()?;
                d.ref_diffs.push(b >> 1);
                if b & 0x01 == 0 {
                    break;
                }
                if d.ref_diffs.len() == 3 {
                    // RFC 9628 §4.2: at most three reference indices.
                    return Err(ParseError::new(ParseErrorKind::BadDescriptor, at));
                }
            }
        }
        if b0 & 0x02 != 0 {
            d.scalability = Some(decode_ss(&mut r)?);
        }
        Ok((d, r.offset()))
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.encode(&mut v);
        v.len()
    }

    /// Writes the descriptor. TL0PICIDX is written only in non-flexible mode with layer
    /// indices, reference differences only in flexible mode with P set (at most 3), and
    /// fields are masked to their widths.
    pub fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u8(
            if self.picture_id.is_some() { 0x80 } else { 0 }
                | if self.inter_picture_predicted {
                    0x40
                } else {
                    0
                }
                | if self.layer.is_some() { 0x20 } else { 0 }
                | if self.flexible { 0x10 } else { 0 }
                | if self.start_of_frame { 0x08 } else { 0 }
                | if self.end_of_frame { 0x04 } else { 0 }
                | if self.scalability.is_some() { 0x02 } else { 0 }
                | if self.not_upper_reference { 0x01 } else { 0 },
        );
        match self.picture_id {
            Some(PictureId::Short(v)) => buf.put_u8(v & 0x7f),
            Some(PictureId::Long(v)) => buf.put_u16(0x8000 | (v & 0x7fff)),
            None => {}
        }
        if let Some(l) = self.layer {
            buf.put_u8(
                (l.temporal & 0x07) << 5
                    | if l.switching_up { 0x10 } else { 0 }
                    | (l.spatial & 0x07) << 1
                    | u8::from(l.inter_layer_dependency),
            );
            if !self.flexible {
                buf.put_u8(self.tl0_pic_idx.unwrap_or(0));
            }
        }
        if self.flexible && self.inter_picture_predicted {
            let diffs: &[u8] = if self.ref_diffs.is_empty() {
                &[0]
            } else {
                &self.ref_diffs[..self.ref_diffs.len().min(3)]
            };
            for (i, p) in diffs.iter().enumerate() {
                buf.put_u8((p & 0x7f) << 1 | u8::from(i + 1 < diffs.len()));
            }
        }
        if let Some(ss) = &self.scalability {
            encode_ss(ss, buf);
        }
    }
}

fn decode_ss(r: &mut Reader<'_>) -> Result<ScalabilityStructure, ParseError> {
    let b = r.u8()?;
    let spatial_layers = (b >> 5) + 1;
    let mut ss = ScalabilityStructure {
        spatial_layers,
        ..Default::default()
    };
    if b & 0x10 != 0 {
        let mut res = Vec::with_capacity(usize::from(spatial_layers));
        for _ in 0..spatial_layers {
            res.push((r.u16()?, r.u16()?));
        }
        ss.resolutions = Some(res);
    }
    if b & 0x08 != 0 {
        let n = r.u8()?;
        let mut pg = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            let e = r.u8()?;
            let refs = usize::from((e >> 2) & 0x03);
            pg.push(PictureGroupEntry {
                temporal: e >> 5,
                switching_up: e & 0x10 != 0,
                ref_diffs: r.take(refs)?.to_vec(),
            });
        }
        ss.picture_group = Some(pg);
    }
    Ok(ss)
}

fn encode_ss(ss: &ScalabilityStructure, buf: &mut impl BufMut) {
    let n = ss.spatial_layers.clamp(1, 8);
    buf.put_u8(
        (n - 1) << 5
            | if ss.resolutions.is_some() { 0x10 } else { 0 }
            | if ss.picture_group.is_some() { 0x08 } else { 0 },
    );
    if let Some(res) = &ss.resolutions {
        for i in 0..usize::from(n) {
            let (w, h) = res.get(i).copied().unwrap_or((0, 0));
            buf.put_u16(w);
            buf.put_u16(h);
        }
    }
    if let Some(pg) = &ss.picture_group {
        let pg = &pg[..pg.len().min(255)];
        buf.put_u8(pg.len() as u8);
        for e in pg {
            let refs = &e.ref_diffs[..e.ref_diffs.len().min(3)];
            buf.put_u8(
                (e.temporal & 0x07) << 5
                    | if e.switching_up { 0x10 } else { 0 }
                    | (refs.len() as u8) << 2,
            );
            buf.put_slice(refs);
        }
    }
}

/// What the uncompressed header of a VP9 frame says (VP9 bitstream spec §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameInfo {
    /// The profile, 0..=3.
    pub profile: u8,
    /// Whether this is a key frame.
    pub keyframe: bool,
    /// The frame size, read from key frames.
    pub size: Option<(u16, u16)>,
}

/// Reads the start of a VP9 frame's uncompressed header.
pub fn frame_info(frame: &[u8]) -> Result<FrameInfo, ParseError> {
    let mut r = BitReader::new(frame);
    if r.bits(2)? != 2 {
        return Err(ParseError::new(ParseErrorKind::BadDescriptor, 0));
    }
    let low = r.bits(1)?;
    let high = r.bits(1)?;
    let profile = (high << 1 | low) as u8;
    if profile == 3 {
        r.bits(1)?;
    }
    if r.bit()? {
        // show_existing_frame: no new frame is coded.
        return Ok(FrameInfo {
            profile,
            keyframe: false,
            size: None,
        });
    }
    let keyframe = !r.bit()?;
    if !keyframe {
        return Ok(FrameInfo {
            profile,
            keyframe,
            size: None,
        });
    }
    r.bits(2)?; // show_frame, error_resilient_mode
    if r.bits(24)? != 0x49_83_42 {
        return Err(ParseError::new(
            ParseErrorKind::BadDescriptor,
            r.position() / 8,
        ));
    }
    // color_config()
    if profile >= 2 {
        r.bits(1)?;
    }
    let color_space = r.bits(3)?;
    if color_space != 7 {
        r.bits(1)?; // color_range
        if profile == 1 || profile == 3 {
            r.bits(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        r.bits(1)?;
    }
    let w = r.bits(16)? + 1;
    let h = r.bits(16)? + 1;
    Ok(FrameInfo {
        profile,
        keyframe,
        // Sizes are 1..=65536; 65536 does not fit a descriptor's 16 bits and is left out.
        size: u16::try_from(w).ok().zip(u16::try_from(h).ok()),
    })
}

/// Splits single-layer VP9 frames into payloads in non-flexible mode with 15-bit picture
/// ids; key frames carry a scalability structure with their resolution.
#[derive(Debug, Clone, Default)]
pub struct Vp9Packetizer {
    picture_id: u16,
}

impl Vp9Packetizer {
    /// A packetizer whose first picture id is `first` (masked to 15 bits).
    pub fn new(first: u16) -> Self {
        Vp9Packetizer {
            picture_id: first & 0x7fff,
        }
    }
}

impl Vp9Packetizer {
    /// Packetizes one layer frame with a descriptor the caller prepared: flexible or
    /// non-flexible mode, layer indices, TL0PICIDX, reference differences and a scalability
    /// structure (sent on the first packet only) are taken from `descriptor`; the picture id
    /// and the B and E bits are the packetizer's. For spatial layers, call it once per layer
    /// frame of a picture with `next_picture` false for all but the last, so they share a
    /// picture id.
    pub fn packetize_layer(
        &mut self,
        frame: &[u8],
        max_payload: usize,
        descriptor: &Vp9Descriptor,
        next_picture: bool,
    ) -> Result<Vec<Bytes>, Error> {
        if frame.is_empty() {
            return Err(Error::BadFrame("empty vp9 frame"));
        }
        let mut d = descriptor.clone();
        d.picture_id = Some(PictureId::Long(self.picture_id));
        d.start_of_frame = true;
        let first_len = d.encoded_len();
        let mut rest_d = d.clone();
        rest_d.start_of_frame = false;
        rest_d.scalability = None;
        let rest_len = rest_d.encoded_len();
        if max_payload <= first_len.max(rest_len) {
            return Err(Error::MtuTooSmall(max_payload));
        }
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < frame.len() {
            let hlen = if pos == 0 { first_len } else { rest_len };
            let end = (pos + max_payload - hlen).min(frame.len());
            d.end_of_frame = end == frame.len();
            let mut p = Vec::with_capacity(hlen + end - pos);
            d.encode(&mut p);
            p.extend_from_slice(&frame[pos..end]);
            out.push(Bytes::from(p));
            pos = end;
            d.start_of_frame = false;
            d.scalability = None;
        }
        if next_picture {
            self.picture_id = (self.picture_id + 1) & 0x7fff;
        }
        Ok(out)
    }
}

impl Packetizer for Vp9Packetizer {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        let info = frame_info(frame).ok();
        let keyframe = info.is_some_and(|i| i.keyframe);
        let d = Vp9Descriptor {
            inter_picture_predicted: !keyframe,
            scalability: keyframe.then(|| ScalabilityStructure {
                spatial_layers: 1,
                resolutions: info.and_then(|i| i.size).map(|s| vec![s]),
                picture_group: None,
            }),
            ..Default::default()
        };
        self.packetize_layer(frame, max_payload, &d, true)
    }
}

/// Strips VP9 payload descriptors; remembers the last one.
#[derive(Debug, Clone, Default)]
pub struct Vp9Depacketizer {
    last: Option<Vp9Descriptor>,
}

impl Vp9Depacketizer {
    /// A depacketizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The descriptor of the last payload depacketized.
    pub fn last_descriptor(&self) -> Option<&Vp9Descriptor> {
        self.last.as_ref()
    }
}

impl Depacketizer for Vp9Depacketizer {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        let (d, len) = Vp9Descriptor::decode(payload)?;
        self.last = Some(d);
        frame.extend_from_slice(&payload[len..]);
        Ok(())
    }

    fn is_frame_start(&self, payload: &[u8]) -> bool {
        // The B bit is in the first byte; no need to decode the rest.
        payload.first().is_some_and(|b| b & 0x08 != 0)
    }

    fn is_frame_end(&self, payload: &[u8], marker: bool) -> bool {
        marker || payload.first().is_some_and(|b| b & 0x04 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(d: &Vp9Descriptor) -> Vec<u8> {
        let mut v = Vec::new();
        d.encode(&mut v);
        v
    }

    /// A profile 0 key frame header for 640x360: frame marker, profile 0, key frame, shown,
    /// sync code, color space BT.601, then width-1 and height-1.
    fn keyframe_640x360() -> Vec<u8> {
        let mut w = crate::reader::BitWriter::new();
        w.put(2, 2);
        w.put(2, 0); // profile bits
        w.put(1, 0); // show_existing_frame
        w.put(1, 0); // frame_type: key
        w.put(1, 1); // show_frame
        w.put(1, 0); // error_resilient_mode
        w.put(24, 0x49_83_42);
        w.put(3, 1); // color_space
        w.put(1, 0); // color_range
        w.put(16, 639);
        w.put(16, 359);
        let mut v = w.finish();
        v.extend_from_slice(&[0xaa; 2000]);
        v
    }

    #[test]
    fn non_flexible_descriptor_with_layers() {
        // I=1 P=1 L=1 F=0 B=1 E=0 V=0 Z=1; M picture id 0x0102; TID 2 U SID 1 D; TL0PICIDX 9.
        let b = [0xe9, 0x81, 0x02, 0x53, 0x09];
        let (d, len) = Vp9Descriptor::decode(&b).unwrap();
        assert_eq!(len, 5);
        assert_eq!(d.picture_id, Some(PictureId::Long(0x0102)));
        assert_eq!(
            d.layer,
            Some(LayerIndices {
                temporal: 2,
                switching_up: true,
                spatial: 1,
                inter_layer_dependency: true
            })
        );
        assert_eq!(d.tl0_pic_idx, Some(9));
        assert!(d.start_of_frame && !d.end_of_frame && d.not_upper_reference);
        assert_eq!(enc(&d), b);
    }

    #[test]
    fn flexible_descriptor_with_references_and_ss() {
        let d = Vp9Descriptor {
            picture_id: Some(PictureId::Short(5)),
            inter_picture_predicted: true,
            flexible: true,
            start_of_frame: true,
            end_of_frame: true,
            layer: Some(LayerIndices {
                temporal: 1,
                spatial: 2,
                ..Default::default()
            }),
            ref_diffs: vec![1, 2, 3],
            scalability: Some(ScalabilityStructure {
                spatial_layers: 3,
                resolutions: Some(vec![(320, 180), (640, 360), (1280, 720)]),
                picture_group: Some(vec![
                    PictureGroupEntry {
                        temporal: 0,
                        switching_up: false,
                        ref_diffs: vec![4],
                    },
                    PictureGroupEntry {
                        temporal: 1,
                        switching_up: true,
                        ref_diffs: vec![1],
                    },
                ]),
            }),
            ..Default::default()
        };
        let wire = enc(&d);
        // P_DIFF bytes: (1<<1)|N, (2<<1)|N, (3<<1).
        assert_eq!(&wire[3..6], &[0x03, 0x05, 0x06]);
        assert_eq!(wire[6], 0x58); // N_S = 2, Y, G
        let (back, len) = Vp9Descriptor::decode(&wire).unwrap();
        assert_eq!(len, wire.len());
        assert_eq!(back, d);
        // A fourth reference is malformed.
        let bad = [0xd0, 0x05, 0x03, 0x03, 0x03, 0x02];
        assert_eq!(
            Vp9Descriptor::decode(&bad).unwrap_err().kind,
            ParseErrorKind::BadDescriptor
        );
        // SS that claims resolutions it does not carry.
        assert_eq!(
            Vp9Descriptor::decode(&[0x02, 0x10, 0x01]).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
    }

    #[test]
    fn flexible_mode_spatial_layers_share_a_picture_id() {
        let mut p = Vp9Packetizer::new(7);
        let layer = |spatial, refs: Vec<u8>| Vp9Descriptor {
            flexible: true,
            inter_picture_predicted: !refs.is_empty(),
            layer: Some(LayerIndices {
                temporal: 0,
                switching_up: false,
                spatial,
                inter_layer_dependency: spatial > 0,
            }),
            ref_diffs: refs,
            ..Default::default()
        };
        let s0 = p
            .packetize_layer(&[1; 900], 500, &layer(0, vec![1]), false)
            .unwrap();
        let s1 = p
            .packetize_layer(&[2; 900], 500, &layer(1, vec![1, 2]), true)
            .unwrap();
        let (d0, _) = Vp9Descriptor::decode(&s0[0]).unwrap();
        let (d1, _) = Vp9Descriptor::decode(&s1[1]).unwrap();
        assert_eq!(d0.picture_id, Some(PictureId::Long(7)));
        assert_eq!(d1.picture_id, Some(PictureId::Long(7)));
        assert_eq!(d1.ref_diffs, [1, 2]);
        assert_eq!(d1.layer.unwrap().spatial, 1);
        assert!(d1.end_of_frame && !d1.start_of_frame && d1.flexible);
        // Each layer frame is a frame for the depacketizer: B on the first, E on the last.
        let dp = Vp9Depacketizer::new();
        assert!(dp.is_frame_start(&s1[0]) && dp.is_frame_end(&s0[1], false));
        let next = p.packetize(&[0x86, 0, 0x40], 500).unwrap();
        assert_eq!(
            Vp9Descriptor::decode(&next[0]).unwrap().0.picture_id,
            Some(PictureId::Long(8))
        );
    }

    #[test]
    fn keyframe_header_and_packetizer_round_trip() {
        let kf = keyframe_640x360();
        assert_eq!(
            frame_info(&kf).unwrap(),
            FrameInfo {
                profile: 0,
                keyframe: true,
                size: Some((640, 360))
            }
        );
        let mut p = Vp9Packetizer::new(0x7fff);
        let pk = p.packetize(&kf, 700).unwrap();
        assert_eq!(pk.len(), 3);
        let (d0, _) = Vp9Descriptor::decode(&pk[0]).unwrap();
        assert!(d0.start_of_frame && !d0.end_of_frame && !d0.inter_picture_predicted);
        assert_eq!(d0.scalability.unwrap().resolutions, Some(vec![(640, 360)]));
        let (d2, _) = Vp9Descriptor::decode(&pk[2]).unwrap();
        assert!(d2.end_of_frame && !d2.start_of_frame);
        let mut dp = Vp9Depacketizer::new();
        assert!(dp.is_frame_start(&pk[0]) && !dp.is_frame_start(&pk[1]));
        assert!(dp.is_frame_end(&pk[2], false) && !dp.is_frame_end(&pk[1], false));
        let mut out = Vec::new();
        for x in &pk {
            dp.depacketize(x, &mut out).unwrap();
        }
        assert_eq!(out, kf);
        // An inter frame: P set, no SS, picture id wrapped.
        let inter = [0x86, 0x00, 0x40, 1, 2, 3];
        assert!(!frame_info(&inter).unwrap().keyframe);
        let pk = p.packetize(&inter, 700).unwrap();
        let (d, _) = Vp9Descriptor::decode(&pk[0]).unwrap();
        assert!(d.inter_picture_predicted && d.scalability.is_none());
        assert_eq!(d.picture_id, Some(PictureId::Long(0)));
    }
}
