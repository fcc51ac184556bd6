/**
 * gRPC handlers of the Lineage service: decode the request (wire.ts), call the
 * store, map every error to a status with toServiceError. Never throws out of
 * a handler: a malformed request is an INVALID_ARGUMENT, not a crash.
 *
 * Every mutation runs through one queue, one at a time: plan against the
 * current state → write the planned records to KV → commit to memory → answer
 * ("log before you mutate"). One queue rather than per-batch locks because
 * RemoveExecutor, ForgetBatches and the maxBatchesPerJob eviction span
 * batches; at ~0.2 ms per KV put that still allows thousands of mutations a
 * second. Queries read memory directly: memory only ever holds state that is
 * already durable, so they never see an unacknowledged write.
 *
 * Until `markReady()` (the initial load from KV is done) every call answers
 * UNAVAILABLE, so nobody reads an empty store as "batch unknown".
 */
import type * as grpc from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { AlreadyExistsError, errorMessage, InvalidArgumentError, toServiceError, UnavailableError } from '../../lib/errors.js';
import { checkName } from '../../lib/names.js';
import type { Logger } from '../../lib/log.js';
import type { LineageHandlers } from '../../lib/proto/gen/rivulet/v1/Lineage.js';
import type { LineagePersistence } from './kv-persistence.js';
import type { LineageStore } from './lineage-store.js';
import { formatDataset, isEmptyWrites, type BatchId, type Mutation } from './lineage-types.js';
import { decodeLocation, decodePartitionRef, decodeRegisterBatch, encodeBatch, encodeLocation, encodePlan } from './wire.js';

/** Runs async jobs strictly one after another, in submission order. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(job: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(job);
    // The chain continues whether the job failed or not.
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** Resolves once everything submitted so far has finished. */
  async idle(): Promise<void> {
    while (this.pending > 0) await this.tail;
  }
}

export interface LineageServiceOptions {
  store: LineageStore;
  persistence: LineagePersistence;
  log: Logger;
}

export class LineageService {
  private readonly queue = new SerialQueue();
  private ready = false;
  private readonly store: LineageStore;
  private readonly persistence: LineagePersistence;
  private readonly log: Logger;

  constructor(opts: LineageServiceOptions) {
    this.store = opts.store;
    this.persistence = opts.persistence;
    this.log = opts.log;
  }

  markReady(): void {
    this.ready = true;
  }

  /** Wait for in-flight mutations (used on shutdown). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Plan → persist → commit, serialised with every other mutation. */
  mutate<R>(plan: () => Mutation<R>): Promise<R> {
    return this.queue.run(async () => {
      const m = plan();
      if (!isEmptyWrites(m.writes)) await this.persistence.write(m.writes);
      return m.commit();
    });
  }

  /** Log batches dropped because a job exceeded maxBatchesPerJob: the limit is never silent. */
  logEvicted(evicted: readonly BatchId[], reason: string): void {
    if (evicted.length === 0) return;
    const byJob = new Map<string, number[]>();
    for (const b of evicted) byJob.set(b.jobId, [...(byJob.get(b.jobId) ?? []), b.batchTimeMs]);
    for (const [jobId, times] of byJob) {
      this.log.warn(
        { jobId, evicted: times.length, oldest: Math.min(...times), newest: Math.max(...times) },
        `forgot the oldest batches of job ${jobId}: ${reason} (maxBatchesPerJob); call ForgetBatches as windows expire to stay under it`,
      );
    }
  }

  handlers(): LineageHandlers {
    return {
      RegisterBatch: this.unary('RegisterBatch', async (req) => {
        const input = decodeRegisterBatch(req);
        let outcome;
        try {
          outcome = await this.mutate(() => this.store.planRegisterBatch(input));
        } catch (err) {
          if (!(err instanceof AlreadyExistsError) || !req.replace) throw err;
          // A restarted scheduler re-planned a batch its previous incarnation registered.
          await this.mutate(() => this.store.planForgetBatch(input.jobId, input.batchTimeMs));
          this.log.info({ jobId: input.jobId, batchTimeMs: input.batchTimeMs }, 'batch registered again with another graph; replaced');
          outcome = await this.mutate(() => this.store.planRegisterBatch(input));
        }
        this.logEvicted(outcome.evicted, `registering batch ${input.jobId}@${input.batchTimeMs} exceeded the limit`);
        return {};
      }),
      RecordLocations: this.unary('RecordLocations', async (req) => {
        const locations = (req.locations ?? []).map((l, i) => decodeLocation(l, `locations[${i}]`));
        await this.mutate(() => this.store.planRecordLocations(locations));
        return {};
      }),
      DropLocations: this.unary('DropLocations', async (req) => {
        const locations = (req.locations ?? []).map((l, i) => decodeLocation(l, `locations[${i}]`));
        const { dropped } = await this.mutate(() => this.store.planDropLocations(locations));
        return { dropped };
      }),
      GetBatch: this.unary('GetBatch', (req) => {
        const batchTimeMs = Number(req.batchTimeMs ?? 0);
        return encodeBatch(this.store.getBatch(req.jobId ?? '', batchTimeMs));
      }),
      LostOnExecutor: this.unary('LostOnExecutor', (req) => {
        const { lost, underReplicated } = this.store.lostOnExecutor(checkName('LostOnExecutor executor_id', req.executorId ?? ''));
        return { lost: lost.map(encodeLocation), underReplicated: underReplicated.map(encodeLocation) };
      }),
      RemoveExecutor: this.unary('RemoveExecutor', async (req) => {
        const executorId = checkName('RemoveExecutor executor_id', req.executorId ?? '');
        const { locationsUpdated } = await this.mutate(() => this.store.planRemoveExecutor(executorId));
        if (locationsUpdated > 0) this.log.info({ executorId, locationsUpdated }, 'removed executor from lineage locations');
        return { locationsUpdated };
      }),
      PlanRebuild: this.unary('PlanRebuild', (req) => {
        const partitions = (req.partitions ?? []).map((p, i) => decodePartitionRef(p, `partitions[${i}]`));
        const plan = this.store.planRebuild(partitions);
        if (plan.unrecoverable.length > 0) {
          this.log.warn(
            { unrecoverable: plan.unrecoverable.map((p) => `${formatDataset(p.dataset)}[${p.partition}]`).slice(0, 20) },
            'rebuild plan has unrecoverable partitions',
          );
        }
        return encodePlan(plan);
      }),
      ForgetBatches: this.unary('ForgetBatches', async (req) => {
        const before = Number(req.beforeBatchTimeMs ?? 0);
        if (!Number.isSafeInteger(before)) throw new InvalidArgumentError('before_batch_time_ms must be an integer');
        const { batchesForgotten } = await this.mutate(() => this.store.planForgetBatches(req.jobId ?? '', before));
        return { batchesForgotten };
      }),
      GetStats: this.unary('GetStats', () => this.store.stats()),
    };
  }

  // fn may be synchronous: run() is async, so whatever fn throws still becomes a rejection.
  private unary<Req, Res>(name: string, fn: (req: Req) => Res | Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const run = async () => {
        if (!this.ready) throw new UnavailableError('lineage is still loading its state; retry shortly');
        return fn(call.request);
      };
      run().then(
        (res) => callback(null, res),
        (err: unknown) => {
          const se = toServiceError(err);
          if (se.code === Status.INTERNAL || se.code === Status.UNAVAILABLE) {
            this.log.error({ rpc: name, err: errorMessage(err) }, 'lineage call failed');
          } else {
            this.log.debug({ rpc: name, code: se.code, err: errorMessage(err) }, 'lineage call rejected');
          }
          callback(se);
        },
      );
    };
  }
}
