/**
 * `--insecure` keeps the behaviour from before security: plaintext gRPC and
 * NATS, no credentials, and a client with none does everything.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { pushIdsAndExpectExactCounts } from '../helpers/id-lines.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('--insecure', () => {
  let cluster: LocalCluster;
  useLocalCluster({ executors: 1, slots: 2, batchInterval: '500ms', blockInterval: '100ms', insecure: true }, (s) => ({ cluster } = s));

  it('runs a job end to end with a client that presents nothing, over plaintext', async () => {
    expect(cluster.security).toBeUndefined();
    expect(cluster.natsUrl).toMatch(/^nats:\/\//);
    const a = cluster.addresses();
    const client = new RivuletClient({ scheduler: a.scheduler, receiver: a.receiver, security: { insecure: true } });
    try {
      const job = await client.submitJob(wordcount);
      await pushIdsAndExpectExactCounts(client, client, job.jobId, 500);
      await client.stopJob(job.jobId);
    } finally {
      await client.close();
    }
  });
});
