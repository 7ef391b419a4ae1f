// Run by test/browser.test.ts in a child process: loads the package's entry with Node's built-ins
// and `ws` out of the package's reach (./no-node-hooks.ts), then connects to the manager at
// argv[2] with a browser-style WebSocket, and prints what happened as one line of JSON.
import { register } from "node:module";

import { BrowserWebSocket } from "./browser-websocket.js";

register(new URL("./no-node-hooks.js", import.meta.url));

const endpoint = process.argv[2]!;
const { Client } = await import("../../src/index.js");
const plugin = { pluginId: "com.example.js", pluginCode: "s3cret", pluginVersion: "1.0.0" };

/** What `run` came to: its value, or the message it was rejected with. */
async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    return `resolved ${await run()}`;
  } catch (error) {
    return (error as Error).message;
  }
}

const localSocket = await outcome(() => new Client({ ...plugin, endpoint: "/tmp/no-such.sock" }).init());
const noWebSocket = await outcome(() => new Client({ ...plugin, endpoint }).init());
const client = new Client({ ...plugin, endpoint, WebSocket: BrowserWebSocket, reconnect: false });
const hello = await outcome(async () => (await client.init()).managerVersion);
client.close();
console.log(JSON.stringify({ localSocket, noWebSocket, hello, created: BrowserWebSocket.created }));
