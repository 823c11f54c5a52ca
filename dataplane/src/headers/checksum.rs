//! Internet checksum (RFC 1071) and incremental update (RFC 1624).

/// Adds the 16-bit big-endian words of `data` to `sum` (odd trailing byte padded with zero).
pub fn sum_bytes(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum = sum.wrapping_add(u16::from_be_bytes([c[0], c[1]]) as u32);
    }
    if let [b] = chunks.remainder() {
        sum = sum.wrapping_add((*b as u32) << 8);
    }
    sum
}

/// Folds a 32-bit accumulator into the ones'-complement 16-bit checksum.
pub fn fold(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Checksum of `data` (as stored in a header: complement of the ones'-complement sum).
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum_bytes(0, data))
}

/// Pseudo-header sum for IPv4 TCP/UDP/ICMP-less protocols.
pub fn pseudo_v4(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u32 {
    let mut s = sum_bytes(0, &src);
    s = sum_bytes(s, &dst);
    s + proto as u32 + len as u32
}

/// Pseudo-header sum for IPv6 upper-layer checksums.
pub fn pseudo_v6(src: [u8; 16], dst: [u8; 16], proto: u8, len: u32) -> u32 {
    let mut s = sum_bytes(0, &src);
    s = sum_bytes(s, &dst);
    s.wrapping_add(len >> 16)
        .wrapping_add(len & 0xffff)
        .wrapping_add(proto as u32)
}

/// RFC 1624 eqn. 3: new checksum after one 16-bit word changes from `old` to `new`.
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    let s = (!csum as u32) + (!old as u32) + new as u32;
    fold(s)
}

/// New checksum after a 32-bit field (e.g. an IPv4 address) changes.
#[inline]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let c = update16(csum, (old >> 16) as u16, (new >> 16) as u16);
    update16(c, old as u16, new as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ipv4_header_checksum() {
        // RFC 1071 style example header (checksum field zeroed).
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(checksum(&h), 0xb861);
    }

    #[test]
    fn incremental_matches_full() {
        let mut h = [
            0x45u8, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        // Decrement TTL.
        let old = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1;
        let new = u16::from_be_bytes([h[8], h[9]]);
        let c = update16(0xb861, old, new);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }
}
