//! The media file readers on arbitrary bytes: IVF, Ogg Opus and Annex B access units (H.264
//! and H.265). Nothing may panic; what the IVF and Ogg readers return must be within the
//! input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_rtp::media::annexb::{NalCodec, access_units};
use weft_rtp::media::ivf::IvfReader;
use weft_rtp::media::ogg::{MAX_PACKET, OggOpusReader};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, r)) = IvfReader::new(data) {
        for f in r.flatten() {
            assert!(f.data.len() <= data.len());
        }
    }
    if let Ok((_, _, r)) = OggOpusReader::new(data) {
        for p in r.flatten() {
            assert!(p.data.len() <= MAX_PACKET.min(data.len()));
        }
    }
    for codec in [NalCodec::H264, NalCodec::H265] {
        let total: usize = access_units(codec, data).iter().flatten().map(|u| u.len()).sum();
        assert!(total <= data.len());
    }
});
