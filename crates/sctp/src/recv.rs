//! The incoming side: which TSNs arrived (for SACKs), reassembly of fragments, ordered and
//! unordered delivery, FORWARD-TSN skipping and incoming stream resets.
//!
//! TSNs, SSNs and MIDs are unwrapped to 64 bits relative to what was delivered, so maps are
//! ordered without serial arithmetic. Every byte held is charged to the receive buffer with a
//! fixed overhead per fragment, which bounds memory even against a peer that sends one-byte
//! chunks and ignores the window.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::{Bytes, BytesMut};

use crate::event::Message;
use crate::wire::{Mid, Ppid, Ssn, StreamId, Tsn};

/// Bytes charged per held fragment on top of its payload.
pub(crate) const FRAGMENT_OVERHEAD: usize = 64;
/// Farthest ahead of the cumulative TSN a chunk may be: gap blocks carry 16-bit offsets.
pub(crate) const MAX_TSN_AHEAD: u64 = 65535;
/// Duplicate TSNs remembered for the next SACK.
const MAX_DUPS: usize = 32;

/// A DATA or I-DATA chunk, reduced to what reassembly needs.
#[derive(Debug, Clone)]
pub(crate) struct InChunk {
    pub(crate) tsn: Tsn,
    pub(crate) stream: StreamId,
    /// SSN (DATA) or MID (I-DATA).
    pub(crate) seq: u32,
    pub(crate) fsn: u32,
    pub(crate) ppid: Ppid,
    pub(crate) unordered: bool,
    pub(crate) begin: bool,
    pub(crate) end: bool,
    pub(crate) payload: Bytes,
}

/// What became of an arriving chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arrival {
    New,
    Duplicate,
    /// Not kept: no buffer space, or too far ahead; the peer will send it again.
    Dropped,
    /// A message over the size limit: the association must end.
    TooLarge,
}

#[derive(Debug, Default)]
struct Partial {
    /// Fragments by TSN (DATA) or FSN (I-DATA).
    frags: BTreeMap<u64, Bytes>,
    first: Option<u64>,
    last: Option<u64>,
    ppid: Ppid,
    bytes: usize,
    charge: usize,
}

impl InStream {
    /// Gives back the maps' nodes once they are empty: an emptied B-tree keeps its root node
    /// (about 1 KiB here), which an idle stream would hold for good.
    fn release_empty(&mut self) {
        if self.partials.is_empty() {
            self.partials = BTreeMap::new();
        }
        if self.complete.is_empty() {
            self.complete = BTreeMap::new();
        }
        if self.unordered.is_empty() && self.unordered.capacity() > 0 {
            self.unordered = HashMap::new();
        }
    }
}

impl Partial {
    fn insert(&mut self, idx: u64, c: &InChunk) -> bool {
        if self.first.is_some_and(|f| idx < f) || self.last.is_some_and(|l| idx > l) {
            return false;
        }
        if c.begin {
            if self.frags.keys().next().is_some_and(|&k| k < idx) {
                return false;
            }
            self.first = Some(idx);
            self.ppid = c.ppid;
        }
        if c.end {
            if self.frags.keys().next_back().is_some_and(|&k| k > idx) {
                return false;
            }
            self.last = Some(idx);
        }
        if self.frags.insert(idx, c.payload.clone()).is_none() {
            self.bytes += c.payload.len();
            self.charge += c.payload.len() + FRAGMENT_OVERHEAD;
        }
        true
    }

    fn is_complete(&self) -> bool {
        match (self.first, self.last) {
            (Some(f), Some(l)) => l >= f && (l - f + 1) as usize == self.frags.len(),
            _ => false,
        }
    }

    fn assemble(self) -> (Bytes, usize) {
        if self.frags.len() == 1 {
            let data = self.frags.into_values().next().unwrap_or_default();
            return (data, self.charge);
        }
        let mut buf = BytesMut::with_capacity(self.bytes);
        for f in self.frags.values() {
            buf.extend_from_slice(f);
        }
        (buf.freeze(), self.charge)
    }
}

#[derive(Debug)]
struct Complete {
    msg: Message,
    charge: usize,
}

#[derive(Debug, Default)]
struct InStream {
    /// Next ordered SSN/MID to deliver, as on the wire and unwrapped.
    next_wire: u32,
    next_key: u64,
    partials: BTreeMap<u64, Partial>,
    complete: BTreeMap<u64, Complete>,
    /// I-DATA unordered messages by MID.
    unordered: HashMap<u32, Partial>,
}

#[derive(Debug)]
pub(crate) struct Receiver {
    /// Unwrapped cumulative TSN: everything at or below arrived (or was skipped).
    cum: u64,
    /// Received TSN ranges above `cum + 1`, start -> end inclusive.
    ranges: BTreeMap<u64, u64>,
    dups: Vec<Tsn>,
    streams: HashMap<u16, InStream>,
    /// DATA unordered fragments by TSN.
    unordered: BTreeMap<u64, (InChunk, usize)>,
    ready: VecDeque<Complete>,
    buffered: usize,
    capacity: usize,
    max_message: usize,
    i_data: bool,
    inbound_streams: u16,
    pub(crate) dropped_chunks: u64,
    pub(crate) duplicate_tsns: u64,
    pub(crate) messages: u64,
}

impl Receiver {
    pub(crate) fn new(
        peer_initial_tsn: Tsn,
        capacity: usize,
        max_message: usize,
        i_data: bool,
        inbound: u16,
    ) -> Self {
        Receiver {
            cum: (1u64 << 32) + peer_initial_tsn.0.wrapping_sub(1) as u64,
            ranges: BTreeMap::new(),
            dups: Vec::new(),
            streams: HashMap::new(),
            unordered: BTreeMap::new(),
            ready: VecDeque::new(),
            buffered: 0,
            capacity,
            max_message,
            i_data,
            inbound_streams: inbound,
            dropped_chunks: 0,
            duplicate_tsns: 0,
            messages: 0,
        }
    }

    pub(crate) fn cum_tsn(&self) -> Tsn {
        Tsn(self.cum as u32)
    }

    pub(crate) fn has_gaps(&self) -> bool {
        !self.ranges.is_empty()
    }

    pub(crate) fn has_dups(&self) -> bool {
        !self.dups.is_empty()
    }

    pub(crate) fn a_rwnd(&self) -> u32 {
        self.capacity
            .saturating_sub(self.buffered)
            .min(u32::MAX as usize) as u32
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    pub(crate) fn is_valid_stream(&self, stream: StreamId) -> bool {
        stream.0 < self.inbound_streams
    }

    /// Gap ack blocks (at most `max`) and the duplicates since the last call.
    pub(crate) fn take_sack_blocks(&mut self, max: usize) -> (Vec<(u16, u16)>, Vec<Tsn>) {
        let gaps = self
            .ranges
            .iter()
            .take(max)
            .map(|(&s, &e)| ((s - self.cum) as u16, (e - self.cum) as u16))
            .collect();
        (gaps, std::mem::take(&mut self.dups))
    }

    fn unwrap(&self, tsn: Tsn) -> u64 {
        let d = tsn.0.wrapping_sub(self.cum as u32) as i32 as i64;
        (self.cum as i64 + d) as u64
    }

    fn is_received(&self, t: u64) -> bool {
        if t <= self.cum {
            return true;
        }
        self.ranges
            .range(..=t)
            .next_back()
            .is_some_and(|(_, &e)| e >= t)
    }

    fn mark_received(&mut self, t: u64) {
        if t == self.cum + 1 {
            self.cum = t;
            if let Some(e) = self.ranges.remove(&(t + 1)) {
                self.cum = e;
            }
            return;
        }
        let prev = self.ranges.range(..t).next_back().map(|(&s, &e)| (s, e));
        let next_end = self.ranges.remove(&(t + 1));
        match prev {
            Some((s, e)) if e + 1 == t => {
                self.ranges.insert(s, next_end.unwrap_or(t));
            }
            _ => {
                self.ranges.insert(t, next_end.unwrap_or(t));
            }
        }
    }

    /// Takes a DATA or I-DATA chunk.
    pub(crate) fn on_chunk(&mut self, c: InChunk) -> Arrival {
        let t = self.unwrap(c.tsn);
        if self.is_received(t) {
            self.duplicate_tsns += 1;
            if self.dups.len() < MAX_DUPS {
                self.dups.push(c.tsn);
            }
            return Arrival::Duplicate;
        }
        if t - self.cum > MAX_TSN_AHEAD {
            self.dropped_chunks += 1;
            return Arrival::Dropped;
        }
        let charge = c.payload.len() + FRAGMENT_OVERHEAD;
        // RFC 9260 §6.2: with no room, drop; but always take the chunk that advances the
        // cumulative TSN while the overrun stays within one message, so a peer that filled the
        // window with out-of-order data cannot wedge the association.
        let room = self.buffered + charge <= self.capacity
            || (t == self.cum + 1 && self.buffered + charge <= self.capacity + self.max_message);
        if !room {
            self.dropped_chunks += 1;
            return Arrival::Dropped;
        }
        self.mark_received(t);
        if !self.is_valid_stream(c.stream) {
            // Acknowledged (so it is not sent again) but not delivered (RFC 9260 §6.5); the
            // association reports Invalid Stream Identifier.
            return Arrival::New;
        }
        let ok = if self.i_data {
            self.on_i_data(c)
        } else {
            self.on_data(t, c)
        };
        if ok { Arrival::New } else { Arrival::TooLarge }
    }

    fn on_data(&mut self, t: u64, c: InChunk) -> bool {
        if c.unordered {
            if c.begin && c.end {
                let charge = c.payload.len() + FRAGMENT_OVERHEAD;
                self.buffered += charge;
                self.push_ready(c.stream, c.ppid, true, c.payload, charge);
                return true;
            }
            let charge = c.payload.len() + FRAGMENT_OVERHEAD;
            self.buffered += charge;
            self.unordered.insert(t, (c, charge));
            return self.try_unordered(t);
        }
        let s = self.streams.entry(c.stream.0).or_default();
        let Some(key) = seq_key(s, c.seq, false) else {
            // An SSN below what was delivered: a stale message the peer should have skipped.
            return true;
        };
        let p = s.partials.entry(key).or_default();
        let before = p.charge;
        if !p.insert(t, &c) {
            return true;
        }
        self.buffered += p.charge - before;
        if p.bytes > self.max_message {
            return false;
        }
        if p.is_complete() {
            self.complete_ordered(c.stream, key);
        }
        true
    }

    fn on_i_data(&mut self, c: InChunk) -> bool {
        let s = self.streams.entry(c.stream.0).or_default();
        let idx = c.fsn as u64;
        let (p, key) = if c.unordered {
            (s.unordered.entry(c.seq).or_default(), None)
        } else {
            let Some(key) = seq_key(s, c.seq, true) else {
                return true;
            };
            (s.partials.entry(key).or_default(), Some(key))
        };
        let before = p.charge;
        if !p.insert(idx, &c) {
            return true;
        }
        self.buffered += p.charge - before;
        if p.bytes > self.max_message {
            return false;
        }
        if !p.is_complete() {
            return true;
        }
        match key {
            Some(key) => self.complete_ordered(c.stream, key),
            None => {
                if let Some(p) = s.unordered.remove(&c.seq) {
                    let ppid = p.ppid;
                    let (data, charge) = p.assemble();
                    s.release_empty();
                    self.push_ready(c.stream, ppid, true, data, charge);
                }
            }
        }
        true
    }

    fn try_unordered(&mut self, t: u64) -> bool {
        // Walk back to the first fragment and forward to the last; TSNs of one message are
        // consecutive (RFC 9260 §6.9).
        let mut first = t;
        loop {
            match self.unordered.get(&first) {
                Some((c, _)) if c.begin => break,
                Some(_) if first > 0 && self.unordered.contains_key(&(first - 1)) => first -= 1,
                _ => return true,
            }
        }
        let mut last = first;
        let mut bytes = 0usize;
        loop {
            match self.unordered.get(&last) {
                Some((c, _)) => {
                    bytes += c.payload.len();
                    if last != first && c.begin {
                        return true;
                    }
                    if c.end {
                        break;
                    }
                    last += 1;
                }
                None => return bytes <= self.max_message,
            }
        }
        if bytes > self.max_message {
            return false;
        }
        let mut buf = BytesMut::with_capacity(bytes);
        let mut charge = 0;
        let mut head = None;
        for k in first..=last {
            if let Some((c, ch)) = self.unordered.remove(&k) {
                buf.extend_from_slice(&c.payload);
                charge += ch;
                head.get_or_insert((c.stream, c.ppid));
            }
        }
        if let Some((stream, ppid)) = head {
            self.push_ready(stream, ppid, true, buf.freeze(), charge);
        }
        true
    }

    fn complete_ordered(&mut self, stream: StreamId, key: u64) {
        let Some(s) = self.streams.get_mut(&stream.0) else {
            return;
        };
        if let Some(p) = s.partials.remove(&key) {
            let ppid = p.ppid;
            let (data, charge) = p.assemble();
            s.complete.insert(
                key,
                Complete {
                    msg: Message {
                        stream,
                        ppid,
                        unordered: false,
                        data,
                    },
                    charge,
                },
            );
        }
        self.deliver_in_order(stream);
    }

    fn deliver_in_order(&mut self, stream: StreamId) {
        let wide = self.i_data;
        let Some(s) = self.streams.get_mut(&stream.0) else {
            return;
        };
        while let Some(c) = s.complete.remove(&s.next_key) {
            s.next_key += 1;
            s.next_wire = advance(s.next_wire, wide);
            self.messages += 1;
            self.ready.push_back(c);
        }
        s.release_empty();
    }

    fn push_ready(
        &mut self,
        stream: StreamId,
        ppid: Ppid,
        unordered: bool,
        data: Bytes,
        charge: usize,
    ) {
        self.messages += 1;
        self.ready.push_back(Complete {
            msg: Message {
                stream,
                ppid,
                unordered,
                data,
            },
            charge,
        });
    }

    /// The next delivered message and the buffer bytes it holds until [`Receiver::release`].
    pub(crate) fn pop_complete(&mut self) -> Option<(Message, usize)> {
        let c = self.ready.pop_front()?;
        Some((c.msg, c.charge))
    }

    /// The application took a message: its bytes leave the receive buffer.
    pub(crate) fn release(&mut self, charge: usize) {
        self.buffered = self.buffered.saturating_sub(charge);
    }

    /// FORWARD-TSN (RFC 3758 §3.6): moves the cumulative TSN and skips messages.
    pub(crate) fn forward(
        &mut self,
        new_cum: Tsn,
        ordered: &[(StreamId, u32)],
        unordered_mids: &[(StreamId, Mid)],
    ) {
        let t = self.unwrap(new_cum);
        if t <= self.cum || t - self.cum > MAX_TSN_AHEAD {
            return;
        }
        // Ranges at or below the new point are covered; a range that straddles it extends it.
        let mut cum = t;
        let covered: Vec<u64> = self.ranges.range(..=t + 1).map(|(&s, _)| s).collect();
        for s in covered {
            if let Some(e) = self.ranges.remove(&s) {
                cum = cum.max(e);
            }
        }
        self.cum = cum;
        // Unordered DATA fragments at or below it belong to abandoned messages.
        let keep = self.unordered.split_off(&(t + 1));
        for (_, (_, charge)) in std::mem::replace(&mut self.unordered, keep) {
            self.buffered -= charge;
        }
        let wide = self.i_data;
        for &(stream, seq) in ordered {
            let Some(s) = self.streams.get_mut(&stream.0) else {
                continue;
            };
            let Some(key) = seq_key(s, seq, wide) else {
                continue;
            };
            // Messages up to `key` are either complete (deliver them in order) or abandoned.
            let rest = s.partials.split_off(&(key + 1));
            for (_, p) in std::mem::replace(&mut s.partials, rest) {
                self.buffered -= p.charge;
            }
            while s.next_key <= key {
                if let Some(c) = s.complete.remove(&s.next_key) {
                    self.messages += 1;
                    self.ready.push_back(c);
                }
                s.next_key += 1;
                s.next_wire = advance(s.next_wire, wide);
            }
            self.deliver_in_order(stream);
        }
        for &(stream, mid) in unordered_mids {
            let Some(s) = self.streams.get_mut(&stream.0) else {
                continue;
            };
            let before: Vec<u32> = s
                .unordered
                .keys()
                .copied()
                .filter(|&m| !Mid(mid.0).is_before_mid(m))
                .collect();
            for m in before {
                if let Some(p) = s.unordered.remove(&m) {
                    self.buffered -= p.charge;
                }
            }
        }
    }

    /// RFC 6525 §5.2.2: whether everything up to `last_tsn` has arrived.
    pub(crate) fn has_received_through(&self, last_tsn: Tsn) -> bool {
        let t = self.unwrap(last_tsn);
        t <= self.cum
    }

    /// Resets incoming streams (all when `streams` is empty): sequence numbers start at 0.
    pub(crate) fn reset_streams(&mut self, streams: &[StreamId]) {
        let reset = |s: &mut InStream, buffered: &mut usize| {
            for (_, p) in std::mem::take(&mut s.partials) {
                *buffered -= p.charge;
            }
            for (_, c) in std::mem::take(&mut s.complete) {
                *buffered -= c.charge;
            }
            s.next_wire = 0;
            s.next_key = 0;
        };
        if streams.is_empty() {
            for s in self.streams.values_mut() {
                reset(s, &mut self.buffered);
            }
        } else {
            for id in streams {
                if let Some(s) = self.streams.get_mut(&id.0) {
                    reset(s, &mut self.buffered);
                }
            }
        }
    }
}

impl Mid {
    fn is_before_mid(self, other: u32) -> bool {
        weft_proto::Serial32(self.0).is_before(weft_proto::Serial32(other))
    }
}

fn advance(wire: u32, wide: bool) -> u32 {
    if wide {
        wire.wrapping_add(1)
    } else {
        (wire as u16).wrapping_add(1) as u32
    }
}

/// Unwraps an SSN (16-bit) or MID (32-bit) relative to the next one to deliver; `None` when it
/// is before it (already delivered or skipped).
fn seq_key(s: &InStream, seq: u32, wide: bool) -> Option<u64> {
    let d = if wide {
        seq.wrapping_sub(s.next_wire) as i32 as i64
    } else {
        (seq as u16).wrapping_sub(s.next_wire as u16) as i16 as i64
    };
    if d < 0 {
        None
    } else {
        Some(s.next_key + d as u64)
    }
}

impl Ssn {
    /// The SSN as the 32-bit sequence field reassembly uses for both DATA and I-DATA.
    pub(crate) fn widen(self) -> u32 {
        self.0 as u32
    }
}
