// The contract's counter (test/counter.ts) on the mock host: an in-process manager over the real
// protocol, with settings kept with versions. The Rust counter's tests (examples/counter), in JS.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import type { MockHost, MockOptions } from "../src/mock.js";
import { counter, type Counter } from "./counter.js";
import { withHost } from "./support/host.js";

/** Runs `body` with the counter on a fresh mock host, closing it after. */
function withCounter(body: (host: MockHost) => Promise<void>, options: MockOptions = {}): Promise<void> {
  return withHost(counter(), body, options);
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
    assert.equal(host.settings<Counter>().step, 1);
  }));

test("the count is taken back from the settings the manager kept", () =>
  withCounter(
    async (host) => {
      assert.equal((await host.press("count", "key-1")).text, "42");
      assert.equal((await host.turn("step", "dial-1", 4)).text, "step 5");
      assert.equal(host.settings<Counter>().count, 42);
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
    const value = await host.request("GetAnalogControlValue", { analogControlId: "step", instanceId: "dial-1" });
    assert.equal(value.code, ResponseInfo_Code.NOT_IMPLEMENTED, value.why);
    assert.equal((await host.show("count", "key-1")).code, ResponseInfo_Code.SUCCESS);
  }));

test("settings missing from what is stored take the plugin's defaults", () =>
  withCounter(
    async (host) => {
      assert.equal((await host.press("count", "key-1")).text, "8");
      assert.deepEqual(host.settings<Counter>(), { count: 8, step: 1 });
    },
    { settings: { plugin: '{"count":7}' } },
  ));
