/**
 * The CLI's pure parts: where it finds the cluster, what `tail` and
 * `status` print, and the one-line error messages.
 */
import { Readable } from 'node:stream';
import { status as Status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ConnectionError, type ClusterStatus } from '../../client/index.js';
import { parsePositiveInt, resolveAddresses } from '../../cli/args.js';
import { defaultBlockInterval } from '../../cli/commands/up.js';
import { CliError } from '../../cli/errors.js';
import { formatErrorLine, formatStatus, formatTailHuman, formatTailJson, oneLine } from '../../cli/format.js';
import { readLines } from '../../cli/lines.js';
import { main } from '../../cli/main.js';
import { stopOrder } from '../../cli/state.js';
import { JobDefinitionError } from '../../lib/dstream/errors.js';
import { NotFoundError, UnavailableError } from '../../lib/errors.js';

describe('address resolution', () => {
  const state = { scheduler: '10.0.0.3:9001', receiver: '10.0.0.3:9000' };
  const env = { RIVULET_SCHEDULER_ADDRESS: 'env-s:1', RIVULET_RECEIVER_ADDRESS: 'env-r:2' };

  it('prefers the flag over env, state and default', () => {
    const r = resolveAddresses({ flags: { scheduler: 'flag-s:7', receiver: 'flag-r:8' }, env, state });
    expect(r.scheduler).toEqual({ address: 'flag-s:7', source: 'flag' });
    expect(r.receiver).toEqual({ address: 'flag-r:8', source: 'flag' });
  });

  it('uses env over the state file', () => {
    const r = resolveAddresses({ flags: {}, env, state });
    expect(r.scheduler).toEqual({ address: 'env-s:1', source: 'env' });
    expect(r.receiver).toEqual({ address: 'env-r:2', source: 'env' });
  });

  it('uses the state file over the defaults', () => {
    const r = resolveAddresses({ flags: {}, env: {}, state });
    expect(r.scheduler).toEqual({ address: '10.0.0.3:9001', source: 'state' });
    expect(r.receiver).toEqual({ address: '10.0.0.3:9000', source: 'state' });
  });

  it('falls back to the default ports', () => {
    const r = resolveAddresses({ flags: {}, env: {} });
    expect(r.scheduler).toEqual({ address: '127.0.0.1:7071', source: 'default' });
    expect(r.receiver).toEqual({ address: '127.0.0.1:7070', source: 'default' });
  });

  it('resolves each service independently', () => {
    const r = resolveAddresses({ flags: { receiver: 'flag-r:8' }, env: { RIVULET_SCHEDULER_ADDRESS: 'env-s:1' } });
    expect(r.scheduler.source).toBe('env');
    expect(r.receiver.source).toBe('flag');
  });
});

describe('tail lines', () => {
  const batch = { batchTimeMs: 1_700_000_000_000, records: [['the', 3], ['fox', 1]] as unknown[] };

  it('--json prints exactly {"batchTime":<ms>,"records":[…]}', () => {
    expect(formatTailJson(batch)).toBe('{"batchTime":1700000000000,"records":[["the",3],["fox",1]]}');
    expect(JSON.parse(formatTailJson({ batchTimeMs: 5, records: [] }))).toEqual({ batchTime: 5, records: [] });
  });

  it('--json survives 64-bit integers', () => {
    expect(formatTailJson({ batchTimeMs: 1, records: [['n', 12n], ['big', 2n ** 70n]] })).toBe(
      '{"batchTime":1,"records":[["n",12],["big","1180591620717411303424"]]}',
    );
  });

  it('human form: time, count and key=value pairs on one line', () => {
    expect(formatTailHuman(batch)).toBe('2023-11-14T22:13:20.000Z  2 records  the=3 fox=1');
    expect(formatTailHuman({ batchTimeMs: 1_700_000_000_000, records: [] })).toBe('2023-11-14T22:13:20.000Z  0 records');
    expect(formatTailHuman({ batchTimeMs: 0, records: ['a b', { x: 1 }] })).toBe('1970-01-01T00:00:00.000Z  2 records  "a b" {"x":1}');
    expect(formatTailHuman({ batchTimeMs: 0, records: [['has space', 1]] })).toBe('1970-01-01T00:00:00.000Z  1 record  "has space"=1');
  });

  it('human form shows [key, count] pairs largest first', () => {
    expect(formatTailHuman({ batchTimeMs: 0, records: [['a', 1], ['b', 5], ['c', 2]] })).toBe('1970-01-01T00:00:00.000Z  3 records  b=5 c=2 a=1');
  });

  it('human form caps the records shown', () => {
    const records = Array.from({ length: 25 }, (_, i) => [`w${i}`, 100 - i]);
    const line = formatTailHuman({ batchTimeMs: 0, records }, { maxRecords: 3 });
    expect(line).toBe('1970-01-01T00:00:00.000Z  25 records  w0=100 w1=99 w2=98 … (+22 more)');
  });
});

describe('error lines', () => {
  it('names the status of gRPC errors', () => {
    expect(formatErrorLine('tail', new NotFoundError('unknown job job-42'))).toBe('rivulet tail: NOT_FOUND: unknown job job-42');
    const raw = Object.assign(new Error('5 NOT_FOUND: x'), { code: Status.NOT_FOUND, details: 'no running job reads stream zzz' });
    expect(formatErrorLine('push', raw)).toBe('rivulet push: NOT_FOUND: no running job reads stream zzz');
  });

  it('does not repeat a status name the message already has', () => {
    expect(formatErrorLine('tail', new NotFoundError('NOT_FOUND: job x'))).toBe('rivulet tail: NOT_FOUND: job x');
  });

  it('puts bundling errors (file:line) on one line', () => {
    const err = new JobDefinitionError('cannot bundle bad.ts:\nbad.ts:3:41: Expected ")" but found ";"');
    expect(formatErrorLine('submit', err)).toBe('rivulet submit: INVALID_ARGUMENT: cannot bundle bad.ts: bad.ts:3:41: Expected ")" but found ";"');
  });

  it('turns an unreachable service into the "is the cluster up?" hint', () => {
    const transport = Object.assign(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED'), {
      code: Status.UNAVAILABLE,
      details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7071',
    });
    expect(formatErrorLine('status', new ConnectionError('scheduler', '127.0.0.1:7071', transport))).toBe(
      'rivulet status: cannot reach the scheduler at 127.0.0.1:7071: is the cluster up? (rivulet up)',
    );
    // A typed error whose cause is the transport failure (as RecordPusher raises it).
    const typed = new UnavailableError(transport.details, { cause: transport });
    expect(formatErrorLine('push', typed, { service: 'receiver', receiverAddress: '127.0.0.1:7070' })).toBe(
      'rivulet push: cannot reach the receiver at 127.0.0.1:7070: is the cluster up? (rivulet up)',
    );
  });

  it('keeps a service answering UNAVAILABLE as a status, not a connection problem', () => {
    expect(formatErrorLine('push', new UnavailableError('no executor alive to store the block'))).toBe(
      'rivulet push: UNAVAILABLE: no executor alive to store the block',
    );
  });

  it('prints CLI errors as they are', () => {
    expect(formatErrorLine('up', new CliError('nats-server not found on PATH'))).toBe('rivulet up: nats-server not found on PATH');
  });

  it('oneLine joins lines', () => {
    expect(oneLine('a:\n  b\nc\n')).toBe('a: b; c');
  });
});

describe('flags and helpers', () => {
  it('parses positive integers strictly', () => {
    expect(parsePositiveInt('--executors', '3')).toBe(3);
    for (const bad of ['0', '-1', '1.5', 'two', '']) expect(() => parsePositiveInt('--executors', bad)).toThrow(CliError);
  });

  it('derives a block interval that makes blocks per batch a multiple of the total slots', () => {
    const blocks = (batchMs: number, slots: number) => batchMs / defaultBlockInterval(batchMs, slots);
    expect(defaultBlockInterval(1000, 1)).toBe(200); // the receiver's default: never longer
    expect(defaultBlockInterval(1000, 4)).toBe(125); // 2 executors × 2 slots: 8 blocks, two per slot
    expect(defaultBlockInterval(1000, 8)).toBe(125); // one per slot
    expect(defaultBlockInterval(1000, 10)).toBe(100);
    expect(defaultBlockInterval(500, 4)).toBe(125);
    expect(defaultBlockInterval(10_000, 4)).toBe(125);
    for (const [batchMs, slots] of [[1000, 2], [1000, 4], [500, 2], [1200, 6], [10_000, 8]] as const) {
      expect(batchMs % defaultBlockInterval(batchMs, slots)).toBe(0);
      expect(blocks(batchMs, slots) % slots).toBe(0);
    }
    // No whole-ms multiple of 3 divides 1s: the fewest blocks that are at least the slots.
    expect(defaultBlockInterval(1000, 3)).toBe(200);
    // Never below 50ms, even when the slots would want it (20 blocks for 16 or 64 slots).
    expect(defaultBlockInterval(1000, 16)).toBe(50);
    expect(defaultBlockInterval(1000, 64)).toBe(50);
    expect(defaultBlockInterval(100, 4)).toBe(50);
    expect(defaultBlockInterval(100, 1)).toBe(100);
  });

  it('stops the receiver first and NATS last', () => {
    const p = (name: string, kind: 'nats-server' | 'lineage' | 'scheduler' | 'executor' | 'receiver') => ({ name, kind, pid: 1, address: '' });
    const order = stopOrder([p('nats-server', 'nats-server'), p('lineage', 'lineage'), p('scheduler', 'scheduler'), p('executor-1', 'executor'), p('receiver', 'receiver')]);
    expect(order.map((x) => x.name)).toEqual(['receiver', 'executor-1', 'scheduler', 'lineage', 'nats-server']);
  });

  it('reads lines across chunk boundaries, CRLF included, without a trailing empty line', async () => {
    const chunks = [Buffer.from('one\r'), Buffer.from('\ntw'), Buffer.from('o\n\nthr'), Buffer.from([0xc3]), Buffer.from([0xa9, 0x0a])];
    const lines: string[] = [];
    for await (const l of readLines(Readable.from(chunks))) lines.push(l);
    expect(lines).toEqual(['one', 'two', '', 'thré']);
    const last: string[] = [];
    for await (const l of readLines(Readable.from([Buffer.from('a\nb')]))) last.push(l);
    expect(last).toEqual(['a', 'b']);
  });
});

describe('rivulet main', () => {
  async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = '';
    let stderr = '';
    const sink = (append: (s: string) => void) => ({ write: (s: string) => (append(String(s)), true) }) as unknown as NodeJS.WritableStream;
    const io = { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), cwd: process.cwd(), env: {} };
    const code = await main(['node', 'rivulet', ...args], io);
    return { code, stdout, stderr };
  }

  it('a refused flag value is one line naming the flag, exit 2', async () => {
    expect(await run('push', 'lines', '--in-flight', '0')).toEqual({ code: 2, stdout: '', stderr: 'rivulet push: --in-flight must be a positive integer (got "0")\n' });
    const bytes = await run('push', 'lines', '--batch-bytes', 'lots');
    expect(bytes.code).toBe(2);
    expect(bytes.stderr).toMatch(/^rivulet push: --batch-bytes: .+\n$/);
    const grace = await run('down', '--grace', 'soon');
    expect(grace.code).toBe(2);
    expect(grace.stderr).toMatch(/^rivulet down: --grace: .+\n$/);
    const interval = await run('up', '--batch-interval', '20s');
    expect(interval).toEqual({ code: 2, stdout: '', stderr: 'rivulet up: --batch-interval must be between 100ms and 10s (got 20s)\n' });
    const level = await run('up', '--log-level', 'loud');
    expect(level.code).toBe(2);
    expect(level.stderr).toMatch(/^rivulet up: --log-level must be one of .+ \(got "loud"\)\n$/);
    for (const args of [['tail', 'j', '--batches', '-1'], ['tail', 'j', '--max-records', '1.5'], ['status', '--batches', ''], ['up', '--executors', 'two']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(new RegExp(`^rivulet ${args[0]}: ${args[args.length - 2]}\\b.*\\n$`));
    }
  });

  it('a usage error is one line naming the option or argument, exit 2', async () => {
    expect(await run('push', 'lines', '--bogus')).toEqual({
      code: 2,
      stdout: '',
      stderr: "rivulet push: unknown option '--bogus' (run `rivulet push --help` for usage)\n",
    });
    const missing = await run('tail', 'j', '--batches');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("rivulet tail: option '--batches <n>' argument missing (run `rivulet tail --help` for usage)\n");
    const noArg = await run('submit');
    expect(noArg.code).toBe(2);
    expect(noArg.stderr).toBe("rivulet submit: missing required argument 'job' (run `rivulet submit --help` for usage)\n");
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')).toHaveLength(2);
    expect(unknown.stderr).toMatch(/^rivulet: unknown command 'frobnicate'/);
  });

  it('--help is not an error', async () => {
    const r = await run('status', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: rivulet status/);
  });
});

describe('locality cell', () => {
  it('shows counts per level and the hit rate', async () => {
    const { localityCell } = await import('../../cli/format.js');
    expect(localityCell(9, 0, 1)).toBe('9/0/1 (90%)');
    expect(localityCell(0, 0, 0)).toBe('0/0/0 (-)');
  });
});

describe('status report: backpressure rate limits', () => {
  const job = (jobId: string, streams: string[], state = 'RUNNING') =>
    ({ jobId, name: jobId, state, error: '', streams, outputs: ['o'], recentBatches: [] }) as unknown as ClusterStatus['jobs'][number];
  const status = (o: Partial<ClusterStatus>): ClusterStatus =>
    ({ batchIntervalMs: 500, executors: [], jobs: [], rateLimits: [], backpressure: true, ...o }) as unknown as ClusterStatus;

  it('lists each stream read by a running job with its limit and its readers, one limit per stream', () => {
    const out = formatStatus(
      status({
        jobs: [job('job-a', ['lines', 'clicks']), job('job-b', ['lines']), job('job-c', ['old'], 'STOPPED')],
        rateLimits: [{ stream: 'lines', recordsPerSecond: 13_274.6 }],
      }),
    );
    const section = out.slice(out.indexOf('RATE LIMITS')).split('\n').slice(0, 4);
    expect(section).toEqual([
      'RATE LIMITS (backpressure, per stream: the lowest rate of the jobs reading it)',
      '  STREAM  LIMIT                    JOBS',
      '  clicks  none yet (not measured)  job-a',
      '  lines   13275 records/s          job-a,job-b',
    ]);
  });

  it('shows each job\'s group size (or - when its batches are launched one by one) and each batch\'s planned tasks', () => {
    const batch = { batchTimeMs: 1_000, state: 'COMPLETED', inputRecords: 10, inputBlocks: 2, tasks: 10, plannedTasks: 9, taskFailures: 0, processLocalTasks: 2, nodeLocalTasks: 0, anyTasks: 0, error: '' };
    const planned = { ...job('job-a', ['lines']), groupSize: 8, recentBatches: [batch] } as unknown as ClusterStatus['jobs'][number];
    const out = formatStatus(status({ jobs: [planned, job('job-b', ['lines'])] }));
    const jobs = out.slice(out.indexOf('JOBS')).split('\n').slice(1, 4);
    expect(jobs[0]).toMatch(/ GROUP /);
    expect(jobs[1]).toMatch(/^ {2}job-a .* 8 +-$/);
    expect(jobs[2]).toMatch(/^ {2}job-b .* - +-$/);
    const batches = out.slice(out.indexOf('RECENT BATCHES')).split('\n').slice(1, 3);
    expect(batches[0]).toMatch(/ TASKS +PLANNED +FAILED /);
    expect(batches[1]).toMatch(/ 10 +9 +0 /);
  });

  it("shows each job's owner, and - for a job submitted with security off", () => {
    const owned = { ...job('job-a', ['lines']), owner: 'alice' } as unknown as ClusterStatus['jobs'][number];
    const out = formatStatus(status({ jobs: [owned, job('job-b', ['lines'])] }));
    const jobs = out.slice(out.indexOf('JOBS')).split('\n').slice(1, 4);
    expect(jobs[0]).toMatch(/^ {2}ID +NAME +OWNER +STATE /);
    expect(jobs[1]).toMatch(/^ {2}job-a +job-a +alice +RUNNING /);
    expect(jobs[2]).toMatch(/^ {2}job-b +job-b +- +RUNNING /);
  });

  it('says when backpressure is off, and when no stream is read', () => {
    expect(formatStatus(status({ backpressure: false }))).toContain('RATE LIMITS  off (scheduler option backpressure=false)');
    expect(formatStatus(status({}))).toContain('RATE LIMITS (backpressure, per stream: the lowest rate of the jobs reading it)\n  (no stream is read by a running job)');
  });

  it('names the NATS server the scheduler uses, its cluster and the replicas; or that it is reconnecting', () => {
    const nats = { connected: true, serverName: 'nats-2', serverUrl: '127.0.0.1:4223', cluster: 'rivulet', clusterSize: 3, replicas: 3 };
    expect(formatStatus(status({ nats })).split('\n')[1]).toBe('nats: nats-2 at 127.0.0.1:4223, cluster rivulet of 3 servers, 3 replicas of every stream (natsReplicas)');
    expect(formatStatus(status({ nats: { ...nats, connected: false } })).split('\n')[1]).toBe(
      'nats: disconnected (last nats-2 at 127.0.0.1:4223), reconnecting, cluster rivulet of 3 servers, 3 replicas of every stream (natsReplicas)',
    );
    expect(formatStatus(status({ nats: { ...nats, serverName: 'n', cluster: '', clusterSize: 1, replicas: 1 } })).split('\n')[1]).toBe(
      'nats: n at 127.0.0.1:4223, a single server, 1 replica of every stream (natsReplicas)',
    );
  });
});
