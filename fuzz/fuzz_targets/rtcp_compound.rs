//! Decodes arbitrary bytes as a compound RTCP packet. Decoding must never panic; whatever
//! decodes must re-encode (with `encoded_len` agreeing) to bytes that decode to an equal
//! value. Transport-wide CC feedback must also survive the trip through its packet list:
//! rebuilding from `packet_results` gives the same list back; NACKs repack to the same
//! numbers.

#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use weft_rtcp::{
    ArrivalTime, Compound, Nack, Packet, TransportCc, packets, validate_compound,
};

/// 2^24 reference-time ticks of 64 ms, in microseconds.
const REFERENCE_WRAP_US: i64 = (1 << 24) * 64_000;

fuzz_target!(|data: &[u8]| {
    // The zero-copy walk and per-packet decoding agree with whole-compound decoding.
    let mut typed = Vec::new();
    let mut walk_ok = true;
    for raw in packets(data) {
        match raw.and_then(|r| r.decode()) {
            Ok(p) => typed.push(p),
            Err(_) => {
                walk_ok = false;
                break;
            }
        }
    }
    let Ok(compound) = Compound::decode(data) else {
        assert!(!walk_ok, "the walk decoded what Compound::decode refused");
        return;
    };
    assert!(walk_ok);
    assert_eq!(compound.packets, typed);
    let _ = validate_compound(&compound.packets);

    let mut out = Vec::new();
    compound
        .encode(&mut out)
        .unwrap_or_else(|e| panic!("a decoded compound does not encode: {e}"));
    assert_eq!(out.len(), compound.encoded_len());
    let again = Compound::decode(&out).expect("re-encoded compound decodes");
    assert_eq!(again, compound);

    for p in &compound.packets {
        match p {
            Packet::TransportCc(t) => check_twcc(t),
            Packet::Nack(n) => {
                // Repacking the numbers a NACK reports keeps the same set of numbers.
                let lost: BTreeSet<u16> = n.lost().map(|s| s.0).collect();
                let rebuilt = Nack::from_lost(n.sender_ssrc, n.media_ssrc, n.lost());
                assert_eq!(rebuilt.lost().map(|s| s.0).collect::<BTreeSet<_>>(), lost);
                assert!(rebuilt.pairs.len() <= n.lost().count());
            }
            _ => {}
        }
    }
});

fn check_twcc(t: &TransportCc) {
    let results = t.packet_results();
    assert_eq!(results.len(), usize::from(t.status_count));
    let first = results.iter().find_map(|(_, a)| *a);
    if first.is_some_and(|ArrivalTime(us)| (0..REFERENCE_WRAP_US).contains(&us)) {
        let rebuilt = TransportCc::build(t.sender_ssrc, t.media_ssrc, t.fb_pkt_count, &results)
            .expect("a parsed list rebuilds");
        assert_eq!(rebuilt.packet_results(), results);
        let mut out = Vec::new();
        rebuilt.encode(&mut out).expect("a built feedback encodes");
        assert_eq!(TransportCc::decode(&out).expect("decodes"), rebuilt);
    }
}
