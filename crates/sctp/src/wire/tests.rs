//! Wire layouts from RFC 9260 §3, RFC 3758 §3.2, RFC 6525 §4, RFC 8260 §2 and RFC 9653 §5,
//! written out byte by byte; proptest round trips for every chunk type.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::error::ParseErrorKind;

fn enc(c: &Chunk) -> Vec<u8> {
    let mut b = BytesMut::new();
    c.encode(&mut b);
    b.to_vec()
}

fn dec(b: &[u8]) -> Chunk {
    let (c, used) = Chunk::decode(&Bytes::copy_from_slice(b), 0).unwrap();
    assert_eq!(used, b.len());
    c
}

#[test]
fn data_chunk_layout() {
    let c = Chunk::Data(Data {
        tsn: Tsn(0x0102_0304),
        stream: StreamId(5),
        ssn: Ssn(6),
        ppid: Ppid(51),
        unordered: true,
        begin: true,
        end: false,
        immediate: false,
        payload: Bytes::from_static(b"hello"),
    });
    let b = enc(&c);
    #[rustfmt::skip]
    let want = [
        0, 0b0110, 0, 21,          // type 0, U+B, length 16 + 5
        1, 2, 3, 4,                // TSN
        0, 5, 0, 6,                // stream, SSN
        0, 0, 0, 51,               // PPID
        b'h', b'e', b'l', b'l', b'o', 0, 0, 0, // padded to 4
    ];
    assert_eq!(b, want);
    assert_eq!(dec(&b), c);
}

#[test]
fn i_data_chunk_layout_puts_ppid_in_the_first_fragment_and_fsn_in_later_ones() {
    let first = Chunk::IData(IData {
        tsn: Tsn(7),
        stream: StreamId(1),
        mid: Mid(9),
        ppid: Ppid(53),
        fsn: 0,
        unordered: false,
        begin: true,
        end: false,
        immediate: false,
        payload: Bytes::from_static(b"abcd"),
    });
    let b = enc(&first);
    assert_eq!(&b[..4], &[64, 0b0010, 0, 24]);
    assert_eq!(&b[16..20], &[0, 0, 0, 53]);
    let later = Chunk::IData(IData {
        ppid: Ppid(0),
        fsn: 3,
        begin: false,
        end: true,
        ..match first.clone() {
            Chunk::IData(d) => d,
            _ => unreachable!(),
        }
    });
    let b = enc(&later);
    assert_eq!(b[1], 0b0001);
    assert_eq!(&b[16..20], &[0, 0, 0, 3]);
    assert_eq!(dec(&b), later);
}

#[test]
fn sack_layout_with_gaps_and_duplicates() {
    let c = Chunk::Sack(Sack {
        cum_tsn: Tsn(100),
        a_rwnd: 65536,
        gaps: vec![(2, 3), (6, 6)],
        dups: vec![Tsn(99)],
    });
    let b = enc(&c);
    #[rustfmt::skip]
    let want = [
        3, 0, 0, 28,
        0, 0, 0, 100,
        0, 1, 0, 0,
        0, 2, 0, 1,                // 2 gap blocks, 1 duplicate
        0, 2, 0, 3, 0, 6, 0, 6,
        0, 0, 0, 99,
    ];
    assert_eq!(b, want);
    assert_eq!(dec(&b), c);
}

#[test]
fn sack_counts_that_lie_are_refused() {
    let mut b = enc(&Chunk::Sack(Sack {
        cum_tsn: Tsn(1),
        a_rwnd: 1,
        gaps: vec![(1, 1)],
        dups: vec![],
    }));
    b[13] = 5; // claims 5 gap blocks
    let e = Chunk::decode(&Bytes::from(b), 0).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadLength);
}

#[test]
fn init_layout_with_webrtc_parameters() {
    let c = Chunk::Init(Init {
        initiate_tag: 0xAABB_CCDD,
        a_rwnd: 0x0010_0000,
        outbound_streams: 1024,
        inbound_streams: 2048,
        initial_tsn: Tsn(42),
        params: vec![
            InitParam::ForwardTsnSupported,
            InitParam::SupportedExtensions(vec![130, 192, 64]),
            InitParam::ZeroChecksumAcceptable(1),
        ],
    });
    let b = enc(&c);
    #[rustfmt::skip]
    let want = [
        1, 0, 0, 40,
        0xAA, 0xBB, 0xCC, 0xDD,
        0, 0x10, 0, 0,
        4, 0, 8, 0,
        0, 0, 0, 42,
        0xC0, 0, 0, 4,               // Forward-TSN supported
        0x80, 0x08, 0, 7, 130, 192, 64, 0, // Supported extensions, padded
        0x80, 0x01, 0, 8, 0, 0, 0, 1, // Zero checksum acceptable, DTLS
    ];
    assert_eq!(b, want);
    assert_eq!(dec(&b), c);
}

#[test]
fn chunk_length_excludes_the_last_parameters_padding() {
    let c = Chunk::InitAck(Init {
        initiate_tag: 1,
        a_rwnd: 1500,
        outbound_streams: 1,
        inbound_streams: 1,
        initial_tsn: Tsn(1),
        params: vec![InitParam::StateCookie(Bytes::from_static(b"abcde"))],
    });
    let b = enc(&c);
    assert_eq!(u16::from_be_bytes([b[2], b[3]]), 4 + 16 + 4 + 5);
    assert_eq!(b.len(), 32);
    assert_eq!(dec(&b), c);
}

#[test]
fn forward_tsn_and_i_forward_tsn_layouts() {
    let f = Chunk::ForwardTsn(ForwardTsn {
        new_cum_tsn: Tsn(9),
        streams: vec![(StreamId(1), Ssn(3))],
    });
    assert_eq!(enc(&f), [192, 0, 0, 12, 0, 0, 0, 9, 0, 1, 0, 3]);
    let i = Chunk::IForwardTsn(IForwardTsn {
        new_cum_tsn: Tsn(9),
        streams: vec![IForwardTsnStream {
            stream: StreamId(2),
            unordered: true,
            mid: Mid(7),
        }],
    });
    assert_eq!(enc(&i), [194, 0, 0, 16, 0, 0, 0, 9, 0, 2, 0, 1, 0, 0, 0, 7]);
    assert_eq!(dec(&enc(&f)), f);
    assert_eq!(dec(&enc(&i)), i);
}

#[test]
fn reconfig_outgoing_reset_layout() {
    let c = Chunk::ReConfig {
        params: vec![ReconfigParam::OutgoingReset {
            request_seq: 1,
            response_seq: 2,
            last_tsn: Tsn(3),
            streams: vec![StreamId(4)],
        }],
    };
    #[rustfmt::skip]
    let want = [
        130, 0, 0, 22,
        0, 13, 0, 18,
        0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3,
        0, 4, 0, 0,
    ];
    assert_eq!(enc(&c), want);
    assert_eq!(dec(&want), c);
}

#[test]
fn abort_with_t_bit_and_cause() {
    let c = Chunk::Abort {
        reflected: true,
        causes: vec![ErrorCause::with_text(12, "x")],
    };
    assert_eq!(enc(&c), [6, 1, 0, 9, 0, 12, 0, 5, b'x', 0, 0, 0]);
    assert_eq!(dec(&enc(&c)), c);
}

#[test]
fn packet_checksum_is_crc32c_little_endian() {
    let p = Packet {
        header: CommonHeader {
            source_port: 5000,
            destination_port: 5000,
            verification_tag: 7,
            checksum: 0,
        },
        chunks: vec![Chunk::CookieAck],
    };
    let b = p.to_bytes(false);
    assert!(Packet::checksum_ok(&b));
    let mut z = b.to_vec();
    z[8..12].fill(0);
    assert_eq!(crc32c::packet_checksum(&z).to_le_bytes(), b[8..12]);
    let mut bad = b.to_vec();
    bad[13] ^= 1;
    assert!(!Packet::checksum_ok(&bad));
    assert_eq!(p.to_bytes(true)[8..12], [0, 0, 0, 0]);
}

#[test]
fn malformed_chunks_are_typed_errors() {
    let b = Bytes::from_static(&[0, 0, 0, 2]);
    assert_eq!(
        Chunk::decode(&b, 0).unwrap_err().kind,
        ParseErrorKind::BadLength
    );
    let b = Bytes::from_static(&[0, 0, 0, 40, 1, 2]);
    assert_eq!(
        Chunk::decode(&b, 0).unwrap_err().kind,
        ParseErrorKind::Truncated
    );
    let b = Bytes::from_static(&[0, 3, 0, 8, 1, 2, 3, 4]); // DATA shorter than its header
    assert_eq!(
        Chunk::decode(&b, 0).unwrap_err().kind,
        ParseErrorKind::BadLength
    );
    let p = Bytes::from_static(&[0; 11]);
    assert_eq!(
        Packet::decode(&p).unwrap_err().kind,
        ParseErrorKind::Truncated
    );
}

fn bytes_s(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn init_param() -> impl Strategy<Value = InitParam> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| InitParam::Ipv4Address(a.into())),
        any::<[u8; 16]>().prop_map(|a| InitParam::Ipv6Address(a.into())),
        bytes_s(40).prop_map(InitParam::StateCookie),
        bytes_s(20).prop_map(InitParam::UnrecognizedParameter),
        any::<u32>().prop_map(InitParam::CookiePreservative),
        bytes_s(20).prop_map(InitParam::HostName),
        proptest::collection::vec(any::<u16>(), 0..4).prop_map(InitParam::SupportedAddressTypes),
        Just(InitParam::EcnCapable),
        any::<u32>().prop_map(InitParam::ZeroChecksumAcceptable),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(InitParam::SupportedExtensions),
        Just(InitParam::ForwardTsnSupported),
        (0x9000u16..0xFFFF, bytes_s(12)).prop_map(|(typ, value)| InitParam::Unknown { typ, value }),
    ]
}

fn reconfig_param() -> impl Strategy<Value = ReconfigParam> {
    let streams = proptest::collection::vec(any::<u16>().prop_map(StreamId), 0..5);
    prop_oneof![
        (any::<u32>(), any::<u32>(), any::<u32>(), streams.clone()).prop_map(|(a, b, c, s)| {
            ReconfigParam::OutgoingReset {
                request_seq: a,
                response_seq: b,
                last_tsn: Tsn(c),
                streams: s,
            }
        }),
        (any::<u32>(), streams).prop_map(|(a, s)| ReconfigParam::IncomingReset {
            request_seq: a,
            streams: s
        }),
        any::<u32>().prop_map(|a| ReconfigParam::SsnTsnReset { request_seq: a }),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::option::of(any::<(u32, u32)>())
        )
            .prop_map(|(a, r, n)| {
                ReconfigParam::Response {
                    response_seq: a,
                    result: ReconfigResult(r),
                    next_tsns: n.map(|(x, y)| (Tsn(x), Tsn(y))),
                }
            }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, c)| ReconfigParam::AddOutgoingStreams {
            request_seq: a,
            count: c
        }),
        (any::<u32>(), any::<u16>()).prop_map(|(a, c)| ReconfigParam::AddIncomingStreams {
            request_seq: a,
            count: c
        }),
        (19u16..100, bytes_s(12)).prop_map(|(typ, value)| ReconfigParam::Unknown { typ, value }),
    ]
}

fn cause() -> impl Strategy<Value = ErrorCause> {
    (any::<u16>(), bytes_s(16)).prop_map(|(code, info)| ErrorCause { code, info })
}

fn chunk() -> impl Strategy<Value = Chunk> {
    let flags = any::<(bool, bool, bool, bool)>();
    let init = || {
        (
            any::<u32>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            proptest::collection::vec(init_param(), 0..5),
        )
            .prop_map(|(t, w, o, i, tsn, params)| Init {
                initiate_tag: t,
                a_rwnd: w,
                outbound_streams: o,
                inbound_streams: i,
                initial_tsn: Tsn(tsn),
                params,
            })
    };
    prop_oneof![
        (any::<(u32, u16, u16, u32)>(), flags, bytes_s(64)).prop_map(
            |((t, s, n, p), (u, b, e, i), payload)| {
                Chunk::Data(Data {
                    tsn: Tsn(t),
                    stream: StreamId(s),
                    ssn: Ssn(n),
                    ppid: Ppid(p),
                    unordered: u,
                    begin: b,
                    end: e,
                    immediate: i,
                    payload,
                })
            }
        ),
        (any::<(u32, u16, u32, u32)>(), flags, bytes_s(64)).prop_map(
            |((t, s, m, x), (u, b, e, i), payload)| {
                Chunk::IData(IData {
                    tsn: Tsn(t),
                    stream: StreamId(s),
                    mid: Mid(m),
                    ppid: Ppid(if b { x } else { 0 }),
                    fsn: if b { 0 } else { x },
                    unordered: u,
                    begin: b,
                    end: e,
                    immediate: i,
                    payload,
                })
            }
        ),
        init().prop_map(Chunk::Init),
        init().prop_map(Chunk::InitAck),
        (
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<(u16, u16)>(), 0..8),
            proptest::collection::vec(any::<u32>().prop_map(Tsn), 0..4)
        )
            .prop_map(|(c, w, gaps, dups)| Chunk::Sack(Sack {
                cum_tsn: Tsn(c),
                a_rwnd: w,
                gaps,
                dups
            })),
        bytes_s(32).prop_map(|info| Chunk::Heartbeat { info }),
        bytes_s(32).prop_map(|info| Chunk::HeartbeatAck { info }),
        (any::<bool>(), proptest::collection::vec(cause(), 0..3))
            .prop_map(|(reflected, causes)| Chunk::Abort { reflected, causes }),
        any::<u32>().prop_map(|c| Chunk::Shutdown { cum_tsn: Tsn(c) }),
        Just(Chunk::ShutdownAck),
        proptest::collection::vec(cause(), 0..3).prop_map(|causes| Chunk::Error { causes }),
        bytes_s(64).prop_map(|cookie| Chunk::CookieEcho { cookie }),
        Just(Chunk::CookieAck),
        any::<bool>().prop_map(|reflected| Chunk::ShutdownComplete { reflected }),
        proptest::collection::vec(reconfig_param(), 0..3)
            .prop_map(|params| Chunk::ReConfig { params }),
        (
            any::<u32>(),
            proptest::collection::vec(any::<(u16, u16)>(), 0..5)
        )
            .prop_map(|(c, s)| {
                Chunk::ForwardTsn(ForwardTsn {
                    new_cum_tsn: Tsn(c),
                    streams: s.into_iter().map(|(a, b)| (StreamId(a), Ssn(b))).collect(),
                })
            }),
        (
            any::<u32>(),
            proptest::collection::vec(any::<(u16, bool, u32)>(), 0..5)
        )
            .prop_map(|(c, s)| {
                Chunk::IForwardTsn(IForwardTsn {
                    new_cum_tsn: Tsn(c),
                    streams: s
                        .into_iter()
                        .map(|(a, u, m)| IForwardTsnStream {
                            stream: StreamId(a),
                            unordered: u,
                            mid: Mid(m),
                        })
                        .collect(),
                })
            }),
        (
            prop_oneof![15u8..64, 65u8..130, 131u8..192, 195u8..=255],
            any::<u8>(),
            bytes_s(32)
        )
            .prop_map(|(typ, flags, value)| Chunk::Unknown { typ, flags, value }),
    ]
}

proptest! {
    #[test]
    fn every_chunk_round_trips(c in chunk()) {
        let b = enc(&c);
        prop_assert_eq!(b.len(), c.padded_len());
        prop_assert_eq!(dec(&b), c);
    }

    #[test]
    fn packets_round_trip(chunks in proptest::collection::vec(chunk(), 1..5), tag in any::<u32>()) {
        let p = Packet { header: CommonHeader { source_port: 5000, destination_port: 5000, verification_tag: tag, checksum: 0 }, chunks };
        let b = p.to_bytes(false);
        prop_assert!(Packet::checksum_ok(&b));
        let q = Packet::decode(&b).unwrap();
        prop_assert_eq!(q.chunks, p.chunks);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let b = Bytes::from(b);
        let _ = Packet::decode(&b);
        let _ = Chunk::decode(&b, 0);
    }
}

#[test]
fn the_other_chunk_layouts() {
    // RFC 9260 §3.3.5-§3.3.13, each as it appears on the wire.
    let hb_info = Bytes::from_static(&[0, 1, 0, 8, 1, 2, 3, 4]); // Heartbeat Info TLV
    let cases: Vec<(Chunk, Vec<u8>)> = vec![
        (
            Chunk::Heartbeat {
                info: hb_info.clone(),
            },
            [vec![4, 0, 0, 12], hb_info.to_vec()].concat(),
        ),
        (
            Chunk::HeartbeatAck {
                info: hb_info.clone(),
            },
            [vec![5, 0, 0, 12], hb_info.to_vec()].concat(),
        ),
        (
            Chunk::Shutdown {
                cum_tsn: Tsn(0x0A0B_0C0D),
            },
            vec![7, 0, 0, 8, 0x0A, 0x0B, 0x0C, 0x0D],
        ),
        (Chunk::ShutdownAck, vec![8, 0, 0, 4]),
        (
            Chunk::ShutdownComplete { reflected: true },
            vec![14, 1, 0, 4],
        ),
        (
            Chunk::ShutdownComplete { reflected: false },
            vec![14, 0, 0, 4],
        ),
        (
            Chunk::Error {
                causes: vec![ErrorCause {
                    code: ErrorCause::INVALID_STREAM_ID,
                    info: Bytes::from_static(&[0, 9, 0, 0]),
                }],
            },
            vec![9, 0, 0, 12, 0, 1, 0, 8, 0, 9, 0, 0],
        ),
        (
            Chunk::CookieEcho {
                cookie: Bytes::from_static(b"cookie"),
            },
            vec![10, 0, 0, 10, b'c', b'o', b'o', b'k', b'i', b'e', 0, 0],
        ),
        (Chunk::CookieAck, vec![11, 0, 0, 4]),
        (
            Chunk::Unknown {
                typ: 0x84,
                flags: 0,
                value: Bytes::from_static(&[0; 4]),
            },
            vec![0x84, 0, 0, 8, 0, 0, 0, 0],
        ),
    ];
    for (chunk, want) in cases {
        assert_eq!(enc(&chunk), want, "{chunk:?}");
        assert_eq!(dec(&want), chunk);
    }
}
