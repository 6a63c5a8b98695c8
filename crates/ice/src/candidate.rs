//! ICE candidates (RFC 8445 §5.1), their priorities and their `candidate:` attribute form
//! (RFC 8839 §5.1, parsed and written by `weft-sdp`).

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use weft_proto::Transport;
pub use weft_sdp::TcpType;

use crate::error::{ParseError, ParseErrorKind};

/// The type of a candidate (RFC 8445 §5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CandidateKind {
    /// `host`: an address of a local interface.
    Host,
    /// `srflx`: the address a NAT maps a host candidate to, learnt from a STUN server.
    ServerReflexive,
    /// `prflx`: an address learnt from a connectivity check.
    PeerReflexive,
    /// `relay`: an address allocated on a TURN server.
    Relayed,
}

impl CandidateKind {
    /// The RFC 8445 §5.1.2.2 recommended type preference: host 126, peer-reflexive 110,
    /// server-reflexive 100, relayed 0.
    pub fn type_preference(self) -> u8 {
        match self {
            CandidateKind::Host => 126,
            CandidateKind::PeerReflexive => 110,
            CandidateKind::ServerReflexive => 100,
            CandidateKind::Relayed => 0,
        }
    }

    /// The `typ` token of RFC 8839 §5.1.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Host => "host",
            CandidateKind::ServerReflexive => "srflx",
            CandidateKind::PeerReflexive => "prflx",
            CandidateKind::Relayed => "relay",
        }
    }
}

impl fmt::Display for CandidateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The highest local preference (RFC 8445 §5.1.2.1): what a single-homed agent uses.
pub const MAX_LOCAL_PREFERENCE: u16 = 65535;

/// A candidate priority (RFC 8445 §5.1.2.1):
/// `2^24 * type preference + 2^8 * local preference + (256 - component id)`.
///
/// ```
/// use weft_ice::{CandidateKind, priority};
/// // The host candidate of component 1 on a single-homed agent.
/// assert_eq!(priority(CandidateKind::Host, 65535, 1), 2130706431);
/// assert_eq!(priority(CandidateKind::ServerReflexive, 65535, 1), 1694498815);
/// ```
pub fn priority(kind: CandidateKind, local_preference: u16, component: u16) -> u32 {
    (u32::from(kind.type_preference()) << 24)
        + (u32::from(local_preference) << 8)
        + (256 - u32::from(component.clamp(1, 256)))
}

/// The type preference of a TCP candidate. RFC 6544 §4.2 leaves the order of UDP and TCP
/// candidates to the agent; weft puts every TCP type below the UDP host, peer-reflexive and
/// server-reflexive types (host 90, peer-reflexive 80, server-reflexive 65, relayed 0), so
/// that UDP wins wherever it works and TCP is the fallback, as browsers do.
pub fn tcp_type_preference(kind: CandidateKind) -> u8 {
    match kind {
        CandidateKind::Host => 90,
        CandidateKind::PeerReflexive => 80,
        CandidateKind::ServerReflexive => 65,
        CandidateKind::Relayed => 0,
    }
}

/// The local preference of a TCP candidate (RFC 6544 §4.2):
/// `2^13 * direction-pref + other-pref`, with the recommended direction preferences
/// (host and relayed: active 6, passive 4, simultaneous-open 2; reflexive: simultaneous-open
/// 6, active 4, passive 2). `other_pref` (13 bits) orders interfaces.
///
/// ```
/// use weft_ice::{CandidateKind, TcpType, tcp_local_preference};
/// assert_eq!(tcp_local_preference(CandidateKind::Host, TcpType::Active, 8191), 6 * 8192 + 8191);
/// assert_eq!(tcp_local_preference(CandidateKind::ServerReflexive, TcpType::Passive, 0), 2 * 8192);
/// ```
pub fn tcp_local_preference(kind: CandidateKind, tcp_type: TcpType, other_pref: u16) -> u16 {
    let direct = matches!(kind, CandidateKind::Host | CandidateKind::Relayed);
    let direction: u16 = match (direct, tcp_type) {
        (true, TcpType::Active) | (false, TcpType::So) => 6,
        (true, TcpType::Passive) | (false, TcpType::Active) => 4,
        (true, TcpType::So) | (false, TcpType::Passive) => 2,
    };
    (direction << 13) | (other_pref & 0x1FFF)
}

/// A candidate priority for either transport: [`priority`] with the UDP type preferences,
/// or with [`tcp_type_preference`] for TCP.
pub(crate) fn priority_for(
    kind: CandidateKind,
    transport: Transport,
    local_preference: u16,
    component: u16,
) -> u32 {
    let type_preference = match transport {
        Transport::Udp => kind.type_preference(),
        Transport::Tcp | Transport::Tls => tcp_type_preference(kind),
    };
    (u32::from(type_preference) << 24)
        + (u32::from(local_preference) << 8)
        + (256 - u32::from(component.clamp(1, 256)))
}

/// An ICE candidate with a resolved transport address.
///
/// Local candidates are built with [`Candidate::host`], [`Candidate::server_reflexive`] or
/// [`Candidate::relayed`] and handed to [`Agent::add_local_candidate`](crate::Agent::add_local_candidate),
/// which fills the foundation. Remote candidates usually come from signalling: parse them
/// with [`str::parse`] (`candidate:...`, `a=candidate:...` or the bare value) or convert a
/// [`weft_sdp::Candidate`] with [`TryFrom`]. A candidate whose address is a name (an mDNS
/// `.local` host candidate from a browser) does not convert: resolve it first.
///
/// [`Display`](fmt::Display) writes the attribute value without the `candidate:` prefix, as
/// `weft-sdp` does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// The foundation (RFC 8445 §5.1.1.3): equal for candidates of the same type, base IP,
    /// server and transport. Empty on a local candidate until the agent assigns one.
    pub foundation: String,
    /// The component id: 1 (RTP, or everything with RTP/RTCP multiplexing).
    pub component: u16,
    /// UDP, or TCP for ICE-TCP candidates (RFC 6544).
    pub transport: Transport,
    /// The priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// The transport address.
    pub address: SocketAddr,
    /// The type.
    pub kind: CandidateKind,
    /// The related address (`raddr`/`rport`): the base of a server- or peer-reflexive
    /// candidate, the mapped address of a relayed one.
    pub related_address: Option<SocketAddr>,
    /// The RFC 6544 `tcptype` of a TCP candidate.
    pub tcp_type: Option<TcpType>,
    /// The `ufrag` extension browsers add: the ICE generation the candidate belongs to.
    pub ufrag: Option<String>,
}

impl Candidate {
    /// A UDP host candidate of component 1 with the highest local preference.
    pub fn host(address: SocketAddr) -> Self {
        Self::new(CandidateKind::Host, address, None)
    }

    /// A TCP host candidate of component 1 (RFC 6544 §4.1), with the RFC 6544 §4.2
    /// priority. An active candidate opens connections from an ephemeral port, so its
    /// address gets the discard port 9 (§4.5), and that is the base the agent sends checks
    /// from; a passive candidate's address is the listening socket's.
    ///
    /// ```
    /// use weft_ice::{Candidate, TcpType};
    /// let active = Candidate::host_tcp("192.0.2.1:50000".parse().unwrap(), TcpType::Active);
    /// assert_eq!(active.address.port(), 9);
    /// assert!(active.to_string().ends_with("192.0.2.1 9 typ host tcptype active"));
    /// let passive = Candidate::host_tcp("192.0.2.1:443".parse().unwrap(), TcpType::Passive);
    /// assert!(passive.priority < Candidate::host("192.0.2.1:5000".parse().unwrap()).priority);
    /// ```
    pub fn host_tcp(address: SocketAddr, tcp_type: TcpType) -> Self {
        let address = match tcp_type {
            TcpType::Active => SocketAddr::new(address.ip(), 9),
            TcpType::Passive | TcpType::So => address,
        };
        let mut c = Self::new(CandidateKind::Host, address, None);
        c.transport = Transport::Tcp;
        c.tcp_type = Some(tcp_type);
        c.priority = priority_for(
            CandidateKind::Host,
            Transport::Tcp,
            tcp_local_preference(CandidateKind::Host, tcp_type, 0x1FFF),
            1,
        );
        c
    }

    /// A UDP server-reflexive candidate of component 1: `address` as a STUN server saw
    /// `base`, the host candidate it was learnt from.
    pub fn server_reflexive(address: SocketAddr, base: SocketAddr) -> Self {
        Self::new(CandidateKind::ServerReflexive, address, Some(base))
    }

    /// A UDP relayed candidate of component 1: `address` allocated on a TURN server that saw
    /// this agent at `mapped`.
    pub fn relayed(address: SocketAddr, mapped: SocketAddr) -> Self {
        Self::new(CandidateKind::Relayed, address, Some(mapped))
    }

    /// A peer-reflexive candidate with an explicit priority (RFC 8445 §7.2.5.3.1 uses the
    /// PRIORITY sent in the check).
    pub fn peer_reflexive(address: SocketAddr, base: SocketAddr, priority: u32) -> Self {
        let mut c = Self::new(CandidateKind::PeerReflexive, address, Some(base));
        c.priority = priority;
        c
    }

    fn new(kind: CandidateKind, address: SocketAddr, related: Option<SocketAddr>) -> Self {
        Candidate {
            foundation: String::new(),
            component: 1,
            transport: Transport::Udp,
            priority: priority(kind, MAX_LOCAL_PREFERENCE, 1),
            address,
            kind,
            related_address: related,
            tcp_type: None,
            ufrag: None,
        }
    }

    /// Sets the local preference (RFC 8445 §5.1.2.1: distinct per interface on a multihomed
    /// host; RFC 8421 orders IPv6 and IPv4) and recomputes the priority.
    ///
    /// For a TCP candidate, `local_preference` is the whole RFC 6544 §4.2 value (see
    /// [`tcp_local_preference`]).
    pub fn with_local_preference(mut self, local_preference: u16) -> Self {
        self.priority = priority_for(self.kind, self.transport, local_preference, self.component);
        self
    }

    /// The local preference encoded in the priority.
    pub fn local_preference(&self) -> u16 {
        ((self.priority >> 8) & 0xffff) as u16
    }

    /// The base (RFC 8445 §5.1.1): the address a local candidate sends from. Host and
    /// relayed candidates are their own base; reflexive ones name it in the related address.
    pub fn base(&self) -> Option<SocketAddr> {
        match self.kind {
            CandidateKind::Host | CandidateKind::Relayed => Some(self.address),
            CandidateKind::ServerReflexive | CandidateKind::PeerReflexive => self.related_address,
        }
    }

    /// The candidate as `weft-sdp` models it, for an offer, an answer or a trickled
    /// `candidate` string.
    pub fn to_sdp(&self) -> weft_sdp::Candidate {
        let mut c = weft_sdp::Candidate::host(
            self.foundation.clone(),
            self.component,
            match self.transport {
                Transport::Udp => "udp",
                Transport::Tcp | Transport::Tls => "tcp",
            },
            self.priority,
            self.address.ip().to_string(),
            self.address.port(),
        );
        c.kind = match self.kind {
            CandidateKind::Host => weft_sdp::CandidateType::Host,
            CandidateKind::ServerReflexive => weft_sdp::CandidateType::Srflx,
            CandidateKind::PeerReflexive => weft_sdp::CandidateType::Prflx,
            CandidateKind::Relayed => weft_sdp::CandidateType::Relay,
        };
        if let Some(r) = self.related_address {
            c.related_address = Some(r.ip().to_string());
            c.related_port = Some(r.port());
        }
        c.tcp_type = self.tcp_type;
        c.ufrag = self.ufrag.clone();
        c
    }
}

/// Converts a parsed SDP candidate. Fails when the address is a name (resolve mDNS first),
/// the transport is neither UDP nor TCP, the type is unknown, or a related address is
/// incomplete.
impl TryFrom<&weft_sdp::Candidate> for Candidate {
    type Error = ParseError;

    fn try_from(c: &weft_sdp::Candidate) -> Result<Self, ParseError> {
        let err = |kind| Err(ParseError::new(kind, 0));
        let transport = if c.is_udp() {
            Transport::Udp
        } else if c.is_tcp() {
            Transport::Tcp
        } else {
            return err(ParseErrorKind::UnsupportedTransport);
        };
        let Ok(ip) = c.address.parse::<IpAddr>() else {
            return err(ParseErrorKind::UnresolvedAddress);
        };
        let kind = match c.kind {
            weft_sdp::CandidateType::Host => CandidateKind::Host,
            weft_sdp::CandidateType::Srflx => CandidateKind::ServerReflexive,
            weft_sdp::CandidateType::Prflx => CandidateKind::PeerReflexive,
            weft_sdp::CandidateType::Relay => CandidateKind::Relayed,
            weft_sdp::CandidateType::Other(_) => return err(ParseErrorKind::UnknownType),
        };
        let related_address = match (&c.related_address, c.related_port) {
            (None, None) => None,
            (Some(a), Some(p)) => match a.parse::<IpAddr>() {
                Ok(ip) => Some(SocketAddr::new(ip, p)),
                // Browsers hiding addresses write `raddr 0.0.0.0` or a name: drop it, it is
                // informational only (RFC 8445 §5.3).
                Err(_) => None,
            },
            _ => return err(ParseErrorKind::IncompleteRelatedAddress),
        };
        if c.component == 0 || c.component > 256 {
            return err(ParseErrorKind::BadComponent);
        }
        if !is_foundation(&c.foundation) {
            return err(ParseErrorKind::BadFoundation);
        }
        Ok(Candidate {
            foundation: c.foundation.clone(),
            component: c.component,
            transport,
            priority: c.priority,
            address: SocketAddr::new(ip, c.port),
            kind,
            related_address,
            tcp_type: c.tcp_type,
            ufrag: c.ufrag.clone(),
        })
    }
}

/// RFC 8839 §5.1: a foundation is 1 to 32 ice-chars (ALPHA / DIGIT / "+" / "/").
pub(crate) fn is_foundation(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Parses `candidate:...`, `a=candidate:...` or the bare attribute value.
impl FromStr for Candidate {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let sdp: weft_sdp::Candidate = s
            .parse()
            .map_err(|_| ParseError::new(ParseErrorKind::Syntax, 0))?;
        Candidate::try_from(&sdp)
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_sdp(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc8445_priorities() {
        // RFC 8445 §5.1.2.1 with the §5.1.2.2 type preferences.
        assert_eq!(priority(CandidateKind::Host, 65535, 1), 0x7EFF_FFFF);
        assert_eq!(
            priority(CandidateKind::PeerReflexive, 65535, 1),
            0x6EFF_FFFF
        );
        assert_eq!(priority(CandidateKind::Relayed, 65535, 2), 0x00FF_FFFE);
        let c = Candidate::host("192.0.2.1:5000".parse().unwrap()).with_local_preference(100);
        assert_eq!(c.local_preference(), 100);
        assert_eq!(c.priority, (126 << 24) + (100 << 8) + 255);
    }

    #[test]
    fn parses_rfc8839_example_and_writes_it_back() {
        let s = "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998";
        let c: Candidate = s.parse().unwrap();
        assert_eq!(c.kind, CandidateKind::ServerReflexive);
        assert_eq!(c.base(), Some("10.0.1.1:8998".parse().unwrap()));
        assert_eq!(c.transport, Transport::Udp);
        assert_eq!(
            c.to_string(),
            "2 1 udp 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998"
        );
    }

    #[test]
    fn parses_browser_candidates() {
        let c: Candidate = "candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag Xy9q network-cost 999"
            .parse()
            .unwrap();
        assert_eq!(c.ufrag.as_deref(), Some("Xy9q"));
        assert_eq!(c.related_address, Some("0.0.0.0:0".parse().unwrap()));
        let tcp: Candidate =
            "candidate:1 1 tcp 1518280447 192.0.2.9 9 typ host tcptype active generation 0"
                .parse()
                .unwrap();
        assert_eq!(tcp.transport, Transport::Tcp);
        assert_eq!(tcp.tcp_type, Some(TcpType::Active));
        let mdns =
            "candidate:1 1 udp 2122260223 3f1c2a9e-1b2c-4d5e-8f90-0123456789ab.local 5000 typ host"
                .parse::<Candidate>();
        assert_eq!(mdns.unwrap_err().kind, ParseErrorKind::UnresolvedAddress);
        assert_eq!(
            "1 1 sctp 1 192.0.2.1 1 typ host"
                .parse::<Candidate>()
                .unwrap_err()
                .kind,
            ParseErrorKind::UnsupportedTransport
        );
        assert_eq!(
            "1 1 udp 1 192.0.2.1 1 typ weird"
                .parse::<Candidate>()
                .unwrap_err()
                .kind,
            ParseErrorKind::UnknownType
        );
        assert_eq!(
            "garbage".parse::<Candidate>().unwrap_err().kind,
            ParseErrorKind::Syntax
        );
        // Found by the ice_candidate fuzz target: a foundation that is not ice-chars (here
        // one left by a doubled prefix) would not survive writing and parsing again.
        assert_eq!(
            "candidate:candidate:1 1 udp 1 192.0.2.1 1 typ host"
                .parse::<Candidate>()
                .unwrap_err()
                .kind,
            ParseErrorKind::BadFoundation
        );
    }

    fn arb_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, p)| SocketAddr::from((ip, p))),
        ]
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            "[a-zA-Z0-9+/]{1,32}",
            1u16..=256,
            prop_oneof![Just(Transport::Udp), Just(Transport::Tcp)],
            any::<u32>(),
            arb_addr(),
            prop_oneof![
                Just(CandidateKind::Host),
                Just(CandidateKind::ServerReflexive),
                Just(CandidateKind::PeerReflexive),
                Just(CandidateKind::Relayed)
            ],
            proptest::option::of(arb_addr()),
            proptest::option::of(prop_oneof![
                Just(TcpType::Active),
                Just(TcpType::Passive),
                Just(TcpType::So)
            ]),
            proptest::option::of("[a-zA-Z0-9+/]{4,32}"),
        )
            .prop_map(
                |(foundation, component, transport, priority, address, kind, related, tcp, uf)| {
                    Candidate {
                        foundation,
                        component,
                        transport,
                        priority,
                        address,
                        kind,
                        related_address: related,
                        tcp_type: tcp,
                        ufrag: uf,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn attribute_round_trips(c in arb_candidate()) {
            let text = c.to_string();
            prop_assert_eq!(text.parse::<Candidate>().unwrap(), c.clone());
            let prefixed = format!("a=candidate:{text}\r\n");
            prop_assert_eq!(prefixed.parse::<Candidate>().unwrap(), c);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = s.parse::<Candidate>();
        }

        #[test]
        fn parsing_near_valid_text_never_panics(
            c in arb_candidate(),
            cut in 0usize..200,
            junk in "[ 0-9a-z.:]{0,10}",
        ) {
            let mut s = c.to_string();
            s.truncate(cut.min(s.len()));
            s.push_str(&junk);
            let _ = s.parse::<Candidate>();
        }
    }
}
