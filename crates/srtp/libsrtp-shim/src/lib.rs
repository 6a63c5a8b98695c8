//! A test-only bridge to libsrtp2 (Debian's `libsrtp2-dev`), so that weft-srtp's tests and
//! benches can check and measure against the reference implementation.
//!
//! [`Session::new`] returns `None` when the library was not found at build time.

#![allow(unsafe_code)]
#![warn(missing_docs)]

use std::os::raw::{c_int, c_uchar, c_void};

#[cfg(libsrtp2)]
unsafe extern "C" {
    fn weft_shim_new(profile: c_int, key_salt: *const c_uchar, outbound: c_int) -> *mut c_void;
    fn weft_shim_protect(s: *mut c_void, buf: *mut c_uchar, len: *mut c_int) -> c_int;
    fn weft_shim_unprotect(s: *mut c_void, buf: *mut c_uchar, len: *mut c_int) -> c_int;
    fn weft_shim_protect_rtcp(s: *mut c_void, buf: *mut c_uchar, len: *mut c_int) -> c_int;
    fn weft_shim_unprotect_rtcp(s: *mut c_void, buf: *mut c_uchar, len: *mut c_int) -> c_int;
    fn weft_shim_free(s: *mut c_void);
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Protect,
    Unprotect,
    ProtectRtcp,
    UnprotectRtcp,
}

/// Bytes libsrtp may add to a packet (`SRTP_MAX_TRAILER_LEN` is 16 + 128 for MKI).
#[cfg(libsrtp2)]
const TRAILER: usize = 160;

/// One libsrtp2 session for one direction.
#[derive(Debug)]
pub struct Session {
    #[cfg(libsrtp2)]
    raw: *mut c_void,
}

impl Session {
    /// Whether libsrtp2 was found when this crate was built.
    pub fn available() -> bool {
        cfg!(libsrtp2)
    }

    /// A session for `profile` (0 AES-CM-80, 1 AES-CM-32, 2 GCM-128, 3 GCM-256, 4 NULL-80)
    /// with the master key followed by the master salt; `outbound` for protecting.
    pub fn new(profile: i32, key_salt: &[u8], outbound: bool) -> Option<Session> {
        #[cfg(libsrtp2)]
        {
            // libsrtp reads key + salt from the pointer; 32 + 12 bytes at most for these
            // profiles, and copies them during srtp_create.
            let mut buf = [0u8; 64];
            buf[..key_salt.len()].copy_from_slice(key_salt);
            // SAFETY: `buf` outlives the call; the shim copies the key.
            let raw = unsafe { weft_shim_new(profile, buf.as_ptr(), c_int::from(outbound)) };
            (!raw.is_null()).then_some(Session { raw })
        }
        #[cfg(not(libsrtp2))]
        {
            let _ = (profile, key_salt, outbound);
            None
        }
    }

    fn call(&mut self, buf: &mut Vec<u8>, op: Op) -> Result<(), i32> {
        #[cfg(libsrtp2)]
        {
            let (grow, f): (
                bool,
                unsafe extern "C" fn(*mut c_void, *mut c_uchar, *mut c_int) -> c_int,
            ) = match op {
                Op::Protect => (true, weft_shim_protect),
                Op::Unprotect => (false, weft_shim_unprotect),
                Op::ProtectRtcp => (true, weft_shim_protect_rtcp),
                Op::UnprotectRtcp => (false, weft_shim_unprotect_rtcp),
            };
            let n = buf.len();
            if grow {
                buf.resize(n + TRAILER, 0);
            }
            let mut len = c_int::try_from(n).map_err(|_| -1)?;
            // SAFETY: `buf` has room for the packet and libsrtp's trailer; `len` is its length.
            let r = unsafe { f(self.raw, buf.as_mut_ptr(), &mut len) };
            buf.truncate(usize::try_from(len).unwrap_or(0));
            if r == 0 { Ok(()) } else { Err(r) }
        }
        #[cfg(not(libsrtp2))]
        {
            let _ = (buf, op);
            Err(-1)
        }
    }

    /// `srtp_protect`.
    pub fn protect(&mut self, buf: &mut Vec<u8>) -> Result<(), i32> {
        self.call(buf, Op::Protect)
    }

    /// `srtp_unprotect`.
    pub fn unprotect(&mut self, buf: &mut Vec<u8>) -> Result<(), i32> {
        self.call(buf, Op::Unprotect)
    }

    /// `srtp_protect_rtcp`.
    pub fn protect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), i32> {
        self.call(buf, Op::ProtectRtcp)
    }

    /// `srtp_unprotect_rtcp`.
    pub fn unprotect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), i32> {
        self.call(buf, Op::UnprotectRtcp)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        #[cfg(libsrtp2)]
        // SAFETY: `raw` came from weft_shim_new and is freed once, here.
        unsafe {
            weft_shim_free(self.raw)
        }
    }
}
