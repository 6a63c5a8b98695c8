//! Building offers and answers from typed values.

use std::collections::HashSet;

use crate::attribute::{Attribute, Fingerprint, Group, MsidSemantic};
use crate::error::Error;
use crate::grammar::parse_number;
use crate::media::MediaDescription;
use crate::session::{Origin, SessionDescription, Timing};

/// Builds a [`SessionDescription`] (start with [`SessionDescription::builder`]).
///
/// The result has `v=0`, the origin given, `s=-` and `t=0 0` (RFC 8829 §5.2.1), then the
/// session attributes and media sections in the order they were added.
/// [`build`](Self::build) checks that mids and payload types are unique and that the
/// description serializes to SDP that parses back to the same value, so text fields with
/// line breaks or misplaced spaces are caught here rather than by the peer.
#[derive(Debug, Clone)]
pub struct SessionBuilder {
    sd: SessionDescription,
}

impl SessionDescription {
    /// Starts a description with origin `- <session_id> <session_version> IN IP4
    /// 127.0.0.1`, as browsers write it.
    pub fn builder(session_id: u64, session_version: u64) -> SessionBuilder {
        SessionBuilder {
            sd: SessionDescription {
                origin: Origin {
                    username: "-".into(),
                    session_id,
                    session_version,
                    network_type: "IN".into(),
                    address_type: "IP4".into(),
                    address: "127.0.0.1".into(),
                },
                session_name: "-".into(),
                information: None,
                uri: None,
                emails: Vec::new(),
                phones: Vec::new(),
                connection: None,
                bandwidths: Vec::new(),
                timing: vec![Timing::default()],
                time_zones: None,
                key: None,
                attributes: Vec::new(),
                media: Vec::new(),
            },
        }
    }
}

impl SessionBuilder {
    /// Replaces the origin.
    pub fn origin(mut self, o: Origin) -> Self {
        self.sd.origin = o;
        self
    }

    /// Replaces the session name (`-` by default).
    pub fn session_name(mut self, name: &str) -> Self {
        self.sd.session_name = name.to_owned();
        self
    }

    /// Appends a session-level attribute.
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.sd.attributes.push(a);
        self
    }

    /// Appends `a=group:BUNDLE` with the given mids.
    pub fn bundle<'a>(self, mids: impl IntoIterator<Item = &'a str>) -> Self {
        self.attribute(Attribute::Group(Group::bundle(mids)))
    }

    /// Appends `a=msid-semantic: WMS` with the given stream ids.
    pub fn msid_semantic<'a>(self, streams: impl IntoIterator<Item = &'a str>) -> Self {
        self.attribute(Attribute::MsidSemantic(MsidSemantic {
            semantic: "WMS".into(),
            identifiers: streams.into_iter().map(str::to_owned).collect(),
        }))
    }

    /// Appends a session-level `a=fingerprint`.
    pub fn fingerprint(self, f: Fingerprint) -> Self {
        self.attribute(Attribute::Fingerprint(f))
    }

    /// Appends `a=ice-lite`.
    pub fn ice_lite(self) -> Self {
        self.attribute(Attribute::IceLite)
    }

    /// Appends a media section.
    pub fn media(mut self, m: MediaDescription) -> Self {
        self.sd.media.push(m);
        self
    }

    /// Checks and returns the description.
    pub fn build(self) -> Result<SessionDescription, Error> {
        let sd = self.sd;
        let mut mids = HashSet::new();
        for m in &sd.media {
            if let Some(mid) = m.mid()
                && !mids.insert(mid)
            {
                return Err(Error::DuplicateMid(mid.to_owned()));
            }
            let mut pts = HashSet::new();
            for pt in m.formats.iter().filter_map(|f| parse_number::<u8>(f)) {
                if pt > 127 {
                    return Err(Error::BadPayloadType(pt));
                }
                if !pts.insert(pt) {
                    return Err(Error::DuplicatePayloadType(pt));
                }
            }
        }
        let again = SessionDescription::parse(&sd.to_string()).map_err(Error::Invalid)?;
        if again != sd {
            return Err(Error::NotRoundTrip);
        }
        Ok(sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::{Direction, HashFunction, Setup};
    use crate::media::{CodecSpec, MediaKind};
    use crate::rtp::Extmap;
    use crate::session::Connection;

    fn audio(mid: &str) -> MediaDescription {
        MediaDescription::new(MediaKind::Audio, 9, "UDP/TLS/RTP/SAVPF")
            .with_connection(Connection::ip4("0.0.0.0"))
            .with_mid(mid)
    }

    #[test]
    fn builds_an_offer_with_codecs_in_browser_order() {
        let sd = SessionDescription::builder(42, 2)
            .bundle(["0"])
            .msid_semantic(["s"])
            .fingerprint(Fingerprint {
                algorithm: HashFunction::Sha256,
                value: vec![0xAB; 32],
            })
            .media(
                audio("0")
                    .with_ice_credentials("ufrg", "passwordpasswordpassword")
                    .with_setup(Setup::ActPass)
                    .with_extmap(Extmap::new(
                        1,
                        "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
                    ))
                    .with_direction(Direction::SendRecv)
                    .with(Attribute::RtcpMux)
                    .with_codec(
                        CodecSpec::new(111, "opus", 48000)
                            .channels(2)
                            .feedback("transport-cc", None)
                            .fmtp("minptime=10;useinbandfec=1"),
                    )
                    .with_codec(CodecSpec::new(0, "PCMU", 8000)),
            )
            .build()
            .unwrap();
        let text = sd.to_string();
        assert!(text.starts_with(
            "v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
        ));
        assert!(
            text.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n")
        );
        assert!(text.contains(
            "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n"
        ));
        let codec = sd.media[0].codec(111).unwrap();
        assert_eq!(
            codec.to_spec().unwrap().fmtp.as_deref(),
            Some("minptime=10;useinbandfec=1")
        );
        assert_eq!(sd.ice_credentials(&sd.media[0]).unwrap().ufrag, "ufrg");
    }

    #[test]
    fn refuses_duplicate_mids_and_payload_types() {
        let e = SessionDescription::builder(1, 1)
            .media(audio("a"))
            .media(audio("a"))
            .build();
        assert_eq!(e, Err(Error::DuplicateMid("a".into())));
        let m = audio("a")
            .with_codec(CodecSpec::new(96, "VP8", 90000))
            .with_codec(CodecSpec::new(96, "VP9", 90000));
        assert_eq!(
            SessionDescription::builder(1, 1).media(m).build(),
            Err(Error::DuplicatePayloadType(96))
        );
        let m = audio("a").with_codec(CodecSpec::new(200, "x", 1));
        assert_eq!(
            SessionDescription::builder(1, 1).media(m).build(),
            Err(Error::BadPayloadType(200))
        );
    }

    #[test]
    fn refuses_text_that_would_not_parse_back() {
        // A line break inside a value would inject a line.
        let e = SessionDescription::builder(1, 1)
            .media(audio("0\r\na=evil"))
            .build()
            .unwrap_err();
        assert!(
            matches!(e, Error::NotRoundTrip | Error::Invalid(_)),
            "{e:?}"
        );
        // A space inside a token breaks its grammar.
        let e = SessionDescription::builder(1, 1)
            .media(audio("has space"))
            .build()
            .unwrap_err();
        assert!(
            matches!(e, Error::Invalid(p) if p.kind == crate::ParseErrorKind::BadAttribute { name: "mid" })
        );
        // An Other named like a typed attribute parses back typed.
        let other = Attribute::Other {
            name: "rtcp-mux".into(),
            value: None,
        };
        let e = SessionDescription::builder(1, 1)
            .media(audio("0").with(other))
            .build();
        assert_eq!(e, Err(Error::NotRoundTrip));
        assert_eq!(
            e.unwrap_err().to_string(),
            "built description does not parse back to the same value"
        );
    }
}
