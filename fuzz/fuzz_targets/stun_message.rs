//! Decodes arbitrary bytes as a STUN message. Whatever decodes must verify without panicking
//! and must re-encode to a message that decodes to the same attributes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_stun::{Attribute, IntegrityKey, Message};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::decode(data) else {
        return;
    };
    let key = IntegrityKey::from_bytes(b"fuzz");
    let _ = msg.verify(&key);
    let _ = msg.unknown_comprehension_required(&[]);
    let _ = msg.mapped_address();

    // Re-encode the plain attributes (integrity and FINGERPRINT are recomputed, not copied).
    let mut again = Message::new(msg.class, msg.method, msg.transaction_id);
    for a in &msg.attributes {
        if !matches!(
            a,
            Attribute::MessageIntegrity(_)
                | Attribute::MessageIntegritySha256(_)
                | Attribute::Fingerprint(_)
        ) {
            again.push(a.clone());
        }
    }
    let bytes = match again.to_vec(Some(weft_stun::Integrity::Both(&key)), true) {
        Ok(b) => b,
        // The added integrity attributes can push a near-maximal message past 64 KiB.
        Err(weft_stun::Error::MessageTooLarge) => return,
        Err(e) => panic!("a decoded message must re-encode: {e}"),
    };
    let back = Message::decode(&bytes).expect("a re-encoded message decodes");
    back.verify(&key).expect("a message weft signed verifies");
    assert_eq!(&back.attributes[..again.attributes.len()], &again.attributes[..]);
});
