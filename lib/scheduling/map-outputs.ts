/**
 * A reduce task's map outputs (TaskSpec ShuffleInput), in either wire form:
 * the list (`map_outputs`, one MapOutputLocation per map partition) or the
 * compact one the scheduler and group plans send (`map_output_executors`
 * plus one holder index per map partition 0..S-1). Every reduce task of a
 * shuffle lists all S map outputs, so the list form made a batch's specs
 * grow with S² nested messages; the compact one with S varints and one ref
 * per executor per task. Readers go through `forEachMapOutput`, whichever
 * form came.
 */
import type { ExecutorRef } from '../proto/gen/rivulet/v1/ExecutorRef.js';
import type { ShuffleInput } from '../proto/gen/rivulet/v1/ShuffleInput.js';

export interface HeldMapOutput {
  mapPartition: number;
  executor: { executorId: string; address: string; epoch: number };
}

/** The compact fields of a ShuffleInput for map outputs listed in map-partition order. */
export type CompactMapOutputs = Required<Pick<ShuffleInput, 'mapOutputExecutors' | 'mapOutputHolders'>>;

/**
 * The compact form of `outputs`, when they are map partitions 0..n-1 in order
 * (every complete shuffle); undefined otherwise (the list form must be used).
 */
export function compactMapOutputs(outputs: readonly HeldMapOutput[]): CompactMapOutputs | undefined {
  const executors: ExecutorRef[] = [];
  const indexOf = new Map<string, number>();
  const holders = new Array<number>(outputs.length);
  for (let m = 0; m < outputs.length; m++) {
    const o = outputs[m]!;
    if (o.mapPartition !== m) return undefined;
    const e = o.executor;
    // Keyed by epoch too: two incarnations of one executor are two holders.
    const key = `${e.executorId}\u0000${e.epoch}\u0000${e.address}`;
    let i = indexOf.get(key);
    if (i === undefined) {
      i = executors.length;
      indexOf.set(key, i);
      executors.push({ executorId: e.executorId, address: e.address, epoch: e.epoch });
    }
    holders[m] = i;
  }
  return { mapOutputExecutors: executors, mapOutputHolders: holders };
}

/** A ShuffleInput as sent or as received (the generated types differ only in which fields are optional). */
interface MapOutputFields<E> {
  mapOutputs?: ReadonlyArray<{ mapPartition?: number; executor?: E | null }>;
  mapOutputExecutors?: readonly E[];
  mapOutputHolders?: readonly number[];
}

/** Map outputs the task reads (either form). */
export function mapOutputCount(input: MapOutputFields<unknown>): number {
  const compact = input.mapOutputHolders?.length ?? 0;
  return compact > 0 ? compact : (input.mapOutputs?.length ?? 0);
}

/**
 * Call `fn` for each map output the task reads, in map-partition order, with
 * its position; the executor is null when the spec names none (a holder index
 * beyond the executors too: a malformed spec the caller refuses).
 */
export function forEachMapOutput<E>(input: MapOutputFields<E>, fn: (mapPartition: number, executor: E | null, position: number) => void): void {
  const holders = input.mapOutputHolders ?? [];
  if (holders.length > 0) {
    const executors = input.mapOutputExecutors ?? [];
    for (let m = 0; m < holders.length; m++) fn(m, executors[holders[m]!] ?? null, m);
    return;
  }
  (input.mapOutputs ?? []).forEach((o, i) => fn(o.mapPartition ?? 0, o.executor ?? null, i));
}
