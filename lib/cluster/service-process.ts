/**
 * Runs one Rivulet service as a child process (`node dist/services/<name>/main.js`)
 * and waits until it is reachable: the service logs a JSON line
 * `{"msg":"listening","address":"host:port"}` once its gRPC server is bound and
 * then answers grpc.health.v1 SERVING. Used by `rivulet up`, the tests and the
 * benchmarks, so all of them start services exactly the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { waitForServing } from '../grpc/client.js';

export type ServiceName = 'receiver' | 'scheduler' | 'lineage' | 'executor';

export interface ServiceProcess {
  name: string;
  service: ServiceName;
  address: string;
  pid: number;
  process: ChildProcess;
  /** Recent output lines, for error reports. */
  recentOutput(): string;
  /** SIGTERM and wait for exit (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (chaos tests), and wait for exit. */
  kill(): Promise<void>;
}

export function distRoot(): string {
  // This file lives at dist/lib/cluster/service-process.js (compiled) or lib/cluster (source).
  const candidates = ['../../', '../../dist/'];
  for (const rel of candidates) {
    const root = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${root}services/scheduler/main.js`)) return root;
  }
  throw new Error('compiled services not found: run `npm run build` first');
}

export function serviceEntry(service: ServiceName): string {
  return `${distRoot()}services/${service}/main.js`;
}

export interface StartServiceOptions {
  service: ServiceName;
  /** Display name (e.g. "executor-1"). */
  name?: string;
  /** RIVULET_* variables; merged over process.env. */
  env?: Record<string, string | undefined>;
  args?: string[];
  /** Extra node flags (e.g. --import for telemetry). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
  /** Where service output goes besides the ring buffer (e.g. a log file stream). */
  onLine?: (line: string) => void;
}

export async function startServiceProcess(opts: StartServiceOptions): Promise<ServiceProcess> {
  const name = opts.name ?? opts.service;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), serviceEntry(opts.service), ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const remember = (line: string) => {
    lines.push(line);
    if (lines.length > 200) lines.shift();
    opts.onLine?.(line);
  };
  let address: string | undefined;
  const listening = new Promise<string>((resolve, reject) => {
    const timeout = setTimeout(
      () => reject(new Error(`${name} did not start within ${opts.startTimeoutMs ?? 20_000} ms:\n${lines.join('\n')}`)),
      opts.startTimeoutMs ?? 20_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      remember(line);
      if (!address && line.includes('"listening"')) {
        try {
          const parsed = JSON.parse(line) as { msg?: string; address?: string };
          if (parsed.msg === 'listening' && parsed.address) {
            address = parsed.address;
            clearTimeout(timeout);
            resolve(parsed.address);
          }
        } catch {
          // not JSON
        }
      }
    });
    createInterface({ input: child.stderr! }).on('line', remember);
    child.once('exit', (code, signal) => {
      clearTimeout(timeout);
      reject(new Error(`${name} exited (${signal ?? code}) before listening:\n${lines.join('\n')}`));
    });
    child.once('error', (err) => {
      clearTimeout(timeout);
      reject(err);
    });
  });
  const addr = await listening;
  await waitForServing(addr, opts.startTimeoutMs ?? 20_000);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    service: opts.service,
    address: addr,
    pid: child.pid!,
    process: child,
    recentOutput: () => lines.join('\n'),
    stop: async (graceMs = 5000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
