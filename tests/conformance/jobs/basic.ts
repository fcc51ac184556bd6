/** Conformance: record-level and whole-batch operators over one queue stream of numbers. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const nums = ctx.queueStream<number>('nums');
  nums.map((x) => x * 2).output('map');
  nums.flatMap((x) => [x, x * 10]).output('flatMap');
  nums.filter((x) => x % 2 === 0).output('filter');
  nums.mapPartitions((xs) => [xs.reduce((a, b) => a + b, 0)]).output('mapPartitions');
  nums.glom().output('glom');
  nums.count().output('count');
  nums.map((x) => x % 3).countByValue().output('countByValue');
  nums.reduce((a, b) => a + b).output('reduce');
  nums.repartition(3).glom().output('repartition');
  nums.repartition(1).count().output('repartitionCount');
});
