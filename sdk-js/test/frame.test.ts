// The local socket's varint framing: frames in any chunking, the limit checked from the prefix.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { DEFAULT_MAX_FRAME_LEN, FrameDecoder, FrameError, encodeFrame } from "../src/frame.js";

interface Stream {
  hex: string;
  envelopes_hex: string[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../tests/vectors/vectors.json", import.meta.url), "utf8"),
) as { stream: Stream };
const stream = Buffer.from(vectors.stream.hex, "hex");
const bodies = vectors.stream.envelopes_hex.map((hex) => Buffer.from(hex, "hex"));

/** Every frame `decoder` has ready. */
function drain(decoder: FrameDecoder): Buffer[] {
  const frames: Buffer[] = [];
  for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
    frames.push(Buffer.from(frame));
  }
  return frames;
}

test("the golden stream is framed byte for byte as writeDelimitedTo writes it", () => {
  const framed = Buffer.concat(bodies.map((body) => encodeFrame(body)));
  assert.equal(framed.toString("hex"), vectors.stream.hex);
});

test("the golden stream splits into its envelopes in one chunk", () => {
  const decoder = new FrameDecoder();
  decoder.push(stream);
  assert.deepEqual(drain(decoder), bodies);
  decoder.finish();
});

test("the golden stream splits into its envelopes fed one byte at a time", () => {
  const decoder = new FrameDecoder();
  const frames: Buffer[] = [];
  for (const byte of stream) {
    decoder.push(Uint8Array.of(byte));
    frames.push(...drain(decoder));
  }
  assert.deepEqual(frames, bodies);
  assert.equal(decoder.bufferedLen, 0);
});

test("the golden stream splits into its envelopes at every split point", () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const decoder = new FrameDecoder();
    decoder.push(stream.subarray(0, cut));
    const frames = drain(decoder);
    decoder.push(stream.subarray(cut));
    frames.push(...drain(decoder));
    assert.deepEqual(frames, bodies, `cut at ${cut}`);
  }
});

test("a prefix over the limit is refused before its body arrives", () => {
  const decoder = new FrameDecoder(DEFAULT_MAX_FRAME_LEN);
  // The prefix of 8 MiB + 1, and not one byte of the body.
  decoder.push(Uint8Array.of(0x81, 0x80, 0x80, 0x04));
  assert.throws(() => decoder.next(), (error: FrameError) => {
    assert.equal(error.kind, "oversized");
    assert.match(error.message, /announces 8388609 bytes, over the limit of 8388608 bytes/);
    return true;
  });
  assert.equal(decoder.bufferedLen, 0);
});

test("a frame exactly at the limit is accepted", () => {
  const decoder = new FrameDecoder(300);
  decoder.push(encodeFrame(new Uint8Array(300).fill(7), 300));
  assert.equal(decoder.next()?.length, 300);
});

test("a failed stream stays failed and takes no more bytes", () => {
  const decoder = new FrameDecoder(10);
  decoder.push(Uint8Array.of(11));
  assert.throws(() => decoder.next(), FrameError);
  decoder.push(encodeFrame(Uint8Array.of(1)));
  assert.throws(() => decoder.next(), FrameError);
  assert.equal(decoder.bufferedLen, 0);
});

test("ten prefix bytes without an end are a malformed length", () => {
  const decoder = new FrameDecoder();
  decoder.push(new Uint8Array(10).fill(0x80));
  assert.throws(() => decoder.next(), (error: FrameError) => error.kind === "malformed-length");
});

test("a tenth prefix byte past the top bit of a u64 is a malformed length", () => {
  const decoder = new FrameDecoder();
  decoder.push(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02));
  assert.throws(() => decoder.next(), (error: FrameError) => error.kind === "malformed-length");
});

test("a stream ending inside a frame is reported truncated with what arrived", () => {
  const decoder = new FrameDecoder();
  decoder.push(encodeFrame(new Uint8Array(200)).subarray(0, 50));
  assert.equal(decoder.next(), undefined);
  assert.throws(() => decoder.finish(), /50 bytes received of 202 \(prefix and body\)/);
});

test("an envelope over the limit is not framed", () => {
  assert.throws(() => encodeFrame(new Uint8Array(11), 10), /11 bytes exceeds the frame limit of 10/);
});
