//! STUN and TURN URIs (RFC 7064, RFC 7065).

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use thiserror::Error;

/// The scheme of a [`Uri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `stun:` (RFC 7064), UDP or TCP.
    Stun,
    /// `stuns:` (RFC 7064), over TLS (or DTLS).
    Stuns,
    /// `turn:` (RFC 7065).
    Turn,
    /// `turns:` (RFC 7065), over TLS (or DTLS with `?transport=udp`).
    Turns,
}

impl Scheme {
    /// The port when the URI names none: 3478, or 5349 for the secure schemes.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Stun | Scheme::Turn => 3478,
            Scheme::Stuns | Scheme::Turns => 5349,
        }
    }

    /// Whether the scheme runs over (D)TLS.
    pub fn is_secure(self) -> bool {
        matches!(self, Scheme::Stuns | Scheme::Turns)
    }

    /// Whether this is a TURN scheme.
    pub fn is_turn(self) -> bool {
        matches!(self, Scheme::Turn | Scheme::Turns)
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Stun => "stun",
            Scheme::Stuns => "stuns",
            Scheme::Turn => "turn",
            Scheme::Turns => "turns",
        }
    }
}

/// The host of a [`Uri`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IPv4 or IPv6 address (IPv6 written in brackets in the URI).
    Ip(IpAddr),
    /// A name to resolve (lowercased).
    Domain(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
            Host::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            Host::Domain(d) => f.write_str(d),
        }
    }
}

/// The `?transport=` of a TURN URI (RFC 7065 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UriTransport {
    /// `udp`: UDP for `turn:`, DTLS for `turns:`.
    Udp,
    /// `tcp`: TCP for `turn:`, TLS for `turns:`.
    Tcp,
}

/// A parsed `stun:`, `stuns:`, `turn:` or `turns:` URI.
///
/// ```
/// use weft_stun::{Uri, Scheme, UriTransport};
/// let u: Uri = "turn:[2001:db8::1]:3479?transport=tcp".parse()?;
/// assert_eq!(u.scheme, Scheme::Turn);
/// assert_eq!(u.port(), 3479);
/// assert_eq!(u.transport(), UriTransport::Tcp);
/// assert_eq!(u.to_string(), "turn:[2001:db8::1]:3479?transport=tcp");
/// let s: Uri = "stun:stun.example.org".parse()?;
/// assert_eq!(s.port(), 3478);
/// # Ok::<(), weft_stun::UriError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The host.
    pub host: Host,
    /// The port, when the URI names one.
    pub explicit_port: Option<u16>,
    /// The transport, when a TURN URI names one.
    pub explicit_transport: Option<UriTransport>,
}

impl Uri {
    /// The port: the explicit one, else the scheme's default.
    pub fn port(&self) -> u16 {
        self.explicit_port
            .unwrap_or_else(|| self.scheme.default_port())
    }

    /// The transport: the explicit one, else UDP for `stun:`/`turn:` and TCP (that is, TLS)
    /// for `stuns:`/`turns:` (RFC 7065 §3).
    pub fn transport(&self) -> UriTransport {
        self.explicit_transport
            .unwrap_or(if self.scheme.is_secure() {
                UriTransport::Tcp
            } else {
                UriTransport::Udp
            })
    }
}

/// Why a URI was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum UriError {
    /// The scheme is missing or not one of stun, stuns, turn, turns.
    #[error("scheme must be stun, stuns, turn or turns")]
    Scheme,
    /// The host is empty.
    #[error("missing host")]
    MissingHost,
    /// The host has characters a host name cannot have, or a bad IPv6 literal.
    #[error("invalid host {0:?}")]
    Host(String),
    /// The port is not a number from 0 to 65535.
    #[error("invalid port {0:?}")]
    Port(String),
    /// STUN URIs take no query; TURN URIs take only `transport=udp|tcp`.
    #[error("invalid query {0:?}: only turn/turns take ?transport=udp|tcp")]
    Query(String),
    /// User information, paths and fragments are not part of STUN/TURN URIs.
    #[error("unexpected {0:?}: STUN/TURN URIs carry no user, path or fragment")]
    Unexpected(String),
}

impl FromStr for Uri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        let (scheme, rest) = s.split_once(':').ok_or(UriError::Scheme)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "stun" => Scheme::Stun,
            "stuns" => Scheme::Stuns,
            "turn" => Scheme::Turn,
            "turns" => Scheme::Turns,
            _ => return Err(UriError::Scheme),
        };
        if rest.starts_with("//") || rest.contains(['@', '/', '#']) {
            return Err(UriError::Unexpected(rest.to_string()));
        }
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let explicit_transport = match query {
            None => None,
            Some(q) if scheme.is_turn() => Some(
                match q
                    .strip_prefix("transport=")
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("udp") => UriTransport::Udp,
                    Some("tcp") => UriTransport::Tcp,
                    _ => return Err(UriError::Query(q.to_string())),
                },
            ),
            Some(q) => return Err(UriError::Query(q.to_string())),
        };
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (v6, after) = inner
                .split_once(']')
                .ok_or_else(|| UriError::Host(authority.to_string()))?;
            let ip: Ipv6Addr = v6.parse().map_err(|_| UriError::Host(v6.to_string()))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| UriError::Port(p.to_string()))?,
                ),
            };
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let (h, p) = match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if h.is_empty() {
                return Err(UriError::MissingHost);
            }
            let host = match h.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => Host::Ip(IpAddr::V4(ip)),
                Err(_) if valid_reg_name(h) => Host::Domain(h.to_ascii_lowercase()),
                Err(_) => return Err(UriError::Host(h.to_string())),
            };
            (host, p)
        };
        let explicit_port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(p.parse().map_err(|_| UriError::Port(p.to_string()))?)
            }
            Some(p) => return Err(UriError::Port(p.to_string())),
        };
        Ok(Uri {
            scheme,
            host,
            explicit_port,
            explicit_transport,
        })
    }
}

/// RFC 3986 reg-name restricted to what a DNS name can hold: letters, digits, `-`, `.`, `_`,
/// `~`.
fn valid_reg_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme.as_str(), self.host)?;
        if let Some(p) = self.explicit_port {
            write!(f, ":{p}")?;
        }
        match self.explicit_transport {
            Some(UriTransport::Udp) => f.write_str("?transport=udp"),
            Some(UriTransport::Tcp) => f.write_str("?transport=tcp"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Uri, UriError> {
        s.parse()
    }

    #[test]
    fn parses_and_formats_the_rfc_forms() {
        let cases = [
            (
                "stun:example.org",
                Scheme::Stun,
                "example.org",
                3478,
                UriTransport::Udp,
            ),
            (
                "stuns:example.org",
                Scheme::Stuns,
                "example.org",
                5349,
                UriTransport::Tcp,
            ),
            (
                "stun:192.0.2.1:19302",
                Scheme::Stun,
                "192.0.2.1",
                19302,
                UriTransport::Udp,
            ),
            (
                "turn:example.org?transport=tcp",
                Scheme::Turn,
                "example.org",
                3478,
                UriTransport::Tcp,
            ),
            (
                "turns:Example.ORG:443",
                Scheme::Turns,
                "example.org",
                443,
                UriTransport::Tcp,
            ),
            (
                "turns:example.org?transport=udp",
                Scheme::Turns,
                "example.org",
                5349,
                UriTransport::Udp,
            ),
            ("TURN:[::1]", Scheme::Turn, "[::1]", 3478, UriTransport::Udp),
        ];
        for (s, scheme, host, port, transport) in cases {
            let u = parse(s).unwrap();
            assert_eq!(u.scheme, scheme, "{s}");
            assert_eq!(u.host.to_string(), host, "{s}");
            assert_eq!(u.port(), port, "{s}");
            assert_eq!(u.transport(), transport, "{s}");
            assert_eq!(parse(&u.to_string()).unwrap(), u, "{s} round trip");
        }
    }

    #[test]
    fn rejects_what_the_rfcs_do_not_allow() {
        assert_eq!(parse("http://example.org"), Err(UriError::Scheme));
        assert_eq!(parse("example.org"), Err(UriError::Scheme));
        assert_eq!(parse("stun:"), Err(UriError::MissingHost));
        assert_eq!(parse("stun::3478"), Err(UriError::MissingHost));
        assert_eq!(
            parse("stun:exa mple.org"),
            Err(UriError::Host("exa mple.org".into()))
        );
        assert_eq!(parse("stun:[::1"), Err(UriError::Host("[::1".into())));
        assert_eq!(parse("stun:[zz::1]"), Err(UriError::Host("zz::1".into())));
        assert_eq!(
            parse("stun:host:99999"),
            Err(UriError::Port("99999".into()))
        );
        assert_eq!(parse("stun:host:"), Err(UriError::Port("".into())));
        assert_eq!(parse("stun:host:-1"), Err(UriError::Port("-1".into())));
        assert_eq!(parse("stun:[::1]x"), Err(UriError::Port("x".into())));
        assert_eq!(
            parse("stun:host?transport=udp"),
            Err(UriError::Query("transport=udp".into()))
        );
        assert_eq!(
            parse("turn:host?transport=sctp"),
            Err(UriError::Query("transport=sctp".into()))
        );
        assert!(matches!(
            parse("turn://user@host"),
            Err(UriError::Unexpected(_))
        ));
        assert!(matches!(
            parse("turn:user@host"),
            Err(UriError::Unexpected(_))
        ));
        assert!(matches!(
            parse("turn:host/path"),
            Err(UriError::Unexpected(_))
        ));
    }
}
