/**
 * Committed outputs, durable: every committed batch of every (job, output) of
 * a journaled job is also stored in a JetStream stream, so that a scheduler
 * killed and restarted still has them for WatchOutput (`fromBeginning`
 * replays) — including a batch committed just before the crash, which a
 * watcher may not have received — and so that a batch re-run after the
 * restart is stored once (JetStream's duplicate window, keyed by job, output
 * and batch time). The scheduler journals a batch as completed only after
 * its outputs are stored here (scheduler.ts finishRun).
 *
 * One subject per (job, output): `<stream>.<job>.<hex(output)>` (output names
 * may hold dots). Bounds: `outputRetentionBatches` messages per subject
 * (older ones discarded), each at most maxMessageBytes; a stopped or failed
 * job's outputs are purged.
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, DiscardPolicy, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, UnavailableError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { CommittedBatch } from './output-store.js';

export interface DurableOutputs {
  /** Resolves once every batch is stored. */
  persist(jobId: string, commits: ReadonlyArray<{ output: string; batch: CommittedBatch }>): Promise<void>;
  /** The retained batches of one output, oldest first. */
  load(jobId: string, output: string): Promise<CommittedBatch[]>;
  /** Forget a job's outputs (it was stopped or failed). */
  purge(jobId: string): Promise<void>;
}

const BATCH_TIME = 'Rivulet-Batch-Time';
const COUNT = 'Rivulet-Count';

export async function openDurableOutputs(
  nc: NatsConnection,
  stream: string,
  opts: { retentionBatches: number; maxMessageBytes: number },
  log: Logger,
): Promise<DurableOutputs> {
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
    js = jetstream(nc);
    const config = {
      subjects: [`${stream}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: opts.retentionBatches,
      max_msg_size: opts.maxMessageBytes,
      duplicate_window: 2 * 60 * 1_000_000_000, // ns
    };
    try {
      await jsm.streams.info(stream);
      await jsm.streams.update(stream, config);
    } catch {
      await jsm.streams.add({ name: stream, ...config });
    }
  } catch (e) {
    throw new UnavailableError(`cannot open the JetStream stream "${stream}" of committed outputs: ${errorMessage(e)}`, { cause: e });
  }
  const subject = (jobId: string, output: string) => `${stream}.${jobId}.${Buffer.from(output).toString('hex')}`;
  return {
    async persist(jobId, commits) {
      await Promise.all(
        commits.map(({ output, batch }) => {
          const h = natsHeaders();
          h.set(BATCH_TIME, String(batch.batchTimeMs));
          h.set(COUNT, String(batch.count));
          return js.publish(subject(jobId, output), batch.payload, { msgID: `${jobId}/${output}/${batch.batchTimeMs}`, headers: h });
        }),
      );
    },
    async load(jobId, output) {
      // One subject as a string: filter_subject (nats-server 2.9 has no filter_subjects).
      const consumer = await js.consumers.get(stream, { filter_subjects: subject(jobId, output) });
      try {
        const pending = (await consumer.info()).num_pending;
        if (pending === 0) return [];
        const out: CommittedBatch[] = [];
        const messages = await consumer.fetch({ max_messages: pending, expires: 5000 });
        for await (const m of messages) {
          out.push({ batchTimeMs: Number(m.headers?.get(BATCH_TIME)), count: Number(m.headers?.get(COUNT)), payload: Buffer.from(m.data) });
          if (m.info.pending === 0) break;
        }
        return out.sort((a, b) => a.batchTimeMs - b.batchTimeMs);
      } finally {
        await consumer.delete().catch(() => undefined);
      }
    },
    async purge(jobId) {
      try {
        await jsm.streams.purge(stream, { filter: `${stream}.${jobId}.>` });
      } catch (e) {
        log.warn({ jobId, err: errorMessage(e) }, 'cannot purge a finished job’s committed outputs');
      }
    },
  };
}
