/**
 * Each batch's word counts appended to the PostgreSQL table word_counts
 * through the scheduler's connection `wc` (RIVULET_SINK_WC): the job for the
 * Postgres sink's fault tests.
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .map(([word, count]) => ({ word, count }))
    .output('rows')
    .toPostgres({ table: 'word_counts', connection: 'wc' });
});
