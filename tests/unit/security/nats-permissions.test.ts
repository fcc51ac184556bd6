import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NATS_ROUTE_USER, natsClusterConfig, natsPermissions, natsSecurityConfigDoc } from '../../../lib/security/nats-permissions.js';

describe('NATS permissions', () => {
  it('docs/nats-security.conf (the block the README gives for an external NATS) is what the code generates', () => {
    const doc = readFileSync(new URL('../../../docs/nats-security.conf', import.meta.url), 'utf8');
    expect(doc).toBe(natsSecurityConfigDoc({ certFile: '/etc/nats/tls/tls.crt', keyFile: '/etc/nats/tls/tls.key', caFile: '/etc/nats/tls/ca.crt' }));
    expect(doc).toContain(`#   authorization { user: "${NATS_ROUTE_USER}" }`);
  });

  it('a cluster block takes routes only over mutual TLS from the NATS servers\' own certificate; plaintext routes only without TLS', () => {
    const tls = { certFile: '/c.pem', keyFile: '/k.pem', caFile: '/ca.pem' };
    const secured = natsClusterConfig({ clusterName: 'rivulet', listen: '127.0.0.1:6222', routes: ['nats://127.0.0.1:6223'], tls });
    expect(secured).toContain('verify_and_map: true');
    expect(secured).toContain('authorization { user: "CN=nats-server,O=rivulet" }');
    expect(secured).toContain('routes: ["nats://127.0.0.1:6223"]');
    const plain = natsClusterConfig({ clusterName: 'rivulet', listen: '127.0.0.1:6222', routes: [] });
    expect(plain).not.toContain('tls');
    expect(plain).not.toContain('authorization');
  });

  it("gives each subject Rivulet publishes to exactly one service, and no service another's buckets", () => {
    const p = natsPermissions();
    const publishers = (subject: string) => Object.entries(p).filter(([, x]) => x.publish.allow.includes(subject)).map(([r]) => r);
    expect(publishers('rivulet.executor.heartbeat.*')).toEqual(['executor']);
    expect(publishers('rivulet.batch.ready.*')).toEqual(['receiver']);
    expect(publishers('rivulet.receiver.heartbeat.*')).toEqual(['receiver']);
    expect(publishers('rivulet.batch.inputs.*')).toEqual(['scheduler']);
    expect(publishers('rivulet.streams')).toEqual(['scheduler']);
    expect(publishers('rivulet.executor.lost.*')).toEqual(['scheduler']);
    expect(publishers('$KV.rivulet-scheduler.>')).toEqual(['scheduler']);
    expect(publishers('$KV.rivulet_tokens.>')).toEqual(['scheduler']);
    expect(publishers('$KV.rivulet-lineage.>')).toEqual(['lineage']);
    expect(publishers('$KV.rivulet-receiver.>')).toEqual(['receiver']);
    // Nobody may publish anything at all: no service has a bare wildcard.
    for (const [role, x] of Object.entries(p)) expect(x.publish.allow, role).not.toContain('>');
  });
});
