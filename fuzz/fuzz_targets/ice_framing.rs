//! Cuts arbitrary bytes into RFC 4571 frames with a small deframer, fed in pieces of
//! varying size. Frames never exceed the limit, errors are typed, and frames that come out
//! framed again give back the bytes that went in.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_ice::framing::{Deframer, FrameError, encode};

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, stream)) = data.split_first() else {
        return;
    };
    let max = usize::from(cfg) * 4;
    let mut d = Deframer::with_limits(max, 0);
    let mut consumed = Vec::new();
    let mut rest = stream;
    let mut step = 1 + usize::from(cfg % 7);
    'feed: while !rest.is_empty() {
        let n = step.min(rest.len());
        match d.push(&rest[..n]) {
            Ok(()) => rest = &rest[n..],
            Err(FrameError::Overflow(_)) => break,
            Err(e) => panic!("push gave {e:?}"),
        }
        step = step % 13 + 1;
        loop {
            match d.next_frame() {
                Ok(Some(f)) => {
                    assert!(f.len() <= max);
                    encode(&f, &mut consumed).unwrap();
                }
                Ok(None) => break,
                Err(FrameError::TooLong { len, max: m }) => {
                    assert!(len > m && m == max);
                    break 'feed;
                }
                Err(e) => panic!("next_frame gave {e:?}"),
            }
        }
    }
    // What came out, framed again, is the start of the stream.
    assert!(stream.starts_with(&consumed));
    assert_eq!(consumed.len() + d.buffered() + rest.len(), stream.len());
});
