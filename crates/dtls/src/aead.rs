//! Record protection once the handshake is over (ADR 0008).
//!
//! After the handshake is confirmed, a [`crate::Connection`] derives the epoch-1 keys from the
//! session's master secret (the TLS 1.2 key expansion of RFC 5246 §6.3), frees its OpenSSL
//! connection and protects application records here: AES-GCM (RFC 5288, with the DTLS
//! sequence number as the explicit nonce, as OpenSSL and BoringSSL write it) and
//! ChaCha20-Poly1305 (RFC 7905). The primitives are OpenSSL's: AES-GCM through `crate::gcm`,
//! ChaCha20-Poly1305 through a reusable `EVP_CIPHER_CTX` per direction, the PRF's HMAC from
//! its digests.

use bytes::{BufMut, Bytes, BytesMut};
use openssl::cipher::{Cipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;
use openssl::md::{Md, MdRef};
use openssl::md_ctx::MdCtx;
use std::sync::OnceLock;

use crate::gcm::Gcm;
use crate::record::{HEADER_LEN, RecordHeader};

/// The authentication tag length of every suite weft offers.
const TAG_LEN: usize = 16;

/// The largest sequence number of an epoch (48 bits).
const MAX_SEQUENCE: u64 = (1 << 48) - 1;

/// The AEAD suites whose records weft protects itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suite {
    /// `*_AES_128_GCM_SHA256`.
    Aes128Gcm,
    /// `*_AES_256_GCM_SHA384`.
    Aes256Gcm,
    /// `*_CHACHA20_POLY1305_SHA256`.
    ChaCha20Poly1305,
}

impl Suite {
    /// The suite of an OpenSSL cipher name (`ECDHE-ECDSA-AES128-GCM-SHA256`, …).
    pub(crate) fn from_openssl_name(name: &str) -> Option<Suite> {
        if name.ends_with("AES128-GCM-SHA256") {
            Some(Suite::Aes128Gcm)
        } else if name.ends_with("AES256-GCM-SHA384") {
            Some(Suite::Aes256Gcm)
        } else if name.ends_with("CHACHA20-POLY1305") {
            Some(Suite::ChaCha20Poly1305)
        } else {
            None
        }
    }

    fn key_len(self) -> usize {
        match self {
            Suite::Aes128Gcm => 16,
            Suite::Aes256Gcm | Suite::ChaCha20Poly1305 => 32,
        }
    }

    /// The implicit part of the nonce from the key block (`*_write_IV`).
    fn fixed_iv_len(self) -> usize {
        match self {
            Suite::Aes128Gcm | Suite::Aes256Gcm => 4,
            Suite::ChaCha20Poly1305 => 12,
        }
    }

    /// The nonce bytes carried in each record.
    pub(crate) fn explicit_nonce_len(self) -> usize {
        match self {
            Suite::Aes128Gcm | Suite::Aes256Gcm => 8,
            Suite::ChaCha20Poly1305 => 0,
        }
    }

    /// What a record adds to its plaintext after the header.
    #[cfg(test)]
    pub(crate) fn overhead(self) -> usize {
        self.explicit_nonce_len() + TAG_LEN
    }

    fn cipher(self) -> &'static CipherRef {
        match self {
            Suite::Aes128Gcm => Cipher::aes_128_gcm(),
            Suite::Aes256Gcm => Cipher::aes_256_gcm(),
            Suite::ChaCha20Poly1305 => Cipher::chacha20_poly1305(),
        }
    }

    /// The PRF's hash (RFC 5246 §5; the suite's own for SHA-384 suites).
    pub(crate) fn prf_digest(self) -> Result<&'static MdRef, ErrorStack> {
        match self {
            Suite::Aes256Gcm => fetched("SHA384"),
            Suite::Aes128Gcm | Suite::ChaCha20Poly1305 => fetched("SHA256"),
        }
    }
}

/// A digest fetched once per process: OpenSSL 3.0 looks a legacy `EVP_MD` up again (a
/// locked search of its algorithm store) at every `EVP_DigestInit`, and the PRF of one key
/// block runs ten of them.
pub(crate) fn fetched(name: &'static str) -> Result<&'static MdRef, ErrorStack> {
    static SHA256: OnceLock<Option<Md>> = OnceLock::new();
    static SHA384: OnceLock<Option<Md>> = OnceLock::new();
    let cell = if name == "SHA384" { &SHA384 } else { &SHA256 };
    cell.get_or_init(|| Md::fetch(None, name, None).ok())
        .as_deref()
        .ok_or_else(ErrorStack::get)
}

/// One digest over the concatenation of `parts`.
fn digest(md: &MdRef, parts: &[&[u8]]) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = MdCtx::new()?;
    ctx.digest_init(md)?;
    for p in parts {
        ctx.digest_update(p)?;
    }
    let mut out = vec![0u8; md.size()];
    ctx.digest_final(&mut out)?;
    Ok(out)
}

/// HMAC (RFC 2104) over the concatenation of `parts`, from OpenSSL's digests. (OpenSSL 3.0's
/// `EVP_PKEY` HMAC costs a provider fetch per signer, tens of microseconds; the PRF of one
/// key block makes five.)
fn hmac(md: &MdRef, key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, ErrorStack> {
    let block = md.block_size();
    let mut k = vec![0u8; block];
    if key.len() > block {
        let h = digest(md, &[key])?;
        k[..h.len()].copy_from_slice(&h);
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |x: u8| -> Vec<u8> { k.iter().map(|b| b ^ x).collect() };
    let (ipad, opad) = (pad(0x36), pad(0x5c));
    k.fill(0);
    let mut inner_parts = vec![ipad.as_slice()];
    inner_parts.extend_from_slice(parts);
    let inner = digest(md, &inner_parts)?;
    digest(md, &[&opad, &inner])
}

/// The TLS 1.2 PRF (RFC 5246 §5): `P_hash(secret, label + seed)` cut to `out.len()` bytes.
pub(crate) fn prf(
    md: &MdRef,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    out: &mut [u8],
) -> Result<(), ErrorStack> {
    // A(1) = HMAC(secret, label + seed); A(i) = HMAC(secret, A(i-1)).
    let mut a = hmac(md, secret, &[label, seed])?;
    let mut filled = 0;
    while filled < out.len() {
        let block = hmac(md, secret, &[&a, label, seed])?;
        let n = block.len().min(out.len() - filled);
        out[filled..filled + n].copy_from_slice(&block[..n]);
        filled += n;
        a = hmac(md, secret, &[&a])?;
    }
    Ok(())
}

/// Why a record was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Shorter than its nonce and tag.
    TooShort,
    /// The tag did not verify.
    Authentication,
}

/// The cipher of one direction: AES-GCM through [`Gcm`] (no per-record EVP parameter
/// look-ups), ChaCha20-Poly1305 through an EVP context.
enum Engine {
    Gcm(Gcm),
    Evp(CipherCtx),
}

impl Engine {
    fn new(suite: Suite, key: &[u8], encrypt: bool) -> Result<Engine, ErrorStack> {
        match suite {
            Suite::Aes128Gcm | Suite::Aes256Gcm => {
                Gcm::new(key).map(Engine::Gcm).ok_or_else(ErrorStack::get)
            }
            Suite::ChaCha20Poly1305 => {
                let mut c = CipherCtx::new()?;
                if encrypt {
                    c.encrypt_init(Some(suite.cipher()), Some(key), None)?;
                } else {
                    c.decrypt_init(Some(suite.cipher()), Some(key), None)?;
                }
                Ok(Engine::Evp(c))
            }
        }
    }
}

/// One epoch's keys and cipher contexts for both directions.
pub(crate) struct Protection {
    suite: Suite,
    epoch: u16,
    seal: Engine,
    open: Engine,
    /// `*_write_IV` of this end (the first `fixed_iv_len` bytes are used).
    write_iv: [u8; 12],
    /// `*_write_IV` of the peer.
    read_iv: [u8; 12],
    /// The sequence number of the next record sealed.
    next_sequence: u64,
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys or IVs.
        f.debug_struct("Protection")
            .field("suite", &self.suite)
            .field("epoch", &self.epoch)
            .field("next_sequence", &self.next_sequence)
            .finish_non_exhaustive()
    }
}

impl Protection {
    /// The keys of `epoch` from the master secret and both randoms (RFC 5246 §6.3), for the
    /// client or the server side; the first record sealed gets `next_sequence`.
    pub(crate) fn derive(
        suite: Suite,
        master_secret: &[u8],
        client_random: &[u8],
        server_random: &[u8],
        client: bool,
        epoch: u16,
        next_sequence: u64,
    ) -> Result<Self, ErrorStack> {
        let (k, iv) = (suite.key_len(), suite.fixed_iv_len());
        let mut block = vec![0u8; 2 * k + 2 * iv];
        let seed = [server_random, client_random].concat();
        prf(
            suite.prf_digest()?,
            master_secret,
            b"key expansion",
            &seed,
            &mut block,
        )?;
        // AEAD suites have no MAC keys: client key, server key, client IV, server IV.
        let (client_key, rest) = block.split_at(k);
        let (server_key, rest) = rest.split_at(k);
        let (client_iv, server_iv) = rest.split_at(iv);
        let (wk, rk, wiv, riv) = if client {
            (client_key, server_key, client_iv, server_iv)
        } else {
            (server_key, client_key, server_iv, client_iv)
        };
        let seal = Engine::new(suite, wk, true)?;
        let open = Engine::new(suite, rk, false)?;
        let mut write_iv = [0u8; 12];
        write_iv[..iv].copy_from_slice(wiv);
        let mut read_iv = [0u8; 12];
        read_iv[..iv].copy_from_slice(riv);
        // The key block is not kept.
        block.fill(0);
        Ok(Protection {
            suite,
            epoch,
            seal,
            open,
            write_iv,
            read_iv,
            next_sequence,
        })
    }

    /// The epoch these keys protect.
    pub(crate) fn epoch(&self) -> u16 {
        self.epoch
    }

    /// The per-record nonce: the fixed IV and the 64-bit epoch and sequence number, as the
    /// suite combines them.
    fn nonce(&self, iv: &[u8; 12], epoch_seq: u64) -> [u8; 12] {
        let es = epoch_seq.to_be_bytes();
        let mut n = *iv;
        match self.suite {
            Suite::Aes128Gcm | Suite::Aes256Gcm => n[4..].copy_from_slice(&es),
            Suite::ChaCha20Poly1305 => {
                for (b, e) in n[4..].iter_mut().zip(es) {
                    *b ^= e;
                }
            }
        }
        n
    }

    /// One record of `content_type` around `data`, ready to send; `None` once the epoch's
    /// sequence numbers are spent (2^48 records) or if OpenSSL failed.
    pub(crate) fn seal(&mut self, content_type: u8, data: &[u8]) -> Option<Bytes> {
        let seq = self.next_sequence;
        if seq > MAX_SEQUENCE {
            return None;
        }
        let explicit = self.suite.explicit_nonce_len();
        let fragment = explicit + data.len() + TAG_LEN;
        let length = u16::try_from(fragment).ok()?;
        let epoch_seq = u64::from(self.epoch) << 48 | seq;
        let mut out = BytesMut::with_capacity(HEADER_LEN + fragment);
        out.put_u8(content_type);
        out.put_slice(&[0xFE, 0xFD]);
        out.put_u64(epoch_seq);
        out.put_u16(length);
        if explicit > 0 {
            out.put_u64(epoch_seq);
        }
        let body = out.len();
        // Room for the ciphertext and tag, written by the cipher straight from `data`.
        out.put_bytes(0, data.len() + TAG_LEN);
        let nonce = self.nonce(&self.write_iv, epoch_seq);
        let aad = aad(epoch_seq, content_type, data.len());
        let (payload, tag) = out[body..].split_at_mut(data.len());
        let sealed = match &mut self.seal {
            Engine::Gcm(g) => {
                payload.copy_from_slice(data);
                g.seal(&nonce, &aad, payload)
                    .map(|t| tag.copy_from_slice(&t))
                    .ok_or_else(ErrorStack::get)
            }
            Engine::Evp(c) => (|| -> Result<(), ErrorStack> {
                c.encrypt_init(None, None, Some(&nonce))?;
                c.cipher_update(&aad, None)?;
                c.cipher_update(data, Some(payload))?;
                c.cipher_final(&mut [])?;
                c.tag(tag)
            })(),
        };
        if sealed.is_err() {
            // Nothing of the failed call may linger for the next record.
            let _ = ErrorStack::get();
            return None;
        }
        self.next_sequence += 1;
        Some(out.freeze())
    }

    /// The plaintext of one record of this epoch (`record` is the whole record, header
    /// included, as [`crate::record::split`] gives it).
    pub(crate) fn open(
        &mut self,
        header: &RecordHeader,
        record: &[u8],
    ) -> Result<Bytes, OpenError> {
        let explicit = self.suite.explicit_nonce_len();
        let body = record.get(HEADER_LEN..).ok_or(OpenError::TooShort)?;
        if body.len() < explicit + TAG_LEN {
            return Err(OpenError::TooShort);
        }
        let epoch_seq = u64::from(header.epoch) << 48 | header.sequence;
        let mut nonce = self.nonce(&self.read_iv, epoch_seq);
        if explicit > 0 {
            // The sender chose the explicit part (RFC 5288 §3); it need not be the sequence.
            nonce[4..].copy_from_slice(&body[..explicit]);
        }
        let (ciphertext, tag) = body[explicit..].split_at(body.len() - explicit - TAG_LEN);
        let aad = aad(epoch_seq, header.content_type, ciphertext.len());
        let opened = match &mut self.open {
            Engine::Gcm(g) => {
                let mut out = BytesMut::from(ciphertext);
                let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| OpenError::TooShort)?;
                g.open(&nonce, &aad, &mut out, tag).then_some(out)
            }
            Engine::Evp(c) => {
                let mut out = BytesMut::zeroed(ciphertext.len());
                (|| -> Result<(), ErrorStack> {
                    c.decrypt_init(None, None, Some(&nonce))?;
                    c.cipher_update(&aad, None)?;
                    c.cipher_update(ciphertext, Some(&mut out))?;
                    c.set_tag(tag)?;
                    c.cipher_final(&mut [])?;
                    Ok(())
                })()
                .ok()
                .map(|()| out)
            }
        };
        match opened {
            Some(out) => Ok(out.freeze()),
            None => {
                let _ = ErrorStack::get();
                Err(OpenError::Authentication)
            }
        }
    }
}

/// The additional data of a DTLS 1.2 AEAD record (RFC 6347 §4.1.2.1, RFC 5246 §6.2.3.3):
/// epoch and sequence number, type, version, plaintext length.
fn aad(epoch_seq: u64, content_type: u8, len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&epoch_seq.to_be_bytes());
    a[8] = content_type;
    a[9] = 0xFE;
    a[10] = 0xFD;
    // At most a record's 16-bit length (checked by the callers).
    a[11..].copy_from_slice(&(len as u16).to_be_bytes());
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record;

    fn pair(suite: Suite) -> (Protection, Protection) {
        let master = [7u8; 48];
        let (cr, sr) = ([1u8; 32], [2u8; 32]);
        let c = Protection::derive(suite, &master, &cr, &sr, true, 1, 5).unwrap();
        let s = Protection::derive(suite, &master, &cr, &sr, false, 1, 0).unwrap();
        (c, s)
    }

    #[test]
    fn records_round_trip_in_both_directions_for_every_suite() {
        for suite in [Suite::Aes128Gcm, Suite::Aes256Gcm, Suite::ChaCha20Poly1305] {
            let (mut c, mut s) = pair(suite);
            for len in [0usize, 1, 15, 16, 17, 1163] {
                let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let rec = c.seal(23, &data).unwrap();
                assert_eq!(rec.len(), HEADER_LEN + suite.overhead() + len);
                let recs = record::split(&rec).unwrap();
                let (h, r) = recs[0];
                assert_eq!((h.content_type, h.epoch), (23, 1));
                assert_eq!(s.open(&h, r).unwrap(), data, "{suite:?} {len}");
                let back = s.seal(21, &data).unwrap();
                let recs = record::split(&back).unwrap();
                assert_eq!(c.open(&recs[0].0, recs[0].1).unwrap(), data);
            }
        }
    }

    #[test]
    fn sequence_numbers_count_up_from_the_start_given() {
        let (mut c, _) = pair(Suite::Aes128Gcm);
        let seqs: Vec<u64> = (0..3)
            .map(|_| {
                let r = c.seal(23, b"x").unwrap();
                RecordHeader::parse(&r).unwrap().sequence
            })
            .collect();
        assert_eq!(seqs, vec![5, 6, 7]);
    }

    #[test]
    fn any_flipped_bit_or_a_changed_header_fails_authentication() {
        for suite in [Suite::Aes128Gcm, Suite::ChaCha20Poly1305] {
            let (mut c, mut s) = pair(suite);
            let rec = c.seal(23, b"attack at dawn").unwrap().to_vec();
            for i in 0..rec.len() {
                let mut bad = rec.clone();
                bad[i] ^= 0x10;
                // A flip in the length field makes it no record at all.
                let Some(recs) = record::split(&bad) else {
                    continue;
                };
                let (h, r) = recs[0];
                assert!(s.open(&h, r).is_err(), "{suite:?} byte {i}");
            }
            let recs = record::split(&rec).unwrap();
            assert_eq!(
                s.open(&recs[0].0, recs[0].1).unwrap(),
                &b"attack at dawn"[..]
            );
        }
    }

    #[test]
    fn a_record_shorter_than_its_tag_is_refused() {
        let (_, mut s) = pair(Suite::Aes128Gcm);
        let mut rec = vec![23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 10];
        rec.extend_from_slice(&[0u8; 10]);
        let h = RecordHeader::parse(&rec).unwrap();
        assert_eq!(s.open(&h, &rec), Err(OpenError::TooShort));
    }

    #[test]
    fn the_epoch_sequence_space_runs_out_cleanly() {
        let (mut c, _) = pair(Suite::Aes128Gcm);
        c.next_sequence = MAX_SEQUENCE;
        assert!(c.seal(23, b"last").is_some());
        assert!(c.seal(23, b"one too many").is_none());
    }

    #[test]
    fn suites_are_known_by_their_openssl_names() {
        assert_eq!(
            Suite::from_openssl_name("ECDHE-ECDSA-AES128-GCM-SHA256"),
            Some(Suite::Aes128Gcm)
        );
        assert_eq!(
            Suite::from_openssl_name("ECDHE-RSA-AES256-GCM-SHA384"),
            Some(Suite::Aes256Gcm)
        );
        assert_eq!(
            Suite::from_openssl_name("ECDHE-RSA-CHACHA20-POLY1305"),
            Some(Suite::ChaCha20Poly1305)
        );
        assert_eq!(Suite::from_openssl_name("AES128-SHA"), None);
    }
}
