//! The session description, its line types, the parser and the serializer.

use std::fmt;
use std::str::FromStr;

use crate::attribute::{Attribute, Direction, Fingerprint, Group, GroupSemantics};
use crate::error::{ParseError, ParseErrorKind};
use crate::grammar::{is_token, parse_number, tokens};
use crate::media::{MediaDescription, MediaKind};

/// Bounds on what the parser accepts, against hostile input.
///
/// The parser checks the total size before looking at the text, then counts lines and
/// measures each before parsing it, so the work and memory of a parse are linear in the
/// input and bounded by these figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest description in bytes (default 1 MiB).
    pub max_size: usize,
    /// The most lines, blank ones included (default 20 000).
    pub max_lines: usize,
    /// The longest line in bytes, line ending included (default 8 KiB).
    pub max_line_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_size: 1 << 20,
            max_lines: 20_000,
            max_line_len: 8 << 10,
        }
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`
/// (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The user name, `-` when there is none.
    pub username: String,
    /// The session id.
    pub session_id: u64,
    /// The session version; JSEP increments it for each new local description
    /// (RFC 8829 §5.2.2).
    pub session_version: u64,
    /// The network type, `IN`.
    pub network_type: String,
    /// The address type, `IP4` or `IP6`.
    pub address_type: String,
    /// The address (browsers put `127.0.0.1` or `0.0.0.0`).
    pub address: String,
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// The network type, `IN`.
    pub network_type: String,
    /// The address type, `IP4` or `IP6`.
    pub address_type: String,
    /// The address, without the `/ttl` and `/count` suffixes.
    pub address: String,
    /// The multicast TTL (`IP4` only).
    pub ttl: Option<u8>,
    /// The number of multicast addresses.
    pub count: Option<u32>,
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bandwidth {
    /// The type: `AS`, `CT`, `TIAS` (RFC 3890)...
    pub kind: String,
    /// The value (kilobits per second for `AS` and `CT`, bits per second for `TIAS`).
    pub value: u64,
}

/// `t=<start-time> <stop-time>` with its `r=` lines (RFC 8866 §5.9-§5.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Timing {
    /// The start, in NTP seconds; 0 for unbounded.
    pub start: u64,
    /// The stop, in NTP seconds; 0 for unbounded.
    pub stop: u64,
    /// The `r=` lines that follow, verbatim.
    pub repeats: Vec<String>,
}

/// A whole session description (RFC 8866 §5): session-level lines, then media sections.
///
/// Parse with [`decode`](Self::decode), [`parse`](Self::parse) or [`str::parse`];
/// serialize with [`encode`](Self::encode) or `to_string()` (CRLF line endings, the line
/// order of RFC 8866 §5). Build one with [`SessionDescription::builder`].
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`, verbatim (`-` from browsers).
    pub session_name: String,
    /// `i=`, verbatim.
    pub information: Option<String>,
    /// `u=`, verbatim.
    pub uri: Option<String>,
    /// `e=` lines, verbatim.
    pub emails: Vec<String>,
    /// `p=` lines, verbatim.
    pub phones: Vec<String>,
    /// `c=`.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines; at least one.
    pub timing: Vec<Timing>,
    /// `z=`, verbatim.
    pub time_zones: Option<String>,
    /// `k=` (obsolete), verbatim.
    pub key: Option<String>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// The media sections (`m=` and what follows), in order.
    pub media: Vec<MediaDescription>,
}

/// ICE credentials of a media section (see [`SessionDescription::ice_credentials`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IceCredentials<'a> {
    /// `ice-ufrag`.
    pub ufrag: &'a str,
    /// `ice-pwd`.
    pub pwd: &'a str,
}

impl SessionDescription {
    /// Parses SDP bytes with the default [`Limits`].
    pub fn decode(input: &[u8]) -> Result<Self, ParseError> {
        Self::decode_with(input, &Limits::default())
    }

    /// Parses SDP bytes with the given limits.
    pub fn decode_with(input: &[u8], limits: &Limits) -> Result<Self, ParseError> {
        if input.len() > limits.max_size {
            return Err(ParseError::whole(ParseErrorKind::TooLarge {
                limit: limits.max_size,
            }));
        }
        match std::str::from_utf8(input) {
            Ok(text) => Self::parse_with(text, limits),
            Err(e) => {
                let valid = &input[..e.valid_up_to()];
                let start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                let line = 1 + valid.iter().filter(|b| **b == b'\n').count();
                // `valid` is the UTF-8 prefix, so any slice of it on line starts is UTF-8.
                let text = std::str::from_utf8(&valid[start..]).unwrap_or("");
                Err(ParseError::new(
                    ParseErrorKind::InvalidUtf8,
                    line,
                    start,
                    text,
                ))
            }
        }
    }

    /// Parses SDP text with the default [`Limits`].
    #[allow(clippy::should_implement_trait)] // FromStr is implemented too; this reads better
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        Self::parse_with(text, &Limits::default())
    }

    /// Parses SDP text with the given limits.
    pub fn parse_with(text: &str, limits: &Limits) -> Result<Self, ParseError> {
        if text.len() > limits.max_size {
            return Err(ParseError::whole(ParseErrorKind::TooLarge {
                limit: limits.max_size,
            }));
        }
        let mut d = Parser::default().run(text, limits)?;
        // Parsed descriptions are kept for a connection's lifetime (JSEP's current and
        // pending ones): the vectors give back what growing them left unused.
        d.attributes.shrink_to_fit();
        d.media.shrink_to_fit();
        for m in &mut d.media {
            m.attributes.shrink_to_fit();
        }
        Ok(d)
    }

    /// Appends the description, with CRLF line endings, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        // Writing into a Vec never fails.
        let _ = self.write(&mut VecWriter(out));
    }

    /// The length of [`encode`](Self::encode)'s output.
    pub fn encoded_len(&self) -> usize {
        let mut c = Counter(0);
        let _ = self.write(&mut c);
        c.0
    }

    fn write(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_str("v=0\r\n")?;
        let o = &self.origin;
        write!(
            w,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.network_type, o.address_type, o.address
        )?;
        write!(w, "s={}\r\n", self.session_name)?;
        if let Some(i) = &self.information {
            write!(w, "i={i}\r\n")?;
        }
        if let Some(u) = &self.uri {
            write!(w, "u={u}\r\n")?;
        }
        for e in &self.emails {
            write!(w, "e={e}\r\n")?;
        }
        for p in &self.phones {
            write!(w, "p={p}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(w, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(w, "b={b}\r\n")?;
        }
        for t in &self.timing {
            write!(w, "t={} {}\r\n", t.start, t.stop)?;
            for r in &t.repeats {
                write!(w, "r={r}\r\n")?;
            }
        }
        if let Some(z) = &self.time_zones {
            write!(w, "z={z}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(w, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            w.write_str("a=")?;
            a.write_to(w)?;
            w.write_str("\r\n")?;
        }
        for m in &self.media {
            m.write(w)?;
        }
        Ok(())
    }

    /// The media section whose `mid` is `mid`.
    pub fn media_by_mid(&self, mid: &str) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.mid() == Some(mid))
    }

    /// The media section whose `mid` is `mid`, to change it.
    pub fn media_by_mid_mut(&mut self, mid: &str) -> Option<&mut MediaDescription> {
        self.media.iter_mut().find(|m| m.mid() == Some(mid))
    }

    /// Session-level attributes named `name`.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> {
        self.attributes.iter().filter(move |a| a.name() == name)
    }

    /// The `group` attributes.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.attributes.iter().filter_map(|a| match a {
            Attribute::Group(g) => Some(g),
            _ => None,
        })
    }

    /// The first `BUNDLE` group (RFC 8843).
    pub fn bundle_group(&self) -> Option<&Group> {
        self.groups()
            .find(|g| g.semantics == GroupSemantics::Bundle)
    }

    /// Whether the session has `a=ice-lite` (RFC 8839 §5.3).
    pub fn is_ice_lite(&self) -> bool {
        self.attributes.contains(&Attribute::IceLite)
    }

    /// The ICE credentials for `media`: its own `ice-ufrag` and `ice-pwd`, each falling
    /// back to the session level (RFC 8839 §5.4). `None` if either is missing at both.
    pub fn ice_credentials<'a>(
        &'a self,
        media: &'a MediaDescription,
    ) -> Option<IceCredentials<'a>> {
        let ufrag = media
            .ice_ufrag()
            .or_else(|| find_str(&self.attributes, "ice-ufrag"))?;
        let pwd = media
            .ice_pwd()
            .or_else(|| find_str(&self.attributes, "ice-pwd"))?;
        Some(IceCredentials { ufrag, pwd })
    }

    /// The `ice-options` for `media`, falling back to the session level (Firefox puts
    /// them there).
    pub fn ice_options<'a>(&'a self, media: &'a MediaDescription) -> &'a [String] {
        let find = |attrs: &'a [Attribute]| {
            attrs.iter().find_map(|a| match a {
                Attribute::IceOptions(o) => Some(o.as_slice()),
                _ => None,
            })
        };
        find(&media.attributes)
            .or_else(|| find(&self.attributes))
            .unwrap_or(&[])
    }

    /// The fingerprints for `media`: its own, or the session-level ones (RFC 8122 §5
    /// allows both; Firefox uses the session level).
    pub fn fingerprints<'a>(&'a self, media: &'a MediaDescription) -> Vec<&'a Fingerprint> {
        let own: Vec<_> = media.fingerprints().collect();
        if !own.is_empty() {
            return own;
        }
        self.attributes
            .iter()
            .filter_map(|a| match a {
                Attribute::Fingerprint(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    /// The direction of `media`: its own, else the session level's, else `sendrecv`
    /// (RFC 8866 §6.7).
    pub fn direction(&self, media: &MediaDescription) -> Direction {
        media
            .direction()
            .or_else(|| {
                self.attributes.iter().find_map(|a| match a {
                    Attribute::Direction(d) => Some(*d),
                    _ => None,
                })
            })
            .unwrap_or_default()
    }
}

pub(crate) fn find_str<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    attrs.iter().find_map(|a| match (a, name) {
        (Attribute::IceUfrag(s), "ice-ufrag")
        | (Attribute::IcePwd(s), "ice-pwd")
        | (Attribute::Mid(s), "mid") => Some(s.as_str()),
        _ => None,
    })
}

impl FromStr for SessionDescription {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Self::parse(s)
    }
}

/// Writes the description with CRLF line endings.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

impl Connection {
    /// `IN IP4 <address>`.
    pub fn ip4(address: &str) -> Self {
        Connection {
            network_type: "IN".into(),
            address_type: "IP4".into(),
            address: address.into(),
            ttl: None,
            count: None,
        }
    }

    /// `IN IP6 <address>`.
    pub fn ip6(address: &str) -> Self {
        Connection {
            address_type: "IP6".into(),
            ..Self::ip4(address)
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        let [net, addrtype, addr] = t[..] else {
            return None;
        };
        let mut c = Connection {
            network_type: net.to_owned(),
            address_type: addrtype.to_owned(),
            address: addr.to_owned(),
            ttl: None,
            count: None,
        };
        // RFC 8866 §5.7: IP4 multicast is addr/ttl[/count], IP6 multicast addr[/count];
        // other address types are opaque.
        let parts: Vec<&str> = addr.split('/').collect();
        match (addrtype, &parts[..]) {
            (_, [_]) => {}
            ("IP4", [a, ttl]) => (c.address, c.ttl) = ((*a).into(), Some(parse_number(ttl)?)),
            ("IP4", [a, ttl, n]) => {
                (c.address, c.ttl, c.count) = (
                    (*a).into(),
                    Some(parse_number(ttl)?),
                    Some(parse_number(n)?),
                )
            }
            ("IP6", [a, n]) => (c.address, c.count) = ((*a).into(), Some(parse_number(n)?)),
            ("IP4" | "IP6", _) => return None,
            _ => {}
        }
        if c.address.is_empty() {
            return None;
        }
        Some(c)
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.network_type, self.address_type, self.address
        )?;
        if let Some(t) = self.ttl {
            write!(f, "/{t}")?;
        }
        if let Some(n) = self.count {
            write!(f, "/{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

impl Bandwidth {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let (kind, value) = s.split_once(':')?;
        (is_token(kind) && !kind.contains(':'))
            .then(|| {
                Some(Bandwidth {
                    kind: kind.to_owned(),
                    value: parse_number(value)?,
                })
            })
            .flatten()
    }
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

/// The line-by-line parser state.
#[derive(Default)]
struct Parser {
    origin: Option<Origin>,
    session_name: Option<String>,
}

impl Parser {
    fn run(mut self, text: &str, limits: &Limits) -> Result<SessionDescription, ParseError> {
        let mut sd = SessionDescription {
            origin: Origin {
                username: String::new(),
                session_id: 0,
                session_version: 0,
                network_type: String::new(),
                address_type: String::new(),
                address: String::new(),
            },
            session_name: String::new(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: None,
            bandwidths: Vec::new(),
            timing: Vec::new(),
            time_zones: None,
            key: None,
            attributes: Vec::new(),
            media: Vec::new(),
        };
        let mut offset = 0;
        let mut seen_version = false;
        for (index, raw) in text.split('\n').enumerate() {
            let (lineno, start) = (index + 1, offset);
            offset += raw.len() + 1;
            if raw.is_empty() && start == text.len() {
                break; // what follows the final newline
            }
            // RFC 8866 §5: lines end in CRLF, but parsers should accept a bare LF too.
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let err = |kind| ParseError::new(kind, lineno, start, line);
            if lineno > limits.max_lines {
                return Err(err(ParseErrorKind::TooManyLines {
                    limit: limits.max_lines,
                }));
            }
            // The newline counts towards the line's length.
            if raw.len() + usize::from(offset <= text.len()) > limits.max_line_len {
                return Err(err(ParseErrorKind::LineTooLong {
                    limit: limits.max_line_len,
                }));
            }
            if line.is_empty() {
                continue;
            }
            let b = line.as_bytes();
            if b.len() < 2 || b[1] != b'=' {
                return Err(err(ParseErrorKind::BadLine));
            }
            // b[1] is the one-byte '=', so b[0] is a whole character and 2 is a boundary.
            let (typ, value) = (b[0], &line[2..]);
            if !seen_version {
                if typ != b'v' || value != "0" {
                    return Err(err(ParseErrorKind::BadVersion));
                }
                seen_version = true;
                continue;
            }
            self.line(&mut sd, typ, value).map_err(err)?;
        }
        if !seen_version {
            return Err(ParseError::whole(ParseErrorKind::Empty));
        }
        let (Some(origin), Some(name)) = (self.origin, self.session_name) else {
            return Err(ParseError::whole(ParseErrorKind::MissingRequiredLine));
        };
        if sd.timing.is_empty() {
            return Err(ParseError::whole(ParseErrorKind::MissingTiming));
        }
        sd.origin = origin;
        sd.session_name = name;
        Ok(sd)
    }

    fn line(
        &mut self,
        sd: &mut SessionDescription,
        typ: u8,
        v: &str,
    ) -> Result<(), ParseErrorKind> {
        use ParseErrorKind as K;
        fn once<T>(slot: &mut Option<T>, value: T) -> Result<(), ParseErrorKind> {
            match slot.replace(value) {
                None => Ok(()),
                Some(_) => Err(ParseErrorKind::DuplicateLine),
            }
        }
        if typ == b'm' {
            sd.media
                .push(MediaDescription::parse_m_line(v).ok_or(K::BadMedia)?);
            return Ok(());
        }
        if let Some(m) = sd.media.last_mut() {
            // RFC 8866 §5: a media section has i=, c=, b=, k= and a= lines only.
            return match typ {
                b'i' => once(&mut m.information, v.to_owned()),
                b'c' => {
                    m.connections
                        .push(Connection::parse(v).ok_or(K::BadConnection)?);
                    Ok(())
                }
                b'b' => {
                    m.bandwidths
                        .push(Bandwidth::parse(v).ok_or(K::BadBandwidth)?);
                    Ok(())
                }
                b'k' => once(&mut m.key, v.to_owned()),
                b'a' => {
                    m.attributes.push(Attribute::parse(v)?);
                    Ok(())
                }
                b'v' | b'o' | b's' | b'u' | b'e' | b'p' | b't' | b'r' | b'z' => {
                    Err(K::UnexpectedLine)
                }
                _ => Err(K::UnknownLineType),
            };
        }
        match typ {
            b'o' => once(&mut self.origin, parse_origin(v).ok_or(K::BadOrigin)?),
            b's' => once(&mut self.session_name, v.to_owned()),
            b'i' => once(&mut sd.information, v.to_owned()),
            b'u' => once(&mut sd.uri, v.to_owned()),
            b'e' => {
                sd.emails.push(v.to_owned());
                Ok(())
            }
            b'p' => {
                sd.phones.push(v.to_owned());
                Ok(())
            }
            b'c' => once(
                &mut sd.connection,
                Connection::parse(v).ok_or(K::BadConnection)?,
            ),
            b'b' => {
                sd.bandwidths
                    .push(Bandwidth::parse(v).ok_or(K::BadBandwidth)?);
                Ok(())
            }
            b't' => {
                let t = tokens(v).ok_or(K::BadTiming)?;
                let [start, stop] = t[..] else {
                    return Err(K::BadTiming);
                };
                sd.timing.push(Timing {
                    start: parse_number(start).ok_or(K::BadTiming)?,
                    stop: parse_number(stop).ok_or(K::BadTiming)?,
                    repeats: Vec::new(),
                });
                Ok(())
            }
            b'r' => {
                // RFC 8866 §5.10: r= belongs to the t= before it.
                let t = sd.timing.last_mut().ok_or(K::UnexpectedLine)?;
                if v.is_empty() {
                    return Err(K::BadTiming);
                }
                t.repeats.push(v.to_owned());
                Ok(())
            }
            b'z' => once(&mut sd.time_zones, v.to_owned()),
            b'k' => once(&mut sd.key, v.to_owned()),
            b'a' => {
                sd.attributes.push(Attribute::parse(v)?);
                Ok(())
            }
            b'v' => Err(K::DuplicateLine),
            _ => Err(K::UnknownLineType),
        }
    }
}

fn parse_origin(v: &str) -> Option<Origin> {
    let t = tokens(v)?;
    let [user, id, version, net, addrtype, addr] = t[..] else {
        return None;
    };
    Some(Origin {
        username: user.to_owned(),
        session_id: parse_number(id)?,
        session_version: parse_number(version)?,
        network_type: net.to_owned(),
        address_type: addrtype.to_owned(),
        address: addr.to_owned(),
    })
}

impl MediaKind {
    pub(crate) fn from_name(s: &str) -> Self {
        match s {
            "audio" => MediaKind::Audio,
            "video" => MediaKind::Video,
            "application" => MediaKind::Application,
            "text" => MediaKind::Text,
            "message" => MediaKind::Message,
            other => MediaKind::Other(other.to_owned()),
        }
    }
}
