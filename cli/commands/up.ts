/**
 * `rivulet up`: a whole cluster on this machine through lib/cluster/local-cluster.ts
 * (the launcher the tests and benchmarks use), with every process's output in
 * `.rivulet/logs/<name>.log` and the cluster recorded in `.rivulet/cluster.json`
 * so other commands find it.
 *
 * Foreground: the services run in their own process groups, so Ctrl-C reaches
 * only this command, which then stops them in order (receiver first, NATS last).
 * `--detach`: the same processes, left running; `rivulet down` stops them.
 */
import { RivuletClient } from '../../client/index.js';
import { localSecurityDir } from '../../client/credentials.js';
import type { LocalClusterAddresses } from '../../lib/cluster/local-cluster.js';
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative } from 'node:path';
import { formatDuration } from '../../lib/config/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { findNatsServer, NATS_INSTALL_HINT } from '../../lib/process/nats-server.js';
import { isPortFree } from '../../lib/process/ports.js';
import { isPidAlive } from '../../lib/process/supervise.js';
import { parseDurationFlag } from '../args.js';
import { println, type Io } from '../context.js';
import { CliError, FlagError } from '../errors.js';
import { readState, removeState, STATE_DIR, writeState, type ClusterState } from '../state.js';
import type { LocalNatsAccess } from '../../lib/security/local-security.js';
import { natsSourceProducer } from '../../lib/security/nats-permissions.js';

export interface UpFlags {
  executors: number;
  /** Schedulers: one leads, the others stand by (take over when it dies). @default 1 */
  schedulers?: number;
  /** Receivers: producers spread pushes over them and fail over between them. @default 1 */
  receivers?: number;
  batchInterval: string;
  /** Default: derived from the batch interval and the total slots (defaultBlockInterval). */
  blockInterval?: string;
  slots?: number;
  natsUrl?: string;
  detach?: boolean;
  logLevel?: string;
  /** Do not try the default ports 7070-7072 first. */
  randomPorts?: boolean;
  startTimeout?: string;
  /** No TLS and no access control (today's behaviour before security). */
  insecure?: boolean;
  /** `STREAM=subject,STREAM2=subject2`: JetStream source streams (read by executors) and their producer's subjects. */
  jetstreamSources?: string;
}

/**
 * `--jetstream-sources LINES=lines.>,EVENTS=ev.*`: the streams jobs may read
 * (NATS grants executors read, the scheduler their state) and a `producer`
 * NATS user that may create them and publish to those subjects.
 */
export function parseJetStreamSources(value: string | undefined): LocalNatsAccess | undefined {
  if (value === undefined) return undefined;
  const streams: string[] = [];
  const subjects: string[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^([A-Za-z0-9_-]{1,128})=([^\s=,]+)$/.exec(part);
    if (!m) throw new FlagError(`--jetstream-sources must be STREAM=subjects[,STREAM=subjects] (got ${JSON.stringify(part)})`);
    streams.push(m[1]!);
    subjects.push(m[2]!);
  }
  if (streams.length === 0) throw new FlagError('--jetstream-sources must name at least one STREAM=subjects');
  return { sourceStreams: streams, users: [{ name: 'producer', permissions: natsSourceProducer(streams, subjects) }] };
}

/** The services' default ports (and the status page's, Spark's 4040), used when free so that commands run elsewhere find the cluster without flags. */
const DEFAULT_PORTS = { receiver: 7070, scheduler: 7071, lineage: 7072, status: 4040 } as const;

/** The shortest block interval `up` derives: shorter blocks cost more per record (a PutBlock to each replica, a task) than they save. */
export const MIN_DEFAULT_BLOCK_MS = 50;
/** The longest it derives when it can: the receiver's own default. A push is acked once its block is stored, so the block interval is in every push's latency. */
export const MAX_DEFAULT_BLOCK_MS = 200;

/**
 * The block interval when none is given: blocks per batch (batch ÷ block
 * interval) a multiple of the total slots, so each batch's input tasks fill
 * every slot in whole waves — the fewest such blocks whose interval is at
 * most MAX_DEFAULT_BLOCK_MS (one block per slot on a cluster with many
 * slots, several on a small one). Always a whole-ms divisor of the batch
 * interval and at least MIN_DEFAULT_BLOCK_MS. When no multiple fits, the
 * fewest blocks that are at least the slots (and at most 200ms); when none
 * fits either, the most blocks there may be (50ms ones, or the batch interval
 * itself).
 */
export function defaultBlockInterval(batchMs: number, totalSlots: number): number {
  const shortest = Math.min(MIN_DEFAULT_BLOCK_MS, batchMs);
  let atLeastSlots = 0;
  let most = 1;
  for (let n = 1; batchMs / n >= shortest; n++) {
    if (batchMs % n !== 0) continue;
    most = n;
    if (batchMs / n > MAX_DEFAULT_BLOCK_MS) continue;
    if (n % totalSlots === 0) return batchMs / n;
    if (atLeastSlots === 0 && n >= totalSlots) atLeastSlots = n;
  }
  return batchMs / (atLeastSlots || most);
}

const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export async function upCommand(io: Io, flags: UpFlags): Promise<void> {
  const batchMs = parseDurationFlag('--batch-interval', flags.batchInterval);
  if (batchMs < 100 || batchMs > 10_000) throw new FlagError(`--batch-interval must be between 100ms and 10s (got ${formatDuration(batchMs)})`);
  // The executors' own default is the machine's cores (services/executor/config.ts), and they run here.
  const slotsEach = flags.slots ?? availableParallelism();
  const totalSlots = flags.executors * slotsEach;
  const blockMs = flags.blockInterval ? parseDurationFlag('--block-interval', flags.blockInterval) : defaultBlockInterval(batchMs, totalSlots);
  if (blockMs <= 0 || batchMs % blockMs !== 0) {
    throw new FlagError(`--batch-interval ${formatDuration(batchMs)} must be a multiple of --block-interval ${formatDuration(blockMs)}`);
  }
  const natsAccess = parseJetStreamSources(flags.jetstreamSources);
  if (natsAccess && (flags.insecure || flags.natsUrl)) {
    throw new FlagError('--jetstream-sources writes the NATS permissions of the nats-server `up` starts: it needs security on and no --nats-url');
  }
  const startTimeoutMs = flags.startTimeout ? parseDurationFlag('--start-timeout', flags.startTimeout) : 30_000;
  if (flags.logLevel !== undefined && !LOG_LEVELS.includes(flags.logLevel)) {
    throw new FlagError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${flags.logLevel}")`);
  }

  const existing = readState(io.cwd);
  if (existing) {
    const running = existing.processes.filter((p) => isPidAlive(p.pid));
    if (running.length > 0) {
      throw new CliError(
        `a cluster started here is still running (scheduler at ${existing.addresses.scheduler}, ${running.length} processes); stop it with \`rivulet down\``,
      );
    }
    removeState(io.cwd); // stale: every recorded process is gone
  }
  if (!flags.natsUrl && !findNatsServer(io.env)) throw new CliError(`nats-server not found on PATH: ${NATS_INSTALL_HINT}`);

  const stateDir = join(io.cwd, STATE_DIR);
  const logDir = join(stateDir, 'logs');
  const natsStoreDir = flags.natsUrl ? undefined : join(stateDir, 'nats');
  mkdirSync(logDir, { recursive: true });
  // A fresh JetStream store each time: lineage state of a previous cluster's jobs means nothing now.
  if (natsStoreDir) rmSync(natsStoreDir, { recursive: true, force: true });

  // The services try their default ports and take a random one when it is
  // taken (whenPortTaken: 'random', decided at bind time, not probed ahead). The
  // status page is probed: when 4040 is taken by then, the scheduler runs without it.
  const ports: { receiver?: number; scheduler?: number; lineage?: number; status?: number } = {};
  if (!flags.randomPorts) {
    ports.receiver = DEFAULT_PORTS.receiver;
    ports.scheduler = DEFAULT_PORTS.scheduler;
    ports.lineage = DEFAULT_PORTS.lineage;
    if (await isPortFree(DEFAULT_PORTS.status)) ports.status = DEFAULT_PORTS.status;
  }

  println(
    io.stderr,
    `starting ${flags.natsUrl ? '' : 'nats-server, '}lineage, ${(flags.schedulers ?? 1) > 1 ? `${flags.schedulers} schedulers (one leads)` : 'scheduler'}, ${flags.executors} executor(s) and ${(flags.receivers ?? 1) > 1 ? `${flags.receivers} receivers` : 'receiver'} ` +
      `(batch interval ${formatDuration(batchMs)}, block interval ${formatDuration(blockMs)}${flags.blockInterval ? '' : derivedNote(batchMs / blockMs, flags.executors, slotsEach)}; ` +
      `logs in ${relative(io.cwd, logDir) || logDir}/)`,
  );
  let cluster: LocalCluster;
  try {
    cluster = await startLocalCluster({
      executors: flags.executors,
      schedulers: flags.schedulers ?? 1,
      receivers: flags.receivers ?? 1,
      slots: flags.slots,
      batchInterval: batchMs,
      blockInterval: blockMs,
      natsUrl: flags.natsUrl,
      natsStoreDir,
      logDir,
      // Own process groups in both modes: see the module comment.
      detached: true,
      ports,
      whenPortTaken: 'random',
      startTimeoutMs,
      logLevel: flags.logLevel,
      insecure: flags.insecure,
      ...(natsAccess ? { natsAccess } : {}),
      // Kept across runs, so clients that trust this CA keep working.
      securityDir: flags.insecure ? undefined : localSecurityDir(io.cwd),
    });
  } catch (e) {
    throw new CliError(`the cluster did not start: ${(e as Error).message}`, 1, { cause: e });
  }

  const state: ClusterState = {
    version: 1,
    mode: flags.detach ? 'detached' : 'foreground',
    ownerPid: process.pid,
    startedAtMs: Date.now(),
    batchIntervalMs: batchMs,
    blockIntervalMs: blockMs,
    logDir,
    natsStoreDir,
    addresses: addressesOnly(cluster.addresses()),
    insecure: flags.insecure === true,
    processes: cluster.processes(),
  };
  writeState(io.cwd, state);
  printEndpoints(io, state, flags, await statusPageLink(cluster, state));

  if (flags.detach) {
    println(io.stderr, 'running in the background; stop it with `rivulet down` (from this directory)');
    return;
  }
  await runForeground(io, cluster);
}

/** Why the derived block interval is what it is: `= 4 blocks per batch for 2 executors × 2 slots`. */
function derivedNote(blocks: number, executors: number, slotsEach: number): string {
  return ` = ${blocks} blocks per batch for ${executors} executor${executors === 1 ? '' : 's'} × ${slotsEach} slot${slotsEach === 1 ? '' : 's'}`;
}

/**
 * With security on the status page needs a token: a view-only one is made for
 * the link `up` prints (a browser trades it for a cookie on the first visit),
 * so the admin token never ends up in a URL.
 */
async function statusPageLink(cluster: LocalCluster, state: ClusterState): Promise<string | undefined> {
  const page = state.addresses.statusPage;
  if (!page || state.insecure) return page;
  const client = new RivuletClient(cluster.addresses());
  try {
    const { token } = await client.createToken({ user: 'status-page', role: 'view' });
    return `${page}?token=${encodeURIComponent(token)}`;
  } catch {
    return page; // the page still works with a token made later (rivulet token create --role view)
  } finally {
    await client.close();
  }
}

function printEndpoints(io: Io, state: ClusterState, flags: UpFlags, statusLink: string | undefined): void {
  const rows: Array<[string, string]> = [
    [state.addresses.receiver.includes(',') ? 'receivers' : 'receiver', state.addresses.receiver],
    [state.addresses.scheduler.includes(',') ? 'schedulers' : 'scheduler', state.addresses.scheduler],
    ['lineage', state.addresses.lineage],
    ...state.processes
      .filter((p) => p.kind === 'executor')
      .map((p): [string, string] => [p.name, `${p.address}${flags.slots ? `  (${flags.slots} slots)` : ''}`]),
    ['nats', state.addresses.nats + (flags.natsUrl ? '  (external)' : '')],
    ['status page', statusLink ?? `not started (see ${relative(io.cwd, state.logDir) || state.logDir}/scheduler.log)`],
    [
      'security',
      state.insecure
        ? 'OFF (--insecure): plaintext, no access control'
        : `mutual TLS + tokens; CA and admin token in ${relative(io.cwd, localSecurityDir(io.cwd))}/ (commands here use them)`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  println(io.stdout, `Rivulet cluster is up (${state.mode}):`);
  for (const [k, v] of rows) println(io.stdout, `  ${k.padEnd(width)}  ${v}`);
  println(io.stdout, `  ${'logs'.padEnd(width)}  ${relative(io.cwd, state.logDir) || state.logDir}/`);
  println(io.stdout, `next: rivulet submit examples/wordcount.ts`);
}

/** Hold the cluster until Ctrl-C/SIGTERM, or until one of its processes dies on its own. */
async function runForeground(io: Io, cluster: LocalCluster): Promise<void> {
  println(io.stderr, 'press Ctrl-C to stop the cluster');
  const all = [cluster.lineage, ...cluster.schedulers, ...cluster.executors, ...cluster.receivers];
  const reason = await new Promise<{ signal?: string; died?: string }>((resolve) => {
    process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
    process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
    for (const p of all) {
      p.process.once('exit', (code, signal) => resolve({ died: `${p.name} exited (${signal ?? code}); see ${cluster.logDir}/${p.name}.log` }));
    }
    // The children are unref'ed (own process groups); this keeps the command alive.
    setInterval(() => undefined, 1 << 30);
  });
  println(io.stderr, reason.died ? `rivulet up: ${reason.died}; stopping the cluster` : 'stopping the cluster…');
  await cluster.stop();
  removeState(io.cwd);
  if (reason.died) throw new CliError(reason.died);
  println(io.stderr, 'stopped');
}

/** The addresses alone: the state file never holds the admin token (it has its own 0600 file). */
function addressesOnly(a: LocalClusterAddresses): ClusterState['addresses'] {
  return { receiver: a.receiver, scheduler: a.scheduler, lineage: a.lineage, nats: a.nats, executors: a.executors, ...(a.statusPage ? { statusPage: a.statusPage } : {}) };
}
