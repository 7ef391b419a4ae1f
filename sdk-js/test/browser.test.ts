// The client in a browser (or any runtime with a standard WebSocket): the standard-WebSocket path
// driven with a constructor that has the browser's API and nothing more, no environment, and the
// package loading with Node's modules out of reach.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Client, type ClientOptions } from "../src/client.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import { endpointFromEnv } from "../src/endpoint.js";
import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { BrowserWebSocket } from "./support/browser-websocket.js";
import { PLUGIN, acceptHello, isError, pingIsAnswered } from "./support/client.js";
import { FakeManager } from "./support/fake-manager.js";

/** Runs `body` with a client on a fresh WebSocket fake manager, the client closed and the manager stopped after. */
async function withWebSocket(
  options: Partial<ClientOptions>,
  body: (manager: FakeManager, client: Client) => Promise<void>,
): Promise<void> {
  const manager = await FakeManager.webSocket();
  const client = new Client({ ...PLUGIN, endpoint: manager.endpoint, ...options });
  try {
    await body(manager, client);
  } finally {
    client.close();
    await manager.close();
  }
}

/** Connects `client` to `manager` past the hello, in the mode `text` says. */
async function greet(manager: FakeManager, client: Client, text = false): Promise<void> {
  const init = client.init();
  await acceptHello(manager, text);
  await init;
}

for (const text of [false, true]) {
  const mode = text ? "JSON text" : "binary";
  test(`through the browser's WebSocket API in ${mode}: the hello, Ping and bad input answered, every frame ${mode}`, async () => {
    const before = BrowserWebSocket.created;
    await withWebSocket({ WebSocket: BrowserWebSocket, useTextFormat: text }, async (manager, client) => {
      const init = client.init();
      const hello = await manager.next();
      assert.equal(hello.text, text);
      assert.equal(hello.incoming?.message?.$typeName, "logi.plugin.protocol.PluginHello");
      manager.send(makeEnvelope(1, makeMessage("ManagerHello", { managerVersion: "9.9.9" }), { result: ResponseInfo_Code.SUCCESS }), text);
      assert.equal((await init).managerVersion, "9.9.9");
      assert.equal(BrowserWebSocket.created, before + 1);
      await pingIsAnswered(manager, 3, text);
      manager.sendRaw(text ? "{not json" : Uint8Array.of(0xff));
      const refusal = await manager.next();
      assert.equal(refusal.text, text);
      isError(refusal.incoming!, 0, ResponseInfo_Code.INVALID_ARG);
      client.onTriggerAction = (action) => makeMessage("ActionCellStatus", { actionId: action.actionId, text: "on" });
      manager.send(makeEnvelope(4, makeMessage("TriggerAction", { actionId: "a" })), text);
      const answer = await manager.next();
      assert.equal(answer.text, text);
      assert.deepEqual([answer.incoming?.id, answer.incoming?.message?.$typeName], [4, "logi.plugin.protocol.ActionCellStatus"]);
    });
  });
}

test("under Node the ws package is used even where the runtime has a WebSocket of its own (Node 22+): it refuses an oversized message from its header", async () => {
  const runtime = globalThis as { WebSocket?: unknown };
  const before = runtime.WebSocket;
  const created = BrowserWebSocket.created;
  runtime.WebSocket = BrowserWebSocket;
  try {
    await withWebSocket({}, async (manager, client) => {
      await greet(manager, client);
      assert.equal(BrowserWebSocket.created, created);
    });
  } finally {
    runtime.WebSocket = before;
  }
});

test("through the browser's WebSocket API, a message over the frame limit closes the connection unread", async () => {
  await withWebSocket({ WebSocket: BrowserWebSocket, maxFrameLen: 4096, reconnect: false }, async (manager, client) => {
    await greet(manager, client);
    const closed = new Promise<string>((resolve) => (client.onClose = resolve));
    manager.sendRaw(new Uint8Array(5000));
    assert.match(await closed, /a message of 5000 bytes exceeds the frame limit of 4096 bytes/);
    assert.equal(client.isConnected, false);
  });
});

test("a dropped connection is reported the same through the browser's WebSocket API as through ws", async () => {
  const reasons: string[] = [];
  for (const WebSocket of [undefined, BrowserWebSocket]) {
    await withWebSocket({ WebSocket, reconnect: false }, async (manager, client) => {
      await greet(manager, client);
      const closed = new Promise<string>((resolve) => (client.onClose = resolve));
      manager.drop();
      reasons.push((await closed).replace(manager.endpoint, "ws://manager"));
    });
  }
  assert.deepEqual(reasons, ["WebSocket ws://manager: closed (1006)", "WebSocket ws://manager: closed (1006)"]);
});

test("through the browser's WebSocket API, an endpoint nobody listens on fails init naming it", async () => {
  const client = new Client({ ...PLUGIN, endpoint: "ws://127.0.0.1:1", WebSocket: BrowserWebSocket });
  await assert.rejects(client.init(), /cannot connect to ws:\/\/127\.0\.0\.1:1: the connection failed/);
});

test("with no environment, as in a browser, a missing endpoint is an error naming the `endpoint` option", async () => {
  assert.throws(() => endpointFromEnv(null), /no endpoint: pass the `endpoint` option \(a ws:\/\/ URL\)/);
  const client = new Client(PLUGIN);
  const env = Object.getOwnPropertyDescriptor(process, "env")!;
  // init() reads the environment before it first waits: hidden only for that moment.
  Object.defineProperty(process, "env", { value: undefined, configurable: true });
  let init: Promise<unknown>;
  try {
    init = client.init();
  } finally {
    Object.defineProperty(process, "env", env);
  }
  await assert.rejects(init, /pass the `endpoint` option/);
});

/** The compiled modules of the package's `dir` (dist/src or dist/gen), recursively. */
function modules(dir: URL): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".js"))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name));
}

test("outside src/node.ts, the package's modules import nothing of Node's and read `process` only where there is one", () => {
  for (const file of [...modules(new URL("../src/", import.meta.url)), ...modules(new URL("../gen/", import.meta.url))]) {
    if (file === fileURLToPath(new URL("../src/node.js", import.meta.url))) {
      continue;
    }
    // Comments may speak of processes and `ws`: only the code counts.
    const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    for (const [, specifier] of code.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"/g)) {
      assert.ok(!/^(node:|ws$|net$|path$|fs$|os$)/.test(specifier!), `${file} imports ${specifier}`);
    }
    assert.doesNotMatch(code, /(?<![.\w])process\b/, `${file} reads process without checking there is one`);
  }
});

test("the package's entry loads and says hello with Node's modules out of its reach", async () => {
  const manager = await FakeManager.webSocket();
  try {
    const child = spawn(process.execPath, [fileURLToPath(new URL("./support/no-node-child.js", import.meta.url)), manager.endpoint], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let errors = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (errors += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await acceptHello(manager);
    assert.equal(await exited, 0, errors);
    const result = JSON.parse(output) as Record<string, unknown>;
    assert.match(String(result["localSocket"]), /the local socket \/tmp\/no-such\.sock needs Node\.js .*: give a ws:\/\/ endpoint/);
    assert.match(String(result["noWebSocket"]), /WebSocket ws:\/\/127\.0\.0\.1:\d+ needs Node\.js .*: pass the `WebSocket` option/);
    assert.equal(result["hello"], "resolved 9.9.9");
    assert.equal(result["created"], 1);
  } finally {
    await manager.close();
  }
});
