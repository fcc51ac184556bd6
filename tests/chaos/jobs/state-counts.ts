/**
 * A stateful job for the checkpoint/recovery tests: a running total per key
 * (updateStateByKey) and per-key sessions that time out after 4 s of silence
 * (mapWithState), four state partitions each.
 */
import { defineJob, StateSpec } from 'rivulet';

export default defineJob((ctx) => {
  const events = ctx.queueStream<[string, number]>('events');
  events.updateStateByKey((values: number[], total: number | undefined) => (total ?? 0) + values.reduce((a, b) => a + b, 0), 4).output('totals');
  const sessions = events.mapWithState(
    StateSpec.function((key: string, value: number | undefined, state) => {
      if (state.isTimingOut()) return [key, 'ended', state.get()];
      state.update(((state.getOption() as number | undefined) ?? 0) + (value ?? 0));
      return undefined;
    })
      .timeout('4s')
      .numPartitions(4),
  );
  sessions.output('ended');
  sessions.stateSnapshots().output('open');
});
