//! STUN attributes (RFC 8489 §14 and the ICE attributes of RFC 8445 §16.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, ParseError, ParseErrorKind};
use crate::wire::{MAGIC_COOKIE, TransactionId};

/// A STUN attribute type number.
///
/// Types 0x0000-0x7FFF are comprehension-required, 0x8000-0xFFFF comprehension-optional
/// (RFC 8489 §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttrType(pub u16);

impl AttrType {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: AttrType = AttrType(0x0001);
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: AttrType = AttrType(0x0006);
    /// MESSAGE-INTEGRITY (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: AttrType = AttrType(0x0008);
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: AttrType = AttrType(0x0009);
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.9).
    pub const UNKNOWN_ATTRIBUTES: AttrType = AttrType(0x000A);
    /// REALM (RFC 8489 §14.9).
    pub const REALM: AttrType = AttrType(0x0014);
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: AttrType = AttrType(0x0015);
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: AttrType = AttrType(0x001C);
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: AttrType = AttrType(0x001D);
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: AttrType = AttrType(0x001E);
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: AttrType = AttrType(0x0020);
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: AttrType = AttrType(0x0024);
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: AttrType = AttrType(0x0025);
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: AttrType = AttrType(0x8002);
    /// ALTERNATE-DOMAIN (RFC 8489 §14.16).
    pub const ALTERNATE_DOMAIN: AttrType = AttrType(0x8003);
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: AttrType = AttrType(0x8022);
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: AttrType = AttrType(0x8023);
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: AttrType = AttrType(0x8028);
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: AttrType = AttrType(0x8029);
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: AttrType = AttrType(0x802A);
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: AttrType = AttrType(0x000C);
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: AttrType = AttrType(0x000D);
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: AttrType = AttrType(0x0012);
    /// DATA (RFC 8656 §18.4).
    pub const DATA: AttrType = AttrType(0x0013);
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: AttrType = AttrType(0x0016);
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: AttrType = AttrType(0x0017);
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: AttrType = AttrType(0x0018);
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: AttrType = AttrType(0x0019);
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: AttrType = AttrType(0x001A);
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: AttrType = AttrType(0x0022);
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: AttrType = AttrType(0x8000);
    /// ADDRESS-ERROR-CODE (RFC 8656 §18.12).
    pub const ADDRESS_ERROR_CODE: AttrType = AttrType(0x8001);
    /// ICMP (RFC 8656 §18.13).
    pub const ICMP: AttrType = AttrType(0x8004);

    /// Whether an agent that does not know this type must reject the message (RFC 8489 §14).
    pub fn is_comprehension_required(self) -> bool {
        self.0 < 0x8000
    }
}

/// A password algorithm (RFC 8489 §18.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PasswordAlgorithm<'a> {
    /// MD5 (0x0001), the RFC 5389 key.
    Md5,
    /// SHA-256 (0x0002).
    Sha256,
    /// Another registered algorithm, with its parameters.
    Other {
        /// The algorithm number.
        number: u16,
        /// Its parameters (unpadded).
        params: &'a [u8],
    },
}

impl PasswordAlgorithm<'_> {
    /// The algorithm's registered number.
    pub fn number(&self) -> u16 {
        match self {
            PasswordAlgorithm::Md5 => 1,
            PasswordAlgorithm::Sha256 => 2,
            PasswordAlgorithm::Other { number, .. } => *number,
        }
    }

    fn params(&self) -> &[u8] {
        match self {
            PasswordAlgorithm::Other { params, .. } => params,
            _ => &[],
        }
    }

    fn encoded_len(&self) -> usize {
        4 + padded(self.params().len())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.number().to_be_bytes());
        let p = self.params();
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
        out.resize(out.len() + padded(p.len()) - p.len(), 0);
    }

    /// Decodes one algorithm entry; returns it and the bytes consumed.
    fn decode(b: &[u8], at: usize) -> Result<(PasswordAlgorithm<'_>, usize), ParseError> {
        if b.len() < 4 {
            return Err(ParseError::new(ParseErrorKind::BadAttributeLength, at));
        }
        let number = u16::from_be_bytes([b[0], b[1]]);
        let plen = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let end = 4 + padded(plen);
        if b.len() < end {
            return Err(ParseError::new(ParseErrorKind::BadAttributeLength, at));
        }
        let params = &b[4..4 + plen];
        let alg = match (number, plen) {
            (1, 0) => PasswordAlgorithm::Md5,
            (2, 0) => PasswordAlgorithm::Sha256,
            // RFC 8489 §18.5: MD5 and SHA-256 have no parameters.
            (1 | 2, _) => return Err(ParseError::new(ParseErrorKind::BadValue, at)),
            _ => PasswordAlgorithm::Other { number, params },
        };
        Ok((alg, end))
    }
}

/// An ERROR-CODE value (RFC 8489 §14.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode<'a> {
    /// The code, 300 to 699.
    pub code: u16,
    /// The reason phrase.
    pub reason: &'a str,
}

impl ErrorCode<'static> {
    /// 300 Try Alternate.
    pub const TRY_ALTERNATE: ErrorCode<'static> = ErrorCode::new(300, "Try Alternate");
    /// 400 Bad Request.
    pub const BAD_REQUEST: ErrorCode<'static> = ErrorCode::new(400, "Bad Request");
    /// 401 Unauthenticated.
    pub const UNAUTHENTICATED: ErrorCode<'static> = ErrorCode::new(401, "Unauthenticated");
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: ErrorCode<'static> = ErrorCode::new(420, "Unknown Attribute");
    /// 438 Stale Nonce.
    pub const STALE_NONCE: ErrorCode<'static> = ErrorCode::new(438, "Stale Nonce");
    /// 487 Role Conflict (RFC 8445 §7.3.1.1).
    pub const ROLE_CONFLICT: ErrorCode<'static> = ErrorCode::new(487, "Role Conflict");
    /// 500 Server Error.
    pub const SERVER_ERROR: ErrorCode<'static> = ErrorCode::new(500, "Server Error");
}

impl<'a> ErrorCode<'a> {
    /// An error code with a reason phrase.
    pub const fn new(code: u16, reason: &'a str) -> Self {
        ErrorCode { code, reason }
    }
}

/// An address family in TURN's family attributes (RFC 8656 §18.6, §18.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressFamily {
    /// IPv4 (0x01).
    V4,
    /// IPv6 (0x02).
    V6,
}

impl AddressFamily {
    fn byte(self) -> u8 {
        match self {
            AddressFamily::V4 => 0x01,
            AddressFamily::V6 => 0x02,
        }
    }

    fn from_byte(b: u8, at: usize) -> Result<Self, ParseError> {
        match b {
            0x01 => Ok(AddressFamily::V4),
            0x02 => Ok(AddressFamily::V6),
            _ => Err(ParseError::new(ParseErrorKind::BadAddressFamily, at)),
        }
    }
}

/// Limits on text attributes, in bytes (RFC 8489 §14: 513 bytes for USERNAME; fewer than
/// 128 characters, i.e. at most 763 bytes, for REALM, NONCE, SOFTWARE and the reason phrase).
pub const MAX_USERNAME_LEN: usize = 513;
/// See [`MAX_USERNAME_LEN`].
pub const MAX_TEXT_LEN: usize = 763;
/// ALTERNATE-DOMAIN is a host name: at most 255 bytes (RFC 8489 §14.16, RFC 1035).
pub const MAX_DOMAIN_LEN: usize = 255;

/// A STUN attribute, borrowing its variable-length values from the message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attribute<'a> {
    /// MAPPED-ADDRESS: the reflexive address, unobfuscated (RFC 3489 clients).
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS: the reflexive address, XORed with the cookie and transaction id.
    XorMappedAddress(SocketAddr),
    /// USERNAME.
    Username(&'a str),
    /// USERHASH: SHA-256 of the username and realm, for username anonymity.
    Userhash([u8; 32]),
    /// MESSAGE-INTEGRITY: HMAC-SHA1 over the message before it.
    MessageIntegrity([u8; 20]),
    /// MESSAGE-INTEGRITY-SHA256: HMAC-SHA256, possibly truncated to 16..32 bytes.
    MessageIntegritySha256(&'a [u8]),
    /// FINGERPRINT: CRC-32 of the message before it, XORed with 0x5354554E.
    Fingerprint(u32),
    /// ERROR-CODE.
    ErrorCode(ErrorCode<'a>),
    /// REALM.
    Realm(&'a str),
    /// NONCE.
    Nonce(&'a str),
    /// PASSWORD-ALGORITHMS: the algorithms a server supports, in its order of preference.
    PasswordAlgorithms(Vec<PasswordAlgorithm<'a>>),
    /// PASSWORD-ALGORITHM: the algorithm a client chose.
    PasswordAlgorithm(PasswordAlgorithm<'a>),
    /// UNKNOWN-ATTRIBUTES: the comprehension-required types a server did not understand.
    UnknownAttributes(Vec<u16>),
    /// SOFTWARE.
    Software(&'a str),
    /// ALTERNATE-SERVER.
    AlternateServer(SocketAddr),
    /// ALTERNATE-DOMAIN: the domain to check the alternate server's certificate against.
    AlternateDomain(&'a str),
    /// PRIORITY of the peer-reflexive candidate (ICE).
    Priority(u32),
    /// USE-CANDIDATE (ICE nomination).
    UseCandidate,
    /// ICE-CONTROLLED with the agent's tie-breaker.
    IceControlled(u64),
    /// ICE-CONTROLLING with the agent's tie-breaker.
    IceControlling(u64),
    /// CHANNEL-NUMBER: a TURN channel, 0x4000 to 0x4FFF when valid (RFC 8656 §12).
    ChannelNumber(u16),
    /// LIFETIME in seconds.
    Lifetime(u32),
    /// XOR-PEER-ADDRESS.
    XorPeerAddress(SocketAddr),
    /// DATA: the application data of a Send or Data indication.
    Data(&'a [u8]),
    /// XOR-RELAYED-ADDRESS.
    XorRelayedAddress(SocketAddr),
    /// REQUESTED-ADDRESS-FAMILY.
    RequestedAddressFamily(AddressFamily),
    /// EVEN-PORT, with its R bit (reserve the next port too).
    EvenPort(bool),
    /// REQUESTED-TRANSPORT: the IP protocol number (17 for UDP).
    RequestedTransport(u8),
    /// DONT-FRAGMENT.
    DontFragment,
    /// RESERVATION-TOKEN.
    ReservationToken([u8; 8]),
    /// ADDITIONAL-ADDRESS-FAMILY (IPv6 with an IPv4 allocation).
    AdditionalAddressFamily(AddressFamily),
    /// ADDRESS-ERROR-CODE: why one family of a dual allocation failed.
    AddressErrorCode {
        /// The family that failed.
        family: AddressFamily,
        /// The error.
        error: ErrorCode<'a>,
    },
    /// ICMP: an ICMP error the server received for a relayed packet.
    Icmp {
        /// The ICMP type.
        typ: u8,
        /// The ICMP code.
        code: u8,
        /// The ICMP error data (for example the MTU of "fragmentation needed").
        data: u32,
    },
    /// Any other attribute, kept as raw bytes.
    Unknown {
        /// Its type.
        typ: AttrType,
        /// Its value, unpadded.
        value: &'a [u8],
    },
}

impl<'a> Attribute<'a> {
    /// The attribute's type.
    pub fn typ(&self) -> AttrType {
        match self {
            Attribute::MappedAddress(_) => AttrType::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => AttrType::XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => AttrType::USERNAME,
            Attribute::Userhash(_) => AttrType::USERHASH,
            Attribute::MessageIntegrity(_) => AttrType::MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => AttrType::MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => AttrType::FINGERPRINT,
            Attribute::ErrorCode(_) => AttrType::ERROR_CODE,
            Attribute::Realm(_) => AttrType::REALM,
            Attribute::Nonce(_) => AttrType::NONCE,
            Attribute::PasswordAlgorithms(_) => AttrType::PASSWORD_ALGORITHMS,
            Attribute::PasswordAlgorithm(_) => AttrType::PASSWORD_ALGORITHM,
            Attribute::UnknownAttributes(_) => AttrType::UNKNOWN_ATTRIBUTES,
            Attribute::Software(_) => AttrType::SOFTWARE,
            Attribute::AlternateServer(_) => AttrType::ALTERNATE_SERVER,
            Attribute::AlternateDomain(_) => AttrType::ALTERNATE_DOMAIN,
            Attribute::Priority(_) => AttrType::PRIORITY,
            Attribute::UseCandidate => AttrType::USE_CANDIDATE,
            Attribute::IceControlled(_) => AttrType::ICE_CONTROLLED,
            Attribute::IceControlling(_) => AttrType::ICE_CONTROLLING,
            Attribute::ChannelNumber(_) => AttrType::CHANNEL_NUMBER,
            Attribute::Lifetime(_) => AttrType::LIFETIME,
            Attribute::XorPeerAddress(_) => AttrType::XOR_PEER_ADDRESS,
            Attribute::Data(_) => AttrType::DATA,
            Attribute::XorRelayedAddress(_) => AttrType::XOR_RELAYED_ADDRESS,
            Attribute::RequestedAddressFamily(_) => AttrType::REQUESTED_ADDRESS_FAMILY,
            Attribute::EvenPort(_) => AttrType::EVEN_PORT,
            Attribute::RequestedTransport(_) => AttrType::REQUESTED_TRANSPORT,
            Attribute::DontFragment => AttrType::DONT_FRAGMENT,
            Attribute::ReservationToken(_) => AttrType::RESERVATION_TOKEN,
            Attribute::AdditionalAddressFamily(_) => AttrType::ADDITIONAL_ADDRESS_FAMILY,
            Attribute::AddressErrorCode { .. } => AttrType::ADDRESS_ERROR_CODE,
            Attribute::Icmp { .. } => AttrType::ICMP,
            Attribute::Unknown { typ, .. } => *typ,
        }
    }

    /// Decodes the value of an attribute of type `typ`. `at` is the value's offset in the
    /// message, for error reports; `tid` is needed by the XOR address attributes.
    pub fn decode(
        typ: AttrType,
        v: &'a [u8],
        tid: &TransactionId,
        at: usize,
    ) -> Result<Attribute<'a>, ParseError> {
        let bad_len = || ParseError::new(ParseErrorKind::BadAttributeLength, at);
        let fixed = |n: usize| if v.len() == n { Ok(()) } else { Err(bad_len()) };
        Ok(match typ {
            AttrType::MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(v, None, at)?),
            AttrType::XOR_MAPPED_ADDRESS => {
                Attribute::XorMappedAddress(decode_address(v, Some(tid), at)?)
            }
            AttrType::ALTERNATE_SERVER => Attribute::AlternateServer(decode_address(v, None, at)?),
            AttrType::USERNAME => Attribute::Username(decode_text(v, MAX_USERNAME_LEN, at)?),
            AttrType::REALM => Attribute::Realm(decode_text(v, MAX_TEXT_LEN, at)?),
            AttrType::NONCE => Attribute::Nonce(decode_text(v, MAX_TEXT_LEN, at)?),
            AttrType::SOFTWARE => Attribute::Software(decode_text(v, MAX_TEXT_LEN, at)?),
            AttrType::ALTERNATE_DOMAIN => {
                Attribute::AlternateDomain(decode_text(v, MAX_DOMAIN_LEN, at)?)
            }
            AttrType::USERHASH => {
                fixed(32)?;
                let mut h = [0; 32];
                h.copy_from_slice(v);
                Attribute::Userhash(h)
            }
            AttrType::MESSAGE_INTEGRITY => {
                fixed(20)?;
                let mut h = [0; 20];
                h.copy_from_slice(v);
                Attribute::MessageIntegrity(h)
            }
            AttrType::MESSAGE_INTEGRITY_SHA256 => {
                // RFC 8489 §14.6: at least 16 bytes, a multiple of 4, at most the full 32.
                if !valid_sha256_truncation(v.len()) {
                    return Err(bad_len());
                }
                Attribute::MessageIntegritySha256(v)
            }
            AttrType::FINGERPRINT => {
                fixed(4)?;
                Attribute::Fingerprint(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            }
            AttrType::ERROR_CODE => {
                if v.len() < 4 {
                    return Err(bad_len());
                }
                Attribute::ErrorCode(decode_error_code(v, at)?)
            }
            AttrType::UNKNOWN_ATTRIBUTES => {
                if !v.len().is_multiple_of(2) {
                    return Err(bad_len());
                }
                Attribute::UnknownAttributes(
                    v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            AttrType::PASSWORD_ALGORITHMS => {
                let mut list = Vec::new();
                let mut rest = v;
                let mut off = at;
                while !rest.is_empty() {
                    let (alg, used) = PasswordAlgorithm::decode(rest, off)?;
                    list.push(alg);
                    rest = &rest[used..];
                    off += used;
                }
                Attribute::PasswordAlgorithms(list)
            }
            AttrType::PASSWORD_ALGORITHM => {
                let (alg, used) = PasswordAlgorithm::decode(v, at)?;
                if used != v.len() {
                    return Err(bad_len());
                }
                Attribute::PasswordAlgorithm(alg)
            }
            AttrType::PRIORITY => {
                fixed(4)?;
                Attribute::Priority(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            }
            AttrType::USE_CANDIDATE => {
                fixed(0)?;
                Attribute::UseCandidate
            }
            AttrType::ICE_CONTROLLED | AttrType::ICE_CONTROLLING => {
                fixed(8)?;
                let mut b = [0; 8];
                b.copy_from_slice(v);
                let t = u64::from_be_bytes(b);
                if typ == AttrType::ICE_CONTROLLED {
                    Attribute::IceControlled(t)
                } else {
                    Attribute::IceControlling(t)
                }
            }
            AttrType::CHANNEL_NUMBER => {
                fixed(4)?;
                Attribute::ChannelNumber(u16::from_be_bytes([v[0], v[1]]))
            }
            AttrType::LIFETIME => {
                fixed(4)?;
                Attribute::Lifetime(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
            }
            AttrType::XOR_PEER_ADDRESS => {
                Attribute::XorPeerAddress(decode_address(v, Some(tid), at)?)
            }
            AttrType::XOR_RELAYED_ADDRESS => {
                Attribute::XorRelayedAddress(decode_address(v, Some(tid), at)?)
            }
            AttrType::DATA => Attribute::Data(v),
            AttrType::REQUESTED_ADDRESS_FAMILY => {
                fixed(4)?;
                Attribute::RequestedAddressFamily(AddressFamily::from_byte(v[0], at)?)
            }
            AttrType::ADDITIONAL_ADDRESS_FAMILY => {
                fixed(4)?;
                Attribute::AdditionalAddressFamily(AddressFamily::from_byte(v[0], at)?)
            }
            AttrType::EVEN_PORT => {
                fixed(1)?;
                Attribute::EvenPort(v[0] & 0x80 != 0)
            }
            AttrType::REQUESTED_TRANSPORT => {
                fixed(4)?;
                Attribute::RequestedTransport(v[0])
            }
            AttrType::DONT_FRAGMENT => {
                fixed(0)?;
                Attribute::DontFragment
            }
            AttrType::RESERVATION_TOKEN => {
                fixed(8)?;
                let mut t = [0; 8];
                t.copy_from_slice(v);
                Attribute::ReservationToken(t)
            }
            AttrType::ADDRESS_ERROR_CODE => {
                if v.len() < 4 {
                    return Err(bad_len());
                }
                let family = AddressFamily::from_byte(v[0], at)?;
                let error = decode_error_code(v, at)?;
                Attribute::AddressErrorCode { family, error }
            }
            AttrType::ICMP => {
                fixed(8)?;
                Attribute::Icmp {
                    typ: v[2],
                    code: v[3],
                    data: u32::from_be_bytes([v[4], v[5], v[6], v[7]]),
                }
            }
            typ => Attribute::Unknown { typ, value: v },
        })
    }

    /// The length of the value, without the 4-byte attribute header and without padding.
    pub fn value_len(&self) -> usize {
        match self {
            Attribute::MappedAddress(a)
            | Attribute::XorMappedAddress(a)
            | Attribute::AlternateServer(a) => address_len(a),
            Attribute::Username(s)
            | Attribute::Realm(s)
            | Attribute::Nonce(s)
            | Attribute::Software(s)
            | Attribute::AlternateDomain(s) => s.len(),
            Attribute::Userhash(_) => 32,
            Attribute::MessageIntegrity(_) => 20,
            Attribute::MessageIntegritySha256(v) => v.len(),
            Attribute::Fingerprint(_) | Attribute::Priority(_) => 4,
            Attribute::ErrorCode(e) => 4 + e.reason.len(),
            Attribute::PasswordAlgorithms(l) => l.iter().map(|a| a.encoded_len()).sum(),
            Attribute::PasswordAlgorithm(a) => a.encoded_len(),
            Attribute::UnknownAttributes(l) => 2 * l.len(),
            Attribute::UseCandidate => 0,
            Attribute::IceControlled(_) | Attribute::IceControlling(_) => 8,
            Attribute::XorPeerAddress(a) | Attribute::XorRelayedAddress(a) => address_len(a),
            Attribute::Data(d) => d.len(),
            Attribute::ChannelNumber(_)
            | Attribute::Lifetime(_)
            | Attribute::RequestedAddressFamily(_)
            | Attribute::AdditionalAddressFamily(_)
            | Attribute::RequestedTransport(_) => 4,
            Attribute::EvenPort(_) => 1,
            Attribute::DontFragment => 0,
            Attribute::ReservationToken(_) | Attribute::Icmp { .. } => 8,
            Attribute::AddressErrorCode { error, .. } => 4 + error.reason.len(),
            Attribute::Unknown { value, .. } => value.len(),
        }
    }

    /// The length on the wire: header, value and padding.
    pub fn encoded_len(&self) -> usize {
        4 + padded(self.value_len())
    }

    /// Checks the RFC limits that [`Attribute::encode`] relies on.
    pub fn validate(&self) -> Result<(), Error> {
        let check = |attribute, len, max| {
            if len > max {
                Err(Error::ValueTooLong {
                    attribute,
                    len,
                    max,
                })
            } else {
                Ok(())
            }
        };
        match self {
            Attribute::Username(s) => check("USERNAME", s.len(), MAX_USERNAME_LEN),
            Attribute::Realm(s) => check("REALM", s.len(), MAX_TEXT_LEN),
            Attribute::Nonce(s) => check("NONCE", s.len(), MAX_TEXT_LEN),
            Attribute::Software(s) => check("SOFTWARE", s.len(), MAX_TEXT_LEN),
            Attribute::AlternateDomain(s) => check("ALTERNATE-DOMAIN", s.len(), MAX_DOMAIN_LEN),
            Attribute::ErrorCode(e) | Attribute::AddressErrorCode { error: e, .. } => {
                if !(300..=699).contains(&e.code) {
                    return Err(Error::BadErrorCode(e.code));
                }
                check("reason phrase", e.reason.len(), MAX_TEXT_LEN)
            }
            Attribute::MessageIntegritySha256(v) if !valid_sha256_truncation(v.len()) => {
                Err(Error::BadTruncation(v.len()))
            }
            Attribute::PasswordAlgorithms(l) => {
                for a in l {
                    check("PASSWORD-ALGORITHMS parameter", a.params().len(), 0xffff)?;
                }
                check("PASSWORD-ALGORITHMS", self.value_len(), 0xffff)
            }
            Attribute::PasswordAlgorithm(a) => {
                check("PASSWORD-ALGORITHM parameter", a.params().len(), 0xffff)
            }
            _ => check("attribute", self.value_len(), 0xffff),
        }
    }

    /// Appends the attribute (header, value, zero padding) to `out`.
    ///
    /// Call [`Attribute::validate`] first; values over the limits are written as given.
    pub fn encode(&self, tid: &TransactionId, out: &mut Vec<u8>) {
        let len = self.value_len();
        out.extend_from_slice(&self.typ().0.to_be_bytes());
        out.extend_from_slice(&(len as u16).to_be_bytes());
        let start = out.len();
        match self {
            Attribute::MappedAddress(a) | Attribute::AlternateServer(a) => {
                encode_address(a, None, out)
            }
            Attribute::XorMappedAddress(a) => encode_address(a, Some(tid), out),
            Attribute::Username(s)
            | Attribute::Realm(s)
            | Attribute::Nonce(s)
            | Attribute::Software(s)
            | Attribute::AlternateDomain(s) => out.extend_from_slice(s.as_bytes()),
            Attribute::Userhash(h) => out.extend_from_slice(h),
            Attribute::MessageIntegrity(h) => out.extend_from_slice(h),
            Attribute::MessageIntegritySha256(h) => out.extend_from_slice(h),
            Attribute::Fingerprint(v) | Attribute::Priority(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Attribute::ErrorCode(e) => encode_error_code(0, e, out),
            Attribute::AddressErrorCode { family, error } => {
                encode_error_code(family.byte(), error, out)
            }
            Attribute::PasswordAlgorithms(l) => l.iter().for_each(|a| a.encode(out)),
            Attribute::PasswordAlgorithm(a) => a.encode(out),
            Attribute::UnknownAttributes(l) => l
                .iter()
                .for_each(|t| out.extend_from_slice(&t.to_be_bytes())),
            Attribute::UseCandidate => {}
            Attribute::IceControlled(t) | Attribute::IceControlling(t) => {
                out.extend_from_slice(&t.to_be_bytes())
            }
            Attribute::XorPeerAddress(a) | Attribute::XorRelayedAddress(a) => {
                encode_address(a, Some(tid), out)
            }
            Attribute::Data(d) => out.extend_from_slice(d),
            Attribute::ChannelNumber(n) => {
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            Attribute::Lifetime(s) => out.extend_from_slice(&s.to_be_bytes()),
            Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f) => {
                out.extend_from_slice(&[f.byte(), 0, 0, 0])
            }
            Attribute::EvenPort(r) => out.push(if *r { 0x80 } else { 0 }),
            Attribute::RequestedTransport(p) => out.extend_from_slice(&[*p, 0, 0, 0]),
            Attribute::DontFragment => {}
            Attribute::ReservationToken(t) => out.extend_from_slice(t),
            Attribute::Icmp { typ, code, data } => {
                out.extend_from_slice(&[0, 0, *typ, *code]);
                out.extend_from_slice(&data.to_be_bytes());
            }
            Attribute::Unknown { value, .. } => out.extend_from_slice(value),
        }
        debug_assert_eq!(out.len() - start, len);
        out.resize(start + padded(len), 0);
    }
}

/// The 4-byte head of ERROR-CODE / ADDRESS-ERROR-CODE (`first` is 0 or the family), then
/// the reason.
fn encode_error_code(first: u8, e: &ErrorCode<'_>, out: &mut Vec<u8>) {
    let class = (e.code / 100) as u8;
    let number = (e.code % 100) as u8;
    out.extend_from_slice(&[first, 0, class & 0x07, number]);
    out.extend_from_slice(e.reason.as_bytes());
}

/// `n` rounded up to a multiple of 4.
pub(crate) fn padded(n: usize) -> usize {
    (n + 3) & !3
}

pub(crate) fn valid_sha256_truncation(n: usize) -> bool {
    (16..=32).contains(&n) && n.is_multiple_of(4)
}

/// The class, number and reason of ERROR-CODE and ADDRESS-ERROR-CODE (bytes 2.. of the value).
fn decode_error_code(v: &[u8], at: usize) -> Result<ErrorCode<'_>, ParseError> {
    let class = u16::from(v[2] & 0x07);
    let number = u16::from(v[3]);
    if !(3..=6).contains(&class) || number > 99 {
        return Err(ParseError::new(ParseErrorKind::BadErrorCode, at));
    }
    let reason = decode_text(&v[4..], MAX_TEXT_LEN, at + 4)?;
    Ok(ErrorCode {
        code: class * 100 + number,
        reason,
    })
}

fn decode_text(v: &[u8], max: usize, at: usize) -> Result<&str, ParseError> {
    if v.len() > max {
        return Err(ParseError::new(ParseErrorKind::TooLong, at));
    }
    std::str::from_utf8(v)
        .map_err(|e| ParseError::new(ParseErrorKind::InvalidUtf8, at + e.valid_up_to()))
}

fn address_len(a: &SocketAddr) -> usize {
    match a {
        SocketAddr::V4(_) => 8,
        SocketAddr::V6(_) => 20,
    }
}

/// The 16 bytes an IPv6 address is XORed with: the cookie and the transaction id.
fn xor_key(tid: &TransactionId) -> [u8; 16] {
    let mut k = [0; 16];
    k[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    k[4..].copy_from_slice(tid.as_bytes());
    k
}

fn decode_address(
    v: &[u8],
    xor: Option<&TransactionId>,
    at: usize,
) -> Result<SocketAddr, ParseError> {
    if v.len() < 4 {
        return Err(ParseError::new(ParseErrorKind::BadAttributeLength, at));
    }
    let mut port = u16::from_be_bytes([v[2], v[3]]);
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match (v[1], v.len()) {
        (0x01, 8) => {
            let mut a = [v[4], v[5], v[6], v[7]];
            if xor.is_some() {
                a.iter_mut()
                    .zip(MAGIC_COOKIE.to_be_bytes())
                    .for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V4(Ipv4Addr::from(a))
        }
        (0x02, 20) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(&v[4..20]);
            if let Some(tid) = xor {
                a.iter_mut().zip(xor_key(tid)).for_each(|(b, k)| *b ^= k);
            }
            IpAddr::V6(Ipv6Addr::from(a))
        }
        (0x01 | 0x02, _) => return Err(ParseError::new(ParseErrorKind::BadAttributeLength, at)),
        _ => return Err(ParseError::new(ParseErrorKind::BadAddressFamily, at + 1)),
    };
    Ok(SocketAddr::new(ip, port))
}

fn encode_address(a: &SocketAddr, xor: Option<&TransactionId>, out: &mut Vec<u8>) {
    let mut port = a.port();
    if xor.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    match a.ip() {
        IpAddr::V4(ip) => {
            out.extend_from_slice(&[0, 0x01]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut b = ip.octets();
            if xor.is_some() {
                b.iter_mut()
                    .zip(MAGIC_COOKIE.to_be_bytes())
                    .for_each(|(b, k)| *b ^= k);
            }
            out.extend_from_slice(&b);
        }
        IpAddr::V6(ip) => {
            out.extend_from_slice(&[0, 0x02]);
            out.extend_from_slice(&port.to_be_bytes());
            let mut b = ip.octets();
            if let Some(tid) = xor {
                b.iter_mut().zip(xor_key(tid)).for_each(|(b, k)| *b ^= k);
            }
            out.extend_from_slice(&b);
        }
    }
}
