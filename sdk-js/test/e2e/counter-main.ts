// The contract's counter (test/counter.ts) as a program, run as the host launches a plugin
// (`token`, `LOGI_PLUGIN_ENDPOINT`): the handler API's `run()`, for the conformance kit.
import { counter } from "../counter.js";

process.exitCode = await counter().run();
