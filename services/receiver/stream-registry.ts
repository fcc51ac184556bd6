/**
 * The set of streams running jobs read: the receiver accepts pushes only for
 * these, and announces a batch for each of them at every batch boundary.
 *
 * Two sources, both full snapshots from the scheduler, the latest applied wins:
 * - NATS `rivulet.streams` (StreamsMessage), sent on change and periodically;
 *   cheap, but may be lost or not have arrived yet;
 * - the scheduler's ListStreams over gRPC, asked when a client opens a stream
 *   this registry does not know. Its answer is cached for `lookupCacheMs` so a
 *   client retrying an unknown stream in a loop does not hammer the scheduler,
 *   and concurrent lookups share one call.
 *
 * The scheduler's batch interval must equal the receiver's, or batch times
 * would not line up; a mismatch is logged and refuses pushes with
 * FAILED_PRECONDITION rather than producing batches nobody can match.
 *
 * It must never: accept a stream on a guess (unknown + scheduler unreachable
 * is UNAVAILABLE, not OK), or call the scheduler once per push.
 */
import type { Clock } from '../../lib/clock.js';
import { errorMessage, FailedPreconditionError, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';

export interface StreamsSnapshot {
  streams: readonly string[];
  /** The scheduler's batch interval; 0 when it did not say. */
  batchIntervalMs: number;
}

export interface StreamRegistryOptions {
  batchIntervalMs: number;
  clock: Clock;
  /** How long a ListStreams answer is trusted for streams it did not contain. */
  lookupCacheMs: number;
  /** The authoritative ListStreams call. Rejects when the scheduler cannot be reached. */
  listStreams(): Promise<StreamsSnapshot>;
  /** For error messages. */
  schedulerAddress: string;
  /** Called with the new set whenever it changes. */
  onChange(active: ReadonlySet<string>): void;
  log: Logger;
}

export class StreamRegistry {
  private active: ReadonlySet<string> = new Set();
  private mismatchMs: number | undefined;
  private lookedUpAtMs: number | undefined;
  private inflight: Promise<void> | undefined;

  constructor(private readonly opts: StreamRegistryOptions) {}

  get streams(): ReadonlySet<string> {
    return this.active;
  }

  isKnownActive(stream: string): boolean {
    return this.active.has(stream);
  }

  apply(snapshot: StreamsSnapshot, source: 'nats' | 'scheduler'): void {
    const interval = Number(snapshot.batchIntervalMs) || 0;
    if (interval > 0 && interval !== this.opts.batchIntervalMs) {
      if (this.mismatchMs !== interval) {
        this.opts.log.error(
          { schedulerBatchIntervalMs: interval, receiverBatchIntervalMs: this.opts.batchIntervalMs, source },
          'the scheduler batch interval differs from this receiver\'s: refusing pushes until they match (set --batch-interval)',
        );
      }
      this.mismatchMs = interval;
    } else if (interval > 0) {
      this.mismatchMs = undefined;
    }
    const next = new Set(snapshot.streams);
    if (next.size === this.active.size && [...next].every((s) => this.active.has(s))) return;
    const added = [...next].filter((s) => !this.active.has(s));
    const removed = [...this.active].filter((s) => !next.has(s));
    this.active = next;
    this.opts.log.info({ added, removed, source }, 'active streams changed');
    this.opts.onChange(next);
  }

  /**
   * Resolve when a running job reads `stream`. Rejects with
   * FailedPreconditionError naming the stream when none does (the stream
   * exists only while a job reads it: pushing needs that job running first), UnavailableError when that cannot be known (scheduler down), and
   * FailedPreconditionError when the batch intervals disagree.
   */
  async ensureActive(stream: string): Promise<void> {
    if (!this.active.has(stream)) {
      const fresh = this.lookedUpAtMs !== undefined && this.opts.clock.now() - this.lookedUpAtMs < this.opts.lookupCacheMs;
      if (!fresh) {
        try {
          await this.refresh();
        } catch (err) {
          throw new UnavailableError(
            `cannot check whether a running job reads stream '${stream}': scheduler at ${this.opts.schedulerAddress} unreachable (${errorMessage(err)})`,
            { cause: err },
          );
        }
      }
      if (!this.active.has(stream)) {
        throw new FailedPreconditionError(`no running job reads stream '${stream}': submit (or restart) a job that reads it before pushing`);
      }
    }
    if (this.mismatchMs !== undefined) {
      throw new FailedPreconditionError(
        `receiver batch interval ${this.opts.batchIntervalMs} ms differs from the scheduler's ${this.mismatchMs} ms; restart the receiver with --batch-interval ${this.mismatchMs}ms`,
      );
    }
  }

  /** Ask the scheduler now (one call shared by concurrent callers). */
  refresh(): Promise<void> {
    this.inflight ??= this.opts
      .listStreams()
      .then((snapshot) => {
        this.lookedUpAtMs = this.opts.clock.now();
        this.apply(snapshot, 'scheduler');
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}
