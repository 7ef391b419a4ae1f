// The program the host launches: the counter, run until the host stops it (the token and the
// endpoint come from the environment the host sets). `--json` makes it speak JSON text over a
// ws:// endpoint (seed 7.1.2 `set_use_text_format`), as the conformance kit's JSON mode asks.
import { counter } from "./counter.js";

process.exitCode = await counter({ useTextFormat: process.argv.includes("--json") }).run();
