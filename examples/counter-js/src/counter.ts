/**
 * The counter plugin in TypeScript: the key `count` adds the step to the count, the dial `step`
 * sets the step (1 to 100); both are kept in the plugin's settings with the manager, so the
 * count survives restarts. The Rust counter (examples/counter) is the same plugin on the Rust
 * SDK; this one is the handler API's contract (sdk-js/README.md), with the dial's value given
 * when the manager asks for it.
 *
 * @module
 */
import { Plugin, Status, type Action, type AnalogControl, type ClientOptions } from "@logi-plugin/sdk";

/** The counter's settings, kept with the manager under the setting `plugin`. */
export interface Counter {
  /** What the presses added up to. */
  count: number;
  /** What one press adds (1 to 100). */
  step: number;
}

/** The dial's range, as in package/manifest.json. */
const STEP_RANGE = [1, 100] as const;

/** A press adds the step to the count, and shows the count. */
export const count: Action<Counter> = {
  id: "count",
  keyDown(cx) {
    cx.settings.count += Math.max(cx.settings.step, 1);
    return Status.text(String(cx.settings.count));
  },
};

/** A turn sets the step, kept from 1 to 100, and shows it; asked, the dial gives its step. */
export const step: AnalogControl<Counter> = {
  id: "step",
  turned(cx, turn) {
    cx.settings.step = Math.min(100, Math.max(1, Math.max(cx.settings.step, 1) + turn.delta));
    return Status.text(`step ${cx.settings.step}`);
  },
  value(cx) {
    return new Status().withValue(Math.max(cx.settings.step, 1)).withRange(...STEP_RANGE);
  },
};

/**
 * The counter plugin, with its default settings. `options` change how it connects (by default
 * as the host launched it: the `token` and `LOGI_PLUGIN_ENDPOINT` it set), e.g. `useTextFormat`
 * for JSON text over a `ws://` endpoint.
 */
export function counter(options: Partial<ClientOptions> = {}): Plugin<Counter> {
  return new Plugin<Counter>({
    pluginId: "com.logi.example.counter-js",
    pluginVersion: "1.0.0",
    settings: { count: 0, step: 1 }, // the defaults, before anything is stored
    ...options,
  })
    .action(count)
    .control(step);
}
