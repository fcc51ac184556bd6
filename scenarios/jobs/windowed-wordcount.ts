/**
 * Word count with state carried across batches (bench/recovery.ts's
 * windowed variant): every batch, the counts over the last 5 batches kept
 * incrementally (reduceByKeyAndWindow with an inverse function, so each
 * window is the previous one plus the batch that entered minus the one that
 * left) and every word's running total since the start (updateStateByKey,
 * checkpointed every 10 batches). Losing an executor loses one of the two
 * copies of both states; the slide is the 1 s batch interval, so every batch
 * does the same work and its total delay can be compared with the others'.
 * examples/windowed-wordcount.ts slides every 2 s, which would make every
 * other batch cheaper.
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const pairs = ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1]);
  pairs
    .reduceByKeyAndWindow(
      (a, b) => a + b,
      (a, b) => a - b,
      '5s',
      '1s',
      undefined,
      ([, count]) => count > 0,
    )
    .output('windowCounts');
  pairs
    .reduceByKey((a, b) => a + b)
    .updateStateByKey((counts: number[], total: number | undefined) => counts.reduce((a, b) => a + b, total ?? 0))
    .output('totals');
});
