/** A reduce task's map outputs in the compact wire form: what goes in is what a reader gets back, and where it cannot be used. */
import { describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { PACKAGE_DEFINITION } from '../../../lib/proto/index.js';
import type { RunTasksRequest__Output } from '../../../lib/proto/gen/rivulet/v1/RunTasksRequest.js';
import { compactMapOutputs, forEachMapOutput, mapOutputCount, type HeldMapOutput } from '../../../lib/scheduling/map-outputs.js';

const e = (id: string, epoch = 1) => ({ executorId: id, address: `${id}:7000`, epoch });
const read = (input: Parameters<typeof forEachMapOutput>[0]) => {
  const out: unknown[] = [];
  forEachMapOutput(input, (mapPartition, executor, position) => out.push({ mapPartition, executor, position }));
  return out;
};

describe('compact map outputs', () => {
  it('name each executor once and read back in map-partition order, also after a trip over the wire', () => {
    const outputs: HeldMapOutput[] = [e('a'), e('b'), e('a'), e('c'), e('b', 2), e('a')].map((executor, mapPartition) => ({ mapPartition, executor }));
    const compact = compactMapOutputs(outputs)!;
    // Two incarnations of b are two holders.
    expect(compact.mapOutputExecutors.map((x) => `${x.executorId}/${String(x.epoch)}`)).toEqual(['a/1', 'b/1', 'c/1', 'b/2']);
    expect(compact.mapOutputHolders).toEqual([0, 1, 0, 2, 3, 0]);
    const expected = outputs.map((o, position) => ({ ...o, position }));
    expect(read(compact)).toEqual(expected);
    expect(mapOutputCount(compact)).toBe(6);
    // Encoded and decoded as an executor receives it in a task (RunTasks' own serializers).
    const runTasks = (PACKAGE_DEFINITION['rivulet.v1.Executor'] as grpc.ServiceDefinition).RunTasks!;
    const wire = runTasks.requestSerialize({ tasks: [{ taskId: 't', shuffles: [{ shuffleId: 's', ...compact }] }] });
    const received = (runTasks.requestDeserialize(wire) as RunTasksRequest__Output).tasks[0]!.shuffles[0]!;
    expect(received.mapOutputs).toEqual([]);
    expect(read(received)).toEqual(expected);
  });

  it('is refused for outputs that are not partitions 0..n-1 in order: the list form carries those', () => {
    expect(compactMapOutputs([{ mapPartition: 1, executor: e('a') }])).toBeUndefined();
    expect(compactMapOutputs([{ mapPartition: 0, executor: e('a') }, { mapPartition: 2, executor: e('a') }])).toBeUndefined();
    const list = { mapOutputs: [{ mapPartition: 1, executor: e('a') }, { mapPartition: 3, executor: e('b') }] };
    expect(read(list)).toEqual([
      { mapPartition: 1, executor: e('a'), position: 0 },
      { mapPartition: 3, executor: e('b'), position: 1 },
    ]);
    expect(mapOutputCount(list)).toBe(2);
  });

  it('gives no executor for a holder index beyond the executors (the reader refuses the task)', () => {
    expect(read({ mapOutputExecutors: [e('a')], mapOutputHolders: [0, 1] })).toEqual([
      { mapPartition: 0, executor: e('a'), position: 0 },
      { mapPartition: 1, executor: null, position: 1 },
    ]);
  });
});
