/**
 * The connections a plugin opens to its manager: the local socket (Node's `net`, varint-framed
 * binary Envelopes) and WebSocket (one Envelope per message, binary protobuf or JSON text; the
 * plugin's first frame sets the connection's mode, docs/protocol.md "WebSocket mode").
 * Transports only move envelopes: what a frame means is the client's business.
 *
 * WebSocket goes through the standard (WHATWG) API: the constructor given, else under Node the
 * `ws` package, else the runtime's `globalThis.WebSocket` (a browser, Deno). Node's pieces are
 * loaded only when a connection needs them (./node.ts), so the package loads in a browser.
 *
 * @module
 */

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

/**
 * A WebSocket as the standard (WHATWG) API has it: the browser's, Deno's, Node 22's, `ws`'s, or
 * a polyfill. Only what the transport uses.
 */
export interface StandardWebSocket {
  /** How binary messages arrive; the transport sets `"arraybuffer"`. */
  binaryType: string;
  // The events are `any`: each implementation declares its own event classes, and the
  // transport reads only the standard fields (`data`; `code` and `reason`; `message` if any).
  /** Called once the connection is open. */
  onopen: ((event: any) => void) | null;
  /** Called with each message: `data` a string (text) or an `ArrayBuffer` (binary). */
  onmessage: ((event: any) => void) | null;
  /** Called when the connection has closed, with its `code` and `reason`. */
  onclose: ((event: any) => void) | null;
  /** Called when the connection fails (a browser says no more than that). */
  onerror: ((event: any) => void) | null;
  /** Sends a text (string) or binary message. */
  send(data: string | ArrayBufferView): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket constructor with the standard API, `new (url, protocols)`. A third argument is
 * given `ws`'s options (`maxPayload`, no compression); a standard constructor ignores it.
 */
export type StandardWebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: object,
) => StandardWebSocket;

/** How to connect. */
export interface ConnectOptions {
  /** Over WebSocket, JSON text instead of binary protobuf (seed 7.1.2). */
  useTextFormat: boolean;
  /** The largest frame or WebSocket message, each way (default 8 MiB, the manager's). */
  maxFrameLen?: number;
  /** The WebSocket constructor; default the `ws` package under Node, else `globalThis.WebSocket`. */
  WebSocket?: StandardWebSocketConstructor | undefined;
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
export async function connect(
  endpoint: Endpoint,
  options: ConnectOptions,
  events: TransportEvents,
): Promise<Transport> {
  const maxFrameLen = options.maxFrameLen ?? DEFAULT_MAX_FRAME_LEN;
  if (endpoint.kind === "local") {
    const node = await nodeOnly(`the local socket ${endpoint.path}`, "give a ws:// endpoint");
    return connectLocal(node.netConnect, endpoint.path, maxFrameLen, events);
  }
  const WebSocket = options.WebSocket ?? (await webSocketOf(endpoint.url));
  return connectWebSocket(endpoint.url, WebSocket, options.useTextFormat, maxFrameLen, events);
}

/**
 * The runtime's WebSocket: under Node the `ws` package, which refuses a message over the limit
 * from its header where the standard API reads it whole first (Node 22+ has both); elsewhere
 * `globalThis.WebSocket`.
 */
async function webSocketOf(url: string): Promise<StandardWebSocketConstructor> {
  const standard = (globalThis as { WebSocket?: StandardWebSocketConstructor }).WebSocket;
  const underNode = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === "string";
  if (underNode || standard === undefined) {
    try {
      return (await nodeOnly(`WebSocket ${url}`, "pass the `WebSocket` option")).WsWebSocket;
    } catch (error) {
      // A bundle for another runtime may leave `ws` out: the standard API still works.
      if (standard === undefined) throw error;
    }
  }
  return standard;
}

/**
 * Node's pieces (./node.ts), loaded the first time a connection needs them. Rejects naming
 * `what` needed them and `instead` when the runtime has none (a browser, or a bundle that left
 * them out).
 */
async function nodeOnly(what: string, instead: string): Promise<typeof import("./node.js")> {
  let node: Partial<typeof import("./node.js")>;
  try {
    node = await import("./node.js");
  } catch (error) {
    throw new Error(`${what} needs Node.js (${describe(error)}): ${instead}`);
  }
  if (node.netConnect === undefined || node.WsWebSocket === undefined) {
    throw new Error(`${what} needs Node.js, which this runtime is not: ${instead}`);
  }
  return node as typeof import("./node.js");
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

function connectLocal(
  netConnect: typeof import("./node.js").netConnect,
  path: string,
  maxFrameLen: number,
  events: TransportEvents,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ path });
    const decoder = new FrameDecoder(maxFrameLen);
    const closed = once(events);
    let open = false;
    let corked = false;
    socket.once("connect", () => {
      open = true;
      socket.setNoDelay?.(true);
      resolve({
        format: "binary",
        send: (envelope) => {
          // The frames of one turn of the event loop (a flood's answers) leave in one write.
          if (!corked) {
            corked = true;
            socket.cork();
            queueMicrotask(() => {
              corked = false;
              socket.uncork();
            });
          }
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
  WebSocket: StandardWebSocketConstructor,
  useTextFormat: boolean,
  maxFrameLen: number,
  events: TransportEvents,
): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let socket: StandardWebSocket;
    try {
      // `maxPayload` makes ws refuse an oversized message from its header, before buffering
      // it; other implementations buffer it, and the size is checked below.
      socket = new WebSocket(url, [], { maxPayload: maxFrameLen, perMessageDeflate: false });
    } catch (error) {
      reject(new Error(`cannot connect to ${url}: ${describe(error)}`));
      return;
    }
    socket.binaryType = "arraybuffer";
    const closed = once(events);
    let open = false;
    /** Ends the connection now: `ws` can drop it, a standard socket starts closing. */
    const drop = () => {
      const terminate = (socket as { terminate?: () => void }).terminate;
      if (typeof terminate === "function") {
        terminate.call(socket);
      } else {
        socket.close();
      }
    };
    socket.onopen = () => {
      open = true;
      resolve({
        format: useTextFormat ? "json" : "binary",
        send: (envelope) => {
          const data = useTextFormat ? encodeJson(envelope) : encodeBinary(envelope);
          checkFrameLen(typeof data === "string" ? utf8Length(data, maxFrameLen) : data.length, maxFrameLen);
          socket.send(data);
        },
        close: () => socket.close(1000),
        abort: (reason) => {
          closed(reason);
          drop();
        },
      });
    };
    socket.onmessage = (event: { data: unknown }) => {
      const { data } = event;
      const bytes =
        typeof data === "string"
          ? undefined
          : data instanceof ArrayBuffer
            ? new Uint8Array(data)
            : ArrayBuffer.isView(data)
              ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
              : null;
      if (bytes === null) {
        closed(`WebSocket ${url}: a message of an unsupported kind (${Object.prototype.toString.call(data)})`);
        drop();
        return;
      }
      const length = bytes === undefined ? utf8Length(data as string, maxFrameLen) : bytes.length;
      if (length > maxFrameLen) {
        // As on the local socket: a message over the limit ends the connection unread.
        closed(`WebSocket ${url}: a message of ${length} bytes exceeds the frame limit of ${maxFrameLen} bytes`);
        drop();
        return;
      }
      // Each frame is read as what it says it is: a manager keeps the plugin's mode, and a
      // frame of the other mode is still an envelope worth answering.
      deliver(events, () => (bytes === undefined ? decodeJson(data as string) : decodeBinary(bytes)));
    };
    socket.onerror = (event: { message?: unknown; error?: { message?: unknown } } | undefined) => {
      const why = String(event?.message || event?.error?.message || "the connection failed");
      if (!open) {
        reject(new Error(`cannot connect to ${url}: ${why}`));
      } else {
        closed(`WebSocket ${url}: ${why}`);
        drop();
      }
    };
    socket.onclose = (event: { code: number; reason?: string }) => {
      const how = `closed (${event.code}${event.reason ? `, ${event.reason}` : ""})`;
      if (open) {
        closed(`WebSocket ${url}: ${how}`);
      } else {
        // A browser reports a failed connection as an error, then this: the first one counts.
        reject(new Error(`cannot connect to ${url}: ${how}`));
      }
    };
  });
}

/**
 * The length of `text` in UTF-8, the length it has on the wire; measured only when it could be
 * over `limit` (a UTF-16 unit takes at most 3 bytes), else a figure that is not over it either.
 */
function utf8Length(text: string, limit: number): number {
  return text.length * 3 <= limit ? text.length : new TextEncoder().encode(text).length;
}
