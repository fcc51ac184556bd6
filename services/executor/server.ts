/**
 * The Executor gRPC handlers: decode and check each request, call the block
 * store / bundle registry / task runner, and map typed errors to statuses via
 * `toServiceError`. No handler lets an exception escape: bad input gets a
 * clear status and the process keeps serving.
 */
import type * as grpc from '@grpc/grpc-js';
import { errorMessage, InvalidArgumentError, NotFoundError, toServiceError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { checkName, checkText } from '../../lib/names.js';
import type { DropBlocksRequest__Output } from '../../lib/proto/gen/rivulet/v1/DropBlocksRequest.js';
import type { ExecutorHandlers } from '../../lib/proto/gen/rivulet/v1/Executor.js';
import type { FetchBlocksRequest__Output } from '../../lib/proto/gen/rivulet/v1/FetchBlocksRequest.js';
import type { FetchedBlock } from '../../lib/proto/gen/rivulet/v1/FetchedBlock.js';
import type { RunTasksRequest__Output } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';
import { ResultWriter } from './result-writer.js';
import type { BlockStore, StoredBlock } from './block-store.js';
import type { JobBundles } from './job-bundles.js';
import type { TaskRunner } from './task-runner.js';
import type { BlockFetcher } from './peer-fetcher.js';
import { serveTaskStream } from './task-stream.js';
import type { LeaderTermFence } from '../../lib/grpc/leader-term.js';
import type { PlannedTasks } from './planned-tasks.js';

export interface ExecutorServerDeps {
  executorId: string;
  /** The current incarnation (incarnation.ts). */
  epoch: () => number;
  store: BlockStore;
  bundles: JobBundles;
  runner: TaskRunner;
  /** Reads blocks from peers (re-replication). */
  fetcher: BlockFetcher;
  /** The server's message bound: blocks and task results larger than this are sent back in slices. */
  maxMessageBytes: number;
  /** Tasks this executor holds at most (running or queued): slots × taskQueueDepth. */
  maxAssignedTasks: number;
  /** Group plans taken on TaskStream (planned-tasks.ts). */
  planned?: PlannedTasks;
  /** The highest scheduler term seen (lib/grpc/leader-term.ts): task streams of older terms are ended. */
  fence?: LeaderTermFence;
  log: Logger;
}

/** Room left in a FetchedBlock for the id and framing next to the payload. */
const MESSAGE_OVERHEAD = 1024;
/** Longest host:port a request may name. */
const MAX_ADDRESS_LENGTH = 512;
/** Most ids one request may name (FetchBlocks, DropBlocks, KillTasks, ReplicateBlocks, PushBlocks). */
const MAX_IDS_PER_REQUEST = 100_000;

export function executorHandlers(deps: ExecutorServerDeps): ExecutorHandlers {
  const { store, bundles, runner, log } = deps;

  /** DropBlocks, called or sent on the task stream (`where` names it in errors). */
  const dropBlocks = ({ blockIds, prefixes }: DropBlocksRequest__Output, where: string) => {
    checkCount(`${where} block_ids`, blockIds.length + prefixes.length);
    for (const id of blockIds) checkBlockId(id, `${where} block_id`);
    for (const p of prefixes) checkBlockId(p, `${where} prefix`);
    return store.drop(blockIds, prefixes);
  };

  return {
    PutBlock: (call, callback) => {
      try {
        const { blockId, batch } = call.request;
        checkBlockId(blockId, 'PutBlock block_id');
        if (call.request.stream) checkName('PutBlock stream', call.request.stream);
        if (!batch) throw new InvalidArgumentError(`PutBlock ${blockId}: batch is missing`);
        store.put({ id: blockId, kind: 'input', count: batch.count, payload: batch.payload ?? Buffer.alloc(0) });
        callback(null, { executorId: deps.executorId, epoch: deps.epoch() });
      } catch (e) {
        callback(toServiceError(e));
      }
    },

    PushBlocks: (call, callback) => {
      try {
        const blocks = call.request.blocks ?? [];
        checkCount('PushBlocks blocks', blocks.length);
        for (const b of blocks) {
          checkBlockId(b.blockId, 'PushBlocks block_id');
          // Only shuffle buckets are pushed: anything else has a place of its own (PutBlock, tasks).
          if (!b.blockId.startsWith('shuffle/')) throw new InvalidArgumentError(`PushBlocks takes shuffle buckets only, got ${b.blockId}`);
          if (!b.batch) throw new InvalidArgumentError(`PushBlocks ${b.blockId}: batch is missing`);
        }
        // Evictable: a pushed copy only saves a fetch, so it must never crowd out input blocks or outputs.
        store.putAll(
          blocks.map((b) => ({ id: b.blockId, kind: 'shuffle' as const, count: b.batch!.count, payload: b.batch!.payload ?? Buffer.alloc(0), pinned: false })),
        );
        callback(null, { stored: blocks.length });
      } catch (e) {
        callback(toServiceError(e));
      }
    },

    FetchBlocks: (call: grpc.ServerWritableStream<FetchBlocksRequest__Output, FetchedBlock>) => {
      let blocks: StoredBlock[];
      try {
        const ids = call.request.blockIds;
        checkCount('FetchBlocks block_ids', ids.length);
        for (const id of ids) checkBlockId(id, 'FetchBlocks block_id');
        blocks = new Array<StoredBlock>(ids.length);
        // Check everything first so a caller never gets half its blocks and a late error.
        for (let i = 0; i < ids.length; i++) {
          const b = store.get(ids[i]!);
          if (!b) throw new NotFoundError(`block ${ids[i]} not found on executor ${deps.executorId}`);
          blocks[i] = b;
        }
      } catch (e) {
        call.emit('error', toServiceError(e));
        return;
      }
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      // Blocks larger than a message go as slices (FetchedBlock).
      const slice = Math.max(1, deps.maxMessageBytes - MESSAGE_OVERHEAD);
      let i = 0;
      let offset = 0;
      // Respect flow control: a reduce task on a slow peer must not make us
      // buffer every block it asked for.
      const writeMore = () => {
        while (i < blocks.length && !cancelled) {
          const b = blocks[i]!;
          const total = b.payload.byteLength;
          const end = Math.min(total, offset + slice);
          const payload = offset === 0 && end === total ? b.payload : b.payload.subarray(offset, end);
          const ok = call.write({ blockId: b.id, batch: { count: b.count, payload }, offset, totalBytes: total });
          if (end >= total) {
            i++;
            offset = 0;
          } else offset = end;
          if (!ok) {
            call.once('drain', writeMore);
            return;
          }
        }
        if (!cancelled) call.end();
      };
      writeMore();
    },

    DropBlocks: (call, callback) => {
      try {
        callback(null, dropBlocks(call.request, 'DropBlocks'));
      } catch (e) {
        callback(toServiceError(e));
      }
    },

    LoadJob: (call, callback) => {
      try {
        checkName('LoadJob job_id', call.request.jobId);
        bundles.load(call.request.jobId, call.request.bundleHash, call.request.bundle ?? Buffer.alloc(0));
        callback(null, {});
      } catch (e) {
        callback(toServiceError(e));
      }
    },

    RunTasks: (call: grpc.ServerWritableStream<RunTasksRequest__Output, TaskResult>) => {
      const tasks = call.request.tasks ?? [];
      let cancelled = false;
      call.on('cancelled', () => (cancelled = true));
      let remaining = tasks.length;
      if (remaining === 0) {
        call.end();
        return;
      }
      // The call ends once every result's last message is written, not when the last task finishes.
      const sent = () => {
        if (--remaining === 0 && !cancelled) call.end();
      };
      const writer = new ResultWriter(call, { maxMessageBytes: deps.maxMessageBytes, cancelled: () => cancelled });
      for (const spec of tasks) {
        if (runner.activeCount >= deps.maxAssignedTasks) {
          // The scheduler's accounting says there is room, but a task it
          // killed may not have left yet: refuse, it is placed again.
          if (!cancelled) call.write(queueFull(spec, deps));
          sent();
          continue;
        }
        // start() never throws and its result never rejects: every outcome is a TaskResult.
        runner.start(spec).result.then(
          (result) => {
            if (cancelled) return;
            writer.send(result, spec.result?.maxMessageBytes ?? 0, sent);
          },
          (err) => {
            log.error({ err, taskId: spec.taskId }, 'task runner rejected (bug)');
            sent();
          },
        );
      }
    },

    TaskStream: (call) =>
      serveTaskStream(call, {
        runner,
        maxAssignedTasks: deps.maxAssignedTasks,
        maxMessageBytes: deps.maxMessageBytes,
        queueFull: (spec) => queueFull(spec, deps),
        planned: deps.planned,
        ...(deps.fence ? { fence: deps.fence } : {}),
        dropBlocks: (req) => {
          try {
            dropBlocks(req, 'RunTasksRequest.drops');
          } catch (e) {
            // Only a scheduler that breaks DropBlocks' bounds or id rules gets here: nothing is dropped.
            log.error({ err: errorMessage(e) }, 'drops on the task stream refused');
          }
        },
        jobsEnded: (jobIds) => {
          // From the leading scheduler only (the call is fenced by term); an id it never loaded here is ignored.
          const dropped = jobIds.slice(0, MAX_IDS_PER_REQUEST).flatMap((id) => bundles.endJob(id));
          if (dropped.length > 0) log.info({ jobIds, dropped, kept: bundles.size }, 'ended jobs\' bundles dropped');
        },
        log,
      }),

    Identify: (_call, callback) => {
      callback(null, { executorId: deps.executorId, epoch: deps.epoch() });
    },

    KillTasks: (call, callback) => {
      try {
        let killed = 0;
        const onlyQueued = call.request.onlyIfQueued;
        checkCount('KillTasks tasks', call.request.tasks.length);
        for (const t of call.request.tasks) checkName('KillTasks task_id', t.taskId, 'id');
        for (const t of call.request.tasks) {
          if (onlyQueued ? runner.withdraw(t.taskId, t.attempt) : runner.kill(t.taskId, t.attempt)) killed++;
          // A planned task still waiting for its inputs has not reached the runner.
          else if (deps.planned?.kill(t.taskId, t.attempt)) killed++;
        }
        callback(null, { killed });
      } catch (e) {
        callback(toServiceError(e));
      }
    },

    ReplicateBlocks: (call, callback) => {
      // One FetchBlocks per source peer; blocks already here are skipped, so
      // a retried request costs nothing.
      const bySource = new Map<string, { address: string; blocks: Array<{ id: string; records: number }> }>();
      try {
        checkCount('ReplicateBlocks blocks', call.request.blocks.length);
        for (const b of call.request.blocks) {
          checkBlockId(b.blockId, 'ReplicateBlocks block_id');
          if (b.source?.executorId) checkName('ReplicateBlocks source.executor_id', b.source.executorId);
          if (b.source?.address) checkText('ReplicateBlocks source.address', b.source.address, MAX_ADDRESS_LENGTH);
          if (!b.source?.executorId || !b.source.address) throw new InvalidArgumentError(`ReplicateBlocks ${b.blockId}: source is missing`);
          if (store.get(b.blockId)) continue;
          const entry = bySource.get(b.source.executorId) ?? { address: b.source.address, blocks: [] };
          entry.blocks.push({ id: b.blockId, records: b.records });
          bySource.set(b.source.executorId, entry);
        }
      } catch (e) {
        callback(toServiceError(e));
        return;
      }
      Promise.all(
        [...bySource].map(async ([executorId, { address, blocks }]) => {
          const payloads = await deps.fetcher.fetch({ executorId, address }, blocks.map((b) => b.id));
          store.putAll(blocks.map((b, i) => ({ id: b.id, kind: 'input' as const, count: b.records, payload: payloads[i]! })));
          return blocks.length;
        }),
      ).then(
        (counts) => callback(null, { replicated: counts.reduce((a, b) => a + b, 0) }),
        (e) => {
          log.warn({ err: (e as Error).message }, 'ReplicateBlocks failed');
          callback(toServiceError(e));
        },
      );
    },
  };
}

/** Block ids follow the shared id rule (lib/names.ts). */
function checkBlockId(id: string, field = 'block_id'): void {
  checkName(field, id, 'id');
}

function checkCount(field: string, n: number): void {
  if (n > MAX_IDS_PER_REQUEST) throw new InvalidArgumentError(`${field} has ${n} entries, over ${MAX_IDS_PER_REQUEST}`);
}

/** A task refused because this executor already holds slots × taskQueueDepth tasks (not the task's fault). */
function queueFull(spec: RunTasksRequest__Output['tasks'][number], deps: ExecutorServerDeps): TaskResult {
  return {
    taskId: spec.taskId,
    attempt: spec.attempt,
    executorId: deps.executorId,
    epoch: deps.epoch(),
    state: 'FAILED',
    queueFull: true,
    error: `executor ${deps.executorId} already holds ${deps.maxAssignedTasks} tasks (slots × taskQueueDepth)`,
  };
}
