// The envelope codecs against the golden vectors of the official protobuf runtime.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { create, fromBinary, toBinary, type Message } from "@bufbuild/protobuf";

import {
  EnvelopeError,
  MessageError,
  decodeBinary,
  decodeJson,
  encodeBinary,
  encodeJson,
  encodeMessageJson,
  makeEnvelope,
  makeMessage,
  registry,
} from "../src/codec.js";
import {
  EnvelopeSchema,
  ResponseInfo_Code,
  TriggerActionSchema,
  type TriggerAction,
} from "../gen/logi/plugin/protocol/protocol_pb.js";

interface Vectors {
  envelopes: { name: string; binary_hex: string; json: string }[];
  json_inputs: { name: string; input: string; binary_hex: string; json: string }[];
  json_rejects: { name: string; input: string; reason: string }[];
  messages: { name: string; type: string; binary_hex: string; json: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../tests/vectors/vectors.json", import.meta.url), "utf8"),
) as Vectors;

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const bytes = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"));

/** The envelope an Incoming came from, packed again. */
function reencode(incoming: ReturnType<typeof decodeBinary>): Uint8Array {
  return encodeBinary(
    makeEnvelope(
      incoming.id,
      incoming.message,
      incoming.response && { result: incoming.response.result, what: incoming.response.what },
    ),
  );
}

/** Checks that `decode` throws a MessageError for envelope `id`, answered with `code`. */
function throwsMessageError(decode: () => unknown, id: number, code: ResponseInfo_Code): void {
  assert.throws(decode, (error: MessageError) => {
    assert.ok(error instanceof MessageError, `${error}`);
    assert.deepEqual([error.id, error.isResponse, ResponseInfo_Code[error.code]], [id, false, ResponseInfo_Code[code]]);
    return true;
  });
}

test("encodeBinary writes the bytes protobuf-es's toBinary writes, for every shape of envelope", () => {
  const ids = [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 32 - 1];
  const codes = [undefined, ...Object.values(ResponseInfo_Code).filter((code): code is number => typeof code === "number")];
  const whats = ["", "é ✓ \u{1F600}", "x".repeat(300)];
  const messages = [
    undefined,
    makeMessage("Ping"),
    makeMessage("TriggerAction", { actionId: "a".repeat(200), actionInstanceId: "key-1" }),
    makeMessage("UpdateAnalogControl", { analogControlId: "step", instanceId: "dial-1", updateType: { case: "delta", value: -2.5 } }),
  ];
  let checked = 0;
  for (const id of ids) {
    for (const message of messages) {
      for (const code of codes) {
        for (const what of code === undefined ? [""] : whats) {
          const envelope = makeEnvelope(id, message, code === undefined ? undefined : { result: code, what });
          assert.equal(hex(encodeBinary(envelope)), hex(toBinary(EnvelopeSchema, envelope)), `${id} ${message?.$typeName} ${code} ${what.length}`);
          checked++;
        }
      }
    }
  }
  // An Any with a URL and no body, or a body and no URL, and fields the schema does not know.
  const odd = makeEnvelope(3, undefined);
  odd.message = { $typeName: "google.protobuf.Any", typeUrl: "type.googleapis.com/x.Y", value: new Uint8Array() };
  assert.equal(hex(encodeBinary(odd)), hex(toBinary(EnvelopeSchema, odd)));
  odd.message = { $typeName: "google.protobuf.Any", typeUrl: "", value: Uint8Array.of(8, 1) };
  assert.equal(hex(encodeBinary(odd)), hex(toBinary(EnvelopeSchema, odd)));
  const unknown = fromBinary(EnvelopeSchema, Uint8Array.of(0x08, 0x05, 0xa0, 0x01, 0x07));
  assert.equal(hex(encodeBinary(unknown)), "0805a00107");
  assert.ok(checked > 500, `${checked}`);
});

for (const vector of vectors.envelopes) {
  test(`envelope ${vector.name}: binary decodes and encodes back to the same bytes`, () => {
    assert.equal(hex(reencode(decodeBinary(bytes(vector.binary_hex)))), vector.binary_hex);
  });

  test(`envelope ${vector.name}: JSON output is the reference's text, byte for byte`, () => {
    assert.equal(encodeJson(fromBinary(EnvelopeSchema, bytes(vector.binary_hex))), vector.json);
  });

  // float32 max is printed by the reference in a form its own parser refuses (tests/vectors/README.md).
  if (vector.name !== "update_analog_value_f32_max") {
    test(`envelope ${vector.name}: the reference's JSON reads to the reference's bytes`, () => {
      assert.equal(hex(reencode(decodeJson(vector.json))), vector.binary_hex);
    });
  }
}

for (const vector of vectors.json_inputs) {
  test(`JSON input ${vector.name} is accepted and reads to the reference's bytes`, () => {
    assert.equal(hex(reencode(decodeJson(vector.input))), vector.binary_hex);
  });

  test(`JSON input ${vector.name} is written back as the reference's canonical text`, () => {
    assert.equal(encodeJson(fromBinary(EnvelopeSchema, reencode(decodeJson(vector.input)))), vector.json);
  });
}

for (const vector of vectors.json_rejects) {
  test(`JSON input ${vector.name} is refused`, () => {
    assert.throws(
      () => decodeJson(vector.input),
      (error) => error instanceof EnvelopeError || error instanceof MessageError,
    );
  });
}

for (const vector of vectors.messages) {
  test(`message ${vector.name} reads and writes as the reference does`, () => {
    const schema = registry.getMessage(vector.type);
    assert.ok(schema, `${vector.type} is in the registry`);
    const message = fromBinary(schema, bytes(vector.binary_hex));
    assert.equal(hex(toBinary(schema, message)), vector.binary_hex);
    assert.equal(encodeMessageJson(message), vector.json);
  });
}

test("an unknown type URL in a binary request keeps its id and is answered NOT_IMPLEMENTED", () => {
  const envelope = create(EnvelopeSchema, {
    id: 7,
    message: { typeUrl: "type.googleapis.com/logi.plugin.protocol.NoSuch", value: Uint8Array.of(8, 1) },
  });
  throwsMessageError(() => decodeBinary(encodeBinary(envelope)), 7, ResponseInfo_Code.NOT_IMPLEMENTED);
  assert.throws(() => decodeBinary(encodeBinary(envelope)), /logi\.plugin\.protocol\.NoSuch/);
});

test("a malformed body in a binary request keeps its id and is answered INVALID_ARG", () => {
  const envelope = create(EnvelopeSchema, {
    id: 9,
    message: { typeUrl: "type.googleapis.com/logi.plugin.protocol.TriggerAction", value: Uint8Array.of(0x0a, 0x05) },
  });
  throwsMessageError(() => decodeBinary(encodeBinary(envelope)), 9, ResponseInfo_Code.INVALID_ARG);
});

test("an unknown JSON @type keeps its id and is answered NOT_IMPLEMENTED", () => {
  throwsMessageError(
    () => decodeJson('{"id":4,"message":{"@type":"type.googleapis.com/x.Nope","a":1}}'),
    4,
    ResponseInfo_Code.NOT_IMPLEMENTED,
  );
});

test("a JSON body with a wrong field keeps its id and is answered INVALID_ARG", () => {
  throwsMessageError(
    () => decodeJson('{"id":5,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","bogus":1}}'),
    5,
    ResponseInfo_Code.INVALID_ARG,
  );
});

test("bytes that are no envelope are an envelope error", () => {
  assert.throws(() => decodeBinary(Uint8Array.of(0xff, 0xff)), EnvelopeError);
});

test("a JSON field given twice is refused", () => {
  assert.throws(() => decodeJson('{"id":1,"id":2}'), EnvelopeError);
});

test("a type URL is read by the name after its last slash, any prefix or none", () => {
  const trigger = makeMessage("TriggerAction", { actionId: "a" }) as TriggerAction;
  for (const typeUrl of ["logi.plugin.protocol.TriggerAction", "example.com/x/logi.plugin.protocol.TriggerAction"]) {
    const envelope = create(EnvelopeSchema, { id: 3, message: { typeUrl, value: toBinary(TriggerActionSchema, trigger) } });
    const message = decodeBinary(encodeBinary(envelope)).message as Message & TriggerAction;
    assert.equal(message.$typeName, "logi.plugin.protocol.TriggerAction");
    assert.equal(message.actionId, "a");
  }
});

test("a message type is found by its short name or its full name, and an unknown one is named", () => {
  assert.equal(makeMessage("Ping").$typeName, "logi.plugin.protocol.Ping");
  assert.equal(makeMessage("logi.protocol.plugin_manager.Invoke").$typeName, "logi.protocol.plugin_manager.Invoke");
  assert.throws(() => makeMessage("Pingg"), /"Pingg" is not in proto/);
});

/** A float field as our JSON writes it: the `currentValue` of an `AnalogControlStatus`. */
function floatText(value: number): string {
  const text = encodeMessageJson(makeMessage("AnalogControlStatus", { currentValue: value }));
  return /"currentValue":(.*)\}$/.exec(text)![1]!;
}

test("a float is written in the shortest form that reads back to the same float32, as the Rust core writes it", () => {
  assert.equal(floatText(0.1), "0.1");
  assert.equal(floatText(1 / 3), "0.33333334");
  assert.equal(floatText(-0.25), "-0.25");
  assert.equal(floatText(3.4028234663852886e38), "3.4028235e+38");
  assert.equal(floatText(1.1754943508222875e-38), "1.1754944e-38");
  // Subnormals: six digits always read back, so the reference stops there.
  assert.equal(floatText(1.5e-42), "1.49939e-42");
});

test("a whole float keeps its `.0`, and the exponent form starts where Python's repr starts it", () => {
  assert.equal(floatText(1), "1.0");
  assert.equal(floatText(0), "0.0");
  assert.equal(floatText(-0), "-0.0");
  assert.equal(floatText(16777216), "16777216.0");
  assert.equal(floatText(1e15), "1000000000000000.0");
  assert.equal(floatText(1e16), "1e+16");
  assert.equal(floatText(1e-4), "0.0001");
  assert.equal(floatText(1e-5), "1e-05");
});

test("a float that is not finite is written as the quoted name", () => {
  assert.equal(floatText(Number.NaN), '"NaN"');
  assert.equal(floatText(Number.POSITIVE_INFINITY), '"Infinity"');
  assert.equal(floatText(Number.NEGATIVE_INFINITY), '"-Infinity"');
});

/** A JSON request `id` for TriggerAction whose unknown field `bogus` holds arrays nested `levels` deep. */
function nested(id: number, levels: number): string {
  return `{"id":${id},"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","bogus":${"[".repeat(levels)}${"]".repeat(levels)}}}`;
}

test("JSON nested 64 levels deep is read as far as its message, whose error keeps the id", () => {
  // The envelope's object and the message's are two levels: 62 arrays make 64.
  throwsMessageError(() => decodeJson(nested(5, 62)), 5, ResponseInfo_Code.INVALID_ARG);
});

test("JSON nested deeper than 64 levels is an unreadable envelope, as the Rust core refuses it", () => {
  assert.throws(() => decodeJson(nested(5, 63)), (error: Error) => {
    assert.ok(error instanceof EnvelopeError, `${error}`);
    assert.match(error.message, /nesting deeper than 64 levels/);
    return true;
  });
});

test("brackets inside JSON strings are not nesting", () => {
  const configuration = `${"[{".repeat(100)}\\"[`;
  const text = `{"id":6,"message":{"@type":"type.googleapis.com/logi.plugin.protocol.TriggerAction","configuration":${JSON.stringify(configuration)}}}`;
  assert.equal((decodeJson(text).message as Message & TriggerAction).configuration, configuration);
});

/** An envelope `id` carrying an `Any` of `typeUrl` (raw bytes) and `body`, as binary. */
function binaryWithAny(id: number, typeUrl: Uint8Array, body: Uint8Array): Uint8Array {
  const any = [0x0a, typeUrl.length, ...typeUrl, 0x12, body.length, ...body];
  return Uint8Array.of(0x08, id, 0x12, any.length, ...any);
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

test("a string in a binary request's body that is not UTF-8 is answered INVALID_ARG with the id", () => {
  // action_id (field 2) holding 0xc3 0x28, a broken two-byte sequence.
  const body = Uint8Array.of(0x12, 0x02, 0xc3, 0x28);
  throwsMessageError(
    () => decodeBinary(binaryWithAny(7, utf8("type.googleapis.com/logi.plugin.protocol.TriggerAction"), body)),
    7,
    ResponseInfo_Code.INVALID_ARG,
  );
});

test("a binary type URL that is not UTF-8 names no message: NOT_IMPLEMENTED with the id, as the Rust core answers", () => {
  // A broken byte before the last slash: read with replacement characters, the name would be Ping.
  const typeUrl = Uint8Array.of(0xff, ...utf8("/logi.plugin.protocol.Ping"));
  throwsMessageError(() => decodeBinary(binaryWithAny(8, typeUrl, new Uint8Array())), 8, ResponseInfo_Code.NOT_IMPLEMENTED);
  assert.throws(() => decodeBinary(binaryWithAny(8, typeUrl, new Uint8Array())), /unknown message type URL "\uFFFD\/logi/);
});

test("a binary response text that is not UTF-8 makes the envelope unreadable", () => {
  // response (field 3) = ResponseInfo { what (field 2): 0xff }
  assert.throws(() => decodeBinary(Uint8Array.of(0x08, 0x09, 0x1a, 0x03, 0x12, 0x01, 0xff)), EnvelopeError);
});
