// Runs the counter as the host launches it: the token and endpoint from the environment the
// host set. `--json` makes it speak JSON text over a ws:// endpoint (seed 7.1.2
// `set_use_text_format`), as the conformance kit's JSON mode asks.
import { counter } from "./counter.js";

process.exitCode = await counter().run({ useTextFormat: process.argv.includes("--json") });
