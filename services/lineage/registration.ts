/**
 * RegisterBatch's checks and the records a registration writes. Pure: given
 * the request and a way to find datasets of earlier registered batches, it
 * either throws INVALID_ARGUMENT naming what is wrong, or returns the batch's
 * graph record (with the fingerprint that says what "the same registration"
 * means) and the location records of its input blocks.
 *
 * What it checks: every dataset belongs to the batch, once, with an operator,
 * a dependency kind and a partition count; parents are of the same job, in
 * this batch or a registered earlier one, never repeated, never the dataset
 * itself, and the graph within the batch is acyclic; narrow datasets other
 * than unions are one-to-one with their parents and a union has its parents'
 * partitions together (partition-mapping.ts); inputs are INPUT_BLOCKs of the
 * batch's SOURCE datasets within their partition counts.
 *
 * May not: decide whether the batch already exists or what to evict (the
 * store and retention.ts do), or touch any state.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../lib/errors.js';
import {
  DEPENDENCY_KINDS,
  datasetKey,
  formatBatch,
  formatDataset,
  pieceKey,
  type BatchGraphRecord,
  type DatasetId,
  type DatasetLocationsRecord,
  type DatasetRecord,
  type DatasetSpec,
  type RegisterBatchInput,
  type StoredLocation,
} from './lineage-types.js';
import { mergeReplica } from './partition-locations.js';
import { isUnion } from './partition-mapping.js';
import { isUint, validateBatchId, validateBytes, validateExecutorIds } from './validation.js';

/** What a valid registration writes. */
export interface RegistrationRecords {
  /** Datasets sorted by node id, with the registration's fingerprint. */
  readonly graph: BatchGraphRecord;
  /** INPUT_BLOCK locations, one record per SOURCE dataset that has any. */
  readonly locations: DatasetLocationsRecord[];
}

/**
 * Validate `input` and build its records. `earlier` finds a dataset of an
 * earlier, still registered batch (undefined when there is none).
 */
export function registrationRecords(
  input: RegisterBatchInput,
  earlier: (ref: DatasetId) => DatasetRecord | undefined,
): RegistrationRecords {
  const { jobId, batchTimeMs } = input;
  const what = 'RegisterBatch';
  validateBatchId(jobId, batchTimeMs, what);
  if (input.datasets.length === 0) throw new InvalidArgumentError(`${what}: a batch needs at least one dataset`);

  const specs = new Map<number, DatasetSpec>();
  for (const ds of input.datasets) {
    const ref = ds.ref;
    if (!ref) throw new InvalidArgumentError(`${what}: every dataset needs a ref`);
    if (ref.jobId !== jobId || ref.batchTimeMs !== batchTimeMs) {
      throw new InvalidArgumentError(`${what}: dataset ${formatDataset(ref)} does not belong to batch ${formatBatch(input)}`);
    }
    if (!isUint(ref.nodeId)) throw new InvalidArgumentError(`${what}: node_id must be a non-negative integer`);
    if (specs.has(ref.nodeId)) throw new InvalidArgumentError(`${what}: node ${ref.nodeId} is listed twice`);
    if (typeof ds.operator !== 'string' || ds.operator.length === 0) {
      throw new InvalidArgumentError(`${what}: dataset ${formatDataset(ref)} has no operator name`);
    }
    if (!DEPENDENCY_KINDS.includes(ds.dependency)) {
      throw new InvalidArgumentError(`${what}: dataset ${formatDataset(ref)} has no valid dependency kind`);
    }
    // Zero is legal: a batch in which a stream received nothing has a source
    // with no blocks (Spark's empty BlockRDD), and its narrow children too.
    if (!isUint(ds.numPartitions)) {
      throw new InvalidArgumentError(`${what}: dataset ${formatDataset(ref)} needs a partition count`);
    }
    if (ds.dependency === 'SOURCE' && ds.parents.length > 0) {
      throw new InvalidArgumentError(`${what}: SOURCE dataset ${formatDataset(ref)} cannot have parents`);
    }
    if (ds.dependency !== 'SOURCE' && ds.parents.length === 0) {
      throw new InvalidArgumentError(`${what}: ${ds.dependency} dataset ${formatDataset(ref)} needs at least one parent`);
    }
    specs.set(ref.nodeId, ds);
  }

  const records = new Map<number, DatasetRecord>();
  for (const ds of specs.values()) {
    const self = formatDataset(ds.ref);
    const seen = new Set<string>();
    const parentPartitions: number[] = [];
    for (const p of ds.parents) {
      if (!p) throw new InvalidArgumentError(`${what}: dataset ${self} has an empty parent ref`);
      const pk = datasetKey(p);
      // A duplicate parent (self-join) would make two map-partition ranges of
      // one shuffle indistinguishable in RebuildTask; refuse it until needed.
      if (seen.has(pk)) throw new InvalidArgumentError(`${what}: dataset ${self} lists parent ${formatDataset(p)} twice`);
      seen.add(pk);
      if (p.jobId !== jobId) {
        throw new InvalidArgumentError(`${what}: dataset ${self} has parent ${formatDataset(p)} of another job`);
      }
      let parentN: number;
      if (p.batchTimeMs === batchTimeMs) {
        if (p.nodeId === ds.ref.nodeId) throw new InvalidArgumentError(`${what}: dataset ${self} is its own parent`);
        const inBatch = specs.get(p.nodeId);
        if (!inBatch) throw new InvalidArgumentError(`${what}: parent ${formatDataset(p)} of ${self} is not in the batch`);
        parentN = inBatch.numPartitions;
      } else if (p.batchTimeMs < batchTimeMs) {
        const before = earlier(p);
        if (!before) {
          throw new InvalidArgumentError(
            `${what}: parent ${formatDataset(p)} of ${self} is not a dataset of a registered earlier batch of job ${jobId}`,
          );
        }
        parentN = before.numPartitions;
      } else {
        throw new InvalidArgumentError(`${what}: parent ${formatDataset(p)} of ${self} is in a later batch`);
      }
      // NARROW_PARTITIONS: a narrow mapping other than union is one-to-one
      // (see narrowParentPartitions), so it only makes sense between equally
      // partitioned datasets; a union's count is checked below.
      if (ds.dependency === 'NARROW' && !isUnion(ds) && parentN !== ds.numPartitions) {
        throw new InvalidArgumentError(
          `${what}: NARROW dataset ${self} has ${ds.numPartitions} partitions but parent ${formatDataset(p)} has ${parentN}; ` +
            'narrow dependencies other than union are one-to-one',
        );
      }
      parentPartitions.push(parentN);
    }
    if (isUnion(ds)) {
      const total = parentPartitions.reduce((a, b) => a + b, 0);
      if (total !== ds.numPartitions) {
        throw new InvalidArgumentError(
          `${what}: NARROW dataset ${self} with ${ds.parents.length} parents (a union) has ${ds.numPartitions} partitions ` +
            `but its parents have ${total} together; a union's partitions are its parents' concatenated`,
        );
      }
    }
    records.set(ds.ref.nodeId, {
      nodeId: ds.ref.nodeId,
      operator: ds.operator,
      dependency: ds.dependency,
      parents: ds.parents.map((p) => ({ jobId: p.jobId, batchTimeMs: p.batchTimeMs, nodeId: p.nodeId })),
      numPartitions: ds.numPartitions,
      parentPartitions,
    });
  }
  checkAcyclic(records, batchTimeMs, what);

  // Input blocks: INPUT_BLOCK locations of this batch's SOURCE datasets.
  const inputs = new Map<number, Map<string, StoredLocation>>();
  const inputIds: string[] = [];
  for (const loc of input.inputs) {
    if (!loc.dataset) throw new InvalidArgumentError(`${what}: every input needs a dataset ref`);
    const where = `input ${loc.blockId || '(no block id)'} of ${formatDataset(loc.dataset)}`;
    if (loc.kind !== 'INPUT_BLOCK') throw new InvalidArgumentError(`${what}: ${where} must be an INPUT_BLOCK location`);
    if (loc.dataset.jobId !== jobId || loc.dataset.batchTimeMs !== batchTimeMs) {
      throw new InvalidArgumentError(`${what}: ${where} is not a dataset of this batch`);
    }
    const ds = records.get(loc.dataset.nodeId);
    if (!ds) throw new InvalidArgumentError(`${what}: ${where} names an unknown dataset`);
    if (ds.dependency !== 'SOURCE') throw new InvalidArgumentError(`${what}: ${where} must belong to a SOURCE dataset`);
    if (!isUint(loc.partition) || loc.partition >= ds.numPartitions) {
      throw new InvalidArgumentError(`${what}: ${where} has partition ${loc.partition}, dataset has ${ds.numPartitions}`);
    }
    if (typeof loc.blockId !== 'string' || loc.blockId.length === 0) throw new InvalidArgumentError(`${what}: ${where} needs a block_id`);
    const executorIds = validateExecutorIds(loc.executorIds, `${what}: ${where}`);
    const bytes = validateBytes(loc.bytes, `${what}: ${where}`);
    let pieces = inputs.get(ds.nodeId);
    if (!pieces) inputs.set(ds.nodeId, (pieces = new Map<string, StoredLocation>()));
    const pk = pieceKey('INPUT_BLOCK', loc.partition, loc.blockId);
    const prev = pieces.get(pk);
    if (!prev) inputIds.push(`${ds.nodeId}|${pk}`);
    pieces.set(pk, { kind: 'INPUT_BLOCK', partition: loc.partition, blockId: loc.blockId, ...mergeReplica(prev, executorIds, bytes) });
  }

  const fingerprint = fingerprintOf(records.values(), inputIds);
  const graph: BatchGraphRecord = { jobId, batchTimeMs, fingerprint, datasets: [...records.values()].sort((a, b) => a.nodeId - b.nodeId) };
  const locations: DatasetLocationsRecord[] = [...inputs].map(([nodeId, pieces]) => ({
    jobId,
    batchTimeMs,
    nodeId,
    locations: [...pieces.values()],
  }));
  return { graph, locations };
}

/** Whether two registrations have the same dataset graph (for the ALREADY_EXISTS message). */
export function sameDatasets(a: Iterable<DatasetRecord>, b: Iterable<DatasetRecord>): boolean {
  return JSON.stringify(canonicalDatasets(a)) === JSON.stringify(canonicalDatasets(b));
}

function canonicalDatasets(datasets: Iterable<DatasetRecord>): unknown[] {
  return [...datasets]
    .sort((a, b) => a.nodeId - b.nodeId)
    .map((d) => [d.nodeId, d.operator, d.dependency, d.parents.map((p) => [p.jobId, p.batchTimeMs, p.nodeId]), d.numPartitions]);
}

function fingerprintOf(datasets: Iterable<DatasetRecord>, inputIds: readonly string[]): string {
  const canonical = JSON.stringify({ datasets: canonicalDatasets(datasets), inputs: [...inputIds].sort() });
  return createHash('sha256').update(canonical).digest('hex');
}

function checkAcyclic(records: ReadonlyMap<number, DatasetRecord>, batchTimeMs: number, what: string): void {
  // Kahn's algorithm over in-batch edges; parents in earlier batches can't form cycles.
  const indegree = new Map<number, number>();
  const children = new Map<number, number[]>();
  for (const d of records.values()) {
    const local = d.parents.filter((p) => p.batchTimeMs === batchTimeMs);
    indegree.set(d.nodeId, local.length);
    for (const p of local) {
      const list = children.get(p.nodeId) ?? [];
      list.push(d.nodeId);
      children.set(p.nodeId, list);
    }
  }
  const ready = [...indegree].filter(([, n]) => n === 0).map(([id]) => id);
  let visited = 0;
  while (ready.length > 0) {
    const id = ready.pop()!;
    visited++;
    for (const c of children.get(id) ?? []) {
      const n = indegree.get(c)! - 1;
      indegree.set(c, n);
      if (n === 0) ready.push(c);
    }
  }
  if (visited !== records.size) {
    const cyclic = [...indegree].filter(([, n]) => n > 0).map(([id]) => id);
    throw new InvalidArgumentError(`${what}: the dataset graph has a cycle through nodes ${cyclic.join(', ')}`);
  }
}
