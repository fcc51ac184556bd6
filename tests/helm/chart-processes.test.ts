/**
 * The chart and the code cannot drift: render the chart, then start every Deployment's container as
 * a real process on this machine with exactly the command, args, environment and files Kubernetes
 * would give it — the image's entry point and WORKDIR (Dockerfile), the container args, the ConfigMap
 * behind envFrom, the env list with its `$(VAR)` expansion, and the pod's Secret volumes (the CA,
 * the role's certificate and key, the admin token, as Helm generated them) written to a directory
 * per pod — with only the things a cluster provides replaced by local equivalents: the downward API
 * (pod IP → 127.0.0.1, pod name → a pod-like name), cluster DNS names of the chart's Services →
 * 127.0.0.1, the chart's ports → free local ports, mount paths → those directories, and the NATS URLs
 * → real local nats-servers. Every process must pass its rendered probes (grpc.health SERVING:
 * the native grpc probe in plaintext, an exec probe over TLS) and the scheduler must see every
 * executor and both receivers alive under their pod names. Then the
 * `helm test` hook Pod's script runs the same way and must push records and read one batch of word
 * counts.
 *
 * With the default values (security on) the processes only speak mutual TLS: each presents its
 * role's certificate from the chart's CA, a plaintext client is refused, and the hook script gets
 * in with the CA and the admin token it mounts; the local NATS is set up as an operator would set
 * up the external NATS for the default config.natsReplicas=3: a 3-server JetStream cluster (TLS from
 * the chart's CA, one user per service certificate, routes over mutual TLS with the NATS servers'
 * certificate), all three in externalNats.url. With security.enabled=false everything, NATS too,
 * runs in plaintext, on one nats-server with config.natsReplicas=1. With no values at all the whole
 * release runs on the chart's bundled NATS as rendered: its three servers started from the rendered
 * configuration with the Helm-generated certificates (tests/helm/bundled-nats.ts), the services on
 * its tls:// Service URL (standing for the three servers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type PeerCertificate } from 'node:tls';
import { status as Status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dial, unary } from '../../lib/grpc/client.js';
import { SchedulerEndpoints } from '../../lib/grpc/scheduler-endpoints.js';
import { startNatsCluster } from '../../lib/process/nats-cluster.js';
import { startNatsServer } from '../../lib/process/nats-server.js';
import { freePort } from '../../lib/process/ports.js';
import { stopChild } from '../../lib/process/supervise.js';
import { DEFAULT_NATS_NAMES, natsClusterConfig, natsSecurityConfig, type NatsResourceNames } from '../../lib/security/nats-permissions.js';
import { issueCertificate, PKI_FILES } from '../../lib/security/pki.js';
import type { TransportSecurity } from '../../lib/security/transport.js';
import { startRenderedNats } from './bundled-nats.js';
import {
  NAMESPACE,
  RELEASE,
  TEST_NATS_URL,
  baseValues,
  chartCopy,
  componentName,
  expandK8s,
  find,
  materialiseVolumes,
  readDockerfile,
  render,
  repoRoot,
  resolveEnv,
  rewritePaths,
  secretValue,
  type K8sObject,
} from './helpers.js';

interface Proc {
  name: string;
  component: string;
  address: string;
  child: ChildProcess;
  output: string[];
  container: K8sObject;
  env: Record<string, string>;
}

const docker = readDockerfile();
const podFacts = (name: string) => ({ name, namespace: NAMESPACE, podIP: '127.0.0.1', nodeName: hostname() });

function commandOf(container: K8sObject, env: Record<string, string>): { file: string; args: string[] } {
  // Kubernetes: `command` replaces the image ENTRYPOINT, `args` its CMD; both are $(VAR)-expanded.
  const command = ((container.command as string[] | undefined) ?? docker.entrypoint).map((a) => expandK8s(a, env));
  const args = ((container.args as string[] | undefined) ?? (container.command ? [] : docker.cmd)).map((a) => expandK8s(a, env));
  const [file, ...rest] = command;
  // The image's `node` is this Node; anything else (sh) comes from PATH as in the image.
  return { file: file === 'node' ? process.execPath : file!, args: [...rest, ...args] };
}

/**
 * One run of a rendered probe against a process, as the kubelet would run it: an `exec` probe's
 * command in the container's environment (with security on: a TLS health check, since the kubelet's
 * own grpc probe speaks only plaintext), or a `grpc` probe — grpc.health Check, plaintext, on the
 * probe's port (mapped to the process's local port). Resolves with why it failed, or undefined.
 */
async function runProbe(probe: K8sObject, env: Record<string, string>, address: string): Promise<string | undefined> {
  if (probe.exec) {
    const [cmd, ...args] = probe.exec.command as string[];
    return new Promise((resolve) => {
      const child = spawn(cmd === 'node' ? process.execPath : cmd!, args, { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), (probe.timeoutSeconds as number) * 1000 + 5000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code === 0 ? undefined : `exec probe exited ${signal ?? code}: ${stderr.trim()}`);
      });
    });
  }
  if (probe.grpc) {
    const client = dial.health(address, { security: { insecure: true } });
    try {
      const res = await unary(client, client.check, { service: '' }, { timeoutMs: (probe.timeoutSeconds as number) * 1000 });
      return res.status === 'SERVING' ? undefined : `grpc probe: ${res.status}`;
    } catch (e) {
      return `grpc probe: ${(e as Error).message}`;
    } finally {
      client.close();
    }
  }
  throw new Error(`unsupported probe ${JSON.stringify(probe)}`);
}

/** Until the probe passes (what readiness means), or fail after timeoutMs with its last answer. */
async function waitProbe(probe: K8sObject, env: Record<string, string>, address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failure = await runProbe(probe, env, address);
    if (failure === undefined) return;
    if (Date.now() > deadline) throw new Error(`${address} not ready within ${timeoutMs} ms: ${failure}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The certificate a TLS server presents, checked against `ca` (the name is not: Rivulet checks the role). */
function peerCertificate(address: string, ca: Buffer): Promise<{ authorized: boolean; cert: PeerCertificate }> {
  const [host, port] = address.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), ca, ALPNProtocols: ['h2'], servername: 'rivulet', checkServerIdentity: () => undefined }, () => {
      resolve({ authorized: socket.authorized, cert: socket.getPeerCertificate() });
      socket.end();
    });
    socket.once('error', reject);
  });
}

/**
 * Everything one run of the chart needs: render it with `values`, start its Deployments, stop them
 * after. `secure`: whether the rendered processes speak TLS (the test's own clients follow).
 */
/** The NATS a run stands up for externalNats.url; `streams` (a cluster only): each JetStream stream's replicas. */
interface LocalNats {
  urls: string[];
  stop(): Promise<void>;
  streams?: () => Promise<Map<string, number>>;
}

/**
 * `values` with externalNats.url: a local NATS stands in for it (as an operator would set it up);
 * without: the chart's bundled NATS, started from its rendered configuration and certificates.
 */
function runChart(values: { externalNats?: { url: string } } & Record<string, unknown>, secure: boolean) {
  const bundled = values.externalNats === undefined;
  /** The URL the rendered services are given (read from the render when the NATS is the bundled one). */
  let natsUrl = values.externalNats?.url ?? '';
  const procs: Proc[] = [];
  const executorIds: string[] = [];
  const receiverIds: string[] = [];
  /** The local NATS the chart's externalNats.url stands for: its servers' client URLs, in the URL's order. */
  let nats: LocalNats | undefined;
  let objs: K8sObject[] = [];
  let root = '';
  /** What this test dials the services with: the CA and admin token from the rendered Secrets, or plaintext. */
  let client: TransportSecurity = { insecure: true };
  /** Chart address (host:port as the chart writes it) → local address. */
  const addressMap = new Map<string, string>();

  const rewriteAddresses = (env: Record<string, string>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      let value = v;
      for (const [from, to] of addressMap) value = value.split(from).join(to);
      out[k] = value;
    }
    return out;
  };

  /** The pod's container environment and files as the kubelet would give them, with local paths and addresses. */
  const containerEnv = (podName: string, podSpec: K8sObject, container: K8sObject): Record<string, string> => {
    const mounts = materialiseVolumes(podSpec, container, objs, join(root, podName));
    return rewritePaths(rewriteAddresses(resolveEnv(container, objs, podFacts(podName))), mounts);
  };

  const spawnContainer = (name: string, component: string, address: string, container: K8sObject, env: Record<string, string>): Proc => {
    const { file, args } = commandOf(container, env);
    // Only the container's environment (and PATH, which the image sets): nothing from this process leaks in.
    const child = spawn(file, args, { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: Proc = { name, component, address, child, output: [], container, env };
    const remember = (line: string) => {
      proc.output.push(line);
      if (proc.output.length > 200) proc.output.shift();
    };
    createInterface({ input: child.stdout! }).on('line', remember);
    createInterface({ input: child.stderr! }).on('line', remember);
    procs.push(proc);
    return proc;
  };

  beforeAll(async () => {
    const chart = chartCopy();
    try {
      objs = await render(chart, values);
    } finally {
      chart.remove();
    }
    root = mkdtempSync(join(tmpdir(), 'rivulet-pods-'));
    if (secure) {
      client = {
        insecure: false,
        pem: { ca: secretValue(objs, `${componentName('scheduler')}-tls`, 'ca.crt') },
        token: secretValue(objs, `${componentName('admin')}-token`, 'token').toString('utf8').trim(),
      };
    }
    if (bundled) {
      // The bundled NATS as rendered: its StatefulSet's servers, TLS and users from the render (tests/helm/bundled-nats.ts).
      natsUrl = find(objs, 'ConfigMap', componentName('scheduler')).data.RIVULET_NATS_URL as string;
      expect(natsUrl).toBe(`${secure ? 'tls' : 'nats'}://${RELEASE}-nats.${NAMESPACE}.svc.cluster.local:4222`);
      const rendered = await startRenderedNats(objs, join(root, 'bundled-nats'));
      nats = {
        urls: rendered.cluster.servers.map((s) => s.url),
        stop: () => rendered.cluster.stop(),
        streams: async () => new Map([...(await rendered.cluster.streams())].map(([name, s]) => [name, s.replicas])),
      };
      // The Service's one address stands for every server behind it: the services fail over between them.
      addressMap.set(natsUrl, nats.urls.join(','));
      return;
    }
    const chartUrls = natsUrl.split(',');
    if (secure) nats = await startSecureNats(chartUrls.length);
    else {
      const single = await startNatsServer();
      nats = { urls: [single.url], stop: () => single.stop() };
    }
    // The external NATS the values name is this local one, server for server; with security on both speak TLS (tls://).
    expect(nats.urls).toHaveLength(chartUrls.length);
    chartUrls.forEach((u, i) => {
      expect(nats!.urls[i]!.startsWith(secure ? 'tls://' : 'nats://')).toBe(true);
      addressMap.set(u, nats!.urls[i]!);
    });
  }, 60_000);

  /**
   * The NATS an operator would give the chart as externalNats.url with security on: TLS with a
   * server certificate from the chart's CA, each service's certificate mapped to its own user with
   * its permissions (lib/security/nats-permissions.ts) — for the buckets and streams the rendered
   * ConfigMaps name; `servers` of them in a JetStream cluster, routed over mutual TLS with that
   * certificate (docs/nats-security.conf's cluster block).
   */
  const startSecureNats = async (servers: number): Promise<LocalNats> => {
    const dir = join(root, 'nats-server');
    mkdirSync(dir, { recursive: true });
    const caName = `${RELEASE}-rivulet-ca`;
    writeFileSync(join(dir, PKI_FILES.caCert), secretValue(objs, caName, 'tls.crt'));
    writeFileSync(join(dir, PKI_FILES.caKey), secretValue(objs, caName, 'tls.key'), { mode: 0o600 });
    const server = issueCertificate(dir, 'nats-server', { subject: { organization: 'rivulet', commonName: 'nats-server' } });
    const config = (c: string) => find(objs, 'ConfigMap', componentName(c)).data as Record<string, string>;
    const names: NatsResourceNames = {
      jobsBucket: config('scheduler').RIVULET_JOBS_BUCKET!,
      outputsStream: config('scheduler').RIVULET_OUTPUTS_STREAM!,
      checkpointBucket: config('executor').RIVULET_CHECKPOINT_BUCKET!,
      lineageBucket: config('lineage').RIVULET_KV_BUCKET!,
      walBucket: config('receiver').RIVULET_WAL_BUCKET!,
      tokenBucket: DEFAULT_NATS_NAMES.tokenBucket,
    };
    for (const [k, v] of Object.entries(names)) expect(v, k).toBeTruthy();
    const files = { certFile: server.certFile, keyFile: server.keyFile, caFile: join(dir, PKI_FILES.caCert) };
    if (servers === 1) {
      const configFile = join(dir, 'nats-server.conf');
      writeFileSync(configFile, natsSecurityConfig({ ...files, names }));
      const single = await startNatsServer({ configFile, tls: true });
      return { urls: [single.url], stop: () => single.stop() };
    }
    const cluster = await startNatsCluster({
      size: servers,
      storeRoot: join(dir, 'stores'),
      tls: true,
      configFile: (node) => {
        const file = join(dir, `${node.serverName}.conf`);
        writeFileSync(file, natsSecurityConfig({ ...files, names }) + natsClusterConfig({ ...node, tls: files }));
        return file;
      },
    });
    return {
      urls: cluster.servers.map((s) => s.url),
      stop: () => cluster.stop(),
      streams: async () => new Map([...(await cluster.streams())].map(([name, s]) => [name, s.replicas])),
    };
  };

  afterAll(async () => {
    // Receiver first, NATS last, as a cluster would drain.
    const order = ['test', 'receiver', 'executor', 'scheduler', 'lineage'];
    for (const c of order) await Promise.all(procs.filter((p) => p.component === c).map((p) => stopChild(p.child)));
    await nats?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('every service becomes SERVING with the chart’s command, args, env and mounted files', async () => {
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['executor', 'lineage', 'receiver', 'scheduler']);

    // One local port per pod; the chart's Service addresses map to the pod behind them.
    const pods: Array<{ name: string; component: string; podSpec: K8sObject; container: K8sObject; port: number; containerPort: number }> = [];
    for (const dep of deployments) {
      const component = dep.metadata.labels['app.kubernetes.io/component'] as string;
      const podSpec = dep.spec.template.spec;
      const [container] = podSpec.containers;
      const containerPort = container.ports.find((p: K8sObject) => p.name === 'grpc').containerPort as number;
      for (let i = 0; i < (dep.spec.replicas ?? 1); i++) {
        const name = component === 'executor' ? `${dep.metadata.name}-5d8c7b9f4-x${i}` : `${dep.metadata.name}-7f6d5c4b3-a${i}`;
        pods.push({ name, component, podSpec, container, port: await freePort(), containerPort });
      }
    }
    // The bundled NATS's Services front its StatefulSet, started above.
    for (const svc of objs.filter((o) => o.kind === 'Service' && o.metadata.labels['app.kubernetes.io/component'] !== 'nats')) {
      const backing = deployments.filter((d) =>
        Object.entries(svc.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v),
      );
      expect(backing, `Service ${svc.metadata.name} selects one Deployment`).toHaveLength(1);
      const pod = pods.find((p) => p.container === backing[0]!.spec.template.spec.containers[0])!;
      const [port] = svc.spec.ports;
      // The Service forwards to the named container port the service listens on.
      expect(port.targetPort).toBe('grpc');
      addressMap.set(`${svc.metadata.name}.${NAMESPACE}.svc.cluster.local:${port.port}`, `127.0.0.1:${pod.port}`);
    }

    // The scheduler's status page port is not a gRPC port; give it a free one so parallel runs never collide.
    const statusPort = await freePort();
    for (const pod of pods) {
      const rendered = resolveEnv(pod.container, objs, podFacts(pod.name));
      // What the probes ask is what the service binds: the grpc port, from RIVULET_PORT (which the
      // exec probe reads too).
      expect(rendered.RIVULET_PORT, `${pod.name} RIVULET_PORT`).toBe(String(pod.containerPort));
      if (pod.container.readinessProbe.grpc) expect(pod.container.readinessProbe.grpc.port).toBe(pod.containerPort);
      else expect(pod.container.readinessProbe.exec.command.join(' ')).toContain('process.env.RIVULET_PORT');
      expect(rendered.RIVULET_NATS_URL).toBe(natsUrl);
      if (secure) {
        expect(rendered.RIVULET_INSECURE, pod.name).toBeUndefined();
        expect(rendered.RIVULET_TLS_CERT_FILE, pod.name).toMatch(/^\/etc\//);
      } else {
        expect(rendered.RIVULET_INSECURE, pod.name).toBe('true');
      }
      let env = containerEnv(pod.name, pod.podSpec, pod.container);
      env = {
        ...env,
        RIVULET_PORT: String(pod.port),
        // Bind loopback rather than every interface on this machine.
        RIVULET_HOST: env.RIVULET_HOST === '0.0.0.0' ? '127.0.0.1' : env.RIVULET_HOST!,
        ...(env.RIVULET_ADVERTISE_ADDRESS ? { RIVULET_ADVERTISE_ADDRESS: env.RIVULET_ADVERTISE_ADDRESS.replace(`:${pod.containerPort}`, `:${pod.port}`) } : {}),
        ...(env.RIVULET_STATUS_PORT ? { RIVULET_STATUS_PORT: String(statusPort) } : {}),
      };
      for (const [k, v] of Object.entries(env)) {
        expect(v, `${pod.name} ${k} still names a cluster address`).not.toMatch(/svc\.cluster\.local/);
        expect(v, `${pod.name} ${k} still names a path inside the container`).not.toMatch(/^\/etc\//);
      }
      if (pod.component === 'executor') {
        expect(env.RIVULET_EXECUTOR_ID).toBe(pod.name);
        expect(env.RIVULET_ADVERTISE_ADDRESS).toBe(`127.0.0.1:${pod.port}`);
        executorIds.push(pod.name);
      }
      if (pod.component === 'receiver') {
        expect(env.RIVULET_RECEIVER_ID).toBe(pod.name);
        expect(env.RIVULET_ADVERTISE_ADDRESS).toBe(`127.0.0.1:${pod.port}`);
        receiverIds.push(pod.name);
      }
      spawnContainer(pod.name, pod.component, `127.0.0.1:${pod.port}`, pod.container, env);
    }
    expect(executorIds).toHaveLength(2);
    expect(receiverIds).toHaveLength(2);

    // Like Kubernetes, everything starts at once; each must get to SERVING on its own.
    await Promise.all(
      procs.map(async (p) => {
        const died = new Promise<never>((_, reject) =>
          p.child.once('exit', (code, signal) => reject(new Error(`${p.name} exited (${signal ?? code}):\n${p.output.join('\n')}`))),
        );
        died.catch(() => undefined);
        await Promise.race([
          waitProbe(p.container.readinessProbe, p.env, p.address, 40_000).catch((e: Error) => {
            throw new Error(`${p.name}: ${e.message}\n${p.output.join('\n')}`);
          }),
          died,
        ]);
        p.child.removeAllListeners('exit');
      }),
    );
    for (const p of procs) {
      expect(p.output.some((l) => l.includes('"msg":"listening"')), `${p.name} printed its listening line`).toBe(true);
      // The probe kind the kubelet can use against this transport.
      expect(Object.keys(p.container.readinessProbe).filter((k) => ['exec', 'grpc'].includes(k)), p.name).toEqual([secure ? 'exec' : 'grpc']);
    }
    // And the startup and liveness probes pass too.
    const others = procs.flatMap((p) => ['startupProbe', 'livenessProbe'].map(async (kind) => [`${p.name} ${kind}`, await runProbe(p.container[kind], p.env, p.address)] as const));
    for (const [what, failure] of await Promise.all(others)) expect(failure, what).toBeUndefined();
  }, 90_000);

  it('the scheduler sees every executor and receiver alive under its pod name, at its advertised address; one of the two schedulers leads', async () => {
    // The chart runs two: whichever a client reaches, a standby points it to the leader (scheduler-endpoints.ts).
    const schedulerProcs = procs.filter((p) => p.component === 'scheduler');
    expect(schedulerProcs).toHaveLength(2);
    const schedulers = new SchedulerEndpoints(schedulerProcs.map((p) => p.address).join(','), { security: client });
    try {
      const deadline = Date.now() + 15_000;
      let executors: Array<{ executorId: string; state: string; address: string; slots: number }> = [];
      for (;;) {
        const status = await schedulers.call((c) => unary(c, c.getStatus, { recentBatches: 0 }, { timeoutMs: 2000 }), { idempotent: true });
        // The leader is one of the pods, named by its pod name, at its advertised (pod) address.
        expect(schedulerProcs.map((p) => [p.name, p.address])).toContainEqual([status.leader?.schedulerId, status.leader?.address]);
        executors = status.executors;
        if (executorIds.every((id) => executors.some((e) => e.executorId === id && e.state === 'ALIVE'))) break;
        if (Date.now() > deadline) throw new Error(`executors not alive: ${JSON.stringify(executors)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // And both receivers, by their pod names, at their pod addresses (the scheduler asks each there for its share).
      for (;;) {
        const status = await schedulers.call((c) => unary(c, c.getStatus, { recentBatches: 0 }, { timeoutMs: 2000 }), { idempotent: true });
        const alive = status.receivers.filter((r) => r.state === 'ALIVE');
        if (receiverIds.every((id) => alive.some((r) => r.receiverId === id && r.address === procs.find((p) => p.name === id)!.address))) break;
        if (Date.now() > deadline) throw new Error(`receivers not alive at their addresses: ${JSON.stringify(status.receivers)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const configured = find(objs, 'ConfigMap', `${executorIds[0]!.split('-').slice(0, -2).join('-')}`).data.RIVULET_SLOTS;
      for (const id of executorIds) {
        const e = executors.find((x) => x.executorId === id)!;
        expect(e.address).toBe(procs.find((p) => p.name === id)!.address);
        expect(String(e.slots)).toBe(configured);
      }
    } finally {
      schedulers.close();
    }
  });

  it('the helm test hook Pod’s script submits the word count, pushes records and reads one batch', async () => {
    const pod = objs.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test')!;
    const [container] = pod.spec.containers;
    const env = containerEnv(pod.metadata.name, pod.spec, container);
    if (secure) {
      // A client of the cluster: the CA and the admin token, no certificate of its own.
      expect(Object.keys(env).filter((k) => k.startsWith('RIVULET_')).sort()).toEqual(['RIVULET_TLS_CA_FILE', 'RIVULET_TOKEN_FILE']);
    } else {
      expect(env.RIVULET_INSECURE).toBe('true');
    }
    env.TEST_TIMEOUT_SECONDS = '20';
    const proc = spawnContainer(pod.metadata.name, 'test', '', container, env);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 40_000);
      proc.child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const log = proc.output.join('\n');
    expect(code, log).toBe(0);
    expect(log).toMatch(/submitted examples\/wordcount\.ts as job \S+/);
    expect(log).toContain('word counts as expected: {"helm":3,"rivulet":1,"test":2}');
    // The job ran across every service (scheduler → lineage and executors, receiver → executors,
    // executors → receiver) and no service refused another.
    const refusedServices = procs.flatMap((p) => p.output.filter((l) => l.includes('access denied') && l.includes('"principal":"service:')));
    expect(refusedServices).toEqual([]);
    // With security on, NATS too went over TLS with the services' certificates (no plaintext warning).
    if (secure) expect(procs.flatMap((p) => p.output.filter((l) => l.includes('NATS URL is not tls://')))).toEqual([]);
    // On the NATS cluster, every stream and bucket the rendered services made has the chart's default natsReplicas, 3 copies.
    if (nats?.streams) {
      const streams = await nats.streams();
      expect(streams.size).toBeGreaterThanOrEqual(6);
      for (const [name, replicas] of streams) expect(replicas, name).toBe(3);
    }
  }, 60_000);

  return { procs: () => procs, client: () => client };
}

describe('the rendered Deployments, run as local processes (default values: security on)', () => {
  // What an operator gives with security on and the default config.natsReplicas=3: a 3-server JetStream
  // cluster set up with docs/nats-security.conf, every server over tls://.
  const servers = [0, 1, 2].map((i) => TEST_NATS_URL.replace(/^nats:\/\/nats\./, `tls://nats-${i}.nats.`));
  const run = runChart({ ...baseValues(), externalNats: { url: servers.join(',') } }, true);

  it('every service presents its own role’s certificate, issued by the chart’s CA', async () => {
    const ca = (run.client() as { pem: { ca: Buffer } }).pem.ca;
    for (const p of run.procs().filter((x) => x.component !== 'test')) {
      const { authorized, cert } = await peerCertificate(p.address, ca);
      expect(authorized, p.name).toBe(true);
      expect(cert.subject.CN, p.name).toBe(p.component);
    }
  });

  it('the TLS probe fails where no service answers, so it cannot pass vacuously', async () => {
    const scheduler = run.procs().find((p) => p.component === 'scheduler')!;
    const nothing = await freePort();
    expect(await runProbe(scheduler.container.readinessProbe, { ...scheduler.env, RIVULET_PORT: String(nothing) }, '')).toMatch(/health check failed/);
  });

  it('refuses plaintext clients, callers without a credential, and users on service-only RPCs', async () => {
    const services = run.procs().filter((x) => x.component !== 'test');
    for (const p of services) {
      const plain = dial.health(p.address, { security: { insecure: true } });
      try {
        await expect(unary(plain, plain.check, { service: '' }, { timeoutMs: 1000 }), p.name).rejects.toMatchObject({ code: Status.UNAVAILABLE });
      } finally {
        plain.close();
      }
    }
    const secure = run.client() as Extract<TransportSecurity, { insecure: false }>;
    const scheduler = services.find((p) => p.component === 'scheduler')!;
    const anonymous = dial.scheduler(scheduler.address, { security: { insecure: false, pem: secure.pem } });
    try {
      await expect(unary(anonymous, anonymous.getStatus, { recentBatches: 0 })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    } finally {
      anonymous.close();
    }
    // Executors take no user credential at all, not even the admin token: only the services' certificates.
    const executor = services.find((p) => p.component === 'executor')!;
    const adminOnExecutor = dial.executor(executor.address, { security: secure });
    try {
      await expect(unary(adminOnExecutor, adminOnExecutor.dropBlocks, { blockIds: [], prefixes: ['no-such-block-'] })).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
      });
    } finally {
      adminOnExecutor.close();
    }
    // The receiver knows the admin token, and still keeps its service-only RPC to the services.
    const receiver = services.find((p) => p.component === 'receiver')!;
    const adminOnReceiver = dial.receiver(receiver.address, { security: secure });
    try {
      await expect(unary(adminOnReceiver, adminOnReceiver.getBatchBlocks, { stream: 'lines', batchTimeMs: 0 })).rejects.toMatchObject({
        code: Status.PERMISSION_DENIED,
      });
    } finally {
      adminOnReceiver.close();
    }
  });
});

describe('the rendered Deployments, run as local processes on the bundled NATS as rendered (no values)', () => {
  // `helm install` with no values: the services reach the chart's own 3-server NATS over tls:// with their certificates.
  runChart({}, true);
});

describe('the rendered Deployments, run as local processes (security.enabled=false)', () => {
  // One plaintext nats-server: nothing to copy to, so config.natsReplicas=1.
  runChart({ ...baseValues(), security: { enabled: false }, config: { natsReplicas: 1 } }, false);
});
