//! Stable hashes for names and fingerprints: the same input gives the same
//! text on every machine and every run.

/// A stable 32-bit FNV-1a hash, for names that must be shortened.
pub fn short_hash(text: &str) -> u32 {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    hash as u32
}

/// 16 hex digits: the text's hash and its reverse's, so that two inputs that
/// differ only where one hash collides still differ.
pub fn fingerprint(text: &str) -> String {
    let reversed: String = text.chars().rev().collect();
    format!("{:08x}{:08x}", short_hash(text), short_hash(&reversed))
}
