/**
 * TEST-ONLY: the SchedulerTesting gRPC service (scheduler_testing.proto), the
 * deterministic test driver behind `rivulet/testing`'s runBatches. main.ts
 * serves it only when the scheduler runs with `testDriver` (RIVULET_TEST_DRIVER=true);
 * nothing on the product path calls into it.
 *
 * RunBatch does what the receiver does for a receiver stream, for the queue
 * streams of one batch: it stores every block on executors with PutBlock
 * (two replicas when there are two executors), then hands the blocks to the
 * DrivenBatchSource, which has the scheduler run the batch on the normal path
 * and resolves once its outputs are committed. The blocks are dropped afterwards:
 * the driver, not the batch clock, owns them.
 */
import { status as Status, type Interceptor } from '@grpc/grpc-js';
import { AbortedError, InvalidArgumentError, UnavailableError, errorMessage, toServiceError } from '../../../lib/errors.js';
import { dial, unary } from '../../../lib/grpc/client.js';
import type { Logger } from '../../../lib/log.js';
import type { ExecutorClient } from '../../../lib/proto/index.js';
import type { SchedulerTestingHandlers } from '../../../lib/proto/gen/rivulet/v1/SchedulerTesting.js';
import type { RunBatchRequest__Output } from '../../../lib/proto/gen/rivulet/v1/RunBatchRequest.js';
import type { InputBlock } from '../batch-run.js';
import type { DrivenBatchSource } from './driven-batch-source.js';

export interface TestDriverOptions {
  maxMessageBytes?: number;
  /** On its executor channels: the leading scheduler's term (lib/grpc/leader-term.ts). */
  interceptors?: Interceptor[];
}

export function testDriverHandlers(source: DrivenBatchSource, log: Logger, opts: TestDriverOptions = {}): SchedulerTestingHandlers & {
  close(): void;
} {
  const clients = new Map<string, ExecutorClient>();
  const client = (address: string) => {
    let c = clients.get(address);
    if (!c) clients.set(address, (c = dial.executor(address, { maxMessageBytes: opts.maxMessageBytes, interceptors: opts.interceptors ?? [] })));
    return c;
  };

  /** Store every queue block on executors; returns the scheduler's view of them. */
  const storeBlocks = async (req: RunBatchRequest__Output): Promise<{ inputs: Map<string, InputBlock[]>; holders: Set<string> }> => {
    const alive = source.aliveExecutors().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const inputs = new Map<string, InputBlock[]>();
    const holders = new Set<string>();
    const puts: Promise<unknown>[] = [];
    let next = 0;
    for (const q of req.inputs) {
      if (inputs.has(q.stream)) throw new InvalidArgumentError(`RunBatch: queue stream ${JSON.stringify(q.stream)} is listed twice`);
      if (q.blocks.length > 0 && alive.length === 0) throw new UnavailableError('RunBatch: no executors alive to hold the queue blocks');
      const blocks: InputBlock[] = q.blocks.map((batch, i) => {
        const blockId = `queue/${req.jobId}/${req.batchTimeMs}/${q.stream}/${i}`;
        const replicas = alive.length >= 2 ? [alive[next % alive.length]!, alive[(next + 1) % alive.length]!] : alive.slice(0, 1);
        next++;
        for (const e of replicas) {
          holders.add(e.address);
          puts.push(
            unary(client(e.address), client(e.address).putBlock, { blockId, stream: q.stream, batch }, { timeoutMs: 10_000, attempts: 3 }),
          );
        }
        return { blockId, records: batch.count, bytes: batch.payload.length, executorIds: replicas.map((e) => e.id) };
      });
      inputs.set(q.stream, blocks);
    }
    await Promise.all(puts);
    return { inputs, holders };
  };

  const dropBlocks = (req: RunBatchRequest__Output, holders: Set<string>) => {
    for (const address of holders) {
      unary(client(address), client(address).dropBlocks, { blockIds: [], prefixes: [`queue/${req.jobId}/${req.batchTimeMs}/`] }, { timeoutMs: 5000 }).catch(
        (err) => log.debug({ err: errorMessage(err), address }, 'dropping driven queue blocks failed'),
      );
    }
  };

  return {
    SubmitDrivenJob: (call, cb) => {
      const req = call.request;
      source.submit(req.bundle.toString('utf8'), req.source, req.name).then(
        (job) =>
          cb(null, {
            jobId: job.id,
            queueStreams: job.graph.queueStreams,
            outputs: job.graph.outputs.filter((o) => o.op === 'output').map((o) => o.name),
            batchIntervalMs: source.batchIntervalMs,
          }),
        (err: unknown) => {
          log.info({ err: errorMessage(err) }, 'driven job submission refused');
          cb(toServiceError(err));
        },
      );
    },
    RunBatch: (call, cb) => {
      const req = call.request;
      let holders = new Set<string>();
      storeBlocks(req)
        .then((stored) => {
          holders = stored.holders;
          return source.runBatch(req.jobId, Number(req.batchTimeMs), stored.inputs);
        })
        .then(
          (outputs) => {
            dropBlocks(req, holders);
            cb(null, { outputs: outputs.map((o) => ({ output: o.output, records: { count: o.count, payload: o.payload } })) });
          },
          (err: unknown) => {
            dropBlocks(req, holders);
            if (err instanceof AbortedError) cb({ code: Status.ABORTED, details: err.message, message: err.message });
            else cb(toServiceError(err));
          },
        );
    },
    close: () => {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}
