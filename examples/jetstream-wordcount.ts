/**
 * Word count over a JetStream stream, read directly (no receiver): every
 * message of stream `LINES` is a line of text; every batch reads the next
 * range of the stream (at most 100k messages) and outputs `[word, count]`.
 * Messages that are not UTF-8 go to `lines.dead-letter`.
 *
 *   rivulet up --jetstream-sources LINES      # executors may read LINES
 *   nats stream add LINES --subjects 'lines.>' …; nats pub lines.a "to be or not to be"
 *   rivulet submit examples/jetstream-wordcount.ts
 *   rivulet tail <job-id> --output counts
 *   rivulet tail <job-id> --output lines.dead-letter
 */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx
    .jetStream<string>('lines', { stream: 'LINES', decode: 'lines', startAt: 'first', maxMessagesPerBatch: 100_000, messagesPerSlice: 10_000 })
    .flatMap((line) => line.split(/\s+/))
    .filter((word) => word.length > 0)
    .map((word): [string, number] => [word, 1])
    .reduceByKey((a, b) => a + b)
    .output('counts');
});
