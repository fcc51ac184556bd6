/**
 * A nats-server whose output goes to a log file instead of a pipe, so that it
 * can outlive the process that started it (`rivulet up --detach`): a Go
 * program writing to a pipe nobody reads any more dies of SIGPIPE.
 * Tests use lib/testing/nats-server.ts instead (piped, cleaned up with the test).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, rmSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { natsServerBinary } from '../testing/nats-server.js';
import { tailFile } from './service-process.js';

export interface NatsProcess {
  url: string;
  port: number;
  pid: number;
  storeDir: string;
  logFile: string;
  process: ChildProcess;
  /** SIGTERM, SIGKILL after graceMs; removes the store unless `keepStore`. */
  stop(graceMs?: number): Promise<void>;
}

/** How to install nats-server, for every "not found" message. */
export const NATS_INSTALL_HINT =
  'install it with `sudo apt-get install -y nats-server` (Debian/Ubuntu) or from ' +
  'https://github.com/nats-io/nats-server/releases, set RIVULET_NATS_SERVER_BIN, or pass --nats-url';

/** The nats-server executable that would be run, or undefined when there is none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = env.RIVULET_NATS_SERVER_BIN || natsServerBinary();
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (bin.includes('/')) return executable(bin) ? bin : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = isAbsolute(dir) ? join(dir, bin) : join(process.cwd(), dir, bin);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** `nats-server --version`, for the endpoints printout; '' when it cannot be run. */
export function natsServerVersion(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

export interface StartNatsProcessOptions {
  port: number;
  storeDir: string;
  logFile: string;
  detached?: boolean;
  startTimeoutMs?: number;
  /** Keep the JetStream store on stop (default: remove it). */
  keepStore?: boolean;
}

export async function startNatsProcess(opts: StartNatsProcessOptions): Promise<NatsProcess> {
  const bin = findNatsServer();
  if (!bin) throw new Error(`nats-server not found on PATH: ${NATS_INSTALL_HINT}`);
  const fd = openSync(opts.logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(bin, ['-a', '127.0.0.1', '-p', String(opts.port), '-js', '-sd', opts.storeDir], {
      stdio: ['ignore', fd, fd],
      detached: opts.detached ?? false,
    });
  } finally {
    closeSync(fd);
  }
  const timeoutMs = opts.startTimeoutMs ?? 10_000;
  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      reject(new Error(`nats-server ${why}; last output (${opts.logFile}):\n${tailFile(opts.logFile)}`));
    };
    const timer = setTimeout(() => fail(`did not become ready within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(`could not be started (${err.message})`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    // "Server is ready" is logged after JetStream is up and the client port is bound.
    const poll = setInterval(() => {
      if (tailFile(opts.logFile, 64 * 1024).includes('Server is ready')) {
        clearInterval(poll);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        resolve();
      }
    }, 25);
  });
  if (opts.detached) child.unref();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url: `nats://127.0.0.1:${opts.port}`,
    port: opts.port,
    pid: child.pid!,
    storeDir: opts.storeDir,
    logFile: opts.logFile,
    process: child,
    stop: async (graceMs = 5000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      if (!opts.keepStore) rmSync(opts.storeDir, { recursive: true, force: true });
    },
  };
}
