//! Real browser SDP: every captured fixture (Chromium, Firefox) and the hand-written Safari
//! and Plan B samples parse, serialize, and parse again to an equal value; the serialized
//! text is the input itself where the crate promises it; and the fields JSEP reads are
//! read correctly.

use std::fs;
use std::path::{Path, PathBuf};

use weft_sdp::{
    Attribute, CandidateType, Direction, GroupSemantics, HashFunction, MediaKind, RidDirection,
    SessionDescription, Setup, TcpType,
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/sdp/");
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/");

/// The fixture directory; a missing one fails the test (CI must clone `shared/` beside the
/// repository), it is never skipped.
fn fixture_dir() -> &'static Path {
    let dir = Path::new(FIXTURES);
    assert!(
        dir.is_dir(),
        "SDP fixture directory {FIXTURES} is missing: clone the shared tree beside the repository"
    );
    dir
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

fn load(name: &str) -> SessionDescription {
    let text = fs::read_to_string(fixture_dir().join(name)).expect("fixture readable");
    SessionDescription::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn round_trip(path: &Path) -> (String, SessionDescription, String) {
    let text = fs::read_to_string(path).expect("fixture readable");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let sd = SessionDescription::decode(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let out = sd.to_string();
    let again = SessionDescription::parse(&out).unwrap_or_else(|e| panic!("{name} again: {e}"));
    assert_eq!(again, sd, "{name}: parse(serialize(x)) != x");
    let mut bytes = Vec::new();
    sd.encode(&mut bytes);
    assert_eq!(bytes, out.as_bytes(), "{name}: encode and Display differ");
    assert_eq!(sd.encoded_len(), bytes.len(), "{name}: encoded_len");
    // LF line endings parse to the same value.
    let lf = text.replace("\r\n", "\n");
    assert_eq!(
        SessionDescription::parse(&lf).unwrap(),
        sd,
        "{name}: LF input"
    );
    (text, sd, out)
}

#[test]
fn every_fixture_round_trips() {
    let sdps = files(fixture_dir(), "sdp");
    assert!(
        sdps.len() >= 30,
        "expected the 30 captured SDPs, found {}",
        sdps.len()
    );
    for path in sdps.iter().chain(files(Path::new(SAMPLES), "sdp").iter()) {
        let (text, sd, out) = round_trip(path);
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(!sd.media.is_empty(), "{name}");
        // Byte-identical re-serialization: exact for Chrome-style SDP; Firefox's only
        // difference is the space Chrome writes after `msid-semantic:`.
        let expected = if name.starts_with("firefox") {
            text.replace("a=msid-semantic:WMS", "a=msid-semantic: WMS")
        } else {
            text.clone()
        };
        assert_eq!(out, expected, "{name}: serialization is not byte-identical");
        // No browser line falls back to Other for a name with a typed grammar.
        for a in sd
            .attributes
            .iter()
            .chain(sd.media.iter().flat_map(|m| &m.attributes))
        {
            if let Attribute::Other { name: n, .. } = a {
                assert!(
                    !weft_sdp::is_known_attribute(n),
                    "{name}: {n} kept as Other"
                );
            }
        }
    }
}

#[test]
fn chrome_audio_video_offer_fields() {
    let sd = load("chrome-audiovideo-offer.sdp");
    assert_eq!(sd.origin.session_id, 7075821827333145701);
    assert_eq!(sd.origin.session_version, 2);
    assert_eq!(sd.bundle_group().unwrap().mids, ["0", "1"]);
    assert!(sd.attributes.contains(&Attribute::ExtmapAllowMixed));
    let audio = sd.media_by_mid("0").unwrap();
    let video = sd.media_by_mid("1").unwrap();
    assert_eq!(audio.kind, MediaKind::Audio);
    assert_eq!(video.kind, MediaKind::Video);
    assert_eq!(audio.port, 58268);
    let ice = sd.ice_credentials(video).unwrap();
    assert_eq!((ice.ufrag, ice.pwd), ("kg2x", "zN1ge9bNX8upyJNf7hPQdSGY"));
    assert_eq!(sd.ice_options(audio), ["trickle"]);
    let fp = sd.fingerprints(audio);
    assert_eq!(fp.len(), 1);
    assert_eq!(fp[0].algorithm, HashFunction::Sha256);
    assert_eq!(&fp[0].value[..4], &[0x4B, 0x0E, 0xC5, 0x36]);
    assert_eq!(audio.setup(), Some(Setup::ActPass));
    assert_eq!(sd.direction(audio), Direction::SendRecv);
    assert!(audio.is_rtcp_mux());

    let codecs = audio.codecs();
    assert_eq!(codecs.len(), 8);
    let opus = &codecs[0];
    assert_eq!(
        (opus.payload_type, opus.name(), opus.clock_rate()),
        (111, Some("opus"), Some(48000))
    );
    assert_eq!(opus.rtpmap.unwrap().channels, Some(2));
    assert_eq!(opus.fmtp.unwrap().get("useinbandfec"), Some("1"));
    assert_eq!(opus.feedback.len(), 1);
    assert_eq!(audio.codec(63).unwrap().fmtp.unwrap().params, "111/111");

    let vcodecs = video.codecs();
    assert_eq!(vcodecs.len(), 23);
    let h264 = video.codec(102).unwrap();
    assert_eq!(h264.name(), Some("H264"));
    assert_eq!(h264.fmtp.unwrap().get("profile-level-id"), Some("42001f"));
    let fb: Vec<String> = h264.feedback.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        fb,
        [
            "102 goog-remb",
            "102 transport-cc",
            "102 ccm fir",
            "102 nack",
            "102 nack pli"
        ]
    );
    assert_eq!(
        video.codec(103).unwrap().fmtp.unwrap().get("apt"),
        Some("102")
    );

    let ext: Vec<(u16, &str)> = audio.extmaps().map(|e| (e.id, e.uri.as_str())).collect();
    assert_eq!(ext[0], (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
    assert_eq!(ext.len(), 4);
    assert_eq!(video.extmaps().count(), 11);

    let cands: Vec<_> = audio.candidates().collect();
    assert_eq!(cands.len(), 2);
    assert!(cands[0].is_udp());
    assert_eq!(cands[0].priority, 2122260223);
    assert_eq!(cands[0].ip(), Some("127.0.0.1".parse().unwrap()));
    assert_eq!(cands[0].port, 58268);
    assert_eq!(
        (
            cands[0].generation,
            cands[0].network_id,
            cands[0].network_cost
        ),
        (Some(0), Some(1), Some(50))
    );
    assert_eq!(cands[1].tcp_type, Some(TcpType::Active));

    let groups: Vec<_> = video.ssrc_groups().collect();
    assert_eq!(groups[0].semantics, "FID");
    assert_eq!(groups[0].ssrcs, [3433037675, 1531519519]);
    assert_eq!(
        video.msids().next().unwrap().track.as_deref(),
        Some("bb6af966-24c3-4c8e-a3f7-48799ee217b7")
    );
}

#[test]
fn firefox_audio_video_offer_uses_session_level_fallbacks() {
    let sd = load("firefox-audiovideo-offer.sdp");
    let audio = &sd.media[0];
    // Firefox puts the fingerprint, ice-options and direction at the session level too.
    assert!(audio.fingerprints().next().is_none());
    let fp = sd.fingerprints(audio);
    assert_eq!(fp[0].value[0], 0xFD);
    assert_eq!(sd.ice_options(audio), ["trickle"]);
    let ice = sd.ice_credentials(audio).unwrap();
    assert_eq!(ice.ufrag, "7720e612");
    assert!(audio.is_end_of_candidates());
    let cands: Vec<_> = audio.candidates().collect();
    assert_eq!(cands.len(), 8);
    assert!(cands.iter().all(|c| c.is_udp() || c.is_tcp()));
    assert_eq!(cands[1].ip(), Some("::1".parse().unwrap()));
    assert_eq!(cands[4].component, 2);
    assert_eq!(audio.codec(9).unwrap().rtpmap.unwrap().channels, Some(1));
    assert_eq!(
        audio.codec(101).unwrap().fmtp.unwrap().parameters().next(),
        Some(("0-15", None))
    );
    let ext2 = audio.extmaps().find(|e| e.id == 2).unwrap();
    assert_eq!(ext2.direction, Some(Direction::RecvOnly));
    let video = sd.media_by_mid("1").unwrap();
    assert_eq!(video.codec(120).unwrap().name(), Some("VP8"));
    assert_eq!(video.codec(120).unwrap().feedback.len(), 5);
}

#[test]
fn data_channel_fixtures() {
    for name in [
        "chrome-datachannel-offer.sdp",
        "firefox-datachannel-answer.sdp",
    ] {
        let sd = load(name);
        let m = &sd.media[0];
        assert_eq!(m.kind, MediaKind::Application);
        assert_eq!(m.protocol, "UDP/DTLS/SCTP");
        assert_eq!(m.formats, ["webrtc-datachannel"]);
        assert_eq!(m.sctp_port(), Some(5000), "{name}");
        assert!(m.max_message_size().is_some());
    }
    assert_eq!(
        load("chrome-datachannel-offer.sdp").media[0].max_message_size(),
        Some(262144)
    );
    assert_eq!(
        load("firefox-datachannel-answer.sdp").media[0].setup(),
        Some(Setup::Active)
    );
}

#[test]
fn simulcast_fixtures() {
    for name in [
        "chrome-simulcast-offer.sdp",
        "firefox-simulcast-offer.sdp",
        "chrome-simulcast720-offer.sdp",
    ] {
        let sd = load(name);
        let m = &sd.media[0];
        let rids: Vec<_> = m.rids().map(|r| (r.id.as_str(), r.direction)).collect();
        assert_eq!(
            rids,
            [
                ("q", RidDirection::Send),
                ("h", RidDirection::Send),
                ("f", RidDirection::Send)
            ],
            "{name}"
        );
        let sc = m.simulcast().unwrap();
        let send: Vec<&str> = sc
            .send
            .as_ref()
            .unwrap()
            .iter()
            .map(|alt| alt[0].rid.as_str())
            .collect();
        assert_eq!(send, ["q", "h", "f"]);
        assert!(sc.recv.is_none());
        assert_eq!(sd.direction(m), Direction::SendOnly);
    }
    // The answers drop simulcast (the same browser answers).
    assert!(
        load("chrome-simulcast-answer.sdp").media[0]
            .simulcast()
            .is_none()
    );
}

#[test]
fn ice_restart_changes_credentials_and_generation() {
    let before = load("chrome-audiovideo-offer.sdp");
    let after = load("chrome-icerestart-offer.sdp");
    assert_eq!(after.origin.session_id, before.origin.session_id);
    assert_eq!(
        after.origin.session_version,
        before.origin.session_version + 1
    );
    let (a, b) = (&before.media[0], &after.media[0]);
    assert_ne!(
        before.ice_credentials(a).unwrap().ufrag,
        after.ice_credentials(b).unwrap().ufrag
    );
    assert_eq!(after.ice_credentials(b).unwrap().ufrag, "uArn");
    assert!(b.candidates().all(|c| c.generation == Some(1)));
    let ff = load("firefox-icerestart-offer.sdp");
    assert!(ff.ice_credentials(&ff.media[0]).is_some());
}

#[test]
fn trickled_candidates_parse_and_print_back() {
    let mut seen = 0;
    let mut ends = 0;
    for path in files(fixture_dir(), "jsonl") {
        for line in fs::read_to_string(&path).unwrap().lines() {
            let start = line.find("\"candidate\":\"").expect("candidate field") + 13;
            let end = start + line[start..].find('"').expect("closing quote");
            let cand = &line[start..end];
            if cand.is_empty() {
                ends += 1; // end-of-candidates
                continue;
            }
            let c: weft_sdp::Candidate = cand.parse().unwrap_or_else(|e| panic!("{cand}: {e}"));
            assert_eq!(format!("candidate:{c}"), cand);
            assert_eq!(c.kind, CandidateType::Host);
            if let (Some(u), Some(uf)) = (line.split("\"usernameFragment\":\"").nth(1), &c.ufrag) {
                assert!(u.starts_with(uf.as_str()), "{line}");
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 90);
    assert_eq!(ends, 12);
}

#[test]
fn safari_sample_fields() {
    let text =
        fs::read_to_string(Path::new(SAMPLES).join("safari-audiovideodata-offer.sdp")).unwrap();
    let sd = SessionDescription::parse(&text).unwrap();
    assert_eq!(sd.bundle_group().unwrap().mids, ["0", "1", "2"]);
    let video = sd.media_by_mid("1").unwrap();
    assert_eq!(video.codecs()[0].name(), Some("H264"));
    let audio = &sd.media[0];
    let c: Vec<_> = audio.candidates().collect();
    assert!(c[0].address.ends_with(".local"));
    assert_eq!(c[0].ip(), None);
    assert_eq!(c[1].kind, CandidateType::Srflx);
    assert_eq!(
        (c[1].related_address.as_deref(), c[1].related_port),
        (Some("0.0.0.0"), Some(0))
    );
    assert_eq!(c[1].network_cost, Some(999));
    assert_eq!(sd.media_by_mid("2").unwrap().sctp_port(), Some(5000));
}

#[test]
fn plan_b_sample_fields() {
    let text = fs::read_to_string(Path::new(SAMPLES).join("chrome-planb-offer.sdp")).unwrap();
    let sd = SessionDescription::parse(&text).unwrap();
    let g = sd.bundle_group().unwrap();
    assert_eq!(g.semantics, GroupSemantics::Bundle);
    assert_eq!(g.mids, ["audio", "video", "data"]);
    let audio = sd.media_by_mid("audio").unwrap();
    let labels: Vec<_> = audio.ssrcs().filter(|s| s.attribute == "mslabel").collect();
    assert_eq!(labels.len(), 2);
    assert!(audio.attributes.contains(&Attribute::Maxptime(60.0)));
    let video = sd.media_by_mid("video").unwrap();
    let sim = video.ssrc_groups().find(|g| g.semantics == "SIM").unwrap();
    assert_eq!(sim.ssrcs, [1001, 1002, 1003]);
    assert!(video.has_attribute("x-google-flag"));
    let data = sd.media_by_mid("data").unwrap();
    assert_eq!(data.protocol, "DTLS/SCTP");
    assert_eq!(data.formats, ["5000"]);
    assert_eq!(data.sctp_port(), Some(5000));
    assert_eq!(data.bandwidths[0].kind, "AS");
    assert!(data.codecs().iter().all(|c| c.rtpmap.is_none()));
    let Some(Attribute::Sctpmap(m)) = data.attributes_named("sctpmap").next() else {
        panic!()
    };
    assert_eq!(
        (m.protocol.as_str(), m.streams),
        ("webrtc-datachannel", Some(1024))
    );
}
