// Helpers shared by the client's tests: a client past the hello on a fake manager, and checks of
// what the plugin answered.
import assert from "node:assert/strict";

import { Client, type ClientOptions } from "../../src/client.js";
import { makeEnvelope, makeMessage, type Incoming } from "../../src/codec.js";
import { ResponseInfo_Code } from "../../gen/logi/plugin/protocol/protocol_pb.js";
import { FakeManager } from "./fake-manager.js";

/** The plugin every test client is. */
export const PLUGIN = { pluginId: "com.example.js", pluginCode: "s3cret", pluginVersion: "1.0.0" };

/** Reads the plugin's hello on `manager` and accepts it. */
export async function acceptHello(manager: FakeManager, text = false): Promise<void> {
  const hello = await manager.nextEnvelope();
  assert.equal(hello.id, 1);
  assert.equal(hello.message?.$typeName, "logi.plugin.protocol.PluginHello");
  manager.send(
    makeEnvelope(1, makeMessage("ManagerHello", { managerVersion: "9.9.9", protocolVersion: 1, languageCode: "de-DE" }), {
      result: ResponseInfo_Code.SUCCESS,
    }),
    text,
  );
}

/** A client connected to a fresh fake manager, past the hello. */
export async function connected(
  manager: FakeManager,
  options: Partial<ClientOptions> = {},
  text = false,
): Promise<Client> {
  const client = new Client({ ...PLUGIN, endpoint: manager.endpoint, ...options });
  const init = client.init();
  await acceptHello(manager, text);
  await init;
  return client;
}

/** Runs `body` with a client past the hello on a fresh fake manager's local socket, then closes both. */
export async function withClient(
  body: (manager: FakeManager, client: Client) => Promise<void>,
  options: Partial<ClientOptions> = {},
): Promise<void> {
  const manager = await FakeManager.local();
  try {
    const client = await connected(manager, options);
    try {
      await body(manager, client);
    } finally {
      client.close();
    }
  } finally {
    await manager.close();
  }
}

/** Sends `Ping` as request `id` and checks that the answer is `Pong` with `SUCCESS`. */
export async function pingIsAnswered(manager: FakeManager, id: number, text = false): Promise<void> {
  manager.send(makeEnvelope(id, makeMessage("Ping")), text);
  const pong = await manager.nextEnvelope();
  assert.equal(pong.id, id);
  assert.equal(pong.response?.result, ResponseInfo_Code.SUCCESS);
  assert.equal(pong.message?.$typeName, "logi.plugin.protocol.Pong");
}

/** Checks that `answer` is an error answer to `id` with `code`. */
export function isError(answer: Incoming, id: number, code: ResponseInfo_Code): void {
  assert.equal(answer.id, id);
  assert.equal(answer.response?.result, code, `answer: ${ResponseInfo_Code[answer.response?.result ?? 0]} ${answer.response?.what}`);
  assert.equal(answer.message, undefined);
}

/** Lets what a `VirtualClock`'s timer set off (a frame written, a timer set anew) finish: the settle its `advance` takes. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits until `condition` holds, failing after `deadlineMs`; `what` says what was awaited. */
export async function until(condition: () => boolean, what: string, deadlineMs = 5000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${deadlineMs} ms: ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
