//! DTLS record headers (RFC 6347 §4.1): enough to cut a byte stream into records, pack them
//! into datagrams and sanity-check what arrives.

use bytes::{Bytes, BytesMut};

/// The DTLS record header length.
pub const HEADER_LEN: usize = 13;

/// Content types a DTLS 1.2 record can carry (RFC 6347 §4.1, RFC 9146's `tls12_cid`).
fn valid_content_type(t: u8) -> bool {
    (20..=25).contains(&t)
}

/// One record's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// The content type (20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data).
    pub content_type: u8,
    /// The epoch.
    pub epoch: u16,
    /// The 48-bit sequence number.
    pub sequence: u64,
    /// The length of the fragment after the header.
    pub length: usize,
}

impl RecordHeader {
    /// Reads the header at the start of `b`, checking the content type and the DTLS version
    /// (1.0 is allowed here: a ClientHello's record may carry it).
    pub fn parse(b: &[u8]) -> Option<RecordHeader> {
        if b.len() < HEADER_LEN || !valid_content_type(b[0]) || b[1] != 0xFE {
            return None;
        }
        if b[2] != 0xFD && b[2] != 0xFF {
            return None;
        }
        let epoch = u16::from_be_bytes([b[3], b[4]]);
        let mut seq = [0u8; 8];
        seq[2..].copy_from_slice(&b[5..11]);
        Some(RecordHeader {
            content_type: b[0],
            epoch,
            sequence: u64::from_be_bytes(seq),
            length: usize::from(u16::from_be_bytes([b[11], b[12]])),
        })
    }
}

/// Splits `buf` into whole records; `None` when it is not a sequence of well-formed records
/// (garbage, or a record cut short).
pub fn split(buf: &[u8]) -> Option<Vec<(RecordHeader, &[u8])>> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let h = RecordHeader::parse(rest)?;
        let end = HEADER_LEN.checked_add(h.length)?;
        if end > rest.len() {
            return None;
        }
        out.push((h, &rest[..end]));
        rest = &rest[end..];
    }
    (!out.is_empty()).then_some(out)
}

/// Packs records into datagrams of at most `mtu` bytes, keeping their order. A record larger
/// than `mtu` travels alone.
pub fn pack<'a>(records: impl IntoIterator<Item = &'a [u8]>, mtu: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut cur = BytesMut::new();
    for r in records {
        if !cur.is_empty() && cur.len() + r.len() > mtu {
            out.push(cur.split().freeze());
        }
        cur.extend_from_slice(r);
    }
    if !cur.is_empty() {
        out.push(cur.freeze());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(t: u8, epoch: u16, seq: u64, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 0xFE, 0xFD];
        v.extend_from_slice(&epoch.to_be_bytes());
        v.extend_from_slice(&seq.to_be_bytes()[2..]);
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn splits_and_reads_headers() {
        let mut buf = record(22, 0, 5, b"hello");
        buf.extend(record(23, 1, 0x0102_0304_0506, b"data"));
        let recs = split(&buf).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].0.sequence, 5);
        assert_eq!(recs[1].0.epoch, 1);
        assert_eq!(recs[1].0.sequence, 0x0102_0304_0506);
        assert_eq!(recs[1].1.len(), HEADER_LEN + 4);
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(split(b"").is_none());
        assert!(split(b"\x16\xfe\xfd").is_none());
        let mut r = record(22, 0, 1, b"abc");
        r.pop();
        assert!(split(&r).is_none());
        assert!(split(&record(19, 0, 1, b"abc")).is_none());
        let mut r = record(22, 0, 1, b"abc");
        r[2] = 0x03;
        assert!(split(&r).is_none());
    }

    #[test]
    fn packs_up_to_the_mtu() {
        let a = record(22, 0, 1, &[0; 500]);
        let b = record(22, 0, 2, &[0; 500]);
        let c = record(22, 0, 3, &[0; 500]);
        let d = pack([a.as_slice(), b.as_slice(), c.as_slice()], 1200);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].len(), 2 * 513);
        let big = record(22, 0, 4, &[0; 1300]);
        assert_eq!(pack([big.as_slice()], 1200).len(), 1);
    }

    proptest! {
        #[test]
        fn split_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = split(&bytes);
        }

        #[test]
        fn pack_then_split_keeps_every_record(lens in proptest::collection::vec(0usize..700, 1..10)) {
            let recs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| record(23, 1, i as u64, &vec![7; n])).collect();
            let dgrams = pack(recs.iter().map(Vec::as_slice), 1200);
            let back: Vec<Vec<u8>> = dgrams.iter().flat_map(|d| split(d).unwrap().into_iter().map(|(_, r)| r.to_vec()).collect::<Vec<_>>()).collect();
            prop_assert_eq!(back, recs);
            for d in &dgrams {
                prop_assert!(d.len() <= 1200 || split(d).unwrap().len() == 1);
            }
        }
    }
}
