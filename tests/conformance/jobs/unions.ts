/** Conformance: union of two and three streams, self-union, and operators after a union. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const a = ctx.queueStream<string>('a');
  const b = ctx.queueStream<string>('b');
  const c = ctx.queueStream<string>('c');
  a.union(b).output('ab');
  a.union(b, c).glom().output('abcGlom');
  ctx.union(a, b, c).count().output('count');
  a.union(a).output('self');
  a.union(b.map((s) => s.toUpperCase()))
    .map((s): [string, number] => [s, 1])
    .reduceByKey((x, y) => x + y)
    .output('unionReduce');
});
