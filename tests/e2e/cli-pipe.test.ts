/**
 * The `rivulet` command as a real process whose output goes to another
 * program through a pipe: a large `status --json` is delivered whole (the
 * process used to exit before stdout drained, cutting it at the pipe's
 * 128 KiB), and bad flags are one line naming the flag with exit code 2.
 * The scheduler here is a stand-in gRPC server answering GetStatus with a
 * large status, so the status is big without running hundreds of jobs; the
 * CLI, the pipe and the reading program are real processes.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { ClusterStatus } from '../../lib/proto/gen/rivulet/v1/ClusterStatus.js';

const bin = fileURLToPath(new URL('../../bin/rivulet.js', import.meta.url));

function run(command: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    // The fake scheduler here is a plaintext in-process server.
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RIVULET_INSECURE: 'true' } });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

describe('rivulet output through a pipe', () => {
  let server: StartedServer;
  const status: ClusterStatus = {
    batchIntervalMs: 1000,
    executors: [],
    jobs: Array.from({ length: 400 }, (_, i) => ({
      jobId: `job-${i}`,
      name: `job number ${i} ` + 'n'.repeat(1500),
      state: 'RUNNING',
      streams: ['lines'],
      outputs: ['counts'],
      submittedAtMs: 1_700_000_000_000 + i,
      batchesCompleted: i,
      recordsProcessed: i * 10,
    })),
  };

  beforeAll(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 16 * 1024 * 1024 }, (s) =>
      s.addService(rivuletV1.Scheduler.service, {
        GetStatus: (_call: unknown, cb: (err: null, res: ClusterStatus) => void) => cb(null, status),
      }),
    );
    server.health.set('SERVING');
  });
  afterAll(async () => server?.shutdown(100));

  it('a large `status --json` piped to head -c 1000000 is complete', async () => {
    const r = await run(`node ${bin} status --json --scheduler ${server.address} | head -c 1000000`);
    expect(r.stderr).toBe('');
    expect(r.stdout.length).toBeGreaterThan(131_072 * 4);
    expect(r.stdout.length).toBeLessThan(1_000_000);
    const parsed = JSON.parse(r.stdout.toString()) as { jobs: Array<{ jobId: string }> };
    expect(parsed.jobs).toHaveLength(400);
    expect(parsed.jobs[399]!.jobId).toBe('job-399');
  }, 30_000);

  it('a reader that stops early does not make the command fail loudly', async () => {
    const r = await run(`node ${bin} status --json --scheduler ${server.address} | head -c 10`);
    expect(r.stdout.length).toBe(10);
    expect(r.stderr).toBe('');
  }, 30_000);

  it('a bad flag is one line naming it, exit 2', async () => {
    const bad = await run(`node ${bin} status --batches lots --scheduler ${server.address}`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('rivulet status: --batches must be a positive integer (got "lots")\n');
    const unknown = await run(`node ${bin} status --colour`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toBe("rivulet status: unknown option '--colour' (run `rivulet status --help` for usage)\n");
  }, 30_000);
});
