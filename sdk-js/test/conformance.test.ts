// End to end: the conformance kit launches a plugin written on this Client (test/e2e/plugin.ts)
// as the host launches plugins, plays the manager and judges it on the wire, over the local
// socket (binary) and over WebSocket (JSON text, also through the browser's WebSocket API).
// Needs the `logi-plugin` binary: the workspace's target/debug/logi-plugin, or the one
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
const skip = existsSync(binary)
  ? false
  : `no logi-plugin binary at ${binary}: build it (cargo build -p logi-plugin-cli) or set LOGI_PLUGIN_BIN`;

/** Runs the kit on the plugin; its exit code and everything it printed. */
function conformance(args: string[]): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), "logi-sdk-conformance-"));
  // The kit launches a program: a launcher script runs the compiled plugin with this node.
  const launcher = join(dir, "plugin.sh");
  writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${plugin}" "$@"\n`);
  chmodSync(launcher, 0o755);
  return new Promise((resolve, reject) => {
    const kit = spawn(
      binary,
      [
        "conformance",
        "--plugin",
        launcher,
        "--plugin-id",
        "com.example.js-counter",
        "--action",
        "com.example.js-counter.press",
        "--control",
        "com.example.js-counter.dial",
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
  const { code, output } = await conformance([]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "unknown-response", "retry-after-holds", "retry-after-answers", "analog-flood", "analog-net-movement", "frames", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});

test("the conformance kit passes a plugin on this Client over WebSocket in JSON text", { skip }, async () => {
  const { code, output } = await conformance(["--mode", "json", "--", "--json"]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "frame-mode", "json-names", "json-enums", "json-any", "json-defaults", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});

test("the conformance kit passes a plugin on this Client through the browser's WebSocket API in JSON text", { skip }, async () => {
  const { code, output } = await conformance(["--mode", "json", "--", "--json", "--browser"]);
  assert.equal(code, 0, output);
  for (const check of ["hello", "heartbeat", "unknown-type", "malformed-body", "frame-mode", "json-names", "json-enums", "json-any", "json-defaults", "stays-up"]) {
    assert.equal(status(output, check), "PASS", `${check}:\n${output}`);
  }
});
