/**
 * Envelope codecs (docs/protocol.md, "Codecs"): binary protobuf and the proto3 JSON mapping,
 * the carried message packed as `google.protobuf.Any` and read through one type registry of
 * every message in proto/. A frame that cannot be read at all is an {@link EnvelopeError} (its
 * id cannot be trusted); an envelope whose message has an unknown type URL or a body that does
 * not decode is a {@link MessageError} that keeps the id and says which error code answers it.
 *
 * @module
 */

import {
  create,
  fromBinary,
  fromJson,
  fromJsonString,
  toBinary,
  toJson,
  createRegistry,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  type MessageInitShape,
  type MessageShape,
  type Registry,
} from "@bufbuild/protobuf";
import { anyPack, anyUnpack, type Any } from "@bufbuild/protobuf/wkt";

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

/** The envelope as binary protobuf. */
export function encodeBinary(envelope: Envelope): Uint8Array {
  return toBinary(EnvelopeSchema, envelope);
}

/** The envelope as proto3 JSON text (lowerCamelCase names, enums by name, defaults left out). */
export function encodeJson(envelope: Envelope): string {
  const value = toJson(EnvelopeSchema, envelope, { registry }) as JsonObject;
  // The reference writes `@type` first (protobuf-es writes it last): readers that sniff the
  // type from the front of a text, and byte comparisons with the other SDKs, expect it there.
  const message = value["message"];
  if (message !== null && typeof message === "object" && !Array.isArray(message)) {
    const { "@type": typeUrl, ...fields } = message;
    if (typeUrl !== undefined) {
      value["message"] = { "@type": typeUrl, ...fields };
    }
  }
  return JSON.stringify(value);
}

/** Reads a binary envelope. Throws {@link EnvelopeError} or {@link MessageError}. */
export function decodeBinary(bytes: Uint8Array): Incoming {
  let envelope: Envelope;
  try {
    envelope = fromBinary(EnvelopeSchema, bytes);
  } catch (error) {
    throw new EnvelopeError(`unreadable envelope (${bytes.length} bytes): ${describe(error)}`);
  }
  return unpack(envelope);
}

/** Reads a JSON text envelope. Throws {@link EnvelopeError} or {@link MessageError}. */
export function decodeJson(text: string): Incoming {
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
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return value;
  }
  if (schema.typeName === "google.protobuf.Any") {
    const typeUrl = value["@type"];
    const inner =
      typeof typeUrl === "string" ? registry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1)) : undefined;
    return inner === undefined ? value : numericEnums(inner, value);
  }
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const field = schema.fields.find((f) => f.jsonName === key || f.name === key);
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

/** The decoded envelope with its message unpacked, or the {@link MessageError} it is. */
function unpack(envelope: Envelope): Incoming {
  const { id } = envelope;
  const response = envelope.response;
  const any = envelope.message;
  // An empty Any (no URL, no body) carries no message.
  if (any === undefined || (any.typeUrl === "" && any.value.length === 0)) {
    return { id, response, message: undefined };
  }
  const name = any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
  if (name === "" || registry.getMessage(name) === undefined) {
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
      `${name}: ${describe(error)}`,
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
  const typeUrl =
    message !== null && typeof message === "object" && !Array.isArray(message)
      ? message["@type"]
      : undefined;
  const unknown =
    typeof typeUrl === "string" &&
    registry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1)) === undefined;
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
