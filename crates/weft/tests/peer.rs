//! `weft::peer::PeerConnection` on real loopback sockets: gathering with STUN and TURN
//! servers (weft's own, started here), the W3C getters, `setConfiguration`'s rules, and that
//! closed connections leave no task or socket behind.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::net::SocketAddr;
use std::time::Duration;

use weft::peer::{
    ChannelInit, ConnectionState, Event, GatheringState, IceServer, IceTransportPolicy,
    PeerConnection, RtcConfiguration, SdpType, SignalingState,
};

const T: Duration = Duration::from_secs(20);

/// Reads events until `f` picks one; everything read is kept in `seen`.
async fn wait_for<R>(
    pc: &mut PeerConnection,
    seen: &mut Vec<Event>,
    mut f: impl FnMut(&Event) -> Option<R>,
) -> R {
    for e in seen.iter() {
        if let Some(r) = f(e) {
            return r;
        }
    }
    loop {
        let e = tokio::time::timeout(T, pc.next_event())
            .await
            .expect("event in time")
            .expect("connection still open");
        let r = f(&e);
        seen.push(e);
        if let Some(r) = r {
            return r;
        }
    }
}

async fn turn_server(ports: (u16, u16)) -> weft::turn::TurnServer {
    let mut config = weft::turn::ServerConfig {
        allow_peers: vec!["127.0.0.0/8".parse().unwrap()],
        ..Default::default()
    };
    config.users.insert("alice".into(), "alicepw".into());
    weft::turn::TurnServer::udp(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
        ports,
        config,
    )
    .await
    .unwrap()
}

/// Offer, wait for complete gathering on each side, exchange full descriptions.
async fn negotiate(
    a: &mut PeerConnection,
    ea: &mut Vec<Event>,
    b: &mut PeerConnection,
    eb: &mut Vec<Event>,
) {
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    wait_for(a, ea, |e| {
        (*e == Event::IceGatheringState(GatheringState::Complete)).then_some(())
    })
    .await;
    let offer = a.local_description().await.unwrap().unwrap();
    assert!(offer.contains("a=end-of-candidates"), "{offer}");
    b.set_remote_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(SdpType::Answer, &answer)
        .await
        .unwrap();
    wait_for(b, eb, |e| {
        (*e == Event::IceGatheringState(GatheringState::Complete)).then_some(())
    })
    .await;
    let answer = b.local_description().await.unwrap().unwrap();
    a.set_remote_description(SdpType::Answer, &answer)
        .await
        .unwrap();
}

#[tokio::test]
async fn relay_only_through_weft_turn_server_with_stun_and_getters() {
    let turn = turn_server((49950, 49969)).await;
    let stun = weft::stun::StunServer::udp("127.0.0.1:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    let servers = vec![
        IceServer::new([format!("stun:{}", stun.local_addr())]),
        IceServer::turn([format!("turn:{}", turn.local_addr())], "alice", "alicepw"),
    ];
    let config = RtcConfiguration {
        ice_servers: servers.clone(),
        ice_transport_policy: IceTransportPolicy::Relay,
        ..RtcConfiguration::loopback()
    };
    let mut a = PeerConnection::new(config.clone()).await.unwrap();
    let mut b = PeerConnection::new(config).await.unwrap();
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    assert_eq!(a.ice_gathering_state().await.unwrap(), GatheringState::New);
    assert_eq!(a.can_trickle_ice_candidates().await.unwrap(), None);
    assert!(a.sctp().await.unwrap().is_none());
    let chat = a
        .create_data_channel(ChannelInit::new("chat"))
        .await
        .unwrap();
    negotiate(&mut a, &mut ea, &mut b, &mut eb).await;
    for e in ea.iter().chain(&eb) {
        if let Event::IceCandidate(c) = e {
            assert!(
                c.contains("typ relay"),
                "relay policy signals relayed candidates only: {c}"
            );
        }
        assert!(
            !matches!(e, Event::IceCandidateError { .. }),
            "no server failed: {e:?}"
        );
    }
    wait_for(&mut a, &mut ea, |e| {
        (*e == Event::ConnectionState(ConnectionState::Connected)).then_some(())
    })
    .await;
    wait_for(&mut a, &mut ea, |e| match e {
        Event::Channel(h, weft::datachannel::ChannelEvent::Open(_)) if *h == chat => Some(()),
        _ => None,
    })
    .await;
    let st = a.get_stats().await.unwrap();
    let pair = st.candidate_pairs.iter().find(|p| p.selected).unwrap();
    let local = st
        .candidates
        .iter()
        .find(|c| c.id == pair.local_candidate_id)
        .unwrap();
    assert_eq!(local.candidate_type, "relay");
    assert_eq!(st.certificates.len(), 2);
    assert_eq!(a.can_trickle_ice_candidates().await.unwrap(), Some(true));
    let sctp = a.sctp().await.unwrap().unwrap();
    assert_eq!(sctp.state, weft::peer::SctpState::Established);
    assert_eq!(sctp.max_message_size, 256 * 1024);
    assert!(sctp.max_channels >= 1024, "{sctp:?}");
    assert_eq!(a.signaling_state().await.unwrap(), SignalingState::Stable);
    assert!(a.current_local_description().await.unwrap().is_some());
    assert!(a.pending_local_description().await.unwrap().is_none());
    assert!(a.current_remote_description().await.unwrap().is_some());
    assert!(turn.stats().allocations_total >= 2, "{:?}", turn.stats());
    assert!(
        stun.stats().binding_requests == 0,
        "relay policy asks no STUN server"
    );

    // setConfiguration: what cannot change is refused by name; the policy is fixed now.
    let mut c = a.get_configuration().clone();
    c.bundle_policy = weft::peer::BundlePolicy::MaxBundle;
    assert!(matches!(
        a.set_configuration(c).await,
        Err(weft::Error::InvalidModification("bundlePolicy"))
    ));
    let mut c = a.get_configuration().clone();
    c.ice_transport_policy = IceTransportPolicy::All;
    assert!(matches!(
        a.set_configuration(c).await,
        Err(weft::Error::InvalidModification("iceTransportPolicy"))
    ));
    let mut c = a.get_configuration().clone();
    c.ice_servers.truncate(1);
    a.set_configuration(c).await.unwrap();
    assert_eq!(a.get_configuration().ice_servers.len(), 1);
}

#[tokio::test]
async fn stun_gathering_completes_and_an_unreachable_server_is_a_candidate_error() {
    let stun = weft::stun::StunServer::udp("127.0.0.1:0".parse().unwrap(), Default::default())
        .await
        .unwrap();
    // A port nobody listens on: the request goes unanswered (or is refused).
    let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let dead_addr: SocketAddr = dead.local_addr().unwrap();
    drop(dead);
    let config = RtcConfiguration {
        ice_servers: vec![
            IceServer::new([format!("stun:{}", stun.local_addr())]),
            IceServer::new([format!("stun:{dead_addr}")]),
            IceServer::new(["stuns:127.0.0.1:5349"]),
            IceServer::new(["http://not-a-stun-uri"]),
        ],
        ..RtcConfiguration::loopback()
    };
    let mut a = PeerConnection::new(config).await.unwrap();
    let mut ea = Vec::new();
    a.create_data_channel(ChannelInit::new("x")).await.unwrap();
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    wait_for(&mut a, &mut ea, |e| {
        (*e == Event::IceGatheringState(GatheringState::Complete)).then_some(())
    })
    .await;
    let errors: Vec<(String, u16)> = ea
        .iter()
        .filter_map(|e| match e {
            Event::IceCandidateError { url, code, .. } => Some((url.clone(), *code)),
            _ => None,
        })
        .collect();
    assert!(
        errors.contains(&(format!("stun:{dead_addr}"), 701)),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("stuns:127.0.0.1:5349".into(), 701)),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("http://not-a-stun-uri".into(), 701)),
        "{errors:?}"
    );
    assert!(
        !errors
            .iter()
            .any(|(u, _)| *u == format!("stun:{}", stun.local_addr())),
        "{errors:?}"
    );
    assert!(
        stun.stats().binding_requests >= 1,
        "the live server was asked"
    );
    // On loopback the mapped address is the host address: no srflx candidate (as browsers).
    let sdp = a.local_description().await.unwrap().unwrap();
    assert!(
        !sdp.contains("typ srflx") && sdp.contains("typ host"),
        "{sdp}"
    );
}

/// Two relay-only peers whose TURN server is reached over TCP (one) and TLS (the other).
#[tokio::test]
async fn relay_through_turn_over_tcp_and_tls() {
    let Some((cert, key)) = weft_testkit::process::self_signed_cert("peer-turn-tls") else {
        eprintln!("skipped: no openssl binary for a certificate");
        return;
    };
    let mut config = weft::turn::ServerConfig {
        allow_peers: vec!["127.0.0.0/8".parse().unwrap()],
        ..Default::default()
    };
    config.users.insert("alice".into(), "alicepw".into());
    let listeners = weft::turn::Listeners {
        udp: "127.0.0.1:0".parse().unwrap(),
        tcp: Some("127.0.0.1:0".parse().unwrap()),
        tls: Some((
            "127.0.0.1:0".parse().unwrap(),
            std::fs::read(&cert).unwrap(),
            std::fs::read(&key).unwrap(),
        )),
    };
    let server = weft::turn::TurnServer::start(
        listeners,
        "127.0.0.1".parse().unwrap(),
        (49970, 49989),
        config,
    )
    .await
    .unwrap();
    let streams = server.stream_addrs().to_vec();
    let (tcp, tls) = (streams[0].0, streams[1].0);
    let cfg = |url: String| RtcConfiguration {
        ice_servers: vec![IceServer::turn([url], "alice", "alicepw")],
        ice_transport_policy: IceTransportPolicy::Relay,
        tls_verify: false,
        ..RtcConfiguration::loopback()
    };
    let mut a = PeerConnection::new(cfg(format!("turn:{tcp}?transport=tcp")))
        .await
        .unwrap();
    let mut b = PeerConnection::new(cfg(format!("turns:{tls}")))
        .await
        .unwrap();
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let chat = a
        .create_data_channel(ChannelInit::new("chat"))
        .await
        .unwrap();
    negotiate(&mut a, &mut ea, &mut b, &mut eb).await;
    for e in ea.iter().chain(&eb) {
        assert!(
            !matches!(e, Event::IceCandidateError { .. }),
            "no server failed: {e:?}"
        );
    }
    wait_for(&mut a, &mut ea, |e| match e {
        Event::Channel(h, weft::datachannel::ChannelEvent::Open(_)) if *h == chat => Some(()),
        _ => None,
    })
    .await;
    a.send_text(chat, "over tcp and tls").await.unwrap();
    let got = wait_for(&mut b, &mut eb, |e| match e {
        Event::Channel(_, weft::datachannel::ChannelEvent::Message(m)) => Some(m.data.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&got[..], b"over tcp and tls");
    for pc in [&a, &b] {
        let st = pc.get_stats().await.unwrap();
        let pair = st.candidate_pairs.iter().find(|p| p.selected).unwrap();
        let local = st
            .candidates
            .iter()
            .find(|c| c.id == pair.local_candidate_id)
            .unwrap();
        assert_eq!(local.candidate_type, "relay");
    }
    assert!(server.stats().allocations_total >= 2);
}

/// The W3C-shaped channel objects: events on the channel, echo, back-pressure, close.
#[tokio::test]
async fn data_channel_objects_carry_their_own_events() {
    use weft::peer::{ChannelEvent, ChannelState};
    let config = RtcConfiguration {
        channel_objects: true,
        ..RtcConfiguration::loopback()
    };
    let a = PeerConnection::new(config.clone()).await.unwrap();
    let mut b = PeerConnection::new(config).await.unwrap();
    let mut dc = a.create_channel(ChannelInit::new("objects")).await.unwrap();
    assert_eq!(dc.ready_state().await.unwrap(), ChannelState::Connecting);
    let offer = a.create_offer().await.unwrap();
    a.set_local_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    b.set_remote_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    let answer = b.create_answer().await.unwrap();
    b.set_local_description(SdpType::Answer, &answer)
        .await
        .unwrap();
    a.set_remote_description(SdpType::Answer, &answer)
        .await
        .unwrap();
    // Bob echoes on the object he is handed.
    let bob = tokio::spawn(async move {
        let h = loop {
            match b.next_event().await.unwrap() {
                Event::DataChannel(h) => break h,
                Event::Channel(..) => panic!("channel events go to the object"),
                _ => {}
            }
        };
        let mut ch = b.data_channel(h).await.unwrap().unwrap();
        assert!(b.data_channel(h).await.unwrap().is_none(), "taken once");
        let mut echoed = 0;
        while let Some(ev) = ch.next_event().await {
            match ev {
                ChannelEvent::Message(m) if m.binary => {
                    ch.send(m.data).await.unwrap();
                    echoed += 1;
                }
                ChannelEvent::Message(m) => {
                    ch.send_text(std::str::from_utf8(&m.data).unwrap())
                        .await
                        .unwrap();
                    echoed += 1;
                }
                ChannelEvent::Closed(_) => break,
                _ => {}
            }
        }
        (echoed, b)
    });
    let first = tokio::time::timeout(T, dc.next_event()).await.unwrap();
    assert!(matches!(first, Some(ChannelEvent::Open(_))), "{first:?}");
    assert_eq!(dc.ready_state().await.unwrap(), ChannelState::Open);
    let info = dc.info().await.unwrap().unwrap();
    assert_eq!(info.label, "objects");
    dc.set_buffered_amount_low_threshold(1000).await.unwrap();
    assert_eq!(dc.buffered_amount_low_threshold().await.unwrap(), 1000);
    let big = bytes::Bytes::from(vec![7u8; 200_000]);
    dc.send(big.clone()).await.unwrap();
    dc.send_text("hello object").await.unwrap();
    let (mut got_big, mut got_text, mut low) = (false, false, false);
    while !(got_big && got_text && low) {
        match tokio::time::timeout(T, dc.next_event())
            .await
            .unwrap()
            .unwrap()
        {
            ChannelEvent::Message(m) if m.binary => got_big = m.data == big,
            ChannelEvent::Message(m) => got_text = &m.data[..] == b"hello object",
            ChannelEvent::BufferedAmountLow(_) => low = true,
            ev => panic!("unexpected {ev:?}"),
        }
    }
    assert_eq!(dc.buffered_amount().await.unwrap(), 0);
    dc.close().await.unwrap();
    loop {
        match tokio::time::timeout(T, dc.next_event())
            .await
            .unwrap()
            .unwrap()
        {
            ChannelEvent::Closed(_) => break,
            ChannelEvent::Closing(_) => {}
            ev => panic!("unexpected {ev:?}"),
        }
    }
    let (echoed, _b) = bob.await.unwrap();
    assert_eq!(echoed, 2);
    // The object does not keep the connection: after the connection goes, it says so.
    drop(a);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(matches!(
        dc.send_text("late").await,
        Err(weft::Error::Closed)
    ));
}

/// The callback adapter calls the W3C-style handlers.
#[tokio::test]
async fn callbacks_receive_their_events() {
    let mut pc = PeerConnection::new(RtcConfiguration {
        ice_servers: vec![IceServer::new(["stuns:127.0.0.1:1"])],
        ..RtcConfiguration::loopback()
    })
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut cb = weft::Callbacks::default();
    let t = tx.clone();
    cb.on_ice_candidate = Some(Box::new(move |c| {
        let _ = t.send(format!("candidate {c}"));
    }));
    let t = tx.clone();
    cb.on_ice_gathering_state_change = Some(Box::new(move |g| {
        let _ = t.send(format!("gathering {g:?}"));
    }));
    let t = tx.clone();
    cb.on_ice_candidate_error = Some(Box::new(move |url, code, _| {
        let _ = t.send(format!("error {url} {code}"));
    }));
    cb.on_negotiation_needed = Some(Box::new(move || {
        let _ = tx.send("negotiationneeded".into());
    }));
    pc.create_data_channel(ChannelInit::new("cb"))
        .await
        .unwrap();
    let offer = pc.create_offer().await.unwrap();
    pc.set_local_description(SdpType::Offer, &offer)
        .await
        .unwrap();
    let dispatching = tokio::spawn(async move {
        pc.dispatch(&mut cb).await;
    });
    let mut seen = Vec::new();
    while !seen.iter().any(|s: &String| s == "gathering Complete") {
        seen.push(tokio::time::timeout(T, rx.recv()).await.unwrap().unwrap());
    }
    assert!(seen.iter().any(|s| s.starts_with("candidate ")), "{seen:?}");
    assert!(seen.contains(&"negotiationneeded".to_string()), "{seen:?}");
    assert!(
        seen.contains(&"error stuns:127.0.0.1:1 701".to_string()),
        "{seen:?}"
    );
    dispatching.abort();
}

/// An application that stops reading events still gets answers to its commands; messages
/// wait (bounded, in SCTP's window) and none is lost or reordered.
#[tokio::test]
async fn a_full_event_queue_blocks_reading_not_commands() {
    let mut a = PeerConnection::new(RtcConfiguration::loopback())
        .await
        .unwrap();
    let mut b = PeerConnection::new(RtcConfiguration::loopback())
        .await
        .unwrap();
    let (mut ea, mut eb) = (Vec::new(), Vec::new());
    let chat = a
        .create_data_channel(ChannelInit::new("full"))
        .await
        .unwrap();
    negotiate(&mut a, &mut ea, &mut b, &mut eb).await;
    wait_for(&mut a, &mut ea, |e| match e {
        Event::Channel(h, weft::datachannel::ChannelEvent::Open(_)) if *h == chat => Some(()),
        _ => None,
    })
    .await;
    const N: usize = 3000;
    for i in 0..N {
        a.send_text(chat, &format!("{i}")).await.unwrap();
    }
    // Bob reads nothing for a while: his queue (1024 events) fills.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stats = tokio::time::timeout(Duration::from_secs(5), b.get_stats())
        .await
        .expect("commands are served while the event queue is full")
        .unwrap();
    assert!(stats.peer_connection.data_channels_opened >= 1);
    let mut got = 0;
    let mut other = Vec::new();
    while got < N {
        let e = tokio::time::timeout(T, b.next_event())
            .await
            .unwrap_or_else(|_| panic!("stalled after {got}: {other:?}"))
            .unwrap();
        if !matches!(
            e,
            Event::Channel(_, weft::datachannel::ChannelEvent::Message(_))
        ) {
            other.push(e.clone());
        }
        if let Event::Channel(_, weft::datachannel::ChannelEvent::Message(m)) = e {
            assert_eq!(m.data, got.to_string().as_bytes(), "in order, none lost");
            got += 1;
        }
    }
}
