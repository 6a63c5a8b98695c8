//! Arbitrary bytes as an SCTP packet: decoding never panics, and what decodes encodes to
//! bytes that decode to the same packet.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_sctp::wire::Packet;

fuzz_target!(|data: &[u8]| {
    let raw = Bytes::copy_from_slice(data);
    let _ = Packet::checksum_ok(&raw);
    if let Ok(p) = Packet::decode(&raw) {
        let again = p.to_bytes(false);
        assert!(Packet::checksum_ok(&again));
        let q = Packet::decode(&again).expect("re-encoded packet decodes");
        assert_eq!(p.chunks, q.chunks);
        assert_eq!(p.encoded_len(), again.len());
    }
});
