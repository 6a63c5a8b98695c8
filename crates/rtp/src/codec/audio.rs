//! Audio payload formats whose payload is the codec data itself: Opus (RFC 7587), G.711
//! PCMU/PCMA (RFC 3551 §4.5.14) and G.722 (RFC 3551 §4.5.2).
//!
//! Opus frames are never split (RFC 7587 §4.2: one Opus packet per RTP packet). G.711 and
//! G.722 bytes are independent, so a long buffer may be split at any byte: the payload that
//! follows `n` bytes gets the timestamp plus `n` (one byte per 8000 Hz clock tick for both;
//! G.722 samples at 16 kHz but RFC 3551 keeps an 8000 Hz RTP clock).

use bytes::Bytes;

use crate::codec::{Depacketizer, Packetizer};
use crate::error::{Error, ParseError, ParseErrorKind};

/// The Opus payload format (RFC 7587).
#[derive(Debug, Clone, Copy, Default)]
pub struct Opus;

impl Packetizer for Opus {
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
        if frame.is_empty() {
            return Err(Error::BadFrame("empty opus packet"));
        }
        if frame.len() > max_payload {
            return Err(Error::FrameTooLarge {
                len: frame.len(),
                mtu: max_payload,
            });
        }
        Ok(vec![Bytes::copy_from_slice(frame)])
    }
}

impl Depacketizer for Opus {
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
        // RFC 7587 §4.2: the payload is one Opus packet, at least its TOC byte.
        if payload.is_empty() {
            return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
        }
        frame.extend_from_slice(payload);
        Ok(())
    }

    fn is_frame_start(&self, _payload: &[u8]) -> bool {
        true
    }

    fn is_frame_end(&self, _payload: &[u8], _marker: bool) -> bool {
        true
    }
}

/// Which G.711 companding law a stream uses (payload type 0 or 8, RFC 3551 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711Law {
    /// PCMU, static payload type 0.
    MuLaw,
    /// PCMA, static payload type 8.
    ALaw,
}

impl G711Law {
    /// The static payload type RFC 3551 assigns.
    pub fn payload_type(self) -> u8 {
        match self {
            G711Law::MuLaw => 0,
            G711Law::ALaw => 8,
        }
    }
}

/// The G.711 payload format: one byte per sample at 8000 Hz.
#[derive(Debug, Clone, Copy)]
pub struct G711 {
    /// The companding law (informational: the bytes are carried as they are).
    pub law: G711Law,
}

/// The G.722 payload format: one byte per 8000 Hz RTP clock tick (two 16 kHz samples).
#[derive(Debug, Clone, Copy, Default)]
pub struct G722;

/// The static payload type of G.722 (RFC 3551 §6).
pub const G722_PAYLOAD_TYPE: u8 = 9;

fn split_bytes(frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
    if frame.is_empty() {
        return Err(Error::BadFrame("empty audio frame"));
    }
    if max_payload == 0 {
        return Err(Error::MtuTooSmall(max_payload));
    }
    Ok(frame
        .chunks(max_payload)
        .map(Bytes::copy_from_slice)
        .collect())
}

fn pass_through(payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError> {
    if payload.is_empty() {
        return Err(ParseError::new(ParseErrorKind::EmptyPayload, 0));
    }
    frame.extend_from_slice(payload);
    Ok(())
}

macro_rules! byte_audio {
    ($t:ty) => {
        impl Packetizer for $t {
            fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error> {
                split_bytes(frame, max_payload)
            }
        }

        impl Depacketizer for $t {
            fn depacketize(
                &mut self,
                payload: &[u8],
                frame: &mut Vec<u8>,
            ) -> Result<(), ParseError> {
                pass_through(payload, frame)
            }

            fn is_frame_start(&self, _payload: &[u8]) -> bool {
                true
            }

            fn is_frame_end(&self, _payload: &[u8], _marker: bool) -> bool {
                true
            }
        }
    };
}

byte_audio!(G711);
byte_audio!(G722);

/// The RTP timestamp increment of `payload_len` bytes of G.711 or G.722 (one tick per byte).
pub fn byte_audio_ticks(payload_len: usize) -> u32 {
    // Payloads are bounded by the MTU, far below u32::MAX.
    u32::try_from(payload_len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_is_one_packet_per_frame() {
        let mut o = Opus;
        let frame = vec![0xfc, 1, 2, 3];
        let p = o.packetize(&frame, 1200).unwrap();
        assert_eq!(p, vec![Bytes::from(frame.clone())]);
        let mut out = Vec::new();
        o.depacketize(&p[0], &mut out).unwrap();
        assert_eq!(out, frame);
        assert_eq!(
            o.packetize(&[0; 1300], 1200),
            Err(Error::FrameTooLarge {
                len: 1300,
                mtu: 1200
            })
        );
        assert_eq!(
            o.depacketize(&[], &mut out).unwrap_err().kind,
            ParseErrorKind::EmptyPayload
        );
    }

    #[test]
    fn g711_splits_at_bytes_and_reassembles_with_loss() {
        let mut g = G711 {
            law: G711Law::MuLaw,
        };
        // 60 ms of 8 kHz audio in 20 ms payloads.
        let frame: Vec<u8> = (0..480u32).map(|i| i as u8).collect();
        let p = g.packetize(&frame, 160).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(byte_audio_ticks(p[0].len()), 160);
        // The middle packet is lost: the other two still decode on their own.
        let mut out = Vec::new();
        g.depacketize(&p[2], &mut out).unwrap();
        assert_eq!(out, &frame[320..]);
        assert_eq!(G711Law::ALaw.payload_type(), 8);
    }

    #[test]
    fn g722_round_trip() {
        let mut g = G722;
        let frame = vec![0x55u8; 500];
        let p = g.packetize(&frame, 160).unwrap();
        assert_eq!(
            p.iter().map(Bytes::len).collect::<Vec<_>>(),
            [160, 160, 160, 20]
        );
        let mut out = Vec::new();
        for x in &p {
            g.depacketize(x, &mut out).unwrap();
        }
        assert_eq!(out, frame);
        assert_eq!(g.packetize(&frame, 0), Err(Error::MtuTooSmall(0)));
    }
}
