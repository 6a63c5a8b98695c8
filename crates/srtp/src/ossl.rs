//! The per-packet crypto, calling OpenSSL directly: the only module with `unsafe`.
//!
//! OpenSSL 3.0's EVP layer costs far more per call than the AES-NI and GHASH code behind it
//! (setting an IV alone asks the provider for the IV length through `OSSL_PARAM` string
//! look-ups, and so does reading a GCM tag). So a packet here costs one EVP call:
//!
//! - [`Aes`] is an AES-ECB `EVP_CIPHER_CTX` keyed once. It turns a run of counter blocks into
//!   keystream in one `EVP_EncryptUpdate` (OpenSSL's AES-NI ECB code, 8 blocks at a time).
//! - AES-CM (RFC 3711 §4.1.1) is that keystream XORed over the payload
//!   ([`Aes::ctr_xor`], 128-bit big-endian counter as RFC 3711 defines it).
//! - AES-GCM is OpenSSL's `CRYPTO_gcm128` (GHASH with PCLMULQDQ/AVX, the counter handling,
//!   lengths and tag, constant-time tag check) with block and CTR-stream callbacks backed by
//!   [`Aes`]. Before a packet, [`Gcm`] computes E(J0) and the payload's keystream in one ECB
//!   call; the callbacks serve those blocks from the cache, and compute any other block
//!   (the hash key H at set-up, packets longer than the cache) with ECB as well.
//!
//! AES and GHASH are OpenSSL's; this module only builds counter blocks and XORs.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_uchar, c_void};
use std::ptr;

use openssl_sys as ffi;

use crate::error::Error;

/// Blocks of keystream computed per ECB call (and cached per GCM packet).
const CHUNK_BLOCKS: usize = 128;
const CHUNK: usize = CHUNK_BLOCKS * 16;

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

/// AES (128 or 256) in ECB mode, keyed once, with a keystream scratch buffer.
pub(crate) struct Aes {
    ctx: *mut ffi::EVP_CIPHER_CTX,
    /// Keystream: E_K of `counters`.
    scratch: Box<[u8; CHUNK]>,
    /// Counter blocks, kept between packets: consecutive GCM packets' counters differ only
    /// in a few IV bytes, so only those are rewritten.
    counters: Box<[u8; CHUNK]>,
    /// The first block of `counters` and how many inc32 successors follow it (0: none).
    counters_first: [u8; 16],
    counters_n: usize,
}

// SAFETY: the EVP_CIPHER_CTX is owned by this value alone and only used through `&mut self`
// (OpenSSL cipher contexts may move between threads; the openssl crate's `CipherCtx` is Send
// and Sync on the same grounds). `&Aes` gives no access to it.
unsafe impl Send for Aes {}
// SAFETY: as above: no method reads or writes the context through `&self`.
unsafe impl Sync for Aes {}

impl Drop for Aes {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from EVP_CIPHER_CTX_new and is freed once, here.
        unsafe { ffi::EVP_CIPHER_CTX_free(self.ctx) }
    }
}

impl Aes {
    /// AES-ECB keyed with `key` (16 or 32 bytes).
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        ffi::init();
        // SAFETY: EVP_aes_*_ecb return static descriptions; EVP_CIPHER_CTX_new returns a
        // fresh context or NULL, checked below.
        let (ctx, cipher) = unsafe {
            let cipher = match key.len() {
                16 => ffi::EVP_aes_128_ecb(),
                32 => ffi::EVP_aes_256_ecb(),
                n => return Err(Error::KeyLength(n)),
            };
            (ffi::EVP_CIPHER_CTX_new(), cipher)
        };
        if ctx.is_null() {
            return Err(Error::Crypto("EVP_CIPHER_CTX_new failed".into()));
        }
        // Owned from here: dropped (and freed) on the error path below.
        let aes = Aes {
            ctx,
            scratch: Box::new([0u8; CHUNK]),
            counters: Box::new([0u8; CHUNK]),
            counters_first: [0; 16],
            counters_n: 0,
        };
        // SAFETY: `ctx` is valid; `cipher` is static; the key length matches the cipher
        // (checked above); ECB takes no IV.
        let ok = unsafe {
            ffi::EVP_EncryptInit_ex(aes.ctx, cipher, ptr::null_mut(), key.as_ptr(), ptr::null())
                == 1
                && ffi::EVP_CIPHER_CTX_set_padding(aes.ctx, 0) == 1
        };
        if !ok {
            return Err(Error::Crypto("EVP_EncryptInit_ex (AES-ECB) failed".into()));
        }
        Ok(aes)
    }

    /// E_K(counter), E_K(counter + 1), … into the first `n` blocks of the scratch buffer
    /// (`n` at most CHUNK_BLOCKS), leaving `counter` at the next block. The counter is
    /// incremented over its low 32 bits (GCM's inc32) when `inc32`, else over all 128 bits
    /// (RFC 3711's AES-CM). False if OpenSSL failed.
    fn keystream(&mut self, counter: &mut [u8; 16], n: usize, inc32: bool) -> bool {
        let n = n.min(CHUNK_BLOCKS);
        let bytes = n * 16;
        let c = u128::from_be_bytes(*counter);
        // n <= CHUNK_BLOCKS (128): the casts are lossless. When the low 32 bits do not
        // overflow over these blocks, the 128-bit increment is inc32 (no carry), and the
        // counter blocks kept from the last packet can be reused.
        if inc32 || (c as u32).checked_add(n as u32).is_some() {
            self.inc32_counters(counter, n);
            *counter = (c & !u128::from(u32::MAX) | u128::from((c as u32).wrapping_add(n as u32)))
                .to_be_bytes();
        } else {
            for (i, b) in self.counters[..bytes].chunks_exact_mut(16).enumerate() {
                b.copy_from_slice(&c.wrapping_add(i as u128).to_be_bytes());
            }
            *counter = c.wrapping_add(n as u128).to_be_bytes();
            self.counters_n = 0;
        }
        let mut outl: c_int = 0;
        // At most CHUNK (2048) bytes: fits a c_int.
        let len = bytes as c_int;
        // SAFETY: `ctx` is a keyed ECB context without padding; it reads `len` bytes of
        // `counters` and writes exactly `len` bytes (a whole number of blocks) to `scratch`,
        // a distinct buffer of the same size.
        unsafe {
            ffi::EVP_EncryptUpdate(
                self.ctx,
                self.scratch.as_mut_ptr(),
                &mut outl,
                self.counters.as_ptr(),
                len,
            ) == 1
                && outl == len
        }
    }

    /// Writes `first`, inc32(first), … (`n` blocks, at most CHUNK_BLOCKS) into `counters`,
    /// rewriting only what differs from the blocks already there.
    ///
    /// While the low 16 bits do not carry over the `n` blocks, block `i` is `first[..14]`
    /// followed by `low16(first) + i`. Two packets with the same low 16 bits (GCM's J0 always
    /// ends in 1, AES-CM's IV in 0) then differ only in bytes 0..14, and for consecutive SRTP
    /// packets (same SSRC and ROC) only in the sequence-number bytes within 10..14.
    fn inc32_counters(&mut self, first: &[u8; 16], n: usize) {
        let old = self.counters_first;
        let low16 = usize::from(u16::from_be_bytes([first[14], first[15]]));
        let blocks = self.counters[..n * 16].chunks_exact_mut(16);
        // `counters_n` is only non-zero for blocks written without a 16-bit carry (below).
        if n <= self.counters_n && first[14..] == old[14..] {
            if first[..10] == old[..10] {
                for b in blocks {
                    b[10..14].copy_from_slice(&first[10..14]);
                }
            } else {
                for b in blocks {
                    b[..14].copy_from_slice(&first[..14]);
                }
            }
            // Blocks past `n` still carry the old IV.
            self.counters_n = n;
        } else {
            let c = u128::from_be_bytes(*first);
            let (high, low) = (c & !u128::from(u32::MAX), c as u32);
            // n <= CHUNK_BLOCKS (128): the cast is lossless.
            for (i, b) in blocks.enumerate() {
                b.copy_from_slice(&(high | u128::from(low.wrapping_add(i as u32))).to_be_bytes());
            }
            // Reusable only in the carry-free form described above.
            self.counters_n = if low16 + n <= 1 << 16 { n } else { 0 };
        }
        self.counters_first = *first;
    }

    /// AES-CM (RFC 3711 §4.1.1): XORs the keystream that starts at counter block `iv` over
    /// `regions`, taken as one contiguous stream.
    pub(crate) fn ctr_xor(
        &mut self,
        iv: &[u8; 16],
        regions: &mut [&mut [u8]],
    ) -> Result<(), Error> {
        let total: usize = regions.iter().map(|r| r.len()).sum();
        let mut counter = *iv;
        let mut done = 0usize; // keystream bytes used
        let mut avail = 0usize; // keystream bytes in the scratch buffer
        let mut at = 0usize; // position in the scratch buffer
        for r in regions.iter_mut() {
            let mut off = 0;
            while off < r.len() {
                if at == avail {
                    let blocks = (total - done).div_ceil(16).min(CHUNK_BLOCKS);
                    if !self.keystream(&mut counter, blocks, false) {
                        return Err(Error::Crypto("AES-ECB keystream failed".into()));
                    }
                    avail = blocks * 16;
                    at = 0;
                }
                let n = (r.len() - off).min(avail - at);
                xor(&mut r[off..off + n], &self.scratch[at..at + n]);
                off += n;
                at += n;
                done += n;
            }
        }
        Ok(())
    }
}

/// What the GCM callbacks see as their `key`: the AES context and the keystream cache of the
/// current packet.
struct GcmKey {
    aes: Aes,
    /// The counter block of the first cached keystream block.
    first: [u8; 16],
    /// How many blocks of `aes.scratch` hold E_K(first), E_K(inc32(first)), …
    cached: usize,
    /// An ECB call inside a callback failed (callbacks cannot return errors).
    failed: bool,
}

impl GcmKey {
    /// The cache index of counter block `c`, if it and the `blocks - 1` after it are cached.
    fn lookup(&self, c: &[u8; 16], blocks: usize) -> Option<usize> {
        self.lookup_parts(Parts::of(c), blocks)
    }

    fn lookup_parts(&self, c: Parts, blocks: usize) -> Option<usize> {
        let first = Parts::of(&self.first);
        if (c.0, c.1) != (first.0, first.1) {
            return None;
        }
        let d = u32::from_be(c.2).wrapping_sub(u32::from_be(first.2)) as usize;
        (d < self.cached && blocks <= self.cached - d).then_some(d)
    }

    /// XORs the keystream for `blocks` blocks from counter `c` over `data`
    /// (`blocks * 16` bytes), from the cache when it has them.
    fn apply(&mut self, c: &[u8; 16], data: &mut [u8]) {
        let blocks = data.len() / 16;
        if let Some(d) = self.lookup(c, blocks) {
            xor(data, &self.aes.scratch[d * 16..(d + blocks) * 16]);
            return;
        }
        // Not cached: compute it chunk by chunk (the scratch buffer is reused, so the
        // cache is gone).
        self.cached = 0;
        let mut counter = *c;
        for part in data.chunks_mut(CHUNK) {
            let n = part.len() / 16;
            if !self.aes.keystream(&mut counter, n, true) {
                self.failed = true;
                return;
            }
            xor(part, &self.aes.scratch[..n * 16]);
        }
    }
}

/// A counter block as three native-endian words (bytes 0..8, 8..12, 12..16), read the way
/// CRYPTO_gcm128 writes it (its 32-bit counter word separately), which spares the CPU a wide
/// load across narrower stores.
#[derive(Clone, Copy)]
struct Parts(u64, u32, u32);

impl Parts {
    fn of(c: &[u8; 16]) -> Self {
        let w = |i: usize| [c[i], c[i + 1], c[i + 2], c[i + 3]];
        let hi = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
        Parts(
            u64::from_ne_bytes(hi),
            u32::from_ne_bytes(w(8)),
            u32::from_ne_bytes(w(12)),
        )
    }

    /// # Safety
    /// `p` points to 16 readable bytes.
    unsafe fn read(p: *const c_uchar) -> Self {
        // SAFETY: within the 16 bytes the caller vouches for; unaligned reads.
        unsafe {
            Parts(
                ptr::read_unaligned(p.cast::<u64>()),
                ptr::read_unaligned(p.add(8).cast::<u32>()),
                ptr::read_unaligned(p.add(12).cast::<u32>()),
            )
        }
    }

    fn bytes(self) -> [u8; 16] {
        let mut c = [0u8; 16];
        c[..8].copy_from_slice(&self.0.to_ne_bytes());
        c[8..12].copy_from_slice(&self.1.to_ne_bytes());
        c[12..].copy_from_slice(&self.2.to_ne_bytes());
        c
    }
}

/// `block128_f` for CRYPTO_gcm128: `out = E_K(in)`.
///
/// # Safety
/// `key` is the `GcmKey` given to CRYPTO_gcm128_new, not otherwise borrowed during the call;
/// `inp` and `out` point to 16 readable / writable bytes (they may be the same).
unsafe extern "C" fn gcm_block(inp: *const c_uchar, out: *mut c_uchar, key: *const c_void) {
    // SAFETY: by this function's contract (CRYPTO_gcm128 passes back the pointer it was
    // given, and the `Gcm` that owns it holds no reference while OpenSSL runs).
    let k = unsafe { &mut *(key as *mut GcmKey) };
    // SAFETY: 16 readable bytes; read by value since `out` may alias `inp`.
    let c = unsafe { Parts::read(inp) };
    let block = match k.lookup_parts(c, 1) {
        // E_K(c) is cached: the common case (E_K(J0) and the last partial block).
        Some(d) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&k.aes.scratch[d * 16..d * 16 + 16]);
            b
        }
        None => {
            let mut b = [0u8; 16];
            k.apply(&c.bytes(), &mut b);
            b
        }
    };
    // SAFETY: 16 writable bytes.
    unsafe { ptr::write_unaligned(out.cast::<[u8; 16]>(), block) }
}

/// `ctr128_f` for CRYPTO_gcm128: `out = in ⊕ E_K(ivec), E_K(inc32(ivec)), …` for `blocks`
/// blocks.
///
/// # Safety
/// As [`gcm_block`]; `inp` and `out` point to `blocks * 16` bytes and are either the same
/// pointer or do not overlap (CRYPTO_gcm128's contract); `ivec` to 16 readable bytes.
unsafe extern "C" fn gcm_stream(
    inp: *const c_uchar,
    out: *mut c_uchar,
    blocks: usize,
    key: *const c_void,
    ivec: *const c_uchar,
) {
    // SAFETY: as in `gcm_block`.
    let k = unsafe { &mut *(key as *mut GcmKey) };
    // SAFETY: 16 readable bytes.
    let c = unsafe { Parts::read(ivec) }.bytes();
    let len = blocks * 16;
    if inp != out.cast_const() {
        // SAFETY: `len` readable bytes at `inp` and writable at `out`, not overlapping.
        unsafe { ptr::copy_nonoverlapping(inp, out, len) };
    }
    // SAFETY: `len` writable bytes at `out`, which nothing else references during the call.
    let data = unsafe { std::slice::from_raw_parts_mut(out, len) };
    k.apply(&c, data);
}

/// AES-GCM (128 or 256) keyed once: OpenSSL's CRYPTO_gcm128 over [`Aes`].
pub(crate) struct Gcm {
    /// Owned (from `Box::into_raw`); handed to OpenSSL as the callbacks' `key`.
    key: *mut GcmKey,
    ctx: *mut Gcm128Context,
}

// SAFETY: `Gcm` owns both pointers exclusively (nothing else holds them but OpenSSL during a
// call made through `&mut self`), and the state behind them is plain memory plus an
// EVP_CIPHER_CTX, which may move between threads.
unsafe impl Send for Gcm {}
// SAFETY: no method touches the pointers through `&self`.
unsafe impl Sync for Gcm {}

impl Drop for Gcm {
    fn drop(&mut self) {
        // SAFETY: both pointers are owned and released once, here; the GCM context (which
        // refers to the key) goes first.
        unsafe {
            CRYPTO_gcm128_release(self.ctx);
            drop(Box::from_raw(self.key));
        }
    }
}

impl Gcm {
    /// AES-GCM keyed with `key` (16 or 32 bytes).
    pub(crate) fn new(key: &[u8]) -> Result<Self, Error> {
        let key = Box::into_raw(Box::new(GcmKey {
            aes: Aes::new(key)?,
            first: [0; 16],
            cached: 0,
            failed: false,
        }));
        // SAFETY: `key` stays valid until `Drop` releases the context first; CRYPTO_gcm128_new
        // calls `gcm_block` once (for H) with it, while we hold no reference.
        let ctx = unsafe { CRYPTO_gcm128_new(key.cast(), gcm_block) };
        // SAFETY: OpenSSL is done with `key` for now; this is the only reference.
        let failed = unsafe { (*key).failed };
        if ctx.is_null() || failed {
            // SAFETY: `ctx` (if any) is released before the key it refers to, once.
            unsafe {
                if !ctx.is_null() {
                    CRYPTO_gcm128_release(ctx);
                }
                drop(Box::from_raw(key));
            }
            return Err(Error::Crypto("CRYPTO_gcm128_new failed".into()));
        }
        Ok(Gcm { key, ctx })
    }

    /// Sets the 96-bit IV and caches E_K(J0) and the keystream of `len` bytes.
    fn start(&mut self, iv: &[u8; 12], len: usize) -> Result<(), Error> {
        {
            // SAFETY: exclusive through `&mut self`; the reference ends before OpenSSL runs.
            let k = unsafe { &mut *self.key };
            // J0 = IV ‖ 0^31 ‖ 1, composed in registers (the counter code loads it as 64-bit
            // words; byte-wise stores would stall those loads).
            let hi = u64::from_be_bytes([iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6], iv[7]]);
            let mid = u32::from_be_bytes([iv[8], iv[9], iv[10], iv[11]]);
            let j0 = ((u128::from(hi) << 64) | (u128::from(mid) << 32) | 1).to_be_bytes();
            k.failed = false;
            k.first = j0;
            let blocks = 1 + len.div_ceil(16);
            k.cached = 0;
            if blocks <= CHUNK_BLOCKS {
                let mut c = j0;
                if !k.aes.keystream(&mut c, blocks, true) {
                    return Err(Error::Crypto("AES-ECB keystream failed".into()));
                }
                k.cached = blocks;
            }
        }
        // SAFETY: `ctx` is valid; the IV is 12 readable bytes; the callback it makes
        // (E_K(J0)) finds `key` unborrowed.
        unsafe { CRYPTO_gcm128_setiv(self.ctx, iv.as_ptr(), iv.len()) };
        Ok(())
    }

    fn aad(&mut self, aad: &[&[u8]]) -> Result<(), Error> {
        for a in aad.iter().filter(|a| !a.is_empty()) {
            // SAFETY: `ctx` is valid; `a` is `a.len()` readable bytes.
            if unsafe { CRYPTO_gcm128_aad(self.ctx, a.as_ptr(), a.len()) } != 0 {
                return Err(Error::Crypto("CRYPTO_gcm128_aad failed".into()));
            }
        }
        Ok(())
    }

    fn failed(&self) -> bool {
        // SAFETY: no reference to the key is live (OpenSSL is not running).
        unsafe { (*self.key).failed }
    }

    /// Encrypts `regions` (one stream) in place after `aad`; returns the 16-byte tag.
    pub(crate) fn seal(
        &mut self,
        iv: &[u8; 12],
        aad: &[&[u8]],
        regions: &mut [&mut [u8]],
    ) -> Result<[u8; 16], Error> {
        self.start(iv, regions.iter().map(|r| r.len()).sum())?;
        self.aad(aad)?;
        for r in regions.iter_mut().filter(|r| !r.is_empty()) {
            let p = r.as_mut_ptr();
            // SAFETY: `ctx` is valid; `r` is `r.len()` bytes transformed in place (same
            // pointer in and out); the callbacks find `key` unborrowed.
            let rc = unsafe { CRYPTO_gcm128_encrypt_ctr32(self.ctx, p, p, r.len(), gcm_stream) };
            if rc != 0 {
                return Err(Error::Crypto("CRYPTO_gcm128_encrypt_ctr32 failed".into()));
            }
        }
        if self.failed() {
            return Err(Error::Crypto("AES-ECB keystream failed".into()));
        }
        let mut tag = [0u8; 16];
        // SAFETY: `ctx` is valid; 16 writable bytes.
        unsafe { CRYPTO_gcm128_tag(self.ctx, tag.as_mut_ptr(), tag.len()) };
        Ok(tag)
    }

    /// Checks `tag` (16 bytes; compared in constant time by OpenSSL) over `aad` and
    /// `regions`, decrypting them in place. On `AuthFailed` the regions hold garbage.
    pub(crate) fn open(
        &mut self,
        iv: &[u8; 12],
        aad: &[&[u8]],
        regions: &mut [&mut [u8]],
        tag: &[u8],
    ) -> Result<(), Error> {
        if tag.len() != 16 {
            return Err(Error::AuthFailed);
        }
        self.start(iv, regions.iter().map(|r| r.len()).sum())?;
        self.aad(aad)?;
        for r in regions.iter_mut().filter(|r| !r.is_empty()) {
            let p = r.as_mut_ptr();
            // SAFETY: as in `seal`.
            let rc = unsafe { CRYPTO_gcm128_decrypt_ctr32(self.ctx, p, p, r.len(), gcm_stream) };
            if rc != 0 {
                return Err(Error::Crypto("CRYPTO_gcm128_decrypt_ctr32 failed".into()));
            }
        }
        if self.failed() {
            return Err(Error::Crypto("AES-ECB keystream failed".into()));
        }
        // SAFETY: `ctx` is valid; `tag` is 16 readable bytes. CRYPTO_gcm128_finish compares
        // with CRYPTO_memcmp (constant time) and returns 0 on a match.
        match unsafe { CRYPTO_gcm128_finish(self.ctx, tag.as_ptr(), tag.len()) } {
            0 => Ok(()),
            _ => Err(Error::AuthFailed),
        }
    }
}

/// `dst ^= ks` over the shorter of the two.
fn xor(dst: &mut [u8], ks: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        unsafe { xor_avx2(dst, ks) };
        return;
    }
    xor_portable(dst, ks);
}

fn xor_portable(dst: &mut [u8], ks: &[u8]) {
    for (d, k) in dst.iter_mut().zip(ks) {
        *d ^= k;
    }
}

/// [`xor_portable`] compiled for AVX2 (32 bytes per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn xor_avx2(dst: &mut [u8], ks: &[u8]) {
    for (d, k) in dst.iter_mut().zip(ks) {
        *d ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::symm::{Cipher, Crypter, Mode, decrypt_aead, encrypt_aead};

    /// Deterministic test bytes.
    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn evp_ctr(key: &[u8], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
        let mut c = Crypter::new(Cipher::aes_128_ctr(), Mode::Encrypt, key, Some(iv)).unwrap();
        let mut out = vec![0u8; data.len() + 16];
        let n = c.update(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Splits `buf` at the given cut points into mutable regions.
    fn regions<'a>(mut buf: &'a mut [u8], cuts: &[usize]) -> Vec<&'a mut [u8]> {
        let mut out = Vec::new();
        let mut at = 0;
        for &c in cuts {
            let (a, b) = buf.split_at_mut(c.clamp(at, at + buf.len()) - at);
            at += a.len();
            out.push(a);
            buf = b;
        }
        out.push(buf);
        out
    }

    #[test]
    fn aes_cm_matches_evp_ctr_across_chunks_and_regions() {
        let key = bytes(16, 7);
        let mut aes = Aes::new(&key).unwrap();
        for (len, cuts) in [
            (0, vec![]),
            (1, vec![]),
            (15, vec![3]),
            (1188, vec![12, 40]),
            (CHUNK - 1, vec![100]),
            (CHUNK + 17, vec![CHUNK - 5, CHUNK + 3]),
            (3 * CHUNK + 9, vec![1, 2, 2 * CHUNK]),
        ] {
            let iv: [u8; 16] = bytes(16, len as u8).try_into().unwrap();
            let plain = bytes(len, 3);
            let mut buf = plain.clone();
            aes.ctr_xor(&iv, &mut regions(&mut buf, &cuts)).unwrap();
            assert_eq!(buf, evp_ctr(&key, &iv, &plain), "len {len}");
        }
    }

    #[test]
    fn aes_cm_counter_carries_over_128_bits() {
        let key = bytes(16, 1);
        let mut aes = Aes::new(&key).unwrap();
        let mut iv = [0xff; 16];
        iv[15] = 0xfe; // wraps to zero after two blocks
        let plain = bytes(100, 9);
        let mut buf = plain.clone();
        aes.ctr_xor(&iv, &mut [&mut buf]).unwrap();
        assert_eq!(buf, evp_ctr(&key, &iv, &plain));
    }

    #[test]
    fn aes_cm_counter_blocks_follow_changing_ivs() {
        // Consecutive packets reuse the kept counter blocks: IVs that change in the sequence
        // bytes, higher up, in the low 16 bits, and ones whose low 16 bits carry.
        let key = bytes(16, 4);
        let mut aes = Aes::new(&key).unwrap();
        let mut iv = [0x5au8; 16];
        iv[14] = 0;
        iv[15] = 0;
        let steps: [(usize, usize, u8); 10] = [
            (1200, 13, 1),
            (600, 12, 2),
            (1200, 13, 3),
            (1300, 3, 4),
            (100, 15, 0xf8),  // low 16 bits 0x00f8
            (1200, 14, 0xff), // 0xfff8: carries after 8 blocks
            (1200, 13, 9),
            (1200, 15, 0),
            (1500, 8, 7),
            (1200, 13, 5),
        ];
        for (len, at, v) in steps {
            iv[at] = v;
            let plain = bytes(len, v);
            let mut buf = plain.clone();
            aes.ctr_xor(&iv, &mut [&mut buf]).unwrap();
            assert_eq!(buf, evp_ctr(&key, &iv, &plain), "iv {iv:02x?}, {len} bytes");
        }
    }

    /// Seals and opens with `Gcm` and checks both against OpenSSL's EVP AES-GCM.
    fn check_gcm(
        gcm: &mut Gcm,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        plain: &[u8],
        cuts: &[usize],
    ) {
        let cipher = if key.len() == 16 {
            Cipher::aes_128_gcm()
        } else {
            Cipher::aes_256_gcm()
        };
        let mut want_tag = [0u8; 16];
        let want = encrypt_aead(cipher, key, Some(iv), aad, plain, &mut want_tag).unwrap();
        let (a0, a1) = aad.split_at(aad.len() / 2);
        let mut buf = plain.to_vec();
        let tag = gcm
            .seal(iv, &[a0, a1], &mut regions(&mut buf, cuts))
            .unwrap();
        assert_eq!(
            (&buf, tag),
            (&want, want_tag),
            "seal, {} bytes",
            plain.len()
        );
        gcm.open(iv, &[a0, a1], &mut regions(&mut buf, cuts), &tag)
            .unwrap();
        assert_eq!(buf, plain, "open, {} bytes", plain.len());
        // A flipped tag bit fails and a flipped ciphertext bit fails.
        let mut bad = tag;
        bad[15] ^= 1;
        let mut ct = want.clone();
        assert_eq!(
            gcm.open(iv, &[aad], &mut [&mut ct], &bad),
            Err(Error::AuthFailed)
        );
        if !want.is_empty() {
            let mut ct = want.clone();
            ct[0] ^= 0x80;
            assert_eq!(
                gcm.open(iv, &[aad], &mut [&mut ct], &tag),
                Err(Error::AuthFailed)
            );
        }
        assert!(decrypt_aead(cipher, key, Some(iv), aad, &want, &tag).is_ok());
    }

    #[test]
    fn gcm_matches_evp_for_lengths_and_splits() {
        for key_len in [16, 32] {
            let key = bytes(key_len, 5);
            let mut gcm = Gcm::new(&key).unwrap();
            for len in [
                0,
                1,
                15,
                16,
                17,
                31,
                100,
                1188,
                1200,
                CHUNK - 32,
                CHUNK - 16,
                CHUNK,
                CHUNK + 5,
                3 * CHUNK + 1,
            ] {
                let iv: [u8; 12] = bytes(12, len as u8).try_into().unwrap();
                let aad = bytes(len % 29, 11);
                let plain = bytes(len, 2);
                check_gcm(&mut gcm, &key, &iv, &aad, &plain, &[]);
                check_gcm(&mut gcm, &key, &iv, &aad, &plain, &[len / 3, len / 2 + 1]);
            }
        }
    }

    #[test]
    fn gcm_counter_cache_follows_changing_ivs_and_lengths() {
        // Packets whose IVs differ in the sequence bytes only or also higher up (`true`), with
        // lengths growing and shrinking: the kept counter blocks must never go stale (a short
        // packet with a new SSRC/ROC, then a long one with only a new sequence number).
        let key = bytes(16, 8);
        let mut gcm = Gcm::new(&key).unwrap();
        let mut iv = [0x42u8; 12];
        let packets = [
            (1200, false),
            (600, true),
            (1200, false),
            (1300, false),
            (40, false),
            (1500, true),
            (1500, false),
            (2000, true),
            (16, false),
            (1800, false),
        ];
        for (i, (len, high)) in packets.into_iter().enumerate() {
            iv[11] = i as u8;
            if high {
                iv[3] ^= 0x10;
            }
            check_gcm(
                &mut gcm,
                &key,
                &iv,
                &bytes(12, 1),
                &bytes(len, i as u8),
                &[],
            );
        }
    }

    #[test]
    fn xor_paths_agree() {
        let ks = bytes(1000, 77);
        let mut a = bytes(1000, 3);
        let mut b = a.clone();
        xor(&mut a, &ks);
        xor_portable(&mut b, &ks);
        assert_eq!(a, b);
        xor_portable(&mut b, &ks);
        assert_eq!(b, bytes(1000, 3));
    }
}
