// The connection kept up as the Rust SDK keeps it: the manager's silence detected, reconnect with
// capped exponential backoff and a fresh hello, and the host's resync applied to the kept view.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay } from "../src/client.js";
import { VirtualClock } from "../src/clock.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { acceptHello, connected, pingIsAnswered, settle, until } from "./support/client.js";
import { FakeManager } from "./support/fake-manager.js";

/** Runs `body` on a fresh fake manager's local socket, closing it after. */
async function withManager(body: (manager: FakeManager) => Promise<void>): Promise<void> {
  const manager = await FakeManager.local();
  try {
    await body(manager);
  } finally {
    await manager.close();
  }
}

test("a manager silent past the heartbeat's limit gets the connection closed with the reason", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { heartbeatIntervalMs: 40, missedHeartbeats: 2, reconnect: false });
    const closed = new Promise<string>((resolve) => (client.onClose = resolve));
    const stopped = new Promise<string>((resolve) => (client.onStopped = resolve));
    const start = performance.now();
    assert.match(await closed, /^the manager was silent for \d+ ms: no Ping within 2 heartbeat intervals of 40 ms$/);
    assert.ok(performance.now() - start >= 75, "closed before the limit");
    assert.match(await stopped, /silent/);
    assert.equal(client.isConnected, false);
  });
});

test("Pings within the heartbeat's limit keep the connection up", async () => {
  await withManager(async (manager) => {
    // On a virtual clock: a loaded machine's late timers cannot stretch a gap past the limit.
    const clock = new VirtualClock();
    const client = await connected(manager, { heartbeatIntervalMs: 40, missedHeartbeats: 2, reconnect: false, clock });
    let closed = "";
    client.onClose = (reason) => (closed = reason);
    for (let n = 0; n < 8; n++) {
      await pingIsAnswered(manager, 100 + n);
      // Each gap is nearly the limit of 2 intervals (80 ms): 8 of them are four limits in all.
      await clock.advance(70, settle);
    }
    assert.equal(closed, "");
    assert.ok(client.isConnected);
    client.close();
  });
});

test("the backoff doubles from its first wait up to its cap", () => {
  const waits = [0, 1, 2, 3, 7, 40].map((failures) => backoffDelay({ initialMs: 100, maxMs: 1000 }, failures));
  assert.deepEqual(waits, [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoffDelay({}, 0), 100);
  assert.equal(backoffDelay({}, 60), 10_000);
});

test("a dropped connection is reconnected with a fresh hello, and onHello runs again", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { reconnect: { initialMs: 10, maxMs: 50 } });
    let hellos = 0;
    const closes: string[] = [];
    client.onHello = () => hellos++;
    client.onClose = (reason) => closes.push(reason);
    manager.drop();
    await acceptHello(manager);
    await until(() => client.isConnected, "the client is connected again");
    assert.equal(hellos, 1);
    assert.equal(client.stats.reconnects, 1);
    assert.equal(closes.length, 1);
    await pingIsAnswered(manager, 40);
    client.sendMessage("LogEvent", 0, { message: "back" });
    assert.equal((await manager.nextEnvelope()).message?.$typeName, "logi.plugin.protocol.LogEvent");
    client.close();
  });
});

test("while the manager is away, reconnect attempts wait longer each time, up to the cap", async () => {
  const manager = await FakeManager.local();
  const client = await connected(manager, { reconnect: { initialMs: 20, maxMs: 40 } });
  const failures: number[] = [];
  client.onError = () => failures.push(performance.now());
  await manager.close();
  await until(() => failures.length >= 4, "four failed attempts");
  client.close();
  const gaps = failures.slice(1).map((at, n) => at - failures[n]!);
  assert.ok(gaps[0]! >= 35 && gaps[1]! >= 35 && gaps[2]! >= 35, `gaps ${gaps} below the cap of 40 ms after the doubling`);
  assert.ok(gaps.every((gap) => gap < 1000), `gaps ${gaps}`);
});

test("with reconnect off, a dropped connection stops the client", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { reconnect: false });
    const stopped = new Promise<string>((resolve) => (client.onStopped = resolve));
    manager.drop();
    assert.match(await stopped, /local socket/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(client.stats.reconnects, 0);
  });
});

test("a refused hello on a reconnect stops the client; UNAUTHORIZED says the host stopped it", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { reconnect: { initialMs: 10 } });
    const stopped = new Promise<string>((resolve) => (client.onStopped = resolve));
    manager.drop();
    assert.equal((await manager.nextEnvelope()).id, 1);
    manager.send(makeEnvelope(1, undefined, { result: ResponseInfo_Code.UNAUTHORIZED, what: "code withdrawn" }));
    assert.equal(await stopped, "the host stopped the plugin: the manager refused the hello: UNAUTHORIZED (code withdrawn)");
  });
});

test("visibility changes build the kept view, and the resync after a reconnect brings it to the manager's", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { reconnect: { initialMs: 10 } });
    const show = (controlId: string, actionInstanceId: string, visible = true, configuration?: string) => ({ controlId, actionInstanceId, visible, configuration });
    manager.send(makeEnvelope(5, makeMessage("VisibilityChanged", show("mute", "a", true, "{\"x\":1}"))));
    manager.send(makeEnvelope(6, makeMessage("VisibilityChanged", show("mute", "b"))));
    // Without a callback, keeping the change is the whole of handling it: SUCCESS.
    for (const id of [5, 6]) {
      const answer = await manager.nextEnvelope();
      assert.deepEqual([answer.id, answer.response?.result], [id, ResponseInfo_Code.SUCCESS]);
    }
    assert.equal(client.view.configuration("mute", "a"), "{\"x\":1}");
    assert.equal(client.view.size, 2);
    manager.drop();
    await acceptHello(manager);
    await until(() => client.isConnected, "the client is connected again");
    const lists: number[] = [];
    client.onVisibilityChangedList = (list) => (lists.push(list.visibility.length), undefined);
    manager.send(makeEnvelope(7, makeMessage("VisibilityChangedList", { visibility: [show("mute", "b", false), show("mute", "a", true, "{\"x\":2}"), show("dial", "c")] })));
    await until(() => lists.length === 1, "the resync reached the plugin");
    assert.deepEqual(client.view.shown(), [
      { controlId: "dial", instanceId: "c", configuration: undefined },
      { controlId: "mute", instanceId: "a", configuration: "{\"x\":2}" },
    ]);
    assert.ok(!client.view.isVisible("mute", "b"));
    client.close();
  });
});

test("close() between reconnects stops the client at once", async () => {
  const manager = await FakeManager.local();
  const client = await connected(manager, { reconnect: { initialMs: 10_000 } });
  const stopped = new Promise<string>((resolve) => (client.onStopped = resolve));
  await manager.close();
  await until(() => !client.isConnected, "the connection dropped");
  client.close();
  assert.equal(await stopped, "closed by the plugin");
});

test("a connection that ends before the hello's answer is retried once, not twice", async () => {
  await withManager(async (manager) => {
    const client = await connected(manager, { reconnect: { initialMs: 10, maxMs: 10 } });
    manager.drop();
    assert.equal((await manager.nextEnvelope()).id, 1);
    manager.drop();
    await acceptHello(manager);
    await until(() => client.isConnected, "the client is connected again");
    await pingIsAnswered(manager, 50);
    // Twice the backoff: a second, stray attempt would have said hello again by now.
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.equal(client.stats.reconnects, 2);
    await pingIsAnswered(manager, 51);
    client.close();
  });
});
