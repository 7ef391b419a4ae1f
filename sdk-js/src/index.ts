/**
 * `@logi-plugin/sdk`: the Logi Plugin Framework's JavaScript SDK. The seed's ch. 8 {@link Client},
 * the wire's codecs (varint framing, binary and JSON Envelopes) and the protocol's messages,
 * generated from proto/.
 *
 * @module
 */

export * from "./client.js";
export * from "./codec.js";
export * from "./endpoint.js";
export * from "./frame.js";
export * from "../gen/logi/plugin/protocol/protocol_pb.js";
