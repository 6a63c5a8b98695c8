//! The RTCP wire format: the common header, zero-copy iteration over a compound packet, the
//! typed [`Packet`] enum and the [`Compound`] container.

mod app;
mod bye;
mod ccfb;
mod feedback;
mod reader;
mod report;
mod sdes;
mod twcc;
mod xr;

use bytes::{BufMut, Bytes};

pub use app::App;
pub use bye::Goodbye;
pub use ccfb::{CcfbMetric, CcfbStream, CongestionControlFeedback, Ecn, MAX_REPORTS_PER_STREAM};
pub use feedback::{Fir, FirEntry, Nack, NackPair, Pli, Remb, Sli, SliEntry};
pub use report::{MAX_REPORT_BLOCKS, ReceiverReport, ReportBlock, SenderReport};
pub use sdes::{SdesChunk, SdesItem, SdesType, SourceDescription};
pub use twcc::{ArrivalTime, PacketChunk, PacketStatus, TransportCc};
pub use xr::{
    BT_DLRR, BT_RRTR, BT_TARGET_BITRATE, DlrrItem, ExtendedReport, TargetBitrateItem, XrBlock,
};

use crate::error::{CompoundError, Error, ParseError, ParseErrorKind};
use reader::Reader;

/// Packet type of a sender report (RFC 3550 §6.4.1).
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report (RFC 3550 §6.4.2).
pub const PT_RR: u8 = 201;
/// Packet type of a source description (RFC 3550 §6.5).
pub const PT_SDES: u8 = 202;
/// Packet type of a goodbye (RFC 3550 §6.6).
pub const PT_BYE: u8 = 203;
/// Packet type of an application-defined packet (RFC 3550 §6.7).
pub const PT_APP: u8 = 204;
/// Packet type of transport-layer feedback (RFC 4585 §6.1).
pub const PT_RTPFB: u8 = 205;
/// Packet type of payload-specific feedback (RFC 4585 §6.1).
pub const PT_PSFB: u8 = 206;
/// Packet type of an extended report (RFC 3611 §2).
pub const PT_XR: u8 = 207;

/// The 4-byte header every RTCP packet starts with (RFC 3550 §6.4.1).
const HEADER_LEN: usize = 4;
/// The largest body the 16-bit length field can describe.
const MAX_BODY_LEN: usize = 0xFFFF * 4;

/// One packet of a compound, not yet decoded: its header fields and borrowed bytes.
///
/// Produced by [`packets`]; [`RawPacket::decode`] turns it into a typed [`Packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPacket<'a> {
    /// Whether the padding bit is set.
    pub padding: bool,
    /// The 5-bit count field (report count, source count, subtype or feedback FMT).
    pub count: u8,
    /// The packet type.
    pub packet_type: u8,
    /// The body after the 4-byte header, with padding removed.
    pub body: &'a [u8],
    /// The whole packet: header, body and padding.
    pub bytes: &'a [u8],
    /// The offset of the packet in the buffer given to [`packets`].
    pub offset: usize,
}

impl RawPacket<'_> {
    /// Decodes the packet into its typed form. Types and feedback formats this crate does not
    /// know become [`Packet::Unknown`].
    pub fn decode(&self) -> Result<Packet, ParseError> {
        let body_offset = self.offset + HEADER_LEN;
        let r = Reader::new(self.body, body_offset);
        let p = match (self.packet_type, self.count) {
            (PT_SR, _) => Packet::SenderReport(SenderReport::decode_body(self.count, r)?),
            (PT_RR, _) => Packet::ReceiverReport(ReceiverReport::decode_body(self.count, r)?),
            (PT_SDES, _) => {
                Packet::SourceDescription(SourceDescription::decode_body(self.count, r)?)
            }
            (PT_BYE, _) => Packet::Goodbye(Goodbye::decode_body(self.count, r)?),
            (PT_APP, _) => Packet::App(App::decode_body(self.count, r)?),
            (PT_RTPFB, Nack::FMT) => Packet::Nack(Nack::decode_body(r)?),
            (PT_RTPFB, CongestionControlFeedback::FMT) => {
                Packet::CongestionControlFeedback(CongestionControlFeedback::decode_body(r)?)
            }
            (PT_RTPFB, TransportCc::FMT) => Packet::TransportCc(TransportCc::decode_body(r)?),
            (PT_PSFB, Pli::FMT) => Packet::Pli(Pli::decode_body(r)?),
            (PT_PSFB, Sli::FMT) => Packet::Sli(Sli::decode_body(r)?),
            (PT_PSFB, Fir::FMT) => Packet::Fir(Fir::decode_body(r)?),
            (PT_PSFB, Remb::FMT) if Remb::is_remb(self.body) => Packet::Remb(Remb::decode_body(r)?),
            (PT_XR, _) => Packet::ExtendedReport(ExtendedReport::decode_body(r)?),
            _ => Packet::Unknown(UnknownPacket {
                packet_type: self.packet_type,
                count: self.count,
                padding: self.padding,
                body: Bytes::copy_from_slice(&self.bytes[HEADER_LEN..]),
            }),
        };
        Ok(p)
    }
}

/// Iterates over the packets of a compound (or a single reduced-size packet) without copying.
///
/// Each item is a [`RawPacket`] or the error that stopped the walk; after an error the
/// iterator ends. Checks the version, that each length stays inside the buffer, and each
/// packet's padding; it does not check the compound rules (see [`validate_compound`]).
pub fn packets(buf: &[u8]) -> Packets<'_> {
    Packets {
        buf,
        pos: 0,
        failed: false,
    }
}

/// The iterator returned by [`packets`].
#[derive(Debug, Clone)]
pub struct Packets<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for Packets<'a> {
    type Item = Result<RawPacket<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let r = split_packet(self.buf, self.pos);
        match &r {
            Ok(p) => self.pos += p.bytes.len(),
            Err(_) => self.failed = true,
        }
        Some(r)
    }
}

/// Reads the packet that starts at `pos`.
fn split_packet(buf: &[u8], pos: usize) -> Result<RawPacket<'_>, ParseError> {
    let rest = &buf[pos..];
    if rest.len() < HEADER_LEN {
        return Err(ParseError::new(ParseErrorKind::TruncatedHeader, pos));
    }
    // RFC 3550 §6.4.1: V=2, P, a 5-bit count, PT, and the length in 32-bit words minus one.
    if rest[0] >> 6 != 2 {
        return Err(ParseError::new(ParseErrorKind::BadVersion, pos));
    }
    let padding = rest[0] & 0x20 != 0;
    let count = rest[0] & 0x1F;
    let packet_type = rest[1];
    let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
    if len > rest.len() {
        return Err(ParseError::new(ParseErrorKind::LengthPastEnd, pos + 2));
    }
    let bytes = &rest[..len];
    let mut body = &bytes[HEADER_LEN..];
    if padding {
        // RFC 3550 §6.4.1: the last octet counts the padding octets, itself included.
        let n = usize::from(*body.last().unwrap_or(&0));
        if n == 0 || n > body.len() {
            return Err(ParseError::new(ParseErrorKind::BadPadding, pos + len - 1));
        }
        body = &body[..body.len() - n];
    }
    Ok(RawPacket {
        padding,
        count,
        packet_type,
        body,
        bytes,
        offset: pos,
    })
}

/// A decoded RTCP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Packet {
    /// Sender report (RFC 3550 §6.4.1).
    SenderReport(SenderReport),
    /// Receiver report (RFC 3550 §6.4.2).
    ReceiverReport(ReceiverReport),
    /// Source description (RFC 3550 §6.5).
    SourceDescription(SourceDescription),
    /// Goodbye (RFC 3550 §6.6).
    Goodbye(Goodbye),
    /// Application-defined (RFC 3550 §6.7).
    App(App),
    /// Generic NACK (RFC 4585 §6.2.1).
    Nack(Nack),
    /// Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01).
    TransportCc(TransportCc),
    /// Congestion control feedback (RFC 8888).
    CongestionControlFeedback(CongestionControlFeedback),
    /// Picture loss indication (RFC 4585 §6.3.1).
    Pli(Pli),
    /// Slice loss indication (RFC 4585 §6.3.2).
    Sli(Sli),
    /// Full intra request (RFC 5104 §4.3.1).
    Fir(Fir),
    /// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03).
    Remb(Remb),
    /// Extended report (RFC 3611).
    ExtendedReport(ExtendedReport),
    /// A packet type or feedback format this crate does not decode, kept as it came.
    Unknown(UnknownPacket),
}

/// A packet this crate does not decode: its header fields and raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPacket {
    /// The packet type.
    pub packet_type: u8,
    /// The 5-bit count field.
    pub count: u8,
    /// Whether the padding bit is set (the padding is then the end of `body`).
    pub padding: bool,
    /// Everything after the 4-byte header, padding included; a multiple of 4 bytes.
    pub body: Bytes,
}

/// What every typed packet tells the shared encoder.
pub(crate) trait Body {
    fn packet_type(&self) -> u8;
    /// The 5-bit count or FMT field.
    fn count(&self) -> u8;
    /// The length after the 4-byte header (a multiple of 4).
    fn body_len(&self) -> usize;
    /// Checks that every field fits the wire before anything is written.
    fn validate(&self) -> Result<(), Error>;
    fn write_body(&self, out: &mut dyn BufMut);
    /// Whether the header's padding bit is to be set (only raw packets keep one).
    fn padding(&self) -> bool {
        false
    }
}

/// Validates `p`, then writes its header and body.
pub(crate) fn encode_body<T: Body + ?Sized>(p: &T, out: &mut dyn BufMut) -> Result<(), Error> {
    p.validate()?;
    let len = p.body_len();
    if len > MAX_BODY_LEN {
        return Err(Error::PacketTooLarge);
    }
    // A body of whole words: validate() checks it for every type.
    debug_assert_eq!(
        len % 4,
        0,
        "body of type {} is not whole words",
        p.packet_type()
    );
    out.put_u8(0x80 | (u8::from(p.padding()) << 5) | (p.count() & 0x1F));
    out.put_u8(p.packet_type());
    // len <= MAX_BODY_LEN, so len / 4 fits 16 bits.
    out.put_u16((len / 4) as u16);
    p.write_body(out);
    Ok(())
}

impl Body for UnknownPacket {
    fn packet_type(&self) -> u8 {
        self.packet_type
    }
    fn count(&self) -> u8 {
        self.count
    }
    fn body_len(&self) -> usize {
        self.body.len()
    }
    fn validate(&self) -> Result<(), Error> {
        if self.count > 31 {
            return Err(Error::OutOfRange { what: "count" });
        }
        if !self.body.len().is_multiple_of(4) {
            return Err(Error::BadFieldLength {
                what: "unknown packet body",
                len: self.body.len(),
            });
        }
        let mut body: &[u8] = &self.body;
        if self.padding {
            let n = usize::from(self.body.last().copied().unwrap_or(0));
            if n == 0 || n > self.body.len() {
                return Err(Error::OutOfRange {
                    what: "padding count",
                });
            }
            body = &body[..body.len() - n];
        }
        // A raw packet of a type this crate decodes would come back typed (or not at all).
        let typed = match (self.packet_type, self.count) {
            (PT_SR..=PT_APP | PT_XR, _) => true,
            (PT_RTPFB, Nack::FMT | CongestionControlFeedback::FMT | TransportCc::FMT) => true,
            (PT_PSFB, Pli::FMT | Sli::FMT | Fir::FMT) => true,
            (PT_PSFB, Remb::FMT) => Remb::is_remb(body),
            _ => false,
        };
        if typed {
            return Err(Error::OutOfRange {
                what: "raw packet of a decoded type",
            });
        }
        Ok(())
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_slice(&self.body);
    }
    fn padding(&self) -> bool {
        self.padding
    }
}

/// Gives each packet type the codec methods of the house style (`decode`, `encoded_len`,
/// `encode`) and the conversion into [`Packet`].
macro_rules! packet_codec {
    ($($t:ident => $variant:ident),* $(,)?) => {$(
        impl $t {
            /// Decodes a buffer that holds exactly one packet of this type.
            pub fn decode(buf: &[u8]) -> Result<Self, ParseError> {
                match Packet::decode(buf)? {
                    Packet::$variant(p) => Ok(p),
                    _ => Err(ParseError::new(ParseErrorKind::UnexpectedType, 1)),
                }
            }

            /// The encoded length in bytes, header included.
            pub fn encoded_len(&self) -> usize {
                HEADER_LEN + Body::body_len(self)
            }

            /// Appends the encoded packet to `out`; nothing is written when a field does not
            /// fit the wire.
            pub fn encode(&self, out: &mut impl BufMut) -> Result<(), Error> {
                encode_body(self, out)
            }
        }

        impl From<$t> for Packet {
            fn from(p: $t) -> Packet {
                Packet::$variant(p)
            }
        }
    )*};
}

packet_codec! {
    SenderReport => SenderReport,
    ReceiverReport => ReceiverReport,
    SourceDescription => SourceDescription,
    Goodbye => Goodbye,
    App => App,
    Nack => Nack,
    TransportCc => TransportCc,
    CongestionControlFeedback => CongestionControlFeedback,
    Pli => Pli,
    Sli => Sli,
    Fir => Fir,
    Remb => Remb,
    ExtendedReport => ExtendedReport,
    UnknownPacket => Unknown,
}

impl Packet {
    /// Decodes a buffer that holds exactly one packet (for example a reduced-size RTCP
    /// datagram, RFC 5506). Use [`Compound::decode`] or [`packets`] for several.
    pub fn decode(buf: &[u8]) -> Result<Packet, ParseError> {
        let raw = split_packet(buf, 0)?;
        if raw.bytes.len() != buf.len() {
            return Err(ParseError::new(ParseErrorKind::BadLength, raw.bytes.len()));
        }
        raw.decode()
    }

    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.body().body_len()
    }

    /// Appends the encoded packet to `out`; nothing is written when a field does not fit.
    pub fn encode(&self, out: &mut impl BufMut) -> Result<(), Error> {
        encode_body(self.body(), out)
    }

    /// The packet type on the wire.
    pub fn packet_type(&self) -> u8 {
        self.body().packet_type()
    }

    fn body(&self) -> &dyn Body {
        match self {
            Packet::SenderReport(p) => p,
            Packet::ReceiverReport(p) => p,
            Packet::SourceDescription(p) => p,
            Packet::Goodbye(p) => p,
            Packet::App(p) => p,
            Packet::Nack(p) => p,
            Packet::TransportCc(p) => p,
            Packet::CongestionControlFeedback(p) => p,
            Packet::Pli(p) => p,
            Packet::Sli(p) => p,
            Packet::Fir(p) => p,
            Packet::Remb(p) => p,
            Packet::ExtendedReport(p) => p,
            Packet::Unknown(p) => p,
        }
    }
}

/// A compound RTCP packet (RFC 3550 §6.1), or a reduced-size one (RFC 5506) when it holds a
/// single packet that is not a report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compound {
    /// The packets, in wire order.
    pub packets: Vec<Packet>,
}

impl Compound {
    /// Decodes every packet of `buf`. The compound rules are not enforced, so reduced-size
    /// packets decode; call [`Compound::validate`] to check them.
    pub fn decode(buf: &[u8]) -> Result<Compound, ParseError> {
        let mut out = Vec::new();
        for raw in packets(buf) {
            out.push(raw?.decode()?);
        }
        Ok(Compound { packets: out })
    }

    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.packets.iter().map(Packet::encoded_len).sum()
    }

    /// Appends every packet to `out`. When a packet does not fit the wire, the packets
    /// before it have been written and the error names why.
    pub fn encode(&self, out: &mut impl BufMut) -> Result<(), Error> {
        for p in &self.packets {
            p.encode(out)?;
        }
        Ok(())
    }

    /// Checks the rules of a full compound packet; see [`validate_compound`].
    pub fn validate(&self) -> Result<(), CompoundError> {
        validate_compound(&self.packets)
    }
}

/// Checks the rules RFC 3550 §6.1 sets for a full compound packet: it is not empty, its
/// first packet is an SR or RR, and an SDES packet carries a CNAME.
///
/// Reduced-size packets (RFC 5506 §3) break these rules on purpose; decoding never checks
/// them.
pub fn validate_compound(packets: &[Packet]) -> Result<(), CompoundError> {
    let first = packets.first().ok_or(CompoundError::Empty)?;
    if !matches!(first, Packet::SenderReport(_) | Packet::ReceiverReport(_)) {
        return Err(CompoundError::FirstNotReport);
    }
    let has_cname = packets.iter().any(|p| match p {
        Packet::SourceDescription(s) => s.chunks.iter().any(|c| c.item(SdesType::CNAME).is_some()),
        _ => false,
    });
    if !has_cname {
        return Err(CompoundError::NoCname);
    }
    Ok(())
}

/// Checks that a list fits a count field of `max` entries.
pub(crate) fn check_count(what: &'static str, len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        Err(Error::TooMany { what, len, max })
    } else {
        Ok(())
    }
}
