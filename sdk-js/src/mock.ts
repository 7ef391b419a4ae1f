/**
 * A mock host for a plugin's tests (`@logi-plugin/sdk/mock`, the Rust SDK's `mock`): the plugin
 * runs in the test's process against an in-process manager, over the real protocol (hello,
 * settings with versions, logs, statuses) carried as binary Envelopes by an in-memory link (no
 * sockets), and the test presses, turns, shows, hides and configures it, then reads back what
 * it answered, stored and logged. No daemon, no device.
 *
 * ```ts
 * const host = await MockHost.start(counter(), { settings: { plugin: '{"count":41,"step":1}' } });
 * assert.equal((await host.press("count", "key-1")).text, "42");
 * assert.equal(host.settings<Counter>().count, 42);
 * await host.close();
 * ```
 *
 * Time is virtual: the plugin's client and the mock manager run on a {@link VirtualClock} that
 * moves only when the test calls {@link MockHost.advance}, and each call runs them until nothing
 * is left to do, so nothing happens between calls. A control's timer buffer delivers its merged
 * turns when the test advances past its period; the heartbeat (the manager's `Ping` every
 * 10 s, the plugin's deadline to hear from it) follows the same clock, so an hour advanced
 * passes in an instant and the plugin stays connected. A turn a buffer holds is sent with
 * {@link MockHost.sendTurn}, whose {@link Sent.answer} comes once time has passed.
 *
 * @module
 */

import type { Message } from "@bufbuild/protobuf";

import {
  LogEvent_LOG_LEVEL,
  ResponseInfo_Code,
  type ActionCellStatus,
  type AnalogControlStatus,
  type Envelope,
  type LogEvent,
  type PluginHello,
  type Settings,
  type SettingsRequest,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import { VirtualClock } from "./clock.js";
import { PROTOCOL_VERSION, type Connector } from "./client.js";
import { decodeBinary, describe, encodeBinary, makeEnvelope, makeMessage, type Incoming, type TypeRef } from "./codec.js";
import { PLUGIN_SETTING, type Plugin } from "./plugin/index.js";
import { decode } from "./plugin/settings.js";
import { deliver, type Transport, type TransportEvents } from "./transport.js";

/** The secret the mock host gives the plugin. */
const CODE = "mock";
/** How long, in virtual ms, the mock manager waits for the plugin's answer to a request. */
const ANSWER_TIMEOUT_MS = 10_000;
/** How often, in virtual ms, the mock manager sends `Ping` (the manager's default). */
const PING_INTERVAL_MS = 10_000;
/** The package of the plugin protocol's messages. */
const PACKAGE = "logi.plugin.protocol.";

/** How the mock manager starts. */
export interface MockOptions {
  /** Settings already stored (name to value), as a manager that ran the plugin before would have them, each at version 1. */
  settings?: Record<string, string>;
  /** The language the manager says it uses (default `en-US`). */
  language?: string;
}

/** What the plugin answered a request. */
export interface Answered {
  /** The answer's code: `SUCCESS`, or why the plugin refused. */
  code: ResponseInfo_Code;
  /** The refusal's description (empty on success). */
  why: string;
  /** The text of the status it answered with, if any. */
  text: string | undefined;
  /** A control's value in that status, if any. */
  value: number | undefined;
  /** The message it answered with, if any. */
  message: Message | undefined;
}

/** A request sent with {@link MockHost.send} or {@link MockHost.sendTurn}, whose answer may come later, once time is advanced. */
export class Sent {
  /** Set by the mock manager when the request ends: the plugin's answer, or why there is none. */
  outcome: { answer: Incoming } | { error: string } | undefined;

  /** A request of `what` (its message's type, for a failure to name). */
  constructor(readonly what: string) {}

  /**
   * The plugin's answer, once it has given it; `undefined` while it holds the request. Throws
   * when the request ended unanswered: the mock manager gave up waiting (10 s of virtual time),
   * or the connection closed.
   */
  answer(): Answered | undefined {
    const outcome = this.outcome;
    if (outcome === undefined) {
      return undefined;
    }
    if ("error" in outcome) {
      throw new Error(`${this.what} got no answer: ${outcome.error}`);
    }
    return answered(outcome.answer);
  }
}

/** An in-process manager running one plugin on a virtual clock. */
export class MockHost {
  private constructor(
    private readonly plugin: Plugin<object>,
    private readonly manager: MockManager,
    private readonly clock: VirtualClock,
    private readonly serving: Promise<unknown>,
  ) {}

  /** Starts `plugin` against the mock manager, with `options.settings` stored; resolves once it has said hello and had its settings. */
  static async start<S extends object>(plugin: Plugin<S>, options: MockOptions = {}): Promise<MockHost> {
    const clock = new VirtualClock();
    const manager = new MockManager(plugin.pluginId, clock, options);
    let failure: unknown;
    const serving = plugin.serve({ pluginCode: CODE, connector: manager.connector, clock }).catch((error: unknown) => {
      failure = error;
    });
    await settle();
    if (!manager.admitted) {
      throw new Error(`the plugin said no hello${failure === undefined ? "" : `: ${describe(failure)}`}`);
    }
    return new MockHost(plugin as unknown as Plugin<object>, manager, clock, serving);
  }

  /** Sends the plugin a request and waits for its answer; fails when the plugin holds it (a turn a buffer merges: use {@link sendTurn} and {@link advance}). */
  async request(type: TypeRef, fields?: object): Promise<Answered> {
    const sent = await this.send(type, fields);
    const answer = sent.answer();
    if (answer === undefined) {
      throw new Error(
        `the plugin has not answered ${sent.what} and has nothing left to do: its answer waits for time to pass (a turn held by a buffer: send it with \`sendTurn\`, then \`advance\`), or never comes`,
      );
    }
    return answer;
  }

  /** Sends the plugin a request and runs it until it has nothing left to do; the answer may come then, or once time is advanced ({@link Sent.answer}). */
  async send(type: TypeRef, fields?: object): Promise<Sent> {
    const message = makeMessage(type, fields);
    const sent = new Sent(message.$typeName);
    this.manager.request(message, sent);
    await settle();
    return sent;
  }

  /** Presses the action's key (down, then up): the answer to the key going down. */
  async press(actionId: string, instanceId: string): Promise<Answered> {
    const key = { actionId, actionInstanceId: instanceId };
    const down = await this.request("TriggerAction", key);
    const up = await this.request("ReleaseAction", key);
    if (down.code === ResponseInfo_Code.SUCCESS && up.code !== ResponseInfo_Code.SUCCESS) {
      throw new Error(`the key's release was answered ${ResponseInfo_Code[up.code]}: ${up.why}`);
    }
    return down;
  }

  /** Turns the control by `delta` steps, and waits for the answer (see {@link request}). */
  turn(controlId: string, instanceId: string, delta: number): Promise<Answered> {
    return this.request("UpdateAnalogControl", turn(controlId, instanceId, delta));
  }

  /** Turns the control by `delta` steps; the answer comes at once, or when its buffer delivers the turn once time is advanced. */
  sendTurn(controlId: string, instanceId: string, delta: number): Promise<Sent> {
    return this.send("UpdateAnalogControl", turn(controlId, instanceId, delta));
  }

  /** Shows an instance of the action or control `id`. */
  show(id: string, instanceId: string): Promise<Answered> {
    return this.request("VisibilityChanged", { controlId: id, actionInstanceId: instanceId, visible: true });
  }

  /** Hides an instance of the action or control `id`. */
  hide(id: string, instanceId: string): Promise<Answered> {
    return this.request("VisibilityChanged", { controlId: id, actionInstanceId: instanceId, visible: false });
  }

  /** Submits the configuration form (a value, sent as its JSON) of an instance of the action or control `id`. */
  configure(id: string, instanceId: string, form: unknown): Promise<Answered> {
    return this.request("PluginActionConfigurationResponse", {
      actionInstanceId: instanceId,
      actionId: id,
      formResult: JSON.stringify(form),
    });
  }

  /** Asks the plugin to slow down for `intervalMs` (a `RetryAfter`, as a manager whose rate limit ran dry sends). */
  async retryAfter(intervalMs: number): Promise<void> {
    this.manager.notify(makeMessage("RetryAfter", { interval: intervalMs }));
    await settle();
  }

  /** A setting as the manager holds it. */
  setting(name: string): string | undefined {
    return this.manager.settings.get(name)?.value;
  }

  /** The plugin's settings as the manager holds them, over the plugin's defaults. */
  settings<S>(): S {
    return decode(this.setting(PLUGIN_SETTING), this.plugin.defaults as S);
  }

  /** Changes a setting behind the plugin's back, as another copy of it would (its version goes up). */
  setSetting(name: string, value: string): void {
    const version = this.manager.settings.get(name)?.version ?? 0;
    this.manager.settings.set(name, { value, version: version + 1 });
  }

  /** The lines the plugin logged so far, in order, as `LEVEL: message`. */
  logs(): string[] {
    return [...this.manager.logs];
  }

  /** The statuses the plugin sent on its own, in order. */
  statuses(): Message[] {
    return [...this.manager.statuses];
  }

  /** The virtual time now, in ms since the start. */
  now(): number {
    return this.clock.now();
  }

  /** Moves virtual time forward by `ms`, one deadline at a time, letting the plugin and the manager act at each. Takes no real time. */
  advance(ms: number): Promise<void> {
    return this.clock.advance(ms, settle);
  }

  /** Lets the plugin and the mock manager finish what they are doing (after the plugin was made to act from outside a request). */
  settle(): Promise<void> {
    return settle();
  }

  /** Stops the plugin and the mock manager. */
  async close(): Promise<void> {
    this.plugin.stop();
    this.manager.stop();
    await settle();
    await this.serving;
  }
}

/** Runs everything in the queue of microtasks, where the mock's messages and the plugin's work travel: once past it, both wait for the test. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A turn of `delta` steps, as the manager sends it. */
function turn(controlId: string, instanceId: string, delta: number): object {
  return { analogControlId: controlId, instanceId, updateType: { case: "delta", value: delta } };
}

/** What the plugin answered, as a test reads it. */
function answered(answer: Incoming): Answered {
  const message = answer.message;
  let status: { text?: string; currentValue?: number } | undefined;
  if (message?.$typeName === `${PACKAGE}ActionCellStatus`) {
    status = message as ActionCellStatus;
  } else if (message?.$typeName === `${PACKAGE}AnalogControlStatus`) {
    status = message as AnalogControlStatus;
  }
  return {
    code: answer.response?.result ?? ResponseInfo_Code.INVALID,
    why: answer.response?.what ?? "",
    text: status?.text,
    value: status?.currentValue,
    message,
  };
}

/** The mock manager: admits the plugin, answers its requests, keeps what it sends, sends it the test's requests. */
class MockManager {
  /** The settings, with their versions. */
  readonly settings = new Map<string, { value: string; version: number }>();
  /** The plugin's log lines, as `LEVEL: message`. */
  readonly logs: string[] = [];
  /** The statuses it sent on its own. */
  readonly statuses: Message[] = [];
  /** Whether the plugin's hello was accepted. */
  admitted = false;
  private events: TransportEvents | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (outcome: NonNullable<Sent["outcome"]>) => void>();
  private ping: unknown;

  constructor(
    private readonly pluginId: string,
    private readonly clock: VirtualClock,
    private readonly options: MockOptions,
  ) {
    for (const [name, value] of Object.entries(options.settings ?? {})) {
      this.settings.set(name, { value, version: 1 });
    }
  }

  /** Opens the in-memory link the plugin's client talks on. */
  readonly connector: Connector = async (events) => {
    this.events = events;
    const transport: Transport = {
      format: "binary",
      send: (envelope) => {
        const bytes = encodeBinary(envelope);
        queueMicrotask(() => {
          if (this.events === events) this.received(decodeBinary(bytes));
        });
      },
      close: () => queueMicrotask(() => this.disconnect(events, "closed by the plugin")),
      abort: (reason) => this.disconnect(events, reason),
    };
    return transport;
  };

  /** Sends the plugin a request; `sent` gets its answer, or why none came. */
  request(message: Message, sent: Sent): void {
    const id = this.nextId++;
    const timer = this.clock.setTimeout(() => {
      this.pending.delete(id);
      sent.outcome = { error: `no answer within ${ANSWER_TIMEOUT_MS} ms of virtual time` };
    }, ANSWER_TIMEOUT_MS);
    this.pending.set(id, (outcome) => {
      this.clock.clearTimeout(timer);
      sent.outcome = outcome;
    });
    this.send(makeEnvelope(id, message));
  }

  /** Sends the plugin a notification. */
  notify(message: Message): void {
    this.send(makeEnvelope(0, message));
  }

  /** Ends the link, and the heartbeat. */
  stop(): void {
    if (this.events !== undefined) {
      this.disconnect(this.events, "the mock host closed");
    }
  }

  private send(envelope: Envelope): void {
    const events = this.events;
    if (events === undefined) {
      throw new Error("the plugin is not connected to the mock host");
    }
    const bytes = encodeBinary(envelope);
    queueMicrotask(() => {
      if (this.events === events) deliver(events, () => decodeBinary(bytes));
    });
  }

  private disconnect(events: TransportEvents, reason: string): void {
    if (this.events !== events) {
      return;
    }
    this.events = undefined;
    this.admitted = false;
    this.clock.clearTimeout(this.ping);
    for (const [id, settle] of [...this.pending]) {
      this.pending.delete(id);
      settle({ error: `the connection closed: ${reason}` });
    }
    events.closed(reason);
  }

  /** What the plugin sent. */
  private received(incoming: Incoming): void {
    const { id, response, message } = incoming;
    if (response !== undefined) {
      this.pending.get(id)?.({ answer: incoming });
      this.pending.delete(id);
    } else if (message?.$typeName === `${PACKAGE}PluginHello`) {
      this.hello(id, message as PluginHello);
    } else if (id === 0) {
      this.keep(message);
    } else {
      const [reply, what] = this.answer(message);
      this.send(makeEnvelope(id, reply, what === undefined ? { result: ResponseInfo_Code.SUCCESS } : what));
    }
  }

  /** Admits the one plugin with the mock's code, then sends what it holds for it. */
  private hello(id: number, hello: PluginHello): void {
    if (hello.pluginId !== this.pluginId || hello.pluginCode !== CODE) {
      const what = `the mock host runs ${this.pluginId} with code ${JSON.stringify(CODE)}, not ${hello.pluginId} with ${JSON.stringify(hello.pluginCode)}`;
      this.send(makeEnvelope(id, undefined, { result: ResponseInfo_Code.UNAUTHORIZED, what }));
      return;
    }
    this.admitted = true;
    const managerHello = makeMessage("ManagerHello", {
      managerVersion: "mock host",
      protocolVersion: PROTOCOL_VERSION,
      languageCode: this.options.language ?? "en-US",
    });
    this.send(makeEnvelope(id, managerHello, { result: ResponseInfo_Code.SUCCESS }));
    this.notify(makeMessage("SavedData", { settings: [...this.settings.keys()].map((name) => this.stored(name)) }));
    this.heartbeat();
  }

  /** Sends `Ping` every interval of virtual time, as the manager does. */
  private heartbeat(): void {
    this.ping = this.clock.setTimeout(() => {
      this.request(makeMessage("Ping"), new Sent("Ping"));
      this.heartbeat();
    }, PING_INTERVAL_MS);
  }

  /** The answer to a request of the plugin's: its message, and the error if it is refused. */
  private answer(message: Message | undefined): [Message | undefined, { result: ResponseInfo_Code; what: string } | undefined] {
    switch (message?.$typeName) {
      case `${PACKAGE}Settings`: {
        const write = message as Settings;
        const current = this.settings.get(write.settingName)?.version ?? 0;
        if (write.ifVersion !== undefined && write.ifVersion !== current) {
          const what = `setting ${JSON.stringify(write.settingName)} is at version ${current}, not ${write.ifVersion}`;
          return [undefined, { result: ResponseInfo_Code.CONFLICT, what }];
        }
        this.settings.set(write.settingName, { value: write.settingValue, version: current + 1 });
        return [this.stored(write.settingName), undefined];
      }
      case `${PACKAGE}SettingsRequest`: {
        const name = (message as SettingsRequest).settingName;
        return this.settings.has(name)
          ? [this.stored(name), undefined]
          : [undefined, { result: ResponseInfo_Code.NOT_FOUND, what: `setting ${JSON.stringify(name)} was never stored` }];
      }
      case `${PACKAGE}LogEvent`:
        this.keep(message);
        return [undefined, undefined];
      default:
        return [undefined, { result: ResponseInfo_Code.NOT_IMPLEMENTED, what: `the mock host does not handle ${message?.$typeName ?? "a request with no message"}` }];
    }
  }

  /** Keeps a log line or a status the plugin sent. */
  private keep(message: Message | undefined): void {
    if (message?.$typeName === `${PACKAGE}LogEvent`) {
      const log = message as LogEvent;
      this.logs.push(`${LogEvent_LOG_LEVEL[log.logLevel] ?? log.logLevel}: ${log.message}`);
    } else if (message?.$typeName === `${PACKAGE}ActionCellStatus` || message?.$typeName === `${PACKAGE}AnalogControlStatus`) {
      this.statuses.push(message);
    }
  }

  /** A setting held, as the manager sends it. */
  private stored(name: string): Settings {
    const { value, version } = this.settings.get(name)!;
    return makeMessage("Settings", { settingName: name, settingValue: value, version }) as Settings;
  }
}
