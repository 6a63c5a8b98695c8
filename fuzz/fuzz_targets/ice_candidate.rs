//! Arbitrary text as an ICE `candidate` attribute: parsing never panics, and whatever parses
//! writes back to text that parses to the same candidate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_ice::Candidate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = text.parse::<Candidate>() {
        let again: Candidate = c.to_string().parse().expect("written candidates parse");
        assert_eq!(again, c);
    }
});
