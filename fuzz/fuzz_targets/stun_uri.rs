//! Parses arbitrary text as a STUN/TURN URI; what parses must print and parse back the same.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_stun::Uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(uri) = text.parse::<Uri>() {
        let again: Uri = uri.to_string().parse().expect("a printed URI parses");
        assert_eq!(again, uri);
    }
});
