/**
 * The scheduler's fire-and-forget lineage updates (where map outputs, cached
 * partitions, replicas and checkpoints live; dropped partitions, forgotten
 * batches, removed executors), sent in the order the scheduler makes them,
 * one call in flight at a time, and consecutive updates of one kind merged
 * into one call.
 *
 * Why: lineage rewrites a dataset's whole location record in its KV bucket
 * on every RecordLocations call, so a call per finished map task cost O(S)
 * per task and O(S²) per shuffle of S map tasks, and a gRPC round trip each:
 * at 32 executors × 4 slots, 0.4 of a core in lineage and a tenth of the
 * scheduler's CPU. Merging what piles up while the previous call is in
 * flight adds no delay when lineage keeps up, and batches exactly when it
 * does not. Sending in order also means lineage never sees a batch forgotten
 * (or an executor removed) before a location the scheduler recorded earlier.
 *
 * A merged call that lineage refuses outright (a location of a batch it
 * already forgot fails the whole request) is sent again one update at a time,
 * so one stale location does not lose the others. Failures are logged, as
 * before: lineage's locations are hints for recovery, and a location it
 * never learns only means more is recomputed.
 */
import { errorMessage, isRetryable } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { Location } from '../../lib/proto/gen/rivulet/v1/Location.js';

/** The lineage calls the writer makes; each resolves once lineage answered (after its own retries). */
export interface LineageUpdateCalls {
  recordLocations(locations: Location[]): Promise<unknown>;
  dropLocations(locations: Location[]): Promise<unknown>;
  forgetBatches(jobId: string, beforeBatchTimeMs: number): Promise<unknown>;
  removeExecutor(executorId: string): Promise<unknown>;
}

export type LineageUpdate =
  /** `what` names the update in a failure's log line (map output, cached partition...). */
  | { kind: 'record'; what: string; locations: Location[] }
  | { kind: 'drop'; locations: Location[] }
  | { kind: 'forget'; jobId: string; beforeBatchTimeMs: number }
  | { kind: 'removeExecutor'; executorId: string };

/** Most locations one merged call carries (~150 bytes each on the wire: well under the message limit). */
export const MAX_LOCATIONS_PER_CALL = 4096;

export class LineageWriter {
  private readonly queue: LineageUpdate[] = [];
  private head = 0;
  private sending = false;
  /** Updates handed over so far, and updates whose call has been answered (or failed). */
  private enqueued = 0;
  private done = 0;
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];

  constructor(
    private readonly lineage: LineageUpdateCalls,
    private readonly log: Logger,
    private readonly maxLocationsPerCall = MAX_LOCATIONS_PER_CALL,
  ) {}

  send(update: LineageUpdate): void {
    this.queue.push(update);
    this.enqueued++;
    if (this.sending) return;
    // After the current event: the updates it makes (a results message finishes many map tasks) go together.
    this.sending = true;
    queueMicrotask(() => void this.pump());
  }

  /**
   * Resolves once every update sent before this call has been answered (or has failed): a read of lineage
   * then sees them. With `timeoutMs`, resolves after that long at the latest (to false): a lineage that does
   * not answer (paused) must not hold a reader longer than its own call would.
   */
  settled(timeoutMs?: number): Promise<boolean> {
    if (this.done >= this.enqueued) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { upTo: this.enqueued, resolve: () => resolve(true) };
      this.waiters.push(waiter);
      if (timeoutMs === undefined) return;
      setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs).unref();
    });
  }

  /** Updates not yet answered. */
  get pending(): number {
    return this.enqueued - this.done;
  }

  /** Runs while updates are queued (`sending` was set by the send that started it). */
  private async pump(): Promise<void> {
    try {
      while (this.head < this.queue.length) {
        const merged = this.takeMerged();
        await this.call(merged);
        this.done += merged.length;
        this.wakeWaiters();
        // A writer that never runs dry still lets go of what it sent.
        if (this.head >= 1024) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
      }
      this.queue.length = 0;
      this.head = 0;
    } finally {
      this.sending = false;
    }
  }

  /** The head update and every following one of the same kind that merges with it, within the per-call bound. */
  private takeMerged(): LineageUpdate[] {
    const first = this.queue[this.head++]!;
    const merged = [first];
    if (first.kind !== 'record' && first.kind !== 'drop') return merged;
    let locations = first.locations.length;
    while (this.head < this.queue.length) {
      const next = this.queue[this.head]!;
      if (next.kind !== first.kind || locations + next.locations.length > this.maxLocationsPerCall) break;
      locations += next.locations.length;
      merged.push(next);
      this.head++;
    }
    return merged;
  }

  private async call(merged: LineageUpdate[]): Promise<void> {
    const first = merged[0]!;
    try {
      // Only records or only drops are ever merged (takeMerged): one call with all their locations.
      await this.callOne(merged.length === 1 ? first : { ...first, locations: merged.flatMap((u) => (u as { locations: Location[] }).locations) } as LineageUpdate);
    } catch (err) {
      if (merged.length > 1 && !isRetryable(err)) {
        // Lineage validates a whole request before applying any of it: find the update it refuses, keep the rest.
        for (const u of merged) await this.callOne(u).catch((e: unknown) => this.logFailure(u, e));
        return;
      }
      for (const u of merged) this.logFailure(u, err);
    }
  }

  private callOne(u: LineageUpdate): Promise<unknown> {
    switch (u.kind) {
      case 'record':
        return this.lineage.recordLocations(u.locations);
      case 'drop':
        return this.lineage.dropLocations(u.locations);
      case 'forget':
        return this.lineage.forgetBatches(u.jobId, u.beforeBatchTimeMs);
      case 'removeExecutor':
        return this.lineage.removeExecutor(u.executorId);
    }
  }

  private logFailure(u: LineageUpdate, err: unknown): void {
    const e = errorMessage(err);
    switch (u.kind) {
      case 'record':
        return this.log.warn({ err: e }, `lineage RecordLocations (${u.what}) failed`);
      case 'drop':
        return this.log.warn({ err: e }, 'lineage DropLocations failed');
      case 'forget':
        // Retried by the next batch's forget (everything before a later time).
        return this.log.debug({ err: e }, 'lineage ForgetBatches failed');
      case 'removeExecutor':
        return this.log.warn({ err: e }, 'lineage RemoveExecutor failed');
    }
  }

  private wakeWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.upTo <= this.done) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
