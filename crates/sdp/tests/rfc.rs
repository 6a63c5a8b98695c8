//! The examples of RFC 8866, RFC 8839, RFC 8851, RFC 8853 and RFC 8841, parsed, checked
//! field by field and round-tripped.

use weft_sdp::{
    Attribute, CandidateType, Connection, MediaKind, RidDirection, SessionDescription, Setup,
    SimulcastRid,
};

fn parse_rt(text: &str) -> SessionDescription {
    let crlf = text.replace('\n', "\r\n");
    let sd = SessionDescription::parse(&crlf).unwrap_or_else(|e| panic!("{e}"));
    let again = SessionDescription::parse(&sd.to_string()).unwrap();
    assert_eq!(again, sd);
    sd
}

/// RFC 8866 §5, the example session description.
const RFC8866_EXAMPLE: &str = "v=0
o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1
s=Call to John Smith
i=SDP Offer #1
u=http://www.jdoe.example.com/home.html
e=Jane Doe <jane@jdoe.example.com>
p=+1 617 555-6011
c=IN IP4 198.51.100.1
t=0 0
m=audio 49170 RTP/AVP 0
m=audio 49180 RTP/AVP 0
m=video 51372 RTP/AVP 99
c=IN IP6 2001:db8::2
a=rtpmap:99 h263-1998/90000
";

#[test]
fn rfc8866_example_session() {
    let sd = parse_rt(RFC8866_EXAMPLE);
    // The example follows the RFC's line order, so it prints back byte for byte.
    assert_eq!(sd.to_string(), RFC8866_EXAMPLE.replace('\n', "\r\n"));
    assert_eq!(sd.origin.username, "jdoe");
    assert_eq!(sd.origin.session_id, 3724394400);
    assert_eq!(sd.origin.session_version, 3724394405);
    assert_eq!(sd.session_name, "Call to John Smith");
    assert_eq!(sd.information.as_deref(), Some("SDP Offer #1"));
    assert_eq!(
        sd.uri.as_deref(),
        Some("http://www.jdoe.example.com/home.html")
    );
    assert_eq!(sd.emails, ["Jane Doe <jane@jdoe.example.com>"]);
    assert_eq!(sd.phones, ["+1 617 555-6011"]);
    assert_eq!(sd.connection, Some(Connection::ip4("198.51.100.1")));
    assert_eq!(sd.media.len(), 3);
    assert_eq!(sd.media[1].port, 49180);
    let video = &sd.media[2];
    assert_eq!(video.kind, MediaKind::Video);
    assert_eq!(video.connections, [Connection::ip6("2001:db8::2")]);
    let codec = video.codec(99).unwrap();
    assert_eq!(codec.name(), Some("h263-1998"));
    assert_eq!(codec.clock_rate(), Some(90000));
    // A static payload type without rtpmap is still a codec.
    assert_eq!(sd.media[0].codec(0).unwrap().rtpmap, None);
}

#[test]
fn rfc8866_timing_repeat_zone_multicast_and_bandwidth() {
    // RFC 8866 §5.7, §5.8, §5.10, §5.11 examples, gathered in one description, with
    // two t= lines (§5.9 allows several).
    let sd = parse_rt(
        "v=0
o=- 1 1 IN IP4 192.0.2.1
s= 
c=IN IP4 233.252.0.1/127/3
b=CT:128
t=3724394400 3724398000
r=604800 3600 0 90000
r=7d 1h 0 25h
t=3724480800 3724484400
z=2882844526 -1h 2898848070 0
k=prompt
a=recvonly
a=tool:weft
m=audio 49170/2 RTP/AVP 0
c=IN IP6 ff00::db8:0:101/3
c=IN IP4 233.252.0.2/127
b=AS:64
k=clear:secret
a=ptime:20
a=maxptime:40.5
m=video 51372 RTP/AVP 31
a=framerate:29.97
",
    );
    assert_eq!(sd.session_name, " ");
    let c = sd.connection.as_ref().unwrap();
    assert_eq!(
        (c.address.as_str(), c.ttl, c.count),
        ("233.252.0.1", Some(127), Some(3))
    );
    assert_eq!(sd.bandwidths[0].kind, "CT");
    assert_eq!(sd.bandwidths[0].value, 128);
    assert_eq!(sd.timing.len(), 2);
    assert_eq!(sd.timing[0].repeats, ["604800 3600 0 90000", "7d 1h 0 25h"]);
    assert_eq!(sd.timing[1].start, 3724480800);
    assert_eq!(
        sd.time_zones.as_deref(),
        Some("2882844526 -1h 2898848070 0")
    );
    assert_eq!(sd.key.as_deref(), Some("prompt"));
    let audio = &sd.media[0];
    assert_eq!((audio.port, audio.port_count), (49170, Some(2)));
    let c6 = &audio.connections[0];
    assert_eq!(
        (c6.address.as_str(), c6.ttl, c6.count),
        ("ff00::db8:0:101", None, Some(3))
    );
    assert_eq!(audio.connections[1].ttl, Some(127));
    assert_eq!(audio.key.as_deref(), Some("clear:secret"));
    assert!(audio.attributes.contains(&Attribute::Ptime(20.0)));
    assert!(audio.attributes.contains(&Attribute::Maxptime(40.5)));
    assert_eq!(sd.direction(audio), weft_sdp::Direction::RecvOnly);
    assert!(
        sd.media[1]
            .attributes
            .contains(&Attribute::Framerate(29.97))
    );
    assert!(sd.attributes.iter().any(|a| a.name() == "tool"));
}

#[test]
fn rfc8839_example_with_session_level_credentials() {
    // RFC 8839 §5 example (addresses from the documentation ranges).
    let sd = parse_rt(
        "v=0
o=jdoe 2890844526 2890842807 IN IP4 203.0.113.141
s=
c=IN IP4 192.0.2.3
t=0 0
a=ice-options:ice2
a=ice-pacing:50
a=ice-pwd:asd88fgpdd777uzjYhagZg
a=ice-ufrag:8hhY
m=audio 45664 RTP/AVP 0
b=RS:0
b=RR:0
a=rtpmap:0 PCMU/8000
a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host
a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998
",
    );
    let m = &sd.media[0];
    assert_eq!(m.ice_ufrag(), None);
    let ice = sd.ice_credentials(m).unwrap();
    assert_eq!((ice.ufrag, ice.pwd), ("8hhY", "asd88fgpdd777uzjYhagZg"));
    assert_eq!(sd.ice_options(m), ["ice2"]);
    let c: Vec<_> = m.candidates().collect();
    assert_eq!(c[0].kind, CandidateType::Host);
    assert_eq!(c[0].priority, 2130706431);
    assert_eq!(c[1].kind, CandidateType::Srflx);
    assert_eq!(c[1].related_address.as_deref(), Some("203.0.113.141"));
    assert_eq!(c[1].related_port, Some(8998));
    assert_eq!(m.bandwidths.len(), 2);
    // ice-pacing has no typed grammar here: kept verbatim.
    assert!(sd.attributes.contains(&Attribute::Other {
        name: "ice-pacing".into(),
        value: Some("50".into())
    }));
}

#[test]
fn rfc8839_ice_lite_and_renomination_options() {
    let sd = parse_rt(
        "v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
a=ice-lite
a=ice-options:trickle renomination
m=audio 9 UDP/TLS/RTP/SAVPF 0
a=end-of-candidates
",
    );
    assert!(sd.is_ice_lite());
    assert_eq!(sd.ice_options(&sd.media[0]), ["trickle", "renomination"]);
    assert!(sd.media[0].is_end_of_candidates());
}

#[test]
fn rfc8851_rid_examples() {
    // RFC 8851 §11.1 and §11.2.
    let sd = parse_rt(
        "v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
m=video 49154 RTP/AVPF 98 99 100 101 102
a=rtpmap:98 H264/90000
a=fmtp:98 profile-level-id=42c01f;max-fs=3600
a=rtpmap:99 H264/90000
a=fmtp:99 profile-level-id=42c00d;max-fs=3600
a=rtpmap:100 VP8/90000
a=fmtp:100 max-fs=3600
a=rtpmap:101 rtx/90000
a=fmtp:101 apt=98
a=rtpmap:102 VP8/90000
a=rid:1 send pt=98,99;max-width=1280;max-height=720;max-fps=30
a=rid:2 send pt=100;max-width=1280;max-height=720;max-fps=15
a=rid:3 recv pt=102;max-br=64000;max-pps=1000;max-bpp=1.5;max-fs=3600
a=rid:4 send pt=98;depend=1
a=rid:5 recv
",
    );
    let rids: Vec<_> = sd.media[0].rids().collect();
    assert_eq!(rids.len(), 5);
    assert_eq!(rids[0].payload_types, [98, 99]);
    assert_eq!(rids[0].restriction("max-width"), Some("1280"));
    assert_eq!(rids[0].restriction("max-fps"), Some("30"));
    assert_eq!(rids[2].direction, RidDirection::Recv);
    assert_eq!(rids[2].restriction("max-bpp"), Some("1.5"));
    assert_eq!(
        (rids[2].max_br(), rids[2].max_pps(), rids[2].max_bpp()),
        (Some(64000), Some(1000), Some(1.5))
    );
    assert_eq!(rids[2].max_fs(), Some(3600));
    assert_eq!(rids[1].max_fps(), Some(15.0));
    assert_eq!(rids[3].depend(), ["1"]);
    assert!(rids[4].payload_types.is_empty() && rids[4].restrictions.is_empty());
    assert_eq!(
        sd.media[0].codec(99).unwrap().fmtp.unwrap().get("max-fs"),
        Some("3600")
    );
}

#[test]
fn rfc8853_simulcast_examples() {
    // RFC 8853 §5.1 and §5.6.
    let sd = parse_rt(
        "v=0
o=- 1 1 IN IP4 192.0.2.1
s=-
t=0 0
m=video 49300 RTP/AVP 97 98
a=rtpmap:97 H264/90000
a=rtpmap:98 VP8/90000
a=rid:1 send pt=97
a=rid:2 send pt=98
a=rid:3 send pt=97
a=rid:4 recv pt=97
a=simulcast:send 1,2;3 recv 4
m=video 49302 RTP/AVP 97
a=simulcast:recv 1;~2;3
m=video 49304 RTP/AVP 97
a=simulcast:send 1,~2;~3
",
    );
    let s = sd.media[0].simulcast().unwrap();
    let send = s.send.as_ref().unwrap();
    assert_eq!(send.len(), 2);
    assert_eq!(send[0].len(), 2, "1,2 are alternatives");
    assert_eq!(s.recv.as_ref().unwrap()[0][0].rid, "4");
    let r = sd.media[1].simulcast().unwrap().recv.as_ref().unwrap();
    assert_eq!(
        r[1],
        vec![SimulcastRid {
            rid: "2".into(),
            paused: true
        }]
    );
    let s3 = sd.media[2].simulcast().unwrap();
    assert_eq!(s3.to_string(), "send 1,~2;~3");
}

#[test]
fn rfc8841_data_channel_examples() {
    // RFC 8841 §12 style: UDP and TCP data channels.
    let sd = parse_rt(
        "v=0
o=- 1 1 IN IP6 2001:db8::1
s=-
t=0 0
m=application 54111 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP6 2001:db8::3
a=max-message-size:100000
a=sctp-port:5000
a=setup:actpass
a=fingerprint:SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB
a=tls-id:abc3de65cddef001be82
m=application 54112 TCP/DTLS/SCTP webrtc-datachannel
c=IN IP6 2001:db8::3
a=sctp-port:5001
a=setup:passive
a=connection:new
a=sctp-init:AQIDBAUGBwgJCgsMDQ4PEA==
",
    );
    let udp = &sd.media[0];
    assert_eq!(udp.sctp_port(), Some(5000));
    assert_eq!(udp.max_message_size(), Some(100000));
    assert_eq!(udp.setup(), Some(Setup::ActPass));
    assert!(
        udp.attributes
            .contains(&Attribute::TlsId("abc3de65cddef001be82".into()))
    );
    assert_eq!(udp.fingerprints().next().unwrap().value.len(), 20);
    let tcp = &sd.media[1];
    assert_eq!(tcp.protocol, "TCP/DTLS/SCTP");
    assert_eq!(tcp.sctp_port(), Some(5001));
    assert!(tcp.has_attribute("connection"));
    assert!(
        tcp.attributes
            .contains(&Attribute::SctpInit("AQIDBAUGBwgJCgsMDQ4PEA==".into()))
    );
}
