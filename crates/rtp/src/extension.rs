//! RTP header extensions: the RFC 8285 one-byte and two-byte forms, the map from negotiated
//! ids to extension kinds, and the typed extensions WebRTC uses.
//!
//! A stream negotiated with `a=extmap-allow-mixed` (RFC 8285 §6) may carry packets in either
//! form; the form is a per-packet choice. [`Extensions`] picks the one-byte form when every
//! element fits it (ids 1..=14, 1..=16 bytes) and the two-byte form otherwise, or always when
//! [`Extensions::set_two_byte`] asks for it.

use std::fmt;
use std::time::Duration;

use bytes::{BufMut, Bytes};

use crate::error::{Error, ParseError, ParseErrorKind};

/// The profile value of the one-byte form (RFC 8285 §4.2).
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// The profile value of the two-byte form, without its four "appbits" (RFC 8285 §4.3).
pub const TWO_BYTE_PROFILE: u16 = 0x1000;

/// How a packet's extension block is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    None,
    OneByte,
    TwoByte,
    /// A profile this crate does not parse: the block is kept as raw bytes.
    Other,
}

/// One header extension element: a local id and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtensionElement<'a> {
    /// The local identifier (1..=14 in the one-byte form, 1..=255 in the two-byte form).
    pub id: u8,
    /// The value.
    pub data: &'a [u8],
}

/// The header extensions of a decoded [`Packet`](crate::Packet), borrowing its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionsRef<'a> {
    form: Form,
    profile: u16,
    data: &'a [u8],
}

impl<'a> ExtensionsRef<'a> {
    pub(crate) fn empty() -> Self {
        ExtensionsRef {
            form: Form::None,
            profile: 0,
            data: &[],
        }
    }

    /// Validates an extension block; `base` is the offset of `data` in the packet.
    pub(crate) fn parse(profile: u16, data: &'a [u8], base: usize) -> Result<Self, ParseError> {
        let form = if profile == ONE_BYTE_PROFILE {
            Form::OneByte
        } else if profile & 0xfff0 == TWO_BYTE_PROFILE {
            Form::TwoByte
        } else {
            Form::Other
        };
        let ext = ExtensionsRef {
            form,
            profile,
            data,
        };
        let mut pos = 0;
        while let Some((_, next)) = next_element(form, data, pos)
            .map_err(|at| ParseError::new(ParseErrorKind::BadExtensionLength, base + at))?
        {
            pos = next;
        }
        Ok(ext)
    }

    /// Whether the packet has no extension block.
    pub fn is_empty(&self) -> bool {
        self.form == Form::None
    }

    /// Whether the block uses the two-byte form.
    pub fn is_two_byte(&self) -> bool {
        self.form == Form::TwoByte
    }

    /// The 16-bit profile field ("defined by profile"), 0 when there is no block.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The raw block after the profile and length words.
    pub fn raw(&self) -> &'a [u8] {
        self.data
    }

    /// The RFC 8285 elements in order (none for another profile). Parsing stops at an id 15
    /// in the one-byte form (RFC 8285 §4.2).
    pub fn iter(&self) -> impl Iterator<Item = ExtensionElement<'a>> + 'a {
        let form = self.form;
        let data = self.data;
        let mut pos = 0;
        std::iter::from_fn(move || {
            // decode validated the block, so an error cannot happen here; stop if it does.
            let (el, next) = next_element(form, data, pos).ok()??;
            pos = next;
            Some(el)
        })
    }

    /// The value of the first element with `id`.
    pub fn get(&self, id: u8) -> Option<&'a [u8]> {
        self.iter().find(|e| e.id == id).map(|e| e.data)
    }

    /// Copies the block into an owned [`Extensions`]. A block holding only padding becomes
    /// empty extensions (nothing to re-send).
    pub fn to_owned(&self) -> Extensions {
        let mut out = Extensions::default();
        match self.form {
            Form::None => {}
            Form::Other => out.raw = Some((self.profile, Bytes::copy_from_slice(self.data))),
            Form::OneByte | Form::TwoByte => {
                out.two_byte = self.form == Form::TwoByte;
                out.appbits = if out.two_byte {
                    (self.profile & 0x0f) as u8
                } else {
                    0
                };
                for e in self.iter() {
                    if !out.elements.iter().any(|(id, _)| *id == e.id) {
                        out.elements.push((e.id, Bytes::copy_from_slice(e.data)));
                    }
                }
                if out.elements.is_empty() {
                    // A block of padding only carries nothing; encoding drops it.
                    return Extensions::default();
                }
            }
        }
        out
    }
}

/// The next element at or after `pos`: `Ok(None)` at the end, `Err(offset)` when a length
/// runs past the block.
fn next_element(
    form: Form,
    data: &[u8],
    mut pos: usize,
) -> Result<Option<(ExtensionElement<'_>, usize)>, usize> {
    match form {
        Form::None | Form::Other => Ok(None),
        Form::OneByte => loop {
            let Some(&b) = data.get(pos) else {
                return Ok(None);
            };
            let id = b >> 4;
            if id == 0 {
                // RFC 8285 §4.2: padding bytes between elements.
                pos += 1;
                continue;
            }
            if id == 15 {
                // RFC 8285 §4.2: id 15 ends processing of the block.
                return Ok(None);
            }
            let len = usize::from(b & 0x0f) + 1;
            let end = pos + 1 + len;
            if end > data.len() {
                return Err(pos);
            }
            return Ok(Some((
                ExtensionElement {
                    id,
                    data: &data[pos + 1..end],
                },
                end,
            )));
        },
        Form::TwoByte => loop {
            let Some(&id) = data.get(pos) else {
                return Ok(None);
            };
            if id == 0 {
                // RFC 8285 §4.3: a zero byte is padding.
                pos += 1;
                continue;
            }
            let Some(&len) = data.get(pos + 1) else {
                return Err(pos);
            };
            let end = pos + 2 + usize::from(len);
            if end > data.len() {
                return Err(pos);
            }
            return Ok(Some((
                ExtensionElement {
                    id,
                    data: &data[pos + 2..end],
                },
                end,
            )));
        },
    }
}

/// Owned header extensions: RFC 8285 elements keyed by id, or a raw block of another profile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Extensions {
    elements: Vec<(u8, Bytes)>,
    two_byte: bool,
    appbits: u8,
    raw: Option<(u16, Bytes)>,
}

impl Extensions {
    /// No extensions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether nothing would be written.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty() && self.raw.is_none()
    }

    /// Sets the value of `id`, replacing an earlier one. Clears a raw block.
    ///
    /// Errors: id 0 is reserved for padding; values are at most 255 bytes.
    pub fn set(&mut self, id: u8, data: Bytes) -> Result<(), Error> {
        if id == 0 {
            return Err(Error::BadExtensionId(id));
        }
        if data.len() > 255 {
            return Err(Error::ExtensionTooLong(data.len()));
        }
        self.raw = None;
        match self.elements.iter_mut().find(|(i, _)| *i == id) {
            Some(slot) => slot.1 = data,
            None => self.elements.push((id, data)),
        }
        Ok(())
    }

    /// Removes the value of `id`, returning it.
    pub fn remove(&mut self, id: u8) -> Option<Bytes> {
        let i = self.elements.iter().position(|(x, _)| *x == id)?;
        Some(self.elements.remove(i).1)
    }

    /// The value of `id`.
    pub fn get(&self, id: u8) -> Option<&Bytes> {
        self.elements.iter().find(|(i, _)| *i == id).map(|(_, d)| d)
    }

    /// The elements in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = ExtensionElement<'_>> {
        self.elements
            .iter()
            .map(|(id, data)| ExtensionElement { id: *id, data })
    }

    /// Forces the two-byte form (RFC 8285 §4.3) with the given four application bits, even
    /// when every element would fit the one-byte form.
    pub fn set_two_byte(&mut self, appbits: u8) {
        self.two_byte = true;
        self.appbits = appbits & 0x0f;
    }

    /// Replaces everything with a raw block of another profile. `data` must be a whole
    /// number of 32-bit words, at most 65535 of them.
    pub fn set_raw(&mut self, profile: u16, data: Bytes) -> Result<(), Error> {
        if !data.len().is_multiple_of(4) || data.len() / 4 > usize::from(u16::MAX) {
            return Err(Error::ExtensionTooLong(data.len()));
        }
        self.elements.clear();
        self.raw = Some((profile, data));
        Ok(())
    }

    /// The raw block of another profile, if that is what this holds.
    pub fn raw(&self) -> Option<(u16, &Bytes)> {
        self.raw.as_ref().map(|(p, d)| (*p, d))
    }

    fn fits_one_byte(&self) -> bool {
        !self.two_byte
            && self
                .elements
                .iter()
                .all(|(id, d)| (1..=14).contains(id) && (1..=16).contains(&d.len()))
    }

    /// Whether [`encode`](Self::encode) writes the two-byte form.
    pub fn is_two_byte(&self) -> bool {
        self.raw.is_none() && !self.elements.is_empty() && !self.fits_one_byte()
    }

    /// The length of the block: profile, length, elements and padding to a word boundary.
    pub fn encoded_len(&self) -> usize {
        if let Some((_, d)) = &self.raw {
            return 4 + d.len();
        }
        if self.elements.is_empty() {
            return 0;
        }
        let per = if self.fits_one_byte() { 1 } else { 2 };
        let body: usize = self.elements.iter().map(|(_, d)| per + d.len()).sum();
        4 + body.div_ceil(4) * 4
    }

    /// Writes the block (nothing when empty).
    pub fn encode(&self, buf: &mut impl BufMut) {
        if let Some((profile, d)) = &self.raw {
            buf.put_u16(*profile);
            // set_raw checked the word count fits 16 bits.
            buf.put_u16((d.len() / 4) as u16);
            buf.put_slice(d);
            return;
        }
        let len = self.encoded_len();
        if len == 0 {
            return;
        }
        let one = self.fits_one_byte();
        buf.put_u16(if one {
            ONE_BYTE_PROFILE
        } else {
            TWO_BYTE_PROFILE | u16::from(self.appbits)
        });
        // Ids are unique and values at most 255 bytes: at most 255 * 257 bytes, < 65535 words.
        buf.put_u16(((len - 4) / 4) as u16);
        let mut body = 0;
        for (id, d) in &self.elements {
            if one {
                // fits_one_byte checked 1..=16 bytes.
                buf.put_u8(id << 4 | (d.len() - 1) as u8);
                body += 1;
            } else {
                buf.put_u8(*id);
                // set checked the length fits a byte.
                buf.put_u8(d.len() as u8);
                body += 2;
            }
            buf.put_slice(d);
            body += d.len();
        }
        buf.put_bytes(0, len - 4 - body);
    }
}

/// The header extensions this crate knows by URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExtensionKind {
    /// The media identification of BUNDLE (RFC 8843 §15.2): [`Mid`].
    Mid,
    /// The RTP stream id (RFC 8852 §3.1): [`Rid`].
    Rid,
    /// The repaired RTP stream id (RFC 8852 §3.2): [`RepairedRid`].
    RepairedRid,
    /// Absolute send time (webrtc.org): [`AbsSendTime`].
    AbsSendTime,
    /// Transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01):
    /// [`TransportSequence`].
    TransportCc,
    /// Client-to-mixer audio level (RFC 6464): [`AudioLevel`].
    AudioLevel,
    /// Coordination of video orientation (3GPP TS 26.114 §7.4.5): [`VideoOrientation`].
    VideoOrientation,
    /// Playout delay (webrtc.org): [`PlayoutDelay`].
    PlayoutDelay,
    /// Absolute capture time (webrtc.org): [`AbsCaptureTime`].
    AbsCaptureTime,
    /// Transmission time offset (RFC 5450): [`TransmissionOffset`].
    TransmissionOffset,
    /// The AV1 dependency descriptor (AOM RTP spec, appendix A):
    /// [`DependencyDescriptor`](crate::dd::DependencyDescriptor).
    DependencyDescriptor,
}

impl ExtensionKind {
    /// Every kind, in declaration order.
    pub const ALL: [ExtensionKind; 11] = [
        ExtensionKind::Mid,
        ExtensionKind::Rid,
        ExtensionKind::RepairedRid,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportCc,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
        ExtensionKind::TransmissionOffset,
        ExtensionKind::DependencyDescriptor,
    ];

    /// The URI that names the extension in an SDP `a=extmap` line.
    pub const fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => "urn:ietf:params:rtp-hdrext:sdes:mid",
            ExtensionKind::Rid => "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            ExtensionKind::RepairedRid => "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
            ExtensionKind::AbsSendTime => {
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
            }
            ExtensionKind::TransportCc => {
                "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
            }
            ExtensionKind::AudioLevel => "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            ExtensionKind::VideoOrientation => "urn:3gpp:video-orientation",
            ExtensionKind::PlayoutDelay => {
                "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
            }
            ExtensionKind::AbsCaptureTime => {
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
            }
            ExtensionKind::TransmissionOffset => "urn:ietf:params:rtp-hdrext:toffset",
            ExtensionKind::DependencyDescriptor => {
                "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension"
            }
        }
    }

    /// The kind an `a=extmap` URI names.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.uri() == uri)
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// The negotiated mapping between local extension ids and extension kinds (RFC 8285 §5).
#[derive(Clone, PartialEq, Eq)]
pub struct ExtensionMap {
    by_id: [Option<ExtensionKind>; 256],
    by_kind: [Option<u8>; ExtensionKind::ALL.len()],
}

impl Default for ExtensionMap {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ExtensionMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.by_id
                    .iter()
                    .enumerate()
                    .filter_map(|(i, k)| k.map(|k| (i, k))),
            )
            .finish()
    }
}

impl ExtensionMap {
    /// An empty map.
    pub fn new() -> Self {
        ExtensionMap {
            by_id: [None; 256],
            by_kind: [None; ExtensionKind::ALL.len()],
        }
    }

    /// Maps `id` to `kind`, replacing what either was mapped to. Id 0 is reserved.
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) -> Result<(), Error> {
        if id == 0 {
            return Err(Error::BadExtensionId(id));
        }
        if let Some(old) = self.by_id[usize::from(id)] {
            self.by_kind[old.index()] = None;
        }
        if let Some(old_id) = self.by_kind[kind.index()] {
            self.by_id[usize::from(old_id)] = None;
        }
        self.by_id[usize::from(id)] = Some(kind);
        self.by_kind[kind.index()] = Some(id);
        Ok(())
    }

    /// Maps `id` to the extension `uri` names; `Ok(false)` for a URI this crate does not know.
    pub fn insert_uri(&mut self, id: u8, uri: &str) -> Result<bool, Error> {
        match ExtensionKind::from_uri(uri) {
            Some(k) => self.insert(id, k).map(|()| true),
            None => Ok(false),
        }
    }

    /// The id of `kind`.
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        self.by_kind[kind.index()]
    }

    /// The kind mapped to `id`.
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        self.by_id[usize::from(id)]
    }
}

/// A typed header extension value.
pub trait Extension: Sized {
    /// Which extension this is.
    const KIND: ExtensionKind;
    /// Decodes the element's value.
    fn decode(data: &[u8]) -> Result<Self, ParseError>;
    /// The length of the value.
    fn encoded_len(&self) -> usize;
    /// Writes the value.
    fn encode(&self, buf: &mut impl BufMut);
}

fn bad_len(len: usize) -> ParseError {
    ParseError::new(ParseErrorKind::BadExtensionValue, len)
}

macro_rules! text_extension {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $what:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Checks the characters and the length (1..=255 bytes).
            pub fn new(s: &str) -> Result<Self, Error> {
                if s.is_empty() || s.len() > 255 || !s.bytes().all($allowed) {
                    return Err(Error::BadText($what));
                }
                Ok($name(s.to_owned()))
            }

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Extension for $name {
            const KIND: ExtensionKind = $kind;

            fn decode(data: &[u8]) -> Result<Self, ParseError> {
                if data.is_empty() {
                    return Err(bad_len(0));
                }
                if let Some(i) = data.iter().position(|b| !($allowed)(*b)) {
                    return Err(ParseError::new(ParseErrorKind::BadText, i));
                }
                // Every byte is ASCII, so this is valid UTF-8.
                Ok($name(data.iter().map(|b| char::from(*b)).collect()))
            }

            fn encoded_len(&self) -> usize {
                self.0.len()
            }

            fn encode(&self, buf: &mut impl BufMut) {
                buf.put_slice(self.0.as_bytes());
            }
        }
    };
}

fn is_rid_char(b: u8) -> bool {
    // RFC 8852 §3.1 / RFC 8851 §10: rid-syntax is alphanumerics, "-" and "_".
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn is_mid_char(b: u8) -> bool {
    // RFC 8843 §15.2 carries the SDP mid, an RFC 8866 token: visible ASCII.
    b.is_ascii_graphic()
}

text_extension!(
    /// The media identification (RFC 8843 §15.2): the `a=mid` of the m-section.
    Mid,
    ExtensionKind::Mid,
    "mid",
    is_mid_char
);
text_extension!(
    /// The RTP stream id (RFC 8852 §3.1): a simulcast layer's `a=rid`.
    Rid,
    ExtensionKind::Rid,
    "rid",
    is_rid_char
);
text_extension!(
    /// The RTP stream id a redundancy (RTX, FEC) stream repairs (RFC 8852 §3.2).
    RepairedRid,
    ExtensionKind::RepairedRid,
    "repaired-rid",
    is_rid_char
);

/// Absolute send time: a 24-bit 6.18 fixed-point number of seconds, wrapping every 64 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AbsSendTime(u32);

impl AbsSendTime {
    /// The value from its 24 bits (higher bits are dropped).
    pub fn from_bits(v: u32) -> Self {
        AbsSendTime(v & 0x00ff_ffff)
    }

    /// The 24 bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// The time `d` modulo 64 seconds, rounded down to 2^-18 s.
    pub fn from_duration(d: Duration) -> Self {
        let units = (d.as_nanos() << 18) / 1_000_000_000;
        // Masked to 24 bits: the value wraps every 64 s.
        AbsSendTime((units & 0x00ff_ffff) as u32)
    }

    /// The time within the 64-second period.
    pub fn to_duration(self) -> Duration {
        Duration::from_nanos((u64::from(self.0) * 1_000_000_000) >> 18)
    }
}

impl Extension for AbsSendTime {
    const KIND: ExtensionKind = ExtensionKind::AbsSendTime;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        match data {
            [a, b, c] => Ok(AbsSendTime(u32::from_be_bytes([0, *a, *b, *c]))),
            _ => Err(bad_len(data.len())),
        }
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0.to_be_bytes()[1..]);
    }
}

/// The transport-wide sequence number that transport-cc feedback refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransportSequence(pub u16);

impl Extension for TransportSequence {
    const KIND: ExtensionKind = ExtensionKind::TransportCc;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        match data {
            [a, b] => Ok(TransportSequence(u16::from_be_bytes([*a, *b]))),
            _ => Err(bad_len(data.len())),
        }
    }

    fn encoded_len(&self) -> usize {
        2
    }

    fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u16(self.0);
    }
}

/// The audio level of the packet (RFC 6464 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AudioLevel {
    /// The V flag: the encoder believes the packet holds voice.
    pub voice: bool,
    /// The level in -dBov, 0..=127 (127 is silence, or quieter). Encoding keeps seven bits.
    pub level: u8,
}

impl Extension for AudioLevel {
    const KIND: ExtensionKind = ExtensionKind::AudioLevel;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        // RFC 6464 §3: one byte in the one-byte form; the two-byte form may add padding.
        let &b = data.first().ok_or(bad_len(0))?;
        Ok(AudioLevel {
            voice: b & 0x80 != 0,
            level: b & 0x7f,
        })
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u8(if self.voice { 0x80 } else { 0 } | (self.level & 0x7f));
    }
}

/// The rotation of a [`VideoOrientation`], clockwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Rotation {
    /// No rotation.
    #[default]
    Deg0,
    /// 90 degrees.
    Deg90,
    /// 180 degrees.
    Deg180,
    /// 270 degrees.
    Deg270,
}

/// Coordination of video orientation (3GPP TS 26.114 §7.4.5): the byte `0000CFRR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VideoOrientation {
    /// C: the back-facing camera took the picture.
    pub back_camera: bool,
    /// F: the picture is flipped horizontally.
    pub flip: bool,
    /// R1 R0: the rotation the receiver should apply.
    pub rotation: Rotation,
}

impl Extension for VideoOrientation {
    const KIND: ExtensionKind = ExtensionKind::VideoOrientation;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        let &b = data.first().ok_or(bad_len(0))?;
        Ok(VideoOrientation {
            back_camera: b & 0x08 != 0,
            flip: b & 0x04 != 0,
            rotation: match b & 0x03 {
                0 => Rotation::Deg0,
                1 => Rotation::Deg90,
                2 => Rotation::Deg180,
                _ => Rotation::Deg270,
            },
        })
    }

    fn encoded_len(&self) -> usize {
        1
    }

    fn encode(&self, buf: &mut impl BufMut) {
        let r = match self.rotation {
            Rotation::Deg0 => 0,
            Rotation::Deg90 => 1,
            Rotation::Deg180 => 2,
            Rotation::Deg270 => 3,
        };
        buf.put_u8(if self.back_camera { 0x08 } else { 0 } | if self.flip { 0x04 } else { 0 } | r);
    }
}

/// Playout delay limits (webrtc.org): two 12-bit values in units of 10 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PlayoutDelay {
    min: u16,
    max: u16,
}

impl PlayoutDelay {
    /// The granularity of the values.
    pub const UNIT: Duration = Duration::from_millis(10);
    /// The largest value: 4095 units.
    pub const MAX: Duration = Duration::from_millis(40_950);

    /// Limits rounded down to 10 ms. Errors above [`Self::MAX`] or when `min > max`.
    pub fn new(min: Duration, max: Duration) -> Result<Self, Error> {
        if max > Self::MAX || min > max {
            return Err(Error::OutOfRange("playout delay"));
        }
        // Both are at most 40950 ms, so the unit counts fit 12 bits.
        Ok(PlayoutDelay {
            min: (min.as_millis() / 10) as u16,
            max: (max.as_millis() / 10) as u16,
        })
    }

    /// The minimum delay.
    pub fn min(self) -> Duration {
        Self::UNIT * u32::from(self.min)
    }

    /// The maximum delay.
    pub fn max(self) -> Duration {
        Self::UNIT * u32::from(self.max)
    }
}

impl Extension for PlayoutDelay {
    const KIND: ExtensionKind = ExtensionKind::PlayoutDelay;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        match data {
            [a, b, c] => {
                let v = u32::from_be_bytes([0, *a, *b, *c]);
                Ok(PlayoutDelay {
                    min: (v >> 12) as u16,
                    max: (v & 0xfff) as u16,
                })
            }
            _ => Err(bad_len(data.len())),
        }
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, buf: &mut impl BufMut) {
        let v = (u32::from(self.min & 0xfff) << 12) | u32::from(self.max & 0xfff);
        buf.put_slice(&v.to_be_bytes()[1..]);
    }
}

/// Absolute capture time (webrtc.org): the NTP time the first sample was captured, and
/// optionally the estimated offset of the capturer's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AbsCaptureTime {
    /// The capture time as a 64-bit NTP timestamp (UQ32.32 seconds since 1900).
    pub capture_ntp: u64,
    /// The capturer's estimated clock offset (Q32.32 seconds), when sent (16-byte form).
    pub clock_offset: Option<i64>,
}

impl Extension for AbsCaptureTime {
    const KIND: ExtensionKind = ExtensionKind::AbsCaptureTime;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        let word = |s: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_be_bytes(a)
        };
        match data.len() {
            8 => Ok(AbsCaptureTime {
                capture_ntp: word(data),
                clock_offset: None,
            }),
            16 => Ok(AbsCaptureTime {
                capture_ntp: word(&data[..8]),
                clock_offset: Some(word(&data[8..]) as i64),
            }),
            n => Err(bad_len(n)),
        }
    }

    fn encoded_len(&self) -> usize {
        if self.clock_offset.is_some() { 16 } else { 8 }
    }

    fn encode(&self, buf: &mut impl BufMut) {
        buf.put_u64(self.capture_ntp);
        if let Some(o) = self.clock_offset {
            buf.put_i64(o);
        }
    }
}

/// Transmission time offset (RFC 5450 §2): the signed 24-bit distance, in RTP timestamp
/// units, between the packet's send time and its RTP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TransmissionOffset(i32);

impl TransmissionOffset {
    /// The offset. Errors outside the 24-bit signed range.
    pub fn new(v: i32) -> Result<Self, Error> {
        if !(-(1 << 23)..(1 << 23)).contains(&v) {
            return Err(Error::OutOfRange("transmission offset"));
        }
        Ok(TransmissionOffset(v))
    }

    /// The offset.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl Extension for TransmissionOffset {
    const KIND: ExtensionKind = ExtensionKind::TransmissionOffset;

    fn decode(data: &[u8]) -> Result<Self, ParseError> {
        match data {
            // Sign-extend the 24-bit value.
            [a, b, c] => Ok(TransmissionOffset(i32::from_be_bytes([*a, *b, *c, 0]) >> 8)),
            _ => Err(bad_len(data.len())),
        }
    }

    fn encoded_len(&self) -> usize {
        3
    }

    fn encode(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0.to_be_bytes()[1..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc<T: Extension>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(out.len(), v.encoded_len());
        out
    }

    #[test]
    fn one_byte_form_rfc8285_example() {
        // RFC 8285 §4.2 figure: 0xBEDE, length 3 words; id 1 (1 byte), id 2 (2 bytes) after a
        // padding byte, id 3 (4 bytes), padding.
        let block = [
            0x10, 0xaa, 0x00, 0x21, 0xbb, 0xbb, 0x33, 0xcc, 0xcc, 0xcc, 0xcc, 0x00,
        ];
        let e = ExtensionsRef::parse(ONE_BYTE_PROFILE, &block, 16).unwrap();
        let els: Vec<_> = e.iter().map(|e| (e.id, e.data.to_vec())).collect();
        assert_eq!(
            els,
            vec![(1, vec![0xaa]), (2, vec![0xbb, 0xbb]), (3, vec![0xcc; 4])]
        );
        assert!(!e.is_two_byte());
    }

    #[test]
    fn id_15_stops_one_byte_parsing() {
        let block = [0x10, 0xaa, 0xf3, 0x21, 0xbb, 0xbb, 0, 0];
        let e = ExtensionsRef::parse(ONE_BYTE_PROFILE, &block, 0).unwrap();
        assert_eq!(e.iter().count(), 1);
    }

    #[test]
    fn two_byte_form_with_empty_and_long_values() {
        let mut x = Extensions::new();
        x.set(1, Bytes::new()).unwrap();
        x.set(200, Bytes::from(vec![7u8; 20])).unwrap();
        assert!(x.is_two_byte());
        let mut wire = Vec::new();
        x.encode(&mut wire);
        assert_eq!(wire.len(), x.encoded_len());
        assert_eq!(&wire[..4], &[0x10, 0x00, 0, 6]);
        assert_eq!(&wire[4..8], &[1, 0, 200, 20]);
        let r = ExtensionsRef::parse(0x1000, &wire[4..], 4).unwrap();
        assert!(r.is_two_byte());
        assert_eq!(r.get(1), Some(&[][..]));
        assert_eq!(r.get(200), Some(&[7u8; 20][..]));
        assert_eq!(r.to_owned(), {
            let mut y = x.clone();
            y.set_two_byte(0);
            y
        });
    }

    #[test]
    fn lying_lengths_are_typed_errors() {
        // One-byte element claims 4 bytes, 2 remain.
        let err = ExtensionsRef::parse(ONE_BYTE_PROFILE, &[0x13, 1, 2, 0], 16).unwrap_err();
        assert_eq!(err, ParseError::new(ParseErrorKind::BadExtensionLength, 16));
        // Two-byte element header cut after the id.
        let err = ExtensionsRef::parse(0x1000, &[0, 0, 0, 5], 16).unwrap_err();
        assert_eq!(err.kind, ParseErrorKind::BadExtensionLength);
        let err = ExtensionsRef::parse(0x1000, &[5, 9, 1, 2], 16).unwrap_err();
        assert_eq!(err.offset, 16);
    }

    #[test]
    fn a_block_of_padding_only_is_empty() {
        let r = ExtensionsRef::parse(0x1000, &[0, 0, 0, 0], 16).unwrap();
        assert!(r.is_two_byte());
        assert_eq!(r.to_owned(), Extensions::default());
    }

    #[test]
    fn other_profiles_are_kept_raw() {
        let r = ExtensionsRef::parse(0xabcd, &[1, 2, 3, 4], 16).unwrap();
        assert_eq!(r.iter().count(), 0);
        let owned = r.to_owned();
        assert_eq!(
            owned.raw(),
            Some((0xabcd, &Bytes::from_static(&[1, 2, 3, 4])))
        );
        let mut wire = Vec::new();
        owned.encode(&mut wire);
        assert_eq!(wire, [0xab, 0xcd, 0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn map_is_a_bijection() {
        let mut m = ExtensionMap::new();
        m.insert(3, ExtensionKind::Mid).unwrap();
        m.insert(3, ExtensionKind::Rid).unwrap();
        assert_eq!(m.id(ExtensionKind::Mid), None);
        assert_eq!(m.kind(3), Some(ExtensionKind::Rid));
        m.insert(4, ExtensionKind::Rid).unwrap();
        assert_eq!(m.kind(3), None);
        assert_eq!(
            m.insert(0, ExtensionKind::Mid),
            Err(Error::BadExtensionId(0))
        );
        assert_eq!(
            m.insert_uri(9, "urn:ietf:params:rtp-hdrext:toffset"),
            Ok(true)
        );
        assert_eq!(m.insert_uri(10, "urn:example"), Ok(false));
        for k in ExtensionKind::ALL {
            assert_eq!(ExtensionKind::from_uri(k.uri()), Some(k));
        }
    }

    #[test]
    fn typed_values() {
        assert_eq!(enc(&Mid::new("0").unwrap()), b"0");
        assert_eq!(Mid::new("a b"), Err(Error::BadText("mid")));
        assert_eq!(Rid::new("hi.res"), Err(Error::BadText("rid")));
        assert_eq!(Rid::decode(b"q").unwrap().as_str(), "q");
        assert_eq!(
            Rid::decode(b"a\0").unwrap_err().kind,
            ParseErrorKind::BadText
        );

        let t = AbsSendTime::from_duration(Duration::from_millis(1500));
        assert_eq!(t.bits(), 3 << 17); // 1.5 s in 6.18 fixed point
        assert_eq!(t.to_duration(), Duration::from_millis(1500));
        assert_eq!(
            AbsSendTime::from_duration(Duration::from_secs(65)).to_duration(),
            Duration::from_secs(1)
        );
        assert_eq!(enc(&t), [0x06, 0x00, 0x00]);

        // RFC 6464 §3: V=1, level 0x21.
        assert_eq!(
            AudioLevel::decode(&[0xa1]).unwrap(),
            AudioLevel {
                voice: true,
                level: 0x21
            }
        );
        assert_eq!(
            VideoOrientation::decode(&[0x0d]).unwrap(),
            VideoOrientation {
                back_camera: true,
                flip: true,
                rotation: Rotation::Deg90
            }
        );
        let pd =
            PlayoutDelay::new(Duration::from_millis(100), Duration::from_millis(40_950)).unwrap();
        assert_eq!(enc(&pd), [0x00, 0xaf, 0xff]);
        assert_eq!(
            PlayoutDelay::decode(&[0x00, 0xaf, 0xff]).unwrap().min(),
            Duration::from_millis(100)
        );
        assert!(PlayoutDelay::new(Duration::from_secs(2), Duration::from_secs(1)).is_err());

        let off = TransmissionOffset::new(-2).unwrap();
        assert_eq!(enc(&off), [0xff, 0xff, 0xfe]);
        assert_eq!(
            TransmissionOffset::decode(&[0xff, 0xff, 0xfe]).unwrap(),
            off
        );
        assert!(TransmissionOffset::new(1 << 23).is_err());

        let act = AbsCaptureTime {
            capture_ntp: 0x0102_0304_0506_0708,
            clock_offset: Some(-1),
        };
        assert_eq!(enc(&act).len(), 16);
        assert_eq!(AbsCaptureTime::decode(&enc(&act)).unwrap(), act);
        assert_eq!(
            AbsCaptureTime::decode(&[0; 9]).unwrap_err().kind,
            ParseErrorKind::BadExtensionValue
        );
        assert_eq!(
            TransportSequence::decode(&[0x12, 0x34]).unwrap(),
            TransportSequence(0x1234)
        );
    }
}
