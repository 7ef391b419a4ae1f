/**
 * What a plugin is shown (seed 5.13, the core's `View`): the action and analog-control instances
 * visible now, each with its configuration, as `VisibilityChanged` messages build it up. The
 * client folds every change it receives into one, and after a reconnect the manager's resync
 * (`VisibilityChangedList`) brings it to what the manager shows.
 *
 * @module
 */

import type { Message } from "@bufbuild/protobuf";

import type { VisibilityChanged, VisibilityChangedList } from "../gen/logi/plugin/protocol/protocol_pb.js";

/** One visible instance: its action or control id, its instance id and its configuration. */
export interface VisibleInstance {
  /** The action or analog control id, as in the manifest. */
  controlId: string;
  /** The instance id. */
  instanceId: string;
  /** The instance's configuration, if it has one. */
  configuration: string | undefined;
}

/** The visible instances, each with its configuration. */
export class View {
  private readonly visible = new Map<string, VisibleInstance>();

  /** Applies one change: a shown instance is added (its configuration replaced), a hidden one removed. Whether the view changed. */
  apply(change: VisibilityChanged): boolean {
    const key = instanceKey(change.controlId, change.actionInstanceId);
    const before = this.visible.get(key);
    if (!change.visible) {
      return this.visible.delete(key);
    }
    this.visible.set(key, { controlId: change.controlId, instanceId: change.actionInstanceId, configuration: change.configuration });
    return before === undefined || before.configuration !== change.configuration;
  }

  /** Applies a `VisibilityChanged`, or each change of a `VisibilityChangedList` in order; other messages change nothing. Whether the view changed. */
  applyMessage(message: Message | undefined): boolean {
    if (message?.$typeName === "logi.plugin.protocol.VisibilityChanged") {
      return this.apply(message as VisibilityChanged);
    }
    if (message?.$typeName === "logi.plugin.protocol.VisibilityChangedList") {
      return (message as VisibilityChangedList).visibility.reduce((changed, change) => this.apply(change) || changed, false);
    }
    return false;
  }

  /** Whether the instance is visible. */
  isVisible(controlId: string, instanceId: string): boolean {
    return this.visible.has(instanceKey(controlId, instanceId));
  }

  /** The configuration of a visible instance (`undefined` when hidden or without one). */
  configuration(controlId: string, instanceId: string): string | undefined {
    return this.visible.get(instanceKey(controlId, instanceId))?.configuration;
  }

  /** How many instances are visible. */
  get size(): number {
    return this.visible.size;
  }

  /** Every visible instance, sorted by control id then instance id. */
  shown(): VisibleInstance[] {
    return [...this.visible.values()]
      .map((instance) => ({ ...instance }))
      .sort((a, b) => compare(a.controlId, b.controlId) || compare(a.instanceId, b.instanceId));
  }

  /** A copy, for a caller to keep while this one goes on changing. */
  clone(): View {
    const copy = new View();
    for (const [key, instance] of this.visible) {
      copy.visible.set(key, { ...instance });
    }
    return copy;
  }
}

function instanceKey(controlId: string, instanceId: string): string {
  return JSON.stringify([controlId, instanceId]);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
