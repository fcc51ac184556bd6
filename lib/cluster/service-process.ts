/**
 * Runs one Rivulet service as a child process (`node dist/services/<name>/main.js`)
 * through lib/process/supervise.ts, and knows what "ready" means for a service:
 * it logs a JSON line `{"msg":"listening","address":"host:port"}` once its gRPC
 * server is bound (lib/service-main.ts), and then answers grpc.health.v1
 * SERVING. The address is read back from that line — in the pipe or in the log
 * file — so a service can be given port 0 and nobody has to guess a free port.
 * Used by `rivulet up`, the tests and the benchmarks, so all of them start
 * services exactly the same way.
 */
import { readFileSync } from 'node:fs';
import type { TransportSecurity } from '../security/transport.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { dial, unary } from '../grpc/client.js';
import { supervise } from '../process/supervise.js';

export type ServiceName = 'receiver' | 'scheduler' | 'lineage' | 'executor';

export interface ServiceProcess {
  name: string;
  service: ServiceName;
  /** The address it listens on, as it reported it. */
  address: string;
  pid: number;
  process: ChildProcess;
  /** Recent output (piped: every kept line, or their last `maxBytes`; log file: its last `maxBytes`, default 8 KiB). */
  recentOutput(maxBytes?: number): string;
  /** SIGTERM and wait for exit (SIGKILL after graceMs). */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (chaos tests), and wait for exit. */
  kill(): Promise<void>;
  /** SIGSTOP: the process is frozen (a GC pause, a frozen node) until `resume()` (chaos tests). */
  pause(): void;
  /** SIGCONT after `pause()`. */
  resume(): void;
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
  /** RIVULET_* variables (RIVULET_PORT: 0 or absent lets the service pick); merged over process.env. */
  env?: Record<string, string | undefined>;
  args?: string[];
  /**
   * What the health probe dials with (the cluster CA). @default TLS with
   * RIVULET_TLS_CA_FILE from `env` when given, else plaintext
   */
  probeSecurity?: TransportSecurity;
  /** Extra node flags (e.g. --import for telemetry). */
  nodeArgs?: string[];
  /** @default 20000 */
  startTimeoutMs?: number;
  /** Each output line besides the kept ones (piped mode only). */
  onLine?: (line: string) => void;
  /** Send stdout+stderr straight to this file (truncated first) instead of a pipe. */
  logFile?: string;
  /**
   * Run the child in its own process group and do not keep this process alive
   * for it: Ctrl-C in a terminal then reaches only the launcher, which stops the
   * services in order, and with `logFile` the service survives the launcher.
   */
  detached?: boolean;
}

/** The address of the first `{"msg":"listening","address":…}` line in `output`. */
export function listeningAddress(output: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"listening"')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: string; address?: string };
      if (parsed.msg === 'listening' && parsed.address) return parsed.address;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

export async function startServiceProcess(opts: StartServiceOptions): Promise<ServiceProcess> {
  const name = opts.name ?? opts.service;
  const caFile = opts.env?.RIVULET_TLS_CA_FILE;
  // Health is public, but the server speaks TLS unless told otherwise: probe with the CA it was given.
  const probeSecurity: TransportSecurity =
    opts.probeSecurity ?? (caFile && opts.env?.RIVULET_INSECURE !== 'true' ? { insecure: false, pem: { ca: readFileSync(caFile) } } : { insecure: true });
  let health: ReturnType<typeof dial.health> | undefined;
  try {
    const child = await supervise({
      name,
      command: process.execPath,
      args: [...(opts.nodeArgs ?? []), serviceEntry(opts.service), ...(opts.args ?? [])],
      env: { ...process.env, ...opts.env },
      logFile: opts.logFile,
      onLine: opts.onLine,
      detached: opts.detached,
      readyTimeoutMs: opts.startTimeoutMs ?? 20_000,
      pollMs: 100,
      ready: async (probe) => {
        const address = listeningAddress(probe.output());
        if (!address) return undefined;
        health ??= dial.health(address, { security: probeSecurity });
        const res = await unary(health, health.check, { service: '' }, { timeoutMs: Math.min(1000, Math.max(1, probe.remainingMs())) }).catch(
          () => undefined,
        );
        return res?.status === 'SERVING' ? address : undefined;
      },
    });
    return {
      name,
      service: opts.service,
      address: child.ready,
      pid: child.pid,
      process: child.process,
      recentOutput: (maxBytes?: number) => child.recentOutput(maxBytes),
      stop: (graceMs = 5000) => child.stop(graceMs),
      kill: () => child.kill(),
      pause: () => void child.process.kill('SIGSTOP'),
      resume: () => void child.process.kill('SIGCONT'),
    };
  } finally {
    health?.close();
  }
}
