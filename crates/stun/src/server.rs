//! A sans-IO STUN binding server (RFC 8489 §6.3, §8).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use log::debug;
use weft_proto::{Received, Redacted, Transmit};

use crate::wire::attr::{Attribute, ErrorCode};
use crate::wire::{Class, Message, Method};

/// Settings of a [`Server`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The SOFTWARE attribute put in every response, if any.
    pub software: Option<String>,
    /// Always add FINGERPRINT to responses. Without it, a response carries FINGERPRINT only
    /// when its request did.
    pub fingerprint: bool,
    /// The most responses queued before [`Server::poll_transmit`] drains them; more are
    /// dropped and counted.
    pub max_queue: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            software: None,
            fingerprint: true,
            max_queue: 1024,
        }
    }
}

/// Counters of a [`Server`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Binding requests answered with a success response.
    pub binding_requests: u64,
    /// Requests answered with an error response (420, 400).
    pub error_responses: u64,
    /// Binding indications received (keepalives; never answered).
    pub indications: u64,
    /// Datagrams dropped: not STUN, malformed, responses, or while the queue was full.
    pub dropped: u64,
}

/// Answers Binding requests with the requester's reflexive address.
///
/// Stateless apart from its output queue: each request is answered on its own, so it needs
/// no timer. A request that carries unknown comprehension-required attributes gets 420 with
/// UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1); a request for another method gets 400. Malformed
/// input is dropped and counted, never answered, so the server cannot be used to reflect
/// garbage.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    transmits: VecDeque<Transmit>,
    stats: ServerStats,
}

impl Server {
    /// A server with an empty queue.
    pub fn new(config: ServerConfig) -> Self {
        Server {
            config,
            transmits: VecDeque::new(),
            stats: ServerStats::default(),
        }
    }

    /// Feeds one received datagram (or one framed message on a stream).
    pub fn handle_input(&mut self, _now: Instant, input: Received) {
        let msg = match Message::decode(&input.payload) {
            Ok(m) => m,
            Err(e) => {
                debug!("stun server: dropped from {}: {e}", Redacted(input.source));
                self.stats.dropped += 1;
                return;
            }
        };
        match msg.class {
            Class::Request => {}
            Class::Indication => {
                self.stats.indications += 1;
                return;
            }
            Class::Success | Class::Error => {
                self.stats.dropped += 1;
                return;
            }
        }
        if self.transmits.len() >= self.config.max_queue {
            self.stats.dropped += 1;
            return;
        }
        let unknown = msg.unknown_comprehension_required(&[]);
        let mut resp;
        if !unknown.is_empty() {
            resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                .with(Attribute::ErrorCode(ErrorCode::UNKNOWN_ATTRIBUTE))
                .with(Attribute::UnknownAttributes(unknown));
            self.stats.error_responses += 1;
        } else if msg.method != Method::BINDING {
            resp = Message::new(Class::Error, msg.method, msg.transaction_id)
                .with(Attribute::ErrorCode(ErrorCode::BAD_REQUEST));
            self.stats.error_responses += 1;
        } else {
            resp = Message::new(Class::Success, Method::BINDING, msg.transaction_id)
                .with(Attribute::XorMappedAddress(input.source));
            self.stats.binding_requests += 1;
        }
        if let Some(s) = self.config.software.as_deref() {
            resp.push(Attribute::Software(s));
        }
        let fp = self.config.fingerprint
            || msg
                .attributes
                .iter()
                .any(|a| matches!(a, Attribute::Fingerprint(_)));
        let bytes = match resp.to_vec(None, fp) {
            Ok(b) => b,
            Err(e) => {
                // Only a SOFTWARE longer than the RFC allows gets here: a configuration error.
                log::warn!("stun server: cannot encode response: {e}");
                self.stats.dropped += 1;
                return;
            }
        };
        self.transmits.push_back(Transmit {
            source: input.destination,
            destination: input.source,
            transport: input.transport,
            payload: Bytes::from(bytes),
        });
    }

    /// The next response to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The counters.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    // Tests pick an arbitrary origin for the time they pass in.
    #![allow(clippy::disallowed_methods)]

    use super::*;
    use crate::wire::TransactionId;
    use crate::wire::attr::AttrType;
    use std::net::SocketAddr;
    use weft_proto::Transport;

    fn rx(payload: Vec<u8>) -> Received {
        Received {
            source: "[2001:db8::7]:40000".parse().unwrap(),
            destination: "[2001:db8::1]:3478".parse().unwrap(),
            transport: Transport::Udp,
            payload: payload.into(),
        }
    }

    fn answer(s: &mut Server, req: Message<'_>) -> Transmit {
        s.handle_input(Instant::now(), rx(req.to_vec(None, false).unwrap()));
        s.poll_transmit().expect("an answer")
    }

    const ID: TransactionId = TransactionId::new([8; 12]);

    #[test]
    fn answers_binding_with_xor_mapped_address() {
        let mut s = Server::new(ServerConfig {
            software: Some("weft test".into()),
            ..Default::default()
        });
        let t = answer(&mut s, Message::new(Class::Request, Method::BINDING, ID));
        let want: SocketAddr = "[2001:db8::7]:40000".parse().unwrap();
        assert_eq!(t.destination, want);
        assert_eq!(t.source, "[2001:db8::1]:3478".parse().unwrap());
        let m = Message::decode(&t.payload).unwrap();
        assert_eq!(
            (m.class, m.method, m.transaction_id),
            (Class::Success, Method::BINDING, ID)
        );
        assert_eq!(
            m.get(AttrType::XOR_MAPPED_ADDRESS),
            Some(&Attribute::XorMappedAddress(want))
        );
        assert_eq!(
            m.get(AttrType::SOFTWARE),
            Some(&Attribute::Software("weft test"))
        );
        assert!(m.get(AttrType::FINGERPRINT).is_some());
        assert_eq!(s.stats().binding_requests, 1);
    }

    #[test]
    fn unknown_required_attribute_gets_420_with_the_list() {
        let mut s = Server::new(ServerConfig::default());
        let req = Message::new(Class::Request, Method::BINDING, ID)
            .with(Attribute::Unknown {
                typ: AttrType(0x0042),
                value: b"x",
            })
            .with(Attribute::Unknown {
                typ: AttrType(0x8042),
                value: b"optional",
            });
        let t = answer(&mut s, req);
        let m = Message::decode(&t.payload).unwrap();
        assert_eq!(m.class, Class::Error);
        assert_eq!(m.error_code().unwrap().code, 420);
        assert_eq!(
            m.get(AttrType::UNKNOWN_ATTRIBUTES),
            Some(&Attribute::UnknownAttributes(vec![0x42]))
        );
    }

    #[test]
    fn other_methods_get_400() {
        let mut s = Server::new(ServerConfig {
            fingerprint: false,
            ..Default::default()
        });
        let t = answer(&mut s, Message::new(Class::Request, Method::ALLOCATE, ID));
        let m = Message::decode(&t.payload).unwrap();
        assert_eq!((m.class, m.method), (Class::Error, Method::ALLOCATE));
        assert_eq!(m.error_code().unwrap().code, 400);
        assert!(m.get(AttrType::FINGERPRINT).is_none());
        assert_eq!(s.stats().error_responses, 1);
    }

    #[test]
    fn indications_responses_and_garbage_are_not_answered() {
        let mut s = Server::new(ServerConfig::default());
        let now = Instant::now();
        for class in [Class::Indication, Class::Success, Class::Error] {
            let m = Message::new(class, Method::BINDING, ID)
                .to_vec(None, false)
                .unwrap();
            s.handle_input(now, rx(m));
        }
        s.handle_input(now, rx(b"\x00\x01garbage".to_vec()));
        assert!(s.poll_transmit().is_none());
        assert_eq!(s.stats().indications, 1);
        assert_eq!(s.stats().dropped, 3);
    }

    #[test]
    fn full_queue_drops_and_counts() {
        let mut s = Server::new(ServerConfig {
            max_queue: 2,
            ..Default::default()
        });
        let req = Message::new(Class::Request, Method::BINDING, ID)
            .to_vec(None, false)
            .unwrap();
        for _ in 0..5 {
            s.handle_input(Instant::now(), rx(req.clone()));
        }
        assert_eq!(s.stats().dropped, 3);
        assert!(s.poll_transmit().is_some() && s.poll_transmit().is_some());
        assert!(s.poll_transmit().is_none());
    }
}
