// The counter's rules, as the Rust counter's tests state them (examples/counter/tests):
// what a press adds, what the dial does to the step, what is read back from the settings.
// The plugin on the wire is judged by cli/tests/counter_js.rs (installed into `serve`, and
// the conformance kit).
import { test } from "node:test";
import assert from "node:assert/strict";

import { DEFAULTS, decode, press, turn } from "../src/counter.js";

test("each press adds one and shows the count", () => {
  const once = press(DEFAULTS);
  assert.equal(once.count, 1);
  assert.equal(press(once).count, 2);
});

test("the dial sets the step that presses add", () => {
  const turned = turn(DEFAULTS, 4);
  assert.equal(turned.step, 5);
  assert.equal(press(turned).count, 5);
  assert.equal(turn(turned, -500).step, 1);
  assert.equal(turn(turned, 500).step, 100);
});

test("the count is taken back from the settings the manager kept", () => {
  assert.equal(press(decode('{"count":41,"step":1}')).count, 42);
});

test("settings that are absent or no longer read are the defaults", () => {
  assert.deepEqual(decode(undefined), DEFAULTS);
  assert.deepEqual(decode("not json"), DEFAULTS);
  assert.deepEqual(decode('{"count":"many"}'), DEFAULTS);
});

test("a stored step of 0 still counts one a press", () => {
  assert.equal(press({ count: 3, step: 0 }).count, 4);
});
