/**
 * Messages between the scheduler's sink runner (services/scheduler/sink-runner.ts)
 * and its sink worker thread (sink-worker.ts). Only plain data crosses: a
 * batch's records go in as one packed buffer (transferred, not copied), and
 * what happened comes back as counts and an error message.
 */
import type { RetryPolicy } from './retry.js';
import type { SinkSpec } from './spec.js';

/** Everything the sink writers are bounded by (the scheduler's sink* options, resolved). */
export interface SinkWorkerOptions {
  retry: RetryPolicy;
  chunkRecords: number;
  maxConnections: number;
  requestTimeoutMs: number;
  sinkSubjects: string[];
  sinkStream: string;
  sinkStreamMaxBytes: number;
  duplicateWindowMs: number;
}

/** workerData of the sink worker. */
export interface SinkWorkerData {
  options: SinkWorkerOptions;
  /** The NATS the JetStream sinks publish through, as the scheduler's own user. */
  nats: { url: string; replicas: number; tls?: { caFile: string; certFile: string; keyFile: string } };
}

/** Runner → worker: write one batch of one output to its sink. */
export interface SinkWriteRequest {
  type: 'write';
  seq: number;
  jobId: string;
  output: string;
  batchTimeMs: number;
  spec: SinkSpec;
  /** A Postgres sink's connection string, resolved by the scheduler from its environment. */
  connectionUrl?: string;
  /** The batch's packed records (lib/codec/records.ts). */
  payload: Uint8Array;
}

export type SinkWriteOutcome =
  | { ok: true; skipped: boolean; records: number; duplicates: number }
  | { ok: false; error: string };

export interface SinkWrittenMessage {
  type: 'written';
  seq: number;
  outcome: SinkWriteOutcome;
  /** Failed attempts before the last one. */
  retries: number;
  durationMs: number;
}

/** A failed attempt that will be retried after `backoffMs`. */
export interface SinkRetryMessage {
  type: 'retry';
  seq: number;
  error: string;
  attempt: number;
  backoffMs: number;
}

/** Something the worker wants logged (an idle connection lost). */
export interface SinkLogMessage {
  type: 'log';
  message: string;
}

export type FromSinkWorker = SinkWrittenMessage | SinkRetryMessage | SinkLogMessage;
