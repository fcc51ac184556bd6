/**
 * The chart and the code cannot drift: render the chart with its default values, then start every
 * Deployment's container as a real process on this machine with exactly the command, args and
 * environment Kubernetes would give it — the image's entry point and WORKDIR (Dockerfile), the
 * container args, the ConfigMap behind envFrom, the env list with its `$(VAR)` expansion — with
 * only the things a cluster provides replaced by local equivalents: the downward API (pod IP →
 * 127.0.0.1, pod name → a pod-like name), cluster DNS names of the chart's Services → 127.0.0.1,
 * the chart's ports → free local ports, and the NATS URL → a real local nats-server. Every process
 * must become SERVING on grpc.health (what the chart's grpc probes ask) and the scheduler must see
 * every executor alive under its pod name. Then the `helm test` hook Pod's script runs the same
 * way and must push records and read one batch of word counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dial, unary, waitForServing } from '../../lib/grpc/client.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { freePort } from '../../lib/process/ports.js';
import { stopChild } from '../../lib/process/supervise.js';
import {
  NAMESPACE,
  TEST_NATS_URL,
  baseValues,
  chartCopy,
  expandK8s,
  find,
  readDockerfile,
  render,
  repoRoot,
  resolveEnv,
  type K8sObject,
} from './helpers.js';

interface Proc {
  name: string;
  component: string;
  address: string;
  child: ChildProcess;
  output: string[];
}

const procs: Proc[] = [];
let nats: NatsServerHandle;
let objs: K8sObject[];
const docker = readDockerfile();

/** Chart address (host:port as the chart writes it) → local address. */
const addressMap = new Map<string, string>();

function rewrite(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    let value = v;
    for (const [from, to] of addressMap) value = value.split(from).join(to);
    out[k] = value;
  }
  return out;
}

function commandOf(container: K8sObject, env: Record<string, string>): { file: string; args: string[] } {
  // Kubernetes: `command` replaces the image ENTRYPOINT, `args` its CMD; both are $(VAR)-expanded.
  const command = ((container.command as string[] | undefined) ?? docker.entrypoint).map((a) => expandK8s(a, env));
  const args = ((container.args as string[] | undefined) ?? (container.command ? [] : docker.cmd)).map((a) => expandK8s(a, env));
  const [file, ...rest] = command;
  // The image's `node` is this Node; anything else (sh) comes from PATH as in the image.
  return { file: file === 'node' ? process.execPath : file!, args: [...rest, ...args] };
}

function spawnContainer(name: string, component: string, address: string, container: K8sObject, env: Record<string, string>): Proc {
  const { file, args } = commandOf(container, env);
  // Only the container's environment (and PATH, which the image sets): nothing from this process leaks in.
  const child = spawn(file, args, { cwd: repoRoot, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc: Proc = { name, component, address, child, output: [] };
  const remember = (line: string) => {
    proc.output.push(line);
    if (proc.output.length > 200) proc.output.shift();
  };
  createInterface({ input: child.stdout! }).on('line', remember);
  createInterface({ input: child.stderr! }).on('line', remember);
  procs.push(proc);
  return proc;
}

const stop = (proc: Proc): Promise<void> => stopChild(proc.child);

const podFacts = (name: string) => ({ name, namespace: NAMESPACE, podIP: '127.0.0.1', nodeName: hostname() });

beforeAll(async () => {
  const chart = chartCopy();
  try {
    objs = await render(chart, baseValues());
  } finally {
    chart.remove();
  }
  nats = await startNatsServer();
  addressMap.set(TEST_NATS_URL, nats.url);
}, 30_000);

afterAll(async () => {
  // Receiver first, NATS last, as a cluster would drain.
  const order = ['test', 'receiver', 'executor', 'scheduler', 'lineage'];
  for (const c of order) await Promise.all(procs.filter((p) => p.component === c).map(stop));
  await nats?.stop();
});

describe('the rendered Deployments, run as local processes', () => {
  const executorIds: string[] = [];

  it('every service becomes SERVING with the chart’s command, args and env', async () => {
    const deployments = objs.filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.labels['app.kubernetes.io/component']).sort()).toEqual(['executor', 'lineage', 'receiver', 'scheduler']);

    // One local port per pod; the chart's Service addresses map to the pod behind them.
    const pods: Array<{ name: string; component: string; container: K8sObject; port: number; containerPort: number }> = [];
    for (const dep of deployments) {
      const component = dep.metadata.labels['app.kubernetes.io/component'] as string;
      const [container] = dep.spec.template.spec.containers;
      const containerPort = container.ports.find((p: K8sObject) => p.name === 'grpc').containerPort as number;
      for (let i = 0; i < (dep.spec.replicas ?? 1); i++) {
        const name = component === 'executor' ? `${dep.metadata.name}-5d8c7b9f4-x${i}` : `${dep.metadata.name}-7f6d5c4b3-a${i}`;
        pods.push({ name, component, container, port: await freePort(), containerPort });
      }
    }
    for (const svc of objs.filter((o) => o.kind === 'Service')) {
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
      let env = resolveEnv(pod.container, objs, podFacts(pod.name));
      // What the probes ask is what the service binds: the grpc port, from RIVULET_PORT.
      expect(env.RIVULET_PORT, `${pod.name} RIVULET_PORT`).toBe(String(pod.containerPort));
      expect(pod.container.readinessProbe.grpc.port).toBe(pod.containerPort);
      expect(env.RIVULET_NATS_URL).toBe(TEST_NATS_URL);
      env = rewrite({
        ...env,
        RIVULET_PORT: String(pod.port),
        // Bind loopback rather than every interface on this machine.
        RIVULET_HOST: env.RIVULET_HOST === '0.0.0.0' ? '127.0.0.1' : env.RIVULET_HOST!,
        ...(env.RIVULET_ADVERTISE_ADDRESS ? { RIVULET_ADVERTISE_ADDRESS: env.RIVULET_ADVERTISE_ADDRESS.replace(`:${pod.containerPort}`, `:${pod.port}`) } : {}),
        ...(env.RIVULET_STATUS_PORT ? { RIVULET_STATUS_PORT: String(statusPort) } : {}),
      });
      for (const [k, v] of Object.entries(env)) expect(v, `${pod.name} ${k} still names a cluster address`).not.toMatch(/svc\.cluster\.local/);
      if (pod.component === 'executor') {
        expect(env.RIVULET_EXECUTOR_ID).toBe(pod.name);
        expect(env.RIVULET_ADVERTISE_ADDRESS).toBe(`127.0.0.1:${pod.port}`);
        executorIds.push(pod.name);
      }
      spawnContainer(pod.name, pod.component, `127.0.0.1:${pod.port}`, pod.container, env);
    }
    expect(executorIds).toHaveLength(2);

    // Like Kubernetes, everything starts at once; each must get to SERVING on its own.
    await Promise.all(
      procs.map(async (p) => {
        const died = new Promise<never>((_, reject) =>
          p.child.once('exit', (code, signal) => reject(new Error(`${p.name} exited (${signal ?? code}):\n${p.output.join('\n')}`))),
        );
        died.catch(() => undefined);
        await Promise.race([
          waitForServing(p.address, 20_000).catch((e: Error) => {
            throw new Error(`${p.name}: ${e.message}\n${p.output.join('\n')}`);
          }),
          died,
        ]);
        p.child.removeAllListeners('exit');
      }),
    );
    for (const p of procs) expect(p.output.some((l) => l.includes('"msg":"listening"')), `${p.name} printed its listening line`).toBe(true);
  });

  it('the scheduler sees every executor alive under its pod name, at its advertised address', async () => {
    const scheduler = procs.find((p) => p.component === 'scheduler')!;
    const client = dial.scheduler(scheduler.address);
    try {
      const deadline = Date.now() + 15_000;
      let executors: Array<{ executorId: string; state: string; address: string; slots: number }> = [];
      for (;;) {
        const status = await unary(client, client.getStatus, { recentBatches: 0 }, { timeoutMs: 2000 });
        executors = status.executors;
        if (executorIds.every((id) => executors.some((e) => e.executorId === id && e.state === 'ALIVE'))) break;
        if (Date.now() > deadline) throw new Error(`executors not alive: ${JSON.stringify(executors)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const configured = find(objs, 'ConfigMap', `${executorIds[0]!.split('-').slice(0, -2).join('-')}`).data.RIVULET_SLOTS;
      for (const id of executorIds) {
        const e = executors.find((x) => x.executorId === id)!;
        expect(e.address).toBe(procs.find((p) => p.name === id)!.address);
        expect(String(e.slots)).toBe(configured);
      }
    } finally {
      client.close();
    }
  });

  it('the helm test hook Pod’s script submits the word count, pushes records and reads one batch', async () => {
    const pod = objs.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test')!;
    const [container] = pod.spec.containers;
    const env = rewrite(resolveEnv(container, objs, podFacts(pod.metadata.name)));
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
  }, 60_000);
});
