//! RFC 4571 framing for ICE-TCP (RFC 6544 §3): on a TCP connection, every STUN message and
//! every datagram of the layers above travels as a 16-bit big-endian length followed by that
//! many bytes.
//!
//! The agent speaks in datagrams; the driver frames what [`Agent::poll_transmit`] gives for
//! a TCP pair with [`frame`], and cuts what it reads from the connection back into datagrams
//! with a [`Deframer`] (one per connection) before [`Agent::handle_input`].
//!
//! ```
//! use weft_ice::framing::{Deframer, frame};
//!
//! let mut stream = Vec::new();
//! stream.extend_from_slice(&frame(b"first")?);
//! stream.extend_from_slice(&frame(b"second")?);
//! let mut d = Deframer::new();
//! // TCP delivers bytes in any cut.
//! d.push(&stream[..4])?;
//! assert_eq!(d.next_frame()?, None);
//! d.push(&stream[4..])?;
//! assert_eq!(d.next_frame()?.as_deref(), Some(&b"first"[..]));
//! assert_eq!(d.next_frame()?.as_deref(), Some(&b"second"[..]));
//! assert_eq!(d.next_frame()?, None);
//! # Ok::<(), weft_ice::framing::FrameError>(())
//! ```
//!
//! [`Agent::poll_transmit`]: crate::Agent::poll_transmit
//! [`Agent::handle_input`]: crate::Agent::handle_input

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest payload a frame can carry (the 16-bit length).
pub const MAX_PAYLOAD: usize = u16::MAX as usize;
/// The most bytes a [`Deframer`] holds by default: two whole frames of the largest size.
pub const DEFAULT_BUFFER: usize = 2 * (MAX_PAYLOAD + 2);

/// A framing failure. Both close the connection: the stream cannot be resynchronised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A payload to frame, or a frame announced by the peer, is longer than allowed.
    #[error("frame of {len} bytes, limit {max}")]
    TooLong {
        /// The length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// More bytes were pushed than the buffer holds: drain [`Deframer::next_frame`] after
    /// every push.
    #[error("deframer buffer full ({0} bytes)")]
    Overflow(usize),
}

/// Frames one datagram: its 16-bit length, then the bytes.
pub fn frame(payload: &[u8]) -> Result<Bytes, FrameError> {
    let mut b = BytesMut::with_capacity(payload.len() + 2);
    encode(payload, &mut b)?;
    Ok(b.freeze())
}

/// Writes one framed datagram into `buf`.
pub fn encode(payload: &[u8], buf: &mut impl BufMut) -> Result<(), FrameError> {
    let Ok(len) = u16::try_from(payload.len()) else {
        return Err(FrameError::TooLong {
            len: payload.len(),
            max: MAX_PAYLOAD,
        });
    };
    buf.put_u16(len);
    buf.put_slice(payload);
    Ok(())
}

/// Cuts a TCP byte stream into the datagrams it carries (RFC 4571), with a bounded buffer.
#[derive(Debug, Clone)]
pub struct Deframer {
    buf: BytesMut,
    capacity: usize,
    max_frame: usize,
}

impl Default for Deframer {
    fn default() -> Self {
        Deframer::new()
    }
}

impl Deframer {
    /// A deframer that accepts any frame and buffers up to [`DEFAULT_BUFFER`] bytes.
    pub fn new() -> Self {
        Deframer::with_limits(MAX_PAYLOAD, DEFAULT_BUFFER)
    }

    /// A deframer that refuses frames above `max_frame` bytes and buffers at most
    /// `capacity` bytes (raised to hold one whole frame of `max_frame` if smaller).
    pub fn with_limits(max_frame: usize, capacity: usize) -> Self {
        let max_frame = max_frame.min(MAX_PAYLOAD);
        Deframer {
            buf: BytesMut::new(),
            capacity: capacity.max(max_frame + 2),
            max_frame,
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) -> Result<(), FrameError> {
        if self.buf.len() + data.len() > self.capacity {
            return Err(FrameError::Overflow(self.buf.len() + data.len()));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The next whole datagram, if one is buffered. An announced length above the limit is
    /// an error, found as soon as the two length bytes are in.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let Some(len) = self
            .buf
            .get(..2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return Ok(None);
        };
        if len > self.max_frame {
            return Err(FrameError::TooLong {
                len,
                max: self.max_frame,
            });
        }
        if self.buf.len() < 2 + len {
            return Ok(None);
        }
        self.buf.advance(2);
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4571_layout() {
        // RFC 4571 §2: LENGTH is 16 bits, network order, counting the payload only.
        assert_eq!(&frame(b"abc").unwrap()[..], &[0, 3, b'a', b'b', b'c']);
        assert_eq!(&frame(b"").unwrap()[..], &[0, 0]);
        let max = vec![7; MAX_PAYLOAD];
        assert_eq!(&frame(&max).unwrap()[..2], &[0xFF, 0xFF]);
        assert_eq!(
            frame(&[0; MAX_PAYLOAD + 1]),
            Err(FrameError::TooLong {
                len: MAX_PAYLOAD + 1,
                max: MAX_PAYLOAD
            })
        );
    }

    #[test]
    fn limits_are_enforced() {
        let mut d = Deframer::with_limits(100, 0);
        d.push(&[0, 101]).unwrap();
        assert_eq!(
            d.next_frame(),
            Err(FrameError::TooLong { len: 101, max: 100 })
        );
        let mut d = Deframer::with_limits(100, 0);
        assert_eq!(d.push(&[0; 103]), Err(FrameError::Overflow(103)));
        d.push(&[0; 102]).unwrap();
        assert_eq!(d.next_frame().unwrap().unwrap().len(), 0);
        assert_eq!(d.buffered(), 100);
    }

    proptest! {
        #[test]
        fn frames_survive_any_cut(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
            cuts in prop::collection::vec(1usize..50, 1..20),
        ) {
            let mut stream = Vec::new();
            for p in &payloads {
                encode(p, &mut stream).unwrap();
            }
            let mut d = Deframer::new();
            let mut out = Vec::new();
            let mut rest = &stream[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = cuts[i % cuts.len()].min(rest.len());
                d.push(&rest[..n]).unwrap();
                rest = &rest[n..];
                i += 1;
                while let Some(f) = d.next_frame().unwrap() {
                    out.push(f.to_vec());
                }
            }
            prop_assert_eq!(out, payloads);
            prop_assert_eq!(d.buffered(), 0);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..600), max in 0usize..400) {
            let mut d = Deframer::with_limits(max, 0);
            if d.push(&b).is_ok() {
                while let Ok(Some(f)) = d.next_frame() {
                    prop_assert!(f.len() <= max);
                }
            }
        }
    }
}
