/**
 * A plugin's log, carried to the manager as `LogEvent`s (the Rust SDK's `plugin::logger`, which
 * does this for the `log` crate's macros): a plugin logs with `cx.log.info(...)` in a hook or
 * `plugin.log.info(...)` anywhere, and its lines are in the manager's log (and `logi-plugin
 * logs`) with no debugger attached. Levels as the Rust logger's; below `level` (default
 * `info`, the Rust SDK's) nothing is sent.
 *
 * @module
 */

import { LogEvent_LOG_LEVEL } from "../../gen/logi/plugin/protocol/protocol_pb.js";
import { describe } from "../codec.js";

/** A log level, from the most detailed. */
export type Level = "trace" | "debug" | "info" | "warn" | "error";

/** Each {@link Level}'s `LogEvent` level, in order of importance. */
const LEVELS: Record<Level, LogEvent_LOG_LEVEL> = {
  trace: LogEvent_LOG_LEVEL.TRACE,
  debug: LogEvent_LOG_LEVEL.DEBUG,
  info: LogEvent_LOG_LEVEL.INFO,
  warn: LogEvent_LOG_LEVEL.WARNING,
  error: LogEvent_LOG_LEVEL.ERROR,
};

/** Where lines go once logged: the plugin's connection (or its queue while there is none). */
export type Sink = (level: LogEvent_LOG_LEVEL, message: string) => void;

/** A plugin's log. */
export class Logger {
  /** The least important level sent (default `info`). */
  level: Level = "info";
  private sink: Sink | undefined;

  /** Sends lines to `sink` from now on (the plugin does, when it runs). */
  connect(sink: Sink): void {
    this.sink = sink;
  }

  /** Logs at `trace`. */
  trace(...parts: unknown[]): void {
    this.log("trace", parts);
  }

  /** Logs at `debug`. */
  debug(...parts: unknown[]): void {
    this.log("debug", parts);
  }

  /** Logs at `info`. */
  info(...parts: unknown[]): void {
    this.log("info", parts);
  }

  /** Logs at `warn` (`WARNING` in the manager's log). */
  warn(...parts: unknown[]): void {
    this.log("warn", parts);
  }

  /** Logs at `error`. */
  error(...parts: unknown[]): void {
    this.log("error", parts);
  }

  /** Logs `parts`, joined by spaces (what is not text as JSON, an error by its message), at `level`. */
  log(level: Level, parts: unknown[]): void {
    if (LEVELS[level] < LEVELS[this.level]) {
      return;
    }
    this.sink?.(LEVELS[level], parts.map(text).join(" "));
  }
}

/** One part of a log line as text. */
function text(part: unknown): string {
  if (typeof part === "string") {
    return part;
  }
  if (part instanceof Error) {
    return describe(part);
  }
  try {
    return JSON.stringify(part) ?? String(part);
  } catch {
    return String(part);
  }
}
