//! DTLS-SRTP (RFC 5764): protection profiles and the exported keying material.

use std::fmt;

/// An SRTP protection profile negotiated with `use_srtp` (RFC 5764 §4.1.2, RFC 7714 §14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// SRTP_AEAD_AES_128_GCM (0x0007).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (0x0008).
    AeadAes256Gcm,
    /// SRTP_AES128_CM_HMAC_SHA1_80 (0x0001).
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32 (0x0002).
    Aes128CmHmacSha1_32,
}

impl SrtpProfile {
    /// Every profile, in weft's order of preference (GCM first).
    pub const ALL: [SrtpProfile; 4] = [
        SrtpProfile::AeadAes128Gcm,
        SrtpProfile::AeadAes256Gcm,
        SrtpProfile::Aes128CmHmacSha1_80,
        SrtpProfile::Aes128CmHmacSha1_32,
    ];

    /// The OpenSSL name of the profile.
    pub fn openssl_name(self) -> &'static str {
        match self {
            SrtpProfile::AeadAes128Gcm => "SRTP_AEAD_AES_128_GCM",
            SrtpProfile::AeadAes256Gcm => "SRTP_AEAD_AES_256_GCM",
            SrtpProfile::Aes128CmHmacSha1_80 => "SRTP_AES128_CM_SHA1_80",
            SrtpProfile::Aes128CmHmacSha1_32 => "SRTP_AES128_CM_SHA1_32",
        }
    }

    /// The profile's number on the wire (RFC 5764 §4.1.2).
    pub fn id(self) -> u16 {
        match self {
            SrtpProfile::Aes128CmHmacSha1_80 => 0x0001,
            SrtpProfile::Aes128CmHmacSha1_32 => 0x0002,
            SrtpProfile::AeadAes128Gcm => 0x0007,
            SrtpProfile::AeadAes256Gcm => 0x0008,
        }
    }

    /// The master key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// The master salt length in bytes.
    pub fn salt_len(self) -> usize {
        match self {
            SrtpProfile::AeadAes128Gcm | SrtpProfile::AeadAes256Gcm => 12,
            _ => 14,
        }
    }

    pub(crate) fn from_openssl_name(name: &str) -> Option<Self> {
        SrtpProfile::ALL
            .into_iter()
            .find(|p| p.openssl_name() == name)
    }
}

/// One direction's SRTP master key and salt.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey {
    /// The master key.
    pub key: Vec<u8>,
    /// The master salt.
    pub salt: Vec<u8>,
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never log keys (STYLE.md §6).
        write!(f, "SrtpKey({} + {} bytes)", self.key.len(), self.salt.len())
    }
}

/// The SRTP keys of both directions, split from the `EXTRACTOR-dtls_srtp` export (RFC 5764
/// §4.2) once, here: `local` protects what this side sends, `remote` what it receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyingMaterial {
    /// The negotiated profile.
    pub profile: SrtpProfile,
    /// The keys for packets this side sends.
    pub local: SrtpKey,
    /// The keys for packets the peer sends.
    pub remote: SrtpKey,
}

impl KeyingMaterial {
    /// The exporter label (RFC 5764 §4.2).
    pub const LABEL: &'static str = "EXTRACTOR-dtls_srtp";

    /// The length of the export for a profile: two keys and two salts.
    pub fn export_len(profile: SrtpProfile) -> usize {
        2 * (profile.key_len() + profile.salt_len())
    }

    /// Splits an export, laid out as client key, server key, client salt, server salt.
    pub fn split(profile: SrtpProfile, export: &[u8], is_client: bool) -> Option<Self> {
        let (k, s) = (profile.key_len(), profile.salt_len());
        if export.len() != 2 * (k + s) {
            return None;
        }
        let client = SrtpKey {
            key: export[..k].to_vec(),
            salt: export[2 * k..2 * k + s].to_vec(),
        };
        let server = SrtpKey {
            key: export[k..2 * k].to_vec(),
            salt: export[2 * k + s..].to_vec(),
        };
        let (local, remote) = if is_client {
            (client, server)
        } else {
            (server, client)
        };
        Some(KeyingMaterial {
            profile,
            local,
            remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_follows_rfc5764_layout_and_mirrors_roles() {
        let p = SrtpProfile::Aes128CmHmacSha1_80;
        let export: Vec<u8> = (0..KeyingMaterial::export_len(p) as u8).collect();
        let c = KeyingMaterial::split(p, &export, true).unwrap();
        let s = KeyingMaterial::split(p, &export, false).unwrap();
        assert_eq!(c.local.key, (0..16).collect::<Vec<u8>>());
        assert_eq!(c.remote.key, (16..32).collect::<Vec<u8>>());
        assert_eq!(c.local.salt, (32..46).collect::<Vec<u8>>());
        assert_eq!(c.remote.salt, (46..60).collect::<Vec<u8>>());
        assert_eq!((c.local.clone(), c.remote.clone()), (s.remote, s.local));
        assert!(KeyingMaterial::split(p, &export[1..], true).is_none());
        assert_eq!(KeyingMaterial::export_len(SrtpProfile::AeadAes256Gcm), 88);
        assert_eq!(KeyingMaterial::export_len(SrtpProfile::AeadAes128Gcm), 56);
    }
}
