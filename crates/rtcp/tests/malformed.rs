//! Malformed input gives typed errors with offsets; values that do not fit the wire are
//! refused before anything is written.

use bytes::Bytes;
use weft_rtcp::*;

fn err(bytes: &[u8]) -> ParseError {
    match Compound::decode(bytes) {
        Ok(c) => panic!("decoded {c:?}"),
        Err(e) => e,
    }
}

fn kind(bytes: &[u8]) -> ParseErrorKind {
    err(bytes).kind
}

#[test]
fn header_errors() {
    assert_eq!(kind(&[0x80, 201, 0]), ParseErrorKind::TruncatedHeader);
    assert_eq!(
        err(&[0x40, 201, 0, 1, 0, 0, 0, 1]),
        ParseError {
            kind: ParseErrorKind::BadVersion,
            offset: 0
        }
    );
    // A second packet with a bad version: the offset points at it.
    assert_eq!(
        err(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0xC0, 201, 0, 0]).offset,
        8
    );
    // Trailing bytes shorter than a header.
    assert_eq!(
        kind(&[0x80, 201, 0, 1, 0, 0, 0, 1, 0x80]),
        ParseErrorKind::TruncatedHeader
    );
}

#[test]
fn lengths_past_the_end() {
    assert_eq!(
        err(&[0x80, 201, 0, 2, 0, 0, 0, 1]),
        ParseError {
            kind: ParseErrorKind::LengthPastEnd,
            offset: 2
        }
    );
    assert_eq!(
        kind(&[0x80, 201, 0xFF, 0xFF]),
        ParseErrorKind::LengthPastEnd
    );
}

#[test]
fn padding_lies() {
    // Padding bit with a zero count.
    assert_eq!(
        kind(&[0xA0, 201, 0, 1, 0, 0, 0, 0]),
        ParseErrorKind::BadPadding
    );
    // A count longer than the body.
    assert_eq!(
        kind(&[0xA0, 201, 0, 1, 0, 0, 0, 5]),
        ParseErrorKind::BadPadding
    );
    // A count that eats into the SSRC leaves too little body.
    assert_eq!(
        kind(&[0xA0, 201, 0, 1, 0, 0, 0, 2]),
        ParseErrorKind::Truncated
    );
    // Padding that leaves a report extension of 2 bytes.
    assert_eq!(
        kind(&[0xA0, 201, 0, 2, 0, 0, 0, 1, 9, 9, 0, 2]),
        ParseErrorKind::BadLength
    );
}

#[test]
fn counts_that_lie() {
    // RR says 2 blocks, holds 1.
    let mut rr = vec![0x82, 201, 0, 7, 0, 0, 0, 1];
    rr.extend([0; 24]);
    assert_eq!(
        err(&rr),
        ParseError {
            kind: ParseErrorKind::Truncated,
            offset: 32
        }
    );
    // SR with no room for its sender info.
    assert_eq!(
        kind(&[0x80, 200, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0]),
        ParseErrorKind::Truncated
    );
    // SDES says 2 chunks, holds 1.
    assert_eq!(
        kind(&[0x82, 202, 0, 2, 0, 0, 0, 1, 1, 1, b'a', 0]),
        ParseErrorKind::Truncated
    );
    // SDES says 1 chunk, holds 2.
    assert_eq!(
        kind(&[
            0x81, 202, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0
        ]),
        ParseErrorKind::BadLength
    );
    // BYE says 3 sources, holds 2.
    assert_eq!(
        kind(&[0x83, 203, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]),
        ParseErrorKind::Truncated
    );
    // REMB says 2 SSRCs, holds 1.
    #[rustfmt::skip]
    let remb = [
        0x8F, 206, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B',
        2, 0, 0, 1, 0, 0, 0, 9,
    ];
    assert_eq!(kind(&remb), ParseErrorKind::Truncated);
    // RFC 8888 says 5 reports for a stream, holds 2.
    #[rustfmt::skip]
    let ccfb = [
        0x8B, 205, 0, 4, 0, 0, 0, 1,
        0, 0, 0, 2, 0, 1, 0, 5,
        0x80, 0x01, 0x80, 0x02,
        0, 0, 0, 0,
    ];
    assert_eq!(kind(&ccfb), ParseErrorKind::Truncated);
    // RFC 8888 with more reports than half the sequence space.
    #[rustfmt::skip]
    let ccfb_huge = [
        0x8B, 205, 0, 3, 0, 0, 0, 1,
        0, 0, 0, 2, 0, 1, 0x40, 0x01,
        0, 0, 0, 0,
    ];
    assert_eq!(kind(&ccfb_huge), ParseErrorKind::BadStatusCount);
}

#[test]
fn twcc_status_count_past_the_chunks_or_deltas() {
    // 20 packets announced, one chunk of 14 and nothing after it.
    #[rustfmt::skip]
    let short_chunks = [
        0x8F, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 1, 0, 20, 0, 0, 1, 0,
        0x80, 0x00, 0, 0,
    ];
    // The zero padding reads as a run-length chunk of 0 packets, then the body ends.
    assert_eq!(kind(&short_chunks), ParseErrorKind::Truncated);
    // 3 small deltas announced, 2 present.
    #[rustfmt::skip]
    let short_deltas = [
        0x8F, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 1, 0, 3, 0, 0, 1, 0,
        0x20, 0x03, 4, 4,
    ];
    assert_eq!(
        err(&short_deltas),
        ParseError {
            kind: ParseErrorKind::Truncated,
            offset: 24
        }
    );
    // The reserved symbol 3 in a run-length chunk.
    #[rustfmt::skip]
    let reserved = [
        0x8F, 205, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 1, 0, 1, 0, 0, 1, 0,
        0x60, 0x01, 0, 0,
    ];
    assert_eq!(
        err(&reserved),
        ParseError {
            kind: ParseErrorKind::ReservedStatusSymbol,
            offset: 20
        }
    );
    // Four or more bytes after the deltas.
    #[rustfmt::skip]
    let trailing = [
        0x8F, 205, 0, 6, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 1, 0, 1, 0, 0, 1, 0,
        0x20, 0x01, 4, 0, 0, 0, 0, 0,
    ];
    assert_eq!(kind(&trailing), ParseErrorKind::BadLength);
}

#[test]
fn sdes_items_that_lie() {
    // An item running past the chunk.
    assert_eq!(
        err(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, b'a', b'b']),
        ParseError {
            kind: ParseErrorKind::BadSdesChunk,
            offset: 10
        }
    );
    // No terminating null octet.
    assert_eq!(
        kind(&[0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, b'a', b'b']),
        ParseErrorKind::BadSdesChunk
    );
}

#[test]
fn feedback_of_the_wrong_size() {
    // PLI with an FCI.
    assert_eq!(
        kind(&[0x81, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0]),
        ParseErrorKind::BadLength
    );
    // NACK whose FCI is not whole entries (made so by padding).
    assert_eq!(
        kind(&[0xA1, 205, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1, 0, 2]),
        ParseErrorKind::BadLength
    );
    // FIR with half an entry.
    assert_eq!(
        kind(&[0x84, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]),
        ParseErrorKind::BadLength
    );
    // Feedback without its SSRCs.
    assert_eq!(
        kind(&[0x81, 205, 0, 1, 0, 0, 0, 1]),
        ParseErrorKind::Truncated
    );
}

#[test]
fn remb_bitrate_past_64_bits() {
    #[rustfmt::skip]
    let remb = [
        0x8F, 206, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0, b'R', b'E', b'M', b'B',
        0, 0xFF, 0xFF, 0xFF,           // exponent 63, mantissa 0x3FFFF
    ];
    assert_eq!(
        err(&remb),
        ParseError {
            kind: ParseErrorKind::BadValue,
            offset: 17
        }
    );
}

#[test]
fn application_layer_feedback_other_than_remb_is_kept_raw() {
    let bytes = [
        0x8F, 206, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, b'G', b'O', b'O', b'G',
    ];
    let p = Packet::decode(&bytes).unwrap();
    assert!(matches!(&p, Packet::Unknown(u) if u.packet_type == 206 && u.count == 15));
    let mut out = Vec::new();
    p.encode(&mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn unknown_types_keep_their_padding() {
    let bytes = [0xA3, 210, 0, 2, 1, 2, 3, 4, 5, 0, 0, 3];
    let p = Packet::decode(&bytes).unwrap();
    assert_eq!(
        p,
        Packet::Unknown(UnknownPacket {
            packet_type: 210,
            count: 3,
            padding: true,
            body: Bytes::from_static(&[1, 2, 3, 4, 5, 0, 0, 3]),
        })
    );
    let mut out = Vec::new();
    p.encode(&mut out).unwrap();
    assert_eq!(out, bytes);
}

#[test]
fn xr_block_lengths_that_lie() {
    // Block length 5 words, 2 present.
    #[rustfmt::skip]
    let bytes = [0x80, 207, 0, 4, 0, 0, 0, 1, 4, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        err(&bytes),
        ParseError {
            kind: ParseErrorKind::BadXrBlock,
            offset: 8
        }
    );
    // RRTR of 1 word.
    assert_eq!(
        kind(&[0x80, 207, 0, 3, 0, 0, 0, 1, 4, 0, 0, 1, 0, 0, 0, 0]),
        ParseErrorKind::BadXrBlock
    );
    // DLRR of 2 words.
    assert_eq!(
        kind(&[
            0x80, 207, 0, 4, 0, 0, 0, 1, 5, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0
        ]),
        ParseErrorKind::BadXrBlock
    );
}

#[test]
fn single_packet_decoding_checks_the_whole_buffer_and_the_type() {
    let rr = [0x80, 201, 0, 1, 0, 0, 0, 1];
    let mut two = rr.to_vec();
    two.extend(rr);
    assert_eq!(
        Packet::decode(&two).unwrap_err(),
        ParseError {
            kind: ParseErrorKind::BadLength,
            offset: 8
        }
    );
    assert_eq!(
        SenderReport::decode(&rr).unwrap_err().kind,
        ParseErrorKind::UnexpectedType
    );
    assert_eq!(ReceiverReport::decode(&rr).unwrap().ssrc, Ssrc(1));
}

#[test]
fn the_iterator_stops_after_an_error() {
    let bytes = [
        0x80, 201, 0, 1, 0, 0, 0, 1, 0x80, 201, 0, 9, 0x80, 201, 0, 1,
    ];
    let items: Vec<_> = packets(&bytes).collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    assert_eq!(items[1].unwrap_err().kind, ParseErrorKind::LengthPastEnd);
}

#[test]
fn values_that_do_not_fit_are_refused_before_writing() {
    let mut out = Vec::new();
    let rr = ReceiverReport {
        reports: vec![ReportBlock::default(); 32],
        ..Default::default()
    };
    assert_eq!(
        rr.encode(&mut out),
        Err(Error::TooMany {
            what: "report blocks",
            len: 32,
            max: 31
        })
    );
    let lost = ReceiverReport {
        reports: vec![ReportBlock {
            cumulative_lost: 0x80_0000,
            ..Default::default()
        }],
        ..Default::default()
    };
    assert!(matches!(
        lost.encode(&mut out),
        Err(Error::OutOfRange { .. })
    ));
    let sdes = SourceDescription {
        chunks: vec![SdesChunk::cname(Ssrc(1), vec![b'x'; 256])],
    };
    assert!(matches!(
        sdes.encode(&mut out),
        Err(Error::BadFieldLength { .. })
    ));
    let bye = Goodbye {
        sources: vec![],
        reason: Some(Bytes::from(vec![b'x'; 300])),
    };
    assert!(bye.encode(&mut out).is_err());
    let app = App {
        data: Bytes::from_static(&[1, 2, 3]),
        ..Default::default()
    };
    assert!(app.encode(&mut out).is_err());
    let sli = Sli {
        entries: vec![SliEntry {
            first: 0x2000,
            number: 0,
            picture_id: 0,
        }],
        ..Default::default()
    };
    assert!(sli.encode(&mut out).is_err());
    let remb = Remb {
        ssrcs: vec![Ssrc(0); 256],
        ..Default::default()
    };
    assert!(remb.encode(&mut out).is_err());
    let twcc = TransportCc {
        status_count: 20,
        chunks: vec![PacketChunk::OneBit(0)],
        ..Default::default()
    };
    assert!(twcc.encode(&mut out).is_err());
    let twcc = TransportCc {
        status_count: 1,
        chunks: vec![PacketChunk::RunLength {
            status: PacketStatus::SmallDelta,
            run: 1,
        }],
        deltas: vec![300],
        ..Default::default()
    };
    assert!(twcc.encode(&mut out).is_err());
    let xr = ExtendedReport {
        blocks: vec![XrBlock::Unknown {
            block_type: 4,
            type_specific: 0,
            body: Bytes::from_static(&[0; 8]),
        }],
        ..Default::default()
    };
    assert!(xr.encode(&mut out).is_err());
    let big = Nack {
        pairs: vec![
            NackPair {
                pid: SeqNum(0),
                blp: 0
            };
            70_000
        ],
        ..Default::default()
    };
    assert!(big.encode(&mut out).is_err());
    // A raw packet of a type the crate decodes would not come back raw.
    let raw_rr = UnknownPacket {
        packet_type: 201,
        count: 0,
        padding: false,
        body: Bytes::from_static(&[0, 0, 0, 1]),
    };
    assert!(raw_rr.encode(&mut out).is_err());
    let raw_remb = UnknownPacket {
        packet_type: 206,
        count: 15,
        padding: false,
        body: Bytes::from_static(b"\0\0\0\x01\0\0\0\0REMB\0\0\0\0"),
    };
    assert!(raw_remb.encode(&mut out).is_err());
    assert!(out.is_empty(), "nothing was written");
}
