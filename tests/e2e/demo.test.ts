/**
 * `npm run demo` (scripts/demo.sh), the README's first command, run as it is:
 * with node_modules and nats-server present it installs nothing, builds,
 * starts a detached cluster, submits the word count, pushes the sample text,
 * shows counts and the status, and stops everything. Its cluster state goes to
 * a temporary directory (RIVULET_DEMO_DIR), so a cluster a developer runs in
 * the repository is left alone.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findNatsServer } from '../../lib/process/nats-server.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run demo', () => {
  const work = mkdtempSync(join(tmpdir(), 'rivulet-demo-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('builds, runs the word count on a local cluster, shows counts and status, and stops everything', async () => {
    expect(findNatsServer(process.env), 'nats-server on PATH (else the demo would apt-get it)').toBeDefined();
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_') || k === 'RIVULET_NATS_SERVER_BIN')),
      RIVULET_DEMO_DIR: work,
    };
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile('npm', ['run', '--silent', 'demo'], { cwd: repo, env, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, out: `${stdout}\n--- stderr ---\n${stderr}` });
      });
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/installing/); // nothing was missing
    expect(r.out).toMatch(/Rivulet cluster is up \(detached\)/);
    const job = /job id: (\S+)/.exec(r.out)?.[1];
    expect(job, r.out).toBeDefined();
    // Three non-empty batches of counts of the sample text, then the status.
    const counts = r.out.split('\n').filter((l) => /^\d{4}-\d\d-\d\dT\S+Z {2}\d+ records? {2}/.test(l));
    expect(counts, r.out).toHaveLength(3);
    for (const line of counts) expect(line).toMatch(/\bthe=\d+/);
    expect(r.out).toContain('EXECUTORS');
    expect(r.out).toContain(job!);
    // Everything stopped: six processes, and the state is gone (the logs stay).
    expect(r.out).toMatch(/stopped 6 process\(es\)/);
    expect(r.out).not.toMatch(/\bkilled\b/);
    expect(existsSync(join(work, '.rivulet/cluster.json'))).toBe(false);
    expect(readdirSync(join(work, '.rivulet/logs'))).toContain('scheduler.log');
  }, 300_000);
});
