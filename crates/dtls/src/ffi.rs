//! The one place `weft-dtls` calls OpenSSL directly: memory BIOs, the handshake, read and write
//! calls, and the DTLS timer callback (see `docs/adr/0003-dtls-retransmission-timer.md`).
//!
//! Everything else uses the safe `openssl` crate.

#![allow(unsafe_code)]

use std::os::raw::{c_int, c_long, c_uint, c_void};
use std::sync::OnceLock;

use bytes::BytesMut;
use foreign_types::ForeignTypeRef;
use openssl::ex_data::Index;
use openssl::ssl::{Ssl, SslRef};
use openssl_sys as sys;

use crate::error::Error;

/// The DTLS timer state OpenSSL's callback updates, kept in the SSL's ex_data.
#[derive(Debug, Default)]
pub(crate) struct TimerState {
    /// How many retransmission copies to capture per flight.
    pub max_copies: usize,
    /// Set when OpenSSL started the timer for a new flight during the current call.
    pub fresh_start: bool,
    /// The write BIO's length when each captured retransmission began.
    pub copy_starts: Vec<usize>,
}

/// "Already expired" for OpenSSL (it treats anything under 15 ms as expired).
const SHORT_US: c_uint = 1;
/// Longer than any handshake: OpenSSL's own timer never fires.
const LONG_US: c_uint = 3_600_000_000;
/// `BIO_CTRL_PENDING`: bytes waiting in a memory BIO.
const BIO_CTRL_PENDING: c_int = 10;
/// `BIO_C_SET_BUF_MEM_EOF_RETURN`: what reading an empty memory BIO returns.
const BIO_C_SET_BUF_MEM_EOF_RETURN: c_int = 130;
/// `SSL_CTRL_SET_MAX_SEND_FRAGMENT`.
const SSL_CTRL_SET_MAX_SEND_FRAGMENT: c_int = 52;
/// `SSL_CTRL_GET_EXTMS_SUPPORT`.
const SSL_CTRL_GET_EXTMS_SUPPORT: c_int = 122;

unsafe extern "C" {
    /// `void DTLS_set_timer_cb(SSL *s, DTLS_timer_cb cb)`, OpenSSL 1.1.1 and later; not in
    /// `openssl-sys`.
    fn DTLS_set_timer_cb(
        s: *mut sys::SSL,
        cb: Option<unsafe extern "C" fn(*mut sys::SSL, c_uint) -> c_uint>,
    );
    /// `int SSL_free_buffers(SSL *ssl)`, OpenSSL 1.1.0 and later; not in `openssl-sys`.
    fn SSL_free_buffers(ssl: *mut sys::SSL) -> c_int;
    /// `int SSL_alloc_buffers(SSL *ssl)`, OpenSSL 1.1.0 and later; not in `openssl-sys`.
    fn SSL_alloc_buffers(ssl: *mut sys::SSL) -> c_int;
}

fn timer_index() -> Result<Index<Ssl, TimerState>, Error> {
    // One ex_data index for the whole process, created on first use.
    static INDEX: OnceLock<Result<Index<Ssl, TimerState>, String>> = OnceLock::new();
    INDEX
        .get_or_init(|| Ssl::new_ex_index::<TimerState>().map_err(|e| e.to_string()))
        .clone()
        .map_err(Error::OpenSsl)
}

/// Called by OpenSSL when it (re)starts the DTLS timer: with 0 for a new flight, with the
/// previous duration just before it retransmits.
unsafe extern "C" fn timer_cb(ssl: *mut sys::SSL, previous_us: c_uint) -> c_uint {
    // SAFETY: OpenSSL calls this with the live SSL whose handshake it is running; no other
    // reference to it is in use while OpenSSL runs inside our own call into it.
    let ssl_ref = unsafe { SslRef::from_ptr_mut(ssl) };
    // SAFETY: the SSL owns its write BIO for as long as the SSL lives.
    let pending = unsafe {
        sys::BIO_ctrl(
            sys::SSL_get_wbio(ssl),
            BIO_CTRL_PENDING,
            0,
            std::ptr::null_mut(),
        )
    };
    let Ok(index) = timer_index() else {
        return LONG_US;
    };
    let Some(state) = ssl_ref.ex_data_mut(index) else {
        return LONG_US;
    };
    if previous_us == 0 {
        state.fresh_start = true;
        state.copy_starts.clear();
        return if state.max_copies > 0 {
            SHORT_US
        } else {
            LONG_US
        };
    }
    state
        .copy_starts
        .push(usize::try_from(pending).unwrap_or(0));
    if state.copy_starts.len() < state.max_copies {
        SHORT_US
    } else {
        LONG_US
    }
}

/// Gives `ssl` two memory BIOs and the timer callback, with `max_copies` retransmissions
/// captured per flight.
pub(crate) fn prepare(ssl: &mut Ssl, max_copies: usize) -> Result<(), Error> {
    ssl.set_ex_data(
        timer_index()?,
        TimerState {
            max_copies,
            ..TimerState::default()
        },
    );
    set_memory_bios(ssl)?;
    // SAFETY: the SSL is live; the callback is a plain function.
    unsafe { DTLS_set_timer_cb(ssl.as_ptr(), Some(timer_cb)) };
    Ok(())
}

/// Gives `ssl` two new, empty memory BIOs; it frees the ones it had.
fn set_memory_bios(ssl: &mut SslRef) -> Result<(), Error> {
    // SAFETY: BIO_s_mem returns a static method table; BIO_new allocates a BIO we hand to the
    // SSL below, which then owns and frees both (and any it had before).
    unsafe {
        let rbio = sys::BIO_new(sys::BIO_s_mem());
        let wbio = sys::BIO_new(sys::BIO_s_mem());
        if rbio.is_null() || wbio.is_null() {
            if !rbio.is_null() {
                sys::BIO_free_all(rbio);
            }
            if !wbio.is_null() {
                sys::BIO_free_all(wbio);
            }
            return Err(Error::OpenSsl("cannot allocate memory BIOs".into()));
        }
        // An empty read BIO means "no datagram yet", not end of file.
        sys::BIO_ctrl(rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, std::ptr::null_mut());
        sys::SSL_set_bio(ssl.as_ptr(), rbio, wbio);
    }
    Ok(())
}

/// Replaces both memory BIOs by empty ones when both are drained. A memory BIO keeps the
/// largest size it ever held; the handshake's flights, with their captured retransmissions,
/// leave several KiB that application records never need. Returns whether it did.
pub(crate) fn renew_bios(ssl: &mut SslRef) -> bool {
    // SAFETY: both BIOs belong to the live SSL; BIO_CTRL_PENDING only reads their length.
    let pending = unsafe {
        sys::BIO_ctrl(
            sys::SSL_get_rbio(ssl.as_ptr()),
            BIO_CTRL_PENDING,
            0,
            std::ptr::null_mut(),
        ) + sys::BIO_ctrl(
            sys::SSL_get_wbio(ssl.as_ptr()),
            BIO_CTRL_PENDING,
            0,
            std::ptr::null_mut(),
        )
    };
    pending == 0 && set_memory_bios(ssl).is_ok()
}

/// `SSL_free_buffers`: frees the record layer's read and write buffers unless they hold
/// data. Returns whether it did.
pub(crate) fn free_buffers(ssl: &mut SslRef) -> bool {
    // SAFETY: the SSL is live; OpenSSL refuses when a buffer holds unprocessed data.
    unsafe { SSL_free_buffers(ssl.as_ptr()) == 1 }
}

/// `SSL_alloc_buffers`: sets the record buffers up again after [`free_buffers`] (a no-op for
/// buffers that exist). Returns whether they are there.
pub(crate) fn alloc_buffers(ssl: &mut SslRef) -> bool {
    // SAFETY: the SSL is live.
    unsafe { SSL_alloc_buffers(ssl.as_ptr()) == 1 }
}

/// `SSL_set_max_send_fragment`: OpenSSL sizes its write buffer for records of `len` bytes
/// (512 to 16384) instead of the 16 KiB TLS maximum.
pub(crate) fn set_max_send_fragment(ssl: &mut SslRef, len: usize) -> Result<(), Error> {
    let len = c_long::try_from(len.clamp(512, 16_384)).unwrap_or(16_384);
    // SAFETY: a control on a live SSL that only stores the value.
    let ok = unsafe {
        sys::SSL_ctrl(
            ssl.as_ptr(),
            SSL_CTRL_SET_MAX_SEND_FRAGMENT,
            len,
            std::ptr::null_mut(),
        )
    };
    if ok == 1 {
        Ok(())
    } else {
        Err(Error::OpenSsl("cannot set the largest record".into()))
    }
}

/// The timer state of the last call, reset for the next one.
pub(crate) fn take_timer_state(ssl: &mut SslRef) -> (bool, Vec<usize>) {
    let Ok(index) = timer_index() else {
        return (false, Vec::new());
    };
    match ssl.ex_data_mut(index) {
        Some(s) => (
            std::mem::take(&mut s.fresh_start),
            std::mem::take(&mut s.copy_starts),
        ),
        None => (false, Vec::new()),
    }
}

/// Puts one received datagram where OpenSSL will read it.
pub(crate) fn feed(ssl: &SslRef, datagram: &[u8]) -> Result<(), Error> {
    let len = c_int::try_from(datagram.len()).map_err(|_| Error::Config("datagram too large"))?;
    // SAFETY: the read BIO belongs to the live SSL; BIO_write copies `len` bytes from a valid
    // slice.
    let n = unsafe {
        sys::BIO_write(
            sys::SSL_get_rbio(ssl.as_ptr()),
            datagram.as_ptr().cast::<c_void>(),
            len,
        )
    };
    if n == len {
        Ok(())
    } else {
        Err(Error::OpenSsl("memory BIO refused the datagram".into()))
    }
}

/// Everything OpenSSL wrote since the last drain.
pub(crate) fn drain(ssl: &SslRef) -> Vec<u8> {
    // SAFETY: the write BIO belongs to the live SSL.
    let wbio = unsafe { sys::SSL_get_wbio(ssl.as_ptr()) };
    // SAFETY: as above; BIO_CTRL_PENDING only reads the BIO's length.
    let pending = unsafe { sys::BIO_ctrl(wbio, BIO_CTRL_PENDING, 0, std::ptr::null_mut()) };
    let pending = usize::try_from(pending).unwrap_or(0);
    let mut out = vec![0u8; pending];
    let mut filled = 0;
    while filled < pending {
        let want = c_int::try_from(pending - filled).unwrap_or(c_int::MAX);
        // SAFETY: `out[filled..]` has room for `want` bytes.
        let n = unsafe { sys::BIO_read(wbio, out[filled..].as_mut_ptr().cast::<c_void>(), want) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    out.truncate(filled);
    out
}

/// The outcome of a call into OpenSSL.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It completed (handshake done, or that many bytes read or written).
    Done(usize),
    /// It needs another datagram.
    WantRead,
    /// The peer sent `close_notify`.
    Closed,
    /// A fatal error; the text names it.
    Fatal(String),
}

fn outcome(ssl: &SslRef, ret: c_int) -> Outcome {
    if ret > 0 {
        return Outcome::Done(ret as usize);
    }
    // SAFETY: `ret` is the return value of the call just made on this SSL.
    let code = unsafe { sys::SSL_get_error(ssl.as_ptr(), ret) };
    match code {
        sys::SSL_ERROR_WANT_READ | sys::SSL_ERROR_WANT_WRITE => Outcome::WantRead,
        sys::SSL_ERROR_ZERO_RETURN => Outcome::Closed,
        _ => {
            let stack = openssl::error::ErrorStack::get();
            let text = stack
                .errors()
                .iter()
                .filter_map(|e| e.reason())
                .collect::<Vec<_>>()
                .join("; ");
            Outcome::Fatal(if text.is_empty() {
                format!("ssl error {code}")
            } else {
                text
            })
        }
    }
}

/// `SSL_do_handshake`.
pub(crate) fn do_handshake(ssl: &mut SslRef) -> Outcome {
    // SAFETY: the SSL is live and has both BIOs.
    let ret = unsafe { sys::SSL_do_handshake(ssl.as_ptr()) };
    outcome(ssl, ret)
}

/// `SSL_read` of one whole record, appended to `buf` (which grows when the record does not
/// fit in its spare capacity).
pub(crate) fn read(ssl: &mut SslRef, buf: &mut BytesMut) -> Outcome {
    let mut total = 0;
    loop {
        let spare = buf.spare_capacity_mut();
        let len = c_int::try_from(spare.len()).unwrap_or(c_int::MAX);
        // SAFETY: `spare` has room for `len` bytes; OpenSSL writes at most that many.
        let ret = unsafe { sys::SSL_read(ssl.as_ptr(), spare.as_mut_ptr().cast::<c_void>(), len) };
        match outcome(ssl, ret) {
            Outcome::Done(n) => {
                let n = n.min(len as usize);
                // SAFETY: OpenSSL initialized the first `n <= len` bytes of the spare capacity.
                unsafe { buf.set_len(buf.len() + n) };
                total += n;
            }
            // Part of the record was read already: that part is what the call returns.
            _ if total > 0 => return Outcome::Done(total),
            other => return other,
        }
        // What is left of a record larger than the room given.
        let rest = ssl.pending();
        if rest == 0 {
            return Outcome::Done(total);
        }
        buf.reserve(rest);
    }
}

/// `SSL_write` of one record.
pub(crate) fn write(ssl: &mut SslRef, data: &[u8]) -> Outcome {
    let len = c_int::try_from(data.len()).unwrap_or(c_int::MAX);
    // SAFETY: `data` holds `len` readable bytes.
    let ret = unsafe { sys::SSL_write(ssl.as_ptr(), data.as_ptr().cast::<c_void>(), len) };
    outcome(ssl, ret)
}

/// `SSL_shutdown`: queues `close_notify`.
pub(crate) fn shutdown(ssl: &mut SslRef) {
    // SAFETY: the SSL is live; the result only says whether the peer's close_notify came too.
    unsafe {
        sys::SSL_shutdown(ssl.as_ptr());
    }
}

/// Whether the handshake negotiated the extended master secret (RFC 7627).
pub(crate) fn extended_master_secret(ssl: &SslRef) -> bool {
    // SAFETY: a read-only control on a live SSL.
    unsafe {
        sys::SSL_ctrl(
            ssl.as_ptr(),
            SSL_CTRL_GET_EXTMS_SUPPORT,
            0 as c_long,
            std::ptr::null_mut(),
        ) == 1
    }
}
