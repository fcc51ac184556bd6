/**
 * Sinks, one piece at a time: what a job may declare (output(name).toJetStream /
 * .toPostgres, checked at build), the retry loop with a stepped clock, the
 * statements a batch becomes, the message ids a batch's records get, and the
 * subjects the scheduler may publish to. The real writes are tested against a
 * real PostgreSQL and a real nats-server (tests/integration/sinks.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { StreamingContext } from '../../lib/dstream/api.js';
import { JobDefinitionError } from '../../lib/dstream/errors.js';
import { JobGraph, type OutputNode } from '../../lib/dstream/graph.js';
import { describeNodes } from '../../lib/dstream/loader.js';
import { classifyNatsError, encodeRecords, recordMsgId } from '../../lib/sinks/jetstream.js';
import { prepareRows } from '../../lib/sinks/postgres.js';
import { classifyPostgresError, SinkError, withRetries, type RetryClock } from '../../lib/sinks/retry.js';
import { connectionEnvName, SCHEDULER_SINK_OPTION_ENV, sinkSpecProblem, subjectAllowed, type PostgresSinkSpec } from '../../lib/sinks/spec.js';
import { envName } from '../../lib/config/index.js';
import { schedulerConfigSchema } from '../../services/scheduler/config.js';
import { unpackValue } from '../../lib/codec/records.js';

function build(f: (ctx: StreamingContext) => void): JobGraph {
  const graph = new JobGraph();
  f(new StreamingContext(graph));
  return graph;
}

const pg = (over: Partial<PostgresSinkSpec> = {}): PostgresSinkSpec => ({
  kind: 'postgres',
  table: 'public.counts',
  connection: 'main',
  mode: 'append',
  key: [],
  commitTable: 'rivulet_commits',
  commitRetentionMs: 86_400_000,
  ...over,
});

describe('declaring a sink', () => {
  it('output(name) still returns the output; a sink is plain data in the graph description', () => {
    const graph = build((ctx) => {
      const out = ctx.receiverStream<string>('lines').output('plain');
      expect(out.name).toBe('plain');
      ctx.receiverStream<string>('lines').map((l) => ({ line: l })).output('rows').toPostgres({ table: 'public.lines', connection: 'main', mode: 'upsert', key: 'line' });
      ctx.receiverStream<string>('lines').output('events').toJetStream('sinks.lines', { stream: 'rivulet-sinks' });
    });
    const outputs = describeNodes(graph).filter((n): n is OutputNode => n.kind === 'output');
    expect(outputs.map((o) => [o.name, o.sink])).toEqual([
      ['plain', undefined],
      ['rows', { kind: 'postgres', table: 'public.lines', connection: 'main', mode: 'upsert', key: ['line'], commitTable: 'rivulet_commits', commitRetentionMs: 86_400_000 }],
      ['events', { kind: 'jetstream', subject: 'sinks.lines', stream: 'rivulet-sinks', encoding: 'json' }],
    ]);
    // What crosses the sandbox boundary is structured-cloneable.
    expect(structuredClone(outputs[1]!.sink)).toEqual(outputs[1]!.sink);
  });

  it('refuses, at build, what could never be written: with the output and the reason', () => {
    const refused = (f: (ctx: StreamingContext) => void) => {
      try {
        build(f);
      } catch (e) {
        expect(e).toBeInstanceOf(JobDefinitionError);
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    const s = (ctx: StreamingContext) => ctx.receiverStream<string>('lines');
    expect(refused((c) => s(c).output('o').toPostgres({ table: 't', connection: 'postgres://u:secret@h/db' }))).toMatch(/never a URL: credentials stay out of the job/);
    expect(refused((c) => s(c).output('o').toPostgres({ table: 't', connection: 'main', mode: 'upsert' }))).toMatch(/'upsert' needs key/);
    expect(refused((c) => s(c).output('o').toPostgres({ table: 't; drop table x', connection: 'main' }))).toMatch(/output "o": table must be/);
    expect(refused((c) => s(c).output('o').toPostgres({ table: 't', connection: 'main', commitRetention: 'soon' }))).toMatch(/commitRetention/);
    expect(refused((c) => s(c).output('o').toJetStream('sinks.*'))).toMatch(/without spaces or wildcards/);
    expect(refused((c) => s(c).output('o').toJetStream('sinks.a').toPostgres({ table: 't', connection: 'main' }))).toMatch(/already writes to jetstream:sinks.a; one sink per output/);
  });

  it('names the environment variable a connection is read from', () => {
    expect(connectionEnvName('orders-db.eu')).toBe('RIVULET_SINK_ORDERS_DB_EU');
    expect(sinkSpecProblem({ ...pg(), mode: 'append', key: ['id'] })).toMatch(/key is for mode 'upsert' only/);
    expect(sinkSpecProblem({ kind: 'kafka' })).toMatch(/kind must be/);
  });

  it("refuses a connection whose variable is one of the scheduler's own sink options, and the list is every such option", () => {
    const optionEnv = Object.keys(schedulerConfigSchema.shape)
      .filter((k) => /^sink[A-Z]/.test(k))
      .map(envName)
      .sort();
    expect([...SCHEDULER_SINK_OPTION_ENV].sort()).toEqual(optionEnv);
    expect(sinkSpecProblem({ ...pg(), connection: 'stream' })).toBe('connection "stream" would be read from RIVULET_SINK_STREAM, which is a scheduler option: choose another name');
    expect(sinkSpecProblem({ ...pg(), connection: 'retry-timeout' })).toMatch(/RIVULET_SINK_RETRY_TIMEOUT, which is a scheduler option/);
    expect(sinkSpecProblem({ ...pg(), connection: 'streams' })).toBeUndefined();
  });

  it('matches subjects against the NATS patterns the scheduler may publish to', () => {
    expect(subjectAllowed('sinks.counts', ['sinks.>'])).toBe(true);
    expect(subjectAllowed('sinks', ['sinks.>'])).toBe(false);
    expect(subjectAllowed('sinks.a.b', ['sinks.*'])).toBe(false);
    expect(subjectAllowed('sinks.a', ['other.>', 'sinks.*'])).toBe(true);
    expect(subjectAllowed('orders.enriched', ['orders.enriched'])).toBe(true);
    expect(subjectAllowed('orders.enriched.x', ['orders.enriched'])).toBe(false);
  });
});

describe('retrying a sink write', () => {
  /** A clock that only moves when the retry loop sleeps. */
  const stepped = (): RetryClock & { slept: number[] } => {
    let now = 0;
    const slept: number[] = [];
    return {
      slept,
      now: () => now,
      sleep: (ms) => {
        slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
    };
  };
  const policy = { retryTimeoutMs: 3000, backoffMs: 200, maxBackoffMs: 1000 };
  const retryable = (e: unknown) => new SinkError(String(e), true);

  it('retries retryable failures with doubling backoff and reports how many it took', async () => {
    const clock = stepped();
    let calls = 0;
    const heard: number[] = [];
    const out = await withRetries(
      () => {
        calls++;
        return calls < 4 ? Promise.reject(new Error(`down ${calls}`)) : Promise.resolve('ok');
      },
      policy,
      retryable,
      (_e, attempt) => heard.push(attempt),
      clock,
    );
    expect(out).toEqual({ value: 'ok', retries: 3 });
    expect(clock.slept).toEqual([200, 400, 800]);
    expect(heard).toEqual([1, 2, 3]);
  });

  it('gives up when the budget is spent, naming the option; never retries a terminal error', async () => {
    const clock = stepped();
    await expect(withRetries(() => Promise.reject(new Error('refused')), policy, retryable, () => undefined, clock)).rejects.toThrow(
      /refused.*gave up after \d+ attempts in 3000 ms: sinkRetryTimeout is 3000 ms/,
    );
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(3000);
    expect(Math.max(...clock.slept)).toBe(1000);
    const once = stepped();
    let calls = 0;
    await expect(
      withRetries(
        () => {
          calls++;
          return Promise.reject(new SinkError('no such table', false));
        },
        policy,
        retryable,
        () => undefined,
        once,
      ),
    ).rejects.toThrow('no such table');
    expect(calls).toBe(1);
  });

  it('tells retryable PostgreSQL and NATS failures from terminal ones', () => {
    const sink = 'sink x';
    expect(classifyPostgresError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), sink).retryable).toBe(true);
    expect(classifyPostgresError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), sink).retryable).toBe(true);
    expect(classifyPostgresError(Object.assign(new Error('the database system is starting up'), { code: '57P03' }), sink).retryable).toBe(true);
    expect(classifyPostgresError(new Error('Connection terminated unexpectedly'), sink).retryable).toBe(true);
    const missing = classifyPostgresError(Object.assign(new Error('relation "t" does not exist'), { code: '42P01' }), sink);
    expect(missing.retryable).toBe(false);
    expect(missing.message).toBe('sink x: relation "t" does not exist (42P01)');
    expect(classifyNatsError(Object.assign(new Error('timeout'), { name: 'TimeoutError' }), sink).retryable).toBe(true);
    expect(classifyNatsError(Object.assign(new Error('expected stream does not match'), { name: 'JetStreamApiError', code: 10060 }), sink).retryable).toBe(false);
    expect(classifyNatsError(Object.assign(new Error('temporarily unavailable'), { name: 'JetStreamApiError', code: 10008 }), sink).retryable).toBe(true);
    expect(classifyNatsError(Object.assign(new Error('Permissions Violation'), { name: 'PermissionViolationError' }), sink).retryable).toBe(false);
  });
});

describe('a batch as statements and messages', () => {
  it('appends every record in chunks, one column per key seen, missing keys NULL, objects as JSON', () => {
    const p = prepareRows(pg(), [{ w: 'a', n: 1 }, { w: 'b', n: 2, meta: { x: [1] } }, { w: 'c' }], 2, 's');
    expect(p.rows).toBe(3);
    expect(p.statements).toEqual([
      { text: 'INSERT INTO "public"."counts" ("w", "n", "meta") VALUES ($1, $2, $3), ($4, $5, $6)', values: ['a', 1, null, 'b', 2, '{"x":[1]}'] },
      { text: 'INSERT INTO "public"."counts" ("w", "n", "meta") VALUES ($1, $2, $3)', values: ['c', null, null] },
    ]);
  });

  it('upserts one row per key (the last record of a key wins) and keeps every statement under 65,535 parameters', () => {
    const p = prepareRows(pg({ mode: 'upsert', key: ['w'] }), [{ w: 'a', n: 1 }, { w: 'b', n: 2 }, { w: 'a', n: 3 }], 1000, 's');
    expect(p.statements).toEqual([
      { text: 'INSERT INTO "public"."counts" ("w", "n") VALUES ($1, $2), ($3, $4) ON CONFLICT ("w") DO UPDATE SET "n" = EXCLUDED."n"', values: ['b', 2, 'a', 3] },
    ]);
    const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`c${i}`, i]));
    const many = prepareRows(pg(), Array.from({ length: 1500 }, () => wide), 65_535, 's');
    // 100 columns: 655 rows (65,500 parameters) per statement.
    expect(many.statements.map((s) => s.values.length)).toEqual([65_500, 65_500, 19_000]);
  });

  it('refuses at once a record that is not a row, or an upsert record without its key', () => {
    expect(() => prepareRows(pg(), [['word', 1]], 10, 'sink postgres:main/public.counts of output counts')).toThrow(
      /sink postgres:main\/public.counts of output counts: record 0 of the batch is an array, not a row.*\.map\(\(\[word, count\]\) => \(\{ word, count \}\)\)/,
    );
    const e = (() => {
      try {
        prepareRows(pg({ mode: 'upsert', key: ['w'] }), [{ w: 'a' }, { n: 1 }], 10, 's');
      } catch (err) {
        return err as SinkError;
      }
    })();
    expect(e?.message).toBe('s: record 1 of the batch has no value for the key column "w"');
    expect(e?.retryable).toBe(false);
  });

  it('gives each record of a batch the same message id on every run, and encodes it as JSON or MessagePack', () => {
    const batch = { jobId: 'job-1', output: 'counts', batchTimeMs: 1_700_000_000_000 };
    expect(recordMsgId(batch, 7)).toBe('job-1/counts/1700000000000/7');
    const [json] = encodeRecords([{ w: 'a' }], 'json', 1024, 's');
    expect(Buffer.from(json!).toString()).toBe('{"w":"a"}');
    const [packed] = encodeRecords([['a', 1]], 'msgpack', 1024, 's');
    expect(unpackValue(packed!)).toEqual(['a', 1]);
    expect(() => encodeRecords(['x'.repeat(100)], 'json', 50, 's')).toThrow(/record 0 of the batch is 102 bytes, over the NATS server's max_payload \(50\)/);
  });
});
