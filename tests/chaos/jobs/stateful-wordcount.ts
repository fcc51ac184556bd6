/**
 * Word count per batch (`counts`, to check each record is counted once) and
 * running totals of the non-id words across batches (`totals`, state carried
 * by updateStateByKey: it must survive a scheduler restart).
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const pairs = ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1]);
  pairs.reduceByKey((a, b) => a + b).output('counts');
  pairs
    .filter(([word]) => !word.startsWith('id'))
    .updateStateByKey((values: number[], total: number | undefined) => (total ?? 0) + values.reduce((a, b) => a + b, 0))
    .output('totals');
});
