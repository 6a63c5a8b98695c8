//! Small real nodes shared by the integration tests.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use weft_proto::{Received, Transmit};
use weft_testkit::Node;

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A host that records what it receives, optionally echoes it, sends on command and can send a
/// paced stream of numbered datagrams from a timer.
pub struct Peer {
    pub local: SocketAddr,
    pub echo: bool,
    pub received: Vec<(Instant, Received)>,
    /// When each numbered datagram was sent.
    pub sent_at: BTreeMap<u64, Instant>,
    out: VecDeque<Transmit>,
    pacer: Option<Pacer>,
}

struct Pacer {
    to: SocketAddr,
    next: Instant,
    interval: Duration,
    seq: u64,
    remaining: u64,
    size: usize,
}

impl Peer {
    pub fn new(local: SocketAddr) -> Self {
        Peer {
            local,
            echo: false,
            received: Vec::new(),
            sent_at: BTreeMap::new(),
            out: VecDeque::new(),
            pacer: None,
        }
    }

    pub fn echo(local: SocketAddr) -> Self {
        Peer {
            echo: true,
            ..Peer::new(local)
        }
    }

    /// Queues one datagram from `local`.
    pub fn send(&mut self, to: SocketAddr, payload: impl Into<Bytes>) {
        self.send_from(self.local, to, payload);
    }

    /// Queues one datagram from any local address.
    pub fn send_from(&mut self, from: SocketAddr, to: SocketAddr, payload: impl Into<Bytes>) {
        self.out.push_back(Transmit::udp(from, to, payload.into()));
    }

    /// Sends `count` datagrams of `size` bytes (at least 8) to `to`, one every `interval`,
    /// starting at `start`; each carries its sequence number.
    pub fn pace(
        &mut self,
        start: Instant,
        to: SocketAddr,
        count: u64,
        interval: Duration,
        size: usize,
    ) {
        self.pacer = Some(Pacer {
            to,
            next: start,
            interval,
            seq: 0,
            remaining: count,
            size: size.max(8),
        });
    }

    /// The sequence numbers received, in arrival order.
    pub fn seqs(&self) -> Vec<u64> {
        self.received
            .iter()
            .filter(|(_, r)| r.payload.len() >= 8)
            .map(|(_, r)| u64::from_be_bytes(r.payload[..8].try_into().unwrap()))
            .collect()
    }

    /// The round-trip times of echoed numbered datagrams.
    pub fn rtts(&self) -> Vec<Duration> {
        self.received
            .iter()
            .zip(self.seqs())
            .map(|((at, _), seq)| *at - self.sent_at[&seq])
            .collect()
    }

    /// Where received datagrams came from, in arrival order.
    pub fn sources(&self) -> Vec<SocketAddr> {
        self.received.iter().map(|(_, r)| r.source).collect()
    }
}

impl Node for Peer {
    fn handle_input(&mut self, now: Instant, input: Received) {
        if self.echo {
            let reply = Transmit::udp(input.destination, input.source, input.payload.clone());
            self.out.push_back(reply);
        }
        self.received.push((now, input));
    }

    fn handle_timeout(&mut self, now: Instant) {
        let Some(p) = &mut self.pacer else { return };
        while p.remaining > 0 && p.next <= now {
            let mut payload = vec![0; p.size];
            payload[..8].copy_from_slice(&p.seq.to_be_bytes());
            self.out
                .push_back(Transmit::udp(self.local, p.to, Bytes::from(payload)));
            self.sent_at.insert(p.seq, now);
            p.seq += 1;
            p.remaining -= 1;
            p.next += p.interval;
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.pacer
            .as_ref()
            .filter(|p| p.remaining > 0)
            .map(|p| p.next)
    }
}
