/**
 * Conformance: mapWithState (Spark's MapWithStateDStream), as in Spark's
 * MapWithStateSuite, plus the State API, timeouts (scanned every batch in
 * Rivulet), null / empty batches, per-record calls, structural keys and object
 * states, and the state's partition count.
 */
import { defineJob, StateSpec, type State } from 'rivulet';

/** Spark's running count: `sum = value.getOrElse(0) + state.getOption.getOrElse(0)`. */
function bump(value: number | undefined, state: State<number>): number {
  const sum = (value ?? 0) + (state.getOption() ?? 0);
  state.update(sum);
  return sum;
}

function throws(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

interface Tally {
  n: number;
  sum: number;
  seen: number[];
}

export default defineJob((ctx) => {
  const words = ctx.queueStream<string>('words');
  const ones = words.map((w): [string, number] => [w, 1]);

  // "basic operations with simple API": the updated count is returned.
  const simple = ones.mapWithState(StateSpec.function((_key: string, value: number | undefined, state: State<number>) => bump(value, state)));
  simple.output('simple');
  simple.stateSnapshots().output('simpleState');

  // "basic operations with advanced API": the key doubled is returned.
  const advanced = ones.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
      bump(value, state);
      return key + key;
    }),
  );
  advanced.output('advanced');
  advanced.stateSnapshots().output('advancedState');

  // Spark's full form, (time, key, value, state) => Option: the batch time comes first.
  const withTime = ones.mapWithState(
    StateSpec.function((time: number, key: string, value: number | undefined, state: State<number>): [string, number, number] => [key, time, bump(value, state)]),
  );
  withTime.output('withTime');

  // "states as mapped data": [key, sum] is returned.
  const asMapped = ones.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state: State<number>): [string, number] => [key, bump(value, state)]),
  );
  asMapped.output('asMapped');
  asMapped.stateSnapshots().output('asMappedState');

  // "initial states, with nothing returned as from mapping function".
  const initialNothing = ones.mapWithState(
    StateSpec.function((_key: string, value: number | undefined, state: State<number>) => {
      bump(value, state);
      return undefined;
    }).initialState([['a', 5], ['b', 10], ['c', -20], ['d', 0]]),
  );
  initialNothing.output('initialNothing');
  initialNothing.stateSnapshots().output('initialNothingState');

  // Returning null emits null (only undefined emits nothing); no state is kept.
  ones.mapWithState(StateSpec.function((key: string) => (key === 'a' ? null : undefined))).output('emitNull');

  // The state's partitions: fixed 1, fixed 3, and the default (that of reduceByKey).
  const one = ones.mapWithState(StateSpec.function((key: string, value: number | undefined, state: State<number>) => [key, bump(value, state)]).numPartitions(1));
  one.glom().output('mappedGlom1');
  one.stateSnapshots().glom().output('stateGlom1');
  const three = ones.mapWithState(StateSpec.function((key: string, value: number | undefined, state: State<number>) => [key, bump(value, state)]).numPartitions(3));
  three.glom().output('mappedGlom3');
  three.stateSnapshots().glom().output('stateGlom3');
  ones
    .mapWithState(StateSpec.function((_key: string, value: number | undefined, state: State<number>) => bump(value, state)))
    .stateSnapshots()
    .glom()
    .output('stateGlomDefault');
  ones.reduceByKey((a, b) => a + b).glom().output('reduceGlomDefault');

  // "state removing" (numPartitions 1): the second sighting of a key removes it and returns the key.
  const removing = ctx
    .queueStream<string>('removing')
    .map((w): [string, number] => [w, 1])
    .mapWithState(
      StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
        if (state.exists()) {
          state.remove();
          return key;
        }
        state.update(value!);
        return undefined;
      }).numPartitions(1),
    );
  removing.output('removing');
  removing.stateSnapshots().output('removingState');

  // "state timing out" with timeout 3s: the key is returned when it times out.
  const timeout = ctx
    .queueStream<string>('timeout')
    .map((w): [string, number] => [w, 1])
    .mapWithState(
      StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
        if (value !== undefined) state.update(1);
        return state.isTimingOut() ? key : undefined;
      }).timeout('3s'),
    );
  timeout.output('timeout');
  timeout.stateSnapshots().output('timeoutState');

  // The State API, call by call: what the function saw, whether get/update/remove threw.
  const probe = ctx
    .queueStream<[string, number]>('probe')
    .mapWithState(
      StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
        const seen: Record<string, unknown> = {
          key,
          value: value === undefined ? 'none' : value,
          exists: state.exists(),
          old: state.getOption() ?? 'none',
          timingOut: state.isTimingOut(),
        };
        if (state.isTimingOut()) {
          seen.get = state.get();
          seen.updateThrows = throws(() => state.update(0));
          seen.removeThrows = throws(() => state.remove());
          return seen;
        }
        if (!state.exists()) seen.getThrows = throws(() => state.get());
        state.update((state.getOption() ?? 0) + value!);
        return seen;
      })
        .timeout(2000)
        .initialState([['init', 100]]),
    );
  probe.output('probe');
  probe.stateSnapshots().output('probeState');

  // One call per record, in record order per key; null and empty batches still generate.
  const dups = ctx.queueStream<[string, number]>('dups');
  const perRecord = dups.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state: State<number>): [string, number] => [key, bump(value, state)]),
  );
  perRecord.output('perRecord');
  perRecord.stateSnapshots().output('perRecordState');

  // A stream that starts with null batches, with an initial state.
  const late = ctx.queueStream<[string, number]>('late');
  const lateState = late.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state: State<number>): [string, number] => [key, bump(value, state)]).initialState([['p', 7]]),
  );
  lateState.output('late');
  lateState.stateSnapshots().output('lateState');

  // Tuple keys and object states.
  const tuples = ctx.queueStream<[[string, number], number]>('tuples');
  const tally = tuples.mapWithState(
    StateSpec.function((key: [string, number], value: number | undefined, state: State<Tally>): [[string, number], Tally] => {
      const s = state.getOption() ?? { n: 0, sum: 0, seen: [] };
      const next = { n: s.n + 1, sum: s.sum + value!, seen: [...s.seen, value!] };
      state.update(next);
      return [key, next];
    }),
  );
  tally.output('tuples');
  tally.stateSnapshots().output('tuplesState');
});
