/**
 * The handler API (the Rust SDK's `plugin`): a plugin as a set of actions and analog controls
 * with typed settings, run by {@link Plugin.run} on the seed's {@link Client}, which owns the
 * connection, its reconnects and every answer. A counter, whole:
 *
 * ```ts
 * import { Plugin, Status, type Action, type AnalogControl } from "@logi-plugin/sdk";
 *
 * interface Counter { count: number; step: number }
 *
 * const count: Action<Counter> = {
 *   id: "count",
 *   keyDown(cx) {
 *     cx.settings.count += Math.max(cx.settings.step, 1);
 *     return Status.text(String(cx.settings.count));
 *   },
 * };
 *
 * process.exitCode = await new Plugin<Counter>({
 *   pluginId: "com.example.counter",
 *   pluginVersion: "1.0.0",
 *   settings: { count: 0, step: 1 },
 * }).action(count).run();
 * ```
 *
 * - Every request is answered: a hook returns what to show ({@link Status}), or refuses with a
 *   {@link Refusal} (returned or thrown); hooks left out answer `NOT_IMPLEMENTED`, a hook that
 *   throws anything else is answered `EXCEPTION` and logged. The client is given callbacks only
 *   for the requests the plugin handles, so it refuses the rest `NOT_IMPLEMENTED` itself.
 * - Requests are handled one at a time, in order, each on a copy of the settings.
 * - Settings (`cx.settings`, `cx.instance()`) are stored with the manager before the answer
 *   that shows them leaves: what the user saw is what is kept. A write made from a stale copy
 *   (another instance of the plugin wrote meanwhile) is refused `CONFLICT` by the manager; the
 *   SDK reads the setting again and runs the hook once more on it, and answers `CONFLICT` if
 *   that write is refused too. Hooks should therefore be functions of their settings. Inside a
 *   `RetryAfter` window, when the client holds back what the plugin sends, a request whose hook
 *   changed settings is refused `NOT_READY` at once (the first in each window logged): its
 *   answer must not wait for the window, and nothing may be shown that is not stored.
 * - `cx.log` and `plugin.log` reach the manager's log as `LogEvent`s.
 * - {@link Plugin.client} is the running `Client`, for what the handlers do not cover (a
 *   status sent on the plugin's own).
 *
 * @module
 */

import type { Message } from "@bufbuild/protobuf";

import { LogEvent_LOG_LEVEL, ResponseInfo_Code, type ManagerHello, type Settings } from "../../gen/logi/plugin/protocol/protocol_pb.js";
import { Client, type ClientOptions } from "../client.js";
import { describe } from "../codec.js";
import { Dispatch, type Reply } from "./dispatch.js";
import type { Action, AnalogControl, Login } from "./handler.js";
import { Logger } from "./logger.js";
import { copy, type Write } from "./settings.js";

export * from "./handler.js";
export { Logger, type Level } from "./logger.js";
export { PLUGIN_SETTING, instanceSetting } from "./settings.js";

/** How long the manager gets to store a setting, in ms. */
const STORE_TIMEOUT_MS = 5000;
/** The most log lines kept while the plugin is not connected; beyond, lines are counted and dropped. */
const MAX_QUEUED_LINES = 256;

/** What `new Plugin(...)` takes: the client's options, and the settings' defaults. */
export interface PluginOptions<S> extends ClientOptions {
  /** The plugin's settings before anything is stored (and each field the stored copy lacks). Default: `{}`. */
  settings?: S;
}

/** How storing a request's writes went. */
type Stored = { all: true } | { conflict: string } | { failed: Reply };

/** A plugin: its id and version, its handlers, and its settings of type `S`. */
export class Plugin<S extends object = Record<string, never>> {
  /** The plugin's log: lines reach the manager's log as `LogEvent`s (the same as each hook's `cx.log`). */
  readonly log = new Logger();
  private readonly options: ClientOptions;
  private readonly settingsDefaults: S;
  private readonly dispatch: Dispatch<S>;
  private current: Client | undefined;
  /** The requests and news from the manager, handled one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  /** Counts hellos: an answer computed on an earlier connection is not given on a later one. */
  private connection = 0;
  private readonly lines: { level: LogEvent_LOG_LEVEL; message: string }[] = [];
  private droppedLines = 0;
  /** The `RetryAfter` (by the client's count) inside whose window a refusal was last logged. */
  private refusalLoggedIn: number | undefined;

  /** A plugin with no handlers yet; `pluginId` and `pluginVersion` as in its manifest. */
  constructor(options: PluginOptions<S>) {
    const { settings, ...client } = options;
    this.options = client;
    this.settingsDefaults = (settings ?? {}) as S;
    this.dispatch = new Dispatch<S>(this.settingsDefaults, this.log);
    this.log.connect((level, message) => this.sendLine(level, message));
  }

  /** The plugin's id. */
  get pluginId(): string {
    return this.options.pluginId;
  }

  /** The plugin's version. */
  get pluginVersion(): string {
    return this.options.pluginVersion;
  }

  /** The settings before anything is stored (a copy). */
  get defaults(): S {
    return copy(this.settingsDefaults);
  }

  /** The client it runs on, once it runs. */
  get client(): Client | undefined {
    return this.current;
  }

  /** Adds the handler of one of the manifest's actions. */
  action(action: Action<S>): this {
    this.dispatch.actions.set(action.id, action);
    return this;
  }

  /** Adds the handler of one of the manifest's analog controls. */
  control(control: AnalogControl<S>): this {
    this.dispatch.controls.set(control.id, control);
    return this;
  }

  /** Adds the plugin's account hooks (log in, the token, log out, the users). */
  login(login: Login<S>): this {
    this.dispatch.login = login;
    return this;
  }

  /**
   * Runs the plugin as the host launched it (the `token` and `LOGI_PLUGIN_ENDPOINT` it set) until
   * the manager stops it; resolves with the process's exit code: 0 then, 1 (saying why on
   * stderr) when it could not start (no token, no manager, a refused hello).
   */
  async run(): Promise<number> {
    try {
      return await this.serve();
    } catch (error) {
      console.error(`${this.pluginId}: ${describe(error)}`);
      return 1;
    }
  }

  /**
   * Serves the manager until the client stops; `overrides` replace the options given to the
   * constructor (a test's `connector` and `clock`: the mock host's). Rejects as
   * {@link Client.init} does when the first connection fails; resolves with 0 once stopped.
   */
  async serve(overrides: Partial<ClientOptions> = {}): Promise<number> {
    if (this.current !== undefined) {
      throw new Error(`plugin ${this.pluginId} is already running`);
    }
    const client = new Client({ ...this.options, ...overrides });
    this.current = client;
    client.enableControlBuffering(this.dispatch.buffering());
    const callbacks = client as unknown as Record<string, unknown>;
    for (const type of this.dispatch.handles()) {
      callbacks[`on${type}`] = (message: Message, id: number) => this.then(() => this.request(client, id, message));
    }
    client.onHello = (hello) => {
      // Counted at once, not in turn: a request still being handled belongs to the connection before.
      this.connection++;
      this.then(() => this.hello(client, hello));
    };
    client.onSavedData = (saved) => this.then(() => this.dispatch.saved(saved));
    const stopped = new Promise<void>((resolve) => {
      client.onStopped = () => resolve();
    });
    await client.init();
    await stopped;
    return 0;
  }

  /** Stops the plugin: the connection is closed for good, and {@link serve} resolves. */
  stop(): void {
    this.current?.close();
  }

  /** Runs `next` after what came before it; what it throws is logged, never lost. */
  private then(next: () => unknown): void {
    this.queue = this.queue.then(async () => {
      await next();
    }).catch((error: unknown) => this.log.error(`the plugin failed: ${describe(error)}`));
  }

  /** The manager said hello: its language, and the log lines kept meanwhile sent. */
  private hello(client: Client, hello: ManagerHello): void {
    this.dispatch.connected(hello);
    for (const line of this.lines.splice(0)) {
      this.sendLine(line.level, line.message);
    }
    if (client.isConnected) {
      this.reportDropped(client);
    }
  }

  /** Answers request `id`, unless its connection is gone. */
  private async request(client: Client, id: number, message: Message): Promise<void> {
    const connection = this.connection;
    const reply = await this.answer(client, message);
    if (connection !== this.connection || !client.isConnected) {
      // Its connection ended: the manager's resync asks again.
      return;
    }
    try {
      if (reply.error !== undefined) {
        client.sendResponseMessage(null, id, null, { code: reply.error.code, what: reply.error.why });
      } else {
        client.sendResponseMessage(reply.message?.$typeName ?? null, id, reply.message ?? null);
      }
    } catch (error) {
      this.log.warn(`request ${id} (${message.$typeName}) not answered: ${describe(error)}`);
    }
  }

  /** Handles one request, storing what it changed before its answer is given. */
  private async answer(client: Client, message: Message): Promise<Reply> {
    let outcome = await this.dispatch.handle(message);
    const left = client.throttledForMs;
    if (left > 0 && outcome.writes.length > 0) {
      // Its writes would be held until the window ends, and with them the answer to the
      // manager's request, which must never wait for the window: refuse the change at once
      // instead, so that nothing is shown that is not stored.
      const why = `the manager asked the plugin to slow down for ${Math.ceil(left)} ms more: nothing was changed`;
      // One line per window (each RetryAfter counted opens one): the lines are held through it,
      // and a flood's would all be flushed at its end.
      if (this.refusalLoggedIn !== client.stats.retryAfter) {
        this.refusalLoggedIn = client.stats.retryAfter;
        this.log.warn(`${why} (further refusals in this window are not logged)`);
      }
      return { error: { code: ResponseInfo_Code.NOT_READY, why } };
    }
    let stored = await this.store(client, outcome.writes);
    if ("conflict" in stored) {
      // A newer copy is held: read it, and run the hook once more on it.
      await this.reread(client, stored.conflict);
      outcome = await this.dispatch.handle(message);
      stored = await this.store(client, outcome.writes);
      if ("conflict" in stored) {
        const why = `setting ${JSON.stringify(stored.conflict)} changed again while this was handled: not stored`;
        return { error: { code: ResponseInfo_Code.CONFLICT, why } };
      }
    }
    if ("failed" in stored) {
      return stored.failed;
    }
    this.dispatch.commit(outcome.settings);
    return outcome.reply;
  }

  /** Stores a request's writes, in order, stopping at the first the manager refuses. */
  private async store(client: Client, writes: Write[]): Promise<Stored> {
    for (const write of writes) {
      const name = JSON.stringify(write.settingName);
      let answer;
      try {
        answer = await client.request("Settings", write, { timeoutMs: STORE_TIMEOUT_MS });
      } catch (error) {
        return { failed: { error: { code: ResponseInfo_Code.UNREACHABLE, why: `setting ${name} not stored: ${describe(error)}` } } };
      }
      const code = answer.response.result;
      if (code === ResponseInfo_Code.SUCCESS) {
        const stored = answer.message?.$typeName === "logi.plugin.protocol.Settings" ? (answer.message as Settings) : undefined;
        this.dispatch.storedSetting(stored ?? ({ ...write, version: write.ifVersion + 1 } as Settings));
      } else if (code === ResponseInfo_Code.CONFLICT) {
        return { conflict: write.settingName };
      } else {
        return { failed: { error: { code, why: `setting ${name} not stored: ${answer.response.what}` } } };
      }
    }
    return { all: true };
  }

  /** Reads one setting again from the manager. */
  private async reread(client: Client, name: string): Promise<void> {
    try {
      const answer = await client.request("SettingsRequest", { settingName: name }, { timeoutMs: STORE_TIMEOUT_MS });
      if (answer.message?.$typeName === "logi.plugin.protocol.Settings") {
        this.dispatch.storedSetting(answer.message as Settings);
      }
    } catch {
      // Not read: the hook runs again on the copy held, and its write is refused again.
    }
  }

  /** Sends a log line, or keeps it until the plugin is connected. */
  private sendLine(level: LogEvent_LOG_LEVEL, message: string): void {
    const client = this.current;
    if (client === undefined || !client.isConnected) {
      if (this.lines.length < MAX_QUEUED_LINES) {
        this.lines.push({ level, message });
      } else {
        this.droppedLines++;
      }
      return;
    }
    this.reportDropped(client);
    try {
      client.sendMessage("LogEvent", 0, { logLevel: level, message });
    } catch {
      // Held back by RetryAfter beyond the client's limit: counted, and said once sending works again.
      this.droppedLines++;
    }
  }

  /** Says how many log lines were dropped, if any, once they can be sent again. */
  private reportDropped(client: Client): void {
    if (this.droppedLines === 0) {
      return;
    }
    const dropped = this.droppedLines;
    this.droppedLines = 0;
    try {
      client.sendMessage("LogEvent", 0, { logLevel: LogEvent_LOG_LEVEL.WARNING, message: `${dropped} log lines of the plugin's were dropped: it could not send them` });
    } catch {
      this.droppedLines += dropped;
    }
  }
}
