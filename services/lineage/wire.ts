/**
 * Converting between the wire messages of lineage.proto (as @grpc/proto-loader
 * decodes them: enums as strings, int64 as number, absent messages as null)
 * and the domain types of lineage-types.ts. Decoding only checks shape
 * (present refs, known enum values, representable numbers) and throws
 * InvalidArgumentError; what the values mean is checked by the store.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { checkText } from '../../lib/names.js';
import type { BatchLineage } from '../../lib/proto/gen/rivulet/v1/BatchLineage.js';
import type { Dataset, Dataset__Output } from '../../lib/proto/gen/rivulet/v1/Dataset.js';
import type { DatasetRef, DatasetRef__Output } from '../../lib/proto/gen/rivulet/v1/DatasetRef.js';
import type { Location, Location__Output } from '../../lib/proto/gen/rivulet/v1/Location.js';
import type { PartitionRef, PartitionRef__Output } from '../../lib/proto/gen/rivulet/v1/PartitionRef.js';
import type { PlanRebuildResponse } from '../../lib/proto/gen/rivulet/v1/PlanRebuildResponse.js';
import type { RegisterBatchRequest__Output } from '../../lib/proto/gen/rivulet/v1/RegisterBatchRequest.js';
import {
  DEPENDENCY_KINDS,
  LOCATION_KINDS,
  type BatchView,
  type DatasetId,
  type DatasetSpec,
  type DependencyKind,
  type LocationKind,
  type LocationSpec,
  type PartitionId,
  type RebuildPlan,
  type RegisterBatchInput,
} from './lineage-types.js';

function int(v: unknown, field: string): number {
  // int64/uint64 arrive as numbers (LOADER_OPTIONS longs: Number); refuse what
  // a double can't hold exactly rather than round a batch time.
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${field} must be an integer, got ${String(v)}`);
  return n;
}

export function decodeDatasetRef(ref: DatasetRef__Output | null | undefined, field: string): DatasetId {
  if (!ref) throw new InvalidArgumentError(`${field} is required`);
  return { jobId: ref.jobId ?? '', batchTimeMs: int(ref.batchTimeMs ?? 0, `${field}.batch_time_ms`), nodeId: int(ref.nodeId ?? 0, `${field}.node_id`) };
}

function decodeDependency(v: unknown, field: string): DependencyKind {
  if (typeof v === 'string' && (DEPENDENCY_KINDS as readonly string[]).includes(v)) return v as DependencyKind;
  throw new InvalidArgumentError(`${field} must be one of ${DEPENDENCY_KINDS.join(', ')}, got ${String(v)}`);
}

function decodeLocationKind(v: unknown, field: string): LocationKind {
  if (typeof v === 'string' && (LOCATION_KINDS as readonly string[]).includes(v)) return v as LocationKind;
  throw new InvalidArgumentError(`${field} must be one of ${LOCATION_KINDS.join(', ')}, got ${String(v)}`);
}

export function decodeDataset(d: Dataset__Output, field: string): DatasetSpec {
  return {
    ref: decodeDatasetRef(d.ref, `${field}.ref`),
    // For logs and GetBatch (e.g. `output(counts)`): free text, bounded.
    operator: checkText(`${field}.operator`, d.operator ?? '', 512),
    dependency: decodeDependency(d.dependency, `${field}.dependency`),
    parents: (d.parents ?? []).map((p, i) => decodeDatasetRef(p, `${field}.parents[${i}]`)),
    numPartitions: int(d.numPartitions ?? 0, `${field}.num_partitions`),
  };
}

export function decodeLocation(l: Location__Output, field: string): LocationSpec {
  return {
    kind: decodeLocationKind(l.kind, `${field}.kind`),
    dataset: decodeDatasetRef(l.dataset, `${field}.dataset`),
    partition: int(l.partition ?? 0, `${field}.partition`),
    blockId: l.blockId ?? '',
    executorIds: l.executorIds ?? [],
    bytes: int(l.bytes ?? 0, `${field}.bytes`),
  };
}

export function decodePartitionRef(p: PartitionRef__Output, field: string): PartitionId {
  return { dataset: decodeDatasetRef(p.dataset, `${field}.dataset`), partition: int(p.partition ?? 0, `${field}.partition`) };
}

export function decodeRegisterBatch(req: RegisterBatchRequest__Output): RegisterBatchInput {
  return {
    jobId: req.jobId ?? '',
    batchTimeMs: int(req.batchTimeMs ?? 0, 'batch_time_ms'),
    datasets: (req.datasets ?? []).map((d, i) => decodeDataset(d, `datasets[${i}]`)),
    inputs: (req.inputs ?? []).map((l, i) => decodeLocation(l, `inputs[${i}]`)),
  };
}

export function encodeDatasetRef(d: DatasetId): DatasetRef {
  return { jobId: d.jobId, batchTimeMs: d.batchTimeMs, nodeId: d.nodeId };
}

export function encodeDataset(d: DatasetSpec): Dataset {
  return {
    ref: encodeDatasetRef(d.ref),
    operator: d.operator,
    dependency: d.dependency,
    parents: d.parents.map(encodeDatasetRef),
    numPartitions: d.numPartitions,
  };
}

export function encodeLocation(l: LocationSpec): Location {
  return {
    kind: l.kind,
    dataset: encodeDatasetRef(l.dataset),
    partition: l.partition,
    blockId: l.blockId,
    executorIds: [...l.executorIds],
    bytes: l.bytes,
  };
}

function encodePartitionRef(p: PartitionId): PartitionRef {
  return { dataset: encodeDatasetRef(p.dataset), partition: p.partition };
}

export function encodeBatch(b: BatchView): BatchLineage {
  return {
    jobId: b.jobId,
    batchTimeMs: b.batchTimeMs,
    datasets: b.datasets.map(encodeDataset),
    locations: b.locations.map(encodeLocation),
  };
}

export function encodePlan(plan: RebuildPlan): PlanRebuildResponse {
  return {
    tasks: plan.tasks.map((t) => ({
      partition: encodePartitionRef(t.partition),
      shuffleFor: t.shuffleFor ? encodeDatasetRef(t.shuffleFor) : null,
      depth: t.depth,
      reads: t.reads.map(encodePartitionRef),
    })),
    unrecoverable: plan.unrecoverable.map(encodePartitionRef),
  };
}
