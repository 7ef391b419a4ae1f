/**
 * Analog-control buffering (seed 7.3-7.6, the core's `src/buffer/`): keeps a flood of
 * `UpdateAnalogControl` requests from a dial from lagging the plugin, without ever losing the
 * dial's net movement.
 *
 * A buffer keeps at most one pending update per slot (a control id and instance id pair) and
 * folds every newer update for that slot into it by one rule, {@link PendingUpdate.merge}: deltas
 * add up, a newer value replaces everything before it, a delta after a value moves that value,
 * and the newest configuration wins. An update merged into a newer one is *superseded*: its
 * request is answered `SUCCESS` at once and the newer request's answer speaks for both.
 *
 * - {@link ThroughputBuffer} (7.5): dispatches a slot's first update and holds the rest until the
 *   plugin answers the one in flight, so it delivers exactly as fast as the plugin works.
 * - {@link TimerBuffer} (7.6): a leading-edge throttle, at most one delivery per slot per interval.
 * - {@link AnalogBuffer} (7.4): the interface both implement, for a plugin's own strategy.
 * - {@link BufferManager} (7.3): routes each update to the buffer its control is registered to.
 *
 * Time is the `now` argument (milliseconds on any monotonic clock); nothing here reads a clock or
 * sets a timer, so the client drives it and tests run without waiting.
 *
 * @module
 */

import { create } from "@bufbuild/protobuf";

import { UpdateAnalogControlSchema, type UpdateAnalogControl } from "../gen/logi/plugin/protocol/protocol_pb.js";

/** The key of the built-in {@link ThroughputBuffer} in a {@link BufferManager}. */
export const THROUGHPUT = "throughput";
/** The key of the built-in {@link TimerBuffer} in a {@link BufferManager}. */
export const TIMER = "timer";
/** The default cap on the slots a buffer holds at once; updates for further slots pass through. */
export const DEFAULT_MAX_SLOTS = 1024;
/** The default window of the built-in {@link TimerBuffer}, in milliseconds. */
export const DEFAULT_TIMER_INTERVAL_MS = 50;

/** What to do with an update now, as a buffer decides on receiving it. */
export type Admission =
  /** Deliver this update to the plugin now, under its own request id. */
  | { kind: "dispatch"; update: UpdateAnalogControl }
  /** The buffer holds it; `superseded` is the request merged into it, to be answered at once. */
  | { kind: "held"; superseded: number | undefined };

/**
 * A buffering strategy (seed 7.4). An implementation must not lose a request: every id given to
 * `onUpdate` comes back exactly once, dispatched, reported superseded, or carried by an update
 * from `pollReady`. Time is `now`, in milliseconds; it must not throw.
 */
export interface AnalogBuffer {
  /** The number of updates held and not yet delivered. */
  pendingLen(): number;
  /** Takes an update received as request `requestId` and decides what happens to it now. */
  onUpdate(now: number, requestId: number, update: UpdateAnalogControl): Admission;
  /** The plugin answered `requestId` (every answered id is given; ids it did not hand out are ignored). */
  onResponse(now: number, requestId: number): void;
  /** Time has reached `now`: windows that ended release their merged updates to `pollReady`. */
  handleTimeout(now: number): void;
  /** The next merged update due for delivery, with the request id to deliver it under. */
  pollReady(now: number): [number, UpdateAnalogControl] | undefined;
  /** When `handleTimeout` or `pollReady` next has work; `undefined` when nothing waits on time. */
  pollTimeout(): number | undefined;
  /** The connection ended: forget every request of it (their ids mean nothing on the next one). */
  reset?(): void;
}

/** The merged change of a pending update. */
type Change = { kind: "value" | "delta"; amount: number };

/**
 * An update held for a slot, into which newer updates for the same slot are merged. Sums are kept
 * in double precision and rounded to the wire's `float` only on delivery, so a long flood of small
 * deltas does not drift.
 */
export class PendingUpdate {
  private requestId: number;
  private readonly analogControlId: string;
  private readonly instanceId: string;
  private configuration: string | undefined;
  private change: Change | undefined;

  /** Holds `update`, received as request `requestId`. */
  constructor(requestId: number, update: UpdateAnalogControl) {
    this.requestId = requestId;
    this.analogControlId = update.analogControlId;
    this.instanceId = update.instanceId;
    this.configuration = update.configuration;
    const { updateType } = update;
    this.change = updateType.case === undefined ? undefined : { kind: updateType.case, amount: updateType.value };
  }

  /**
   * Merges `newer`, received as request `requestId`, into this update; returns the request id it
   * replaces (superseded: to be answered at once, never delivered).
   */
  merge(requestId: number, newer: UpdateAnalogControl): number {
    if (newer.configuration !== undefined) {
      this.configuration = newer.configuration;
    }
    const { updateType } = newer;
    if (updateType.case === "value") {
      this.change = { kind: "value", amount: updateType.value };
    } else if (updateType.case === "delta") {
      this.change = { kind: this.change?.kind ?? "delta", amount: (this.change?.amount ?? 0) + updateType.value };
    }
    const older = this.requestId;
    this.requestId = requestId;
    return older;
  }

  /** The merged update to deliver (its sum rounded to a `float`), with its request id: the newest merged in. */
  intoUpdate(): [number, UpdateAnalogControl] {
    const change = this.change;
    const update = create(UpdateAnalogControlSchema, {
      analogControlId: this.analogControlId,
      instanceId: this.instanceId,
      configuration: this.configuration,
      updateType: change === undefined ? { case: undefined } : { case: change.kind, value: Math.fround(change.amount) },
    });
    return [this.requestId, update];
  }
}

/** A slot's key: the control and the instance an update is for. */
function slotKey(update: UpdateAnalogControl): string {
  return JSON.stringify([update.analogControlId, update.instanceId]);
}

/** Holds `update` in a slot's pending place: merged into the pending one if there is one, whose id is returned. */
function hold(
  slot: { pending: PendingUpdate | undefined },
  requestId: number,
  update: UpdateAnalogControl,
): number | undefined {
  if (slot.pending !== undefined) {
    return slot.pending.merge(requestId, update);
  }
  slot.pending = new PendingUpdate(requestId, update);
  return undefined;
}

/** One busy slot of a {@link ThroughputBuffer}. */
interface ThroughputSlot {
  /** The request the plugin is working on; `undefined` once answered, while a merged update waits. */
  inFlight: number | undefined;
  pending: PendingUpdate | undefined;
}

/**
 * A buffer that keeps at most one update per slot in flight at the plugin (seed 7.5). A slot's
 * first update is dispatched at once; later ones are merged until the plugin answers it, and the
 * answer makes the merged update ready. An idle slot is forgotten, so only busy slots count
 * towards the cap.
 */
export class ThroughputBuffer implements AnalogBuffer {
  private slots = new Map<string, ThroughputSlot>();
  /** Which slot each in-flight request id belongs to. */
  private inFlight = new Map<number, string>();
  /** Slots answered while an update was pending, in answer order. */
  private ready: string[] = [];
  private now: number | undefined;

  /** A buffer holding at most `maxSlots` busy slots; updates for further slots pass through. */
  constructor(readonly maxSlots: number = DEFAULT_MAX_SLOTS) {}

  /** The number of busy slots. */
  get slotLen(): number {
    return this.slots.size;
  }

  pendingLen(): number {
    return [...this.slots.values()].filter((slot) => slot.pending !== undefined).length;
  }

  onUpdate(now: number, requestId: number, update: UpdateAnalogControl): Admission {
    this.now = Math.max(this.now ?? now, now);
    const key = slotKey(update);
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      return { kind: "held", superseded: hold(slot, requestId, update) };
    }
    if (this.slots.size < this.maxSlots) {
      this.slots.set(key, { inFlight: undefined, pending: undefined });
      this.start(key, requestId);
    }
    return { kind: "dispatch", update };
  }

  onResponse(now: number, requestId: number): void {
    this.now = Math.max(this.now ?? now, now);
    const key = this.inFlight.get(requestId);
    if (key !== undefined) {
      this.inFlight.delete(requestId);
      this.release(key, requestId);
    }
  }

  handleTimeout(now: number): void {
    // Nothing here waits on time.
    this.now = Math.max(this.now ?? now, now);
  }

  pollReady(now: number): [number, UpdateAnalogControl] | undefined {
    this.now = Math.max(this.now ?? now, now);
    for (let key = this.ready.shift(); key !== undefined; key = this.ready.shift()) {
      const slot = this.slots.get(key);
      if (slot === undefined || slot.inFlight !== undefined || slot.pending === undefined) {
        continue;
      }
      const [requestId, update] = slot.pending.intoUpdate();
      slot.pending = undefined;
      this.start(key, requestId);
      return [requestId, update];
    }
    return undefined;
  }

  pollTimeout(): number | undefined {
    // Only answers make updates ready, and then they are ready at once.
    return this.ready.length === 0 ? undefined : this.now;
  }

  reset(): void {
    this.slots.clear();
    this.inFlight.clear();
    this.ready = [];
  }

  private start(key: string, requestId: number): void {
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      slot.inFlight = requestId;
    }
    const older = this.inFlight.get(requestId);
    this.inFlight.set(requestId, key);
    if (older !== undefined) {
      // The manager reused an id not answered yet: one answer cannot be told from the other, so
      // the older holder is released now rather than left waiting for an answer taken as the newer's.
      this.release(older, requestId);
    }
  }

  /** The plugin answered `requestId`, in flight for `key`: its pending update is ready, or the slot is forgotten. */
  private release(key: string, requestId: number): void {
    const slot = this.slots.get(key);
    if (slot === undefined || slot.inFlight !== requestId) {
      return;
    }
    slot.inFlight = undefined;
    if (slot.pending !== undefined) {
      this.ready.push(key);
    } else {
      this.slots.delete(key);
    }
  }
}

/** One slot of a {@link TimerBuffer} with an open (or just ended) window. */
interface TimerSlot {
  windowEnd: number;
  pending: PendingUpdate | undefined;
  /** The window ended with an update pending: the slot waits in `ready`, still merging. */
  due: boolean;
}

/**
 * A leading-edge throttle per slot (seed 7.6): an update to an idle slot is dispatched at once
 * and opens a window of `intervalMs`; updates within it are merged and delivered when it ends,
 * which opens the next window; a window ending with nothing merged leaves the slot idle.
 * Answers from the plugin are not needed.
 */
export class TimerBuffer implements AnalogBuffer {
  private slots = new Map<string, TimerSlot>();
  /** Slots whose window ended with an update pending, in the order they ended. */
  private ready: string[] = [];
  private now: number | undefined;

  /** A buffer with windows of `intervalMs`, holding at most `maxSlots` slots at once. */
  constructor(
    readonly intervalMs: number = DEFAULT_TIMER_INTERVAL_MS,
    readonly maxSlots: number = DEFAULT_MAX_SLOTS,
  ) {
    if (!(intervalMs >= 0)) {
      throw new RangeError(`timer buffer interval ${intervalMs} ms is not a duration of 0 ms or more`);
    }
  }

  /** The number of slots with an open window. */
  get slotLen(): number {
    return this.slots.size;
  }

  pendingLen(): number {
    return [...this.slots.values()].filter((slot) => slot.pending !== undefined).length;
  }

  onUpdate(now: number, requestId: number, update: UpdateAnalogControl): Admission {
    // A window that has ended must release its slot first, or this update would be held for a
    // window that is already over.
    now = this.advance(now);
    const key = slotKey(update);
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      return { kind: "held", superseded: hold(slot, requestId, update) };
    }
    if (this.slots.size < this.maxSlots) {
      this.slots.set(key, { windowEnd: now + this.intervalMs, pending: undefined, due: false });
    }
    return { kind: "dispatch", update };
  }

  onResponse(now: number): void {
    // Deliveries wait on time only, not on answers.
    this.now = Math.max(this.now ?? now, now);
  }

  handleTimeout(now: number): void {
    this.advance(now);
  }

  pollReady(now: number): [number, UpdateAnalogControl] | undefined {
    now = this.advance(now);
    for (let key = this.ready.shift(); key !== undefined; key = this.ready.shift()) {
      const slot = this.slots.get(key);
      if (slot === undefined || !slot.due) {
        continue;
      }
      slot.due = false;
      const pending = slot.pending;
      slot.pending = undefined;
      if (pending === undefined) {
        this.slots.delete(key);
        continue;
      }
      // The delivery opens the next window, from the moment it is handed out.
      slot.windowEnd = now + this.intervalMs;
      return pending.intoUpdate();
    }
    return undefined;
  }

  pollTimeout(): number | undefined {
    if (this.ready.length > 0) {
      return this.now;
    }
    let earliest: number | undefined;
    for (const slot of this.slots.values()) {
      if (!slot.due && (earliest === undefined || slot.windowEnd < earliest)) {
        earliest = slot.windowEnd;
      }
    }
    return earliest;
  }

  reset(): void {
    this.slots.clear();
    this.ready = [];
  }

  /** Clamps `now` so time never goes backwards, and ends every window that has ended by then. */
  private advance(now: number): number {
    now = Math.max(this.now ?? now, now);
    this.now = now;
    for (const [key, slot] of this.slots) {
      if (slot.due || slot.windowEnd > now) {
        continue;
      }
      if (slot.pending !== undefined) {
        slot.due = true;
        this.ready.push(key);
      } else {
        this.slots.delete(key);
      }
    }
    return now;
  }
}

/** Counts of what a {@link BufferManager} did: `received == dispatched + superseded + delivered + pendingLen()`. */
export interface BufferStats {
  /** Updates given to `onUpdate`. */
  received: number;
  /** Updates dispatched at once: unregistered controls, first updates, slots over the cap. */
  dispatched: number;
  /** Updates merged into a newer one, their requests answered at once. */
  superseded: number;
  /** Merged updates handed out by `pollReady`. */
  delivered: number;
}

/** How the built-in buffers of a {@link BufferManager} are made. */
export interface BufferConfig {
  /** The most slots each built-in buffer holds at once (default 1024). */
  maxSlots?: number;
  /** The window of the built-in timer buffer, in milliseconds (default 50). */
  timerIntervalMs?: number;
}

/**
 * Routes each registered control's updates to its buffer (seed 7.3); updates for other controls
 * pass straight through. It starts with the built-in buffers `throughput` and `timer`.
 */
export class BufferManager {
  private readonly buffers = new Map<string, AnalogBuffer>();
  /** Buffer key by registered control id. */
  private readonly controls = new Map<string, string>();
  private readonly maxSlots: number;
  /** What the manager did with the updates it received. */
  readonly stats: BufferStats = { received: 0, dispatched: 0, superseded: 0, delivered: 0 };

  /** A manager with the built-in buffers, configured by `config`. */
  constructor(config: BufferConfig = {}) {
    this.maxSlots = config.maxSlots ?? DEFAULT_MAX_SLOTS;
    this.buffers.set(THROUGHPUT, new ThroughputBuffer(this.maxSlots));
    this.buffers.set(TIMER, new TimerBuffer(config.timerIntervalMs ?? DEFAULT_TIMER_INTERVAL_MS, this.maxSlots));
  }

  /** The key of the buffer `controlId` is registered to, if it is. */
  bufferKey(controlId: string): string | undefined {
    return this.controls.get(controlId);
  }

  /** The number of updates held by all buffers and not yet delivered. */
  pendingLen(): number {
    return [...this.buffers.values()].reduce((sum, buffer) => sum + buffer.pendingLen(), 0);
  }

  /**
   * Registers controls for buffering (seed 7.1.12): each `[controlId, bufferKey]` sends that
   * control's updates to that buffer, replacing an earlier registration. If a key names no
   * buffer nothing is registered, and the error names the control and the key.
   */
  registerControls(controls: Iterable<readonly [string, string]> | Record<string, string>): void {
    const entries = Symbol.iterator in controls ? [...controls] : Object.entries(controls);
    for (const [controlId, bufferKey] of entries) {
      if (!this.buffers.has(bufferKey)) {
        throw new RangeError(
          `control ${JSON.stringify(controlId)} is registered to buffer ${JSON.stringify(bufferKey)}, which does not exist (known: ${[...this.buffers.keys()].join(", ")})`,
        );
      }
    }
    for (const [controlId, bufferKey] of entries) {
      this.controls.set(controlId, bufferKey);
    }
  }

  /** Registers a plugin's own buffer under `name` (seed 7.3.3); a name taken already is an error. */
  registerCustomBuffer(name: string, buffer: AnalogBuffer): void {
    if (this.buffers.has(name)) {
      throw new RangeError(`a buffer is already registered under the key ${JSON.stringify(name)}`);
    }
    this.buffers.set(name, buffer);
  }

  /** Registers a further {@link TimerBuffer} with windows of `intervalMs` under `name`. */
  registerTimerBuffer(name: string, intervalMs: number): void {
    this.registerCustomBuffer(name, new TimerBuffer(intervalMs, this.maxSlots));
  }

  /** Takes an update received as request `requestId`: dispatched if its control is not registered, else as its buffer decides. */
  onUpdate(now: number, requestId: number, update: UpdateAnalogControl): Admission {
    this.stats.received++;
    const key = this.controls.get(update.analogControlId);
    const buffer = key === undefined ? undefined : this.buffers.get(key);
    const admission: Admission = buffer?.onUpdate(now, requestId, update) ?? { kind: "dispatch", update };
    if (admission.kind === "dispatch") {
      this.stats.dispatched++;
    } else if (admission.superseded !== undefined) {
      this.stats.superseded++;
    }
    return admission;
  }

  /** The plugin answered request `requestId`. */
  onResponse(now: number, requestId: number): void {
    for (const buffer of this.buffers.values()) {
      buffer.onResponse(now, requestId);
    }
  }

  /** Time has reached `now`. */
  handleTimeout(now: number): void {
    for (const buffer of this.buffers.values()) {
      buffer.handleTimeout(now);
    }
  }

  /** The next merged update ready for delivery, with its request id. */
  pollReady(now: number): [number, UpdateAnalogControl] | undefined {
    for (const buffer of this.buffers.values()) {
      const ready = buffer.pollReady(now);
      if (ready !== undefined) {
        this.stats.delivered++;
        return ready;
      }
    }
    return undefined;
  }

  /** The earliest time any buffer has work; `undefined` when none waits on time. */
  pollTimeout(): number | undefined {
    let earliest: number | undefined;
    for (const buffer of this.buffers.values()) {
      const at = buffer.pollTimeout();
      if (at !== undefined && (earliest === undefined || at < earliest)) {
        earliest = at;
      }
    }
    return earliest;
  }

  /** The connection ended: every buffer forgets its requests; registrations are kept. */
  reset(): void {
    for (const buffer of this.buffers.values()) {
      buffer.reset?.();
    }
  }
}
