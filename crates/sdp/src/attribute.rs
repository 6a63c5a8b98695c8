//! The `a=` attributes: the typed [`Attribute`] enum and its smaller value types.

use std::fmt;

use crate::candidate::Candidate;
use crate::error::ParseErrorKind;
use crate::grammar::{is_token, keyword, parse_decimal, parse_number, tokens, write_num};
use crate::rtp::{Extmap, Fmtp, RtcpFb, Rtpmap, Ssrc, SsrcGroup};
use crate::session::Connection;
use crate::simulcast::{Rid, Simulcast};

/// One `a=` line.
///
/// Every attribute WebRTC uses has a typed variant that follows its RFC grammar; a line of
/// a known attribute that breaks its grammar is a parse error. Any other attribute is kept
/// verbatim in [`Attribute::Other`], whatever its content, so a round trip loses nothing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Attribute {
    /// `candidate` (RFC 8839 §5.1), boxed: it is by far the largest value, and boxing it
    /// halves the size of every attribute.
    Candidate(Box<Candidate>),
    /// `end-of-candidates` (RFC 8840 §8.1).
    EndOfCandidates,
    /// `ice-ufrag` (RFC 8839 §5.4).
    IceUfrag(String),
    /// `ice-pwd` (RFC 8839 §5.4).
    IcePwd(String),
    /// `ice-options` (RFC 8839 §5.6): `trickle`, `ice2`, `renomination`...
    IceOptions(Vec<String>),
    /// `ice-lite` (RFC 8839 §5.3).
    IceLite,
    /// `fingerprint` (RFC 8122 §5).
    Fingerprint(Fingerprint),
    /// `setup` (RFC 4145 §4).
    Setup(Setup),
    /// `tls-id` (RFC 8842 §4).
    TlsId(String),
    /// `mid` (RFC 5888 §4).
    Mid(String),
    /// `group` (RFC 5888 §5): `BUNDLE` (RFC 8843), `LS`...
    Group(Group),
    /// `msid` (RFC 8830 §2).
    Msid(Msid),
    /// `msid-semantic` (draft-ietf-mmusic-msid, still sent by browsers).
    MsidSemantic(MsidSemantic),
    /// `rtpmap` (RFC 8866 §6.6).
    Rtpmap(Rtpmap),
    /// `fmtp` (RFC 8866 §6.15).
    Fmtp(Fmtp),
    /// `rtcp-fb` (RFC 4585 §4.2).
    RtcpFb(RtcpFb),
    /// `rtcp` (RFC 3605 §2.1).
    Rtcp(Rtcp),
    /// `rtcp-mux` (RFC 5761 §5.1.1).
    RtcpMux,
    /// `rtcp-mux-only` (RFC 8858 §3).
    RtcpMuxOnly,
    /// `rtcp-rsize` (RFC 5506 §5).
    RtcpRsize,
    /// `extmap` (RFC 8285 §8).
    Extmap(Extmap),
    /// `extmap-allow-mixed` (RFC 8285 §6).
    ExtmapAllowMixed,
    /// `ssrc` (RFC 5576 §4.1).
    Ssrc(Ssrc),
    /// `ssrc-group` (RFC 5576 §4.2): `FID`, `SIM`, `FEC-FR`.
    SsrcGroup(SsrcGroup),
    /// `rid` (RFC 8851 §10).
    Rid(Rid),
    /// `simulcast` (RFC 8853 §5.1).
    Simulcast(Simulcast),
    /// `sctp-port` (RFC 8841 §5).
    SctpPort(u16),
    /// `max-message-size` (RFC 8841 §6).
    MaxMessageSize(u64),
    /// `sctpmap` (draft-ietf-mmusic-sctp-sdp-05, legacy; read so that old peers parse).
    Sctpmap(Sctpmap),
    /// `sctp-init` (draft-hancke-tsvwg-snap), kept as the opaque value.
    SctpInit(String),
    /// `sendrecv`, `sendonly`, `recvonly` or `inactive` (RFC 8866 §6.7).
    Direction(Direction),
    /// `bundle-only` (RFC 8843 §6).
    BundleOnly,
    /// `framerate` (RFC 8866 §6.8), in frames per second.
    Framerate(f64),
    /// `ptime` (RFC 8866 §6.4), in milliseconds.
    Ptime(f64),
    /// `maxptime` (RFC 8866 §6.5), in milliseconds.
    Maxptime(f64),
    /// `identity` (RFC 8827 §5), the assertion and its extensions verbatim.
    Identity(String),
    /// Any other attribute, verbatim: `a=<name>` has `value: None`, `a=<name>:<value>` has
    /// the text after the first colon.
    Other {
        /// The name (the text before the first colon).
        name: String,
        /// The value, verbatim.
        value: Option<String>,
    },
}

/// `a=fingerprint:<hash-func> <fingerprint>` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function.
    pub algorithm: HashFunction,
    /// The digest bytes (written as upper-case hex pairs joined by colons).
    pub value: Vec<u8>,
}

/// A fingerprint's hash function (RFC 8122 §5, the IANA "Hash Function Textual Names").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HashFunction {
    /// `sha-1`.
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
    /// `md5` (RFC 8122 says not to use it).
    Md5,
    /// `md2` (RFC 8122 says not to use it).
    Md2,
    /// Any other token, kept as written.
    Other(String),
}

/// `a=setup:` (RFC 4145 §4): which side opens the DTLS connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this side is the DTLS client.
    Active,
    /// `passive`: this side is the DTLS server.
    Passive,
    /// `actpass`: either (offers only, RFC 8842 §5.2).
    ActPass,
    /// `holdconn`: not now.
    HoldConn,
}

/// `a=group:<semantics> <mid> ...` (RFC 5888 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Group {
    /// The semantics.
    pub semantics: GroupSemantics,
    /// The identification tags (mids), in order.
    pub mids: Vec<String>,
}

/// The semantics of a [`Group`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupSemantics {
    /// `BUNDLE` (RFC 8843).
    Bundle,
    /// `LS`: lip synchronization (RFC 5888 §7).
    Ls,
    /// `FID`: flow identification (RFC 5888 §8).
    Fid,
    /// Any other token, kept as written.
    Other(String),
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Msid {
    /// The MediaStream id (`-` for none).
    pub stream: String,
    /// The track id (the `appdata`), when given.
    pub track: Option<String>,
}

/// `a=msid-semantic: <semantic> <id> ...`, as browsers still send it.
///
/// Written with a space after the colon, as Chrome and Safari do; Firefox writes none and
/// accepts both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsidSemantic {
    /// The semantic, `WMS` in practice.
    pub semantic: String,
    /// The stream ids (or `*`).
    pub identifiers: Vec<String>,
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtcp {
    /// The RTCP port.
    pub port: u16,
    /// The RTCP address, when given.
    pub connection: Option<Connection>,
}

/// `a=sctpmap:<port> <protocol> [<streams>]` (draft-ietf-mmusic-sctp-sdp-05, legacy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sctpmap {
    /// The SCTP port.
    pub port: u16,
    /// The protocol, `webrtc-datachannel`.
    pub protocol: String,
    /// The number of streams, when given.
    pub streams: Option<u32>,
}

/// A media direction (RFC 8866 §6.7, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `sendrecv` (the default when no direction is given).
    #[default]
    SendRecv,
    /// `sendonly`.
    SendOnly,
    /// `recvonly`.
    RecvOnly,
    /// `inactive`.
    Inactive,
}

impl Direction {
    /// The attribute name.
    pub fn name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an answer takes to this offered one (RFC 3264 §6.1): `sendonly`
    /// becomes `recvonly` and the reverse; the others stay.
    pub fn reverse(self) -> Self {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<Self> {
        keyword(
            s,
            &[
                ("sendrecv", Direction::SendRecv),
                ("sendonly", Direction::SendOnly),
                ("recvonly", Direction::RecvOnly),
                ("inactive", Direction::Inactive),
            ],
        )
    }
}

impl HashFunction {
    /// The textual name, lower case.
    pub fn name(&self) -> &str {
        match self {
            HashFunction::Sha1 => "sha-1",
            HashFunction::Sha224 => "sha-224",
            HashFunction::Sha256 => "sha-256",
            HashFunction::Sha384 => "sha-384",
            HashFunction::Sha512 => "sha-512",
            HashFunction::Md5 => "md5",
            HashFunction::Md2 => "md2",
            HashFunction::Other(s) => s,
        }
    }

    /// The digest length in bytes, for the functions this crate names.
    pub fn digest_len(&self) -> Option<usize> {
        Some(match self {
            HashFunction::Sha1 => 20,
            HashFunction::Sha224 => 28,
            HashFunction::Sha256 => 32,
            HashFunction::Sha384 => 48,
            HashFunction::Sha512 => 64,
            HashFunction::Md5 | HashFunction::Md2 => 16,
            HashFunction::Other(_) => return None,
        })
    }

    fn from_name(s: &str) -> Self {
        // RFC 8122 §5: hash function names are case-insensitive.
        [
            HashFunction::Sha1,
            HashFunction::Sha224,
            HashFunction::Sha256,
            HashFunction::Sha384,
            HashFunction::Sha512,
            HashFunction::Md5,
            HashFunction::Md2,
        ]
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(s))
        .unwrap_or_else(|| HashFunction::Other(s.to_owned()))
    }
}

impl Fingerprint {
    fn parse(s: &str) -> Option<Self> {
        let (alg, hex) = s.split_once(' ')?;
        if !is_token(alg) {
            return None;
        }
        let algorithm = HashFunction::from_name(alg);
        // RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); lower case is accepted too.
        let value = hex
            .split(':')
            .map(|pair| {
                (pair.len() == 2 && pair.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u8::from_str_radix(pair, 16).ok())
                    .flatten()
            })
            .collect::<Option<Vec<u8>>>()?;
        if algorithm.digest_len().is_some_and(|n| n != value.len()) {
            return None;
        }
        Some(Fingerprint { algorithm, value })
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.name())?;
        for (i, b) in self.value.iter().enumerate() {
            write!(f, "{}{b:02X}", if i == 0 { ' ' } else { ':' })?;
        }
        Ok(())
    }
}

impl Setup {
    /// The attribute value.
    pub fn name(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// The role an answerer takes to this offered setup (RFC 8842 §5.3): `active` to
    /// `actpass` and to `passive`, `passive` to `active`.
    pub fn answer(self) -> Self {
        match self {
            Setup::Active => Setup::Passive,
            Setup::HoldConn => Setup::HoldConn,
            Setup::ActPass | Setup::Passive => Setup::Active,
        }
    }
}

impl Group {
    /// A `BUNDLE` group of the given mids.
    pub fn bundle<'a>(mids: impl IntoIterator<Item = &'a str>) -> Self {
        Group {
            semantics: GroupSemantics::Bundle,
            mids: mids.into_iter().map(str::to_owned).collect(),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        let semantics = match t[0] {
            "BUNDLE" => GroupSemantics::Bundle,
            "LS" => GroupSemantics::Ls,
            "FID" => GroupSemantics::Fid,
            other => GroupSemantics::Other(other.to_owned()),
        };
        Some(Group {
            semantics,
            mids: t[1..].iter().map(|m| (*m).to_owned()).collect(),
        })
    }
}

impl fmt::Display for GroupSemantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupSemantics::Bundle => "BUNDLE",
            GroupSemantics::Ls => "LS",
            GroupSemantics::Fid => "FID",
            GroupSemantics::Other(s) => s,
        })
    }
}

impl Attribute {
    /// The attribute's name, as written after `a=`.
    pub fn name(&self) -> &str {
        match self {
            Attribute::Candidate(_) => "candidate",
            Attribute::EndOfCandidates => "end-of-candidates",
            Attribute::IceUfrag(_) => "ice-ufrag",
            Attribute::IcePwd(_) => "ice-pwd",
            Attribute::IceOptions(_) => "ice-options",
            Attribute::IceLite => "ice-lite",
            Attribute::Fingerprint(_) => "fingerprint",
            Attribute::Setup(_) => "setup",
            Attribute::TlsId(_) => "tls-id",
            Attribute::Mid(_) => "mid",
            Attribute::Group(_) => "group",
            Attribute::Msid(_) => "msid",
            Attribute::MsidSemantic(_) => "msid-semantic",
            Attribute::Rtpmap(_) => "rtpmap",
            Attribute::Fmtp(_) => "fmtp",
            Attribute::RtcpFb(_) => "rtcp-fb",
            Attribute::Rtcp(_) => "rtcp",
            Attribute::RtcpMux => "rtcp-mux",
            Attribute::RtcpMuxOnly => "rtcp-mux-only",
            Attribute::RtcpRsize => "rtcp-rsize",
            Attribute::Extmap(_) => "extmap",
            Attribute::ExtmapAllowMixed => "extmap-allow-mixed",
            Attribute::Ssrc(_) => "ssrc",
            Attribute::SsrcGroup(_) => "ssrc-group",
            Attribute::Rid(_) => "rid",
            Attribute::Simulcast(_) => "simulcast",
            Attribute::SctpPort(_) => "sctp-port",
            Attribute::MaxMessageSize(_) => "max-message-size",
            Attribute::Sctpmap(_) => "sctpmap",
            Attribute::SctpInit(_) => "sctp-init",
            Attribute::Direction(d) => d.name(),
            Attribute::BundleOnly => "bundle-only",
            Attribute::Framerate(_) => "framerate",
            Attribute::Ptime(_) => "ptime",
            Attribute::Maxptime(_) => "maxptime",
            Attribute::Identity(_) => "identity",
            Attribute::Other { name, .. } => name,
        }
    }

    /// Parses the text after `a=`.
    pub(crate) fn parse(line: &str) -> Result<Self, ParseErrorKind> {
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (line, None),
        };
        if name.is_empty() {
            return Err(ParseErrorKind::EmptyAttributeName);
        }
        // A property attribute with trailing blanks (`a=rtcp-mux `) is still that
        // attribute; an unknown name keeps its blanks (in Other, below).
        let name_or_flag = match value {
            None => name.trim_end_matches([' ', '\t']),
            Some(_) => name,
        };
        let Some(known) = known_name(name_or_flag) else {
            return Ok(Attribute::Other {
                name: name.to_owned(),
                value: value.map(str::to_owned),
            });
        };
        let bad = ParseErrorKind::BadAttribute { name: known };
        // Typed grammars ignore trailing blanks (some stacks leave them); Other keeps them.
        let value = value.map(|v| v.trim_end_matches([' ', '\t']));
        let Some(v) = value else {
            return match known {
                "end-of-candidates" => Ok(Attribute::EndOfCandidates),
                "ice-lite" => Ok(Attribute::IceLite),
                "rtcp-mux" => Ok(Attribute::RtcpMux),
                "rtcp-mux-only" => Ok(Attribute::RtcpMuxOnly),
                "rtcp-rsize" => Ok(Attribute::RtcpRsize),
                "extmap-allow-mixed" => Ok(Attribute::ExtmapAllowMixed),
                "bundle-only" => Ok(Attribute::BundleOnly),
                _ => Direction::from_name(known)
                    .map(Attribute::Direction)
                    .ok_or(bad),
            };
        };
        let token = |v: &str| is_token(v).then(|| v.to_owned());
        let parsed = match name {
            "candidate" => Candidate::parse_value(v).map(|c| Attribute::Candidate(Box::new(c))),
            "ice-ufrag" => token(v).map(Attribute::IceUfrag),
            "ice-pwd" => token(v).map(Attribute::IcePwd),
            "ice-options" => {
                tokens(v).map(|t| Attribute::IceOptions(t.into_iter().map(str::to_owned).collect()))
            }
            "fingerprint" => Fingerprint::parse(v).map(Attribute::Fingerprint),
            "setup" => keyword(
                v,
                &[
                    ("active", Setup::Active),
                    ("passive", Setup::Passive),
                    ("actpass", Setup::ActPass),
                    ("holdconn", Setup::HoldConn),
                ],
            )
            .map(Attribute::Setup),
            "tls-id" => token(v).map(Attribute::TlsId),
            "mid" => token(v).map(Attribute::Mid),
            "group" => Group::parse(v).map(Attribute::Group),
            "msid" => tokens(v)
                .and_then(|t| match t[..] {
                    [s] => Some(Msid {
                        stream: s.to_owned(),
                        track: None,
                    }),
                    [s, a] => Some(Msid {
                        stream: s.to_owned(),
                        track: Some(a.to_owned()),
                    }),
                    _ => None,
                })
                .map(Attribute::Msid),
            "msid-semantic" => tokens(v.trim_start_matches(' ')).map(|t| {
                Attribute::MsidSemantic(MsidSemantic {
                    semantic: t[0].to_owned(),
                    identifiers: t[1..].iter().map(|s| (*s).to_owned()).collect(),
                })
            }),
            "rtpmap" => Rtpmap::parse(v).map(Attribute::Rtpmap),
            "fmtp" => Fmtp::parse(v).map(Attribute::Fmtp),
            "rtcp-fb" => RtcpFb::parse(v).map(Attribute::RtcpFb),
            "rtcp" => parse_rtcp(v).map(Attribute::Rtcp),
            "extmap" => Extmap::parse(v).map(Attribute::Extmap),
            "ssrc" => Ssrc::parse(v).map(Attribute::Ssrc),
            "ssrc-group" => SsrcGroup::parse(v).map(Attribute::SsrcGroup),
            "rid" => Rid::parse(v).map(Attribute::Rid),
            "simulcast" => Simulcast::parse(v).map(Attribute::Simulcast),
            "sctp-port" => parse_number(v).map(Attribute::SctpPort),
            "max-message-size" => parse_number(v).map(Attribute::MaxMessageSize),
            "sctpmap" => tokens(v).and_then(|t| {
                if !(2..=3).contains(&t.len()) {
                    return None;
                }
                let streams = match t.get(2) {
                    Some(n) => Some(parse_number(n)?),
                    None => None,
                };
                Some(Attribute::Sctpmap(Sctpmap {
                    port: parse_number(t[0])?,
                    protocol: t[1].to_owned(),
                    streams,
                }))
            }),
            "sctp-init" => (!v.is_empty()).then(|| Attribute::SctpInit(v.to_owned())),
            "framerate" => parse_decimal(v).map(Attribute::Framerate),
            "ptime" => parse_decimal(v).filter(|p| *p > 0.0).map(Attribute::Ptime),
            "maxptime" => parse_decimal(v)
                .filter(|p| *p > 0.0)
                .map(Attribute::Maxptime),
            "identity" => (!v.is_empty()).then(|| Attribute::Identity(v.to_owned())),
            // The property attributes (flags and directions) take no value.
            _ => None,
        };
        parsed.ok_or(bad)
    }
}

impl From<Candidate> for Attribute {
    fn from(c: Candidate) -> Self {
        Attribute::Candidate(Box::new(c))
    }
}

impl From<Direction> for Attribute {
    fn from(d: Direction) -> Self {
        Attribute::Direction(d)
    }
}

/// The names of the attributes with a typed grammar in [`Attribute`]; every other name
/// parses to [`Attribute::Other`].
pub const KNOWN_ATTRIBUTES: &[&str] = &[
    "candidate",
    "end-of-candidates",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "fingerprint",
    "setup",
    "tls-id",
    "mid",
    "group",
    "msid",
    "msid-semantic",
    "rtpmap",
    "fmtp",
    "rtcp-fb",
    "rtcp",
    "rtcp-mux",
    "rtcp-mux-only",
    "rtcp-rsize",
    "extmap",
    "extmap-allow-mixed",
    "ssrc",
    "ssrc-group",
    "rid",
    "simulcast",
    "sctp-port",
    "max-message-size",
    "sctpmap",
    "sctp-init",
    "sendrecv",
    "sendonly",
    "recvonly",
    "inactive",
    "bundle-only",
    "framerate",
    "ptime",
    "maxptime",
    "identity",
];

/// `name` as the static string of a name in [`KNOWN_ATTRIBUTES`] (a `match` compiles to a length
/// switch, cheaper than a scan of the list for every line).
fn known_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "candidate" => "candidate",
        "end-of-candidates" => "end-of-candidates",
        "ice-ufrag" => "ice-ufrag",
        "ice-pwd" => "ice-pwd",
        "ice-options" => "ice-options",
        "ice-lite" => "ice-lite",
        "fingerprint" => "fingerprint",
        "setup" => "setup",
        "tls-id" => "tls-id",
        "mid" => "mid",
        "group" => "group",
        "msid" => "msid",
        "msid-semantic" => "msid-semantic",
        "rtpmap" => "rtpmap",
        "fmtp" => "fmtp",
        "rtcp-fb" => "rtcp-fb",
        "rtcp" => "rtcp",
        "rtcp-mux" => "rtcp-mux",
        "rtcp-mux-only" => "rtcp-mux-only",
        "rtcp-rsize" => "rtcp-rsize",
        "extmap" => "extmap",
        "extmap-allow-mixed" => "extmap-allow-mixed",
        "ssrc" => "ssrc",
        "ssrc-group" => "ssrc-group",
        "rid" => "rid",
        "simulcast" => "simulcast",
        "sctp-port" => "sctp-port",
        "max-message-size" => "max-message-size",
        "sctpmap" => "sctpmap",
        "sctp-init" => "sctp-init",
        "sendrecv" => "sendrecv",
        "sendonly" => "sendonly",
        "recvonly" => "recvonly",
        "inactive" => "inactive",
        "bundle-only" => "bundle-only",
        "framerate" => "framerate",
        "ptime" => "ptime",
        "maxptime" => "maxptime",
        "identity" => "identity",
        _ => return None,
    })
}

/// Whether `name` has a typed grammar in this crate (such a name never appears in
/// [`Attribute::Other`] after parsing).
pub fn is_known_attribute(name: &str) -> bool {
    known_name(name).is_some()
}

fn parse_rtcp(v: &str) -> Option<Rtcp> {
    match v.split_once(' ') {
        None => Some(Rtcp {
            port: parse_number(v)?,
            connection: None,
        }),
        Some((port, rest)) => Some(Rtcp {
            port: parse_number(port)?,
            connection: Some(Connection::parse(rest)?),
        }),
    }
}

/// Writes the attribute as it follows `a=` (name, and `:value` when it has one).
impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Attribute {
    /// Writes what `Display` writes, straight to `w` (no `fmt::Arguments` on the hot path).
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_str(self.name())?;
        match self {
            Attribute::EndOfCandidates
            | Attribute::IceLite
            | Attribute::RtcpMux
            | Attribute::RtcpMuxOnly
            | Attribute::RtcpRsize
            | Attribute::ExtmapAllowMixed
            | Attribute::Direction(_)
            | Attribute::BundleOnly
            | Attribute::Other { value: None, .. } => return Ok(()),
            _ => {}
        }
        w.write_str(":")?;
        match self {
            Attribute::Candidate(c) => c.write_to(w),
            Attribute::IceUfrag(s)
            | Attribute::IcePwd(s)
            | Attribute::TlsId(s)
            | Attribute::Mid(s)
            | Attribute::SctpInit(s)
            | Attribute::Identity(s)
            | Attribute::Other { value: Some(s), .. } => w.write_str(s),
            Attribute::IceOptions(o) => write_joined(w, "", o),
            Attribute::Fingerprint(fp) => write!(w, "{fp}"),
            Attribute::Setup(s) => w.write_str(s.name()),
            Attribute::Group(g) => {
                write!(w, "{}", g.semantics)?;
                write_joined(w, " ", &g.mids)
            }
            Attribute::Msid(m) => {
                w.write_str(&m.stream)?;
                write_joined(w, " ", &m.track)
            }
            Attribute::MsidSemantic(m) => {
                w.write_str(" ")?;
                w.write_str(&m.semantic)?;
                write_joined(w, " ", &m.identifiers)
            }
            Attribute::Rtpmap(r) => r.write_to(w),
            Attribute::Fmtp(x) => x.write_to(w),
            Attribute::RtcpFb(x) => x.write_to(w),
            Attribute::Rtcp(r) => {
                write_num(w, r.port)?;
                match &r.connection {
                    Some(c) => write!(w, " {c}"),
                    None => Ok(()),
                }
            }
            Attribute::Extmap(x) => x.write_to(w),
            Attribute::Ssrc(x) => x.write_to(w),
            Attribute::SsrcGroup(x) => write!(w, "{x}"),
            Attribute::Rid(x) => write!(w, "{x}"),
            Attribute::Simulcast(x) => write!(w, "{x}"),
            Attribute::SctpPort(p) => write_num(w, *p),
            Attribute::MaxMessageSize(p) => write_num(w, *p),
            Attribute::Sctpmap(m) => {
                write_num(w, m.port)?;
                w.write_str(" ")?;
                w.write_str(&m.protocol)?;
                match m.streams {
                    Some(n) => {
                        w.write_str(" ")?;
                        write_num(w, n)
                    }
                    None => Ok(()),
                }
            }
            Attribute::Framerate(x) | Attribute::Ptime(x) | Attribute::Maxptime(x) => {
                write!(w, "{x}")
            }
            // The flags returned above.
            _ => Ok(()),
        }
    }
}

/// Writes each item preceded by `sep`, except the first when `sep` is empty (then items
/// are joined by single spaces).
fn write_joined<'a, S: AsRef<str> + 'a>(
    w: &mut impl fmt::Write,
    sep: &str,
    items: impl IntoIterator<Item = &'a S>,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if sep.is_empty() {
            if i > 0 {
                w.write_str(" ")?;
            }
        } else {
            w.write_str(sep)?;
        }
        w.write_str(item.as_ref())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(line: &str) -> Attribute {
        let a = Attribute::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(Attribute::parse(&a.to_string()), Ok(a.clone()), "{line}");
        a
    }

    #[test]
    fn known_names_agree_with_the_list() {
        for n in KNOWN_ATTRIBUTES {
            assert_eq!(known_name(n), Some(*n));
        }
        assert_eq!(known_name("Mid"), None);
        assert_eq!(KNOWN_ATTRIBUTES.len(), 39);
    }

    #[test]
    fn flags_take_no_value() {
        assert_eq!(rt("rtcp-mux"), Attribute::RtcpMux);
        assert_eq!(rt("sendonly"), Attribute::Direction(Direction::SendOnly));
        assert_eq!(rt("bundle-only"), Attribute::BundleOnly);
        assert_eq!(rt("rtcp-mux \t"), Attribute::RtcpMux);
        assert_eq!(rt("recvonly "), Attribute::Direction(Direction::RecvOnly));
        assert_eq!(
            Attribute::parse("mid "),
            Err(ParseErrorKind::BadAttribute { name: "mid" })
        );
        assert_eq!(
            rt("x-flag "),
            Attribute::Other {
                name: "x-flag ".into(),
                value: None
            }
        );
        assert_eq!(
            Attribute::parse("rtcp-mux:yes"),
            Err(ParseErrorKind::BadAttribute { name: "rtcp-mux" })
        );
        assert_eq!(
            Attribute::parse("inactive:1"),
            Err(ParseErrorKind::BadAttribute { name: "inactive" })
        );
    }

    #[test]
    fn valued_attributes_need_a_value() {
        for name in [
            "mid",
            "ice-ufrag",
            "candidate",
            "rtpmap",
            "setup",
            "sctp-port",
        ] {
            assert_eq!(
                Attribute::parse(name),
                Err(ParseErrorKind::BadAttribute { name }),
                "{name}"
            );
        }
    }

    #[test]
    fn fingerprints_of_every_hash() {
        for (alg, n) in [
            ("sha-1", 20),
            ("sha-224", 28),
            ("sha-256", 32),
            ("sha-384", 48),
            ("sha-512", 64),
        ] {
            let hex = vec!["AB"; n].join(":");
            let a = rt(&format!("fingerprint:{alg} {hex}"));
            assert_eq!(a.to_string(), format!("fingerprint:{alg} {hex}"));
        }
        let Attribute::Fingerprint(f) = rt(
            "fingerprint:SHA-256 4b:0e:c5:36:f6:1b:6d:d0:83:cc:18:b1:7d:2e:0f:a3:13:e4:e0:b4:0d:6f:5f:66:26:5b:04:82:34:77:5b:fc",
        ) else {
            panic!()
        };
        assert_eq!(f.algorithm, HashFunction::Sha256);
        assert_eq!(f.value[0], 0x4b);
        for bad in [
            "sha-256 AB:CD",
            "sha-1",
            "sha-1 ",
            "sha-1 A:B",
            "sha-1 GG",
            "x A+",
        ] {
            assert!(
                Attribute::parse(&format!("fingerprint:{bad}")).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn setup_group_msid() {
        assert_eq!(rt("setup:actpass"), Attribute::Setup(Setup::ActPass));
        // ABNF literals are case-insensitive (RFC 5234 §2.3).
        assert_eq!(rt("setup:ACTPASS"), Attribute::Setup(Setup::ActPass));
        assert_eq!(Setup::ActPass.answer(), Setup::Active);
        assert_eq!(
            rt("group:BUNDLE 0 1"),
            Attribute::Group(Group::bundle(["0", "1"]))
        );
        assert_eq!(rt("group:LS a b").to_string(), "group:LS a b");
        assert_eq!(rt("msid:- track").to_string(), "msid:- track");
        assert_eq!(rt("msid:stream").to_string(), "msid:stream");
        assert_eq!(
            rt("msid-semantic:WMS *").to_string(),
            "msid-semantic: WMS *"
        );
        assert_eq!(rt("msid-semantic: WMS").to_string(), "msid-semantic: WMS");
        assert!(Attribute::parse("setup:both").is_err());
        assert!(Attribute::parse("msid:a b c").is_err());
        assert!(Attribute::parse("mid:a b").is_err());
    }

    #[test]
    fn ice_attributes() {
        assert_eq!(
            rt("ice-options:trickle renomination").to_string(),
            "ice-options:trickle renomination"
        );
        assert_eq!(rt("ice-lite"), Attribute::IceLite);
        assert_eq!(rt("ice-ufrag:kg2x"), Attribute::IceUfrag("kg2x".into()));
        assert_eq!(
            rt("ice-pwd:zN1ge9bNX8upyJNf7hPQdSGY "),
            Attribute::IcePwd("zN1ge9bNX8upyJNf7hPQdSGY".into())
        );
        assert_eq!(rt("end-of-candidates"), Attribute::EndOfCandidates);
        assert!(Attribute::parse("ice-ufrag:").is_err());
    }

    #[test]
    fn sctp_attributes() {
        assert_eq!(rt("sctp-port:5000"), Attribute::SctpPort(5000));
        assert_eq!(
            rt("max-message-size:262144"),
            Attribute::MaxMessageSize(262144)
        );
        assert_eq!(
            rt("sctpmap:5000 webrtc-datachannel 1024").to_string(),
            "sctpmap:5000 webrtc-datachannel 1024"
        );
        assert_eq!(
            rt("sctp-init:AAECAw=="),
            Attribute::SctpInit("AAECAw==".into())
        );
        assert!(Attribute::parse("sctp-port:70000").is_err());
        assert!(Attribute::parse("sctpmap:5000").is_err());
    }

    #[test]
    fn rtcp_and_numbers() {
        let Attribute::Rtcp(r) = rt("rtcp:9 IN IP4 0.0.0.0") else {
            panic!()
        };
        assert_eq!(r.port, 9);
        assert_eq!(r.connection.unwrap().address, "0.0.0.0");
        assert_eq!(
            rt("rtcp:53020"),
            Attribute::Rtcp(Rtcp {
                port: 53020,
                connection: None
            })
        );
        assert_eq!(rt("ptime:20"), Attribute::Ptime(20.0));
        assert_eq!(rt("framerate:29.97"), Attribute::Framerate(29.97));
        assert!(Attribute::parse("ptime:0").is_err());
        assert!(Attribute::parse("framerate:fast").is_err());
    }

    #[test]
    fn unknown_attributes_are_verbatim() {
        for line in [
            "x-google-flag:conference",
            "rtcp-xr:rcvr-rtt=all",
            "weird: :: ü \t ",
            "flag",
            "empty:",
            "MID:0",
        ] {
            let a = rt(line);
            assert!(matches!(a, Attribute::Other { .. }), "{line}");
            assert_eq!(a.to_string(), line);
        }
        assert_eq!(
            Attribute::parse(":x"),
            Err(ParseErrorKind::EmptyAttributeName)
        );
    }
}
