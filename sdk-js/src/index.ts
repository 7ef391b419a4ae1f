/**
 * `@logi-plugin/sdk`: the Logi Plugin Framework's JavaScript SDK. The handler API ({@link Plugin}:
 * actions and analog controls with typed settings), the seed's ch. 8 {@link Client} it runs on
 * (with analog buffers and the kept {@link View}),
 * the wire's codecs (varint framing, binary and JSON Envelopes) and the protocol's messages,
 * generated from proto/.
 *
 * @module
 */

export * from "./buffer.js";
export * from "./client.js";
export * from "./codec.js";
export * from "./endpoint.js";
export * from "./frame.js";
export * from "./view.js";
export * from "../gen/logi/plugin/protocol/protocol_pb.js";
export * from "./clock.js";
export * from "./plugin/index.js";
