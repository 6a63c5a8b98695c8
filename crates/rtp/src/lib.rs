//! RTP for weft: the media wire format as pure codecs.
//!
//! This crate holds no connection state and does no IO. It has:
//! - the RTP packet ([`Packet`], a zero-copy view; [`PacketBuf`], an owned packet that
//!   encodes) with CSRCs, padding and header extensions in the RFC 8285 one-byte and
//!   two-byte forms, mixed per packet as `a=extmap-allow-mixed` allows;
//! - typed header extensions ([`extension`]) looked up through a negotiated
//!   [`ExtensionMap`], and the AV1 dependency descriptor ([`dd`]);
//! - RTX retransmission packets ([`rtx`]);
//! - packetizers and depacketizers for Opus, G.711, G.722, VP8, VP9, H.264, H.265, AV1 and
//!   telephone events ([`codec`]);
//! - a [`SampleBuilder`](sample_builder::SampleBuilder) that reassembles frames from
//!   reordered packets in bounded memory, with a loss policy;
//! - media file readers and writers for tests and examples ([`media`]).
//!
//! # The contract
//!
//! Pure codecs follow the house shape: `decode(&[u8]) -> Result<T, ParseError>`,
//! `encoded_len(&self)`, `encode(&self, &mut impl BufMut)`. Bytes from the network never
//! panic and never allocate without bound: every length is checked against the input and
//! reassembly buffers have limits. Values that cannot be put on the wire are refused when
//! they are set ([`Error`]), so encoding does not fail.
//!
//! The stateful helpers ([`SampleBuilder`](sample_builder::SampleBuilder),
//! [`DdReader`](dd::DdReader), [`EventReceiver`](codec::telephone_event::EventReceiver))
//! are sans-IO: data in through `handle_*`, results out through `poll_*` or return values,
//! no clock.
//!
//! ```
//! use bytes::Bytes;
//! use weft_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
//! use weft_rtp::codec::{Packetizer, Sequencer};
//! use weft_rtp::sample_builder::{LossPolicy, SampleBuilder};
//! use weft_rtp::{Packet, PayloadType, SeqNum, Ssrc, Timestamp};
//!
//! // Sender: split a frame, number the packets, put them on the wire.
//! let frame = vec![0x10; 3000];
//! let payloads = Vp8Packetizer::with_picture_id(1).packetize(&frame, 1200).unwrap();
//! let mut seq = Sequencer::new(Ssrc(42), PayloadType::new(96).unwrap(), SeqNum::from(7));
//! let wire: Vec<Bytes> = seq
//!     .packets(payloads, Timestamp::from(90_000), true)
//!     .iter()
//!     .map(|p| p.to_bytes())
//!     .collect();
//!
//! // Receiver: decode each datagram (here in reverse order) and drain frames.
//! let mut builder = SampleBuilder::new(Vp8Depacketizer::new(), 256, LossPolicy::Wait { packets: 16 });
//! let mut frames = Vec::new();
//! for datagram in wire.iter().rev() {
//!     let packet = Packet::decode(datagram).unwrap();
//!     builder.handle_packet(&packet);
//!     while let Some(f) = builder.poll_frame() {
//!         frames.push(f);
//!     }
//! }
//! // The builder holds the first frame until the policy's wait is over (packets sent before
//! // the first arrival may still come); the end of the stream releases it.
//! frames.extend(builder.flush());
//! assert_eq!(frames.len(), 1);
//! assert_eq!(frames[0].data, frame);
//! ```
//!
//! # Specifications
//!
//! | Spec | What is implemented |
//! |---|---|
//! | RFC 3550 §5.1 | fixed header, CSRC list, padding, header extension block |
//! | RFC 8285 §4.2, §4.3, §6 | one-byte and two-byte extension elements, per-packet choice (mixed) |
//! | RFC 8843 §15.2, RFC 8852 §3 | mid, rid, repaired-rid extensions |
//! | RFC 6464 §3 | client-to-mixer audio level |
//! | RFC 5450 §2 | transmission time offset |
//! | 3GPP TS 26.114 §7.4.5 | video orientation (CVO) |
//! | webrtc.org | abs-send-time, transport-wide sequence number, playout delay, abs-capture-time |
//! | AOM AV1 RTP spec appendix A | dependency descriptor, with template structures, parse and build |
//! | RFC 4588 §4 | RTX packet build and unwrap |
//! | RFC 7587 | Opus payload |
//! | RFC 3551 §4.5.2, §4.5.14 | G.722, G.711 PCMU/PCMA payloads |
//! | RFC 7741 | VP8 payload descriptor, packetizer, depacketizer, key frames |
//! | RFC 9628 | VP9 payload descriptor (flexible, non-flexible, layer indices, SS) |
//! | RFC 6184 | H.264 single NAL, STAP-A, FU-A; packetization modes 0 and 1 |
//! | RFC 7798 | H.265 single NAL, AP, FU |
//! | AOM AV1 RTP spec §4 | aggregation header, OBU elements, fragmentation |
//! | RFC 4733 §2 | telephone-event payload, sender schedule, receiver de-duplication |
//! | RFC 3533, RFC 7845 | Ogg pages (CRC checked) and Opus headers |
//!
//! Not implemented: H.264 packetization mode 2 (STAP-B, MTAP16/24, FU-B) and H.265 DONL/DOND
//! and PACI, which decode to [`ParseErrorKind::UnsupportedType`]; the transport-cc v2
//! extension (with feedback request); RTP header extensions with profiles other than RFC
//! 8285 are kept as raw bytes and not interpreted; RED (RFC 2198) and FEC (RFC 5109, flexfec)
//! payloads; VP8 packetization of partitions other than 0 (the packetizer sends the whole
//! frame as partition 0, which RFC 7741 allows); choosing VP9 layer structures and
//! references (the caller describes each layer frame to
//! [`Vp9Packetizer::packetize_layer`](codec::vp9::Vp9Packetizer::packetize_layer));
//! multi-stream Ogg files (pages of other streams are skipped).
//!
//! # Invariants
//!
//! - A decoded [`Packet`] has already validated its CSRC count, extension block and padding;
//!   its accessors cannot fail.
//! - [`Header`] never holds more than 15 CSRCs, [`Extensions`] never an extension id 0 or a
//!   value longer than 255 bytes, so [`PacketBuf::encode`] cannot fail.
//! - Depacketizers hold at most one fragment, bounded by their `max_unit`/`max_obu` limit;
//!   the sample builder holds at most `max_packets` sequence numbers and as many frames.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod dd;
pub mod error;
pub mod extension;
pub mod media;
mod packet;
mod reader;
pub mod rtx;
pub mod sample_builder;

pub use error::{Error, ParseError, ParseErrorKind};
pub use extension::{Extension, ExtensionKind, ExtensionMap, Extensions, ExtensionsRef};
pub use packet::{
    FIXED_HEADER_LEN, Header, MAX_CSRCS, Packet, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp,
};
