/**
 * Click-through rate per ad, batch by batch: joins two streams of the same
 * batch. Records of `impressions` and `clicks` are ad ids; every batch
 * outputs `[ad, { shown, clicked, ctr }]` for the ads shown in it (an ad
 * with no click has `clicked` 0: the left outer join gives `null` for the
 * missing side, as Spark gives None).
 *
 *   rivulet submit examples/click-through.ts
 *   rivulet push impressions --file impressions.txt & rivulet push clicks --file clicks.txt
 *   rivulet tail <job-id> --output ctr
 */
import { defineJob } from 'rivulet';

const countPerAd = (ad: string): [string, number] => [ad, 1];

export default defineJob((ctx) => {
  const shown = ctx.receiverStream<string>('impressions').map(countPerAd).reduceByKey((a, b) => a + b);
  const clicked = ctx.receiverStream<string>('clicks').map(countPerAd).reduceByKey((a, b) => a + b);
  shown
    .leftOuterJoin(clicked)
    .mapValues(([s, c]) => ({ shown: s, clicked: c ?? 0, ctr: (c ?? 0) / s }))
    .output('ctr');
  shown.union(clicked).count().print();
});
