//! RTP for weft (placeholder doc, replaced below).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod error;
pub mod extension;
mod packet;
mod reader;
pub mod rtx;

pub use error::{Error, ParseError, ParseErrorKind};
pub use extension::{Extension, ExtensionKind, ExtensionMap, Extensions, ExtensionsRef};
pub use packet::{FIXED_HEADER_LEN, Header, MAX_CSRCS, Packet, PacketBuf, PayloadType, SeqNum, Ssrc, Timestamp};
pub mod codec;
pub mod sample_builder;
pub mod media;
pub mod dd;
