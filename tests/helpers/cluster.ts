/**
 * One real local cluster (nats-server + the four services as processes) per
 * test file, with a client dialled to it, started in beforeAll and stopped in
 * afterAll.
 */
import { afterAll, beforeAll } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster, type LocalClusterOptions } from '../../lib/cluster/local-cluster.js';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../../lib/security/local-security.js';
import { PKI_FILES } from '../../lib/security/pki.js';

export interface StartedCluster {
  cluster: LocalCluster;
  client: RivuletClient;
}

/** The environment a `rivulet` CLI process needs to reach `cluster` as its admin (the CA and the bootstrap token). */
export function cliSecurityEnv(cluster: LocalCluster): Record<string, string> {
  const dir = cluster.security?.dir;
  if (!dir) return { RIVULET_INSECURE: 'true' };
  return { RIVULET_TLS_CA_FILE: join(dir, PKI_FILES.caCert), RIVULET_TOKEN_FILE: join(dir, ADMIN_TOKEN_FILE) };
}

/** Register the file's cluster; `onStarted` receives it (assign it to the suite's variables). */
export function useLocalCluster(opts: LocalClusterOptions, onStarted: (started: StartedCluster) => void): void {
  let started: StartedCluster | undefined;
  beforeAll(async () => {
    const cluster = await startLocalCluster({ logLevel: 'warn', ...opts });
    const a = cluster.addresses();
    started = { cluster, client: new RivuletClient(a) };
    onStarted(started);
  }, 60_000);
  afterAll(async () => {
    await started?.client.close();
    await started?.cluster.stop();
  });
}
