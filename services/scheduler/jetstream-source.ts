/**
 * The scheduler's side of JetStream direct sources (ctx.jetStream; Spark's
 * Kafka DirectKafkaInputDStream): for each batch of a job that reads one, the
 * range of stream sequences of every subject filter, decided at the batch's
 * turn from the stream's state (STREAM.INFO) and journaled before the batch
 * may run; then the range is cut into slices, the batch's input blocks.
 *
 * Exactly once: ranges are contiguous and decided in batch order (each starts
 * right after the previous one ended), and a batch runs only once its range
 * is durable in the job journal bucket (key `jsrange.<job>`, written through
 * the leader lease's fenced writes, so a deposed leader cannot write one). A
 * restarted or failed-over scheduler re-runs every batch after the last one
 * the journal says completed: a batch with a journaled range reads exactly
 * that range again, later batches get new ranges after the last journaled
 * end. Outputs are committed once per (job, output, batch time), so every
 * message reaches the outputs exactly once. A range is forgotten only once
 * its batch's completion is journaled.
 *
 * Owns: each job's positions, decided ranges and the stream heads seen (lag).
 * May not: change a batch's state other than giving it its inputs, or fail a
 * job itself (it asks `fail`). Runs on the scheduler's loop: the stream info
 * and journal writes are asynchronous and come back as events.
 */
import type { Clock } from '../../lib/clock.js';
import type { SourceNode } from '../../lib/dstream/graph.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { JetStreamSourceStatus } from '../../lib/proto/gen/rivulet/v1/JetStreamSourceStatus.js';
import {
  decideRange,
  notGrantedMessage,
  sliceBlockId,
  sliceRange,
  startPosition,
  subjectsOverlap,
  type JetStreamSourceSpec,
  type SeqRange,
} from '../../lib/sources/jetstream-ranges.js';
import type { BatchRun, InputBlock } from './batch-run.js';
import type { PostEvent } from './events.js';
import type { Job } from './job-registry.js';
import type { JetStreamJournal, JetStreamSourcePorts, StreamInfoAnswer } from './jetstream-journal.js';

export type { JetStreamJournal, JetStreamSourcePorts, StreamInfoAnswer } from './jetstream-journal.js';





const key = (f: { source: string; filterIndex: number }) => `${f.source}/${f.filterIndex}`;
/** How long a failed stream-info read or journal write waits before the decision is tried again. */
const RETRY_MS = 500;

interface JobPositions {
  journal: JetStreamJournal;
  /** A decision (stream info or journal write) is in flight: ranges are decided one batch at a time. */
  busy: boolean;
  /** The stream's last sequence when last seen, per filter key (status, metrics). */
  lastSeq: Map<string, number>;
  /** End of the last completed batch's range, per filter key (in memory: ahead of the journal's). */
  committed: Map<string, number>;
}

export interface JetStreamSourceDeps {
  clock: Clock;
  ports: JetStreamSourcePorts;
  post: PostEvent;
  /** The job's batches not finished, oldest first (job-generator.ts queue). */
  queue(jobId: string): readonly BatchRun[];
  /** The run's inputs are all known: queue it (job-generator.ts). */
  inputsAttached(run: BatchRun): void;
  fail(job: Job, message: string): void;
  log: Logger;
}

export class JetStreamSource {
  private readonly jobs = new Map<string, JobPositions>();

  constructor(private readonly d: JetStreamSourceDeps) {}

  /** A job started or resumed; `journal` is what an earlier scheduler journaled for it. */
  addJob(job: Job, journal?: JetStreamJournal): void {
    if (job.graph.jetStreamSources.length === 0) return;
    const j: JetStreamJournal = journal ? structuredClone(journal) : { next: {}, committed: {}, pending: [] };
    // Ranges of batches the journal says completed will not run again.
    const last = job.lastCompletedBatchMs ?? Number.NEGATIVE_INFINITY;
    for (const r of j.pending) if (r.batchTimeMs <= last) j.committed[key(r)] = Math.max(j.committed[key(r)] ?? 0, r.last);
    j.pending = j.pending.filter((r) => r.batchTimeMs > last);
    this.jobs.set(job.id, { journal: j, busy: false, lastSeq: new Map(), committed: new Map(Object.entries(j.committed)) });
  }

  dropJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  /** Decide the next batch's ranges of every job that has one waiting for them (after a tick, a restore, a decision). */
  poll(jobs: Iterable<Job>): void {
    for (const job of jobs) {
      const pos = this.jobs.get(job.id);
      if (!pos || pos.busy || job.state !== 'RUNNING') continue;
      const run = this.nextWaiting(job);
      if (!run) continue;
      const journaled = pos.journal.pending.filter((r) => r.batchTimeMs === run.batchTimeMs);
      if (journaled.length > 0) {
        // Decided and journaled by an earlier scheduler: the batch reads exactly that again.
        this.attach(job, run, journaled);
        continue;
      }
      pos.busy = true;
      const streams = [...new Set(job.graph.jetStreamSources.map((s) => s.jetStream.stream))];
      Promise.all(streams.map(async (s) => [s, await this.d.ports.streamInfo(s)] as const)).then(
        (infos) => this.d.post({ type: 'jetStreamInfo', jobId: job.id, batchTimeMs: run.batchTimeMs, infos: new Map(infos) }),
        (err: unknown) => this.d.post({ type: 'jetStreamInfo', jobId: job.id, batchTimeMs: run.batchTimeMs, error: errorMessage(err) }),
      );
    }
  }

  /** The oldest run of the job still waiting for its JetStream inputs. */
  private nextWaiting(job: Job): BatchRun | undefined {
    const sources = job.graph.jetStreamSources;
    for (const run of this.d.queue(job.id)) {
      if (run.state !== 'WAITING_INPUT') continue;
      if (sources.some((s) => !run.inputs.has(s.stream))) return run;
    }
    return undefined;
  }

  /** The streams' state at the batch's turn: decide its ranges, journal them, then give them to the run. */
  streamInfo(job: Job | undefined, batchTimeMs: number, infos: ReadonlyMap<string, StreamInfoAnswer> | undefined, error: string | undefined): void {
    const pos = job && this.jobs.get(job.id);
    if (!job || !pos) return;
    if (job.state !== 'RUNNING') return void (pos.busy = false);
    if (!infos) {
      this.d.log.warn({ jobId: job.id, batchTimeMs, err: error }, 'cannot read the JetStream stream state for a batch’s range; retrying');
      return this.retryLater(job);
    }
    const decided: JetStreamJournal['pending'] = [];
    const next = { ...pos.journal.next };
    for (const src of job.graph.jetStreamSources) {
      const spec = src.jetStream;
      const info = infos.get(spec.stream)!;
      const problem = this.streamProblem(src, spec, info);
      if (problem) {
        pos.busy = false;
        return this.d.fail(job, problem);
      }
      const head = (info as Extract<StreamInfoAnswer, { exists: true }>).head;
      for (let i = 0; i < spec.subjects.length; i++) {
        const k = key({ source: src.stream, filterIndex: i });
        pos.lastSeq.set(k, head.lastSeq);
        const from = next[k] ?? startPosition(spec.startAt, head);
        const d = decideRange(from, head, spec.maxMessagesPerBatch, spec.onPurged);
        if (d.kind === 'purged') {
          pos.busy = false;
          return this.d.fail(job, purgedMessage(src.stream, spec, i, d.missing));
        }
        if (d.skipped) {
          this.d.log.warn({ jobId: job.id, source: src.stream, stream: spec.stream, skipped: d.skipped }, 'JetStream messages purged before they were read were skipped (onPurged=skip)');
        }
        next[k] = d.range.last + 1;
        if (!pos.committed.has(k)) pos.committed.set(k, from - 1);
        decided.push({ batchTimeMs, source: src.stream, filterIndex: i, first: d.range.first, last: d.range.last });
      }
    }
    const run = this.d.queue(job.id).find((r) => r.batchTimeMs === batchTimeMs && r.state === 'WAITING_INPUT');
    if (!run) return void (pos.busy = false);
    const nonEmpty = decided.filter((r) => r.last >= r.first);
    if (nonEmpty.length === 0 && sameNext(next, pos.journal.next)) {
      // Nothing new: an empty range need not be journaled (a re-run decides again from the same place).
      pos.busy = false;
      this.attach(job, run, decided);
      return this.poll([job]);
    }
    // Log before the batch may run: the journal holds its ranges (and the new positions) first.
    const journal: JetStreamJournal = { next, committed: { ...pos.journal.committed }, pending: [...pos.journal.pending, ...nonEmpty] };
    this.d.ports.writeRanges(job.id, journal).then(
      () => this.d.post({ type: 'jetStreamJournaled', jobId: job.id, batchTimeMs, journal, decided }),
      (err: unknown) => this.d.post({ type: 'jetStreamJournaled', jobId: job.id, batchTimeMs, error: errorMessage(err) }),
    );
  }

  /** The ranges are durable (or could not be written: decided again later, from the same positions). */
  journaled(job: Job | undefined, batchTimeMs: number, journal: JetStreamJournal | undefined, decided: JetStreamJournal['pending'] | undefined, error: string | undefined): void {
    const pos = job && this.jobs.get(job.id);
    if (!job || !pos) return;
    if (!journal || !decided) {
      this.d.log.warn({ jobId: job.id, batchTimeMs, err: error }, 'cannot journal a batch’s JetStream ranges; the batch waits and they are decided again');
      return this.retryLater(job);
    }
    pos.journal = journal;
    pos.busy = false;
    const run = this.d.queue(job.id).find((r) => r.batchTimeMs === batchTimeMs && r.state === 'WAITING_INPUT');
    if (run) this.attach(job, run, decided);
    this.poll([job]);
  }

  private retryLater(job: Job): void {
    this.d.clock.setTimeout(() => this.d.post({ type: 'jetStreamRetry', jobId: job.id }), RETRY_MS);
  }

  /** A retry's timer fired: the job may decide again. */
  retry(job: Job | undefined): void {
    const pos = job && this.jobs.get(job.id);
    if (!job || !pos) return;
    pos.busy = false;
    this.poll([job]);
  }

  /** Give the run its slices, source by source (each source's filters one after the other). */
  private attach(job: Job, run: BatchRun, ranges: JetStreamJournal['pending']): void {
    for (const src of job.graph.jetStreamSources) {
      const spec = src.jetStream;
      const blocks: InputBlock[] = [];
      for (let i = 0; i < spec.subjects.length; i++) {
        const r = ranges.find((x) => x.source === src.stream && x.filterIndex === i);
        if (!r) continue;
        for (const s of sliceRange(r, spec.messagesPerSlice)) {
          blocks.push({
            blockId: sliceBlockId(src.stream, i, s),
            records: s.last - s.first + 1,
            bytes: 0,
            executorIds: [],
            jetStream: { stream: spec.stream, filterSubject: spec.subjects[i]!, firstSeq: s.first, lastSeq: s.last, onPurged: spec.onPurged },
          });
        }
      }
      run.inputs.set(src.stream, blocks);
    }
    if (run.hasAllInputs()) this.d.inputsAttached(run);
  }

  private streamProblem(src: SourceNode, spec: JetStreamSourceSpec, info: StreamInfoAnswer): string | undefined {
    if (!info.exists && info.forbidden) {
      return `JetStream source ${JSON.stringify(src.stream)}: ${notGrantedMessage(spec.stream)}`;
    }
    if (!info.exists) {
      return `JetStream source ${JSON.stringify(src.stream)}: the stream ${JSON.stringify(spec.stream)} does not exist (never created, or deleted while the job ran)`;
    }
    for (const f of spec.subjects) {
      if (f !== '' && !info.subjects.some((s) => subjectsOverlap(f, s))) {
        return (
          `JetStream source ${JSON.stringify(src.stream)}: the subject filter ${JSON.stringify(f)} matches none of stream ` +
          `${JSON.stringify(spec.stream)}'s subjects (${info.subjects.map((s) => JSON.stringify(s)).join(', ')})`
        );
      }
    }
    return undefined;
  }

  /** A batch's completion is journaled: its ranges will not run again and are forgotten at the next write. */
  batchJournaled(run: BatchRun): void {
    const pos = this.jobs.get(run.job.id);
    if (!pos || run.state !== 'COMPLETED') return;
    for (const r of pos.journal.pending) if (r.batchTimeMs <= run.batchTimeMs) pos.journal.committed[key(r)] = Math.max(pos.journal.committed[key(r)] ?? 0, r.last);
    pos.journal.pending = pos.journal.pending.filter((r) => r.batchTimeMs > run.batchTimeMs);
  }

  /** A batch completed: its ranges are read (lag). */
  batchCompleted(run: BatchRun): void {
    const pos = this.jobs.get(run.job.id);
    if (!pos) return;
    for (const src of run.job.graph.jetStreamSources) {
      for (const b of run.inputs.get(src.stream) ?? []) {
        const i = Number(b.blockId.split('/')[2]);
        const k = key({ source: src.stream, filterIndex: i });
        pos.committed.set(k, Math.max(pos.committed.get(k) ?? 0, Number(b.jetStream?.lastSeq ?? 0)));
      }
    }
  }

  /** Every filter of every source of the job: how far it has read and how far behind it is. */
  status(job: Job): JetStreamSourceStatus[] {
    const pos = this.jobs.get(job.id);
    if (!pos) return [];
    const out: JetStreamSourceStatus[] = [];
    for (const src of job.graph.jetStreamSources) {
      src.jetStream.subjects.forEach((filter, i) => {
        const k = key({ source: src.stream, filterIndex: i });
        const last = pos.lastSeq.get(k) ?? 0;
        const committed = pos.committed.get(k) ?? 0;
        const decided = (pos.journal.next[k] ?? 1) - 1;
        out.push({
          source: src.stream,
          stream: src.jetStream.stream,
          filterSubject: filter,
          lastSequence: last,
          committedSequence: committed,
          lag: Math.max(0, last - committed),
          decidedSequence: decided,
        });
      });
    }
    return out;
  }
}

function sameNext(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function purgedMessage(source: string, spec: JetStreamSourceSpec, filterIndex: number, missing: SeqRange): string {
  const filter = spec.subjects[filterIndex] ? ` (subjects ${spec.subjects[filterIndex]})` : '';
  return (
    `JetStream source ${JSON.stringify(source)}: stream ${JSON.stringify(spec.stream)}${filter} no longer holds sequences ${missing.first}-${missing.last}: ` +
    "its retention removed them before the job read them (onPurged 'fail'; set onPurged: 'skip' to read what is left)"
  );
}
