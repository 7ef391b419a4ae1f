// End to end: the conformance kit launches a plugin written on this Client (test/e2e/plugin.ts)
// as the host launches plugins, plays the manager and judges it on the wire, over the local
// socket (binary) and over WebSocket (JSON text, also through the browser's WebSocket API); and
// the handler API's counter (test/counter.ts, run by test/e2e/counter-main.ts) over the local
// socket. Needs the `logi-plugin` binary: the workspace's target/debug/logi-plugin, or the one
// LOGI_PLUGIN_BIN names; skipped without it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const binary = process.env["LOGI_PLUGIN_BIN"] || join(repo, "target", "debug", "logi-plugin");
const plugin = fileURLToPath(new URL("./e2e/plugin.js", import.meta.url));
const counter = fileURLToPath(new URL("./e2e/counter-main.js", import.meta.url));
/** The Client plugin's ids, as the kit is told them. */
const clientPlugin = [
  "--plugin-id",
  "com.example.js-counter",
  "--action",
  "com.example.js-counter.press",
  "--control",
  "com.example.js-counter.dial",
];
const skip = existsSync(binary)
  ? false
  : `no logi-plugin binary at ${binary}: build it (cargo build -p logi-plugin-cli) or set LOGI_PLUGIN_BIN`;

/** Runs the kit on the compiled plugin `program`; its exit code and everything it printed. */
function conformance(program: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "logi-sdk-conformance-"));
  // The kit launches a program: a launcher script runs the compiled plugin with this node.
  const launcher = join(dir, "plugin.sh");
  writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${program}" "$@"\n`);
  chmodSync(launcher, 0o755);
  return new Promise((resolve, reject) => {
    const kit = spawn(
      binary,
      [
        "conformance",
        "--plugin",
        launcher,
        "--color",
        "never",
        ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    kit.stdout.on("data", (chunk) => (output += chunk));
    kit.stderr.on("data", (chunk) => (output += chunk));
    kit.on("error", reject);
    kit.on("close", (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
}

/** The status the kit printed for `check`: PASS, FAIL or SKIP. */
function status(output: string, check: string): string | undefined {
  return new RegExp(`^(PASS|FAIL|SKIP)\\s+\\S+\\s+\\S+\\s+${check}\\s`, "m").exec(output)?.[1];
}

test("the conformance kit passes a plugin on this Client over the local socket", { skip }, async () => {
  const { code, output } = await conformance(plugin, clientPlugin);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "unknown-response", "retry-after-holds", "retry-after-answers", "analog-flood", "analog-net-movement", "frames", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});

test("the conformance kit passes a plugin on this Client over WebSocket in JSON text", { skip }, async () => {
  const { code, output } = await conformance(plugin, [...clientPlugin, "--mode", "json", "--", "--json"]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "frame-mode", "json-names", "json-enums", "json-any", "json-defaults", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});

test("the conformance kit passes the handler API's counter run as the host launches it", { skip }, async () => {
  // Its dial has no value hook (GetAnalogControlValue), which the kit's analog checks read: the
  // kit presses its action only.
  const { code, output } = await conformance(counter, ["--plugin-id", "com.logi.example.counter-js", "--action", "count"]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "unknown-response", "retry-after-holds", "retry-after-answers", "frames", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});

test("the conformance kit passes a plugin on this Client through the browser's WebSocket API in JSON text", { skip }, async () => {
  const { code, output } = await conformance(plugin, [...clientPlugin, "--mode", "json", "--", "--json", "--browser"]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "frame-mode", "json-names", "json-enums", "json-any", "json-defaults", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});
