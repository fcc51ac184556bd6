/** Conformance: joins of two streams in the same batch (missing side = null) and cogroup. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const left = ctx.queueStream<[string, number]>('left');
  const right = ctx.queueStream<[string, string]>('right');
  left.join(right).output('join');
  left.leftOuterJoin(right).output('leftOuterJoin');
  left.rightOuterJoin(right, 1).output('rightOuterJoin');
  left.fullOuterJoin(right, 3).output('fullOuterJoin');
  left.cogroup(right).output('cogroup');
  left.join(left).output('selfJoin');
});
