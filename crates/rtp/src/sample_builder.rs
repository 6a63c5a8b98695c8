//! Reassembly of codec frames from RTP packets that arrive out of order, with bounded memory
//! and an explicit policy for loss.
//!
//! The builder is sans-IO: [`SampleBuilder::handle_packet`] takes packets, and
//! [`SampleBuilder::poll_frame`] returns frames in sequence order until `None`. It keeps at
//! most `max_packets` consecutive sequence numbers; a packet further ahead forces the oldest
//! frame out (complete, partial or dropped, per the policy). A frame is the run of packets
//! from one the depacketizer calls a frame start to one it calls a frame end (the marker bit
//! for video), all with one timestamp and no gap in sequence numbers.
//!
//! The first packet to arrive need not be the first sent, so before any frame has left the
//! builder treats the start like a gap before the head and waits as the policy says.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::codec::Depacketizer;
use crate::packet::{Packet, PacketBuf, SeqNum, Timestamp};

/// What the builder does when a packet of a frame is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossPolicy {
    /// Lowest latency: give up on a missing packet as soon as a packet starting a later
    /// frame has arrived, and drop the frame that lacks it.
    Drop,
    /// Wait for the missing packet until `packets` newer sequence numbers have arrived (or the
    /// buffer is full), then drop the frame that lacks it.
    Wait {
        /// How far past the gap the newest packet may be before the gap counts as loss.
        packets: u16,
    },
    /// Wait like [`LossPolicy::Wait`], then emit what arrived of the frame with
    /// [`Frame::partial`] set (for decoders that conceal errors).
    EmitPartial {
        /// How far past the gap the newest packet may be before the gap counts as loss.
        packets: u16,
    },
}

/// A reassembled frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The RTP timestamp shared by the frame's packets.
    pub timestamp: Timestamp,
    /// The codec bitstream the depacketizer produced.
    pub data: Vec<u8>,
    /// The sequence number of the frame's first packet.
    pub first_sequence: SeqNum,
    /// The sequence number of the frame's last packet.
    pub last_sequence: SeqNum,
    /// Packets of this frame were missing ([`LossPolicy::EmitPartial`] only).
    pub partial: bool,
    /// Packets were lost or frames dropped since the previous frame returned: a video decoder
    /// may need a key frame.
    pub after_loss: bool,
}

/// What the builder has counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Frames returned whole.
    pub frames: u64,
    /// Frames returned with [`Frame::partial`].
    pub partial_frames: u64,
    /// Frames dropped (incomplete, undecodable, too large, or not read in time).
    pub dropped_frames: u64,
    /// Sequence numbers given up as lost.
    pub lost_packets: u64,
    /// Packets that arrived after their place was already passed, twice, or after their
    /// frame was given up.
    pub late_packets: u64,
    /// Packets the depacketizer rejected.
    pub depacketize_errors: u64,
}

#[derive(Debug, Clone)]
struct Stored {
    timestamp: Timestamp,
    marker: bool,
    payload: Bytes,
}

/// Reassembles frames for one RTP stream (one SSRC) with the codec's [`Depacketizer`].
#[derive(Debug)]
pub struct SampleBuilder<D> {
    depacketizer: D,
    policy: LossPolicy,
    max_packets: usize,
    max_frame_bytes: usize,
    head: Option<SeqNum>,
    slots: VecDeque<Option<Stored>>,
    ready: VecDeque<Frame>,
    loss_pending: bool,
    popped: bool,
    abandoned: Option<Timestamp>,
    stats: Stats,
}

/// The default limit on the bytes of one frame.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 8 << 20;

enum Step {
    /// Nothing can be done until more packets arrive.
    Wait,
    /// Progress was made (a frame queued, packets dropped).
    Progress,
}

impl<D: Depacketizer> SampleBuilder<D> {
    /// A builder holding at most `max_packets` sequence numbers (at least 1).
    pub fn new(depacketizer: D, max_packets: u16, policy: LossPolicy) -> Self {
        let max_packets = usize::from(max_packets.max(1));
        SampleBuilder {
            depacketizer,
            policy,
            max_packets,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            head: None,
            slots: VecDeque::with_capacity(max_packets),
            ready: VecDeque::new(),
            loss_pending: false,
            popped: false,
            abandoned: None,
            stats: Stats::default(),
        }
    }

    /// Sets the limit on the bytes of one frame; larger frames are dropped.
    pub fn with_max_frame_bytes(mut self, max: usize) -> Self {
        self.max_frame_bytes = max;
        self
    }

    /// What has been counted so far.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The depacketizer (for codec state such as the last VP8 descriptor).
    pub fn depacketizer(&self) -> &D {
        &self.depacketizer
    }

    /// Takes a packet, copying its payload.
    pub fn handle_packet(&mut self, packet: &Packet<'_>) {
        self.insert(
            packet.sequence,
            Stored {
                timestamp: packet.timestamp,
                marker: packet.marker,
                payload: Bytes::copy_from_slice(packet.payload),
            },
        );
    }

    /// Takes an owned packet without copying its payload.
    pub fn handle_packet_buf(&mut self, packet: PacketBuf) {
        self.insert(
            packet.header.sequence,
            Stored {
                timestamp: packet.header.timestamp,
                marker: packet.header.marker,
                payload: packet.payload,
            },
        );
    }

    /// The next frame, in sequence order. Drain until `None` after each packet.
    pub fn poll_frame(&mut self) -> Option<Frame> {
        if let Some(f) = self.ready.pop_front() {
            return Some(f);
        }
        while let Step::Progress = self.step(false) {
            if let Some(f) = self.ready.pop_front() {
                return Some(f);
            }
        }
        None
    }

    /// Ends the stream: treats every gap as lost and returns what the policy allows of the
    /// remaining packets, then empties the builder.
    pub fn flush(&mut self) -> Vec<Frame> {
        while !self.slots.is_empty() {
            self.step(true);
        }
        self.head = None;
        self.ready.drain(..).collect()
    }

    fn insert(&mut self, seq: SeqNum, p: Stored) {
        let head = *self.head.get_or_insert(seq);
        let d = seq.diff(head);
        if d < 0 {
            // Before anything left the buffer, an earlier packet moves the head back (the
            // first packet to arrive need not be the first sent).
            let back = d.unsigned_abs() as usize;
            if self.popped || self.slots.len() + back > self.max_packets {
                self.stats.late_packets += 1;
                return;
            }
            for _ in 0..back {
                self.slots.push_front(None);
            }
            self.head = Some(seq);
            self.slots[0] = Some(p);
            return;
        }
        let mut d = d as usize;
        while d >= self.max_packets {
            // The buffer is full: force the oldest frame out.
            self.step(true);
            if self.slots.is_empty() {
                // Everything was behind; restart at this packet.
                self.head = Some(seq);
                d = 0;
            } else {
                // step(true) always removes at least one slot and moves head with it.
                d = seq.diff(self.head.unwrap_or(seq)).max(0) as usize;
            }
        }
        while self.slots.len() <= d {
            self.slots.push_back(None);
        }
        match &mut self.slots[d] {
            Some(_) => self.stats.late_packets += 1,
            slot @ None => *slot = Some(p),
        }
    }

    fn pop_front(&mut self) -> Option<Stored> {
        let s = self.slots.pop_front()?;
        self.popped = true;
        if let Some(h) = &mut self.head {
            *h = h.next();
        }
        s
    }

    /// Whether a gap at index `gap` counts as loss now.
    fn gap_expired(&self, gap: usize, ts: Option<Timestamp>, force: bool) -> bool {
        if force {
            return true;
        }
        let newest = self.slots.len() - 1;
        match self.policy {
            LossPolicy::Drop => {
                self.slots.iter().skip(gap).flatten().any(|p| {
                    Some(p.timestamp) != ts && self.depacketizer.is_frame_start(&p.payload)
                })
            }
            LossPolicy::Wait { packets } | LossPolicy::EmitPartial { packets } => {
                newest - gap >= usize::from(packets)
            }
        }
    }

    /// One step of reassembly at the head of the buffer.
    fn step(&mut self, force: bool) -> Step {
        let Some(first) = self.slots.front() else {
            return Step::Wait;
        };
        let Some(first) = first else {
            // A gap at the head.
            if !self.gap_expired(0, None, force) {
                return Step::Wait;
            }
            while let Some(None) = self.slots.front() {
                self.pop_front();
                self.stats.lost_packets += 1;
            }
            self.loss_pending = true;
            self.depacketizer.reset();
            return Step::Progress;
        };
        let ts = first.timestamp;
        let starts = self.depacketizer.is_frame_start(&first.payload);
        if !starts && self.abandoned == Some(ts) {
            // A late packet of a frame already given up (dropped or returned partial).
            self.pop_front();
            self.stats.late_packets += 1;
            return Step::Progress;
        }
        if !self.popped && !self.gap_expired(0, Some(ts), force) {
            // Nothing has left the buffer yet, so packets sent before the first one to arrive
            // may still come: wait for them as for a gap before the head.
            return Step::Wait;
        }
        // Scan the run of packets with this timestamp.
        let mut end = None;
        let mut gap = None;
        for (i, s) in self.slots.iter().enumerate() {
            match s {
                None => {
                    gap = Some(i);
                    break;
                }
                Some(p) if p.timestamp != ts => {
                    // The timestamp changed without a marker: the frame ended before.
                    end = Some(i - 1);
                    break;
                }
                Some(p) => {
                    if self.depacketizer.is_frame_end(&p.payload, p.marker) {
                        end = Some(i);
                        break;
                    }
                }
            }
        }
        if let (Some(end), true) = (end, starts) {
            self.emit_complete(end);
            return Step::Progress;
        }
        if end.is_none() {
            match gap {
                Some(g) if self.gap_expired(g, Some(ts), force) => {}
                // The frame is still arriving, or its gap may yet be filled.
                _ if !force => return Step::Wait,
                _ => {}
            }
        }
        // The frame at the head is incomplete for good: it lacks its start, a middle packet
        // or its end. Take its packets (up to the next packet of another timestamp).
        let mut taken = Vec::new();
        let mut first_seq = None;
        let mut last_seq = None;
        while let Some(front) = self.slots.front() {
            match front {
                Some(p) if p.timestamp != ts => break,
                _ => {}
            }
            let seq = self.head;
            match self.pop_front() {
                Some(p) => {
                    first_seq = first_seq.or(seq);
                    last_seq = seq;
                    taken.push(Some(p));
                }
                None => {
                    self.stats.lost_packets += 1;
                    taken.push(None);
                }
            }
        }
        self.depacketizer.reset();
        self.abandoned = Some(ts);
        let emit = matches!(self.policy, LossPolicy::EmitPartial { .. });
        if emit && let (Some(first_sequence), Some(last_sequence)) = (first_seq, last_seq) {
            let mut data = Vec::new();
            for p in &taken {
                match p {
                    Some(p) => {
                        if data.len() + p.payload.len() > self.max_frame_bytes {
                            break;
                        }
                        if self
                            .depacketizer
                            .depacketize(&p.payload, &mut data)
                            .is_err()
                        {
                            self.stats.depacketize_errors += 1;
                        }
                    }
                    None => self.depacketizer.reset(),
                }
            }
            self.depacketizer.reset();
            if !data.is_empty() {
                self.stats.partial_frames += 1;
                let after_loss = std::mem::take(&mut self.loss_pending);
                self.queue(Frame {
                    timestamp: ts,
                    data,
                    first_sequence,
                    last_sequence,
                    partial: true,
                    after_loss,
                });
                return Step::Progress;
            }
        }
        self.stats.dropped_frames += 1;
        self.loss_pending = true;
        Step::Progress
    }

    /// Depacketizes the complete frame in slots `0..=end` and queues it.
    fn emit_complete(&mut self, end: usize) {
        let first_sequence = self.head.unwrap_or_default();
        let last_sequence = first_sequence + end as u16;
        let mut data = Vec::new();
        let mut ok = true;
        let mut ts = Timestamp::default();
        self.depacketizer.reset();
        for _ in 0..=end {
            // Slots 0..=end were checked present by step().
            let Some(p) = self.pop_front() else {
                ok = false;
                continue;
            };
            ts = p.timestamp;
            if !ok {
                continue;
            }
            if data.len() + p.payload.len() > self.max_frame_bytes {
                ok = false;
                continue;
            }
            if self
                .depacketizer
                .depacketize(&p.payload, &mut data)
                .is_err()
            {
                self.stats.depacketize_errors += 1;
                ok = false;
            }
        }
        self.depacketizer.reset();
        if !ok {
            self.stats.dropped_frames += 1;
            self.loss_pending = true;
            return;
        }
        self.stats.frames += 1;
        let after_loss = std::mem::take(&mut self.loss_pending);
        self.queue(Frame {
            timestamp: ts,
            data,
            first_sequence,
            last_sequence,
            partial: false,
            after_loss,
        });
    }

    fn queue(&mut self, f: Frame) {
        // Frames not read are bounded like packets: the oldest goes first.
        if self.ready.len() >= self.max_packets {
            self.ready.pop_front();
            self.stats.dropped_frames += 1;
            self.loss_pending = true;
        }
        self.ready.push_back(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::audio::Opus;
    use crate::codec::h264::{H264Depacketizer, H264Packetizer, PacketizationMode};
    use crate::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
    use crate::codec::{Packetizer, START_CODE, Sequencer};
    use crate::packet::{PayloadType, Ssrc};

    fn vp8_frames(n: usize, size: usize) -> (Vec<Vec<u8>>, Vec<PacketBuf>) {
        let mut pk = Vp8Packetizer::with_picture_id(0);
        let mut sq = Sequencer::new(Ssrc(1), PayloadType::new(96).unwrap(), SeqNum::from(65530));
        let mut frames = Vec::new();
        let mut packets = Vec::new();
        for i in 0..n {
            let f: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
            let payloads = pk.packetize(&f, 300).unwrap();
            packets.extend(sq.packets(payloads, Timestamp::from(i as u32 * 3000), true));
            frames.push(f);
        }
        (frames, packets)
    }

    fn drain<D: Depacketizer>(b: &mut SampleBuilder<D>) -> Vec<Frame> {
        std::iter::from_fn(|| b.poll_frame()).collect()
    }

    #[test]
    fn in_order_frames_across_a_sequence_wrap() {
        let (frames, packets) = vp8_frames(5, 1000);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Drop);
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(
            out.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            frames
        );
        assert!(out.iter().all(|f| !f.partial && !f.after_loss));
        assert_eq!(out[1].timestamp.0, 3000);
        assert_eq!(b.stats().frames, 5);
    }

    #[test]
    fn reordered_packets_are_put_back_in_order() {
        let (frames, mut packets) = vp8_frames(4, 1000);
        // Reverse each frame's packets and swap two frames' packets.
        packets.swap(0, 3);
        packets.swap(5, 6);
        packets.swap(8, 12);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Wait { packets: 8 });
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(
            out.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            frames
        );
    }

    #[test]
    fn drop_policy_skips_the_frame_with_a_loss() {
        let (frames, mut packets) = vp8_frames(3, 1000);
        // Each frame is 4 packets; lose the second packet of frame 1.
        packets.remove(5);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Drop);
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, frames[0]);
        assert_eq!(out[1].data, frames[2]);
        assert!(out[1].after_loss);
        assert_eq!(b.stats().dropped_frames, 1);
        assert_eq!(b.stats().lost_packets, 1);
    }

    #[test]
    fn wait_policy_recovers_a_late_packet_within_its_window() {
        let (frames, mut packets) = vp8_frames(3, 1000);
        let late = packets.remove(5);
        packets.insert(9, late);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Wait { packets: 5 });
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(
            out.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            frames
        );
        // With Drop, the same late packet arrives too late.
        let (_, mut packets) = vp8_frames(3, 1000);
        let late = packets.remove(5);
        packets.insert(9, late);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Drop);
        for p in packets {
            b.handle_packet_buf(p);
            drain(&mut b);
        }
        assert_eq!(b.stats().late_packets, 1);
        assert_eq!(b.stats().frames, 2);
    }

    #[test]
    fn emit_partial_returns_what_arrived() {
        let (frames, mut packets) = vp8_frames(3, 1000);
        packets.remove(6);
        let mut b = SampleBuilder::new(
            Vp8Depacketizer::new(),
            64,
            LossPolicy::EmitPartial { packets: 2 },
        );
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(out.len(), 3);
        assert!(out[1].partial);
        // Frame 1 is 4 packets of 300, 300, 300, 100 bytes of VP8 data (with descriptors);
        // the third (index 6 overall) is missing.
        let mut expect = frames[1][..2 * 296].to_vec();
        expect.extend_from_slice(&frames[1][3 * 296..]);
        assert_eq!(out[1].data, expect);
        assert_eq!(out[2].data, frames[2]);
        assert_eq!(b.stats().partial_frames, 1);
    }

    #[test]
    fn memory_is_bounded_and_a_stuck_gap_is_forced_out() {
        let (frames, mut packets) = vp8_frames(10, 1000);
        packets.remove(1);
        // Wait forever on the gap, but hold only 8 packets.
        let mut b = SampleBuilder::new(
            Vp8Depacketizer::new(),
            8,
            LossPolicy::Wait { packets: u16::MAX },
        );
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            assert!(b.slots.len() <= 8);
            out.extend(drain(&mut b));
        }
        out.extend(b.flush());
        assert_eq!(out.len(), 9);
        assert_eq!(out[0].data, frames[1]);
        assert!(out[0].after_loss);
        assert_eq!(out[8].data, frames[9]);
    }

    #[test]
    fn packets_sent_before_the_first_arrival_are_waited_for() {
        let (frames, mut packets) = vp8_frames(3, 100);
        packets.swap(0, 1);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Wait { packets: 2 });
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        out.extend(b.flush());
        assert_eq!(
            out.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            frames
        );
    }

    #[test]
    fn a_stream_joined_mid_frame_starts_at_the_next_frame() {
        let (frames, packets) = vp8_frames(2, 1000);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Drop);
        let mut out = Vec::new();
        for p in packets.into_iter().skip(2) {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, frames[1]);
    }

    #[test]
    fn h264_fu_a_frames_with_loss() {
        let mut pk = H264Packetizer::new(PacketizationMode::NonInterleaved);
        let mut sq = Sequencer::new(Ssrc(1), PayloadType::new(102).unwrap(), SeqNum::from(0));
        let mut packets = Vec::new();
        let mut frames = Vec::new();
        for i in 0..3u8 {
            let mut au = START_CODE.to_vec();
            au.push(0x65);
            au.extend((0..2500u32).map(|j| (j as u8) ^ i));
            packets.extend(sq.packets(
                pk.packetize(&au, 1000).unwrap(),
                Timestamp::from(u32::from(i) * 3000),
                true,
            ));
            frames.push(au);
        }
        // Lose the FU-A start of frame 1 (packet 3).
        packets.remove(3);
        let mut b = SampleBuilder::new(H264Depacketizer::new(), 32, LossPolicy::Drop);
        let mut out = Vec::new();
        for p in packets {
            b.handle_packet_buf(p);
            out.extend(drain(&mut b));
        }
        assert_eq!(
            out.iter().map(|f| f.data.clone()).collect::<Vec<_>>(),
            [frames[0].clone(), frames[2].clone()]
        );
    }

    #[test]
    fn audio_packets_are_frames_of_their_own() {
        let mut b = SampleBuilder::new(Opus, 16, LossPolicy::Wait { packets: 2 });
        let mut sq = Sequencer::new(Ssrc(1), PayloadType::new(111).unwrap(), SeqNum::from(10));
        let mut p: Vec<PacketBuf> = (0..5u8)
            .flat_map(|i| {
                sq.packets(
                    vec![Bytes::from(vec![i; 3])],
                    Timestamp::from(u32::from(i) * 960),
                    false,
                )
            })
            .collect();
        p.remove(1);
        let mut out = Vec::new();
        for x in p {
            b.handle_packet_buf(x);
            out.extend(drain(&mut b));
        }
        assert_eq!(
            out.iter().map(|f| f.data[0]).collect::<Vec<_>>(),
            [0, 2, 3, 4]
        );
        assert!(out[1].after_loss);
    }

    #[test]
    fn duplicates_and_old_packets_are_counted() {
        let (_, packets) = vp8_frames(2, 100);
        let mut b = SampleBuilder::new(Vp8Depacketizer::new(), 64, LossPolicy::Drop);
        b.handle_packet_buf(packets[0].clone());
        b.handle_packet_buf(packets[0].clone());
        b.handle_packet_buf(packets[1].clone());
        assert_eq!(drain(&mut b).len(), 2);
        b.handle_packet_buf(packets[0].clone());
        assert_eq!(b.stats().late_packets, 2);
    }
}
