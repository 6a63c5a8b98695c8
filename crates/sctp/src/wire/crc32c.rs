//! CRC32c (Castagnoli), the SCTP checksum (RFC 9260 Appendix A). The `crc32c` crate computes
//! it with the CPU's CRC32 instruction (SSE 4.2 / ARMv8) when present and a table otherwise.

/// The CRC32c of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    ::crc32c::crc32c(data)
}

/// The SCTP checksum of a packet: CRC32c computed with the checksum field (bytes 8..12) taken
/// as zero. The result is stored in the header in little-endian order, as RFC 9260 Appendix A
/// transmits the CRC's bytes.
pub fn packet_checksum(packet: &[u8]) -> u32 {
    if packet.len() < 12 {
        return crc32c(packet);
    }
    let c = ::crc32c::crc32c(&packet[..8]);
    let c = ::crc32c::crc32c_append(c, &[0, 0, 0, 0]);
    ::crc32c::crc32c_append(c, &packet[12..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3720_vectors() {
        // RFC 3720 Appendix B.4 CRC examples.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&inc), 0x46DD_794E);
        let dec: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&dec), 0x113F_DB5C);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn packet_checksum_treats_the_checksum_field_as_zero() {
        let mut p: Vec<u8> = (0..200u8).collect();
        let c = packet_checksum(&p);
        p[8..12].fill(0);
        assert_eq!(crc32c(&p), c);
    }
}
