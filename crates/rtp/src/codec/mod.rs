//! RTP payload formats: packetizers that split a codec frame into payloads of a bounded size,
//! and depacketizers that turn payloads back into the codec's bitstream.
//!
//! A [`Packetizer`] produces payloads only; a [`Sequencer`] puts them in RTP packets with
//! consecutive sequence numbers, one timestamp and the marker on the last. A [`Depacketizer`]
//! is fed the payloads of one frame in sequence order; it also tells the
//! [`SampleBuilder`](crate::sample_builder::SampleBuilder) where frames start and end.

pub mod audio;
pub mod av1;
pub mod h264;
pub mod h265;
pub mod telephone_event;
pub mod vp8;
pub mod vp9;

use bytes::Bytes;

use crate::error::{Error, ParseError};
use crate::packet::{Header, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp};

/// Splits codec frames into RTP payloads.
pub trait Packetizer {
    /// Splits one frame into payloads of at most `max_payload` bytes each, in send order.
    fn packetize(&mut self, frame: &[u8], max_payload: usize) -> Result<Vec<Bytes>, Error>;
}

/// Turns RTP payloads back into the codec's bitstream.
pub trait Depacketizer {
    /// Appends what `payload` carries to `frame`. Payloads of one frame must come in sequence
    /// order; fragments are held between calls.
    fn depacketize(&mut self, payload: &[u8], frame: &mut Vec<u8>) -> Result<(), ParseError>;

    /// Whether `payload` can begin a frame (a partition head in the payload format's terms).
    fn is_frame_start(&self, payload: &[u8]) -> bool;

    /// Whether a packet ends a frame. Video formats end frames with the RTP marker bit.
    fn is_frame_end(&self, _payload: &[u8], marker: bool) -> bool {
        marker
    }

    /// Forgets any fragment held from earlier payloads (after a loss).
    fn reset(&mut self) {}
}

/// Wraps payloads in RTP packets: consecutive sequence numbers, one SSRC and payload type.
#[derive(Debug, Clone)]
pub struct Sequencer {
    ssrc: Ssrc,
    payload_type: PayloadType,
    next: SeqNum,
}

impl Sequencer {
    /// Starts at `first` (which RFC 3550 §5.1 says should be random).
    pub fn new(ssrc: Ssrc, payload_type: PayloadType, first: SeqNum) -> Self {
        Sequencer {
            ssrc,
            payload_type,
            next: first,
        }
    }

    /// The sequence number of the next packet.
    pub fn next_sequence(&self) -> SeqNum {
        self.next
    }

    /// One packet per payload, all with `timestamp`; the last one gets the marker when
    /// `marker` is set (video: end of frame; audio: start of a talkspurt).
    pub fn packets(
        &mut self,
        payloads: Vec<Bytes>,
        timestamp: Timestamp,
        marker: bool,
    ) -> Vec<PacketBuf> {
        let n = payloads.len();
        payloads
            .into_iter()
            .enumerate()
            .map(|(i, payload)| {
                let mut h = Header::new(self.payload_type, self.next, timestamp, self.ssrc);
                h.marker = marker && i + 1 == n;
                self.next = self.next.next();
                PacketBuf::new(h, payload)
            })
            .collect()
    }
}

/// Splits an Annex B byte stream (ITU-T H.264 / H.265 Annex B) into NAL units: the bytes
/// between `00 00 01` or `00 00 00 01` start codes. Trailing zero bytes before a start code
/// belong to the start code. Empty units are skipped.
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    // Find each 0x01 (a fast byte search), then check the two zeros before it.
    while let Some(off) = stream[i..].iter().position(|&b| b == 1) {
        let p = i + off;
        i = p + 1;
        if p < 2 || stream[p - 1] != 0 || stream[p - 2] != 0 {
            continue;
        }
        if let Some(s) = start {
            // Zeros before the start code belong to it (a four-byte code, trailing zeros).
            let mut end = p - 2;
            while end > s && stream[end - 1] == 0 {
                end -= 1;
            }
            if end > s {
                out.push(&stream[s..end]);
            }
        }
        start = Some(p + 1);
    }
    match start {
        Some(s) if s < stream.len() => out.push(&stream[s..]),
        Some(_) => {}
        // No start code at all: the whole input is one unit.
        None if !stream.is_empty() => out.push(stream),
        None => {}
    }
    out
}

/// The four-byte Annex B start code depacketizers write before each NAL unit.
pub const START_CODE: [u8; 4] = [0, 0, 0, 1];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_split_handles_both_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let units = split_annex_b(&s);
        assert_eq!(units, vec![&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
        assert_eq!(split_annex_b(&[0x65, 1]), vec![&[0x65, 1][..]]);
        assert!(split_annex_b(&[0, 0, 1]).is_empty());
        assert!(split_annex_b(&[]).is_empty());
    }

    #[test]
    fn sequencer_numbers_and_marks() {
        let mut s = Sequencer::new(Ssrc(5), PayloadType::new(96).unwrap(), SeqNum::from(65535));
        let p = s.packets(
            vec![Bytes::from_static(b"a"), Bytes::from_static(b"b")],
            Timestamp::from(3000),
            true,
        );
        assert_eq!(p[0].header.sequence.0, 65535);
        assert_eq!(p[1].header.sequence.0, 0);
        assert!(!p[0].header.marker && p[1].header.marker);
        assert_eq!(s.next_sequence().0, 1);
    }
}
