/**
 * Word count per batch (`counts`, to check each record is counted once),
 * running totals of the non-id words across batches (`totals`, state carried
 * by updateStateByKey) and their counts over the last 2 s (`window`, an
 * inverse-reduce window reading its previous result): both must survive a
 * scheduler restart.
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const pairs = ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1]);
  pairs.reduceByKey((a, b) => a + b).output('counts');
  const colours = pairs.filter(([word]) => !word.startsWith('id'));
  colours.updateStateByKey((values: number[], total: number | undefined) => (total ?? 0) + values.reduce((a, b) => a + b, 0)).output('totals');
  // An inverse-reduce window: it reads its own previous result, kept across batches.
  colours
    .reduceByKeyAndWindow(
      (a: number, b: number) => a + b,
      (a: number, b: number) => a - b,
      '2s',
      '500ms',
      undefined,
      ([, n]: readonly [string, number]) => n !== 0,
    )
    .output('window');
});
