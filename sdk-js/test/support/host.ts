// The mock host's tests' shared step: a plugin started on a fresh mock host, closed after.
import type { Plugin } from "../../src/plugin/index.js";
import { MockHost, type MockOptions } from "../../src/mock.js";

/** Runs `body` with `plugin` on a fresh mock host started with `options`, closing it after. */
export async function withHost<S extends object>(
  plugin: Plugin<S>,
  body: (host: MockHost) => Promise<void>,
  options: MockOptions = {},
): Promise<void> {
  const host = await MockHost.start(plugin, options);
  try {
    await body(host);
  } finally {
    await host.close();
  }
}
