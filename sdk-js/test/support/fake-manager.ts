// A fake manager for the client's tests: it accepts one plugin connection on a private local
// socket or a loopback WebSocket, and lets a test read and write envelopes on it.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { WebSocketServer, type WebSocket } from "ws";

import {
  decodeBinary,
  decodeJson,
  encodeBinary,
  encodeJson,
  type Incoming,
} from "../../src/codec.js";
import { FrameDecoder, encodeFrame } from "../../src/frame.js";
import type { Envelope } from "../../gen/logi/plugin/protocol/protocol_pb.js";

/** How long a test waits for the plugin to send something before failing. */
const DEADLINE_MS = 5000;

/** One frame the fake manager received: its envelope (or why it did not read) and its kind. */
export interface Received {
  incoming: Incoming | undefined;
  error: Error | undefined;
  text: boolean;
}

/** A manager a test drives by hand. */
export class FakeManager {
  /** The endpoint to give the client: a socket path or a ws:// URL. */
  endpoint = "";
  private readonly queue: Received[] = [];
  private waiter: (() => void) | undefined;
  private socket: Socket | undefined;
  private ws: WebSocket | undefined;
  private server: Server | WebSocketServer | undefined;
  private dir: string | undefined;
  /** Resolves when the plugin's connection has ended. */
  readonly disconnected: Promise<void>;
  private markDisconnected: () => void = () => {};

  private constructor() {
    this.disconnected = new Promise((resolve) => {
      this.markDisconnected = resolve;
    });
  }

  /** A manager listening on a local socket in a fresh temporary folder. */
  static async local(): Promise<FakeManager> {
    const manager = new FakeManager();
    manager.dir = mkdtempSync(join(tmpdir(), "logi-sdk-test-"));
    manager.endpoint = join(manager.dir, "manager.sock");
    const server = createServer((socket) => {
      manager.socket = socket;
      const frames = new FrameDecoder();
      socket.on("data", (chunk) => {
        frames.push(chunk);
        for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
          manager.take(frame, false);
        }
      });
      socket.on("close", () => manager.markDisconnected());
    });
    manager.server = server;
    await new Promise<void>((resolve) => server.listen(manager.endpoint, resolve));
    return manager;
  }

  /** A manager listening for WebSocket connections on a free loopback port. */
  static async webSocket(): Promise<FakeManager> {
    const manager = new FakeManager();
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    manager.server = server;
    await new Promise<void>((resolve) => server.once("listening", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") {
      throw new Error(`unexpected address ${address}`);
    }
    manager.endpoint = `ws://127.0.0.1:${address.port}`;
    server.on("connection", (ws) => {
      manager.ws = ws;
      ws.on("message", (data, isBinary) => {
        manager.take(isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString("utf8"), !isBinary);
      });
      ws.on("close", () => manager.markDisconnected());
    });
    return manager;
  }

  private take(frame: Uint8Array | string, text: boolean): void {
    try {
      const incoming = typeof frame === "string" ? decodeJson(frame) : decodeBinary(frame);
      this.queue.push({ incoming, error: undefined, text });
    } catch (error) {
      this.queue.push({ incoming: undefined, error: error as Error, text });
    }
    this.waiter?.();
  }

  /** The next frame the plugin sent; fails the test after the deadline. */
  async next(): Promise<Received> {
    const deadline = Date.now() + DEADLINE_MS;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`the plugin sent nothing within ${DEADLINE_MS} ms`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift()!;
  }

  /** The next envelope the plugin sent, which must read. */
  async nextEnvelope(): Promise<Incoming> {
    const received = await this.next();
    if (received.incoming === undefined) {
      throw received.error;
    }
    return received.incoming;
  }

  /** Sends an envelope in the connection's mode (JSON text when `text`). */
  send(envelope: Envelope, text = false): void {
    this.sendRaw(text ? encodeJson(envelope) : encodeBinary(envelope));
  }

  /** Sends raw bytes or text: framed on a local socket, one message on a WebSocket. */
  sendRaw(data: Uint8Array | string, framed = true): void {
    if (this.socket !== undefined) {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      this.socket.write(framed ? encodeFrame(bytes) : bytes);
    } else {
      this.ws?.send(data, { binary: typeof data !== "string" });
    }
  }

  /** Drops the plugin's connection as a crashed manager would; the server keeps listening. */
  drop(): void {
    this.socket?.destroy();
    this.ws?.terminate();
  }

  /** Stops listening, drops the connection and removes the temporary folder. */
  async close(): Promise<void> {
    this.socket?.destroy();
    this.ws?.terminate();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    if (this.dir !== undefined) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
