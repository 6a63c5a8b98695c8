//! The AV1 dependency descriptor header extension (AOM AV1 RTP spec, appendix A): the
//! per-packet frame description an SFU reads to forward spatial and temporal layers without
//! parsing the codec payload.
//!
//! A descriptor refers to a [`TemplateStructure`] that some earlier packet (usually the first
//! packet of a key frame) attached. [`DdReader`] remembers the latest structure per stream, so
//! a receiver decodes with [`DdReader::decode`]; [`DependencyDescriptor::decode`] takes the
//! structure explicitly. [`DependencyDescriptor::resolve`] combines the two into the
//! [`FrameDependency`] of the frame: its layer, decode target indications, frame
//! dependencies and chains.

use bytes::BufMut;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::reader::{BitReader, BitWriter};

/// The most templates a structure holds (the template id has six bits).
pub const MAX_TEMPLATES: usize = 64;
/// The most decode targets (five bits of `dt_cnt_minus_one`).
pub const MAX_DECODE_TARGETS: usize = 32;

/// How a frame relates to a decode target (AOM AV1 RTP spec, table A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dti {
    /// `-`: the frame is not in the decode target.
    #[default]
    NotPresent,
    /// `D`: in the decode target, and no later frame of it depends on this one.
    Discardable,
    /// `S`: a switch point: from here on the decode target can be decoded.
    Switch,
    /// `R`: in the decode target and needed by it.
    Required,
}

impl Dti {
    fn from_bits(v: u32) -> Dti {
        match v & 3 {
            0 => Dti::NotPresent,
            1 => Dti::Discardable,
            2 => Dti::Switch,
            _ => Dti::Required,
        }
    }

    fn bits(self) -> u32 {
        match self {
            Dti::NotPresent => 0,
            Dti::Discardable => 1,
            Dti::Switch => 2,
            Dti::Required => 3,
        }
    }
}

/// One frame template of a [`TemplateStructure`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FrameTemplate {
    /// The spatial layer, 0..=3.
    pub spatial_id: u8,
    /// The temporal layer, 0..=7.
    pub temporal_id: u8,
    /// One indication per decode target.
    pub dtis: Vec<Dti>,
    /// Frame number differences to the frames this one depends on, each 1..=16.
    pub fdiffs: Vec<u8>,
    /// Per chain, the frame number difference to the previous frame in the chain, 0..=15.
    pub chain_fdiffs: Vec<u8>,
}

/// The template dependency structure (AOM AV1 RTP spec §A.8.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TemplateStructure {
    /// The template id of the first template, 0..=63.
    pub template_id_offset: u8,
    /// The number of decode targets, 1..=32.
    pub decode_targets: u8,
    /// The templates, 1..=64, ordered by spatial then temporal layer.
    pub templates: Vec<FrameTemplate>,
    /// The number of chains, 0..=`decode_targets`.
    pub chains: u8,
    /// For each decode target, the chain that protects it (present when `chains > 0`).
    pub decode_target_protected_by: Vec<u8>,
    /// The maximum render resolution of each spatial layer, when sent.
    pub resolutions: Option<Vec<(u16, u16)>>,
}

impl TemplateStructure {
    /// The highest spatial id of the templates.
    pub fn max_spatial_id(&self) -> u8 {
        self.templates
            .iter()
            .map(|t| t.spatial_id)
            .max()
            .unwrap_or(0)
    }

    /// The spatial layer and highest temporal layer of each decode target (§A.8.3.5: the
    /// highest ids among the templates the target includes).
    pub fn decode_target_layers(&self) -> Vec<(u8, u8)> {
        (0..usize::from(self.decode_targets))
            .map(|dt| {
                self.templates
                    .iter()
                    .filter(|t| t.dtis.get(dt).is_some_and(|d| *d != Dti::NotPresent))
                    .fold((0, 0), |(s, tid), t| {
                        (s.max(t.spatial_id), tid.max(t.temporal_id))
                    })
            })
            .collect()
    }

    fn read(r: &mut BitReader<'_>) -> Result<TemplateStructure, ParseError> {
        let template_id_offset = r.bits(6)? as u8;
        let dt_cnt = r.bits(5)? as usize + 1;
        // template_layers()
        let mut templates = Vec::new();
        let (mut sid, mut tid) = (0u8, 0u8);
        loop {
            if templates.len() == MAX_TEMPLATES {
                return Err(dd_err(r));
            }
            templates.push(FrameTemplate {
                spatial_id: sid,
                temporal_id: tid,
                ..Default::default()
            });
            match r.bits(2)? {
                0 => {}
                1 => {
                    tid += 1;
                    if tid > 7 {
                        return Err(dd_err(r));
                    }
                }
                2 => {
                    tid = 0;
                    sid += 1;
                    if sid > 3 {
                        return Err(dd_err(r));
                    }
                }
                _ => break,
            }
        }
        for t in &mut templates {
            t.dtis = (0..dt_cnt)
                .map(|_| r.bits(2).map(Dti::from_bits))
                .collect::<Result<_, _>>()?;
        }
        for t in &mut templates {
            while r.bit()? {
                // Each difference costs 5 bits, so the loop ends with the input.
                t.fdiffs.push(r.bits(4)? as u8 + 1);
            }
        }
        // Chain count is ns(DtCnt + 1) (§A.8.3.4).
        let chains = r.ns(dt_cnt as u32 + 1)? as u8;
        let mut decode_target_protected_by = Vec::new();
        if chains > 0 {
            for _ in 0..dt_cnt {
                decode_target_protected_by.push(r.ns(u32::from(chains))? as u8);
            }
            for t in &mut templates {
                t.chain_fdiffs = (0..chains)
                    .map(|_| r.bits(4).map(|v| v as u8))
                    .collect::<Result<_, _>>()?;
            }
        }
        let mut s = TemplateStructure {
            template_id_offset,
            decode_targets: dt_cnt as u8,
            templates,
            chains,
            decode_target_protected_by,
            resolutions: None,
        };
        if r.bit()? {
            let mut res = Vec::new();
            for _ in 0..=s.max_spatial_id() {
                let w = r.bits(16)? + 1;
                let h = r.bits(16)? + 1;
                // 65536 does not fit u16; such a layer is recorded as 0 (unknown).
                res.push((u16::try_from(w).unwrap_or(0), u16::try_from(h).unwrap_or(0)));
            }
            s.resolutions = Some(res);
        }
        Ok(s)
    }

    /// Checks the structure can be written: counts in range, layers in the order
    /// `template_layers()` can express, vectors of the right lengths.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what| Err(Error::OutOfRange(what));
        let dt = usize::from(self.decode_targets);
        if self.template_id_offset > 63 {
            return bad("template id offset");
        }
        if !(1..=MAX_DECODE_TARGETS).contains(&dt) {
            return bad("decode target count");
        }
        if self.templates.is_empty() || self.templates.len() > MAX_TEMPLATES {
            return bad("template count");
        }
        if usize::from(self.chains) > dt {
            return bad("chain count");
        }
        if self.chains > 0
            && (self.decode_target_protected_by.len() != dt
                || self
                    .decode_target_protected_by
                    .iter()
                    .any(|c| *c >= self.chains))
        {
            return bad("decode_target_protected_by");
        }
        let first = &self.templates[0];
        if first.spatial_id != 0 || first.temporal_id != 0 {
            return bad("first template layer");
        }
        for w in self.templates.windows(2) {
            if next_layer_idc(&w[0], &w[1]).is_none() {
                return bad("template layer order");
            }
        }
        for t in &self.templates {
            if t.dtis.len() != dt
                || t.fdiffs.iter().any(|f| !(1..=16).contains(f))
                || t.chain_fdiffs.len() != usize::from(self.chains)
                || t.chain_fdiffs.iter().any(|c| *c > 15)
            {
                return bad("frame template");
            }
        }
        if let Some(r) = &self.resolutions
            && r.len() != usize::from(self.max_spatial_id()) + 1
        {
            return bad("render resolutions");
        }
        Ok(())
    }

    fn write(&self, w: &mut BitWriter) {
        w.put(6, u32::from(self.template_id_offset));
        w.put(5, u32::from(self.decode_targets) - 1);
        for (i, t) in self.templates.iter().enumerate() {
            let idc = match self.templates.get(i + 1) {
                // validate() checked the order.
                Some(n) => next_layer_idc(t, n).unwrap_or(3),
                None => 3,
            };
            w.put(2, idc);
        }
        for t in &self.templates {
            for d in &t.dtis {
                w.put(2, d.bits());
            }
        }
        for t in &self.templates {
            for f in &t.fdiffs {
                w.put_bit(true);
                w.put(4, u32::from(*f) - 1);
            }
            w.put_bit(false);
        }
        w.put_ns(u32::from(self.decode_targets) + 1, u32::from(self.chains));
        if self.chains > 0 {
            for c in &self.decode_target_protected_by {
                w.put_ns(u32::from(self.chains), u32::from(*c));
            }
            for t in &self.templates {
                for c in &t.chain_fdiffs {
                    w.put(4, u32::from(*c));
                }
            }
        }
        w.put_bit(self.resolutions.is_some());
        if let Some(res) = &self.resolutions {
            for (width, height) in res {
                w.put(16, u32::from(*width).wrapping_sub(1) & 0xffff);
                w.put(16, u32::from(*height).wrapping_sub(1) & 0xffff);
            }
        }
    }
}

fn next_layer_idc(prev: &FrameTemplate, next: &FrameTemplate) -> Option<u32> {
    if next.spatial_id == prev.spatial_id && next.temporal_id == prev.temporal_id {
        Some(0)
    } else if next.spatial_id == prev.spatial_id && next.temporal_id == prev.temporal_id + 1 {
        Some(1)
    } else if next.spatial_id == prev.spatial_id + 1 && next.temporal_id == 0 {
        Some(2)
    } else {
        None
    }
}

fn dd_err(r: &BitReader<'_>) -> ParseError {
    ParseError::new(ParseErrorKind::BadDependencyDescriptor, r.position() / 8)
}

/// A dependency descriptor as carried in one packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DependencyDescriptor {
    /// The packet is the first of the frame.
    pub start_of_frame: bool,
    /// The packet is the last of the frame.
    pub end_of_frame: bool,
    /// The frame's template id, 0..=63.
    pub template_id: u8,
    /// The frame number (wraps at 16 bits).
    pub frame_number: u16,
    /// A template structure attached to this packet (it replaces the previous one).
    pub structure: Option<TemplateStructure>,
    /// The explicitly sent bitmask of active decode targets.
    pub active_decode_targets: Option<u32>,
    /// Decode target indications that replace the template's.
    pub custom_dtis: Option<Vec<Dti>>,
    /// Frame dependencies that replace the template's (each 1..=4096).
    pub custom_fdiffs: Option<Vec<u16>>,
    /// Chain differences that replace the template's (one byte per chain).
    pub custom_chains: Option<Vec<u8>>,
}

/// What a descriptor says about its frame, with the template filled in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FrameDependency {
    /// The spatial layer.
    pub spatial_id: u8,
    /// The temporal layer.
    pub temporal_id: u8,
    /// One indication per decode target.
    pub dtis: Vec<Dti>,
    /// Frame number differences to the frames this one depends on.
    pub fdiffs: Vec<u16>,
    /// Per chain, the difference to the previous frame in the chain (0: none).
    pub chain_fdiffs: Vec<u8>,
    /// The active decode targets (all when the packet did not say).
    pub active_decode_targets: u32,
    /// The maximum render resolution of the frame's spatial layer, if the structure has it.
    pub resolution: Option<(u16, u16)>,
}

impl DependencyDescriptor {
    /// Decodes a descriptor. `latest` is the structure from an earlier packet; it is not
    /// needed when this packet attaches one.
    ///
    /// Errors with [`ParseErrorKind::BadDependencyDescriptor`] when there is no structure, the
    /// template id is outside it, or the structure is malformed.
    pub fn decode(
        data: &[u8],
        latest: Option<&TemplateStructure>,
    ) -> Result<DependencyDescriptor, ParseError> {
        let mut r = BitReader::new(data);
        let mut d = DependencyDescriptor {
            start_of_frame: r.bit()?,
            end_of_frame: r.bit()?,
            template_id: r.bits(6)? as u8,
            frame_number: r.bits(16)? as u16,
            ..Default::default()
        };
        let (mut active, mut custom_dtis, mut custom_fdiffs, mut custom_chains) =
            (false, false, false, false);
        if data.len() > 3 {
            let structure_present = r.bit()?;
            active = r.bit()?;
            custom_dtis = r.bit()?;
            custom_fdiffs = r.bit()?;
            custom_chains = r.bit()?;
            if structure_present {
                d.structure = Some(TemplateStructure::read(&mut r)?);
            }
        }
        let s = match (&d.structure, latest) {
            (Some(s), _) => s,
            (None, Some(s)) => s,
            (None, None) => return Err(dd_err(&r)),
        };
        let dt_cnt = u32::from(s.decode_targets);
        if active {
            d.active_decode_targets = Some(r.bits(dt_cnt)?);
        }
        // §A.8.3: the template id must name a template of the structure.
        template_index(d.template_id, s).ok_or_else(|| dd_err(&r))?;
        if custom_dtis {
            d.custom_dtis = Some(
                (0..dt_cnt)
                    .map(|_| r.bits(2).map(Dti::from_bits))
                    .collect::<Result<_, _>>()?,
            );
        }
        if custom_fdiffs {
            let mut f = Vec::new();
            loop {
                let size = r.bits(2)?;
                if size == 0 {
                    break;
                }
                // Each difference costs at least 6 bits, so the loop ends with the input.
                f.push(r.bits(4 * size)? as u16 + 1);
            }
            d.custom_fdiffs = Some(f);
        }
        if custom_chains {
            d.custom_chains = Some(
                (0..s.chains)
                    .map(|_| r.bits(8).map(|v| v as u8))
                    .collect::<Result<_, _>>()?,
            );
        }
        Ok(d)
    }

    /// The frame's description, filling in from `latest` (or the attached structure) what
    /// the packet does not say itself.
    pub fn resolve(&self, latest: Option<&TemplateStructure>) -> Option<FrameDependency> {
        let s = self.structure.as_ref().or(latest)?;
        let t = &s.templates[template_index(self.template_id, s)?];
        let all = if s.decode_targets >= 32 {
            u32::MAX
        } else {
            (1u32 << s.decode_targets) - 1
        };
        Some(FrameDependency {
            spatial_id: t.spatial_id,
            temporal_id: t.temporal_id,
            dtis: self.custom_dtis.clone().unwrap_or_else(|| t.dtis.clone()),
            fdiffs: self
                .custom_fdiffs
                .clone()
                .unwrap_or_else(|| t.fdiffs.iter().map(|f| u16::from(*f)).collect()),
            chain_fdiffs: self
                .custom_chains
                .clone()
                .unwrap_or_else(|| t.chain_fdiffs.clone()),
            active_decode_targets: self.active_decode_targets.unwrap_or(all),
            resolution: s
                .resolutions
                .as_ref()
                .and_then(|r| r.get(usize::from(t.spatial_id)).copied()),
        })
    }

    /// Encodes the descriptor against `latest` (or the attached structure), checking that the
    /// two agree.
    pub fn encode(
        &self,
        latest: Option<&TemplateStructure>,
        buf: &mut impl BufMut,
    ) -> Result<(), Error> {
        let bytes = self.to_vec(latest)?;
        buf.put_slice(&bytes);
        Ok(())
    }

    /// The encoded descriptor.
    pub fn to_vec(&self, latest: Option<&TemplateStructure>) -> Result<Vec<u8>, Error> {
        let s = self.structure.as_ref().or(latest).ok_or(Error::OutOfRange(
            "dependency descriptor without a structure",
        ))?;
        s.validate()?;
        if self.template_id > 63 || template_index(self.template_id, s).is_none() {
            return Err(Error::OutOfRange("template id"));
        }
        let dt = usize::from(s.decode_targets);
        if self.custom_dtis.as_ref().is_some_and(|d| d.len() != dt)
            || self
                .custom_chains
                .as_ref()
                .is_some_and(|c| c.len() != usize::from(s.chains))
            || self
                .custom_fdiffs
                .as_ref()
                .is_some_and(|f| f.iter().any(|x| !(1..=4096).contains(x)))
        {
            return Err(Error::OutOfRange("custom frame fields"));
        }
        if dt < 32 && self.active_decode_targets.is_some_and(|m| m >> dt != 0) {
            return Err(Error::OutOfRange("active decode targets"));
        }
        let mut w = BitWriter::new();
        w.put_bit(self.start_of_frame);
        w.put_bit(self.end_of_frame);
        w.put(6, u32::from(self.template_id));
        w.put(16, u32::from(self.frame_number));
        let extended = self.structure.is_some()
            || self.active_decode_targets.is_some()
            || self.custom_dtis.is_some()
            || self.custom_fdiffs.is_some()
            || self.custom_chains.is_some();
        if extended {
            w.put_bit(self.structure.is_some());
            w.put_bit(self.active_decode_targets.is_some());
            w.put_bit(self.custom_dtis.is_some());
            w.put_bit(self.custom_fdiffs.is_some());
            w.put_bit(self.custom_chains.is_some());
            if let Some(st) = &self.structure {
                st.write(&mut w);
            }
            if let Some(m) = self.active_decode_targets {
                w.put(dt as u32, m);
            }
            if let Some(d) = &self.custom_dtis {
                for x in d {
                    w.put(2, x.bits());
                }
            }
            if let Some(f) = &self.custom_fdiffs {
                for x in f {
                    let v = u32::from(*x) - 1;
                    let size = if v < 16 {
                        1
                    } else if v < 256 {
                        2
                    } else {
                        3
                    };
                    w.put(2, size);
                    w.put(4 * size, v);
                }
                w.put(2, 0);
            }
            if let Some(c) = &self.custom_chains {
                for x in c {
                    w.put(8, u32::from(*x));
                }
            }
        }
        let bits = w.len_bits();
        let mut out = w.finish();
        if extended && out.len() <= 3 {
            // §A.8.1: a descriptor with extended fields is longer than 3 bytes; pad it.
            out.resize(4, 0);
        }
        debug_assert!(out.len() * 8 >= bits);
        Ok(out)
    }
}

fn template_index(template_id: u8, s: &TemplateStructure) -> Option<usize> {
    let i = (usize::from(template_id) + 64 - usize::from(s.template_id_offset)) % 64;
    (i < s.templates.len()).then_some(i)
}

/// Decodes the descriptors of one stream, remembering the latest attached structure.
#[derive(Debug, Clone, Default)]
pub struct DdReader {
    structure: Option<TemplateStructure>,
}

impl DdReader {
    /// A reader that has seen no structure yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest structure.
    pub fn structure(&self) -> Option<&TemplateStructure> {
        self.structure.as_ref()
    }

    /// Decodes a descriptor and returns it with its resolved frame description; keeps an
    /// attached structure for the packets that follow.
    pub fn decode(
        &mut self,
        data: &[u8],
    ) -> Result<(DependencyDescriptor, FrameDependency), ParseError> {
        let d = DependencyDescriptor::decode(data, self.structure.as_ref())?;
        if let Some(s) = &d.structure {
            self.structure = Some(s.clone());
        }
        let f = d
            .resolve(self.structure.as_ref())
            .ok_or(ParseError::new(ParseErrorKind::BadDependencyDescriptor, 0))?;
        Ok((d, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dti::*;

    /// L1T3 (one spatial layer, three temporal layers), as in the spec's examples: decode
    /// targets for 1, 2 and 3 temporal layers, one chain on the base layer.
    pub(crate) fn l1t3() -> TemplateStructure {
        let t = |tid, dtis: [Dti; 3], fdiffs: &[u8], chain| FrameTemplate {
            spatial_id: 0,
            temporal_id: tid,
            dtis: dtis.to_vec(),
            fdiffs: fdiffs.to_vec(),
            chain_fdiffs: vec![chain],
        };
        TemplateStructure {
            template_id_offset: 0,
            decode_targets: 3,
            templates: vec![
                t(0, [Switch, Switch, Switch], &[], 0),
                t(0, [Switch, Switch, Switch], &[4], 4),
                t(1, [NotPresent, Discardable, Switch], &[2], 2),
                t(2, [NotPresent, NotPresent, Discardable], &[1], 1),
                t(2, [NotPresent, NotPresent, Discardable], &[1], 3),
            ],
            chains: 1,
            decode_target_protected_by: vec![0, 0, 0],
            resolutions: Some(vec![(1280, 720)]),
        }
    }

    #[test]
    fn smallest_structure_bit_layout() {
        let s = TemplateStructure {
            decode_targets: 1,
            templates: vec![FrameTemplate {
                dtis: vec![Required],
                ..Default::default()
            }],
            ..Default::default()
        };
        let d = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: true,
            frame_number: 1,
            structure: Some(s.clone()),
            ..Default::default()
        };
        // S E id=0 | frame 1 | flags 10000, offset 0, dt_cnt-1 0, idc 11, dti 11, no fdiff,
        // ns(2)=0, no resolutions.
        let wire = d.to_vec(None).unwrap();
        assert_eq!(wire, [0xc0, 0x00, 0x01, 0x80, 0x00, 0xf0]);
        assert_eq!(DependencyDescriptor::decode(&wire, None).unwrap(), d);
        // The three mandatory bytes alone need the structure.
        let short = DependencyDescriptor {
            start_of_frame: true,
            frame_number: 2,
            ..Default::default()
        };
        let wire = short.to_vec(Some(&s)).unwrap();
        assert_eq!(wire, [0x80, 0x00, 0x02]);
        assert_eq!(
            DependencyDescriptor::decode(&wire, None).unwrap_err().kind,
            ParseErrorKind::BadDependencyDescriptor
        );
        assert_eq!(
            DependencyDescriptor::decode(&wire, Some(&s)).unwrap(),
            short
        );
    }

    #[test]
    fn l1t3_structure_and_frames_round_trip() {
        let s = l1t3();
        s.validate().unwrap();
        assert_eq!(s.decode_target_layers(), [(0, 0), (0, 1), (0, 2)]);
        let key = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: false,
            template_id: 0,
            frame_number: 100,
            structure: Some(s.clone()),
            ..Default::default()
        };
        let mut r = DdReader::new();
        let (d, f) = r.decode(&key.to_vec(None).unwrap()).unwrap();
        assert_eq!(d, key);
        assert_eq!(f.dtis, [Switch, Switch, Switch]);
        assert_eq!(f.resolution, Some((1280, 720)));
        assert_eq!(f.active_decode_targets, 0b111);
        // A T2 frame that refers to the remembered structure.
        let t2 = DependencyDescriptor {
            start_of_frame: true,
            end_of_frame: true,
            template_id: 3,
            frame_number: 101,
            ..Default::default()
        };
        let wire = t2.to_vec(Some(&s)).unwrap();
        assert_eq!(wire.len(), 3);
        let (_, f) = r.decode(&wire).unwrap();
        assert_eq!((f.spatial_id, f.temporal_id), (0, 2));
        assert_eq!(f.dtis, [NotPresent, NotPresent, Discardable]);
        assert_eq!(f.fdiffs, [1]);
        assert_eq!(f.chain_fdiffs, [1]);
        // Custom fields and an active-target mask override the template.
        let custom = DependencyDescriptor {
            template_id: 2,
            frame_number: 102,
            active_decode_targets: Some(0b011),
            custom_dtis: Some(vec![NotPresent, Required, Required]),
            custom_fdiffs: Some(vec![1, 20, 300]),
            custom_chains: Some(vec![200]),
            ..Default::default()
        };
        let wire = custom.to_vec(Some(&s)).unwrap();
        let (d, f) = r.decode(&wire).unwrap();
        assert_eq!(d, custom);
        assert_eq!(f.fdiffs, [1, 20, 300]);
        assert_eq!(f.active_decode_targets, 0b011);
        assert_eq!(f.chain_fdiffs, [200]);
    }

    #[test]
    fn invalid_references_are_errors() {
        let s = l1t3();
        // Template id 9 is outside the 5 templates at offset 0.
        assert_eq!(
            DependencyDescriptor::decode(&[0x89, 0, 0], Some(&s))
                .unwrap_err()
                .kind,
            ParseErrorKind::BadDependencyDescriptor
        );
        let d = DependencyDescriptor {
            template_id: 9,
            ..Default::default()
        };
        assert!(d.to_vec(Some(&s)).is_err());
        let mut bad = s.clone();
        bad.templates[1].temporal_id = 2; // 0 -> 2 cannot be expressed
        assert_eq!(
            bad.validate(),
            Err(Error::OutOfRange("template layer order"))
        );
        // A structure cut short.
        let key = DependencyDescriptor {
            structure: Some(s),
            ..Default::default()
        };
        let wire = key.to_vec(None).unwrap();
        for n in 4..wire.len() - 1 {
            assert!(
                DependencyDescriptor::decode(&wire[..n], None).is_err(),
                "{n}"
            );
        }
    }

    #[test]
    fn template_offset_wraps() {
        let mut s = l1t3();
        s.template_id_offset = 62;
        let d = DependencyDescriptor {
            template_id: 1, // index (1 + 64 - 62) % 64 = 3
            structure: Some(s.clone()),
            ..Default::default()
        };
        let wire = d.to_vec(None).unwrap();
        let back = DependencyDescriptor::decode(&wire, None).unwrap();
        assert_eq!(back.resolve(None).unwrap().temporal_id, 2);
    }
}
