//! Associations over weft-testkit's simulated network, in virtual time.

#![allow(clippy::print_stderr, clippy::disallowed_methods)] // figures for the log; one real `now`

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use weft_sctp::{CloseReason, Config, Error, Event, Ppid, SendOptions, State, StreamId};
use weft_testkit::LinkConfig;

fn link(rtt_ms: u64) -> LinkConfig {
    LinkConfig::default().with_latency(Duration::from_millis(rtt_ms / 2))
}

#[test]
fn crossing_inits_establish_one_association() {
    let (mut sim, a, b) = pair(1, link(20), config(1), config(2), false);
    connect(&mut sim, a, b);
    let (ea, eb) = (ep(&sim, a), ep(&sim, b));
    assert!(ea.assoc.is_interleaving() && eb.assoc.is_interleaving());
    assert_eq!(ea.assoc.outbound_streams(), 65535);
    assert_eq!(eb.assoc.inbound_streams(), 65535);
    assert!(ea.assoc.supports_partial_reliability() && ea.assoc.supports_stream_reset());
    // Both INITs crossed: one round trip of INIT/INIT-ACK, one of COOKIE-ECHO/ACK.
    let t = ea.connected_at.unwrap() - sim.start();
    assert!(t <= Duration::from_millis(41), "connected after {t:?}");
}

#[test]
fn one_sided_connect_establishes() {
    let (mut sim, a, b) = pair(2, link(20), config(1), config(2), true);
    connect(&mut sim, a, b);
    assert_eq!(ep(&sim, b).assoc.state(), State::Established);
}

#[test]
fn handshake_survives_heavy_loss() {
    for seed in 0..8 {
        let (mut sim, a, b) = pair(
            100 + seed,
            link(20).with_loss(0.3),
            config(1),
            config(2),
            seed % 2 == 0,
        );
        connect(&mut sim, a, b);
    }
}

#[test]
fn init_timeout_when_nobody_answers() {
    let (mut sim, a, _b) = pair(3, link(20).with_loss(1.0), config(1), config(2), true);
    sim.run_until(|s| ep(s, a).closed().is_some(), Duration::from_secs(600))
        .unwrap();
    assert_eq!(ep(&sim, a).closed(), Some(&CloseReason::InitTimeout));
}

fn transfer(
    seed: u64,
    link: LinkConfig,
    msg: usize,
    count: u64,
    interleave: bool,
) -> (u64, Duration) {
    let mut ca = config(1);
    let mut cb = config(2);
    ca.interleaving = interleave;
    cb.interleaving = interleave;
    let (mut sim, a, b) = pair(seed, link, ca, cb, false);
    sim.set_step_budget(100_000_000);
    sim.set_trace_capacity(64);
    connect(&mut sim, a, b);
    let start = sim.now();
    ep_mut(&mut sim, a).flows.push(Flow::new(1, msg, count));
    ep_mut(&mut sim, a).pump();
    sim.run_until(
        |s| ep(s, b).stream(1).messages == count,
        Duration::from_secs(3600),
    )
    .unwrap();
    let rx = ep(&sim, b).stream(1);
    assert_eq!(rx.out_of_order, 0);
    assert_eq!(rx.corrupt, 0);
    assert_eq!(rx.bytes, msg as u64 * count);
    (rx.bytes, sim.now() - start)
}

#[test]
fn transfers_ordered_without_loss() {
    transfer(4, link(10), 64 * 1024, 256, true);
    transfer(4, link(10), 1000, 5000, false);
}

#[test]
fn transfers_ordered_under_loss_reordering_and_duplication() {
    for (seed, loss) in [(5, 0.01), (6, 0.05)] {
        let l = link(20)
            .with_loss(loss)
            .with_reorder(0.02, Duration::from_millis(5))
            .with_duplicate(0.01);
        transfer(seed, l.clone(), 64 * 1024, 64, true);
        transfer(seed, l, 64 * 1024, 64, false);
    }
}

/// The gigabyte of the issue: 16384 messages of 64 KiB on one reliable ordered channel.
fn gigabyte(seed: u64, loss: f64) {
    let l = LinkConfig::default()
        .with_latency(Duration::from_millis(5))
        .with_bandwidth(1_000_000_000, 2 << 20)
        .with_loss(loss)
        .with_reorder(
            if loss > 0.0 { 0.01 } else { 0.0 },
            Duration::from_millis(2),
        )
        .with_duplicate(if loss > 0.0 { 0.005 } else { 0.0 });
    let (bytes, took) = transfer(seed, l, 64 * 1024, 16384, true);
    assert_eq!(bytes, 1 << 30);
    eprintln!(
        "1 GiB with {:.0}% loss: {:?} of virtual time",
        loss * 100.0,
        took
    );
}

#[test]
fn gigabyte_arrives_complete_and_in_order_without_loss() {
    gigabyte(20, 0.0);
}

#[test]
fn gigabyte_arrives_complete_and_in_order_with_1_percent_loss() {
    gigabyte(21, 0.01);
}

#[test]
fn gigabyte_arrives_complete_and_in_order_with_5_percent_loss() {
    gigabyte(22, 0.05);
}

#[test]
fn unordered_reliable_delivers_everything_once() {
    let l = link(20)
        .with_loss(0.05)
        .with_reorder(0.05, Duration::from_millis(10));
    let (mut sim, a, b) = pair(30, l, config(1), config(2), false);
    connect(&mut sim, a, b);
    let mut f = Flow::new(3, 3000, 2000);
    f.opts.unordered = true;
    ep_mut(&mut sim, a).flows.push(f);
    ep_mut(&mut sim, a).pump();
    sim.run_until(
        |s| ep(s, b).stream(3).messages == 2000,
        Duration::from_secs(600),
    )
    .unwrap();
    sim.run_for(Duration::from_secs(2)).unwrap();
    let rx = ep(&sim, b).stream(3);
    assert_eq!(rx.messages, 2000);
    assert_eq!(rx.corrupt, 0);
}

fn partial(seed: u64, interleave: bool, opts: SendOptions) -> (u64, u64, u64) {
    let mut ca = config(1);
    let mut cb = config(2);
    ca.interleaving = interleave;
    cb.interleaving = interleave;
    let l = link(40)
        .with_loss(0.05)
        .with_bandwidth(20_000_000, 64 * 1024);
    let (mut sim, a, b) = pair(seed, l, ca, cb, false);
    connect(&mut sim, a, b);
    let count = 3000;
    let mut f = Flow::new(5, 2500, count);
    f.opts = opts;
    ep_mut(&mut sim, a).flows.push(f);
    ep_mut(&mut sim, a).send_ahead = 8 << 20;
    ep_mut(&mut sim, a).pump();
    sim.run_until(
        |s| {
            ep(s, a).flows_done()
                && ep(s, a).assoc.stats().flight_size == 0
                && ep(s, a).assoc.total_buffered_amount() == 0
        },
        Duration::from_secs(600),
    )
    .unwrap();
    sim.run_for(Duration::from_secs(5)).unwrap();
    let st = ep(&sim, a).assoc.stats();
    let rx = ep(&sim, b).stream(5);
    assert_eq!(rx.corrupt, 0);
    assert_eq!(
        rx.out_of_order, 0,
        "ordered partial reliability keeps order"
    );
    (
        rx.messages,
        st.messages_abandoned,
        st.messages_expired_unsent,
    )
}

#[test]
fn max_retransmits_zero_abandons_lost_messages_and_delivers_the_rest() {
    for interleave in [false, true] {
        let opts = SendOptions {
            max_retransmits: Some(0),
            ..SendOptions::default()
        };
        let (got, abandoned, _) = partial(31, interleave, opts);
        assert!(abandoned > 0, "5% loss must abandon something");
        // Each message is delivered or abandoned (a message whose SACK was lost can be both).
        assert!(got + abandoned >= 3000, "got {got} abandoned {abandoned}");
        assert!(got < 3000, "some messages must be missing, got {got}");
        eprintln!("maxRetransmits=0 (i-data {interleave}): {got} delivered, {abandoned} abandoned");
    }
}

#[test]
fn lifetime_expires_messages_in_queue_and_in_flight() {
    for interleave in [false, true] {
        let opts = SendOptions {
            lifetime: Some(Duration::from_millis(100)),
            ..SendOptions::default()
        };
        let (got, abandoned, expired) = partial(32, interleave, opts);
        assert!(abandoned + expired > 0);
        assert!(
            got + abandoned + expired >= 3000,
            "got {got} abandoned {abandoned} expired {expired}"
        );
        assert!(got < 3000);
        eprintln!(
            "lifetime 100 ms (i-data {interleave}): {got} delivered, {abandoned} abandoned, {expired} expired unsent"
        );
    }
}

#[test]
fn interleaving_lets_a_small_message_overtake_a_huge_one() {
    for interleave in [true, false] {
        let mut ca = config(1);
        let mut cb = config(2);
        ca.interleaving = interleave;
        cb.interleaving = interleave;
        ca.remote_max_message_size = 16 << 20;
        cb.max_message_size = 16 << 20;
        cb.receive_buffer = 32 << 20;
        let l = link(20).with_bandwidth(100_000_000, 1 << 20);
        let (mut sim, a, b) = pair(40, l, ca, cb, false);
        connect(&mut sim, a, b);
        let now = sim.now();
        let big = pattern(0, 16 << 20);
        let small = pattern(0, 100);
        let ea = ep_mut(&mut sim, a);
        ea.assoc
            .send(now, StreamId(0), Ppid(53), big, &SendOptions::default())
            .unwrap();
        ea.assoc
            .send(now, StreamId(2), Ppid(53), small, &SendOptions::default())
            .unwrap();
        sim.run_until(
            |s| ep(s, b).stream(0).messages == 1 && ep(s, b).stream(2).messages == 1,
            Duration::from_secs(60),
        )
        .unwrap();
        let eb = ep(&sim, b);
        let (big_at, small_at) = (eb.stream(0).last_at.unwrap(), eb.stream(2).last_at.unwrap());
        assert_eq!(eb.stream(0).corrupt + eb.stream(2).corrupt, 0);
        if interleave {
            assert!(
                small_at - now < Duration::from_millis(100),
                "small message took {:?}",
                small_at - now
            );
            assert!(small_at < big_at);
        } else {
            assert!(small_at >= big_at, "without I-DATA the small message waits");
        }
    }
}

#[test]
fn stream_reset_closes_both_directions_and_restarts_numbering() {
    let (mut sim, a, b) = pair(50, link(20), config(1), config(2), false);
    connect(&mut sim, a, b);
    ep_mut(&mut sim, a).flows.push(Flow::new(7, 500, 10));
    ep_mut(&mut sim, a).pump();
    let now = sim.now();
    // Queued data goes out before the reset request.
    ep_mut(&mut sim, a)
        .assoc
        .reset_streams(now, &[StreamId(7)])
        .unwrap();
    assert_eq!(
        ep_mut(&mut sim, a).assoc.send(
            now,
            StreamId(7),
            Ppid(51),
            Bytes::from_static(b"late"),
            &SendOptions::default()
        ),
        Err(Error::StreamResetting(StreamId(7)))
    );
    sim.run_until(
        |s| {
            ep(s, b)
                .events
                .iter()
                .any(|(_, e)| matches!(e, Event::IncomingStreamsReset { .. }))
        },
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(
        ep(&sim, b).stream(7).messages,
        10,
        "messages before the reset are delivered first"
    );
    // B answers by resetting its own outgoing stream 7, as a data channel close does.
    let now = sim.now();
    ep_mut(&mut sim, b)
        .assoc
        .reset_streams(now, &[StreamId(7)])
        .unwrap();
    sim.run_until(
        |s| {
            ep(s, a)
                .events
                .iter()
                .any(|(_, e)| matches!(e, Event::OutgoingStreamsReset { .. }))
                && ep(s, b)
                    .events
                    .iter()
                    .any(|(_, e)| matches!(e, Event::OutgoingStreamsReset { .. }))
                && ep(s, a)
                    .events
                    .iter()
                    .any(|(_, e)| matches!(e, Event::IncomingStreamsReset { .. }))
        },
        Duration::from_secs(10),
    )
    .unwrap();
    // The id is reusable and numbered from 0 again: delivery in order proves it.
    let ea = ep_mut(&mut sim, a);
    ea.flows.clear();
    ea.flows.push(Flow::new(7, 500, 5));
    ea.pump();
    sim.run_until(
        |s| ep(s, b).stream(7).messages == 15,
        Duration::from_secs(10),
    )
    .unwrap();
}

#[test]
fn graceful_shutdown_delivers_everything_then_closes_both() {
    let (mut sim, a, b) = pair(60, link(20).with_loss(0.02), config(1), config(2), false);
    connect(&mut sim, a, b);
    ep_mut(&mut sim, a).flows.push(Flow::new(1, 20_000, 200));
    ep_mut(&mut sim, a).send_ahead = 16 << 20;
    ep_mut(&mut sim, a).pump();
    let now = sim.now();
    ep_mut(&mut sim, a).assoc.close(now);
    sim.run_until(
        |s| ep(s, a).closed().is_some() && ep(s, b).closed().is_some(),
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(ep(&sim, a).closed(), Some(&CloseReason::Shutdown));
    assert_eq!(ep(&sim, b).closed(), Some(&CloseReason::Shutdown));
    assert_eq!(ep(&sim, b).stream(1).messages, 200);
}

#[test]
fn abort_reaches_the_peer_with_its_reason() {
    let (mut sim, a, b) = pair(61, link(20), config(1), config(2), false);
    connect(&mut sim, a, b);
    let now = sim.now();
    ep_mut(&mut sim, a).assoc.abort(now, "bye now");
    sim.run_until(|s| ep(s, b).closed().is_some(), Duration::from_secs(5))
        .unwrap();
    assert_eq!(ep(&sim, a).closed(), Some(&CloseReason::Aborted));
    match ep(&sim, b).closed() {
        Some(CloseReason::AbortedByPeer {
            cause: Some(12),
            text,
        }) => assert_eq!(text, "bye now"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn message_size_limits_are_enforced_on_both_sides() {
    let mut ca = config(1);
    ca.remote_max_message_size = 1 << 20; // a sender that believes the receiver takes 1 MiB
    let cb = config(2); // the receiver takes 256 KiB
    let (mut sim, a, b) = pair(62, link(20), ca, cb, false);
    connect(&mut sim, a, b);
    let now = sim.now();
    let r = ep_mut(&mut sim, b).assoc.send(
        now,
        StreamId(1),
        Ppid(53),
        pattern(0, 300_000),
        &SendOptions::default(),
    );
    assert_eq!(
        r,
        Err(Error::MessageTooLarge {
            size: 300_000,
            max: 256 * 1024
        })
    );
    ep_mut(&mut sim, a)
        .assoc
        .send(
            now,
            StreamId(1),
            Ppid(53),
            pattern(0, 300_000),
            &SendOptions::default(),
        )
        .unwrap();
    sim.run_until(
        |s| ep(s, b).closed().is_some() && ep(s, a).closed().is_some(),
        Duration::from_secs(10),
    )
    .unwrap();
    assert!(matches!(
        ep(&sim, b).closed(),
        Some(CloseReason::ProtocolViolation(_))
    ));
    assert!(matches!(
        ep(&sim, a).closed(),
        Some(CloseReason::AbortedByPeer {
            cause: Some(13),
            ..
        })
    ));
}

#[test]
fn zero_checksum_only_when_both_offer_it() {
    for (za, zb) in [(true, true), (true, false)] {
        let mut ca = config(1);
        let mut cb = config(2);
        ca.zero_checksum = za;
        cb.zero_checksum = zb;
        let (mut sim, a, b) = pair(63, link(20), ca, cb, false);
        connect(&mut sim, a, b);
        assert_eq!(ep(&sim, a).assoc.is_zero_checksum(), za && zb);
        assert_eq!(ep(&sim, b).assoc.is_zero_checksum(), za && zb);
        ep_mut(&mut sim, a).flows.push(Flow::new(1, 5000, 100));
        ep_mut(&mut sim, a).pump();
        sim.run_until(
            |s| ep(s, b).stream(1).messages == 100,
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(ep(&sim, b).assoc.stats().checksum_errors, 0);
    }
}

#[test]
fn stalled_reader_closes_the_window_and_reopening_resumes() {
    let mut cb = config(2);
    cb.receive_buffer = 256 * 1024;
    cb.max_message_size = 64 * 1024;
    let (mut sim, a, b) = pair(64, link(20), config(1), cb, false);
    connect(&mut sim, a, b);
    ep_mut(&mut sim, b).reading = false;
    ep_mut(&mut sim, a).flows.push(Flow::new(1, 10_000, 200));
    ep_mut(&mut sim, a).send_ahead = 4 << 20;
    ep_mut(&mut sim, a).pump();
    sim.run_for(Duration::from_secs(5)).unwrap();
    let held = ep(&sim, b).assoc.stats().receive_buffered;
    assert!(
        held <= 256 * 1024 + 64 * 1024,
        "receiver holds {held} bytes"
    );
    assert!(ep(&sim, a).assoc.stats().peer_rwnd < 20_000);
    assert!(
        ep(&sim, a).closed().is_none(),
        "a closed window is not a failure"
    );
    ep_mut(&mut sim, b).reading = true;
    ep_mut(&mut sim, b).pump();
    sim.run_until(
        |s| ep(s, b).stream(1).messages == 200,
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(ep(&sim, b).stream(1).out_of_order, 0);
}

#[test]
fn dead_path_ends_after_max_retransmissions() {
    let (mut sim, a, b) = pair(65, link(20), config(1), config(2), false);
    connect(&mut sim, a, b);
    sim.set_default_link(link(20).with_loss(1.0));
    ep_mut(&mut sim, a).flows.push(Flow::new(1, 1000, 1));
    ep_mut(&mut sim, a).pump();
    sim.run_until(|s| ep(s, a).closed().is_some(), Duration::from_secs(3600))
        .unwrap();
    assert_eq!(
        ep(&sim, a).closed(),
        Some(&CloseReason::TooManyRetransmissions)
    );
}

#[test]
fn buffered_amount_low_fires_when_the_queue_drains() {
    let (mut sim, a, b) = pair(66, link(20), config(1), config(2), false);
    connect(&mut sim, a, b);
    let now = sim.now();
    let ea = ep_mut(&mut sim, a);
    ea.assoc
        .set_buffered_amount_low_threshold(StreamId(4), 10_000);
    for i in 0..50 {
        ea.assoc
            .send(
                now,
                StreamId(4),
                Ppid(53),
                pattern(i, 4000),
                &SendOptions::default(),
            )
            .unwrap();
    }
    assert_eq!(ea.assoc.buffered_amount(StreamId(4)), 200_000);
    sim.run_until(
        |s| ep(s, b).stream(4).messages == 50,
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(ep(&sim, a).assoc.buffered_amount(StreamId(4)), 0);
    let lows = ep(&sim, a)
        .events
        .iter()
        .filter(|(_, e)| {
            *e == Event::BufferedAmountLow {
                stream: StreamId(4),
            }
        })
        .count();
    assert_eq!(lows, 1);
}

#[test]
fn same_seed_same_run() {
    let run = || {
        let l = link(20)
            .with_loss(0.05)
            .with_reorder(0.05, Duration::from_millis(3));
        let (mut sim, a, b) = pair(70, l, config(1), config(2), false);
        connect(&mut sim, a, b);
        ep_mut(&mut sim, a).flows.push(Flow::new(1, 3000, 300));
        ep_mut(&mut sim, a).pump();
        sim.run_until(
            |s| ep(s, b).stream(1).messages == 300,
            Duration::from_secs(60),
        )
        .unwrap();
        (
            sim.now() - sim.start(),
            sim.trace_digest(),
            ep(&sim, a).assoc.stats(),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn invalid_config_is_refused() {
    let c = Config {
        mtu: 100,
        ..Config::default()
    };
    assert!(weft_sctp::Association::new(c, std::time::Instant::now()).is_err());
}
