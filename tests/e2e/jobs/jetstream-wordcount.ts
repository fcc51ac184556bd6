/**
 * The JetStream source e2e's job: word count over stream LINES (every subject),
 * at most 20k messages per batch in slices of 5k, so a backlog takes several
 * batches and each batch several tasks.
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .jetStream<string>('lines', { stream: 'LINES', decode: 'lines', maxMessagesPerBatch: 20_000, messagesPerSlice: 5_000 })
    .flatMap((line) => line.split(' '))
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .output('counts');
});
