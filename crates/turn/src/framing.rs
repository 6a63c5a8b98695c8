//! Framing of STUN messages and ChannelData on a byte stream (TCP, TLS: RFC 8656 §3.1, §12.5).

use bytes::{Bytes, BytesMut};

use crate::channel_data::ChannelData;

/// Why a stream cannot be framed (the connection should be closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The next byte starts neither a STUN message (0x00-0x3F) nor ChannelData (0x40-0x7F).
    #[error("stream byte {0:#04x} starts neither STUN nor ChannelData")]
    NotTurn(u8),
    /// More bytes are buffered than any frame can be.
    #[error("stream buffer over its limit")]
    Overflow,
}

/// Cuts a TURN byte stream into whole frames: STUN messages by their length field, ChannelData
/// by its length padded to 4 bytes. Bounded: at most one maximal frame is buffered.
#[derive(Debug, Default)]
pub struct StreamFramer {
    buf: BytesMut,
}

/// Largest frame: a 16-bit length plus the 20-byte STUN header, rounded up.
const MAX_FRAME: usize = 65_535 + 20 + 4;

impl StreamFramer {
    /// An empty framer.
    pub fn new() -> Self {
        StreamFramer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) -> Result<(), FrameError> {
        if self.buf.len() + data.len() > 2 * MAX_FRAME {
            return Err(FrameError::Overflow);
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// The next whole frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Bytes>, FrameError> {
        let need = match self.buf.first() {
            None => return Ok(None),
            Some(0x00..=0x3F) => weft_stun::frame_len(&self.buf),
            Some(0x40..=0x7F) => ChannelData::frame_len(&self.buf),
            Some(&b) => return Err(FrameError::NotTurn(b)),
        };
        match need {
            Some(n) if self.buf.len() >= n => Ok(Some(self.buf.split_to(n).freeze())),
            _ => Ok(None),
        }
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_stun_and_padded_channel_data_across_reads() {
        let mut stun = vec![0u8, 1, 0, 4, 0x21, 0x12, 0xa4, 0x42];
        stun.extend_from_slice(&[7; 12]);
        stun.extend_from_slice(&[0x80, 0x22, 0, 0]);
        let cd = [0x40u8, 0x01, 0, 3, b'a', b'b', b'c', 0];
        let stream: Vec<u8> = [stun.clone(), cd.to_vec(), stun.clone()].concat();
        let mut f = StreamFramer::new();
        let mut got = Vec::new();
        for piece in stream.chunks(5) {
            f.push(piece).unwrap();
            while let Some(frame) = f.next_frame().unwrap() {
                got.push(frame);
            }
        }
        assert_eq!(
            got,
            vec![
                Bytes::from(stun.clone()),
                Bytes::copy_from_slice(&cd),
                Bytes::from(stun)
            ]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn garbage_is_an_error_and_memory_is_bounded() {
        let mut f = StreamFramer::new();
        f.push(&[0xC0, 1, 2, 3]).unwrap();
        assert_eq!(f.next_frame(), Err(FrameError::NotTurn(0xC0)));
        let mut g = StreamFramer::new();
        assert_eq!(g.push(&vec![0u8; 3 * MAX_FRAME]), Err(FrameError::Overflow));
    }
}
