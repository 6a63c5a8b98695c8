//! Parses arbitrary bytes as SDP (as UTF-8 when they are, lossily otherwise, so both the
//! UTF-8 check and the line grammars are reached). Parsing must never panic, and whatever
//! parses must serialize and parse back to an equal value, with `encode`, `encoded_len` and
//! `Display` agreeing. Each trickle-style candidate string is parsed on its own as well.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_sdp::{Candidate, SessionDescription};

fuzz_target!(|data: &[u8]| {
    let _ = SessionDescription::decode(data);
    let text = String::from_utf8_lossy(data);
    let _ = text.parse::<Candidate>().map(|c| {
        let again: Candidate = format!("candidate:{c}").parse().expect("a printed candidate parses");
        assert_eq!(again, c);
    });
    let Ok(sd) = SessionDescription::parse(&text) else {
        return;
    };
    let out = sd.to_string();
    let again = SessionDescription::parse(&out)
        .unwrap_or_else(|e| panic!("serialized description does not parse: {e}\n{out}"));
    assert_eq!(again, sd, "round trip changed the value\n{out}");
    let mut bytes = Vec::new();
    sd.encode(&mut bytes);
    assert_eq!(bytes, out.as_bytes());
    assert_eq!(sd.encoded_len(), bytes.len());
    for m in &sd.media {
        let _ = sd.ice_credentials(m);
        let _ = m.codecs();
        let _ = sd.fingerprints(m);
    }
});
