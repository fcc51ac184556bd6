/**
 * The executor's heartbeat: every `intervalMs` it publishes a snapshot of
 * this executor (incarnation, address, free slots, block-store use) so the
 * scheduler can place tasks and notice when it goes silent. Best-effort by
 * design (NATS core): a lost heartbeat is covered by the next one; a publish
 * that throws (NATS reconnecting) is reported, never fatal.
 */
import type { Clock, TimerHandle } from '../../lib/clock.js';
import type { HeartbeatMessage } from '../../lib/nats/subjects.js';

export interface HeartbeatOptions {
  clock: Clock;
  intervalMs: number;
  /** The current state, without `sentAtMs`. */
  snapshot: () => Omit<HeartbeatMessage, 'sentAtMs'>;
  publish: (msg: HeartbeatMessage) => void;
  onError?: (err: unknown) => void;
}

export interface HeartbeatHandle {
  /** Publish one now (e.g. right after start, so the scheduler needn't wait an interval). */
  beat(): void;
  stop(): void;
}

export function startHeartbeats(opts: HeartbeatOptions): HeartbeatHandle {
  let timer: TimerHandle | undefined;
  let stopped = false;
  const beat = () => {
    try {
      opts.publish({ ...opts.snapshot(), sentAtMs: opts.clock.now() });
    } catch (e) {
      opts.onError?.(e);
    }
  };
  const tick = () => {
    if (stopped) return;
    beat();
    timer = opts.clock.setTimeout(tick, opts.intervalMs);
  };
  tick();
  return {
    beat,
    stop: () => {
      stopped = true;
      if (timer) opts.clock.clearTimeout(timer);
    },
  };
}
