/**
 * NATS locked down (security on): an outsider cannot connect to the cluster's
 * NATS at all, and even a service's own certificate — a compromised executor
 * or receiver — cannot publish what another service owns. The NATS server
 * refuses (its log names each violation); an executor's heartbeat in another
 * live executor's name is refused by the scheduler; and a job running
 * meanwhile counts every acked record exactly once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { packValue } from '../../lib/codec/records.js';
import { subjects } from '../../lib/nats/subjects.js';
import { issueServiceCertificate } from '../../lib/security/pki.js';
import type { ServiceRole } from '../../lib/security/identity.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { pushIdsAndExpectExactCounts } from '../helpers/id-lines.js';
import { waitFor } from '../helpers/wait.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));

describe('NATS locked down', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'rivulet-nats-sec-'));
  const otherCa = mkdtempSync(join(tmpdir(), 'rivulet-nats-other-ca-'));
  afterAll(() => {
    rmSync(logDir, { recursive: true, force: true });
    rmSync(otherCa, { recursive: true, force: true });
  });
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logDir }, (s) => ({ cluster, client } = s));

  const natsLog = () => readFileSync(join(logDir, 'nats-server.log'), 'utf8');
  const asRole = (role: ServiceRole): Promise<NatsConnection> => {
    const env = cluster.security!.env(role);
    return connect({
      servers: cluster.natsUrl,
      tls: { caFile: env.RIVULET_TLS_CA_FILE, certFile: env.RIVULET_TLS_CERT_FILE, keyFile: env.RIVULET_TLS_KEY_FILE },
      reconnect: false,
      timeout: 3000,
    });
  };

  it('refuses a client without a certificate from the cluster CA', async () => {
    const caFile = cluster.security!.env('executor').RIVULET_TLS_CA_FILE;
    await expect(connect({ servers: cluster.natsUrl, tls: { caFile }, reconnect: false, timeout: 3000 })).rejects.toThrow();
    // Plaintext is refused too: the server requires TLS.
    await expect(connect({ servers: cluster.natsUrl.replace(/^tls:/, 'nats:'), reconnect: false, timeout: 3000 })).rejects.toThrow();
    const forged = issueServiceCertificate(otherCa, 'executor');
    await expect(
      connect({ servers: cluster.natsUrl, tls: { caFile, certFile: forged.certFile, keyFile: forged.keyFile }, reconnect: false, timeout: 3000 }),
    ).rejects.toThrow();
    expect(natsLog()).toMatch(/TLS handshake error/);
  });

  it("refuses a service's certificate publishing what another service owns, and the job counts every acked record once", async () => {
    const job = await client.submitJob(wordcount);
    const executor = await asRole('executor');
    const receiver = await asRole('receiver');
    try {
      const now = Math.floor(Date.now() / 500) * 500;
      // A compromised executor: an early empty batch.ready (it would drop the batch's input),
      // a streams announcement with no streams (every push would fail), edits of the job journal and tokens.
      executor.publish(subjects.batchReady('lines'), packValue({ stream: 'lines', batchTimeMs: now + 1000, batchIntervalMs: 500, blocks: [] }));
      executor.publish(subjects.streams, packValue({ streams: [], batchIntervalMs: 500 }));
      executor.publish('$KV.rivulet-scheduler.job.evil', new TextEncoder().encode('{}'));
      executor.publish('$KV.rivulet_tokens.0123456789abcdef', new TextEncoder().encode('{}'));
      executor.publish('$JS.API.STREAM.DELETE.KV_rivulet-scheduler', new Uint8Array());
      // The executor role may publish heartbeats — but not in a live executor's name with a new epoch:
      // the scheduler asks executor-1's address who answers there before it accepts a restart.
      const before = (await client.status()).executors.find((e) => e.executorId === 'executor-1')!;
      executor.publish(
        subjects.heartbeat('executor-1'),
        packValue({ executorId: 'executor-1', epoch: Date.now() * 2, address: '127.0.0.1:1', host: 'x', slots: 64, freeSlots: 64, runningTasks: 0, blockCount: 0, blockBytes: 0, blockCapacityBytes: 1, sentAtMs: Date.now() }),
      );
      await waitFor(() => readFileSync(join(logDir, 'scheduler.log'), 'utf8').includes('heartbeat refused'), 'the scheduler refuses the forged restart', { timeoutMs: 5000 });
      const after = (await client.status()).executors.find((e) => e.executorId === 'executor-1')!;
      expect({ state: after.state, epoch: String(after.epoch), address: after.address }).toEqual({ state: 'ALIVE', epoch: String(before.epoch), address: before.address });
      // A compromised receiver: a heartbeat in an executor's name with a higher epoch (it would evict executor-1).
      receiver.publish(
        subjects.heartbeat('executor-1'),
        packValue({ executorId: 'executor-1', epoch: Date.now() * 2, address: '127.0.0.1:1', host: 'x', slots: 64, freeSlots: 64, runningTasks: 0, blockCount: 0, blockBytes: 0, blockCapacityBytes: 1, sentAtMs: Date.now() }),
      );
      // Several receivers: a forged receiver heartbeat (the scheduler would wait for a phantom receiver's share), and
      // a forged merged list of a batch from an executor or a receiver (only the scheduler decides it; executors start planned batches from it).
      executor.publish(subjects.receiverHeartbeat('phantom'), packValue({ receiverId: 'phantom', incarnation: 'x', address: '127.0.0.1:1', sentAtMs: Date.now(), streams: [] }));
      executor.publish(subjects.batchInputs('lines'), packValue({ stream: 'lines', batchTimeMs: now + 1500, batchIntervalMs: 500, blocks: [] }));
      receiver.publish(subjects.batchInputs('lines'), packValue({ stream: 'lines', batchTimeMs: now + 2000, batchIntervalMs: 500, blocks: [] }));
      await Promise.all([executor.flush(), receiver.flush()]).catch(() => undefined);
      for (const subject of [
        subjects.batchReady('lines'),
        subjects.streams,
        '$KV.rivulet-scheduler.job.evil',
        '$KV.rivulet_tokens.0123456789abcdef',
        '$JS.API.STREAM.DELETE.KV_rivulet-scheduler',
        subjects.heartbeat('executor-1'),
        subjects.receiverHeartbeat('phantom'),
        subjects.batchInputs('lines'),
      ]) {
        await waitFor(() => natsLog().includes(`Publish Violation`) && natsLog().includes(`Subject "${subject}"`), `NATS refuses ${subject}`, { timeoutMs: 5000 });
      }
    } finally {
      await executor.close().catch(() => undefined);
      await receiver.close().catch(() => undefined);
    }

    // Nothing of it reached the cluster: both executors alive, pushes accepted, every record counted once.
    const status = await client.status();
    expect(status.executors.filter((e) => e.state === 'ALIVE').map((e) => e.executorId).sort()).toEqual(['executor-1', 'executor-2']);
    await pushIdsAndExpectExactCounts(client, client, job.jobId, 3000);
    await client.stopJob(job.jobId);
  });
});
