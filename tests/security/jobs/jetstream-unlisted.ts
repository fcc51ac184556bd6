/** A job reading a JetStream stream that is not among the cluster's source streams (tests/security/jetstream-source.test.ts). */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx.jetStream<string>('other', { stream: 'OTHER' }).output('out');
});
