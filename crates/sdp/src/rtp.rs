//! RTP attributes: `rtpmap`, `fmtp`, `rtcp-fb`, `extmap`, `ssrc`, `ssrc-group`.

use std::fmt;

use nom::Parser;
use nom::bytes::complete::tag;
use nom::character::complete::char;
use nom::combinator::{map_opt, opt, rest};
use nom::sequence::preceded;

use crate::attribute::Direction;
use crate::grammar::{number, parse_number, token, token_without, tokens, whole, write_num};

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`
/// (RFC 8866 §6.6).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtpmap {
    /// The RTP payload type.
    pub payload_type: u8,
    /// The encoding name as written (`opus`, `VP8`, `H264`, `rtx`...).
    pub encoding: String,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The encoding parameters: the number of channels for audio.
    pub channels: Option<u16>,
}

/// `a=fmtp:<format> <format specific parameters>` (RFC 8866 §6.15).
///
/// The parameters are kept as written ([`params`](Self::params)), so a round trip is exact;
/// [`parameters`](Self::parameters) reads them as the `key=value;key=value` list most
/// codecs use.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fmtp {
    /// The format: an RTP payload type for RTP media, as written.
    pub format: String,
    /// The parameters, verbatim.
    pub params: String,
}

/// `a=rtcp-fb:<payload type or *> <type> [<parameters>]` (RFC 4585 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtcpFb {
    /// The payload type, or `None` for `*` (every payload type of the section).
    pub payload_type: Option<u8>,
    /// The feedback type: `nack`, `ccm`, `goog-remb`, `transport-cc`, `trr-int`...
    pub kind: String,
    /// What follows the type (`pli` in `nack pli`, `fir` in `ccm fir`), verbatim.
    pub param: Option<String>,
}

/// `a=extmap:<id>[/<direction>] <uri> [<extension attributes>]` (RFC 8285 §8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Extmap {
    /// The local identifier (1-14 for one-byte headers, up to 255 for two-byte).
    pub id: u16,
    /// The direction, when given.
    pub direction: Option<Direction>,
    /// The extension's URI.
    pub uri: String,
    /// The extension attributes, verbatim.
    pub attributes: Option<String>,
}

/// `a=ssrc:<ssrc-id> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ssrc {
    /// The SSRC.
    pub ssrc: u32,
    /// The source attribute's name (`cname`, `msid`, Plan B's `mslabel` and `label`).
    pub attribute: String,
    /// Its value, verbatim.
    pub value: Option<String>,
}

/// `a=ssrc-group:<semantics> <ssrc-id> ...` (RFC 5576 §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SsrcGroup {
    /// The semantics: `FID` (RFC 5576 §4.2, retransmission), `SIM` (simulcast),
    /// `FEC-FR` (RFC 5956).
    pub semantics: String,
    /// The SSRCs, in order.
    pub ssrcs: Vec<u32>,
}

impl Rtpmap {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let p = (
            number::<u8>,
            char(' '),
            token_without("/"),
            char('/'),
            number::<u32>,
            opt(preceded(char('/'), number::<u16>)),
        );
        whole(p, s).map(|(payload_type, _, enc, _, clock_rate, channels)| Rtpmap {
            payload_type,
            encoding: enc.to_owned(),
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Rtpmap {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write_num(w, self.payload_type)?;
        w.write_str(" ")?;
        w.write_str(&self.encoding)?;
        w.write_str("/")?;
        write_num(w, self.clock_rate)?;
        if let Some(c) = self.channels {
            w.write_str("/")?;
            write_num(w, c)?;
        }
        Ok(())
    }
}

impl Fmtp {
    /// An fmtp line for RTP payload type `pt` from `(key, value)` pairs, written
    /// `k=v;k=v`.
    pub fn from_parameters<'a>(
        pt: u8,
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let params = params
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        Fmtp {
            format: pt.to_string(),
            params,
        }
    }

    /// The format as an RTP payload type, when it is one.
    pub fn payload_type(&self) -> Option<u8> {
        parse_number(&self.format)
    }

    /// The parameters as `(key, value)` pairs split on `;` and the first `=` (spaces around
    /// them trimmed); a parameter without `=` (such as telephone-event's `0-15`) has
    /// `None` as its value.
    pub fn parameters(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.split(';').filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            Some(match p.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (p, None),
            })
        })
    }

    /// The value of parameter `key` (compared without case, as RFC 6871 and most codec
    /// specs ask).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.parameters()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        // RFC 8866 §6.15 wants parameters after the format; an empty list (`a=fmtp:96`,
        // or `a=fmtp:96 ` with the blank trimmed) is read as no parameters, as most
        // stacks do, and written back as `a=fmtp:96`.
        let p = (token, opt(preceded(char(' '), rest)));
        let (format, params) = whole(p, s)?;
        Some(Fmtp {
            format: format.to_owned(),
            params: params.unwrap_or("").to_owned(),
        })
    }
}

impl fmt::Display for Fmtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Fmtp {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_str(&self.format)?;
        if !self.params.is_empty() {
            w.write_str(" ")?;
            w.write_str(&self.params)?;
        }
        Ok(())
    }
}

impl RtcpFb {
    /// Feedback `kind` (with an optional parameter) for payload type `pt`.
    pub fn new(pt: u8, kind: &str, param: Option<&str>) -> Self {
        RtcpFb {
            payload_type: Some(pt),
            kind: kind.to_owned(),
            param: param.map(str::to_owned),
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let pt = nom::branch::alt((tag("*").map(|_| None), number::<u8>.map(Some)));
        let p = (pt, char(' '), token, opt(preceded(char(' '), rest)));
        whole(p, s).and_then(
            |(payload_type, _, kind, param): (_, _, &str, Option<&str>)| {
                if param == Some("") {
                    return None;
                }
                Some(RtcpFb {
                    payload_type,
                    kind: kind.to_owned(),
                    param: param.map(str::to_owned),
                })
            },
        )
    }
}

impl fmt::Display for RtcpFb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl RtcpFb {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        match self.payload_type {
            Some(pt) => write_num(w, pt)?,
            None => w.write_str("*")?,
        }
        w.write_str(" ")?;
        w.write_str(&self.kind)?;
        if let Some(p) = &self.param {
            w.write_str(" ")?;
            w.write_str(p)?;
        }
        Ok(())
    }
}

impl Extmap {
    /// Extension `uri` under local id `id`, with no direction or attributes.
    pub fn new(id: u16, uri: &str) -> Self {
        Extmap {
            id,
            direction: None,
            uri: uri.to_owned(),
            attributes: None,
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let dir = map_opt(preceded(char('/'), token), Direction::from_name);
        let p = (
            number::<u16>,
            opt(dir),
            char(' '),
            token,
            opt(preceded(char(' '), rest)),
        );
        let (id, direction, _, uri, attributes) = whole(p, s)?;
        if attributes == Some("") {
            return None;
        }
        Some(Extmap {
            id,
            direction,
            uri: uri.to_owned(),
            attributes: attributes.map(str::to_owned),
        })
    }
}

impl fmt::Display for Extmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Extmap {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write_num(w, self.id)?;
        if let Some(d) = self.direction {
            w.write_str("/")?;
            w.write_str(d.name())?;
        }
        w.write_str(" ")?;
        w.write_str(&self.uri)?;
        if let Some(a) = &self.attributes {
            w.write_str(" ")?;
            w.write_str(a)?;
        }
        Ok(())
    }
}

impl Ssrc {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let p = (
            number::<u32>,
            char(' '),
            token_without(":"),
            opt(preceded(char(':'), rest)),
        );
        let (ssrc, _, attribute, value) = whole(p, s)?;
        Some(Ssrc {
            ssrc,
            attribute: attribute.to_owned(),
            value: value.map(str::to_owned),
        })
    }
}

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

impl Ssrc {
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        write_num(w, self.ssrc)?;
        w.write_str(" ")?;
        w.write_str(&self.attribute)?;
        if let Some(v) = &self.value {
            w.write_str(":")?;
            w.write_str(v)?;
        }
        Ok(())
    }
}

impl SsrcGroup {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        let ssrcs = t[1..]
            .iter()
            .map(|x| parse_number(x))
            .collect::<Option<Vec<u32>>>()?;
        Some(SsrcGroup {
            semantics: t[0].to_owned(),
            ssrcs,
        })
    }
}

impl fmt::Display for SsrcGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.semantics)?;
        for s in &self.ssrcs {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_with_and_without_channels() {
        let r = Rtpmap::parse("111 opus/48000/2").unwrap();
        assert_eq!(
            (
                r.payload_type,
                r.encoding.as_str(),
                r.clock_rate,
                r.channels
            ),
            (111, "opus", 48000, Some(2))
        );
        assert_eq!(r.to_string(), "111 opus/48000/2");
        let r = Rtpmap::parse("126 telephone-event/8000").unwrap();
        assert_eq!(r.channels, None);
        for bad in [
            "256 x/1",
            "96 VP8",
            "96 VP8/x",
            "96 /90000",
            "96 VP8/90000/2/3",
            "96  VP8/90000",
        ] {
            assert_eq!(Rtpmap::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn fmtp_keeps_raw_and_reads_parameters() {
        let f = Fmtp::parse(
            "102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
        )
        .unwrap();
        assert_eq!(f.payload_type(), Some(102));
        assert_eq!(f.get("packetization-mode"), Some("1"));
        assert_eq!(f.get("PROFILE-LEVEL-ID"), Some("42001f"));
        let f = Fmtp::parse("101 0-15").unwrap();
        assert_eq!(f.parameters().collect::<Vec<_>>(), vec![("0-15", None)]);
        let f = Fmtp::parse("63 111/111").unwrap();
        assert_eq!(f.params, "111/111");
        assert_eq!(Fmtp::parse("96").unwrap().params, "");
        assert_eq!(Fmtp::parse("96").unwrap().to_string(), "96");
        assert_eq!(Fmtp::parse(" 96"), None);
        assert_eq!(
            Fmtp::from_parameters(97, [("apt", "96")]).to_string(),
            "97 apt=96"
        );
    }

    #[test]
    fn rtcp_fb_with_wildcard_and_parameter() {
        let f = RtcpFb::parse("96 nack pli").unwrap();
        assert_eq!(f, RtcpFb::new(96, "nack", Some("pli")));
        let f = RtcpFb::parse("* trr-int 100").unwrap();
        assert_eq!(f.payload_type, None);
        assert_eq!(f.to_string(), "* trr-int 100");
        assert_eq!(RtcpFb::parse("96"), None);
        assert_eq!(RtcpFb::parse("x nack"), None);
    }

    #[test]
    fn extmap_with_direction_and_attributes() {
        let e = Extmap::parse("2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level").unwrap();
        assert_eq!(e.direction, Some(Direction::RecvOnly));
        let e = Extmap::parse("1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on").unwrap();
        assert_eq!(e.attributes.as_deref(), Some("vad=on"));
        assert_eq!(
            e.to_string(),
            "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on"
        );
        for bad in ["x uri", "1/sideways uri", "1", "70000 uri"] {
            assert_eq!(Extmap::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ssrc_and_groups() {
        let s = Ssrc::parse("3433037675 msid:stream track").unwrap();
        assert_eq!(
            (s.attribute.as_str(), s.value.as_deref()),
            ("msid", Some("stream track"))
        );
        assert_eq!(Ssrc::parse("1 cname").unwrap().value, None);
        let g = SsrcGroup::parse("FID 3433037675 1531519519").unwrap();
        assert_eq!(g.ssrcs, vec![3433037675, 1531519519]);
        assert_eq!(SsrcGroup::parse("FID 1 x"), None);
        assert_eq!(Ssrc::parse("4294967296 cname:x"), None);
    }
}
