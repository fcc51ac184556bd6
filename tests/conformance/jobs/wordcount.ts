import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const lines = ctx.queueStream<string>('lines');
  lines
    .flatMap((l) => l.split(/\s+/))
    .filter((w) => w.length > 0)
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b)
    .output('counts');
  lines.count().output('count');
  lines.glom().output('glom');
});
