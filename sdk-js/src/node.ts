/**
 * The Node-only pieces of the transports: `net` (the local socket) and the `ws` package (the
 * WebSocket constructor where the runtime has none). {@link connect} loads this module only
 * when a connection needs one of them, so a browser never loads it; package.json's `browser`
 * field tells bundlers to leave it out.
 *
 * @module
 */

export { connect as netConnect } from "node:net";
export { default as WsWebSocket } from "ws";
