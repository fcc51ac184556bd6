/**
 * Certificates rotate without a restart: a service re-reads its certificate
 * files every tlsReloadInterval, and new connections get the new certificate
 * while the process keeps serving.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServiceProcess, type ServiceProcess } from '../../lib/cluster/service-process.js';
import { dial, unary } from '../../lib/grpc/client.js';
import { healthV1 } from '../../lib/proto/index.js';
import { issueServiceCertificate } from '../../lib/security/pki.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { useTestSecurity } from '../helpers/security.js';
import { waitFor } from '../helpers/wait.js';

/** The serial number of the certificate the server at `address` presents to a new channel. */
async function servedSerial(address: string, ca: Buffer): Promise<string> {
  let serial = '';
  const creds = grpc.credentials.createSsl(ca, null, null, {
    checkServerIdentity: (_host, cert) => {
      serial = cert.serialNumber;
      return undefined;
    },
  });
  const client = new healthV1.Health(address, creds, { 'grpc.ssl_target_name_override': 'rivulet' });
  try {
    await unary(client, client.check, { service: '' }, { timeoutMs: 3000 });
    return serial;
  } finally {
    client.close();
  }
}

describe('certificate rotation', () => {
  const tls = useTestSecurity();
  let nats: NatsServerHandle;
  let lineage: ServiceProcess;
  beforeAll(async () => {
    // Lineage on a plain NATS: this test is about its gRPC certificate.
    nats = await startNatsServer();
    lineage = await startServiceProcess({
      service: 'lineage',
      env: { ...tls.env('lineage'), RIVULET_NATS_URL: nats.url, RIVULET_PORT: '0', RIVULET_LOG_LEVEL: 'info', RIVULET_TLS_RELOAD_INTERVAL: '200ms', RIVULET_INSECURE: 'false' },
    });
  });
  afterAll(async () => {
    await lineage?.stop();
    await nats?.stop();
  });

  it('serves a re-issued certificate to new connections without a restart, and keeps answering', async () => {
    const before = await servedSerial(lineage.address, tls.caPem());
    issueServiceCertificate(tls.dir, 'lineage'); // same files, a new key and serial
    // A connection made while the files change may fail (the key and the certificate are two files); the next one gets the new pair.
    await waitFor(
      async () => (await servedSerial(lineage.address, tls.caPem()).catch(() => before)) !== before,
      'new connections get the new certificate',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const client = dial.lineage(lineage.address, { security: tls.as('scheduler') });
    try {
      expect(await unary(client, client.getStats, {}, { timeoutMs: 5000 })).toMatchObject({ batches: 0 });
    } finally {
      client.close();
    }
    expect(lineage.process.exitCode).toBeNull();
  });
});
