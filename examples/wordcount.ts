/**
 * Word count per batch: the records of stream `lines` are lines of text; every
 * batch outputs `[word, count]` for the words of that batch.
 *
 *   rivulet submit examples/wordcount.ts
 *   rivulet push lines --file README.md
 *   rivulet tail <job-id> --output counts
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .output('counts');
});
