/**
 * Length-delimited framing of the local socket (docs/protocol.md, "local-socket framing"): each
 * Envelope is preceded by its length as a varint, as protobuf's `writeDelimitedTo` writes it.
 * The same rules as the Rust core's `codec::frame`: a prefix announcing more than the limit is
 * refused from the prefix alone (nothing is buffered for it), and a bad prefix fails the stream
 * for good.
 *
 * @module
 */

import { varintLen, writeVarint } from "./varint.js";

/** The largest frame accepted by default: 8 MiB, the manager's limit. */
export const DEFAULT_MAX_FRAME_LEN = 8 * 1024 * 1024;

/** A varint of a u64 takes at most ten bytes. */
const MAX_VARINT_LEN = 10;

/** Why a byte stream could not be split into frames; the stream cannot be trusted after it. */
export class FrameError extends Error {
  /** `oversized`, `malformed-length` or `truncated`. */
  readonly kind: "oversized" | "malformed-length" | "truncated";
  /** Where the frame starts in the stream. */
  readonly offset: number;

  /** A framing error of `kind` at stream `offset`, described by `message`. */
  constructor(kind: FrameError["kind"], offset: number, message: string) {
    super(message);
    this.name = "FrameError";
    this.kind = kind;
    this.offset = offset;
  }
}

/** Throws a `RangeError` naming both lengths when an envelope of `len` bytes is over the limit. */
export function checkFrameLen(len: number, maxFrameLen: number): void {
  if (len > maxFrameLen) {
    throw new RangeError(`envelope of ${len} bytes exceeds the frame limit of ${maxFrameLen} bytes`);
  }
}

/**
 * One frame: the varint length of `body`, then `body`. Throws a `RangeError` naming both
 * lengths when `body` is over `maxFrameLen`, since the peer would refuse it.
 */
export function encodeFrame(body: Uint8Array, maxFrameLen = DEFAULT_MAX_FRAME_LEN): Uint8Array {
  checkFrameLen(body.length, maxFrameLen);
  const frame = new Uint8Array(varintLen(body.length) + body.length);
  frame.set(body, writeVarint(body.length, frame, 0));
  return frame;
}

/**
 * An incremental decoder of length-delimited frames: feed it bytes in any chunking with
 * {@link FrameDecoder.push}, take complete frames with {@link FrameDecoder.next} until it
 * returns `undefined`.
 */
export class FrameDecoder {
  /** The largest frame this decoder accepts. */
  readonly maxFrameLen: number;
  /** Chunks received and not yet returned; `head` bytes of the first are already consumed. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private buffered = 0;
  /** The body length of the frame at the front, once its prefix has been consumed. */
  private bodyLen: number | undefined;
  /** Stream offset of the front of the buffer, and of the current frame's prefix. */
  private offset = 0;
  private frameOffset = 0;
  private failed: FrameError | undefined;

  /** A decoder refusing frames longer than `maxFrameLen` bytes. */
  constructor(maxFrameLen = DEFAULT_MAX_FRAME_LEN) {
    this.maxFrameLen = maxFrameLen;
  }

  /** Bytes received and not yet returned as frames. */
  get bufferedLen(): number {
    return this.buffered;
  }

  /** Adds bytes received from the stream; ignored once the decoder has failed. */
  push(bytes: Uint8Array): void {
    if (this.failed === undefined && bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
  }

  /**
   * The next complete frame, `undefined` if more bytes are needed. Throws the
   * {@link FrameError} that makes the rest of the stream unreadable, again on every later call.
   */
  next(): Uint8Array | undefined {
    if (this.failed !== undefined) {
      throw this.failed;
    }
    if (this.bodyLen === undefined) {
      try {
        this.bodyLen = this.readPrefix();
      } catch (error) {
        this.chunks = [];
        this.buffered = 0;
        this.failed = error as FrameError;
        throw error;
      }
      if (this.bodyLen === undefined) {
        return undefined;
      }
    }
    if (this.buffered < this.bodyLen) {
      return undefined;
    }
    const body = this.take(this.bodyLen);
    this.bodyLen = undefined;
    this.frameOffset = this.offset;
    return body;
  }

  /** Throws a `truncated` {@link FrameError} unless the stream ended between frames. */
  finish(): void {
    if (this.failed !== undefined) {
      throw this.failed;
    }
    if (this.buffered === 0 && this.bodyLen === undefined) {
      return;
    }
    const prefixLen = this.offset - this.frameOffset;
    const received = prefixLen + this.buffered;
    const expected =
      this.bodyLen === undefined
        ? "an unfinished length prefix"
        : `${prefixLen + this.bodyLen} (prefix and body)`;
    throw new FrameError(
      "truncated",
      this.frameOffset,
      `stream ended inside the frame at stream offset ${this.frameOffset}: ${received} bytes received of ${expected}`,
    );
  }

  /** The byte `index` places past the front of the buffer. */
  private byteAt(index: number): number {
    let at = this.head + index;
    for (const chunk of this.chunks) {
      if (at < chunk.length) {
        return chunk[at]!;
      }
      at -= chunk.length;
    }
    throw new RangeError(`byte ${index} is past the ${this.buffered} buffered bytes`);
  }

  /** Reads and consumes a complete length prefix, checking it against the limit. */
  private readPrefix(): number | undefined {
    // A number keeps the value exact up to 2^53: far past any limit, so comparing is sound.
    let value = 0;
    const available = Math.min(this.buffered, MAX_VARINT_LEN);
    for (let i = 0; i < available; i++) {
      const byte = this.byteAt(i);
      // The tenth byte may only carry the top bit of a u64.
      if (i === MAX_VARINT_LEN - 1 && byte > 1) {
        throw this.malformed();
      }
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > this.maxFrameLen) {
          throw new FrameError(
            "oversized",
            this.frameOffset,
            `frame at stream offset ${this.frameOffset} announces ${value} bytes, over the limit of ${this.maxFrameLen} bytes`,
          );
        }
        this.take(i + 1);
        return value;
      }
    }
    if (this.buffered >= MAX_VARINT_LEN) {
      throw this.malformed();
    }
    return undefined;
  }

  private malformed(): FrameError {
    const prefix = Array.from({ length: MAX_VARINT_LEN }, (_, i) =>
      this.byteAt(i).toString(16).padStart(2, "0"),
    );
    return new FrameError(
      "malformed-length",
      this.frameOffset,
      `frame at stream offset ${this.frameOffset} has a malformed length prefix: [${prefix.join(", ")}]`,
    );
  }

  /** Removes `len` bytes from the front of the buffer and returns them. */
  private take(len: number): Uint8Array {
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first !== undefined && first.length - this.head >= len) {
      // The common case, a frame inside one chunk: a view, no copy.
      out = first.subarray(this.head, this.head + len);
      this.head += len;
    } else {
      out = new Uint8Array(len);
      let filled = 0;
      while (filled < len) {
        const chunk = this.chunks[0]!;
        const part = Math.min(chunk.length - this.head, len - filled);
        out.set(chunk.subarray(this.head, this.head + part), filled);
        filled += part;
        this.head += part;
        if (this.head === chunk.length) {
          this.chunks.shift();
          this.head = 0;
        }
      }
    }
    if (this.chunks[0] !== undefined && this.head === this.chunks[0].length) {
      this.chunks.shift();
      this.head = 0;
    }
    this.buffered -= len;
    this.offset += len;
    return out;
  }
}
