//! Packets laid out by hand from the RFC figures, and byte vectors from libwebrtc's and
//! pion's test suites (packets as Chrome builds them).

use std::time::Duration;

use bytes::Bytes;
use weft_rtcp::*;

fn encode(p: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    p.encode(&mut out).expect("encodes");
    assert_eq!(out.len(), p.encoded_len());
    out
}

/// Decodes `bytes`, checks the result, and checks that encoding gives the bytes back.
fn round_trip(bytes: &[u8], want: Packet) {
    let got = Packet::decode(bytes).expect("decodes");
    assert_eq!(got, want);
    assert_eq!(encode(&got), bytes);
}

// ---- RFC 3550 ----------------------------------------------------------------------------

#[test]
fn rfc3550_sender_report_with_one_block() {
    #[rustfmt::skip]
    let bytes = [
        0x81, 200, 0x00, 0x0C,          // V=2, RC=1, PT=SR, length 12
        0x11, 0x22, 0x33, 0x44,         // SSRC of sender
        0xE8, 0x9F, 0x3A, 0x10,         // NTP seconds
        0x80, 0x00, 0x00, 0x00,         // NTP fraction (0.5 s)
        0x00, 0x01, 0x5F, 0x90,         // RTP timestamp 90000
        0x00, 0x00, 0x00, 0x64,         // packet count 100
        0x00, 0x00, 0x27, 0x10,         // octet count 10000
        0x55, 0x66, 0x77, 0x88,         // SSRC_1
        0x40, 0xFF, 0xFF, 0xFE,         // fraction 64/256, cumulative lost -2
        0x00, 0x01, 0x00, 0x05,         // extended highest seq: 1 cycle, 5
        0x00, 0x00, 0x01, 0x00,         // jitter 256
        0x3A, 0x10, 0x80, 0x00,         // LSR
        0x00, 0x01, 0x80, 0x00,         // DLSR 1.5 s
    ];
    round_trip(
        &bytes,
        SenderReport {
            ssrc: Ssrc(0x1122_3344),
            ntp_time: NtpTime(0xE89F_3A10_8000_0000),
            rtp_time: 90_000,
            packet_count: 100,
            octet_count: 10_000,
            reports: vec![ReportBlock {
                ssrc: Ssrc(0x5566_7788),
                fraction_lost: 64,
                cumulative_lost: -2,
                extended_highest_seq: 0x0001_0005,
                jitter: 256,
                last_sr: CompactNtp(0x3A10_8000),
                delay_since_last_sr: CompactNtp(0x0001_8000),
            }],
            extension: Bytes::new(),
        }
        .into(),
    );
}

#[test]
fn rfc3550_receiver_report_keeps_a_profile_extension() {
    #[rustfmt::skip]
    let bytes = [
        0x80, 201, 0x00, 0x02,          // RC=0, RR, length 2
        0x01, 0x02, 0x03, 0x04,
        0xDE, 0xAD, 0xBE, 0xEF,         // profile-specific extension
    ];
    round_trip(
        &bytes,
        ReceiverReport {
            ssrc: Ssrc(0x0102_0304),
            reports: vec![],
            extension: Bytes::from_static(&[0xDE, 0xAD, 0xBE, 0xEF]),
        }
        .into(),
    );
}

#[test]
fn rfc3550_sdes_with_cname_and_priv_items() {
    #[rustfmt::skip]
    let bytes = [
        0x82, 202, 0x00, 0x06,          // SC=2, SDES, length 6
        0x00, 0x00, 0x00, 0x01,         // chunk 1: SSRC 1
        1, 5, b'a', b'@', b'b', b'.', b'c', // CNAME "a@b.c"
        0,                              // end (already at a word boundary)
        0x00, 0x00, 0x00, 0x02,         // chunk 2: SSRC 2
        8, 4, 1, b'x', b'y', b'z',      // PRIV: prefix "x", value "yz"
        0, 0,                           // end, padding
    ];
    let want = SourceDescription {
        chunks: vec![
            SdesChunk::cname(Ssrc(1), "a@b.c"),
            SdesChunk {
                source: Ssrc(2),
                items: vec![SdesItem {
                    kind: SdesType::PRIV,
                    value: Bytes::from_static(&[1, b'x', b'y', b'z']),
                }],
            },
        ],
    };
    round_trip(&bytes, want.clone().into());
    assert_eq!(want.chunks[0].cname_str(), Some("a@b.c"));
}

#[test]
fn rfc3550_bye_with_reason() {
    #[rustfmt::skip]
    let bytes = [
        0x82, 203, 0x00, 0x04,          // SC=2, BYE, length 4
        0x00, 0x00, 0x00, 0x0A,
        0x00, 0x00, 0x00, 0x0B,
        4, b'g', b'o', b'n', b'e', 0, 0, 0, // reason "gone", padded
    ];
    round_trip(
        &bytes,
        Goodbye {
            sources: vec![Ssrc(10), Ssrc(11)],
            reason: Some(Bytes::from_static(b"gone")),
        }
        .into(),
    );
}

#[test]
fn rfc3550_app_packet() {
    #[rustfmt::skip]
    let bytes = [
        0x85, 204, 0x00, 0x03,          // subtype 5, APP, length 3
        0x00, 0x00, 0x30, 0x39,
        b'w', b'e', b'f', b't',
        0x01, 0x02, 0x03, 0x04,
    ];
    round_trip(
        &bytes,
        App {
            subtype: 5,
            ssrc: Ssrc(12345),
            name: *b"weft",
            data: Bytes::from_static(&[1, 2, 3, 4]),
        }
        .into(),
    );
}

#[test]
fn rfc3550_compound_sr_sdes_bye_is_valid() {
    let c = Compound {
        packets: vec![
            SenderReport {
                ssrc: Ssrc(7),
                ..Default::default()
            }
            .into(),
            SourceDescription {
                chunks: vec![SdesChunk::cname(Ssrc(7), "weft@example")],
            }
            .into(),
            Goodbye {
                sources: vec![Ssrc(7)],
                reason: None,
            }
            .into(),
        ],
    };
    assert_eq!(c.validate(), Ok(()));
    let mut bytes = Vec::new();
    c.encode(&mut bytes).unwrap();
    let raws: Vec<_> = packets(&bytes).collect::<Result<_, _>>().unwrap();
    assert_eq!(
        raws.iter().map(|r| r.packet_type).collect::<Vec<_>>(),
        [200, 202, 203]
    );
    assert_eq!(raws[1].offset, 28);
    assert_eq!(Compound::decode(&bytes).unwrap(), c);
}

#[test]
fn padding_on_the_last_packet_is_removed() {
    #[rustfmt::skip]
    let bytes = [
        0x80, 201, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,     // empty RR
        0xA1, 203, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02,     // BYE, P=1, SC=1
        0x00, 0x00, 0x00, 0x04,                            // 4 padding octets
    ];
    let raw = packets(&bytes).nth(1).unwrap().unwrap();
    assert!(raw.padding);
    assert_eq!(raw.body, [0, 0, 0, 2]);
    assert_eq!(raw.bytes.len(), 12);
    let c = Compound::decode(&bytes).unwrap();
    assert_eq!(
        c.packets[1],
        Packet::Goodbye(Goodbye {
            sources: vec![Ssrc(2)],
            reason: None,
        })
    );
    // Re-encoded without the padding.
    let mut out = Vec::new();
    c.encode(&mut out).unwrap();
    assert_eq!(out.len(), 16);
    assert_eq!(Compound::decode(&out).unwrap(), c);
}

// ---- RFC 5506 ----------------------------------------------------------------------------

#[test]
fn rfc5506_reduced_size_pli_decodes_but_is_not_a_full_compound() {
    #[rustfmt::skip]
    let bytes = [
        0x81, 206, 0x00, 0x02,          // FMT=1 (PLI), PSFB, length 2
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02,
    ];
    let c = Compound::decode(&bytes).unwrap();
    assert_eq!(
        c.packets,
        vec![Packet::Pli(Pli {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2)
        })]
    );
    assert_eq!(c.validate(), Err(CompoundError::FirstNotReport));
    assert_eq!(validate_compound(&[]), Err(CompoundError::Empty));
    assert_eq!(
        validate_compound(&[ReceiverReport::default().into()]),
        Err(CompoundError::NoCname)
    );
}

// ---- RFC 4585 / RFC 5104 -----------------------------------------------------------------

#[test]
fn rfc4585_sli_entry_bit_layout() {
    #[rustfmt::skip]
    let bytes = [
        0x82, 206, 0x00, 0x03,          // FMT=2 (SLI)
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x02,
        // first=1 (13 bits), number=2 (13 bits), picture id=3 (6 bits)
        0b0000_0000, 0b0000_1000, 0b0000_0000, 0b1000_0011,
    ];
    round_trip(
        &bytes,
        Sli {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(2),
            entries: vec![SliEntry {
                first: 1,
                number: 2,
                picture_id: 3,
            }],
        }
        .into(),
    );
}

#[test]
fn rfc5104_fir_with_two_entries() {
    #[rustfmt::skip]
    let bytes = [
        0x84, 206, 0x00, 0x06,          // FMT=4 (FIR), length 6
        0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00,         // media source: 0
        0x00, 0x00, 0x00, 0x0A, 0x07, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x0B, 0x08, 0x00, 0x00, 0x00,
    ];
    round_trip(
        &bytes,
        Fir {
            sender_ssrc: Ssrc(1),
            media_ssrc: Ssrc(0),
            entries: vec![
                FirEntry {
                    ssrc: Ssrc(10),
                    seq_nr: 7,
                },
                FirEntry {
                    ssrc: Ssrc(11),
                    seq_nr: 8,
                },
            ],
        }
        .into(),
    );
}

// ---- RFC 3611 ----------------------------------------------------------------------------

#[test]
fn rfc3611_rrtr_and_dlrr_blocks() {
    #[rustfmt::skip]
    let bytes = [
        0x80, 207, 0x00, 0x08,          // XR, length 8
        0x00, 0x00, 0x00, 0x01,         // sender
        4, 0, 0x00, 0x02,               // RRTR, length 2
        0xE8, 0x9F, 0x3A, 0x10, 0x80, 0x00, 0x00, 0x00,
        5, 0, 0x00, 0x03,               // DLRR, length 3
        0x00, 0x00, 0x00, 0x02,
        0x3A, 0x10, 0x80, 0x00,
        0x00, 0x00, 0x80, 0x00,
    ];
    round_trip(
        &bytes,
        ExtendedReport {
            sender_ssrc: Ssrc(1),
            blocks: vec![
                XrBlock::ReceiverReferenceTime {
                    ntp_time: NtpTime(0xE89F_3A10_8000_0000),
                },
                XrBlock::Dlrr(vec![DlrrItem {
                    ssrc: Ssrc(2),
                    last_rr: CompactNtp(0x3A10_8000),
                    delay_since_last_rr: CompactNtp(0x8000),
                }]),
            ],
        }
        .into(),
    );
}

#[test]
fn rfc3611_other_blocks_are_kept_raw() {
    #[rustfmt::skip]
    let bytes = [
        0x80, 207, 0x00, 0x04,
        0x00, 0x00, 0x00, 0x01,
        1, 0x12, 0x00, 0x02,            // loss RLE (type 1), kept raw
        0xAA, 0xBB, 0xCC, 0xDD, 0x00, 0x01, 0x00, 0x02,
    ];
    round_trip(
        &bytes,
        ExtendedReport {
            sender_ssrc: Ssrc(1),
            blocks: vec![XrBlock::Unknown {
                block_type: 1,
                type_specific: 0x12,
                body: Bytes::from_static(&[0xAA, 0xBB, 0xCC, 0xDD, 0, 1, 0, 2]),
            }],
        }
        .into(),
    );
}

// ---- RFC 8888 ----------------------------------------------------------------------------

#[test]
fn rfc8888_feedback_with_two_streams() {
    #[rustfmt::skip]
    let bytes = [
        0x8B, 205, 0x00, 0x08,          // FMT=11, RTPFB, length 8
        0x00, 0x00, 0x00, 0x01,         // sender
        0x00, 0x00, 0x00, 0x0A,         // stream 1
        0x00, 0x64, 0x00, 0x03,         // begin 100, 3 reports
        0xC0, 0x10,                     // R=1, ECN=ECT(0), ATO 16
        0x00, 0x00,                     // lost
        0xE0, 0x01,                     // R=1, ECN=CE, ATO 1
        0x00, 0x00,                     // padding
        0x00, 0x00, 0x00, 0x0B,         // stream 2
        0xFF, 0xFF, 0x00, 0x00,         // begin 65535, no report
        0x12, 0x34, 0x56, 0x78,         // report timestamp
    ];
    let want = CongestionControlFeedback {
        sender_ssrc: Ssrc(1),
        streams: vec![
            CcfbStream {
                ssrc: Ssrc(10),
                begin_seq: SeqNum(100),
                metrics: vec![
                    CcfbMetric {
                        received: true,
                        ecn: Ecn::ECT0,
                        arrival_time_offset: 16,
                    },
                    CcfbMetric::LOST,
                    CcfbMetric {
                        received: true,
                        ecn: Ecn::CE,
                        arrival_time_offset: 1,
                    },
                ],
            },
            CcfbStream {
                ssrc: Ssrc(11),
                begin_seq: SeqNum(65535),
                metrics: vec![],
            },
        ],
        report_timestamp: CompactNtp(0x1234_5678),
    };
    round_trip(&bytes, want.clone().into());
    let m = want.streams[0].metrics[0];
    assert_eq!(
        m.offset(),
        Some(Duration::from_millis(15) + Duration::from_nanos(625_000))
    );
    assert_eq!(
        CcfbMetric::received(Ecn::ECT0, Duration::from_micros(15_625)),
        m
    );
    assert_eq!(CcfbMetric::LOST.offset(), None);
}

// ---- libwebrtc's own test vectors --------------------------------------------------------

#[test]
fn libwebrtc_receiver_report() {
    #[rustfmt::skip]
    let bytes = [
        0x81, 201, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
        0x23, 0x45, 0x67, 0x89, 55, 0x11, 0x12, 0x13,
        0x22, 0x23, 0x24, 0x25, 0x33, 0x34, 0x35, 0x36,
        0x44, 0x45, 0x46, 0x47, 0x55, 0x56, 0x57, 0x58,
    ];
    round_trip(
        &bytes,
        ReceiverReport {
            ssrc: Ssrc(0x1234_5678),
            reports: vec![ReportBlock {
                ssrc: Ssrc(0x2345_6789),
                fraction_lost: 55,
                cumulative_lost: 0x11_1213,
                extended_highest_seq: 0x2223_2425,
                jitter: 0x3334_3536,
                last_sr: CompactNtp(0x4445_4647),
                delay_since_last_sr: CompactNtp(0x5556_5758),
            }],
            extension: Bytes::new(),
        }
        .into(),
    );
}

#[test]
fn libwebrtc_remb() {
    #[rustfmt::skip]
    let bytes = [
        0x8f, 206, 0x00, 0x07, 0x12, 0x34, 0x56, 0x78,
        0x00, 0x00, 0x00, 0x00, b'R', b'E', b'M', b'B',
        0x03, 0x07, 0xfb, 0x93, 0x23, 0x45, 0x67, 0x89,
        0x23, 0x45, 0x67, 0x8a, 0x23, 0x45, 0x67, 0x8b,
    ];
    round_trip(
        &bytes,
        Remb {
            sender_ssrc: Ssrc(0x1234_5678),
            media_ssrc: Ssrc(0),
            bitrate: 0x3fb93 * 2,
            ssrcs: vec![Ssrc(0x2345_6789), Ssrc(0x2345_678a), Ssrc(0x2345_678b)],
        }
        .into(),
    );
    // The largest mantissa with the largest exponent that fits 64 bits.
    assert_eq!(Remb::exponent_mantissa(0x3fb93 << 30), (30, 0x3fb93));
}

#[test]
fn libwebrtc_nack_packing() {
    let bytes = [
        0x81, 205, 0, 3, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89, 0x00, 0x00, 0x80, 0x85,
    ];
    let lost = [0, 1, 3, 8, 16].map(SeqNum);
    let nack = Nack::from_lost(Ssrc(0x1234_5678), Ssrc(0x2345_6789), lost);
    round_trip(&bytes, nack.clone().into());
    assert_eq!(nack.lost().collect::<Vec<_>>(), lost);

    #[rustfmt::skip]
    let wrap_bytes = [
        0x81, 205, 0, 6, 0x12, 0x34, 0x56, 0x78, 0x23, 0x45, 0x67, 0x89,
        0xff, 0xdc, 0x80, 0x00, 0xff, 0xfe, 0x00, 0x17,
        0x00, 0x14, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00,
    ];
    let wrap = [0xffdc, 0xffec, 0xfffe, 0xffff, 0, 1, 3, 0x14, 0x64].map(SeqNum);
    let nack = Nack::from_lost(Ssrc(0x1234_5678), Ssrc(0x2345_6789), wrap);
    round_trip(&wrap_bytes, nack.clone().into());
    assert_eq!(nack.lost().collect::<Vec<_>>(), wrap);
}

#[test]
fn libwebrtc_target_bitrate_block() {
    #[rustfmt::skip]
    let bytes = [
        0x80, 207, 0x00, 0x06, 0x12, 0x34, 0x56, 0x78,
        42, 0x00, 0x00, 0x04,
        0x00, 0x01, 0x02, 0x03,
        0x01, 0x02, 0x03, 0x04,
        0x10, 0x03, 0x04, 0x05,
        0x11, 0x04, 0x05, 0x06,
    ];
    let item = |s, t, k| TargetBitrateItem {
        spatial_layer: s,
        temporal_layer: t,
        bitrate_kbps: k,
    };
    round_trip(
        &bytes,
        ExtendedReport {
            sender_ssrc: Ssrc(0x1234_5678),
            blocks: vec![XrBlock::TargetBitrate(vec![
                item(0, 0, 0x010203),
                item(0, 1, 0x020304),
                item(1, 0, 0x030405),
                item(1, 1, 0x040506),
            ])],
        }
        .into(),
    );
}

// ---- transport-wide CC, as Chrome pads it (vectors from pion/rtcp's tests) -----------------

/// Decodes a TWCC packet that uses the RTCP padding bit (as libwebrtc does), and checks that
/// our encoding (zero-filled, no padding bit) decodes to the same value and is as long.
fn decode_padded_twcc(bytes: &[u8]) -> TransportCc {
    let raw = packets(bytes).next().unwrap().unwrap();
    assert!(raw.padding);
    let Packet::TransportCc(t) = Packet::decode(bytes).unwrap() else {
        panic!("not transport-cc");
    };
    let mut out = Vec::new();
    t.encode(&mut out).unwrap();
    assert_eq!(out.len(), bytes.len());
    assert_eq!(TransportCc::decode(&out).unwrap(), t);
    t
}

#[test]
fn twcc_run_length_one_small_delta() {
    let t = decode_padded_twcc(&[
        0xaf, 0xcd, 0x0, 0x5, 0xfa, 0x17, 0xfa, 0x17, 0x43, 0x3, 0x2f, 0xa0, 0x0, 0x99, 0x0, 0x1,
        0x3d, 0xe8, 0x2, 0x17, 0x20, 0x1, 0x94, 0x1,
    ]);
    assert_eq!(t.sender_ssrc, Ssrc(4_195_875_351));
    assert_eq!(t.media_ssrc, Ssrc(1_124_282_272));
    assert_eq!(t.base_seq, SeqNum(153));
    assert_eq!(t.status_count, 1);
    assert_eq!(t.reference_time, 4_057_090);
    assert_eq!(t.fb_pkt_count, 23);
    assert_eq!(
        t.chunks,
        [PacketChunk::RunLength {
            status: PacketStatus::SmallDelta,
            run: 1
        }]
    );
    assert_eq!(t.deltas, [148]); // 37 ms
    let base = 4_057_090i64 * 64_000;
    assert_eq!(
        t.packet_results(),
        [(SeqNum(153), Some(ArrivalTime(base + 37_000)))]
    );
}

#[test]
fn twcc_seven_small_deltas_with_three_padding_octets() {
    let t = decode_padded_twcc(&[
        0xaf, 0xcd, 0x0, 0x7, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x0, 0x4, 0x0, 0x7,
        0x10, 0x63, 0x6e, 0x1, 0x20, 0x7, 0x4c, 0x24, 0x24, 0x10, 0xc, 0xc, 0x10, 0x0, 0x0, 0x3,
    ]);
    assert_eq!(t.status_count, 7);
    assert_eq!(t.reference_time, 1_074_030);
    assert_eq!(t.deltas, [76, 36, 36, 16, 12, 12, 16]);
}

#[test]
fn twcc_two_bit_vector_then_run_of_losses() {
    let t = decode_padded_twcc(&[
        0xaf, 0xcd, 0x0, 0x7, 0x9b, 0x74, 0xf6, 0x1f, 0x93, 0x71, 0xdc, 0xbc, 0x85, 0x3c, 0x0, 0x9,
        0x63, 0xf9, 0x16, 0xb3, 0xd5, 0x52, 0x0, 0x30, 0x9b, 0xaa, 0x6a, 0xaa, 0x7b, 0x1, 0x9, 0x1,
    ]);
    use PacketStatus::*;
    assert_eq!(t.base_seq, SeqNum(34108));
    assert_eq!(t.status_count, 9);
    assert_eq!(
        t.statuses().collect::<Vec<_>>(),
        [
            SmallDelta,
            SmallDelta,
            SmallDelta,
            SmallDelta,
            SmallDelta,
            NotReceived,
            LargeDelta,
            NotReceived,
            NotReceived
        ]
    );
    assert_eq!(
        t.chunks[1],
        PacketChunk::RunLength {
            status: NotReceived,
            run: 48
        }
    );
    assert_eq!(t.deltas, [155, 170, 106, 170, 123, 265]);
    assert_eq!(t.packet_results().len(), 9);
}

#[test]
fn twcc_padding_bit_with_zero_count_is_refused() {
    // Padding bit set but the last octet is 0: libwebrtc refuses these as well.
    let bytes = [
        0xaf, 0xcd, 0x0, 0x7, 0xfa, 0x17, 0xfa, 0x17, 0x19, 0x3d, 0xd8, 0xbb, 0x1, 0x74, 0x0, 0x6,
        0x45, 0xb1, 0x5a, 0x40, 0x40, 0x2, 0x20, 0x04, 0x1f, 0xfe, 0x1f, 0x9a, 0xd0, 0x0, 0xd0,
        0x0,
    ];
    assert_eq!(
        Packet::decode(&bytes).unwrap_err().kind,
        ParseErrorKind::BadPadding
    );
    // Without the padding bit it is a valid packet: two large and four small deltas.
    let mut fixed = bytes;
    fixed[0] &= !0x20;
    let Packet::TransportCc(t) = Packet::decode(&fixed).unwrap() else {
        panic!("not transport-cc");
    };
    assert_eq!(t.deltas, [8190, 8090, 208, 0, 208, 0]);
}
