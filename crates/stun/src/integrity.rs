//! Credentials and message integrity (RFC 8489 §9, §14.5-§14.7).
//!
//! An [`IntegrityKey`] is derived once per credential and then signs and verifies any number
//! of messages. It keeps the HMAC inner and outer hash states after the key pads, so a
//! signature costs two hash finalizations and no allocation.

use std::borrow::Cow;
use std::fmt;

use openssl::hash::{MessageDigest, hash};
use openssl::sha::{Sha1, Sha256};
use precis_core::profile::Profile;
use precis_profiles::OpaqueString;

use crate::error::Error;
use crate::wire::HEADER_LEN;
use crate::wire::attr::PasswordAlgorithm;

/// The key of MESSAGE-INTEGRITY and MESSAGE-INTEGRITY-SHA256.
///
/// ```
/// use weft_stun::{IntegrityKey, PasswordAlgorithm};
/// let ice = IntegrityKey::short_term("VOkJxbRl1RmTxUk/WvJxBt")?;
/// let turn = IntegrityKey::long_term("alice", "example.org", "secret", PasswordAlgorithm::Sha256)?;
/// assert_eq!(turn.as_bytes().len(), 32);
/// assert_eq!(ice.as_bytes(), b"VOkJxbRl1RmTxUk/WvJxBt");
/// # Ok::<(), weft_stun::Error>(())
/// ```
#[derive(Clone)]
pub struct IntegrityKey {
    key: Vec<u8>,
    sha1_inner: Sha1,
    sha1_outer: Sha1,
    sha256_inner: Sha256,
    sha256_outer: Sha256,
}

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material (STYLE.md §6).
        f.write_str("IntegrityKey(..)")
    }
}

impl IntegrityKey {
    /// A key from raw bytes, used as the HMAC key as is.
    pub fn from_bytes(key: &[u8]) -> Self {
        let block1 = hmac_block(key, |k| openssl::sha::sha1(k).to_vec());
        let block256 = hmac_block(key, |k| openssl::sha::sha256(k).to_vec());
        let pads = |block: &[u8; 64], pad: u8| {
            let mut p = [0u8; 64];
            p.iter_mut().zip(block).for_each(|(o, k)| *o = k ^ pad);
            p
        };
        let mut sha1_inner = Sha1::new();
        sha1_inner.update(&pads(&block1, 0x36));
        let mut sha1_outer = Sha1::new();
        sha1_outer.update(&pads(&block1, 0x5c));
        let mut sha256_inner = Sha256::new();
        sha256_inner.update(&pads(&block256, 0x36));
        let mut sha256_outer = Sha256::new();
        sha256_outer.update(&pads(&block256, 0x5c));
        IntegrityKey {
            key: key.to_vec(),
            sha1_inner,
            sha1_outer,
            sha256_inner,
            sha256_outer,
        }
    }

    /// The short-term credential key: the password after OpaqueString (RFC 8489 §9.1.1).
    /// ICE uses this with the peer's `ice-pwd`.
    pub fn short_term(password: &str) -> Result<Self, Error> {
        Ok(Self::from_bytes(
            opaque_string(password, "password")?.as_bytes(),
        ))
    }

    /// The long-term credential key (RFC 8489 §9.2.2): the MD5 or SHA-256 hash of
    /// `username:realm:password`, with realm and password prepared by OpaqueString. The
    /// username is used as it is carried in USERNAME (which the client prepared).
    pub fn long_term(
        username: &str,
        realm: &str,
        password: &str,
        algorithm: PasswordAlgorithm<'_>,
    ) -> Result<Self, Error> {
        let realm = opaque_string(realm, "realm")?;
        let password = opaque_string(password, "password")?;
        Self::long_term_unprepared(username, &realm, &password, algorithm)
    }

    /// The long-term key from strings used exactly as given, without OpaqueString.
    ///
    /// For interoperating with RFC 5389 peers that prepared credentials with SASLprep (as the
    /// RFC 5769 test vector does): prepare them the same way before calling this.
    pub fn long_term_unprepared(
        username: &str,
        realm: &str,
        password: &str,
        algorithm: PasswordAlgorithm<'_>,
    ) -> Result<Self, Error> {
        let input = [username, ":", realm, ":", password].concat();
        let digest = match algorithm {
            PasswordAlgorithm::Md5 => MessageDigest::md5(),
            PasswordAlgorithm::Sha256 => MessageDigest::sha256(),
            PasswordAlgorithm::Other { .. } => return Err(Error::Crypto),
        };
        let key = hash(digest, input.as_bytes())?;
        Ok(Self::from_bytes(&key))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.key
    }

    /// HMAC-SHA1 of `data`.
    pub fn hmac_sha1(&self, data: &[u8]) -> [u8; 20] {
        let mut inner = self.sha1_inner.clone();
        inner.update(data);
        self.finish_sha1(inner)
    }

    /// HMAC-SHA256 of `data`.
    pub fn hmac_sha256(&self, data: &[u8]) -> [u8; 32] {
        let mut inner = self.sha256_inner.clone();
        inner.update(data);
        self.finish_sha256(inner)
    }

    /// HMAC-SHA1 over `msg[..off]` with the header's length field rewritten to end `attr_len`
    /// bytes after `off` (RFC 8489 §14.5), without copying the message.
    pub(crate) fn hmac_sha1_patched(&self, msg: &[u8], off: usize, attr_len: usize) -> [u8; 20] {
        let mut inner = self.sha1_inner.clone();
        let len = ((off - HEADER_LEN + attr_len) as u16).to_be_bytes();
        inner.update(&msg[..2]);
        inner.update(&len);
        inner.update(&msg[4..off]);
        self.finish_sha1(inner)
    }

    /// HMAC-SHA256 over `msg[..off]` with the length field patched (RFC 8489 §14.6).
    pub(crate) fn hmac_sha256_patched(&self, msg: &[u8], off: usize, attr_len: usize) -> [u8; 32] {
        let mut inner = self.sha256_inner.clone();
        let len = ((off - HEADER_LEN + attr_len) as u16).to_be_bytes();
        inner.update(&msg[..2]);
        inner.update(&len);
        inner.update(&msg[4..off]);
        self.finish_sha256(inner)
    }

    fn finish_sha1(&self, inner: Sha1) -> [u8; 20] {
        let mut outer = self.sha1_outer.clone();
        outer.update(&inner.finish());
        outer.finish()
    }

    fn finish_sha256(&self, inner: Sha256) -> [u8; 32] {
        let mut outer = self.sha256_outer.clone();
        outer.update(&inner.finish());
        outer.finish()
    }
}

/// RFC 2104: the key padded to the 64-byte block, hashed first when longer than a block.
fn hmac_block(key: &[u8], digest: impl Fn(&[u8]) -> Vec<u8>) -> [u8; 64] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let d = digest(key);
        block[..d.len()].copy_from_slice(&d);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// Prepares a string with the OpaqueString profile of RFC 8265 §4.2 (width-preserving,
/// non-ASCII spaces mapped to U+0020, NFC, no control characters, not empty).
pub fn opaque_string<'s>(s: &'s str, what: &'static str) -> Result<Cow<'s, str>, Error> {
    OpaqueString::new()
        .enforce(s)
        .map_err(|_| Error::Preparation(what))
}

/// USERHASH (RFC 8489 §14.4): SHA-256 of `username:realm`, both prepared by OpaqueString.
pub fn userhash(username: &str, realm: &str) -> Result<[u8; 32], Error> {
    let u = opaque_string(username, "username")?;
    let r = opaque_string(realm, "realm")?;
    Ok(openssl::sha::sha256(
        [u.as_ref(), ":", r.as_ref()].concat().as_bytes(),
    ))
}

/// The FINGERPRINT value of `msg` (RFC 8489 §14.7): CRC-32 XORed with 0x5354554E.
///
/// `msg` is the message up to the FINGERPRINT attribute, with the header's length already
/// counting it.
pub fn fingerprint(msg: &[u8]) -> u32 {
    crc32fast::hash(msg) ^ 0x5354_554E
}
