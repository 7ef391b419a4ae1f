// The envelope codecs against the golden vectors of the official protobuf runtime.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { create, fromBinary, toBinary, toJson, type Message } from "@bufbuild/protobuf";

import {
  EnvelopeError,
  MessageError,
  decodeBinary,
  decodeJson,
  encodeBinary,
  encodeJson,
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

/**
 * Whether two parsed JSON values are the same, numbers compared as float32 where they differ:
 * Python prints a float field's shortest float32 form, JavaScript the double it widens to.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.fround(a) === Math.fround(b);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a);
    return (
      keys.join() === Object.keys(b).join() &&
      keys.every((key) => sameJson((a as never)[key], (b as never)[key]))
    );
  }
  return a === b;
}

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

for (const vector of vectors.envelopes) {
  test(`envelope ${vector.name}: binary decodes and encodes back to the same bytes`, () => {
    assert.equal(hex(reencode(decodeBinary(bytes(vector.binary_hex)))), vector.binary_hex);
  });

  test(`envelope ${vector.name}: JSON output reads as the reference's, field by field in order`, () => {
    const ours = encodeJson(fromBinary(EnvelopeSchema, bytes(vector.binary_hex)));
    assert.ok(sameJson(JSON.parse(ours), JSON.parse(vector.json)), `${ours}\n!=\n${vector.json}`);
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
    assert.ok(sameJson(toJson(schema, message), JSON.parse(vector.json)));
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
