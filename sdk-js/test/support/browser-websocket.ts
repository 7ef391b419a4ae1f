// A WebSocket with the browser's API and nothing more, for tests of the standard-WebSocket path:
// ws's class underneath, but only onopen/onmessage/onclose/onerror, binaryType, send and close
// are exposed, extra constructor arguments are ignored (no `maxPayload`), binary messages come as
// a Blob unless binaryType is "arraybuffer", and an error says nothing more than a browser's.
import WebSocket from "ws";

/** The browser's `WebSocket`, as far as the client can tell. */
export class BrowserWebSocket {
  /** How many were made: a test's proof that this path was taken. */
  static created = 0;
  /** "blob" by default, as in a browser. */
  binaryType = "blob";
  /** The open event's handler. */
  onopen: ((event: { type: string }) => void) | null = null;
  /** The message event's handler. */
  onmessage: ((event: { type: string; data: unknown }) => void) | null = null;
  /** The close event's handler. */
  onclose: ((event: { type: string; code: number; reason: string; wasClean: boolean }) => void) | null = null;
  /** The error event's handler. */
  onerror: ((event: { type: string }) => void) | null = null;
  readonly #socket: WebSocket;

  /** Connects to `url`, as `new WebSocket(url, protocols)` does in a browser. */
  constructor(url: string, protocols?: string | string[]) {
    BrowserWebSocket.created++;
    this.#socket = new WebSocket(url, protocols);
    this.#socket.binaryType = "arraybuffer";
    this.#socket.onopen = () => this.onopen?.({ type: "open" });
    this.#socket.onmessage = (event) => {
      const { data } = event;
      const text = typeof data === "string";
      this.onmessage?.({
        type: "message",
        data: text || this.binaryType === "arraybuffer" ? data : new Blob([data as ArrayBuffer]),
      });
    };
    this.#socket.onclose = (event) =>
      this.onclose?.({ type: "close", code: event.code, reason: event.reason, wasClean: event.wasClean });
    this.#socket.onerror = () => this.onerror?.({ type: "error" });
  }

  /** Sends a text or binary message. */
  send(data: string | ArrayBufferView): void {
    this.#socket.send(data);
  }

  /** Starts the closing handshake; a browser accepts only 1000 and 3000-4999 as codes. */
  close(code?: number, reason?: string): void {
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new RangeError(`InvalidAccessError: close code ${code}`);
    }
    this.#socket.close(code, reason);
  }
}
