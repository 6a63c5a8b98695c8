//! SDP for weft (RFC 8866): a typed model of session descriptions with the attributes
//! WebRTC uses, a parser that never panics and bounds its work, a CRLF serializer, and a
//! builder for offers and answers.
//!
//! # Contract
//!
//! This is a pure codec (see `docs/ARCHITECTURE.md`): no IO, no clock, no state between
//! calls. [`SessionDescription::decode`] takes bytes (or [`SessionDescription::parse`]
//! text) and returns the model or a [`ParseError`] with the line number, the start of the
//! offending line and a [`ParseErrorKind`]; [`SessionDescription::encode`] and `Display`
//! write it back with CRLF line endings.
//!
//! Parse an offer, read what JSEP needs, and build an answer:
//!
//! ```
//! use weft_sdp::*;
//!
//! let offer = SessionDescription::parse(
//!     "v=0\r\n\
//!      o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
//!      s=-\r\n\
//!      t=0 0\r\n\
//!      a=group:BUNDLE 0\r\n\
//!      m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n\
//!      c=IN IP4 0.0.0.0\r\n\
//!      a=ice-ufrag:EsAw\r\n\
//!      a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n\
//!      a=fingerprint:sha-256 D1:2C:BE:AD:C4:F6:64:5C:25:16:11:9C:AF:E7:0F:73:79:36:4E:9C:1E:15:54:39:0C:06:8B:ED:96:86:00:39\r\n\
//!      a=setup:actpass\r\n\
//!      a=mid:0\r\n\
//!      a=sendrecv\r\n\
//!      a=rtcp-mux\r\n\
//!      a=rtpmap:111 opus/48000/2\r\n\
//!      a=rtcp-fb:111 transport-cc\r\n\
//!      a=fmtp:111 minptime=10;useinbandfec=1\r\n\
//!      a=rtpmap:0 PCMU/8000\r\n\
//!      a=candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host generation 0\r\n",
//! )?;
//!
//! // Inspect: BUNDLE, media by mid, credentials, codecs.
//! let bundle = offer.bundle_group().expect("bundled");
//! let audio = offer.media_by_mid(&bundle.mids[0]).expect("mid 0");
//! let ice = offer.ice_credentials(audio).expect("credentials");
//! assert_eq!(ice.ufrag, "EsAw");
//! let opus = audio.codec(111).expect("opus offered");
//! assert_eq!(opus.name(), Some("opus"));
//! assert_eq!(opus.fmtp.and_then(|f| f.get("useinbandfec")), Some("1"));
//! assert_eq!(audio.candidates().next().map(|c| c.port), Some(54321));
//!
//! // Answer: accept opus only, take the DTLS client role, send and receive.
//! let answer = SessionDescription::builder(1, 1)
//!     .bundle(["0"])
//!     .media(
//!         MediaDescription::new(MediaKind::Audio, 9, &audio.protocol)
//!             .with_connection(Connection::ip4("0.0.0.0"))
//!             .with_mid("0")
//!             .with_ice_credentials("aBcD", "0123456789abcdefghijklmn")
//!             .with_fingerprint(Fingerprint { algorithm: HashFunction::Sha256, value: vec![7; 32] })
//!             .with_setup(audio.setup().expect("offered").answer())
//!             .with_direction(offer.direction(audio).reverse())
//!             .with(Attribute::RtcpMux)
//!             .with_codec(opus.to_spec().expect("has rtpmap")),
//!     )
//!     .build()?;
//! let text = answer.to_string();
//! assert!(text.contains("a=setup:active\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"));
//! assert_eq!(SessionDescription::parse(&text)?, answer);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is implemented
//!
//! | Spec | Sections | Notes |
//! |---|---|---|
//! | RFC 8866 | §5 every line type (`v o s i u e p c b t r z k a m`), several `t=`, §6 `ptime`, `maxptime`, `rtpmap`, directions, `framerate`, `fmtp` | `i u e p r z k` kept verbatim; CRLF or LF in, CRLF out; blank lines skipped |
//! | RFC 8839, RFC 8840 | `candidate` (with `raddr`/`rport` and unknown extensions kept), `ice-ufrag`, `ice-pwd`, `ice-options`, `ice-lite`, `end-of-candidates` | browser extensions `generation`, `ufrag`, `network-id`, `network-cost`; RFC 6544 `tcptype` |
//! | RFC 8122, RFC 4145, RFC 8842 | `fingerprint` (sha-1/224/256/384/512, md5, md2, others kept), `setup`, `tls-id` | digest length checked for the named hashes |
//! | RFC 5888, RFC 8843 | `mid`, `group` (`BUNDLE`, `LS`, `FID`, others kept), `bundle-only` | |
//! | RFC 8830 | `msid`; `msid-semantic` of the draft browsers still send | |
//! | RFC 4585, RFC 3605, RFC 5761, RFC 8858, RFC 5506 | `rtcp-fb` (with `*`), `rtcp`, `rtcp-mux`, `rtcp-mux-only`, `rtcp-rsize` | |
//! | RFC 8285 | `extmap` (direction, attributes), `extmap-allow-mixed` | |
//! | RFC 5576, RFC 5956 | `ssrc`, `ssrc-group` (`FID`, `SIM`, `FEC-FR`) | Plan B's `mslabel`/`label` read as `ssrc` attributes |
//! | RFC 8851, RFC 8853 | `rid` (payload types and restrictions), `simulcast` (alternatives, paused `~`) | restrictions kept as name/value pairs |
//! | RFC 8841 | `sctp-port`, `max-message-size` | legacy `sctpmap` read and written back |
//! | draft-hancke-tsvwg-snap | `sctp-init` | kept as opaque text |
//! | RFC 8827 | `identity` | kept as opaque text |
//!
//! Not here: JSEP itself (offer/answer state, codec negotiation), which is
//! `weft-peerconnection`'s job; typed `r=`/`z=` values, `k=` methods and the `charset`,
//! `sdplang`, `lang`, `orient`, `type`, `quality`, `cat`, `keywds`, `tool` attributes of
//! RFC 8866 §6 (kept verbatim as [`Attribute::Other`]); typed `rid` restriction values;
//! `sctp-init` contents; the SDP security descriptions of RFC 4568 (`crypto`, kept
//! verbatim).
//!
//! # Invariants
//!
//! - Parsing never panics and does bounded work: the input is refused beyond
//!   [`Limits::max_size`], [`Limits::max_lines`] and [`Limits::max_line_len`] before any
//!   line is parsed, and numbers too large for their field are errors, never wraps.
//! - For every description `d` that parsed, `SessionDescription::parse(&d.to_string())`
//!   gives back `d`. The serialized text is the input itself for what Chrome writes, and
//!   for what Firefox writes except `msid-semantic` (written with Chrome's space).
//! - An attribute this crate has no grammar for is kept verbatim whatever its content;
//!   an attribute it has a grammar for either parses to its typed variant or fails the
//!   parse with [`ParseErrorKind::BadAttribute`]. [`Attribute::Other`] never holds a name
//!   [`is_known_attribute`] knows, after parsing.
//! - The model owns its strings: a description outlives the text it came from and can be
//!   edited for JSEP (a few kilobytes per offer, parsed once per negotiation).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod attribute;
mod builder;
mod candidate;
mod error;
mod grammar;
mod media;
mod rtp;
mod session;
mod simulcast;

pub use attribute::{
    Attribute, Direction, Fingerprint, Group, GroupSemantics, HashFunction, KNOWN_ATTRIBUTES, Msid,
    MsidSemantic, Rtcp, Sctpmap, Setup, is_known_attribute,
};
pub use builder::SessionBuilder;
pub use candidate::{Candidate, CandidateError, CandidateType, TcpType};
pub use error::{ERROR_TEXT_LEN, Error, ParseError, ParseErrorKind};
pub use media::{Codec, CodecSpec, MediaDescription, MediaKind};
pub use rtp::{Extmap, Fmtp, RtcpFb, Rtpmap, Ssrc, SsrcGroup};
pub use session::{
    Bandwidth, Connection, IceCredentials, Limits, Origin, SessionDescription, Timing,
};
pub use simulcast::{Rid, RidDirection, Simulcast, SimulcastAlternatives, SimulcastRid};
