//! Finding the bytes of a JSON string that need attention (`"`, `\` and control characters)
//! eight bytes at a time: strings such as base64 images are long and rarely contain any.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The index of the first `"`, `\` or byte below 0x20 in `bytes`, or `bytes.len()`.
pub(super) fn find_special(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // The classic "has a zero byte" / "has a byte below n" tests. A false positive can only
        // appear above a true one, so the lowest flagged byte is always a real match.
        let flagged = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGHS;
        if flagged != 0 {
            return offset + (flagged.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let rest = chunks.remainder();
    offset
        + rest
            .iter()
            .position(|&b| is_special(b))
            .unwrap_or(rest.len())
}

/// Whether a byte ends the plain run of a JSON string.
pub(super) fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    if at + 3 < len {
                        bytes[at + 3] = b'"';
                    }
                    assert_eq!(
                        find_special(&bytes),
                        at,
                        "len {len}, at {at}, byte {special:#x}"
                    );
                }
            }
            assert_eq!(find_special(&vec![b'a'; len]), len);
        }
    }

    #[test]
    fn bytes_of_multibyte_characters_are_not_special() {
        let text = "žluťoučký kůň, 日本語, 🎛️ and DEL \u{7f}";
        assert_eq!(find_special(text.as_bytes()), text.len());
    }
}
