//! Completely encrypted header extensions and CSRCs: "cryptex" (RFC 9335).
//!
//! With cryptex the CSRC list, the header extension's data and the payload are encrypted as
//! one keystream, in that order; the 12-byte fixed header and the 4-byte extension header stay
//! in the clear (and are the GCM AAD). The extension's "defined by profile" value says so:
//! 0xC0DE for one-byte extensions (0xBEDE in the clear), 0xC2DE for two-byte ones (0x1000). A
//! packet with CSRCs but no extension gets an empty 0xC0DE extension so that the receiver
//! knows; the receiver hands it on as an empty 0xBEDE extension.

use crate::header::RtpHeader;

const ONE_BYTE: u16 = 0xBEDE;
const TWO_BYTE: u16 = 0x1000;
const ONE_BYTE_CRYPTEX: u16 = 0xC0DE;
const TWO_BYTE_CRYPTEX: u16 = 0xC2DE;

/// Where a packet splits into clear and encrypted parts: `[0, p[0])` clear, `[p[0], p[1])`
/// encrypted, `[p[1], p[2])` clear, `[p[2], p[3])` encrypted, `[p[3], end)` encrypted. Without
/// cryptex all four bounds are the header length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout(pub [usize; 4]);

impl Layout {
    pub(crate) fn plain(h: &RtpHeader) -> Self {
        Layout([h.len; 4])
    }

    fn cryptex(h: &RtpHeader, ext_at: usize) -> Self {
        Layout([12, ext_at, ext_at + 4, h.len])
    }
}

fn profile(buf: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([buf[at], buf[at + 1]])
}

/// Prepares an outgoing packet for cryptex: marks its extension (adding an empty one when it
/// has only CSRCs) and returns the layout to encrypt with. `h` is updated to match. Packets
/// with neither CSRCs nor extension, or with a non-RFC 8285 extension, are sent as usual.
pub(crate) fn mark(buf: &mut Vec<u8>, h: &mut RtpHeader) -> Layout {
    match h.extension {
        None if h.csrc_count > 0 => {
            let at = 12 + 4 * h.csrc_count;
            buf.splice(
                at..at,
                ONE_BYTE_CRYPTEX.to_be_bytes().into_iter().chain([0, 0]),
            );
            buf[0] |= 0x10;
            h.extension = Some(at);
            h.len += 4;
            Layout::cryptex(h, at)
        }
        Some(at) => {
            let new = match profile(buf, at) {
                ONE_BYTE => ONE_BYTE_CRYPTEX,
                p if p & 0xFFF0 == TWO_BYTE => TWO_BYTE_CRYPTEX,
                _ => return Layout::plain(h),
            };
            buf[at..at + 2].copy_from_slice(&new.to_be_bytes());
            Layout::cryptex(h, at)
        }
        None => Layout::plain(h),
    }
}

/// The layout of a received packet: cryptex when its extension says so.
pub(crate) fn layout(buf: &[u8], h: &RtpHeader) -> Layout {
    match h.extension {
        Some(at) if matches!(profile(buf, at), ONE_BYTE_CRYPTEX | TWO_BYTE_CRYPTEX) => {
            Layout::cryptex(h, at)
        }
        _ => Layout::plain(h),
    }
}

/// Restores a decrypted cryptex packet's extension profile (0xBEDE or 0x1000). An empty
/// extension a sender added for CSRCs alone stays, as an empty 0xBEDE block (RFC 9335 §5.1
/// lets the receiver keep it; it carries nothing).
pub(crate) fn unmark(buf: &mut [u8], h: &RtpHeader) {
    let Some(at) = h.extension else {
        return;
    };
    let clear = match profile(buf, at) {
        ONE_BYTE_CRYPTEX => ONE_BYTE,
        TWO_BYTE_CRYPTEX => TWO_BYTE,
        _ => return,
    };
    buf[at..at + 2].copy_from_slice(&clear.to_be_bytes());
}
