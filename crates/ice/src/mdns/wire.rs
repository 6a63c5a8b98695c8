//! The DNS message format (RFC 1035 §4.1) with the mDNS bits (RFC 6762 §18): the unicast-
//! response bit of a question (§5.4) and the cache-flush bit of a record (§10.2).
//!
//! Decoding follows name compression pointers (RFC 1035 §4.1.4), each of which must point
//! before the previous one, so that no loop is possible; names are at most 255 bytes and
//! labels 63, and each section holds at most [`MAX_RECORDS`] entries. Encoding writes names
//! in full (the messages the agent sends hold one or two names).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::{BufMut, Bytes};

/// The most questions or records in one section that [`Message::decode`] accepts.
pub const MAX_RECORDS: usize = 64;
/// The longest name on the wire, labels and length bytes included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// How many compression pointers one name may follow.
const MAX_POINTERS: usize = 32;
const HEADER_LEN: usize = 12;

/// What is wrong with a DNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The message ends inside the header, a name, a question or a record.
    Truncated,
    /// A section count is above [`MAX_RECORDS`].
    TooManyRecords,
    /// A label uses a reserved type (0x40 or 0x80), is not UTF-8 (RFC 6762 §16), or holds a
    /// dot; or, in [`Name::new`], is empty or longer than 63 bytes.
    BadLabel,
    /// A name is longer than 255 bytes.
    NameTooLong,
    /// A compression pointer does not point before the previous one, or there are too many.
    BadPointer,
    /// An A record whose data is not 4 bytes, or an AAAA record whose data is not 16.
    BadRecordLength,
    /// Bytes follow the last record.
    TrailingBytes,
}

/// A DNS parsing failure: what went wrong and at which byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("bad dns message ({kind:?}) at byte {offset}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The byte offset in the message (in the name's text for [`Name::new`]).
    pub offset: usize,
}

fn err<T>(kind: ParseErrorKind, offset: usize) -> Result<T, ParseError> {
    Err(ParseError { kind, offset })
}

/// A domain name, as dot-separated labels without the final dot (the root is `""`).
/// Comparison with [`Name::matches`] ignores ASCII case, as DNS does (RFC 1035 §2.3.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// A name from its text: labels of 1 to 63 bytes, at most 255 bytes on the wire.
    ///
    /// ```
    /// let n = weft_ice::mdns::Name::new("1f4712db-ea17-4bcf-a596-105139dfd8bf.local").unwrap();
    /// assert!(n.matches(&weft_ice::mdns::Name::new("1F4712DB-EA17-4BCF-A596-105139DFD8BF.LOCAL").unwrap()));
    /// assert!(weft_ice::mdns::Name::new("a..local").is_err());
    /// ```
    pub fn new(text: &str) -> Result<Name, ParseError> {
        if text.is_empty() {
            return Ok(Name(String::new()));
        }
        let mut offset = 0;
        for label in text.split('.') {
            if label.is_empty() || label.len() > MAX_LABEL_LEN {
                return err(ParseErrorKind::BadLabel, offset);
            }
            offset += label.len() + 1;
        }
        // Each label costs its length plus one byte, and the root one more.
        if text.len() + 2 > MAX_NAME_LEN {
            return err(ParseErrorKind::NameTooLong, 0);
        }
        Ok(Name(text.to_owned()))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether two names are the same, ignoring ASCII case.
    pub fn matches(&self, other: &Name) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }

    /// Whether the name is under `.local` (RFC 6762 §3), the only names mDNS resolves here.
    pub fn is_local(&self) -> bool {
        let s = self.0.as_bytes();
        s.len() > 6 && s[s.len() - 6..].eq_ignore_ascii_case(b".local")
    }

    /// The name's length on the wire, uncompressed.
    pub fn encoded_len(&self) -> usize {
        if self.0.is_empty() {
            1
        } else {
            self.0.len() + 2
        }
    }

    /// Writes the name uncompressed.
    pub fn encode(&self, buf: &mut impl BufMut) {
        if !self.0.is_empty() {
            for label in self.0.split('.') {
                // Name::new and decoding keep labels at 63 bytes or fewer.
                buf.put_u8(label.len() as u8);
                buf.put_slice(label.as_bytes());
            }
        }
        buf.put_u8(0);
    }

    /// Reads a possibly compressed name at `start` of the whole message `msg`; returns it and
    /// where the bytes after it begin.
    fn decode(msg: &[u8], start: usize) -> Result<(Name, usize), ParseError> {
        let mut text = String::new();
        let mut wire_len = 1;
        let mut pos = start;
        // Every pointer must point before the start of the labels read so far (the
        // previous target): targets strictly decrease, so no loop is possible.
        let mut floor = start;
        let mut end = None;
        let mut pointers = 0;
        loop {
            let Some(&b) = msg.get(pos) else {
                return err(ParseErrorKind::Truncated, pos);
            };
            match b & 0xC0 {
                0xC0 => {
                    let Some(&low) = msg.get(pos + 1) else {
                        return err(ParseErrorKind::Truncated, pos);
                    };
                    let target = (usize::from(b & 0x3F) << 8) | usize::from(low);
                    pointers += 1;
                    if target >= floor || pointers > MAX_POINTERS {
                        return err(ParseErrorKind::BadPointer, pos);
                    }
                    end.get_or_insert(pos + 2);
                    floor = target;
                    pos = target;
                }
                0x00 if b == 0 => {
                    end.get_or_insert(pos + 1);
                    break;
                }
                0x00 => {
                    let len = usize::from(b);
                    let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                        return err(ParseErrorKind::Truncated, pos);
                    };
                    wire_len += len + 1;
                    if wire_len > MAX_NAME_LEN {
                        return err(ParseErrorKind::NameTooLong, pos);
                    }
                    let Ok(label) = std::str::from_utf8(label) else {
                        return err(ParseErrorKind::BadLabel, pos);
                    };
                    if label.contains('.') {
                        return err(ParseErrorKind::BadLabel, pos);
                    }
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(label);
                    pos += 1 + len;
                }
                _ => return err(ParseErrorKind::BadLabel, pos),
            }
        }
        // `end` is set on the first pointer or at the root label, whichever comes first.
        Ok((Name(text), end.unwrap_or(pos + 1)))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A record type (RFC 1035 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// An IPv4 address.
    pub const A: RecordType = RecordType(1);
    /// An IPv6 address (RFC 3596).
    pub const AAAA: RecordType = RecordType(28);
    /// Any type, in questions (RFC 1035 §3.2.3 `*`).
    pub const ANY: RecordType = RecordType(255);
}

/// A record class (RFC 1035 §3.2.4), without the mDNS top bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordClass(pub u16);

impl RecordClass {
    /// The Internet.
    pub const IN: RecordClass = RecordClass(1);
    /// Any class, in questions.
    pub const ANY: RecordClass = RecordClass(255);
}

/// The header flags (RFC 1035 §4.1.1): QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u16);

impl Flags {
    /// QR: a response.
    pub const RESPONSE: u16 = 0x8000;
    /// AA: authoritative; RFC 6762 §18.4 sets it in every mDNS response.
    pub const AUTHORITATIVE: u16 = 0x0400;
    /// TC: truncated; in an mDNS query, more known answers follow (RFC 6762 §18.5).
    pub const TRUNCATED: u16 = 0x0200;

    /// Whether QR is set.
    pub fn is_response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }

    /// The 4-bit opcode; RFC 6762 §18.3 ignores messages whose opcode is not 0.
    pub fn opcode(self) -> u8 {
        ((self.0 >> 11) & 0xF) as u8
    }

    /// The 4-bit response code; RFC 6762 §18.11 ignores messages whose rcode is not 0.
    pub fn rcode(self) -> u8 {
        (self.0 & 0xF) as u8
    }
}

/// A question (RFC 1035 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    /// The name asked about.
    pub name: Name,
    /// The type asked for.
    pub rtype: RecordType,
    /// The class (15 bits).
    pub class: RecordClass,
    /// The QU bit: the asker accepts a unicast answer (RFC 6762 §5.4).
    pub unicast_response: bool,
}

/// A record's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordData {
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// Any other type, kept as opaque bytes (names inside are not expanded, so they may
    /// hold pointers into the original message). `rtype` is neither A nor AAAA; at most
    /// 65535 bytes are written.
    Other {
        /// The type.
        rtype: RecordType,
        /// The RDATA.
        data: Bytes,
    },
}

impl RecordData {
    /// The record type.
    pub fn rtype(&self) -> RecordType {
        match self {
            RecordData::A(_) => RecordType::A,
            RecordData::Aaaa(_) => RecordType::AAAA,
            RecordData::Other { rtype, .. } => *rtype,
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            RecordData::A(_) | RecordData::Aaaa(_) => &[],
            RecordData::Other { data, .. } => &data[..data.len().min(usize::from(u16::MAX))],
        }
    }

    fn len(&self) -> usize {
        match self {
            RecordData::A(_) => 4,
            RecordData::Aaaa(_) => 16,
            RecordData::Other { .. } => self.bytes().len(),
        }
    }
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// The owner name.
    pub name: Name,
    /// The class (15 bits).
    pub class: RecordClass,
    /// The cache-flush bit: this record replaces what caches hold for the name and type
    /// (RFC 6762 §10.2).
    pub cache_flush: bool,
    /// Time to live in seconds; 0 withdraws the record (RFC 6762 §10.1).
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

/// A DNS message (RFC 1035 §4.1).
///
/// ```
/// use weft_ice::mdns::{Message, Name, RecordType};
///
/// let name = Name::new("1f4712db-ea17-4bcf-a596-105139dfd8bf.local").unwrap();
/// let query = Message::query(&name);
/// let bytes = query.to_vec();
/// assert_eq!(bytes.len(), query.encoded_len());
/// let back = Message::decode(&bytes).unwrap();
/// assert_eq!(back, query);
/// assert_eq!(back.questions[1].rtype, RecordType::AAAA);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Message {
    /// The id; 0 in multicast mDNS (RFC 6762 §18.1).
    pub id: u16,
    /// The header flags.
    pub flags: Flags,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authorities: Vec<Record>,
    /// The additional section.
    pub additionals: Vec<Record>,
}

impl Message {
    /// An mDNS query for the A and AAAA records of `name` (id 0, QU bit clear).
    pub fn query(name: &Name) -> Message {
        let q = |rtype| Question {
            name: name.clone(),
            rtype,
            class: RecordClass::IN,
            unicast_response: false,
        };
        Message {
            questions: vec![q(RecordType::A), q(RecordType::AAAA)],
            ..Message::default()
        }
    }

    /// An mDNS response carrying `answers` (id 0, QR and AA set, RFC 6762 §18).
    pub fn response(answers: Vec<Record>) -> Message {
        Message {
            flags: Flags(Flags::RESPONSE | Flags::AUTHORITATIVE),
            answers,
            ..Message::default()
        }
    }

    /// Parses a message. Never panics; bounded by the input and [`MAX_RECORDS`].
    pub fn decode(buf: &[u8]) -> Result<Message, ParseError> {
        if buf.len() < HEADER_LEN {
            return err(ParseErrorKind::Truncated, buf.len());
        }
        let u16_at = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
        let counts = [u16_at(4), u16_at(6), u16_at(8), u16_at(10)];
        for (i, &c) in counts.iter().enumerate() {
            if usize::from(c) > MAX_RECORDS {
                return err(ParseErrorKind::TooManyRecords, 4 + 2 * i);
            }
        }
        let mut m = Message {
            id: u16_at(0),
            flags: Flags(u16_at(2)),
            ..Message::default()
        };
        let mut pos = HEADER_LEN;
        for _ in 0..counts[0] {
            let (name, next) = Name::decode(buf, pos)?;
            let Some(f) = buf.get(next..next + 4) else {
                return err(ParseErrorKind::Truncated, next);
            };
            let class = u16::from_be_bytes([f[2], f[3]]);
            m.questions.push(Question {
                name,
                rtype: RecordType(u16::from_be_bytes([f[0], f[1]])),
                class: RecordClass(class & 0x7FFF),
                unicast_response: class & 0x8000 != 0,
            });
            pos = next + 4;
        }
        for (section, &count) in counts[1..].iter().enumerate() {
            for _ in 0..count {
                let (record, next) = decode_record(buf, pos)?;
                match section {
                    0 => m.answers.push(record),
                    1 => m.authorities.push(record),
                    _ => m.additionals.push(record),
                }
                pos = next;
            }
        }
        if pos != buf.len() {
            return err(ParseErrorKind::TrailingBytes, pos);
        }
        Ok(m)
    }

    /// The encoded length.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .questions
                .iter()
                .map(|q| q.name.encoded_len() + 4)
                .sum::<usize>()
            + self
                .records()
                .map(|r| r.name.encoded_len() + 10 + r.data.len())
                .sum::<usize>()
    }

    /// Writes the message (names uncompressed). Sections beyond 65535 entries are not
    /// representable and are cut there.
    pub fn encode(&self, buf: &mut impl BufMut) {
        let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
        buf.put_u16(self.id);
        buf.put_u16(self.flags.0);
        buf.put_u16(count(self.questions.len()));
        buf.put_u16(count(self.answers.len()));
        buf.put_u16(count(self.authorities.len()));
        buf.put_u16(count(self.additionals.len()));
        for q in self.questions.iter().take(usize::from(u16::MAX)) {
            q.name.encode(buf);
            buf.put_u16(q.rtype.0);
            buf.put_u16((q.class.0 & 0x7FFF) | if q.unicast_response { 0x8000 } else { 0 });
        }
        for section in [&self.answers, &self.authorities, &self.additionals] {
            for r in section.iter().take(usize::from(u16::MAX)) {
                r.name.encode(buf);
                buf.put_u16(r.data.rtype().0);
                buf.put_u16((r.class.0 & 0x7FFF) | if r.cache_flush { 0x8000 } else { 0 });
                buf.put_u32(r.ttl);
                // RecordData::len is at most 65535 (Other is cut there).
                buf.put_u16(r.data.len() as u16);
                match &r.data {
                    RecordData::A(ip) => buf.put_slice(&ip.octets()),
                    RecordData::Aaaa(ip) => buf.put_slice(&ip.octets()),
                    RecordData::Other { .. } => buf.put_slice(r.data.bytes()),
                }
            }
        }
    }

    /// The encoded message.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode(&mut v);
        v
    }

    /// Every record: answers, then authorities, then additionals.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
    }
}

fn decode_record(buf: &[u8], pos: usize) -> Result<(Record, usize), ParseError> {
    let (name, next) = Name::decode(buf, pos)?;
    let Some(f) = buf.get(next..next + 10) else {
        return err(ParseErrorKind::Truncated, next);
    };
    let rtype = RecordType(u16::from_be_bytes([f[0], f[1]]));
    let class = u16::from_be_bytes([f[2], f[3]]);
    let ttl = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
    let len = usize::from(u16::from_be_bytes([f[8], f[9]]));
    let start = next + 10;
    let Some(rdata) = buf.get(start..start + len) else {
        return err(ParseErrorKind::Truncated, start);
    };
    let data = match rtype {
        RecordType::A => match <[u8; 4]>::try_from(rdata) {
            Ok(b) => RecordData::A(Ipv4Addr::from(b)),
            Err(_) => return err(ParseErrorKind::BadRecordLength, next + 8),
        },
        RecordType::AAAA => match <[u8; 16]>::try_from(rdata) {
            Ok(b) => RecordData::Aaaa(Ipv6Addr::from(b)),
            Err(_) => return err(ParseErrorKind::BadRecordLength, next + 8),
        },
        _ => RecordData::Other {
            rtype,
            data: Bytes::copy_from_slice(rdata),
        },
    };
    Ok((
        Record {
            name,
            class: RecordClass(class & 0x7FFF),
            cache_flush: class & 0x8000 != 0,
            ttl,
            data,
        },
        start + len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An mDNS response as a responder writes it for `host.local` (RFC 6762 §18 header, a
    /// compressed second name pointing at the first record's owner name).
    #[rustfmt::skip]
    const RESPONSE: &[u8] = &[
        0x00, 0x00, 0x84, 0x00, // id 0, QR AA
        0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, // 0 questions, 2 answers
        // host.local A 192.0.2.7, cache-flush, TTL 120
        4, b'h', b'o', b's', b't', 5, b'l', b'o', b'c', b'a', b'l', 0,
        0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 192, 0, 2, 7,
        // (pointer to offset 12) AAAA 2001:db8::7
        0xC0, 12,
        0x00, 0x1C, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x10,
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
    ];

    #[test]
    fn decodes_a_compressed_response() {
        let m = Message::decode(RESPONSE).unwrap();
        assert!(m.flags.is_response());
        assert_eq!(m.answers.len(), 2);
        let name = Name::new("host.local").unwrap();
        for r in &m.answers {
            assert_eq!(r.name, name);
            assert!(r.cache_flush);
            assert_eq!((r.class, r.ttl), (RecordClass::IN, 120));
        }
        assert_eq!(
            m.answers[0].data,
            RecordData::A(Ipv4Addr::new(192, 0, 2, 7))
        );
        assert_eq!(
            m.answers[1].data,
            RecordData::Aaaa("2001:db8::7".parse().unwrap())
        );
        // Written back uncompressed, it decodes the same.
        let again = m.to_vec();
        assert_eq!(again.len(), RESPONSE.len() + name.encoded_len() - 2);
        assert_eq!(Message::decode(&again).unwrap(), m);
    }

    #[test]
    fn query_has_two_questions_with_qu_clear() {
        let name = Name::new("x.local").unwrap();
        let b = Message::query(&name).to_vec();
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0,
            1, b'x', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0, 1,
            1, b'x', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 28, 0, 1,
        ];
        assert_eq!(b, expected);
    }

    #[test]
    fn refuses_pointer_loops_and_forward_pointers() {
        let header = |qd: u8| vec![0, 0, 0, 0, 0, qd, 0, 0, 0, 0, 0, 0];
        // A pointer to itself.
        let mut m = header(1);
        m.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadPointer
        );
        // A label, then a pointer back to that label: a loop through an earlier target.
        let mut m = header(1);
        m.extend_from_slice(&[1, b'a', 0xC0, 12, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadPointer
        );
        // A pointer forward.
        let mut m = header(1);
        m.extend_from_slice(&[0xC0, 14, 1, b'a', 0, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadPointer
        );
        // Two questions, the second pointing back at the first name: fine.
        let mut m = header(2);
        m.extend_from_slice(&[1, b'a', 0, 0, 1, 0, 1, 0xC0, 12, 0, 28, 0, 1]);
        let q = Message::decode(&m).unwrap().questions;
        assert_eq!((q[1].name.as_str(), q[1].rtype), ("a", RecordType::AAAA));
    }

    #[test]
    fn refuses_bad_labels_long_names_and_counts() {
        let header = |qd: u8| vec![0, 0, 0, 0, 0, qd, 0, 0, 0, 0, 0, 0];
        let mut m = header(1);
        m.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadLabel
        );
        let mut m = header(1);
        m.extend_from_slice(&[2, 0xFF, 0xFE, 0, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadLabel
        );
        let mut m = header(1);
        for _ in 0..5 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::NameTooLong
        );
        let mut m = header(0);
        m[5] = 0xFF;
        assert_eq!(
            Message::decode(&m).unwrap_err(),
            ParseError {
                kind: ParseErrorKind::TooManyRecords,
                offset: 4
            }
        );
        let mut m = header(0);
        m.push(0);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::TrailingBytes
        );
        // An A record of 3 bytes.
        let mut m = vec![
            0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 3, 1, 2, 3,
        ];
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::BadRecordLength
        );
        m.truncate(20);
        assert_eq!(
            Message::decode(&m).unwrap_err().kind,
            ParseErrorKind::Truncated
        );
        assert_eq!(
            Name::new("a..b").unwrap_err().kind,
            ParseErrorKind::BadLabel
        );
        assert_eq!(
            Name::new(&"a".repeat(64)).unwrap_err().kind,
            ParseErrorKind::BadLabel
        );
        assert!(Name::new(&["a"; 127].join(".")).is_ok());
        assert_eq!(
            Name::new(&["a"; 128].join(".")).unwrap_err().kind,
            ParseErrorKind::NameTooLong
        );
    }

    fn name() -> impl Strategy<Value = Name> {
        prop::collection::vec("[a-zA-Z0-9-]{1,20}", 0..5)
            .prop_map(|labels| Name::new(&labels.join(".")).unwrap())
    }

    fn record() -> impl Strategy<Value = Record> {
        let data = prop_oneof![
            any::<[u8; 4]>().prop_map(|b| RecordData::A(Ipv4Addr::from(b))),
            any::<[u8; 16]>().prop_map(|b| RecordData::Aaaa(Ipv6Addr::from(b))),
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..40))
                .prop_filter("not A or AAAA", |(t, _)| *t != 1 && *t != 28)
                .prop_map(|(t, d)| RecordData::Other {
                    rtype: RecordType(t),
                    data: Bytes::from(d),
                }),
        ];
        (name(), 0..0x8000u16, any::<bool>(), any::<u32>(), data).prop_map(
            |(name, class, cache_flush, ttl, data)| Record {
                name,
                class: RecordClass(class),
                cache_flush,
                ttl,
                data,
            },
        )
    }

    fn message() -> impl Strategy<Value = Message> {
        let question = (name(), any::<u16>(), 0..0x8000u16, any::<bool>()).prop_map(
            |(name, t, class, unicast_response)| Question {
                name,
                rtype: RecordType(t),
                class: RecordClass(class),
                unicast_response,
            },
        );
        let records = || prop::collection::vec(record(), 0..4);
        (
            any::<u16>(),
            any::<u16>(),
            prop::collection::vec(question, 0..4),
            records(),
            records(),
            records(),
        )
            .prop_map(
                |(id, flags, questions, answers, authorities, additionals)| Message {
                    id,
                    flags: Flags(flags),
                    questions,
                    answers,
                    authorities,
                    additionals,
                },
            )
    }

    proptest! {
        #[test]
        fn round_trips(m in message()) {
            let b = m.to_vec();
            prop_assert_eq!(b.len(), m.encoded_len());
            prop_assert_eq!(Message::decode(&b).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Message::decode(&b);
        }

        #[test]
        fn mutated_messages_never_panic(m in message(), i in any::<usize>(), v in any::<u8>()) {
            let mut b = m.to_vec();
            let n = b.len();
            b[i % n] = v;
            if let Ok(back) = Message::decode(&b) {
                // Whatever decodes, encodes to something that decodes the same.
                prop_assert_eq!(Message::decode(&back.to_vec()).unwrap(), back);
            }
        }
    }
}
