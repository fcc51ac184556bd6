/**
 * Whether the scheduler can currently see well enough to declare an executor
 * lost ("judge others only when you can see", DESIGN.md). Silence from an
 * executor means it is gone only if the scheduler itself was listening: a
 * scheduler paused by a GC, a frozen node or SIGSTOP, or starved of CPU, and
 * a scheduler cut off from NATS, stop hearing heartbeats that were sent.
 *
 * It observes three signals, all injected so a ManualClock test drives them:
 * - the event-loop lag (main.ts feeds perf_hooks.monitorEventLoopDelay);
 * - the NATS connection (main.ts feeds nats.js status: disconnect/reconnect);
 * - the liveness check's own timer drift: every check calls `mayJudge()`, and
 *   a check that runs much later than the previous one plus its interval
 *   means the process did not run in between. This is the signal that cannot
 *   be beaten by event ordering: after a stall, Node runs expired timers
 *   before it reads the sockets, so the first check after a pause runs
 *   before the heartbeats queued during it — and it is exactly that check
 *   that sees the drift and opens a fresh observation window instead of
 *   judging.
 * While any signal is unhealthy, and for one liveness timeout after the last
 * unhealthy sign, judgements are suspended: within that window the queued
 * heartbeats are read and refresh every executor that kept beating.
 *
 * It never declares anything itself and never touches executor state; it only
 * answers "may I judge now?".
 */
import type { Clock } from '../../lib/clock.js';

export type LivenessGuardState = 'JUDGING' | 'SUSPENDED';

/** What the guard is told about the scheduler's own health. */
export type LivenessSignal =
  | { kind: 'lag'; lagMs: number }
  | { kind: 'disconnected' }
  | { kind: 'reconnected' };

export interface LivenessGuardOptions {
  clock: Clock;
  /** The executor liveness timeout (heartbeat interval × max missed): judgements stay suspended this long after an unhealthy sign. */
  timeoutMs: number;
  /** Event-loop lag (or check timer drift beyond its interval) above this is a stall. */
  maxLagMs: number;
  /** How often `mayJudge` is expected to be called. */
  checkIntervalMs: number;
  /** Called on every state change, with the reason of a suspension. */
  onTransition?: (from: LivenessGuardState, to: LivenessGuardState, reason: string) => void;
}

export class LivenessGuard {
  private connected = true;
  private suspendedUntilMs = Number.NEGATIVE_INFINITY;
  private lastCheckMs: number | undefined;
  private reason = '';
  private current: LivenessGuardState = 'JUDGING';

  constructor(private readonly opts: LivenessGuardOptions) {}

  observe(signal: LivenessSignal): void {
    switch (signal.kind) {
      case 'lag':
        if (signal.lagMs > this.opts.maxLagMs) this.suspend(`event-loop lag of ${Math.round(signal.lagMs)} ms`);
        return;
      case 'disconnected':
        this.connected = false;
        this.suspend('NATS connection lost');
        return;
      case 'reconnected':
        this.connected = true;
        // Heartbeats flow again from now on: a full window to hear from everyone.
        this.suspend('NATS reconnected');
        return;
    }
  }

  /**
   * Called by every liveness check, before it judges: true when the scheduler
   * may declare silent executors lost now.
   */
  mayJudge(): boolean {
    const now = this.opts.clock.now();
    const last = this.lastCheckMs;
    this.lastCheckMs = now;
    if (last !== undefined && now - last > this.opts.checkIntervalMs + this.opts.maxLagMs) {
      this.suspend(`the liveness check ran ${now - last} ms after the previous one (the scheduler was paused or starved)`);
    }
    if (!this.connected) this.suspend('NATS connection lost');
    const judging = now >= this.suspendedUntilMs;
    this.moveTo(judging ? 'JUDGING' : 'SUSPENDED');
    return judging;
  }

  /** For status: whether judgements are suspended, why, and until when (ms on the clock). */
  status(): { state: LivenessGuardState; reason: string; suspendedUntilMs: number } {
    return { state: this.current, reason: this.current === 'SUSPENDED' ? this.reason : '', suspendedUntilMs: this.suspendedUntilMs };
  }

  private suspend(reason: string): void {
    const until = this.opts.clock.now() + this.opts.timeoutMs;
    if (until >= this.suspendedUntilMs) {
      this.suspendedUntilMs = until;
      this.reason = reason;
    }
    this.moveTo('SUSPENDED');
  }

  private moveTo(next: LivenessGuardState): void {
    if (next === this.current) return;
    const from = this.current;
    this.current = next;
    this.opts.onTransition?.(from, next, next === 'SUSPENDED' ? this.reason : 'healthy for a full liveness timeout');
  }
}
