/**
 * A real PostgreSQL server on loopback in its own temp directory, for the
 * Postgres sink's tests and benchmark (as nats-server.ts is for NATS):
 * `initdb` makes a cluster with one password-authenticated superuser, then
 * `postgres` runs on a free port, TCP on 127.0.0.1 only (no Unix socket), and
 * is ready when it logs "database system is ready to accept connections".
 *
 * PostgreSQL refuses to run as root: a root caller (a CI container) runs
 * initdb and the server as the `postgres` system user that Debian's package
 * creates (RIVULET_POSTGRES_OS_USER to choose another), owning the temp dir.
 *
 * Faults for chaos tests: `crash()` is an immediate shutdown (SIGQUIT: every
 * backend ends at once, no checkpoint; the next start runs crash recovery) and
 * `start()` brings it back on the same port and data.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.js';
import { ChildStartError } from './errors.js';
import { supervise, type Supervised } from './supervise.js';

/** How to install PostgreSQL, for every "not found" message. */
export const POSTGRES_INSTALL_HINT =
  'install it with `sudo apt-get install -y postgresql` (Debian/Ubuntu), or set RIVULET_POSTGRES_BIN_DIR to the directory holding initdb and postgres';

const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The directory holding `initdb` and `postgres`: RIVULET_POSTGRES_BIN_DIR, Debian's newest /usr/lib/postgresql/<v>/bin, or PATH. */
export function findPostgresBinDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const has = (dir: string) => executable(join(dir, 'initdb')) && executable(join(dir, 'postgres'));
  if (env.RIVULET_POSTGRES_BIN_DIR) return has(env.RIVULET_POSTGRES_BIN_DIR) ? env.RIVULET_POSTGRES_BIN_DIR : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (has(join(debian, v, 'bin'))) return join(debian, v, 'bin');
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && has(dir)) return dir;
  return undefined;
}

export interface PostgresServerOptions {
  /** Extra server settings (`-c name=value`), e.g. `{ client_connection_check_interval: '100ms' }`. */
  settings?: Record<string, string>;
  /** @default 30000 */
  startTimeoutMs?: number;
}

export interface PostgresServerHandle {
  /** `postgres://rivulet:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server process now (undefined while crashed). */
  readonly pid: number | undefined;
  readonly running: boolean;
  recentOutput(): string;
  /** Immediate shutdown (SIGQUIT), waiting for the exit; the data stays for start(). */
  crash(): Promise<void>;
  /** Start again on the same port and data (after crash()), waiting until it accepts connections. */
  start(): Promise<void>;
  /** Fast shutdown (SIGINT; SIGKILL after 10 s), then remove the directory. */
  stop(): Promise<void>;
}

const READY = 'database system is ready to accept connections';
const USER = 'rivulet';

/** The OS user to run PostgreSQL as when we are root: its uid and gid. */
function osUser(env: NodeJS.ProcessEnv): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = env.RIVULET_POSTGRES_OS_USER || 'postgres';
  const id = (flag: string) => {
    const r = spawnSync('id', [flag, name], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`PostgreSQL cannot run as root and there is no user ${name} to run it as (${r.stderr.trim()}); set RIVULET_POSTGRES_OS_USER`);
    return Number(r.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPostgresServer(opts: PostgresServerOptions = {}): Promise<PostgresServerHandle> {
  const bin = findPostgresBinDir();
  if (!bin) throw new Error(`PostgreSQL not found: ${POSTGRES_INSTALL_HINT}`);
  const as = osUser(process.env);
  const base = mkdtempSync(join(tmpdir(), 'rivulet-postgres-'));
  const dataDir = join(base, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(base, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (as) {
    chownSync(base, as.uid, as.gid);
    chownSync(pwfile, as.uid, as.gid);
  }
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', USER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
    { encoding: 'utf8', ...(as ?? {}), cwd: base },
  );
  rmSync(pwfile, { force: true });
  if (init.status !== 0) {
    rmSync(base, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr.trim() || init.stdout.trim()}`);
  }
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off', // a test server: durability across an OS crash is not what is tested
    shared_buffers: '16MB',
    max_connections: '40',
    ...opts.settings,
  };
  let port = await freePort();
  let server: Supervised<true> | undefined;
  const launch = () =>
    supervise({
      name: 'postgres',
      command: join(bin, 'postgres'),
      args: ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      ...(as ?? {}),
      readyTimeoutMs: opts.startTimeoutMs ?? 30_000,
      ready: (probe) => (probe.output().includes(READY) ? (true as const) : undefined),
    });
  const portTaken = (e: unknown) => e instanceof ChildStartError && /could not bind|already in use/i.test(e.details.output);
  for (let attempt = 1; ; attempt++) {
    try {
      server = await launch();
      break;
    } catch (e) {
      if (attempt >= 5 || !portTaken(e)) {
        rmSync(base, { recursive: true, force: true });
        throw e;
      }
      port = await freePort();
    }
  }
  const exitOf = async (s: Supervised<true>, signal: NodeJS.Signals, graceMs: number) => {
    if (s.process.exitCode !== null || s.process.signalCode !== null) return;
    s.process.kill(signal);
    const timer = setTimeout(() => s.process.kill('SIGKILL'), graceMs);
    await s.exited;
    clearTimeout(timer);
  };
  let current: Supervised<true> | undefined = server;
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    get pid() {
      return current?.pid;
    },
    get running() {
      return current !== undefined;
    },
    recentOutput: () => current?.recentOutput() ?? '',
    async crash() {
      const s = current;
      current = undefined;
      if (s) await exitOf(s, 'SIGQUIT', 10_000);
    },
    async start() {
      if (current) return;
      // Right after a crash the port may linger for a moment.
      for (let attempt = 1; ; attempt++) {
        try {
          current = await launch();
          return;
        } catch (e) {
          if (attempt >= 20 || !portTaken(e)) throw e;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
    async stop() {
      const s = current;
      current = undefined;
      if (s) await exitOf(s, 'SIGINT', 10_000);
      rmSync(base, { recursive: true, force: true });
    },
  };
}
