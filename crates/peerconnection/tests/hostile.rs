//! Hostile peers against the sans-IO peer connection: oversized descriptions, a lying
//! fingerprint, a peer that never answers DTLS. Each ends in a documented error or state,
//! with bounded state, never a panic. (A flood of SCTP INITs is in weft-sctp's adversarial
//! tests: each is answered statelessly and the association carries on.)

#![allow(clippy::disallowed_methods)] // certificates need a wall clock

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use weft_datachannel::ChannelInit;
use weft_dtls::{Certificate, KeyType};
use weft_ice::Candidate;
use weft_peerconnection::jsep::SdpType;
use weft_peerconnection::{Config, ConnectionState, Event, PeerConnection, TransportState};
use weft_proto::{Received, Transmit};
use weft_testkit::{LinkConfig, Node, NodeId, Simulator};

fn new_pc(seed: u8, ip: &str, now: Instant) -> PeerConnection {
    let cert = Certificate::generate(
        KeyType::EcdsaP256,
        SystemTime::now(),
        Duration::from_secs(86400),
    )
    .unwrap();
    let mut cfg = Config::new(cert);
    cfg.rng_seed = Some([seed; 32]);
    let mut pc = PeerConnection::new(cfg, now, SystemTime::now()).unwrap();
    let ip: IpAddr = ip.parse().unwrap();
    pc.add_local_candidate(now, Candidate::host(SocketAddr::new(ip, 5000)))
        .unwrap();
    pc.end_of_local_candidates(now).unwrap();
    pc
}

/// A weft offer with a data channel.
fn offer(now: Instant) -> String {
    let mut a = new_pc(1, "10.0.0.1", now);
    a.create_data_channel(now, ChannelInit::new("x")).unwrap();
    a.create_offer().unwrap()
}

#[test]
fn an_offer_with_thousands_of_media_sections_is_answered_with_them_rejected() {
    let now = Instant::now();
    let mut sdp = offer(now);
    // 3000 audio sections (12 000 lines, under the 20 000-line limit).
    for i in 0..3000 {
        sdp.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a{i}\r\na=rtpmap:111 opus/48000/2\r\n"
        ));
    }
    let mut b = new_pc(2, "10.0.0.2", now);
    b.set_remote_description(now, SdpType::Offer, &sdp).unwrap();
    let answer = b.create_answer().unwrap();
    assert_eq!(
        answer.matches("m=audio 0 ").count(),
        3000,
        "every audio section rejected"
    );
    let data = answer
        .lines()
        .filter(|l| l.starts_with("m=application ") && !l.starts_with("m=application 0 "))
        .count();
    assert_eq!(data, 1, "the data section kept");
}

#[test]
fn an_offer_past_the_line_limit_is_refused_with_a_parse_error() {
    let now = Instant::now();
    let mut sdp = offer(now);
    for i in 0..6000 {
        sdp.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a{i}\r\na=rtpmap:111 opus/48000/2\r\n"
        ));
    }
    let mut b = new_pc(2, "10.0.0.2", now);
    let e = b
        .set_remote_description(now, SdpType::Offer, &sdp)
        .unwrap_err();
    assert!(
        matches!(
            e,
            weft_peerconnection::Error::Jsep(weft_peerconnection::jsep::Error::Parse(_))
        ),
        "{e:?}"
    );
    // The connection is still usable with a sane offer.
    b.set_remote_description(now, SdpType::Offer, &offer(now))
        .unwrap();
}

#[test]
fn thousands_of_remote_candidates_are_capped() {
    let now = Instant::now();
    let sdp = offer(now);
    let mut lines: Vec<String> = sdp.lines().map(str::to_owned).collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("a=candidate"))
        .unwrap();
    for i in 0..10_000u32 {
        lines.insert(
            at,
            format!(
                "a=candidate:{i} 1 udp {} 10.{}.{}.{} {} typ host",
                2_000_000_000 - i,
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255,
                10_000 + (i % 50_000)
            ),
        );
    }
    let sdp = lines.join("\r\n") + "\r\n";
    let mut b = new_pc(2, "10.0.0.2", now);
    b.set_remote_description(now, SdpType::Offer, &sdp).unwrap();
    let remote = b.ice().unwrap().remote_candidates().count();
    assert!(remote <= 100, "the agent keeps at most its limit: {remote}");
    // Trickled ones beyond the limit are refused without harm.
    for i in 0..1000u32 {
        let _ = b.add_ice_candidate(
            now,
            &format!(
                "candidate:t{i} 1 udp 100 192.0.2.{} {} typ host",
                i % 250 + 1,
                20_000 + i
            ),
        );
    }
    assert!(b.ice().unwrap().remote_candidates().count() <= 100);
    while b.poll_transmit().is_some() {}
}

struct Pc {
    pc: PeerConnection,
    events: Vec<Event>,
    /// Drop every DTLS record this side sends (a peer that never answers DTLS).
    mute_dtls: bool,
}

impl Node for Pc {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.pc.handle_input(now, input);
        while let Some(e) = self.pc.poll_event() {
            self.events.push(e);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
        while let Some(e) = self.pc.poll_event() {
            self.events.push(e);
        }
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let t = self.pc.poll_transmit()?;
            if self.mute_dtls && matches!(t.payload.first(), Some(20..=63)) {
                continue;
            }
            return Some(t);
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

/// Offer from a to b, with `edit` applied to the answer before a sees it.
fn connect(sim: &mut Simulator, mute_a: bool, edit: impl Fn(String) -> String) -> (NodeId, NodeId) {
    let now = sim.now();
    let a = sim.add_node(
        "10.0.0.1".parse().unwrap(),
        Pc {
            pc: new_pc(1, "10.0.0.1", now),
            events: vec![],
            mute_dtls: mute_a,
        },
    );
    let b = sim.add_node(
        "10.0.0.2".parse().unwrap(),
        Pc {
            pc: new_pc(2, "10.0.0.2", now),
            events: vec![],
            mute_dtls: false,
        },
    );
    let offer = sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.create_data_channel(now, ChannelInit::new("x"))
            .unwrap();
        let o = p.pc.create_offer().unwrap();
        p.pc.set_local_description(now, SdpType::Offer, &o).unwrap();
        o
    });
    let answer = sim.with_node::<Pc, _>(b, |p, now| {
        p.pc.set_remote_description(now, SdpType::Offer, &offer)
            .unwrap();
        let ans = p.pc.create_answer().unwrap();
        p.pc.set_local_description(now, SdpType::Answer, &ans)
            .unwrap();
        ans
    });
    sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.set_remote_description(now, SdpType::Answer, &edit(answer))
            .unwrap()
    });
    (a, b)
}

#[test]
fn a_lying_fingerprint_fails_the_connection() {
    let mut sim = Simulator::with_seed(11);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(5)));
    // Bob's answer claims a certificate he does not have.
    let (a, _b) = connect(&mut sim, false, |ans| {
        ans.lines()
            .map(|l| {
                if let Some(rest) = l.strip_prefix("a=fingerprint:sha-256 ") {
                    let flipped: String = rest
                        .chars()
                        .map(|c| {
                            if c == 'A' {
                                'B'
                            } else if c == 'B' {
                                'A'
                            } else {
                                c
                            }
                        })
                        .collect();
                    format!("a=fingerprint:sha-256 {flipped}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
            + "\r\n"
    });
    sim.run_until(
        |s| s.node::<Pc>(a).pc.connection_state() == ConnectionState::Failed,
        Duration::from_secs(30),
    )
    .unwrap();
    let ev = &sim.node::<Pc>(a).events;
    assert!(
        ev.contains(&Event::DtlsState(TransportState::Failed)),
        "{ev:?}"
    );
    assert!(!ev.contains(&Event::ConnectionState(ConnectionState::Connected)));
}

#[test]
fn a_peer_that_never_answers_dtls_fails_in_bounded_time() {
    let mut sim = Simulator::with_seed(12);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(5)));
    // Alice (the DTLS server: she offered actpass, Bob answered active) never sends a DTLS
    // record; Bob's ClientHello goes unanswered.
    let (_a, b) = connect(&mut sim, true, |ans| ans);
    let started = sim.now();
    sim.run_until(
        |s| s.node::<Pc>(b).pc.connection_state() == ConnectionState::Failed,
        Duration::from_secs(120),
    )
    .unwrap();
    let took = sim.now() - started;
    assert!(took <= Duration::from_secs(60), "failed after {took:?}");
    let ev = &sim.node::<Pc>(b).events;
    assert!(
        ev.contains(&Event::DtlsState(TransportState::Failed)),
        "{ev:?}"
    );
}
