/**
 * Runs one Rivulet service as a child process (`node dist/services/<name>/main.js`)
 * and waits until it is reachable: the service logs a JSON line
 * `{"msg":"listening","address":"host:port"}` once its gRPC server is bound and
 * then answers grpc.health.v1 SERVING. Used by `rivulet up`, the tests and the
 * benchmarks, so all of them start services exactly the same way.
 *
 * Two output modes:
 * - piped (default): output is read line by line (ring buffer + `onLine`); the
 *   child dies with a broken pipe if this process goes away, which is what tests want.
 * - log file (`logFile`): output goes straight to a file descriptor the child owns,
 *   so it can outlive this process (`rivulet up --detach`). The listening line is
 *   then not visible to us, so the caller must pre-assign the port and pass the
 *   `address`; readiness is gRPC health alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, fstatSync } from 'node:fs';
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
  /** Where service output goes besides the ring buffer (piped mode only). */
  onLine?: (line: string) => void;
  /**
   * Send stdout+stderr straight to this file (truncated first) instead of a pipe.
   * Requires `address`, because the listening line is not read back.
   */
  logFile?: string;
  /** The address the service will listen on (its port pre-assigned via RIVULET_PORT). */
  address?: string;
  /**
   * Run the child in its own process group and do not keep this process alive
   * for it: Ctrl-C in a terminal then reaches only the launcher, which stops the
   * services in order, and with `logFile` the service survives the launcher.
   */
  detached?: boolean;
}

/** The last `maxBytes` of a file, for error reports; '' when unreadable. */
export function tailFile(path: string, maxBytes = 8192): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export async function startServiceProcess(opts: StartServiceOptions): Promise<ServiceProcess> {
  if (opts.logFile) return startWithLogFile(opts);
  const name = opts.name ?? opts.service;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), serviceEntry(opts.service), ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
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
  let addr: string;
  try {
    addr = await listening;
    await waitForServing(addr, opts.startTimeoutMs ?? 20_000);
  } catch (e) {
    // Never leave a half-started service behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw e;
  }
  if (opts.detached) child.unref();
  return handle(name, opts.service, addr, child, () => lines.join('\n'));
}

async function startWithLogFile(opts: StartServiceOptions): Promise<ServiceProcess> {
  const name = opts.name ?? opts.service;
  const logFile = opts.logFile!;
  const address = opts.address;
  if (!address) throw new Error(`${name}: a log-file launch needs the pre-assigned address`);
  const fd = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...(opts.nodeArgs ?? []), serviceEntry(opts.service), ...(opts.args ?? [])], {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', fd, fd],
      detached: opts.detached ?? false,
    });
  } finally {
    // The child has its own copy of the descriptor.
    closeSync(fd);
  }
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const died = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) =>
      reject(new Error(`${name} exited (${signal ?? code}) before serving; last output (${logFile}):\n${tailFile(logFile)}`)),
    );
    child.once('error', reject);
  });
  died.catch(() => undefined);
  try {
    await Promise.race([
      waitForServing(address, timeoutMs).catch((e: Error) => {
        throw new Error(`${name}: ${e.message}; last output (${logFile}):\n${tailFile(logFile)}`);
      }),
      died,
    ]);
  } catch (e) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw e;
  }
  if (opts.detached) child.unref();
  return handle(name, opts.service, address, child, () => tailFile(logFile));
}

function handle(
  name: string,
  service: ServiceName,
  addr: string,
  child: ChildProcess,
  recentOutput: () => string,
): ServiceProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    name,
    service,
    address: addr,
    pid: child.pid!,
    process: child,
    recentOutput,
    stop: (graceMs = 5000) => stopChild(child, graceMs),
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * SIGTERM, then wait for the process to exit; if it hasn't within `graceMs`
 * (a grace period, as Kubernetes gives a pod), SIGKILL it and wait for that.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const escalate = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(escalate);
}
