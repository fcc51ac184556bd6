/**
 * The one launcher of a whole Rivulet cluster on this machine: a nats-server
 * (unless one is given) and every service as its own process — lineage,
 * scheduler, N executors, receiver. `rivulet up`, the integration/e2e tests and
 * the benchmarks all start clusters through here, so they exercise the same
 * wiring a user gets.
 *
 * Ports without races: nats-server, lineage, the scheduler and the executors
 * bind a port of their own choosing (or a requested one) and the address is
 * read back from their output (lib/process/nats-server.ts, service-process.ts),
 * in the order that lets each one's address be passed to the next. Only the
 * receiver's port must be known before it starts, because the scheduler, which
 * starts first, is given it: that port is probed free (`freePort()`), and if it
 * is taken by the time the receiver binds it, the receiver is started again with
 * backoff (`retryWhileAddressInUse`) — as is a control-plane process restarted
 * on its old port (a restarted receiver keeps its address). With `natsServers`
 * > 1 it starts a routed NATS cluster instead of one nats-server
 * (lib/process/nats-cluster.ts) and gives every service all its URLs and
 * `natsReplicas`, so chaos tests can kill NATS servers under a running
 * cluster. This module never
 * decides anything about scheduling or storage: it only starts, waits for and
 * stops processes (through lib/process).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration, parseDuration } from '../config/index.js';
import { ConfigError } from '../errors.js';
import { unary } from '../grpc/client.js';
import { SchedulerEndpoints } from '../grpc/scheduler-endpoints.js';
import { isAddressInUse } from '../process/errors.js';
import { startNatsServer, type NatsServerHandle, type NatsServerOptions } from '../process/nats-server.js';
import { startNatsCluster, type NatsClusterHandle } from '../process/nats-cluster.js';
import { natsClusterConfig } from '../security/nats-permissions.js';
import { freePort, isPortFree, retryWhileAddressInUse } from '../process/ports.js';
import { startServiceProcess, type ServiceName, type ServiceProcess } from './service-process.js';
import { ensureLocalSecurity, type LocalNatsAccess, type LocalSecurity } from '../security/local-security.js';
import { INSECURE_TRANSPORT, type TransportSecurity } from '../security/transport.js';

export type EnvMap = Record<string, string | undefined>;

export interface LocalClusterOptions {
  /** Executors to start, with ids executor-1..N. @default 2 */
  executors?: number;
  /**
   * Schedulers to start: one leads, the others stand by (leader-lease.ts),
   * named scheduler, scheduler-2, ... (their RIVULET_SCHEDULER_ID). Clients
   * are given every address (`addresses().scheduler` lists them). @default 1
   */
  schedulers?: number;
  /**
   * Receivers to start, named receiver, receiver-2, ... (their RIVULET_RECEIVER_ID), each on its own port;
   * the scheduler, executors and clients are given every address (`addresses().receiver` lists them). @default 1
   */
  receivers?: number;
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
  /**
   * Extra node flags per process (e.g. `--cpu-prof`, which NODE_OPTIONS refuses),
   * keyed as `env`: `all`, a service name or an executor id; the most specific key wins.
   */
  nodeArgs?: Record<string, string[]>;
  /** Control-plane ports; 0 or absent picks a free one (`status`: the scheduler's status page). */
  ports?: { receiver?: number; scheduler?: number; lineage?: number; status?: number };
  /**
   * When a port given in `ports` is taken: `retry` starts the process again with
   * backoff until `startTimeoutMs`, then fails; `random` uses a free port instead
   * (`rivulet up`: 7070-7072 when free, else random ones).
   * @default "retry"
   */
  whenPortTaken?: 'retry' | 'random';
  /** Where JetStream stores data when this launcher starts nats-server. @default a temp dir */
  natsStoreDir?: string;
  /**
   * Start a NATS cluster of this many routed nats-servers (lib/process/nats-cluster.ts;
   * routes over mutual TLS with the NATS servers' certificate unless `insecure`)
   * instead of one, and give every service all their URLs (the NATS client
   * fails over between them). 1 = one nats-server. @default 1
   */
  natsServers?: number;
  /** Every service's natsReplicas (RIVULET_NATS_REPLICAS). @default the smaller of natsServers and 3 */
  natsReplicas?: number;
  /** Per-process start deadline. @default 20000 */
  startTimeoutMs?: number;
  /** Also wait until the scheduler sees every executor ALIVE (heartbeats arrived). @default true */
  waitForExecutors?: boolean;
  /** RIVULET_LOG_LEVEL of every service. @default service default (info) */
  logLevel?: string;
  /**
   * Run without TLS and access control (every service with RIVULET_INSECURE).
   * @default false: mutual TLS between services, tokens for clients (lib/security/)
   */
  insecure?: boolean;
  /**
   * Where the CA, the services' certificates and the bootstrap admin token are
   * kept (made when missing, reused when present). @default a new temp dir
   */
  securityDir?: string;
  /**
   * JetStream streams jobs may read as direct sources, and NATS users besides
   * the services (e.g. a producer of those streams), written into the
   * nats-server configuration this launcher makes (security on).
   */
  natsAccess?: LocalNatsAccess;
}

export interface LocalClusterAddresses {
  receiver: string;
  /** The scheduler's address; with several schedulers, every address, comma-separated (clients find the leader). */
  scheduler: string;
  lineage: string;
  nats: string;
  executors: string[];
  /** The scheduler's status page (absent when it could not bind its port). */
  statusPage?: string;
  /** What an admin client dials with (the CA and the bootstrap admin token; insecure with `insecure`). */
  security: TransportSecurity;
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
  /** The cluster's CA, certificates and admin token (absent with `insecure`). */
  readonly security?: LocalSecurity;
  addresses(): LocalClusterAddresses;
  /** The current lineage process (replaced by restartLineage()). */
  readonly lineage: ServiceProcess;
  /** The first scheduler process (replaced by restartScheduler()). */
  readonly scheduler: ServiceProcess;
  /** Every scheduler process, in start order (`schedulers` option); one leads. */
  readonly schedulers: readonly ServiceProcess[];
  /** The current (first) receiver process (replaced by restartReceiver()). */
  readonly receiver: ServiceProcess;
  /** Every receiver process (`receivers` option), in start order. */
  readonly receivers: readonly ServiceProcess[];
  /** Live list: grows with addExecutor(). */
  executors: ServiceProcess[];
  /** The nats-server this launcher started (absent with `natsUrl`); replaced by restartNats(). */
  readonly nats?: { pid: number; url: string; storeDir: string };
  /** The NATS cluster this launcher started with `natsServers` > 1 (kill and restart its servers there). */
  readonly natsCluster?: NatsClusterHandle;
  /** kill -9 the nats-server this launcher started (chaos tests); its JetStream store stays for restartNats(). */
  killNats(): Promise<void>;
  /** Start nats-server again on the same port and the same store (after killNats()), and wait until it is ready. */
  restartNats(): Promise<void>;
  logDir?: string;
  /** Start one more executor (next free id) and wait until it serves (and is seen ALIVE). */
  addExecutor(opts?: { env?: EnvMap; id?: string }): Promise<ServiceProcess>;
  /**
   * Start the receiver again on the same port with the same env (stopping it
   * first if it still runs, e.g. after `receiver.kill()` it does not) and wait
   * until it serves.
   */
  restartReceiver(index?: number): Promise<ServiceProcess>;
  /**
   * Start the scheduler again on the same port with the same env (stopping it
   * first if it still runs) and wait until it serves; it resumes the jobs in
   * its journal.
   */
  restartScheduler(index?: number): Promise<ServiceProcess>;
  /** Start lineage again on the same port with the same env (stopping it first if it still runs); it reloads its KV state. */
  restartLineage(): Promise<ServiceProcess>;
  /** Every process, in start order, for state files and status displays. */
  processes(): ClusterProcessInfo[];
  /** Stop everything this launcher started, in reverse start order. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

/** Ports handed out by this process, so two freePort() calls never collide. */
const handedOut = new Set<number>();

/** A probed port for a process whose address is needed before it starts (see the module doc). */
async function allocatePort(): Promise<number> {
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
  // A temp dir of our own making goes with the cluster; a given one stays (rivulet up reuses it).
  const ownSecurityDir = opts.insecure || opts.securityDir ? undefined : mkdtempSync(join(tmpdir(), 'rivulet-tls-'));
  const security = opts.insecure ? undefined : ensureLocalSecurity(opts.securityDir ?? ownSecurityDir!);
  const securityEnv = (role: ServiceName): EnvMap => (security ? security.env(role) : { RIVULET_INSECURE: 'true' });
  const adminSecurity: TransportSecurity = security ? security.admin() : INSECURE_TRANSPORT;

  // Everything started so far, in order, so a failure half-way stops exactly that.
  const started: Array<{ stop(graceMs?: number): Promise<void> }> = [];
  const stopStarted = async (graceMs?: number) => {
    for (const p of [...started].reverse()) await p.stop(graceMs).catch(() => undefined);
    started.length = 0;
  };

  try {
    let natsUrl = opts.natsUrl;
    let nats: NatsServerHandle | undefined;
    let natsStartOptions: NatsServerOptions | undefined;
    let natsCluster: NatsClusterHandle | undefined;
    const natsServers = opts.natsServers ?? 1;
    if (!Number.isInteger(natsServers) || natsServers < 1) throw new ConfigError(`natsServers must be a positive integer (got ${natsServers})`);
    if (natsServers > 1 && natsUrl) throw new ConfigError('natsServers starts a NATS cluster: it cannot be combined with natsUrl');
    const natsReplicas = opts.natsReplicas ?? Math.min(natsServers, 3);
    if (natsServers > 1) {
      const storeRoot = opts.natsStoreDir ?? mkdtempSync(join(tmpdir(), 'rivulet-nats-'));
      // Insecure clusters still need their cluster block (routes); it goes beside the stores.
      const insecureConfig = (node: Parameters<typeof natsClusterConfig>[0] & { serverName: string }) => {
        const file = join(storeRoot, `${node.serverName}.conf`);
        writeFileSync(file, natsClusterConfig(node));
        return file;
      };
      natsCluster = await startNatsCluster({
        size: natsServers,
        storeRoot,
        removeStoreOnStop: true,
        logDir,
        detached: opts.detached,
        startTimeoutMs,
        tls: !!security,
        configFile: (node) => (security ? security.natsClusterConfigFile(node.serverName, node, opts.natsAccess) : insecureConfig(node)),
      });
      started.push(natsCluster);
      natsUrl = natsCluster.url;
    } else if (!natsUrl) {
      const natsSecurity = security ? { configFile: security.natsConfigFile(opts.natsAccess), tls: true } : {};
      natsStartOptions = logDir
        ? {
            // Its own choice of port (-p -1), read back from its log.
            storeDir: opts.natsStoreDir ?? mkdtempSync(join(tmpdir(), 'rivulet-nats-')),
            removeStoreOnStop: true,
            logFile: join(logDir, 'nats-server.log'),
            detached: opts.detached,
            startTimeoutMs,
            ...natsSecurity,
          }
        : { storeDir: opts.natsStoreDir, startTimeoutMs, ...natsSecurity };
      nats = await startNatsServer(natsStartOptions);
      started.push(nats);
      natsUrl = nats.url;
    }

    const whenTaken = opts.whenPortTaken ?? 'retry';
    // The one port needed before its process starts: the scheduler is given it.
    let receiverPort = opts.ports?.receiver || 0;
    if (!receiverPort || (whenTaken === 'random' && !(await isPortFree(receiverPort)))) receiverPort = await allocatePort();
    const receiverCount = opts.receivers ?? 1;
    if (!Number.isInteger(receiverCount) || receiverCount < 1) throw new ConfigError(`receivers must be a positive integer (got ${receiverCount})`);
    const receiverPorts = [receiverPort];
    for (let i = 1; i < receiverCount; i++) receiverPorts.push(await allocatePort());
    const addr = (port: number) => `127.0.0.1:${port}`;
    const receiverAddresses = receiverPorts.map(addr).join(',');
    const base: EnvMap = {
      RIVULET_NATS_URL: natsUrl,
      RIVULET_NATS_REPLICAS: String(natsReplicas),
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

    const startOn = (service: ServiceName, name: string, port: number, env: EnvMap): Promise<ServiceProcess> =>
      startServiceProcess({
        service,
        name,
        env: { ...securityEnv(service), ...envFor(service, name, env), RIVULET_PORT: String(port) },
        nodeArgs: opts.nodeArgs?.[name] ?? opts.nodeArgs?.[service] ?? opts.nodeArgs?.all,
        logFile: logDir ? join(logDir, `${name}.log`) : undefined,
        detached: opts.detached,
        startTimeoutMs,
      });
    /**
     * Start a service on `port` (0: a port it picks and reports). A taken port is
     * retried with backoff, or with `random` replaced by one the service picks.
     */
    const launch = async (service: ServiceName, name: string, env: EnvMap, port = 0, onTaken: 'retry' | 'random' = 'retry'): Promise<ServiceProcess> => {
      let proc: ServiceProcess;
      if (port === 0) proc = await startOn(service, name, 0, env);
      else if (onTaken === 'random') {
        proc = await startOn(service, name, port, env).catch((e: unknown) => {
          if (isAddressInUse(e)) return startOn(service, name, 0, env);
          throw e;
        });
      } else proc = await retryWhileAddressInUse(() => startOn(service, name, port, env), { timeoutMs: startTimeoutMs });
      started.push(proc);
      return proc;
    };

    const lineageEnv: EnvMap = { ...base };
    let lineage = await launch('lineage', 'lineage', lineageEnv, opts.ports?.lineage, whenTaken);
    const schedulerEnv: EnvMap = {
      ...base,
      RIVULET_LINEAGE_ADDRESS: lineage.address,
      RIVULET_RECEIVER_ADDRESS: receiverAddresses,
      RIVULET_STATUS_PORT: String(opts.ports?.status ?? 0),
    };
    const schedulerCount = opts.schedulers ?? 1;
    if (!Number.isInteger(schedulerCount) || schedulerCount < 1) throw new ConfigError(`schedulers must be a positive integer (got ${schedulerCount})`);
    const schedulerNames = Array.from({ length: schedulerCount }, (_, i) => (i === 0 ? 'scheduler' : `scheduler-${i + 1}`));
    // The first starts (and leads) before the others: they stand by.
    const schedulerEnvs = schedulerNames.map(
      (name, i): EnvMap => ({ ...schedulerEnv, RIVULET_SCHEDULER_ID: name, ...(i > 0 ? { RIVULET_STATUS_PORT: '0' } : {}) }),
    );
    const schedulers: ServiceProcess[] = [await launch('scheduler', 'scheduler', schedulerEnvs[0]!, opts.ports?.scheduler, whenTaken)];
    for (let i = 1; i < schedulerCount; i++) schedulers.push(await launch('scheduler', schedulerNames[i]!, schedulerEnvs[i]!));
    const schedulerList = () => schedulers.map((p) => p.address).join(',');
    // Read back rather than assumed: the scheduler may have been given another port or host via `env`.
    const statusPage = statusPageUrl(schedulers[0]!.recentOutput(256 * 1024));

    const executors: ServiceProcess[] = [];
    let nextExecutor = 1;
    const executorEnv = (id: string, extra?: EnvMap): EnvMap => ({
      RIVULET_NATS_URL: natsUrl,
      RIVULET_NATS_REPLICAS: String(natsReplicas),
      RIVULET_EXECUTOR_ID: id,
      ...(opts.slots !== undefined ? { RIVULET_SLOTS: String(opts.slots) } : {}),
      ...(opts.logLevel ? { RIVULET_LOG_LEVEL: opts.logLevel } : {}),
      ...extra,
    });
    const startExecutor = async (id: string, extra?: EnvMap) => {
      const proc = await launch('executor', id, executorEnv(id, extra));
      executors.push(proc);
      return proc;
    };
    const ids = Array.from({ length: executorCount }, () => `executor-${nextExecutor++}`);
    await Promise.all(ids.map((id) => startExecutor(id)));
    executors.sort((a, b) => ids.indexOf(a.name) - ids.indexOf(b.name));

    const receiverNames = receiverPorts.map((_, i) => (i === 0 ? 'receiver' : `receiver-${i + 1}`));
    const receiverEnvs = receiverPorts.map(
      (port, i): EnvMap => ({
        ...base,
        RIVULET_LINEAGE_ADDRESS: lineage.address,
        RIVULET_SCHEDULER_ADDRESS: schedulerList(),
        RIVULET_RECEIVER_ADDRESS: addr(port),
        RIVULET_RECEIVER_ID: receiverNames[i]!,
      }),
    );
    const receivers: ServiceProcess[] = [];
    for (let i = 0; i < receiverCount; i++) receivers.push(await launch('receiver', receiverNames[i]!, receiverEnvs[i]!, receiverPorts[i]));
    const receiverList = () => receivers.map((p) => p.address).join(',');

    if (opts.waitForExecutors ?? true) await waitForAliveExecutors(schedulerList(), ids, startTimeoutMs, adminSecurity);

    let stopped = false;
    /**
     * Stop a control-plane process (if it still runs) and start it again on its
     * port with the same env: the others know it by that address. Right after a
     * kill -9 the port may not be free yet, hence launch's retry with backoff.
     */
    const relaunch = async (proc: ServiceProcess, env: EnvMap): Promise<ServiceProcess> => {
      if (stopped) throw new Error('the cluster is stopped');
      await proc.stop();
      return launch(proc.service, proc.name, env, portOf(proc.address), 'retry');
    };
    const cluster: LocalCluster = {
      natsUrl,
      security,
      get lineage() {
        return lineage;
      },
      get scheduler() {
        return schedulers[0]!;
      },
      schedulers,
      get receiver() {
        return receivers[0]!;
      },
      receivers,
      executors,
      logDir,
      get nats() {
        return nats ? { pid: nats.pid, url: nats.url, storeDir: nats.storeDir } : undefined;
      },
      natsCluster,
      killNats: async () => {
        if (natsCluster) throw new Error('this cluster runs on a NATS cluster: kill one of its servers with natsCluster.kill(i)');
        if (!nats) throw new Error('this cluster runs on an external NATS server');
        await nats.kill();
      },
      restartNats: async () => {
        if (natsCluster) throw new Error('this cluster runs on a NATS cluster: restart one of its servers with natsCluster.restart(i)');
        if (!nats || !natsStartOptions) throw new Error('this cluster runs on an external NATS server');
        if (stopped) throw new Error('the cluster is stopped');
        const old = nats;
        await old.kill();
        // Same port (clients reconnect to the URL they know), same store; removed on stop as the first one would have been.
        const removeStoreOnStop = natsStartOptions.removeStoreOnStop ?? !natsStartOptions.storeDir;
        nats = await retryWhileAddressInUse(
          () => startNatsServer({ ...natsStartOptions, port: old.port, storeDir: old.storeDir, removeStoreOnStop }),
          { timeoutMs: startTimeoutMs },
        );
      },
      addresses: () => ({
        receiver: receiverList(),
        scheduler: schedulerList(),
        lineage: lineage.address,
        nats: natsUrl,
        executors: executors.map((e) => e.address),
        statusPage,
        security: adminSecurity,
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
        if (opts.waitForExecutors ?? true) await waitForAliveExecutors(schedulerList(), [id], startTimeoutMs, adminSecurity);
        return proc;
      },
      restartLineage: async () => (lineage = await relaunch(lineage, lineageEnv)),
      restartScheduler: async (index = 0) => {
        const old = schedulers[index];
        if (!old) throw new Error(`no scheduler ${index} (the cluster runs ${schedulers.length})`);
        return (schedulers[index] = await relaunch(old, schedulerEnvs[index]!));
      },
      restartReceiver: async (index = 0) => {
        const old = receivers[index];
        if (!old) throw new Error(`no receiver ${index} (the cluster runs ${receivers.length})`);
        return (receivers[index] = await relaunch(old, receiverEnvs[index]!));
      },
      processes: () => [
        ...(nats
          ? [{ name: 'nats-server', kind: 'nats-server' as const, pid: nats.pid, address: nats.url, logFile: logDir && join(logDir, 'nats-server.log') }]
          : []),
        ...(natsCluster?.processes().map((p) => ({ name: p.name, kind: 'nats-server' as const, pid: p.pid, address: p.url, logFile: p.logFile })) ?? []),
        ...[lineage, ...schedulers, ...executors, ...receivers].map((p) => ({
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
        await Promise.all(receivers.map((p) => p.stop(graceMs).catch(() => undefined)));
        await Promise.all(executors.map((e) => e.stop(graceMs).catch(() => undefined)));
        await Promise.all(schedulers.map((p) => p.stop(graceMs).catch(() => undefined)));
        await lineage.stop(graceMs).catch(() => undefined);
        await nats?.stop().catch(() => undefined);
        await natsCluster?.stop().catch(() => undefined);
        started.length = 0;
        if (ownSecurityDir) rmSync(ownSecurityDir, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (e) {
    await stopStarted(1000);
    throw e;
  }
}

/** The port of a `host:port` address. */
function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in address ${address}`);
  return port;
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
export async function waitForAliveExecutors(
  schedulerAddress: string,
  ids: readonly string[],
  timeoutMs = 20_000,
  security: TransportSecurity = INSECURE_TRANSPORT,
): Promise<void> {
  // One address, or several of which one leads (the status comes from the leader).
  const schedulers = new SchedulerEndpoints(schedulerAddress, { security });
  const deadline = Date.now() + timeoutMs;
  let seen: string[] = [];
  let lastError = '';
  try {
    for (;;) {
      try {
        const status = await schedulers.call((client) => unary(client, client.getStatus, { recentBatches: 0 }, { timeoutMs: 2000 }), { idempotent: true });
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
    schedulers.close();
  }
}
