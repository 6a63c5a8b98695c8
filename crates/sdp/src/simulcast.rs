//! RTP stream identifiers (`rid`, RFC 8851) and simulcast (`simulcast`, RFC 8853).

use std::fmt;

use crate::grammar::{is_token, is_token_char, keyword, parse_decimal, parse_number, tokens};

/// `a=rid:<rid-id> <send|recv> [pt=<fmt>,...;<restriction>;...]` (RFC 8851 §10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    /// The RTP stream id.
    pub id: String,
    /// Whether the stream is sent or received by the side that wrote the description.
    pub direction: RidDirection,
    /// The `pt=` list; empty when absent.
    pub payload_types: Vec<u8>,
    /// The other restrictions (`max-width`, `max-height`, `max-fps`, `max-fs`, `max-br`,
    /// `max-pps`, `max-bpp`, `depend`, or any other), as `(name, value)` in order.
    pub restrictions: Vec<(String, Option<String>)>,
}

/// The direction of a [`Rid`] or of a [`Simulcast`] list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`.
    Send,
    /// `recv`.
    Recv,
}

/// `a=simulcast:` (RFC 8853 §5.1): the send and receive stream lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Simulcast {
    /// The streams sent, when the attribute has a `send` part.
    pub send: Option<Vec<SimulcastAlternatives>>,
    /// The streams received, when the attribute has a `recv` part.
    pub recv: Option<Vec<SimulcastAlternatives>>,
}

/// One simulcast stream given as a list of alternative rids (`1,2` in `send 1,2;3`).
pub type SimulcastAlternatives = Vec<SimulcastRid>;

/// A rid in a simulcast list, possibly paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimulcastRid {
    /// The rid.
    pub rid: String,
    /// Whether it was written `~rid`: offered but paused.
    pub paused: bool,
}

impl Rid {
    /// A rid with no restrictions.
    pub fn new(id: &str, direction: RidDirection) -> Self {
        Rid {
            id: id.to_owned(),
            direction,
            payload_types: Vec::new(),
            restrictions: Vec::new(),
        }
    }

    /// The value of restriction `name` (`max-width`...), when present with a value.
    pub fn restriction(&self, name: &str) -> Option<&str> {
        self.restrictions
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// `max-width` in pixels (RFC 8851 §5), when present and numeric.
    pub fn max_width(&self) -> Option<u32> {
        self.restriction("max-width").and_then(parse_number)
    }

    /// `max-height` in pixels, when present and numeric.
    pub fn max_height(&self) -> Option<u32> {
        self.restriction("max-height").and_then(parse_number)
    }

    /// `max-fps` in frames per second, when present and a decimal.
    pub fn max_fps(&self) -> Option<f64> {
        self.restriction("max-fps").and_then(parse_decimal)
    }

    /// `max-fs` in macroblocks, when present and numeric.
    pub fn max_fs(&self) -> Option<u32> {
        self.restriction("max-fs").and_then(parse_number)
    }

    /// `max-br` in bits per second, when present and numeric.
    pub fn max_br(&self) -> Option<u64> {
        self.restriction("max-br").and_then(parse_number)
    }

    /// `max-pps` in pixels per second, when present and numeric.
    pub fn max_pps(&self) -> Option<u64> {
        self.restriction("max-pps").and_then(parse_number)
    }

    /// `max-bpp` in bits per pixel, when present and a decimal.
    pub fn max_bpp(&self) -> Option<f64> {
        self.restriction("max-bpp").and_then(parse_decimal)
    }

    /// The rids of `depend`, when present.
    pub fn depend(&self) -> Vec<&str> {
        self.restriction("depend")
            .map(|d| d.split(',').collect())
            .unwrap_or_default()
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        if !(2..=3).contains(&t.len()) {
            return None;
        }
        let mut rid = Rid::new(t[0], RidDirection::from_name(t[1])?);
        if let Some(params) = t.get(2) {
            for p in params.split(';') {
                let (k, v) = match p.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (p, None),
                };
                if k.is_empty() || v == Some("") {
                    return None;
                }
                if k == "pt" {
                    // RFC 8851 §10: rid-pt-param = "pt=" rid-fmt *( "," rid-fmt ), once.
                    if !rid.payload_types.is_empty() {
                        return None;
                    }
                    rid.payload_types = v?.split(',').map(parse_number).collect::<Option<_>>()?;
                } else {
                    rid.restrictions.push((k.to_owned(), v.map(str::to_owned)));
                }
            }
        }
        Some(rid)
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction)?;
        let mut sep = ' ';
        if !self.payload_types.is_empty() {
            f.write_str(" pt=")?;
            for (i, pt) in self.payload_types.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{pt}")?;
            }
            sep = ';';
        }
        for (k, v) in &self.restrictions {
            write!(f, "{sep}{k}")?;
            if let Some(v) = v {
                write!(f, "={v}")?;
            }
            sep = ';';
        }
        Ok(())
    }
}

impl RidDirection {
    fn from_name(s: &str) -> Option<Self> {
        keyword(
            s,
            &[("send", RidDirection::Send), ("recv", RidDirection::Recv)],
        )
    }
}

impl fmt::Display for RidDirection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RidDirection::Send => "send",
            RidDirection::Recv => "recv",
        })
    }
}

impl Simulcast {
    /// Sending the given rids, one stream each, none paused.
    pub fn send<'a>(rids: impl IntoIterator<Item = &'a str>) -> Self {
        Simulcast {
            send: Some(Self::list(rids)),
            recv: None,
        }
    }

    /// Receiving the given rids, one stream each, none paused.
    pub fn recv<'a>(rids: impl IntoIterator<Item = &'a str>) -> Self {
        Simulcast {
            send: None,
            recv: Some(Self::list(rids)),
        }
    }

    fn list<'a>(rids: impl IntoIterator<Item = &'a str>) -> Vec<SimulcastAlternatives> {
        rids.into_iter()
            .map(|r| {
                vec![SimulcastRid {
                    rid: r.to_owned(),
                    paused: false,
                }]
            })
            .collect()
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        let t = tokens(s)?;
        if t.len() != 2 && t.len() != 4 {
            return None;
        }
        let mut sc = Simulcast::default();
        for pair in t.chunks_exact(2) {
            let list = Self::parse_list(pair[1])?;
            let slot = match RidDirection::from_name(pair[0])? {
                RidDirection::Send => &mut sc.send,
                RidDirection::Recv => &mut sc.recv,
            };
            if slot.replace(list).is_some() {
                return None;
            }
        }
        Some(sc)
    }

    fn parse_list(s: &str) -> Option<Vec<SimulcastAlternatives>> {
        // RFC 8853 §5.1: sc-str-list = sc-alt-list *(";" sc-alt-list),
        // sc-alt-list = sc-id *("," sc-id), sc-id = [sc-id-paused] rid-id.
        s.split(';')
            .map(|alt| {
                alt.split(',')
                    .map(|id| {
                        let (paused, rid) = match id.strip_prefix('~') {
                            Some(r) => (true, r),
                            None => (false, id),
                        };
                        is_rid(rid).then(|| SimulcastRid {
                            rid: rid.to_owned(),
                            paused,
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

fn is_rid(s: &str) -> bool {
    is_token(s)
        && !s.starts_with('~')
        && s.chars().all(|c| is_token_char(c) && c != ',' && c != ';')
}

fn write_list(f: &mut fmt::Formatter<'_>, list: &[SimulcastAlternatives]) -> fmt::Result {
    for (i, alt) in list.iter().enumerate() {
        if i > 0 {
            f.write_str(";")?;
        }
        for (j, r) in alt.iter().enumerate() {
            if j > 0 {
                f.write_str(",")?;
            }
            if r.paused {
                f.write_str("~")?;
            }
            f.write_str(&r.rid)?;
        }
    }
    Ok(())
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.send {
            f.write_str("send ")?;
            write_list(f, s)?;
        }
        if let Some(r) = &self.recv {
            if self.send.is_some() {
                f.write_str(" ")?;
            }
            f.write_str("recv ")?;
            write_list(f, r)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rid_with_payload_types_and_restrictions() {
        // RFC 8851 §11.1 style.
        let r = Rid::parse("1 send pt=97,98;max-width=1280;max-height=720").unwrap();
        assert_eq!(r.payload_types, vec![97, 98]);
        assert_eq!(r.restriction("max-width"), Some("1280"));
        assert_eq!(
            (r.max_width(), r.max_height(), r.max_fps()),
            (Some(1280), Some(720), None)
        );
        assert_eq!(
            r.to_string(),
            "1 send pt=97,98;max-width=1280;max-height=720"
        );
        let r = Rid::parse("q send").unwrap();
        assert_eq!(r.to_string(), "q send");
        let r = Rid::parse("5 recv max-fps=29.97;depend=1,2;max-br=64000;max-bpp=1.5").unwrap();
        assert_eq!(
            (r.max_fps(), r.max_br(), r.max_bpp()),
            (Some(29.97), Some(64000), Some(1.5))
        );
        assert_eq!(r.depend(), ["1", "2"]);
        let r = Rid::parse("5 recv max-fps=30;depend=1").unwrap();
        assert_eq!(r.to_string(), "5 recv max-fps=30;depend=1");
        for bad in [
            "q",
            "q both",
            "q send pt=",
            "q send pt=x",
            "q send ;",
            "q send pt=1;pt=2",
            "q send a b",
        ] {
            assert_eq!(Rid::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn simulcast_with_alternatives_and_paused() {
        // RFC 8853 §5.1 examples.
        let s = Simulcast::parse("send 1;~4;5 recv 2;3").unwrap();
        let send = s.send.as_ref().unwrap();
        assert_eq!(send.len(), 3);
        assert!(send[1][0].paused);
        assert_eq!(s.to_string(), "send 1;~4;5 recv 2;3");
        let s = Simulcast::parse("recv 1,2;3").unwrap();
        assert_eq!(s.recv.as_ref().unwrap()[0].len(), 2);
        assert_eq!(s.to_string(), "recv 1,2;3");
        assert_eq!(
            Simulcast::parse("recv 2 send 1").unwrap().to_string(),
            "send 1 recv 2"
        );
        for bad in [
            "send",
            "send 1 send 2",
            "both 1",
            "send 1;;2",
            "send ~",
            "send 1,",
            "send 1 recv",
        ] {
            assert_eq!(Simulcast::parse(bad), None, "{bad}");
        }
    }
}
