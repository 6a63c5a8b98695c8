//! A NAT with the mapping and filtering behaviours of RFC 4787.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use weft_proto::Transport;

use crate::trace::DropReason;

/// How a NAT chooses the external address for an outgoing datagram (RFC 4787 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MappingBehavior {
    /// One mapping per internal address, whatever the destination.
    EndpointIndependent,
    /// One mapping per internal address and destination IP.
    AddressDependent,
    /// One mapping per internal address and destination IP and port.
    AddressAndPortDependent,
}

/// Which inbound datagrams a NAT lets through a mapping (RFC 4787 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilteringBehavior {
    /// Anyone may send to the mapping.
    EndpointIndependent,
    /// Only IPs the inside host has sent to through the mapping.
    AddressDependent,
    /// Only IP and port pairs the inside host has sent to through the mapping.
    AddressAndPortDependent,
}

/// The behaviour of a simulated NAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatConfig {
    /// How mappings are chosen.
    pub mapping: MappingBehavior,
    /// Which inbound datagrams pass.
    pub filtering: FilteringBehavior,
    /// How long a mapping lives after the last datagram that refreshed it.
    pub mapping_timeout: Duration,
    /// Whether inbound datagrams refresh a mapping too (outbound ones always do).
    pub inbound_refresh: bool,
    /// Whether an inside host can reach another through the NAT's public address.
    pub hairpinning: bool,
    /// The external ports handed out, in order, wrapping around.
    pub ports: (u16, u16),
}

impl Default for NatConfig {
    /// A typical home router: endpoint-independent mapping, address-and-port-dependent
    /// filtering, a five-minute timeout (RFC 4787 REQ-5), hairpinning on (REQ-9).
    fn default() -> Self {
        NatConfig::new(
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressAndPortDependent,
        )
    }
}

impl NatConfig {
    /// A NAT with the given behaviours and the other settings of [`NatConfig::default`].
    pub fn new(mapping: MappingBehavior, filtering: FilteringBehavior) -> Self {
        NatConfig {
            mapping,
            filtering,
            mapping_timeout: Duration::from_secs(300),
            inbound_refresh: false,
            hairpinning: true,
            ports: (49152, 65535),
        }
    }

    /// "Full cone": endpoint-independent mapping and filtering.
    pub fn full_cone() -> Self {
        Self::new(
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::EndpointIndependent,
        )
    }

    /// "Restricted cone": endpoint-independent mapping, address-dependent filtering.
    pub fn restricted_cone() -> Self {
        Self::new(
            MappingBehavior::EndpointIndependent,
            FilteringBehavior::AddressDependent,
        )
    }

    /// "Port-restricted cone": endpoint-independent mapping, address-and-port-dependent
    /// filtering.
    pub fn port_restricted_cone() -> Self {
        Self::default()
    }

    /// "Symmetric": address-and-port-dependent mapping and filtering.
    pub fn symmetric() -> Self {
        Self::new(
            MappingBehavior::AddressAndPortDependent,
            FilteringBehavior::AddressAndPortDependent,
        )
    }

    /// Sets [`mapping_timeout`](Self::mapping_timeout).
    pub fn with_mapping_timeout(mut self, timeout: Duration) -> Self {
        self.mapping_timeout = timeout;
        self
    }

    /// Sets [`inbound_refresh`](Self::inbound_refresh).
    pub fn with_inbound_refresh(mut self, on: bool) -> Self {
        self.inbound_refresh = on;
        self
    }

    /// Sets [`hairpinning`](Self::hairpinning).
    pub fn with_hairpinning(mut self, on: bool) -> Self {
        self.hairpinning = on;
        self
    }

    /// Sets [`ports`](Self::ports), the inclusive range of external ports.
    pub fn with_ports(mut self, first: u16, last: u16) -> Self {
        self.ports = (first.min(last), first.max(last));
        self
    }
}

/// What a NAT has done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NatStats {
    /// Mappings created.
    pub mappings_created: u64,
    /// Mappings removed after their timeout.
    pub mappings_expired: u64,
    /// Outbound datagrams rewritten.
    pub translated_out: u64,
    /// Inbound datagrams rewritten.
    pub translated_in: u64,
    /// Inbound datagrams that matched no live mapping.
    pub no_mapping: u64,
    /// Inbound datagrams refused by filtering.
    pub filtered: u64,
}

/// One live NAT mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatMapping {
    /// The transport.
    pub transport: Transport,
    /// The inside host's address.
    pub internal: SocketAddr,
    /// The public address it maps to.
    pub external: SocketAddr,
    /// When it expires unless refreshed.
    pub expires_at: Instant,
}

/// A simulated NAT; read it through [`Simulator::nat`](crate::Simulator::nat).
#[derive(Debug)]
pub struct Nat {
    public_ip: IpAddr,
    config: NatConfig,
    /// Mappings by their external port. `BTreeMap`s keep every walk in a fixed order.
    by_port: BTreeMap<(Transport, u16), Mapping>,
    by_key: BTreeMap<MappingKey, u16>,
    next_port: u16,
    stats: NatStats,
}

#[derive(Debug)]
struct Mapping {
    key: MappingKey,
    last_active: Instant,
    /// Remote endpoints the inside host has sent to through this mapping.
    permits: Vec<SocketAddr>,
}

/// What identifies a mapping, depending on the mapping behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct MappingKey {
    transport: Transport,
    internal: SocketAddr,
    remote: Remote,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Remote {
    Any,
    Ip(IpAddr),
    Addr(SocketAddr),
}

/// The result of an outbound translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outbound {
    pub(crate) source: SocketAddr,
    pub(crate) created: bool,
}

impl Nat {
    pub(crate) fn new(public_ip: IpAddr, config: NatConfig) -> Self {
        let next_port = config.ports.0;
        Nat {
            public_ip,
            config,
            by_port: BTreeMap::new(),
            by_key: BTreeMap::new(),
            next_port,
            stats: NatStats::default(),
        }
    }

    /// The NAT's public address.
    pub fn public_ip(&self) -> IpAddr {
        self.public_ip
    }

    /// The NAT's behaviour.
    pub fn config(&self) -> &NatConfig {
        &self.config
    }

    /// What the NAT has done so far.
    pub fn stats(&self) -> NatStats {
        self.stats
    }

    /// The mappings still live at `now`, by external port.
    pub fn live_mappings(&self, now: Instant) -> Vec<NatMapping> {
        self.by_port
            .iter()
            .map(|(&(transport, port), m)| NatMapping {
                transport,
                internal: m.key.internal,
                external: SocketAddr::new(self.public_ip, port),
                expires_at: m.last_active + self.config.mapping_timeout,
            })
            .filter(|m| now < m.expires_at)
            .collect()
    }

    /// Translates a datagram from the inside, returning its new source address.
    pub(crate) fn outbound(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        destination: SocketAddr,
    ) -> Result<Outbound, DropReason> {
        self.expire(now);
        // RFC 4787 §4.1: the mapping is reused for any destination (EIM), for the same
        // destination IP (ADM) or only for the same destination IP and port (APDM).
        let remote = match self.config.mapping {
            MappingBehavior::EndpointIndependent => Remote::Any,
            MappingBehavior::AddressDependent => Remote::Ip(destination.ip()),
            MappingBehavior::AddressAndPortDependent => Remote::Addr(destination),
        };
        let key = MappingKey {
            transport,
            internal: source,
            remote,
        };
        let (port, created) = match self.by_key.get(&key) {
            Some(&port) => (port, false),
            None => {
                let port = self.allocate(transport)?;
                self.by_key.insert(key, port);
                self.by_port.insert(
                    (transport, port),
                    Mapping {
                        key,
                        last_active: now,
                        permits: Vec::new(),
                    },
                );
                self.stats.mappings_created += 1;
                (port, true)
            }
        };
        // Invariant: `by_key` and `by_port` are only changed together, so the port is mapped.
        let mapping = self
            .by_port
            .get_mut(&(transport, port))
            .expect("by_key and by_port agree");
        // RFC 4787 REQ-6: outbound datagrams refresh the mapping timer.
        mapping.last_active = now;
        if !mapping.permits.contains(&destination) {
            mapping.permits.push(destination);
        }
        self.stats.translated_out += 1;
        Ok(Outbound {
            source: SocketAddr::new(self.public_ip, port),
            created,
        })
    }

    /// Filters a datagram from the outside and returns the inside address it goes to.
    pub(crate) fn inbound(
        &mut self,
        now: Instant,
        transport: Transport,
        source: SocketAddr,
        destination: SocketAddr,
    ) -> Result<SocketAddr, DropReason> {
        self.expire(now);
        let Some(mapping) = self.by_port.get_mut(&(transport, destination.port())) else {
            self.stats.no_mapping += 1;
            return Err(DropReason::NatNoMapping);
        };
        // RFC 4787 §5: pass datagrams from anyone (EIF), from an IP the inside host has sent to
        // (ADF), or only from an IP and port it has sent to (APDF).
        let allowed = match self.config.filtering {
            FilteringBehavior::EndpointIndependent => true,
            FilteringBehavior::AddressDependent => {
                mapping.permits.iter().any(|p| p.ip() == source.ip())
            }
            FilteringBehavior::AddressAndPortDependent => mapping.permits.contains(&source),
        };
        if !allowed {
            self.stats.filtered += 1;
            return Err(DropReason::NatFiltered);
        }
        // RFC 4787 §4.3: only outbound refresh is required (REQ-6); inbound refresh is optional.
        if self.config.inbound_refresh {
            mapping.last_active = now;
        }
        self.stats.translated_in += 1;
        Ok(mapping.key.internal)
    }

    /// Removes mappings whose timer has run out (RFC 4787 REQ-5: the timer is configurable).
    fn expire(&mut self, now: Instant) {
        let timeout = self.config.mapping_timeout;
        let before = self.by_port.len();
        let by_key = &mut self.by_key;
        self.by_port.retain(|_, m| {
            let live = now < m.last_active + timeout;
            if !live {
                by_key.remove(&m.key);
            }
            live
        });
        self.stats.mappings_expired += (before - self.by_port.len()) as u64;
    }

    /// Hands out the next free external port, wrapping around the configured range.
    fn allocate(&mut self, transport: Transport) -> Result<u16, DropReason> {
        let (first, last) = self.config.ports;
        let span = u32::from(last - first) + 1;
        for _ in 0..span {
            let port = self.next_port;
            self.next_port = if port >= last { first } else { port + 1 };
            if !self.by_port.contains_key(&(transport, port)) {
                return Ok(port);
            }
        }
        Err(DropReason::NatPortsExhausted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ports_wrap_and_skip_those_in_use() {
        let now = Instant::now();
        let cfg = NatConfig::symmetric().with_ports(1000, 1001);
        let mut nat = Nat::new("1.1.1.1".parse().unwrap(), cfg);
        let inside = addr("10.0.0.1:5");
        let a = nat
            .outbound(now, Transport::Udp, inside, addr("2.2.2.2:1"))
            .unwrap();
        let b = nat
            .outbound(now, Transport::Udp, inside, addr("2.2.2.2:2"))
            .unwrap();
        assert_eq!((a.source.port(), b.source.port()), (1000, 1001));
        assert!(a.created && b.created);
        let full = nat.outbound(now, Transport::Udp, inside, addr("2.2.2.2:3"));
        assert_eq!(full, Err(DropReason::NatPortsExhausted));
        // Once the first mappings expire, their ports come back.
        let later = now + nat.config().mapping_timeout;
        let c = nat
            .outbound(later, Transport::Udp, inside, addr("2.2.2.2:3"))
            .unwrap();
        assert_eq!(c.source.port(), 1000);
        assert_eq!(nat.stats().mappings_expired, 2);
        assert_eq!(nat.live_mappings(later).len(), 1);
    }
}
