//! Arbitrary bytes as a DCEP message: decoding never panics; what decodes re-encodes to a
//! message that decodes the same.

#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weft_datachannel::dcep::Dcep;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Dcep::decode(&Bytes::copy_from_slice(data)) {
        let mut b = BytesMut::new();
        m.encode(&mut b);
        assert_eq!(b.len(), m.encoded_len());
        assert_eq!(Dcep::decode(&b.freeze()).expect("re-encoded DCEP decodes"), m);
    }
});
