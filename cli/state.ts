/**
 * `.rivulet/cluster.json`: what `rivulet up` started in this directory (pids,
 * addresses, log files), so that later commands find the cluster and
 * `rivulet down` can stop it from another process. Also what `down` checks
 * before stopping a recorded pid (lib/process/supervise.ts `stopPid`): that the
 * pid still runs the recorded program (pids get reused), and the stop order.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterProcessInfo } from '../lib/cluster/local-cluster.js';
import { CliError } from './errors.js';

export const STATE_DIR = '.rivulet';

export interface ClusterState {
  version: 1;
  /** `detached`: the processes outlive `rivulet up`; `foreground`: `ownerPid` is the `rivulet up` holding them. */
  mode: 'detached' | 'foreground';
  ownerPid: number;
  startedAtMs: number;
  batchIntervalMs: number;
  blockIntervalMs: number;
  logDir: string;
  /** JetStream store of the nats-server `up` started; removed by `down`. */
  natsStoreDir?: string;
  addresses: { receiver: string; scheduler: string; lineage: string; nats: string; executors: string[]; statusPage?: string };
  /** Started with --insecure: commands here dial without TLS or a token. */
  insecure?: boolean;
  /** In start order. */
  processes: ClusterProcessInfo[];
}

export function statePath(cwd: string): string {
  return join(cwd, STATE_DIR, 'cluster.json');
}

export function readState(cwd: string): ClusterState | undefined {
  const path = statePath(cwd);
  if (!existsSync(path)) return undefined;
  let parsed: ClusterState;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as ClusterState;
  } catch (e) {
    throw new CliError(`${path} is not valid JSON (${(e as Error).message}); remove it if no cluster is running`);
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.processes) || !parsed.addresses) {
    throw new CliError(`${path} is not a Rivulet cluster state file; remove it if no cluster is running`);
  }
  return parsed;
}

export function writeState(cwd: string, state: ClusterState): void {
  mkdirSync(join(cwd, STATE_DIR), { recursive: true });
  const path = statePath(cwd);
  // Write then rename, so a reader never sees half a file.
  writeFileSync(`${path}.tmp`, JSON.stringify(state, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

export function removeState(cwd: string): void {
  rmSync(statePath(cwd), { force: true });
}

/**
 * Does `pid` still run the program recorded for it? Without /proc we cannot
 * tell and trust the record.
 */
export function runsRecordedProgram(info: Pick<ClusterProcessInfo, 'pid' | 'kind'>): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${info.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return !existsSync('/proc/self');
  }
  return info.kind === 'nats-server' ? cmdline.includes('nats-server') : cmdline.includes(`services/${info.kind}/main.js`);
}

/** Reverse start order, but the receiver first: no new blocks while executors go away. */
export function stopOrder(processes: readonly ClusterProcessInfo[]): ClusterProcessInfo[] {
  const rank = (p: ClusterProcessInfo) =>
    ({ receiver: 0, executor: 1, scheduler: 2, lineage: 3, 'nats-server': 4 })[p.kind] ?? 1;
  return [...processes].sort((a, b) => rank(a) - rank(b));
}
