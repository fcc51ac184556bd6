/**
 * `rivulet up` and `rivulet down` as a user runs them (`node bin/rivulet.js`,
 * real nats-server and services from dist/, a temporary working directory):
 * - in the foreground, the default ports 7070/7071/7072 when free and a random
 *   one for a port that is taken, and Ctrl-C (SIGINT to `rivulet up`) stopping
 *   every process it started;
 * - `rivulet down --grace`: SIGTERM, then SIGKILL once the grace has passed,
 *   for a process that does not stop on SIGTERM (here: a SIGSTOPped executor);
 * - `rivulet up --schedulers 2`: `rivulet status` names the leader, and after
 *   a kill -9 of it, the other (the CLI finds it among the addresses it has).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../cli/state.js';
import { isPidAlive } from '../../lib/process/supervise.js';
import { waitFor } from '../helpers/wait.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'bin/rivulet.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_') || k === 'RIVULET_NATS_SERVER_BIN'));

function rivulet(cwd: string, args: string[], timeoutMs = 90_000): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

function readState(cwd: string): ClusterState | undefined {
  const path = join(cwd, '.rivulet/cluster.json');
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as ClusterState) : undefined;
}

describe('rivulet up / down', () => {
  const cleanup: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  }, 60_000);

  /** Leave nothing running, whatever the test did. */
  function guard(cwd: string, up?: ChildProcess): void {
    cleanup.push(() => rmSync(cwd, { recursive: true, force: true }));
    cleanup.push(() => {
      if (up && up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
      const state = readState(cwd);
      if (state) for (const p of state.processes) if (isPidAlive(p.pid)) process.kill(p.pid, 'SIGKILL');
    });
  }

  it('foreground: default ports when free, a random one for a taken port; Ctrl-C stops everything', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rivulet-up-fg-'));
    // Take the receiver's default port; the scheduler's and lineage's stay as we find them.
    const blocker = await listen(7070);
    if (blocker) cleanup.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const free = { scheduler: await listen(7071), lineage: await listen(7072) };
    for (const s of Object.values(free)) if (s) await new Promise<void>((r) => s.close(() => r()));

    const up = spawn(process.execPath, [bin, 'up', '--executors', '1', '--batch-interval', '500ms'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    guard(cwd, up);
    let stdout = '';
    let stderr = '';
    up.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    up.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));

    await waitFor(() => stdout.includes('next: rivulet submit') || up.exitCode !== null, 'rivulet up printed its endpoints', { timeoutMs: 90_000 });
    expect(up.exitCode, stderr).toBeNull();
    const state = readState(cwd)!;
    expect(state.mode).toBe('foreground');
    expect(state.ownerPid).toBe(up.pid);
    for (const a of [state.addresses.receiver, state.addresses.scheduler, state.addresses.lineage]) expect(stdout).toContain(a);
    // The receiver's default port was taken: a random one, not 7070.
    expect(portOf(state.addresses.receiver)).not.toBe(7070);
    expect(portOf(state.addresses.receiver)).toBeGreaterThan(0);
    if (free.scheduler) expect(state.addresses.scheduler).toBe('127.0.0.1:7071');
    else expect(portOf(state.addresses.scheduler)).not.toBe(7071);
    if (free.lineage) expect(state.addresses.lineage).toBe('127.0.0.1:7072');
    else expect(portOf(state.addresses.lineage)).not.toBe(7072);
    // Bound on loopback only.
    for (const a of [state.addresses.receiver, state.addresses.scheduler, state.addresses.lineage]) expect(a).toMatch(/^127\.0\.0\.1:\d+$/);

    const pids = state.processes.map((p) => p.pid);
    expect(state.processes.map((p) => p.kind).sort()).toEqual(['executor', 'lineage', 'nats-server', 'receiver', 'scheduler']);
    expect(pids.every(isPidAlive)).toBe(true);
    // The cluster works: status answers through the recorded addresses.
    const status = await rivulet(cwd, ['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { executors: Array<{ state: string }> }).executors.map((e) => e.state)).toEqual(['ALIVE']);

    // Ctrl-C in a terminal sends SIGINT to the foreground process group; the
    // services run in their own groups, so only `rivulet up` gets it.
    up.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/stopping the cluster…\nstopped\n/);
    expect(pids.filter(isPidAlive)).toEqual([]);
    expect(existsSync(join(cwd, '.rivulet/cluster.json'))).toBe(false);
  }, 150_000);

  it('down --grace: SIGTERM, then SIGKILL after the grace for a process that does not stop', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rivulet-up-grace-'));
    guard(cwd);
    const up = await rivulet(cwd, ['up', '--detach', '--executors', '1', '--batch-interval', '500ms', '--random-ports']);
    expect(up.code, up.stderr).toBe(0);
    const state = readState(cwd)!;
    const executor = state.processes.find((p) => p.kind === 'executor')!;
    // A stopped process cannot act on SIGTERM; only SIGKILL ends it.
    process.kill(executor.pid, 'SIGSTOP');
    cleanup.push(() => {
      if (isPidAlive(executor.pid)) process.kill(executor.pid, 'SIGKILL');
    });

    const down = await rivulet(cwd, ['down', '--grace', '1500ms']);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`executor-1 (pid ${executor.pid}) killed`);
    for (const p of state.processes.filter((x) => x !== executor)) expect(down.stdout).toContain(`${p.name} (pid ${p.pid}) terminated`);
    // It waited the grace, and not the 5 s default.
    expect(down.ms).toBeGreaterThanOrEqual(1500);
    expect(down.ms).toBeLessThan(5000);
    expect(state.processes.map((p) => p.pid).filter(isPidAlive)).toEqual([]);
    expect(existsSync(join(cwd, '.rivulet/cluster.json'))).toBe(false);
  }, 150_000);

  it('--schedulers 2 --receivers 2: both receivers run and report; status names the leader; after kill -9 of it the standby leads and the CLI finds it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rivulet-up-ha-'));
    guard(cwd);
    const up = await rivulet(cwd, ['up', '--detach', '--schedulers', '2', '--receivers', '2', '--executors', '1', '--batch-interval', '500ms', '--random-ports']);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/schedulers +127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/);
    const state = readState(cwd)!;
    const schedulers = state.processes.filter((p) => p.kind === 'scheduler');
    expect(schedulers.map((p) => p.name)).toEqual(['scheduler', 'scheduler-2']);
    expect(up.stdout).toMatch(/receivers +127\.0\.0\.1:\d+,127\.0\.0\.1:\d+/);
    expect(state.processes.filter((p) => p.kind === 'receiver').map((p) => p.name)).toEqual(['receiver', 'receiver-2']);
    // The scheduler hears both (their heartbeats): status lists them.
    await waitFor(async () => /receiver-2/.test((await rivulet(cwd, ['status'])).stdout), 'status listing receiver-2', { timeoutMs: 15_000, intervalMs: 250 });
    const first = await rivulet(cwd, ['status']);
    expect(first.code, first.stderr).toBe(0);
    const leader = /leader: scheduler (\S+) at/.exec(first.stdout)?.[1];
    expect(leader, first.stdout).toBeDefined();
    process.kill(schedulers.find((p) => p.name === leader)!.pid, 'SIGKILL');
    const other = schedulers.find((p) => p.name !== leader)!.name;
    await waitFor(async () => (await rivulet(cwd, ['status'])).stdout.includes(`leader: scheduler ${other} at`), `${other} leads`, {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const down = await rivulet(cwd, ['down', '--grace', '2s']);
    expect(down.code, down.stderr).toBe(0);
  }, 150_000);
});
