//! A test application on top of an association, as a `weft-testkit` node: it connects, sends
//! planned flows of numbered messages as the send buffer allows, and checks what arrives.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use weft_proto::{Received, Transmit};
use weft_sctp::{Association, CloseReason, Config, Event, Ppid, SendOptions, StreamId};
use weft_testkit::{LinkConfig, Node, NodeId, Simulator};

/// Messages to send on one stream.
#[derive(Debug, Clone)]
pub struct Flow {
    pub stream: u16,
    pub msg_size: usize,
    pub count: u64,
    pub opts: SendOptions,
    pub sent: u64,
}

impl Flow {
    pub fn new(stream: u16, msg_size: usize, count: u64) -> Self {
        Flow {
            stream,
            msg_size,
            count,
            opts: SendOptions::default(),
            sent: 0,
        }
    }
}

/// What arrived on one stream.
#[derive(Debug, Default, Clone)]
pub struct StreamRx {
    pub messages: u64,
    pub bytes: u64,
    /// Index of the last message (ordered streams must ascend).
    pub last_index: Option<u64>,
    pub out_of_order: u64,
    pub corrupt: u64,
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
}

pub struct Endpoint {
    pub assoc: Association,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub connect: bool,
    pub started: bool,
    pub flows: Vec<Flow>,
    /// Keep at most this much queued in the association.
    pub send_ahead: usize,
    pub rx: HashMap<u16, StreamRx>,
    pub events: Vec<(Instant, Event)>,
    pub connected_at: Option<Instant>,
    /// When false the application leaves events unread (a stalled reader).
    pub reading: bool,
    pub now: Instant,
    pub send_errors: u64,
}

/// A fixed pseudo-random table; message `i` carries its index, then the table from offset
/// `i % 251`, so a misplaced or corrupted fragment shows.
fn table() -> &'static [u8] {
    static TABLE: OnceLock<Vec<u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..(17 << 20))
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    })
}

pub fn pattern(index: u64, len: usize) -> Bytes {
    let mut b = BytesMut::with_capacity(len.max(8));
    b.put_u64(index);
    let off = (index % 251) as usize;
    b.extend_from_slice(&table()[off..off + len.saturating_sub(8)]);
    b.truncate(len);
    b.freeze()
}

fn check(index: u64, data: &[u8]) -> bool {
    let off = (index % 251) as usize;
    data.len() < 8 || data[8..] == table()[off..off + data.len() - 8]
}

impl Endpoint {
    pub fn new(
        config: Config,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        connect: bool,
    ) -> Self {
        Endpoint {
            assoc: Association::new(config, now).expect("valid config"),
            local,
            remote,
            connect,
            started: false,
            flows: Vec::new(),
            send_ahead: 1 << 20,
            rx: HashMap::new(),
            events: Vec::new(),
            connected_at: None,
            reading: true,
            now,
            send_errors: 0,
        }
    }

    pub fn closed(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|(_, e)| match e {
            Event::Closed { reason } => Some(reason),
            _ => None,
        })
    }

    pub fn flows_done(&self) -> bool {
        self.flows.iter().all(|f| f.sent == f.count)
    }

    pub fn stream(&self, s: u16) -> StreamRx {
        self.rx.get(&s).cloned().unwrap_or_default()
    }

    pub fn pump(&mut self) {
        if !self.started && self.connect {
            self.started = true;
            self.assoc.connect(self.now).expect("connect");
        }
        if self.reading {
            while let Some(e) = self.assoc.poll_event() {
                match e {
                    Event::Message(m) => {
                        let rx = self.rx.entry(m.stream.0).or_default();
                        let index = if m.data.len() >= 8 {
                            u64::from_be_bytes(m.data[..8].try_into().expect("8 bytes"))
                        } else {
                            0
                        };
                        if !check(index, &m.data) {
                            rx.corrupt += 1;
                        }
                        if !m.unordered && rx.last_index.is_some_and(|l| index <= l) {
                            rx.out_of_order += 1;
                        }
                        rx.last_index = Some(index);
                        rx.messages += 1;
                        rx.bytes += m.data.len() as u64;
                        rx.first_at.get_or_insert(self.now);
                        rx.last_at = Some(self.now);
                    }
                    Event::Connected => {
                        self.connected_at = Some(self.now);
                        self.events.push((self.now, e));
                    }
                    e => self.events.push((self.now, e)),
                }
            }
        }
        if self.assoc.is_established() {
            for f in &mut self.flows {
                while f.sent < f.count && self.assoc.total_buffered_amount() < self.send_ahead {
                    let data = pattern(f.sent, f.msg_size);
                    match self
                        .assoc
                        .send(self.now, StreamId(f.stream), Ppid(53), data, &f.opts)
                    {
                        Ok(()) => f.sent += 1,
                        Err(_) => {
                            self.send_errors += 1;
                            break;
                        }
                    }
                }
            }
        }
    }
}

impl Node for Endpoint {
    fn handle_input(&mut self, now: Instant, input: Received) {
        self.now = now;
        self.assoc.handle_input(now, input.payload);
        self.pump();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.assoc.handle_timeout(now);
        self.pump();
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let p = self.assoc.poll_transmit()?;
        Some(Transmit::udp(self.local, self.remote, p))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.connect && !self.started {
            return Some(self.now);
        }
        self.assoc.poll_timeout()
    }
}

pub fn config(seed: u8) -> Config {
    Config {
        rng_seed: Some([seed; 32]),
        ..Config::default()
    }
}

/// Two endpoints on one link; both connect unless `only_a`.
pub fn pair(
    seed: u64,
    link: LinkConfig,
    ca: Config,
    cb: Config,
    only_a: bool,
) -> (Simulator, NodeId, NodeId) {
    let mut sim = Simulator::with_seed(seed);
    sim.set_default_link(link);
    let a_ip: IpAddr = "10.0.0.1".parse().expect("ip");
    let b_ip: IpAddr = "10.0.0.2".parse().expect("ip");
    let a_addr = SocketAddr::new(a_ip, 5000);
    let b_addr = SocketAddr::new(b_ip, 5000);
    let now = sim.now();
    let a = sim.add_node(a_ip, Endpoint::new(ca, now, a_addr, b_addr, true));
    let b = sim.add_node(b_ip, Endpoint::new(cb, now, b_addr, a_addr, !only_a));
    (sim, a, b)
}

pub fn ep(sim: &Simulator, id: NodeId) -> &Endpoint {
    sim.node::<Endpoint>(id)
}

pub fn ep_mut(sim: &mut Simulator, id: NodeId) -> &mut Endpoint {
    sim.node_mut::<Endpoint>(id)
}

/// Runs until both are established.
pub fn connect(sim: &mut Simulator, a: NodeId, b: NodeId) {
    sim.run_until(
        |s| ep(s, a).assoc.is_established() && ep(s, b).assoc.is_established(),
        Duration::from_secs(120),
    )
    .expect("association comes up");
}
