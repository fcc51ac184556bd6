/**
 * Messages between a process that must never run job code itself (the
 * scheduler) and the worker thread that evaluates a job bundle for it
 * (sandbox-worker.ts). Only plain data crosses: the graph comes back as
 * function-free node descriptions, batch records go in as packed buffers.
 */
import type { GraphNode } from './graph.js';
import type { JobOptions } from './api.js';

/** workerData of a sandbox worker. */
export interface SandboxWorkerData {
  code: string;
  /** Name used in errors about the bundle. */
  source: string;
  /** Time limit of evaluating the module and building the graph (in the worker, by vm). */
  buildTimeoutMs: number;
  /** 'build': post the graph and stop. 'foreach': then keep the job's foreachBatch functions and run them on request. */
  mode: 'build' | 'foreach';
  /** Int32Array(1) over it: the foreachBatch output node running now, -1 for none (read by the host on a timeout). */
  probe?: SharedArrayBuffer;
}

/** A graph node with every user function (and the state's initial records) left out: what the scheduler plans with. */
export type NodeDescription = GraphNode;

export interface BuiltMessage {
  type: 'built';
  nodes: NodeDescription[];
  options: JobOptions;
}

export interface BuildFailedMessage {
  type: 'buildFailed';
  message: string;
}

/** Host → worker: run the foreachBatch functions of one batch, in output order. */
export interface ForeachRequest {
  type: 'foreach';
  seq: number;
  batchTimeMs: number;
  calls: Array<{ nodeId: number; payload: Uint8Array }>;
}

export interface ForeachDoneMessage {
  type: 'foreachDone';
  seq: number;
  /** The batch's failure: the first function that threw. */
  error?: string;
}

/** A foreachBatch function's promise rejected (not awaited, as before: logged by the host). */
export interface ForeachRejectedMessage {
  type: 'foreachRejected';
  nodeId: number;
  batchTimeMs: number;
  message: string;
}

export type FromSandbox = BuiltMessage | BuildFailedMessage | ForeachDoneMessage | ForeachRejectedMessage;
