// RetryAfter honoured as the Rust SDK does (docs/protocol.md, "5.8 RetryAfter scope"): what the
// plugin starts waits for the window's end and then goes in order, statuses coalesced per
// instance; answers and Pong never wait.
import assert from "node:assert/strict";
import { test } from "node:test";

import { makeEnvelope, makeMessage } from "../src/codec.js";
import { ResponseInfo_Code, type ActionCellStatus } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { pingIsAnswered, withClient } from "./support/client.js";
import type { FakeManager } from "./support/fake-manager.js";

const WINDOW_MS = 200;

/** Sends `RetryAfter` and waits until the client has taken it (its Pong answers a Ping sent after). */
async function retryAfter(manager: FakeManager, interval = WINDOW_MS, id = 0): Promise<number> {
  const start = performance.now();
  manager.send(makeEnvelope(id, makeMessage("RetryAfter", { interval })));
  if (id !== 0) {
    const answer = await manager.nextEnvelope();
    assert.deepEqual([answer.id, answer.response?.result, answer.message], [id, ResponseInfo_Code.SUCCESS, undefined]);
  }
  await pingIsAnswered(manager, 90);
  return start;
}

test("what the plugin starts during RetryAfter waits for the window's end, then goes in order", async () => {
  await withClient(async (manager, client) => {
    const start = await retryAfter(manager);
    const id = client.sendMessage("SettingsRequest", null, { settingName: "theme" });
    client.sendMessage("LogEvent", 0, { message: "hello" });
    assert.equal(client.stats.held, 2);
    const first = await manager.nextEnvelope();
    const waited = performance.now() - start;
    const second = await manager.nextEnvelope();
    assert.ok(waited >= WINDOW_MS - 5, `the first held message came after ${waited} ms, inside the ${WINDOW_MS} ms window`);
    assert.deepEqual(
      [first.id, first.message?.$typeName, second.id, second.message?.$typeName],
      [id, "logi.plugin.protocol.SettingsRequest", 0, "logi.plugin.protocol.LogEvent"],
    );
  });
});

test("statuses held during RetryAfter are coalesced per instance, the latest kept in its place", async () => {
  await withClient(async (manager, client) => {
    await retryAfter(manager);
    const status = (instance: string, text: string) => ({ actionId: "a", actionInstanceId: instance, text });
    client.sendMessage("ActionCellStatus", 0, status("one", "1"));
    client.sendMessage("ActionCellStatus", 0, status("two", "1"));
    client.sendMessage("AnalogControlStatus", 0, { analogControlId: "dial", analogControlInstanceId: "one", currentValue: 3 });
    client.sendMessage("ActionCellStatus", 0, status("one", "2"));
    const sent = [await manager.nextEnvelope(), await manager.nextEnvelope(), await manager.nextEnvelope()];
    assert.deepEqual(
      sent.map(({ message }) =>
        message?.$typeName === "logi.plugin.protocol.ActionCellStatus"
          ? `${(message as ActionCellStatus).actionInstanceId}=${(message as ActionCellStatus).text}`
          : message?.$typeName,
      ),
      ["one=2", "two=1", "logi.plugin.protocol.AnalogControlStatus"],
    );
    await pingIsAnswered(manager, 91);
  });
});

test("answers to the manager's requests are never held by RetryAfter", async () => {
  await withClient(async (manager, client) => {
    client.onTriggerAction = (action) => makeMessage("ActionCellStatus", { actionInstanceId: action.actionInstanceId, text: "on" });
    const start = await retryAfter(manager, 5000);
    manager.send(makeEnvelope(7, makeMessage("TriggerAction", { actionInstanceId: "cell" })));
    const answer = await manager.nextEnvelope();
    assert.deepEqual([answer.id, answer.response?.result], [7, ResponseInfo_Code.SUCCESS]);
    assert.ok(performance.now() - start < 5000);
  });
});

test("a RetryAfter sent as a request is answered at once, and onRetryAfter is told", async () => {
  await withClient(async (manager, client) => {
    const told: number[] = [];
    client.onRetryAfter = (retry) => told.push(retry.interval);
    await retryAfter(manager, 50, 12);
    assert.deepEqual(told, [50]);
    assert.equal(client.stats.retryAfter, 1);
  });
});

test("more than maxHeld messages waiting on RetryAfter is refused, naming the wait", async () => {
  await withClient(
    async (manager, client) => {
      await retryAfter(manager, 5000);
      client.sendMessage("LogEvent", 0, { message: "1" });
      client.sendMessage("ActionCellStatus", 0, { actionInstanceId: "x", text: "1" });
      // A newer status of a held instance takes the older one's place: it is not one more.
      client.sendMessage("ActionCellStatus", 0, { actionInstanceId: "x", text: "2" });
      assert.throws(
        () => client.sendMessage("LogEvent", 0, { message: "3" }),
        /throttled: the manager asked to wait \(RetryAfter\) \d+ ms more, and 2 messages are held already; logi\.plugin\.protocol\.LogEvent not sent/,
      );
    },
    { maxHeld: 2 },
  );
});
