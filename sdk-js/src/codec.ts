/**
 * Envelope codecs (docs/protocol.md, "Codecs"): binary protobuf and the proto3 JSON mapping,
 * the carried message packed as `google.protobuf.Any` and read through one type registry of
 * every message in proto/. A frame that cannot be read at all is an {@link EnvelopeError} (its
 * id cannot be trusted); an envelope whose message has an unknown type URL or a body that does
 * not decode is a {@link MessageError} that keeps the id and says which error code answers it.
 *
 * Both directions are the Rust core's (src/codec/): JSON is written byte for byte as it writes
 * it (the reference's text, float fields in their shortest float32 form), JSON nested deeper than
 * {@link MAX_JSON_DEPTH} is refused, and a binary type URL that is not UTF-8 names no message.
 *
 * @module
 */

import {
  ScalarType,
  create,
  fromJson,
  fromJsonString,
  mergeFromBinary,
  toBinary,
  toJson,
  createRegistry,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageInitShape,
  type MessageShape,
  type Registry,
} from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { AnySchema, anyPack, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";

import { file_logi_plugin_marketplace_marketplace } from "../gen/logi/plugin/marketplace/marketplace_pb.js";
import {
  EnvelopeSchema,
  ResponseInfo_Code,
  ResponseInfoSchema,
  file_logi_plugin_protocol_protocol,
  type Envelope,
  type ResponseInfo,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import { file_logi_protocol_plugin_manager_client } from "../gen/logi/protocol/plugin_manager/client_pb.js";
import { file_logi_protocol_plugin_manager_lifecycle } from "../gen/logi/protocol/plugin_manager/lifecycle_pb.js";
import { varintLen, writeVarint } from "./varint.js";

/** Every message of proto/: what an `Any` on the wire may carry. */
export const registry: Registry = createRegistry(
  file_logi_plugin_protocol_protocol,
  file_logi_protocol_plugin_manager_lifecycle,
  file_logi_protocol_plugin_manager_client,
  file_logi_plugin_marketplace_marketplace,
);

/** The package of the plugin protocol's messages, tried for a short type name. */
const PLUGIN_PACKAGE = "logi.plugin.protocol";

/** An envelope as read from the wire, its message unpacked. */
export interface Incoming {
  /** The envelope's id: a request's, or the request a response answers; 0 for a notification. */
  readonly id: number;
  /** Present if and only if the envelope is a response. */
  readonly response: ResponseInfo | undefined;
  /** The carried message (its `$typeName` says which); `undefined` for a bare response. */
  readonly message: Message | undefined;
}

/** A frame that cannot be read as an Envelope: its id cannot be trusted. */
export class EnvelopeError extends Error {
  /** An unreadable envelope, described by `message`. */
  constructor(message: string) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/**
 * An envelope that was read, but whose message was not: `code` is the answer it deserves
 * (`NOT_IMPLEMENTED` for an unknown type URL, `INVALID_ARG` for a body that does not decode).
 */
export class MessageError extends Error {
  /** The envelope's id. */
  readonly id: number;
  /** Whether the envelope was a response (which is never answered). */
  readonly isResponse: boolean;
  /** The error code that answers it. */
  readonly code: ResponseInfo_Code;

  /** An envelope `id` whose message could not be read, answered with `code`. */
  constructor(id: number, isResponse: boolean, code: ResponseInfo_Code, message: string) {
    super(message);
    this.name = "MessageError";
    this.id = id;
    this.isResponse = isResponse;
    this.code = code;
  }
}

/** A message type given by its schema, or by its full or short name (`"TriggerAction"`). */
export type TypeRef = DescMessage | string;

/**
 * The schema of a message type. Throws a `TypeError` naming `type` when no message of proto/
 * has that name.
 */
export function resolveType(type: TypeRef): DescMessage {
  if (typeof type !== "string") {
    return type;
  }
  const found = registry.getMessage(type) ?? registry.getMessage(`${PLUGIN_PACKAGE}.${type}`);
  if (found === undefined) {
    throw new TypeError(`message type ${JSON.stringify(type)} is not in proto/`);
  }
  return found;
}

/** A message of `type` from `init`, a plain object of its fields (or the message itself). */
export function makeMessage(type: TypeRef, init?: object): Message {
  const schema = resolveType(type);
  if (init !== undefined && "$typeName" in init) {
    if ((init as Message).$typeName !== schema.typeName) {
      throw new TypeError(
        `message of type ${(init as Message).$typeName} given where ${schema.typeName} was asked`,
      );
    }
    return init as Message;
  }
  return create(schema, init as MessageInitShape<DescMessage>);
}

/** An envelope: a request (`id` > 0), a notification (`id` 0) or, with `response`, a response. */
export function makeEnvelope(
  id: number,
  message: Message | undefined,
  response?: { result: ResponseInfo_Code; what?: string },
): Envelope {
  return create(EnvelopeSchema, {
    id,
    message: message === undefined ? undefined : pack(message),
    response: response === undefined ? undefined : create(ResponseInfoSchema, response),
  });
}

/** Packs `message` as an `Any` with the type URL `type.googleapis.com/<full name>`. */
export function pack(message: Message): Any {
  return anyPack(resolveType(message.$typeName), message as MessageShape<DescMessage>);
}

/**
 * The envelope as binary protobuf: `toBinary`'s bytes, sized and written by hand. Every frame is
 * an envelope, and protobuf-es's writer took 4.5 µs to wrap a packed message in one (its
 * nested `Any` written through fork and join, the type URL encoded anew each time); an envelope
 * read with fields its schema does not know goes through `toBinary`, which keeps them.
 */
export function encodeBinary(envelope: Envelope): Uint8Array {
  const any = envelope.message;
  if (envelope.$unknown?.length || any?.$unknown?.length || envelope.response?.$unknown?.length) {
    return toBinary(EnvelopeSchema, envelope);
  }
  const url = any === undefined || any.typeUrl === "" ? undefined : typeUrlBytes(any.typeUrl);
  const value = any === undefined || any.value.length === 0 ? undefined : any.value;
  const anyLen = delimitedLen(url) + delimitedLen(value);
  const response = envelope.response;
  const what = response === undefined || response.what === "" ? undefined : utf8.encode(response.what);
  const result = response?.result ?? 0;
  const responseLen = (result === 0 ? 0 : 1 + int32Len(result)) + delimitedLen(what);
  const length =
    (envelope.id === 0 ? 0 : 1 + varintLen(envelope.id)) +
    (any === undefined ? 0 : 1 + varintLen(anyLen) + anyLen) +
    (response === undefined ? 0 : 1 + varintLen(responseLen) + responseLen);
  const out = new Uint8Array(length);
  let at = 0;
  const varint = (n: number) => {
    at = writeVarint(n, out, at);
  };
  const delimited = (tag: number, bytes: Uint8Array | undefined) => {
    if (bytes === undefined) return;
    out[at++] = tag;
    varint(bytes.length);
    out.set(bytes, at);
    at += bytes.length;
  };
  if (envelope.id !== 0) {
    out[at++] = 0x08;
    varint(envelope.id);
  }
  if (any !== undefined) {
    out[at++] = 0x12;
    varint(anyLen);
    delimited(0x0a, url);
    delimited(0x12, value);
  }
  if (response !== undefined) {
    out[at++] = 0x1a;
    varint(responseLen);
    if (result !== 0) {
      out[at++] = 0x08;
      // A negative int32 is written as its 64-bit two's complement: ten bytes.
      varint(result >= 0 ? result : 2 ** 32 + result);
      if (result < 0) {
        // Bits 32 to 63 are ones: the fifth byte's top three, then four full bytes and a last 1.
        out[at - 1]! |= 0xf0;
        out.set([0xff, 0xff, 0xff, 0xff, 0x01], at);
        at += 5;
      }
    }
    delimited(0x12, what);
  }
  return out;
}

const utf8 = new TextEncoder();

/** The type URLs met so far, as UTF-8: a few dozen at most, one per message type. */
const typeUrls = new Map<string, Uint8Array>();

function typeUrlBytes(typeUrl: string): Uint8Array {
  let bytes = typeUrls.get(typeUrl);
  if (bytes === undefined) {
    bytes = utf8.encode(typeUrl);
    // Only what the protocol's types give: a peer's odd URL is not kept for ever.
    if (typeNamed(typeUrl) !== undefined) typeUrls.set(typeUrl, bytes);
  }
  return bytes;
}

/** The bytes an int32 takes as a varint: a negative one is sign-extended to ten. */
function int32Len(n: number): number {
  return n < 0 ? 10 : varintLen(n);
}

/** The bytes a length-delimited field of `bytes` takes (none when absent). */
function delimitedLen(bytes: Uint8Array | undefined): number {
  return bytes === undefined ? 0 : 1 + varintLen(bytes.length) + bytes.length;
}

/**
 * The envelope as canonical proto3 JSON text, byte for byte as the Rust core (and the reference,
 * Python's `json_format`) writes it: lowerCamelCase names, enums by name, defaults left out,
 * `@type` first in the `Any`, float fields as {@link floatJson} writes them.
 */
export function encodeJson(envelope: Envelope): string {
  return writeMessage(EnvelopeSchema, toJson(EnvelopeSchema, envelope, { registry }));
}

/** A message (not in an envelope) as canonical JSON text, written as {@link encodeJson} writes. */
export function encodeMessageJson(message: Message): string {
  const schema = resolveType(message.$typeName);
  return writeMessage(schema, toJson(schema, message as MessageShape<DescMessage>, { registry }));
}

/**
 * `value`, protobuf-es's JSON of a `schema` message, as text. protobuf-es keeps a float as the
 * double it widens to, which JSON.stringify prints in full (0.1 as 0.10000000149011612): the
 * float fields are written here, the rest as JSON.stringify writes it, which escapes strings as
 * the reference does.
 */
function writeMessage(schema: DescMessage, value: JsonValue): string {
  if (!isObject(value)) {
    return JSON.stringify(value);
  }
  const members: string[] = [];
  let fields = schema;
  if (schema.typeName === AnySchema.typeName) {
    const inner = anyType(value);
    if (inner === undefined) {
      return JSON.stringify(value);
    }
    // The reference writes `@type` first (protobuf-es writes it last): readers that sniff the
    // type from the front of a text expect it there.
    members.push(`"@type":${JSON.stringify(value["@type"])}`);
    fields = inner;
  }
  for (const [key, item] of Object.entries(value)) {
    if (key === "@type" && fields !== schema) {
      continue;
    }
    const write = valueWriter(fieldNamed(fields, key));
    const text = Array.isArray(item)
      ? `[${item.map(write).join(",")}]`
      : isObject(item) && fieldNamed(fields, key)?.fieldKind === "map"
        ? `{${Object.entries(item).map(([k, v]) => `${JSON.stringify(k)}:${write(v)}`).join(",")}}`
        : write(item);
    members.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${members.join(",")}}`;
}

/** How one value of `field` (one element of a list, one value of a map) is written. */
function valueWriter(field: DescField | undefined): (value: JsonValue) => string {
  const message = field !== undefined && field.fieldKind !== "enum" && field.fieldKind !== "scalar" ? field.message : undefined;
  if (message !== undefined) {
    return (value) => writeMessage(message, value);
  }
  const scalar = field === undefined || field.fieldKind === "enum" || field.fieldKind === "message" ? undefined : field.scalar;
  return scalar === ScalarType.FLOAT ? floatJson : (value) => JSON.stringify(value);
}

/**
 * A `float` field's value as the Rust core (src/codec/json/float.rs) and the reference write it:
 * the shortest decimal of at least 6 significant digits that reads back to the same float32
 * (`ToShortestFloat`), printed as Python's `repr` prints a double (`1.0`, `1e+16`, `1e-05`);
 * not finite, its quoted name.
 */
export function floatJson(value: JsonValue): string {
  if (typeof value !== "number") {
    // protobuf-es already gives "NaN", "Infinity" and "-Infinity" as strings.
    return JSON.stringify(value);
  }
  const float = Math.fround(value);
  if (Number.isNaN(float)) {
    return '"NaN"';
  }
  if (!Number.isFinite(float)) {
    return float > 0 ? '"Infinity"' : '"-Infinity"';
  }
  return pythonRepr(shortestForFloat32(float));
}

/** `ToShortestFloat`: the first of 6, 7, ... significant digits (rounded half to even) that reads back to `value`. */
function shortestForFloat32(value: number): number {
  if (value === 0) {
    return value;
  }
  const { digits, scale } = exactDecimal(value);
  const sign = value < 0 ? "-" : "";
  for (let precision = 6; precision < digits.length; precision++) {
    const rounded = Number(`${sign}${roundHalfEven(digits, precision)}e${scale + digits.length - precision}`);
    if (Math.fround(rounded) === value) {
      return rounded;
    }
  }
  return value;
}

/** The exact decimal of a float32 `value`'s magnitude: `digits` × 10^`scale`. */
function exactDecimal(value: number): { digits: string; scale: number } {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, Math.abs(value));
  const bits = view.getUint32(0);
  const biased = bits >>> 23;
  const fraction = bits & 0x7fffff;
  // value = mantissa × 2^exponent, and m × 2^-k = m × 5^k × 10^-k.
  const mantissa = BigInt(biased === 0 ? fraction : fraction | 0x800000);
  const exponent = biased === 0 ? -149 : biased - 150;
  return exponent >= 0
    ? { digits: (mantissa << BigInt(exponent)).toString(), scale: 0 }
    : { digits: (mantissa * 5n ** BigInt(-exponent)).toString(), scale: exponent };
}

/** The first `precision` of `digits`, rounded half to even on the rest (as C's and Python's `%g` round). */
function roundHalfEven(digits: string, precision: number): string {
  const kept = digits.slice(0, precision);
  const rest = digits.slice(precision);
  const tie = /^50*$/.test(rest);
  const up = rest[0]! > "5" || (rest[0] === "5" && !tie) || (tie && Number(kept[kept.length - 1]) % 2 === 1);
  return up ? (BigInt(kept) + 1n).toString() : kept;
}

/** Python's `repr` of a finite double: its shortest digits, fixed for `1e-4 <= |x| < 1e16` (whole numbers ending `.0`), else `d.ddde±XX`. */
function pythonRepr(value: number): string {
  if (value === 0) {
    return Object.is(value, -0) ? "-0.0" : "0.0";
  }
  const [mantissa, power] = Math.abs(value).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exponent = Number(power);
  const sign = value < 0 ? "-" : "";
  // The decimal point sits after `point` digits: value = 0.DIGITS × 10^point.
  const point = exponent + 1;
  if (-4 < point && point <= 16) {
    if (point <= 0) {
      return `${sign}0.${"0".repeat(-point)}${digits}`;
    }
    if (point < digits.length) {
      return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
    }
    return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  }
  const magnitude = Math.abs(exponent);
  return `${sign}${mantissa}e${exponent < 0 ? "-" : "+"}${magnitude < 10 ? "0" : ""}${magnitude}`;
}

/**
 * How deeply JSON objects and arrays may nest in an envelope: the Rust core's limit
 * (src/codec/json/reader.rs `MAX_DEPTH`). Deeper text is an {@link EnvelopeError}, as there.
 */
export const MAX_JSON_DEPTH = 64;

/** Reads a binary envelope. Throws {@link EnvelopeError} or {@link MessageError}. */
export function decodeBinary(bytes: Uint8Array): Incoming {
  let wire: WireEnvelope;
  try {
    wire = readWireEnvelope(bytes);
  } catch (error) {
    throw new EnvelopeError(`unreadable envelope (${bytes.length} bytes): ${describe(error)}`);
  }
  const { id, response, any } = wire;
  let typeUrl = "";
  try {
    typeUrl = strictUtf8.decode(any?.typeUrl);
  } catch {
    // As the Rust core reads it: a type URL that is not UTF-8 names no message (the rest of
    // the envelope, its id included, is sound).
    throw new MessageError(
      id,
      response !== undefined,
      ResponseInfo_Code.NOT_IMPLEMENTED,
      `unknown message type URL ${JSON.stringify(new TextDecoder().decode(any?.typeUrl))} (not UTF-8)`,
    );
  }
  const message = any && create(AnySchema, { typeUrl, value: any.value });
  return unpack(create(EnvelopeSchema, { id, message, response }));
}

/** Reads UTF-8 as protobuf wants it: an error for bytes that are not, a leading U+FEFF kept. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** An envelope as the Rust core's binary codec reads it first: the `Any`'s type URL still bytes. */
interface WireEnvelope {
  id: number;
  any: { typeUrl: Uint8Array; value: Uint8Array } | undefined;
  response: ResponseInfo | undefined;
}

/**
 * Reads `Envelope` by hand, so that the `Any`'s type URL stays bytes (protobuf-es refuses the
 * whole envelope for a type URL that is not UTF-8, where the Rust core answers it). A field
 * given twice merges as protobuf merges; unknown fields are passed over.
 */
function readWireEnvelope(bytes: Uint8Array): WireEnvelope {
  const wire: WireEnvelope = { id: 0, any: undefined, response: undefined };
  readFields(bytes, (field, type, reader) => {
    if (field === 1 && expectWireType(field, type, WireType.Varint)) {
      wire.id = reader.uint32();
    } else if (field === 2 && expectWireType(field, type, WireType.LengthDelimited)) {
      wire.any = readWireAny(reader.bytes(), wire.any);
    } else if (field === 3 && expectWireType(field, type, WireType.LengthDelimited)) {
      wire.response = mergeFromBinary(ResponseInfoSchema, wire.response ?? create(ResponseInfoSchema), reader.bytes());
    } else {
      return false;
    }
    return true;
  });
  return wire;
}

/** Reads a `google.protobuf.Any` into `into` (a copy of it), its two fields as bytes. */
function readWireAny(bytes: Uint8Array, into: WireEnvelope["any"]): NonNullable<WireEnvelope["any"]> {
  const any = { typeUrl: new Uint8Array(), value: new Uint8Array(), ...into };
  readFields(bytes, (field, type, reader) => {
    if (field === 1 && expectWireType(field, type, WireType.LengthDelimited)) {
      any.typeUrl = reader.bytes();
    } else if (field === 2 && expectWireType(field, type, WireType.LengthDelimited)) {
      any.value = reader.bytes();
    } else {
      return false;
    }
    return true;
  });
  return any;
}

/** Reads the fields of a message's `bytes`: `read` takes those it knows (saying so), the others are passed over. */
function readFields(bytes: Uint8Array, read: (field: number, type: WireType, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, type] = reader.tag();
    if (!read(field, type, reader)) {
      reader.skip(type, field);
    }
  }
}

/** `true` when field `field` came with the wire type its type has; else throws naming both. */
function expectWireType(field: number, type: WireType, expected: WireType): true {
  if (type !== expected) {
    throw new Error(`field ${field} has wire type ${WireType[type]}, not ${WireType[expected]}`);
  }
  return true;
}

/** Reads a JSON text envelope. Throws {@link EnvelopeError} or {@link MessageError}. */
export function decodeJson(text: string): Incoming {
  checkDepth(text);
  let envelope: Envelope;
  try {
    envelope = fromJsonString(EnvelopeSchema, text, { registry });
  } catch (error) {
    envelope = readLenient(text, error);
  }
  checkStrings(text);
  return unpack(envelope);
}

/**
 * Refuses text whose objects and arrays nest deeper than {@link MAX_JSON_DEPTH}, before it is
 * parsed. The Rust reader refuses it wherever it lies (in a body it passes over too), so the
 * whole envelope is unreadable and no id is trusted.
 */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        // A backslash escapes the next character, a quote included.
        i++;
      } else if (c === 0x22) {
        inString = false;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new EnvelopeError(
          `unreadable JSON envelope: nesting deeper than ${MAX_JSON_DEPTH} levels (at character ${i})`,
        );
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/**
 * The second reading of a JSON text that protobuf-es refused: enums given as numeric strings
 * (`"-5"`), which the proto3 mapping's reference accepts, are read as their numbers. Throws
 * what the text is when it still does not read.
 */
function readLenient(text: string, error: unknown): Envelope {
  // protobuf-es checks duplicate keys over the whole text before reading it: a text with one
  // says nothing trustworthy, not even its id.
  if (/duplicate object key/.test(describe(error))) {
    return fail(new EnvelopeError(`unreadable JSON envelope: ${describe(error)}`));
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (syntax) {
    return fail(new EnvelopeError(`unreadable JSON envelope: ${describe(syntax)}`));
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return fail(new EnvelopeError(`a JSON envelope is an object, not ${JSON.stringify(value)}`));
  }
  try {
    return fromJson(EnvelopeSchema, numericEnums(EnvelopeSchema, value), { registry });
  } catch {
    return fail(classifyJson(value, error));
  }
}

/** Throws `error`: lets a reader end in an expression. */
function fail(error: Error): never {
  throw error;
}

/** An enum's JSON value, a numeric string made its number. */
function enumValue(value: JsonValue): JsonValue {
  return typeof value === "string" && /^-?[0-9]+$/.test(value) ? Number(value) : value;
}

/** `value` (JSON of a `schema` message) with enums given as numeric strings made numbers. */
function numericEnums(schema: DescMessage, value: JsonValue): JsonValue {
  if (!isObject(value)) {
    return value;
  }
  if (schema.typeName === AnySchema.typeName) {
    const inner = anyType(value);
    return inner === undefined ? value : numericEnums(inner, value);
  }
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const field = fieldNamed(schema, key);
    if (field === undefined) {
      out[key] = item;
    } else if (field.fieldKind === "enum") {
      out[key] = enumValue(item);
    } else if (field.fieldKind === "message") {
      out[key] = numericEnums(field.message, item);
    } else if (field.fieldKind === "list" && Array.isArray(item)) {
      out[key] =
        field.listKind === "enum"
          ? item.map(enumValue)
          : field.listKind === "message"
            ? item.map((v) => numericEnums(field.message, v))
            : item;
    } else {
      out[key] = item;
    }
  }
  return out;
}

/** Whether `value` is a JSON object. */
function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The message type a JSON `Any` object's `@type` names, if it is one of proto/. */
function anyType(value: JsonObject): DescMessage | undefined {
  const typeUrl = value["@type"];
  return typeof typeUrl === "string" ? typeNamed(typeUrl) : undefined;
}

/** The message of proto/ a type URL names: by the full name after its last slash, any prefix or none. */
function typeNamed(typeUrl: string): DescMessage | undefined {
  const name = typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
  return name === "" ? undefined : registry.getMessage(name);
}

/** The field of `schema` a JSON member names, by its JSON name or its name in the `.proto` file. */
function fieldNamed(schema: DescMessage, key: string): DescField | undefined {
  return schema.fields.find((f) => f.jsonName === key || f.name === key);
}

/** The decoded envelope with its message unpacked, or the {@link MessageError} it is. */
function unpack(envelope: Envelope): Incoming {
  const { id } = envelope;
  const response = envelope.response;
  const any = envelope.message;
  // An empty Any (no URL, no body) carries no message.
  if (any === undefined || (any.typeUrl === "" && any.value.length === 0)) {
    return { id, response, message: undefined };
  }
  const schema = typeNamed(any.typeUrl);
  if (schema === undefined) {
    throw new MessageError(
      id,
      response !== undefined,
      ResponseInfo_Code.NOT_IMPLEMENTED,
      `unknown message type URL ${JSON.stringify(any.typeUrl)}`,
    );
  }
  try {
    return { id, response, message: anyUnpack(any, registry) };
  } catch (error) {
    throw new MessageError(
      id,
      response !== undefined,
      ResponseInfo_Code.INVALID_ARG,
      `${schema.typeName}: ${describe(error)}`,
    );
  }
}

/**
 * Why a JSON envelope `value` that did not read is wrong: an {@link EnvelopeError} unless the
 * envelope reads without its message, whose id can then be trusted and answered.
 */
function classifyJson(value: JsonObject, error: unknown): Error {
  const { message, ...rest } = value;
  let envelope: Envelope;
  try {
    envelope = fromJson(EnvelopeSchema, numericEnums(EnvelopeSchema, rest));
  } catch {
    return new EnvelopeError(`unreadable JSON envelope: ${describe(error)}`);
  }
  const typeUrl = isObject(message) ? message["@type"] : undefined;
  const unknown = typeof typeUrl === "string" && typeNamed(typeUrl) === undefined;
  return new MessageError(
    envelope.id,
    envelope.response !== undefined,
    unknown ? ResponseInfo_Code.NOT_IMPLEMENTED : ResponseInfo_Code.INVALID_ARG,
    unknown ? `unknown message type URL ${JSON.stringify(typeUrl)}` : describe(error),
  );
}

/** A lone UTF-16 surrogate, which no UTF-8 string (what protobuf carries) can hold. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Refuses a JSON text with an escaped lone surrogate: JSON.parse keeps it, and the string would
 * be changed on its way to UTF-8. Only an escape can make one, so texts without `\u` are let by.
 */
function checkStrings(text: string): void {
  if (!text.includes("\\u")) {
    return;
  }
  JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === "string" && LONE_SURROGATE.test(value)) {
      throw new EnvelopeError(`JSON string ${JSON.stringify(value)} holds a lone surrogate`);
    }
    return value;
  });
}

/** An error's message, for another error's text. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

