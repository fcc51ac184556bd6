/**
 * The chart's bundled NATS with security on (the default): TLS with a certificate from the chart's
 * CA, one user per service certificate with exactly the permissions lib/security/nats-permissions.ts
 * gives its role (the rendered block equals natsSecurityConfig's for the release's names, and the
 * generated files/nats-permissions.json it comes from is current), routes over mutual TLS that only
 * the servers' own certificate may open — rendered, then run by three real nats-servers with the
 * chart-generated certificates: a service's certificate connects and does its role's work, plaintext
 * clients, clients without a certificate and certificates of another CA are refused, a role cannot do
 * another's, executors read a granted JetStream source and nothing else, and a service certificate
 * cannot join as a server. Also the values that feed it (config.jetStreamSources,
 * scheduler.config.sinkSubjects, nats.extraUsers) and sinks.postgres.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../lib/process/ports.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { CHART_NATS_PERMISSIONS_FILE, chartNatsPermissionsFile } from '../../lib/security/nats-chart-permissions.js';
import { DEFAULT_NATS_NAMES, natsSecurityConfig, natsSourceProducer, type NatsResourceNames } from '../../lib/security/nats-permissions.js';
import type { ServiceRole } from '../../lib/security/identity.js';
import { PKI_FILES, issueCertificate, issueServiceCertificate } from '../../lib/security/pki.js';
import { schedulerConfigSchema } from '../../services/scheduler/config.js';
import { waitFor } from '../helpers/wait.js';
import { startRenderedNats, type RenderedNats } from './bundled-nats.js';
import { NAMESPACE, RELEASE, chartCopy, componentName, find, render, renderError, renderWithoutValues, repoRoot, secretValue, type ChartCopy, type K8sObject } from './helpers.js';
import { validateAll } from './models.js';

const COMPONENTS = ['receiver', 'scheduler', 'lineage', 'executor'] as const;
const TLS_DIR = '/etc/nats-tls';
const SERVER_FILES = { certFile: `${TLS_DIR}/tls.crt`, keyFile: `${TLS_DIR}/tls.key`, caFile: `${TLS_DIR}/ca.crt` };
const SERVICE_HOST = `${RELEASE}-nats.${NAMESPACE}.svc.cluster.local`;
const natsConf = (objs: K8sObject[]) => find(objs, 'ConfigMap', `${RELEASE}-nats-config`).data['nats.conf'] as string;
/** A user line of the rendered authorization block. */
const userLine = (conf: string, user: string) => conf.split('\n').find((l) => l.includes(`{ user: "${user}",`)) ?? '';

let chart: ChartCopy;
beforeAll(() => {
  chart = chartCopy();
});
afterAll(() => chart?.remove());

describe('the bundled NATS as rendered', () => {
  it('files/nats-permissions.json is what lib/security/nats-permissions.ts generates (npm run gen:chart-nats)', () => {
    expect(readFileSync(join(repoRoot, CHART_NATS_PERMISSIONS_FILE), 'utf8')).toBe(chartNatsPermissionsFile());
  });

  it('no values: TLS and the users natsSecurityConfig gives for the default names, mutual-TLS routes for the servers’ certificate only, services on tls://', async () => {
    const objs = await renderWithoutValues(chart);
    const conf = natsConf(objs);
    expect(conf).toContain(natsSecurityConfig({ ...SERVER_FILES, names: DEFAULT_NATS_NAMES }));
    const cluster = conf.slice(conf.indexOf('cluster {'));
    expect(cluster).toContain(`tls {\n    cert_file: "${SERVER_FILES.certFile}"`);
    expect(cluster).toContain('verify_and_map: true');
    expect(cluster).toContain('authorization { user: "CN=nats-server" }');
    for (const c of COMPONENTS) expect(find(objs, 'ConfigMap', componentName(c)).data.RIVULET_NATS_URL, c).toBe(`tls://${SERVICE_HOST}:4222`);

    // The servers mount their certificate where the configuration names it; the probes still use the plain monitoring port.
    const pod = find(objs, 'StatefulSet', `${RELEASE}-nats`).spec.template.spec;
    expect(pod.volumes.find((v: K8sObject) => v.name === 'tls').secret).toMatchObject({ secretName: `${RELEASE}-nats-tls`, defaultMode: 0o440 });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tls', mountPath: TLS_DIR, readOnly: true });
    expect(pod.containers[0].readinessProbe.httpGet).toEqual({ path: '/healthz?js-server-only=true', port: 'monitor' });

    // Its certificate: CN=nats-server from the chart's CA, for every name a client or route dials.
    const ca = new X509Certificate(secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.crt'));
    const cert = new X509Certificate(secretValue(objs, `${RELEASE}-nats-tls`, 'tls.crt'));
    expect(cert.subject).toBe('CN=nats-server');
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey)).toBe(true);
    expect(secretValue(objs, `${RELEASE}-nats-tls`, 'ca.crt').equals(secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.crt'))).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(secretValue(objs, `${RELEASE}-nats-tls`, 'tls.key')))).toBe(true);
    expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    for (const host of [SERVICE_HOST, `${RELEASE}-nats`, ...[0, 1, 2].map((i) => `${RELEASE}-nats-${i}.${RELEASE}-nats-headless.${NAMESPACE}.svc.cluster.local`), 'localhost']) {
      expect(cert.checkHost(host), host).toBe(host);
    }
    expect(cert.checkHost(`${RELEASE}-nats-3.${RELEASE}-nats-headless.${NAMESPACE}.svc.cluster.local`)).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    validateAll(objs);
  });

  it('the release’s names, JetStream sources, sink subjects and extra users: the same block natsSecurityConfig gives for them', async () => {
    const producer = { user: 'CN=lines-producer,O=apps', permissions: natsSourceProducer(['LINES'], ['lines.>']) };
    const objs = await render(chart, {
      config: { checkpointBucket: 'ckp', jetStreamSources: ['LINES', 'EVENTS'] },
      scheduler: { config: { jobsBucket: 'jobs-x', outputsStream: 'outs-x', sinkSubjects: 'out.>, alerts.*', sinkStream: 'snk' } },
      lineage: { config: { kvBucket: 'lin' } },
      receiver: { config: { walBucket: 'wal' } },
      nats: { extraUsers: [producer] },
    });
    const names: NatsResourceNames = {
      ...DEFAULT_NATS_NAMES,
      jobsBucket: 'jobs-x',
      outputsStream: 'outs-x',
      checkpointBucket: 'ckp',
      lineageBucket: 'lin',
      walBucket: 'wal',
      sinkStream: 'snk',
      sinkSubjects: ['out.>', 'alerts.*'],
      sourceStreams: ['LINES', 'EVENTS'],
    };
    const conf = natsConf(objs);
    expect(conf).toContain(natsSecurityConfig({ ...SERVER_FILES, names, extraUsers: [producer] }));
    // Spelled out: executors read the sources, the scheduler their state, the receiver neither; the scheduler publishes sink records.
    expect(userLine(conf, 'CN=executor')).toContain('"$JS.API.CONSUMER.CREATE.EVENTS.>"');
    expect(userLine(conf, 'CN=scheduler')).toContain('"$JS.API.STREAM.INFO.LINES"');
    expect(userLine(conf, 'CN=receiver')).not.toContain('LINES');
    expect(userLine(conf, 'CN=scheduler')).toContain('"alerts.*"');
    expect(userLine(conf, 'CN=scheduler')).not.toContain('"sinks.>"');
    expect(find(objs, 'ConfigMap', componentName('scheduler')).data.RIVULET_SINK_SUBJECTS).toBe('out.>, alerts.*');
  });

  it('security.enabled=false: plaintext, no users, no certificate, nats:// for the services', async () => {
    const objs = await render(chart, { security: { enabled: false } });
    const conf = natsConf(objs);
    expect(conf).not.toMatch(/tls \{|authorization|verify_and_map/);
    expect(objs.filter((o) => o.kind === 'Secret' && o.metadata.name === `${RELEASE}-nats-tls`)).toEqual([]);
    expect(find(objs, 'StatefulSet', `${RELEASE}-nats`).spec.template.spec.volumes.map((v: K8sObject) => v.name)).not.toContain('tls');
    for (const c of COMPONENTS) expect(find(objs, 'ConfigMap', componentName(c)).data.RIVULET_NATS_URL).toBe(`nats://${SERVICE_HOST}:4222`);
  });

  it('cert-manager: a Certificate for the servers (CN=nats-server, every name, server and client auth) into the Secret they mount', async () => {
    const objs = await render(chart, { security: { certManager: { enabled: true, issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer' } } } });
    validateAll(objs);
    const c = find(objs, 'Certificate', `${RELEASE}-nats-tls`);
    expect(c.spec).toMatchObject({ secretName: `${RELEASE}-nats-tls`, commonName: 'nats-server', ipAddresses: ['127.0.0.1'], issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer' } });
    expect(c.spec.dnsNames).toEqual(expect.arrayContaining([SERVICE_HOST, `${RELEASE}-nats-2.${RELEASE}-nats-headless.${NAMESPACE}.svc.cluster.local`, 'localhost']));
    expect(c.spec.usages).toEqual(expect.arrayContaining(['server auth', 'client auth']));
    expect(objs.filter((o) => o.kind === 'Secret' && o.metadata.name === `${RELEASE}-nats-tls`)).toEqual([]);
  });

  it('refuses a JetStream source that is not a stream name, and an extra user without permissions', async () => {
    expect(await renderError(chart, { config: { jetStreamSources: ['lines.>'] } })).toMatch(/config\.jetStreamSources\.0: Does not match pattern/);
    expect(await renderError(chart, { scheduler: { config: { sinkSubjects: '' } } })).toMatch(/scheduler\.config\.sinkSubjects: Does not match pattern/);
    expect(await renderError(chart, { nats: { extraUsers: [{ user: 'CN=x' }] } })).toMatch(/nats\.extraUsers\.0: permissions is required/);
  });
});

describe('sinks.postgres', () => {
  it('puts each connection’s URL from its Secret into the scheduler’s RIVULET_SINK_<NAME>, and opens the scheduler’s egress to the database', async () => {
    const objs = await render(chart, {
      sinks: {
        postgres: [
          { name: 'wc', existingSecret: 'pg', key: 'url' },
          { name: 'orders.eu-1', existingSecret: 'orders-db', key: 'dsn', port: 6432, to: [{ ipBlock: { cidr: '10.1.0.0/16' } }] },
        ],
      },
    });
    validateAll(objs);
    const env = (c: string) => find(objs, 'Deployment', componentName(c)).spec.template.spec.containers[0].env as K8sObject[];
    expect(env('scheduler').filter((e) => e.name.startsWith('RIVULET_SINK_'))).toEqual([
      { name: 'RIVULET_SINK_WC', valueFrom: { secretKeyRef: { name: 'pg', key: 'url' } } },
      { name: 'RIVULET_SINK_ORDERS_EU_1', valueFrom: { secretKeyRef: { name: 'orders-db', key: 'dsn' } } },
    ]);
    // Only the scheduler writes sinks: no other pod gets a credential or the database's port.
    for (const c of ['receiver', 'lineage', 'executor']) expect(env(c).filter((e) => e.name.startsWith('RIVULET_SINK_')), c).toEqual([]);
    const egress = (c: string) => find(objs, 'NetworkPolicy', componentName(c)).spec.egress as K8sObject[];
    expect(egress('scheduler')).toContainEqual({ ports: [{ port: 5432, protocol: 'TCP' }] });
    expect(egress('scheduler')).toContainEqual({ to: [{ ipBlock: { cidr: '10.1.0.0/16' } }], ports: [{ port: 6432, protocol: 'TCP' }] });
    for (const c of ['receiver', 'lineage', 'executor']) expect(JSON.stringify(egress(c)), c).not.toMatch(/5432|6432/);
  });

  it('refuses two connections on one variable, and a name whose variable is a scheduler sink option', async () => {
    // Every sink option of the scheduler, as a connection name mapping onto its variable (sinkStream ⇔ RIVULET_SINK_STREAM).
    const options = Object.keys(schedulerConfigSchema.shape).filter((k) => k.startsWith('sink'));
    expect(options.length).toBeGreaterThanOrEqual(10);
    const shadowing = options.map((o) => ({ name: o.slice(4).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase(), existingSecret: 'pg', key: 'url' }));
    const err = await renderError(chart, { sinks: { postgres: [...shadowing, { name: 'a-b', existingSecret: 'pg', key: 'url' }, { name: 'a.b', existingSecret: 'pg', key: 'url' }] } });
    for (const s of shadowing) expect(err).toContain(`sinks.postgres name "${s.name}"`);
    expect(err).toContain('two connections map to RIVULET_SINK_A_B');
    expect(await renderError(chart, { sinks: { postgres: [{ name: 'wc', key: 'url' }] } })).toMatch(/sinks\.postgres\.0: existingSecret is required/);
  });
});

describe('the bundled NATS run by three real nats-servers with the chart’s certificates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-bundled-nats-tls-'));
  let objs: K8sObject[];
  let nats: RenderedNats;
  let intruder: NatsServerHandle | undefined;
  const open: NatsConnection[] = [];
  const producerSubject = 'CN=lines-producer,O=apps';

  beforeAll(async () => {
    objs = await render(chart, {
      config: { jetStreamSources: ['LINES'] },
      nats: { extraUsers: [{ user: producerSubject, permissions: natsSourceProducer(['LINES', 'OTHER'], ['lines.>', 'other.>']) }] },
    });
    nats = await startRenderedNats(objs, dir);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((nc) => nc.close().catch(() => undefined)));
    await intruder?.stop();
    await nats?.cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const dialAs = async (server: number, tls: object | undefined, url = nats.cluster.servers[server]!.url): Promise<NatsConnection> => {
    const nc = await connect({ servers: url, ...(tls ? { tls } : {}), reconnect: false, timeout: 3000 });
    open.push(nc);
    return nc;
  };
  const asRole = (role: ServiceRole, server = 0) => dialAs(server, nats.roleTls(role));
  const logOf = (i: number) => readFileSync(nats.log(i), 'utf8');

  it('forms one JetStream cluster over mutual-TLS routes; the scheduler’s certificate keeps its journal on 3 servers', async () => {
    expect(await nats.cluster.metaLeader()).toBeDefined();
    const scheduler = await asRole('scheduler');
    const kv = await new Kvm(scheduler).create('rivulet-scheduler', { replicas: 3 });
    await kv.put('job.a', 'running');
    const streams = await nats.cluster.streams();
    expect(streams.get('KV_rivulet-scheduler')?.replicas).toBe(3);
  });

  it('a service connects with its certificate and does its role’s work: an executor’s heartbeat reaches the scheduler on another server', async () => {
    const scheduler = await asRole('scheduler', 0);
    const executor = await asRole('executor', 2);
    const sub = scheduler.subscribe('rivulet.executor.heartbeat.*', { max: 1 });
    await scheduler.flush();
    // Interest crosses the routes; publish until it has (a real condition, not a sleep).
    const got = (async () => {
      for await (const m of sub) return m.subject;
      return undefined;
    })();
    await waitFor(async () => {
      executor.publish('rivulet.executor.heartbeat.executor-1', 'beat');
      await executor.flush();
      return sub.getReceived() > 0;
    }, 'the heartbeat reaches the scheduler', { timeoutMs: 10_000, intervalMs: 100 });
    expect(await got).toBe('rivulet.executor.heartbeat.executor-1');
  });

  it('the certificate answers for the Service name the services dial, and not for another', async () => {
    const tls = nats.roleTls('lineage');
    await expect(dialAs(0, { ...tls, servername: SERVICE_HOST })).resolves.toBeDefined();
    await expect(dialAs(0, { ...tls, servername: 'nats.example.com' })).rejects.toThrow();
  });

  it('refuses plaintext clients, clients without a certificate, and certificates not from the chart’s CA', async () => {
    const server = nats.cluster.servers[0]!;
    await expect(dialAs(0, undefined, server.url.replace(/^tls:/, 'nats:'))).rejects.toThrow();
    const { caFile } = nats.roleTls('executor');
    await expect(dialAs(0, { caFile })).rejects.toThrow();
    // Same subject as the chart's executor certificate, from another CA.
    const forged = issueServiceCertificate(join(dir, 'other-ca'), 'executor');
    expect(new X509Certificate(readFileSync(forged.certFile)).subject).toContain('CN=executor');
    await expect(dialAs(0, { caFile, certFile: forged.certFile, keyFile: forged.keyFile })).rejects.toThrow();
    await waitFor(() => /TLS handshake error/.test(logOf(0)), 'the server logs the refused handshakes', { timeoutMs: 5000 });
  });

  it('a role cannot do another role’s work: the receiver cannot read the job journal, an executor cannot announce a batch', async () => {
    const receiver = await asRole('receiver', 1);
    await expect(new Kvm(receiver).open('rivulet-scheduler').then((kv) => kv.get('job.a'))).rejects.toThrow(/[Pp]ermission|timeout|TIMEOUT/);
    const executor = await asRole('executor', 1);
    executor.publish('rivulet.batch.ready.lines', 'forged');
    await executor.flush().catch(() => undefined);
    await waitFor(() => /Publish Violation - User "CN=receiver", Subject "\$JS\.API\.[A-Z.]+\.KV_rivulet-scheduler"/.test(logOf(1)), 'NATS refuses the receiver', { timeoutMs: 5000 });
    await waitFor(() => logOf(1).includes('Publish Violation - User "CN=executor", Subject "rivulet.batch.ready.lines"'), 'NATS refuses the executor', { timeoutMs: 5000 });
  });

  it('executors read a granted JetStream source (config.jetStreamSources) and no other stream; the receiver reads none', async () => {
    // The producer: an application certificate from the chart's CA, a user through nats.extraUsers.
    writeFileSync(join(dir, PKI_FILES.caCert), secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.crt'));
    writeFileSync(join(dir, PKI_FILES.caKey), secretValue(objs, `${RELEASE}-rivulet-ca`, 'tls.key'), { mode: 0o600 });
    const issued = issueCertificate(dir, 'lines-producer', { subject: { organization: 'apps', commonName: 'lines-producer' } });
    const producer = await dialAs(0, { caFile: join(dir, PKI_FILES.caCert), certFile: issued.certFile, keyFile: issued.keyFile });
    const jsm = await jetstreamManager(producer);
    await jsm.streams.add({ name: 'LINES', subjects: ['lines.>'], num_replicas: 3 });
    await jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] });
    await jetstream(producer).publish('lines.a', 'to be counted');
    await jetstream(producer).publish('other.a', 'not for rivulet');
    const readFirst = async (nc: NatsConnection, stream: string) => {
      const c = await jetstream(nc, { timeout: 2000 }).consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 1 });
      const m = await c.next({ expires: 2000 });
      return m ? m.string() : '(none)';
    };
    const executor = await asRole('executor', 2);
    expect(await readFirst(executor, 'LINES')).toBe('to be counted');
    await expect(readFirst(executor, 'OTHER')).rejects.toThrow(/[Pp]ermission|timeout|TIMEOUT/);
    const receiver = await asRole('receiver', 2);
    await expect(readFirst(receiver, 'LINES')).rejects.toThrow(/[Pp]ermission|timeout|TIMEOUT/);
  }, 30_000);

  it('a service certificate from the chart’s CA cannot join as a NATS server (routes take only CN=nats-server)', async () => {
    const first = nats.cluster.servers[0]!;
    const routez = async () => ((await (await fetch(`${first.monitorUrl}/routez`)).json()) as { num_routes: number }).num_routes;
    const before = await routez();
    const tls = nats.roleTls('scheduler');
    const conf = nats
      .localConf({ serverName: 'intruder', listen: `127.0.0.1:${await freePort()}`, routes: [`nats://127.0.0.1:${first.routePort}`] }, join(dir, 'intruder.pid'))
      .replace(/cert_file: "[^"]*"/g, `cert_file: "${tls.certFile}"`)
      .replace(/key_file: "[^"]*"/g, `key_file: "${tls.keyFile}"`);
    const file = join(dir, 'intruder.conf');
    writeFileSync(file, conf);
    intruder = await startNatsServer({ configFile: file, tls: true, serverName: 'intruder', storeDir: join(dir, 'intruder-store') });
    await waitFor(() => intruder!.recentOutput().includes("Route Error 'Authorization Violation'"), 'the first server refuses the route', { timeoutMs: 10_000 });
    expect(await routez()).toBe(before);
  });
});
