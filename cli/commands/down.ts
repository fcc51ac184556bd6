/**
 * `rivulet down`: stop the cluster recorded in .rivulet/cluster.json —
 * SIGTERM, then SIGKILL after the grace period — and remove the state (logs
 * stay for post-mortems). Only recorded pids that still run the recorded
 * program are signalled. A foreground `rivulet up` is asked to stop its own
 * cluster, so its services are stopped in order by their owner.
 */
import { readFileSync, rmSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { println, type Io } from '../context.js';
import { isPidAlive, stopPid } from '../../lib/process/supervise.js';
import { readState, removeState, runsRecordedProgram, STATE_DIR, stopOrder } from '../state.js';

export interface DownFlags {
  /** Grace before SIGKILL, ms. @default 5000 */
  graceMs?: number;
}

function ownerIsRivuletUp(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('rivulet');
  } catch {
    return true;
  }
}

export async function downCommand(io: Io, flags: DownFlags): Promise<void> {
  const graceMs = flags.graceMs ?? 5000;
  const state = readState(io.cwd);
  if (!state) {
    println(io.stderr, `no cluster recorded in ${STATE_DIR}/cluster.json here: nothing to stop`);
    return;
  }
  if (state.mode === 'foreground' && state.ownerPid !== process.pid && isPidAlive(state.ownerPid) && ownerIsRivuletUp(state.ownerPid)) {
    println(io.stderr, `asking rivulet up (pid ${state.ownerPid}) to stop its cluster`);
    await stopPid(state.ownerPid, graceMs * 2);
  }
  const results: string[] = [];
  let skipped = 0;
  for (const p of stopOrder(state.processes)) {
    if (!isPidAlive(p.pid)) continue;
    if (!runsRecordedProgram(p)) {
      // The pid was reused by something else since `up`: never signal it.
      skipped++;
      continue;
    }
    const how = await stopPid(p.pid, graceMs);
    results.push(`${p.name} (pid ${p.pid}) ${how}`);
  }
  // Only a store `up` created inside .rivulet/ is ours to delete.
  if (state.natsStoreDir && resolve(state.natsStoreDir).startsWith(resolve(io.cwd, STATE_DIR) + sep)) {
    rmSync(state.natsStoreDir, { recursive: true, force: true });
  }
  removeState(io.cwd);
  println(io.stdout, results.length > 0 ? `stopped ${results.length} process(es): ${results.join(', ')}` : 'every recorded process had already exited');
  if (skipped > 0) println(io.stderr, `left ${skipped} recorded pid(s) alone: they now run other programs`);
}
