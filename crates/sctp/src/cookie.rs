//! The state cookie (RFC 9260 §5.1.3): everything the responder needs to build its TCB from a
//! COOKIE-ECHO, signed with HMAC-SHA256 under a key that never leaves the association.

use std::time::Duration;

use openssl::hash::MessageDigest;
use openssl::memcmp;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::wire::Tsn;

/// Feature bits negotiated in INIT / INIT-ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Features {
    pub(crate) forward_tsn: bool,
    pub(crate) reconfig: bool,
    pub(crate) i_data: bool,
    pub(crate) zero_checksum: bool,
}

impl Features {
    fn to_bits(self) -> u8 {
        self.forward_tsn as u8
            | (self.reconfig as u8) << 1
            | (self.i_data as u8) << 2
            | (self.zero_checksum as u8) << 3
    }

    fn from_bits(b: u8) -> Self {
        Features {
            forward_tsn: b & 1 != 0,
            reconfig: b & 2 != 0,
            i_data: b & 4 != 0,
            zero_checksum: b & 8 != 0,
        }
    }
}

/// What the cookie carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cookie {
    pub(crate) my_tag: u32,
    pub(crate) peer_tag: u32,
    pub(crate) my_initial_tsn: Tsn,
    pub(crate) peer_initial_tsn: Tsn,
    pub(crate) peer_a_rwnd: u32,
    pub(crate) peer_outbound: u16,
    pub(crate) peer_inbound: u16,
    pub(crate) features: Features,
    pub(crate) tie_my: u32,
    pub(crate) tie_peer: u32,
    /// Creation time as an offset from the association's epoch.
    pub(crate) created: Duration,
}

const BODY_LEN: usize = 1 + 4 * 5 + 2 + 2 + 1 + 4 + 4 + 8;
const MAC_LEN: usize = 32;
const VERSION: u8 = 1;

impl Cookie {
    pub(crate) fn seal(&self, key: &[u8; 32]) -> Vec<u8> {
        let mut b = Vec::with_capacity(BODY_LEN + MAC_LEN);
        b.push(VERSION);
        for v in [
            self.my_tag,
            self.peer_tag,
            self.my_initial_tsn.0,
            self.peer_initial_tsn.0,
            self.peer_a_rwnd,
        ] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend_from_slice(&self.peer_outbound.to_be_bytes());
        b.extend_from_slice(&self.peer_inbound.to_be_bytes());
        b.push(self.features.to_bits());
        b.extend_from_slice(&self.tie_my.to_be_bytes());
        b.extend_from_slice(&self.tie_peer.to_be_bytes());
        b.extend_from_slice(&(self.created.as_nanos().min(u64::MAX as u128) as u64).to_be_bytes());
        let mac = hmac(key, &b);
        b.extend_from_slice(&mac);
        b
    }

    /// Checks the signature and decodes; `None` for anything forged, truncated or foreign.
    pub(crate) fn open(key: &[u8; 32], bytes: &[u8]) -> Option<Cookie> {
        if bytes.len() != BODY_LEN + MAC_LEN || bytes[0] != VERSION {
            return None;
        }
        let (body, mac) = bytes.split_at(BODY_LEN);
        if !memcmp::eq(&hmac(key, body), mac) {
            return None;
        }
        let u32_at =
            |i: usize| u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]);
        let u16_at = |i: usize| u16::from_be_bytes([body[i], body[i + 1]]);
        let mut nanos = [0u8; 8];
        nanos.copy_from_slice(&body[34..42]);
        Some(Cookie {
            my_tag: u32_at(1),
            peer_tag: u32_at(5),
            my_initial_tsn: Tsn(u32_at(9)),
            peer_initial_tsn: Tsn(u32_at(13)),
            peer_a_rwnd: u32_at(17),
            peer_outbound: u16_at(21),
            peer_inbound: u16_at(23),
            features: Features::from_bits(body[25]),
            tie_my: u32_at(26),
            tie_peer: u32_at(30),
            created: Duration::from_nanos(u64::from_be_bytes(nanos)),
        })
    }
}

fn hmac(key: &[u8; 32], data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    // HMAC-SHA256 with a 32-byte key cannot fail short of OpenSSL running out of memory.
    let pkey = PKey::hmac(key).expect("hmac key");
    let mut s = Signer::new(MessageDigest::sha256(), &pkey).expect("hmac signer");
    s.update(data).expect("hmac update");
    let n = s.sign(&mut out).expect("hmac sign");
    debug_assert_eq!(n, 32);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cookie {
        Cookie {
            my_tag: 1,
            peer_tag: 2,
            my_initial_tsn: Tsn(3),
            peer_initial_tsn: Tsn(4),
            peer_a_rwnd: 5,
            peer_outbound: 6,
            peer_inbound: 7,
            features: Features {
                forward_tsn: true,
                reconfig: false,
                i_data: true,
                zero_checksum: true,
            },
            tie_my: 8,
            tie_peer: 9,
            created: Duration::from_millis(1234),
        }
    }

    #[test]
    fn cookie_round_trips_under_its_key_only() {
        let key = [7u8; 32];
        let sealed = sample().seal(&key);
        assert_eq!(Cookie::open(&key, &sealed), Some(sample()));
        assert_eq!(Cookie::open(&[8u8; 32], &sealed), None);
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert_eq!(Cookie::open(&key, &bad), None, "flip at {i}");
        }
        assert_eq!(Cookie::open(&key, &sealed[..sealed.len() - 1]), None);
    }
}
