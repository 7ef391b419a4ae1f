/**
 * The seed's chapter 8 `Client`: a plugin creates one with its id, code and version, calls
 * {@link Client.init}, assigns the callbacks it needs (`onTriggerAction`, ...) and answers the
 * manager's requests with {@link Client.sendResponseMessage}. The client says hello, answers
 * `Ping` with `Pong`, answers `NOT_IMPLEMENTED` to a request it has no callback for, and turns
 * bad input from the wire into an error answer or a counted drop, never an exception.
 *
 * As the Rust SDK does, it holds what the plugin starts while `RetryAfter` is in force (statuses
 * coalesced per instance, answers never held), buffers analog controls' updates
 * ({@link Client.enableControlBuffering}), times out the plugin's requests, closes a connection on
 * which the manager has gone silent, reconnects with capped backoff and a fresh hello, and keeps
 * the visible instances ({@link Client.view}) across reconnects.
 *
 * The handler API (`Plugin`, src/plugin/) is built on it.
 *
 * @module
 */

import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import type {
  ActionCellStatus,
  AnalogControlStatus,
  Envelope,
  GetAnalogControlValue,
  GetUserInfoList,
  InitLogin,
  Logout,
  ManagerHello,
  OauthResponse,
  PluginActionConfigurationResponse,
  PluginActionConfigurationSchemeRequest,
  ReleaseAction,
  ResponseInfo,
  RetryAfter,
  SavedData,
  Settings,
  SettingsRequest,
  TriggerAction,
  UpdateAnalogControl,
  VisibilityChanged,
  VisibilityChangedList,
} from "../gen/logi/plugin/protocol/protocol_pb.js";
import {
  EnvelopeError,
  describe,
  makeEnvelope,
  makeMessage,
  type Incoming,
  type MessageError,
  type TypeRef,
} from "./codec.js";
import { endpointFromEnv, parseEndpoint, tokenFromEnv, TOKEN_ENV, type Endpoint } from "./endpoint.js";
import { BufferManager, type AnalogBuffer, type BufferConfig, type BufferStats } from "./buffer.js";
import { connect, type StandardWebSocketConstructor, type Transport, type TransportEvents } from "./transport.js";
import { systemClock, type Clock, type TimerHandle } from "./clock.js";
import { View } from "./view.js";
import type { Message } from "@bufbuild/protobuf";

/** The protocol version this client speaks (the core's `PROTOCOL_VERSION`). */
export const PROTOCOL_VERSION = 1;

/** The package whose messages have callbacks, `on<Name>`. */
const PLUGIN_PACKAGE = "logi.plugin.protocol.";

/** The id of the hello: the first request of every connection. */
const HELLO_ID = 1;

/** How long a request waits for its answer by default (the Rust session's hello timeout). */
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** How often the manager is expected to send `Ping` by default. */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
/** How many heartbeat intervals of silence mean the manager is gone, by default. */
const DEFAULT_MISSED_HEARTBEATS = 3;
/** The most messages `RetryAfter` holds at once by default. */
const DEFAULT_MAX_HELD = 256;

/** How long to wait before reconnecting: doubling from `initialMs`, at most `maxMs`. */
export interface Backoff {
  /** The first wait, in milliseconds (default 100). */
  initialMs?: number;
  /** The longest wait, in milliseconds (default 10 000). */
  maxMs?: number;
}

/** The default {@link Backoff}, the Rust SDK's. */
export const DEFAULT_BACKOFF: Required<Backoff> = { initialMs: 100, maxMs: 10_000 };

/** The wait after `failures` attempts in a row have failed: doubling from `initialMs`, at most `maxMs`. */
export function backoffDelay(backoff: Backoff, failures: number): number {
  const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...backoff };
  return Math.min(initialMs * 2 ** Math.min(failures, 31), maxMs);
}

/** What `new Client(...)` takes (seed ch. 8: `pluginId`, `pluginCode`, `pluginVersion`). */
export interface ClientOptions {
  /** The plugin's id, as in its manifest. */
  pluginId: string;
  /** The per-launch secret; defaults to the `token` environment variable the host sets. */
  pluginCode?: string;
  /** The plugin's version. */
  pluginVersion: string;
  /** A local-socket path or `ws://` URL; defaults to `LOGI_PLUGIN_ENDPOINT`, else the default local socket (in a browser, required). */
  endpoint?: string;
  /** The WebSocket constructor (a polyfill, a test's); default the `ws` package under Node, else `globalThis.WebSocket`. */
  WebSocket?: StandardWebSocketConstructor;
  /** Over WebSocket, JSON text frames instead of binary protobuf (seed 7.1.2). */
  useTextFormat?: boolean;
  /** The largest frame each way, in bytes (default 8 MiB, the manager's limit). */
  maxFrameLen?: number;
  /** How long a request of the plugin's (the hello included) waits for its answer, in ms (default 10 000). */
  requestTimeoutMs?: number;
  /** How often the manager is expected to send `Ping`, in ms (default 10 000). */
  heartbeatIntervalMs?: number;
  /** After this many heartbeat intervals without a word from the manager, it is gone (default 3). */
  missedHeartbeats?: number;
  /** Reconnect with a fresh hello when the connection drops (default: yes, the Rust SDK's backoff); `false` turns it off. */
  reconnect?: Backoff | false;
  /** The most messages held back by `RetryAfter` at once; one instance's status counts once (default 256). */
  maxHeld?: number;
  /** How the built-in analog buffers are made. */
  buffers?: BufferConfig;
  /** The clock every deadline runs on (default: the machine's); a test's `VirtualClock` makes time pass at its word. */
  clock?: Clock;
  /** Opens connections instead of `endpoint` when set: an in-process manager's (the mock host's), or a transport of your own. */
  connector?: Connector;
}

/** Opens a connection to a manager, reporting what arrives on it to `events` (as `connect` does for an endpoint). */
export type Connector = (events: TransportEvents) => Promise<Transport>;

/** What a request callback may return: the answer to send with `SUCCESS`, or nothing (it answers itself). */
export type Answer = Message | undefined | void;

/** A callback for a request of the manager's: `id` is what {@link Client.sendResponseMessage} answers. */
export type RequestCallback<T> = (message: T, id: number) => Answer | Promise<Answer>;

/** An error answer (`err` of {@link Client.sendResponseMessage}): a code (name or number) and a text. */
export interface ErrorAnswer {
  /** The error code, e.g. `"NOT_FOUND"` or `ResponseInfo_Code.NOT_FOUND`; `FAULTED` if left out. */
  code?: keyof typeof ResponseInfo_Code | ResponseInfo_Code;
  /** What went wrong, for people (an `Error`'s `message` is used when there is no `what`). */
  what?: string;
  /** An `Error`'s text. */
  message?: string;
}

/** The manager's answer to a request of the plugin's ({@link Client.request}). */
export interface RequestAnswer {
  /** The request's id. */
  id: number;
  /** The outcome the manager reported: `SUCCESS` or an error code and text. */
  response: ResponseInfo;
  /** The message it answered with, if any. */
  message: Message | undefined;
}

/** A request of the plugin's got no answer within its timeout. */
export class RequestTimeoutError extends Error {
  /** A timeout of request `id`, a `messageType`, after `timeoutMs`. */
  constructor(
    readonly id: number,
    readonly messageType: string,
    readonly timeoutMs: number,
  ) {
    super(`no answer to ${messageType} (request ${id}) within ${timeoutMs} ms`);
    this.name = "RequestTimeoutError";
  }
}

/** A request of the plugin's got no answer because its connection ended first. */
export class RequestClosedError extends Error {
  /** Request `id`, a `messageType`, lost with the connection, which ended for `reason`. */
  constructor(
    readonly id: number,
    readonly messageType: string,
    readonly reason: string,
  ) {
    super(`no answer to ${messageType} (request ${id}): the connection ended (${reason})`);
    this.name = "RequestClosedError";
  }
}

/** What went wrong on the wire, and what the client did about the manager's pacing, counted. */
export interface ClientStats {
  /** Frames that were no envelope (answered `INVALID_ARG` with id 0). */
  unreadable: number;
  /** Requests answered with an error by the client itself: unknown types, bad bodies, no callback, a callback that threw. */
  errorAnswers: number;
  /** Responses and notifications dropped: unreadable messages, responses matching no request. */
  dropped: number;
  /** Exceptions thrown by callbacks (each also reported to `onError`). */
  callbackErrors: number;
  /** Requests of the plugin's that got no answer in time. */
  timeouts: number;
  /** `RetryAfter` messages received. */
  retryAfter: number;
  /** Messages held back by `RetryAfter` (a status replacing a held one counts too). */
  held: number;
  /** Silence deadlines passed so far beyond that this machine must have slept: the manager got another interval. */
  reprobes: number;
  /** Connections opened again after one dropped. */
  reconnects: number;
}

/** A request of the plugin's awaiting its answer. */
interface Pending {
  messageType: string;
  timeoutMs: number;
  timer: TimerHandle;
  /** Set for {@link Client.request}: the promise to settle; otherwise the answer goes to the callbacks. */
  settle?: { resolve: (answer: RequestAnswer) => void; reject: (error: Error) => void };
}

/** An envelope the plugin started while `RetryAfter` holds, with the status instance it replaces (if a status). */
interface Held {
  instance: string | undefined;
  envelope: Envelope;
}

/** The seed's ch. 8 JavaScript plugin client. */
export class Client {
  /** Called once the manager accepts the hello, on every connection (seed: `onHello`). */
  onHello?: (hello: ManagerHello) => void;
  /** An action was pressed. */
  onTriggerAction?: RequestCallback<TriggerAction>;
  /** An action was released. */
  onReleaseAction?: RequestCallback<ReleaseAction>;
  /** An analog control moved (merged updates of a buffered control arrive as one). */
  onUpdateAnalogControl?: RequestCallback<UpdateAnalogControl>;
  /** The manager asks an analog control's value. */
  onGetAnalogControlValue?: RequestCallback<GetAnalogControlValue>;
  /** An action or control instance was shown or hidden (already applied to {@link view}). */
  onVisibilityChanged?: RequestCallback<VisibilityChanged>;
  /** Several visibility changes at once, the manager's resync after a reconnect (already applied to {@link view}). */
  onVisibilityChangedList?: RequestCallback<VisibilityChangedList>;
  /** The manager asks an action's configuration form. */
  onPluginActionConfigurationSchemeRequest?: RequestCallback<PluginActionConfigurationSchemeRequest>;
  /** The user filled in an action's configuration form. */
  onPluginActionConfigurationResponse?: RequestCallback<PluginActionConfigurationResponse>;
  /** The manager starts a login. */
  onInitLogin?: RequestCallback<InitLogin>;
  /** An OAuth login finished. */
  onOauthResponse?: RequestCallback<OauthResponse>;
  /** The manager logs a user out. */
  onLogout?: RequestCallback<Logout>;
  /** The manager asks the plugin's users. */
  onGetUserInfoList?: RequestCallback<GetUserInfoList>;
  /** The manager asks the plugin to wait `interval` ms; the client already holds what the plugin starts. */
  onRetryAfter?: (message: RetryAfter) => void;
  /** The settings the manager stores for the plugin, after the hello (notification). */
  onSavedData?: (message: SavedData) => void;
  /** A setting: the answer to the plugin's `SettingsRequest` or `Settings` write, with its request id. */
  onSettings?: (message: Settings, id: number) => void;
  /** A `SettingsRequest` received (the seed lists the callback; the manager does not send one). */
  onSettingsRequest?: RequestCallback<SettingsRequest>;
  /** Any answer to a request the plugin sent with {@link sendMessage}, after its typed callback. */
  onResponse?: (id: number, response: ResponseInfo, message: Message | undefined) => void;
  /** Bad input from the wire, a callback that threw, a refused answer, a request timed out: for the plugin's log. */
  onError?: (error: Error) => void;
  /** A connection ended; `reason` says why. The client reconnects after it unless it has stopped. */
  onClose?: (reason: string) => void;
  /** The client stopped for good: {@link close}, a refused hello, reconnecting turned off. */
  onStopped?: (reason: string) => void;

  /** What went wrong on the wire, counted. */
  readonly stats: ClientStats = {
    unreadable: 0,
    errorAnswers: 0,
    dropped: 0,
    callbackErrors: 0,
    timeouts: 0,
    retryAfter: 0,
    held: 0,
    reprobes: 0,
    reconnects: 0,
  };

  private readonly options: ClientOptions;
  private readonly clock: Clock;
  private readonly buffers: BufferManager;
  private readonly shown = new View();
  private code = "";
  private endpoint: Endpoint | undefined;
  private transport: Transport | undefined;
  /** Counts connections: events of an older one are ignored. */
  private generation = 0;
  private helloDone = false;
  /** Whether any hello was accepted: a later `UNAUTHORIZED` means the host stopped the plugin. */
  private admittedBefore = false;
  private stopped = false;
  private started = false;
  private failures = 0;
  private language: string | undefined;
  /** The plugin's requests awaiting an answer. */
  private readonly pending = new Map<number, Pending>();
  /** The manager's requests the plugin has not answered yet. */
  private readonly toAnswer = new Set<number>();
  private nextRequestId = HELLO_ID + 1;
  private hello:
    | { resolve: (hello: ManagerHello) => void; reject: (error: Error) => void; timer: TimerHandle }
    | undefined;
  /** Until when the manager asked to hold back (`RetryAfter`), on {@link now}'s clock. */
  private holdUntil: number | undefined;
  private readonly held: Held[] = [];
  private lastHeard = 0;
  private delivering = false;
  private readonly timers: Record<"hold" | "silence" | "buffers" | "reconnect", TimerHandle | undefined> = {
    hold: undefined,
    silence: undefined,
    buffers: undefined,
    reconnect: undefined,
  };

  /** A client for the plugin `pluginId`; nothing is sent before {@link init}. */
  constructor(options: ClientOptions) {
    this.options = { ...options };
    this.clock = options.clock ?? systemClock;
    this.buffers = new BufferManager(options.buffers);
  }

  /** Whether the client is connected and past the hello. */
  get isConnected(): boolean {
    return this.transport !== undefined && this.helloDone;
  }

  /** The language the manager said it uses (`ManagerHello.language_code`). */
  get languageCode(): string | undefined {
    return this.language;
  }

  /** How much longer, in ms, the manager asked to hold back what the plugin starts (`RetryAfter`); 0 outside such a window. */
  get throttledForMs(): number {
    return this.holdUntil === undefined ? 0 : Math.max(0, this.holdUntil - this.now());
  }

  /** How the connection carries envelopes, once open: `binary` or `json`. */
  get format(): "binary" | "json" | undefined {
    return this.transport?.format;
  }

  /**
   * The action and control instances the manager shows the plugin now, with their configuration
   * (a copy): every visibility change received, in order, kept across reconnects; after one, the
   * manager's resync brings it to what the manager shows.
   */
  get view(): View {
    return this.shown.clone();
  }

  /** What the analog buffers did with the updates they received. */
  get bufferStats(): BufferStats {
    return { ...this.buffers.stats };
  }

  /**
   * Connects and says hello; resolves with the manager's `ManagerHello`. Rejects, naming what,
   * when there is no code, the endpoint cannot be reached, or the manager refuses the hello
   * (the connection is then closed). Once it has resolved, a dropped connection is reconnected
   * with capped exponential backoff and a fresh hello, unless `reconnect` is `false`.
   */
  async init(): Promise<ManagerHello> {
    if (this.started) {
      throw new Error("init() was already called on this client");
    }
    this.started = true;
    const code = this.options.pluginCode ?? tokenFromEnv();
    if (!code) {
      throw new Error(
        `no plugin code: pass pluginCode, or launch the plugin from the host, which sets the \`${TOKEN_ENV}\` environment variable`,
      );
    }
    this.code = code;
    this.endpoint = this.options.endpoint ? parseEndpoint(this.options.endpoint) : endpointFromEnv();
    try {
      return await this.open();
    } catch (error) {
      // The first connection is the caller's to retry: init() says why it failed.
      this.stopped = true;
      throw error;
    }
  }

  /**
   * Sends a message the plugin starts (seed 8.1): `type` names it (`"ActionCellStatus"`, a full
   * name, or a schema), `obj` holds its fields. `id` 0 sends a notification (a status update, a
   * log event); another id sends a request whose answer comes to the typed callback
   * (`onSettings`) and `onResponse`, or whose timeout to `onError`; `undefined` or `null` takes
   * the next free id. While `RetryAfter` holds, the message waits (a status replacing the held one
   * of its instance); more than `maxHeld` waiting is refused with an error. Returns the id.
   */
  sendMessage(type: TypeRef, id: number | null | undefined, obj?: object): number {
    return this.start(makeMessage(type, obj), id, undefined);
  }

  /**
   * Sends a request the plugin starts and resolves with the manager's answer (whatever its code);
   * rejects with a {@link RequestTimeoutError} naming the message when none comes within
   * `timeoutMs` (default `requestTimeoutMs`), or a {@link RequestClosedError} when the connection
   * ends first. Held like {@link sendMessage} during `RetryAfter`; the timeout runs from now.
   */
  request(type: TypeRef, obj?: object, options: { timeoutMs?: number } = {}): Promise<RequestAnswer> {
    const message = makeMessage(type, obj);
    return new Promise((resolve, reject) => {
      this.start(message, null, { resolve, reject }, options.timeoutMs);
    });
  }

  /**
   * Answers the manager's request `id` (seed 8.2): with `obj` of `type` and `SUCCESS`, or, when
   * `err` is given, with its error code and text (no message). `type` may be `null` for a bare
   * answer. Throws when request `id` is not waiting for an answer. Answers are never held.
   */
  sendResponseMessage(
    type: TypeRef | null | undefined,
    id: number,
    obj?: object | null,
    err?: ErrorAnswer | Error | string | null,
  ): void {
    this.connected();
    if (!this.toAnswer.has(id)) {
      throw new Error(`no request ${id} from the manager is waiting for an answer`);
    }
    const message = err == null && type != null ? makeMessage(type, obj ?? undefined) : undefined;
    this.answer(id, message, responseInfo(err));
  }

  /**
   * Buffers these controls' `UpdateAnalogControl` requests (seed 7.1.12 `enable_control_buffering`):
   * `{controlId: bufferKey}` or `[controlId, bufferKey]` pairs, the key `"throughput"`, `"timer"`
   * or a custom buffer's. An update merged into a later one is answered `SUCCESS` at once; the
   * callback gets the merged update, carrying the sum of the deltas. Kept across reconnects;
   * throws, registering nothing, when a key names no buffer.
   */
  enableControlBuffering(controls: Iterable<readonly [string, string]> | Record<string, string>): void {
    this.buffers.registerControls(controls);
  }

  /** Adds a buffer of the plugin's own under `name` (seed 7.3.3), for {@link enableControlBuffering}. */
  registerCustomBuffer(name: string, buffer: AnalogBuffer): void {
    this.buffers.registerCustomBuffer(name, buffer);
  }

  /** Adds a further timer buffer with windows of `intervalMs` under `name`. */
  registerTimerBuffer(name: string, intervalMs: number): void {
    this.buffers.registerTimerBuffer(name, intervalMs);
  }

  /** Closes the connection for good: `onClose` (if connected) and `onStopped` follow; no reconnect. */
  close(): void {
    this.stopped = true;
    if (this.transport !== undefined) {
      this.transport.close();
    } else {
      this.stop("closed by the plugin");
    }
  }

  /** Now, on the monotonic clock every deadline of the client is on, in milliseconds. */
  private now(): number {
    return this.clock.now();
  }

  /** Opens a connection and says hello; resolves with the manager's hello. */
  private async open(): Promise<ManagerHello> {
    const generation = ++this.generation;
    const current = <T extends unknown[]>(handle: (...args: T) => void) =>
      (...args: T) => {
        if (generation === this.generation) handle(...args);
      };
    const events: TransportEvents = {
      incoming: current((incoming: Incoming) => this.receive(incoming)),
      badInput: current((error: EnvelopeError | MessageError) => this.badInput(error)),
      closed: current((reason: string) => this.closed(reason)),
    };
    const transport = await (this.options.connector?.(events) ??
      connect(
        this.endpoint!,
        {
          useTextFormat: this.options.useTextFormat ?? false,
          maxFrameLen: this.options.maxFrameLen,
          WebSocket: this.options.WebSocket,
        },
        events,
      ));
    if (this.stopped) {
      // close() came while connecting.
      transport.close();
      throw new Error("the client was closed while connecting");
    }
    this.transport = transport;
    this.lastHeard = this.now();
    const timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const answered = new Promise<ManagerHello>((resolve, reject) => {
      const timer = this.clock.setTimeout(
        () => transport.abort(`the manager did not answer the hello within ${timeoutMs} ms`),
        timeoutMs,
      );
      this.hello = { resolve, reject, timer };
    });
    this.send(
      makeEnvelope(
        HELLO_ID,
        makeMessage("PluginHello", {
          pluginId: this.options.pluginId,
          pluginCode: this.code,
          pluginVersion: this.options.pluginVersion,
          protocolVersion: PROTOCOL_VERSION,
        }),
      ),
    );
    return answered;
  }

  /** Sends (or holds) a message the plugin starts; a request is tracked until answered, timed out or closed. */
  private start(
    message: Message,
    id: number | null | undefined,
    settle: Pending["settle"],
    timeoutMs = this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  ): number {
    this.connected();
    const requestId = id ?? this.freeId();
    checkId(requestId);
    if (requestId !== 0 && (requestId === HELLO_ID || this.pending.has(requestId))) {
      throw new Error(`request id ${requestId} is already in use: choose another, or pass null`);
    }
    const envelope = makeEnvelope(requestId, message);
    const instance = requestId === 0 ? statusInstance(message) : undefined;
    if (this.holdUntil !== undefined) {
      const older = instance === undefined ? undefined : this.held.find((held) => held.instance === instance);
      if (older !== undefined) {
        // Last wins: only the newest status of an instance is worth sending.
        older.envelope = envelope;
      } else if (this.held.length >= (this.options.maxHeld ?? DEFAULT_MAX_HELD)) {
        throw new Error(
          `throttled: the manager asked to wait (RetryAfter) ${Math.ceil(this.holdUntil - this.now())} ms more, and ${this.held.length} messages are held already; ${message.$typeName} not sent`,
        );
      } else {
        this.held.push({ instance, envelope });
      }
      this.stats.held++;
    } else {
      this.send(envelope);
    }
    if (requestId !== 0) {
      const timer = this.clock.setTimeout(() => this.timedOut(requestId), timeoutMs);
      this.pending.set(requestId, { messageType: message.$typeName, timeoutMs, timer, settle });
    }
    return requestId;
  }

  /** Request `id` got no answer in time: its promise rejected, or the timeout reported; a late answer is dropped. */
  private timedOut(id: number): void {
    const pending = this.pending.get(id);
    if (pending === undefined) {
      return;
    }
    this.pending.delete(id);
    this.stats.timeouts++;
    const error = new RequestTimeoutError(id, pending.messageType, pending.timeoutMs);
    if (pending.settle !== undefined) {
      pending.settle.reject(error);
    } else {
      this.report(error);
    }
  }

  private connected(): Transport {
    if (this.transport === undefined || !this.helloDone) {
      throw new Error("not connected: call init() and wait for it first");
    }
    return this.transport;
  }

  private send(envelope: Envelope): void {
    this.transport?.send(envelope);
  }

  /** The next id not 0, not the hello's and not awaiting an answer, wrapping past 2^32 - 1. */
  private freeId(): number {
    for (;;) {
      const id = this.nextRequestId;
      this.nextRequestId = id >= 0xffffffff ? HELLO_ID + 1 : id + 1;
      if (!this.pending.has(id)) {
        return id;
      }
    }
  }

  private receive(incoming: Incoming): void {
    this.lastHeard = this.now();
    const { id, response, message } = incoming;
    if (response !== undefined) {
      this.answered(id, response, message);
    } else if (message === undefined) {
      // Neither a request's message nor an answer: as the Rust session does, refused where
      // there is a request id to answer, else dropped.
      if (id === 0) this.dropped(new Error("an envelope with neither a message nor an answer: dropped"));
      else this.answerError(id, ResponseInfo_Code.INVALID_ARG, "a request must carry a message");
    } else if (message.$typeName === `${PLUGIN_PACKAGE}RetryAfter`) {
      this.throttle(id, message as RetryAfter);
    } else if (id === 0) {
      this.notified(message);
    } else {
      this.requested(id, message);
    }
  }

  /** An answer: to the hello, to one of the plugin's requests, or to nothing (dropped). */
  private answered(id: number, response: ResponseInfo, message: Message | undefined): void {
    if (id === HELLO_ID && !this.helloDone && this.hello !== undefined) {
      this.helloAnswered(response, message);
      return;
    }
    const pending = this.pending.get(id);
    if (pending === undefined) {
      this.dropped(new Error(`answer ${id} matches no request in flight: dropped`));
      return;
    }
    this.pending.delete(id);
    this.clock.clearTimeout(pending.timer);
    if (pending.settle !== undefined) {
      pending.settle.resolve({ id, response, message });
      return;
    }
    const callback = this.callbackFor(message);
    this.call(() => callback?.(message!, id));
    this.call(() => this.onResponse?.(id, response, message));
  }

  private helloAnswered(response: ResponseInfo, message: Message | undefined): void {
    const hello = this.hello!;
    this.hello = undefined;
    this.clock.clearTimeout(hello.timer);
    if (response.result === ResponseInfo_Code.SUCCESS && message?.$typeName === `${PLUGIN_PACKAGE}ManagerHello`) {
      this.helloDone = true;
      this.admittedBefore = true;
      this.failures = 0;
      const managerHello = message as ManagerHello;
      this.language = managerHello.languageCode || undefined;
      this.armSilence();
      hello.resolve(managerHello);
      this.call(() => this.onHello?.(managerHello));
      return;
    }
    const code = response.result;
    const refusal = `the manager refused the hello: ${ResponseInfo_Code[code] ?? code}${response.what ? ` (${response.what})` : ""}`;
    hello.reject(new Error(refusal));
    // A refused hello is final, except for a plugin id with a live session (the manager has not
    // seen this plugin's previous process go yet): that one is tried again later.
    if (code !== ResponseInfo_Code.DUPLICATE_NAME) {
      this.stopped = true;
    }
    this.transport?.abort(
      code === ResponseInfo_Code.UNAUTHORIZED && this.admittedBefore
        ? `the host stopped the plugin: ${refusal}`
        : refusal,
    );
  }

  /** A notification: to its callback, or nowhere (a notification never gets an answer). */
  private notified(message: Message | undefined): void {
    this.shown.applyMessage(message);
    const callback = this.callbackFor(message);
    this.call(() => callback?.(message!, 0));
  }

  /** A request: `Ping` answered here, analog updates through their buffer, others to their callback or `NOT_IMPLEMENTED`. */
  private requested(id: number, message: Message | undefined): void {
    if (message?.$typeName === `${PLUGIN_PACKAGE}Ping`) {
      this.send(makeEnvelope(id, makeMessage("Pong"), { result: ResponseInfo_Code.SUCCESS }));
      return;
    }
    const applied = this.shown.applyMessage(message) || isVisibility(message);
    const callback = this.callbackFor(message);
    if (callback === undefined && applied) {
      // The client kept the change in its view: that is the whole of handling it.
      this.send(makeEnvelope(id, undefined, { result: ResponseInfo_Code.SUCCESS }));
      return;
    }
    if (callback === undefined || message === undefined) {
      const what = message === undefined ? "a request with no message" : message.$typeName;
      this.answerError(id, ResponseInfo_Code.NOT_IMPLEMENTED, `the plugin does not handle ${what}`);
      return;
    }
    if (message.$typeName === `${PLUGIN_PACKAGE}UpdateAnalogControl`) {
      const admission = this.buffers.onUpdate(this.now(), id, message as UpdateAnalogControl);
      if (admission.kind === "held") {
        if (admission.superseded !== undefined) {
          // Merged into this one: its movement is not lost, and it gets its answer now.
          this.send(makeEnvelope(admission.superseded, undefined, { result: ResponseInfo_Code.SUCCESS }));
        }
        this.armBuffers();
        return;
      }
      this.dispatch(id, admission.update, callback);
      this.armBuffers();
      return;
    }
    this.dispatch(id, message, callback);
  }

  /** Hands request `id` to its callback; what it returns (or resolves to) answers it. */
  private dispatch(id: number, message: Message, callback: (message: Message, id: number) => unknown): void {
    this.toAnswer.add(id);
    let result: unknown;
    try {
      result = callback(message, id);
    } catch (error) {
      this.callbackFailed(id, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (answer: Answer) => this.answerWith(id, answer),
        (error: unknown) => this.callbackFailed(id, error),
      );
    } else {
      this.answerWith(id, result as Answer);
    }
  }

  /** Sends what a callback returned as the answer to `id`, unless it returned nothing. */
  private answerWith(id: number, answer: Answer): void {
    if (answer === undefined || !this.toAnswer.has(id)) {
      return;
    }
    this.answer(id, answer, { result: ResponseInfo_Code.SUCCESS });
  }

  /** Sends the plugin's answer to request `id` (never held), and lets the buffers release what waited on it. */
  private answer(id: number, message: Message | undefined, info: { result: ResponseInfo_Code; what?: string }): void {
    this.toAnswer.delete(id);
    this.send(makeEnvelope(id, message, info));
    // A throughput buffer releases its merged update once the one before is answered.
    this.buffers.onResponse(this.now(), id);
    this.deliverBuffered();
  }

  /** Hands the plugin the merged updates the buffers have ready. */
  private deliverBuffered(): void {
    if (this.delivering) {
      // A callback answering synchronously lands here; the loop below picks up what it released.
      return;
    }
    this.delivering = true;
    try {
      for (let ready = this.buffers.pollReady(this.now()); ready !== undefined; ready = this.buffers.pollReady(this.now())) {
        const [id, update] = ready;
        const callback = this.callbackFor(update);
        if (callback === undefined) {
          this.answerError(id, ResponseInfo_Code.NOT_IMPLEMENTED, `the plugin does not handle ${update.$typeName}`);
        } else {
          this.dispatch(id, update, callback);
        }
      }
    } finally {
      this.delivering = false;
    }
    this.armBuffers();
  }

  /** Sets the buffers' timer to when they next have work. */
  private armBuffers(): void {
    this.clock.clearTimeout(this.timers.buffers);
    this.timers.buffers = undefined;
    const at = this.buffers.pollTimeout();
    if (at === undefined || this.transport === undefined) {
      return;
    }
    this.timers.buffers = this.clock.setTimeout(() => {
      this.timers.buffers = undefined;
      this.buffers.handleTimeout(this.now());
      this.deliverBuffered();
    }, Math.max(0, at - this.now()));
  }

  /**
   * `RetryAfter` (seed 5.8): holds back what the plugin starts for `interval` ms, extending a hold
   * in force; a request form is answered at once. Answers and `Pong` are never held.
   */
  private throttle(id: number, retry: RetryAfter): void {
    this.stats.retryAfter++;
    const until = Math.max(this.holdUntil ?? 0, this.now() + retry.interval);
    this.holdUntil = until;
    this.clock.clearTimeout(this.timers.hold);
    this.timers.hold = this.clock.setTimeout(() => this.releaseHeld(), Math.max(0, until - this.now()));
    if (id !== 0) {
      this.send(makeEnvelope(id, undefined, { result: ResponseInfo_Code.SUCCESS }));
    }
    this.call(() => this.onRetryAfter?.(retry));
  }

  /** The hold's window ended: what waited goes out, in order. */
  private releaseHeld(): void {
    this.timers.hold = undefined;
    this.holdUntil = undefined;
    for (const held of this.held.splice(0)) {
      this.send(held.envelope);
    }
  }

  /** Sets the silence timer to the moment the manager counts as gone if nothing more is heard. */
  private armSilence(): void {
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    const limit = interval * (this.options.missedHeartbeats ?? DEFAULT_MISSED_HEARTBEATS);
    this.clock.clearTimeout(this.timers.silence);
    this.timers.silence = this.clock.setTimeout(() => {
      this.timers.silence = undefined;
      if (!this.helloDone || this.transport === undefined) {
        return;
      }
      const now = this.now();
      const deadline = this.lastHeard + limit;
      if (now >= deadline + interval) {
        // Time jumped far past the deadline: this machine slept, and the manager had no chance
        // to be heard. It gets one more heartbeat interval from now.
        this.lastHeard = now - (limit - interval);
        this.stats.reprobes++;
      } else if (now >= deadline) {
        this.transport.abort(
          `the manager was silent for ${Math.round(now - this.lastHeard)} ms: no Ping within ${this.options.missedHeartbeats ?? DEFAULT_MISSED_HEARTBEATS} heartbeat intervals of ${interval} ms`,
        );
        return;
      }
      this.armSilence();
    }, Math.max(0, this.lastHeard + limit - this.now()));
  }

  /** A callback threw: reported, and its request (if still open) answered `EXCEPTION`. */
  private callbackFailed(id: number, error: unknown): void {
    this.stats.callbackErrors++;
    if (this.toAnswer.has(id)) {
      this.answerError(id, ResponseInfo_Code.EXCEPTION, `the plugin failed: ${describe(error)}`);
    }
    this.report(error instanceof Error ? error : new Error(describe(error)));
  }

  /** The callback `on<Name>` for a plugin-protocol message, if the plugin set one. */
  private callbackFor(message: Message | undefined): ((message: Message, id: number) => unknown) | undefined {
    if (message === undefined) {
      return undefined;
    }
    if (!message.$typeName.startsWith(PLUGIN_PACKAGE)) {
      return undefined;
    }
    const name = `on${message.$typeName.slice(PLUGIN_PACKAGE.length)}`;
    const callback = (this as unknown as Record<string, unknown>)[name];
    return typeof callback === "function"
      ? (callback.bind(this) as (message: Message, id: number) => unknown)
      : undefined;
  }

  /** Runs a notification's or answer's callback; what it throws is reported, never thrown on. */
  private call(run: () => unknown): void {
    try {
      run();
    } catch (error) {
      this.stats.callbackErrors++;
      this.report(error instanceof Error ? error : new Error(describe(error)));
    }
  }

  private answerError(id: number, code: ResponseInfo_Code, what: string): void {
    this.stats.errorAnswers++;
    this.answer(id, undefined, { result: code, what: boundedText(what) });
  }

  /** Bad input: an error answer where there is a request to answer, else a counted drop. */
  private badInput(error: EnvelopeError | MessageError): void {
    // Bad input is still a word from the manager: it is not silent.
    this.lastHeard = this.now();
    if (error instanceof EnvelopeError) {
      // The id cannot be trusted: id 0 says which frame is meant as well as can be.
      this.stats.unreadable++;
      this.send(makeEnvelope(0, undefined, { result: ResponseInfo_Code.INVALID_ARG, what: boundedText(error.message) }));
      this.report(error);
    } else if (!error.isResponse && error.id !== 0) {
      this.answerError(error.id, error.code, error.message);
      this.report(error);
    } else {
      this.dropped(error);
    }
  }

  private dropped(error: Error): void {
    this.stats.dropped++;
    this.report(error);
  }

  private report(error: Error): void {
    try {
      this.onError?.(error);
    } catch {
      // A failing error callback has nowhere left to report to; the plugin goes on.
    }
  }

  /** The connection ended: what was in flight on it fails naming why, then the client reconnects or stops. */
  private closed(reason: string): void {
    this.generation++;
    if (this.hello !== undefined) {
      this.clock.clearTimeout(this.hello.timer);
      this.hello.reject(new Error(`the connection ended before the manager answered the hello: ${reason}`));
      this.hello = undefined;
    }
    const wasConnected = this.transport !== undefined;
    this.transport = undefined;
    this.helloDone = false;
    for (const name of ["hold", "silence", "buffers"] as const) {
      this.clock.clearTimeout(this.timers[name]);
      this.timers[name] = undefined;
    }
    this.holdUntil = undefined;
    // Held statuses are not sent on the next connection: its resync asks for them again.
    this.held.length = 0;
    this.buffers.reset();
    this.toAnswer.clear();
    const lost = [...this.pending];
    this.pending.clear();
    for (const [id, pending] of lost) {
      this.clock.clearTimeout(pending.timer);
      const error = new RequestClosedError(id, pending.messageType, reason);
      if (pending.settle !== undefined) {
        pending.settle.reject(error);
      } else {
        this.report(error);
      }
    }
    if (wasConnected) {
      this.call(() => this.onClose?.(reason));
    }
    if (this.stopped || this.options.reconnect === false || !this.admittedBefore) {
      if (this.admittedBefore || this.stopped) {
        this.stop(reason);
      }
      return;
    }
    this.scheduleReconnect();
  }

  /** Waits the backoff's delay, then connects again with a fresh hello; failures wait longer, up to the cap. */
  private scheduleReconnect(): void {
    const delay = backoffDelay(this.options.reconnect || {}, this.failures);
    this.failures++;
    this.timers.reconnect = this.clock.setTimeout(() => {
      this.timers.reconnect = undefined;
      if (this.stopped) {
        return;
      }
      this.stats.reconnects++;
      this.open().catch((error: unknown) => {
        // A connection that opened and then ended has been rescheduled by `closed` already.
        if (this.transport === undefined && this.timers.reconnect === undefined && !this.stopped) {
          // No connection came of it (a refused connect): try again later.
          this.report(error instanceof Error ? error : new Error(describe(error)));
          this.scheduleReconnect();
        }
      });
    }, delay);
  }

  /** The client stopped for good. */
  private stop(reason: string): void {
    this.clock.clearTimeout(this.timers.reconnect);
    this.timers.reconnect = undefined;
    this.stopped = true;
    this.call(() => this.onStopped?.(reason));
  }
}

/** Throws a `RangeError` naming `id` unless it is a uint32. */
function checkId(id: number): void {
  if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw new RangeError(`message id ${id} is not a whole number from 0 to 4294967295`);
  }
}

/** The `ResponseInfo` of an answer: `SUCCESS`, or `err`'s code (default `FAULTED`) and text. */
function responseInfo(err: ErrorAnswer | Error | string | null | undefined): {
  result: ResponseInfo_Code;
  what?: string;
} {
  if (err == null) {
    return { result: ResponseInfo_Code.SUCCESS };
  }
  if (typeof err === "string") {
    return { result: ResponseInfo_Code.FAULTED, what: err };
  }
  const answer = err as ErrorAnswer;
  const code = typeof answer.code === "string" ? ResponseInfo_Code[answer.code] : answer.code;
  if (answer.code !== undefined && (code === undefined || ResponseInfo_Code[code] === undefined)) {
    throw new RangeError(`error code ${JSON.stringify(answer.code)} is not a ResponseInfo.Code`);
  }
  if (code === ResponseInfo_Code.SUCCESS) {
    throw new RangeError("an error answer cannot carry SUCCESS: pass no err for a successful answer");
  }
  return { result: code ?? ResponseInfo_Code.FAULTED, what: answer.what ?? answer.message ?? "" };
}

/** The status instance a message sets, for `RetryAfter`'s coalescing: one key per kind and instance. */
function statusInstance(message: Message): string | undefined {
  switch (message.$typeName) {
    case `${PLUGIN_PACKAGE}ActionCellStatus`:
      return `action ${(message as ActionCellStatus).actionInstanceId}`;
    case `${PLUGIN_PACKAGE}AnalogControlStatus`:
      return `analog ${(message as AnalogControlStatus).analogControlInstanceId}`;
    default:
      return undefined;
  }
}

/** Whether `message` is a visibility change, which the client's view handles. */
function isVisibility(message: Message | undefined): boolean {
  return (
    message?.$typeName === `${PLUGIN_PACKAGE}VisibilityChanged` ||
    message?.$typeName === `${PLUGIN_PACKAGE}VisibilityChangedList`
  );
}

/** The longest description, in UTF-8 bytes, the client puts in an answer it makes itself. */
const MAX_ANSWER_TEXT = 1024;

/**
 * `text` cut to {@link MAX_ANSWER_TEXT} bytes at a character boundary, ending `...` when cut (the
 * Rust session's rule): a description can quote what the manager sent (a type URL), which must
 * not make the answer larger than a frame.
 */
function boundedText(text: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= MAX_ANSWER_TEXT) return text;
  let kept = "";
  let length = 0;
  for (const character of text) {
    const size = encoder.encode(character).length;
    if (length + size > MAX_ANSWER_TEXT - 3) break;
    kept += character;
    length += size;
  }
  return `${kept}...`;
}
