/** Conformance: a throwing foreachBatch function fails the batch with its error. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const xs = ctx.queueStream<number>('xs');
  xs.output('before');
  xs.foreachBatch((records) => {
    if (records.includes(13)) throw new RangeError('unlucky batch');
  });
});
