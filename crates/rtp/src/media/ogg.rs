//! Ogg Opus files (RFC 7845 over the RFC 3533 Ogg container): a reader that checks page
//! CRCs and reassembles packets across pages, and a writer that puts one Opus packet per page.
//!
//! Only single-stream files are read: pages of other logical streams are skipped.

use crate::error::{ParseError, ParseErrorKind};
use crate::reader::Reader;

/// The largest packet the reader reassembles (RFC 7845 §6 suggests 61,440 bytes per packet
/// for Opus; comment headers can be larger).
pub const MAX_PACKET: usize = 1 << 20;

const FLAG_CONTINUED: u8 = 0x01;
const FLAG_BOS: u8 = 0x02;
const FLAG_EOS: u8 = 0x04;

/// The Opus identification header (RFC 7845 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpusHead {
    /// Output channels, 1..=255.
    pub channels: u8,
    /// Samples (at 48 kHz) to drop from the start of the decoded output.
    pub pre_skip: u16,
    /// The original input sample rate (informational).
    pub input_sample_rate: u32,
    /// Output gain in Q7.8 dB.
    pub output_gain: i16,
    /// The channel mapping family and, unless it is 0, the mapping table: stream count,
    /// coupled stream count and one byte per channel.
    pub mapping: ChannelMapping,
}

/// The channel mapping of an [`OpusHead`] (RFC 7845 §5.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelMapping {
    /// Family 0: mono or stereo, one stream.
    Rtp,
    /// Another family with its table.
    Table {
        /// The family number (1, 255, ...).
        family: u8,
        /// The number of Opus streams.
        streams: u8,
        /// How many of them are coupled (stereo).
        coupled: u8,
        /// The stream index of each output channel.
        mapping: Vec<u8>,
    },
}

impl OpusHead {
    /// Decodes the identification header packet.
    pub fn decode(packet: &[u8]) -> Result<OpusHead, ParseError> {
        let mut r = Reader::new(packet);
        if r.take(8)? != b"OpusHead" {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 0));
        }
        // RFC 7845 §5.1: the major version (high nibble) must be 0.
        if r.u8()? >> 4 != 0 {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 8));
        }
        let channels = r.u8()?;
        if channels == 0 {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 9));
        }
        let pre_skip = r.u16()?.swap_bytes();
        let input_sample_rate = r.u32()?.swap_bytes();
        let output_gain = r.u16()?.swap_bytes() as i16;
        let family = r.u8()?;
        let mapping = if family == 0 {
            ChannelMapping::Rtp
        } else {
            let streams = r.u8()?;
            let coupled = r.u8()?;
            let mapping = r.take(usize::from(channels))?.to_vec();
            ChannelMapping::Table {
                family,
                streams,
                coupled,
                mapping,
            }
        };
        Ok(OpusHead {
            channels,
            pre_skip,
            input_sample_rate,
            output_gain,
            mapping,
        })
    }

    /// Encodes the identification header packet (version 1).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"OpusHead");
        out.push(1);
        out.push(self.channels);
        out.extend_from_slice(&self.pre_skip.to_le_bytes());
        out.extend_from_slice(&self.input_sample_rate.to_le_bytes());
        out.extend_from_slice(&self.output_gain.to_le_bytes());
        match &self.mapping {
            ChannelMapping::Rtp => out.push(0),
            ChannelMapping::Table {
                family,
                streams,
                coupled,
                mapping,
            } => {
                out.push(*family);
                out.push(*streams);
                out.push(*coupled);
                out.extend_from_slice(mapping);
            }
        }
    }
}

/// A packet of the stream with the granule position of the page it ends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggPacket {
    /// The packet.
    pub data: Vec<u8>,
    /// The granule position of the page the packet ends on (48 kHz samples for Opus), or -1.
    pub granule: i64,
}

/// Reads an Ogg Opus file held in memory.
#[derive(Debug, Clone)]
pub struct OggOpusReader<'a> {
    r: Reader<'a>,
    serial: u32,
    partial: Vec<u8>,
    queue: std::collections::VecDeque<OggPacket>,
    failed: bool,
    next_page_seq: Option<u32>,
}

impl<'a> OggOpusReader<'a> {
    /// Reads the identification and comment headers and returns the reader positioned at the
    /// first audio packet, with the comment header's vendor string.
    pub fn new(file: &'a [u8]) -> Result<(OpusHead, String, OggOpusReader<'a>), ParseError> {
        let mut me = OggOpusReader {
            r: Reader::new(file),
            serial: 0,
            partial: Vec::new(),
            queue: Default::default(),
            failed: false,
            next_page_seq: None,
        };
        let first = me.read_page(true)?;
        if !first {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 0));
        }
        let head_packet = me
            .next()
            .ok_or(ParseError::new(ParseErrorKind::BadFileHeader, 0))??;
        let head = OpusHead::decode(&head_packet.data)?;
        let tags = me
            .next()
            .ok_or(ParseError::new(ParseErrorKind::BadFileHeader, 0))??;
        let mut t = Reader::new(&tags.data);
        if t.take(8)? != b"OpusTags" {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 0));
        }
        let vlen = t.u32()?.swap_bytes() as usize;
        let vendor = String::from_utf8_lossy(t.take(vlen)?).into_owned();
        Ok((head, vendor, me))
    }

    /// Reads one page; returns whether it was a beginning-of-stream page.
    fn read_page(&mut self, first: bool) -> Result<bool, ParseError> {
        let start = self.r.offset();
        let all = self.r.rest();
        if self.r.take(4)? != b"OggS" {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, start));
        }
        if self.r.u8()? != 0 {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, start + 4));
        }
        let flags = self.r.u8()?;
        let granule = self.r.u64()?.swap_bytes() as i64;
        let serial = self.r.u32()?.swap_bytes();
        let page_seq = self.r.u32()?.swap_bytes();
        let crc = self.r.u32()?.swap_bytes();
        let nseg = usize::from(self.r.u8()?);
        let lacing = self.r.take(nseg)?;
        let body_len: usize = lacing.iter().map(|l| usize::from(*l)).sum();
        let body = self.r.take(body_len)?;
        let page_len = 27 + nseg + body_len;
        // RFC 3533 §6: the CRC covers the page with the CRC field zeroed.
        let mut c = crc_update(0, &all[..22]);
        c = crc_update(c, &[0; 4]);
        c = crc_update(c, &all[26..page_len]);
        if c != crc {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, start + 22));
        }
        if first {
            self.serial = serial;
        } else if serial != self.serial {
            return Ok(false);
        }
        if let Some(expected) = self.next_page_seq
            && expected != page_seq
        {
            // A page is missing: a packet continued across it is lost.
            self.partial.clear();
        }
        self.next_page_seq = Some(page_seq.wrapping_add(1));
        if flags & FLAG_CONTINUED == 0 {
            self.partial.clear();
        }
        let mut pos = 0;
        let mut seg_start = start + 27 + nseg;
        for l in lacing {
            let l = usize::from(*l);
            if self.partial.len() + l > MAX_PACKET {
                return Err(ParseError::new(ParseErrorKind::TooLarge, seg_start));
            }
            self.partial.extend_from_slice(&body[pos..pos + l]);
            pos += l;
            seg_start += l;
            if l < 255 {
                self.queue.push_back(OggPacket {
                    data: std::mem::take(&mut self.partial),
                    granule,
                });
            }
        }
        Ok(flags & FLAG_BOS != 0)
    }
}

impl Iterator for OggOpusReader<'_> {
    type Item = Result<OggPacket, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = self.queue.pop_front() {
                return Some(Ok(p));
            }
            if self.failed || self.r.is_empty() {
                return None;
            }
            if let Err(e) = self.read_page(false) {
                self.failed = true;
                return Some(Err(e));
            }
        }
    }
}

/// Writes an Ogg Opus file into memory: headers first, then one page per audio packet.
#[derive(Debug, Clone)]
pub struct OggOpusWriter {
    out: Vec<u8>,
    serial: u32,
    page_seq: u32,
    granule: i64,
    pending: Option<(Vec<u8>, i64)>,
}

impl OggOpusWriter {
    /// Starts a file with the identification header and a comment header naming `vendor`.
    pub fn new(head: &OpusHead, vendor: &str, serial: u32) -> Self {
        let mut w = OggOpusWriter {
            out: Vec::new(),
            serial,
            page_seq: 0,
            granule: 0,
            pending: None,
        };
        let mut h = Vec::new();
        head.encode(&mut h);
        w.page(&h, FLAG_BOS, 0);
        let mut tags = b"OpusTags".to_vec();
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor.as_bytes());
        tags.extend_from_slice(&0u32.to_le_bytes());
        w.page(&tags, 0, 0);
        w
    }

    /// Appends an Opus packet that decodes to `samples` samples at 48 kHz.
    pub fn write_packet(&mut self, packet: &[u8], samples: u32) {
        if let Some((p, g)) = self.pending.take() {
            self.page(&p, 0, g);
        }
        self.granule += i64::from(samples);
        self.pending = Some((packet.to_vec(), self.granule));
    }

    /// The file; the last packet's page carries the end-of-stream flag (a file without audio
    /// ends with an empty end-of-stream page).
    pub fn finish(mut self) -> Vec<u8> {
        match self.pending.take() {
            Some((p, g)) => self.page(&p, FLAG_EOS, g),
            None => self.empty_eos_page(),
        }
        self.out
    }

    /// RFC 3533 §6: a page with no segments, here only to carry the end-of-stream flag.
    fn empty_eos_page(&mut self) {
        let start = self.out.len();
        self.out.extend_from_slice(b"OggS\0");
        self.out.push(FLAG_EOS);
        self.out.extend_from_slice(&self.granule.to_le_bytes());
        self.out.extend_from_slice(&self.serial.to_le_bytes());
        self.out.extend_from_slice(&self.page_seq.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        self.out.push(0);
        let crc = crc_update(0, &self.out[start..]);
        self.out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
        self.page_seq += 1;
    }

    /// Writes `packet` on as many pages as its lacing needs (255 segments per page).
    fn page(&mut self, packet: &[u8], flags: u8, granule: i64) {
        let mut lacing = vec![255u8; packet.len() / 255];
        lacing.push((packet.len() % 255) as u8);
        let mut body_pos = 0;
        let chunks: Vec<&[u8]> = lacing.chunks(255).collect();
        for (i, segs) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let len: usize = segs.iter().map(|l| usize::from(*l)).sum();
            let start = self.out.len();
            self.out.extend_from_slice(b"OggS\0");
            let mut f = if i > 0 { FLAG_CONTINUED } else { 0 };
            if i == 0 {
                f |= flags & FLAG_BOS;
            }
            if last {
                f |= flags & FLAG_EOS;
            }
            self.out.push(f);
            // RFC 3533 §6: a page on which no packet ends has granule position -1.
            let g = if last { granule } else { -1 };
            self.out.extend_from_slice(&g.to_le_bytes());
            self.out.extend_from_slice(&self.serial.to_le_bytes());
            self.out.extend_from_slice(&self.page_seq.to_le_bytes());
            self.out.extend_from_slice(&[0; 4]);
            // segs has 1..=255 entries.
            self.out.push(segs.len() as u8);
            self.out.extend_from_slice(segs);
            self.out
                .extend_from_slice(&packet[body_pos..body_pos + len]);
            body_pos += len;
            let crc = crc_update(0, &self.out[start..]);
            self.out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
            self.page_seq += 1;
        }
    }
}

/// The Ogg CRC-32: polynomial 0x04c11db7, initial value 0, no reflection (RFC 3533 §6).
fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for b in data {
        crc = (crc << 8) ^ CRC_TABLE[usize::from((crc >> 24) as u8 ^ b)];
    }
    crc
}

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut j = 0;
        while j < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            j += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> OpusHead {
        OpusHead {
            channels: 2,
            pre_skip: 312,
            input_sample_rate: 48000,
            output_gain: -256,
            mapping: ChannelMapping::Rtp,
        }
    }

    #[test]
    fn crc_matches_the_ogg_polynomial() {
        // CRC-32/OGG ("CRC-32/MPEG-2" without the init/xorout) check value for "123456789".
        assert_eq!(crc_update(0, b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn write_then_read_with_a_packet_spanning_pages() {
        let mut w = OggOpusWriter::new(&head(), "weft", 0x1234);
        let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
        w.write_packet(&[0xfc, 1, 2], 960);
        w.write_packet(&big, 960);
        w.write_packet(&[0xfc; 255], 960);
        let file = w.finish();
        let (h, vendor, r) = OggOpusReader::new(&file).unwrap();
        assert_eq!(h, head());
        assert_eq!(vendor, "weft");
        let packets: Vec<_> = r.collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.len(), 3);
        assert_eq!(
            packets[0],
            OggPacket {
                data: vec![0xfc, 1, 2],
                granule: 960
            }
        );
        assert_eq!(packets[1].data, big);
        assert_eq!(packets[1].granule, 1920);
        assert_eq!(packets[2].data, vec![0xfc; 255]);
        assert_eq!(packets[2].granule, 2880);
    }

    #[test]
    fn a_file_without_audio_has_no_packets() {
        let file = OggOpusWriter::new(&head(), "weft", 9).finish();
        let (_, _, r) = OggOpusReader::new(&file).unwrap();
        assert_eq!(r.count(), 0);
    }

    #[test]
    fn corrupt_pages_are_typed_errors() {
        let mut w = OggOpusWriter::new(&head(), "weft", 1);
        w.write_packet(&[1, 2, 3], 960);
        let mut file = w.finish();
        let n = file.len();
        file[n - 1] ^= 0xff;
        let (_, _, mut r) = OggOpusReader::new(&file).unwrap();
        assert_eq!(
            r.next().unwrap().unwrap_err().kind,
            ParseErrorKind::BadFileHeader
        );
        assert!(r.next().is_none());
        assert_eq!(
            OggOpusReader::new(&file[..30]).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
        let mut h = Vec::new();
        head().encode(&mut h);
        assert_eq!(OpusHead::decode(&h).unwrap(), head());
        h[9] = 0;
        assert_eq!(
            OpusHead::decode(&h).unwrap_err().kind,
            ParseErrorKind::BadFileHeader
        );
    }
}
