/**
 * The clock a {@link Client} runs its deadlines on (the Rust transports' `Clock`): the machine's,
 * or a {@link VirtualClock} that moves only when a test advances it, so that a heartbeat, a
 * timer buffer's window or a `RetryAfter` window passes with no real wait (the mock host's).
 *
 * @module
 */

/** A timer set on a {@link Clock}, for its `clearTimeout`. */
export type TimerHandle = unknown;

/** Time and timers, in milliseconds. */
export interface Clock {
  /** Now, on a monotonic scale. */
  now(): number;
  /** Calls `callback` once, `ms` from now. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer (nothing for `undefined`, or one that already fired). */
  clearTimeout(timer: TimerHandle | undefined): void;
}

/** The machine's clock: `performance.now()` and the global timers (looked up at each call, so test doubles of them apply). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout> | undefined),
};

/** A timer of a {@link VirtualClock}: when it is due, and its order among those due together. */
interface VirtualTimer {
  at: number;
  order: number;
  callback: () => void;
}

/** A clock that starts at 0 and moves only by {@link advance}. */
export class VirtualClock implements Clock {
  private time = 0;
  private nextTimer = 1;
  private readonly timers = new Map<number, VirtualTimer>();

  /** The virtual time now. */
  now(): number {
    return this.time;
  }

  /** Sets a timer due `ms` (at least 0) of virtual time from now. */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextTimer++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), order: id, callback });
    return id;
  }

  /** Cancels a timer. */
  clearTimeout(timer: TimerHandle | undefined): void {
    this.timers.delete(timer as number);
  }

  /**
   * Moves time forward by `ms`, one due timer at a time: each fires at its own moment, then
   * `settle` lets what it set off finish (an answer sent, a timer set anew) before time goes on.
   */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const until = this.time + Math.max(0, ms);
    for (let due = this.due(until); due !== undefined; due = this.due(until)) {
      const [id, timer] = due;
      this.timers.delete(id);
      this.time = timer.at;
      timer.callback();
      await settle();
    }
    this.time = until;
  }

  /** The first timer due by `until`, by time then by the order they were set. */
  private due(until: number): [number, VirtualTimer] | undefined {
    let first: [number, VirtualTimer] | undefined;
    for (const entry of this.timers) {
      const timer = entry[1];
      if (timer.at <= until && (first === undefined || timer.at < first[1].at || (timer.at === first[1].at && timer.order < first[1].order))) {
        first = entry;
      }
    }
    return first;
  }
}
