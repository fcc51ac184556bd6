/**
 * `helm install rivulet ./helm/rivulet` with no values at all: the chart lints, renders valid
 * Kubernetes objects with its own NATS (a 3-server JetStream StatefulSet, templates/nats.yaml)
 * that every service is pointed at over tls://, secure by default, and the NATS configuration it
 * renders is real: three nats-servers started from it with the certificates Helm generated (only
 * what cannot exist here rewritten: DNS names of the routes to loopback ports, the volume, the pid
 * file and the Secret's mount paths) form one JetStream cluster over mutual-TLS routes that keeps an
 * R3 stream, as config.natsReplicas (3) needs. `externalNats.url` switches the bundled NATS off.
 * tests/helm/bundled-nats.test.ts checks that NATS's users and refusals.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartCopy, find, helm, NAMESPACE, RELEASE, render, renderWithoutValues, type ChartCopy, type K8sObject } from './helpers.js';
import { startRenderedNats, type RenderedNats } from './bundled-nats.js';
import { validateAll } from './models.js';

const COMPONENTS = ['receiver', 'scheduler', 'lineage', 'executor'] as const;
const BUNDLED_URL = `tls://${RELEASE}-nats.${NAMESPACE}.svc.cluster.local:4222`;

describe('helm install with no values', () => {
  let chart: ChartCopy;
  let objs: K8sObject[];
  beforeAll(async () => {
    chart = chartCopy();
    objs = await renderWithoutValues(chart);
  });
  afterAll(() => chart?.remove());

  it('lints clean with --strict and no values', async () => {
    const res = await helm(['lint', '--strict', chart.dir]);
    expect(res.stdout + res.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.stdout + res.stderr).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(res.code).toBe(0);
  });

  it('renders valid objects: the services, secure, on a bundled 3-server JetStream NATS', () => {
    validateAll(objs);
    const sts = find(objs, 'StatefulSet', `${RELEASE}-nats`);
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.serviceName).toBe(`${RELEASE}-nats-headless`);
    expect(find(objs, 'Service', `${RELEASE}-nats-headless`).spec.publishNotReadyAddresses).toBe(true);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('10Gi');
    const container = sts.spec.template.spec.containers[0];
    expect(container.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    // The Service clients dial selects the StatefulSet's pods.
    const svc = find(objs, 'Service', `${RELEASE}-nats`);
    for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(sts.spec.template.metadata.labels[k], k).toBe(v);
    for (const c of COMPONENTS) {
      const env = find(objs, 'ConfigMap', `${RELEASE}-rivulet-${c}`).data;
      expect(env.RIVULET_NATS_URL, c).toBe(BUNDLED_URL);
      expect(env.RIVULET_NATS_REPLICAS, c).toBe('3');
      expect(env.RIVULET_INSECURE, c).toBeUndefined();
      expect(env.RIVULET_TLS_CERT_FILE, c).toBeDefined();
    }
    // Only Rivulet's pods (and the servers themselves) reach the bundled NATS.
    expect(find(objs, 'NetworkPolicy', `${RELEASE}-rivulet-nats`).spec.podSelector.matchLabels['app.kubernetes.io/component']).toBe('nats');
    expect(find(objs, 'Pod', `${RELEASE}-rivulet-test-wordcount`)).toBeDefined();
  });

  describe('the rendered NATS configuration, run by real nats-servers', () => {
    let nats: RenderedNats | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-bundled-nats-'));
    afterAll(async () => {
      await nats?.cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('forms one JetStream cluster of 3 over mutual-TLS routes that keeps a service’s R3 stream, with the values’ limits', async () => {
      const conf = find(objs, 'ConfigMap', `${RELEASE}-nats-config`).data['nats.conf'] as string;
      expect(conf).toContain(`nats://${RELEASE}-nats-2.${RELEASE}-nats-headless.${NAMESPACE}.svc.cluster.local:6222`);
      // The configuration and certificates as rendered (tests/helm/bundled-nats.ts says what loopback replaces).
      nats = await startRenderedNats(objs, dir);
      expect(await nats.cluster.metaLeader()).toBeDefined();
      // Security is on: only a service's certificate gets in; the scheduler's may keep its sink stream.
      const nc = await connect({ servers: nats.cluster.servers.map((s) => s.url), tls: nats.roleTls('scheduler') });
      try {
        const jsm = await jetstreamManager(nc);
        const si = await jsm.streams.add({ name: 'rivulet-sinks', subjects: ['sinks.>'], num_replicas: 3 });
        expect(si.config.num_replicas).toBe(3);
        // The server limits from the chart's values are in force.
        const info = nc.info!;
        expect(info.max_payload).toBe(1024 * 1024);
        const jsz = (await (await fetch(`${nats.cluster.servers[0]!.monitorUrl}/jsz`)).json()) as { config?: { max_memory?: number; max_storage?: number } };
        expect(jsz.config).toMatchObject({ max_memory: 256 * 1024 * 1024, max_storage: 10 * 1024 ** 3 });
        expect(info.jetstream).toBe(true);
        expect(info.tls_required).toBe(true);
      } finally {
        await nc.close();
      }
    }, 60_000);
  });

  it('deploys no NATS of its own once externalNats.url is set', async () => {
    const external = await render(chart, { externalNats: { url: 'tls://nats.messaging:4222' } });
    expect(external.filter((o) => o.metadata.name.startsWith(`${RELEASE}-nats`) || o.metadata.name === `${RELEASE}-rivulet-nats`)).toEqual([]);
    for (const c of COMPONENTS) expect(find(external, 'ConfigMap', `${RELEASE}-rivulet-${c}`).data.RIVULET_NATS_URL).toBe('tls://nats.messaging:4222');
    validateAll(external);
  });
});
