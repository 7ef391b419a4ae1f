// Analog buffering as the Rust core does it (seed 7.3-7.6, docs/protocol.md "7.1.12
// enable_control_buffering"): merged updates answered SUCCESS at once, the merged delta
// delivered, no delta lost. The buffers take time as an argument, so most tests need no clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import { create } from "@bufbuild/protobuf";

import {
  BufferManager,
  PendingUpdate,
  ThroughputBuffer,
  TimerBuffer,
  type Admission,
  type AnalogBuffer,
} from "../src/buffer.js";
import { makeEnvelope, makeMessage } from "../src/codec.js";
import {
  ResponseInfo_Code,
  UpdateAnalogControlSchema,
  type UpdateAnalogControl,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import { until, withClient } from "./support/client.js";

/** An update of the dial `volume`'s instance `instance`: a delta, or a value. */
function turn(delta: number, instance = "dial-1"): UpdateAnalogControl {
  return create(UpdateAnalogControlSchema, { analogControlId: "volume", instanceId: instance, updateType: { case: "delta", value: delta } });
}

function set(value: number): UpdateAnalogControl {
  return create(UpdateAnalogControlSchema, { analogControlId: "volume", instanceId: "dial-1", updateType: { case: "value", value } });
}

/** The update's change, as `delta 5` or `value 3`. */
function change(update: UpdateAnalogControl | undefined): string {
  return `${update?.updateType.case} ${update?.updateType.value}`;
}

const dispatched = (admission: Admission) => admission.kind === "dispatch";

test("the throughput buffer dispatches the first turn, merges the rest, and delivers their sum once the first is answered", () => {
  const buffers = new BufferManager();
  buffers.registerControls({ volume: "throughput" });
  assert.ok(dispatched(buffers.onUpdate(0, 1, turn(1))));
  assert.deepEqual(buffers.onUpdate(0, 2, turn(2)), { kind: "held", superseded: undefined });
  assert.deepEqual(buffers.onUpdate(0, 3, turn(3)), { kind: "held", superseded: 2 });
  assert.equal(buffers.pollReady(0), undefined);
  buffers.onResponse(0, 1);
  const [id, update] = buffers.pollReady(0)!;
  assert.deepEqual([id, change(update), update.instanceId], [3, "delta 5", "dial-1"]);
  assert.deepEqual(buffers.stats, { received: 3, dispatched: 1, superseded: 1, delivered: 1 });
});

test("the throughput buffer keeps one slot per instance", () => {
  const buffer = new ThroughputBuffer();
  assert.ok(dispatched(buffer.onUpdate(0, 1, turn(1, "a"))));
  assert.ok(dispatched(buffer.onUpdate(0, 2, turn(1, "b"))));
  assert.equal(buffer.onUpdate(0, 3, turn(4, "a")).kind, "held");
  buffer.onResponse(0, 2);
  assert.equal(buffer.pollReady(0), undefined);
  buffer.onResponse(0, 1);
  assert.deepEqual(buffer.pollReady(0)?.[0], 3);
  assert.equal(buffer.slotLen, 1);
});

test("the timer buffer delivers at most once per window, the window's updates merged", () => {
  const buffer = new TimerBuffer(50);
  assert.ok(dispatched(buffer.onUpdate(0, 1, turn(1))));
  assert.equal(buffer.onUpdate(10, 2, turn(2)).kind, "held");
  assert.deepEqual(buffer.onUpdate(20, 3, turn(-0.5)), { kind: "held", superseded: 2 });
  assert.equal(buffer.pollReady(49), undefined);
  assert.equal(buffer.pollTimeout(), 50);
  buffer.handleTimeout(50);
  const [id, update] = buffer.pollReady(50)!;
  assert.deepEqual([id, change(update)], [3, "delta 1.5"]);
  // The delivery opened the next window; it ends empty and the slot is forgotten.
  assert.equal(buffer.onUpdate(60, 4, turn(1)).kind, "held");
  assert.deepEqual(buffer.pollReady(100)?.[0], 4);
  buffer.handleTimeout(150);
  assert.equal(buffer.slotLen, 0);
});

test("merging: a value replaces what came before, a delta after it moves it, the newest configuration wins", () => {
  const pending = new PendingUpdate(1, turn(4));
  pending.merge(2, set(10));
  pending.merge(3, turn(-3));
  pending.merge(4, create(UpdateAnalogControlSchema, { configuration: "{\"step\":2}" }));
  const [id, update] = pending.intoUpdate();
  assert.deepEqual([id, change(update), update.configuration], [4, "value 7", "{\"step\":2}"]);
});

test("a long flood of small deltas sums without drift", () => {
  const pending = new PendingUpdate(0, turn(0.1));
  for (let id = 1; id < 10_000; id++) pending.merge(id, turn(0.1));
  assert.equal(pending.intoUpdate()[1].updateType.value, Math.fround(1000));
});

test("registering a control to a buffer that does not exist names both, and registers nothing", () => {
  const buffers = new BufferManager();
  assert.throws(
    () => buffers.registerControls([["volume", "throughput"], ["balance", "nope"]]),
    /control "balance" is registered to buffer "nope", which does not exist \(known: throughput, timer\)/,
  );
  assert.equal(buffers.bufferKey("volume"), undefined);
  assert.throws(() => buffers.registerTimerBuffer("timer", 10), /a buffer is already registered under the key "timer"/);
});

test("a custom buffer gets its control's updates", () => {
  const seen: number[] = [];
  const custom: AnalogBuffer = {
    pendingLen: () => 0,
    onUpdate: (_now, id, update) => (seen.push(id), { kind: "dispatch", update }),
    onResponse: () => {},
    handleTimeout: () => {},
    pollReady: () => undefined,
    pollTimeout: () => undefined,
  };
  const buffers = new BufferManager();
  buffers.registerCustomBuffer("mine", custom);
  buffers.registerControls({ volume: "mine" });
  assert.ok(dispatched(buffers.onUpdate(0, 7, turn(1))));
  assert.deepEqual(seen, [7]);
});

test("a flood on a buffered control: merged updates answered SUCCESS at once, the merged delta delivered, none lost", async () => {
  await withClient(async (manager, client) => {
    const seen: [number, string][] = [];
    let finish: (() => void) | undefined;
    client.enableControlBuffering({ volume: "throughput" });
    client.onUpdateAnalogControl = (update, id) => {
      seen.push([id, change(update)]);
      // The plugin works slowly on the first turn: the rest arrive meanwhile.
      return seen.length === 1
        ? new Promise((resolve) => (finish = () => resolve(makeMessage("AnalogControlStatus", { currentValue: 1 }))))
        : makeMessage("AnalogControlStatus", { currentValue: 10 });
    };
    for (let id = 10; id < 15; id++) {
      manager.send(makeEnvelope(id, makeMessage("UpdateAnalogControl", { analogControlId: "volume", instanceId: "d", updateType: { case: "delta", value: id - 9 } })));
    }
    // 11, 12, 13 are merged into a newer one: each answered at once, bare SUCCESS.
    for (const id of [11, 12, 13]) {
      const answer = await manager.nextEnvelope();
      assert.deepEqual([answer.id, answer.response?.result, answer.message], [id, ResponseInfo_Code.SUCCESS, undefined]);
    }
    await until(() => finish !== undefined, "the first turn reached the plugin");
    finish!();
    const first = await manager.nextEnvelope();
    const merged = await manager.nextEnvelope();
    assert.deepEqual([first.id, merged.id, merged.message?.$typeName], [10, 14, "logi.plugin.protocol.AnalogControlStatus"]);
    assert.deepEqual(seen, [[10, "delta 1"], [14, "delta 14"]]);
    assert.deepEqual(client.bufferStats, { received: 5, dispatched: 1, superseded: 3, delivered: 1 });
  });
});

test("a timer-buffered control gets its window's merged turn when the window ends", async () => {
  await withClient(
    async (manager, client) => {
      const seen: string[] = [];
      client.enableControlBuffering([["volume", "timer"]]);
      client.onUpdateAnalogControl = (update) => (seen.push(change(update)), makeMessage("AnalogControlStatus"));
      for (let id = 20; id < 24; id++) {
        manager.send(makeEnvelope(id, makeMessage("UpdateAnalogControl", { analogControlId: "volume", instanceId: "d", updateType: { case: "delta", value: 2 } })));
      }
      const ids = [];
      for (let n = 0; n < 4; n++) ids.push((await manager.nextEnvelope()).id);
      assert.deepEqual(ids.sort(), [20, 21, 22, 23]);
      assert.deepEqual(seen, ["delta 2", "delta 6"]);
    },
    { buffers: { timerIntervalMs: 30 } },
  );
});
