/**
 * The scheduler's encoder of TaskStream requests (RunTasksRequest): the bytes
 * decode to exactly the message the generated encoder would write (the fields
 * of a task come in another order, which protobuf readers accept), but the
 * parts the tasks of a stage share are encoded once and copied into each
 * task's bytes instead of being encoded again per task:
 *
 * - a map task's push targets (ShuffleWrite.push: one per executor planned
 *   for a reduce partition, shared by every map task of the shuffle);
 * - a reduce task's map outputs (ShuffleInput map_outputs, or
 *   map_output_executors and map_output_holders: every map output, the same
 *   for every reduce task of the shuffle).
 *
 * Both grow with the executors, so per batch they are O(executors × tasks):
 * at 128 executors × 4 slots, encoding them per task was the largest item of
 * the scheduler's CPU profile (bench/scheduler-scale.ts). A list is kept as
 * bytes, by identity (a WeakMap: gone with the list), only when it is frozen:
 * task-spec.ts and batch-run.ts freeze the lists they share between tasks and
 * build new ones when they change; any other list is encoded each time.
 *
 * A task whose shared lists are short (a few executors, few map outputs) is
 * encoded in one go, as generated: in parts it cost the scheduler more than it
 * saved (task-throughput at 2 executors, groupSize 1).
 */
import * as grpc from '@grpc/grpc-js';
import type { Type } from 'protobufjs';
import { protoType, rivuletV1 } from '../../lib/proto/index.js';
import type { RunTasksRequest } from '../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import type { ShuffleInput } from '../../lib/proto/gen/rivulet/v1/ShuffleInput.js';
import type { ShuffleWrite } from '../../lib/proto/gen/rivulet/v1/ShuffleWrite.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';

// Field keys (field number << 3 | 2: length-delimited).
const REQUEST_TASKS = (1 << 3) | 2;
const SPEC_SHUFFLES = (11 << 3) | 2;
const SPEC_SHUFFLE_WRITE = (12 << 3) | 2;

let types: { request: Type; spec: Type; input: Type; write: Type } | undefined;
function t(): { request: Type; spec: Type; input: Type; write: Type } {
  return (types ??= {
    request: protoType('rivulet.v1.RunTasksRequest'),
    spec: protoType('rivulet.v1.TaskSpec'),
    input: protoType('rivulet.v1.ShuffleInput'),
    write: protoType('rivulet.v1.ShuffleWrite'),
  });
}

/** Encoded entries of repeated fields, by the (frozen) list they were encoded from. */
const kept = new WeakMap<readonly unknown[], Uint8Array>();

/** The entries of repeated field `field` of `type` holding `list`: kept when the list is frozen (shared, never changed), else encoded afresh. */
function listField(type: Type, field: string, list: readonly unknown[]): Uint8Array {
  const frozen = Object.isFrozen(list);
  let bytes = frozen ? kept.get(list) : undefined;
  if (!bytes) {
    bytes = type.encode(type.fromObject({ [field]: list })).finish();
    if (frozen) kept.set(list, bytes);
  }
  return bytes;
}

function encodeShuffleWrite(w: ShuffleWrite): Uint8Array[] {
  const { write } = t();
  const parts: Uint8Array[] = [write.encode(write.fromObject({ ...w, push: [] })).finish()];
  if (w.push && w.push.length > 0) parts.push(listField(write, 'push', w.push));
  return parts;
}

function encodeShuffleInput(s: ShuffleInput): Uint8Array[] {
  const { input } = t();
  const parts: Uint8Array[] = [input.encode(input.fromObject({ ...s, mapOutputs: [], mapOutputExecutors: [], mapOutputHolders: [] })).finish()];
  if (s.mapOutputs && s.mapOutputs.length > 0) parts.push(listField(input, 'mapOutputs', s.mapOutputs));
  if (s.mapOutputExecutors && s.mapOutputExecutors.length > 0) parts.push(listField(input, 'mapOutputExecutors', s.mapOutputExecutors));
  if (s.mapOutputHolders && s.mapOutputHolders.length > 0) parts.push(listField(input, 'mapOutputHolders', s.mapOutputHolders));
  return parts;
}

/** `parts` as one length-delimited field `key`, appended to `out`. */
function appendField(out: Uint8Array[], key: number, parts: Uint8Array[]): number {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = varintHeader(key, len);
  out.push(head, ...parts);
  return head.length + len;
}

/** Entries of frozen shared lists from which a task is encoded in parts: below it, one encode of the whole task costs less. */
export const SHARED_ENTRIES_TO_SPLIT = 32;

/** How many entries the task's frozen shared lists hold (push targets, map outputs). */
function sharedEntries(spec: TaskSpec): number {
  let n = 0;
  const push = spec.shuffleWrite?.push;
  if (push && Object.isFrozen(push)) n += push.length;
  for (const s of spec.shuffles ?? []) {
    for (const list of [s.mapOutputs, s.mapOutputExecutors, s.mapOutputHolders]) if (list && Object.isFrozen(list)) n += list.length;
  }
  return n;
}

/** One task as field 1 of the request: in parts when `split` (its shared lists are long), else in one go. */
function encodeTaskSpec(spec: TaskSpec, split: boolean, out: Uint8Array[]): number {
  const { spec: type } = t();
  if (!split) return appendField(out, REQUEST_TASKS, [type.encode(type.fromObject(spec)).finish()]);
  const parts: Uint8Array[] = [type.encode(type.fromObject({ ...spec, shuffles: [], shuffleWrite: undefined })).finish()];
  for (const s of spec.shuffles ?? []) appendField(parts, SPEC_SHUFFLES, encodeShuffleInput(s));
  if (spec.shuffleWrite) appendField(parts, SPEC_SHUFFLE_WRITE, encodeShuffleWrite(spec.shuffleWrite));
  return appendField(out, REQUEST_TASKS, parts);
}

/** A RunTasksRequest in protobuf wire format (see the file comment). */
export function encodeRunTasksRequest(req: RunTasksRequest): Buffer {
  const { request } = t();
  const tasks = req.tasks ?? [];
  const split = tasks.map((spec) => sharedEntries(spec) >= SHARED_ENTRIES_TO_SPLIT);
  // Nothing worth sharing (a few executors): the generated encoding, in one go.
  if (!split.includes(true)) return asBuffer(request.encode(request.fromObject(req)).finish());
  const out: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < tasks.length; i++) total += encodeTaskSpec(tasks[i]!, split[i]!, out);
  // Plans, revocations, ended jobs and drops: one of each message at most, as generated.
  const rest = request.encode(request.fromObject({ ...req, tasks: [] })).finish();
  out.push(rest);
  return Buffer.concat(out, total + rest.length);
}

/** The Executor client class the scheduler dials: TaskStream requests go through encodeRunTasksRequest. */
export const SchedulerExecutorClient = grpc.makeGenericClientConstructor(
  {
    ...rivuletV1.Executor.service,
    TaskStream: { ...rivuletV1.Executor.service.TaskStream, requestSerialize: (req: RunTasksRequest) => encodeRunTasksRequest(req) },
  },
  'Executor',
);

/** protobufjs's writer gives a Buffer under Node: no copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function varintHeader(key: number, len: number): Uint8Array {
  const bytes: number[] = [key];
  let n = len;
  while (n >= 0x80) {
    bytes.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  bytes.push(n);
  return Uint8Array.from(bytes);
}
