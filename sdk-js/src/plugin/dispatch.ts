/**
 * The manager's requests turned into calls of the plugin's hooks, and their statuses into
 * answers (the Rust SDK's `plugin::dispatch`); no IO, so the run loop and its tests share it. A
 * call works on a copy of the settings; what it changed becomes the writes of its
 * {@link Outcome}, and the copy is kept ({@link Dispatch.commit}) only once the manager has
 * stored them.
 *
 * @module
 */

import type { Message } from "@bufbuild/protobuf";

import {
  ActionCellStatus_IMAGE_TYPE,
  AnalogControlStatus_IMAGE_TYPE,
  ResponseInfo_Code,
  type ActionCellStatus,
  type AnalogControlStatus,
  type GetAnalogControlValue,
  type InitLogin,
  type Logout,
  type ManagerHello,
  type OauthResponse,
  type PluginActionConfigurationResponse,
  type PluginActionConfigurationSchemeRequest,
  type ReleaseAction,
  type SavedData,
  type Settings,
  type TriggerAction,
  type UpdateAnalogControl,
  type VisibilityChanged,
  type VisibilityChangedList,
} from "../../gen/logi/plugin/protocol/protocol_pb.js";
import { describe, makeMessage } from "../codec.js";
import { Refusal, Status, type Action, type AnalogControl, type Cx, type Login, type Turn } from "./handler.js";
import type { Logger } from "./logger.js";
import { PLUGIN_SETTING, Stored, copy, decode, encode, instanceSetting, type Write } from "./settings.js";

/** The package of the plugin protocol's messages. */
const PACKAGE = "logi.plugin.protocol.";

/** An answer: `SUCCESS` with a message or none, or an error code and why. */
export type Reply = { message?: Message; error?: undefined } | { message?: undefined; error: { code: ResponseInfo_Code; why: string } };

/** A request handled: its answer, the settings to store before it leaves, and the plugin's settings as the call left them. */
export interface Outcome<S> {
  /** The answer. */
  reply: Reply;
  /** The settings to store first, in order. */
  writes: Write[];
  /** The plugin's settings as the call left them. */
  settings: S;
}

/** The plugin's hooks, and what it knows of the manager. */
export class Dispatch<S> {
  /** What the manager holds. */
  readonly stored = new Stored();
  /** The actions, by id. */
  readonly actions = new Map<string, Action<S>>();
  /** The analog controls, by id. */
  readonly controls = new Map<string, AnalogControl<S>>();
  /** The account hooks, if any. */
  login: Login<S> | undefined;
  private settings: S;
  private language = "en-US";

  /** A dispatcher with no hooks; `defaults` are the plugin's settings before any is stored. */
  constructor(
    private readonly defaults: S,
    private readonly log: Logger,
  ) {
    this.settings = copy(defaults);
  }

  /** The message types the plugin answers; the client answers any other `NOT_IMPLEMENTED`. */
  handles(): string[] {
    const handles = ["VisibilityChanged", "VisibilityChangedList", "PluginActionConfigurationSchemeRequest", "PluginActionConfigurationResponse"];
    if (this.actions.size > 0) {
      handles.push("TriggerAction", "ReleaseAction");
    }
    if (this.controls.size > 0) {
      handles.push("UpdateAnalogControl", "GetAnalogControlValue");
    }
    if (this.login !== undefined) {
      handles.push("InitLogin", "OauthResponse", "Logout", "GetUserInfoList");
    }
    return handles;
  }

  /** The controls' buffers' keys, for the client's control buffering (those with none left out). */
  buffering(): Record<string, string> {
    const buffering: Record<string, string> = {};
    for (const [id, control] of this.controls) {
      const buffer = control.buffer ?? "throughput";
      if (buffer !== "none") {
        buffering[id] = buffer;
      }
    }
    return buffering;
  }

  /** The manager said hello: its language from now on. */
  connected(hello: ManagerHello): void {
    if (hello.languageCode !== "") {
      this.language = hello.languageCode;
    }
  }

  /** Everything the manager holds for the plugin (after each hello). */
  saved(saved: SavedData): void {
    this.stored.replace(saved);
    this.settings = decode(this.stored.value(PLUGIN_SETTING), this.defaults);
  }

  /** One setting as the manager now holds it. */
  storedSetting(setting: Settings): void {
    this.stored.set(setting);
    if (setting.settingName === PLUGIN_SETTING) {
      this.settings = decode(setting.settingValue, this.defaults);
    }
  }

  /** Keeps the settings a call left, once the manager has stored its writes. */
  commit(settings: S): void {
    this.settings = settings;
  }

  /** Answers a request of the manager's. */
  async handle(message: Message): Promise<Outcome<S>> {
    const call = new Call(this.stored, copy(this.settings), this.defaults, this.language, this.log);
    const reply = await this.reply(call, message);
    return { reply, writes: call.writes, settings: call.settings };
  }

  private async reply(call: Call<S>, message: Message): Promise<Reply> {
    switch (message.$typeName.slice(PACKAGE.length)) {
      case "TriggerAction":
      case "ReleaseAction": {
        const m = message as TriggerAction | ReleaseAction;
        const action = this.actions.get(m.actionId);
        if (action === undefined) {
          return unknown("action", m.actionId);
        }
        const down = message.$typeName.endsWith("TriggerAction");
        const status = await call.shows(`${down ? "keyDown" : "keyUp"} of action ${JSON.stringify(action.id)}`, m.actionInstanceId, (cx) =>
          down
            ? action.keyDown === undefined
              ? Refusal.notImplemented("a key press (TriggerAction)")
              : action.keyDown(cx)
            : action.keyUp?.(cx),
        );
        return answer(status, (s) => actionStatus(s, action.id, m.actionInstanceId));
      }
      case "UpdateAnalogControl":
      case "GetAnalogControlValue": {
        const m = message as UpdateAnalogControl | GetAnalogControlValue;
        const control = this.controls.get(m.analogControlId);
        if (control === undefined) {
          return unknown("control", m.analogControlId);
        }
        const status =
          "updateType" in m
            ? await call.shows(`turned of control ${JSON.stringify(control.id)}`, m.instanceId, (cx) =>
                control.turned === undefined ? Refusal.notImplemented("a control's update (UpdateAnalogControl)") : control.turned(cx, turn(m)),
              )
            : await call.shows(`value of control ${JSON.stringify(control.id)}`, m.instanceId, (cx) =>
                control.value === undefined ? Refusal.notImplemented("a control's value (GetAnalogControlValue)") : control.value(cx),
              );
        return answer(status, (s) => controlStatus(s, control.id, m.instanceId));
      }
      case "VisibilityChanged": {
        const shown = await this.shown(call, message as VisibilityChanged);
        if (shown instanceof Refusal) {
          return refused(shown);
        }
        return { message: shown };
      }
      case "VisibilityChangedList": {
        const statuses: AnalogControlStatus[] = [];
        const actionStatuses: ActionCellStatus[] = [];
        for (const change of (message as VisibilityChangedList).visibility) {
          const shown = await this.shown(call, change);
          if (shown === undefined || shown instanceof Refusal) {
            // Hidden, or refused: the list answers for the instances that show something.
            continue;
          }
          if (shown.$typeName === `${PACKAGE}ActionCellStatus`) {
            actionStatuses.push(shown as ActionCellStatus);
          } else if (shown.$typeName === `${PACKAGE}AnalogControlStatus`) {
            statuses.push(shown as AnalogControlStatus);
          }
        }
        return { message: makeMessage("AnalogControlStatusList", { statuses, actionStatuses }) };
      }
      case "PluginActionConfigurationSchemeRequest": {
        const request = message as PluginActionConfigurationSchemeRequest;
        const handler = this.actions.get(request.actionId) ?? this.controls.get(request.analogControlId);
        const scheme = await call.run(`configurationScheme of ${JSON.stringify(handler?.id)}`, request.actionInstanceId, (cx) => handler?.configurationScheme?.(cx));
        if (scheme instanceof Refusal) {
          return refused(scheme);
        }
        if (scheme === undefined || scheme === null) {
          return refused(Refusal.notImplemented("a configuration form"));
        }
        return {
          message: makeMessage("PluginActionConfigurationSchemeResponse", {
            actionId: request.actionId,
            analogControlId: request.analogControlId,
            actionInstanceId: request.actionInstanceId,
            jsonSchema: typeof scheme === "string" ? scheme : encode(scheme),
          }),
        };
      }
      case "PluginActionConfigurationResponse": {
        // Seed 5.15 has one id field: an action's or a control's.
        const form = message as PluginActionConfigurationResponse;
        let value: unknown;
        try {
          value = JSON.parse(form.formResult);
        } catch (error) {
          return refused(new Refusal("INVALID_ARG", `the form is not JSON: ${describe(error)}`));
        }
        const handler = this.actions.get(form.actionId) ?? this.controls.get(form.actionId);
        if (handler === undefined) {
          return refused(new Refusal("NOT_FOUND", `this plugin has no action or control ${JSON.stringify(form.actionId)}`));
        }
        return done(
          await call.run(`configured of ${JSON.stringify(handler.id)}`, form.actionInstanceId, (cx) =>
            handler.configured === undefined ? Refusal.notImplemented("a configuration form") : handler.configured(cx, value),
          ),
        );
      }
      case "InitLogin": {
        const login = this.login?.login?.bind(this.login);
        const url = (message as InitLogin).redirectUrl;
        return done(await call.run("login", "", (cx) => (login === undefined ? Refusal.notImplemented("a login (InitLogin)") : login(cx, url))));
      }
      case "OauthResponse": {
        const token = this.login?.token?.bind(this.login);
        const m = message as OauthResponse;
        return done(await call.run("token", "", (cx) => (token === undefined ? Refusal.notImplemented("a token (OauthResponse)") : token(cx, m.state, m.token))));
      }
      case "Logout": {
        const logout = this.login?.logout?.bind(this.login);
        const username = (message as Logout).username;
        return done(await call.run("logout", "", (cx) => (logout === undefined ? Refusal.notImplemented("a logout (Logout)") : logout(cx, username))));
      }
      case "GetUserInfoList": {
        if (this.login === undefined) {
          return refused(Refusal.notImplemented("a user list (GetUserInfoList)"));
        }
        const users = await call.run("users", "", (cx) => this.login?.users?.(cx) ?? []);
        if (users instanceof Refusal) {
          return refused(users);
        }
        return { message: makeMessage("UserInfoList", { userInfo: users }) };
      }
      default:
        return refused(Refusal.notImplemented(message.$typeName));
    }
  }

  /** Tells the hook of a shown or hidden instance; the status of one shown, or its refusal. */
  private async shown(call: Call<S>, change: VisibilityChanged): Promise<Message | Refusal | undefined> {
    const id = change.controlId;
    const instance = change.actionInstanceId;
    const action = this.actions.get(id);
    const control = action === undefined ? this.controls.get(id) : undefined;
    const handler = action ?? control;
    if (handler === undefined) {
      return undefined;
    }
    const kind = action !== undefined ? "action" : "control";
    if (!change.visible) {
      const hidden = await call.run(`disappeared of ${kind} ${JSON.stringify(id)}`, instance, (cx) => handler.disappeared?.(cx));
      return hidden instanceof Refusal ? hidden : undefined;
    }
    const status = await call.shows(`appeared of ${kind} ${JSON.stringify(id)}`, instance, (cx) => handler.appeared?.(cx));
    if (status instanceof Refusal) {
      return status;
    }
    return action !== undefined ? actionStatus(status, id, instance) : controlStatus(status, id, instance);
  }
}

/** One request's calls: a copy of the settings they change, and the writes they need. */
class Call<S> {
  /** The settings to store before the answer leaves, in order, the latest of each name. */
  readonly writes: Write[] = [];

  constructor(
    private readonly stored: Stored,
    public settings: S,
    private readonly defaults: S,
    private readonly language: string,
    private readonly log: Logger,
  ) {}

  /** Runs a hook that shows a status: its status (none when it returned nothing), or its refusal. */
  async shows(hook: string, instanceId: string, run: (cx: Cx<S>) => Promise<Status | Refusal | void> | Status | Refusal | void): Promise<Status | Refusal> {
    const result = await this.run(hook, instanceId, run);
    return result instanceof Refusal ? result : (result ?? Status.none());
  }

  /**
   * Runs `hook` for `instanceId`, noting the writes of what it changed. A refusal it throws is
   * returned; another exception is logged and returned as an `EXCEPTION` refusal, its changes
   * dropped.
   */
  async run<R>(hook: string, instanceId: string, run: (cx: Cx<S>) => R | Promise<R>): Promise<R | Refusal> {
    const name = instanceSetting(instanceId);
    const held = this.stored.value(name);
    let instance: { value: object; read: string } | undefined;
    const before = encode(this.settings);
    const call = this;
    const cx: Cx<S> = {
      get settings() {
        return call.settings;
      },
      set settings(settings: S) {
        call.settings = settings;
      },
      instanceId,
      language: this.language,
      log: this.log,
      instance<T extends object>(defaults?: T): T {
        if (instance === undefined) {
          const value = decode<object>(held, defaults ?? {});
          instance = { value, read: encode(value) };
        }
        return instance.value as T;
      },
    };
    let result: R;
    try {
      result = await run(cx);
    } catch (error) {
      if (error instanceof Refusal) {
        return error;
      }
      const why = `${hook} failed: ${describe(error)}`;
      this.log.error(why);
      this.settings = decode(before, this.defaults);
      return new Refusal("EXCEPTION", why);
    }
    if (instance !== undefined) {
      const now = encode(instance.value);
      if (now !== instance.read) {
        this.note(name, now);
      }
    }
    const after = encode(this.settings);
    if (after !== before) {
      this.note(PLUGIN_SETTING, after);
    }
    return result;
  }

  /** Notes a write of `value` under `name` (the latest one, when a request writes twice). */
  private note(name: string, value: string): void {
    const at = this.writes.findIndex((write) => write.settingName === name);
    if (at >= 0) {
      this.writes.splice(at, 1);
    }
    const write = this.stored.write(name, value);
    if (write !== undefined) {
      this.writes.push(write);
    }
  }
}

/** A turn as the hook gets it. */
function turn(update: UpdateAnalogControl): Turn {
  switch (update.updateType.case) {
    case "delta":
      return { delta: update.updateType.value };
    case "value":
      return { delta: 0, value: update.updateType.value };
    default:
      return { delta: 0 };
  }
}

/** `SUCCESS`, with the status if there is one to show, or the refusal. */
function answer(status: Status | Refusal, message: (status: Status) => Message): Reply {
  if (status instanceof Refusal) {
    return refused(status);
  }
  return status.isNone ? {} : { message: message(status) };
}

/** `SUCCESS`, or the refusal. */
function done(result: unknown): Reply {
  return result instanceof Refusal ? refused(result) : {};
}

function refused(refusal: Refusal): Reply {
  return { error: { code: refusal.code, why: refusal.why } };
}

function unknown(kind: string, id: string): Reply {
  return refused(new Refusal("NOT_FOUND", `this plugin has no ${kind} ${JSON.stringify(id)}`));
}

function actionStatus(status: Status, actionId: string, instanceId: string): ActionCellStatus {
  const { image, base64 } = imageOf(status);
  const imageType = base64 === undefined ? undefined : base64 ? ActionCellStatus_IMAGE_TYPE.BASE64 : ActionCellStatus_IMAGE_TYPE.FILE;
  return makeMessage("ActionCellStatus", { actionInstanceId: instanceId, actionId, text: status.text, image, imageType }) as ActionCellStatus;
}

function controlStatus(status: Status, controlId: string, instanceId: string): AnalogControlStatus {
  const { image, base64 } = imageOf(status);
  return makeMessage("AnalogControlStatus", {
    analogControlId: controlId,
    analogControlInstanceId: instanceId,
    minValue: status.range?.[0],
    maxValue: status.range?.[1],
    currentValue: status.value,
    text: status.text,
    image,
    imageType: base64 === undefined ? undefined : base64 ? AnalogControlStatus_IMAGE_TYPE.BASE64 : AnalogControlStatus_IMAGE_TYPE.FILE,
  }) as AnalogControlStatus;
}

/** A status's image as a status message carries it: the text, and whether it is base64 (else a file). */
function imageOf(status: Status): { image?: string; base64?: boolean } {
  const image = status.image;
  if (image === undefined) {
    return {};
  }
  return "base64" in image ? { image: image.base64, base64: true } : { image: image.file, base64: false };
}
