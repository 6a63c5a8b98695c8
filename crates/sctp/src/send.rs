//! The outgoing side before TSNs: per-stream message queues, the stream scheduler and
//! fragmentation.
//!
//! Messages wait here, whole, until the association asks for the next fragment. Fragmenting late
//! keeps a 16 MiB message from taking 14 000 queue entries and lets I-DATA interleave streams
//! fragment by fragment. The scheduler is deficit round robin weighted by each stream's
//! priority (RFC 8831 §6.4 asks for weighted fair queuing between channels).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;

use crate::SendOptions;
use crate::wire::{Ppid, StreamId};

/// One fragment taken from a stream, ready to get a TSN.
#[derive(Debug, Clone)]
pub(crate) struct Fragment {
    pub(crate) stream: StreamId,
    /// Association-wide message serial number, to abandon all fragments of a message.
    pub(crate) msg: u64,
    /// SSN (DATA) or MID (I-DATA).
    pub(crate) seq: u32,
    pub(crate) fsn: u32,
    pub(crate) ppid: Ppid,
    pub(crate) unordered: bool,
    pub(crate) begin: bool,
    pub(crate) end: bool,
    pub(crate) payload: Bytes,
    pub(crate) expires: Option<Instant>,
    pub(crate) max_rtx: Option<u16>,
}

#[derive(Debug)]
struct OutMsg {
    id: u64,
    ppid: Ppid,
    data: Bytes,
    offset: usize,
    unordered: bool,
    expires: Option<Instant>,
    max_rtx: Option<u16>,
    seq: u32,
    fsn: u32,
}

/// Where a stream is in an outgoing reset (RFC 6525).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResetState {
    None,
    /// Asked for; waits for the queue to drain and for no other request in flight.
    Pending,
    /// In a request the peer has not answered yet.
    InFlight,
}

#[derive(Debug)]
struct OutStream {
    queue: VecDeque<OutMsg>,
    next_ssn: u16,
    next_mid: [u32; 2],
    buffered: usize,
    low_threshold: usize,
    priority: u16,
    deficit: i64,
    active: bool,
    reset: ResetState,
}

impl OutStream {
    fn new() -> Self {
        OutStream {
            queue: VecDeque::new(),
            next_ssn: 0,
            next_mid: [0, 0],
            buffered: 0,
            low_threshold: 0,
            priority: DEFAULT_PRIORITY,
            deficit: 0,
            active: false,
            reset: ResetState::None,
        }
    }
}

/// Bytes of deficit a stream earns per priority unit and round.
const QUANTUM_PER_PRIORITY: i64 = 4;
/// The DCEP "low" priority (RFC 8832 §5.1 uses 256), the W3C default.
pub(crate) const DEFAULT_PRIORITY: u16 = 256;

#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    streams: HashMap<u16, OutStream>,
    active: VecDeque<u16>,
    /// With DATA (no interleaving) a started message holds the scheduler until its end.
    current: Option<u16>,
    total: usize,
    next_msg: u64,
    low: Vec<StreamId>,
    pub(crate) expired_unsent: u64,
}

impl SendQueue {
    pub(crate) fn total_buffered(&self) -> usize {
        self.total
    }

    pub(crate) fn buffered(&self, stream: StreamId) -> usize {
        self.streams.get(&stream.0).map_or(0, |s| s.buffered)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0 && self.active.is_empty()
    }

    pub(crate) fn set_low_threshold(&mut self, stream: StreamId, bytes: usize) {
        self.streams
            .entry(stream.0)
            .or_insert_with(OutStream::new)
            .low_threshold = bytes;
    }

    pub(crate) fn low_threshold(&self, stream: StreamId) -> usize {
        self.streams.get(&stream.0).map_or(0, |s| s.low_threshold)
    }

    pub(crate) fn set_priority(&mut self, stream: StreamId, priority: u16) {
        self.streams
            .entry(stream.0)
            .or_insert_with(OutStream::new)
            .priority = priority.max(1);
    }

    pub(crate) fn reset_state(&self, stream: StreamId) -> ResetState {
        self.streams
            .get(&stream.0)
            .map_or(ResetState::None, |s| s.reset)
    }

    pub(crate) fn take_low_events(&mut self) -> Vec<StreamId> {
        std::mem::take(&mut self.low)
    }

    pub(crate) fn push(
        &mut self,
        stream: StreamId,
        ppid: Ppid,
        data: Bytes,
        opts: &SendOptions,
        now: Instant,
    ) {
        let id = self.next_msg;
        self.next_msg += 1;
        let len = data.len();
        let s = self.streams.entry(stream.0).or_insert_with(OutStream::new);
        s.queue.push_back(OutMsg {
            id,
            ppid,
            data,
            offset: 0,
            unordered: opts.unordered,
            expires: opts.lifetime.map(|l| now + l),
            max_rtx: opts.max_retransmits,
            seq: 0,
            fsn: 0,
        });
        s.buffered += len;
        self.total += len;
        if !s.active {
            s.active = true;
            self.active.push_back(stream.0);
        }
    }

    /// Takes the next fragment of at most `max_payload` bytes, or `None` when nothing is queued.
    /// Messages past their lifetime that have not started are dropped here (RFC 3758 §3.5 A1).
    pub(crate) fn next_fragment(
        &mut self,
        now: Instant,
        max_payload: usize,
        interleave: bool,
    ) -> Option<Fragment> {
        loop {
            let sid = match self.current {
                Some(s) => s,
                None => self.pick()?,
            };
            let Some(s) = self.streams.get_mut(&sid) else {
                self.current = None;
                self.deactivate(sid);
                continue;
            };
            let Some(msg) = s.queue.front_mut() else {
                self.current = None;
                self.deactivate(sid);
                continue;
            };
            if msg.offset == 0 && msg.expires.is_some_and(|e| now >= e) {
                let len = msg.data.len();
                s.queue.pop_front();
                self.expired_unsent += 1;
                self.consume(sid, len);
                continue;
            }
            let begin = msg.offset == 0;
            if begin {
                if msg.unordered {
                    msg.seq = s.next_mid[1];
                    s.next_mid[1] = s.next_mid[1].wrapping_add(1);
                } else if interleave {
                    msg.seq = s.next_mid[0];
                    s.next_mid[0] = s.next_mid[0].wrapping_add(1);
                } else {
                    msg.seq = s.next_ssn as u32;
                    s.next_ssn = s.next_ssn.wrapping_add(1);
                }
            }
            let take = (msg.data.len() - msg.offset).min(max_payload);
            let payload = msg.data.slice(msg.offset..msg.offset + take);
            msg.offset += take;
            let end = msg.offset == msg.data.len();
            let frag = Fragment {
                stream: StreamId(sid),
                msg: msg.id,
                seq: msg.seq,
                fsn: msg.fsn,
                ppid: msg.ppid,
                unordered: msg.unordered,
                begin,
                end,
                payload,
                expires: msg.expires,
                max_rtx: msg.max_rtx,
            };
            msg.fsn = msg.fsn.wrapping_add(1);
            s.deficit -= take as i64;
            if end {
                s.queue.pop_front();
                self.current = None;
            } else if !interleave {
                self.current = Some(sid);
            }
            self.consume(sid, take);
            return Some(frag);
        }
    }

    /// Drops what remains of message `msg` on `stream` (its earlier fragments were abandoned).
    pub(crate) fn abandon(&mut self, stream: StreamId, msg: u64) {
        let Some(s) = self.streams.get_mut(&stream.0) else {
            return;
        };
        let Some(front) = s.queue.front() else { return };
        if front.id != msg {
            return;
        }
        let rest = front.data.len() - front.offset;
        s.queue.pop_front();
        if self.current == Some(stream.0) {
            self.current = None;
        }
        self.consume(stream.0, rest);
    }

    /// Marks streams for an outgoing reset; they take no new messages until it completes.
    pub(crate) fn mark_reset(&mut self, stream: StreamId) {
        let s = self.streams.entry(stream.0).or_insert_with(OutStream::new);
        if s.reset == ResetState::None {
            s.reset = ResetState::Pending;
        }
    }

    /// Streams whose reset is pending and whose queues have drained, now marked in flight.
    pub(crate) fn take_ready_resets(&mut self) -> Vec<StreamId> {
        let mut out: Vec<StreamId> = self
            .streams
            .iter_mut()
            .filter(|(_, s)| s.reset == ResetState::Pending && s.queue.is_empty())
            .map(|(id, s)| {
                s.reset = ResetState::InFlight;
                StreamId(*id)
            })
            .collect();
        out.sort();
        out
    }

    /// Whether some stream waits for its reset to be sent.
    pub(crate) fn has_pending_reset(&self) -> bool {
        self.streams
            .values()
            .any(|s| s.reset == ResetState::Pending && s.queue.is_empty())
    }

    /// The peer performed (or refused) our reset of `stream`.
    pub(crate) fn finish_reset(&mut self, stream: StreamId, performed: bool) {
        if let Some(s) = self.streams.get_mut(&stream.0) {
            s.reset = ResetState::None;
            if performed {
                s.next_ssn = 0;
                s.next_mid = [0, 0];
            }
        }
    }

    fn pick(&mut self) -> Option<u16> {
        // Deficit round robin; each pass adds a quantum to the head stream, so this ends.
        loop {
            let &sid = self.active.front()?;
            let Some(s) = self.streams.get_mut(&sid) else {
                self.active.pop_front();
                continue;
            };
            if s.queue.is_empty() {
                s.active = false;
                s.deficit = 0;
                self.active.pop_front();
                continue;
            }
            if s.deficit > 0 {
                return Some(sid);
            }
            s.deficit += QUANTUM_PER_PRIORITY * s.priority as i64;
            self.active.rotate_left(1);
        }
    }

    fn deactivate(&mut self, sid: u16) {
        if let Some(s) = self.streams.get_mut(&sid)
            && s.queue.is_empty()
            && s.active
        {
            s.active = false;
            s.deficit = 0;
            self.active.retain(|x| *x != sid);
        }
    }

    fn consume(&mut self, sid: u16, len: usize) {
        self.total -= len;
        if let Some(s) = self.streams.get_mut(&sid) {
            let before = s.buffered;
            s.buffered -= len;
            if before > s.low_threshold && s.buffered <= s.low_threshold {
                self.low.push(StreamId(sid));
            }
            if s.queue.is_empty() && s.active {
                s.active = false;
                s.deficit = 0;
                self.active.retain(|x| *x != sid);
            }
        }
    }
}
