/**
 * The scheduler's gRPC API (scheduler.proto): decode, call the Scheduler, map
 * errors to statuses. No scheduling logic lives here.
 */
import { Metadata, status as Status, type ServerWritableStream } from '@grpc/grpc-js';
import { SCHEDULER_ROLE_KEY } from '../../lib/grpc/scheduler-endpoints.js';
import { errorMessage, toServiceError, NotFoundError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { SchedulerHandlers } from '../../lib/proto/gen/rivulet/v1/Scheduler.js';
import { chunkPayload } from './durable-outputs.js';
import type { WatchOutputRequest__Output } from '../../lib/proto/gen/rivulet/v1/WatchOutputRequest.js';
import type { OutputBatch } from '../../lib/proto/gen/rivulet/v1/OutputBatch.js';
import type { Scheduler } from './scheduler.js';
import type { CommittedBatch } from './output-store.js';
import { sliceRetained } from './output-slice.js';
import type { SliceOutputRequest__Output } from '../../lib/proto/gen/rivulet/v1/SliceOutputRequest.js';
import type { SliceOutputPart } from '../../lib/proto/gen/rivulet/v1/SliceOutputPart.js';
import { denied, principalOf } from '../../lib/security/authenticate.js';
import { describePrincipal, mayActOnJob, ownerName, type Principal } from '../../lib/security/identity.js';
import type { TokenAdmin } from './token-admin.js';
import { checkName, checkText } from '../../lib/names.js';
import { STATUS_BOUNDS } from './status.js';

/** Longest SubmitJob `source` (the job module's file name, for messages). */
export const MAX_SOURCE_LENGTH = 1024;

/** Largest payload slice of one OutputBatch message; a bigger batch is sent in chunks (scheduler.proto OutputBatch). */
export function outputChunkBytes(maxMessageBytes: number): number {
  return Math.max(64 * 1024, Math.min(4 * 1024 * 1024, maxMessageBytes - 64 * 1024));
}

/**
 * The OutputBatch messages of one committed batch, as WatchOutput and
 * SliceOutput send it: one message, or `chunks` pieces of at most `chunkBytes`
 * of payload each (scheduler.proto OutputBatch), the record count on the first.
 */
export function outputBatchPieces(jobId: string, output: string, b: CommittedBatch, chunkBytes: number): OutputBatch[] {
  const chunks = chunkPayload(b.payload, chunkBytes);
  if (chunks.length === 1) return [{ jobId, output, batchTimeMs: b.batchTimeMs, records: { count: b.count, payload: b.payload } }];
  return chunks.map((payload, i) => ({
    jobId,
    output,
    batchTimeMs: b.batchTimeMs,
    records: { count: i === 0 ? b.count : 0, payload },
    chunk: i,
    chunks: chunks.length,
  }));
}

/** Marks an interrupted watch as a handover (the client reconnects to the leader: lib/grpc/scheduler-endpoints.ts). */
function handoverMetadata(): Metadata {
  const md = new Metadata();
  md.set(SCHEDULER_ROLE_KEY, 'standby');
  return md;
}

export function schedulerHandlers(
  scheduler: Scheduler,
  log: Logger,
  opts: { maxMessageBytes?: number; maxStatusBytes?: number; tokens?: TokenAdmin } = {},
): SchedulerHandlers {
  const chunkBytes = outputChunkBytes(opts.maxMessageBytes ?? 16 * 1024 * 1024);
  /** Refusal unless `p` may stop or watch the job (its owner or an admin); NOT_FOUND for an unknown job, as before. */
  const checkJobAccess = (method: string, p: Principal, jobId: string) => {
    const job = scheduler.jobs.get(jobId);
    if (mayActOnJob(p, job.owner)) return undefined;
    return denied(log, method, p, `${describePrincipal(p)} may not act on job ${jobId}: only its owner${job.owner ? ` (${job.owner})` : ''} and admins may`);
  };
  const tokensOrThrow = () => {
    if (!opts.tokens) throw new Error('token administration is not configured');
    return opts.tokens;
  };
  return {
    SubmitJob: (call, cb) => {
      const req = call.request;
      try {
        // Before the bundle is evaluated: a refused name costs nothing and is never kept.
        if (req.name) checkName('SubmitJob name', req.name);
        checkText('SubmitJob source', req.source, MAX_SOURCE_LENGTH);
      } catch (err) {
        cb(toServiceError(err));
        return;
      }
      const principal = principalOf(call);
      scheduler.submitJob(req.bundle.toString('utf8'), req.source, req.name, ownerName(principal)).then(
        (job) =>
          // Acknowledged once journaled: a scheduler restarted from now on resumes it.
          (job.journalWrite ?? Promise.resolve()).then(
            () => {
              log.info({ audit: true, principal: describePrincipal(principal), jobId: job.id, name: job.name, bundleHash: job.bundleHash }, 'job submitted by a client');
              cb(null, {
                jobId: job.id,
                bundleHash: job.bundleHash,
                streams: job.graph.streams,
                outputs: job.graph.outputNames,
                firstBatchTimeMs: job.firstBatchTimeMs,
              });
            },
            (err: unknown) => {
              // Refused: the client is told it does not exist, so nothing may list it either.
              log.error({ jobId: job.id, err: errorMessage(err) }, 'job could not be journaled; withdrawn');
              scheduler.withdrawJob(job.id, `submission refused: ${errorMessage(err)}`).catch(() => undefined);
              cb(toServiceError(err));
            },
          ),
        (err: unknown) => {
          log.info({ err: errorMessage(err) }, 'job submission refused');
          cb(toServiceError(err));
        },
      );
    },
    StopJob: (call, cb) => {
      const principal = principalOf(call);
      try {
        // The name first: a lookup's NOT_FOUND would quote the id.
        checkName('StopJob job_id', call.request.jobId);
        const refusal = checkJobAccess('/rivulet.v1.Scheduler/StopJob', principal, call.request.jobId);
        if (refusal) return cb(toServiceError(refusal));
      } catch (err) {
        return cb(toServiceError(err));
      }
      scheduler.stopJob(call.request.jobId).then(
        () => {
          log.info({ audit: true, principal: describePrincipal(principal), jobId: call.request.jobId }, 'job stopped by a client');
          cb(null, {});
        },
        (err: unknown) => cb(toServiceError(err)),
      );
    },
    WatchOutput: (call: ServerWritableStream<WatchOutputRequest__Output, OutputBatch>) => {
      const { jobId, output, fromBeginning } = call.request;
      try {
        checkName('WatchOutput job_id', jobId);
        checkName('WatchOutput output', output);
        const refusal = checkJobAccess('/rivulet.v1.Scheduler/WatchOutput', principalOf(call), jobId);
        if (refusal) {
          call.emit('error', toServiceError(refusal));
          return;
        }
        const job = scheduler.jobs.get(jobId);
        if (!scheduler.outputs.has(jobId, output)) {
          throw new NotFoundError(
            `job ${jobId} has no output ${JSON.stringify(output)}; its outputs are: ${job.graph.outputNames.join(', ')}`,
          );
        }
        let closed = false;
        const finish = (ok: boolean, message?: string, code: Status = Status.ABORTED) => {
          if (closed) return;
          closed = true;
          unwatch();
          if (ok) call.end();
          // grpc-js turns an 'error' event on a server stream into the call's status.
          else call.emit('error', { code, details: message, message, ...(code === Status.UNAVAILABLE ? { metadata: handoverMetadata() } : {}) });
        };
        const unwatch = scheduler.outputs.watch(
          jobId,
          output,
          {
            send: (b) => {
              if (closed) return;
              for (const piece of outputBatchPieces(jobId, output, b, chunkBytes)) call.write(piece);
            },
            end: finish,
            // Retryable: the client reconnects (to the leader) and asks from the last batch it has.
            interrupt: (message) => finish(false, message, Status.UNAVAILABLE),
          },
          fromBeginning,
        );
        call.on('cancelled', () => {
          closed = true;
          unwatch();
        });
        if (job.state === 'FAILED') finish(false, `job ${jobId} failed: ${job.error}`);
        else if (job.state === 'STOPPED') finish(true);
      } catch (err) {
        call.emit('error', toServiceError(err));
      }
    },
    SliceOutput: (call: ServerWritableStream<SliceOutputRequest__Output, SliceOutputPart>) => {
      const { jobId, output, fromTimeMs, toTimeMs } = call.request;
      let answer: ReturnType<typeof sliceRetained>;
      try {
        checkName('SliceOutput job_id', jobId);
        checkName('SliceOutput output', output);
        const refusal = checkJobAccess('/rivulet.v1.Scheduler/SliceOutput', principalOf(call), jobId);
        if (refusal) throw refusal;
        const job = scheduler.jobs.get(jobId);
        if (!scheduler.outputs.has(jobId, output)) {
          throw new NotFoundError(
            `job ${jobId} has no output ${JSON.stringify(output)}; its outputs are: ${job.graph.outputNames.join(', ')}`,
          );
        }
        // A snapshot, taken now on the event loop: batches committed while it is written are not in it.
        answer = sliceRetained(job, output, scheduler.outputs.retained(jobId, output), Number(fromTimeMs), Number(toTimeMs), scheduler.batchIntervalMs);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      let cancelled = false;
      let wake: (() => void) | undefined;
      call.on('cancelled', () => {
        cancelled = true;
        wake?.();
      });
      const w = answer.window;
      const messages = function* (): Generator<SliceOutputPart> {
        yield {
          window: {
            fromTimeMs: w.fromMs,
            toTimeMs: w.toMs,
            gridMs: w.gridMs,
            zeroTimeMs: w.zeroTimeMs,
            retainedBatches: w.retainedBatches,
            oldestRetainedMs: w.oldestRetainedMs ?? 0,
            newestRetainedMs: w.newestRetainedMs ?? 0,
            truncated: w.truncated,
            pending: w.pending,
            jobState: w.jobState,
            batches: answer.batches.length,
          },
        };
        for (const b of answer.batches) for (const batch of outputBatchPieces(jobId, output, b, chunkBytes)) yield { batch };
      };
      // Up to outputRetentionBytes of output: written as the client reads it (write() false = wait for 'drain').
      void (async () => {
        for (const m of messages()) {
          if (cancelled) return;
          if (call.write(m) || cancelled) continue;
          await new Promise<void>((resolve) => {
            wake = resolve;
            call.once('drain', resolve);
          });
          call.off('drain', wake!);
          wake = undefined;
        }
        if (!cancelled) call.end();
      })().catch((err: unknown) => {
        log.warn({ jobId, output, err: errorMessage(err) }, 'SliceOutput answer could not be written');
        call.emit('error', toServiceError(err));
      });
    },
    GetStatus: (call, cb) => {
      try {
        const { recentBatches, pageSize, pageToken } = call.request;
        const maxBytes = Math.min(opts.maxStatusBytes ?? STATUS_BOUNDS.maxBytes, opts.maxMessageBytes ?? Number.POSITIVE_INFINITY);
        cb(null, scheduler.status({ recentBatches: recentBatches || 10, pageSize, pageToken, maxBytes }));
      } catch (err) {
        cb(toServiceError(err));
      }
    },
    ListStreams: (_call, cb) => {
      cb(null, { streams: scheduler.jobs.activeStreams(), batchIntervalMs: scheduler.batchIntervalMs });
    },
    CreateToken: (call, cb) => {
      const p = principalOf(call);
      const { user, role, streams, ttlMs } = call.request;
      Promise.resolve()
        .then(() => tokensOrThrow().create({ user, role, streams, ttlMs: Number(ttlMs) }, describePrincipal(p)))
        .then(
          (r) => {
            log.info({ audit: true, principal: describePrincipal(p), tokenId: r.info.id, user, role }, 'token created');
            cb(null, r);
          },
          (err: unknown) => cb(toServiceError(err)),
        );
    },
    RevokeToken: (call, cb) => {
      const p = principalOf(call);
      Promise.resolve()
        .then(() => tokensOrThrow().revoke(call.request.id))
        .then(
          (revoked) => {
            log.info({ audit: true, principal: describePrincipal(p), tokenId: call.request.id, revoked }, 'token revoked');
            cb(null, { revoked });
          },
          (err: unknown) => cb(toServiceError(err)),
        );
    },
    ListTokens: (_call, cb) => {
      try {
        cb(null, { tokens: tokensOrThrow().list() });
      } catch (err) {
        cb(toServiceError(err));
      }
    },
  };
}
