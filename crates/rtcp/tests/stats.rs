//! RFC 3550 receiver statistics (A.1, A.3, A.8, §6.4.1) and round-trip times.

#![allow(clippy::disallowed_methods)] // tests take a base Instant from the clock

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use weft_rtcp::*;

const CLOCK: u32 = 8000; // 8 kHz audio: 160 ticks per 20 ms packet

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn a_steady_stream_has_no_jitter_and_no_loss() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(9), CLOCK);
    for i in 0..100u16 {
        assert_eq!(
            s.handle_packet(1000 + i, 160 * u32::from(i), t0 + ms(20 * u64::from(i))),
            i > 0
        );
    }
    let b = s.report_block(t0 + ms(2000)).unwrap();
    assert_eq!(b.ssrc, Ssrc(9));
    assert_eq!(b.jitter, 0);
    assert_eq!(b.fraction_lost, 0);
    assert_eq!(b.cumulative_lost, 0);
    assert_eq!(b.extended_highest_seq, 1099);
    assert_eq!(
        (b.last_sr, b.delay_since_last_sr),
        (CompactNtp(0), CompactNtp(0))
    );
}

#[test]
fn a_source_is_not_reported_before_probation_ends() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    assert!(!s.handle_packet(7, 0, t0));
    assert!(!s.is_valid());
    assert_eq!(s.report_block(t0), None);
    // Out of sequence: probation starts again.
    assert!(!s.handle_packet(9, 0, t0));
    assert!(s.handle_packet(10, 0, t0));
    assert!(s.is_valid());
    assert_eq!(s.extended_highest_seq(), Some(10));
}

#[test]
fn jitter_follows_the_rfc_estimator() {
    // Arrivals wobble around the 20 ms grid; the float model of RFC 3550 A.8 and the
    // fixed-point estimate agree to within one timestamp unit.
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    let wobble = [0u64, 7, 1, 12, 3, 0, 9, 4, 15, 2];
    let mut model = 0f64;
    let mut last_transit: Option<f64> = None;
    for i in 0..400u64 {
        let arrival_ms = 20 * i + wobble[(i * 7 % 10) as usize];
        let ts = 160 * i as u32;
        let counted = s.handle_packet(i as u16, ts, t0 + ms(arrival_ms));
        if counted {
            let transit = arrival_ms as f64 * 8.0 - f64::from(ts);
            if let Some(l) = last_transit {
                model += ((transit - l).abs() - model) / 16.0;
            }
            last_transit = Some(transit);
        }
    }
    let got = f64::from(s.jitter());
    assert!(model > 10.0, "the wobble makes jitter ({model})");
    assert!((got - model).abs() <= 1.0, "jitter {got}, model {model}");
}

#[test]
fn fraction_lost_is_per_interval_and_cumulative_lost_is_not() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    // Seq 0 and 1 pass probation; from 1 to 100, every 10th is lost.
    s.handle_packet(0, 0, t0);
    for seq in 1..=100u16 {
        if seq % 10 != 5 {
            s.handle_packet(seq, 0, t0);
        }
    }
    let b = s.report_block(t0).unwrap();
    assert_eq!(b.cumulative_lost, 10);
    // 10 lost of 100 expected: 25.6/256, truncated.
    assert_eq!(b.fraction_lost, 25);
    assert_eq!(s.expected(), Some(100));
    for seq in 101..=150u16 {
        s.handle_packet(seq, 0, t0);
    }
    let b = s.report_block(t0).unwrap();
    assert_eq!(b.fraction_lost, 0);
    assert_eq!(b.cumulative_lost, 10);
    // Nothing new: an empty interval reports no loss.
    assert_eq!(s.report_block(t0).unwrap().fraction_lost, 0);
}

#[test]
fn duplicates_make_cumulative_loss_negative() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    for seq in [0u16, 1, 2, 2, 2, 3] {
        s.handle_packet(seq, 0, t0);
    }
    let b = s.report_block(t0).unwrap();
    assert_eq!(b.cumulative_lost, -2);
    assert_eq!(b.fraction_lost, 0);
}

#[test]
fn wraps_extend_the_highest_sequence_number() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    for i in 0..12u16 {
        s.handle_packet(65530u16.wrapping_add(i), 0, t0);
    }
    // A late packet from before the wrap does not move the highest number back.
    s.handle_packet(65534, 0, t0);
    assert_eq!(s.extended_highest_seq(), Some(65536 + 5));
    let b = s.report_block(t0).unwrap();
    assert_eq!(b.extended_highest_seq, 65541);
    assert_eq!(b.cumulative_lost, -1);
}

#[test]
fn a_confirmed_large_jump_restarts_the_counts() {
    let t0 = Instant::now();
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    for seq in 0..10u16 {
        s.handle_packet(seq, 0, t0);
    }
    // One packet 20000 ahead is dropped as a stray...
    assert!(!s.handle_packet(20_000, 0, t0));
    assert_eq!(s.extended_highest_seq(), Some(9));
    // ...but its successor confirms a restart (the source reset its sequence).
    assert!(s.handle_packet(20_001, 0, t0));
    assert_eq!(s.extended_highest_seq(), Some(20_001));
    assert_eq!(s.received(), 1);
    assert_eq!(s.cumulative_lost(), Some(0));
}

#[test]
fn lsr_and_dlsr_come_from_the_last_sender_report() {
    let t0 = Instant::now();
    let wall = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ntp = NtpTime::from_system_time(wall);
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    s.handle_packet(0, 0, t0);
    s.handle_packet(1, 160, t0 + ms(20));
    s.handle_sender_report(ntp, t0 + ms(100));
    let b = s.report_block(t0 + ms(1600)).unwrap();
    assert_eq!(b.last_sr, ntp.compact());
    assert_eq!(b.delay_since_last_sr, CompactNtp(98_304)); // 1.5 s
}

#[test]
fn rtt_is_arrival_minus_lsr_minus_dlsr() {
    let sent: SystemTime = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let sr_ntp = NtpTime::from_system_time(sent);
    // The receiver held our SR for 250 ms; the network took 2 × 40 ms.
    let block = ReportBlock {
        last_sr: sr_ntp.compact(),
        delay_since_last_sr: CompactNtp::from_duration(ms(250)),
        ..Default::default()
    };
    let arrival = NtpTime::from_system_time(sent + ms(330));
    let rtt = rtt(arrival, &block).unwrap();
    assert!(rtt.abs_diff(ms(80)) < Duration::from_micros(40), "{rtt:?}");
    // No SR received yet: no RTT.
    assert_eq!(weft_rtcp::rtt(arrival, &ReportBlock::default()), None);
    // A delay longer than the elapsed time is inconsistent.
    let late = ReportBlock {
        delay_since_last_sr: CompactNtp::from_duration(ms(400)),
        ..block
    };
    assert_eq!(weft_rtcp::rtt(arrival, &late), None);
    // The XR path (RFC 3611 §4.5) computes the same.
    let item = DlrrItem {
        ssrc: Ssrc(1),
        last_rr: block.last_sr,
        delay_since_last_rr: block.delay_since_last_sr,
    };
    assert_eq!(rtt_from_dlrr(arrival, &item), Some(rtt));
}

#[test]
fn arrivals_going_backwards_are_clamped() {
    let t0 = Instant::now() + ms(1000);
    let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
    s.handle_packet(0, 0, t0);
    s.handle_packet(1, 160, t0 + ms(20));
    // This one claims to arrive before the previous: taken as arriving with it.
    s.handle_packet(2, 320, t0);
    // Transit dropped by 160 ticks once: J = 160/16 = 10.
    assert_eq!(s.jitter(), 10);
}

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            clock in any::<u32>(),
            input in vec((any::<u16>(), any::<u32>(), 0..10_000_000u64), 0..200),
            sr in any::<u64>(),
        ) {
            let t0 = Instant::now();
            let mut s = ReceiverStats::new(Ssrc(1), clock);
            for (i, (seq, ts, at)) in input.into_iter().enumerate() {
                s.handle_packet(seq, ts, t0 + Duration::from_micros(at));
                if i % 17 == 0 {
                    s.handle_sender_report(NtpTime(sr), t0 + Duration::from_micros(at));
                }
                if i % 13 == 0 && let Some(b) = s.report_block(t0 + Duration::from_micros(at)) {
                    prop_assert!((-0x80_0000..=0x7F_FFFF).contains(&b.cumulative_lost));
                }
            }
        }

        #[test]
        fn in_order_streams_count_their_gaps(
            start in any::<u16>(),
            gaps in vec(1..50u16, 1..500),
        ) {
            // Two packets in sequence pass probation, then packets follow with gaps.
            let t0 = Instant::now();
            let mut s = ReceiverStats::new(Ssrc(1), CLOCK);
            s.handle_packet(start, 0, t0);
            let mut seq = start.wrapping_add(1);
            s.handle_packet(seq, 0, t0);
            let mut lost = 0u64;
            let mut highest = u64::from(seq);
            for g in gaps {
                seq = seq.wrapping_add(g);
                highest += u64::from(g);
                lost += u64::from(g - 1);
                prop_assert!(s.handle_packet(seq, 0, t0));
            }
            let b = s.report_block(t0).unwrap();
            prop_assert_eq!(i64::from(b.cumulative_lost), lost as i64);
            prop_assert_eq!(u64::from(b.extended_highest_seq), highest);
        }
    }
}
