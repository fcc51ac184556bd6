/**
 * Time for domain code. Nothing in services/<name>/ (except main.ts) calls
 * Date.now() or setTimeout directly for decisions: it takes a Clock, so tests
 * can drive time with ManualClock.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

class SystemTimer implements TimerHandle {
  constructor(readonly id: number, readonly t: NodeJS.Timeout) {}
}

let nextId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    return new SystemTimer(nextId++, t);
  },
  clearTimeout(handle) {
    if (handle instanceof SystemTimer) clearTimeout(handle.t);
  },
};

/** A clock that only moves when told to; timers fire in time order on advance(). */
export class ManualClock implements Clock {
  private timers = new Map<number, { at: number; fn: () => void }>();
  constructor(private time = 0) {}
  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }
  advance(ms: number): void {
    const target = this.time + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      // A timer overdue after `stall` fires late, at the current time.
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = target;
  }

  /**
   * Time passes while this process does not run (SIGSTOP, a frozen node, a
   * long GC): no timer fires now; those that fell due fire late, in order, on
   * the next `advance` — as Node runs overdue timers when a paused process resumes.
   */
  stall(ms: number): void {
    this.time += ms;
  }
}
