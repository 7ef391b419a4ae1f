/**
 * Typed settings kept with the manager (the Rust SDK's `plugin::settings`): the plugin's as one
 * JSON document under the setting name {@link PLUGIN_SETTING}, each instance's under
 * `instance/<instance id>`. The SDK keeps what the manager sent (its `SavedData` after each
 * hello, and each write's answer) with its version, and writes a change with that version
 * (`ifVersion`), so that a write made from a stale copy is refused `CONFLICT` instead of
 * clobbering a newer one.
 *
 * @module
 */

import type { SavedData, Settings } from "../../gen/logi/plugin/protocol/protocol_pb.js";

/** The setting name the plugin's own settings are kept under. */
export const PLUGIN_SETTING = "plugin";

/** The setting name of an instance's settings. */
export function instanceSetting(instanceId: string): string {
  return `instance/${instanceId}`;
}

/** A write of one setting, as the `Settings` request carries it. */
export interface Write {
  /** The setting's name. */
  settingName: string;
  /** Its new value (JSON). */
  settingValue: string;
  /** The version the write was made from (0: never stored). */
  ifVersion: number;
}

/** What the manager holds, as last heard: each setting's value and version. */
export class Stored {
  private settings = new Map<string, { value: string; version: number }>();

  /** Everything the manager holds, as its `SavedData` says. */
  replace(saved: SavedData): void {
    this.settings = new Map(saved.settings.map((s) => [s.settingName, { value: s.settingValue, version: s.version ?? 0 }]));
  }

  /** One setting as the manager now holds it (a write's answer, a fresh read). */
  set(setting: Pick<Settings, "settingName" | "settingValue" | "version">): void {
    this.settings.set(setting.settingName, { value: setting.settingValue, version: setting.version ?? 0 });
  }

  /** A setting's value, if the manager holds one. */
  value(name: string): string | undefined {
    return this.settings.get(name)?.value;
  }

  /** The write of `value` under `name` if it differs from what is held, made with the version held. */
  write(name: string, value: string): Write | undefined {
    const held = this.settings.get(name);
    return held?.value === value ? undefined : { settingName: name, settingValue: value, ifVersion: held?.version ?? 0 };
  }
}

/**
 * A typed value from a setting's JSON: the stored fields over `defaults` (a field the stored
 * copy lacks keeps its default); what is absent or does not read as JSON is `defaults`.
 */
export function decode<T>(json: string | undefined, defaults: T): T {
  let stored: unknown;
  try {
    stored = json === undefined ? undefined : JSON.parse(json);
  } catch {
    stored = undefined;
  }
  if (stored === undefined || stored === null) {
    return copy(defaults);
  }
  return isRecord(stored) && isRecord(defaults) ? ({ ...copy(defaults), ...stored } as T) : (stored as T);
}

/** A typed value as JSON (`undefined` as `null`, so that every value has a text to compare). */
export function encode(value: unknown): string {
  return JSON.stringify(value) ?? "null";
}

/** A deep copy of a JSON value: a hook works on it, and the original stays as stored. */
export function copy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(encode(value)) as T);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
