/**
 * Conformance: a longer run of both stateful operators (running counts, a
 * removal rule, a mapWithState timeout), checked against a local model.
 */
import { defineJob, StateSpec, type State } from 'rivulet';

export default defineJob((ctx) => {
  const ones = ctx.queueStream<string>('words').map((w): [string, number] => [w, 1]);
  ones.updateStateByKey((values: number[], state: number | undefined) => (state ?? 0) + values.length).output('count');
  // Removed (returns null) once it reaches 5; a later sighting starts again from 1.
  ones
    .updateStateByKey((values: number[], state: number | undefined) => {
      const n = (state ?? 0) + values.length;
      return n >= 5 ? null : n;
    }, 3)
    .output('capped');
  const counted = ones.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state: State<number>): [string, number] => {
      if (state.isTimingOut()) return [key, -state.get()];
      const n = (state.getOption() ?? 0) + (value ?? 0);
      state.update(n);
      return [key, n];
    }).timeout('3s'),
  );
  counted.output('mapped');
  counted.stateSnapshots().output('snapshots');
});
