// The mock host itself: virtual time, a timer-buffered control, the plugin-wide log, and its
// export at `@logi-plugin/sdk/mock`.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import { Plugin, Status } from "../src/index.js";
import { counter } from "./counter.js";
import { withHost } from "./support/host.js";

/** A knob whose turns a timer buffer merges; it shows the merged delta. */
function knob(): Plugin<Record<string, never>> {
  return new Plugin({ pluginId: "com.example.knob", pluginVersion: "1.0.0" }).control({
    id: "knob",
    buffer: "timer",
    turned(_cx, turn) {
      return Status.text("turned").withValue(turn.delta);
    },
  });
}

test("a timer buffer's merged turn is answered once virtual time passes its window", async () => {
  await withHost(knob(), async (host) => {
    assert.equal((await host.turn("knob", "knob-1", 1)).value, 1); // opens the timer's window
    const held = await host.sendTurn("knob", "knob-1", 2);
    const more = await host.sendTurn("knob", "knob-1", 3);
    assert.equal(more.answer(), undefined);
    await host.advance(50);
    assert.equal(held.answer()?.code, ResponseInfo_Code.SUCCESS); // merged into the next: answered at once
    assert.equal(more.answer()?.value, 5);
  });
});

test("a turn a buffer holds makes turn() fail saying to send it and advance", async () => {
  await withHost(knob(), async (host) => {
    await host.turn("knob", "knob-1", 1);
    await assert.rejects(host.turn("knob", "knob-1", 1), /send it with `sendTurn`, then `advance`/);
  });
});

test("an hour of virtual time passes at once, and the plugin stays connected", async () => {
  const plugin = counter();
  await withHost(plugin, async (host) => {
    const started = Date.now();
    await host.advance(3_600_000);
    assert.equal(host.now(), 3_600_000);
    assert.ok(Date.now() - started < 5000, `advancing took ${Date.now() - started} ms`);
    assert.ok(plugin.client?.isConnected, "the plugin is still connected");
    assert.equal(plugin.client?.stats.reconnects, 0);
    assert.equal((await host.press("count", "key-1")).text, "1");
  });
});

test("the plugin-wide log reaches the manager from outside any hook", async () => {
  const plugin = knob();
  await withHost(plugin, async (host) => {
    plugin.log.warn("the knob's driver is old:", { version: 3 });
    plugin.log.debug("not at the default level");
    await host.settle();
    assert.deepEqual(host.logs(), ['WARNING: the knob\'s driver is old: {"version":3}']);
  });
});

test("lines logged before the plugin connects reach the manager after its hello", async () => {
  const plugin = knob();
  plugin.log.info("before the hello");
  await withHost(plugin, async (host) => {
    assert.deepEqual(host.logs(), ["INFO: before the hello"]);
  });
});

test("the statuses the plugin sends on its own are kept in order", async () => {
  const plugin = knob();
  await withHost(plugin, async (host) => {
    plugin.client?.sendMessage("AnalogControlStatus", 0, { analogControlId: "knob", analogControlInstanceId: "knob-1", text: "a" });
    plugin.client?.sendMessage("AnalogControlStatus", 0, { analogControlId: "knob", analogControlInstanceId: "knob-1", text: "b" });
    await host.settle();
    assert.deepEqual(
      host.statuses().map((status) => (status as { text?: string }).text),
      ["a", "b"],
    );
  });
});

test("the mock host is exported at @logi-plugin/sdk/mock", async () => {
  const module = (await import("@logi-plugin/sdk/mock" as string)) as { MockHost?: unknown };
  assert.equal(typeof module.MockHost, "function");
});
