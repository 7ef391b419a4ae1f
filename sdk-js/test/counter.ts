// The counter of the handler API's contract (docs: sdk-js/README.md, "The handler API"): an
// action that adds the step to a count and a dial that sets the step, both kept in the
// plugin's settings. The fixture of test/counter.test.ts; examples/counter-js is the same plugin.
import { Plugin, Status, type Action, type AnalogControl } from "../src/index.js";

/** The counter's settings, stored with the manager under `plugin`. */
export interface Counter {
  count: number;
  step: number;
}

/** A press adds the step to the count, and shows the count. */
export const count: Action<Counter> = {
  id: "count",
  keyDown(cx) {
    cx.settings.count += Math.max(cx.settings.step, 1);
    return Status.text(String(cx.settings.count));
  },
};

/** A turn sets the step, kept from 1 to 100, and shows it. */
export const step: AnalogControl<Counter> = {
  id: "step",
  turned(cx, turn) {
    cx.settings.step = Math.min(100, Math.max(1, Math.max(cx.settings.step, 1) + turn.delta));
    return Status.text(`step ${cx.settings.step}`);
  },
};

/** The counter plugin, with its default settings. */
export function counter(): Plugin<Counter> {
  return new Plugin<Counter>({
    pluginId: "com.logi.example.counter-js",
    pluginVersion: "1.0.0",
    settings: { count: 0, step: 1 },
  })
    .action(count)
    .control(step);
}
