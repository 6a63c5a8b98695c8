//! RTCP for weft: the RTP Control Protocol's packets as a pure codec, feedback builders, and
//! the statistics RFC 3550 asks receivers to compute.
//!
//! A pure codec crate (STYLE.md §2): no IO, no clock, no state machine. Time comes in as
//! arguments ([`std::time::Instant`] for arrivals, [`NtpTime`] built from a
//! [`std::time::SystemTime`] for wall-clock values).
//!
//! - [`packets`] walks a compound packet without copying, yielding each [`RawPacket`]
//!   (header fields and borrowed body); [`RawPacket::decode`] gives the typed [`Packet`].
//! - [`Compound`] decodes and encodes a whole datagram. Decoding does not enforce the compound
//!   rules, so reduced-size packets (RFC 5506) decode; [`validate_compound`] checks them.
//! - Each packet type has `decode`, `encoded_len` and `encode`; encoding checks every field
//!   against its wire width first and writes nothing when one does not fit.
//! - [`ReceiverStats`] turns packet arrivals into a [`ReportBlock`]; [`rtt`] turns a
//!   received report block into a round-trip time.
//!
//! ```
//! use weft_rtcp::{Compound, Packet, Pli, ReceiverReport, SdesChunk, SourceDescription, Ssrc};
//!
//! let compound = Compound {
//!     packets: vec![
//!         ReceiverReport { ssrc: Ssrc(1), ..Default::default() }.into(),
//!         SourceDescription { chunks: vec![SdesChunk::cname(Ssrc(1), "weft")] }.into(),
//!         Pli { sender_ssrc: Ssrc(1), media_ssrc: Ssrc(2) }.into(),
//!     ],
//! };
//! compound.validate()?;
//! let mut datagram = Vec::new();
//! compound.encode(&mut datagram)?;
//! assert_eq!(datagram.len(), compound.encoded_len());
//!
//! // Zero-copy walk, then typed decoding.
//! for raw in weft_rtcp::packets(&datagram) {
//!     let raw = raw?;
//!     if let Packet::Pli(pli) = raw.decode()? {
//!         assert_eq!(pli.media_ssrc, Ssrc(2));
//!     }
//! }
//! assert_eq!(Compound::decode(&datagram)?, compound);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! | Spec | What is implemented |
//! |---|---|
//! | RFC 3550 §6.1, §6.4–§6.7 | common header, padding, compound packets; SR, RR and report blocks (with profile extensions kept), SDES (every item type, kept as bytes), BYE with reason, APP |
//! | RFC 3550 A.1, A.3, A.8, §6.4.1 | [`ReceiverStats`]: source validation, extended highest sequence, expected/lost, fraction lost, jitter, LSR/DLSR; [`rtt`] |
//! | RFC 5506 §3 | reduced-size packets decode and encode (no compound rule is forced) |
//! | RFC 4585 §6.2.1, §6.3.1, §6.3.2 | generic NACK (with [`Nack::from_lost`] and [`Nack::lost`]), PLI, SLI |
//! | RFC 5104 §4.3.1 | FIR |
//! | draft-alvestrand-rmcat-remb-03 | REMB (mantissa/exponent bitrate, SSRC list) |
//! | draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 | transport-wide CC feedback: run-length, 1-bit and 2-bit vector chunks, small and large deltas; [`TransportCc::build`] and [`TransportCc::packet_results`] |
//! | RFC 8888 §3.1 | congestion control feedback (per-stream R/ECN/ATO metrics, report timestamp) |
//! | RFC 3611 §4.4, §4.5 | XR with RRTR and DLRR ([`rtt_from_dlrr`]); libwebrtc's target bitrate block (type 42); other block types kept raw |
//! | RFC 8852 §3, RFC 8843 (RFC 9143) | SDES item numbers for RtpStreamId, RepairedRtpStreamId, MID |
//!
//! Not implemented: RTCP transmission interval and bandwidth rules (RFC 3550 §6.2–§6.3,
//! RFC 4585 §3.5; they belong to the media session), SR generation for senders (a sender
//! fills [`SenderReport`] itself), RPSI (RFC 4585 §6.3.3), TMMBR/TMMBN, TSTR/TSTN and VBCM
//! (RFC 5104 §4.2, §4.3.2–§4.3.4), RFC 3611 blocks other than RRTR and DLRR (loss and
//! duplicate RLE, packet receipt times, statistics summary, VoIP metrics: kept raw as
//! [`XrBlock::Unknown`]), SRTCP (in `weft-srtp`), and writing RTCP padding (decoding strips
//! it; only [`UnknownPacket`] keeps it).
//!
//! Invariants: decoding never panics and allocates at most in proportion to the input;
//! `decode(encode(p)) == p` for every packet that encodes; every error carries the byte offset
//! where the input went wrong.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod stats;
mod types;
mod wire;

pub use error::{CompoundError, Error, ParseError, ParseErrorKind};
pub use stats::{ReceiverStats, rtt, rtt_from_dlrr};
pub use types::{CompactNtp, NtpTime, SeqNum, Ssrc};
pub use wire::{
    App, ArrivalTime, CcfbMetric, CcfbStream, Compound, CongestionControlFeedback, DlrrItem, Ecn,
    ExtendedReport, Fir, FirEntry, Goodbye, Nack, NackPair, Packet, PacketChunk, PacketStatus,
    Packets, Pli, RawPacket, ReceiverReport, Remb, ReportBlock, SdesChunk, SdesItem, SdesType,
    SenderReport, Sli, SliEntry, SourceDescription, TargetBitrateItem, TransportCc, UnknownPacket,
    XrBlock, packets, validate_compound,
};
pub use wire::{MAX_REPORT_BLOCKS, MAX_REPORTS_PER_STREAM};

/// Packet type numbers (RFC 3550 §12.1, RFC 4585 §6.1, RFC 3611 §2) and XR block types.
pub mod packet_type {
    pub use crate::wire::{BT_DLRR, BT_RRTR, BT_TARGET_BITRATE};
    pub use crate::wire::{PT_APP, PT_BYE, PT_PSFB, PT_RR, PT_RTPFB, PT_SDES, PT_SR, PT_XR};
}
