//! AES-GCM for records after the handshake (ADR 0008), without OpenSSL 3.0's per-call EVP
//! costs: setting an IV or reading a tag through `EVP_CIPHER_CTX` goes through `OSSL_PARAM`
//! string look-ups, which took more time than the AES and GHASH of a 1200-byte record.
//!
//! OpenSSL's `CRYPTO_gcm128` (GHASH with PCLMULQDQ, the counter and length handling, the
//! constant-time tag check) runs over block and counter-stream callbacks backed by a keyed
//! AES-ECB `EVP_CIPHER_CTX` (AES-NI, 8 blocks per call). weft only builds counter blocks on
//! the stack and XORs; no buffer outlives a call, so a direction costs two OpenSSL contexts.
//! The second module with `unsafe` in this crate, beside `ffi`.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_uchar, c_void};
use std::ptr;
use std::sync::OnceLock;

use foreign_types::ForeignTypeRef;
use openssl::cipher::Cipher;

use openssl_sys as sys;

/// OpenSSL's opaque GCM state (`GCM128_CONTEXT`, `openssl/modes.h`).
#[repr(C)]
struct Gcm128Context {
    _private: [u8; 0],
}

type Block128F = unsafe extern "C" fn(inp: *const c_uchar, out: *mut c_uchar, key: *const c_void);
type Ctr128F = unsafe extern "C" fn(
    inp: *const c_uchar,
    out: *mut c_uchar,
    blocks: usize,
    key: *const c_void,
    ivec: *const c_uchar,
);

// Exported by libcrypto 1.1 and 3.x (`openssl/modes.h`); linked through openssl-sys.
unsafe extern "C" {
    fn CRYPTO_gcm128_new(key: *mut c_void, block: Block128F) -> *mut Gcm128Context;
    fn CRYPTO_gcm128_setiv(ctx: *mut Gcm128Context, iv: *const c_uchar, len: usize);
    fn CRYPTO_gcm128_aad(ctx: *mut Gcm128Context, aad: *const c_uchar, len: usize) -> c_int;
    fn CRYPTO_gcm128_encrypt_ctr32(
        ctx: *mut Gcm128Context,
        inp: *const c_uchar,
        out: *mut c_uchar,
        len: usize,
        stream: Ctr128F,
    ) -> c_int;
    fn CRYPTO_gcm128_decrypt_ctr32(
        ctx: *mut Gcm128Context,
        inp: *const c_uchar,
        out: *mut c_uchar,
        len: usize,
        stream: Ctr128F,
    ) -> c_int;
    fn CRYPTO_gcm128_finish(ctx: *mut Gcm128Context, tag: *const c_uchar, len: usize) -> c_int;
    fn CRYPTO_gcm128_tag(ctx: *mut Gcm128Context, tag: *mut c_uchar, len: usize);
    fn CRYPTO_gcm128_release(ctx: *mut Gcm128Context);
}

/// Counter blocks encrypted per ECB call inside the stream callback (1 KiB on the stack).
const STREAM_BLOCKS: usize = 64;

/// `output = E_K(input)` block by block (whole blocks, `output` as long as `input`); false if
/// OpenSSL failed.
///
/// # Safety
/// `key` is a keyed AES-ECB `EVP_CIPHER_CTX` without padding.
unsafe fn ecb(key: *const c_void, input: &[u8], output: &mut [u8]) -> bool {
    let Ok(len) = c_int::try_from(input.len()) else {
        return false;
    };
    if output.len() != input.len() {
        return false;
    }
    let mut outl: c_int = 0;
    // SAFETY: the keyed ECB context (the caller's contract); `len` bytes from `input` into the
    // distinct `output` of the same length.
    let ok = unsafe {
        sys::EVP_EncryptUpdate(
            key as *mut sys::EVP_CIPHER_CTX,
            output.as_mut_ptr(),
            &mut outl,
            input.as_ptr(),
            len,
        )
    };
    ok == 1 && outl == len
}

/// `block128_f`: `out = E_K(in)` with the ECB context `key`.
///
/// # Safety
/// `key` is a keyed AES-ECB `EVP_CIPHER_CTX` without padding; `inp` and `out` point to 16
/// readable / writable bytes (they may be the same).
unsafe extern "C" fn block(inp: *const c_uchar, out: *mut c_uchar, key: *const c_void) {
    // SAFETY: 16 readable bytes, copied first since `out` may alias `inp`.
    let input = unsafe { ptr::read_unaligned(inp.cast::<[u8; 16]>()) };
    let mut output = [0u8; 16];
    // SAFETY: `key` is the keyed ECB context (this function's contract).
    if !unsafe { ecb(key, &input, &mut output) } {
        // A keyed AES-ECB update of whole blocks does not fail; should it, the output is
        // zeros, and the tag of the record (checked by the peer) is wrong, never a panic.
        output = [0u8; 16];
    }
    // SAFETY: 16 writable bytes.
    unsafe { ptr::write_unaligned(out.cast::<[u8; 16]>(), output) }
}

/// `ctr128_f`: `out = in ⊕ E_K(ivec), E_K(inc32(ivec)), …` for `blocks` blocks.
///
/// # Safety
/// As [`block`]; `inp` and `out` point to `blocks * 16` bytes and are the same pointer or do
/// not overlap (CRYPTO_gcm128's contract); `ivec` to 16 readable bytes.
unsafe extern "C" fn stream(
    inp: *const c_uchar,
    out: *mut c_uchar,
    blocks: usize,
    key: *const c_void,
    ivec: *const c_uchar,
) {
    // SAFETY: 16 readable bytes.
    let iv = unsafe { ptr::read_unaligned(ivec.cast::<[u8; 16]>()) };
    let total = blocks * 16;
    if inp != out.cast_const() {
        // SAFETY: `total` readable bytes at `inp`, writable at `out`, not overlapping.
        unsafe { ptr::copy_nonoverlapping(inp, out, total) };
    }
    // SAFETY: `total` writable bytes at `out`, which nothing else references during the call.
    let data = unsafe { std::slice::from_raw_parts_mut(out, total) };
    let mut ctr = u32::from_be_bytes([iv[12], iv[13], iv[14], iv[15]]);
    let mut counters = [0u8; STREAM_BLOCKS * 16];
    let mut keystream = [0u8; STREAM_BLOCKS * 16];
    for part in data.chunks_mut(STREAM_BLOCKS * 16) {
        let len = part.len();
        for b in counters[..len].chunks_exact_mut(16) {
            b[..12].copy_from_slice(&iv[..12]);
            b[12..].copy_from_slice(&ctr.to_be_bytes());
            ctr = ctr.wrapping_add(1);
        }
        // SAFETY: `key` is the keyed ECB context (this function's contract).
        if !unsafe { ecb(key, &counters[..len], &mut keystream[..len]) } {
            // As in `block`: a wrong tag, never a panic.
            keystream[..len].fill(0);
        }
        for (d, k) in part.iter_mut().zip(&keystream[..len]) {
            *d ^= k;
        }
    }
}

/// AES-GCM (128 or 256) keyed once: `CRYPTO_gcm128` over an AES-ECB context.
pub(crate) struct Gcm {
    ecb: *mut sys::EVP_CIPHER_CTX,
    ctx: *mut Gcm128Context,
}

// SAFETY: both pointers are owned by this value alone and only used through `&mut self`
// (OpenSSL contexts may move between threads); `&Gcm` gives no access to them.
unsafe impl Send for Gcm {}
// SAFETY: as above: no method touches the contexts through `&self`.
unsafe impl Sync for Gcm {}

impl Drop for Gcm {
    fn drop(&mut self) {
        // SAFETY: both owned, released once, here; the GCM context (which refers to the ECB
        // context as its key) goes first. Either may be null after a failed `new`.
        unsafe {
            if !self.ctx.is_null() {
                CRYPTO_gcm128_release(self.ctx);
            }
            sys::EVP_CIPHER_CTX_free(self.ecb);
        }
    }
}

impl Gcm {
    /// AES-GCM keyed with `key` (16 or 32 bytes); `None` for another length or if OpenSSL
    /// failed.
    pub(crate) fn new(key: &[u8]) -> Option<Gcm> {
        // Fetched once per process: OpenSSL 3.0 searches its algorithm store again (under a
        // lock) each time a context is set up with a legacy `EVP_aes_*_ecb()`.
        static AES128: OnceLock<Option<Cipher>> = OnceLock::new();
        static AES256: OnceLock<Option<Cipher>> = OnceLock::new();
        let (cell, name) = match key.len() {
            16 => (&AES128, "AES-128-ECB"),
            32 => (&AES256, "AES-256-ECB"),
            _ => return None,
        };
        let cipher = cell
            .get_or_init(|| Cipher::fetch(None, name, None).ok())
            .as_deref()?
            .as_ptr();
        // SAFETY: EVP_CIPHER_CTX_new returns a fresh context or null, checked below.
        let ecb = unsafe { sys::EVP_CIPHER_CTX_new() };
        if ecb.is_null() {
            return None;
        }
        // Owned from here: dropped (and freed) on every path below.
        let mut gcm = Gcm {
            ecb,
            ctx: ptr::null_mut(),
        };
        // SAFETY: `ecb` is valid; `cipher` is a fetched description that lives as long as
        // the process (held by the static above); the key length matches it; ECB takes no IV.
        let keyed = unsafe {
            sys::EVP_EncryptInit_ex(ecb, cipher, ptr::null_mut(), key.as_ptr(), ptr::null()) == 1
                && sys::EVP_CIPHER_CTX_set_padding(ecb, 0) == 1
        };
        if !keyed {
            return None;
        }
        // SAFETY: `ecb` is keyed and lives as long as the GCM context (both owned by `gcm`,
        // released in that order); CRYPTO_gcm128_new computes the hash key through `block`.
        gcm.ctx = unsafe { CRYPTO_gcm128_new(ecb.cast::<c_void>(), block) };
        (!gcm.ctx.is_null()).then_some(gcm)
    }

    /// Encrypts `data` in place after `aad` with the 12-byte `nonce`; the 16-byte tag.
    pub(crate) fn seal(
        &mut self,
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
    ) -> Option<[u8; 16]> {
        let p = data.as_mut_ptr();
        // SAFETY: `ctx` is valid; the nonce, AAD and data are live slices of the lengths
        // given, `data` transformed in place (the same pointer in and out); the callbacks'
        // key is the ECB context.
        let ok = unsafe {
            CRYPTO_gcm128_setiv(self.ctx, nonce.as_ptr(), nonce.len());
            CRYPTO_gcm128_aad(self.ctx, aad.as_ptr(), aad.len()) == 0
                && CRYPTO_gcm128_encrypt_ctr32(self.ctx, p, p, data.len(), stream) == 0
        };
        if !ok {
            return None;
        }
        let mut tag = [0u8; 16];
        // SAFETY: `ctx` is valid; 16 writable bytes.
        unsafe { CRYPTO_gcm128_tag(self.ctx, tag.as_mut_ptr(), tag.len()) };
        Some(tag)
    }

    /// Decrypts `data` in place and checks `tag` (compared in constant time by OpenSSL);
    /// false when it does not match (then `data` holds garbage).
    pub(crate) fn open(
        &mut self,
        nonce: &[u8; 12],
        aad: &[u8],
        data: &mut [u8],
        tag: &[u8; 16],
    ) -> bool {
        let p = data.as_mut_ptr();
        // SAFETY: as in `seal`; CRYPTO_gcm128_finish compares 16 bytes with CRYPTO_memcmp and
        // returns 0 on a match.
        unsafe {
            CRYPTO_gcm128_setiv(self.ctx, nonce.as_ptr(), nonce.len());
            CRYPTO_gcm128_aad(self.ctx, aad.as_ptr(), aad.len()) == 0
                && CRYPTO_gcm128_decrypt_ctr32(self.ctx, p, p, data.len(), stream) == 0
                && CRYPTO_gcm128_finish(self.ctx, tag.as_ptr(), tag.len()) == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};

    /// Against OpenSSL's own EVP AES-GCM, for both key sizes and lengths around the block
    /// and stream-chunk boundaries.
    #[test]
    fn matches_evp_aes_gcm() {
        for (key, cipher) in [
            (vec![7u8; 16], Cipher::aes_128_gcm()),
            (vec![9u8; 32], Cipher::aes_256_gcm()),
        ] {
            let mut g = Gcm::new(&key).unwrap();
            for len in [0usize, 1, 15, 16, 17, 1023, 1024, 1025, 1163, 2000, 9000] {
                let nonce = [len as u8; 12];
                let aad = [3u8; 13];
                let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
                let mut evp_tag = [0u8; 16];
                let evp =
                    encrypt_aead(cipher, &key, Some(&nonce), &aad, &plain, &mut evp_tag).unwrap();
                let mut data = plain.clone();
                let tag = g.seal(&nonce, &aad, &mut data).unwrap();
                assert_eq!((data.clone(), tag), (evp.clone(), evp_tag), "len {len}");
                assert!(g.open(&nonce, &aad, &mut data, &tag));
                assert_eq!(data, plain);
                let mut bad = evp_tag;
                bad[0] ^= 1;
                let mut data = evp.clone();
                assert!(!g.open(&nonce, &aad, &mut data, &bad));
                assert!(decrypt_aead(cipher, &key, Some(&nonce), &aad, &evp, &evp_tag).is_ok());
            }
        }
    }

    #[test]
    fn wrong_key_lengths_are_refused() {
        assert!(Gcm::new(&[0u8; 24]).is_none());
        assert!(Gcm::new(&[]).is_none());
    }
}
