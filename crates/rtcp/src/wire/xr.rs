//! Extended reports (RFC 3611): receiver reference time, DLRR, libwebrtc's target bitrate
//! block, and every other block type kept raw.

use bytes::{BufMut, Bytes};

use super::reader::Reader;
use super::{Body, PT_XR};
use crate::error::{Error, ParseError, ParseErrorKind};
use crate::types::{CompactNtp, NtpTime, Ssrc};

/// Block type of a receiver reference time report (RFC 3611 §4.4).
pub const BT_RRTR: u8 = 4;
/// Block type of a DLRR report (RFC 3611 §4.5).
pub const BT_DLRR: u8 = 5;
/// Block type libwebrtc uses for its target bitrate report (not IANA-assigned).
pub const BT_TARGET_BITRATE: u8 = 42;

/// The largest block body the 16-bit block length describes.
const MAX_BLOCK_BODY: usize = 0xFFFF * 4;

/// One DLRR sub-block (RFC 3611 §4.5): the echo of a receiver's reference time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DlrrItem {
    /// The receiver whose RRTR is echoed.
    pub ssrc: Ssrc,
    /// The middle 32 bits of that RRTR's NTP timestamp (0 if none).
    pub last_rr: CompactNtp,
    /// The delay since that RRTR arrived, in units of 1/65536 s.
    pub delay_since_last_rr: CompactNtp,
}

/// One item of libwebrtc's target bitrate block: the bitrate an encoder layer aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TargetBitrateItem {
    /// The spatial layer (4 bits).
    pub spatial_layer: u8,
    /// The temporal layer (4 bits).
    pub temporal_layer: u8,
    /// The target in kbit/s (24 bits).
    pub bitrate_kbps: u32,
}

/// One report block of an extended report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum XrBlock {
    /// Receiver reference time (RFC 3611 §4.4): lets a non-sender get a round-trip time.
    ReceiverReferenceTime {
        /// The wall-clock time the report was sent.
        ntp_time: NtpTime,
    },
    /// DLRR (RFC 3611 §4.5): the answers to receiver reference times.
    Dlrr(Vec<DlrrItem>),
    /// libwebrtc's target bitrate per layer (block type 42), sent with simulcast and SVC.
    TargetBitrate(Vec<TargetBitrateItem>),
    /// Any other block type, kept as it came.
    Unknown {
        /// The block type.
        block_type: u8,
        /// The type-specific byte of the block header.
        type_specific: u8,
        /// The block contents after its 4-byte header (whole 32-bit words).
        body: Bytes,
    },
}

impl XrBlock {
    fn body_len(&self) -> usize {
        match self {
            XrBlock::ReceiverReferenceTime { .. } => 8,
            XrBlock::Dlrr(items) => 12 * items.len(),
            XrBlock::TargetBitrate(items) => 4 * items.len(),
            XrBlock::Unknown { body, .. } => body.len(),
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<XrBlock, ParseError> {
        let start = r.offset();
        let block_type = r.u8()?;
        let type_specific = r.u8()?;
        // RFC 3611 §3: the block length counts 32-bit words after the header.
        let len = usize::from(r.u16()?) * 4;
        let bad = ParseError::new(ParseErrorKind::BadXrBlock, start);
        let body = r.take(len).map_err(|_| bad)?;
        let mut b = Reader::new(body, start + 4);
        Ok(match block_type {
            BT_RRTR => {
                if len != 8 {
                    return Err(bad);
                }
                XrBlock::ReceiverReferenceTime {
                    ntp_time: NtpTime(b.u64()?),
                }
            }
            BT_DLRR => {
                if len % 12 != 0 {
                    return Err(bad);
                }
                let mut items = Vec::with_capacity(len / 12);
                while !b.is_empty() {
                    items.push(DlrrItem {
                        ssrc: Ssrc(b.u32()?),
                        last_rr: CompactNtp(b.u32()?),
                        delay_since_last_rr: CompactNtp(b.u32()?),
                    });
                }
                XrBlock::Dlrr(items)
            }
            BT_TARGET_BITRATE => {
                let mut items = Vec::with_capacity(len / 4);
                while !b.is_empty() {
                    let layers = b.u8()?;
                    items.push(TargetBitrateItem {
                        spatial_layer: layers >> 4,
                        temporal_layer: layers & 0x0F,
                        bitrate_kbps: b.u24()?,
                    });
                }
                XrBlock::TargetBitrate(items)
            }
            _ => XrBlock::Unknown {
                block_type,
                type_specific,
                body: Bytes::copy_from_slice(body),
            },
        })
    }

    fn validate(&self) -> Result<(), Error> {
        if self.body_len() > MAX_BLOCK_BODY {
            return Err(Error::PacketTooLarge);
        }
        match self {
            XrBlock::TargetBitrate(items) => {
                for i in items {
                    if i.spatial_layer > 15 || i.temporal_layer > 15 || i.bitrate_kbps > 0xFF_FFFF {
                        return Err(Error::OutOfRange {
                            what: "target bitrate item",
                        });
                    }
                }
            }
            XrBlock::Unknown {
                block_type, body, ..
            } => {
                if body.len() % 4 != 0 {
                    return Err(Error::BadFieldLength {
                        what: "XR block",
                        len: body.len(),
                    });
                }
                // A raw block of a known type would decode as that type.
                if matches!(*block_type, BT_RRTR | BT_DLRR | BT_TARGET_BITRATE) {
                    return Err(Error::OutOfRange {
                        what: "raw XR block of a decoded type",
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn write(&self, out: &mut dyn BufMut) {
        let (bt, ts) = match self {
            XrBlock::ReceiverReferenceTime { .. } => (BT_RRTR, 0),
            XrBlock::Dlrr(_) => (BT_DLRR, 0),
            XrBlock::TargetBitrate(_) => (BT_TARGET_BITRATE, 0),
            XrBlock::Unknown {
                block_type,
                type_specific,
                ..
            } => (*block_type, *type_specific),
        };
        out.put_u8(bt);
        out.put_u8(ts);
        // validate() keeps the body within the 16-bit word count.
        out.put_u16((self.body_len() / 4) as u16);
        match self {
            XrBlock::ReceiverReferenceTime { ntp_time } => out.put_u64(ntp_time.0),
            XrBlock::Dlrr(items) => {
                for i in items {
                    out.put_u32(i.ssrc.0);
                    out.put_u32(i.last_rr.0);
                    out.put_u32(i.delay_since_last_rr.0);
                }
            }
            XrBlock::TargetBitrate(items) => {
                for i in items {
                    out.put_u8((i.spatial_layer << 4) | i.temporal_layer);
                    out.put_slice(&i.bitrate_kbps.to_be_bytes()[1..]);
                }
            }
            XrBlock::Unknown { body, .. } => out.put_slice(body),
        }
    }
}

/// An extended report packet (RFC 3611 §2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtendedReport {
    /// The SSRC of the packet's sender.
    pub sender_ssrc: Ssrc,
    /// The report blocks, in wire order.
    pub blocks: Vec<XrBlock>,
}

impl ExtendedReport {
    pub(crate) fn decode_body(mut r: Reader<'_>) -> Result<Self, ParseError> {
        let sender_ssrc = Ssrc(r.u32()?);
        let mut blocks = Vec::new();
        while !r.is_empty() {
            blocks.push(XrBlock::decode(&mut r)?);
        }
        Ok(ExtendedReport {
            sender_ssrc,
            blocks,
        })
    }
}

impl Body for ExtendedReport {
    fn packet_type(&self) -> u8 {
        PT_XR
    }
    fn count(&self) -> u8 {
        0
    }
    fn body_len(&self) -> usize {
        4 + self.blocks.iter().map(|b| 4 + b.body_len()).sum::<usize>()
    }
    fn validate(&self) -> Result<(), Error> {
        self.blocks.iter().try_for_each(XrBlock::validate)
    }
    fn write_body(&self, out: &mut dyn BufMut) {
        out.put_u32(self.sender_ssrc.0);
        for b in &self.blocks {
            b.write(out);
        }
    }
}
