//! Malformed packets and payloads give typed errors with the offset of the fault.

use weft_rtp::codec::Depacketizer;
use weft_rtp::codec::h264::H264Depacketizer;
use weft_rtp::{Packet, ParseError, ParseErrorKind};

fn header(b0: u8) -> Vec<u8> {
    vec![b0, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]
}

#[test]
fn malformed_packets() {
    use ParseErrorKind::*;
    let cases: Vec<(&str, Vec<u8>, ParseError)> = vec![
        (
            "empty",
            vec![],
            ParseError {
                kind: Truncated,
                offset: 0,
            },
        ),
        (
            "version 1",
            header(0x40),
            ParseError {
                kind: BadVersion,
                offset: 0,
            },
        ),
        (
            "short header",
            header(0x80)[..11].to_vec(),
            ParseError {
                kind: Truncated,
                offset: 8,
            },
        ),
        (
            "csrc count past the end",
            [header(0x82), vec![0; 4]].concat(),
            ParseError {
                kind: Truncated,
                offset: 12,
            },
        ),
        (
            "extension header past the end",
            [header(0x90), vec![0xbe]].concat(),
            ParseError {
                kind: Truncated,
                offset: 12,
            },
        ),
        (
            "extension length past the end",
            [header(0x90), vec![0xbe, 0xde, 0, 2, 0x10, 1, 0, 0]].concat(),
            ParseError {
                kind: Truncated,
                offset: 16,
            },
        ),
        (
            "one-byte element that lies",
            [header(0x90), vec![0xbe, 0xde, 0, 1, 0x1f, 1, 2, 3]].concat(),
            ParseError {
                kind: BadExtensionLength,
                offset: 16,
            },
        ),
        (
            "two-byte element that lies",
            [header(0x90), vec![0x10, 0x00, 0, 1, 0, 7, 9, 1]].concat(),
            ParseError {
                kind: BadExtensionLength,
                offset: 17,
            },
        ),
        (
            "padding longer than the payload",
            [header(0xa0), vec![1, 2, 9]].concat(),
            ParseError {
                kind: BadPadding,
                offset: 14,
            },
        ),
        (
            "padding count zero",
            [header(0xa0), vec![1, 2, 0]].concat(),
            ParseError {
                kind: BadPadding,
                offset: 14,
            },
        ),
        (
            "padding flag without bytes",
            header(0xa0),
            ParseError {
                kind: BadPadding,
                offset: 12,
            },
        ),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(Packet::decode(&bytes).unwrap_err(), want, "{name}");
    }
}

#[test]
fn fu_a_without_a_start_after_loss() {
    let mut d = H264Depacketizer::new();
    let mut out = Vec::new();
    // Start, then the middle is lost and the depacketizer reset by the sample builder.
    d.depacketize(&[0x7c, 0x85, 1, 2], &mut out).unwrap();
    d.reset();
    let e = d.depacketize(&[0x7c, 0x45, 5, 6], &mut out).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::MissingStart);
    assert!(out.is_empty());
}
