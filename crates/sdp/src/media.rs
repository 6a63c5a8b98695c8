//! Media sections (`m=` and the lines after it) and the codec view of them.

use std::fmt;

use crate::attribute::{Attribute, Direction, Fingerprint, Msid, Setup};
use crate::candidate::Candidate;
use crate::grammar::{parse_number, tokens};
use crate::rtp::{Extmap, Fmtp, RtcpFb, Rtpmap, Ssrc, SsrcGroup};
use crate::session::{Bandwidth, Connection, find_str};
use crate::simulcast::{Rid, Simulcast};

/// The media type of an `m=` line (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels).
    Application,
    /// `text`.
    Text,
    /// `message`.
    Message,
    /// Any other token, kept as written.
    Other(String),
}

/// A media section: `m=<media> <port>[/<count>] <proto> <fmt> ...` and its `i=`, `c=`,
/// `b=`, `k=` and `a=` lines (RFC 8866 §5.14).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaDescription {
    /// The media type.
    pub kind: MediaKind,
    /// The port (9, the discard port, under ICE; 0 to reject the section).
    pub port: u16,
    /// The number of ports, when written `port/count`.
    pub port_count: Option<u16>,
    /// The transport protocol: `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, legacy `DTLS/SCTP`...
    pub protocol: String,
    /// The formats: RTP payload types, or `webrtc-datachannel` for data.
    pub formats: Vec<String>,
    /// `i=`, verbatim.
    pub information: Option<String>,
    /// `c=` lines.
    pub connections: Vec<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete), verbatim.
    pub key: Option<String>,
    /// The `a=` lines, in order.
    pub attributes: Vec<Attribute>,
}

/// A codec of a media section: a payload type with its `rtpmap`, `fmtp` and `rtcp-fb`
/// lines (those for `*` included), as [`MediaDescription::codecs`] returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Codec<'a> {
    /// The RTP payload type.
    pub payload_type: u8,
    /// Its `rtpmap`, if any (static payload types may have none).
    pub rtpmap: Option<&'a Rtpmap>,
    /// Its `fmtp`, if any.
    pub fmtp: Option<&'a Fmtp>,
    /// Its `rtcp-fb` lines.
    pub feedback: Vec<&'a RtcpFb>,
}

/// A codec to add to a media section with [`MediaDescription::with_codec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecSpec {
    /// The RTP payload type (0..=127).
    pub payload_type: u8,
    /// The encoding name (`opus`, `VP8`...).
    pub encoding: String,
    /// The clock rate in Hz.
    pub clock_rate: u32,
    /// The channels (audio).
    pub channels: Option<u16>,
    /// The `fmtp` parameters, verbatim.
    pub fmtp: Option<String>,
    /// The `rtcp-fb` types and parameters (`("nack", Some("pli"))`).
    pub feedback: Vec<(String, Option<String>)>,
}

impl CodecSpec {
    /// A codec with no channels, parameters or feedback.
    pub fn new(payload_type: u8, encoding: &str, clock_rate: u32) -> Self {
        CodecSpec {
            payload_type,
            encoding: encoding.to_owned(),
            clock_rate,
            channels: None,
            fmtp: None,
            feedback: Vec::new(),
        }
    }

    /// Sets the channel count.
    pub fn channels(mut self, n: u16) -> Self {
        self.channels = Some(n);
        self
    }

    /// Sets the `fmtp` parameters.
    pub fn fmtp(mut self, params: &str) -> Self {
        self.fmtp = Some(params.to_owned());
        self
    }

    /// Adds an `rtcp-fb` line.
    pub fn feedback(mut self, kind: &str, param: Option<&str>) -> Self {
        self.feedback
            .push((kind.to_owned(), param.map(str::to_owned)));
        self
    }
}

impl Codec<'_> {
    /// The encoding name, when there is an `rtpmap`.
    pub fn name(&self) -> Option<&str> {
        self.rtpmap.map(|r| r.encoding.as_str())
    }

    /// The clock rate, when there is an `rtpmap`.
    pub fn clock_rate(&self) -> Option<u32> {
        self.rtpmap.map(|r| r.clock_rate)
    }

    /// The same codec as a [`CodecSpec`], to put in an answer. Wildcard (`*`) feedback
    /// becomes feedback for this payload type. `None` without an `rtpmap`.
    pub fn to_spec(&self) -> Option<CodecSpec> {
        let r = self.rtpmap?;
        Some(CodecSpec {
            payload_type: self.payload_type,
            encoding: r.encoding.clone(),
            clock_rate: r.clock_rate,
            channels: r.channels,
            fmtp: self.fmtp.map(|f| f.params.clone()),
            feedback: self
                .feedback
                .iter()
                .map(|f| (f.kind.clone(), f.param.clone()))
                .collect(),
        })
    }
}

macro_rules! find_attr {
    ($self:ident, $pat:pat => $out:expr) => {
        $self.attributes.iter().find_map(|a| match a {
            $pat => Some($out),
            _ => None,
        })
    };
    ($self:ident, $pat:pat if $guard:expr => $out:expr) => {
        $self.attributes.iter().find_map(|a| match a {
            $pat if $guard => Some($out),
            _ => None,
        })
    };
}

macro_rules! filter_attrs {
    ($self:ident, $pat:pat => $out:expr) => {
        $self.attributes.iter().filter_map(|a| match a {
            $pat => Some($out),
            _ => None,
        })
    };
    ($self:ident, $pat:pat if $guard:expr => $out:expr) => {
        $self.attributes.iter().filter_map(|a| match a {
            $pat if $guard => Some($out),
            _ => None,
        })
    };
}

impl MediaDescription {
    /// A media section with no formats, lines or attributes.
    pub fn new(kind: MediaKind, port: u16, protocol: &str) -> Self {
        MediaDescription {
            kind,
            port,
            port_count: None,
            protocol: protocol.to_owned(),
            formats: Vec::new(),
            information: None,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            key: None,
            attributes: Vec::new(),
        }
    }

    /// Appends an attribute.
    pub fn with(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Appends a `c=` line.
    pub fn with_connection(mut self, c: Connection) -> Self {
        self.connections.push(c);
        self
    }

    /// Appends a format to the `m=` line.
    pub fn with_format(mut self, f: &str) -> Self {
        self.formats.push(f.to_owned());
        self
    }

    /// Appends `a=mid`.
    pub fn with_mid(self, mid: &str) -> Self {
        self.with(Attribute::Mid(mid.to_owned()))
    }

    /// Appends `a=ice-ufrag` and `a=ice-pwd`.
    pub fn with_ice_credentials(self, ufrag: &str, pwd: &str) -> Self {
        self.with(Attribute::IceUfrag(ufrag.to_owned()))
            .with(Attribute::IcePwd(pwd.to_owned()))
    }

    /// Appends `a=fingerprint`.
    pub fn with_fingerprint(self, f: Fingerprint) -> Self {
        self.with(Attribute::Fingerprint(f))
    }

    /// Appends `a=setup`.
    pub fn with_setup(self, s: Setup) -> Self {
        self.with(Attribute::Setup(s))
    }

    /// Appends a direction attribute.
    pub fn with_direction(self, d: Direction) -> Self {
        self.with(Attribute::Direction(d))
    }

    /// Appends `a=extmap`.
    pub fn with_extmap(self, e: Extmap) -> Self {
        self.with(Attribute::Extmap(e))
    }

    /// Appends `a=candidate`.
    pub fn with_candidate(self, c: Candidate) -> Self {
        self.with(Attribute::Candidate(Box::new(c)))
    }

    /// Adds a codec: its payload type to the `m=` line, then `a=rtpmap`, `a=rtcp-fb`
    /// lines and `a=fmtp` (the order Chrome writes).
    pub fn with_codec(mut self, c: CodecSpec) -> Self {
        let pt = c.payload_type;
        self.formats.push(pt.to_string());
        self.attributes.push(Attribute::Rtpmap(Rtpmap {
            payload_type: pt,
            encoding: c.encoding,
            clock_rate: c.clock_rate,
            channels: c.channels,
        }));
        for (kind, param) in c.feedback {
            self.attributes.push(Attribute::RtcpFb(RtcpFb {
                payload_type: Some(pt),
                kind,
                param,
            }));
        }
        if let Some(params) = c.fmtp {
            self.attributes.push(Attribute::Fmtp(Fmtp {
                format: pt.to_string(),
                params,
            }));
        }
        self
    }

    /// Attributes named `name`.
    pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> {
        self.attributes.iter().filter(move |a| a.name() == name)
    }

    /// Whether an attribute named `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a.name() == name)
    }

    /// `a=mid`.
    pub fn mid(&self) -> Option<&str> {
        find_str(&self.attributes, "mid")
    }

    /// The section's own `ice-ufrag` (see
    /// [`SessionDescription::ice_credentials`](crate::SessionDescription::ice_credentials)
    /// for the session-level fallback).
    pub fn ice_ufrag(&self) -> Option<&str> {
        find_str(&self.attributes, "ice-ufrag")
    }

    /// The section's own `ice-pwd`.
    pub fn ice_pwd(&self) -> Option<&str> {
        find_str(&self.attributes, "ice-pwd")
    }

    /// The section's own direction attribute.
    pub fn direction(&self) -> Option<Direction> {
        find_attr!(self, Attribute::Direction(d) => *d)
    }

    /// `a=setup`.
    pub fn setup(&self) -> Option<Setup> {
        find_attr!(self, Attribute::Setup(s) => *s)
    }

    /// The section's own `a=fingerprint` lines.
    pub fn fingerprints(&self) -> impl Iterator<Item = &Fingerprint> {
        filter_attrs!(self, Attribute::Fingerprint(f) => f)
    }

    /// `a=candidate` lines.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> {
        filter_attrs!(self, Attribute::Candidate(c) => &**c)
    }

    /// Whether `a=end-of-candidates` is present.
    pub fn is_end_of_candidates(&self) -> bool {
        self.attributes.contains(&Attribute::EndOfCandidates)
    }

    /// `a=extmap` lines.
    pub fn extmaps(&self) -> impl Iterator<Item = &Extmap> {
        filter_attrs!(self, Attribute::Extmap(e) => e)
    }

    /// `a=rid` lines.
    pub fn rids(&self) -> impl Iterator<Item = &Rid> {
        filter_attrs!(self, Attribute::Rid(r) => r)
    }

    /// `a=simulcast`.
    pub fn simulcast(&self) -> Option<&Simulcast> {
        find_attr!(self, Attribute::Simulcast(s) => s)
    }

    /// `a=msid` lines.
    pub fn msids(&self) -> impl Iterator<Item = &Msid> {
        filter_attrs!(self, Attribute::Msid(m) => m)
    }

    /// `a=ssrc` lines.
    pub fn ssrcs(&self) -> impl Iterator<Item = &Ssrc> {
        filter_attrs!(self, Attribute::Ssrc(s) => s)
    }

    /// `a=ssrc-group` lines.
    pub fn ssrc_groups(&self) -> impl Iterator<Item = &SsrcGroup> {
        filter_attrs!(self, Attribute::SsrcGroup(g) => g)
    }

    /// The SCTP port: `a=sctp-port`, or the port of a legacy `a=sctpmap`.
    pub fn sctp_port(&self) -> Option<u16> {
        find_attr!(self, Attribute::SctpPort(p) => *p)
            .or_else(|| find_attr!(self, Attribute::Sctpmap(m) => m.port))
    }

    /// `a=max-message-size`.
    pub fn max_message_size(&self) -> Option<u64> {
        find_attr!(self, Attribute::MaxMessageSize(n) => *n)
    }

    /// Whether `a=rtcp-mux` is present.
    pub fn is_rtcp_mux(&self) -> bool {
        self.attributes.contains(&Attribute::RtcpMux)
    }

    /// Whether `a=bundle-only` is present.
    pub fn is_bundle_only(&self) -> bool {
        self.attributes.contains(&Attribute::BundleOnly)
    }

    /// Whether the section is rejected: port 0 without `bundle-only` (RFC 8843 §7.3.3).
    pub fn is_rejected(&self) -> bool {
        self.port == 0 && !self.is_bundle_only()
    }

    /// The codecs, in `m=` line order: every format that is a payload type, with its
    /// `rtpmap`, `fmtp` and `rtcp-fb` lines.
    pub fn codecs(&self) -> Vec<Codec<'_>> {
        self.formats
            .iter()
            .filter_map(|f| parse_number::<u8>(f))
            .map(|pt| self.codec_of(pt))
            .collect()
    }

    /// The codec with payload type `pt`, if the `m=` line lists it.
    pub fn codec(&self, pt: u8) -> Option<Codec<'_>> {
        self.formats
            .iter()
            .any(|f| parse_number::<u8>(f) == Some(pt))
            .then(|| self.codec_of(pt))
    }

    fn codec_of(&self, pt: u8) -> Codec<'_> {
        Codec {
            payload_type: pt,
            rtpmap: find_attr!(self, Attribute::Rtpmap(r) if r.payload_type == pt => r),
            fmtp: find_attr!(self, Attribute::Fmtp(f) if f.payload_type() == Some(pt) => f),
            feedback: filter_attrs!(self, Attribute::RtcpFb(f) if f.payload_type.is_none_or(|p| p == pt) => f)
                .collect(),
        }
    }

    pub(crate) fn parse_m_line(v: &str) -> Option<Self> {
        let t = tokens(v)?;
        if t.len() < 3 {
            return None;
        }
        let (port, port_count) = match t[1].split_once('/') {
            Some((p, n)) => (parse_number(p)?, Some(parse_number(n)?)),
            None => (parse_number(t[1])?, None),
        };
        let mut m = MediaDescription::new(MediaKind::from_name(t[0]), port, t[2]);
        m.port_count = port_count;
        m.formats = t[3..].iter().map(|f| (*f).to_owned()).collect();
        Some(m)
    }

    pub(crate) fn write(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write!(w, "m={} {}", self.kind, self.port)?;
        if let Some(n) = self.port_count {
            write!(w, "/{n}")?;
        }
        write!(w, " {}", self.protocol)?;
        for f in &self.formats {
            w.write_str(" ")?;
            w.write_str(f)?;
        }
        w.write_str("\r\n")?;
        if let Some(i) = &self.information {
            write!(w, "i={i}\r\n")?;
        }
        for c in &self.connections {
            write!(w, "c={c}\r\n")?;
        }
        for b in &self.bandwidths {
            write!(w, "b={b}\r\n")?;
        }
        if let Some(k) = &self.key {
            write!(w, "k={k}\r\n")?;
        }
        for a in &self.attributes {
            w.write_str("a=")?;
            a.write_to(w)?;
            w.write_str("\r\n")?;
        }
        Ok(())
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Application => "application",
            MediaKind::Text => "text",
            MediaKind::Message => "message",
            MediaKind::Other(s) => s,
        })
    }
}

/// Writes the section (the `m=` line and the lines after it) with CRLF line endings.
impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}
