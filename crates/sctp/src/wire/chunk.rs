//! SCTP chunks (RFC 9260 §3.3, RFC 3758, RFC 6525, RFC 8260).

use bytes::{BufMut, Bytes};

use super::param::{MAX_PARAMS, read_tlvs};
use super::{ErrorCause, InitParam, Mid, Ppid, Reader, ReconfigParam, Ssn, StreamId, Tsn, padded};
use crate::error::{ParseError, ParseErrorKind};

/// Chunk type numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChunkType(pub u8);

#[allow(missing_docs)]
impl ChunkType {
    pub const DATA: ChunkType = ChunkType(0);
    pub const INIT: ChunkType = ChunkType(1);
    pub const INIT_ACK: ChunkType = ChunkType(2);
    pub const SACK: ChunkType = ChunkType(3);
    pub const HEARTBEAT: ChunkType = ChunkType(4);
    pub const HEARTBEAT_ACK: ChunkType = ChunkType(5);
    pub const ABORT: ChunkType = ChunkType(6);
    pub const SHUTDOWN: ChunkType = ChunkType(7);
    pub const SHUTDOWN_ACK: ChunkType = ChunkType(8);
    pub const ERROR: ChunkType = ChunkType(9);
    pub const COOKIE_ECHO: ChunkType = ChunkType(10);
    pub const COOKIE_ACK: ChunkType = ChunkType(11);
    pub const SHUTDOWN_COMPLETE: ChunkType = ChunkType(14);
    pub const I_DATA: ChunkType = ChunkType(64);
    pub const RE_CONFIG: ChunkType = ChunkType(130);
    pub const FORWARD_TSN: ChunkType = ChunkType(192);
    pub const I_FORWARD_TSN: ChunkType = ChunkType(194);
}

/// A DATA chunk (RFC 9260 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// Transmission sequence number.
    pub tsn: Tsn,
    /// Stream.
    pub stream: StreamId,
    /// Stream sequence number (meaningless when `unordered`).
    pub ssn: Ssn,
    /// Payload protocol identifier.
    pub ppid: Ppid,
    /// U bit: unordered delivery.
    pub unordered: bool,
    /// B bit: first fragment of a message.
    pub begin: bool,
    /// E bit: last fragment of a message.
    pub end: bool,
    /// I bit (RFC 7053): the receiver should SACK at once.
    pub immediate: bool,
    /// User data of this fragment.
    pub payload: Bytes,
}

/// An I-DATA chunk (RFC 8260 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IData {
    /// Transmission sequence number.
    pub tsn: Tsn,
    /// Stream.
    pub stream: StreamId,
    /// Message identifier (separate sequences for ordered and unordered messages).
    pub mid: Mid,
    /// Payload protocol identifier; on the wire only in the first fragment (`begin`).
    pub ppid: Ppid,
    /// Fragment sequence number; on the wire only in later fragments (the first is 0).
    pub fsn: u32,
    /// U bit.
    pub unordered: bool,
    /// B bit.
    pub begin: bool,
    /// E bit.
    pub end: bool,
    /// I bit.
    pub immediate: bool,
    /// User data of this fragment.
    pub payload: Bytes,
}

/// The fixed part and parameters of INIT and INIT-ACK (RFC 9260 §3.3.2, §3.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The tag the peer must put in every packet to the sender.
    pub initiate_tag: u32,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Number of outbound streams the sender wants.
    pub outbound_streams: u16,
    /// Most inbound streams the sender accepts.
    pub inbound_streams: u16,
    /// The sender's first TSN.
    pub initial_tsn: Tsn,
    /// Optional and variable-length parameters.
    pub params: Vec<InitParam>,
}

/// A selective acknowledgement (RFC 9260 §3.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sack {
    /// Highest TSN received in sequence.
    pub cum_tsn: Tsn,
    /// Advertised receiver window credit.
    pub a_rwnd: u32,
    /// Gap ack blocks as (start, end) offsets from `cum_tsn`.
    pub gaps: Vec<(u16, u16)>,
    /// TSNs received more than once since the last SACK.
    pub dups: Vec<Tsn>,
}

/// FORWARD-TSN (RFC 3758 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardTsn {
    /// The new cumulative TSN the receiver should move to.
    pub new_cum_tsn: Tsn,
    /// For each ordered stream with skipped messages, the largest skipped SSN.
    pub streams: Vec<(StreamId, Ssn)>,
}

/// One stream entry of I-FORWARD-TSN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IForwardTsnStream {
    /// Stream.
    pub stream: StreamId,
    /// Whether the skipped message was unordered.
    pub unordered: bool,
    /// The largest skipped message identifier.
    pub mid: Mid,
}

/// I-FORWARD-TSN (RFC 8260 §2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IForwardTsn {
    /// The new cumulative TSN.
    pub new_cum_tsn: Tsn,
    /// Skipped messages per stream.
    pub streams: Vec<IForwardTsnStream>,
}

/// One SCTP chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Chunk {
    /// DATA.
    Data(Data),
    /// INIT.
    Init(Init),
    /// INIT-ACK.
    InitAck(Init),
    /// SACK.
    Sack(Sack),
    /// HEARTBEAT with its parameters (the Heartbeat Info TLV), kept raw to be echoed.
    Heartbeat {
        /// The chunk value.
        info: Bytes,
    },
    /// HEARTBEAT-ACK.
    HeartbeatAck {
        /// The echoed chunk value.
        info: Bytes,
    },
    /// ABORT.
    Abort {
        /// T bit: the verification tag is the sender's own (reflected).
        reflected: bool,
        /// Causes.
        causes: Vec<ErrorCause>,
    },
    /// SHUTDOWN.
    Shutdown {
        /// The sender's cumulative TSN ack.
        cum_tsn: Tsn,
    },
    /// SHUTDOWN-ACK.
    ShutdownAck,
    /// ERROR (operation error).
    Error {
        /// Causes.
        causes: Vec<ErrorCause>,
    },
    /// COOKIE-ECHO.
    CookieEcho {
        /// The state cookie from INIT-ACK.
        cookie: Bytes,
    },
    /// COOKIE-ACK.
    CookieAck,
    /// SHUTDOWN-COMPLETE.
    ShutdownComplete {
        /// T bit.
        reflected: bool,
    },
    /// I-DATA.
    IData(IData),
    /// RE-CONFIG (RFC 6525): one or two parameters.
    ReConfig {
        /// Parameters.
        params: Vec<ReconfigParam>,
    },
    /// FORWARD-TSN.
    ForwardTsn(ForwardTsn),
    /// I-FORWARD-TSN.
    IForwardTsn(IForwardTsn),
    /// Any other chunk, kept raw; what to do with it follows from the type's upper two bits.
    Unknown {
        /// Chunk type.
        typ: u8,
        /// Chunk flags.
        flags: u8,
        /// Value, without header and padding.
        value: Bytes,
    },
}

impl Chunk {
    /// The chunk type.
    pub fn typ(&self) -> ChunkType {
        ChunkType(match self {
            Chunk::Data(_) => 0,
            Chunk::Init(_) => 1,
            Chunk::InitAck(_) => 2,
            Chunk::Sack(_) => 3,
            Chunk::Heartbeat { .. } => 4,
            Chunk::HeartbeatAck { .. } => 5,
            Chunk::Abort { .. } => 6,
            Chunk::Shutdown { .. } => 7,
            Chunk::ShutdownAck => 8,
            Chunk::Error { .. } => 9,
            Chunk::CookieEcho { .. } => 10,
            Chunk::CookieAck => 11,
            Chunk::ShutdownComplete { .. } => 14,
            Chunk::IData(_) => 64,
            Chunk::ReConfig { .. } => 130,
            Chunk::ForwardTsn(_) => 192,
            Chunk::IForwardTsn(_) => 194,
            Chunk::Unknown { typ, .. } => *typ,
        })
    }

    fn flags(&self) -> u8 {
        let dflags = |u: bool, b: bool, e: bool, i: bool| {
            (i as u8) << 3 | (u as u8) << 2 | (b as u8) << 1 | e as u8
        };
        match self {
            Chunk::Data(d) => dflags(d.unordered, d.begin, d.end, d.immediate),
            Chunk::IData(d) => dflags(d.unordered, d.begin, d.end, d.immediate),
            Chunk::Abort { reflected, .. } | Chunk::ShutdownComplete { reflected } => {
                *reflected as u8
            }
            Chunk::Unknown { flags, .. } => *flags,
            _ => 0,
        }
    }

    fn value_len(&self) -> usize {
        let params_len = |lens: &mut dyn Iterator<Item = usize>| -> usize {
            // Every parameter padded except the last (RFC 9260 §3.2).
            let mut total = 0;
            let mut last_pad = 0;
            for l in lens {
                total += padded(l);
                last_pad = padded(l) - l;
            }
            total - last_pad
        };
        match self {
            Chunk::Data(d) => 12 + d.payload.len(),
            Chunk::IData(d) => 16 + d.payload.len(),
            Chunk::Init(i) | Chunk::InitAck(i) => {
                16 + params_len(&mut i.params.iter().map(InitParam::encoded_len))
            }
            Chunk::Sack(s) => 12 + 4 * s.gaps.len() + 4 * s.dups.len(),
            Chunk::Heartbeat { info } | Chunk::HeartbeatAck { info } => info.len(),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => {
                params_len(&mut causes.iter().map(ErrorCause::encoded_len))
            }
            Chunk::Shutdown { .. } => 4,
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => 0,
            Chunk::CookieEcho { cookie } => cookie.len(),
            Chunk::ReConfig { params } => {
                params_len(&mut params.iter().map(ReconfigParam::encoded_len))
            }
            Chunk::ForwardTsn(f) => 4 + 4 * f.streams.len(),
            Chunk::IForwardTsn(f) => 4 + 8 * f.streams.len(),
            Chunk::Unknown { value, .. } => value.len(),
        }
    }

    /// The chunk length field: header plus value, without trailing padding.
    pub fn encoded_len(&self) -> usize {
        4 + self.value_len()
    }

    /// Bytes the chunk takes in a packet, padding included.
    pub fn padded_len(&self) -> usize {
        padded(self.encoded_len())
    }

    /// Writes the chunk and its padding.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let len = self.encoded_len();
        buf.put_u8(self.typ().0);
        buf.put_u8(self.flags());
        // A chunk never exceeds the 64 KiB a packet can hold; callers build them from the MTU.
        buf.put_u16(len as u16);
        match self {
            Chunk::Data(d) => {
                buf.put_u32(d.tsn.0);
                buf.put_u16(d.stream.0);
                buf.put_u16(d.ssn.0);
                buf.put_u32(d.ppid.0);
                buf.put_slice(&d.payload);
            }
            Chunk::IData(d) => {
                buf.put_u32(d.tsn.0);
                buf.put_u16(d.stream.0);
                buf.put_u16(0);
                buf.put_u32(d.mid.0);
                buf.put_u32(if d.begin { d.ppid.0 } else { d.fsn });
                buf.put_slice(&d.payload);
            }
            Chunk::Init(i) | Chunk::InitAck(i) => {
                buf.put_u32(i.initiate_tag);
                buf.put_u32(i.a_rwnd);
                buf.put_u16(i.outbound_streams);
                buf.put_u16(i.inbound_streams);
                buf.put_u32(i.initial_tsn.0);
                let n = i.params.len();
                for (k, p) in i.params.iter().enumerate() {
                    encode_unpadded_last(buf, k + 1 == n, p.encoded_len(), |b| p.encode(b));
                }
            }
            Chunk::Sack(s) => {
                buf.put_u32(s.cum_tsn.0);
                buf.put_u32(s.a_rwnd);
                buf.put_u16(s.gaps.len() as u16);
                buf.put_u16(s.dups.len() as u16);
                for (a, b) in &s.gaps {
                    buf.put_u16(*a);
                    buf.put_u16(*b);
                }
                s.dups.iter().for_each(|d| buf.put_u32(d.0));
            }
            Chunk::Heartbeat { info } | Chunk::HeartbeatAck { info } => buf.put_slice(info),
            Chunk::Abort { causes, .. } | Chunk::Error { causes } => {
                let n = causes.len();
                for (k, c) in causes.iter().enumerate() {
                    encode_unpadded_last(buf, k + 1 == n, c.encoded_len(), |b| c.encode(b));
                }
            }
            Chunk::Shutdown { cum_tsn } => buf.put_u32(cum_tsn.0),
            Chunk::ShutdownAck | Chunk::CookieAck | Chunk::ShutdownComplete { .. } => {}
            Chunk::CookieEcho { cookie } => buf.put_slice(cookie),
            Chunk::ReConfig { params } => {
                let n = params.len();
                for (k, p) in params.iter().enumerate() {
                    encode_unpadded_last(buf, k + 1 == n, p.encoded_len(), |b| p.encode(b));
                }
            }
            Chunk::ForwardTsn(f) => {
                buf.put_u32(f.new_cum_tsn.0);
                for (s, n) in &f.streams {
                    buf.put_u16(s.0);
                    buf.put_u16(n.0);
                }
            }
            Chunk::IForwardTsn(f) => {
                buf.put_u32(f.new_cum_tsn.0);
                for s in &f.streams {
                    buf.put_u16(s.stream.0);
                    buf.put_u16(s.unordered as u16);
                    buf.put_u32(s.mid.0);
                }
            }
            Chunk::Unknown { value, .. } => buf.put_slice(value),
        }
        for _ in len..padded(len) {
            buf.put_u8(0);
        }
    }

    /// Decodes one chunk from `buf`, which starts at the chunk header, and returns it with the
    /// number of bytes it took (padding included). `base` is `buf`'s offset in the packet.
    pub fn decode(buf: &Bytes, base: usize) -> Result<(Chunk, usize), ParseError> {
        let mut r = Reader::new(buf, base);
        let typ = r.u8()?;
        let flags = r.u8()?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(ParseError {
                kind: ParseErrorKind::BadLength,
                offset: base,
            });
        }
        if len > buf.len() {
            return Err(ParseError {
                kind: ParseErrorKind::Truncated,
                offset: base,
            });
        }
        let value = buf.slice(4..len);
        let vbase = base + 4;
        let mut v = Reader::new(&value, vbase);
        let bad_len = ParseError {
            kind: ParseErrorKind::BadLength,
            offset: base,
        };
        let chunk = match typ {
            0 => {
                if value.len() < 12 {
                    return Err(bad_len);
                }
                Chunk::Data(Data {
                    tsn: Tsn(v.u32()?),
                    stream: StreamId(v.u16()?),
                    ssn: Ssn(v.u16()?),
                    ppid: Ppid(v.u32()?),
                    unordered: flags & 4 != 0,
                    begin: flags & 2 != 0,
                    end: flags & 1 != 0,
                    immediate: flags & 8 != 0,
                    payload: v.rest(),
                })
            }
            64 => {
                if value.len() < 16 {
                    return Err(bad_len);
                }
                let tsn = Tsn(v.u32()?);
                let stream = StreamId(v.u16()?);
                let _reserved = v.u16()?;
                let mid = Mid(v.u32()?);
                let field = v.u32()?;
                let begin = flags & 2 != 0;
                Chunk::IData(IData {
                    tsn,
                    stream,
                    mid,
                    ppid: Ppid(if begin { field } else { 0 }),
                    fsn: if begin { 0 } else { field },
                    unordered: flags & 4 != 0,
                    begin,
                    end: flags & 1 != 0,
                    immediate: flags & 8 != 0,
                    payload: v.rest(),
                })
            }
            1 | 2 => {
                if value.len() < 16 {
                    return Err(bad_len);
                }
                let initiate_tag = v.u32()?;
                let a_rwnd = v.u32()?;
                let outbound_streams = v.u16()?;
                let inbound_streams = v.u16()?;
                let initial_tsn = Tsn(v.u32()?);
                let rest = v.rest();
                let params = read_tlvs(&rest, vbase + 16, MAX_PARAMS)?
                    .iter()
                    .map(InitParam::decode)
                    .collect::<Result<Vec<_>, _>>()?;
                let init = Init {
                    initiate_tag,
                    a_rwnd,
                    outbound_streams,
                    inbound_streams,
                    initial_tsn,
                    params,
                };
                if typ == 1 {
                    Chunk::Init(init)
                } else {
                    Chunk::InitAck(init)
                }
            }
            3 => {
                if value.len() < 12 {
                    return Err(bad_len);
                }
                let cum_tsn = Tsn(v.u32()?);
                let a_rwnd = v.u32()?;
                let ngaps = v.u16()? as usize;
                let ndups = v.u16()? as usize;
                if value.len() != 12 + 4 * ngaps + 4 * ndups {
                    return Err(bad_len);
                }
                let mut gaps = Vec::with_capacity(ngaps);
                for _ in 0..ngaps {
                    gaps.push((v.u16()?, v.u16()?));
                }
                let mut dups = Vec::with_capacity(ndups);
                for _ in 0..ndups {
                    dups.push(Tsn(v.u32()?));
                }
                Chunk::Sack(Sack {
                    cum_tsn,
                    a_rwnd,
                    gaps,
                    dups,
                })
            }
            4 => Chunk::Heartbeat { info: value },
            5 => Chunk::HeartbeatAck { info: value },
            6 => Chunk::Abort {
                reflected: flags & 1 != 0,
                causes: ErrorCause::decode_list(&value, vbase)?,
            },
            7 => {
                if value.len() != 4 {
                    return Err(bad_len);
                }
                Chunk::Shutdown {
                    cum_tsn: Tsn(v.u32()?),
                }
            }
            8 => Chunk::ShutdownAck,
            9 => Chunk::Error {
                causes: ErrorCause::decode_list(&value, vbase)?,
            },
            10 => Chunk::CookieEcho { cookie: value },
            11 => Chunk::CookieAck,
            14 => Chunk::ShutdownComplete {
                reflected: flags & 1 != 0,
            },
            130 => {
                let params = read_tlvs(&value, vbase, MAX_PARAMS)?
                    .iter()
                    .map(ReconfigParam::decode)
                    .collect::<Result<Vec<_>, _>>()?;
                Chunk::ReConfig { params }
            }
            192 => {
                if value.len() < 4 || !value.len().is_multiple_of(4) {
                    return Err(bad_len);
                }
                let new_cum_tsn = Tsn(v.u32()?);
                let mut streams = Vec::with_capacity(v.remaining() / 4);
                while v.remaining() > 0 {
                    streams.push((StreamId(v.u16()?), Ssn(v.u16()?)));
                }
                Chunk::ForwardTsn(ForwardTsn {
                    new_cum_tsn,
                    streams,
                })
            }
            194 => {
                if value.len() < 4 || !(value.len() - 4).is_multiple_of(8) {
                    return Err(bad_len);
                }
                let new_cum_tsn = Tsn(v.u32()?);
                let mut streams = Vec::with_capacity(v.remaining() / 8);
                while v.remaining() > 0 {
                    let stream = StreamId(v.u16()?);
                    let flags = v.u16()?;
                    streams.push(IForwardTsnStream {
                        stream,
                        unordered: flags & 1 != 0,
                        mid: Mid(v.u32()?),
                    });
                }
                Chunk::IForwardTsn(IForwardTsn {
                    new_cum_tsn,
                    streams,
                })
            }
            typ => Chunk::Unknown { typ, flags, value },
        };
        Ok((chunk, padded(len).min(buf.len())))
    }
}

/// Encodes a parameter with its padding, except for the last parameter of a chunk, whose padding
/// is the chunk's (and written by the chunk encoder).
fn encode_unpadded_last<B: BufMut>(
    buf: &mut B,
    last: bool,
    len: usize,
    f: impl FnOnce(&mut Vec<u8>),
) {
    // Parameters are tiny; staging them keeps one encoder per type with its own padding.
    let mut tmp = Vec::with_capacity(padded(len));
    f(&mut tmp);
    let take = if last { len } else { tmp.len() };
    buf.put_slice(&tmp[..take]);
}
