/** A job reading a granted JetStream stream that does not exist (tests/security/jetstream-source.test.ts). */
import { defineJob } from 'rivulet';

export default defineJob((ctx) => {
  ctx.jetStream<string>('missing', { stream: 'MISSING' }).output('out');
});
