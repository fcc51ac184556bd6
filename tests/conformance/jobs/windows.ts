/** Conformance: window operations (Spark's WindowOperationsSuite), batch interval 1s. */
import { defineJob } from 'rivulet';

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

export default defineJob((ctx) => {
  const nums = ctx.queueStream<number>('nums');
  nums.window('2s').output('window');
  nums.window(2000, 2000).output('tumbling');
  nums.window('4s', '2s').output('larger');
  nums.window('2s', '3s').output('nonOverlapping');
  nums.window('3s', '2s').output('window3slide2');
  nums.window('2s').count().output('windowCount');

  const counts = ctx.queueStream<number>('counts');
  counts.countByWindow('2s', '1s').output('countByWindow');
  counts.reduceByWindow(add, '2s', '1s').output('reduceByWindow');
  counts.reduceByWindow(add, sub, '2s', '1s').output('reduceByWindowInv');

  const words = ctx.queueStream<string>('words');
  words.countByValueAndWindow('2s', '1s').output('countByValueAndWindow');

  const pairs = ctx.queueStream<[string, number]>('pairs');
  pairs.groupByKeyAndWindow('2s', '1s').mapValues((vs) => [...vs].sort()).output('groupByKeyAndWindow');
  pairs.reduceByKeyAndWindow(add, '2s', '1s').output('reduceByKeyAndWindow');
  pairs.reduceByKeyAndWindow(add, sub, '2s', '1s').output('reduceByKeyAndWindowInv');
  pairs.reduceByKeyAndWindow(add, sub, '2s', '1s', 3, ([, v]) => v !== 0).output('reduceByKeyAndWindowInvFilter');

  const slide = ctx.queueStream<[string, number]>('slide');
  slide.reduceByKeyAndWindow(add, '4s', '2s').output('largerSlideReduce');
  slide.reduceByKeyAndWindow(add, sub, '4s', '2s').output('largerSlideReduceInv');

  const sparse = ctx.queueStream<number>('sparse');
  sparse.window('2s').output('sparseWindow');
  sparse.countByWindow('2s', '1s').output('sparseCount');
});
