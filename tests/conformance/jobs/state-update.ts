/**
 * Conformance: updateStateByKey (Spark's StateDStream), as in Spark's
 * BasicOperationsSuite, plus null / empty batches, removal, structural keys,
 * object and array states and the state's partition count.
 */
import { defineJob } from 'rivulet';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
/** Spark's `Some(values.sum + state.getOrElse(0))`. */
const runningSum = (values: number[], state: number | undefined) => sum(values) + (state ?? 0);

/** Spark's StateObject of "updateStateByKey - object lifecycle". */
interface StateObject {
  counter: number;
  expireCounter: number;
}

/** What the probe keeps per key: every call it saw, and how the key's state started. */
interface Probe {
  calls: number;
  seen: number[][];
  createdFrom: string;
}

export default defineJob((ctx) => {
  // Spark "updateStateByKey" and the two "... with initial value RDD" tests.
  const words = ctx.queueStream<string>('words');
  const ones = words.map((w): [string, number] => [w, 1]);
  ones.updateStateByKey(runningSum).output('running');
  ones.updateStateByKey(runningSum, { initialState: [['a', 1], ['c', 2]] }).output('withInitial');
  // Spark passes new HashPartitioner(numInputPartitions = 2) with the initial RDD.
  ones.updateStateByKey(runningSum, { numPartitions: 2, initialState: [['a', 1], ['c', 2]] }).output('withInitial2');

  // The state's partitions: fixed 1, fixed 3, and the default (that of reduceByKey).
  ones.updateStateByKey(runningSum, 1).glom().output('glom1');
  ones.updateStateByKey(runningSum, { numPartitions: 3 }).glom().output('glom3');
  ones.updateStateByKey(runningSum).glom().output('glomDefault');
  ones.reduceByKey((a, b) => a + b).glom().output('reduceGlomDefault');

  // Spark "updateStateByKey - object lifecycle": a state object, mutated in place as in
  // Spark, dropped when seen twice in a row without new values; null batches in between.
  const lifecycle = ctx.queueStream<string>('lifecycle');
  const lifecycleState = lifecycle
    .map((w): [string, number] => [w, 1])
    .updateStateByKey((values: number[], state: StateObject | undefined): StateObject | undefined => {
      const stateObj = state ?? { counter: 0, expireCounter: 0 };
      const n = sum(values);
      if (n === 0) stateObj.expireCounter += 1;
      else {
        stateObj.counter += n;
        stateObj.expireCounter = 0;
      }
      return stateObj.expireCounter === 2 ? undefined : stateObj;
    });
  lifecycleState.mapValues((s) => s.counter).output('lifecycle');
  lifecycleState.output('lifecycleObjects');

  // null (no dataset) and empty batches, without and with an initial state.
  const sparse = ctx.queueStream<string>('sparse');
  const sparseOnes = sparse.map((w): [string, number] => [w, 1]);
  sparseOnes.updateStateByKey(runningSum).output('sparse');
  sparseOnes.updateStateByKey(runningSum, { initialState: [['z', 10]] }).output('sparseInit');

  // Every call of the update function, with the values of the batch in record order.
  const probe = ctx.queueStream<[string, number]>('probe');
  probe
    .updateStateByKey((values: number[], state: Probe | undefined): Probe =>
      state === undefined
        ? { calls: 1, seen: [values], createdFrom: 'undefined' }
        : { calls: state.calls + 1, seen: [...state.seen, values], createdFrom: state.createdFrom },
    )
    .output('probe');

  // Removal: returning null or undefined removes the key; it starts again from undefined.
  const removal = ctx.queueStream<[string, number]>('removal');
  const capAt3 = (gone: null | undefined) => (values: number[], state: number | undefined) => {
    const n = sum(values) + (state ?? 0);
    return n >= 3 ? gone : n;
  };
  removal.updateStateByKey(capAt3(null)).output('removeNull');
  removal.updateStateByKey(capAt3(undefined)).output('removeUndefined');

  // Falsy states (0, '', false) are states, not removals.
  const falsy = ctx.queueStream<[string, unknown]>('falsy');
  falsy.updateStateByKey((values: unknown[], state: unknown) => (values.length > 0 ? values[values.length - 1] : state)).output('falsy');

  // Structural keys: tuples compare by value across partitions and batches; 1 and '1' differ.
  const tuples = ctx.queueStream<[unknown, number]>('tuples');
  tuples.updateStateByKey(runningSum).output('tuples');
});
