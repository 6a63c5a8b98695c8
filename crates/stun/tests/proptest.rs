//! Property tests: every attribute round-trips, signed messages verify, any bit flip in a
//! protected message is caught, and decoding arbitrary bytes never panics.

use std::net::{IpAddr, SocketAddr};

use proptest::prelude::*;
use weft_stun::{
    AddressFamily, AttrType, Attribute, Class, ErrorCode, Integrity, IntegrityKey, Message, Method,
    PasswordAlgorithm, TransactionId,
};

/// An attribute with owned values, so that proptest can generate it.
#[derive(Debug, Clone)]
enum Owned {
    Mapped(SocketAddr),
    XorMapped(SocketAddr),
    AltServer(SocketAddr),
    Username(String),
    Realm(String),
    Nonce(String),
    Software(String),
    AltDomain(String),
    Userhash([u8; 32]),
    Integrity([u8; 20]),
    Integrity256(Vec<u8>),
    Fingerprint(u32),
    Error(u16, String),
    Algorithms(Vec<(u16, Vec<u8>)>),
    Algorithm(u16, Vec<u8>),
    UnknownList(Vec<u16>),
    Priority(u32),
    UseCandidate,
    Controlled(u64),
    Controlling(u64),
    Channel(u16),
    Lifetime(u32),
    Peer(SocketAddr),
    Relayed(SocketAddr),
    Data(Vec<u8>),
    Family(bool, bool),
    EvenPort(bool),
    Transport(u8),
    DontFragment,
    Token([u8; 8]),
    AddressError(bool, u16, String),
    Icmp(u8, u8, u32),
    Unknown(u16, Vec<u8>),
}

fn alg(n: u16, p: &[u8]) -> PasswordAlgorithm<'_> {
    match n {
        1 => PasswordAlgorithm::Md5,
        2 => PasswordAlgorithm::Sha256,
        number => PasswordAlgorithm::Other { number, params: p },
    }
}

impl Owned {
    fn attr(&self) -> Attribute<'_> {
        match self {
            Owned::Mapped(a) => Attribute::MappedAddress(*a),
            Owned::XorMapped(a) => Attribute::XorMappedAddress(*a),
            Owned::AltServer(a) => Attribute::AlternateServer(*a),
            Owned::Username(s) => Attribute::Username(s),
            Owned::Realm(s) => Attribute::Realm(s),
            Owned::Nonce(s) => Attribute::Nonce(s),
            Owned::Software(s) => Attribute::Software(s),
            Owned::AltDomain(s) => Attribute::AlternateDomain(s),
            Owned::Userhash(h) => Attribute::Userhash(*h),
            Owned::Integrity(h) => Attribute::MessageIntegrity(*h),
            Owned::Integrity256(h) => Attribute::MessageIntegritySha256(h),
            Owned::Fingerprint(v) => Attribute::Fingerprint(*v),
            Owned::Error(c, r) => Attribute::ErrorCode(ErrorCode::new(*c, r)),
            Owned::Algorithms(l) => {
                Attribute::PasswordAlgorithms(l.iter().map(|(n, p)| alg(*n, p)).collect())
            }
            Owned::Algorithm(n, p) => Attribute::PasswordAlgorithm(alg(*n, p)),
            Owned::UnknownList(l) => Attribute::UnknownAttributes(l.clone()),
            Owned::Priority(p) => Attribute::Priority(*p),
            Owned::UseCandidate => Attribute::UseCandidate,
            Owned::Controlled(t) => Attribute::IceControlled(*t),
            Owned::Controlling(t) => Attribute::IceControlling(*t),
            Owned::Channel(n) => Attribute::ChannelNumber(*n),
            Owned::Lifetime(s) => Attribute::Lifetime(*s),
            Owned::Peer(a) => Attribute::XorPeerAddress(*a),
            Owned::Relayed(a) => Attribute::XorRelayedAddress(*a),
            Owned::Data(d) => Attribute::Data(d),
            Owned::Family(additional, v6) => {
                let f = if *v6 {
                    AddressFamily::V6
                } else {
                    AddressFamily::V4
                };
                if *additional {
                    Attribute::AdditionalAddressFamily(f)
                } else {
                    Attribute::RequestedAddressFamily(f)
                }
            }
            Owned::EvenPort(r) => Attribute::EvenPort(*r),
            Owned::Transport(p) => Attribute::RequestedTransport(*p),
            Owned::DontFragment => Attribute::DontFragment,
            Owned::Token(t) => Attribute::ReservationToken(*t),
            Owned::AddressError(v6, c, r) => Attribute::AddressErrorCode {
                family: if *v6 {
                    AddressFamily::V6
                } else {
                    AddressFamily::V4
                },
                error: ErrorCode::new(*c, r),
            },
            Owned::Icmp(t, c, d) => Attribute::Icmp {
                typ: *t,
                code: *c,
                data: *d,
            },
            Owned::Unknown(t, v) => Attribute::Unknown {
                typ: AttrType(*t),
                value: v,
            },
        }
    }

    /// Whether the attribute may stand among the ordinary attributes of a message (the
    /// integrity attributes and FINGERPRINT have placement rules of their own).
    fn is_plain(&self) -> bool {
        !matches!(
            self,
            Owned::Integrity(_) | Owned::Integrity256(_) | Owned::Fingerprint(_)
        )
    }
}

/// Every type the decoder knows (RFC 8489, RFC 8445, RFC 8656 and its extensions): an
/// `Unknown` of one of these would decode as the known attribute, or fail its length check.
const KNOWN: &[u16] = &[
    0x0001, 0x0006, 0x0008, 0x0009, 0x000A, 0x000C, 0x000D, 0x0012, 0x0013, 0x0014, 0x0015, 0x0016,
    0x0017, 0x0018, 0x0019, 0x001A, 0x001C, 0x001D, 0x001E, 0x0020, 0x0022, 0x0024, 0x0025, 0x8000,
    0x8001, 0x8002, 0x8003, 0x8004, 0x8022, 0x8023, 0x8028, 0x8029, 0x802A,
];

/// `KNOWN` is complete: every other type goes through the decoder as an unknown attribute,
/// even with an empty value.
#[test]
fn known_lists_every_type_the_decoder_knows() {
    for t in 0..=u16::MAX {
        if KNOWN.contains(&t) {
            continue;
        }
        let mut msg = Message::new(
            Class::Request,
            Method::new(1).unwrap(),
            TransactionId::new([0; 12]),
        );
        msg.push(Attribute::Unknown {
            typ: AttrType(t),
            value: &[],
        });
        let bytes = msg.to_vec(None, false).unwrap();
        let back = Message::decode(&bytes).unwrap_or_else(|e| panic!("type {t:#06x}: {e:?}"));
        assert_eq!(back.attributes, msg.attributes, "type {t:#06x}");
    }
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::new(IpAddr::from(ip), p)),
    ]
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{0,{max_chars}}}")).unwrap()
}

fn algorithm() -> impl Strategy<Value = (u16, Vec<u8>)> {
    prop_oneof![
        Just((1u16, vec![])),
        Just((2u16, vec![])),
        (3u16.., proptest::collection::vec(any::<u8>(), 0..9)),
    ]
}

fn owned() -> impl Strategy<Value = Owned> {
    prop_oneof![
        addr().prop_map(Owned::Mapped),
        addr().prop_map(Owned::XorMapped),
        addr().prop_map(Owned::AltServer),
        text(120)
            .prop_filter("513 bytes", |s| s.len() <= 513)
            .prop_map(Owned::Username),
        text(127).prop_map(Owned::Realm),
        text(127).prop_map(Owned::Nonce),
        text(127).prop_map(Owned::Software),
        "[a-z0-9.-]{0,60}".prop_map(Owned::AltDomain),
        any::<[u8; 32]>().prop_map(Owned::Userhash),
        any::<[u8; 20]>().prop_map(Owned::Integrity),
        (4usize..=8)
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n * 4))
            .prop_map(Owned::Integrity256),
        any::<u32>().prop_map(Owned::Fingerprint),
        (300u16..700, text(60)).prop_map(|(c, r)| Owned::Error(c, r)),
        proptest::collection::vec(algorithm(), 0..4).prop_map(Owned::Algorithms),
        algorithm().prop_map(|(n, p)| Owned::Algorithm(n, p)),
        proptest::collection::vec(any::<u16>(), 0..8).prop_map(Owned::UnknownList),
        any::<u32>().prop_map(Owned::Priority),
        Just(Owned::UseCandidate),
        any::<u64>().prop_map(Owned::Controlled),
        any::<u64>().prop_map(Owned::Controlling),
        any::<u16>().prop_map(Owned::Channel),
        any::<u32>().prop_map(Owned::Lifetime),
        addr().prop_map(Owned::Peer),
        addr().prop_map(Owned::Relayed),
        proptest::collection::vec(any::<u8>(), 0..100).prop_map(Owned::Data),
        (any::<bool>(), any::<bool>()).prop_map(|(a, v6)| Owned::Family(a, v6)),
        any::<bool>().prop_map(Owned::EvenPort),
        any::<u8>().prop_map(Owned::Transport),
        Just(Owned::DontFragment),
        any::<[u8; 8]>().prop_map(Owned::Token),
        (any::<bool>(), 300u16..700, text(40)).prop_map(|(v6, c, r)| Owned::AddressError(v6, c, r)),
        (any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(t, c, d)| Owned::Icmp(t, c, d)),
        (
            any::<u16>().prop_filter("unknown type", |t| !KNOWN.contains(t)),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(t, v)| Owned::Unknown(t, v)),
    ]
}

fn tid() -> impl Strategy<Value = TransactionId> {
    any::<[u8; 12]>().prop_map(TransactionId::new)
}

fn class() -> impl Strategy<Value = Class> {
    prop_oneof![
        Just(Class::Request),
        Just(Class::Indication),
        Just(Class::Success),
        Just(Class::Error)
    ]
}

proptest! {
    #[test]
    fn every_attribute_round_trips(a in owned(), id in tid()) {
        let attr = a.attr();
        prop_assert!(attr.validate().is_ok());
        let mut buf = Vec::new();
        attr.encode(&id, &mut buf);
        prop_assert_eq!(buf.len(), attr.encoded_len());
        prop_assert_eq!(buf.len() % 4, 0);
        let typ = AttrType(u16::from_be_bytes([buf[0], buf[1]]));
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        let back = Attribute::decode(typ, &buf[4..4 + len], &id, 4).unwrap();
        prop_assert_eq!(back, attr);
    }

    #[test]
    fn messages_round_trip(c in class(), m in 0u16..0x1000, id in tid(),
                           attrs in proptest::collection::vec(owned(), 0..12)) {
        let attrs: Vec<Owned> = attrs.into_iter().filter(Owned::is_plain).collect();
        let mut msg = Message::new(c, Method::new(m).unwrap(), id);
        for a in &attrs {
            msg.push(a.attr());
        }
        let bytes = msg.to_vec(None, false).unwrap();
        prop_assert_eq!(bytes.len(), msg.encoded_len());
        let back = Message::decode(&bytes).unwrap();
        prop_assert_eq!(back.class, c);
        prop_assert_eq!(back.method, msg.method);
        prop_assert_eq!(back.transaction_id, id);
        prop_assert_eq!(&back.attributes, &msg.attributes);
    }

    #[test]
    fn signed_messages_verify_and_any_bit_flip_is_caught(
        id in tid(),
        attrs in proptest::collection::vec(owned(), 0..6),
        password in "[ -~]{1,40}",
        mode in 0u8..3,
        flip in any::<prop::sample::Index>(),
    ) {
        let key = IntegrityKey::short_term(&password).unwrap();
        let attrs: Vec<Owned> = attrs.into_iter().filter(Owned::is_plain).collect();
        let mut msg = Message::new(Class::Request, Method::BINDING, id);
        for a in &attrs {
            msg.push(a.attr());
        }
        let integrity = match mode {
            0 => Integrity::Sha1(&key),
            1 => Integrity::Sha256 { key: &key, len: 16 },
            _ => Integrity::Both(&key),
        };
        let bytes = msg.to_vec(Some(integrity), true).unwrap();
        let back = Message::decode(&bytes).unwrap();
        prop_assert!(back.verify(&key).is_ok());
        prop_assert_eq!(&back.attributes[..msg.attributes.len()], &msg.attributes[..]);

        let bit = flip.index(bytes.len() * 8);
        let mut bad = bytes.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        // Everything up to the end of the integrity attributes is protected. The trailing
        // FINGERPRINT is not: a flip there may turn it into an unknown optional attribute,
        // which RFC 8489 §14.5 says to ignore, so the message must then read the same.
        let protected = bytes.len() - 8;
        match Message::decode(&bad) {
            Err(_) => {}
            Ok(m) if bit / 8 < protected => {
                prop_assert!(m.verify(&key).is_err(), "flip of bit {} went unnoticed", bit)
            }
            Ok(m) => {
                prop_assert!(m.verify(&key).is_ok());
                prop_assert_eq!(&m.attributes[..msg.attributes.len()], &msg.attributes[..]);
                prop_assert_eq!(m.ignored_after_integrity(), 1);
            }
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn decoding_mutated_stun_never_panics(
        attrs in proptest::collection::vec(owned(), 0..6),
        id in tid(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut msg = Message::new(Class::Request, Method::BINDING, id);
        for a in &attrs {
            msg.push(a.attr());
        }
        let mut bytes = msg.to_vec(None, false).unwrap();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let Ok(m) = Message::decode(&bytes) {
            let key = IntegrityKey::from_bytes(b"k");
            let _ = m.verify(&key);
        }
    }
}
