/** Conformance: pair operators, including structural (tuple) keys. */
import { defineJob } from 'rivulet';

type Avg = [number, number];

export default defineJob((ctx) => {
  const pairs = ctx.queueStream<[string, number]>('pairs');
  pairs.mapValues((v) => v + 1).output('mapValues');
  pairs.flatMapValues((v) => (v > 1 ? [v, -v] : [])).output('flatMapValues');
  pairs.groupByKey().output('groupByKey');
  pairs.reduceByKey((a, b) => a + b).output('reduceByKey');
  pairs.reduceByKey((a, b) => a + b, 1).output('reduceByKey1');
  pairs
    .combineByKey<string, number, Avg>(
      (v) => [v, 1],
      (c, v) => [c[0] + v, c[1] + 1],
      (a, b) => [a[0] + b[0], a[1] + b[1]],
      3,
    )
    .mapValues(([sum, n]) => sum / n)
    .output('combineByKey');
  const tuples = ctx.queueStream<[[string, number], number]>('tuples');
  tuples.reduceByKey((a, b) => a + b).output('tupleKeys');
  tuples.map(([k]) => k).countByValue().output('tupleCountByValue');
});
