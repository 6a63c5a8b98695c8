//! Shared by the `rtp_depacketize_*` fuzz targets (kept outside `fuzz_targets/`, which holds
//! one file per target). The input is a script of packets for one stream:
//! `[len][flags][len bytes of payload]...`, where flags bit 0 is the marker, bit 1 advances
//! the timestamp and bits 2..8 are a signed sequence number step (reordering, loss,
//! duplicates). Each payload goes to a depacketizer directly and, as an RTP packet, to a
//! sample builder with every loss policy.

use bytes::Bytes;
use weft_rtp::codec::Depacketizer;
use weft_rtp::sample_builder::{LossPolicy, SampleBuilder};
use weft_rtp::{Header, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp};

pub struct Step<'a> {
    pub payload: &'a [u8],
    pub marker: bool,
    pub new_timestamp: bool,
    pub seq_step: i16,
}

pub fn steps(mut data: &[u8]) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    while let [len, flags, rest @ ..] = data {
        let n = usize::from(*len).min(rest.len());
        out.push(Step {
            payload: &rest[..n],
            marker: flags & 1 != 0,
            new_timestamp: flags & 2 != 0,
            seq_step: i16::from((*flags >> 2) as i8 - 16),
        });
        data = &rest[n..];
    }
    out
}

/// Feeds the script to `make()` directly and through sample builders; nothing may panic and
/// frames must stay within the builder's limits.
pub fn run<D: Depacketizer>(data: &[u8], make: impl Fn() -> D) {
    let steps = steps(data);
    let mut d = make();
    let mut out = Vec::new();
    for s in &steps {
        if d.depacketize(s.payload, &mut out).is_err() {
            d.reset();
        }
        let _ = d.is_frame_start(s.payload);
        let _ = d.is_frame_end(s.payload, s.marker);
    }
    for policy in [
        LossPolicy::Drop,
        LossPolicy::Wait { packets: 4 },
        LossPolicy::EmitPartial { packets: 2 },
    ] {
        let mut b = SampleBuilder::new(make(), 16, policy).with_max_frame_bytes(1 << 16);
        let mut seq = SeqNum::from(65_500);
        let mut ts = Timestamp::from(0);
        let mut frames = 0usize;
        for s in &steps {
            seq = SeqNum::from(seq.0.wrapping_add_signed(s.seq_step));
            if s.new_timestamp {
                ts = ts + 3000;
            }
            let mut h = Header::new(PayloadType::new(96).unwrap(), seq, ts, Ssrc(1));
            h.marker = s.marker;
            b.handle_packet_buf(PacketBuf::new(h, Bytes::copy_from_slice(s.payload)));
            while let Some(f) = b.poll_frame() {
                assert!(f.data.len() <= (1 << 16) + 4096, "frame above the limit");
                frames += 1;
            }
        }
        frames += b.flush().len();
        assert!(frames <= steps.len(), "more frames than packets");
    }
}
