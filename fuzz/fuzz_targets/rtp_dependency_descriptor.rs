//! Decodes arbitrary bytes as a sequence of AV1 dependency descriptors (the first byte gives
//! the first one's length; the rest follow it with the structure it attached, if any).
//! Whatever decodes must encode again and decode to the same descriptor.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::dd::{DdReader, DependencyDescriptor};

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n).min(rest.len());
    let (first, second) = rest.split_at(n);
    let mut reader = DdReader::new();
    for chunk in [first, second] {
        let latest = reader.structure().cloned();
        let Ok((d, f)) = reader.decode(chunk) else {
            continue;
        };
        let wire = d
            .to_vec(latest.as_ref())
            .expect("a decoded descriptor encodes");
        let back = DependencyDescriptor::decode(&wire, latest.as_ref()).expect("and decodes");
        assert_eq!(back, d);
        assert_eq!(back.resolve(latest.as_ref()).as_ref(), Some(&f));
    }
});
