// Fails when gen/ is not what `npm run generate` makes from ../proto now: regenerates into a
// temporary folder with the same buf.gen.yaml and compares every file both ways.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const fresh = mkdtempSync(join(tmpdir(), "logi-sdk-gen-"));

/** Every file under `dir`, relative to it. */
function files(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();
}

try {
  execFileSync(
    join(root, "node_modules", ".bin", "buf"),
    ["generate", join(root, "..", "proto"), "--template", join(root, "buf.gen.yaml"), "--output", fresh],
    { cwd: root, stdio: "inherit" },
  );
  const committed = files(join(root, "gen"));
  const expected = files(join(fresh, "gen"));
  const stale = [
    ...expected.filter((file) => !committed.includes(file)).map((file) => `missing: gen/${file}`),
    ...committed.filter((file) => !expected.includes(file)).map((file) => `not generated from proto/: gen/${file}`),
    ...expected
      .filter((file) => committed.includes(file))
      .filter((file) => !readFileSync(join(root, "gen", file)).equals(readFileSync(join(fresh, "gen", file))))
      .map((file) => `out of date: gen/${file}`),
  ];
  if (stale.length > 0) {
    console.error(`gen/ is not current with proto/ (run \`npm run generate\` in sdk-js/):\n  ${stale.join("\n  ")}`);
    process.exitCode = 1;
  } else {
    console.log(`gen/ is current with proto/ (${expected.length} files)`);
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
