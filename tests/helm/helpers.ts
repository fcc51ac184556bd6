/**
 * Shared by the chart tests: the pinned helm binary (scripts/helm.mjs), a temporary copy of
 * helm/rivulet (the chart has no dependencies: its bundled NATS is its own templates), `helm template`
 * rendered into plain objects, and the Kubernetes semantics the process test needs to run
 * containers locally: `$(VAR)` expansion, ConfigMap/downward-API environment resolution, and
 * Secret and emptyDir volumes materialised as local directories.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
// @ts-expect-error -- a plain ESM script without type declarations
import { ensureHelm } from '../../scripts/helm.mjs';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const chartSource = join(repoRoot, 'helm/rivulet');

/** The URL the tests give as externalNats.url; the process test swaps it for a local server. */
export const TEST_NATS_URL = 'nats://nats.messaging.svc.cluster.local:4222';
export const RELEASE = 'rv';
export const NAMESPACE = 'streams';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Kubernetes object as rendered; the tests read it structurally
export type K8sObject = Record<string, any>;

export interface HelmRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], timeoutMs = 20_000): Promise<HelmRun> {
  const bin = ensureHelm() as string;
  return new Promise((resolve) => {
    execFile(
      bin,
      args,
      // A private Helm home: no user repositories, caches or plugins leak into the checks.
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { PATH: process.env.PATH, HOME: tmpdir(), HELM_CACHE_HOME: join(tmpdir(), 'rivulet-helm-cache'), HELM_CONFIG_HOME: join(tmpdir(), 'rivulet-helm-config'), HELM_DATA_HOME: join(tmpdir(), 'rivulet-helm-data') } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface ChartCopy {
  dir: string;
  /** Write values to a file in the copy's temp dir and return its path. */
  valuesFile(values: object): string;
  remove(): void;
}

/** helm/rivulet copied to a temp dir (tests add files to their copy). */
export function chartCopy(): ChartCopy {
  const root = mkdtempSync(join(tmpdir(), 'rivulet-chart-'));
  const dir = join(root, 'rivulet');
  cpSync(chartSource, dir, { recursive: true });
  let n = 0;
  return {
    dir,
    valuesFile: (values) => {
      const file = join(root, `values-${n++}.json`);
      // JSON is YAML: no YAML writer needed.
      writeFileSync(file, JSON.stringify(values));
      return file;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** `helm template` with no values at all (`helm install rivulet ./helm/rivulet`). */
export async function renderWithoutValues(chart: ChartCopy): Promise<K8sObject[]> {
  const res = await helm(['template', RELEASE, chart.dir, '--namespace', NAMESPACE]);
  if (res.code !== 0) throw new Error(`helm template failed (${res.code}):\n${res.stderr}`);
  return parseManifests(res.stdout);
}

/** `helm template` with these values; resolves with the rendered objects, rejects with Helm's stderr. */
export async function render(chart: ChartCopy, values: object, extraArgs: string[] = []): Promise<K8sObject[]> {
  const res = await helm(['template', RELEASE, chart.dir, '--namespace', NAMESPACE, '-f', chart.valuesFile(values), ...extraArgs]);
  if (res.code !== 0) throw new Error(`helm template failed (${res.code}):\n${res.stderr}`);
  return parseManifests(res.stdout);
}

/**
 * The chart's NOTES.txt as `helm install` would print it. `helm template` skips NOTES.txt and
 * `helm install --dry-run` needs a cluster, so the copy gets a test-only template that renders
 * the same text with `tpl` into a ConfigMap.
 */
export async function renderNotes(chart: ChartCopy, values: object): Promise<string> {
  cpSync(join(chart.dir, 'templates/NOTES.txt'), join(chart.dir, 'notes-under-test.txt'));
  writeFileSync(
    join(chart.dir, 'templates/zz-notes-under-test.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-under-test\ndata:\n  notes: {{ tpl (.Files.Get "notes-under-test.txt") . | quote }}\n',
  );
  try {
    const objs = await render(chart, values, ['--show-only', 'templates/zz-notes-under-test.yaml']);
    return objs[0]!.data.notes as string;
  } finally {
    rmSync(join(chart.dir, 'templates/zz-notes-under-test.yaml'));
    rmSync(join(chart.dir, 'notes-under-test.txt'));
  }
}

/** `helm template` that is expected to fail; resolves with its stderr. */
export async function renderError(chart: ChartCopy, values: object): Promise<string> {
  const res = await helm(['template', RELEASE, chart.dir, '--namespace', NAMESPACE, '-f', chart.valuesFile(values)]);
  if (res.code === 0) throw new Error('helm template succeeded, but these values should have been refused');
  return res.stderr;
}

export function parseManifests(text: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const out: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const obj = objs.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!obj) throw new Error(`no ${kind} ${name} among ${objs.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}`);
  return obj;
}

export const componentName = (component: string) => `${RELEASE}-rivulet-${component}`;

/** Minimal values every render needs (NATS is required). */
export const baseValues = () => ({ externalNats: { url: TEST_NATS_URL } });

/**
 * Kubernetes' expansion of `$(VAR)` in env values, command and args: a reference to a
 * defined variable is replaced, `$$` is an escaped `$`, anything else stays as written.
 */
export function expandK8s(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      const name = close < 0 ? '' : input.slice(i + 2, close);
      if (close >= 0 && Object.prototype.hasOwnProperty.call(vars, name)) {
        out += vars[name];
        i = close;
      } else {
        out += c;
      }
    } else {
      out += c;
    }
  }
  return out;
}

/** What the downward API would give a pod, with local equivalents. */
export interface PodFacts {
  name: string;
  namespace: string;
  podIP: string;
  nodeName: string;
}

/**
 * A container's environment as the kubelet builds it: envFrom ConfigMaps first, then `env` in
 * order, each value `$(VAR)`-expanded against what is defined so far. Anything this test cannot
 * stand in for locally (Secrets, resource fields, unknown field paths) fails loudly.
 */
export function resolveEnv(container: K8sObject, objs: K8sObject[], pod: PodFacts): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    if (!from.configMapRef) throw new Error(`unsupported envFrom ${JSON.stringify(from)}`);
    const cm = find(objs, 'ConfigMap', from.configMapRef.name);
    for (const [k, v] of Object.entries(cm.data ?? {})) env[(from.prefix ?? '') + k] = String(v);
  }
  const fields: Record<string, string> = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
    'status.podIP': pod.podIP,
    'spec.nodeName': pod.nodeName,
  };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = expandK8s(String(e.value), env);
    else if (e.valueFrom?.fieldRef) {
      const v = fields[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`unsupported fieldRef ${e.valueFrom.fieldRef.fieldPath} in ${e.name}`);
      env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef) {
      const cm = find(objs, 'ConfigMap', e.valueFrom.configMapKeyRef.name);
      env[e.name] = String(cm.data[e.valueFrom.configMapKeyRef.key]);
    } else {
      throw new Error(`unsupported env source for ${e.name}: ${JSON.stringify(e.valueFrom)}`);
    }
  }
  return env;
}

/**
 * A pod's volumes as the kubelet would mount them into one container, materialised under `root`:
 * a Secret volume becomes a directory with one file per item (the key's base64 data decoded, or
 * every key when no items are listed, with the volume's defaultMode), an emptyDir an empty
 * directory. Returns mount path → local directory, for `rewritePaths`. A Secret that was not
 * rendered with the chart (an existingSecret) or any other volume type fails loudly.
 */
export function materialiseVolumes(podSpec: K8sObject, container: K8sObject, objs: K8sObject[], root: string): Map<string, string> {
  const mounts = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const volume = (podSpec.volumes ?? []).find((v: K8sObject) => v.name === m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} names no volume of the pod`);
    if (m.subPath) throw new Error(`subPath mount ${m.name}: a renewed Secret would never reach it`);
    const dir = join(root, m.mountPath as string);
    mkdirSync(dir, { recursive: true });
    if (volume.secret) {
      const secret = find(objs, 'Secret', volume.secret.secretName);
      const items: Array<{ key: string; path: string }> = volume.secret.items ?? Object.keys(secret.data ?? {}).map((key) => ({ key, path: key }));
      for (const item of items) {
        const data = secret.data?.[item.key] as string | undefined;
        if (data === undefined) throw new Error(`Secret ${secret.metadata.name} has no key ${item.key} (volume ${m.name})`);
        const file = join(dir, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, Buffer.from(data, 'base64'), { mode: volume.secret.defaultMode ?? 0o644 });
      }
    } else if (!volume.emptyDir) {
      throw new Error(`unsupported volume ${JSON.stringify(volume)}`);
    }
    mounts.set(m.mountPath as string, dir);
  }
  return mounts;
}

/** Env values naming a file under a mount path, pointed at the materialised directory instead. */
export function rewritePaths(env: Record<string, string>, mounts: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    const mount = [...mounts.keys()].find((path) => v === path || v.startsWith(`${path}/`));
    out[k] = mount ? mounts.get(mount)! + v.slice(mount.length) : v;
  }
  return out;
}

/** The decoded value of a rendered Secret's key. */
export function secretValue(objs: K8sObject[], name: string, key: string): Buffer {
  const data = find(objs, 'Secret', name).data?.[key] as string | undefined;
  if (data === undefined) throw new Error(`Secret ${name} has no key ${key}`);
  return Buffer.from(data, 'base64');
}

/** The Dockerfile's instructions of its last (runtime) stage, and of all stages. */
export interface DockerfileInfo {
  stages: Array<{ from: string; name?: string; instructions: Array<{ op: string; args: string }> }>;
  runtime: { from: string; name?: string; instructions: Array<{ op: string; args: string }> };
  workdir: string;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export function readDockerfile(path = join(repoRoot, 'Dockerfile')): DockerfileInfo {
  const lines = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: DockerfileInfo['stages'] = [];
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/);
    const text = rest.join(' ');
    const upper = op!.toUpperCase();
    if (upper === 'ARG' && stages.length === 0) {
      const [k, v] = text.split('=');
      args[k!] = v ?? '';
    } else if (upper === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(text);
      const from = m![1]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => args[a ?? b] ?? '');
      stages.push({ from, name: m![2], instructions: [] });
    } else {
      if (!stages.length) throw new Error(`Dockerfile: ${op} before FROM`);
      stages.at(-1)!.instructions.push({ op: upper, args: text });
    }
  }
  const runtime = stages.at(-1)!;
  const last = (op: string) => runtime.instructions.filter((i) => i.op === op).at(-1)?.args;
  const json = (s: string | undefined) => (s ? (JSON.parse(s) as string[]) : []);
  return {
    stages,
    runtime,
    workdir: last('WORKDIR') ?? '/',
    user: last('USER') ?? 'root',
    entrypoint: json(last('ENTRYPOINT')),
    cmd: json(last('CMD')),
  };
}
