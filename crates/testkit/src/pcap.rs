//! A classic libpcap writer for simulated datagrams, with synthesized IP and UDP headers.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// `LINKTYPE_RAW`: each record starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;
/// The microsecond-resolution classic pcap magic number.
const MAGIC: u32 = 0xa1b2_c3d4;
const SNAPLEN: u32 = 65535;
const UDP: u8 = 17;

/// Writes datagrams as a classic pcap file that Wireshark and tcpdump read.
///
/// Each datagram gets an IPv4 header (or IPv6 when either address is IPv6, with IPv4 addresses
/// mapped) and a UDP header with a valid checksum, whatever its [`Transport`]; timestamps are
/// virtual time since the simulation started.
///
/// [`Transport`]: weft_proto::Transport
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header to `out`.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&SNAPLEN.to_le_bytes());
        header.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    /// Writes one datagram seen at virtual time `at`; `id` becomes the IPv4 identification.
    pub fn write_datagram(
        &mut self,
        at: Duration,
        id: u64,
        source: SocketAddr,
        destination: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        let packet = ip_packet(id, source, destination, payload);
        let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let mut record = Vec::with_capacity(16 + packet.len());
        let secs = u32::try_from(at.as_secs()).unwrap_or(u32::MAX);
        record.extend_from_slice(&secs.to_le_bytes());
        record.extend_from_slice(&at.subsec_micros().to_le_bytes());
        record.extend_from_slice(&len.min(SNAPLEN).to_le_bytes());
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&packet[..packet.len().min(SNAPLEN as usize)]);
        self.out.write_all(&record)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The bytes of an IP packet carrying `payload` in UDP.
fn ip_packet(id: u64, source: SocketAddr, destination: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let udp_len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&source.port().to_be_bytes());
    udp.extend_from_slice(&destination.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);

    let mut out = Vec::with_capacity(48 + udp.len());
    let mut pseudo = Vec::with_capacity(40);
    match (source.ip(), destination.ip()) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = u16::try_from(20 + udp.len()).unwrap_or(u16::MAX);
            out.extend_from_slice(&[0x45, 0]);
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&(id as u16).to_be_bytes());
            out.extend_from_slice(&[0x40, 0, 64, UDP, 0, 0]); // DF, TTL 64, checksum 0 for now
            out.extend_from_slice(&src.octets());
            out.extend_from_slice(&dst.octets());
            let sum = checksum(&[&out]);
            out[10..12].copy_from_slice(&sum.to_be_bytes());
            pseudo.extend_from_slice(&src.octets());
            pseudo.extend_from_slice(&dst.octets());
            pseudo.extend_from_slice(&[0, UDP]);
            pseudo.extend_from_slice(&udp_len.to_be_bytes());
        }
        (src, dst) => {
            let src = to_v6(src);
            let dst = to_v6(dst);
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&udp_len.to_be_bytes());
            out.extend_from_slice(&[UDP, 64]);
            out.extend_from_slice(&src);
            out.extend_from_slice(&dst);
            pseudo.extend_from_slice(&src);
            pseudo.extend_from_slice(&dst);
            pseudo.extend_from_slice(&u32::from(udp_len).to_be_bytes());
            pseudo.extend_from_slice(&[0, 0, 0, UDP]);
        }
    }
    // RFC 768: a computed checksum of zero is sent as all ones.
    let sum = match checksum(&[&pseudo, &udp]) {
        0 => 0xffff,
        sum => sum,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    out.extend_from_slice(&udp);
    out
}

fn to_v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The RFC 1071 Internet checksum of the concatenated parts (each but the last of even length).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        for pair in part.chunks(2) {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_and_ipv4_udp_record() {
        let mut pcap = PcapWriter::new(Vec::new()).unwrap();
        let src: SocketAddr = "192.0.2.1:5000".parse().unwrap();
        let dst: SocketAddr = "198.51.100.7:3478".parse().unwrap();
        pcap.write_datagram(Duration::from_micros(1_500_002), 9, src, dst, b"hello")
            .unwrap();
        let bytes = pcap.into_inner();
        assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(u32::from_le_bytes(bytes[20..24].try_into().unwrap()), 101);
        let rec = &bytes[24..];
        assert_eq!(u32::from_le_bytes(rec[0..4].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(rec[4..8].try_into().unwrap()), 500_002);
        assert_eq!(u32::from_le_bytes(rec[8..12].try_into().unwrap()), 33);
        let ip = &rec[16..];
        assert_eq!(ip.len(), 33);
        assert_eq!(ip[0], 0x45);
        assert_eq!(checksum(&[&ip[..20]]), 0, "ipv4 header checksum verifies");
        assert_eq!(&ip[12..16], &[192, 0, 2, 1]);
        assert_eq!(&ip[20..22], &5000u16.to_be_bytes());
        assert_eq!(&ip[28..], b"hello");
        // The UDP checksum verifies over the pseudo-header.
        let pseudo = [&ip[12..20], &[0, UDP, 0, 13][..]].concat();
        assert_eq!(checksum(&[&pseudo, &ip[20..]]), 0);
    }

    #[test]
    fn ipv6_addresses_get_an_ipv6_header() {
        let src: SocketAddr = "[2001:db8::1]:1".parse().unwrap();
        let dst: SocketAddr = "192.0.2.1:2".parse().unwrap();
        let packet = ip_packet(1, src, dst, b"x");
        assert_eq!(packet[0] >> 4, 6);
        assert_eq!(packet.len(), 40 + 8 + 1);
        assert_eq!(&packet[4..6], &9u16.to_be_bytes());
    }
}
