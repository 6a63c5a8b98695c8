//! The ICE `candidate` attribute (RFC 8839 §5.1), with the extensions browsers send.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::grammar::{keyword, parse_number, tokens, write_num};

/// An ICE candidate (RFC 8839 §5.1), as in `a=candidate:` or a trickled
/// `RTCIceCandidate.candidate`.
///
/// The known extensions (`tcptype` from RFC 6544, and `generation`, `ufrag`, `network-id`,
/// `network-cost` from browsers) get typed fields; any other extension is kept in
/// [`extensions`](Self::extensions) in its original order. Serialization writes `raddr`,
/// `rport`, `tcptype`, `generation`, `ufrag`, `network-id`, `network-cost`, then the other
/// extensions: the order Chrome and Firefox use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Candidate {
    /// Foundation: candidates with the same one share a base and a server.
    pub foundation: String,
    /// Component id: 1 for RTP, 2 for RTCP.
    pub component: u16,
    /// Transport token as written (`udp`, `UDP`, `tcp`...); compare with
    /// [`is_udp`](Self::is_udp) and [`is_tcp`](Self::is_tcp), which ignore case.
    pub transport: String,
    /// Priority (RFC 8445 §5.1.2).
    pub priority: u32,
    /// Address: an IP literal, or a name (an mDNS `.local` name in browsers that hide
    /// addresses).
    pub address: String,
    /// Port.
    pub port: u16,
    /// Candidate type.
    pub kind: CandidateType,
    /// `raddr`: the related address.
    pub related_address: Option<String>,
    /// `rport`: the related port.
    pub related_port: Option<u16>,
    /// `tcptype` (RFC 6544 §4.5).
    pub tcp_type: Option<TcpType>,
    /// `generation` (browser extension; grows with each ICE restart).
    pub generation: Option<u32>,
    /// `ufrag` (browser extension; the ufrag of the ICE generation it belongs to).
    pub ufrag: Option<String>,
    /// `network-id` (Chrome).
    pub network_id: Option<u32>,
    /// `network-cost` (Chrome).
    pub network_cost: Option<u32>,
    /// Other extensions as `(name, value)`, in order.
    pub extensions: Vec<(String, String)>,
}

/// A candidate's `typ` (RFC 8839 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// `host`.
    Host,
    /// `srflx`: server reflexive.
    Srflx,
    /// `prflx`: peer reflexive.
    Prflx,
    /// `relay`.
    Relay,
    /// Any other token, kept as written.
    Other(String),
}

/// The `tcptype` of an ICE-TCP candidate (RFC 6544 §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType {
    /// `active`: opens connections.
    Active,
    /// `passive`: accepts connections.
    Passive,
    /// `so`: simultaneous open.
    So,
}

/// Why a candidate string could not be parsed on its own (see [`Candidate::from_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("candidate does not follow RFC 8839 §5.1")]
pub struct CandidateError;

impl Candidate {
    /// A host candidate with no extensions.
    pub fn host(
        foundation: impl Into<String>,
        component: u16,
        transport: impl Into<String>,
        priority: u32,
        address: impl Into<String>,
        port: u16,
    ) -> Self {
        Candidate {
            foundation: foundation.into(),
            component,
            transport: transport.into(),
            priority,
            address: address.into(),
            port,
            kind: CandidateType::Host,
            related_address: None,
            related_port: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
            extensions: Vec::new(),
        }
    }

    /// Whether the transport is UDP (in any case).
    pub fn is_udp(&self) -> bool {
        self.transport.eq_ignore_ascii_case("udp")
    }

    /// Whether the transport is TCP (in any case).
    pub fn is_tcp(&self) -> bool {
        self.transport.eq_ignore_ascii_case("tcp")
    }

    /// The address as an IP, when it is an IP literal rather than a name.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }

    /// Parses the value of the attribute (what follows `candidate:`).
    pub(crate) fn parse_value(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        if t.len() < 8 || t[6] != "typ" || (t.len() - 8) % 2 != 0 {
            return None;
        }
        let mut c = Candidate::host(
            t[0],
            parse_number(t[1])?,
            t[2],
            parse_number(t[3])?,
            t[4],
            parse_number(t[5])?,
        );
        let kinds = [("host", 0), ("srflx", 1), ("prflx", 2), ("relay", 3)];
        c.kind = match keyword(t[7], &kinds) {
            Some(0) => CandidateType::Host,
            Some(1) => CandidateType::Srflx,
            Some(2) => CandidateType::Prflx,
            Some(_) => CandidateType::Relay,
            None => CandidateType::Other(t[7].to_owned()),
        };
        // RFC 8839 §5.1: rel-addr and rel-port, then extension name/value pairs. The first
        // occurrence of a name this crate knows fills its field; repeats stay extensions so
        // nothing is lost.
        for pair in t[8..].chunks_exact(2) {
            let (name, value) = (pair[0], pair[1]);
            match name {
                "raddr" if c.related_address.is_none() => c.related_address = Some(value.into()),
                "rport" if c.related_port.is_none() => c.related_port = Some(parse_number(value)?),
                "tcptype" if c.tcp_type.is_none() => {
                    c.tcp_type = Some(keyword(
                        value,
                        &[
                            ("active", TcpType::Active),
                            ("passive", TcpType::Passive),
                            ("so", TcpType::So),
                        ],
                    )?)
                }
                "generation" if c.generation.is_none() => c.generation = Some(parse_number(value)?),
                "ufrag" if c.ufrag.is_none() => c.ufrag = Some(value.into()),
                "network-id" if c.network_id.is_none() => c.network_id = Some(parse_number(value)?),
                "network-cost" if c.network_cost.is_none() => {
                    c.network_cost = Some(parse_number(value)?)
                }
                _ => c.extensions.push((name.into(), value.into())),
            }
        }
        Some(c)
    }
}

/// Parses a candidate as trickled: `candidate:...`, `a=candidate:...`, or the bare value.
impl FromStr for Candidate {
    type Err = CandidateError;

    fn from_str(s: &str) -> Result<Self, CandidateError> {
        let s = s.trim_end_matches(['\r', '\n', ' ', '\t']);
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        Candidate::parse_value(s).ok_or(CandidateError)
    }
}

impl fmt::Display for CandidateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
            CandidateType::Other(s) => s,
        })
    }
}

impl fmt::Display for TcpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::So => "so",
        })
    }
}

/// Writes the attribute value (without `candidate:`), as [`Attribute`](crate::Attribute)
/// does after `a=candidate:`.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Candidate {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        let pair = |w: &mut dyn fmt::Write, k: &str, v: &str| {
            w.write_str(" ")?;
            w.write_str(k)?;
            w.write_str(" ")?;
            w.write_str(v)
        };
        let num_pair = |w: &mut dyn fmt::Write, k: &str, n: u32| {
            w.write_str(" ")?;
            w.write_str(k)?;
            w.write_str(" ")?;
            write_num(w, n)
        };
        w.write_str(&self.foundation)?;
        w.write_str(" ")?;
        write_num(w, self.component)?;
        w.write_str(" ")?;
        w.write_str(&self.transport)?;
        w.write_str(" ")?;
        write_num(w, self.priority)?;
        w.write_str(" ")?;
        w.write_str(&self.address)?;
        w.write_str(" ")?;
        write_num(w, self.port)?;
        w.write_str(" typ ")?;
        write!(w, "{}", self.kind)?;
        if let Some(a) = &self.related_address {
            pair(w, "raddr", a)?;
        }
        if let Some(p) = self.related_port {
            num_pair(w, "rport", p.into())?;
        }
        if let Some(t) = self.tcp_type {
            write!(w, " tcptype {t}")?;
        }
        if let Some(g) = self.generation {
            num_pair(w, "generation", g)?;
        }
        if let Some(u) = &self.ufrag {
            pair(w, "ufrag", u)?;
        }
        if let Some(n) = self.network_id {
            num_pair(w, "network-id", n)?;
        }
        if let Some(n) = self.network_cost {
            num_pair(w, "network-cost", n)?;
        }
        for (k, v) in &self.extensions {
            pair(w, k, v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chrome_host_with_extensions() {
        let c: Candidate = "candidate:814457233 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 ufrag kg2x network-id 1 network-cost 50"
            .parse()
            .unwrap();
        assert!(c.is_tcp());
        assert_eq!(c.tcp_type, Some(TcpType::Active));
        assert_eq!(c.generation, Some(0));
        assert_eq!(c.ufrag.as_deref(), Some("kg2x"));
        assert_eq!(c.network_id, Some(1));
        assert_eq!(c.network_cost, Some(50));
        assert_eq!(c.port, 9);
        assert_eq!(
            c.to_string(),
            "814457233 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 ufrag kg2x network-id 1 network-cost 50"
        );
    }

    #[test]
    fn parses_rfc8839_srflx_with_related_address() {
        // RFC 8839 §5.1 example.
        let c: Candidate =
            "candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998"
                .parse()
                .unwrap();
        assert_eq!(c.kind, CandidateType::Srflx);
        assert_eq!(c.related_address.as_deref(), Some("10.0.1.1"));
        assert_eq!(c.related_port, Some(8998));
        assert!(c.is_udp());
        assert_eq!(c.ip(), Some("192.0.2.3".parse().unwrap()));
    }

    #[test]
    fn keeps_unknown_extensions_in_order() {
        let c: Candidate = "1 1 udp 1 host.local 1 typ host zz 1 aa 2 generation 3 generation 4"
            .parse()
            .unwrap();
        assert_eq!(c.generation, Some(3));
        assert_eq!(
            c.extensions,
            vec![
                ("zz".into(), "1".into()),
                ("aa".into(), "2".into()),
                ("generation".into(), "4".into())
            ]
        );
        assert_eq!(c.ip(), None);
        let c: Candidate = "1 1 UDP 1 192.0.2.1 1 typ HOST tcptype Passive"
            .parse()
            .unwrap();
        assert_eq!(
            (c.kind, c.tcp_type),
            (CandidateType::Host, Some(TcpType::Passive))
        );
    }

    #[test]
    fn rejects_broken_candidates() {
        for bad in [
            "",
            "1 1 udp 1 1.2.3.4 1 host",
            "1 1 udp 1 1.2.3.4 1 typ",
            "1 1 udp 1 1.2.3.4 70000 typ host",
            "1 1 udp 99999999999 1.2.3.4 1 typ host",
            "1 1 udp 1 1.2.3.4 1 typ host raddr",
            "1 1 udp 1 1.2.3.4 1 typ host tcptype sideways",
            "1 1 udp 1 1.2.3.4 1 typ host generation x",
            "1  1 udp 1 1.2.3.4 1 typ host",
        ] {
            assert_eq!(bad.parse::<Candidate>(), Err(CandidateError), "{bad}");
        }
    }
}
