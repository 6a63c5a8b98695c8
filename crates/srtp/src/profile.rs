//! SRTP protection profiles (RFC 5764 §4.1.2, RFC 7714 §14.2).

/// An SRTP protection profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// SRTP_AES128_CM_HMAC_SHA1_80: AES-128 counter mode, 80-bit HMAC-SHA1 tag.
    Aes128CmHmacSha1_80,
    /// SRTP_AES128_CM_HMAC_SHA1_32: as above with a 32-bit SRTP tag (SRTCP keeps 80 bits).
    Aes128CmHmacSha1_32,
    /// SRTP_AEAD_AES_128_GCM (RFC 7714).
    AeadAes128Gcm,
    /// SRTP_AEAD_AES_256_GCM (RFC 7714).
    AeadAes256Gcm,
    /// SRTP_NULL_HMAC_SHA1_80: no encryption, 80-bit tag. For tests only.
    NullHmacSha1_80,
}

impl Profile {
    /// The master key length in bytes.
    pub fn master_key_len(self) -> usize {
        match self {
            Profile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// The master salt length in bytes: 14 for the counter-mode profiles, 12 for GCM.
    pub fn master_salt_len(self) -> usize {
        if self.is_aead() { 12 } else { 14 }
    }

    /// Whether the profile is an AEAD (GCM) profile.
    pub fn is_aead(self) -> bool {
        matches!(self, Profile::AeadAes128Gcm | Profile::AeadAes256Gcm)
    }

    /// The SRTP authentication tag length in bytes.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Profile::Aes128CmHmacSha1_32 => 4,
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => 16,
            _ => 10,
        }
    }

    /// The SRTCP authentication tag length in bytes (80 bits for every HMAC profile, RFC 5764
    /// §4.1.2).
    pub fn rtcp_tag_len(self) -> usize {
        if self.is_aead() { 16 } else { 10 }
    }

    /// The session encryption key length in bytes.
    pub(crate) fn session_key_len(self) -> usize {
        match self {
            Profile::AeadAes256Gcm => 32,
            _ => 16,
        }
    }

    /// The session salt length in bytes.
    pub(crate) fn session_salt_len(self) -> usize {
        self.master_salt_len()
    }

    /// The session authentication key length (HMAC-SHA1: 160 bits; none for GCM).
    pub(crate) fn auth_key_len(self) -> usize {
        if self.is_aead() { 0 } else { 20 }
    }
}
