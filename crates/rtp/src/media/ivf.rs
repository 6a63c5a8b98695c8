//! IVF, the container libvpx and libaom write VP8, VP9 and AV1 frames in: a 32-byte file
//! header, then a 12-byte header before each frame. All numbers are little-endian.

use crate::error::{ParseError, ParseErrorKind};
use crate::reader::Reader;

/// The file header length.
pub const FILE_HEADER_LEN: usize = 32;
/// The frame header length.
pub const FRAME_HEADER_LEN: usize = 12;

/// The IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IvfHeader {
    /// The codec: `VP80`, `VP90` or `AV01`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// The time base denominator (frame timestamps count `timebase_num / timebase_den` s).
    pub timebase_den: u32,
    /// The time base numerator.
    pub timebase_num: u32,
    /// The number of frames (0 when the writer did not know).
    pub frame_count: u32,
}

impl IvfHeader {
    /// Decodes the 32-byte header at the start of a file.
    pub fn decode(file: &[u8]) -> Result<IvfHeader, ParseError> {
        let mut r = Reader::new(file);
        if r.take(4)? != b"DKIF" {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 0));
        }
        let le16 = |r: &mut Reader<'_>| r.u16().map(u16::swap_bytes);
        let le32 = |r: &mut Reader<'_>| r.u32().map(u32::swap_bytes);
        let version = le16(&mut r)?;
        let header_len = le16(&mut r)?;
        if version != 0 || usize::from(header_len) != FILE_HEADER_LEN {
            return Err(ParseError::new(ParseErrorKind::BadFileHeader, 4));
        }
        let mut fourcc = [0u8; 4];
        fourcc.copy_from_slice(r.take(4)?);
        let h = IvfHeader {
            fourcc,
            width: le16(&mut r)?,
            height: le16(&mut r)?,
            timebase_den: le32(&mut r)?,
            timebase_num: le32(&mut r)?,
            frame_count: le32(&mut r)?,
        };
        r.take(4)?;
        Ok(h)
    }

    /// Appends the 32-byte header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"DKIF");
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        out.extend_from_slice(&self.fourcc);
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.timebase_den.to_le_bytes());
        out.extend_from_slice(&self.timebase_num.to_le_bytes());
        out.extend_from_slice(&self.frame_count.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
    }
}

/// A frame of an IVF file, borrowing the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfFrame<'a> {
    /// The presentation timestamp in time-base units.
    pub timestamp: u64,
    /// The frame.
    pub data: &'a [u8],
}

/// Reads an IVF file held in memory.
///
/// ```
/// use weft_rtp::media::ivf::{IvfHeader, IvfReader, IvfWriter};
/// let header = IvfHeader { fourcc: *b"VP80", width: 640, height: 480, timebase_den: 30, timebase_num: 1, frame_count: 0 };
/// let mut w = IvfWriter::new(header);
/// w.write_frame(0, b"frame one");
/// w.write_frame(1, b"frame two");
/// let file = w.finish();
/// let (h, mut r) = IvfReader::new(&file).unwrap();
/// assert_eq!(h.frame_count, 2);
/// assert_eq!(r.next().unwrap().unwrap().data, b"frame one");
/// ```
#[derive(Debug, Clone)]
pub struct IvfReader<'a> {
    r: Reader<'a>,
    failed: bool,
}

impl<'a> IvfReader<'a> {
    /// Checks the file header and returns it with a reader positioned at the first frame.
    pub fn new(file: &'a [u8]) -> Result<(IvfHeader, IvfReader<'a>), ParseError> {
        let h = IvfHeader::decode(file)?;
        Ok((
            h,
            IvfReader {
                r: Reader::with_base(&file[FILE_HEADER_LEN..], FILE_HEADER_LEN),
                failed: false,
            },
        ))
    }
}

impl<'a> Iterator for IvfReader<'a> {
    type Item = Result<IvfFrame<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        let mut read = || -> Result<IvfFrame<'a>, ParseError> {
            let size = self.r.u32()?.swap_bytes();
            let timestamp = self.r.u64()?.swap_bytes();
            let data = self.r.take(size as usize)?;
            Ok(IvfFrame { timestamp, data })
        };
        let f = read();
        self.failed = f.is_err();
        Some(f)
    }
}

/// Writes an IVF file into memory.
#[derive(Debug, Clone)]
pub struct IvfWriter {
    out: Vec<u8>,
    frames: u32,
}

impl IvfWriter {
    /// Starts a file with `header` (its frame count is set by [`IvfWriter::finish`]).
    pub fn new(header: IvfHeader) -> Self {
        let mut out = Vec::new();
        header.encode(&mut out);
        IvfWriter { out, frames: 0 }
    }

    /// Appends a frame. Frames longer than 4 GiB cannot be written and are skipped.
    pub fn write_frame(&mut self, timestamp: u64, frame: &[u8]) {
        let Ok(size) = u32::try_from(frame.len()) else {
            return;
        };
        self.out.extend_from_slice(&size.to_le_bytes());
        self.out.extend_from_slice(&timestamp.to_le_bytes());
        self.out.extend_from_slice(frame);
        self.frames = self.frames.saturating_add(1);
    }

    /// The file, with the frame count filled in.
    pub fn finish(mut self) -> Vec<u8> {
        self.out[24..28].copy_from_slice(&self.frames.to_le_bytes());
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_and_truncated_frames() {
        let h = IvfHeader {
            fourcc: *b"AV01",
            width: 0x140,
            height: 0xf0,
            timebase_den: 30,
            timebase_num: 1,
            frame_count: 0,
        };
        let mut w = IvfWriter::new(h);
        w.write_frame(7, &[1, 2, 3]);
        let file = w.finish();
        assert_eq!(&file[..12], b"DKIF\0\0\x20\0AV01");
        assert_eq!(&file[12..16], &[0x40, 1, 0xf0, 0]);
        assert_eq!(&file[32..44], &[3, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        let (h2, r) = IvfReader::new(&file).unwrap();
        assert_eq!(
            h2,
            IvfHeader {
                frame_count: 1,
                ..h
            }
        );
        assert_eq!(
            r.collect::<Result<Vec<_>, _>>().unwrap(),
            [IvfFrame {
                timestamp: 7,
                data: &[1, 2, 3]
            }]
        );
        // A frame whose size lies.
        let (_, mut r) = IvfReader::new(&file[..46]).unwrap();
        assert_eq!(
            r.next().unwrap().unwrap_err(),
            ParseError::new(ParseErrorKind::Truncated, 44)
        );
        assert!(r.next().is_none());
        assert_eq!(
            IvfHeader::decode(b"RIFF").unwrap_err().kind,
            ParseErrorKind::BadFileHeader
        );
    }
}
