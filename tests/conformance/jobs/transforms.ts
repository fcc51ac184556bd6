/** Conformance: transform / transformWith over batch datasets. */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const words = ctx.queueStream<string>('words');
  const other = ctx.queueStream<string>('other');
  words
    .transform((ds) => ds.map((w): [string, number] => [w, 1]).reduceByKey((a, b) => a + b))
    .output('transform');
  words
    .transformWith(other, (x, y) =>
      x.map((w): [string, number] => [w, w.length]).join(y.map((w): [string, boolean] => [w, true])),
    )
    .output('transformWith');
  words.transform((ds) => ds.filter((w) => w.startsWith('a')).count()).output('transformCount');
});
