/**
 * helm/rivulet as Helm and Kubernetes see it: `helm lint --strict`, `helm template` with default
 * and non-default values, every rendered object validated against the Kubernetes OpenAPI schemas
 * (kubernetes-models), values.schema.json refusing bad values, `rivulet.validateValues` refusing
 * impossible combinations, and the chart's configuration checked against the services' own
 * option schemas so chart and code cannot disagree on a name.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultBlockInterval } from '../../cli/commands/up.js';
import { envName } from '../../lib/config/index.js';
import { executorConfigSchema } from '../../services/executor/config.js';
import { lineageConfigSchema } from '../../services/lineage/config.js';
import { receiverConfigSchema } from '../../services/receiver/config.js';
import { schedulerConfigSchema } from '../../services/scheduler/config.js';
import {
  NAMESPACE,
  RELEASE,
  TEST_NATS_URL,
  baseValues,
  chartCopy,
  chartSource,
  componentName,
  find,
  helm,
  render,
  renderError,
  renderNotes,
  secretValue,
  type ChartCopy,
  type K8sObject,
} from './helpers.js';
import { validateAll } from './models.js';

const COMPONENTS = ['receiver', 'scheduler', 'lineage', 'executor'] as const;

const NON_DEFAULT = {
  externalNats: { url: 'nats://a.example:4222,nats://b.example:4222' },
  fullnameOverride: 'stream',
  image: { registry: 'registry.example', repository: 'team/rivulet', digest: `sha256:${'ab'.repeat(32)}`, pullSecrets: ['regcred'] },
  commonLabels: { team: 'data' },
  commonAnnotations: { owner: 'data-platform' },
  otel: { endpoint: 'http://otel-collector.observability:4317', protocol: 'grpc', resourceAttributes: { 'deployment.environment': 'prod' }, metricsPort: 9464 },
  config: { batchInterval: '2s', blockInterval: '250ms', logLevel: 'debug', replication: 3 },
  receiver: { config: { maxBufferedBytes: '1GiB' }, service: { type: 'LoadBalancer', annotations: { 'lb.example/internal': 'true' } } },
  scheduler: { service: { type: 'NodePort', nodePort: 30071 }, config: { defaultParallelism: 16, speculation: false, speculationQuantile: 0.9 } },
  lineage: { config: { maxBatchesPerJob: 9_000_000 } },
  executor: {
    replicaCount: 6,
    podAntiAffinityPreset: 'hard',
    config: { slots: 4, blockStoreBytes: '4GiB' },
    resources: { requests: { cpu: '4', memory: '6Gi' }, limits: { cpu: '4', memory: '8Gi' } },
    pdb: { create: true, minAvailable: 3 },
    autoscaling: { enabled: true, minReplicas: 4, maxReplicas: 12, targetCPUUtilizationPercentage: 60, targetMemoryUtilizationPercentage: 80 },
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'streams', effect: 'NoSchedule' }],
    nodeSelector: { 'node.kubernetes.io/instance-type': 'c6i.xlarge' },
  },
  probes: { liveness: { enabled: false } },
  tests: { enabled: false },
  grafana: { dashboards: { enabled: true, namespace: 'monitoring', folder: 'Streams' } },
  prometheusRule: { enabled: true, labels: { release: 'kube-prometheus-stack' }, interval: '30s', blockStoreNearFull: { ratio: 0.8 } },
  serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus-stack' }, interval: '15s' },
  security: {
    tls: { reloadInterval: '10s' },
    certManager: { enabled: true, issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer' }, privateKey: { algorithm: 'RSA', size: 3072 } },
    adminToken: { existingSecret: 'rivulet-admin', existingSecretKey: 'token' },
    networkPolicy: { clientFrom: [{ namespaceSelector: { matchLabels: { team: 'data' } } }], metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
  },
};

let chart: ChartCopy;
beforeAll(() => {
  chart = chartCopy();
});
afterAll(() => chart?.remove());

describe('helm lint', () => {
  it('passes --strict with the required NATS URL', async () => {
    const res = await helm(['lint', '--strict', chart.dir, '-f', chart.valuesFile(baseValues())]);
    expect(res.stdout + res.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.code).toBe(0);
  });

  it('passes --strict with the non-default values', async () => {
    const res = await helm(['lint', '--strict', chart.dir, '-f', chart.valuesFile(NON_DEFAULT)]);
    expect(res.stdout + res.stderr).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(res.stdout + res.stderr).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(res.code).toBe(0);
  });

  it('shows the validation failure without any NATS (lint reports fail() calls; template and install refuse)', async () => {
    const res = await helm(['lint', '--strict', chart.dir, '--set', 'nats.enabled=false']);
    expect(res.stdout + res.stderr).toContain('no NATS: set externalNats.url');
  });
});

describe('helm template, default values', () => {
  let objs: K8sObject[];
  beforeAll(async () => {
    objs = await render(chart, baseValues());
  });

  it('renders the expected objects, all valid Kubernetes', () => {
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(names).toEqual(
      [
        ...COMPONENTS.map((c) => `ConfigMap/${componentName(c)}`),
        ...COMPONENTS.map((c) => `Deployment/${componentName(c)}`),
        `PodDisruptionBudget/${componentName('executor')}`,
        `PodDisruptionBudget/${componentName('receiver')}`,
        `PodDisruptionBudget/${componentName('scheduler')}`,
        `Pod/${componentName('test')}-wordcount`,
        `Service/${componentName('lineage')}`,
        `Service/${componentName('receiver')}`,
        `Service/${componentName('scheduler')}`,
        `ServiceAccount/${RELEASE}-rivulet`,
        ...COMPONENTS.map((c) => `Secret/${componentName(c)}-tls`),
        `Secret/${RELEASE}-rivulet-ca`,
        `Secret/${RELEASE}-rivulet-admin-token`,
        ...COMPONENTS.map((c) => `NetworkPolicy/${componentName(c)}`),
      ].sort(),
    );
    validateAll(objs);
    for (const o of objs) expect(o.metadata.namespace).toBe(NAMESPACE);
  });

  it('the validator is live: a broken Deployment is refused', () => {
    const broken = structuredClone(find(objs, 'Deployment', componentName('executor')));
    broken.spec.replicas = 'two';
    expect(() => validateAll([broken])).toThrow(/replicas/);
    const noImage = structuredClone(find(objs, 'Deployment', componentName('scheduler')));
    delete noImage.spec.selector;
    expect(() => validateAll([noImage])).toThrow(/selector/);
  });

  it('every service runs `node dist/services/<name>/main.js` with its ConfigMap, TLS health probes on its port and a config checksum', () => {
    for (const c of COMPONENTS) {
      const dep = find(objs, 'Deployment', componentName(c));
      const pod = dep.spec.template;
      expect(dep.spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(pod.metadata.labels).filter(([k]) => k in dep.spec.selector.matchLabels)));
      const [container] = pod.spec.containers;
      expect(pod.spec.containers).toHaveLength(1);
      expect(container.args).toEqual([`dist/services/${c}/main.js`]);
      expect(container.image).toBe('rivulet:0.1.0');
      const cm = find(objs, 'ConfigMap', componentName(c));
      expect(container.envFrom).toEqual([{ configMapRef: { name: cm.metadata.name } }]);
      const port = Number(cm.data.RIVULET_PORT);
      expect(port).toBe({ receiver: 7070, scheduler: 7071, lineage: 7072, executor: 7073 }[c]);
      expect(container.ports).toEqual([{ name: 'grpc', containerPort: port, protocol: 'TCP' }]);
      // The kubelet's grpc probe speaks only plaintext: with security on, an exec probe asks
      // grpc.health over TLS on RIVULET_PORT (run for real in chart-processes.test.ts).
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        expect(container[probe].grpc).toBeUndefined();
        const [node, flag, script] = container[probe].exec.command as string[];
        expect([node, flag]).toEqual(['node', '-e']);
        expect(script).toContain("'/grpc.health.v1.Health/Check'");
        expect(script).toContain('process.env.RIVULET_TLS_CA_FILE');
        expect(script).toContain(`Date.now() + ${container[probe].timeoutSeconds * 1000}`);
        expect(container[probe].periodSeconds).toBeGreaterThan(0);
      }
      expect(pod.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);
      expect(cm.data.RIVULET_HOST).toBe('0.0.0.0');
      expect(cm.data.RIVULET_NATS_URL).toBe(TEST_NATS_URL);
      expect(cm.data.OTEL_SERVICE_NAME).toBe(`rivulet-${c}`);
      expect(cm.data.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
      expect(cm.data.RIVULET_METRICS_PORT).toBeUndefined();
      expect(pod.metadata.annotations['prometheus.io/scrape']).toBeUndefined();
      expect(pod.spec.automountServiceAccountToken).toBe(false);
    }
  });

  it('singletons are replaced with Recreate; schedulers, receivers and executors roll one at a time under PDBs', () => {
    const lineage = find(objs, 'Deployment', componentName('lineage'));
    expect(lineage.spec.replicas).toBe(1);
    expect(lineage.spec.strategy.type).toBe('Recreate');
    // Two receivers behind one Service, spread over nodes, one kept through evictions; each named by its pod
    // (block ids, write-ahead log keys) and heartbeating its pod address (the scheduler asks it there for its share).
    const recv = find(objs, 'Deployment', componentName('receiver'));
    expect(recv.spec.replicas).toBe(2);
    expect(recv.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(find(objs, 'PodDisruptionBudget', componentName('receiver')).spec).toEqual({ minAvailable: 1, selector: recv.spec.selector });
    expect(recv.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    const recvEnv = recv.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    expect(recvEnv.find((e) => e.name === 'RIVULET_RECEIVER_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(recvEnv.find((e) => e.name === 'RIVULET_ADVERTISE_ADDRESS')?.value).toBe('$(POD_IP):7070');
    expect(find(objs, 'ConfigMap', componentName('receiver')).data.RIVULET_RECEIVER_ID).toBeUndefined();
    // Two schedulers (a leader and a standby), spread over nodes, one kept through evictions; each named
    // in the lease by its pod, at its pod address (a standby points clients there).
    const sched = find(objs, 'Deployment', componentName('scheduler'));
    expect(sched.spec.replicas).toBe(2);
    expect(sched.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(find(objs, 'PodDisruptionBudget', componentName('scheduler')).spec).toEqual({ minAvailable: 1, selector: sched.spec.selector });
    expect(sched.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey).toBe('kubernetes.io/hostname');
    const schedEnv = sched.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    expect(schedEnv.find((e) => e.name === 'RIVULET_SCHEDULER_ID')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(schedEnv.find((e) => e.name === 'RIVULET_ADVERTISE_ADDRESS')?.value).toBe('$(POD_IP):7071');
    const exec = find(objs, 'Deployment', componentName('executor'));
    expect(exec.spec.replicas).toBe(2);
    expect(exec.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const pdb = find(objs, 'PodDisruptionBudget', componentName('executor'));
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: exec.spec.selector });
    const anti = exec.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
    expect(anti).toEqual([
      { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: exec.spec.selector.matchLabels } } },
    ]);
  });

  it('executors are named by their pod and advertise <podIP>:<port>', () => {
    const [container] = find(objs, 'Deployment', componentName('executor')).spec.template.spec.containers;
    const env = Object.fromEntries(container.env.map((e: K8sObject) => [e.name, e]));
    expect(env.RIVULET_EXECUTOR_ID.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    expect(env.RIVULET_NODE_NAME.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(env.POD_IP.valueFrom).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.RIVULET_ADVERTISE_ADDRESS.value).toBe('$(POD_IP):7073');
    // $(POD_IP) only expands when POD_IP is defined earlier in the list.
    const names = container.env.map((e: K8sObject) => e.name);
    expect(names.indexOf('POD_IP')).toBeLessThan(names.indexOf('RIVULET_ADVERTISE_ADDRESS'));
  });

  it('services point at each other by cluster DNS name, with the ports their Services expose', () => {
    const svc = (c: string) => `${componentName(c)}.${NAMESPACE}.svc.cluster.local:${find(objs, 'Service', componentName(c)).spec.ports[0].port}`;
    const data = (c: string) => find(objs, 'ConfigMap', componentName(c)).data;
    expect(data('scheduler').RIVULET_LINEAGE_ADDRESS).toBe(svc('lineage'));
    expect(data('scheduler').RIVULET_RECEIVER_ADDRESS).toBe(svc('receiver'));
    expect(data('receiver').RIVULET_SCHEDULER_ADDRESS).toBe(svc('scheduler'));
    for (const c of ['receiver', 'scheduler', 'lineage']) {
      const service = find(objs, 'Service', componentName(c));
      expect(service.spec.ports[0].targetPort).toBe('grpc');
      expect(service.spec.selector).toEqual(find(objs, 'Deployment', componentName(c)).spec.selector.matchLabels);
    }
    // The values the services must agree on come from one place.
    expect(data('receiver').RIVULET_BATCH_INTERVAL).toBe(data('scheduler').RIVULET_BATCH_INTERVAL);
    expect(data('executor').RIVULET_HEARTBEAT_INTERVAL).toBe(data('scheduler').RIVULET_HEARTBEAT_INTERVAL);
    expect(data('receiver').RIVULET_REPLICATION).toBe(data('scheduler').RIVULET_REPLICATION);
    expect(data('executor').RIVULET_CHECKPOINT_BUCKET).toBe(data('scheduler').RIVULET_CHECKPOINT_BUCKET);
    expect(data('scheduler').RIVULET_CHECKPOINT_BUCKET).toBe('rivulet-checkpoints');
  });

  it('every RIVULET_* variable the chart sets is an option of that service (chart and code agree on names)', () => {
    const schemas = { receiver: receiverConfigSchema, scheduler: schedulerConfigSchema, lineage: lineageConfigSchema, executor: executorConfigSchema };
    for (const c of COMPONENTS) {
      const known = new Set(Object.keys(schemas[c].shape).map(envName));
      const [container] = find(objs, 'Deployment', componentName(c)).spec.template.spec.containers;
      const set = [...Object.keys(find(objs, 'ConfigMap', componentName(c)).data), ...container.env.map((e: K8sObject) => e.name)].filter((k) =>
        k.startsWith('RIVULET_'),
      );
      expect(set.filter((k) => !known.has(k)), `${c}: variables no option reads`).toEqual([]);
    }
  });

  it('the chart’s defaults are the services’ own defaults, except where it says why', () => {
    const values = parseYaml(readFileSync(join(chartSource, 'values.yaml'), 'utf8')) as K8sObject;
    const schemas = { receiver: receiverConfigSchema, scheduler: schedulerConfigSchema, lineage: lineageConfigSchema, executor: executorConfigSchema };
    // Deliberate: Node counts the host's cores, not the container's, so the chart sets slots; the
    // block interval is derived from the executors' slots (as `rivulet up` does), the receiver cannot know them;
    // natsReplicas is 3 in the chart (a 3-node JetStream cluster, what a Kubernetes deployment should
    // survive a NATS node loss with) and 1 in the code (`rivulet up`'s single nats-server).
    const deliberate = new Set(['executor.slots', 'receiver.blockInterval', ...COMPONENTS.map((c) => `${c}.natsReplicas`)]);
    const differing: string[] = [];
    for (const c of COMPONENTS) {
      const shape = schemas[c].shape as Record<string, { parse(v: unknown): unknown }>;
      const options = { ...values.config, ...values[c].config };
      for (const [key, value] of Object.entries(options)) {
        if (!shape[key] || deliberate.has(`${c}.${key}`)) continue;
        const chart = shape[key].parse(value);
        const code = shape[key].parse(undefined);
        if (JSON.stringify(chart) !== JSON.stringify(code)) differing.push(`${c}.${key}: chart ${JSON.stringify(value)} ≠ code ${JSON.stringify(code)}`);
      }
    }
    expect(differing).toEqual([]);
  });

  it('derives the block interval from the executors’ total slots, as `rivulet up` does, unless one is given', async () => {
    const block = (o: K8sObject[]) => find(o, 'ConfigMap', componentName('receiver')).data.RIVULET_BLOCK_INTERVAL as string;
    // 2 executors × 2 slots, 1 s batches: 8 blocks of 125ms (two input tasks per slot).
    expect(block(objs)).toBe(`${defaultBlockInterval(1000, 4)}ms`);
    expect(block(objs)).toBe('125ms');
    const cases: Array<[object, number, number]> = [
      [{ executor: { replicaCount: 3, config: { slots: 4 } } }, 1000, 12], // no multiple of 12 divides 1s: 20 blocks of 50ms
      [{ executor: { replicaCount: 5, config: { slots: 1 } } }, 1000, 5],
      [{ config: { batchInterval: '500ms' }, executor: { replicaCount: 4, config: { slots: 1 } } }, 500, 4],
      [{ config: { batchInterval: '10s' } }, 10_000, 4],
      [{ config: { batchInterval: '100ms' } }, 100, 4],
      // Autoscaled: the HPA's floor.
      [{ executor: { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 9 }, resources: { requests: { cpu: '1' } } } }, 1000, 6],
    ];
    for (const [values, batchMs, slots] of cases) {
      expect(block(await render(chart, { ...baseValues(), ...values })), JSON.stringify(values)).toBe(`${defaultBlockInterval(batchMs, slots)}ms`);
    }
    expect(block(await render(chart, { ...baseValues(), config: { blockInterval: '200ms' } }))).toBe('200ms');
  });

  it('plans reduce partitions per slot by default (partitionsPerSlot)', () => {
    expect(find(objs, 'ConfigMap', componentName('scheduler')).data).toMatchObject({ RIVULET_PARTITIONS_PER_SLOT: '2', RIVULET_DEFAULT_PARALLELISM: '0' });
  });

  it('the helm test hook Pod submits, pushes and tails with the CLI against the Services', () => {
    const pod = find(objs, 'Pod', `${componentName('test')}-wordcount`);
    expect(pod.metadata.annotations['helm.sh/hook']).toBe('test');
    expect(pod.spec.restartPolicy).toBe('Never');
    const [container] = pod.spec.containers;
    const script = container.args.join('\n');
    expect(script).toContain('node bin/rivulet.js submit examples/wordcount.ts');
    expect(script).toContain('node bin/rivulet.js push lines --receiver "$RECEIVER_ADDRESS"');
    expect(script).toMatch(/node bin\/rivulet\.js tail "\$job" --output counts .*--batches 1 --json --scheduler "\$SCHEDULER_ADDRESS"/);
    const env = Object.fromEntries(container.env.map((e: K8sObject) => [e.name, e.value]));
    expect(env.SCHEDULER_ADDRESS).toBe(find(objs, 'ConfigMap', componentName('receiver')).data.RIVULET_SCHEDULER_ADDRESS);
    expect(env.RECEIVER_ADDRESS).toBe(find(objs, 'ConfigMap', componentName('scheduler')).data.RIVULET_RECEIVER_ADDRESS);
  });
});

describe('NOTES.txt', () => {
  it('tells how to reach the receiver and scheduler and run rivulet against them', async () => {
    const notes = await renderNotes(chart, baseValues());
    expect(notes).toContain(`kubectl -n ${NAMESPACE} port-forward svc/${componentName('receiver')} 7070:7070`);
    expect(notes).toContain(`kubectl -n ${NAMESPACE} port-forward svc/${componentName('scheduler')} 7071:7071`);
    expect(notes).toContain('export RIVULET_SCHEDULER_ADDRESS=127.0.0.1:7071 RIVULET_RECEIVER_ADDRESS=127.0.0.1:7070');
    expect(notes).toContain('node bin/rivulet.js submit examples/wordcount.ts');
    expect(notes).toContain(`port-forward deploy/${componentName('scheduler')} 4040:4040`);
    expect(notes).toContain(`helm test ${RELEASE} -n ${NAMESPACE} --logs`);
    expect(notes).toContain(`NATS       ${TEST_NATS_URL}`);
    expect(notes).not.toContain('OTLP');
    const custom = await renderNotes(chart, { ...baseValues(), otel: { endpoint: 'http://collector:4317' }, receiver: { service: { port: 9000 } } });
    expect(custom).toContain(`port-forward svc/${componentName('receiver')} 7070:9000`);
    expect(custom).toContain('OTLP       http://collector:4317 (grpc)');
  });

  it('tells clients where the CA and the admin token are, or that security is off', async () => {
    const notes = await renderNotes(chart, baseValues());
    expect(notes).toContain(`kubectl -n ${NAMESPACE} get secret ${componentName('scheduler')}-tls -o jsonpath='{.data.ca\\.crt}' | base64 -d > rivulet-ca.pem`);
    expect(notes).toContain(`kubectl -n ${NAMESPACE} get secret ${RELEASE}-rivulet-admin-token -o jsonpath='{.data.token}' | base64 -d > rivulet-admin.token`);
    expect(notes).toContain('export RIVULET_TLS_CA_FILE=$PWD/rivulet-ca.pem RIVULET_TOKEN_FILE=$PWD/rivulet-admin.token');
    expect(notes).not.toContain('RIVULET_INSECURE');
    const own = await renderNotes(chart, { ...baseValues(), security: { adminToken: { existingSecret: 'ops', existingSecretKey: 'admin.token' } } });
    expect(own).toContain(`get secret ops -o jsonpath='{.data.admin\\.token}'`);
    const off = await renderNotes(chart, { ...baseValues(), security: { enabled: false } });
    expect(off).toContain('Security is OFF');
    expect(off).toContain('export RIVULET_INSECURE=true');
    expect(off).not.toContain('rivulet-ca.pem');
  });
});

describe('helm template, non-default values', () => {
  let objs: K8sObject[];
  beforeAll(async () => {
    objs = await render(chart, NON_DEFAULT);
  });
  const name = (c: string) => `stream-${c}`;

  it('renders valid Kubernetes objects, with an HPA and without the test Pod', () => {
    validateAll(objs);
    expect(objs.filter((o) => o.kind === 'Pod')).toEqual([]);
    const hpa = find(objs, 'HorizontalPodAutoscaler', name('executor'));
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name('executor') },
      minReplicas: 4,
      maxReplicas: 12,
    });
    expect(hpa.spec.metrics.map((m: K8sObject) => [m.resource.name, m.resource.target.averageUtilization])).toEqual([
      ['cpu', 60],
      ['memory', 80],
    ]);
    expect(hpa.spec.behavior.scaleDown.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 60 }]);
    // The HPA owns the replica count.
    expect(find(objs, 'Deployment', name('executor')).spec.replicas).toBeUndefined();
  });

  it('applies PDB, resources, anti-affinity, image, labels and service types', () => {
    expect(find(objs, 'PodDisruptionBudget', name('executor')).spec.minAvailable).toBe(3);
    const exec = find(objs, 'Deployment', name('executor'));
    const spec = exec.spec.template.spec;
    expect(spec.containers[0].resources).toEqual(NON_DEFAULT.executor.resources);
    expect(spec.containers[0].image).toBe(`registry.example/team/rivulet@sha256:${'ab'.repeat(32)}`);
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.tolerations).toEqual(NON_DEFAULT.executor.tolerations);
    expect(spec.nodeSelector).toEqual(NON_DEFAULT.executor.nodeSelector);
    expect(spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(spec.containers[0].livenessProbe).toBeUndefined();
    expect(spec.containers[0].readinessProbe.exec.command[0]).toBe('node');
    for (const o of objs) {
      expect(o.metadata.labels.team).toBe('data');
      expect(o.metadata.annotations?.owner).toBe('data-platform');
    }
    expect(find(objs, 'Service', name('receiver')).spec.type).toBe('LoadBalancer');
    expect(find(objs, 'Service', name('receiver')).metadata.annotations['lb.example/internal']).toBe('true');
    expect(find(objs, 'Service', name('scheduler')).spec).toMatchObject({ type: 'NodePort', ports: [{ nodePort: 30071 }] });
  });

  it('sets the OTLP endpoint and service name on every pod, and the options in the ConfigMaps', () => {
    for (const c of COMPONENTS) {
      const data = find(objs, 'ConfigMap', name(c)).data;
      expect(data).toMatchObject({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_SERVICE_NAME: `rivulet-${c}`,
        RIVULET_NATS_URL: 'nats://a.example:4222,nats://b.example:4222',
        RIVULET_LOG_LEVEL: 'debug',
      });
      const [container] = find(objs, 'Deployment', name(c)).spec.template.spec.containers;
      const attrs = container.env.find((e: K8sObject) => e.name === 'OTEL_RESOURCE_ATTRIBUTES').value;
      expect(attrs).toContain('k8s.pod.name=$(POD_NAME)');
      expect(attrs).toContain('deployment.environment=prod');
      // The Prometheus endpoint: the option, a named container port and the scrape annotations.
      expect(data.RIVULET_METRICS_PORT).toBe('9464');
      expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9464, protocol: 'TCP' });
      expect(find(objs, 'Deployment', name(c)).spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9464',
        'prometheus.io/path': '/metrics',
      });
    }
    expect(find(objs, 'ConfigMap', name('receiver')).data).toMatchObject({
      RIVULET_REPLICATION: '3',
      RIVULET_MAX_BUFFERED_BYTES: '1GiB',
      RIVULET_BATCH_INTERVAL: '2s',
      RIVULET_BLOCK_INTERVAL: '250ms',
      RIVULET_SCHEDULER_ADDRESS: `stream-scheduler.${NAMESPACE}.svc.cluster.local:7071`,
    });
    // Large integers stay integers (YAML numbers must not print as 9e+06).
    expect(find(objs, 'ConfigMap', name('lineage')).data.RIVULET_MAX_BATCHES_PER_JOB).toBe('9000000');
    expect(find(objs, 'ConfigMap', name('executor')).data).toMatchObject({ RIVULET_SLOTS: '4', RIVULET_BLOCK_STORE_BYTES: '4GiB' });
    expect(find(objs, 'ConfigMap', name('scheduler')).data).toMatchObject({
      RIVULET_DEFAULT_PARALLELISM: '16',
      RIVULET_SPECULATION: 'false',
      RIVULET_SPECULATION_QUANTILE: '0.9',
      RIVULET_REPLICATION: '3',
    });
  });

  it('the bundled NATS, when no externalNats.url is set, is what every service connects to (tls:// with security on)', async () => {
    const withNats = await render(chart, { nats: { enabled: true } });
    for (const c of COMPONENTS) {
      expect(find(withNats, 'ConfigMap', componentName(c)).data.RIVULET_NATS_URL).toBe(`tls://${RELEASE}-nats.${NAMESPACE}.svc.cluster.local:4222`);
    }
  });

  it('natsReplicas reaches every service (3 by default, for a 3-node JetStream cluster; 1 for a single NATS server)', async () => {
    const defaults = await render(chart, baseValues());
    const single = await render(chart, { ...baseValues(), config: { natsReplicas: 1 } });
    for (const c of COMPONENTS) {
      expect(find(defaults, 'ConfigMap', componentName(c)).data.RIVULET_NATS_REPLICAS, c).toBe('3');
      expect(find(single, 'ConfigMap', componentName(c)).data.RIVULET_NATS_REPLICAS, c).toBe('1');
    }
    // The bundled NATS's defaults are a 3-server cluster, consistent with natsReplicas 3.
    const bundled = await render(chart, { nats: { enabled: true } });
    expect(find(bundled, 'ConfigMap', componentName('lineage')).data.RIVULET_NATS_REPLICAS).toBe('3');
  });

  it('a configuration change changes the checksum of exactly the pods that read it', async () => {
    const before = await render(chart, baseValues());
    const after = await render(chart, { ...baseValues(), executor: { config: { slots: 3 } } });
    const sum = (objs: K8sObject[], c: string) => find(objs, 'Deployment', componentName(c)).spec.template.metadata.annotations['checksum/config'];
    expect(sum(after, 'executor')).not.toBe(sum(before, 'executor'));
    for (const c of ['receiver', 'scheduler', 'lineage']) expect(sum(after, c)).toBe(sum(before, c));
    const shared = await render(chart, { ...baseValues(), config: { heartbeatInterval: '200ms' } });
    expect(sum(shared, 'executor')).not.toBe(sum(before, 'executor'));
    expect(sum(shared, 'scheduler')).not.toBe(sum(before, 'scheduler'));
    expect(sum(shared, 'lineage')).toBe(sum(before, 'lineage'));
  });
});

describe('hardened pods', () => {
  it('every container runs non-root, read-only, without privileges or capabilities, under RuntimeDefault seccomp', async () => {
    const objs = await render(chart, baseValues());
    const pods = [
      ...objs.filter((o) => o.kind === 'Deployment').map((d) => ({ name: d.metadata.name as string, spec: d.spec.template.spec as K8sObject })),
      ...objs.filter((o) => o.kind === 'Pod').map((p) => ({ name: p.metadata.name as string, spec: p.spec as K8sObject })),
    ];
    expect(pods).toHaveLength(5);
    for (const { name, spec } of pods) {
      expect(spec.securityContext, name).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of spec.containers) {
        expect(c.securityContext, name).toEqual({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
        // The one writable path is an emptyDir; every other mount is read-only.
        for (const m of c.volumeMounts) {
          const volume = spec.volumes.find((v: K8sObject) => v.name === m.name);
          if (m.mountPath === '/tmp') expect(volume.emptyDir, name).toEqual({});
          else expect(m.readOnly, `${name} ${m.mountPath}`).toBe(true);
        }
      }
    }
  });
});

describe('security: certificates and the admin token', () => {
  let objs: K8sObject[];
  beforeAll(async () => {
    objs = await render(chart, baseValues());
  });
  const TLS_DIR = '/etc/rivulet/tls';

  it('every service mounts only its own role’s certificate, key and the CA, and is pointed at them', () => {
    for (const c of COMPONENTS) {
      const pod = find(objs, 'Deployment', componentName(c)).spec.template.spec;
      const [container] = pod.containers;
      const tls = pod.volumes.find((v: K8sObject) => v.name === 'tls');
      expect(tls.secret).toEqual({
        secretName: `${componentName(c)}-tls`,
        defaultMode: 0o440,
        items: [
          { key: 'tls.crt', path: 'tls.crt' },
          { key: 'tls.key', path: 'tls.key' },
          { key: 'ca.crt', path: 'ca.crt' },
        ],
      });
      // A directory mount, not subPath: a renewed Secret reaches the files, and the services re-read them.
      expect(container.volumeMounts).toContainEqual({ name: 'tls', mountPath: TLS_DIR, readOnly: true });
      const data = find(objs, 'ConfigMap', componentName(c)).data;
      expect(data).toMatchObject({
        RIVULET_TLS_CA_FILE: `${TLS_DIR}/ca.crt`,
        RIVULET_TLS_CERT_FILE: `${TLS_DIR}/tls.crt`,
        RIVULET_TLS_KEY_FILE: `${TLS_DIR}/tls.key`,
        RIVULET_TLS_RELOAD_INTERVAL: '30s',
      });
      expect(data.RIVULET_INSECURE).toBeUndefined();
      // The bootstrap admin token: only the services that authenticate users read it.
      const token = pod.volumes.find((v: K8sObject) => v.name === 'admin-token');
      if (c === 'executor') {
        expect(token).toBeUndefined();
        expect(data.RIVULET_ADMIN_TOKEN_FILE).toBeUndefined();
      } else {
        expect(token.secret).toEqual({ secretName: `${RELEASE}-rivulet-admin-token`, defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] });
        expect(container.volumeMounts).toContainEqual({ name: 'admin-token', mountPath: '/etc/rivulet/admin-token', readOnly: true });
        expect(data.RIVULET_ADMIN_TOKEN_FILE).toBe('/etc/rivulet/admin-token/token');
      }
    }
  });

  it('generates one CA and a certificate per role: CN = role, the Service’s DNS names, server and client auth', () => {
    const ca = new X509Certificate(secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.crt'));
    expect(ca.ca).toBe(true);
    expect(find(objs, 'Secret', `${RELEASE}-rivulet-ca`).type).toBe('kubernetes.io/tls');
    for (const c of COMPONENTS) {
      const name = `${componentName(c)}-tls`;
      const secret = find(objs, 'Secret', name);
      expect(secret.type).toBe('kubernetes.io/tls');
      expect(secretValue(objs, name, 'ca.crt').equals(secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.crt'))).toBe(true);
      const cert = new X509Certificate(secretValue(objs, name, 'tls.crt'));
      expect(cert.subject).toBe(`CN=${c}`);
      expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
      expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'])); // server auth, client auth
      expect(cert.checkPrivateKey(createPrivateKey(secretValue(objs, name, 'tls.key')))).toBe(true);
      if (c !== 'executor') expect(cert.checkHost(`${componentName(c)}.${NAMESPACE}.svc.cluster.local`)).toBeTruthy();
      // Its expiry is recorded for the next upgrade's renewal check.
      const notAfter = Number(secret.metadata.annotations['rivulet.dev/not-after']);
      expect(Math.abs(notAfter * 1000 - Date.parse(cert.validTo))).toBeLessThan(120_000);
    }
  });

  it('generates the bootstrap admin token, and the helm test Pod authenticates with it and the CA', () => {
    const token = secretValue(objs, `${RELEASE}-rivulet-admin-token`, 'token').toString('utf8');
    expect(token).toMatch(/^rva_[A-Za-z0-9]{48}$/);
    const pod = find(objs, 'Pod', `${componentName('test')}-wordcount`);
    const [container] = pod.spec.containers;
    const env = Object.fromEntries(container.env.map((e: K8sObject) => [e.name, e.value]));
    expect(env).toMatchObject({ RIVULET_TLS_CA_FILE: '/etc/rivulet/ca/ca.crt', RIVULET_TOKEN_FILE: '/etc/rivulet/admin-token/token' });
    expect(env.RIVULET_INSECURE).toBeUndefined();
    // The CA certificate only: no service key reaches the test Pod.
    expect(pod.spec.volumes.find((v: K8sObject) => v.name === 'ca').secret).toEqual({
      secretName: `${componentName('scheduler')}-tls`,
      defaultMode: 0o440,
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    expect(pod.spec.volumes.find((v: K8sObject) => v.name === 'admin-token').secret.secretName).toBe(`${RELEASE}-rivulet-admin-token`);
  });

  it('security.enabled=false: no Secrets or mounts, RIVULET_INSECURE=true everywhere', async () => {
    const off = await render(chart, { ...baseValues(), security: { enabled: false } });
    validateAll(off);
    expect(off.filter((o) => o.kind === 'Secret' || o.kind === 'Certificate')).toEqual([]);
    for (const c of COMPONENTS) {
      const data = find(off, 'ConfigMap', componentName(c)).data;
      expect(data.RIVULET_INSECURE).toBe('true');
      expect(Object.keys(data).filter((k) => k.startsWith('RIVULET_TLS_') || k === 'RIVULET_ADMIN_TOKEN_FILE')).toEqual([]);
      const pod = find(off, 'Deployment', componentName(c)).spec.template.spec;
      expect(pod.volumes.map((v: K8sObject) => v.name)).toEqual(['tmp']);
    }
    const test = find(off, 'Pod', `${componentName('test')}-wordcount`).spec.containers[0];
    expect(test.env).toContainEqual({ name: 'RIVULET_INSECURE', value: 'true' });
    // Plaintext: the native grpc probes on each service's port.
    for (const c of COMPONENTS) {
      const [container] = find(off, 'Deployment', componentName(c)).spec.template.spec.containers;
      const port = Number(find(off, 'ConfigMap', componentName(c)).data.RIVULET_PORT);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect(container[probe].grpc, `${c} ${probe}`).toEqual({ port });
    }
    // Turning security off rolls every pod.
    for (const c of COMPONENTS) {
      const sum = (o: K8sObject[]) => find(o, 'Deployment', componentName(c)).spec.template.metadata.annotations['checksum/config'];
      expect(sum(off)).not.toBe(sum(objs));
    }
  });

  it('an existing admin-token Secret replaces the generated one', async () => {
    const own = await render(chart, { ...baseValues(), security: { adminToken: { existingSecret: 'ops-rivulet-admin', existingSecretKey: 'admin' } } });
    expect(own.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).not.toContain(`${RELEASE}-rivulet-admin-token`);
    for (const c of ['scheduler', 'receiver', 'lineage']) {
      const token = find(own, 'Deployment', componentName(c)).spec.template.spec.volumes.find((v: K8sObject) => v.name === 'admin-token');
      expect(token.secret).toMatchObject({ secretName: 'ops-rivulet-admin', items: [{ key: 'admin', path: 'token' }] });
    }
    expect(find(own, 'Pod', `${componentName('test')}-wordcount`).spec.volumes.find((v: K8sObject) => v.name === 'admin-token').secret.secretName).toBe('ops-rivulet-admin');
  });

  it('cert-manager: a Certificate per role (CN = role, server and client auth) into the Secrets the pods mount, and no generated CA', async () => {
    const cm = await render(chart, {
      ...baseValues(),
      security: { certManager: { enabled: true, issuerRef: { name: 'rivulet-ca', kind: 'ClusterIssuer' }, duration: '720h', renewBefore: '240h' } },
    });
    validateAll(cm);
    expect(cm.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([`${RELEASE}-rivulet-admin-token`]);
    for (const c of COMPONENTS) {
      const cert = find(cm, 'Certificate', `${componentName(c)}-tls`);
      expect(cert.spec).toMatchObject({
        secretName: `${componentName(c)}-tls`,
        commonName: c,
        usages: expect.arrayContaining(['server auth', 'client auth']),
        duration: '720h',
        renewBefore: '240h',
        issuerRef: { name: 'rivulet-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' },
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      });
      expect(cert.spec.dnsNames).toContain(`${componentName(c)}.${NAMESPACE}.svc.cluster.local`);
      const pod = find(cm, 'Deployment', componentName(c)).spec.template.spec;
      expect(pod.volumes.find((v: K8sObject) => v.name === 'tls').secret.secretName).toBe(cert.spec.secretName);
    }
  });

  it('the validator is live for Certificates too', async () => {
    const cm = await render(chart, { ...baseValues(), security: { certManager: { enabled: true, issuerRef: { name: 'x' } } } });
    const broken = structuredClone(find(cm, 'Certificate', `${componentName('scheduler')}-tls`));
    broken.spec.usages = ['server', 'client'];
    expect(() => validateAll([broken])).toThrow(/unknown usage/);
  });
});

/**
 * `helm upgrade` against a cluster that holds `secrets`: `helm template` has no cluster, so a copy of
 * the chart answers its Secret `lookup`s from a file instead — the templates are otherwise the same.
 */
async function renderAgainstCluster(values: object, secrets: K8sObject[]): Promise<K8sObject[]> {
  const copy = chartCopy();
  try {
    const templates = join(copy.dir, 'templates');
    let faked = 0;
    for (const file of readdirSync(templates).filter((f) => f.endsWith('.yaml'))) {
      const path = join(templates, file);
      const text = readFileSync(path, 'utf8');
      const answered = text.replace(/lookup "v1" "Secret" \S+ (\$\w+)/g, (_call, name: string) => {
        faked++;
        return `(default (dict) (get (fromYaml ($.Files.Get "cluster-secrets.yaml")) ${name}))`;
      });
      if (answered !== text) writeFileSync(path, answered);
    }
    // The CA, each service's certificate and the admin token: every lookup the chart makes.
    expect(faked).toBe(3);
    writeFileSync(join(copy.dir, 'cluster-secrets.yaml'), JSON.stringify(Object.fromEntries(secrets.map((o) => [o.metadata.name, o]))));
    return await render(copy, values);
  } finally {
    copy.remove();
  }
}

describe('security: generated material survives upgrades (Secrets looked up and reused)', () => {
  const secrets = (objs: K8sObject[]) => objs.filter((o) => o.kind === 'Secret');
  const data = (objs: K8sObject[], name: string) => find(objs, 'Secret', name).data as Record<string, string>;
  const caName = `${RELEASE}-rivulet-ca`;
  const tlsName = (c: string) => `${componentName(c)}-tls`;
  let installed: K8sObject[];
  beforeAll(async () => {
    installed = await renderAgainstCluster(baseValues(), []);
  });

  it('an upgrade keeps the CA, every certificate and the admin token as they are', async () => {
    const upgraded = await renderAgainstCluster(baseValues(), secrets(installed));
    for (const s of secrets(installed)) expect(data(upgraded, s.metadata.name), s.metadata.name).toEqual(s.data);
    for (const c of COMPONENTS) {
      expect(find(upgraded, 'Secret', tlsName(c)).metadata.annotations['rivulet.dev/not-after']).toBe(find(installed, 'Secret', tlsName(c)).metadata.annotations['rivulet.dev/not-after']);
    }
  });

  it('a deleted service Secret is reissued from the same CA on the next upgrade (leaf rotation); the others stay', async () => {
    const upgraded = await renderAgainstCluster(baseValues(), secrets(installed).filter((s) => s.metadata.name !== tlsName('executor')));
    expect(data(upgraded, caName)).toEqual(data(installed, caName));
    expect(data(upgraded, tlsName('executor'))['tls.crt']).not.toBe(data(installed, tlsName('executor'))['tls.crt']);
    const ca = new X509Certificate(secretValue(installed, caName, 'tls.crt'));
    const cert = new X509Certificate(secretValue(upgraded, tlsName('executor'), 'tls.crt'));
    expect(cert.subject).toBe('CN=executor');
    expect(cert.verify(ca.publicKey)).toBe(true);
    for (const c of ['receiver', 'scheduler', 'lineage']) expect(data(upgraded, tlsName(c))).toEqual(data(installed, tlsName(c)));
  });

  it('a certificate within renewBeforeDays of expiry is reissued by any upgrade', async () => {
    const soon = structuredClone(secrets(installed));
    const scheduler = soon.find((s) => s.metadata.name === tlsName('scheduler'))!;
    scheduler.metadata.annotations['rivulet.dev/not-after'] = String(Math.floor(Date.now() / 1000) + 10 * 86400);
    const upgraded = await renderAgainstCluster(baseValues(), soon);
    expect(data(upgraded, tlsName('scheduler'))['tls.crt']).not.toBe(data(installed, tlsName('scheduler'))['tls.crt']);
    expect(Number(find(upgraded, 'Secret', tlsName('scheduler')).metadata.annotations['rivulet.dev/not-after'])).toBeGreaterThan(Date.now() / 1000 + 360 * 86400);
    expect(data(upgraded, tlsName('receiver'))).toEqual(data(installed, tlsName('receiver')));
  });

  it('a deleted CA Secret reissues every certificate from a new CA (CA rotation)', async () => {
    const upgraded = await renderAgainstCluster(baseValues(), secrets(installed).filter((s) => s.metadata.name !== caName));
    const ca = new X509Certificate(secretValue(upgraded, caName, 'tls.crt'));
    expect(data(upgraded, caName)['tls.crt']).not.toBe(data(installed, caName)['tls.crt']);
    for (const c of COMPONENTS) {
      const cert = new X509Certificate(secretValue(upgraded, tlsName(c), 'tls.crt'));
      expect(cert.verify(ca.publicKey), c).toBe(true);
      expect(data(upgraded, tlsName(c))['ca.crt']).toBe(data(upgraded, caName)['tls.crt']);
    }
    // The admin token is its own Secret: kept.
    expect(data(upgraded, `${RELEASE}-rivulet-admin-token`)).toEqual(data(installed, `${RELEASE}-rivulet-admin-token`));
  });
});

/**
 * NetworkPolicy semantics, enough for the chart's policies: a connection from pod A to pod B on a
 * port is allowed when A's egress and B's ingress both allow it (a pod no policy of that type
 * selects is open that way). Only matchLabels selectors; a peer with just a podSelector means the
 * policy's namespace.
 */
interface Endpoint {
  labels: Record<string, string>;
  namespace: string;
  /** Outside the cluster (matched only by empty peer lists and ipBlocks). */
  external?: boolean;
}

function matches(selector: K8sObject | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  if (selector.matchExpressions) throw new Error('matchExpressions are not modelled');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: K8sObject, e: Endpoint, policyNamespace: string): boolean {
  if (peer.ipBlock) return e.external === true;
  if (e.external) return false;
  const nsOk = peer.namespaceSelector ? matches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': e.namespace }) : e.namespace === policyNamespace;
  return nsOk && matches(peer.podSelector, e.labels);
}

function allowedBy(policies: K8sObject[], type: 'Ingress' | 'Egress', self: Endpoint, other: Endpoint, port: number, protocol: string): boolean {
  const mine = policies.filter((p) => !self.external && p.metadata.namespace === self.namespace && matches(p.spec.podSelector, self.labels) && p.spec.policyTypes.includes(type));
  if (mine.length === 0) return true;
  const key = type === 'Ingress' ? 'ingress' : 'egress';
  const peers = type === 'Ingress' ? 'from' : 'to';
  return mine.some((p) =>
    (p.spec[key] ?? []).some(
      (rule: K8sObject) =>
        (!rule[peers] || rule[peers].length === 0 || rule[peers].some((peer: K8sObject) => peerMatches(peer, other, p.metadata.namespace))) &&
        (!rule.ports || rule.ports.some((rp: K8sObject) => rp.port === port && (rp.protocol ?? 'TCP') === protocol)),
    ),
  );
}

function connects(objs: K8sObject[], from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): boolean {
  const policies = objs.filter((o) => o.kind === 'NetworkPolicy');
  return allowedBy(policies, 'Egress', from, to, port, protocol) && allowedBy(policies, 'Ingress', to, from, port, protocol);
}

describe('NetworkPolicies', () => {
  const PORTS = { receiver: 7070, scheduler: 7071, lineage: 7072, executor: 7073 } as const;
  const pod = (objs: K8sObject[], c: string): Endpoint => ({
    labels: c === 'test' ? find(objs, 'Pod', `${componentName('test')}-wordcount`).metadata.labels : find(objs, 'Deployment', componentName(c)).spec.template.metadata.labels,
    namespace: NAMESPACE,
  });
  const client: Endpoint = { labels: { app: 'some-producer' }, namespace: NAMESPACE };
  const elsewhere: Endpoint = { labels: { app: 'some-producer' }, namespace: 'other-team' };
  const internet: Endpoint = { labels: {}, namespace: '', external: true };
  const dns: Endpoint = { labels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system' };

  it('each service reaches exactly the peers it calls, on their gRPC ports; clients only the receiver and scheduler', async () => {
    const objs = await render(chart, baseValues());
    const calls = new Set(['scheduler→executor', 'scheduler→lineage', 'scheduler→receiver', 'receiver→executor', 'receiver→scheduler', 'executor→executor', 'executor→receiver']);
    for (const a of COMPONENTS) {
      for (const b of COMPONENTS) {
        expect(connects(objs, pod(objs, a), pod(objs, b), PORTS[b]), `${a}→${b}`).toBe(calls.has(`${a}→${b}`));
      }
      // Every service: DNS and the (external) NATS; nothing else outside.
      expect(connects(objs, pod(objs, a), dns, 53, 'UDP'), `${a} DNS`).toBe(true);
      expect(connects(objs, pod(objs, a), internet, 4222), `${a} NATS`).toBe(true);
      expect(connects(objs, pod(objs, a), internet, 443), `${a} anywhere else`).toBe(false);
    }
    for (const from of [client, elsewhere, internet, pod(objs, 'test')]) {
      expect(connects(objs, from, pod(objs, 'receiver'), 7070)).toBe(true);
      expect(connects(objs, from, pod(objs, 'scheduler'), 7071)).toBe(true);
      expect(connects(objs, from, pod(objs, 'lineage'), 7072)).toBe(false);
      expect(connects(objs, from, pod(objs, 'executor'), 7073)).toBe(false);
      // The status page listens on loopback by default: nothing to let in.
      expect(connects(objs, from, pod(objs, 'scheduler'), 4040)).toBe(false);
      expect(connects(objs, from, pod(objs, 'receiver'), 7071)).toBe(false);
    }
  });

  it('clientFrom narrows the client ports to those peers (the Rivulet pods that call them stay allowed)', async () => {
    const objs = await render(chart, {
      ...baseValues(),
      security: { networkPolicy: { clientFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other-team' } } }] } },
    });
    validateAll(objs);
    expect(connects(objs, elsewhere, pod(objs, 'receiver'), 7070)).toBe(true);
    expect(connects(objs, elsewhere, pod(objs, 'scheduler'), 7071)).toBe(true);
    expect(connects(objs, client, pod(objs, 'receiver'), 7070)).toBe(false);
    expect(connects(objs, internet, pod(objs, 'scheduler'), 7071)).toBe(false);
    expect(connects(objs, pod(objs, 'test'), pod(objs, 'scheduler'), 7071)).toBe(true);
    expect(connects(objs, pod(objs, 'scheduler'), pod(objs, 'receiver'), 7070)).toBe(true);
    expect(connects(objs, pod(objs, 'receiver'), pod(objs, 'scheduler'), 7071)).toBe(true);
    expect(connects(objs, pod(objs, 'executor'), pod(objs, 'receiver'), 7070)).toBe(true);
  });

  it('opens the metrics port, an exposed status page, the OTLP collector and extraEgress when configured', async () => {
    const objs = await render(chart, {
      ...baseValues(),
      otel: { metricsPort: 9464, endpoint: 'http://otel-collector.observability:4317' },
      scheduler: { config: { statusHost: '0.0.0.0' } },
      security: { networkPolicy: { metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], extraEgress: [{ ports: [{ port: 5432, protocol: 'TCP' }] }] } },
    });
    validateAll(objs);
    const prometheus: Endpoint = { labels: {}, namespace: 'monitoring' };
    for (const c of COMPONENTS) {
      expect(connects(objs, prometheus, pod(objs, c), 9464), `${c} metrics`).toBe(true);
      expect(connects(objs, client, pod(objs, c), 9464), `${c} metrics from a client`).toBe(false);
      expect(connects(objs, pod(objs, c), internet, 4317), `${c} OTLP`).toBe(true);
      expect(connects(objs, pod(objs, c), internet, 5432), `${c} extraEgress`).toBe(true);
    }
    expect(connects(objs, client, pod(objs, 'scheduler'), 4040)).toBe(true);
  });

  it('with the bundled NATS: Rivulet pods reach it, nobody else does', async () => {
    const objs = await render(chart, { nats: { enabled: true } });
    validateAll(objs);
    const nats: Endpoint = { labels: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/component': 'nats' }, namespace: NAMESPACE };
    const natsBox: Endpoint = { labels: { 'app.kubernetes.io/name': 'nats', 'app.kubernetes.io/instance': RELEASE, 'app.kubernetes.io/component': 'nats-box' }, namespace: NAMESPACE };
    for (const c of COMPONENTS) expect(connects(objs, pod(objs, c), nats, 4222), c).toBe(true);
    for (const from of [client, elsewhere, internet]) expect(connects(objs, from, nats, 4222)).toBe(false);
    expect(connects(objs, natsBox, nats, 4222)).toBe(true);
    expect(connects(objs, nats, nats, 6222)).toBe(true);
    // And the services' NATS egress goes to those pods, not anywhere on 4222.
    expect(connects(objs, pod(objs, 'scheduler'), internet, 4222)).toBe(false);
  });

  it('security.networkPolicy.enabled=false renders none', async () => {
    const objs = await render(chart, { ...baseValues(), security: { networkPolicy: { enabled: false } } });
    expect(objs.filter((o) => o.kind === 'NetworkPolicy')).toEqual([]);
  });
});

describe('values.schema.json refuses bad values', () => {
  const cases: Array<[string, object, RegExp]> = [
    ['negative executor replicas', { executor: { replicaCount: -1 } }, /executor\.replicaCount: Must be greater than or equal to 1/],
    ['replicas as a string', { executor: { replicaCount: 'three' } }, /executor\.replicaCount: Invalid type\. Expected: integer, given: string/],
    ['an unknown top-level key', { executors: { replicaCount: 3 } }, /Additional property executors is not allowed/],
    ['an unknown service option', { receiver: { config: { replicaton: 2 } } }, /receiver\.config: Additional property replicaton is not allowed/],
    ['replication above 5', { config: { replication: 6 } }, /config\.replication: Must be less than or equal to 5/],
    ['natsReplicas 0', { config: { natsReplicas: 0 } }, /config\.natsReplicas: Must be greater than or equal to 1/],
    ['natsReplicas above JetStream\'s 5', { config: { natsReplicas: 6 } }, /config\.natsReplicas: Must be less than or equal to 5/],
    ['partitionsPerSlot below 1', { scheduler: { config: { partitionsPerSlot: 0 } } }, /scheduler\.config\.partitionsPerSlot: Must be greater than or equal to 1/],
    ['a speculation quantile above 1', { scheduler: { config: { speculationQuantile: 1.5 } } }, /scheduler\.config\.speculationQuantile: Must be less than or equal to 1/],
    ['a malformed duration', { config: { batchInterval: 'one second' } }, /config\.batchInterval/],
    ['a malformed size', { executor: { config: { blockStoreBytes: 'lots' } } }, /executor\.config\.blockStoreBytes/],
    ['an unknown log level', { config: { logLevel: 'verbose' } }, /config\.logLevel/],
    ['a port out of range', { scheduler: { port: 70000 } }, /scheduler\.port: Must be less than or equal to 65535/],
    ['a metrics port out of range', { otel: { metricsPort: 70000 } }, /otel\.metricsPort: Must be less than or equal to 65535/],
    ['a non-NATS URL', { externalNats: { url: 'http://nats:4222' } }, /externalNats\.url: Does not match pattern/],
    ['an unknown anti-affinity preset', { executor: { podAntiAffinityPreset: 'always' } }, /executor\.podAntiAffinityPreset/],
    ['a probe without its switch', { probes: { readiness: { enabled: 'yes' } } }, /probes\.readiness\.enabled: Invalid type/],
    ['a lineage Service type (it stays ClusterIP)', { lineage: { service: { type: 'LoadBalancer' } } }, /lineage\.service: Additional property type is not allowed/],
    ['security.enabled as a string', { security: { enabled: 'yes' } }, /security\.enabled: Invalid type\. Expected: boolean/],
    ['an unknown security value', { security: { mtls: true } }, /security: Additional property mtls is not allowed/],
    ['an unknown issuer kind', { security: { certManager: { issuerRef: { kind: 'Vault' } } } }, /security\.certManager\.issuerRef\.kind/],
    ['a certificate duration cert-manager cannot parse', { security: { certManager: { duration: '90 days' } } }, /security\.certManager\.duration: Does not match pattern/],
    ['an RSA size for an ECDSA key that does not exist', { security: { certManager: { privateKey: { size: 1024 } } } }, /security\.certManager\.privateKey\.size/],
    ['certificates valid for 0 days', { security: { tls: { validityDays: 0 } } }, /security\.tls\.validityDays: Must be greater than or equal to 1/],
    ['a malformed reload interval', { security: { tls: { reloadInterval: 'often' } } }, /security\.tls\.reloadInterval/],
    ['a client peer that is not a NetworkPolicyPeer', { security: { networkPolicy: { clientFrom: [{ pods: 'all' }] } } }, /security\.networkPolicy\.clientFrom\.0: Additional property pods is not allowed/],
  ];
  for (const [what, values, message] of cases) {
    it(what, async () => {
      const err = await renderError(chart, { ...baseValues(), ...values });
      expect(err).toContain("values don't meet the specifications of the schema");
      expect(err).toMatch(message);
    });
  }

  it('documents every value of values.yaml with an @param line', () => {
    const text = readFileSync(join(chartSource, 'values.yaml'), 'utf8');
    const documented = new Set([...text.matchAll(/^\s*## @param (\S+)/gm)].map((m) => m[1]));
    const values = parseYaml(text) as Record<string, unknown>;
    // A leaf, or an object documented as a whole (e.g. resources), must carry a @param line.
    const missing: string[] = [];
    const walk = (obj: Record<string, unknown>, prefix: string) => {
      for (const [k, v] of Object.entries(obj)) {
        const path = prefix ? `${prefix}.${k}` : k;
        if (documented.has(path)) continue;
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) walk(v as Record<string, unknown>, path);
        else missing.push(path);
      }
    };
    walk(values, '');
    expect(missing).toEqual([]);
    // And no @param names a value that does not exist.
    const exists = (path: string) => path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), values) !== undefined;
    expect([...documented].filter((p) => !exists(p))).toEqual([]);
  });
});

describe('validateValues refuses impossible combinations', () => {
  const cases: Array<[string, object, string[]]> = [
    ['no NATS at all', { externalNats: { url: '' }, nats: { enabled: false } }, ['no NATS: set externalNats.url']],
    ['bundled NATS without JetStream', { externalNats: { url: '' }, nats: { enabled: true, config: { jetstream: { enabled: false } } } }, ['nats.config.jetstream.enabled must be true']],
    [
      'natsReplicas 3 on a bundled NATS that is not a cluster',
      { externalNats: { url: '' }, nats: { enabled: true, config: { cluster: { enabled: false } } } },
      ['config.natsReplicas=3 needs a NATS cluster: set nats.config.cluster.enabled=true with nats.config.cluster.replicas>=3, or config.natsReplicas=1 for a single NATS server'],
    ],
    [
      'natsReplicas above the bundled cluster\'s servers',
      { externalNats: { url: '' }, config: { natsReplicas: 5 }, nats: { enabled: true, config: { cluster: { enabled: true, replicas: 3 } } } },
      ['config.natsReplicas=5 exceeds nats.config.cluster.replicas=3: JetStream cannot keep more copies than it has servers'],
    ],
    ['a batch interval that is not a multiple of the block interval', { config: { batchInterval: '1s', blockInterval: '300ms' } }, ['config.batchInterval=1s is not a multiple of config.blockInterval=300ms']],
    ['a batch interval outside 100ms–10s', { config: { batchInterval: '20s', blockInterval: '1s' } }, ['config.batchInterval=20s: must be between 100ms and 10s']],
    ['a receiver executor timeout shorter than the heartbeat', { receiver: { config: { executorTimeout: '200ms' } } }, ['receiver.config.executorTimeout=200ms must be longer than config.heartbeatInterval=250ms']],
    ['replication above the executor count', { config: { replication: 3 } }, ['config.replication=3 exceeds executor.replicaCount=2']],
    [
      'replication above the autoscaler floor',
      { config: { replication: 3 }, executor: { replicaCount: 5, autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 6 } } },
      ['config.replication=3 exceeds executor.autoscaling.minReplicas=2'],
    ],
    ['a PDB minAvailable at the executor count', { executor: { pdb: { minAvailable: 2 } } }, ['executor.pdb.minAvailable=2 must be below executor.replicaCount=2']],
    ['a receiver PDB minAvailable at the receiver count', { receiver: { pdb: { create: true, minAvailable: 2 } } }, ['receiver.pdb.minAvailable=2 must be below receiver.replicas=2']],
    [
      'a PDB that lets every copy of a block be evicted',
      { executor: { replicaCount: 4, pdb: { minAvailable: 2 } } },
      ['executor.pdb.minAvailable=2 lets 2 of 4 executors be evicted at once, but blocks live on only config.replication=2', 'raise minAvailable to 3'],
    ],
    ['a PDB maxUnavailable at the replication', { executor: { pdb: { maxUnavailable: 2 } } }, ['executor.pdb.maxUnavailable=2 must be below config.replication=2']],
    ['an autoscaler whose floor is above its ceiling', { executor: { autoscaling: { enabled: true, minReplicas: 5, maxReplicas: 3 } } }, ['executor.autoscaling.minReplicas=5 exceeds executor.autoscaling.maxReplicas=3']],
    [
      'CPU autoscaling without a CPU request',
      { executor: { resources: { requests: { cpu: null } }, autoscaling: { enabled: true } } },
      ['executor.autoscaling.targetCPUUtilizationPercentage needs executor.resources.requests.cpu'],
    ],
    ['two services on one port', { executor: { port: 7070 } }, ['receiver.port, scheduler.port, lineage.port and executor.port must differ']],
    ['the metrics port on a gRPC port', { otel: { metricsPort: 7071 } }, ['otel.metricsPort=7071 is a service']],
    [
      'cert-manager with security off',
      { security: { enabled: false, certManager: { enabled: true, issuerRef: { name: 'ca' } } } },
      ['security.certManager.enabled=true with security.enabled=false'],
    ],
    ['cert-manager without an issuer', { security: { certManager: { enabled: true } } }, ['security.certManager.enabled=true needs security.certManager.issuerRef.name']],
    ['an admin-token Secret with security off', { security: { enabled: false, adminToken: { existingSecret: 'mine' } } }, ['security.adminToken.existingSecret="mine" with security.enabled=false']],
    ['an admin-token Secret without its key', { security: { adminToken: { existingSecret: 'mine', existingSecretKey: '' } } }, ['security.adminToken.existingSecret needs security.adminToken.existingSecretKey']],
    [
      'cert-manager renewing before the certificate is even issued',
      { security: { certManager: { enabled: true, issuerRef: { name: 'ca' }, duration: '24h', renewBefore: '48h' } } },
      ['security.certManager.renewBefore=48h must be shorter than security.certManager.duration=24h'],
    ],
    ['generated certificates renewed on every upgrade', { security: { tls: { validityDays: 30, renewBeforeDays: 30 } } }, ['security.tls.renewBeforeDays=30 must be below security.tls.validityDays=30']],
    ['certificates outliving their CA', { security: { tls: { validityDays: 4000 } } }, ['security.tls.validityDays=4000 outlives security.tls.caValidityDays=3650']],
  ];
  for (const [what, values, messages] of cases) {
    it(what, async () => {
      const err = await renderError(chart, { ...baseValues(), ...values });
      expect(err).toContain('RIVULET VALUES VALIDATION');
      for (const m of messages) expect(err).toContain(m);
    });
  }

  it('reports every problem at once', async () => {
    const err = await renderError(chart, { externalNats: { url: '' }, nats: { enabled: false }, config: { blockInterval: '300ms', replication: 4 } });
    expect(err).toContain('no NATS');
    expect(err).toContain('not a multiple of config.blockInterval=300ms');
    expect(err).toContain('config.replication=4 exceeds executor.replicaCount=2');
  });

  it('accepts the boundary cases', async () => {
    await render(chart, { ...baseValues(), config: { batchInterval: '100ms', blockInterval: '100ms' } });
    await render(chart, { ...baseValues(), config: { batchInterval: 10_000, blockInterval: 2500 } });
    await render(chart, { ...baseValues(), config: { replication: 2 }, executor: { replicaCount: 4, pdb: { minAvailable: 3 } } });
    await render(chart, { ...baseValues(), executor: { pdb: { create: false, maxUnavailable: null } } });
  });
});
