/**
 * Protobuf's base-128 varints as the SDK writes them by hand (the frame's length prefix, the
 * envelope's fields): one writer and one size, for both. Internal: not exported by the package.
 *
 * @module
 */

/** The bytes a varint of `n` (0 to 2^32 - 1) takes. */
export function varintLen(n: number): number {
  let length = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

/** Writes `n` (0 to 2^32 - 1) as a varint into `out` at `at`; where the next byte goes. */
export function writeVarint(n: number, out: Uint8Array, at: number): number {
  while (n > 0x7f) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}
