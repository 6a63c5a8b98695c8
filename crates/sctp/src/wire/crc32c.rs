//! CRC32c (Castagnoli), the SCTP checksum (RFC 9260 Appendix A), slicing-by-8 with tables built
//! at compile time.

const POLY: u32 = 0x82F6_3B78; // reflected 0x1EDC6F41

const fn build_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut s = 1;
        while s < 8 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            s += 1;
        }
        i += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = build_tables();

/// Continues a CRC32c over `data` from the (non-inverted) running value `crc`.
fn update(mut crc: u32, data: &[u8]) -> u32 {
    let t = &TABLES;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &b in chunks.remainder() {
        crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xff) as usize];
    }
    crc
}

/// The CRC32c of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    !update(!0, data)
}

/// The SCTP checksum of a packet: CRC32c computed with the checksum field (bytes 8..12) taken
/// as zero. The result is stored in the header in little-endian order, as RFC 9260 Appendix A
/// transmits the CRC's bytes.
pub fn packet_checksum(packet: &[u8]) -> u32 {
    if packet.len() < 12 {
        return crc32c(packet);
    }
    let mut c = update(!0, &packet[..8]);
    c = update(c, &[0, 0, 0, 0]);
    c = update(c, &packet[12..]);
    !c
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
    fn slicing_matches_bytewise_for_every_length() {
        let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            let mut c = !0u32;
            for &b in &data[..n] {
                c = (c >> 8) ^ TABLES[0][((c ^ b as u32) & 0xff) as usize];
            }
            assert_eq!(crc32c(&data[..n]), !c, "length {n}");
        }
    }
}
