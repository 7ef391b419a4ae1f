// The counter on the mock host (an in-process manager over the real protocol, settings kept
// with versions; no daemon, no device): the Rust counter's tests (examples/counter/tests), in
// TypeScript. The installed plugin, pressed and turned through a real `serve` and judged by the
// conformance kit, is cli/tests/counter_js.rs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ResponseInfo_Code, type AnalogControlStatus } from "@logi-plugin/sdk";
import { MockHost, type MockOptions } from "@logi-plugin/sdk/mock";

import { counter, type Counter } from "../src/counter.js";

/** Runs `body` with the counter on a fresh mock host (with `options`), closing it after. */
async function withCounter(body: (host: MockHost) => Promise<void>, options: MockOptions = {}): Promise<void> {
  const host = await MockHost.start(counter(), options);
  try {
    await body(host);
  } finally {
    await host.close();
  }
}

test("each press adds one and shows the count", () =>
  withCounter(async (host) => {
    assert.equal((await host.press("count", "key-1")).text, "1");
    assert.equal((await host.press("count", "key-1")).text, "2");
    assert.equal(host.settings<Counter>().count, 2);
  }));

test("the dial sets the step that presses add", () =>
  withCounter(async (host) => {
    assert.equal((await host.turn("step", "dial-1", 4)).text, "step 5");
    assert.equal((await host.press("count", "key-1")).text, "5");
    assert.equal((await host.turn("step", "dial-1", -500)).text, "step 1");
    assert.equal((await host.turn("step", "dial-1", 500)).text, "step 100");
  }));

test("the dial gives its step and range when asked", () =>
  withCounter(async (host) => {
    await host.turn("step", "dial-1", 2);
    const asked = await host.request("GetAnalogControlValue", { analogControlId: "step", instanceId: "dial-1" });
    assert.equal(asked.code, ResponseInfo_Code.SUCCESS, asked.why);
    const status = asked.message as AnalogControlStatus;
    assert.deepEqual([status.currentValue, status.minValue, status.maxValue], [3, 1, 100]);
  }));

test("the count is taken back from the settings the manager kept", () =>
  withCounter(
    async (host) => {
      assert.equal((await host.press("count", "key-1")).text, "42");
    },
    { settings: { plugin: '{"count":41,"step":1}' } },
  ));

test("a count changed elsewhere meanwhile is counted on, not clobbered", () =>
  withCounter(async (host) => {
    await host.press("count", "key-1");
    // Another copy of the plugin stored a newer count behind this one's back.
    host.setSetting("plugin", '{"count":10,"step":1}');
    assert.equal((await host.press("count", "key-1")).text, "11");
    assert.equal(host.settings<Counter>().count, 11);
  }));

test("what the counter does not handle is refused NOT_IMPLEMENTED", () =>
  withCounter(async (host) => {
    const form = await host.configure("count", "key-1", { step: 3 });
    assert.equal(form.code, ResponseInfo_Code.NOT_IMPLEMENTED, form.why);
    assert.equal((await host.show("count", "key-1")).code, ResponseInfo_Code.SUCCESS);
  }));
