//! SRTP and SRTCP for weft (RFC 3711, RFC 7714), with encrypted header extensions and CSRCs
//! (RFC 9335 "cryptex"), over OpenSSL.
//!
//! # Contract
//!
//! A [`Context`] holds the session keys of one master key and the per-SSRC state (rollover
//! counter, replay windows, SRTCP index). It is a pure transform, not a machine: no timers, no
//! events. `protect_rtp` / `protect_rtcp` encrypt a packet in the caller's buffer and append
//! the tag; `unprotect_rtp` / `unprotect_rtcp` check, decrypt and strip it. Failures on input
//! from the network are typed errors ([`Error`]) and counters ([`Stats`]); nothing panics.
//!
//! Keys come from DTLS-SRTP (`weft-dtls`'s `KeyingMaterial`): one context per direction, with
//! the local keys for sending and the remote keys for receiving.
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 3711 | §3.3 SRTP, §3.3.1 ROC estimation, §3.3.2 replay, §3.4 SRTCP with the E bit, §4.1.1 AES-CM, §4.2 HMAC-SHA1, §4.3 key derivation (kdr 0), §9.2 key lifetime | NULL cipher for tests |
//! | RFC 7714 | AEAD_AES_128_GCM, AEAD_AES_256_GCM for SRTP and SRTCP | |
//! | RFC 9335 | cryptex, sending and receiving | one- and two-byte extensions |
//! | RFC 5764 | §4.1.2 profiles (SRTCP keeps an 80-bit tag with SHA1_32) | |
//!
//! Not here: MKI, key derivation rates other than 0, RFC 6904 per-extension encryption
//! (cryptex replaces it in WebRTC), AES-f8 and AES-192.
//!
//! # Crypto
//! AES, GHASH and HMAC-SHA1 are OpenSSL's. The per-packet path calls libcrypto directly
//! (the crate's one `unsafe` module, `ossl`): AES-CM is AES-ECB keystream over counter
//! blocks, one `EVP_EncryptUpdate` per packet; AES-GCM is OpenSSL's `CRYPTO_gcm128` (GHASH,
//! counters, tag, constant-time tag check) fed by that keystream. This avoids OpenSSL 3.0's
//! per-call EVP costs (an IV change or a tag read goes through `OSSL_PARAM` look-ups), which
//! took about 230 ns of the 660 ns a 1200-byte GCM packet cost through EVP.
//!
//! # Invariants
//! - Cipher contexts are keyed once per session key and reused for every packet; a packet
//!   costs no allocation beyond the tag appended to the caller's buffer.
//! - A new SSRC is remembered only after its first packet authenticates, and at most
//!   [`Config::max_ssrcs`] are kept.
//! - Tags are compared in constant time.

#![warn(missing_docs)]
// deny, not forbid: `ossl` (direct libcrypto calls on the per-packet path) allows it.
#![deny(unsafe_code)]

mod context;
mod cryptex;
mod error;
mod header;
mod kdf;
mod ossl;
mod profile;

pub use context::{Config, Context, Stats};
pub use error::Error;
pub use profile::Profile;
