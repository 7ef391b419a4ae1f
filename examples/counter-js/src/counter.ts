/**
 * The counter plugin in TypeScript: the key `count` adds the step to the count, the dial `step`
 * sets the step (1 to 100); both are kept in the plugin's `plugin` setting with the manager, so
 * the count survives restarts. The Rust counter (examples/counter) does the same on the Rust
 * SDK's handler API.
 *
 * Written on the seed's ch. 8 `Client`: the plugin keeps what the manager holds (its
 * `SavedData` after each hello, each write's answer) with its version, and stores a change,
 * versioned (`ifVersion`), before the answer that shows it leaves. A write made from a stale
 * copy is refused `CONFLICT`: the setting is read again and the request handled once more on it.
 *
 * @module
 */
import {
  Client,
  LogEvent_LOG_LEVEL,
  makeMessage,
  ResponseInfo_Code,
  type ClientOptions,
  type SavedData,
  type Settings,
  type TriggerAction,
  type UpdateAnalogControl,
} from "@logi-plugin/sdk";

/** A protocol message, as the SDK makes them. */
type Message = ReturnType<typeof makeMessage>;

/** The counter's settings, kept as JSON under the setting `plugin`. */
export interface Counter {
  /** What the presses added up to. */
  count: number;
  /** What one press adds (1 to 100). */
  step: number;
}

/** The plugin's id, as in package/manifest.json. */
export const PLUGIN_ID = "com.logi.example.counter-js";
/** The plugin's version, as in package/manifest.json. */
export const PLUGIN_VERSION = "1.0.0";
/** The setting the counter is kept under. */
export const PLUGIN_SETTING = "plugin";
/** The settings before anything is stored. */
export const DEFAULTS: Counter = { count: 0, step: 1 };

/** The dial's range, as in the manifest. */
const STEP_RANGE = { minValue: 1, maxValue: 100 } as const;
/** How long the manager gets to store or read a setting. */
const STORE_TIMEOUT_MS = 5_000;

/** A request refused: its error code, and why. */
interface Refusal {
  code: keyof typeof ResponseInfo_Code;
  what: string;
}

/** The answer to one request: a message to show (none: a bare `SUCCESS`), or a refusal. */
type Outcome = { message?: Message } | Refusal;

/** What one request makes of the settings: the answer, and the settings it leaves. */
interface Handled {
  outcome: Outcome;
  settings: Counter;
}

/** Reads the counter from its JSON; what is absent or does not read is the default. */
export function decode(json: string | undefined): Counter {
  if (json === undefined) {
    return { ...DEFAULTS };
  }
  try {
    const value = JSON.parse(json) as Partial<Counter>;
    const number = (n: unknown, fallback: number) => (typeof n === "number" && Number.isFinite(n) ? n : fallback);
    return { count: number(value.count, DEFAULTS.count), step: number(value.step, DEFAULTS.step) };
  } catch {
    return { ...DEFAULTS };
  }
}

/** A press: the step (at least 1) added to the count. */
export function press(settings: Counter): Counter {
  return { ...settings, count: settings.count + Math.max(settings.step, 1) };
}

/** A turn of the dial by `delta`: the step moved, kept within 1 to 100. */
export function turn(settings: Counter, delta: number): Counter {
  const step = Math.min(STEP_RANGE.maxValue, Math.max(STEP_RANGE.minValue, Math.max(settings.step, 1) + delta));
  return { ...settings, step };
}

/** The counter plugin on a {@link Client}. */
export class CounterPlugin {
  /** The connection to the manager, once {@link run} has made it. */
  client: Client | undefined;
  /** The setting as the manager holds it: its JSON and version (0: never stored). */
  private held: { json: string | undefined; version: number } = { json: undefined, version: 0 };
  /** Until when (ms since the epoch) the manager asked the plugin to slow down. */
  private throttledUntil = 0;
  /** The requests, handled one at a time so that each write is made from the last one's result. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Runs the plugin as the host launched it (the `token` and `LOGI_PLUGIN_ENDPOINT` it set;
   * `options` may change them, or ask for JSON text over WebSocket) until the manager stops it.
   * Resolves with the exit code: 0 once stopped, 1 when the manager could not be reached.
   */
  async run(options: Partial<ClientOptions> = {}): Promise<number> {
    const client = new Client({ pluginId: PLUGIN_ID, pluginVersion: PLUGIN_VERSION, ...options });
    this.client = client;
    // On stderr, which the host keeps in the plugin's log: how each connection carries its
    // messages (binary protobuf, or JSON text over WebSocket).
    client.onHello = () => console.error(`${PLUGIN_ID}: connected, ${client.format} envelopes`);
    client.onSavedData = (saved) => this.saved(saved);
    client.onRetryAfter = (retry) => {
      this.throttledUntil = Date.now() + retry.interval;
    };
    client.onTriggerAction = (trigger, id) => this.serially(id, () => this.pressed(trigger));
    client.onReleaseAction = () => undefined;
    client.onUpdateAnalogControl = (update, id) => this.serially(id, () => this.turned(update));
    client.onGetAnalogControlValue = (get, id) =>
      this.give(
        id,
        get.analogControlId === "step"
          ? { message: stepStatus(get.instanceId, decode(this.held.json), false) }
          : noSuch("control", get.analogControlId),
      );
    client.onError = (error) => console.error(`${PLUGIN_ID}: ${error.message}`);
    const stopped = new Promise<string>((resolve) => {
      client.onStopped = resolve;
    });
    try {
      await client.init();
    } catch (error) {
      console.error(`${PLUGIN_ID}: ${(error as Error).message}`);
      return 1;
    }
    const reason = await stopped;
    console.error(`${PLUGIN_ID}: stopped: ${reason}`);
    return 0;
  }

  /** Everything the manager holds for the plugin (after each hello). */
  private saved(saved: SavedData): void {
    const setting = saved.settings.find((s) => s.settingName === PLUGIN_SETTING);
    this.held = { json: setting?.settingValue, version: setting?.version ?? 0 };
  }

  /** Handles request `id` once the requests before it are answered, and answers it. */
  private serially(id: number, handle: () => Promise<Outcome>): Promise<Message | undefined> {
    const answer = this.queue.then(handle).then((outcome) => this.give(id, outcome));
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  private pressed(trigger: TriggerAction): Promise<Outcome> {
    if (trigger.actionId !== "count") {
      return Promise.resolve(noSuch("action", trigger.actionId));
    }
    return this.stored((settings) => {
      const pressed = press(settings);
      const status = { actionId: trigger.actionId, actionInstanceId: trigger.actionInstanceId, text: String(pressed.count) };
      return { settings: pressed, outcome: { message: makeMessage("ActionCellStatus", status) } };
    });
  }

  private turned(update: UpdateAnalogControl): Promise<Outcome> {
    if (update.analogControlId !== "step") {
      return Promise.resolve(noSuch("control", update.analogControlId));
    }
    const { updateType } = update;
    return this.stored((settings) => {
      const delta = updateType.case === "delta" ? updateType.value : updateType.case === "value" ? updateType.value - settings.step : 0;
      const turned = turn(settings, delta);
      return { settings: turned, outcome: { message: stepStatus(update.instanceId, turned, true) } };
    });
  }

  /**
   * Handles a request on the settings as held, storing what it changed before its answer is
   * given; a stale copy (`CONFLICT`) is read again and the request handled once more.
   */
  private async stored(handle: (settings: Counter) => Handled): Promise<Outcome> {
    for (let attempt = 0; attempt < 2; ++attempt) {
      const held = decode(this.held.json);
      const handled = handle(held);
      const json = JSON.stringify(handled.settings);
      if (json === JSON.stringify(held)) {
        return handled.outcome;
      }
      const left = this.throttledUntil - Date.now();
      if (left > 0) {
        // The write would wait for the window, and the answer with it, which must never wait:
        // refuse the change at once, so that nothing is shown that is not stored.
        const what = `the manager asked the plugin to slow down for ${left} ms more: nothing was changed`;
        this.log(LogEvent_LOG_LEVEL.WARNING, what);
        return { code: "NOT_READY", what };
      }
      const written = await this.write(json);
      if (written !== "conflict") {
        return written === "stored" ? handled.outcome : written;
      }
      await this.reread();
    }
    return { code: "CONFLICT", what: `setting "${PLUGIN_SETTING}" changed again while this was handled: not stored` };
  }

  /** Stores `json` under the setting, made from the version held. */
  private async write(json: string): Promise<"stored" | "conflict" | Refusal> {
    let answer;
    try {
      const write = { settingName: PLUGIN_SETTING, settingValue: json, ifVersion: this.held.version };
      answer = await this.connected().request("Settings", write, { timeoutMs: STORE_TIMEOUT_MS });
    } catch (error) {
      return { code: "UNREACHABLE", what: `setting "${PLUGIN_SETTING}" not stored: ${(error as Error).message}` };
    }
    switch (answer.response.result) {
      case ResponseInfo_Code.SUCCESS:
        this.held = { json, version: settingsIn(answer.message)?.version ?? this.held.version + 1 };
        return "stored";
      case ResponseInfo_Code.CONFLICT:
        return "conflict";
      default: {
        const code = ResponseInfo_Code[answer.response.result] as keyof typeof ResponseInfo_Code | undefined;
        return { code: code ?? "FAULTED", what: `setting "${PLUGIN_SETTING}" not stored: ${answer.response.what}` };
      }
    }
  }

  /** Reads the setting again from the manager; on failure what is held stays, and the next write says CONFLICT again. */
  private async reread(): Promise<void> {
    const read = { settingName: PLUGIN_SETTING };
    const answer = await this.connected()
      .request("SettingsRequest", read, { timeoutMs: STORE_TIMEOUT_MS })
      .catch(() => undefined);
    const setting = settingsIn(answer?.message);
    if (setting !== undefined) {
      this.held = { json: setting.settingValue, version: setting.version ?? 0 };
    }
  }

  /** Answers request `id`: the message is returned for the client to send; a refusal is sent here. */
  private give(id: number, outcome: Outcome): Message | undefined {
    if ("code" in outcome) {
      this.connected().sendResponseMessage(null, id, null, outcome);
      return undefined;
    }
    return outcome.message;
  }

  /** Sends a line to the manager's log. */
  private log(logLevel: LogEvent_LOG_LEVEL, message: string): void {
    this.connected().sendMessage("LogEvent", 0, { logLevel, message });
  }

  private connected(): Client {
    if (this.client === undefined) {
      throw new Error("the counter is not running: call run()");
    }
    return this.client;
  }
}

/** The dial's status: its step in its range, and the text to show once it was turned. */
function stepStatus(instanceId: string, settings: Counter, turned: boolean): Message {
  return makeMessage("AnalogControlStatus", {
    analogControlId: "step",
    analogControlInstanceId: instanceId,
    ...STEP_RANGE,
    currentValue: settings.step,
    ...(turned ? { text: `step ${settings.step}` } : {}),
  });
}

/** The refusal of a request for an action or control the plugin does not have. */
function noSuch(kind: "action" | "control", id: string): Refusal {
  return { code: "NOT_FOUND", what: `this plugin has no ${kind} ${JSON.stringify(id)}` };
}

/** The `Settings` an answer carries, if it carries one. */
function settingsIn(message: Message | undefined): Settings | undefined {
  return message?.$typeName === "logi.plugin.protocol.Settings" ? (message as Settings) : undefined;
}

/** The counter plugin, to {@link CounterPlugin.run}. */
export function counter(): CounterPlugin {
  return new CounterPlugin();
}
