//! Two endpoints (and a raw SCTP peer for what browsers do) exchanging packets in memory.

#![allow(clippy::disallowed_methods)] // one real starting instant

use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_datachannel::dcep::{ChannelType, Dcep, Open};
use weft_datachannel::{
    ChannelId, ChannelInit, ChannelState, CloseReason, Config, Endpoint, Error, ErrorDetail, Event,
    Role, ppid,
};
use weft_sctp::{Association, Ppid, SendOptions, StreamId};

struct Two {
    a: Endpoint,
    b: Endpoint,
    now: Instant,
    ea: Vec<Event>,
    eb: Vec<Event>,
}

impl Two {
    fn new() -> Two {
        let now = Instant::now();
        let mut t = Two {
            a: Endpoint::new(Config::new(Role::Client).with_seed([1; 32]), now).unwrap(),
            b: Endpoint::new(Config::new(Role::Server).with_seed([2; 32]), now).unwrap(),
            now,
            ea: vec![],
            eb: vec![],
        };
        t.a.connect(now).unwrap();
        t.b.connect(now).unwrap();
        t.pump();
        t
    }

    fn pump(&mut self) {
        for _ in 0..500 {
            let mut moved = false;
            while let Some(p) = self.a.poll_transmit() {
                self.b.handle_input(self.now, p);
                moved = true;
            }
            while let Some(p) = self.b.poll_transmit() {
                self.a.handle_input(self.now, p);
                moved = true;
            }
            while let Some(e) = self.a.poll_event() {
                self.ea.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.eb.push(e);
            }
            if !moved {
                // Let delayed SACKs and resets go.
                self.now += Duration::from_millis(250);
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
                if self.a.poll_timeout().is_none() && self.b.poll_timeout().is_none() {
                    break;
                }
            }
        }
    }

    fn messages_b(&self) -> Vec<(ChannelId, bool, Bytes)> {
        self.eb
            .iter()
            .filter_map(|e| {
                if let Event::Message(m) = e {
                    Some((m.id, m.binary, m.data.clone()))
                } else {
                    None
                }
            })
            .collect()
    }
}

#[test]
fn ids_follow_the_dtls_role() {
    let mut t = Two::new();
    let now = t.now;
    assert_eq!(
        t.a.create_channel(now, ChannelInit::new("a0")).unwrap(),
        ChannelId(0)
    );
    assert_eq!(
        t.a.create_channel(now, ChannelInit::new("a1")).unwrap(),
        ChannelId(2)
    );
    assert_eq!(
        t.b.create_channel(now, ChannelInit::new("b0")).unwrap(),
        ChannelId(1)
    );
    assert_eq!(
        t.b.create_channel(now, ChannelInit::new("b1")).unwrap(),
        ChannelId(3)
    );
    t.pump();
    for id in [0, 1, 2, 3] {
        assert_eq!(
            t.a.channel(ChannelId(id)).unwrap().state,
            ChannelState::Open
        );
        assert_eq!(
            t.b.channel(ChannelId(id)).unwrap().state,
            ChannelState::Open
        );
    }
    assert!(t.eb.contains(&Event::Incoming(ChannelId(0))));
    assert!(t.ea.contains(&Event::Incoming(ChannelId(1))));
}

#[test]
fn open_carries_label_protocol_and_reliability() {
    let mut t = Two::new();
    let now = t.now;
    let mut init = ChannelInit::new("game-state");
    init.protocol = "proto/1".into();
    init.ordered = false;
    init.max_retransmits = Some(3);
    init.priority = 512;
    let id = t.a.create_channel(now, init).unwrap();
    let mut timed = ChannelInit::new("timed");
    timed.max_packet_lifetime = Some(Duration::from_millis(1500));
    let id2 = t.a.create_channel(now, timed).unwrap();
    t.pump();
    let c = t.b.channel(id).unwrap();
    assert_eq!(
        (
            c.label.as_str(),
            c.protocol.as_str(),
            c.ordered,
            c.max_retransmits,
            c.priority
        ),
        ("game-state", "proto/1", false, Some(3), 512)
    );
    assert!(!c.local && !c.negotiated);
    assert_eq!(
        t.b.channel(id2).unwrap().max_packet_lifetime,
        Some(Duration::from_millis(1500))
    );
}

#[test]
fn text_binary_and_empty_messages() {
    let mut t = Two::new();
    let now = t.now;
    let id = t.a.create_channel(now, ChannelInit::new("m")).unwrap();
    t.pump();
    t.a.send_text(now, id, "héllo").unwrap();
    t.a.send(now, id, Bytes::from_static(&[0, 1, 2]), true)
        .unwrap();
    t.a.send(now, id, Bytes::new(), false).unwrap();
    t.a.send(now, id, Bytes::new(), true).unwrap();
    t.pump();
    let got = t.messages_b();
    assert_eq!(
        got,
        vec![
            (id, false, Bytes::from("héllo")),
            (id, true, Bytes::from_static(&[0, 1, 2])),
            (id, false, Bytes::new()),
            (id, true, Bytes::new()),
        ]
    );
    let c = t.b.channel(id).unwrap();
    assert_eq!((c.messages_received, c.bytes_received), (4, 9));
}

#[test]
fn negotiated_channels_open_without_dcep() {
    let mut t = Two::new();
    let now = t.now;
    let mut init = ChannelInit::new("neg");
    init.negotiated = Some(ChannelId(7));
    assert_eq!(t.a.create_channel(now, init.clone()).unwrap(), ChannelId(7));
    assert_eq!(t.b.create_channel(now, init.clone()).unwrap(), ChannelId(7));
    assert_eq!(
        t.a.create_channel(now, init),
        Err(Error::IdInUse(ChannelId(7)))
    );
    t.pump();
    assert!(!t.eb.contains(&Event::Incoming(ChannelId(7))));
    t.a.send_text(now, ChannelId(7), "x").unwrap();
    t.b.send_text(now, ChannelId(7), "y").unwrap();
    t.pump();
    assert_eq!(
        t.messages_b(),
        vec![(ChannelId(7), false, Bytes::from("x"))]
    );
}

#[test]
fn channels_created_before_the_association_open_after_it() {
    let now = Instant::now();
    let mut a = Endpoint::new(Config::new(Role::Client).with_seed([1; 32]), now).unwrap();
    let id = a.create_channel(now, ChannelInit::new("early")).unwrap();
    assert_eq!(a.channel(id).unwrap().state, ChannelState::Connecting);
    assert_eq!(a.send_text(now, id, "too soon"), Err(Error::NotOpen(id)));
    let b = Endpoint::new(Config::new(Role::Server).with_seed([2; 32]), now).unwrap();
    let mut t = Two {
        a,
        b,
        now,
        ea: vec![],
        eb: vec![],
    };
    t.a.connect(now).unwrap();
    t.b.connect(now).unwrap();
    t.pump();
    assert!(t.ea.contains(&Event::Open(id)));
    assert_eq!(t.b.channel(id).unwrap().label, "early");
}

#[test]
fn closing_resets_both_directions_and_frees_the_id() {
    let mut t = Two::new();
    let now = t.now;
    let id = t.a.create_channel(now, ChannelInit::new("c")).unwrap();
    t.pump();
    t.a.send_text(now, id, "last words").unwrap();
    t.a.close_channel(now, id).unwrap();
    assert_eq!(t.a.channel(id).unwrap().state, ChannelState::Closing);
    assert_eq!(t.a.send_text(now, id, "more"), Err(Error::NotOpen(id)));
    t.pump();
    assert_eq!(t.messages_b(), vec![(id, false, Bytes::from("last words"))]);
    for ev in [&t.ea, &t.eb] {
        assert!(ev.contains(&Event::Closing(id)), "{ev:?}");
        assert!(ev.contains(&Event::Closed(id)), "{ev:?}");
    }
    assert!(t.a.channel(id).is_none() && t.b.channel(id).is_none());
    // The id is free again and the new channel starts fresh.
    let again = t.a.create_channel(t.now, ChannelInit::new("c2")).unwrap();
    assert_eq!(again, id);
    t.pump();
    let now = t.now;
    t.a.send_text(now, again, "reborn").unwrap();
    t.pump();
    assert_eq!(t.messages_b().last().unwrap().2, Bytes::from("reborn"));
}

#[test]
fn reliability_options_are_checked() {
    let mut t = Two::new();
    let now = t.now;
    let mut bad = ChannelInit::new("x");
    bad.max_retransmits = Some(1);
    bad.max_packet_lifetime = Some(Duration::from_secs(1));
    assert_eq!(
        t.a.create_channel(now, bad),
        Err(Error::BothReliabilityLimits)
    );
    let mut reserved = ChannelInit::new("x");
    reserved.negotiated = Some(ChannelId(65535));
    assert_eq!(t.a.create_channel(now, reserved), Err(Error::ReservedId));
    assert_eq!(
        t.a.send_text(now, ChannelId(9), "x"),
        Err(Error::NoSuchChannel(ChannelId(9)))
    );
}

#[test]
fn buffered_amount_low_is_reported() {
    let mut t = Two::new();
    let now = t.now;
    let id = t.a.create_channel(now, ChannelInit::new("bulk")).unwrap();
    t.pump();
    t.a.set_buffered_amount_low_threshold(id, 1000);
    for _ in 0..40 {
        t.a.send(now, id, Bytes::from(vec![5u8; 10_000]), true)
            .unwrap();
    }
    assert!(t.a.buffered_amount(id) > 1000);
    t.pump();
    assert_eq!(t.a.buffered_amount(id), 0);
    assert!(t.ea.contains(&Event::BufferedAmountLow(id)));
    assert_eq!(t.messages_b().len(), 40);
}

#[test]
fn association_failure_fails_every_channel() {
    let mut t = Two::new();
    let now = t.now;
    let id = t.a.create_channel(now, ChannelInit::new("x")).unwrap();
    t.pump();
    t.b.sctp_mut().abort(now, "gone");
    t.pump();
    assert!(t.ea.contains(&Event::Error {
        id,
        detail: ErrorDetail::SctpFailure
    }));
    assert!(t.ea.contains(&Event::Closed(id)));
    assert!(t.ea.iter().any(|e| matches!(
        e,
        Event::TransportClosed {
            reason: CloseReason::AbortedByPeer { .. }
        }
    )));
}

/// A browser-like peer driven by hand over a raw association.
struct Raw {
    ep: Endpoint,
    raw: Association,
    now: Instant,
    events: Vec<Event>,
    raw_msgs: Vec<weft_sctp::Message>,
}

impl Raw {
    fn new() -> Raw {
        let now = Instant::now();
        let mut r = Raw {
            ep: Endpoint::new(Config::new(Role::Client).with_seed([1; 32]), now).unwrap(),
            raw: Association::new(
                weft_sctp::Config {
                    rng_seed: Some([3; 32]),
                    zero_checksum: true,
                    ..Default::default()
                },
                now,
            )
            .unwrap(),
            now,
            events: vec![],
            raw_msgs: vec![],
        };
        r.ep.connect(now).unwrap();
        r.raw.connect(now).unwrap();
        r.pump();
        r
    }

    fn pump(&mut self) {
        for _ in 0..10 {
            while let Some(p) = self.ep.poll_transmit() {
                self.raw.handle_input(self.now, p);
            }
            while let Some(p) = self.raw.poll_transmit() {
                self.ep.handle_input(self.now, p);
            }
            while let Some(e) = self.ep.poll_event() {
                self.events.push(e);
            }
            while let Some(e) = self.raw.poll_event() {
                if let weft_sctp::Event::Message(m) = e {
                    self.raw_msgs.push(m);
                }
            }
        }
    }

    fn raw_send(&mut self, stream: u16, ppid: Ppid, data: &'static [u8]) {
        let now = self.now;
        self.raw
            .send(
                now,
                StreamId(stream),
                ppid,
                Bytes::from_static(data),
                &SendOptions::default(),
            )
            .unwrap();
        self.pump();
    }
}

#[test]
fn data_before_the_ack_is_accepted_and_counts_as_the_ack() {
    let mut r = Raw::new();
    let now = r.now;
    let id = r.ep.create_channel(now, ChannelInit::new("ff")).unwrap();
    r.pump();
    // The peer got our OPEN but answers with data instead of an ACK, as Firefox may.
    let open = r
        .raw_msgs
        .iter()
        .find(|m| m.ppid == ppid::DCEP)
        .expect("OPEN sent");
    assert!(matches!(Dcep::decode(&open.data).unwrap(), Dcep::Open(_)));
    r.raw_send(id.0, ppid::STRING, b"early bird");
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Message(m) if m.data == "early bird"))
    );
}

#[test]
fn deprecated_partial_ppids_are_joined_on_receive() {
    let mut r = Raw::new();
    let now = r.now;
    let id = r.ep.create_channel(now, ChannelInit::new("old")).unwrap();
    r.pump();
    r.raw_send(id.0, ppid::DCEP, &[2]);
    r.raw_send(id.0, ppid::STRING_PARTIAL, b"hel");
    r.raw_send(id.0, ppid::STRING_PARTIAL, b"lo ");
    r.raw_send(id.0, ppid::STRING, b"world");
    let msgs: Vec<_> = r
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Message(m) = e {
                Some(m.clone())
            } else {
                None
            }
        })
        .collect();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].text(), Some("hello world"));
}

#[test]
fn a_peer_opened_channel_gets_an_ack_and_a_malformed_open_an_error() {
    let mut r = Raw::new();
    let open = Dcep::Open(Open {
        channel_type: ChannelType::Reliable,
        unordered: false,
        priority: 256,
        reliability: 0,
        label: Bytes::from_static(b"from-browser"),
        protocol: Bytes::new(),
    });
    let mut b = bytes::BytesMut::new();
    open.encode(&mut b);
    let now = r.now;
    r.raw
        .send(
            now,
            StreamId(1),
            ppid::DCEP,
            b.freeze(),
            &SendOptions::default(),
        )
        .unwrap();
    r.pump();
    assert!(r.events.contains(&Event::Incoming(ChannelId(1))));
    assert!(
        r.raw_msgs
            .iter()
            .any(|m| m.stream == StreamId(1) && m.ppid == ppid::DCEP && m.data[..] == [2])
    );
    r.raw_send(3, ppid::DCEP, &[3, 0x7f, 0]);
    assert!(r.events.contains(&Event::Error {
        id: ChannelId(3),
        detail: ErrorDetail::DataChannelFailure
    }));
}
