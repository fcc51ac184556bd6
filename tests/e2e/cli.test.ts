/**
 * The `rivulet` command as a user runs it: the real `node bin/rivulet.js` in a
 * subprocess (needs `npm run build`, which `npm test` does first), a detached
 * cluster in a temporary working directory, and every entry point — up, submit,
 * push, tail, status, down — including the bad inputs that must end in one
 * clear line and exit code 1.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../cli/state.js';
import { isPidAlive as isAlive } from '../../lib/process/supervise.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'bin/rivulet.js');
const wordcount = join(repo, 'examples/wordcount.ts');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Only what the CLI needs: no inherited RIVULET_* address would redirect it.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_') || k === 'RIVULET_NATS_SERVER_BIN'));

function rivulet(cwd: string, args: string[], timeoutMs = 60_000, extraEnv: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...env, ...extraEnv }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** backpressureInitialRate of the cluster: far above what the pushes below need, so it slows nothing. */
const INITIAL_RATE = 200_000;

const VOCABULARY = ['river', 'stream', 'batch', 'block', 'spark', 'lineage', 'slot', 'shuffle', 'ack'];
const LINES = 5000;

function makeInput(): { text: string; counts: Map<string, number> } {
  const counts = new Map<string, number>();
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const words: string[] = [];
    for (let k = 0; k <= i % 5; k++) words.push(VOCABULARY[(i * 31 + k * 7) % VOCABULARY.length]!);
    // Irregular whitespace on purpose: the job splits on /\s+/.
    lines.push(i % 7 === 0 ? `  ${words.join('\t')} ` : words.join(' '));
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return { text: lines.join('\n') + '\n', counts };
}

describe('rivulet CLI against a detached local cluster', () => {
  let cwd: string;
  let state: ClusterState | undefined;
  let jobId = '';

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'rivulet-cli-e2e-'));
    // `up` passes its environment to every service: the scheduler caps a new job's streams at this rate until it is measured.
    const up = await rivulet(cwd, ['up', '--detach', '--executors', '2', '--batch-interval', '500ms', '--random-ports'], 120_000, {
      RIVULET_BACKPRESSURE_INITIAL_RATE: String(INITIAL_RATE),
    });
    if (existsSync(join(cwd, '.rivulet/cluster.json'))) state = JSON.parse(readFileSync(join(cwd, '.rivulet/cluster.json'), 'utf8')) as ClusterState;
    expect(up.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(up.code, up.stderr).toBe(0);
    for (const name of ['receiver', 'scheduler', 'lineage', 'executor-1', 'executor-2', 'nats']) expect(up.stdout).toContain(name);
  }, 150_000);

  afterAll(async () => {
    // Whatever happened above, leave no process behind.
    if (state && existsSync(join(cwd, '.rivulet/cluster.json'))) await rivulet(cwd, ['down']);
    rmSync(cwd, { recursive: true, force: true });
  }, 60_000);

  it('submits the word count and prints its job id', async () => {
    const r = await rivulet(cwd, ['submit', wordcount]);
    expect(r.code, r.stderr).toBe(0);
    jobId = r.stdout.trim();
    expect(jobId).toMatch(/^\S+$/);
    expect(r.stderr).toContain('lines');
    expect(r.stderr).toContain('counts');
  });

  it('status shows the job\'s stream at backpressure\'s initial rate until the job is measured', async () => {
    expect(jobId).not.toBe('');
    // Nothing is pushed yet, so no batch with records has completed: the limit is the initial rate.
    const json = await rivulet(cwd, ['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const status = JSON.parse(json.stdout) as { backpressure: boolean; rateLimits: Array<{ stream: string; recordsPerSecond: number }> };
    expect(status.backpressure).toBe(true);
    expect(status.rateLimits).toEqual([{ stream: 'lines', recordsPerSecond: INITIAL_RATE }]);
    const human = await rivulet(cwd, ['status']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('RATE LIMITS');
    expect(human.stdout).toMatch(new RegExp(`^  lines +${INITIAL_RATE} records/s +${jobId}$`, 'm'));
  });

  it('pushes a file, tails the counts, and they sum to the reference', async () => {
    expect(jobId).not.toBe('');
    const { text, counts } = makeInput();
    const file = join(cwd, 'input.txt');
    writeFileSync(file, text);

    const push = await rivulet(cwd, ['push', 'lines', '--file', file]);
    expect(push.code, push.stderr).toBe(0);
    expect(Number(push.stdout.trim())).toBe(LINES);

    // Wait until the scheduler has processed every pushed record, then replay exactly the batches so far.
    let batches: number;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const s = await rivulet(cwd, ['status', '--json']);
      expect(s.code, s.stderr).toBe(0);
      const job = (
        JSON.parse(s.stdout) as { jobs: Array<{ jobId: string; state: string; error: string; recordsProcessed: number; batchesCompleted: number }> }
      ).jobs.find((j) => j.jobId === jobId);
      expect(job).toBeDefined();
      expect(job!.state, `job error: ${job!.error}`).toBe('RUNNING');
      if (job!.recordsProcessed >= LINES) {
        expect(job!.recordsProcessed).toBe(LINES);
        batches = job!.batchesCompleted;
        break;
      }
      expect(Date.now(), 'every pushed record processed within 60 s').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 250));
    }
    // The scheduler retains 100 batches per output by default; this test stays well within that.
    expect(batches).toBeLessThanOrEqual(100);

    const tail = await rivulet(cwd, ['tail', jobId, '--output', 'counts', '--json', '--batches', String(batches), '--from-beginning']);
    expect(tail.code, tail.stderr).toBe(0);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(batches);
    const summed = new Map<string, number>();
    let lastBatch = -Infinity;
    for (const line of lines) {
      expect(line).toMatch(/^\{"batchTime":\d+,"records":\[.*\]\}$/);
      const parsed = JSON.parse(line) as { batchTime: number; records: Array<[string, number]> };
      expect(parsed.batchTime).toBeGreaterThan(lastBatch);
      lastBatch = parsed.batchTime;
      for (const [word, n] of parsed.records) summed.set(word, (summed.get(word) ?? 0) + n);
    }
    expect(Object.fromEntries([...summed].sort())).toEqual(Object.fromEntries([...counts].sort()));
  }, 120_000);

  it('status --json shows 2 alive executors and the job', async () => {
    const r = await rivulet(cwd, ['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const status = JSON.parse(r.stdout) as { executors: Array<{ executorId: string; state: string }>; jobs: Array<{ jobId: string; state: string }> };
    expect(status.executors.filter((e) => e.state === 'ALIVE').map((e) => e.executorId).sort()).toEqual(['executor-1', 'executor-2']);
    expect(status.jobs.find((j) => j.jobId === jobId)?.state).toBe('RUNNING');
    const human = await rivulet(cwd, ['status']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('EXECUTORS');
    expect(human.stdout).toContain(jobId);
    // The stream's rate limit: the initial rate, or the rate controller's estimate once two batches with records completed.
    expect(human.stdout).toMatch(new RegExp(`^  lines +\\d+ records/s +${jobId}$`, 'm'));
  });

  it('a job importing a local helper module gets it bundled by submit and runs', async () => {
    const dir = join(cwd, 'shout-job');
    mkdirSync(dir);
    writeFileSync(join(dir, 'shout.ts'), "export function shout(s: string): string {\n  return s.toUpperCase() + '!';\n}\n");
    writeFileSync(
      join(dir, 'job.ts'),
      "import { defineJob } from 'rivulet';\nimport { shout } from './shout';\n\n" +
        "export default defineJob((ctx) => {\n  ctx.receiverStream<string>('shouts').map(shout).output('loud');\n});\n",
    );
    const submit = await rivulet(cwd, ['submit', join(dir, 'job.ts')]);
    expect(submit.code, submit.stderr).toBe(0);
    const shoutJob = submit.stdout.trim();
    // The helper travels in the bundle: the cluster never reads it from disk.
    rmSync(dir, { recursive: true });

    const tail = rivulet(cwd, ['tail', shoutJob, '--output', 'loud', '--json', '--non-empty', '--batches', '1', '--from-beginning']);
    const file = join(cwd, 'shouts.txt');
    writeFileSync(file, 'hello\nbundled world\n');
    const push = await rivulet(cwd, ['push', 'shouts', '--file', file]);
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout.trim()).toBe('2');
    const out = await tail;
    expect(out.code, out.stderr).toBe(0);
    const batch = JSON.parse(out.stdout.trim()) as { records: string[] };
    expect(batch.records).toEqual(['HELLO!', 'BUNDLED WORLD!']);
  }, 60_000);

  it('a job with a syntax error: exit 1 and file:line', async () => {
    const bad = join(cwd, 'broken-job.ts');
    writeFileSync(bad, "import { defineJob } from 'rivulet';\n\nexport default defineJob((ctx) => {\n  ctx.receiverStream('lines').map((x => x;\n});\n");
    const r = await rivulet(cwd, ['submit', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^rivulet submit: .*broken-job\.ts:4:\d+: /);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('tail of an unknown job id: exit 1 and NOT_FOUND', async () => {
    const r = await rivulet(cwd, ['tail', 'job-does-not-exist', '--output', 'counts', '--batches', '1'], 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rivulet tail: NOT_FOUND: .*job-does-not-exist/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('push to a stream no job reads: exit 1 and FAILED_PRECONDITION', async () => {
    const file = join(cwd, 'two-lines.txt');
    writeFileSync(file, 'a b\nc d\n');
    const r = await rivulet(cwd, ['push', 'nobody-reads-this', '--file', file], 20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rivulet push: FAILED_PRECONDITION: .*nobody-reads-this/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('an unreachable scheduler: exit 1 and the "is the cluster up?" hint', async () => {
    const r = await rivulet(cwd, ['status', '--scheduler', '127.0.0.1:1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('rivulet status: cannot reach the scheduler at 127.0.0.1:1: is the cluster up? (rivulet up)');
  });

  it('down stops every process and removes the state', async () => {
    expect(state).toBeDefined();
    const pids = state!.processes.map((p) => p.pid);
    expect(pids.length).toBe(6); // nats-server, lineage, scheduler, 2 executors, receiver
    expect(pids.every((pid) => isAlive(pid))).toBe(true);
    const r = await rivulet(cwd, ['down']);
    expect(r.code, r.stderr).toBe(0);
    expect(pids.filter((pid) => isAlive(pid))).toEqual([]);
    expect(existsSync(join(cwd, '.rivulet/cluster.json'))).toBe(false);
  }, 60_000);
});
