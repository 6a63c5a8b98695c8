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
    scratch: Box<[u8; CHUNK]>,
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

    /// E_K(counter), E_K(step(counter)), … into the first `n` blocks of the scratch buffer
    /// (`n` at most CHUNK_BLOCKS), leaving `counter` at the next block. False if OpenSSL
    /// failed.
    fn keystream(&mut self, counter: &mut [u8; 16], n: usize, step: fn(&mut [u8; 16])) -> bool {
        let bytes = n.min(CHUNK_BLOCKS) * 16;
        for b in self.scratch[..bytes].chunks_exact_mut(16) {
            b.copy_from_slice(counter);
            step(counter);
        }
        let mut outl: c_int = 0;
        // At most CHUNK (2048) bytes: fits a c_int.
        let len = bytes as c_int;
        let buf = self.scratch.as_mut_ptr();
        // SAFETY: `ctx` is a keyed ECB context without padding; input and output are the
        // same `len` bytes of the scratch buffer (EVP allows exact in-place overlap), and ECB
        // without padding writes exactly `len` bytes for a whole number of blocks.
        unsafe { ffi::EVP_EncryptUpdate(self.ctx, buf, &mut outl, buf, len) == 1 && outl == len }
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
                    if !self.keystream(&mut counter, blocks, inc128) {
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
    /// The cache index of counter block `c`, if it is cached.
    fn lookup(&self, c: &[u8; 16], blocks: usize) -> Option<usize> {
        if c[..12] != self.first[..12] {
            return None;
        }
        let d = low32(c).wrapping_sub(low32(&self.first)) as usize;
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
            if !self.aes.keystream(&mut counter, n, inc32) {
                self.failed = true;
                return;
            }
            xor(part, &self.aes.scratch[..n * 16]);
        }
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
    let c: [u8; 16] = unsafe { ptr::read_unaligned(inp.cast::<[u8; 16]>()) };
    let mut block = [0u8; 16];
    k.apply(&c, &mut block);
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
    let c: [u8; 16] = unsafe { ptr::read_unaligned(ivec.cast::<[u8; 16]>()) };
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
            let mut j0 = [0u8; 16];
            j0[..12].copy_from_slice(iv);
            j0[15] = 1;
            k.failed = false;
            k.first = j0;
            let blocks = 1 + len.div_ceil(16);
            k.cached = 0;
            if blocks <= CHUNK_BLOCKS {
                let mut c = j0;
                if !k.aes.keystream(&mut c, blocks, inc32) {
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

/// The 128-bit big-endian increment of RFC 3711's AES-CM counter.
fn inc128(c: &mut [u8; 16]) {
    *c = u128::from_be_bytes(*c).wrapping_add(1).to_be_bytes();
}

/// GCM's inc32: the low 32 bits only (NIST SP 800-38D §6.2).
fn inc32(c: &mut [u8; 16]) {
    let low = low32(c).wrapping_add(1);
    c[12..].copy_from_slice(&low.to_be_bytes());
}

fn low32(c: &[u8; 16]) -> u32 {
    u32::from_be_bytes([c[12], c[13], c[14], c[15]])
}

fn xor(dst: &mut [u8], ks: &[u8]) {
    for (d, k) in dst.iter_mut().zip(ks) {
        *d ^= k;
    }
}
