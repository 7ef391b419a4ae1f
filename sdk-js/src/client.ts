/**
 * The seed's chapter 8 `Client`: a plugin creates one with its id, code and version, calls
 * {@link Client.init}, assigns the callbacks it needs (`onTriggerAction`, ...) and answers the
 * manager's requests with {@link Client.sendResponseMessage}. The client says hello, answers
 * `Ping` with `Pong`, answers `NOT_IMPLEMENTED` to a request it has no callback for, and turns
 * bad input from the wire into an error answer or a counted drop, never an exception.
 *
 * Not here yet (issue 29, later work): the handler API mirroring the Rust SDK, typed settings,
 * `RetryAfter` holding, analog buffering, request timeouts, reconnect, the silence check.
 *
 * @module
 */

import { ResponseInfo_Code } from "../gen/logi/plugin/protocol/protocol_pb.js";
import type {
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
import { connect, type Transport } from "./transport.js";
import type { Message } from "@bufbuild/protobuf";

/** The protocol version this client speaks (the core's `PROTOCOL_VERSION`). */
export const PROTOCOL_VERSION = 1;

/** The package whose messages have callbacks, `on<Name>`. */
const PLUGIN_PACKAGE = "logi.plugin.protocol.";

/** The id of the hello: the first request of every connection. */
const HELLO_ID = 1;

/** What `new Client(...)` takes (seed ch. 8: `pluginId`, `pluginCode`, `pluginVersion`). */
export interface ClientOptions {
  /** The plugin's id, as in its manifest. */
  pluginId: string;
  /** The per-launch secret; defaults to the `token` environment variable the host sets. */
  pluginCode?: string;
  /** The plugin's version. */
  pluginVersion: string;
  /** A local-socket path or `ws://` URL; defaults to `LOGI_PLUGIN_ENDPOINT`, else the default local socket. */
  endpoint?: string;
  /** Over WebSocket, JSON text frames instead of binary protobuf (seed 7.1.2). */
  useTextFormat?: boolean;
  /** The largest frame each way, in bytes (default 8 MiB, the manager's limit). */
  maxFrameLen?: number;
}

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

/** What went wrong on the wire, counted. */
export interface ClientStats {
  /** Frames that were no envelope (answered `INVALID_ARG` with id 0). */
  unreadable: number;
  /** Requests answered with an error by the client itself: unknown types, bad bodies, no callback, a callback that threw. */
  errorAnswers: number;
  /** Responses and notifications dropped: unreadable messages, responses matching no request. */
  dropped: number;
  /** Exceptions thrown by callbacks (each also reported to `onError`). */
  callbackErrors: number;
}

/** The seed's ch. 8 JavaScript plugin client. */
export class Client {
  /** Called once the manager accepts the hello (seed: `onHello`). */
  onHello?: (hello: ManagerHello) => void;
  /** An action was pressed. */
  onTriggerAction?: RequestCallback<TriggerAction>;
  /** An action was released. */
  onReleaseAction?: RequestCallback<ReleaseAction>;
  /** An analog control moved. */
  onUpdateAnalogControl?: RequestCallback<UpdateAnalogControl>;
  /** The manager asks an analog control's value. */
  onGetAnalogControlValue?: RequestCallback<GetAnalogControlValue>;
  /** An action or control instance was shown or hidden. */
  onVisibilityChanged?: RequestCallback<VisibilityChanged>;
  /** Several visibility changes at once (the manager's resync after a reconnect). */
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
  /** The manager asks the plugin to wait `interval` ms before sending more (notification). */
  onRetryAfter?: (message: RetryAfter) => void;
  /** The settings the manager stores for the plugin, after the hello (notification). */
  onSavedData?: (message: SavedData) => void;
  /** A setting: the answer to the plugin's `SettingsRequest` or `Settings` write, with its request id. */
  onSettings?: (message: Settings, id: number) => void;
  /** A `SettingsRequest` received (the seed lists the callback; the manager does not send one). */
  onSettingsRequest?: RequestCallback<SettingsRequest>;
  /** Any answer to a request the plugin sent with {@link sendMessage}, after its typed callback. */
  onResponse?: (id: number, response: ResponseInfo, message: Message | undefined) => void;
  /** Bad input from the wire, a callback that threw, a refused answer: for the plugin's log. */
  onError?: (error: Error) => void;
  /** The connection ended; `reason` says why. */
  onClose?: (reason: string) => void;

  /** What went wrong on the wire, counted. */
  readonly stats: ClientStats = { unreadable: 0, errorAnswers: 0, dropped: 0, callbackErrors: 0 };

  private readonly options: ClientOptions;
  private transport: Transport | undefined;
  private helloDone = false;
  private language: string | undefined;
  /** The plugin's requests awaiting an answer. */
  private readonly awaitingAnswer = new Set<number>();
  /** The manager's requests the plugin has not answered yet. */
  private readonly toAnswer = new Set<number>();
  private nextRequestId = HELLO_ID + 1;
  private hello:
    | { resolve: (hello: ManagerHello) => void; reject: (error: Error) => void }
    | undefined;

  /** A client for the plugin `pluginId`; nothing is sent before {@link init}. */
  constructor(options: ClientOptions) {
    this.options = { ...options };
  }

  /** Whether the client is connected and past the hello. */
  get isConnected(): boolean {
    return this.transport !== undefined && this.helloDone;
  }

  /** The language the manager said it uses (`ManagerHello.language_code`). */
  get languageCode(): string | undefined {
    return this.language;
  }

  /** How the connection carries envelopes, once open: `binary` or `json`. */
  get format(): "binary" | "json" | undefined {
    return this.transport?.format;
  }

  /**
   * Connects and says hello; resolves with the manager's `ManagerHello`. Rejects, naming what,
   * when there is no code, the endpoint cannot be reached, or the manager refuses the hello
   * (the connection is then closed).
   */
  async init(): Promise<ManagerHello> {
    if (this.transport !== undefined) {
      throw new Error("init() was already called on this client");
    }
    const code = this.options.pluginCode ?? tokenFromEnv();
    if (!code) {
      throw new Error(
        `no plugin code: pass pluginCode, or launch the plugin from the host, which sets the \`${TOKEN_ENV}\` environment variable`,
      );
    }
    const endpoint: Endpoint = this.options.endpoint
      ? parseEndpoint(this.options.endpoint)
      : endpointFromEnv();
    const answered = new Promise<ManagerHello>((resolve, reject) => {
      this.hello = { resolve, reject };
    });
    this.transport = await connect(
      endpoint,
      { useTextFormat: this.options.useTextFormat ?? false, maxFrameLen: this.options.maxFrameLen },
      {
        incoming: (incoming) => this.receive(incoming),
        badInput: (error) => this.badInput(error),
        closed: (reason) => this.closed(reason),
      },
    );
    this.send(
      makeEnvelope(
        HELLO_ID,
        makeMessage("PluginHello", {
          pluginId: this.options.pluginId,
          pluginCode: code,
          pluginVersion: this.options.pluginVersion,
          protocolVersion: PROTOCOL_VERSION,
        }),
      ),
    );
    return answered;
  }

  /**
   * Sends a message the plugin starts (seed 8.1): `type` names it (`"ActionCellStatus"`, a full
   * name, or a schema), `obj` holds its fields. `id` 0 sends a notification (a status update, a
   * log event); another id sends a request whose answer comes to the typed callback
   * (`onSettings`) and `onResponse`; `undefined` or `null` takes the next free id. Returns the id.
   */
  sendMessage(type: TypeRef, id: number | null | undefined, obj?: object): number {
    const message = makeMessage(type, obj);
    this.connected();
    let requestId = id ?? this.freeId();
    checkId(requestId);
    if (requestId !== 0) {
      if (requestId === HELLO_ID || this.awaitingAnswer.has(requestId)) {
        throw new Error(`request id ${requestId} is already in use: choose another, or pass null`);
      }
      this.awaitingAnswer.add(requestId);
    }
    this.send(makeEnvelope(requestId, message));
    return requestId;
  }

  /**
   * Answers the manager's request `id` (seed 8.2): with `obj` of `type` and `SUCCESS`, or, when
   * `err` is given, with its error code and text (no message). `type` may be `null` for a bare
   * answer. Throws when request `id` is not waiting for an answer.
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
    this.toAnswer.delete(id);
    this.send(makeEnvelope(id, message, responseInfo(err)));
  }

  /** Closes the connection; `onClose` follows. */
  close(): void {
    this.transport?.close();
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
      if (!this.awaitingAnswer.has(id)) {
        return id;
      }
    }
  }

  private receive(incoming: Incoming): void {
    const { id, response, message } = incoming;
    if (response !== undefined) {
      this.answered(id, response, message);
    } else if (id === 0) {
      this.notified(message);
    } else {
      this.requested(id, message);
    }
  }

  /** An answer: to the hello, to one of the plugin's requests, or to nothing (dropped). */
  private answered(id: number, response: ResponseInfo, message: Message | undefined): void {
    if (id === HELLO_ID && !this.helloDone) {
      const hello = this.hello;
      this.hello = undefined;
      if (response.result === ResponseInfo_Code.SUCCESS && message?.$typeName === `${PLUGIN_PACKAGE}ManagerHello`) {
        this.helloDone = true;
        const managerHello = message as ManagerHello;
        this.language = managerHello.languageCode || undefined;
        hello?.resolve(managerHello);
        this.call(() => this.onHello?.(managerHello));
      } else {
        hello?.reject(
          new Error(
            `the manager refused the hello: ${ResponseInfo_Code[response.result] ?? response.result}${response.what ? ` (${response.what})` : ""}`,
          ),
        );
        this.transport?.close();
      }
      return;
    }
    if (!this.awaitingAnswer.delete(id)) {
      this.dropped(new Error(`answer ${id} matches no request in flight: dropped`));
      return;
    }
    const callback = this.callbackFor(message);
    this.call(() => callback?.(message!, id));
    this.call(() => this.onResponse?.(id, response, message));
  }

  /** A notification: to its callback, or nowhere (a notification never gets an answer). */
  private notified(message: Message | undefined): void {
    const callback = this.callbackFor(message);
    this.call(() => callback?.(message!, 0));
  }

  /** A request: `Ping` answered here, others to their callback or `NOT_IMPLEMENTED`. */
  private requested(id: number, message: Message | undefined): void {
    if (message?.$typeName === `${PLUGIN_PACKAGE}Ping`) {
      this.send(makeEnvelope(id, makeMessage("Pong"), { result: ResponseInfo_Code.SUCCESS }));
      return;
    }
    const callback = this.callbackFor(message);
    if (callback === undefined || message === undefined) {
      const what = message === undefined ? "a request with no message" : message.$typeName;
      this.answerError(id, ResponseInfo_Code.NOT_IMPLEMENTED, `the plugin does not handle ${what}`);
      return;
    }
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
    this.toAnswer.delete(id);
    this.send(makeEnvelope(id, answer, { result: ResponseInfo_Code.SUCCESS }));
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
    this.toAnswer.delete(id);
    this.stats.errorAnswers++;
    this.send(makeEnvelope(id, undefined, { result: code, what }));
  }

  /** Bad input: an error answer where there is a request to answer, else a counted drop. */
  private badInput(error: EnvelopeError | MessageError): void {
    if (error instanceof EnvelopeError) {
      // The id cannot be trusted: id 0 says which frame is meant as well as can be.
      this.stats.unreadable++;
      this.send(makeEnvelope(0, undefined, { result: ResponseInfo_Code.INVALID_ARG, what: error.message }));
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

  private closed(reason: string): void {
    this.hello?.reject(new Error(`the connection ended before the manager answered the hello: ${reason}`));
    this.hello = undefined;
    this.transport = undefined;
    this.helloDone = false;
    this.awaitingAnswer.clear();
    this.toAnswer.clear();
    this.call(() => this.onClose?.(reason));
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
