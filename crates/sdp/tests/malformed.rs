//! Malformed and hostile input: every limit, every structural rule, and a bad line in each
//! known grammar give a typed error with the line number and text; a bad line in an
//! unknown attribute does not.

use weft_sdp::{Attribute, ERROR_TEXT_LEN, Limits, ParseErrorKind as K, SessionDescription};

const HEAD: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

fn with(lines: &str) -> String {
    format!("{HEAD}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{lines}")
}

fn err(text: &str) -> weft_sdp::ParseError {
    SessionDescription::parse(text).expect_err(text)
}

#[test]
fn total_size_limit() {
    let limits = Limits {
        max_size: 100,
        ..Limits::default()
    };
    let big = with(&"a=x\r\n".repeat(40));
    let e = SessionDescription::decode_with(big.as_bytes(), &limits).unwrap_err();
    assert_eq!(e.kind, K::TooLarge { limit: 100 });
    assert_eq!(e.line, 0);
    assert_eq!(e.to_string(), "description larger than the 100-byte limit");
    let e = SessionDescription::decode(&vec![b'a'; (1 << 20) + 1]).unwrap_err();
    assert_eq!(e.kind, K::TooLarge { limit: 1 << 20 });
}

#[test]
fn line_count_limit() {
    let limits = Limits {
        max_lines: 10,
        ..Limits::default()
    };
    let text = with(&"a=rtcp-mux\r\n".repeat(10));
    let e = SessionDescription::parse_with(&text, &limits).unwrap_err();
    assert_eq!(e.kind, K::TooManyLines { limit: 10 });
    assert_eq!(e.line, 11);
    // Blank lines count too.
    let e =
        SessionDescription::parse_with(&format!("{HEAD}{}", "\n".repeat(20)), &limits).unwrap_err();
    assert_eq!(e.kind, K::TooManyLines { limit: 10 });
    // A description at the limit is fine.
    let ok = with(&"a=rtcp-mux\r\n".repeat(5));
    assert!(SessionDescription::parse_with(&ok, &limits).is_ok());
}

#[test]
fn line_length_limit() {
    let limits = Limits {
        max_line_len: 64,
        ..Limits::default()
    };
    let long = format!("a=x-long:{}", "é".repeat(100));
    let e = SessionDescription::parse_with(&with(&format!("{long}\r\n")), &limits).unwrap_err();
    assert_eq!(e.kind, K::LineTooLong { limit: 64 });
    assert_eq!(e.line, 6);
    // The text is bounded and cut on a character boundary.
    assert!(e.text().len() <= ERROR_TEXT_LEN);
    assert!(long.starts_with(e.text()));
    assert!(e.text().len() > ERROR_TEXT_LEN - 2);
    // The default limit: 8 KiB.
    let e = err(&with(&format!("a=x:{}\r\n", "y".repeat(9000))));
    assert_eq!(e.kind, K::LineTooLong { limit: 8192 });
}

#[test]
fn not_utf8_names_the_line() {
    let mut bytes = with("a=x-ok:1\r\n").into_bytes();
    bytes.extend_from_slice(b"a=x-bad:\xff\xfe\r\n");
    let e = SessionDescription::decode(&bytes).unwrap_err();
    assert_eq!(e.kind, K::InvalidUtf8);
    assert_eq!(e.line, 7);
    assert_eq!(e.text(), "a=x-bad:");
    assert_eq!(&bytes[e.offset..e.offset + 8], b"a=x-bad:");
}

#[test]
fn structure_errors() {
    let cases: &[(&str, K, usize)] = &[
        ("", K::Empty, 0),
        ("\r\n\r\n", K::Empty, 0),
        ("v=1\r\n", K::BadVersion, 1),
        ("o=- 1 1 IN IP4 x\r\nv=0\r\n", K::BadVersion, 1),
        ("v=0\r\nv=0\r\n", K::DuplicateLine, 2),
        ("v=0\r\ns=-\r\nt=0 0\r\n", K::MissingRequiredLine, 0),
        ("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\n", K::MissingTiming, 0),
        ("v=0\r\nhello\r\n", K::BadLine, 2),
        ("v=0\r\n=x\r\n", K::BadLine, 2),
        ("v=0\r\nx=1\r\n", K::UnknownLineType, 2),
        ("v=0\r\né=1\r\n", K::BadLine, 2),
        ("v=0\r\no=- x 1 IN IP4 a\r\n", K::BadOrigin, 2),
        ("v=0\r\no=- 1 1 IN IP4\r\n", K::BadOrigin, 2),
        (
            "v=0\r\no=- 99999999999999999999 1 IN IP4 a\r\n",
            K::BadOrigin,
            2,
        ),
        ("v=0\r\ns=a\r\ns=b\r\n", K::DuplicateLine, 3),
        ("v=0\r\nc=IN IP4\r\n", K::BadConnection, 2),
        ("v=0\r\nc=IN IP4 1.2.3.4/300\r\n", K::BadConnection, 2),
        ("v=0\r\nc=IN IP6 ::1/1/2\r\n", K::BadConnection, 2),
        ("v=0\r\nb=AS\r\n", K::BadBandwidth, 2),
        ("v=0\r\nb=AS:x\r\n", K::BadBandwidth, 2),
        ("v=0\r\nt=0\r\n", K::BadTiming, 2),
        ("v=0\r\nt=0 x\r\n", K::BadTiming, 2),
        ("v=0\r\nr=1 2 3\r\n", K::UnexpectedLine, 2),
        ("v=0\r\nm=audio\r\n", K::BadMedia, 2),
        ("v=0\r\nm=audio x RTP/AVP 0\r\n", K::BadMedia, 2),
        ("v=0\r\nm=audio 70000 RTP/AVP 0\r\n", K::BadMedia, 2),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\nt=0 0\r\n",
            K::UnexpectedLine,
            3,
        ),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\no=- 1 1 IN IP4 x\r\n",
            K::UnexpectedLine,
            3,
        ),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\ni=a\r\ni=b\r\n",
            K::DuplicateLine,
            4,
        ),
        (
            "v=0\r\nm=audio 9 RTP/AVP 0\r\nq=1\r\n",
            K::UnknownLineType,
            3,
        ),
        ("v=0\r\na=:x\r\n", K::EmptyAttributeName, 2),
    ];
    for (text, kind, line) in cases {
        let e = err(text);
        assert_eq!((e.kind, e.line), (*kind, *line), "{text:?}");
    }
}

#[test]
fn bad_line_in_each_known_grammar_is_a_typed_error() {
    let cases = [
        ("candidate", "a=candidate:1 1 udp 1 1.2.3.4 1 typ"),
        ("candidate", "a=candidate:1 1 udp 1 1.2.3.4 99999 typ host"),
        ("end-of-candidates", "a=end-of-candidates:now"),
        ("ice-ufrag", "a=ice-ufrag:a b"),
        ("ice-pwd", "a=ice-pwd:"),
        ("ice-options", "a=ice-options:"),
        ("ice-lite", "a=ice-lite:yes"),
        ("fingerprint", "a=fingerprint:sha-256 00:11"),
        ("setup", "a=setup:sideways"),
        ("tls-id", "a=tls-id"),
        ("mid", "a=mid"),
        ("group", "a=group:"),
        ("msid", "a=msid:a b c"),
        ("msid-semantic", "a=msid-semantic:"),
        ("rtpmap", "a=rtpmap:111 opus"),
        ("fmtp", "a=fmtp: 111"),
        ("rtcp-fb", "a=rtcp-fb:x nack"),
        ("rtcp", "a=rtcp:9 IN"),
        ("rtcp-mux", "a=rtcp-mux:1"),
        ("rtcp-mux-only", "a=rtcp-mux-only:1"),
        ("rtcp-rsize", "a=rtcp-rsize:1"),
        ("extmap", "a=extmap:1/both urn:x"),
        ("extmap-allow-mixed", "a=extmap-allow-mixed:1"),
        ("ssrc", "a=ssrc:abc cname:x"),
        ("ssrc-group", "a=ssrc-group:FID 1 two"),
        ("rid", "a=rid:q sideways"),
        ("simulcast", "a=simulcast:send"),
        ("sctp-port", "a=sctp-port:65536"),
        ("max-message-size", "a=max-message-size:-1"),
        ("sctpmap", "a=sctpmap:x webrtc-datachannel"),
        ("sctp-init", "a=sctp-init"),
        ("sendrecv", "a=sendrecv:1"),
        ("sendonly", "a=sendonly:1"),
        ("recvonly", "a=recvonly:1"),
        ("inactive", "a=inactive:1"),
        ("bundle-only", "a=bundle-only:1"),
        ("framerate", "a=framerate:NaN"),
        ("ptime", "a=ptime:0"),
        ("maxptime", "a=maxptime:-20"),
        ("identity", "a=identity"),
    ];
    for (name, line) in cases {
        let e = err(&with(&format!("a=mid:0\r\n{line}\r\n")));
        assert_eq!(e.kind, K::BadAttribute { name }, "{line}");
        assert_eq!(e.line, 7, "{line}");
        assert_eq!(e.text(), line);
        assert_eq!(
            e.to_string(),
            format!("bad value for a={name} at line 7: {line:?}")
        );
        // At session level too.
        let e = err(&format!("{HEAD}{line}\r\n"));
        assert_eq!(e.kind, K::BadAttribute { name }, "{line}");
        assert_eq!(e.line, 5);
    }
}

#[test]
fn unknown_attribute_with_odd_content_parses_verbatim() {
    let odd = [
        "a=x-odd:   spaces   and ::: colons ;;; \t tabs ",
        "a=weird",
        "a=weird:",
        "a=ünïcödé:✓ ☃",
        "a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics",
        "a=Mid:not the mid attribute",
        "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32",
    ];
    for line in odd {
        let text = with(&format!("{line}\r\na=mid:0\r\n"));
        let sd = SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{line}: {e}"));
        let a = &sd.media[0].attributes[0];
        assert!(matches!(a, Attribute::Other { .. }), "{line}");
        assert_eq!(format!("a={a}"), line);
        assert_eq!(sd.to_string(), text);
        assert_eq!(sd.media[0].mid(), Some("0"));
    }
}

#[test]
fn leniencies_that_keep_the_value() {
    // LF endings, a missing final newline, blank lines and trailing blanks after a typed
    // value all parse to the same value as the clean form.
    let clean = with("a=mid:0\r\na=rtpmap:111 opus/48000/2\r\n");
    let base = SessionDescription::parse(&clean).unwrap();
    for variant in [
        clean.replace("\r\n", "\n"),
        clean.trim_end().to_owned(),
        clean.replace("t=0 0\r\n", "t=0 0\r\n\r\n"),
        clean.replace("opus/48000/2", "opus/48000/2  "),
    ] {
        assert_eq!(
            SessionDescription::parse(&variant).unwrap(),
            base,
            "{variant:?}"
        );
    }
    assert_eq!(base.to_string(), clean);
}
