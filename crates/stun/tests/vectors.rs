//! RFC 5769 test vectors (all four) and the RFC 8489 Appendix B.1 SHA-256 vector.

use std::net::SocketAddr;

use weft_stun::{
    Attribute, Class, Integrity, IntegrityKey, Message, Method, PasswordAlgorithm, TransactionId,
    userhash,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const PASSWORD: &str = "VOkJxbRl1RmTxUk/WvJxBt";
const TID_SHORT: [u8; 12] = [
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
];

/// RFC 5769 §2.1. Its USERNAME padding is three spaces, which receivers must ignore.
const SAMPLE_REQUEST: &str = "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf";
/// RFC 5769 §2.2.
const SAMPLE_IPV4_RESPONSE: &str = "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96";
/// RFC 5769 §2.3.
const SAMPLE_IPV6_RESPONSE: &str = "010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c";
/// RFC 5769 §2.4.
const SAMPLE_LONG_TERM: &str = "000100602112a44278ad3433c6ad72c029da412e00060012e3839ee38388e383aae38383e382afe382b900000015001c662f2f3439396b39353464364f4c33346f4c394653547679363473410014000b6578616d706c652e6f72670000080014f67024656dd64a3e02b8e0712e85c9a28ca89666";
/// RFC 8489 Appendix B.1 as corrected by verified erratum 6268 (the printed vector has a
/// wrong length field and omits PASSWORD-ALGORITHM).
const SAMPLE_SHA256: &str = "000100902112a44278ad3433c6ad72c029da412e001e00204a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704001500296f624d61744a6f733241414143662f2f3439396b39353464364f4c33346f4c394653547679363473410000000014000b6578616d706c652e6f726700001d000400020000001c0020b5c7bf005b6c52a21c51c5e892f81924136296cb927c43149309278cc6518e65";

const MATRIX_USER: &str = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
/// `The<U+00AD>M<U+00AA>tr<U+2168>` after SASLprep, which RFC 5769 used. OpaqueString (RFC
/// 8265) rejects U+00AD, so the prepared form is given directly.
const MATRIX_PASSWORD_PREPARED: &str = "TheMatrIX";

#[test]
fn rfc5769_sample_request() {
    let bytes = hex(SAMPLE_REQUEST);
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(msg.class, Class::Request);
    assert_eq!(msg.method, Method::BINDING);
    assert_eq!(msg.transaction_id, TransactionId::new(TID_SHORT));
    assert_eq!(
        msg.attributes[..4],
        [
            Attribute::Software("STUN test client"),
            Attribute::Priority(0x6e0001ff),
            Attribute::IceControlled(0x932ff9b151263b36),
            Attribute::Username("evtj:h6vY"),
        ]
    );
    let key = IntegrityKey::short_term(PASSWORD).unwrap();
    msg.verify(&key).unwrap();
    let wrong = IntegrityKey::short_term("not the password").unwrap();
    assert!(msg.verify(&wrong).is_err());
}

#[test]
fn rfc5769_sample_request_reencodes_with_zero_padding() {
    // The vector pads USERNAME with spaces; weft pads with zeros, which changes the MAC and
    // CRC. Re-encode and check the result against the vector's own bytes with zero padding.
    let key = IntegrityKey::short_term(PASSWORD).unwrap();
    let msg = Message::new(
        Class::Request,
        Method::BINDING,
        TransactionId::new(TID_SHORT),
    )
    .with(Attribute::Software("STUN test client"))
    .with(Attribute::Priority(0x6e0001ff))
    .with(Attribute::IceControlled(0x932ff9b151263b36))
    .with(Attribute::Username("evtj:h6vY"));
    let ours = msg.to_vec(Some(Integrity::Sha1(&key)), true).unwrap();
    let mut theirs = hex(SAMPLE_REQUEST);
    theirs[73..76].copy_from_slice(&[0, 0, 0]);
    assert_eq!(ours[..76], theirs[..76]);
    let back = Message::decode(&ours).unwrap();
    back.verify(&key).unwrap();
    assert_eq!(back.attributes[..4], msg.attributes[..]);
}

#[test]
fn rfc5769_ipv4_response() {
    let bytes = hex(SAMPLE_IPV4_RESPONSE);
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(msg.class, Class::Success);
    assert_eq!(
        msg.get(weft_stun::AttrType::SOFTWARE),
        Some(&Attribute::Software("test vector"))
    );
    let expected: SocketAddr = "192.0.2.1:32853".parse().unwrap();
    assert_eq!(msg.mapped_address(), Some(expected));
    msg.verify(&IntegrityKey::short_term(PASSWORD).unwrap())
        .unwrap();
}

#[test]
fn rfc5769_ipv6_response() {
    let bytes = hex(SAMPLE_IPV6_RESPONSE);
    let msg = Message::decode(&bytes).unwrap();
    let expected: SocketAddr = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"
        .parse()
        .unwrap();
    assert_eq!(msg.mapped_address(), Some(expected));
    msg.verify(&IntegrityKey::short_term(PASSWORD).unwrap())
        .unwrap();
}

#[test]
fn rfc5769_long_term_request_decodes_verifies_and_reencodes_exactly() {
    let bytes = hex(SAMPLE_LONG_TERM);
    let msg = Message::decode(&bytes).unwrap();
    assert_eq!(msg.username(), Some(MATRIX_USER));
    let key = IntegrityKey::long_term(
        MATRIX_USER,
        "example.org",
        MATRIX_PASSWORD_PREPARED,
        PasswordAlgorithm::Md5,
    )
    .unwrap();
    assert_eq!(key.as_bytes(), hex("e8ca7ad59d5eb0518e312911d2dab2a9"));
    msg.verify(&key).unwrap();

    // The vector pads with zeros, so weft reproduces it byte for byte.
    let built = Message::new(
        Class::Request,
        Method::BINDING,
        TransactionId::new(*msg.transaction_id.as_bytes()),
    )
    .with(Attribute::Username(MATRIX_USER))
    .with(Attribute::Nonce("f//499k954d6OL34oL9FSTvy64sA"))
    .with(Attribute::Realm("example.org"));
    assert_eq!(
        built.to_vec(Some(Integrity::Sha1(&key)), false).unwrap(),
        bytes
    );
}

#[test]
fn rfc8489_b1_sha256_request_with_userhash() {
    let bytes = hex(SAMPLE_SHA256);
    let msg = Message::decode(&bytes).unwrap();
    let uh = userhash(MATRIX_USER, "example.org").unwrap();
    assert_eq!(msg.attributes[0], Attribute::Userhash(uh));
    assert_eq!(
        msg.attributes[1],
        Attribute::Nonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA")
    );
    assert_eq!(
        msg.attributes[3],
        Attribute::PasswordAlgorithm(PasswordAlgorithm::Sha256)
    );
    let key = IntegrityKey::long_term(
        MATRIX_USER,
        "example.org",
        MATRIX_PASSWORD_PREPARED,
        PasswordAlgorithm::Sha256,
    )
    .unwrap();
    msg.verify(&key).unwrap();
    let md5 = IntegrityKey::long_term(
        MATRIX_USER,
        "example.org",
        MATRIX_PASSWORD_PREPARED,
        PasswordAlgorithm::Md5,
    )
    .unwrap();
    assert!(msg.verify(&md5).is_err());

    let built = Message::new(Class::Request, Method::BINDING, msg.transaction_id)
        .with(Attribute::Userhash(uh))
        .with(Attribute::Nonce(
            "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA",
        ))
        .with(Attribute::Realm("example.org"))
        .with(Attribute::PasswordAlgorithm(PasswordAlgorithm::Sha256));
    let ours = built
        .to_vec(Some(Integrity::Sha256 { key: &key, len: 32 }), false)
        .unwrap();
    assert_eq!(ours, bytes);
}

#[test]
fn opaque_string_rejects_soft_hyphen_password() {
    // RFC 8489 B.1 claims OpaqueString maps this to "TheMatrIX"; RFC 8265 disallows U+00AD.
    assert!(IntegrityKey::short_term("The\u{AD}M\u{AA}tr\u{2168}").is_err());
}
