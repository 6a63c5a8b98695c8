//! Parameters of INIT/INIT-ACK (RFC 9260 §3.3.2-3.3.3 and extensions), error causes (§3.3.10)
//! and stream reconfiguration parameters (RFC 6525 §4).

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes};

use super::{Reader, StreamId, Tsn, padded};
use crate::error::{ParseError, ParseErrorKind};

/// One type-length-value read from a parameter list, with the offset of its header.
pub(crate) struct Tlv {
    pub(crate) typ: u16,
    pub(crate) value: Bytes,
    pub(crate) offset: usize,
}

/// Splits a parameter list into TLVs. The last one may lack its padding.
pub(crate) fn read_tlvs(buf: &Bytes, base: usize, max: usize) -> Result<Vec<Tlv>, ParseError> {
    let mut r = Reader::new(buf, base);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let offset = r.offset();
        if out.len() >= max {
            return Err(r.err(ParseErrorKind::TooMany));
        }
        let typ = r.u16()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(ParseError {
                kind: ParseErrorKind::BadLength,
                offset,
            });
        }
        let value = r.bytes(len - 4)?;
        r.skip_padding(padded(len) - len);
        out.push(Tlv { typ, value, offset });
    }
    Ok(out)
}

fn put_tlv_header(buf: &mut impl BufMut, typ: u16, value_len: usize) {
    buf.put_u16(typ);
    // Callers keep values far below 64 KiB: a packet is bounded by the MTU and chunk sizes.
    buf.put_u16((4 + value_len) as u16);
}

fn put_padding(buf: &mut impl BufMut, len: usize) {
    for _ in len..padded(len) {
        buf.put_u8(0);
    }
}

/// A parameter of an INIT or INIT-ACK chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InitParam {
    /// IPv4 address (type 5). Ignored over DTLS, where SCTP has no addresses of its own.
    Ipv4Address(Ipv4Addr),
    /// IPv6 address (type 6).
    Ipv6Address(Ipv6Addr),
    /// State cookie (type 7, INIT-ACK only).
    StateCookie(Bytes),
    /// Unrecognized parameter (type 8, INIT-ACK): the offending parameter, whole.
    UnrecognizedParameter(Bytes),
    /// Cookie preservative (type 9): a suggested lifetime increment in milliseconds.
    CookiePreservative(u32),
    /// Host name address (type 11), deprecated by RFC 9260.
    HostName(Bytes),
    /// Supported address types (type 12).
    SupportedAddressTypes(Vec<u16>),
    /// ECN capable (0x8000).
    EcnCapable,
    /// Zero checksum acceptable (0x8001, RFC 9653) with its error detection method id
    /// (1 = DTLS).
    ZeroChecksumAcceptable(u32),
    /// Supported extensions (0x8008, RFC 5061): the chunk types the sender understands.
    SupportedExtensions(Vec<u8>),
    /// Forward-TSN supported (0xC000, RFC 3758).
    ForwardTsnSupported,
    /// Any other parameter, kept raw.
    Unknown {
        /// Parameter type.
        typ: u16,
        /// Value, without the header and padding.
        value: Bytes,
    },
}

impl InitParam {
    /// The parameter type on the wire.
    pub fn typ(&self) -> u16 {
        match self {
            InitParam::Ipv4Address(_) => 5,
            InitParam::Ipv6Address(_) => 6,
            InitParam::StateCookie(_) => 7,
            InitParam::UnrecognizedParameter(_) => 8,
            InitParam::CookiePreservative(_) => 9,
            InitParam::HostName(_) => 11,
            InitParam::SupportedAddressTypes(_) => 12,
            InitParam::EcnCapable => 0x8000,
            InitParam::ZeroChecksumAcceptable(_) => 0x8001,
            InitParam::SupportedExtensions(_) => 0x8008,
            InitParam::ForwardTsnSupported => 0xC000,
            InitParam::Unknown { typ, .. } => *typ,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            InitParam::Ipv4Address(_) => 4,
            InitParam::Ipv6Address(_) => 16,
            InitParam::StateCookie(b)
            | InitParam::UnrecognizedParameter(b)
            | InitParam::HostName(b) => b.len(),
            InitParam::CookiePreservative(_) | InitParam::ZeroChecksumAcceptable(_) => 4,
            InitParam::SupportedAddressTypes(t) => 2 * t.len(),
            InitParam::EcnCapable | InitParam::ForwardTsnSupported => 0,
            InitParam::SupportedExtensions(e) => e.len(),
            InitParam::Unknown { value, .. } => value.len(),
        }
    }

    /// Length on the wire without trailing padding.
    pub fn encoded_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Writes the parameter followed by its padding.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let len = self.value_len();
        put_tlv_header(buf, self.typ(), len);
        match self {
            InitParam::Ipv4Address(a) => buf.put_slice(&a.octets()),
            InitParam::Ipv6Address(a) => buf.put_slice(&a.octets()),
            InitParam::StateCookie(b)
            | InitParam::UnrecognizedParameter(b)
            | InitParam::HostName(b) => buf.put_slice(b),
            InitParam::CookiePreservative(v) | InitParam::ZeroChecksumAcceptable(v) => {
                buf.put_u32(*v)
            }
            InitParam::SupportedAddressTypes(t) => t.iter().for_each(|v| buf.put_u16(*v)),
            InitParam::EcnCapable | InitParam::ForwardTsnSupported => {}
            InitParam::SupportedExtensions(e) => buf.put_slice(e),
            InitParam::Unknown { value, .. } => buf.put_slice(value),
        }
        put_padding(buf, len);
    }

    pub(crate) fn decode(tlv: &Tlv) -> Result<InitParam, ParseError> {
        let v = &tlv.value;
        let bad = || ParseError {
            kind: ParseErrorKind::BadLength,
            offset: tlv.offset,
        };
        let fixed = |n: usize| if v.len() == n { Ok(()) } else { Err(bad()) };
        let u32v = || -> Result<u32, ParseError> {
            fixed(4)?;
            Ok(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
        };
        Ok(match tlv.typ {
            5 => {
                fixed(4)?;
                InitParam::Ipv4Address(Ipv4Addr::new(v[0], v[1], v[2], v[3]))
            }
            6 => {
                fixed(16)?;
                let mut o = [0u8; 16];
                o.copy_from_slice(v);
                InitParam::Ipv6Address(Ipv6Addr::from(o))
            }
            7 => InitParam::StateCookie(v.clone()),
            8 => InitParam::UnrecognizedParameter(v.clone()),
            9 => InitParam::CookiePreservative(u32v()?),
            11 => InitParam::HostName(v.clone()),
            12 => {
                if !v.len().is_multiple_of(2) {
                    return Err(bad());
                }
                InitParam::SupportedAddressTypes(
                    v.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]]))
                        .collect(),
                )
            }
            0x8000 => {
                fixed(0)?;
                InitParam::EcnCapable
            }
            0x8001 => InitParam::ZeroChecksumAcceptable(u32v()?),
            0x8008 => InitParam::SupportedExtensions(v.to_vec()),
            0xC000 => {
                fixed(0)?;
                InitParam::ForwardTsnSupported
            }
            typ => InitParam::Unknown {
                typ,
                value: v.clone(),
            },
        })
    }
}

/// An error cause (RFC 9260 §3.3.10), carried by ERROR and ABORT chunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCause {
    /// Cause code.
    pub code: u16,
    /// Cause-specific information, without the header and padding.
    pub info: Bytes,
}

impl ErrorCause {
    /// Invalid stream identifier (1).
    pub const INVALID_STREAM_ID: u16 = 1;
    /// Missing mandatory parameter (2).
    pub const MISSING_MANDATORY_PARAMETER: u16 = 2;
    /// Stale cookie (3).
    pub const STALE_COOKIE: u16 = 3;
    /// Out of resource (4).
    pub const OUT_OF_RESOURCE: u16 = 4;
    /// Unresolvable address (5).
    pub const UNRESOLVABLE_ADDRESS: u16 = 5;
    /// Unrecognized chunk type (6).
    pub const UNRECOGNIZED_CHUNK: u16 = 6;
    /// Invalid mandatory parameter (7).
    pub const INVALID_MANDATORY_PARAMETER: u16 = 7;
    /// Unrecognized parameters (8).
    pub const UNRECOGNIZED_PARAMETERS: u16 = 8;
    /// No user data (9).
    pub const NO_USER_DATA: u16 = 9;
    /// Cookie received while shutting down (10).
    pub const COOKIE_WHILE_SHUTTING_DOWN: u16 = 10;
    /// Restart of an association with new addresses (11).
    pub const RESTART_WITH_NEW_ADDRESSES: u16 = 11;
    /// User-initiated abort (12).
    pub const USER_INITIATED_ABORT: u16 = 12;
    /// Protocol violation (13).
    pub const PROTOCOL_VIOLATION: u16 = 13;

    /// A cause with a text (user-initiated abort and protocol violation carry one).
    pub fn with_text(code: u16, text: &str) -> Self {
        ErrorCause {
            code,
            info: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    /// A cause without information.
    pub fn bare(code: u16) -> Self {
        ErrorCause {
            code,
            info: Bytes::new(),
        }
    }

    /// Length on the wire without trailing padding.
    pub fn encoded_len(&self) -> usize {
        4 + self.info.len()
    }

    /// Writes the cause followed by its padding.
    pub fn encode(&self, buf: &mut impl BufMut) {
        put_tlv_header(buf, self.code, self.info.len());
        buf.put_slice(&self.info);
        put_padding(buf, self.info.len());
    }

    pub(crate) fn decode_list(buf: &Bytes, base: usize) -> Result<Vec<ErrorCause>, ParseError> {
        Ok(read_tlvs(buf, base, MAX_PARAMS)?
            .into_iter()
            .map(|t| ErrorCause {
                code: t.typ,
                info: t.value,
            })
            .collect())
    }
}

/// The result of a stream reconfiguration request (RFC 6525 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReconfigResult(pub u32);

impl ReconfigResult {
    /// Success - Nothing to do.
    pub const SUCCESS_NOTHING_TO_DO: ReconfigResult = ReconfigResult(0);
    /// Success - Performed.
    pub const SUCCESS_PERFORMED: ReconfigResult = ReconfigResult(1);
    /// Denied.
    pub const DENIED: ReconfigResult = ReconfigResult(2);
    /// Error - Wrong SSN.
    pub const ERROR_WRONG_SSN: ReconfigResult = ReconfigResult(3);
    /// Error - Request already in progress.
    pub const ERROR_REQUEST_IN_PROGRESS: ReconfigResult = ReconfigResult(4);
    /// Error - Bad Sequence Number.
    pub const ERROR_BAD_SEQUENCE_NUMBER: ReconfigResult = ReconfigResult(5);
    /// In progress.
    pub const IN_PROGRESS: ReconfigResult = ReconfigResult(6);
}

/// A parameter of a RE-CONFIG chunk (RFC 6525 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconfigParam {
    /// Outgoing SSN reset request (13): the sender resets its outgoing streams after `last_tsn`.
    OutgoingReset {
        /// Re-configuration request sequence number.
        request_seq: u32,
        /// The peer's request this one answers (or the last one seen).
        response_seq: u32,
        /// The sender's last assigned TSN.
        last_tsn: Tsn,
        /// Streams to reset; empty means all.
        streams: Vec<StreamId>,
    },
    /// Incoming SSN reset request (14): asks the receiver to reset its outgoing streams.
    IncomingReset {
        /// Re-configuration request sequence number.
        request_seq: u32,
        /// Streams; empty means all.
        streams: Vec<StreamId>,
    },
    /// SSN/TSN reset request (15).
    SsnTsnReset {
        /// Re-configuration request sequence number.
        request_seq: u32,
    },
    /// Re-configuration response (16).
    Response {
        /// The request answered.
        response_seq: u32,
        /// The result.
        result: ReconfigResult,
        /// Sender's and receiver's next TSN (answers to SSN/TSN reset only).
        next_tsns: Option<(Tsn, Tsn)>,
    },
    /// Add outgoing streams request (17).
    AddOutgoingStreams {
        /// Re-configuration request sequence number.
        request_seq: u32,
        /// Number of new streams.
        count: u16,
    },
    /// Add incoming streams request (18).
    AddIncomingStreams {
        /// Re-configuration request sequence number.
        request_seq: u32,
        /// Number of new streams.
        count: u16,
    },
    /// Any other parameter, kept raw.
    Unknown {
        /// Parameter type.
        typ: u16,
        /// Value.
        value: Bytes,
    },
}

impl ReconfigParam {
    fn typ(&self) -> u16 {
        match self {
            ReconfigParam::OutgoingReset { .. } => 13,
            ReconfigParam::IncomingReset { .. } => 14,
            ReconfigParam::SsnTsnReset { .. } => 15,
            ReconfigParam::Response { .. } => 16,
            ReconfigParam::AddOutgoingStreams { .. } => 17,
            ReconfigParam::AddIncomingStreams { .. } => 18,
            ReconfigParam::Unknown { typ, .. } => *typ,
        }
    }

    fn value_len(&self) -> usize {
        match self {
            ReconfigParam::OutgoingReset { streams, .. } => 12 + 2 * streams.len(),
            ReconfigParam::IncomingReset { streams, .. } => 4 + 2 * streams.len(),
            ReconfigParam::SsnTsnReset { .. } => 4,
            ReconfigParam::Response { next_tsns, .. } => {
                8 + if next_tsns.is_some() { 8 } else { 0 }
            }
            ReconfigParam::AddOutgoingStreams { .. } | ReconfigParam::AddIncomingStreams { .. } => {
                8
            }
            ReconfigParam::Unknown { value, .. } => value.len(),
        }
    }

    /// Length on the wire without trailing padding.
    pub fn encoded_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Writes the parameter followed by its padding.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let len = self.value_len();
        put_tlv_header(buf, self.typ(), len);
        match self {
            ReconfigParam::OutgoingReset {
                request_seq,
                response_seq,
                last_tsn,
                streams,
            } => {
                buf.put_u32(*request_seq);
                buf.put_u32(*response_seq);
                buf.put_u32(last_tsn.0);
                streams.iter().for_each(|s| buf.put_u16(s.0));
            }
            ReconfigParam::IncomingReset {
                request_seq,
                streams,
            } => {
                buf.put_u32(*request_seq);
                streams.iter().for_each(|s| buf.put_u16(s.0));
            }
            ReconfigParam::SsnTsnReset { request_seq } => buf.put_u32(*request_seq),
            ReconfigParam::Response {
                response_seq,
                result,
                next_tsns,
            } => {
                buf.put_u32(*response_seq);
                buf.put_u32(result.0);
                if let Some((s, r)) = next_tsns {
                    buf.put_u32(s.0);
                    buf.put_u32(r.0);
                }
            }
            ReconfigParam::AddOutgoingStreams { request_seq, count }
            | ReconfigParam::AddIncomingStreams { request_seq, count } => {
                buf.put_u32(*request_seq);
                buf.put_u16(*count);
                buf.put_u16(0);
            }
            ReconfigParam::Unknown { value, .. } => buf.put_slice(value),
        }
        put_padding(buf, len);
    }

    pub(crate) fn decode(tlv: &Tlv) -> Result<ReconfigParam, ParseError> {
        let v = &tlv.value;
        let mut r = Reader::new(v, tlv.offset + 4);
        let bad = || ParseError {
            kind: ParseErrorKind::BadLength,
            offset: tlv.offset,
        };
        let streams = |r: &mut Reader<'_>| -> Result<Vec<StreamId>, ParseError> {
            if !r.remaining().is_multiple_of(2) {
                return Err(bad());
            }
            let mut s = Vec::with_capacity(r.remaining() / 2);
            while r.remaining() > 0 {
                s.push(StreamId(r.u16()?));
            }
            Ok(s)
        };
        Ok(match tlv.typ {
            13 => ReconfigParam::OutgoingReset {
                request_seq: r.u32()?,
                response_seq: r.u32()?,
                last_tsn: Tsn(r.u32()?),
                streams: streams(&mut r)?,
            },
            14 => ReconfigParam::IncomingReset {
                request_seq: r.u32()?,
                streams: streams(&mut r)?,
            },
            15 => {
                if v.len() != 4 {
                    return Err(bad());
                }
                ReconfigParam::SsnTsnReset {
                    request_seq: r.u32()?,
                }
            }
            16 => {
                let response_seq = r.u32()?;
                let result = ReconfigResult(r.u32()?);
                let next_tsns = match r.remaining() {
                    0 => None,
                    8 => Some((Tsn(r.u32()?), Tsn(r.u32()?))),
                    _ => return Err(bad()),
                };
                ReconfigParam::Response {
                    response_seq,
                    result,
                    next_tsns,
                }
            }
            17 | 18 => {
                if v.len() != 8 {
                    return Err(bad());
                }
                let request_seq = r.u32()?;
                let count = r.u16()?;
                if tlv.typ == 17 {
                    ReconfigParam::AddOutgoingStreams { request_seq, count }
                } else {
                    ReconfigParam::AddIncomingStreams { request_seq, count }
                }
            }
            typ => ReconfigParam::Unknown {
                typ,
                value: v.clone(),
            },
        })
    }
}

/// Most parameters or causes one chunk may carry; a packet can't hold more of the smallest.
pub(crate) const MAX_PARAMS: usize = 16 * 1024;
