//! Finding the bytes of a JSON string that need attention (`"`, `\` and control characters) a
//! block at a time: strings such as base64 images are long and rarely contain any.

/// Bytes per vectorized block. Past the first block (where short strings such as ids and names
/// end), a branch-free check over a fixed-size block, a shape the compiler turns into SIMD compares
/// (no `unsafe`), skips long runs such as base64 images several times faster than testing words.
const BLOCK: usize = 64;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The index of the first `"`, `\\` or byte below 0x20 in `bytes`, or `bytes.len()`.
pub(super) fn find_special(bytes: &[u8]) -> usize {
    let head = bytes.len().min(BLOCK);
    let found = find_in_words(&bytes[..head]);
    if found < head {
        return found;
    }
    let mut offset = head;
    let mut blocks = bytes[head..].chunks_exact(BLOCK);
    for block in &mut blocks {
        if block.try_into().is_ok_and(block_has_special) {
            return offset + find_in_words(block);
        }
        offset += BLOCK;
    }
    offset + find_in_words(blocks.remainder())
}

/// Whether a block holds a special byte: a branch-free OR of per-byte flags over a fixed-size
/// array, the reduction shape LLVM vectorizes.
fn block_has_special(block: &[u8; BLOCK]) -> bool {
    let mut found = 0u8;
    for &b in block {
        found |= u8::from(b == b'"') | u8::from(b == b'\\') | u8::from(b < 0x20);
    }
    found != 0
}

/// `find_special` eight bytes at a time, finding the position directly from the word.
fn find_in_words(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let word = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
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
    let rest = words.remainder();
    offset
        + rest
            .iter()
            .position(|&b| is_special(b))
            .unwrap_or(rest.len())
}

/// Whether a byte ends the plain run of a JSON string: `"`, `\\` or a control character.
pub(super) fn is_special(byte: u8) -> bool {
    (byte == b'"') | (byte == b'\\') | (byte < 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_special_byte_at_every_position() {
        for len in 0..80 {
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
