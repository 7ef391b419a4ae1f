//! The TypeScript plugin folder of `logi-plugin new ID --lang ts`, in the layout of
//! examples/counter-js: an npm package (private, ESM) depending on the sources' sdk-js/ by
//! path, the plugin on the SDK's handler API (`src/plugin.ts`, one action counting its presses
//! in settings), the program that runs it (`src/main.ts`), its test on the mock host, and the
//! launcher the manifest names, which runs the esbuild bundle with `node`. The bundle carries
//! the SDK and its dependencies, so the installed package needs nothing but `node`.

use std::path::Path;

use serde_json::Value;

use super::file::File;
use crate::files::Result;

/// The bundler's version: the SDK pins none (its other tools are pinned as the SDK pins them).
const ESBUILD: &str = "0.28.2";

/// The files of the plugin `plugin_id` (its program `program`, the manifest and icon aside),
/// on the SDK at `sdk_js`.
pub(super) fn files(plugin_id: &str, program: &str, sdk_js: &Path) -> Result<Vec<File>> {
    Ok(vec![
        File::new("package.json", package_json(plugin_id, program, sdk_js)?),
        File::new("tsconfig.json", TSCONFIG),
        File::new("src/plugin.ts", plugin_ts(plugin_id)),
        File::new("src/main.ts", MAIN_TS),
        File::new("test/plugin.test.ts", TEST_TS),
        File::new(".gitignore", "node_modules/\ndist/\npackage/bin/*.mjs\n"),
        File::executable(&format!("package/bin/{program}"), launcher(program)),
    ])
}

/// The next steps, printed once the folder is made.
pub(super) const NEXT_STEPS: &str = "there, `npm install`, then `npm test` runs its tests on \
     the mock host, `npm run conformance` the conformance kit on its program, and \
     `logi-plugin pack package` makes its package";

/// The versions of the SDK's own `devDependencies` that the plugin uses too, so that both build
/// with the same compiler and Node types.
fn pinned(sdk_js: &Path) -> Result<[(&'static str, String); 2]> {
    let path = sdk_js.join("package.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let package: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let version = |tool: &'static str| match &package["devDependencies"][tool] {
        Value::String(version) => Ok((tool, version.clone())),
        other => Err(format!(
            "{}: devDependencies.{tool:?} is {other}, not a version",
            path.display()
        )),
    };
    Ok([version("typescript")?, version("@types/node")?])
}

fn package_json(plugin_id: &str, program: &str, sdk_js: &Path) -> Result<String> {
    // Written as text to keep the usual order of package.json; every value JSON-quoted.
    let quote = |text: &str| Value::from(text).to_string();
    let description = format!(
        "The Logi plugin {plugin_id}: npm install, then npm test (its tests on the mock host), \
         npm run conformance (the conformance kit on its program), logi-plugin pack package \
         (its package)"
    );
    let bundle = format!(
        "tsc -p tsconfig.json && esbuild dist/src/main.js --bundle --platform=node \
         --format=esm --target=node20 --outfile=package/bin/{program}.mjs \
         --external:bufferutil --external:utf-8-validate --banner:js=\"{REQUIRE}\""
    );
    let conformance = format!(
        "npm run build && \"${{LOGI_PLUGIN_BIN:-logi-plugin}}\" conformance --plugin \
         package/bin/{program} --manifest package/manifest.json"
    );
    let [
        (typescript, typescript_version),
        (node_types, node_types_version),
    ] = pinned(sdk_js)?;
    Ok(format!(
        r#"{{
  "name": {name},
  "version": "0.1.0",
  "private": true,
  "description": {description},
  "type": "module",
  "engines": {{
    "node": ">=20"
  }},
  "scripts": {{
    "build": {bundle},
    "test": "npm run build && node --test dist/test/*.test.js",
    "conformance": {conformance}
  }},
  "dependencies": {{
    "@logi-plugin/sdk": {sdk}
  }},
  "devDependencies": {{
    {node_types}: {node_types_version},
    "esbuild": "{ESBUILD}",
    {typescript}: {typescript_version}
  }}
}}
"#,
        name = quote(program),
        description = quote(&description),
        bundle = quote(&bundle),
        conformance = quote(&conformance),
        sdk = quote(&format!("file:{}", sdk_js.display())),
        node_types = quote(node_types),
        node_types_version = quote(&node_types_version),
        typescript = quote(typescript),
        typescript_version = quote(&typescript_version),
    ))
}

/// An ES module bundle of CommonJS code (`ws`) that `require`s Node's modules needs a `require`.
const REQUIRE: &str =
    "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022"],
    "types": ["node"],
    "strict": true,
    "noUnusedLocals": true,
    "noUnusedParameters": true,
    "sourceMap": true,
    "rootDir": ".",
    "outDir": "dist",
    "skipLibCheck": true
  },
  "include": ["src", "test"]
}
"#;

fn plugin_ts(plugin_id: &str) -> String {
    format!(
        r#"// The plugin: its one action, `press`, counts its presses and shows the count; the count is
// kept in the plugin's settings, so it survives restarts, and each press is logged to the
// manager's log (`logi-plugin logs`). `package/manifest.json` lists what the plugin has.
import {{ Plugin, Status, type Action }} from "@logi-plugin/sdk";

/** What the plugin keeps with the manager. */
export interface Settings {{
  presses: number;
}}

/** The action `press`. */
export const press: Action<Settings> = {{
  id: "press",
  keyDown(cx) {{
    cx.settings.presses += 1;
    cx.log.info(`pressed ${{cx.settings.presses}} times`);
    return Status.text(String(cx.settings.presses));
  }},
}};

/** The plugin with its handlers. */
export function plugin(): Plugin<Settings> {{
  return new Plugin<Settings>({{
    pluginId: "{plugin_id}",
    pluginVersion: "0.1.0",
    settings: {{ presses: 0 }},
  }}).action(press);
}}
"#
    )
}

const MAIN_TS: &str = r#"// The program the host launches: the plugin, run until the host stops it (the token and the
// endpoint come from the environment the host sets).
import { plugin } from "./plugin.js";

process.exitCode = await plugin().run();
"#;

const TEST_TS: &str = r#"// The plugin on the mock host: an in-process manager, no daemon, no device.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MockHost } from "@logi-plugin/sdk/mock";
import { plugin, type Settings } from "../src/plugin.js";

test("each press is counted and kept", async () => {
  const host = await MockHost.start(plugin());
  try {
    assert.equal((await host.press("press", "key-1")).text, "1");
    assert.equal((await host.press("press", "key-1")).text, "2");
    assert.equal(host.settings<Settings>().presses, 2);
    assert.ok(host.logs().includes("INFO: pressed 2 times"), host.logs().join("\n"));
  } finally {
    await host.close();
  }
});

test("the count goes on from the one stored", async () => {
  const host = await MockHost.start(plugin(), { settings: { plugin: '{"presses":41}' } });
  try {
    assert.equal((await host.press("press", "key-1")).text, "42");
  } finally {
    await host.close();
  }
});
"#;

/// The program the manifest names: a shell script running the bundle with `node` (found on the
/// PATH the host passes on).
fn launcher(program: &str) -> Vec<u8> {
    format!("#!/bin/sh\nexec node \"$(dirname \"$0\")/{program}.mjs\" \"$@\"\n").into_bytes()
}
