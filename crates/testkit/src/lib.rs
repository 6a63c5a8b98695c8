//! A deterministic simulated network with a virtual clock, for testing weft's sans-IO machines.
//!
//! # The model
//!
//! A [`Simulator`] owns *nodes* (any machine behind the small [`Node`] trait), *NATs* and the
//! *links* between them. Each node owns one or more IP addresses, on the public internet or
//! behind a NAT; ports are the node's business. A datagram a node sends goes to whoever owns its
//! destination IP in the sender's realm, or else up to the realm's NAT, which rewrites it and
//! sends it on (see [`NatConfig`] for the RFC 4787 behaviours).
//!
//! Each hop crosses one direction of a link, which applies its [`LinkConfig`]: MTU, bandwidth
//! queue, random and Gilbert-Elliott loss, latency, jitter, reordering and duplication, counted
//! in [`LinkStats`]. Links nobody configured use the simulator's default, a perfect link.
//!
//! There are no threads, sockets or sleeps. The clock is virtual: each [`Simulator::step`]
//! jumps to the earliest deadline, the first datagram in flight or the first node timer
//! ([`Node::poll_timeout`]), and handles it. After every `handle_*` call the node's
//! [`Node::poll_transmit`] is drained, as STYLE §2 asks of every driver.
//!
//! Every random choice comes from one ChaCha8 generator seeded from `TEST_SEED` or from the
//! test's own seed; the seed is printed at creation and named in every [`SimError`], so a failing
//! test says how to replay it. The same seed and scenario give the same [`trace`], event for
//! event ([`Simulator::trace_digest`]).
//!
//! | Spec | What is simulated | What is not |
//! |---|---|---|
//! | RFC 4787 §4.1, §5 | the three mapping and three filtering behaviours | port preservation, port parity, address pooling |
//! | RFC 4787 §4.3, §6 | mapping timeout with outbound refresh (inbound optional), hairpinning | per-destination timers |
//! | — | datagrams of every [`Transport`](weft_proto::Transport) | TCP/TLS streams: they travel as datagrams, without retransmission or ordering |
//!
//! # Invariants
//!
//! - Nothing depends on wall-clock time except the base `Instant`, taken once at creation.
//! - Events at the same instant run in a fixed order: deliveries in send order, then timers in
//!   node order.
//! - Network input never panics the simulator; a datagram it cannot carry is dropped and traced
//!   with a [`DropReason`]. Misusing the setup API (an address owned twice, a node read as the
//!   wrong type) panics, since in a test tool that is the test's bug.
//!
//! # Example
//!
//! ```
//! use std::collections::VecDeque;
//! use std::net::{IpAddr, SocketAddr};
//! use std::time::{Duration, Instant};
//!
//! use bytes::Bytes;
//! use weft_proto::{Received, Transmit};
//! use weft_testkit::{LinkConfig, Node, Simulator};
//!
//! /// Sends back whatever arrives.
//! #[derive(Default)]
//! struct Echo(VecDeque<Transmit>);
//!
//! impl Node for Echo {
//!     fn handle_input(&mut self, _now: Instant, input: Received) {
//!         self.0.push_back(Transmit::udp(input.destination, input.source, input.payload));
//!     }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//!     fn poll_transmit(&mut self) -> Option<Transmit> {
//!         self.0.pop_front()
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         None
//!     }
//! }
//!
//! /// Pings once when its timer fires and measures the round trip.
//! struct Pinger {
//!     route: (SocketAddr, SocketAddr),
//!     ping_at: Option<Instant>,
//!     sent: Option<Instant>,
//!     out: Option<Transmit>,
//!     rtt: Option<Duration>,
//! }
//!
//! impl Node for Pinger {
//!     fn handle_input(&mut self, now: Instant, _input: Received) {
//!         self.rtt = self.sent.map(|sent| now - sent);
//!     }
//!     fn handle_timeout(&mut self, now: Instant) {
//!         if self.ping_at.is_some_and(|at| now >= at) {
//!             self.ping_at = None;
//!             self.sent = Some(now);
//!             let (from, to) = self.route;
//!             self.out = Some(Transmit::udp(from, to, Bytes::from_static(b"ping")));
//!         }
//!     }
//!     fn poll_transmit(&mut self) -> Option<Transmit> {
//!         self.out.take()
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         self.ping_at
//!     }
//! }
//!
//! let mut sim = Simulator::with_seed(1);
//! let server_ip: IpAddr = "192.0.2.1".parse().unwrap();
//! let client_ip: IpAddr = "198.51.100.1".parse().unwrap();
//! let server = sim.add_node(server_ip, Echo::default());
//! let pinger = Pinger {
//!     route: (SocketAddr::new(client_ip, 5000), SocketAddr::new(server_ip, 7)),
//!     ping_at: Some(sim.now() + Duration::from_secs(1)),
//!     sent: None,
//!     out: None,
//!     rtt: None,
//! };
//! let client = sim.add_node(client_ip, pinger);
//! sim.set_link(client, server, LinkConfig::default().with_latency(Duration::from_millis(20)));
//!
//! sim.run_until(|sim| sim.node::<Pinger>(client).rtt.is_some(), Duration::from_secs(5))
//!     .unwrap();
//! assert_eq!(sim.node::<Pinger>(client).rtt, Some(Duration::from_millis(40)));
//! assert_eq!(sim.elapsed(), Duration::from_millis(1040));
//! assert_eq!(sim.link_stats(client, server).delivered, 1);
//! ```
//!
//! [`trace`]: Simulator::trace

#![warn(missing_docs)]
#![forbid(unsafe_code)]
// The workspace clippy.toml forbids `Instant::now` in protocol crates; the test kit is a test
// tool and reads it exactly once, for the base of the virtual clock.
#![allow(clippy::disallowed_methods)]

mod link;
mod nat;
mod pcap;
pub mod process;
mod rng;
mod sim;
mod trace;

use std::fmt;
use std::time::Instant;

use weft_proto::{Received, Transmit};

pub use link::{Bandwidth, GilbertElliott, LinkConfig, LinkStats};
pub use nat::{FilteringBehavior, MappingBehavior, Nat, NatConfig, NatMapping, NatStats};
pub use pcap::PcapWriter;
pub use rng::SEED_ENV;
pub use sim::Simulator;
pub use trace::{DropReason, PacketInfo, SimError, SimErrorKind, Trace, TraceEvent, TraceKind};

/// A sans-IO machine the simulator can drive: the STYLE §2 contract, minus events and commands.
///
/// Adapt a machine by forwarding to its methods of the same names; buffer its events in the
/// adapter, or read them through [`Simulator::node_mut`] after a run.
pub trait Node {
    /// A datagram arrived for one of the node's addresses.
    fn handle_input(&mut self, now: Instant, input: Received);
    /// The deadline from [`poll_timeout`](Self::poll_timeout) has passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send; the simulator drains these after every `handle_*` call.
    fn poll_transmit(&mut self) -> Option<Transmit>;
    /// When the node next wants [`handle_timeout`](Self::handle_timeout), if ever.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// A node or NAT in a [`Simulator`]; shown as `n<index>` in traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) usize);

impl NodeId {
    /// The node's index, in the order nodes and NATs were added.
    pub fn index(self) -> usize {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}
