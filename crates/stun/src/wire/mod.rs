//! The STUN message codec (RFC 8489 §5, §14).

pub mod attr;

use std::fmt;

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::integrity::{IntegrityKey, fingerprint};
use attr::{AttrType, Attribute, padded};

/// The magic cookie every RFC 5389/8489 message carries (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;
/// The size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// The class of a message (RFC 8489 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request: answered by a success or error response.
    Request,
    /// An indication: never answered.
    Indication,
    /// A success response.
    Success,
    /// An error response.
    Error,
}

impl Class {
    fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }

    fn from_bits(b: u16) -> Class {
        match b & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        }
    }

    /// Whether this is a success or error response.
    pub fn is_response(self) -> bool {
        matches!(self, Class::Success | Class::Error)
    }
}

/// A STUN method: 12 bits (RFC 8489 §5, §18.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Method(u16);

impl Method {
    /// Binding (RFC 8489).
    pub const BINDING: Method = Method(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Method = Method(0x004);
    /// Send (RFC 8656).
    pub const SEND: Method = Method(0x006);
    /// Data (RFC 8656).
    pub const DATA: Method = Method(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Method = Method(0x009);

    /// A method from its number; `None` when it does not fit in 12 bits.
    pub const fn new(n: u16) -> Option<Method> {
        if n <= 0x0fff { Some(Method(n)) } else { None }
    }

    /// The method's number.
    pub const fn number(self) -> u16 {
        self.0
    }
}

/// The 96-bit transaction id (RFC 8489 §5).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId([u8; 12]);

impl TransactionId {
    /// A transaction id from its bytes.
    pub const fn new(bytes: [u8; 12]) -> Self {
        TransactionId(bytes)
    }

    /// The id's bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How to protect an encoded message (RFC 8489 §14.5, §14.6).
#[derive(Debug, Clone, Copy)]
pub enum Integrity<'k> {
    /// MESSAGE-INTEGRITY (HMAC-SHA1).
    Sha1(&'k IntegrityKey),
    /// MESSAGE-INTEGRITY-SHA256 truncated to `len` bytes (16 to 32, a multiple of 4).
    Sha256 {
        /// The key.
        key: &'k IntegrityKey,
        /// How many bytes of the HMAC to send: 32 for the full value.
        len: usize,
    },
    /// Both: MESSAGE-INTEGRITY, then the full MESSAGE-INTEGRITY-SHA256, for a peer whose
    /// support of SHA-256 is not known yet.
    Both(&'k IntegrityKey),
}

/// A STUN message: header fields and attributes, borrowing variable-length values from the
/// bytes it was decoded from.
///
/// Build one with [`Message::new`] and [`Message::push`], then [`Message::encode`]; or decode
/// received bytes with [`Message::decode`] and check them with [`Message::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The class.
    pub class: Class,
    /// The method.
    pub method: Method,
    /// The transaction id.
    pub transaction_id: TransactionId,
    /// The attributes, in wire order. Attributes that follow an integrity attribute (other
    /// than those RFC 8489 allows there) are not in this list: §14.5 says to ignore them.
    pub attributes: Vec<Attribute<'a>>,
    raw: &'a [u8],
    integrity_offset: Option<usize>,
    integrity_sha256_offset: Option<usize>,
    ignored: usize,
}

impl<'a> Message<'a> {
    /// An empty message to fill with [`Message::push`].
    pub fn new(class: Class, method: Method, transaction_id: TransactionId) -> Self {
        Message {
            class,
            method,
            transaction_id,
            attributes: Vec::new(),
            raw: &[],
            integrity_offset: None,
            integrity_sha256_offset: None,
            ignored: 0,
        }
    }

    /// Appends an attribute.
    pub fn push(&mut self, a: Attribute<'a>) -> &mut Self {
        self.attributes.push(a);
        self
    }

    /// Appends an attribute, builder style.
    pub fn with(mut self, a: Attribute<'a>) -> Self {
        self.attributes.push(a);
        self
    }

    /// The first attribute of type `t`.
    pub fn get(&self, t: AttrType) -> Option<&Attribute<'a>> {
        self.attributes.iter().find(|a| a.typ() == t)
    }

    /// The XOR-MAPPED-ADDRESS, or else the MAPPED-ADDRESS.
    pub fn mapped_address(&self) -> Option<std::net::SocketAddr> {
        self.attributes
            .iter()
            .find_map(|a| match a {
                Attribute::XorMappedAddress(x) => Some(*x),
                _ => None,
            })
            .or_else(|| {
                self.attributes.iter().find_map(|a| match a {
                    Attribute::MappedAddress(x) => Some(*x),
                    _ => None,
                })
            })
    }

    /// The USERNAME, if any.
    pub fn username(&self) -> Option<&'a str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Username(u) => Some(*u),
            _ => None,
        })
    }

    /// The ERROR-CODE, if any.
    pub fn error_code(&self) -> Option<attr::ErrorCode<'a>> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::ErrorCode(e) => Some(*e),
            _ => None,
        })
    }

    /// Comprehension-required attribute types this crate does not know (RFC 8489 §6.3.1:
    /// a server answers a request carrying any with 420 and UNKNOWN-ATTRIBUTES).
    ///
    /// `known` lists further types the caller understands (TURN's, for example).
    pub fn unknown_comprehension_required(&self, known: &[AttrType]) -> Vec<u16> {
        self.attributes
            .iter()
            .filter_map(|a| match a {
                Attribute::Unknown { typ, .. }
                    if typ.is_comprehension_required() && !known.contains(typ) =>
                {
                    Some(typ.0)
                }
                _ => None,
            })
            .collect()
    }

    /// How many attributes after an integrity attribute were ignored (RFC 8489 §14.5, §14.6).
    pub fn ignored_after_integrity(&self) -> usize {
        self.ignored
    }

    /// Whether the message carries MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256.
    pub fn has_integrity(&self) -> bool {
        self.integrity_offset.is_some() || self.integrity_sha256_offset.is_some()
    }

    /// Decodes a whole STUN message.
    ///
    /// `buf` must be exactly one message: on a stream transport, cut it with
    /// [`frame_len`] first. A FINGERPRINT, when present, is checked here; integrity is checked
    /// by [`Message::verify`], since it needs a key the caller finds from the attributes.
    pub fn decode(buf: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let err = |kind, offset| Err(ParseError::new(kind, offset));
        if buf.len() < HEADER_LEN {
            return err(ParseErrorKind::TruncatedHeader, buf.len());
        }
        if buf[0] & 0xC0 != 0 {
            return err(ParseErrorKind::NotStun, 0);
        }
        let typ = u16::from_be_bytes([buf[0], buf[1]]);
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]) != MAGIC_COOKIE {
            return err(ParseErrorKind::BadMagicCookie, 4);
        }
        if !len.is_multiple_of(4) {
            return err(ParseErrorKind::UnalignedLength, 2);
        }
        if buf.len() != HEADER_LEN + len {
            return err(ParseErrorKind::LengthMismatch, 2);
        }
        let mut tid = [0; 12];
        tid.copy_from_slice(&buf[8..20]);
        let transaction_id = TransactionId(tid);
        let method = Method((typ & 0x000f) | ((typ & 0x00e0) >> 1) | ((typ & 0x3e00) >> 2));
        let class = class_of(typ);

        let mut msg = Message::new(class, method, transaction_id);
        msg.raw = buf;
        // Every attribute takes at least 4 bytes, so this bounds the allocation by the input.
        msg.attributes.reserve((len / 4).min(16));
        let mut fingerprint_seen = false;
        let mut off = HEADER_LEN;
        while off < buf.len() {
            if buf.len() - off < 4 {
                return err(ParseErrorKind::TruncatedAttribute, off);
            }
            let t = AttrType(u16::from_be_bytes([buf[off], buf[off + 1]]));
            let vlen = usize::from(u16::from_be_bytes([buf[off + 2], buf[off + 3]]));
            let vstart = off + 4;
            let next = vstart + padded(vlen);
            if next > buf.len() {
                return err(ParseErrorKind::TruncatedAttribute, off);
            }
            if fingerprint_seen {
                return err(ParseErrorKind::AfterFingerprint, off);
            }
            let value = &buf[vstart..vstart + vlen];
            match t {
                AttrType::MESSAGE_INTEGRITY => {
                    if msg.integrity_offset.is_some() {
                        return err(ParseErrorKind::DuplicateIntegrity, off);
                    }
                    if msg.integrity_sha256_offset.is_some() {
                        // RFC 8489 §14.6: only FINGERPRINT may follow MESSAGE-INTEGRITY-SHA256.
                        msg.ignored += 1;
                    } else {
                        msg.attributes
                            .push(Attribute::decode(t, value, &transaction_id, vstart)?);
                        msg.integrity_offset = Some(off);
                    }
                }
                AttrType::MESSAGE_INTEGRITY_SHA256 => {
                    if msg.integrity_sha256_offset.is_some() {
                        return err(ParseErrorKind::DuplicateIntegrity, off);
                    }
                    msg.attributes
                        .push(Attribute::decode(t, value, &transaction_id, vstart)?);
                    msg.integrity_sha256_offset = Some(off);
                }
                AttrType::FINGERPRINT => {
                    let a = Attribute::decode(t, value, &transaction_id, vstart)?;
                    if let Attribute::Fingerprint(v) = a
                        && v != fingerprint(&buf[..off])
                    {
                        return err(ParseErrorKind::BadFingerprint, vstart);
                    }
                    msg.attributes.push(a);
                    fingerprint_seen = true;
                }
                _ if msg.has_integrity() => msg.ignored += 1,
                _ => msg
                    .attributes
                    .push(Attribute::decode(t, value, &transaction_id, vstart)?),
            }
            off = next;
        }
        Ok(msg)
    }

    /// Checks the message's integrity with `key` (RFC 8489 §14.5, §14.6).
    ///
    /// MESSAGE-INTEGRITY-SHA256 is checked when present, else MESSAGE-INTEGRITY. Only
    /// messages from [`Message::decode`] can be verified.
    pub fn verify(&self, key: &IntegrityKey) -> Result<(), Error> {
        if let Some(off) = self.integrity_sha256_offset {
            let vlen = usize::from(u16::from_be_bytes([self.raw[off + 2], self.raw[off + 3]]));
            let mac = key.hmac_sha256_patched(self.raw, off, 4 + vlen);
            return check_mac(&mac[..vlen], &self.raw[off + 4..off + 4 + vlen]);
        }
        if let Some(off) = self.integrity_offset {
            let mac = key.hmac_sha1_patched(self.raw, off, 24);
            return check_mac(&mac, &self.raw[off + 4..off + 24]);
        }
        Err(Error::NoIntegrity)
    }

    /// The encoded length, without integrity or fingerprint added by [`Message::encode`].
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .attributes
                .iter()
                .map(Attribute::encoded_len)
                .sum::<usize>()
    }

    /// Appends the encoded message to `out`, protected by `integrity` and followed by a
    /// FINGERPRINT when `fingerprint` is set.
    pub fn encode(
        &self,
        integrity: Option<Integrity<'_>>,
        fingerprint_attr: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        for a in &self.attributes {
            a.validate()?;
        }
        if let Some(Integrity::Sha256 { len, .. }) = integrity
            && !attr::valid_sha256_truncation(len)
        {
            return Err(Error::BadTruncation(len));
        }
        let extra = match integrity {
            None => 0,
            Some(Integrity::Sha1(_)) => 24,
            Some(Integrity::Sha256 { len, .. }) => 4 + len,
            Some(Integrity::Both(_)) => 24 + 36,
        } + if fingerprint_attr { 8 } else { 0 };
        if self.encoded_len() + extra - HEADER_LEN > 0xffff {
            return Err(Error::MessageTooLarge);
        }
        let start = out.len();
        out.reserve(self.encoded_len() + extra);
        let m = self.method.0;
        let c = self.class.bits();
        let typ = (m & 0x000f)
            | ((m & 0x0070) << 1)
            | ((m & 0x0f80) << 2)
            | ((c & 0b01) << 4)
            | ((c & 0b10) << 7);
        out.extend_from_slice(&typ.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        out.extend_from_slice(&self.transaction_id.0);
        for a in &self.attributes {
            a.encode(&self.transaction_id, out);
        }
        let tid = &self.transaction_id;
        match integrity {
            None => {}
            Some(Integrity::Sha1(key)) => append_sha1(key, tid, start, out),
            Some(Integrity::Sha256 { key, len }) => append_sha256(key, len, tid, start, out),
            Some(Integrity::Both(key)) => {
                append_sha1(key, tid, start, out);
                append_sha256(key, 32, tid, start, out);
            }
        }
        if fingerprint_attr {
            set_len(out, start, 8);
            let fp = fingerprint(&out[start..]);
            Attribute::Fingerprint(fp).encode(tid, out);
        }
        set_len(out, start, 0);
        Ok(())
    }

    /// Encodes into a new vector; see [`Message::encode`].
    pub fn to_vec(
        &self,
        integrity: Option<Integrity<'_>>,
        fingerprint_attr: bool,
    ) -> Result<Vec<u8>, Error> {
        let mut v = Vec::new();
        self.encode(integrity, fingerprint_attr, &mut v)?;
        Ok(v)
    }
}

/// Sets the header's length to what is written so far plus `more` bytes still to come.
fn set_len(out: &mut [u8], start: usize, more: usize) {
    let len = out.len() - start - HEADER_LEN + more;
    out[start + 2..start + 4].copy_from_slice(&(len as u16).to_be_bytes());
}

fn append_sha1(key: &IntegrityKey, tid: &TransactionId, start: usize, out: &mut Vec<u8>) {
    set_len(out, start, 24);
    let mac = key.hmac_sha1(&out[start..]);
    Attribute::MessageIntegrity(mac).encode(tid, out);
}

fn append_sha256(
    key: &IntegrityKey,
    len: usize,
    tid: &TransactionId,
    start: usize,
    out: &mut Vec<u8>,
) {
    set_len(out, start, 4 + len);
    let mac = key.hmac_sha256(&out[start..]);
    Attribute::MessageIntegritySha256(&mac[..len]).encode(tid, out);
}

fn check_mac(computed: &[u8], received: &[u8]) -> Result<(), Error> {
    if computed.len() == received.len() && openssl::memcmp::eq(computed, received) {
        Ok(())
    } else {
        Err(Error::IntegrityMismatch)
    }
}

/// The class of the STUN message in `buf`, read from its header without decoding it (for
/// routing requests and responses that share a socket to different machines); `None` when
/// `buf` does not look like STUN ([`is_stun`]).
pub fn peek_class(buf: &[u8]) -> Option<Class> {
    if !is_stun(buf) {
        return None;
    }
    let typ = u16::from_be_bytes([buf[0], buf[1]]);
    Some(class_of(typ))
}

/// The class bits C1 and C0 of a message type (RFC 8489 §5).
fn class_of(typ: u16) -> Class {
    Class::from_bits(((typ >> 4) & 0b01) | ((typ >> 7) & 0b10))
}

/// Whether `buf` looks like a STUN message: the first two bits zero and the magic cookie
/// (RFC 8489 §5, RFC 7983 §7). Cheap; use it to demultiplex.
pub fn is_stun(buf: &[u8]) -> bool {
    buf.len() >= HEADER_LEN
        && buf[0] & 0xC0 == 0
        && buf[4..8] == MAGIC_COOKIE.to_be_bytes()
        && buf[3] & 0x03 == 0
}

/// On a stream transport, the length of the STUN message at the start of `buf`, once its
/// header has arrived (RFC 8489 §6.2.2 frames STUN over TCP by its own length field).
pub fn frame_len(buf: &[u8]) -> Option<usize> {
    if buf.len() < 4 {
        return None;
    }
    Some(HEADER_LEN + usize::from(u16::from_be_bytes([buf[2], buf[3]])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseErrorKind as K;

    fn tid() -> TransactionId {
        TransactionId::new([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    }

    fn binding() -> Vec<u8> {
        Message::new(Class::Request, Method::BINDING, tid())
            .with(Attribute::Software("weft"))
            .to_vec(None, false)
            .unwrap()
    }

    fn kind(b: &[u8]) -> K {
        Message::decode(b).unwrap_err().kind
    }

    /// Appends a raw attribute and fixes the header length.
    fn with_raw_attr(mut m: Vec<u8>, typ: u16, value: &[u8]) -> Vec<u8> {
        m.extend_from_slice(&typ.to_be_bytes());
        m.extend_from_slice(&(value.len() as u16).to_be_bytes());
        m.extend_from_slice(value);
        m.resize(HEADER_LEN + padded(m.len() - HEADER_LEN), 0);
        let len = (m.len() - HEADER_LEN) as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        m
    }

    #[test]
    fn message_type_bits_interleave_class_and_method() {
        let m = Message::new(Class::Error, Method::new(0xfff).unwrap(), tid());
        let b = m.to_vec(None, false).unwrap();
        assert_eq!(&b[..2], &[0x3f, 0xff]);
        let m = Message::new(Class::Success, Method::ALLOCATE, tid());
        assert_eq!(&m.to_vec(None, false).unwrap()[..2], &[0x01, 0x03]);
        let m = Message::new(Class::Indication, Method::SEND, tid());
        assert_eq!(&m.to_vec(None, false).unwrap()[..2], &[0x00, 0x16]);
        for class in [
            Class::Request,
            Class::Indication,
            Class::Success,
            Class::Error,
        ] {
            for method in [1u16, 3, 0x80, 0xabc, 0xfff] {
                let m = Message::new(class, Method::new(method).unwrap(), tid());
                let b = m.to_vec(None, false).unwrap();
                let d = Message::decode(&b).unwrap();
                assert_eq!((d.class, d.method), (class, m.method));
            }
        }
    }

    #[test]
    fn truncated_header_is_rejected() {
        let b = binding();
        for n in 0..HEADER_LEN {
            assert_eq!(kind(&b[..n]), K::TruncatedHeader);
        }
    }

    #[test]
    fn top_bits_set_is_not_stun() {
        let mut b = binding();
        b[0] |= 0x80;
        assert_eq!(kind(&b), K::NotStun);
        assert!(!is_stun(&b));
    }

    #[test]
    fn bad_magic_cookie_is_rejected() {
        let mut b = binding();
        b[5] ^= 1;
        assert_eq!(kind(&b), K::BadMagicCookie);
        assert!(!is_stun(&b));
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        let mut b = binding();
        b[3] += 4;
        assert_eq!(kind(&b), K::LengthMismatch);
        let mut b = binding();
        b[3] += 2;
        assert_eq!(kind(&b), K::UnalignedLength);
        let mut b = binding();
        b.extend_from_slice(&[0; 4]);
        assert_eq!(kind(&b), K::LengthMismatch);
    }

    #[test]
    fn padding_lies_are_rejected() {
        // SOFTWARE claims 8 bytes but the message holds only 4 after its header.
        let mut b = binding();
        b[23] = 8;
        assert_eq!(kind(&b), K::TruncatedAttribute);
        // A value length of 5 needs 8 bytes with padding; only 4 follow.
        let mut b = binding();
        b[23] = 5;
        assert_eq!(kind(&b), K::TruncatedAttribute);
        // An attribute header cut in half.
        let mut b = binding();
        b.extend_from_slice(&[0x80, 0x22]);
        b.extend_from_slice(&[0, 0]);
        b[3] += 4;
        assert!(
            Message::decode(&b).is_ok(),
            "a 4-byte empty attribute is fine"
        );
    }

    #[test]
    fn bad_attribute_values_are_rejected() {
        let cases: &[(u16, &[u8], K)] = &[
            (0x0020, &[0, 1, 0, 0], K::BadAttributeLength),
            (0x0020, &[0, 3, 0, 0, 1, 2, 3, 4], K::BadAddressFamily),
            (0x0001, &[0, 2, 0, 0, 1, 2, 3, 4], K::BadAttributeLength),
            (0x0006, &[0xff, 0xfe], K::InvalidUtf8),
            (0x0008, &[0; 19], K::BadAttributeLength),
            (0x001C, &[0; 12], K::BadAttributeLength),
            (0x001C, &[0; 18], K::BadAttributeLength),
            (0x001C, &[0; 36], K::BadAttributeLength),
            (0x0009, &[0, 0, 2, 0], K::BadErrorCode),
            (0x0009, &[0, 0, 4, 100], K::BadErrorCode),
            (0x0009, &[0, 0, 4], K::BadAttributeLength),
            (0x000A, &[0, 1, 0], K::BadAttributeLength),
            (0x0024, &[0, 0, 1], K::BadAttributeLength),
            (0x0025, &[0], K::BadAttributeLength),
            (0x8029, &[0; 4], K::BadAttributeLength),
            (0x001D, &[0, 2, 0, 4, 0, 0, 0, 0], K::BadValue),
            (0x001D, &[0, 9, 0, 8, 0, 0, 0, 0], K::BadAttributeLength),
            (0x8002, &[0, 1, 0], K::BadAttributeLength),
            (0x001E, &[0; 31], K::BadAttributeLength),
            (0x0017, &[3, 0, 0, 0], K::BadAddressFamily),
            (0x8000, &[0, 0, 0, 0], K::BadAddressFamily),
            (0x000C, &[0x40, 0, 0], K::BadAttributeLength),
            (0x000D, &[0; 8], K::BadAttributeLength),
            (0x0018, &[0x80, 0], K::BadAttributeLength),
            (0x0019, &[17], K::BadAttributeLength),
            (0x001A, &[1], K::BadAttributeLength),
            (0x0022, &[0; 4], K::BadAttributeLength),
            (0x8004, &[0; 4], K::BadAttributeLength),
            (0x8001, &[1, 0, 2, 0], K::BadErrorCode),
            (0x8001, &[9, 0, 4, 0], K::BadAddressFamily),
            (0x0012, &[0, 1, 0, 0], K::BadAttributeLength),
        ];
        for (typ, value, want) in cases {
            let b = with_raw_attr(binding(), *typ, value);
            assert_eq!(kind(&b), *want, "attribute {typ:#06x} value {value:?}");
        }
        let long = vec![b'a'; attr::MAX_TEXT_LEN + 1];
        assert_eq!(kind(&with_raw_attr(binding(), 0x8022, &long)), K::TooLong);
        let long = vec![b'a'; attr::MAX_USERNAME_LEN + 1];
        assert_eq!(kind(&with_raw_attr(binding(), 0x0006, &long)), K::TooLong);
    }

    #[test]
    fn duplicate_integrity_attributes_are_rejected() {
        let b = with_raw_attr(binding(), 0x0008, &[0; 20]);
        let b2 = with_raw_attr(b.clone(), 0x0008, &[0; 20]);
        assert_eq!(kind(&b2), K::DuplicateIntegrity);
        let b = with_raw_attr(binding(), 0x001C, &[0; 32]);
        let b2 = with_raw_attr(b, 0x001C, &[0; 32]);
        assert_eq!(kind(&b2), K::DuplicateIntegrity);
    }

    #[test]
    fn nothing_may_follow_fingerprint() {
        let fp = Message::new(Class::Request, Method::BINDING, tid())
            .to_vec(None, true)
            .unwrap();
        assert!(Message::decode(&fp).is_ok());
        let fp_at = fp.len() - 8;
        let mut b = with_raw_attr(fp, 0x8022, b"late");
        // Make the FINGERPRINT itself valid for the longer message, so only the order is wrong.
        let v = fingerprint(&b[..fp_at]);
        b[fp_at + 4..fp_at + 8].copy_from_slice(&v.to_be_bytes());
        assert_eq!(kind(&b), K::AfterFingerprint);
    }

    #[test]
    fn wrong_fingerprint_is_rejected() {
        let mut fp = Message::new(Class::Request, Method::BINDING, tid())
            .to_vec(None, true)
            .unwrap();
        let n = fp.len();
        fp[n - 1] ^= 1;
        assert_eq!(kind(&fp), K::BadFingerprint);
    }

    #[test]
    fn attributes_after_integrity_are_ignored() {
        let key = IntegrityKey::short_term("pw").unwrap();
        let signed = Message::new(Class::Request, Method::BINDING, tid())
            .with(Attribute::Username("u"))
            .to_vec(Some(Integrity::Sha1(&key)), false)
            .unwrap();
        let b = with_raw_attr(signed, 0x8022, b"injected");
        let m = Message::decode(&b).unwrap();
        assert_eq!(m.ignored_after_integrity(), 1);
        assert!(m.get(AttrType::SOFTWARE).is_none());
        // The MAC still covers what came before it.
        m.verify(&key).unwrap();
    }

    #[test]
    fn both_integrity_attributes_verify_and_sha256_is_preferred() {
        let key = IntegrityKey::short_term("pw").unwrap();
        let b = Message::new(Class::Request, Method::BINDING, tid())
            .with(Attribute::Username("u"))
            .to_vec(Some(Integrity::Both(&key)), true)
            .unwrap();
        let m = Message::decode(&b).unwrap();
        m.verify(&key).unwrap();
        // Corrupt the SHA-256 MAC only (and drop FINGERPRINT, which would catch it first):
        // SHA-256 is the one checked, so verification fails although SHA-1 is intact.
        let mut c = b[..b.len() - 8].to_vec();
        let len = (c.len() - HEADER_LEN) as u16;
        c[2..4].copy_from_slice(&len.to_be_bytes());
        Message::decode(&c).unwrap().verify(&key).unwrap();
        let n = c.len();
        c[n - 1] ^= 1;
        assert_eq!(
            Message::decode(&c).unwrap().verify(&key),
            Err(Error::IntegrityMismatch)
        );
    }

    #[test]
    fn truncated_sha256_integrity_verifies() {
        let key = IntegrityKey::short_term("pw").unwrap();
        for len in [16, 20, 24, 28, 32] {
            let b = Message::new(Class::Request, Method::BINDING, tid())
                .to_vec(Some(Integrity::Sha256 { key: &key, len }), true)
                .unwrap();
            Message::decode(&b).unwrap().verify(&key).unwrap();
        }
        let bad = Message::new(Class::Request, Method::BINDING, tid())
            .to_vec(Some(Integrity::Sha256 { key: &key, len: 18 }), true);
        assert_eq!(bad, Err(Error::BadTruncation(18)));
    }

    #[test]
    fn verify_without_integrity_is_an_error() {
        let b = binding();
        let m = Message::decode(&b).unwrap();
        let key = IntegrityKey::short_term("pw").unwrap();
        assert_eq!(m.verify(&key), Err(Error::NoIntegrity));
    }

    #[test]
    fn encode_enforces_rfc_limits() {
        let long = "x".repeat(attr::MAX_USERNAME_LEN + 1);
        let m =
            Message::new(Class::Request, Method::BINDING, tid()).with(Attribute::Username(&long));
        assert!(matches!(
            m.to_vec(None, false),
            Err(Error::ValueTooLong { .. })
        ));
        let m = Message::new(Class::Error, Method::BINDING, tid())
            .with(Attribute::ErrorCode(attr::ErrorCode::new(299, "x")));
        assert_eq!(m.to_vec(None, false), Err(Error::BadErrorCode(299)));
        let big = vec![0u8; 0xffff];
        let m = Message::new(Class::Indication, Method::SEND, tid()).with(Attribute::Unknown {
            typ: AttrType(0x0013),
            value: &big[..0xfff8],
        });
        assert_eq!(m.to_vec(None, true), Err(Error::MessageTooLarge));
    }

    #[test]
    fn unknown_comprehension_required_attributes_are_listed() {
        let b = with_raw_attr(binding(), 0x0042, b"data");
        let b = with_raw_attr(b, 0xC001, b"opt");
        let m = Message::decode(&b).unwrap();
        assert_eq!(m.unknown_comprehension_required(&[]), vec![0x0042]);
        assert!(
            m.unknown_comprehension_required(&[AttrType(0x0042)])
                .is_empty()
        );
    }

    #[test]
    fn peek_class_agrees_with_decode() {
        for class in [
            Class::Request,
            Class::Indication,
            Class::Success,
            Class::Error,
        ] {
            let b = Message::new(class, Method::ALLOCATE, tid())
                .to_vec(None, false)
                .unwrap();
            assert_eq!(peek_class(&b), Some(Message::decode(&b).unwrap().class));
        }
        assert_eq!(peek_class(b"not stun at all, no"), None);
    }

    #[test]
    fn frame_len_reads_the_header() {
        let b = binding();
        assert_eq!(frame_len(&b[..3]), None);
        assert_eq!(frame_len(&b), Some(b.len()));
        assert!(is_stun(&b));
    }
}
