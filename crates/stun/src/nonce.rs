//! The nonce cookie and STUN security feature bits (RFC 8489 §9.2, §18.1).
//!
//! A server that implements RFC 8489 starts each NONCE with `obMatJos2` followed by four
//! base64 characters that carry 24 feature bits. Bit numbering follows the verified erratum
//! 6290: bit 0 is the least significant bit of the 24, so "password algorithms" alone encodes
//! as `AAAB` and "username anonymity" alone as `AAAC` (the RFC's Appendix B.1 nonce).

/// The prefix of a nonce cookie.
pub const NONCE_COOKIE: &str = "obMatJos2";

/// The STUN Security Features a server announces in its nonce cookie.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SecurityFeatures {
    /// Bit 0: the server supports PASSWORD-ALGORITHMS (RFC 8489 §9.2.1).
    pub password_algorithms: bool,
    /// Bit 1: the server accepts USERHASH in place of USERNAME (RFC 8489 §9.2.1).
    pub username_anonymity: bool,
    /// Bits 2-23: not assigned yet; kept so that a nonce round-trips.
    pub unassigned: u32,
}

impl SecurityFeatures {
    fn bits(self) -> u32 {
        (self.unassigned & 0x00ff_fffc)
            | u32::from(self.password_algorithms)
            | (u32::from(self.username_anonymity) << 1)
    }

    fn from_bits(b: u32) -> Self {
        SecurityFeatures {
            password_algorithms: b & 1 != 0,
            username_anonymity: b & 2 != 0,
            unassigned: b & 0x00ff_fffc,
        }
    }

    /// A nonce that starts with the cookie for these features, followed by `opaque` (the
    /// server's own part, which must not be empty for the nonce to be unguessable).
    ///
    /// ```
    /// use weft_stun::SecurityFeatures;
    /// let f = SecurityFeatures { username_anonymity: true, ..Default::default() };
    /// assert_eq!(f.nonce("f//499k954d6OL34oL9FSTvy64sA"), "obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA");
    /// ```
    pub fn nonce(self, opaque: &str) -> String {
        const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = self.bits();
        let mut s = String::with_capacity(NONCE_COOKIE.len() + 4 + opaque.len());
        s.push_str(NONCE_COOKIE);
        for shift in [18, 12, 6, 0] {
            s.push(char::from(B64[((b >> shift) & 0x3f) as usize]));
        }
        s.push_str(opaque);
        s
    }

    /// The features a nonce announces, or `None` when it carries no nonce cookie (an RFC 5389
    /// server).
    pub fn from_nonce(nonce: &str) -> Option<Self> {
        let rest = nonce.strip_prefix(NONCE_COOKIE)?;
        let chars = rest.as_bytes().get(..4)?;
        let mut b = 0u32;
        for &c in chars {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            b = (b << 6) | u32::from(v);
        }
        Some(SecurityFeatures::from_bits(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn password_algorithms_bit_is_the_lowest() {
        let f = SecurityFeatures {
            password_algorithms: true,
            ..Default::default()
        };
        assert_eq!(&f.nonce("x")[9..13], "AAAB");
    }

    #[test]
    fn rfc8489_b1_nonce_announces_username_anonymity() {
        let f = SecurityFeatures::from_nonce("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA").unwrap();
        assert!(f.username_anonymity);
        assert!(!f.password_algorithms);
    }

    #[test]
    fn nonce_without_cookie_has_no_features() {
        assert_eq!(
            SecurityFeatures::from_nonce("f//499k954d6OL34oL9FSTvy64sA"),
            None
        );
        assert_eq!(SecurityFeatures::from_nonce("obMatJos2AA"), None);
        assert_eq!(SecurityFeatures::from_nonce("obMatJos2AA*A"), None);
    }

    proptest! {
        #[test]
        fn nonce_round_trips(pa: bool, ua: bool, un in 0u32..(1 << 22), opaque in "[a-zA-Z0-9/+]{1,40}") {
            let f = SecurityFeatures { password_algorithms: pa, username_anonymity: ua, unassigned: un << 2 };
            prop_assert_eq!(SecurityFeatures::from_nonce(&f.nonce(&opaque)), Some(f));
        }
    }
}
