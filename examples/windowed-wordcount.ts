/**
 * Windowed word count: every 2 seconds, `[word, count]` over the last 10
 * seconds of lines, kept up to date incrementally (Spark's
 * reduceByKeyAndWindow with an inverse function): the counts of the batches
 * that entered the window are added and those of the batches that left it
 * subtracted, so each slide touches only 2 s of data, not 10. Words whose
 * count falls to 0 are dropped by the filter function. Needs a batch interval
 * that divides 2 s (the default 1 s does).
 *
 *   rivulet submit examples/windowed-wordcount.ts
 *   rivulet push lines --file examples/data/sample.txt
 *   rivulet tail <job-id> --output windowCounts
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1])
    .reduceByKeyAndWindow(
      (a, b) => a + b, // a batch enters the window
      (a, b) => a - b, // a batch leaves it
      '10s',
      '2s',
      undefined, // the cluster's default parallelism
      ([, count]) => count > 0,
    )
    .output('windowCounts');
});
