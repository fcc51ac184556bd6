/**
 * The scheduler's status page end to end: a real cluster (every service its own
 * process), the word count job, records pushed over several batches, and the
 * page opened in headless Debian Chromium through playwright-core. The page must
 * draw charts from live data that keeps arriving (no reload), show exactly the
 * records pushed in its batch table, list both executors, and show job-provided
 * strings as text, never markup.
 *
 * Chromium is required, not optional: without /usr/bin/chromium this file fails
 * with the command that installs it (`.ci/run` must install the `chromium` package).
 *
 * `STATUS_PAGE_SCREENSHOT=docs/status-page.png` also refreshes the README screenshot.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RivuletClient } from '../../client/index.js';
import { startLocalCluster, type LocalCluster } from '../../lib/cluster/local-cluster.js';
import { startStatusPage } from '../../services/scheduler/status-page/server.js';
import { getWithHost } from '../helpers/http.js';

const CHROMIUM = '/usr/bin/chromium';
// As root in a container: no sandbox; no background networking, which this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const wordcount = fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url));
const WORDS = ['stream', 'batch', 'lineage', 'executor', 'shuffle', 'window', 'block', 'slot'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lines = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => `${WORDS[(i + seed) % WORDS.length]} ${WORDS[(i * 3 + seed) % WORDS.length]} line${i}`);

/** Number of points drawn on each metric's timeline. */
async function pointsPerMetric(page: Page, jobId: string): Promise<Record<string, number>> {
  return page.$$eval(`section.job[data-job-id="${jobId}"] svg.timeline`, (charts) =>
    Object.fromEntries(charts.map((c) => [c.getAttribute('data-metric'), c.querySelectorAll('circle.point').length])),
  );
}

/** Records of the completed batches in the page's batch table, read from the text a user sees. */
async function recordsInTable(page: Page, jobId: string): Promise<number> {
  return page.$$eval(`section.job[data-job-id="${jobId}"] table.batches tbody tr.state-COMPLETED td.records`, (cells) =>
    cells.reduce((sum, td) => sum + Number(td.textContent!.replace(/,/g, '')), 0),
  );
}

describe('status page on a real cluster', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  let browser: Browser;
  let url: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `the status page test needs Debian's Chromium at ${CHROMIUM} and it is not installed: ` +
          'run `apt-get update && apt-get install -y chromium` (CI: .ci/run must install the chromium package)',
      );
    }
    cluster = await startLocalCluster({ executors: 2, slots: 2, batchInterval: '500ms', blockInterval: '100ms', logLevel: 'warn' });
    url = cluster.addresses().statusPage!;
    const a = cluster.addresses();
    client = new RivuletClient(a);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await client?.close();
    await cluster?.stop();
  });

  /** The admin token the cluster was started with (its status page needs a user's token). */
  const token = (): string => {
    const security = cluster.addresses().security;
    return security.insecure ? '' : (security.token ?? '');
  };
  const auth = () => ({ headers: { Authorization: `Bearer ${token()}` } });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1250 } });
    // A CSP violation or a script error shows up here; the page must have none.
    page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    // Security is on: the first visit carries a token, which the page trades for a cookie.
    await page.goto(`${url}?token=${encodeURIComponent(token())}`);
    return page;
  }

  it('the scheduler announces its URL, serves JSON, and refuses what it does not serve', async () => {
    // The launcher read the URL from the scheduler's `status page` line; the port was picked by the scheduler (0).
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    const page = await fetch(url, auth());
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");

    const api = await fetch(new URL('api/status', url), auth());
    expect(api.status).toBe(200);
    const status = (await api.json()) as { batchIntervalMs: number; executors: Array<{ executorId: string }> };
    expect(status.batchIntervalMs).toBe(500);
    expect(status.executors.map((e) => e.executorId).sort()).toEqual(['executor-1', 'executor-2']);

    expect((await fetch(new URL('no/such/page', url), auth())).status).toBe(404);
    const post = await fetch(new URL('api/status', url), { method: 'POST', body: '{}', ...auth() });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(new URL('api/status?batches=lots', url), auth())).status).toBe(400);
  });

  it('draws live charts, the batches with the records pushed, and both executors', async () => {
    const job = await client.submitJob(wordcount);
    const page = await openPage();
    const section = `section.job[data-job-id="${job.jobId}"]`;

    // Empty batches complete too, so the timelines fill before any record is pushed.
    await expect.poll(async () => (await pointsPerMetric(page, job.jobId))['input-rate'] ?? 0, { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    const before = await pointsPerMetric(page, job.jobId);
    expect(Object.keys(before).sort()).toEqual(['input-rate', 'processing-time', 'scheduling-delay', 'total-delay']);

    // Uneven loads over several batches, so the charts have a shape.
    const pusher = client.pusher('lines');
    let pushed = 0;
    // The receivers table's ingest rate while records flow (each receiver's heartbeat: about the last second).
    const ingestSeen: string[] = [];
    for (const [round, n] of [3000, 9000, 5000, 14000, 7000, 11000, 4000].entries()) {
      pushed += await pusher.push(lines(n, round));
      await sleep(450);
      ingestSeen.push((await page.textContent('#receivers tbody tr[data-receiver-id] td.ingest')) ?? '');
    }
    await pusher.close();
    expect(ingestSeen.some((t) => /^lines [1-9][\d,.]* rec\/s$/.test(t)), ingestSeen.join(' | ')).toBe(true);
    const receivers = await page.$$eval('#receivers tbody tr', (rows) => rows.map((r) => [...r.children].map((td) => td.textContent)));
    expect(receivers.map((c) => c[2])).toEqual(['ALIVE']);

    // The page (updated by server push, never reloaded) ends up showing every record pushed.
    await expect.poll(() => recordsInTable(page, job.jobId), { timeout: 30_000 }).toBe(pushed);
    await expect.poll(() => page.textContent(`${section} .records-processed`), { timeout: 5_000 }).toBe(pushed.toLocaleString('en-US'));
    // Backpressure's current rate limit of the job's stream (set once batches with records completed).
    await expect.poll(() => page.textContent(`${section} .rate-limit`), { timeout: 5_000 }).toMatch(/^lines [\d,.]+ rec\/s$/);
    // The summary names the leading scheduler (leader-lease.ts) and its term.
    await expect.poll(() => page.textContent('#summary'), { timeout: 5_000 }).toMatch(/leader \S+ \(term \d+, since /);

    const after = await pointsPerMetric(page, job.jobId);
    for (const metric of Object.keys(before)) expect(after[metric]).toBeGreaterThan(before[metric]!);
    // Batches with input are drawn above the chart's floor (the bottom of its value axis).
    const raised = await page.$eval(`${section} svg.timeline[data-metric="input-rate"]`, (chart) => {
      const floor = Number(chart.querySelector('line.axis')!.getAttribute('y2'));
      return [...chart.querySelectorAll('circle.point')].filter((c) => Number(c.getAttribute('cy')) < floor - 1).length;
    });
    expect(raised).toBeGreaterThanOrEqual(3);
    for (const metric of Object.keys(before)) {
      const bars = await page.$$eval(`${section} svg.histogram[data-metric="${metric}"] rect.bar`, (rs) => rs.length);
      expect(bars, metric).toBeGreaterThan(0);
    }
    // Tasks ran, mostly next to their input blocks.
    const tasks = await page.$$eval(`${section} table.batches tbody tr.state-COMPLETED`, (rows) =>
      rows.map((r) => Number(r.children[7]!.textContent)).reduce((a, b) => a + b, 0),
    );
    expect(tasks).toBeGreaterThan(0);

    const executors = await page.$$eval('#executors tbody tr', (rows) =>
      rows.map((r) => [...r.children].map((td) => td.textContent)).map((c) => ({ id: c[0], state: c[2], slots: c[3] })),
    );
    expect(executors).toEqual([
      { id: 'executor-1', state: 'ALIVE', slots: '2' },
      { id: 'executor-2', state: 'ALIVE', slots: '2' },
    ]);
    expect(await page.getAttribute('#connection', 'data-state')).toBe('live');

    if (process.env.STATUS_PAGE_SCREENSHOT) {
      // A few more seconds of steady input, so the screenshot's charts span a useful window.
      const more = client.pusher('lines');
      let extra = 0;
      for (let i = 0; i < 12; i++) {
        extra += await more.push(lines(4000 + ((i * 3700) % 9000), i));
        await sleep(500);
      }
      await more.close();
      await expect.poll(() => recordsInTable(page, job.jobId), { timeout: 30_000 }).toBe(pushed + extra);
      await page.screenshot({ path: process.env.STATUS_PAGE_SCREENSHOT, fullPage: false });
    }
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 90_000);

  it("shows what a job's outputs wrote to their sinks", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-sink-page-'));
    const file = join(dir, 'copies.ts');
    writeFileSync(file, `import { defineJob } from 'rivulet';\nexport default defineJob((ctx) => { ctx.receiverStream<string>('copies').output('copies').toJetStream('sinks.page'); });\n`);
    const job = await client.submitJob(file);
    rmSync(dir, { recursive: true, force: true });
    const pusher = client.pusher('copies');
    const pushed = await pusher.push(['a', 'b', 'c']);
    await pusher.close();
    const page = await openPage();
    await expect
      .poll(() => page.textContent(`section.job[data-job-id="${job.jobId}"] .sinks`), { timeout: 20_000 })
      .toMatch(new RegExp(`^copies → jetstream:sinks\\.page [1-9]\\d* batches, ${pushed} records$`));
    expect(pageErrors).toEqual([]);
    await page.close();
    await client.stopJob(job.jobId);
  }, 40_000);

  it('shows job-provided strings as text, never as markup', async () => {
    const evil = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>wc`;
    // Names are refused outright now (lib/names.ts); a job's error is still free text it chooses.
    await expect(client.submitJob(wordcount, { name: evil })).rejects.toMatchObject({ code: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'rivulet-evil-'));
    const file = join(dir, 'evil.ts');
    writeFileSync(
      file,
      `import { defineJob } from 'rivulet';\n` +
        `export default defineJob((ctx) => { ctx.receiverStream<string>('evil').map((l) => { throw new Error(${JSON.stringify(evil)} + l); }).output('out'); });\n`,
    );
    const job = await client.submitJob(file);
    rmSync(dir, { recursive: true, force: true });
    const pusher = client.pusher('evil');
    await pusher.push(['!']);
    await pusher.close();
    const page = await openPage();
    const error = page.locator(`section.job[data-job-id="${job.jobId}"] .job-error`);
    await expect.poll(async () => ((await error.count()) > 0 ? error.textContent() : ''), { timeout: 20_000 }).toContain(evil);
    expect(await page.$$eval('#jobs img, #jobs script', (els) => els.length)).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 40_000);
});

describe('status page server', () => {
  it('answers only requests whose Host names it (DNS rebinding), and GET/HEAD only', async () => {
    const page = await startStatusPage({
      host: '127.0.0.1',
      port: 0,
      log: pino({ level: 'silent' }),
      allowedHosts: ['rivulet.example.com', 'status.internal:8080'],
      snapshot: () => ({ jobs: [] }),
    });
    try {
      const port = new URL(page.url).port;
      const api = new URL('api/status', page.url).href;
      for (const ok of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, '10.1.2.3:4040', 'rivulet.example.com', 'rivulet.example.com:443', 'status.internal:8080']) {
        expect(await getWithHost(api, ok), ok).toBe(200);
      }
      for (const bad of ['evil.example', `evil.example:${port}`, 'localhost.evil.example', 'status.internal:9090', 'rivulet.example.com.evil', '', 'a b']) {
        expect(await getWithHost(api, bad), bad).toBe(421);
      }
      // No Host at all: node:http itself answers 400 (requireHostHeader).
      expect([400, 421]).toContain(await getWithHost(api, undefined));
      expect(await getWithHost(api, 'localhost', 'POST')).toBe(405);
      expect(await getWithHost(api, 'localhost', 'DELETE')).toBe(405);
      expect(await getWithHost(api, 'evil.example', 'POST')).toBe(421);
    } finally {
      await page.close();
    }
  });

  it('answers 500 when the snapshot throws, and keeps serving', async () => {
    let fail = true;
    const page = await startStatusPage({
      host: '127.0.0.1',
      port: 0,
      log: pino({ level: 'silent' }),
      snapshot: () => {
        if (fail) throw new Error('scheduler state unavailable');
        return { batchIntervalMs: 1000, executors: [], jobs: [] };
      },
    });
    try {
      expect((await fetch(new URL('api/status', page.url))).status).toBe(500);
      fail = false;
      const ok = await fetch(new URL('api/status', page.url));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ batchIntervalMs: 1000, executors: [], jobs: [] });
    } finally {
      await page.close();
    }
  });

  it('pushes snapshots as Server-Sent Events, and closes with a subscriber still connected', async () => {
    let n = 0;
    const page = await startStatusPage({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), pushIntervalMs: 50, snapshot: () => ({ n: ++n }) });
    const res = await fetch(new URL('api/events', page.url));
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    while (!/data: \{"n":3\}/.test(text)) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`event stream ended early after: ${text}`);
      text += new TextDecoder().decode(chunk.value);
    }
    expect(text).toMatch(/^retry: 2000\n\ndata: \{"n":1\}\n\ndata: \{"n":2\}\n\n/);
    // An open event stream must not hold up the scheduler's shutdown.
    await page.close();
    await expect(reader.read()).resolves.toMatchObject({ done: true });
  });

  it('fails to start, rather than half-starting, when its port is taken', async () => {
    const first = await startStatusPage({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }), snapshot: () => ({}) });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startStatusPage({ host: '127.0.0.1', port, log: pino({ level: 'silent' }), snapshot: () => ({}) })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
