// The status page's only script: receives the scheduler's ClusterStatus
// (Server-Sent Events from /api/events, one per second) and redraws the page.
// Charts are hand-drawn SVG because the page must work with no network access.
// Every string that comes from a job (names, errors, streams) reaches the DOM
// through text nodes only — never innerHTML — so it cannot become markup.
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';
const NUMBER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

// ---------------------------------------------------------------- DOM helpers

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children || []) {
    if (c === undefined || c === null || c === false) continue;
    node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  return node;
}
const el = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);
const svg = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

// ---------------------------------------------------------------- formatting

function fmtMs(ms) {
  if (ms === 0) return '0 ms';
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  return `${ms < 10 ? ms.toFixed(1) : NUMBER.format(ms)} ms`;
}
const fmtRate = (v) => `${v < 10 ? DECIMAL.format(v) : NUMBER.format(v)} rec/s`;
function fmtBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
const pad = (n, w = 2) => String(n).padStart(w, '0');
function fmtTime(ms, withMillis) {
  const d = new Date(ms);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMillis ? `${hms}.${pad(d.getMilliseconds(), 3)}` : hms;
}
function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** The smallest 1/2/2.5/5 × 10^k at or above v, so axes end on round numbers. */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// ---------------------------------------------------------------- charts

const H = 120;
const PAD = { top: 8, bottom: 20, left: 58, right: 10 };
const TIMELINE_W = 640;
const HIST_W = 300;
const BINS = 10;

const yOf = (v, yMax) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - Math.min(v, yMax) / yMax);

/** Value over batch time, one point per completed batch; `refValue` draws a dashed line (the batch interval). */
function timeline(metric, points, yMax, refValue) {
  const s = svg('svg', { class: 'chart timeline', viewBox: `0 0 ${TIMELINE_W} ${H}`, 'data-metric': metric.id, 'data-points': points.length, role: 'img', 'aria-label': `${metric.label} timeline` });
  const x0 = PAD.left;
  const x1 = TIMELINE_W - PAD.right;
  const yBottom = H - PAD.bottom;
  s.append(
    svg('line', { class: 'axis', x1: x0, y1: PAD.top, x2: x0, y2: yBottom }),
    svg('line', { class: 'axis', x1: x0, y1: yBottom, x2: x1, y2: yBottom }),
    svg('text', { x: x0 - 4, y: PAD.top + 8, 'text-anchor': 'end' }, metric.fmt(yMax)),
    svg('text', { x: x0 - 4, y: yBottom, 'text-anchor': 'end' }, metric.fmt(0)),
  );
  if (points.length === 0) {
    s.append(svg('text', { class: 'nodata', x: (x0 + x1) / 2, y: H / 2, 'text-anchor': 'middle' }, 'no completed batches yet'));
    return s;
  }
  const tMin = points[0].t;
  const tMax = points[points.length - 1].t;
  const xOf = (t) => (tMax === tMin ? (x0 + x1) / 2 : x0 + ((t - tMin) / (tMax - tMin)) * (x1 - x0));
  s.append(
    svg('text', { x: x0, y: H - 4 }, fmtTime(tMin)),
    svg('text', { x: x1, y: H - 4, 'text-anchor': 'end' }, fmtTime(tMax)),
  );
  if (refValue !== undefined && refValue <= yMax) {
    const y = yOf(refValue, yMax);
    s.append(svg('line', { class: 'ref', x1: x0, y1: y, x2: x1, y2: y }, svg('title', {}, `batch interval ${fmtMs(refValue)}`)));
  }
  s.append(svg('polyline', { class: 'series', points: points.map((p) => `${xOf(p.t).toFixed(1)},${yOf(p.v, yMax).toFixed(1)}`).join(' ') }));
  for (const p of points) {
    s.append(svg('circle', { class: 'point', cx: xOf(p.t).toFixed(1), cy: yOf(p.v, yMax).toFixed(1), r: 2.5 },
      svg('title', {}, `${fmtTime(p.t, true)}: ${metric.fmt(p.v)}`)));
  }
  return s;
}

/** Distribution of the same values, bars laid along the timeline's value axis (as Spark draws it). */
function histogram(metric, points, yMax) {
  const s = svg('svg', { class: 'chart histogram', viewBox: `0 0 ${HIST_W} ${H}`, 'data-metric': metric.id, role: 'img', 'aria-label': `${metric.label} histogram` });
  const counts = new Array(BINS).fill(0);
  for (const p of points) counts[Math.min(BINS - 1, Math.floor((Math.min(p.v, yMax) / yMax) * BINS))]++;
  const cMax = Math.max(1, ...counts);
  const x0 = 10;
  const x1 = HIST_W - 40;
  const binH = (H - PAD.top - PAD.bottom) / BINS;
  s.append(svg('line', { class: 'axis', x1: x0, y1: PAD.top, x2: x0, y2: H - PAD.bottom }));
  counts.forEach((c, i) => {
    if (c === 0) return;
    const y = yOf(((i + 1) / BINS) * yMax, yMax);
    const w = (c / cMax) * (x1 - x0);
    s.append(svg('rect', { class: 'bar', x: x0, y: (y + 0.5).toFixed(1), width: w.toFixed(1), height: Math.max(1, binH - 1).toFixed(1) },
      svg('title', {}, `${metric.fmt((i / BINS) * yMax)} – ${metric.fmt(((i + 1) / BINS) * yMax)}: ${c} batches`)));
    s.append(svg('text', { x: (x0 + w + 4).toFixed(1), y: (y + binH / 2 + 3).toFixed(1) }, c));
  });
  s.append(svg('text', { x: x0, y: H - 4 }, `batches (${points.length})`));
  return s;
}

// ---------------------------------------------------------------- sections

const METRICS = [
  { id: 'input-rate', label: 'Input rate', fmt: fmtRate, value: (b, st) => b.inputRecords / (st.batchIntervalMs / 1000) },
  { id: 'scheduling-delay', label: 'Scheduling delay', fmt: fmtMs, value: (b) => b.schedulingDelayMs },
  { id: 'processing-time', label: 'Processing time', fmt: fmtMs, value: (b) => b.processingTimeMs, ref: true },
  { id: 'total-delay', label: 'Total delay', fmt: fmtMs, value: (b) => b.totalDelayMs, ref: true },
];

function statsTable(job, st) {
  // Like Spark: delays are only known once a batch completes, so the charts use completed batches.
  const done = job.recentBatches.filter((b) => b.state === 'COMPLETED');
  const body = el('tbody');
  for (const m of METRICS) {
    const points = done.map((b) => ({ t: b.batchTimeMs, v: m.value(b, st) }));
    const avg = points.length ? points.reduce((a, p) => a + p.v, 0) / points.length : 0;
    const ref = m.ref ? st.batchIntervalMs : undefined;
    const yMax = niceCeil(Math.max(...points.map((p) => p.v), ref ?? 0, 0));
    body.append(el('tr', { 'data-metric': m.id },
      el('td', { class: 'label' }, el('div', { class: 'metric' }, m.label), el('div', { class: 'avg' }, points.length ? `avg ${m.fmt(avg)}` : '–')),
      el('td', {}, timeline(m, points, yMax, ref)),
      el('td', { class: 'hist' }, histogram(m, points, yMax)),
    ));
  }
  return el('table', { class: 'stats' },
    el('thead', {}, el('tr', {}, el('th', { class: 'label' }, ''), el('th', {}, 'Timeline'), el('th', { class: 'hist' }, 'Histogram'))),
    body);
}

function batchesTable(job) {
  const rows = [...job.recentBatches].reverse().map((b) => {
    const done = b.state === 'COMPLETED';
    return el('tr', { class: `state-${b.state}`, 'data-batch-time': b.batchTimeMs },
      el('td', {}, fmtTime(b.batchTimeMs, true)),
      el('td', {}, b.state),
      el('td', { class: 'num records' }, NUMBER.format(b.inputRecords)),
      el('td', { class: 'num' }, b.inputBlocks),
      el('td', { class: 'num' }, b.state === 'QUEUED' ? '–' : fmtMs(b.schedulingDelayMs)),
      el('td', { class: 'num' }, done ? fmtMs(b.processingTimeMs) : '–'),
      el('td', { class: 'num' }, done ? fmtMs(b.totalDelayMs) : '–'),
      el('td', { class: 'num' }, b.tasks),
      el('td', { class: 'num' }, b.taskFailures),
      el('td', { class: 'num', title: 'process-local / node-local / any' }, `${b.processLocalTasks} / ${b.nodeLocalTasks} / ${b.anyTasks}`),
      el('td', { class: 'error' }, b.error),
    );
  });
  const head = ['Batch time', 'State', 'Records', 'Blocks', 'Scheduling delay', 'Processing time', 'Total delay', 'Tasks', 'Failed', 'Locality P / N / A', 'Error'];
  return el('div', { class: 'batches-wrap' },
    el('table', { class: 'batches' },
      el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', { class: i >= 2 && i <= 9 ? 'num' : undefined }, h)))),
      el('tbody', {}, ...rows)));
}

function jobSection(job, st, now) {
  const done = job.recentBatches.filter((b) => b.state === 'COMPLETED');
  const records = done.reduce((a, b) => a + b.inputRecords, 0);
  const avgRate = done.length ? records / ((done.length * st.batchIntervalMs) / 1000) : 0;
  return el('section', { class: 'job', 'data-job-id': job.jobId },
    el('h2', {}, el('span', { class: 'job-name' }, job.name || job.jobId), ' ', el('span', { class: `badge ${job.state}` }, job.state)),
    el('p', { class: 'job-meta' },
      'id ', el('b', {}, job.jobId),
      ' · streams ', el('b', {}, job.streams.join(', ') || '–'),
      ' · outputs ', el('b', {}, job.outputs.join(', ') || '–'),
      ' · running for ', el('b', {}, fmtDuration(now - job.submittedAtMs)),
      ' · ', el('b', { class: 'batches-completed' }, NUMBER.format(job.batchesCompleted)), ' batches completed',
      ' · ', el('b', { class: 'records-processed' }, NUMBER.format(job.recordsProcessed)), ' records processed',
      ' · avg input ', el('b', {}, fmtRate(avgRate)), ` over the last ${done.length} batches`,
      ' · rate limit ', el('b', { class: 'rate-limit' }, rateLimitText(job, st)),
      ' · queued ', el('b', { class: 'queued-batches' }, NUMBER.format(job.queuedBatches ?? 0)),
      job.fallingBehind ? el('span', { class: 'falling-behind' }, ' (falling behind: batches wait)') : null,
      (job.jetStreamSources ?? []).length > 0 ? ' · JetStream lag ' : null,
      (job.jetStreamSources ?? []).length > 0 ? el('b', { class: 'jetstream-lag' }, jetStreamLagText(job)) : null,
      (job.sinks ?? []).length > 0 ? ' · sinks ' : null,
      (job.sinks ?? []).length > 0 ? el('b', { class: 'sinks' }, sinksText(job)) : null),
    job.error ? el('div', { class: 'job-error' }, job.error) : null,
    statsTable(job, st),
    el('h3', {}, `Batches (last ${job.recentBatches.length}, newest first)`),
    batchesTable(job),
  );
}

// JetStream direct sources: messages behind each source's stream end (JobStatus.jetStreamSources).
function jetStreamLagText(job) {
  return job.jetStreamSources
    .map((s) => `${s.source}${s.filterSubject ? ` (${s.filterSubject})` : ''} ${NUMBER.format(Number(s.lag))} behind seq ${NUMBER.format(Number(s.lastSequence))}`)
    .join(', ');
}

// Outputs written to sinks (JobStatus.sinks): what the leading scheduler wrote, and a write being retried.
function sinksText(job) {
  return job.sinks
    .map((s) => {
      const skipped = Number(s.batchesSkipped) > 0 ? ` (${NUMBER.format(Number(s.batchesSkipped))} skipped as re-runs)` : '';
      const retrying = s.retryingAttempt > 0 ? `, retrying: attempt ${s.retryingAttempt} failed: ${s.lastError}` : '';
      return `${s.output} → ${s.sink} ${NUMBER.format(Number(s.batchesWritten))} batches${skipped}, ${NUMBER.format(Number(s.recordsWritten))} records${retrying}`;
    })
    .join('; ');
}

// Backpressure's current ingest rate for each of the job's streams (ClusterStatus.rateLimits).
function rateLimitText(job, st) {
  if (!st.backpressure) return 'off';
  const limits = new Map((st.rateLimits ?? []).map((l) => [l.stream, l.recordsPerSecond]));
  return job.streams.map((s) => `${s} ${limits.has(s) ? fmtRate(limits.get(s)) : 'none'}`).join(', ') || '–';
}

function executorRow(e) {
  const store = e.blockCapacityBytes ? `${fmtBytes(e.blockBytes)} / ${fmtBytes(e.blockCapacityBytes)}` : fmtBytes(e.blockBytes);
  return el('tr', { class: `state-${e.state}`, 'data-executor-id': e.executorId },
    el('td', {}, e.executorId), el('td', {}, e.address), el('td', {}, e.state),
    el('td', { class: 'num slots' }, e.slots), el('td', { class: 'num' }, e.freeSlots), el('td', { class: 'num' }, e.runningTasks),
    el('td', { class: 'num' }, NUMBER.format(e.blockCount)), el('td', {}, store),
    el('td', { class: 'num' }, NUMBER.format(e.tasksCompleted)), el('td', { class: 'num' }, NUMBER.format(e.tasksFailed)),
    el('td', { class: 'num' }, fmtMs(e.lastHeartbeatAgeMs)));
}

// A receiver's acked records per second, per stream, over about the last second (its heartbeats).
function receiverRow(r, now) {
  const rates = (r.ingestRates ?? []).map((x) => `${x.stream} ${fmtRate(x.recordsPerSecond)}`).join(', ') || '–';
  return el('tr', { class: `state-${r.state}`, 'data-receiver-id': r.receiverId },
    el('td', {}, r.receiverId), el('td', {}, r.address), el('td', {}, r.state),
    el('td', { class: 'ingest' }, rates), el('td', { class: 'num' }, fmtMs(Math.max(0, now - Number(r.lastSeenMs)))));
}

// ---------------------------------------------------------------- render

function render(st) {
  const now = Date.now();
  const alive = st.executors.filter((e) => e.state === 'ALIVE');
  document.getElementById('summary').replaceChildren(
    'batch interval ', el('b', {}, fmtMs(st.batchIntervalMs)),
    ' · executors ', el('b', {}, `${alive.length} alive`), ` of ${st.executors.length}`,
    ' · slots ', el('b', {}, `${alive.reduce((a, e) => a + e.freeSlots, 0)} free`), ` of ${alive.reduce((a, e) => a + e.slots, 0)}`,
    // Status is paged (GetStatus): the page gets the first page of jobs, in submission order.
    ...(st.jobsTotal > st.jobs.length ? [' · jobs ', el('b', {}, `${st.jobs.length} shown`), ` of ${st.jobsTotal}`] : []),
    // Schedulers contend for a lease (leader-lease.ts): which one leads, and whether this page is a standby's.
    ...(st.leader?.schedulerId
      ? [' · leader ', el('b', {}, st.leader.schedulerId), ` (term ${st.leader.term}, since ${fmtTime(Number(st.leader.sinceMs))})`]
      : []),
    ...(st.leader?.thisSchedulerId && st.leader.thisSchedulerId !== st.leader.schedulerId
      ? [' · ', el('b', {}, `this scheduler (${st.leader.thisSchedulerId}) stands by`), st.leader.address ? ` — the leader serves at ${st.leader.address}` : '']
      : []),
    // The NATS server the scheduler uses, and its cluster (natsReplicas copies of every stream).
    ...(st.nats
      ? [' · NATS ', el('b', {}, st.nats.connected ? st.nats.serverName || st.nats.serverUrl : 'reconnecting'),
         st.nats.cluster ? ` of ${st.nats.clusterSize} (R${st.nats.replicas})` : ` (R${st.nats.replicas})`]
      : []),
    ' · updated ', el('b', {}, fmtTime(now)));
  // Heartbeat order changes from one update to the next; a table that reshuffles is unreadable.
  const byId = [...st.executors].sort((a, b) => a.executorId.localeCompare(b.executorId, 'en', { numeric: true }));
  document.querySelector('#executors tbody').replaceChildren(...byId.map(executorRow));
  const receivers = [...(st.receivers ?? [])].sort((a, b) => a.receiverId.localeCompare(b.receiverId, 'en', { numeric: true }));
  document.querySelector('#receivers tbody').replaceChildren(...receivers.map((r) => receiverRow(r, now)));

  // Keep each job's batch table scrolled where the reader left it.
  const scroll = new Map([...document.querySelectorAll('.job')].map((s) => [s.dataset.jobId, s.querySelector('.batches-wrap')?.scrollTop ?? 0]));
  const jobs = [...st.jobs].sort((a, b) => a.submittedAtMs - b.submittedAtMs);
  const container = document.getElementById('jobs');
  if (jobs.length === 0) return;
  container.replaceChildren(...jobs.map((j) => jobSection(j, st, now)));
  for (const s of container.querySelectorAll('.job')) {
    const wrap = s.querySelector('.batches-wrap');
    if (wrap) wrap.scrollTop = scroll.get(s.dataset.jobId) ?? 0;
  }
}

function connect() {
  const badge = document.getElementById('connection');
  const set = (state, text) => { badge.dataset.state = state; badge.textContent = text; };
  // EventSource reconnects by itself (the server asks for a 2 s retry).
  const events = new EventSource('/api/events');
  events.onopen = () => set('live', 'live');
  events.onerror = () => set('lost', 'scheduler unreachable, retrying…');
  events.onmessage = (ev) => {
    try {
      render(JSON.parse(ev.data));
      set('live', 'live');
    } catch (err) {
      set('lost', `cannot show this update: ${err.message}`);
      console.error(err);
    }
  };
}

connect();
