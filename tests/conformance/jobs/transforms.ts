/** Conformance: transform / transformWith / ctx.transform over batch datasets. */
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
  // Spark's StreamingContext.transform over several streams: per word, [occurrences in words, in other].
  const lengths = words.map((w) => w.length);
  ctx
    .transform([words, other, lengths], ([w, o, l]) =>
      w
        .map((x): [string, number] => [x, 1])
        .union(o.map((x): [string, number] => [x, 100]))
        .union(l.map((n): [string, number] => [`len${n}`, 1]))
        .reduceByKey((a, b) => a + b),
    )
    .output('transformMany');
});
