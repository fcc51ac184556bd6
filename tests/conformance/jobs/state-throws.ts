/** Conformance: a throwing updateStateByKey / mapWithState function fails the batch, naming the operator. */
import { defineJob, StateSpec, type State } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .queueStream<[string, number]>('u')
    .updateStateByKey((values: number[], state: number | undefined) => {
      if (values.includes(13)) throw new RangeError('unlucky update');
      return (state ?? 0) + values.length;
    })
    .output('updated');
  ctx
    .queueStream<[string, number]>('m')
    .mapWithState(
      StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
        if (value === 13) throw new RangeError('unlucky mapping');
        state.update(value ?? 0);
        return key;
      }),
    )
    .output('mapped');
});
