/**
 * Reading a JetStream stream is granted per stream (nats-permissions.ts
 * sourceStreams): executors may read the listed source streams (ordered
 * consumers) and the scheduler their state — nothing else of them. A NATS user
 * without that permission, and Rivulet's other service users (receiver,
 * lineage), cannot read a source stream; executors cannot read a stream that
 * is not listed; and a job naming an unlisted stream fails with a message
 * saying what to grant.
 */
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, DeliverPolicy } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { natsSourceProducer, type NatsPermissions } from '../../lib/security/nats-permissions.js';
import type { ServiceRole } from '../../lib/security/identity.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

const job = fileURLToPath(new URL('./jobs/jetstream-unlisted.ts', import.meta.url));
const missingJob = fileURLToPath(new URL('./jobs/jetstream-missing.ts', import.meta.url));
/** An outsider: a NATS user of the same server with ordinary JetStream plumbing but no grant on the source stream. */
const OUTSIDER: NatsPermissions = { publish: { allow: ['$JS.API.INFO', '$JS.API.STREAM.NAMES', '_INBOX.>'] }, subscribe: { allow: ['_INBOX.>'] } };

describe('JetStream sources: who may read a source stream', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster(
    {
      executors: 1,
      slots: 1,
      batchInterval: '500ms',
      blockInterval: '100ms',
      natsAccess: {
        sourceStreams: ['SECRET', 'MISSING'],
        users: [
          { name: 'producer', permissions: natsSourceProducer(['SECRET', 'OTHER'], ['secret.>', 'other.>']) },
          { name: 'outsider', permissions: OUTSIDER },
        ],
      },
    },
    (s) => ({ cluster, client } = s),
  );

  const asUser = (name: string) => connect({ servers: cluster.natsUrl, tls: cluster.security!.natsClientTls(name), reconnect: false, timeout: 3000 });
  const asRole = (role: ServiceRole): Promise<NatsConnection> => {
    const env = cluster.security!.env(role);
    return connect({
      servers: cluster.natsUrl,
      tls: { caFile: env.RIVULET_TLS_CA_FILE, certFile: env.RIVULET_TLS_CERT_FILE, keyFile: env.RIVULET_TLS_KEY_FILE },
      reconnect: false,
      timeout: 3000,
    });
  };
  /** Read the stream's first message with an ordered consumer, as an executor does. */
  const readFirst = async (nc: NatsConnection, stream: string): Promise<string> => {
    const c = await jetstream(nc, { timeout: 2000 }).consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
    const m = await c.next({ expires: 2000 });
    return m ? m.string() : '(none)';
  };

  it('lets executors read a listed stream, and no one else: an outsider, the receiver, lineage; not an unlisted stream', async () => {
    const producer = await asUser('producer');
    try {
      const jsm = await jetstreamManager(producer);
      await jsm.streams.add({ name: 'SECRET', subjects: ['secret.>'] });
      await jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] });
      await jetstream(producer).publish('secret.a', 'classified');
      await jetstream(producer).publish('other.a', 'not for rivulet');
    } finally {
      await producer.close();
    }
    const executor = await asRole('executor');
    try {
      expect(await readFirst(executor, 'SECRET')).toBe('classified');
      await expect(readFirst(executor, 'OTHER')).rejects.toThrow(/[Pp]ermission|timeout|TIMEOUT/);
    } finally {
      await executor.close().catch(() => undefined);
    }
    for (const who of ['outsider', 'receiver', 'lineage', 'scheduler'] as const) {
      const nc = who === 'outsider' ? await asUser(who) : await asRole(who);
      try {
        await expect(readFirst(nc, 'SECRET'), `${who} reads SECRET`).rejects.toThrow(/[Pp]ermission|timeout|TIMEOUT/);
      } finally {
        await nc.close().catch(() => undefined);
      }
    }
  });

  it('fails a job that names a stream executors may not read, saying what to grant', async () => {
    const submitted = await client.submitJob(job);
    await waitFor(
      async () => (await client.status()).jobs.find((j) => j.jobId === submitted.jobId)?.state === 'FAILED',
      'the job reading an unlisted stream fails',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const failed = (await client.status()).jobs.find((j) => j.jobId === submitted.jobId)!;
    expect(failed.error).toMatch(/Rivulet's NATS users may not read the stream "OTHER"/);
    expect(failed.error).toMatch(/sourceStreams/);
  });

  it('fails a job whose (granted) stream does not exist, naming it', async () => {
    const submitted = await client.submitJob(missingJob);
    await waitFor(
      async () => (await client.status()).jobs.find((j) => j.jobId === submitted.jobId)?.state === 'FAILED',
      'the job reading a missing stream fails',
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const failed = (await client.status()).jobs.find((j) => j.jobId === submitted.jobId)!;
    expect(failed.error).toMatch(/the stream "MISSING" does not exist/);
  });
});
