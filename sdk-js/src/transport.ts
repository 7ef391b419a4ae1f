/**
 * The connections a plugin opens to its manager: the local socket (Node's `net`, varint-framed
 * binary Envelopes) and WebSocket (`ws`, one Envelope per message, binary protobuf or JSON
 * text; the plugin's first frame sets the connection's mode, docs/protocol.md "WebSocket mode").
 * Transports only move envelopes: what a frame means is the client's business.
 *
 * @module
 */

import { connect as netConnect, type Socket } from "node:net";

import WebSocket from "ws";

import type { Envelope } from "../gen/logi/plugin/protocol/protocol_pb.js";
import {
  decodeBinary,
  decodeJson,
  describe,
  encodeBinary,
  encodeJson,
  type EnvelopeError,
  type Incoming,
  type MessageError,
} from "./codec.js";
import type { Endpoint } from "./endpoint.js";
import { DEFAULT_MAX_FRAME_LEN, FrameDecoder, checkFrameLen, encodeFrame } from "./frame.js";

/** What a transport reports to its owner. */
export interface TransportEvents {
  /** An envelope was read. */
  incoming(incoming: Incoming): void;
  /** A frame was read that is no envelope, or whose message is not readable. */
  badInput(error: EnvelopeError | MessageError): void;
  /** The connection ended; `reason` says why, for the plugin's log. Called once. */
  closed(reason: string): void;
}

/** An open connection to the manager. */
export interface Transport {
  /** How envelopes travel on it: binary protobuf, or JSON text (WebSocket only). */
  readonly format: "binary" | "json";
  /** Sends one envelope; throws a `RangeError` for one over the frame limit. */
  send(envelope: Envelope): void;
  /** Closes the connection; `closed` follows. */
  close(): void;
  /** Drops the connection at once, `closed` reporting `reason` (the manager's silence, a hello unanswered). */
  abort(reason: string): void;
}

/** How to connect. */
export interface ConnectOptions {
  /** Over WebSocket, JSON text instead of binary protobuf (seed 7.1.2). */
  useTextFormat: boolean;
  /** The largest frame or WebSocket message, each way (default 8 MiB, the manager's). */
  maxFrameLen?: number;
}

/** Reads `read()`'s envelope and hands it to `events`, bad input included. */
export function deliver(events: TransportEvents, read: () => Incoming): void {
  let incoming: Incoming;
  try {
    incoming = read();
  } catch (error) {
    events.badInput(error as EnvelopeError | MessageError);
    return;
  }
  events.incoming(incoming);
}

/** Connects to `endpoint`; rejects with an error naming it when the connection cannot open. */
export function connect(
  endpoint: Endpoint,
  options: ConnectOptions,
  events: TransportEvents,
): Promise<Transport> {
  const maxFrameLen = options.maxFrameLen ?? DEFAULT_MAX_FRAME_LEN;
  return endpoint.kind === "local"
    ? connectLocal(endpoint.path, maxFrameLen, events)
    : connectWebSocket(endpoint.url, options.useTextFormat, maxFrameLen, events);
}

/** Calls `closed` at most once, whatever mix of error and close events the socket gives. */
function once(events: TransportEvents): (reason: string) => void {
  let done = false;
  return (reason) => {
    if (!done) {
      done = true;
      events.closed(reason);
    }
  };
}

function connectLocal(path: string, maxFrameLen: number, events: TransportEvents): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({ path });
    const decoder = new FrameDecoder(maxFrameLen);
    const closed = once(events);
    let open = false;
    socket.once("connect", () => {
      open = true;
      socket.setNoDelay?.(true);
      resolve({
        format: "binary",
        send: (envelope) => {
          socket.write(encodeFrame(encodeBinary(envelope), maxFrameLen));
        },
        close: () => socket.end(),
        abort: (reason) => {
          closed(reason);
          socket.destroy();
        },
      });
    });
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (;;) {
        let frame: Uint8Array | undefined;
        try {
          frame = decoder.next();
        } catch (error) {
          // The stream cannot be trusted past a framing error: close it, as the manager does.
          closed(`local socket ${path}: ${describe(error)}`);
          socket.destroy();
          return;
        }
        if (frame === undefined) {
          return;
        }
        const body = frame;
        deliver(events, () => decodeBinary(body));
      }
    });
    socket.on("error", (error) => {
      if (!open) {
        reject(new Error(`cannot connect to the local socket ${path}: ${error.message}`));
      } else {
        closed(`local socket ${path}: ${error.message}`);
      }
    });
    socket.on("close", () => {
      if (open) {
        let why = "closed by the manager";
        try {
          decoder.finish();
        } catch (error) {
          why = describe(error);
        }
        closed(`local socket ${path}: ${why}`);
      }
    });
  });
}

function connectWebSocket(
  url: string,
  useTextFormat: boolean,
  maxFrameLen: number,
  events: TransportEvents,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    // `maxPayload` makes ws refuse an oversized message from its header, before buffering it.
    const socket = new WebSocket(url, { maxPayload: maxFrameLen, perMessageDeflate: false });
    const closed = once(events);
    let open = false;
    socket.once("open", () => {
      open = true;
      resolve({
        format: useTextFormat ? "json" : "binary",
        send: (envelope) => {
          const data = useTextFormat ? encodeJson(envelope) : encodeBinary(envelope);
          checkFrameLen(typeof data === "string" ? Buffer.byteLength(data) : data.length, maxFrameLen);
          socket.send(data, { binary: !useTextFormat });
        },
        close: () => socket.close(1000),
        abort: (reason) => {
          closed(reason);
          socket.terminate();
        },
      });
    });
    socket.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      // Each frame is read as what it says it is: a manager keeps the plugin's mode, and a
      // frame of the other mode is still an envelope worth answering.
      deliver(events, () => (isBinary ? decodeBinary(bytes) : decodeJson(bytes.toString("utf8"))));
    });
    socket.on("error", (error) => {
      if (!open) {
        reject(new Error(`cannot connect to ${url}: ${error.message}`));
      } else {
        closed(`WebSocket ${url}: ${error.message}`);
        socket.terminate();
      }
    });
    socket.on("close", (code: number, reason: Buffer) => {
      if (open) {
        closed(`WebSocket ${url}: closed (${code}${reason.length > 0 ? `, ${reason.toString()}` : ""})`);
      }
    });
  });
}
