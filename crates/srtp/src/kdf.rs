//! The SRTP key derivation function (RFC 3711 §4.3, with key derivation rate 0; RFC 7714 §11
//! uses the same AES-CM PRF for GCM, with AES-256 for 256-bit master keys).

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;

use crate::error::Error;

/// The labels of RFC 3711 §4.3.1 and §4.3.2.
#[derive(Debug, Clone, Copy)]
#[repr(u8)]
pub(crate) enum Label {
    RtpEncryption = 0,
    RtpAuth = 1,
    RtpSalt = 2,
    RtcpEncryption = 3,
    RtcpAuth = 4,
    RtcpSalt = 5,
}

/// PRF_n(master_key, x): the first `n` bytes of AES-CM keystream under the master key, with
/// the IV `x * 2^16` where `x = (label || 0^48) XOR master_salt` (the salt right-padded with
/// zeros to 14 bytes when it is the 12-byte GCM salt).
pub(crate) fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: Label,
    n: usize,
) -> Result<Vec<u8>, Error> {
    let cipher = match master_key.len() {
        16 => Cipher::aes_128_ctr(),
        32 => Cipher::aes_256_ctr(),
        other => return Err(Error::KeyLength(other)),
    };
    if master_salt.len() > 14 {
        return Err(Error::SaltLength(master_salt.len()));
    }
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label as u8;
    let mut ctx = CipherCtx::new()?;
    ctx.encrypt_init(Some(cipher), Some(master_key), Some(&iv))?;
    let mut out = vec![0u8; n];
    ctx.cipher_update_inplace(&mut out, n)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn rfc3711_b3_key_derivation() {
        let key = hex("e1f97a0d3e018be0d64fa32c06de4139");
        let salt = hex("0ec675ad498afeebb6960b3aabe6");
        assert_eq!(
            derive(&key, &salt, Label::RtpEncryption, 16).unwrap(),
            hex("c61e7a93744f39ee10734afe3ff7a087")
        );
        assert_eq!(
            derive(&key, &salt, Label::RtpSalt, 14).unwrap(),
            hex("30cbbc08863d8c85d49db34a9ae1")
        );
        assert_eq!(
            derive(&key, &salt, Label::RtpAuth, 94).unwrap(),
            hex(
                "cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbcee049646c43d9327ad175578ef72270986371c10c9a369ac2f94a8c5fbcdddc256d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2"
            )
        );
        assert_eq!(
            derive(&key, &salt, Label::RtcpEncryption, 16).unwrap(),
            hex("4c1aa45a81f73d61c800bbb00fbb1eaa")
        );
        assert_eq!(
            derive(&key, &salt, Label::RtcpAuth, 20).unwrap(),
            hex("8d54534feb49ae8e7993a6bd0b844fc323a93dfd")
        );
        assert_eq!(
            derive(&key, &salt, Label::RtcpSalt, 14).unwrap(),
            hex("9581c7ad87b3e530bf3e4454a8b3")
        );
    }

    #[test]
    fn gcm_salt_is_zero_padded() {
        // libsrtp's GCM test key; the session key and salt are RFC 9335 A.2's.
        let key = hex("000102030405060708090a0b0c0d0e0f");
        let salt = hex("a0a1a2a3a4a5a6a7a8a9aaab");
        assert_eq!(
            derive(&key, &salt, Label::RtpEncryption, 16).unwrap(),
            hex("077c6143cb221bc355ff23d5f984a16e")
        );
        assert_eq!(
            derive(&key, &salt, Label::RtpSalt, 12).unwrap(),
            hex("9af3e95364ebac9c99c5a7c4")
        );
    }
}
