/**
 * A word count whose results leave Rivulet through its sinks: each batch's
 * counts appended to a PostgreSQL table (`rows`) and published to a JetStream
 * subject (`events`), and the running totals of the non-id words upserted into
 * another table (`totals`). Connection `wc` is the scheduler's
 * RIVULET_SINK_WC; the tables exist before the job starts.
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  const pairs = ctx
    .receiverStream<string>('lines')
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1]);
  const counts = pairs.reduceByKey((a, b) => a + b).map(([word, count]) => ({ word, count }));
  counts.output('rows').toPostgres({ table: 'word_counts', connection: 'wc', mode: 'append' });
  counts.output('events').toJetStream('sinks.wordcounts');
  pairs
    .filter(([word]) => !word.startsWith('id'))
    .updateStateByKey((values: number[], total: number | undefined) => (total ?? 0) + values.reduce((a, b) => a + b, 0))
    .map(([word, total]) => ({ word, total }))
    .output('totals')
    .toPostgres({ table: 'word_totals', connection: 'wc', mode: 'upsert', key: 'word' });
});
