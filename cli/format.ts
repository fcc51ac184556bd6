/**
 * Everything the CLI prints, as pure functions: tail lines (JSON and human),
 * the one-line error messages, and the status tables. Kept free of I/O so the
 * exact output is unit-tested (tests/unit/cli-args.test.ts).
 */
import { isConnectionFailure, statusName, type ClusterStatus, type ConnectionError } from '../client/index.js';
import { formatDuration } from '../lib/config/index.js';
import { CliError } from './errors.js';

export interface TailBatch {
  batchTimeMs: number;
  records: unknown[];
}

/** JSON.stringify that survives BigInt (msgpack int64) values. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
  );
}

/** `--json`: exactly `{"batchTime":<ms>,"records":[…]}`, one per line. */
export function formatTailJson(batch: TailBatch): string {
  return toJson({ batchTime: batch.batchTimeMs, records: batch.records });
}

function formatKey(key: unknown): string {
  if (typeof key === 'string' && /^[^\s="]+$/.test(key)) return key;
  return toJson(key);
}

function formatRecord(record: unknown): string {
  // [key, value] pairs (the output of reduceByKey) read best as key=value.
  if (Array.isArray(record) && record.length === 2 && (typeof record[0] === 'string' || typeof record[0] === 'number')) {
    return `${formatKey(record[0])}=${toJson(record[1])}`;
  }
  return toJson(record);
}

/**
 * Human form: `<ISO batch time>  <n> records  k=v k=v …`, at most `maxRecords`
 * records shown so one batch stays one line.
 */
export function formatTailHuman(batch: TailBatch, opts: { maxRecords?: number } = {}): string {
  const max = opts.maxRecords ?? 20;
  const n = batch.records.length;
  const head = `${new Date(batch.batchTimeMs).toISOString()}  ${n} record${n === 1 ? '' : 's'}`;
  if (n === 0) return head;
  // Word-count-like outputs ([key, number] pairs) read best largest first; anything else keeps its order.
  const pairs = batch.records.every((r) => Array.isArray(r) && r.length === 2 && typeof r[1] === 'number');
  const ordered = pairs ? [...(batch.records as Array<[unknown, number]>)].sort((a, b) => b[1] - a[1]) : batch.records;
  const shown = ordered.slice(0, max).map(formatRecord).join(' ');
  return `${head}  ${shown}${n > max ? ` … (+${n - max} more)` : ''}`;
}

/** What `rivulet slice` says about an answer, besides its batches. */
export interface SliceSummary {
  jobId: string;
  output: string;
  fromMs: number;
  toMs: number;
  gridMs: number;
  batches: readonly unknown[];
  retained: { oldestMs: number; newestMs: number; batches: number } | undefined;
  truncated: boolean;
  pending: boolean;
  jobState: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `rivulet slice`'s lines for stderr: what was served (the aligned range,
 * the grid, the retained window) and, when the answer is partial, why —
 * naming the scheduler options that keep more.
 */
export function formatSliceSummary(s: SliceSummary): string[] {
  const n = s.batches.length;
  const retained = s.retained
    ? `retained ${iso(s.retained.oldestMs)} .. ${iso(s.retained.newestMs)} (${s.retained.batches} batch${s.retained.batches === 1 ? '' : 'es'})`
    : 'nothing retained yet';
  const lines = [
    `${s.jobId}/${s.output}: ${n} batch${n === 1 ? '' : 'es'} from ${iso(s.fromMs)} to ${iso(s.toMs)} (aligned to the ${formatDuration(s.gridMs)} grid); ${retained}; job ${s.jobState}`,
  ];
  if (s.truncated && s.retained) {
    lines.push(
      `warning: the range starts before the oldest retained batch (${iso(s.retained.oldestMs)}): batches committed before it are no longer kept ` +
        `(the scheduler keeps outputRetentionBatches / outputRetentionBytes per output)`,
    );
  }
  if (s.pending) {
    lines.push(
      `note: the range reaches past the newest committed batch${s.retained ? ` (${iso(s.retained.newestMs)})` : ''} of a running job: later batches are not committed yet`,
    );
  }
  return lines;
}

/**
 * Collapse a multi-line message into one line: "cannot bundle x.ts:\n a.ts:3:1: y"
 * → "cannot bundle x.ts: a.ts:3:1: y"; separate further lines with "; ".
 */
export function oneLine(message: string): string {
  const lines = message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  let out = '';
  for (const line of lines) {
    if (!out) out = line;
    else out += (out.endsWith(':') ? ' ' : '; ') + line;
  }
  return out;
}

export interface ErrorContext {
  /** Which service the command talks to by default, for transport failures. */
  service?: 'scheduler' | 'receiver';
  schedulerAddress?: string;
  receiverAddress?: string;
}

/**
 * The single stderr line for a failed command: `rivulet <cmd>: <message>`.
 * gRPC errors carry their status name (`NOT_FOUND: …`); a cluster that cannot
 * be reached gets the hint to start one.
 */
export function formatErrorLine(command: string, err: unknown, ctx: ErrorContext = {}): string {
  const prefix = `rivulet ${command}: `;
  if (err instanceof CliError) return prefix + oneLine(err.message);
  if (isConnectionFailure(err)) {
    const ce = err as Partial<ConnectionError>;
    const service = ce.service ?? ctx.service ?? 'scheduler';
    const address = ce.address ?? (service === 'receiver' ? ctx.receiverAddress : ctx.schedulerAddress) ?? 'its address';
    return `${prefix}cannot reach the ${service} at ${address}: is the cluster up? (rivulet up)`;
  }
  // A raw grpc-js error's message is "<code> <NAME>: <details>"; the details alone read better.
  const details = (err as { details?: unknown })?.details;
  const message = oneLine(typeof details === 'string' && details ? details : err instanceof Error ? err.message : String(err));
  const code = (err as { code?: unknown })?.code;
  const name = typeof code === 'number' ? statusName(code) : undefined;
  if (name && name !== 'OK' && !message.startsWith(name)) return `${prefix}${name}: ${message}`;
  return prefix + message;
}

function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

function ms(v: number): string {
  return v >= 10_000 ? `${(v / 1000).toFixed(1)}s` : `${Math.round(v)}ms`;
}

/** `nats: nats-2 at 127.0.0.1:4223, cluster rivulet of 3 servers, 3 replicas` (the scheduler's connection). */
function formatNats(n: NonNullable<ClusterStatus['nats']>): string {
  const where = n.connected ? `${n.serverName || '?'} at ${n.serverUrl}` : `disconnected (last ${n.serverName || '?'} at ${n.serverUrl}), reconnecting`;
  const cluster = n.cluster ? `cluster ${n.cluster} of ${n.clusterSize} server${n.clusterSize === 1 ? '' : 's'}` : 'a single server';
  return `nats: ${where}, ${cluster}, ${n.replicas} replica${n.replicas === 1 ? '' : 's'} of every stream (natsReplicas)`;
}

/** The human `rivulet status` report. */
export function formatStatus(status: ClusterStatus, opts: { batches?: number } = {}): string {
  const out: string[] = [];
  const alive = status.executors.filter((e) => e.state === 'ALIVE').length;
  out.push(`batch interval ${formatDuration(Number(status.batchIntervalMs))}; ${alive} of ${status.executors.length} executors alive; ${status.jobs.length} job(s)`);
  const l = status.leader;
  if (l?.schedulerId) {
    out.push(
      `leader: scheduler ${l.schedulerId} at ${l.address} (term ${String(l.term)}, since ${new Date(Number(l.sinceMs)).toISOString()}; ` +
        `took the lease ${l.timesElected}×, lost it ${l.timesDeposed}×)`,
    );
  }
  if (status.nats) out.push(formatNats(status.nats));
  out.push('');
  out.push('EXECUTORS');
  if (status.executors.length === 0) out.push('  (none registered: start executors with `rivulet up --executors N`)');
  else
    out.push(
      ...table(
        ['ID', 'STATE', 'ADDRESS', 'SLOTS', 'FREE', 'RUNNING', 'BLOCKS', 'BLOCK STORE', 'TASKS OK', 'FAILED', 'HEARTBEAT'],
        status.executors.map((e) => [
          e.executorId,
          e.state,
          e.address,
          String(e.slots),
          String(e.freeSlots),
          String(e.runningTasks),
          String(e.blockCount),
          `${formatBytes(Number(e.blockBytes))} / ${formatBytes(Number(e.blockCapacityBytes))}`,
          String(e.tasksCompleted),
          String(e.tasksFailed),
          `${ms(Number(e.lastHeartbeatAgeMs))} ago`,
        ]),
      ).map((l) => '  ' + l),
    );
  const executorsTotal = Number(status.executorsTotal ?? 0);
  if (executorsTotal > status.executors.length) out.push(`  … and ${executorsTotal - status.executors.length} more executors not listed (status lists at most ${status.executors.length})`);
  const receivers = status.receivers ?? [];
  if (receivers.length > 0) {
    out.push('');
    out.push('RECEIVERS');
    out.push(
      ...table(
        ['ID', 'STATE', 'ADDRESS', 'INGEST (records/s, per stream)'],
        receivers.map((r) => [
          r.receiverId,
          r.state,
          r.address,
          r.ingestRates.length === 0 ? '-' : r.ingestRates.map((x) => `${x.stream} ${Math.round(x.recordsPerSecond)}`).join(', '),
        ]),
      ).map((l) => '  ' + l),
    );
  }
  out.push('');
  out.push('JOBS');
  if (status.jobs.length === 0) out.push('  (none: submit one with `rivulet submit <job.ts>`)');
  else
    out.push(
      ...table(
        ['ID', 'NAME', 'OWNER', 'STATE', 'STREAMS', 'OUTPUTS', 'BATCHES', 'RECORDS', 'GROUP', 'ERROR'],
        status.jobs.map((j) => [
          j.jobId,
          j.name,
          // Who submitted it (security on); '-' with --insecure.
          j.owner || '-',
          j.state,
          j.streams.join(',') || '-',
          j.outputs.join(',') || '-',
          String(j.batchesCompleted),
          String(j.recordsProcessed),
          // Group scheduling: batches per plan, or '-' when each batch is launched by the scheduler (the reason is in --json: groupNote).
          j.groupSize > 0 ? String(j.groupSize) : '-',
          oneLine(j.error || '') || '-',
        ]),
      ).map((l) => '  ' + l),
    );
  const jobsTotal = Number(status.jobsTotal ?? 0);
  if (jobsTotal > status.jobs.length) out.push(`  … and ${jobsTotal - status.jobs.length} more jobs not shown (status is paged: see --json and GetStatus page_token)`);
  out.push('');
  out.push(...formatRateLimits(status));
  const sources = formatJetStreamSources(status);
  if (sources.length > 0) out.push('', ...sources);
  const sinks = formatSinks(status);
  if (sinks.length > 0) out.push('', ...sinks);
  for (const j of status.jobs) {
    const batches = j.recentBatches.slice(-(opts.batches ?? 10));
    if (batches.length === 0) continue;
    out.push('');
    out.push(`RECENT BATCHES of ${j.jobId} (${j.name})`);
    out.push(
      ...table(
        ['BATCH TIME', 'STATE', 'RECORDS', 'BLOCKS', 'SCHED DELAY', 'PROCESSING', 'TOTAL DELAY', 'TASKS', 'PLANNED', 'FAILED', 'LOCALITY proc/node/any (hit rate)', 'ERROR'],
        batches.map((b) => [
          new Date(Number(b.batchTimeMs)).toISOString(),
          b.state,
          String(b.inputRecords),
          String(b.inputBlocks),
          ms(b.schedulingDelayMs),
          ms(b.processingTimeMs),
          ms(b.totalDelayMs),
          String(b.tasks),
          String(b.plannedTasks),
          String(b.taskFailures),
          localityCell(b.processLocalTasks, b.nodeLocalTasks, b.anyTasks),
          oneLine(b.error || '') || '-',
        ]),
      ).map((l) => '  ' + l),
    );
  }
  return out.join('\n');
}

/**
 * JetStream direct sources (JobStatus.jetStreamSources): per job, source and
 * subject filter, the stream's last sequence, the end of the last completed
 * batch's range and the lag between them (messages behind). Nothing when no
 * job reads one.
 */
export function formatJetStreamSources(status: Pick<ClusterStatus, 'jobs'>): string[] {
  const rows = status.jobs.flatMap((j) =>
    (j.jetStreamSources ?? []).map((s) => [
      j.jobId,
      s.source,
      s.stream,
      s.filterSubject || '(all)',
      String(s.lastSequence),
      String(s.committedSequence),
      String(s.decidedSequence),
      String(s.lag),
    ]),
  );
  if (rows.length === 0) return [];
  return [
    'JETSTREAM SOURCES (lag: messages behind the stream\'s last sequence)',
    ...table(['JOB', 'SOURCE', 'STREAM', 'SUBJECTS', 'LAST SEQ', 'COMMITTED', 'DECIDED', 'LAG'], rows).map((l) => '  ' + l),
  ];
}

/**
 * Outputs written to sinks (JobStatus.sinks): per job and output, the sink,
 * batches written and skipped as re-runs, records stored, the latest batch, and
 * the last error — with the attempt while a write is being retried. Nothing
 * when no job writes to a sink.
 */
export function formatSinks(status: Pick<ClusterStatus, 'jobs'>): string[] {
  const rows = status.jobs.flatMap((j) =>
    (j.sinks ?? []).map((s) => [
      j.jobId,
      s.output,
      s.sink,
      String(s.batchesWritten),
      String(s.batchesSkipped),
      String(s.recordsWritten),
      Number(s.lastBatchTimeMs) > 0 ? new Date(Number(s.lastBatchTimeMs)).toISOString() : '-',
      s.retryingAttempt > 0 ? `retrying (attempt ${s.retryingAttempt} failed): ${oneLine(s.lastError)}` : s.lastError ? `${new Date(Number(s.lastErrorAtMs)).toISOString()} ${oneLine(s.lastError)}` : '-',
    ]),
  );
  if (rows.length === 0) return [];
  return [
    "SINKS (this scheduler's writes since it started; SKIPPED: batches the sink had already, re-runs)",
    ...table(['JOB', 'OUTPUT', 'SINK', 'WRITTEN', 'SKIPPED', 'RECORDS', 'LAST BATCH', 'LAST ERROR'], rows).map((l) => '  ' + l),
  ];
}

/**
 * Backpressure's ingest rate per input stream (ClusterStatus.rateLimits), with
 * the running jobs reading it: a stream has one limit, the lowest of those
 * jobs' rates, enforced by the receiver. A stream of a running job with no
 * limit yet is listed as such (not measured yet, and no backpressureInitialRate).
 */
export function formatRateLimits(status: Pick<ClusterStatus, 'backpressure' | 'rateLimits' | 'jobs'>): string[] {
  if (!status.backpressure) return ['RATE LIMITS  off (scheduler option backpressure=false): streams are ingested as fast as producers push'];
  const readers = new Map<string, string[]>();
  for (const j of status.jobs) {
    if (j.state !== 'RUNNING') continue;
    for (const s of j.streams) readers.set(s, [...(readers.get(s) ?? []), j.jobId]);
  }
  const limits = new Map(status.rateLimits.map((l) => [l.stream, l.recordsPerSecond]));
  const streams = [...new Set([...limits.keys(), ...readers.keys()])].sort();
  const out = ['RATE LIMITS (backpressure, per stream: the lowest rate of the jobs reading it)'];
  if (streams.length === 0) return [...out, '  (no stream is read by a running job)'];
  const rate = (r: number | undefined) => (r === undefined ? 'none yet (not measured)' : `${Math.round(r)} records/s`);
  return [...out, ...table(['STREAM', 'LIMIT', 'JOBS'], streams.map((s) => [s, rate(limits.get(s)), readers.get(s)?.join(',') ?? '-'])).map((l) => '  ' + l)];
}

/** Input tasks by locality level and the share that ran where their block was. */
export function localityCell(processLocal: number, nodeLocal: number, any: number): string {
  const all = processLocal + nodeLocal + any;
  const rate = all === 0 ? '-' : `${Math.round((100 * processLocal) / all)}%`;
  return `${processLocal}/${nodeLocal}/${any} (${rate})`;
}
