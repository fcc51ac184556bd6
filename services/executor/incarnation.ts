/**
 * This executor's incarnation (its epoch) and rejoining the cluster after the
 * scheduler declared it lost (Spark's BlockManager re-registration).
 *
 * The scheduler fences by incarnation, not by executor: once it declares
 * (executorId, epoch) lost, nothing of that epoch counts again. An executor
 * that was only paused or cut off (SIGSTOP, a frozen node, a NATS outage) is
 * still a good executor, so when it learns it was declared lost — an
 * `executor.lost` naming its current epoch, which the scheduler also repeats
 * when it ignores a heartbeat of a fenced incarnation — it becomes a new
 * incarnation: a new, higher epoch; its tasks of the old one are killed (the
 * scheduler already runs them elsewhere); shuffle buckets and cached
 * partitions of the old one are dropped (derived data of a fenced incarnation
 * is never used again); input blocks are immutable and are kept and reported,
 * so the scheduler re-adopts the ones batches still need.
 *
 * The input block ids ride on the next few heartbeats (`announcement`), after
 * a start, a rejoin and every NATS reconnect, because a heartbeat may be lost
 * and the scheduler may have restarted or missed the previous ones.
 *
 * It never decides that it is lost by itself: only the scheduler's word does.
 */
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import type { BlockStore } from './block-store.js';

/** Heartbeats that carry the input block list after a start, rejoin or reconnect. */
export const ANNOUNCE_BEATS = 8;
/** Bound on the ids carried by one heartbeat (a NATS message stays small). */
export const MAX_ANNOUNCED_BLOCKS = 20_000;

export interface IncarnationOptions {
  executorId: string;
  clock: Clock;
  store: Pick<BlockStore, 'idsOf' | 'dropKinds'>;
  /** Kill the tasks started under an older incarnation. */
  killOlderThan: (epoch: number) => number;
  /** Publish a heartbeat now (the new incarnation announces itself without waiting an interval). */
  beat: () => void;
  log: Logger;
}

export class Incarnation {
  private current: number;
  private announceLeft = ANNOUNCE_BEATS;
  rejoins = 0;

  constructor(private readonly opts: IncarnationOptions) {
    this.current = opts.clock.now();
  }

  get epoch(): number {
    return this.current;
  }

  /**
   * The scheduler declared (this executor, `epoch`) lost. Returns true when
   * that was the current incarnation and this executor rejoined as a new one.
   */
  declaredLost(epoch: number, reason: string): boolean {
    if (epoch !== this.current) return false; // an older incarnation, already left behind
    const old = this.current;
    this.current = Math.max(this.opts.clock.now(), old + 1);
    this.rejoins++;
    const killed = this.opts.killOlderThan(this.current);
    const dropped = this.opts.store.dropKinds(['shuffle', 'cached']);
    const kept = this.opts.store.idsOf('input').length;
    this.opts.log.warn(
      { executorId: this.opts.executorId, oldEpoch: old, epoch: this.current, reason, killedTasks: killed, droppedBlocks: dropped.dropped, inputBlocks: kept },
      'declared lost by the scheduler: rejoining as a new incarnation with the input blocks still held',
    );
    this.announce();
    return true;
  }

  /** NATS came back: the scheduler may have missed heartbeats (or restarted): announce again. */
  reconnected(): void {
    this.announce();
  }

  /** The input block ids to put on the next heartbeat, or undefined when not announcing. */
  announcement(): string[] | undefined {
    if (this.announceLeft <= 0) return undefined;
    this.announceLeft--;
    return this.opts.store.idsOf('input').slice(0, MAX_ANNOUNCED_BLOCKS);
  }

  private announce(): void {
    this.announceLeft = ANNOUNCE_BEATS;
    this.opts.beat();
  }
}
