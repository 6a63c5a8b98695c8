//! Property tests: every wire type round-trips (`decode(encode(x)) == x`), decoding
//! arbitrary bytes never panics, packetizers and depacketizers are inverse, and the sample
//! builder only ever returns frames that were sent, in order.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;

use weft_rtp::codec::audio::{G711, G711Law, Opus};
use weft_rtp::codec::av1::{AggregationHeader, Av1Depacketizer, Av1Packetizer, Obu};
use weft_rtp::codec::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
use weft_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use weft_rtp::codec::telephone_event::TelephoneEvent;
use weft_rtp::codec::vp8::{PictureId, Vp8Depacketizer, Vp8Descriptor, Vp8Packetizer};
use weft_rtp::codec::vp9::{
    LayerIndices, PictureGroupEntry, ScalabilityStructure, Vp9Depacketizer, Vp9Descriptor,
    Vp9Packetizer,
};
use weft_rtp::codec::{Depacketizer, Packetizer, START_CODE, Sequencer};
use weft_rtp::dd::{DependencyDescriptor, Dti, FrameTemplate, TemplateStructure};
use weft_rtp::extension::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRid, Rid, Rotation,
    TransmissionOffset, TransportSequence, VideoOrientation,
};
use weft_rtp::media::ivf::IvfHeader;
use weft_rtp::media::ogg::{ChannelMapping, OpusHead};
use weft_rtp::sample_builder::{LossPolicy, SampleBuilder};
use weft_rtp::{
    Extension, Extensions, Header, Packet, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp, rtx,
};

fn extensions() -> impl Strategy<Value = Extensions> {
    prop_oneof![
        Just(Extensions::new()),
        // Elements that may or may not fit the one-byte form; two-byte forced or not.
        (
            proptest::collection::btree_map(1u8..=255, vec(any::<u8>(), 0..40), 1..8),
            any::<bool>(),
            0u8..16
        )
            .prop_map(|(m, force, appbits)| {
                let mut x = Extensions::new();
                for (id, d) in m {
                    x.set(id, Bytes::from(d)).unwrap();
                }
                if force || x.is_two_byte() {
                    x.set_two_byte(appbits);
                }
                x
            }),
        (any::<u16>(), vec(any::<u8>(), 0..10)).prop_filter_map(
            "not an RFC 8285 profile",
            |(profile, words)| {
                if profile == 0xbede || profile & 0xfff0 == 0x1000 {
                    return None;
                }
                let mut d = words.clone();
                d.resize(words.len() / 4 * 4 + 4, 0);
                let mut x = Extensions::new();
                x.set_raw(profile, Bytes::from(d)).unwrap();
                Some(x)
            }
        ),
    ]
}

fn packet() -> impl Strategy<Value = PacketBuf> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        vec(any::<u32>(), 0..=15),
        extensions(),
        vec(any::<u8>(), 0..200),
        any::<u8>(),
    )
        .prop_map(|(m, pt, seq, ts, ssrc, csrcs, ext, payload, padding)| {
            let mut h = Header::new(
                PayloadType::new(pt).unwrap(),
                SeqNum::from(seq),
                Timestamp::from(ts),
                Ssrc(ssrc),
            );
            h.marker = m;
            h.set_csrcs(&csrcs.into_iter().map(Ssrc).collect::<Vec<_>>())
                .unwrap();
            h.extensions = ext;
            let mut p = PacketBuf::new(h, Bytes::from(payload));
            p.set_padding(padding);
            p
        })
}

fn round_trip<T: Extension + PartialEq + std::fmt::Debug>(v: T) {
    let mut out = Vec::new();
    v.encode(&mut out);
    assert_eq!(out.len(), v.encoded_len());
    assert_eq!(T::decode(&out).unwrap(), v);
}

fn picture_id() -> impl Strategy<Value = Option<PictureId>> {
    prop_oneof![
        Just(None),
        (0u8..128).prop_map(|v| Some(PictureId::Short(v))),
        (0u16..0x8000).prop_map(|v| Some(PictureId::Long(v))),
    ]
}

fn vp8_descriptor() -> impl Strategy<Value = Vp8Descriptor> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..8,
        picture_id(),
        proptest::option::of(any::<u8>()),
        proptest::option::of((0u8..4, any::<bool>())),
        proptest::option::of(0u8..32),
    )
        .prop_map(
            |(n, s, pid, picture_id, tl0, temporal, key_idx)| Vp8Descriptor {
                non_reference: n,
                start: s,
                partition: pid,
                picture_id,
                tl0_pic_idx: tl0,
                temporal,
                key_idx,
            },
        )
}

fn vp9_descriptor() -> impl Strategy<Value = Vp9Descriptor> {
    let layer =
        (0u8..8, any::<bool>(), 0u8..8, any::<bool>()).prop_map(|(t, u, s, d)| LayerIndices {
            temporal: t,
            switching_up: u,
            spatial: s,
            inter_layer_dependency: d,
        });
    let ss = (
        1u8..=8,
        any::<bool>(),
        proptest::option::of(vec((0u8..8, any::<bool>(), vec(any::<u8>(), 0..=3)), 0..5)),
        any::<u16>(),
    )
        .prop_map(|(n, res, pg, w)| ScalabilityStructure {
            spatial_layers: n,
            resolutions: res.then(|| (0..n).map(|i| (w, u16::from(i) * 100)).collect()),
            picture_group: pg.map(|v| {
                v.into_iter()
                    .map(|(t, u, r)| PictureGroupEntry {
                        temporal: t,
                        switching_up: u,
                        ref_diffs: r,
                    })
                    .collect()
            }),
        });
    (
        picture_id(),
        any::<[bool; 5]>(),
        any::<bool>(),
        proptest::option::of(layer),
        any::<u8>(),
        vec(0u8..128, 1..=3),
        proptest::option::of(ss),
    )
        .prop_map(|(picture_id, b, flexible, layer, tl0, refs, ss)| {
            let p = b[0];
            Vp9Descriptor {
                picture_id,
                inter_picture_predicted: p,
                flexible,
                start_of_frame: b[1],
                end_of_frame: b[2],
                not_upper_reference: b[3],
                layer,
                tl0_pic_idx: (!flexible && layer.is_some()).then_some(tl0),
                ref_diffs: if flexible && p { refs } else { Vec::new() },
                scalability: ss,
            }
        })
}

/// A template structure built the way `template_layers()` can express it.
fn template_structure() -> impl Strategy<Value = TemplateStructure> {
    (
        0u8..64,
        1u8..=6,
        vec(0u32..3, 0..10),
        any::<bool>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_map(|(offset, dt, idcs, with_chains, seed, res)| {
            let mut layers = vec![(0u8, 0u8)];
            for idc in idcs {
                let (s, t) = *layers.last().unwrap();
                let next = match idc {
                    1 if t < 7 => (s, t + 1),
                    2 if s < 3 => (s + 1, 0),
                    _ => (s, t),
                };
                layers.push(next);
            }
            let mut rng = seed;
            let mut next = move |n: u64| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (rng >> 33) % n
            };
            let chains = if with_chains {
                1 + next(u64::from(dt)) as u8
            } else {
                0
            };
            let templates = layers
                .iter()
                .map(|&(s, t)| FrameTemplate {
                    spatial_id: s,
                    temporal_id: t,
                    dtis: (0..dt)
                        .map(|_| match next(4) {
                            0 => Dti::NotPresent,
                            1 => Dti::Discardable,
                            2 => Dti::Switch,
                            _ => Dti::Required,
                        })
                        .collect(),
                    fdiffs: (0..next(4)).map(|_| 1 + next(16) as u8).collect(),
                    chain_fdiffs: (0..chains).map(|_| next(16) as u8).collect(),
                })
                .collect::<Vec<_>>();
            let max_s = layers.iter().map(|l| l.0).max().unwrap();
            TemplateStructure {
                template_id_offset: offset,
                decode_targets: dt,
                templates,
                chains,
                decode_target_protected_by: if chains > 0 {
                    (0..dt).map(|_| next(u64::from(chains)) as u8).collect()
                } else {
                    Vec::new()
                },
                resolutions: res.then(|| (0..=max_s).map(|s| (320 << s, 180 << s)).collect()),
            }
        })
}

/// NAL-like units that contain no zero byte, so no start code can appear inside.
fn units(header_len: usize, first: u8) -> impl Strategy<Value = Vec<Vec<u8>>> {
    vec(vec(1u8..=255, header_len..3000), 1..6).prop_map(move |mut v| {
        for u in &mut v {
            u[0] = first;
        }
        v
    })
}

fn annex_b(units: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for u in units {
        v.extend_from_slice(&START_CODE);
        v.extend_from_slice(u);
    }
    v
}

fn through<P: Packetizer, D: Depacketizer>(
    p: &mut P,
    d: &mut D,
    frame: &[u8],
    mtu: usize,
) -> Vec<u8> {
    let payloads = p.packetize(frame, mtu).unwrap();
    assert!(
        payloads.iter().all(|x| x.len() <= mtu),
        "payload above the mtu"
    );
    assert!(d.is_frame_start(&payloads[0]));
    let mut out = Vec::new();
    for x in &payloads {
        d.depacketize(x, &mut out).unwrap();
    }
    out
}

/// The obvious byte-by-byte Annex B split, as a model for the fast one.
fn naive_split(stream: &[u8]) -> Vec<&[u8]> {
    let mut codes = Vec::new(); // (start of the code incl. leading zeros, first unit byte)
    let mut i = 0;
    while i + 2 < stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            codes.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    if codes.is_empty() {
        return if stream.is_empty() {
            vec![]
        } else {
            vec![stream]
        };
    }
    let mut out = Vec::new();
    for (k, &s) in codes.iter().enumerate() {
        let end = match codes.get(k + 1) {
            Some(&n) => {
                let mut e = n - 3;
                while e > s && stream[e - 1] == 0 {
                    e -= 1;
                }
                e
            }
            None => stream.len(),
        };
        if end > s {
            out.push(&stream[s..end]);
        }
    }
    out
}

proptest! {
    #[test]
    fn annex_b_split_matches_the_naive_model(data in vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..200)) {
        prop_assert_eq!(weft_rtp::codec::split_annex_b(&data), naive_split(&data));
    }

    #[test]
    fn packets_round_trip(p in packet()) {
        let wire = p.to_bytes();
        prop_assert_eq!(wire.len(), p.encoded_len());
        prop_assert_eq!(PacketBuf::decode(&wire).unwrap(), p.clone());
        prop_assert_eq!(PacketBuf::decode_bytes(&wire).unwrap(), p);
    }

    #[test]
    fn arbitrary_bytes_decode_without_panic(data in vec(any::<u8>(), 0..300)) {
        if let Ok(p) = Packet::decode(&data) {
            let owned = p.to_owned();
            let again = PacketBuf::decode(&owned.to_bytes()).unwrap();
            prop_assert_eq!(again, owned);
            let _ = p.extensions.iter().count();
            let _ = p.csrcs().count();
        }
    }

    #[test]
    fn arbitrary_headers_decode_without_panic(mut data in vec(any::<u8>(), 12..300)) {
        // Version 2 so that decoding goes past the first check.
        data[0] = 0x80 | (data[0] & 0x3f);
        let _ = Packet::decode(&data);
    }

    #[test]
    fn rtx_round_trip(p in packet(), rtx_seq in any::<u16>()) {
        let wire = p.to_bytes();
        let view = Packet::decode(&wire).unwrap();
        let r = rtx::wrap(&view, PayloadType::new(99).unwrap(), Ssrc(7), SeqNum::from(rtx_seq));
        let rw = r.to_bytes();
        let back = rtx::unwrap(&Packet::decode(&rw).unwrap(), p.header.payload_type, p.header.ssrc).unwrap();
        let mut expected = p.clone();
        expected.set_padding(0);
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn typed_extensions_round_trip(
        s in "[A-Za-z0-9_-]{1,16}",
        v24 in 0u32..(1 << 24),
        seq in any::<u16>(),
        voice in any::<bool>(), level in 0u8..128,
        cvo in (any::<bool>(), any::<bool>(), 0u8..4),
        pd in (0u64..=4095, 0u64..=4095),
        act in (any::<u64>(), proptest::option::of(any::<i64>())),
        off in -(1i32 << 23)..(1 << 23),
    ) {
        round_trip(Mid::new(&s).unwrap());
        round_trip(Rid::new(&s).unwrap());
        round_trip(RepairedRid::new(&s).unwrap());
        round_trip(AbsSendTime::from_bits(v24));
        round_trip(TransportSequence(seq));
        round_trip(AudioLevel { voice, level });
        let rotation = [Rotation::Deg0, Rotation::Deg90, Rotation::Deg180, Rotation::Deg270][usize::from(cvo.2)];
        round_trip(VideoOrientation { back_camera: cvo.0, flip: cvo.1, rotation });
        let (a, b) = (pd.0.min(pd.1), pd.0.max(pd.1));
        round_trip(PlayoutDelay::new(std::time::Duration::from_millis(a * 10), std::time::Duration::from_millis(b * 10)).unwrap());
        round_trip(AbsCaptureTime { capture_ntp: act.0, clock_offset: act.1 });
        round_trip(TransmissionOffset::new(off).unwrap());
    }

    #[test]
    fn typed_extensions_never_panic(data in vec(any::<u8>(), 0..20)) {
        let _ = Mid::decode(&data);
        let _ = Rid::decode(&data);
        let _ = AbsSendTime::decode(&data);
        let _ = TransportSequence::decode(&data);
        let _ = AudioLevel::decode(&data);
        let _ = VideoOrientation::decode(&data);
        let _ = PlayoutDelay::decode(&data);
        let _ = AbsCaptureTime::decode(&data);
        let _ = TransmissionOffset::decode(&data);
    }

    #[test]
    fn vp8_descriptors_round_trip(d in vp8_descriptor(), tail in vec(any::<u8>(), 0..10)) {
        let mut v = Vec::new();
        d.encode(&mut v);
        prop_assert_eq!(v.len(), d.encoded_len());
        v.extend_from_slice(&tail);
        prop_assert_eq!(Vp8Descriptor::decode(&v).unwrap(), (d, d.encoded_len()));
    }

    #[test]
    fn vp9_descriptors_round_trip(d in vp9_descriptor()) {
        let mut v = Vec::new();
        d.encode(&mut v);
        prop_assert_eq!(Vp9Descriptor::decode(&v).unwrap(), (d, v.len()));
    }

    #[test]
    fn small_wire_types_round_trip(b in any::<u8>(), ev in any::<(u8, bool, u16)>(), vol in 0u8..64) {
        let h = AggregationHeader::from_byte(b);
        prop_assert_eq!(AggregationHeader::from_byte(h.to_byte()), h);
        let e = TelephoneEvent { event: ev.0, end: ev.1, volume: vol, duration: ev.2 };
        let mut v = Vec::new();
        e.encode(&mut v);
        prop_assert_eq!(TelephoneEvent::decode(&v).unwrap(), e);
    }

    #[test]
    fn dependency_descriptors_round_trip(
        s in template_structure(),
        pick in any::<u8>(),
        frame in any::<u16>(),
        flags in any::<[bool; 6]>(),
        mask in any::<u32>(),
        fdiffs in vec(1u16..=4096, 0..5),
        chain_bytes in vec(any::<u8>(), 6),
    ) {
        s.validate().unwrap();
        let template_id = ((usize::from(pick) % s.templates.len() + usize::from(s.template_id_offset)) % 64) as u8;
        let dt = usize::from(s.decode_targets);
        let d = DependencyDescriptor {
            start_of_frame: flags[0],
            end_of_frame: flags[1],
            template_id,
            frame_number: frame,
            structure: flags[2].then(|| s.clone()),
            active_decode_targets: flags[3].then_some(mask & ((1u32 << dt) - 1)),
            custom_dtis: flags[4].then(|| vec![Dti::Required; dt]),
            custom_fdiffs: flags[5].then_some(fdiffs),
            custom_chains: flags[5].then(|| chain_bytes[..usize::from(s.chains)].to_vec()),
        };
        let wire = d.to_vec(Some(&s)).unwrap();
        let back = DependencyDescriptor::decode(&wire, Some(&s)).unwrap();
        prop_assert_eq!(&back, &d);
        let f = back.resolve(Some(&s)).unwrap();
        prop_assert_eq!(f.dtis.len(), dt);
    }

    #[test]
    fn dependency_descriptors_never_panic(data in vec(any::<u8>(), 0..64), s in template_structure()) {
        let _ = DependencyDescriptor::decode(&data, None);
        if let Ok(d) = DependencyDescriptor::decode(&data, Some(&s)) {
            let _ = d.resolve(Some(&s));
        }
    }

    #[test]
    fn file_headers_round_trip(f in any::<([u8; 4], u16, u16, u32, u32, u32)>(), o in any::<(u8, u16, u32, i16)>(), map in vec(any::<u8>(), 1..8), fam in 1u8..=255) {
        let h = IvfHeader { fourcc: f.0, width: f.1, height: f.2, timebase_den: f.3, timebase_num: f.4, frame_count: f.5 };
        let mut v = Vec::new();
        h.encode(&mut v);
        prop_assert_eq!(IvfHeader::decode(&v).unwrap(), h);
        let channels = map.len() as u8;
        for mapping in [ChannelMapping::Rtp, ChannelMapping::Table { family: fam, streams: o.0, coupled: o.0 / 2, mapping: map.clone() }] {
            let head = OpusHead { channels, pre_skip: o.1, input_sample_rate: o.2, output_gain: o.3, mapping };
            let mut v = Vec::new();
            head.encode(&mut v);
            prop_assert_eq!(OpusHead::decode(&v).unwrap(), head);
        }
    }

    #[test]
    fn depacketizers_never_panic(payloads in vec(vec(any::<u8>(), 0..64), 1..6)) {
        let mut out = Vec::new();
        let mut vp8 = Vp8Depacketizer::new();
        let mut vp9 = Vp9Depacketizer::new();
        let mut h264 = H264Depacketizer::new().with_max_unit(256);
        let mut h265 = H265Depacketizer::new().with_max_unit(256);
        let mut av1 = Av1Depacketizer::new().with_max_obu(256);
        for p in &payloads {
            let _ = vp8.depacketize(p, &mut out);
            let _ = vp9.depacketize(p, &mut out);
            let _ = h264.depacketize(p, &mut out);
            let _ = h265.depacketize(p, &mut out);
            let _ = av1.depacketize(p, &mut out);
            let _ = Opus.depacketize(p, &mut out);
            let _ = (vp8.is_frame_start(p), vp9.is_frame_start(p), h264.is_frame_start(p), h265.is_frame_start(p), av1.is_frame_start(p));
            let _ = TelephoneEvent::decode(p);
        }
    }

    #[test]
    fn vp8_vp9_opus_g711_packetize_inverse(frame in vec(any::<u8>(), 1..5000), mtu in 20usize..1500) {
        prop_assert_eq!(through(&mut Vp8Packetizer::with_picture_id(3), &mut Vp8Depacketizer::new(), &frame, mtu), frame.clone());
        prop_assert_eq!(through(&mut Vp9Packetizer::new(3), &mut Vp9Depacketizer::new(), &frame, mtu), frame.clone());
        let g = G711 { law: G711Law::ALaw };
        prop_assert_eq!(through(&mut { g }, &mut { g }, &frame, mtu), frame.clone());
        if frame.len() <= mtu {
            prop_assert_eq!(through(&mut Opus, &mut Opus, &frame, mtu), frame);
        }
    }

    #[test]
    fn h264_packetize_inverse(u in units(1, 0x41), mtu in 20usize..1500) {
        let frame = annex_b(&u);
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        prop_assert_eq!(through(&mut p, &mut H264Depacketizer::new(), &frame, mtu), frame);
    }

    #[test]
    fn h265_packetize_inverse(u in units(2, 0x02), mtu in 20usize..1500) {
        let frame = annex_b(&u);
        prop_assert_eq!(through(&mut H265Packetizer, &mut H265Depacketizer::new(), &frame, mtu), frame);
    }

    #[test]
    fn av1_packetize_inverse(obus in vec((prop_oneof![Just(1u8), Just(3), Just(4), Just(5), Just(6)], proptest::option::of(any::<u8>()), vec(any::<u8>(), 0..3000)), 1..5), mtu in 20usize..1500) {
        let mut tu = Vec::new();
        for (t, ext, payload) in &obus {
            Obu { obu_type: *t, extension: *ext, payload }.write_sized(&mut tu);
        }
        prop_assert_eq!(through(&mut Av1Packetizer, &mut Av1Depacketizer::new(), &tu, mtu), tu);
    }

    /// The builder against a model: frames come out in order, each one complete and equal to
    /// what was sent, whatever the reordering and loss; with no loss, every frame comes out.
    #[test]
    fn sample_builder_returns_only_sent_frames(
        sizes in vec(1usize..2000, 1..12),
        swaps in vec((any::<prop::sample::Index>(), 0usize..6), 0..20),
        losses in vec(any::<prop::sample::Index>(), 0..3),
        first in any::<u16>(),
        wait in 0u16..20,
    ) {
        let mut pk = Vp8Packetizer::with_picture_id(0);
        let mut sq = Sequencer::new(Ssrc(1), PayloadType::new(96).unwrap(), SeqNum::from(first));
        let mut frames = Vec::new();
        let mut packets = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let f: Vec<u8> = (0..*n).map(|j| (i * 7 + j) as u8).collect();
            packets.extend(sq.packets(pk.packetize(&f, 300).unwrap(), Timestamp::from(i as u32 * 3000), true));
            frames.push(f);
        }
        let total = packets.len();
        for (idx, dist) in swaps {
            let a = idx.index(total);
            let b = (a + dist).min(total - 1);
            packets.swap(a, b);
        }
        let lossless = losses.is_empty();
        for l in losses {
            if !packets.is_empty() {
                let i = l.index(packets.len());
                packets.remove(i);
            }
        }
        // Without loss, wait long enough for any reordering; with loss, any policy but
        // partial emission must still return only whole, sent frames in order.
        let policy = if lossless {
            LossPolicy::Wait { packets: 200 }
        } else {
            match wait % 3 {
                0 => LossPolicy::Drop,
                1 => LossPolicy::Wait { packets: wait },
                _ => LossPolicy::EmitPartial { packets: wait },
            }
        };
        // A small buffer forces frames out early; only the lossless case needs room for all.
        let capacity = if lossless { 256 } else { 4 + wait * 3 };
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), capacity, policy);
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            while let Some(f) = b.poll_frame() {
                out.push(f);
            }
        }
        out.extend(b.flush());
        let mut next = 0;
        for f in &out {
            let i = (f.timestamp.0 / 3000) as usize;
            prop_assert!(i >= next, "frames out of order");
            if f.partial {
                // What arrived of the frame, in order: never more than the frame.
                prop_assert!(matches!(policy, LossPolicy::EmitPartial { .. }), "partial frame without EmitPartial");
                prop_assert!(f.data.len() < frames[i].len());
            } else {
                prop_assert_eq!(&f.data, &frames[i]);
            }
            next = i + 1;
        }
        if lossless {
            prop_assert_eq!(out.len(), frames.len());
        }
    }
}
