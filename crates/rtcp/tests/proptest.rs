//! Property tests: every packet type round-trips, compounds round-trip, feedback builders
//! give their input back, and decoding arbitrary bytes never panics.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use weft_rtcp::*;

fn ssrc() -> impl Strategy<Value = Ssrc> {
    any::<u32>().prop_map(Ssrc)
}

fn words(max_words: usize) -> impl Strategy<Value = Bytes> {
    (0..=max_words).prop_flat_map(|n| vec(any::<u8>(), 4 * n).prop_map(Bytes::from))
}

fn text(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

fn report_block() -> impl Strategy<Value = ReportBlock> {
    (
        ssrc(),
        any::<u8>(),
        -0x80_0000..=0x7F_FFFFi32,
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(|(ssrc, f, c, e, j, l, d)| ReportBlock {
            ssrc,
            fraction_lost: f,
            cumulative_lost: c,
            extended_highest_seq: e,
            jitter: j,
            last_sr: CompactNtp(l),
            delay_since_last_sr: CompactNtp(d),
        })
}

fn sender_report() -> impl Strategy<Value = Packet> {
    (
        ssrc(),
        any::<u64>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        vec(report_block(), 0..=31),
        words(3),
    )
        .prop_map(|(ssrc, ntp, rtp, pc, oc, reports, extension)| {
            SenderReport {
                ssrc,
                ntp_time: NtpTime(ntp),
                rtp_time: rtp,
                packet_count: pc,
                octet_count: oc,
                reports,
                extension,
            }
            .into()
        })
}

fn receiver_report() -> impl Strategy<Value = Packet> {
    (ssrc(), vec(report_block(), 0..=31), words(3)).prop_map(|(ssrc, reports, extension)| {
        ReceiverReport {
            ssrc,
            reports,
            extension,
        }
        .into()
    })
}

fn sdes() -> impl Strategy<Value = Packet> {
    let item = (1..=255u8, text(60)).prop_map(|(k, value)| SdesItem {
        kind: SdesType(k),
        value,
    });
    let chunk = (ssrc(), vec(item, 0..5)).prop_map(|(source, items)| SdesChunk { source, items });
    vec(chunk, 0..=31).prop_map(|chunks| SourceDescription { chunks }.into())
}

fn bye() -> impl Strategy<Value = Packet> {
    (vec(ssrc(), 0..=31), proptest::option::of(text(255)))
        .prop_map(|(sources, reason)| Goodbye { sources, reason }.into())
}

fn app() -> impl Strategy<Value = Packet> {
    (0..32u8, ssrc(), any::<[u8; 4]>(), words(8)).prop_map(|(subtype, ssrc, name, data)| {
        App {
            subtype,
            ssrc,
            name,
            data,
        }
        .into()
    })
}

fn nack() -> impl Strategy<Value = Packet> {
    (
        ssrc(),
        ssrc(),
        vec(
            (any::<u16>(), any::<u16>()).prop_map(|(p, blp)| NackPair {
                pid: SeqNum(p),
                blp,
            }),
            0..20,
        ),
    )
        .prop_map(|(sender_ssrc, media_ssrc, pairs)| {
            Nack {
                sender_ssrc,
                media_ssrc,
                pairs,
            }
            .into()
        })
}

fn pli() -> impl Strategy<Value = Packet> {
    (ssrc(), ssrc()).prop_map(|(sender_ssrc, media_ssrc)| {
        Pli {
            sender_ssrc,
            media_ssrc,
        }
        .into()
    })
}

fn sli() -> impl Strategy<Value = Packet> {
    let entry =
        (0..0x2000u16, 0..0x2000u16, 0..0x40u8).prop_map(|(first, number, picture_id)| SliEntry {
            first,
            number,
            picture_id,
        });
    (ssrc(), ssrc(), vec(entry, 0..10)).prop_map(|(sender_ssrc, media_ssrc, entries)| {
        Sli {
            sender_ssrc,
            media_ssrc,
            entries,
        }
        .into()
    })
}

fn fir() -> impl Strategy<Value = Packet> {
    let entry = (ssrc(), any::<u8>()).prop_map(|(ssrc, seq_nr)| FirEntry { ssrc, seq_nr });
    (ssrc(), ssrc(), vec(entry, 0..10)).prop_map(|(sender_ssrc, media_ssrc, entries)| {
        Fir {
            sender_ssrc,
            media_ssrc,
            entries,
        }
        .into()
    })
}

/// Bitrates the wire carries exactly: an 18-bit mantissa shifted by at most 46.
fn remb_bitrate() -> impl Strategy<Value = u64> {
    (0..(1u64 << 18), 0..=46u32).prop_map(|(m, e)| m << e)
}

fn remb() -> impl Strategy<Value = Packet> {
    (ssrc(), ssrc(), remb_bitrate(), vec(ssrc(), 0..=255)).prop_map(
        |(sender_ssrc, media_ssrc, bitrate, ssrcs)| {
            Remb {
                sender_ssrc,
                media_ssrc,
                bitrate,
                ssrcs,
            }
            .into()
        },
    )
}

fn status() -> impl Strategy<Value = PacketStatus> {
    prop_oneof![
        Just(PacketStatus::NotReceived),
        Just(PacketStatus::SmallDelta),
        Just(PacketStatus::LargeDelta)
    ]
}

fn chunk() -> impl Strategy<Value = PacketChunk> {
    prop_oneof![
        (status(), 1..=0x1FFFu16).prop_map(|(status, run)| PacketChunk::RunLength { status, run }),
        (0..0x4000u16).prop_map(PacketChunk::OneBit),
        vec(0..3u16, 7)
            .prop_map(|s| PacketChunk::TwoBit(s.iter().fold(0, |acc, &x| (acc << 2) | x))),
    ]
}

/// A transport-wide CC packet in its wire form: any chunks, a status count that ends inside
/// the last chunk, and one delta per received packet.
fn twcc_wire() -> impl Strategy<Value = Packet> {
    (
        ssrc(),
        ssrc(),
        any::<u16>(),
        0..=0xFF_FFFFu32,
        any::<u8>(),
        vec(chunk(), 1..8),
        any::<prop::sample::Index>(),
        vec(any::<i16>(), 1..50),
    )
        .prop_map(|(s, m, base, reference_time, fb, chunks, cut, seeds)| {
            let before_last: usize = chunks[..chunks.len() - 1].iter().map(|c| c.len()).sum();
            let last = chunks[chunks.len() - 1].len();
            let status_count = (before_last + 1 + cut.index(last)).min(usize::from(u16::MAX));
            let mut t = TransportCc {
                sender_ssrc: s,
                media_ssrc: m,
                base_seq: SeqNum(base),
                status_count: status_count as u16,
                reference_time,
                fb_pkt_count: fb,
                chunks,
                deltas: vec![],
            };
            let deltas = t
                .statuses()
                .filter(|s| *s != PacketStatus::NotReceived)
                .enumerate()
                .map(|(i, s)| {
                    let d = seeds[i % seeds.len()];
                    if s == PacketStatus::SmallDelta {
                        d & 0xFF
                    } else {
                        d
                    }
                })
                .collect();
            t.deltas = deltas;
            Packet::TransportCc(t)
        })
}

/// A list of (sequence number, arrival) for `TransportCc::build`: runs of one kind of
/// outcome (lost, a short gap, a long gap) so that run-length and vector chunks both appear,
/// with sequence gaps; times on the 250 µs grid.
fn twcc_list() -> impl Strategy<Value = Vec<(SeqNum, Option<ArrivalTime>)>> {
    let segment = (0..4u8, 1..60usize, 1..3u16);
    (
        any::<u16>(),
        // First arrivals well inside the 24-bit reference time range (and not before 0).
        10_000..((1i64 << 24) - 10_000) * 256,
        vec(segment, 0..12),
    )
        .prop_map(|(base, start_ticks, segments)| {
            let mut out = Vec::new();
            let mut seq = SeqNum(base);
            let mut t = start_ticks * 250;
            for (kind, len, step) in segments {
                for i in 0..len {
                    let arrival = match kind {
                        0 => None,
                        1 => {
                            t += 250 * (i as i64 % 7);
                            Some(ArrivalTime(t))
                        }
                        2 => {
                            t += 250 * 300;
                            Some(ArrivalTime(t))
                        }
                        _ => {
                            t -= 250 * 3;
                            Some(ArrivalTime(t))
                        }
                    };
                    out.push((seq, arrival));
                    seq = seq + if i % 5 == 4 { step } else { 1 };
                }
            }
            out
        })
}

fn twcc_built() -> impl Strategy<Value = Packet> {
    (ssrc(), ssrc(), any::<u8>(), twcc_list()).prop_map(|(s, m, fb, list)| {
        TransportCc::build(s, m, fb, &list)
            .expect("lists of the strategy fit one packet")
            .into()
    })
}

fn ccfb() -> impl Strategy<Value = Packet> {
    let metric = (any::<bool>(), 0..4u8, 0..0x2000u16).prop_map(|(received, e, ato)| CcfbMetric {
        received,
        ecn: Ecn(e),
        arrival_time_offset: ato,
    });
    let stream =
        (ssrc(), any::<u16>(), vec(metric, 0..40)).prop_map(|(ssrc, b, metrics)| CcfbStream {
            ssrc,
            begin_seq: SeqNum(b),
            metrics,
        });
    (ssrc(), vec(stream, 0..4), any::<u32>()).prop_map(|(sender_ssrc, streams, ts)| {
        CongestionControlFeedback {
            sender_ssrc,
            streams,
            report_timestamp: CompactNtp(ts),
        }
        .into()
    })
}

fn xr() -> impl Strategy<Value = Packet> {
    let dlrr = (ssrc(), any::<u32>(), any::<u32>()).prop_map(|(ssrc, l, d)| DlrrItem {
        ssrc,
        last_rr: CompactNtp(l),
        delay_since_last_rr: CompactNtp(d),
    });
    let tb = (0..16u8, 0..16u8, 0..0x100_0000u32).prop_map(|(s, t, k)| TargetBitrateItem {
        spatial_layer: s,
        temporal_layer: t,
        bitrate_kbps: k,
    });
    let block = prop_oneof![
        any::<u64>().prop_map(|n| XrBlock::ReceiverReferenceTime {
            ntp_time: NtpTime(n)
        }),
        vec(dlrr, 0..4).prop_map(XrBlock::Dlrr),
        vec(tb, 0..6).prop_map(XrBlock::TargetBitrate),
        (
            any::<u8>().prop_filter("decoded block types", |t| ![4, 5, 42].contains(t)),
            any::<u8>(),
            words(6)
        )
            .prop_map(|(block_type, type_specific, body)| XrBlock::Unknown {
                block_type,
                type_specific,
                body
            }),
    ];
    (ssrc(), vec(block, 0..5)).prop_map(|(sender_ssrc, blocks)| {
        ExtendedReport {
            sender_ssrc,
            blocks,
        }
        .into()
    })
}

fn unknown() -> impl Strategy<Value = Packet> {
    let pt = prop_oneof![0..200u8, 208..=255u8];
    (pt, 0..32u8, words(8)).prop_map(|(packet_type, count, body)| {
        UnknownPacket {
            packet_type,
            count,
            padding: false,
            body,
        }
        .into()
    })
}

fn any_packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        sender_report(),
        receiver_report(),
        sdes(),
        bye(),
        app(),
        nack(),
        pli(),
        sli(),
        fir(),
        remb(),
        twcc_wire(),
        twcc_built(),
        ccfb(),
        xr(),
        unknown(),
    ]
}

fn round_trips(p: &Packet) -> Result<(), TestCaseError> {
    let mut buf = Vec::new();
    p.encode(&mut buf)
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(buf.len(), p.encoded_len());
    prop_assert_eq!(buf.len() % 4, 0);
    let back = Packet::decode(&buf).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&back, p);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sender_reports_round_trip(p in sender_report()) { round_trips(&p)?; }

    #[test]
    fn receiver_reports_round_trip(p in receiver_report()) { round_trips(&p)?; }

    #[test]
    fn sdes_round_trips(p in sdes()) { round_trips(&p)?; }

    #[test]
    fn bye_round_trips(p in bye()) { round_trips(&p)?; }

    #[test]
    fn app_round_trips(p in app()) { round_trips(&p)?; }

    #[test]
    fn nack_round_trips(p in nack()) { round_trips(&p)?; }

    #[test]
    fn pli_round_trips(p in pli()) { round_trips(&p)?; }

    #[test]
    fn sli_round_trips(p in sli()) { round_trips(&p)?; }

    #[test]
    fn fir_round_trips(p in fir()) { round_trips(&p)?; }

    #[test]
    fn remb_round_trips(p in remb()) { round_trips(&p)?; }

    #[test]
    fn twcc_wire_form_round_trips(p in twcc_wire()) { round_trips(&p)?; }

    #[test]
    fn ccfb_round_trips(p in ccfb()) { round_trips(&p)?; }

    #[test]
    fn xr_round_trips(p in xr()) { round_trips(&p)?; }

    #[test]
    fn unknown_round_trips(p in unknown()) { round_trips(&p)?; }

    #[test]
    fn compounds_round_trip(packets in vec(any_packet(), 0..6)) {
        let c = Compound { packets };
        let mut buf = Vec::new();
        c.encode(&mut buf).unwrap();
        prop_assert_eq!(buf.len(), c.encoded_len());
        prop_assert_eq!(packets_count(&buf), c.packets.len());
        prop_assert_eq!(Compound::decode(&buf).unwrap(), c);
    }

    #[test]
    fn twcc_build_then_parse_gives_the_list_back(list in twcc_list(), fb in any::<u8>()) {
        let t = TransportCc::build(Ssrc(1), Ssrc(2), fb, &list).unwrap();
        // The list with its sequence gaps filled in as lost packets.
        let mut want = Vec::new();
        for (i, &(seq, at)) in list.iter().enumerate() {
            if i > 0 {
                let mut s = list[i - 1].0.next();
                while s != seq {
                    want.push((s, None));
                    s = s.next();
                }
            }
            want.push((seq, at));
        }
        let p = Packet::from(t);
        round_trips(&p)?;
        let Packet::TransportCc(t) = p else { unreachable!() };
        prop_assert_eq!(t.packet_results(), want);
        prop_assert_eq!(usize::from(t.status_count), t.packet_results().len());
    }

    #[test]
    fn twcc_chunks_are_never_worse_than_two_bit_vectors(list in twcc_list()) {
        let t = TransportCc::build(Ssrc(1), Ssrc(2), 0, &list).unwrap();
        let n = usize::from(t.status_count);
        prop_assert!(t.chunks.len() <= n.div_ceil(7));
    }

    #[test]
    fn nack_from_lost_gives_the_numbers_back(start in any::<u16>(), gaps in vec(1..40u16, 0..60)) {
        let mut lost = vec![SeqNum(start)];
        for g in gaps {
            let next = *lost.last().unwrap() + g;
            lost.push(next);
        }
        let nack = Nack::from_lost(Ssrc(1), Ssrc(2), lost.clone());
        prop_assert_eq!(nack.lost().collect::<Vec<_>>(), lost);
        round_trips(&nack.into())?;
    }

    #[test]
    fn remb_rounds_down_to_18_significant_bits(bitrate in any::<u64>()) {
        let p: Packet = Remb { bitrate, ..Default::default() }.into();
        let mut buf = Vec::new();
        p.encode(&mut buf).unwrap();
        let Packet::Remb(back) = Packet::decode(&buf).unwrap() else { unreachable!() };
        let (exp, _) = Remb::exponent_mantissa(bitrate);
        prop_assert!(back.bitrate <= bitrate);
        prop_assert!(bitrate - back.bitrate < 1u64 << exp);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..300)) {
        check_decode(&bytes)?;
    }

    #[test]
    fn arbitrary_bodies_behind_valid_headers_never_panic(
        pt in 200..=207u8,
        count in 0..32u8,
        padding in any::<bool>(),
        body in vec(any::<u8>(), 0..40).prop_map(|mut v| { v.truncate(v.len() / 4 * 4); v }),
    ) {
        let mut bytes = vec![0x80 | (u8::from(padding) << 5) | count, pt];
        bytes.extend(((body.len() / 4) as u16).to_be_bytes());
        bytes.extend(&body);
        check_decode(&bytes)?;
    }
}

fn packets_count(buf: &[u8]) -> usize {
    packets(buf).count()
}

/// Decoding never panics, and whatever decodes re-encodes and decodes to an equal value.
fn check_decode(bytes: &[u8]) -> Result<(), TestCaseError> {
    for raw in packets(bytes).flatten() {
        prop_assert!(raw.bytes.len() >= 4);
        let _ = raw.decode();
    }
    if let Ok(c) = Compound::decode(bytes) {
        let mut out = Vec::new();
        c.encode(&mut out)
            .map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(Compound::decode(&out).unwrap(), c);
    }
    Ok(())
}
