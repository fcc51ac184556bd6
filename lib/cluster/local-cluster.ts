/**
 * The one launcher of a whole Rivulet cluster on this machine: a nats-server
 * (unless one is given) and every service as its own process — lineage,
 * scheduler, N executors, receiver. `rivulet up`, the integration/e2e tests and
 * the benchmarks all start clusters through here, so they exercise the same
 * wiring a user gets.
 *
 * The scheduler and the receiver need each other's address (and the lineage's)
 * before either is up, so every control-plane port is pre-assigned with
 * `freePort()` and passed as RIVULET_PORT; executors get pre-assigned ports too,
 * which is what lets a detached cluster be health-checked without reading its
 * output. This module never decides anything about scheduling or storage: it
 * only starts, waits for and stops processes.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration, parseDuration } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { dial, unary } from '../grpc/client.js';
import { freePort, startNatsServer, type NatsServerHandle } from '../testing/nats-server.js';
import { startNatsProcess, type NatsProcess } from './nats-process.js';
import { startServiceProcess, type ServiceName, type ServiceProcess } from './service-process.js';

export type EnvMap = Record<string, string | undefined>;

export interface LocalClusterOptions {
  /** Executors to start, with ids executor-1..N. @default 2 */
  executors?: number;
  /** Task slots per executor (RIVULET_SLOTS). @default the executor's own default (cores) */
  slots?: number;
  /** Batch interval given to the scheduler and the receiver. @default "1s" */
  batchInterval?: string | number;
  /** Block interval given to the receiver and the scheduler. @default "200ms" */
  blockInterval?: string | number;
  /** Use this NATS server instead of starting one. */
  natsUrl?: string;
  /**
   * Write each process's output to `<logDir>/<name>.log` (truncated) instead of
   * a pipe. Required for `detached`.
   */
  logDir?: string;
  /** Let every process outlive this one (own process group, output to log files). @default false */
  detached?: boolean;
  /**
   * Extra RIVULET_* variables. Keys: `all`, a service name (`executor` applies to
   * every executor) or an executor id (`executor-2`); later keys win in that order.
   */
  env?: Record<string, EnvMap>;
  /** Control-plane ports; 0 or absent picks a free one (`status`: the scheduler's status page). */
  ports?: { receiver?: number; scheduler?: number; lineage?: number; status?: number };
  /** Where JetStream stores data when this launcher starts nats-server. @default a temp dir */
  natsStoreDir?: string;
  /** Per-process start deadline. @default 20000 */
  startTimeoutMs?: number;
  /** Also wait until the scheduler sees every executor ALIVE (heartbeats arrived). @default true */
  waitForExecutors?: boolean;
  /** RIVULET_LOG_LEVEL of every service. @default service default (info) */
  logLevel?: string;
}

export interface LocalClusterAddresses {
  receiver: string;
  scheduler: string;
  lineage: string;
  nats: string;
  executors: string[];
  /** The scheduler's status page (absent when it could not bind its port). */
  statusPage?: string;
}

/** What is needed to find and stop a (possibly detached) cluster from another process. */
export interface ClusterProcessInfo {
  name: string;
  /** A service name, or "nats-server". */
  kind: ServiceName | 'nats-server';
  pid: number;
  address: string;
  logFile?: string;
}

export interface LocalCluster {
  natsUrl: string;
  addresses(): LocalClusterAddresses;
  /** The current lineage process (replaced by restartLineage()). */
  readonly lineage: ServiceProcess;
  /** The current scheduler process (replaced by restartScheduler()). */
  readonly scheduler: ServiceProcess;
  /** The current receiver process (replaced by restartReceiver()). */
  readonly receiver: ServiceProcess;
  /** Live list: grows with addExecutor(). */
  executors: ServiceProcess[];
  /** The nats-server this launcher started (absent with `natsUrl`). */
  nats?: { pid: number; url: string; storeDir: string };
  logDir?: string;
  /** Start one more executor (next free id) and wait until it serves (and is seen ALIVE). */
  addExecutor(opts?: { env?: EnvMap; id?: string }): Promise<ServiceProcess>;
  /**
   * Start the receiver again on the same port with the same env (stopping it
   * first if it still runs, e.g. after `receiver.kill()` it does not) and wait
   * until it serves.
   */
  restartReceiver(): Promise<ServiceProcess>;
  /**
   * Start the scheduler again on the same port with the same env (stopping it
   * first if it still runs) and wait until it serves; it resumes the jobs in
   * its journal.
   */
  restartScheduler(): Promise<ServiceProcess>;
  /** Start lineage again on the same port with the same env (stopping it first if it still runs); it reloads its KV state. */
  restartLineage(): Promise<ServiceProcess>;
  /** Every process, in start order, for state files and status displays. */
  processes(): ClusterProcessInfo[];
  /** Stop everything this launcher started, in reverse start order. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Ports handed out by this process, so two freePort() calls never collide. */
const handedOut = new Set<number>();

async function allocatePort(preferred?: number): Promise<number> {
  if (preferred) return preferred;
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
  throw new Error('could not find a free port');
}

function resolveIntervals(opts: LocalClusterOptions): { batch: number; block: number } {
  let batch: number;
  let block: number;
  try {
    batch = parseDuration(opts.batchInterval ?? '1s');
    block = parseDuration(opts.blockInterval ?? '200ms');
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  // Checked here too so that a bad combination fails before any process starts.
  if (batch < 100 || batch > 10_000) throw new ConfigError(`batch interval must be between 100ms and 10s (got ${formatDuration(batch)})`);
  if (block <= 0 || batch % block !== 0) {
    throw new ConfigError(
      `batch interval (${formatDuration(batch)}) must be a multiple of the block interval (${formatDuration(block)})`,
    );
  }
  return { batch, block };
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const executorCount = opts.executors ?? 2;
  if (!Number.isInteger(executorCount) || executorCount < 1) throw new ConfigError(`executors must be a positive integer (got ${executorCount})`);
  if (opts.slots !== undefined && (!Number.isInteger(opts.slots) || opts.slots < 1)) {
    throw new ConfigError(`slots must be a positive integer (got ${opts.slots})`);
  }
  if (opts.detached && !opts.logDir) throw new ConfigError('a detached cluster needs a logDir for its output');
  const { batch, block } = resolveIntervals(opts);
  const logDir = opts.logDir ? resolve(opts.logDir) : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;

  // Everything started so far, in order, so a failure half-way stops exactly that.
  const started: Array<{ stop(graceMs?: number): Promise<void> }> = [];
  const stopStarted = async (graceMs?: number) => {
    for (const p of [...started].reverse()) await p.stop(graceMs).catch(() => undefined);
    started.length = 0;
  };

  try {
    let natsUrl = opts.natsUrl;
    let nats: NatsServerHandle | NatsProcess | undefined;
    if (!natsUrl) {
      const port = await allocatePort();
      if (logDir) {
        const storeDir = opts.natsStoreDir ?? mkdtempSync(join(tmpdir(), 'rivulet-nats-'));
        nats = await startNatsProcess({ port, storeDir, logFile: join(logDir, 'nats-server.log'), detached: opts.detached, startTimeoutMs });
      } else {
        nats = await startNatsServer({ port, storeDir: opts.natsStoreDir });
      }
      started.push(nats);
      natsUrl = nats.url;
    }

    const ports = {
      lineage: await allocatePort(opts.ports?.lineage),
      scheduler: await allocatePort(opts.ports?.scheduler),
      receiver: await allocatePort(opts.ports?.receiver),
    };
    const addr = (port: number) => `127.0.0.1:${port}`;
    const controlPlane: EnvMap = {
      RIVULET_NATS_URL: natsUrl,
      RIVULET_LINEAGE_ADDRESS: addr(ports.lineage),
      RIVULET_SCHEDULER_ADDRESS: addr(ports.scheduler),
      RIVULET_RECEIVER_ADDRESS: addr(ports.receiver),
      RIVULET_BATCH_INTERVAL: `${batch}ms`,
      RIVULET_BLOCK_INTERVAL: `${block}ms`,
      ...(opts.logLevel ? { RIVULET_LOG_LEVEL: opts.logLevel } : {}),
    };
    const envFor = (service: ServiceName, name: string, base: EnvMap): EnvMap => ({
      ...base,
      ...opts.env?.all,
      ...opts.env?.[service],
      ...(name !== service ? opts.env?.[name] : undefined),
    });

    const launch = async (service: ServiceName, name: string, port: number, env: EnvMap): Promise<ServiceProcess> => {
      const proc = await startServiceProcess({
        service,
        name,
        env: { ...envFor(service, name, env), RIVULET_PORT: String(port) },
        address: addr(port),
        logFile: logDir ? join(logDir, `${name}.log`) : undefined,
        detached: opts.detached,
        startTimeoutMs,
      });
      started.push(proc);
      return proc;
    };

    let lineage = await launch('lineage', 'lineage', ports.lineage, controlPlane);
    const schedulerEnv: EnvMap = { ...controlPlane, RIVULET_STATUS_PORT: String(opts.ports?.status ?? 0) };
    let scheduler = await launch('scheduler', 'scheduler', ports.scheduler, schedulerEnv);
    // Read back rather than assumed: the scheduler may have been given another port or host via `env`.
    const statusPage = statusPageUrl(scheduler.recentOutput());

    const executors: ServiceProcess[] = [];
    let nextExecutor = 1;
    const executorEnv = (id: string, extra?: EnvMap): EnvMap => ({
      RIVULET_NATS_URL: natsUrl,
      RIVULET_EXECUTOR_ID: id,
      ...(opts.slots !== undefined ? { RIVULET_SLOTS: String(opts.slots) } : {}),
      ...(opts.logLevel ? { RIVULET_LOG_LEVEL: opts.logLevel } : {}),
      ...extra,
    });
    const startExecutor = async (id: string, extra?: EnvMap) => {
      const proc = await launch('executor', id, await allocatePort(), executorEnv(id, extra));
      executors.push(proc);
      return proc;
    };
    const ids = Array.from({ length: executorCount }, () => `executor-${nextExecutor++}`);
    await Promise.all(ids.map((id) => startExecutor(id)));
    executors.sort((a, b) => ids.indexOf(a.name) - ids.indexOf(b.name));

    let receiver = await launch('receiver', 'receiver', ports.receiver, controlPlane);

    if (opts.waitForExecutors ?? true) await waitForAliveExecutors(scheduler.address, ids, startTimeoutMs);

    let stopped = false;
    /** Stop a control-plane process (if it still runs) and start it again on its port with the same env. */
    const relaunch = async (proc: ServiceProcess, port: number, env: EnvMap): Promise<ServiceProcess> => {
      if (stopped) throw new Error('the cluster is stopped');
      await proc.stop();
      return launch(proc.service, proc.name, port, env);
    };
    const cluster: LocalCluster = {
      natsUrl,
      get lineage() {
        return lineage;
      },
      get scheduler() {
        return scheduler;
      },
      get receiver() {
        return receiver;
      },
      executors,
      logDir,
      nats: nats ? { pid: nats.process.pid!, url: nats.url, storeDir: nats.storeDir } : undefined,
      addresses: () => ({
        receiver: receiver.address,
        scheduler: scheduler.address,
        lineage: lineage.address,
        nats: natsUrl,
        executors: executors.map((e) => e.address),
        statusPage,
      }),
      addExecutor: async (o = {}) => {
        if (stopped) throw new Error('the cluster is stopped');
        let id = o.id;
        if (!id) {
          const taken = new Set(executors.map((e) => e.name));
          while (taken.has(`executor-${nextExecutor}`)) nextExecutor++;
          id = `executor-${nextExecutor++}`;
        }
        const proc = await startExecutor(id, o.env);
        if (opts.waitForExecutors ?? true) await waitForAliveExecutors(scheduler.address, [id], startTimeoutMs);
        return proc;
      },
      restartLineage: async () => (lineage = await relaunch(lineage, ports.lineage, controlPlane)),
      restartScheduler: async () => (scheduler = await relaunch(scheduler, ports.scheduler, schedulerEnv)),
      restartReceiver: async () => (receiver = await relaunch(receiver, ports.receiver, controlPlane)),
      processes: () => [
        ...(nats
          ? [{ name: 'nats-server', kind: 'nats-server' as const, pid: nats.process.pid!, address: nats.url, logFile: logDir && join(logDir, 'nats-server.log') }]
          : []),
        ...[lineage, scheduler, ...executors, receiver].map((p) => ({
          name: p.name,
          kind: p.service,
          pid: p.pid,
          address: p.address,
          logFile: logDir && join(logDir, `${p.name}.log`),
        })),
      ],
      stop: async (graceMs = 5000) => {
        stopped = true;
        // Receiver first (no new blocks), then the executors, scheduler, lineage, NATS last.
        // `started` also holds executors added later, so derive the order explicitly.
        await receiver.stop(graceMs).catch(() => undefined);
        await Promise.all(executors.map((e) => e.stop(graceMs).catch(() => undefined)));
        await scheduler.stop(graceMs).catch(() => undefined);
        await lineage.stop(graceMs).catch(() => undefined);
        await nats?.stop().catch(() => undefined);
        started.length = 0;
      },
    };
    return cluster;
  } catch (e) {
    await stopStarted(1000);
    throw e;
  }
}

/** The URL in the scheduler's `{"msg":"status page","url":…}` output line, if it started its status page. */
export function statusPageUrl(output: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"status page"')) continue;
    try {
      const parsed = JSON.parse(line) as { msg?: string; url?: string };
      if (parsed.msg === 'status page' && typeof parsed.url === 'string') return parsed.url;
    } catch {
      // not a JSON line (or cut at the head of a log tail)
    }
  }
  return undefined;
}

/**
 * Resolve once the scheduler reports every executor in `ids` ALIVE, i.e. their
 * heartbeats arrived over NATS; until then a submitted job could find no slots.
 */
export async function waitForAliveExecutors(schedulerAddress: string, ids: readonly string[], timeoutMs = 20_000): Promise<void> {
  const client = dial.scheduler(schedulerAddress);
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  let lastError = '';
  try {
    for (;;) {
      try {
        const status = await unary(client, client.getStatus, { recentBatches: 0 }, { timeoutMs: 2000 });
        seen = status.executors.filter((e) => e.state === 'ALIVE').map((e) => e.executorId);
        if (ids.every((id) => seen.includes(id))) return;
      } catch (e) {
        lastError = (e as Error).message;
      }
      if (Date.now() > deadline) {
        const missing = ids.filter((id) => !seen.includes(id));
        throw new Error(
          `the scheduler at ${schedulerAddress} did not see ${missing.join(', ')} alive within ${timeoutMs} ms` +
            (lastError ? ` (last error: ${lastError})` : ''),
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}
