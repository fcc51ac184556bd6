/**
 * The scheduler's sink worker thread: writes committed batches to their sinks
 * (postgres.ts, jetstream.ts) with retries (retry.ts), so the per-record work
 * — decoding, building statements, one publish per record — never runs on the
 * scheduler's event loop. Our own code only: no job code is loaded here.
 *
 * Requests are independent (different jobs write concurrently); the runner
 * sends a job's batches one at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { unpackRecords } from '../codec/records.js';
import { errorMessage } from '../errors.js';
import { connectNats, type NatsConnection } from '../nats/connection.js';
import { encodeRecords, JetStreamWriter, classifyNatsError, type PublishProgress } from './jetstream.js';
import { PostgresWriter, prepareRows, type PreparedRows } from './postgres.js';
import type { FromSinkWorker, SinkWorkerData, SinkWriteOutcome, SinkWriteRequest } from './protocol.js';
import { classifyPostgresError, SinkError, withRetries } from './retry.js';
import { sinkLabel } from './spec.js';

const port = parentPort!;
const data = workerData as SinkWorkerData;
const o = data.options;
const post = (msg: FromSinkWorker) => port.postMessage(msg);

const postgres = new PostgresWriter(
  { chunkRecords: o.chunkRecords, maxConnections: o.maxConnections, requestTimeoutMs: o.requestTimeoutMs },
  (message) => post({ type: 'log', message: `a pooled PostgreSQL connection failed while idle: ${message}` }),
);
let nats: Promise<{ nc: NatsConnection; writer: JetStreamWriter }> | undefined;

function natsWriter(): Promise<{ nc: NatsConnection; writer: JetStreamWriter }> {
  nats ??= connectNats(data.nats.url, 'rivulet-scheduler-sinks', undefined, undefined, data.nats.tls).then(
    (nc) => ({
      nc,
      writer: new JetStreamWriter(nc, {
        sinkSubjects: o.sinkSubjects,
        sinkStream: o.sinkStream,
        sinkStreamMaxBytes: o.sinkStreamMaxBytes,
        duplicateWindowMs: o.duplicateWindowMs,
        replicas: data.nats.replicas,
        chunkRecords: o.chunkRecords,
        requestTimeoutMs: o.requestTimeoutMs,
      }),
    }),
    (e: unknown) => {
      nats = undefined;
      throw e;
    },
  );
  return nats;
}

async function write(req: SinkWriteRequest): Promise<{ outcome: SinkWriteOutcome; retries: number }> {
  const { spec } = req;
  const sink = `sink ${sinkLabel(spec)} of output ${req.output}`;
  const batch = { jobId: req.jobId, output: req.output, batchTimeMs: req.batchTimeMs };
  const records = unpackRecords(req.payload);
  const onRetry = (err: SinkError, attempt: number, backoffMs: number) => post({ type: 'retry', seq: req.seq, error: err.message, attempt, backoffMs });
  let retries = 0;
  try {
    if (spec.kind === 'postgres') {
      const url = req.connectionUrl;
      if (!url) throw new SinkError(`${sink}: no connection string`, false);
      const prepared: PreparedRows = prepareRows(spec, records, o.chunkRecords, sink);
      // An empty batch is empty whenever it runs: nothing to write, not even a commit row (so no round trip).
      if (prepared.rows === 0) return { outcome: { ok: true, skipped: false, records: 0, duplicates: 0 }, retries };
      const r = await withRetries(() => postgres.write(spec, url, batch, prepared), o.retry, (e) => classifyPostgresError(e, sink), onRetry);
      retries = r.retries;
      return { outcome: { ok: true, skipped: r.value.skipped, records: r.value.rows, duplicates: 0 }, retries };
    }
    const progress: PublishProgress = { done: 0, published: 0, duplicates: 0 };
    let bodies: Uint8Array[] | undefined;
    const r = await withRetries(
      async () => {
        const { writer } = await natsWriter();
        const stream = await writer.checkStream(spec, sink);
        bodies ??= encodeRecords(records, spec.encoding, writer.maxPayload, sink);
        return writer.publish(stream, batch, spec.subject, bodies, progress);
      },
      o.retry,
      (e) => classifyNatsError(e, sink),
      onRetry,
    );
    retries = r.retries;
    // A batch all of whose records the stream had: written before (a re-run).
    const skipped = records.length > 0 && r.value.published === 0;
    return { outcome: { ok: true, skipped, records: r.value.published, duplicates: r.value.duplicates }, retries };
  } catch (e) {
    return { outcome: { ok: false, error: e instanceof SinkError ? e.message : `${sink}: ${errorMessage(e)}` }, retries };
  }
}

port.on('message', (req: SinkWriteRequest | { type: 'close' }) => {
  if (req.type === 'close') {
    void Promise.all([postgres.close(), nats?.then((n) => n.nc.close()).catch(() => undefined)]).finally(() => port.close());
    return;
  }
  const start = performance.now();
  void write(req).then(({ outcome, retries }) => post({ type: 'written', seq: req.seq, outcome, retries, durationMs: performance.now() - start }));
});
