/** Conformance: a window that is not a multiple of the batch interval (1s) is refused at submission. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx.queueStream<number>('nums').window(1500).output('w');
});
