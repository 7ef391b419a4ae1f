/**
 * What a plugin author writes (the Rust SDK's `plugin::handler`): an {@link Action} for each
 * action of the manifest and an {@link AnalogControl} for each control, plain objects or class
 * instances, each hook given a {@link Cx} (the plugin's typed settings, the instance, the
 * language, the log) and returning the {@link Status} to show, or a {@link Refusal} (returned or
 * thrown), so that no request goes unanswered. Hooks left out answer `NOT_IMPLEMENTED`, except
 * a key's release and an instance shown or hidden, which change nothing by default.
 *
 * @module
 */

import { ResponseInfo_Code } from "../../gen/logi/plugin/protocol/protocol_pb.js";
import type { Logger } from "./logger.js";

/** A value, or a promise of it: hooks may be `async`. */
export type Awaitable<T> = T | Promise<T>;

/** An image to show: inline (base64-encoded) or a file the manager reads. */
export type Image = { base64: string } | { file: string };

/** What an instance shows: its text, image, and (for a control) its value and range. */
export class Status {
  /** The text shown on the device. */
  text: string | undefined;
  /** The image shown on the device. */
  image: Image | undefined;
  /** A control's current value. */
  value: number | undefined;
  /** A control's range, `[minimum, maximum]`; the manifest's when absent. */
  range: [number, number] | undefined;

  /** Nothing new to show: the request is answered `SUCCESS` with no status. */
  static none(): Status {
    return new Status();
  }

  /** Shows `text`. */
  static text(text: string): Status {
    return new Status().withText(text);
  }

  /** Also shows `text`. */
  withText(text: string): Status {
    this.text = text;
    return this;
  }

  /** Also shows `value` (a control's). */
  withValue(value: number): Status {
    this.value = value;
    return this;
  }

  /** Also gives the control's range. */
  withRange(minimum: number, maximum: number): Status {
    this.range = [minimum, maximum];
    return this;
  }

  /** Also shows `image`. */
  withImage(image: Image): Status {
    this.image = image;
    return this;
  }

  /** Whether it shows nothing (the answer is then a bare `SUCCESS`). */
  get isNone(): boolean {
    return this.text === undefined && this.image === undefined && this.value === undefined && this.range === undefined;
  }
}

/** A response code of seed chapter 6, by name (`"NOT_FOUND"`) or number. */
export type Code = Exclude<keyof typeof ResponseInfo_Code, "SUCCESS" | "INVALID"> | ResponseInfo_Code;

/** Why a request is refused: a code of seed chapter 6 and a description. Return it from a hook, or throw it. */
export class Refusal extends Error {
  /** The code the request is answered with. */
  readonly code: ResponseInfo_Code;
  /** What was wrong, for people. */
  readonly why: string;

  /** A refusal with `code` (e.g. `"INVALID_ARG"`), saying `why`; throws a `RangeError` for a code that is no error code. */
  constructor(code: Code, why: string) {
    super(why);
    this.name = "Refusal";
    const number = typeof code === "string" ? ResponseInfo_Code[code] : code;
    if (number === undefined || ResponseInfo_Code[number] === undefined || number === ResponseInfo_Code.SUCCESS || number === ResponseInfo_Code.INVALID) {
      throw new RangeError(`refusal code ${JSON.stringify(code)} is not an error code of ResponseInfo.Code`);
    }
    this.code = number;
    this.why = why;
  }

  /** `NOT_IMPLEMENTED`: the plugin does not handle `what`. */
  static notImplemented(what: string): Refusal {
    return new Refusal("NOT_IMPLEMENTED", `this plugin does not handle ${what}`);
  }
}

/** A control turned: by how much (merged by its buffer), or to which value. */
export interface Turn {
  /** The steps turned since the last call (the buffer merges a flood into one), or 0 when the control was set to a value. */
  delta: number;
  /** The value the control was set to, when it was set rather than turned. */
  value?: number;
}

/**
 * How the manager's updates of a control are merged before they reach it (seed 7.3): `none`
 * (every update, one call each), `throughput` (what arrives while the plugin answers is merged
 * into the next call), `timer` (merged over a fixed period, 50 ms by default).
 */
export type Buffer = "none" | "throughput" | "timer";

/** One call's view of the plugin: its settings, the instance it is about, the language, the log. */
export interface Cx<S> {
  /** The plugin's settings as last read from the manager (a copy: changes are stored with the manager before the answer that shows them leaves). */
  settings: S;
  /** The instance of the action or control this call is about (empty for the login hooks). */
  readonly instanceId: string;
  /** The language the manager uses (its hello's), e.g. `en-US`. */
  readonly language: string;
  /** The plugin's log, reaching the manager's as `LogEvent`s. */
  readonly log: Logger;
  /**
   * This instance's own settings (stored under `instance/<id>`), the stored fields over
   * `defaults`; the same object for the whole call, stored, like the plugin's, before the
   * answer leaves.
   */
  instance<T extends object>(defaults?: T): T;
}

/** What a hook answering with a status returns: the status, a refusal, or nothing to show. */
export type Shows = Awaitable<Status | Refusal | void>;

/** What a hook that only accepts or refuses returns: nothing, or a refusal. */
export type Accepts = Awaitable<Refusal | void>;

/** An action of the manifest (a key, a button): what it shows when pressed, released, shown. */
export interface Action<S> {
  /** Its id, as in the manifest. */
  readonly id: string;
  /** The key went down: what the instance shows now. Left out: `NOT_IMPLEMENTED`. */
  keyDown?(cx: Cx<S>): Shows;
  /** The key went up. Left out: changes nothing. */
  keyUp?(cx: Cx<S>): Shows;
  /** An instance is shown: what it shows first. Left out: nothing new. */
  appeared?(cx: Cx<S>): Shows;
  /** An instance is hidden. */
  disappeared?(cx: Cx<S>): Awaitable<void>;
  /** The JSON schema of the instance's configuration form (text, or an object to write as JSON). Left out: `NOT_IMPLEMENTED`. */
  configurationScheme?(cx: Cx<S>): Awaitable<string | object | undefined>;
  /** The form was submitted (its JSON, parsed): keep what it says, or refuse it saying why. Left out: `NOT_IMPLEMENTED`. */
  configured?(cx: Cx<S>, form: unknown): Accepts;
}

/** An analog control of the manifest (a dial, a roller): what it shows when turned or shown. */
export interface AnalogControl<S> {
  /** Its id, as in the manifest. */
  readonly id: string;
  /** How a flood of turns is merged before {@link turned} (default `throughput`). */
  readonly buffer?: Buffer;
  /** The control was turned or set: what the instance shows now. Left out: `NOT_IMPLEMENTED`. */
  turned?(cx: Cx<S>, turn: Turn): Shows;
  /** The manager asks for the control's value. Left out: `NOT_IMPLEMENTED`. */
  value?(cx: Cx<S>): Shows;
  /** An instance is shown: what it shows first. Left out: nothing new. */
  appeared?(cx: Cx<S>): Shows;
  /** An instance is hidden. */
  disappeared?(cx: Cx<S>): Awaitable<void>;
  /** The JSON schema of the instance's configuration form (text, or an object to write as JSON). Left out: `NOT_IMPLEMENTED`. */
  configurationScheme?(cx: Cx<S>): Awaitable<string | object | undefined>;
  /** The form was submitted (its JSON, parsed): keep what it says, or refuse it saying why. Left out: `NOT_IMPLEMENTED`. */
  configured?(cx: Cx<S>, form: unknown): Accepts;
}

/** A user logged in, as `GetUserInfoList` lists them. */
export interface User {
  /** The user's name. */
  username: string;
  /** The name to show, if another. */
  printedName?: string;
}

/**
 * The plugin's account hooks (seed 5.16-5.20): the manager asks it to log in (an OAuth2 flow the
 * plugin runs), hands it the token, logs a user out, lists the users. Their `Cx` has no
 * instance (`instanceId` is empty). Hooks left out answer `NOT_IMPLEMENTED` (the user list: none).
 */
export interface Login<S> {
  /** Start logging in (`InitLogin`), with `redirectUrl` as the flow's redirection. */
  login?(cx: Cx<S>, redirectUrl: string): Accepts;
  /** The flow's token arrived (`OauthResponse`). */
  token?(cx: Cx<S>, state: string, token: string): Accepts;
  /** Log `username` out (`Logout`). */
  logout?(cx: Cx<S>, username: string): Accepts;
  /** The users logged in (`GetUserInfoList`). */
  users?(cx: Cx<S>): Awaitable<User[]>;
}
