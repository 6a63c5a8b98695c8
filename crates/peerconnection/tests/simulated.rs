//! Two peer connections over weft-testkit's simulated network: offer/answer, ICE, DTLS, SCTP
//! and data channels composed end to end, in virtual time.

#![allow(clippy::disallowed_methods, clippy::print_stderr)] // certificates need a wall clock; one figure

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use weft_datachannel::ChannelInit;
use weft_dtls::{Certificate, KeyType};
use weft_ice::Candidate;
use weft_peerconnection::jsep::SdpType;
use weft_peerconnection::{ChannelHandle, Config, ConnectionState, Event, PeerConnection};
use weft_proto::{Received, Transmit};
use weft_testkit::{LinkConfig, Node, NodeId, Simulator};

struct Pc {
    pc: PeerConnection,
    events: Vec<Event>,
}

impl Pc {
    fn drain(&mut self) {
        while let Some(e) = self.pc.poll_event() {
            self.events.push(e);
        }
    }
    fn messages(&self) -> Vec<Bytes> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Channel(_, weft_datachannel::Event::Message(m)) => Some(m.data.clone()),
                _ => None,
            })
            .collect()
    }
}

impl Node for Pc {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.pc.handle_input(now, input);
        self.drain();
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.pc.handle_timeout(now);
        self.drain();
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.pc.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.pc.poll_timeout()
    }
}

fn peer(sim: &mut Simulator, ip: &str, seed: u8) -> NodeId {
    let cert = Certificate::generate(
        KeyType::EcdsaP256,
        SystemTime::now(),
        Duration::from_secs(86400),
    )
    .unwrap();
    let mut cfg = Config::new(cert);
    cfg.rng_seed = Some([seed; 32]);
    let now = sim.now();
    let mut pc = PeerConnection::new(cfg, now, SystemTime::now()).unwrap();
    let ip: IpAddr = ip.parse().unwrap();
    pc.add_local_candidate(now, Candidate::host(SocketAddr::new(ip, 5000)))
        .unwrap();
    pc.end_of_local_candidates(now).unwrap();
    sim.add_node(ip, Pc { pc, events: vec![] })
}

fn pc(sim: &Simulator, id: NodeId) -> &Pc {
    sim.node::<Pc>(id)
}

#[test]
fn offer_answer_ice_dtls_sctp_and_a_data_channel_end_to_end() {
    let mut sim = Simulator::with_seed(3);
    sim.set_default_link(
        LinkConfig::default()
            .with_latency(Duration::from_millis(10))
            .with_loss(0.02),
    );
    let a = peer(&mut sim, "10.0.0.1", 1);
    let b = peer(&mut sim, "10.0.0.2", 2);
    // Alice creates a channel before any negotiation, as web pages do.
    let chat: ChannelHandle = sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.create_data_channel(now, ChannelInit::new("chat"))
            .unwrap()
    });
    let offer = sim.with_node::<Pc, _>(a, |p, now| {
        p.drain();
        assert!(p.events.contains(&Event::NegotiationNeeded));
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
        p.pc.set_remote_description(now, SdpType::Answer, &answer)
            .unwrap()
    });
    sim.run_until(
        |s| {
            pc(s, a).pc.connection_state() == ConnectionState::Connected
                && pc(s, b).pc.connection_state() == ConnectionState::Connected
        },
        Duration::from_secs(30),
    )
    .unwrap();
    let connected_after = sim.elapsed();
    // The channel opens on both sides; bob learns it through `datachannel`.
    sim.run_until(
        |s| {
            pc(s, a).events.iter().any(
                |e| matches!(e, Event::Channel(h, weft_datachannel::Event::Open(_)) if *h == chat),
            ) && pc(s, b)
                .events
                .iter()
                .any(|e| matches!(e, Event::DataChannel(_)))
        },
        Duration::from_secs(10),
    )
    .unwrap();
    let id = pc(&sim, a).pc.channel_id(chat).unwrap();
    assert_eq!(
        id.0 % 2,
        1,
        "alice offered actpass, bob answered active: alice is the DTLS server, odd ids"
    );
    for i in 0..20 {
        sim.with_node::<Pc, _>(a, |p, now| {
            p.pc.send(now, chat, Bytes::from(format!("m{i}")), false)
                .unwrap()
        });
    }
    sim.run_until(|s| pc(s, b).messages().len() == 20, Duration::from_secs(30))
        .unwrap();
    let got: Vec<String> = pc(&sim, b)
        .messages()
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(got, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>());
    // Bob answers on the channel he was handed.
    let bh = pc(&sim, b)
        .events
        .iter()
        .find_map(|e| {
            if let Event::DataChannel(h) = e {
                Some(*h)
            } else {
                None
            }
        })
        .unwrap();
    sim.with_node::<Pc, _>(b, |p, now| {
        p.pc.send(now, bh, Bytes::from_static(b"pong"), true)
            .unwrap()
    });
    sim.run_until(
        |s| pc(s, a).messages().contains(&Bytes::from_static(b"pong")),
        Duration::from_secs(10),
    )
    .unwrap();
    // Closing the channel from alice closes it on both sides.
    sim.with_node::<Pc, _>(a, |p, now| p.pc.close_channel(now, chat).unwrap());
    sim.run_until(
        |s| {
            pc(s, b).events.iter().any(
                |e| matches!(e, Event::Channel(h, weft_datachannel::Event::Closed(_)) if *h == bh),
            )
        },
        Duration::from_secs(10),
    )
    .unwrap();
    sim.run_until(
        |s| pc(s, a).events.iter().any(|e| matches!(e, Event::Channel(h, weft_datachannel::Event::Closed(_)) if *h == chat)),
        Duration::from_secs(10),
    )
    .unwrap();
    let st = pc(&sim, a).pc.stats();
    assert_eq!(st.transport.dtls_state, "connected");
    assert!(st.transport.dtls_cipher.is_some());
    assert!(
        st.candidate_pairs
            .iter()
            .any(|p| p.selected && p.nominated && p.responses_received > 0)
    );
    assert_eq!(st.peer_connection.data_channels_opened, 1);
    assert_eq!(st.peer_connection.data_channels_closed, 1);
    assert!(st.transport.bytes_sent > 0 && st.transport.bytes_received > 0);
    let bst = pc(&sim, b).pc.stats();
    assert_eq!(bst.peer_connection.data_channels_opened, 1);
    eprintln!("connected after {connected_after:?} of virtual time");
    // A second channel, then `close`: the peer hears of it at once (SCTP ABORT and
    // close_notify go out before the agent closes), not after consent expires.
    let two = sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.create_data_channel(now, ChannelInit::new("two"))
            .unwrap()
    });
    sim.run_until(
        |s| {
            pc(s, a).events.iter().any(
                |e| matches!(e, Event::Channel(h, weft_datachannel::Event::Open(_)) if *h == two),
            )
        },
        Duration::from_secs(10),
    )
    .unwrap();
    let closed_before = pc(&sim, b)
        .events
        .iter()
        .filter(|e| matches!(e, Event::Channel(_, weft_datachannel::Event::Closed(_))))
        .count();
    sim.with_node::<Pc, _>(a, |p, now| p.pc.close(now));
    assert_eq!(pc(&sim, a).pc.connection_state(), ConnectionState::Closed);
    sim.run_until(
        |s| {
            pc(s, b)
                .events
                .iter()
                .filter(|e| matches!(e, Event::Channel(_, weft_datachannel::Event::Closed(_))))
                .count()
                > closed_before
        },
        Duration::from_secs(1),
    )
    .unwrap();
    assert!(
        !pc(&sim, a)
            .events
            .contains(&Event::ConnectionState(ConnectionState::Failed)),
        "closing is not failing"
    );
}

#[test]
fn restart_ice_renegotiates_and_the_channel_keeps_working() {
    let mut sim = Simulator::with_seed(4);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(10)));
    let a = peer(&mut sim, "10.0.0.1", 5);
    let b = peer(&mut sim, "10.0.0.2", 6);
    let chat = sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.create_data_channel(now, ChannelInit::new("chat"))
            .unwrap()
    });
    let negotiate = |sim: &mut Simulator| {
        let offer = sim.with_node::<Pc, _>(a, |p, now| {
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
            p.pc.set_remote_description(now, SdpType::Answer, &answer)
                .unwrap()
        });
        offer
    };
    let first = negotiate(&mut sim);
    sim.run_until(
        |s| {
            pc(s, a).events.iter().any(
                |e| matches!(e, Event::Channel(h, weft_datachannel::Event::Open(_)) if *h == chat),
            )
        },
        Duration::from_secs(10),
    )
    .unwrap();
    sim.with_node::<Pc, _>(a, |p, now| p.pc.restart_ice(now).unwrap());
    let second = negotiate(&mut sim);
    let ufrag = |sdp: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        ufrag(&first),
        ufrag(&second),
        "the re-offer carries new credentials"
    );
    sim.run_for(Duration::from_secs(2)).unwrap();
    assert_eq!(
        pc(&sim, a).pc.connection_state(),
        ConnectionState::Connected
    );
    sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.send(now, chat, Bytes::from_static(b"after restart"), false)
            .unwrap()
    });
    sim.run_until(
        |s| {
            s.node::<Pc>(b)
                .messages()
                .contains(&Bytes::from_static(b"after restart"))
        },
        Duration::from_secs(10),
    )
    .unwrap();
    let pairs = pc(&sim, a)
        .pc
        .stats()
        .transport
        .selected_candidate_pair_changes;
    assert!(
        pairs >= 2,
        "a pair of the new generation was selected ({pairs} changes)"
    );
}

/// weft-turn's server core as a TURN node relaying from its own IP.
struct TurnNode {
    ip: IpAddr,
    server: weft_turn::Server,
    next_port: u16,
}

impl TurnNode {
    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.server.poll_event() {
            if let weft_turn::server::Event::BindRelay { token, .. } = ev {
                let relay = SocketAddr::new(self.ip, self.next_port);
                self.next_port += 1;
                self.server.relay_bound(now, token, Ok(relay));
            }
        }
    }
}

impl Node for TurnNode {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.server.handle_input(now, input);
        self.pump(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.server.handle_timeout(now);
        self.pump(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.server.poll_transmit()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.server.poll_timeout()
    }
}

#[test]
fn relay_policy_gathers_through_turn_and_reports_gathering_candidates_and_certificates() {
    use weft_peerconnection::{GatheringState, IceTransportPolicy};
    let mut sim = Simulator::with_seed(5);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(5)));
    let turn_ip: IpAddr = "203.0.113.2".parse().unwrap();
    let mut config = weft_turn::ServerConfig {
        rng_seed: Some([3; 32]),
        allow_peers: vec!["0.0.0.0/0".parse().unwrap()],
        ..Default::default()
    };
    config.users.insert("user".into(), "pass".into());
    let now = sim.now();
    sim.add_node(
        turn_ip,
        TurnNode {
            ip: turn_ip,
            server: weft_turn::Server::new(config, now, SystemTime::UNIX_EPOCH),
            next_port: 50000,
        },
    );
    let mk = |sim: &mut Simulator, ip: &str, seed: u8| {
        let cert = Certificate::generate(
            KeyType::EcdsaP256,
            SystemTime::now(),
            Duration::from_secs(86400),
        )
        .unwrap();
        let mut cfg = Config::new(cert);
        cfg.rng_seed = Some([seed; 32]);
        cfg.ice_transport_policy = IceTransportPolicy::Relay;
        let now = sim.now();
        let mut pc = PeerConnection::new(cfg, now, SystemTime::now()).unwrap();
        let host = SocketAddr::new(ip.parse().unwrap(), 5000);
        pc.add_local_candidate(now, Candidate::host(host)).unwrap();
        pc.add_turn_server(
            now,
            weft_ice::TurnServer {
                url: "turn:203.0.113.2:3478".into(),
                server: SocketAddr::new(turn_ip, 3478),
                local: host,
                username: "user".into(),
                password: "pass".into(),
                transport: weft_proto::Transport::Udp,
            },
        )
        .unwrap();
        pc.end_of_local_candidates(now).unwrap();
        assert_eq!(pc.gathering_state(), GatheringState::New);
        sim.add_node(host.ip(), Pc { pc, events: vec![] })
    };
    let a = mk(&mut sim, "10.0.0.1", 7);
    let b = mk(&mut sim, "10.0.0.2", 8);
    sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.create_data_channel(now, ChannelInit::new("chat"))
            .unwrap();
        let o = p.pc.create_offer().unwrap();
        assert!(
            !o.contains("typ host"),
            "relay policy: no host candidate in {o}"
        );
        p.pc.set_local_description(now, SdpType::Offer, &o).unwrap();
        assert_eq!(p.pc.gathering_state(), GatheringState::Gathering);
    });
    sim.run_until(
        |s| pc(s, a).pc.gathering_state() == GatheringState::Complete,
        Duration::from_secs(10),
    )
    .unwrap();
    // Non-trickle signalling: the local description now carries what was gathered.
    let offer = pc(&sim, a)
        .pc
        .jsep()
        .local_description_with_candidates()
        .unwrap()
        .1;
    assert!(offer.contains("typ relay") && offer.contains("a=end-of-candidates"));
    assert!(!offer.contains("typ host"));
    let gathered: Vec<_> = pc(&sim, a)
        .events
        .iter()
        .filter_map(|e| match e {
            Event::IceGatheringState(g) => Some(*g),
            _ => None,
        })
        .collect();
    assert_eq!(
        gathered,
        [GatheringState::Gathering, GatheringState::Complete]
    );
    sim.with_node::<Pc, _>(b, |p, now| {
        p.pc.set_remote_description(now, SdpType::Offer, &offer)
            .unwrap();
        let ans = p.pc.create_answer().unwrap();
        p.pc.set_local_description(now, SdpType::Answer, &ans)
            .unwrap();
    });
    sim.run_until(
        |s| pc(s, b).pc.gathering_state() == GatheringState::Complete,
        Duration::from_secs(10),
    )
    .unwrap();
    let answer = pc(&sim, b)
        .pc
        .jsep()
        .local_description_with_candidates()
        .unwrap()
        .1;
    assert!(answer.contains("typ relay"));
    sim.with_node::<Pc, _>(a, |p, now| {
        p.pc.set_remote_description(now, SdpType::Answer, &answer)
            .unwrap()
    });
    sim.run_until(
        |s| {
            pc(s, a).pc.connection_state() == ConnectionState::Connected
                && pc(s, b).pc.connection_state() == ConnectionState::Connected
        },
        Duration::from_secs(30),
    )
    .unwrap();
    let st = pc(&sim, a).pc.stats();
    let selected = st.candidate_pairs.iter().find(|p| p.selected).unwrap();
    let local = st
        .candidates
        .iter()
        .find(|c| c.id == selected.local_candidate_id)
        .unwrap();
    assert_eq!((local.candidate_type, local.is_remote), ("relay", false));
    let remote = st
        .candidates
        .iter()
        .find(|c| c.id == selected.remote_candidate_id)
        .unwrap();
    assert_eq!((remote.candidate_type, remote.is_remote), ("relay", true));
    assert_eq!(st.certificates.len(), 2, "ours and the peer's");
    assert!(st.certificates[0].base64_certificate.is_some());
    let bst = pc(&sim, b).pc.stats();
    assert_eq!(
        st.certificates[1].fingerprint, bst.certificates[0].fingerprint,
        "alice's view of bob's certificate is bob's own"
    );
}

/// Stands for the mDNS group 224.0.0.251: repeats each datagram to every member's port 5353.
struct MdnsGroup {
    members: Vec<IpAddr>,
    out: std::collections::VecDeque<Transmit>,
    seen: usize,
}

impl Node for MdnsGroup {
    fn handle_input(&mut self, _now: Instant, input: Received) {
        self.seen += 1;
        for m in &self.members {
            if *m != input.source.ip() {
                // The simulator sends from the node's own address.
                self.out.push_back(Transmit {
                    source: input.destination,
                    destination: SocketAddr::new(*m, 5353),
                    transport: input.transport,
                    payload: input.payload.clone(),
                });
            }
        }
    }
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// A peer connection whose mDNS datagrams go through the group node: it sends from its own
/// address's port 5353, as a socket bound there would.
struct MdnsPc {
    ip: IpAddr,
    inner: Pc,
}

impl Node for MdnsPc {
    fn handle_input(&mut self, now: Instant, input: Received) {
        if input.destination.port() == 5353 {
            self.inner.pc.handle_mdns_input(now, input);
            self.inner.drain();
        } else {
            self.inner.handle_input(now, input);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut t = self.inner.poll_transmit()?;
        if t.source.port() == 5353 && t.source.ip().is_unspecified() {
            t.source = SocketAddr::new(self.ip, 5353);
        }
        Some(t)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }
}

#[test]
fn mdns_hidden_host_candidates_are_resolved_and_connect() {
    use weft_peerconnection::MdnsMode;
    let mut sim = Simulator::with_seed(6);
    sim.set_default_link(LinkConfig::default().with_latency(Duration::from_millis(2)));
    let group: IpAddr = "224.0.0.251".parse().unwrap();
    let (ipa, ipb): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let hub = sim.add_node(
        group,
        MdnsGroup {
            members: vec![ipa, ipb],
            out: Default::default(),
            seen: 0,
        },
    );
    let mk = |sim: &mut Simulator, ip: IpAddr, seed: u8, mode: MdnsMode| {
        let cert = Certificate::generate(
            KeyType::EcdsaP256,
            SystemTime::now(),
            Duration::from_secs(86400),
        )
        .unwrap();
        let mut cfg = Config::new(cert);
        cfg.rng_seed = Some([seed; 32]);
        cfg.mdns = mode;
        let now = sim.now();
        let mut pc = PeerConnection::new(cfg, now, SystemTime::now()).unwrap();
        pc.add_local_candidate(now, Candidate::host(SocketAddr::new(ip, 5000)))
            .unwrap();
        pc.end_of_local_candidates(now).unwrap();
        sim.add_node(
            ip,
            MdnsPc {
                ip,
                inner: Pc { pc, events: vec![] },
            },
        )
    };
    let a = mk(&mut sim, ipa, 9, MdnsMode::ResolveAndHide);
    let b = mk(&mut sim, ipb, 10, MdnsMode::Resolve);
    let offer = sim.with_node::<MdnsPc, _>(a, |p, now| {
        p.inner
            .pc
            .create_data_channel(now, ChannelInit::new("chat"))
            .unwrap();
        let o = p.inner.pc.create_offer().unwrap();
        p.inner
            .pc
            .set_local_description(now, SdpType::Offer, &o)
            .unwrap();
        assert!(p.inner.pc.wants_mdns());
        o
    });
    assert!(
        !offer.contains("10.0.0.1"),
        "the host address is hidden: {offer}"
    );
    assert!(offer.contains(".local"), "{offer}");
    sim.with_node::<MdnsPc, _>(b, |p, now| {
        p.inner
            .pc
            .set_remote_description(now, SdpType::Offer, &offer)
            .unwrap();
        assert!(p.inner.pc.wants_mdns(), "bob resolves alice's name");
        let ans = p.inner.pc.create_answer().unwrap();
        assert!(ans.contains("10.0.0.2"), "bob does not hide: {ans}");
        p.inner
            .pc
            .set_local_description(now, SdpType::Answer, &ans)
            .unwrap();
    });
    let answer = node(&sim, b)
        .pc
        .jsep()
        .local_description()
        .unwrap()
        .1
        .to_owned();
    sim.with_node::<MdnsPc, _>(a, |p, now| {
        p.inner
            .pc
            .set_remote_description(now, SdpType::Answer, &answer)
            .unwrap()
    });
    sim.run_until(
        |s| {
            node(s, a).pc.connection_state() == ConnectionState::Connected
                && node(s, b).pc.connection_state() == ConnectionState::Connected
        },
        Duration::from_secs(20),
    )
    .unwrap();
    assert!(!node(&sim, b).pc.wants_mdns(), "nothing left to resolve");
    assert!(
        sim.node::<MdnsGroup>(hub).seen >= 2,
        "names went through the group"
    );
    let st = node(&sim, b).pc.stats();
    assert!(
        st.candidates
            .iter()
            .any(|c| c.is_remote && c.address == "10.0.0.1" && c.candidate_type == "host"),
        "bob resolved alice's name to her host address: {:?}",
        st.candidates
    );
}

fn node(s: &Simulator, id: NodeId) -> &Pc {
    &s.node::<MdnsPc>(id).inner
}
