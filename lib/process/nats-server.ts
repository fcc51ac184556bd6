/**
 * A real nats-server with JetStream on loopback and its own store directory,
 * for `rivulet up`, the tests and the benchmarks (the same launcher for all, as
 * nats.js's `nst/src/launcher.ts` is for its tests). Started through
 * supervise.ts: by default it picks its own port (`-p -1`) and the port is read
 * from its "Listening for client connections on …" line, so no other process
 * can take the port between choosing and binding it. Ready when it logs
 * "Server is ready" (after JetStream is up and the client port is bound).
 *
 * With `logFile` its output goes to that file instead of a pipe, so it can
 * outlive the process that started it (`rivulet up --detach`): a Go program
 * writing to a pipe nobody reads any more dies of SIGPIPE.
 *
 * One server of a cluster (nats-cluster.ts) is started here too: its
 * `cluster {}` block (routes, their TLS) is in its configuration file, and it
 * gets a server name and a monitoring port on loopback, which the cluster
 * launcher polls (/routez, /jsz) to know when the routes and JetStream's meta
 * leader are up.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { ChildStartError } from './errors.js';
import { supervise } from './supervise.js';

/** How to install nats-server, for every "not found" message. */
export const NATS_INSTALL_HINT =
  'install it with `sudo apt-get install -y nats-server` (Debian/Ubuntu) or from ' +
  'https://github.com/nats-io/nats-server/releases, set RIVULET_NATS_SERVER_BIN, or pass --nats-url';

/** The configured executable name or path (RIVULET_NATS_SERVER_BIN, else `nats-server` from PATH). */
export function natsServerBinary(env: NodeJS.ProcessEnv = process.env): string {
  return env.RIVULET_NATS_SERVER_BIN || 'nats-server';
}

/** The nats-server executable that would be run, or undefined when there is none. */
export function findNatsServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const bin = natsServerBinary(env);
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

export interface NatsServerOptions {
  /** Client port. @default 0: nats-server picks a free one (`-p -1`) */
  port?: number;
  /** JetStream store directory. @default a new temp directory */
  storeDir?: string;
  /** Remove the store directory on stop(). @default true when the store is a temp dir made here, else false */
  removeStoreOnStop?: boolean;
  /** Output to this file instead of a pipe (required to outlive this process). */
  logFile?: string;
  /** Own process group; with `logFile` it survives this process. @default false */
  detached?: boolean;
  /** @default 10000 */
  startTimeoutMs?: number;
  /**
   * A configuration file (TLS, users and permissions: lib/security/nats-permissions.ts);
   * the flags above still set the address, port and store. Clients then dial `tls://`.
   */
  configFile?: string;
  /** The configuration requires TLS: the URL is `tls://…`. */
  tls?: boolean;
  /** Server name (`-n`; JetStream in a cluster requires a unique one). @default nats-server's own */
  serverName?: string;
  /**
   * HTTP monitoring on 127.0.0.1 at this port (`-m`); -1 lets nats-server pick
   * one, read back from its log. @default none
   */
  monitorPort?: number;
}

export interface NatsServerHandle {
  url: string;
  port: number;
  pid: number;
  storeDir: string;
  logFile?: string;
  process: ChildProcess;
  recentOutput(): string;
  /** SIGTERM, SIGKILL after `graceMs`; then removes the store if so configured. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL (chaos tests), and wait for exit; the store is kept (restart on it with `port` and `storeDir`). */
  kill(): Promise<void>;
  /** `http://127.0.0.1:<port>` of the monitoring endpoint, with `monitorPort`. */
  monitorUrl?: string;
}

const LISTENING = /Listening for client connections on ([^\s:]+|\[[^\]]+\]):(\d+)/;
const MONITOR = /Starting http monitor on ([^\s:]+):(\d+)/;

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = findNatsServer();
  if (!bin) throw new Error(`nats-server not found on PATH: ${NATS_INSTALL_HINT}`);
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'rivulet-nats-'));
  const removeStore = opts.removeStoreOnStop ?? !opts.storeDir;
  const port = opts.port ? String(opts.port) : '-1';
  const server = await supervise({
    name: 'nats-server',
    command: bin,
    args: [
      ...(opts.configFile ? ['-c', opts.configFile] : []),
      ...(opts.serverName ? ['-n', opts.serverName] : []),
      ...(opts.monitorPort !== undefined ? ['-m', String(opts.monitorPort)] : []),
      '-a', '127.0.0.1', '-p', port, '-js', '-sd', storeDir,
    ],
    logFile: opts.logFile,
    detached: opts.detached,
    readyTimeoutMs: opts.startTimeoutMs ?? 10_000,
    ready: (probe) => {
      const out = probe.output();
      if (!out.includes('Server is ready')) return undefined;
      const m = LISTENING.exec(out);
      if (!m) throw new Error('it is ready but did not log its client port');
      const monitor = opts.monitorPort === undefined ? undefined : MONITOR.exec(out);
      if (opts.monitorPort !== undefined && !monitor) throw new Error('it is ready but did not log its monitoring port');
      return { port: Number(m[2]), monitorPort: monitor ? Number(monitor[2]) : undefined };
    },
  }).catch((e: unknown) => {
    if (removeStore) rmSync(storeDir, { recursive: true, force: true });
    if (e instanceof ChildStartError && e.details.reason === 'spawn-failed') {
      throw new ChildStartError(`${e.message}: ${NATS_INSTALL_HINT}`, e.details, { cause: e });
    }
    throw e;
  });
  return {
    url: `${opts.tls ? 'tls' : 'nats'}://127.0.0.1:${server.ready.port}`,
    port: server.ready.port,
    monitorUrl: server.ready.monitorPort === undefined ? undefined : `http://127.0.0.1:${server.ready.monitorPort}`,
    pid: server.pid,
    storeDir,
    logFile: opts.logFile,
    process: server.process,
    recentOutput: () => server.recentOutput(),
    kill: () => server.kill(),
    stop: async (graceMs = 5000) => {
      await server.stop(graceMs);
      if (removeStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
