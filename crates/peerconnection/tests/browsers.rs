//! JSEP against the offers and answers Chromium and Firefox produced (`shared/fixtures/sdp`).

use weft_peerconnection::jsep::{DtlsRole, Error, Jsep, LocalParameters, SdpType, SignalingState};
use weft_sdp::{Fingerprint, HashFunction, MediaKind, SessionDescription, Setup};

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/sdp")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn me() -> Jsep {
    let fp = Fingerprint {
        algorithm: HashFunction::Sha256,
        value: vec![7; 32],
    };
    let mut l = LocalParameters::new("weftufrag", "weftpasswordweftpassword", Some(fp));
    l.candidates.push(
        "candidate:1 1 udp 2130706431 127.0.0.1 5555 typ host"
            .parse()
            .unwrap(),
    );
    l.gathering_complete = true;
    Jsep::new(l, 42)
}

fn answer_browser_offer(name: &str) -> (Jsep, SessionDescription) {
    let mut j = me();
    j.set_remote_description(SdpType::Offer, &fixture(name))
        .unwrap();
    assert_eq!(j.signaling_state(), SignalingState::HaveRemoteOffer);
    let answer = j.create_answer().unwrap();
    j.set_local_description(SdpType::Answer, &answer).unwrap();
    assert_eq!(j.signaling_state(), SignalingState::Stable);
    (j, SessionDescription::parse(&answer).unwrap())
}

#[test]
fn answers_chromium_and_firefox_data_offers() {
    for (name, max) in [
        ("chrome-datachannel-offer.sdp", 262144),
        ("firefox-datachannel-offer.sdp", 1073741823),
    ] {
        let (j, answer) = answer_browser_offer(name);
        assert_eq!(answer.media.len(), 1, "{name}");
        let m = &answer.media[0];
        assert_eq!(
            (m.kind.clone(), m.mid(), m.setup()),
            (MediaKind::Application, Some("0"), Some(Setup::Active))
        );
        assert_eq!(m.sctp_port(), Some(5000));
        assert_eq!(answer.bundle_group().unwrap().mids, vec!["0".to_string()]);
        assert_eq!(m.ice_ufrag(), Some("weftufrag"));
        assert!(m.is_end_of_candidates());
        assert_eq!(m.port, 5555);
        let n = j.negotiated().unwrap();
        assert_eq!(n.dtls_role, DtlsRole::Client, "{name}");
        assert_eq!(n.remote_max_message_size, max);
        assert!(!n.remote_ice_ufrag.is_empty() && !n.remote_fingerprints.is_empty());
        assert!(!n.remote_candidates.is_empty());
        assert_eq!(j.current_remote_description(), Some(fixture(name).as_str()));
        assert!(!j.is_negotiation_needed());
    }
}

#[test]
fn media_sections_are_rejected_without_breaking_the_session() {
    for name in [
        "chrome-audiovideo-offer.sdp",
        "firefox-audiovideo-offer.sdp",
    ] {
        let (j, answer) = answer_browser_offer(name);
        let offer = SessionDescription::parse(&fixture(name)).unwrap();
        assert_eq!(
            answer.media.len(),
            offer.media.len(),
            "one answer section per offered one"
        );
        for (a, o) in answer.media.iter().zip(&offer.media) {
            assert_eq!(a.mid(), o.mid());
            if o.kind != MediaKind::Application {
                assert!(
                    a.is_rejected(),
                    "{name}: {:?} answered with port {}",
                    a.kind,
                    a.port
                );
            }
        }
        assert!(
            answer.bundle_group().is_none_or(|g| g.mids.is_empty()),
            "rejected sections leave BUNDLE"
        );
        assert!(j.negotiated().is_none(), "no data section to run");
    }
}

#[test]
fn our_offer_answered_by_a_browser() {
    for name in [
        "chrome-datachannel-answer.sdp",
        "firefox-datachannel-answer.sdp",
    ] {
        let mut j = me();
        assert!(matches!(j.create_offer(false), Err(Error::Nothing)));
        j.set_data_wanted(true);
        assert!(j.is_negotiation_needed());
        let offer = j.create_offer(false).unwrap();
        let parsed = SessionDescription::parse(&offer).unwrap();
        assert_eq!(parsed.media[0].setup(), Some(Setup::ActPass));
        assert_eq!(parsed.media[0].mid(), Some("0"));
        j.set_local_description(SdpType::Offer, &offer).unwrap();
        j.set_remote_description(SdpType::Answer, &fixture(name))
            .unwrap();
        let n = j.negotiated().unwrap();
        assert_eq!(n.dtls_role, DtlsRole::Server, "the browser answered active");
        assert!(!j.is_negotiation_needed());
        assert_eq!(j.current_local_description(), Some(offer.as_str()));
        assert!(j.pending_local_description().is_none());
    }
}

#[test]
fn signaling_state_machine_with_pranswer_and_rollback() {
    let mut j = me();
    j.set_data_wanted(true);
    assert!(matches!(j.create_answer(), Err(Error::InvalidState { .. })));
    let offer = j.create_offer(false).unwrap();
    j.set_local_description(SdpType::Offer, &offer).unwrap();
    assert!(matches!(
        j.set_remote_description(SdpType::Offer, &fixture("chrome-datachannel-offer.sdp")),
        Err(Error::InvalidState { .. })
    ));
    j.set_local_description(SdpType::Rollback, "").unwrap();
    assert_eq!(j.signaling_state(), SignalingState::Stable);
    assert!(j.local_description().is_none());
    // Remote offer, local pranswer, then the final answer.
    j.set_remote_description(SdpType::Offer, &fixture("firefox-datachannel-offer.sdp"))
        .unwrap();
    let pr = j.create_answer().unwrap();
    j.set_local_description(SdpType::Pranswer, &pr).unwrap();
    assert_eq!(j.signaling_state(), SignalingState::HaveLocalPranswer);
    assert!(
        j.negotiated().is_some(),
        "a pranswer already starts the transports"
    );
    let ans = j.create_answer().unwrap();
    j.set_local_description(SdpType::Answer, &ans).unwrap();
    assert_eq!(j.signaling_state(), SignalingState::Stable);
    // An answer that says actpass is refused; garbage does not parse.
    let mut k = me();
    k.set_data_wanted(true);
    let o = k.create_offer(false).unwrap();
    k.set_local_description(SdpType::Offer, &o).unwrap();
    assert!(matches!(
        k.set_remote_description(SdpType::Answer, &o),
        Err(Error::Unusable(_))
    ));
    assert!(matches!(
        k.set_remote_description(SdpType::Answer, "v=0\r\nnonsense"),
        Err(Error::Parse(_))
    ));
    k.close();
    assert!(matches!(
        k.create_offer(false),
        Err(Error::InvalidState { .. })
    ));
}

#[test]
fn ice_restart_reoffers_the_same_sections_with_new_credentials() {
    let mut j = me();
    j.set_data_wanted(true);
    let o = j.create_offer(false).unwrap();
    j.set_local_description(SdpType::Offer, &o).unwrap();
    j.set_remote_description(SdpType::Answer, &fixture("chrome-datachannel-answer.sdp"))
        .unwrap();
    j.local_parameters_mut().ice_ufrag = "restarted".into();
    j.restart_ice();
    assert!(j.is_negotiation_needed());
    let o2 = j.create_offer(false).unwrap();
    let p = SessionDescription::parse(&o2).unwrap();
    assert_eq!(
        (p.media.len(), p.media[0].mid(), p.media[0].ice_ufrag()),
        (1, Some("0"), Some("restarted"))
    );
    j.set_local_description(SdpType::Offer, &o2).unwrap();
    j.set_remote_description(SdpType::Answer, &fixture("chrome-datachannel-answer.sdp"))
        .unwrap();
    assert!(!j.is_negotiation_needed());
}

#[test]
fn session_ids_stay_below_two_to_the_63() {
    let fp = Fingerprint {
        algorithm: HashFunction::Sha256,
        value: vec![7; 32],
    };
    let mut j = Jsep::new(
        LocalParameters::new("weftufrag", "weftpasswordweftpassword", Some(fp)),
        u64::MAX,
    );
    j.set_data_wanted(true);
    let offer = SessionDescription::parse(&j.create_offer(false).unwrap()).unwrap();
    assert!(
        offer.origin.session_id < 1 << 63,
        "{}",
        offer.origin.session_id
    );
}

#[test]
fn a_browser_re_offer_keeps_the_dtls_role_of_our_first_offer() {
    // weft offered, the browser answered active (weft is the DTLS server); then the browser
    // offers (an ICE restart, say) with actpass: the answer must stay passive (RFC 8842 §5.5),
    // which Chromium enforces ("Failed to set SSL role for the transport").
    for (answer, reoffer) in [
        (
            "chrome-datachannel-answer.sdp",
            "chrome-datachannel-offer.sdp",
        ),
        (
            "firefox-datachannel-answer.sdp",
            "firefox-datachannel-offer.sdp",
        ),
    ] {
        let mut j = me();
        j.set_data_wanted(true);
        let o = j.create_offer(false).unwrap();
        j.set_local_description(SdpType::Offer, &o).unwrap();
        j.set_remote_description(SdpType::Answer, &fixture(answer))
            .unwrap();
        assert_eq!(j.negotiated().unwrap().dtls_role, DtlsRole::Server);
        j.set_remote_description(SdpType::Offer, &fixture(reoffer))
            .unwrap();
        let a = j.create_answer().unwrap();
        let p = SessionDescription::parse(&a).unwrap();
        assert_eq!(p.media[0].setup(), Some(Setup::Passive), "{reoffer}");
        j.set_local_description(SdpType::Answer, &a).unwrap();
        assert_eq!(j.negotiated().unwrap().dtls_role, DtlsRole::Server);
    }
    // A first answer still picks active.
    let (_, first) = answer_browser_offer("chrome-datachannel-offer.sdp");
    assert_eq!(first.media[0].setup(), Some(Setup::Active));
}
