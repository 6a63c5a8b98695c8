//! ChannelData messages (RFC 8656 §12.4): relayed data with a 4-byte header instead of STUN.

/// The first channel number a client may bind (RFC 8656 §12).
pub const MIN_CHANNEL: u16 = 0x4000;
/// The last channel number a client may bind.
pub const MAX_CHANNEL: u16 = 0x4FFF;

/// Whether `buf` starts like a ChannelData message (first byte 0x40-0x4F, RFC 7983).
pub fn is_channel_data(buf: &[u8]) -> bool {
    buf.first().is_some_and(|b| (0x40..=0x4F).contains(b))
}

/// A decoded ChannelData message, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// The channel number.
    pub channel: u16,
    /// The application data.
    pub data: &'a [u8],
}

/// Why bytes are not a ChannelData message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelDataError {
    /// Shorter than the 4-byte header.
    #[error("truncated ChannelData header")]
    Truncated,
    /// The channel number is outside 0x4000-0x4FFF.
    #[error("channel number {0:#06x} outside 0x4000-0x4FFF")]
    BadChannel(u16),
    /// The length field says more than there is.
    #[error("ChannelData length {0} exceeds the datagram")]
    BadLength(usize),
}

impl<'a> ChannelData<'a> {
    /// Decodes one message at the start of `buf`. On UDP, bytes after the data (padding) are
    /// ignored (RFC 8656 §12.5).
    pub fn decode(buf: &'a [u8]) -> Result<Self, ChannelDataError> {
        if buf.len() < 4 {
            return Err(ChannelDataError::Truncated);
        }
        let channel = u16::from_be_bytes([buf[0], buf[1]]);
        if !(MIN_CHANNEL..=MAX_CHANNEL).contains(&channel) {
            return Err(ChannelDataError::BadChannel(channel));
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if buf.len() < 4 + len {
            return Err(ChannelDataError::BadLength(len));
        }
        Ok(ChannelData {
            channel,
            data: &buf[4..4 + len],
        })
    }

    /// On a stream transport, the length of the message at the start of `buf` including its
    /// padding to 4 bytes (RFC 8656 §12.5), once the header has arrived.
    pub fn frame_len(buf: &[u8]) -> Option<usize> {
        if buf.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        Some((4 + len + 3) & !3)
    }

    /// Appends the message to `out`; `pad` pads it to a multiple of 4 bytes, as stream
    /// transports require.
    pub fn encode(&self, pad: bool, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.channel.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
        out.extend_from_slice(self.data);
        if pad {
            out.resize(out.len() + (4 - self.data.len() % 4) % 4, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_and_rejects() {
        let m = ChannelData::decode(&[0x40, 0x01, 0, 3, b'a', b'b', b'c', 0]).unwrap();
        assert_eq!((m.channel, m.data), (0x4001, &b"abc"[..]));
        assert_eq!(
            ChannelData::decode(&[0x40, 0]),
            Err(ChannelDataError::Truncated)
        );
        assert_eq!(
            ChannelData::decode(&[0x50, 0, 0, 0]),
            Err(ChannelDataError::BadChannel(0x5000))
        );
        assert_eq!(
            ChannelData::decode(&[0x40, 0, 0, 9, 1]),
            Err(ChannelDataError::BadLength(9))
        );
        assert_eq!(ChannelData::frame_len(&[0x40, 0, 0, 5]), Some(12));
        assert!(is_channel_data(&[0x4f]) && !is_channel_data(&[0x00]) && !is_channel_data(&[]));
    }

    proptest! {
        #[test]
        fn round_trips(channel in MIN_CHANNEL..=MAX_CHANNEL, data in proptest::collection::vec(any::<u8>(), 0..300), pad: bool) {
            let mut out = Vec::new();
            ChannelData { channel, data: &data }.encode(pad, &mut out);
            if pad { prop_assert_eq!(out.len() % 4, 0); }
            let back = ChannelData::decode(&out).unwrap();
            prop_assert_eq!(back.channel, channel);
            prop_assert_eq!(back.data, &data[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ChannelData::decode(&bytes);
            let _ = ChannelData::frame_len(&bytes);
        }
    }
}
