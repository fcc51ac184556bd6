/**
 * The chart's dashboard and alerts against what the services really export: a live local
 * cluster with a metrics endpoint per process, scraped every second by a real Prometheus
 * (tests/helpers/prometheus.ts) that evaluates the chart's rendered rule file. Every dashboard
 * panel query (read from the rendered ConfigMap, with Grafana's variables filled in as Grafana
 * does) returns data while a job runs; and each alert's condition is brought about for real —
 * a job whose batch fails, batches slower than the batch interval (executors with a task delay),
 * a block store filled (no backpressure), an executor killed, the scheduler killed — and its expression, read
 * from the rendered PrometheusRule, returns data, and Prometheus lists the alert as active.
 *
 * Threshold and `for` logic with synthetic series is promtool's (tests/helm/monitoring.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { natsSourceProducer } from '../../lib/security/nats-permissions.js';
import { freePort } from '../../lib/process/ports.js';
import { dashboardOf, grafanaQuery, rulesOf, startPrometheus, type Dashboard, type RunningPrometheus, type RuleGroup } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';
import { baseValues, chartCopy, NAMESPACE, RELEASE, render } from './helpers.js';

const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
/** A word count reading JetStream stream LINES directly (ctx.jetStream): the lag panel's metric. */
const jetStreamWordcount = fileURLToPath(new URL('../e2e/jobs/jetstream-wordcount.ts', import.meta.url));
const SOURCE_STREAM = 'LINES';

const PROCESSES = ['scheduler', 'receiver', 'lineage', 'executor-1', 'executor-2'] as const;
/** Executors' block stores: small, so that a queue of unprocessed blocks fills one. */
const BLOCK_STORE_BYTES = 2 * 1024 * 1024;

describe('dashboard and alerts on a live cluster, scraped by a real Prometheus', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  let prometheus: RunningPrometheus;
  let dashboard: Dashboard;
  let rules: { groups: RuleGroup[] };
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-prom-test-'));
  let pushing = true;
  let pushed: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    const chart = chartCopy();
    try {
      const objs = await render(chart, {
        ...baseValues(),
        config: { batchInterval: '500ms' },
        otel: { metricsPort: 9464 },
        grafana: { dashboards: { enabled: true } },
        prometheusRule: { enabled: true },
      });
      dashboard = dashboardOf(objs);
      rules = rulesOf(objs);
    } finally {
      chart.remove();
    }
    const ports = Object.fromEntries(await Promise.all(PROCESSES.map(async (p) => [p, await freePort()] as const))) as Record<(typeof PROCESSES)[number], number>;
    const env = Object.fromEntries(
      PROCESSES.map((p) => [
        p,
        {
          RIVULET_METRICS_PORT: String(ports[p]),
          // Every task holds its slot 300 ms: a 500 ms batch of 2 stages on 4 slots takes longer
          // than its interval, so the job falls behind and unprocessed blocks pile up.
          ...(p.startsWith('executor') ? { RIVULET_TASK_DELAY: '300ms', RIVULET_BLOCK_STORE_BYTES: String(BLOCK_STORE_BYTES) } : {}),
          // Without backpressure the input is not slowed to what the job keeps up with, so the
          // blocks of queued batches fill the executors' block stores.
          ...(p === 'scheduler' ? { RIVULET_BACKPRESSURE: 'false' } : {}),
        },
      ]),
    );
    cluster = await startLocalCluster({
      executors: 2,
      slots: 2,
      batchInterval: '500ms',
      blockInterval: '100ms',
      logLevel: 'warn',
      env,
      // A JetStream source stream Rivulet may read, and a producer that may create and fill it.
      natsAccess: { sourceStreams: [SOURCE_STREAM], users: [{ name: 'producer', permissions: natsSourceProducer([SOURCE_STREAM], ['lines.>']) }] },
    });
    client = new RivuletClient(cluster.addresses());
    // What a ServiceMonitor's series carry: the namespace (the rules and the dashboard filter on
    // it) and the pod.
    prometheus = await startPrometheus({
      rules,
      targets: PROCESSES.map((p) => ({ address: `127.0.0.1:${ports[p]}`, labels: { namespace: NAMESPACE, pod: `${RELEASE}-rivulet-${p}`, service: p } })),
    });
  }, 90_000);

  afterAll(async () => {
    pushing = false;
    await pushed.catch(() => undefined);
    await prometheus?.stop();
    await client?.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Wait until `expr` returns at least one sample; the last result on timeout is in the message. */
  const returnsData = (expr: string, what: string, timeoutMs = 60_000) =>
    waitFor(async () => (await prometheus.query(expr)).length > 0, `${what} returns data: ${expr}`, { timeoutMs, intervalMs: 500 });

  const alertExpr = (name: string) => {
    const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === name);
    if (!rule) throw new Error(`no alert ${name} in the rendered PrometheusRule`);
    return rule.expr;
  };

  const activeAlert = (name: string) =>
    waitFor(async () => (await prometheus.alerts()).some((a) => a.labels.alertname === name), `Prometheus lists ${name} as pending or firing`, {
      timeoutMs: 30_000,
      intervalMs: 500,
    });

  it('a failed batch makes RivuletBatchesFailed true', async () => {
    const path = join(dir, 'explodes.ts');
    writeFileSync(
      path,
      "import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => {\n  ctx.receiverStream<string>('boom').map((s) => { if (s === 'bad') throw new RangeError('bad record'); return s; }).output('out');\n});\n",
    );
    const job = await client.submitJob(path);
    // The job's batch counters exist (at 0) before anything fails: the failure is an increase.
    await returnsData(`rivulet_batches_total{rivulet_job_name="explodes", rivulet_batch_state="FAILED"} == 0`, 'the FAILED counter at 0');
    const pusher = client.pusher('boom');
    await pusher.push(['fine', 'bad']);
    await pusher.close();
    await waitFor(async () => (await client.status()).jobs.find((j) => j.jobId === job.jobId)?.state === 'FAILED', 'the job failed', { timeoutMs: 60_000, intervalMs: 200 });
    await returnsData(alertExpr('RivuletBatchesFailed'), 'RivuletBatchesFailed');
    const result = await prometheus.query(alertExpr('RivuletBatchesFailed'));
    // increase() extrapolates over a short history: more than 0, not necessarily 1.
    expect(result.map((r) => r.metric.rivulet_job_name)).toEqual(['explodes']);
    expect(Number(result[0]!.value[1])).toBeGreaterThan(0);
    await activeAlert('RivuletBatchesFailed');
  }, 120_000);

  it('every dashboard panel returns data while a job runs', async () => {
    await client.submitJob(wordcount);
    // A JetStream direct source with a backlog, for the lag panel.
    const nc = await connect({ servers: cluster.natsUrl, tls: cluster.security!.natsClientTls('producer') });
    try {
      await (await jetstreamManager(nc)).streams.add({ name: SOURCE_STREAM, subjects: ['lines.>'] });
      const js = jetstream(nc);
      await Promise.all(Array.from({ length: 200 }, (_, i) => js.publish('lines.a', `m${i} alpha beta`)));
    } finally {
      await nc.close();
    }
    await client.submitJob(jetStreamWordcount);
    // Steady traffic until the block-store test has filled a store. A push the cluster cannot
    // take (a full store refuses blocks) is retried by the SDK and, after its retry timeout,
    // by this loop with a new pusher: what counts here is that records keep arriving.
    pushed = (async () => {
      let pusher = client.pusher('lines', { retryTimeoutMs: 5000 });
      const lines = Array.from({ length: 200 }, (_, k) => `alpha beta gamma delta epsilon w${k % 50} ${'x'.repeat(60)}`);
      while (pushing) {
        try {
          await pusher.push(lines);
        } catch {
          await pusher.close().catch(() => undefined);
          pusher = client.pusher('lines', { retryTimeoutMs: 5000 });
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await pusher.close().catch(() => undefined);
    })();
    const queries = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: grafanaQuery(t.expr, dashboard, '10s') })));
    expect(queries.length).toBeGreaterThanOrEqual(13);
    for (const q of queries) await returnsData(q.expr, `panel "${q.panel}"`);
  }, 120_000);

  it('falling behind: batches slower than the batch interval make RivuletTotalDelayAboveBatchInterval true', async () => {
    await returnsData(alertExpr('RivuletTotalDelayAboveBatchInterval'), 'RivuletTotalDelayAboveBatchInterval');
    await activeAlert('RivuletTotalDelayAboveBatchInterval');
  }, 90_000);

  it('a block store filled by the queue makes RivuletBlockStoreNearFull true', async () => {
    try {
      await returnsData(alertExpr('RivuletBlockStoreNearFull'), 'RivuletBlockStoreNearFull', 90_000);
    } catch (e) {
      const use = await prometheus.query('max_over_time(rivulet_executor_block_store_bytes[5m]) / rivulet_executor_block_store_capacity');
      throw new Error(`${(e as Error).message}; highest use seen: ${JSON.stringify(use.map((u) => [u.metric.rivulet_executor_id, u.value[1]]))}`, { cause: e });
    }
    await activeAlert('RivuletBlockStoreNearFull');
    pushing = false;
    await pushed;
  }, 120_000);

  it('a killed executor makes RivuletExecutorLost true', async () => {
    await cluster.executors[1]!.kill();
    await returnsData(alertExpr('RivuletExecutorLost'), 'RivuletExecutorLost');
    const [lost] = await prometheus.query(alertExpr('RivuletExecutorLost'));
    expect(lost!.value[1]).toBe('1');
    await activeAlert('RivuletExecutorLost');
  }, 90_000);

  it('no scheduler makes RivuletNoLeaderScheduler true', async () => {
    expect(await prometheus.query(alertExpr('RivuletNoLeaderScheduler'))).toEqual([]);
    await cluster.scheduler.kill();
    await returnsData(alertExpr('RivuletNoLeaderScheduler'), 'RivuletNoLeaderScheduler');
    await activeAlert('RivuletNoLeaderScheduler');
  }, 90_000);
});
