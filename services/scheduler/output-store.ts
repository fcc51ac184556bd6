/**
 * Committed outputs: every batch of every (job, output) is committed exactly
 * once — a second commit of the same batch time (a recomputed batch, a
 * speculative duplicate) is ignored — kept in a bounded ring for replays, and
 * pushed to live watchers. Bounds: `retentionBatches` and `retentionBytes`
 * per (job, output); the oldest batches are dropped from the ring (never from
 * a live watcher's stream) and counted in `evictedBatches`.
 */
export interface CommittedBatch {
  batchTimeMs: number;
  count: number;
  payload: Buffer;
}

export interface OutputWatcher {
  send(batch: CommittedBatch): void;
  /** The job ended: ok=true for a stop, false with a message for a failure. */
  end(ok: boolean, message?: string): void;
  /** This scheduler stops serving the output (shutdown, stepped down): the watcher should reconnect, to the leader. */
  interrupt(message: string): void;
}

class OutputLog {
  readonly batches: CommittedBatch[] = [];
  bytes = 0;
  lastCommitted = -Infinity;
  evictedBatches = 0;
  readonly watchers = new Set<OutputWatcher>();
}

export class OutputStore {
  private readonly logs = new Map<string, OutputLog>();

  constructor(
    private readonly retentionBatches: number,
    private readonly retentionBytes: number,
  ) {}

  private key(jobId: string, output: string): string {
    return `${jobId}\u0000${output}`;
  }

  declare(jobId: string, output: string): void {
    const k = this.key(jobId, output);
    if (!this.logs.has(k)) this.logs.set(k, new OutputLog());
  }

  has(jobId: string, output: string): boolean {
    return this.logs.has(this.key(jobId, output));
  }

  /** Returns false when this batch was already committed (exactly-once). */
  commit(jobId: string, output: string, batch: CommittedBatch): boolean {
    const log = this.logs.get(this.key(jobId, output));
    if (!log) throw new Error(`output ${output} of job ${jobId} was never declared`);
    if (batch.batchTimeMs <= log.lastCommitted) return false;
    this.retain(log, batch);
    for (const w of log.watchers) w.send(batch);
    return true;
  }

  /** Keep `batch` in the ring (a later one than every kept), dropping the oldest beyond the bounds. */
  private retain(log: OutputLog, batch: CommittedBatch): void {
    log.lastCommitted = batch.batchTimeMs;
    log.batches.push(batch);
    log.bytes += batch.payload.length;
    while (log.batches.length > this.retentionBatches || (log.bytes > this.retentionBytes && log.batches.length > 1)) {
      const old = log.batches.shift()!;
      log.bytes -= old.payload.length;
      log.evictedBatches++;
    }
  }

  /**
   * Take back the batches a job committed before a scheduler restart
   * (durable-outputs.ts), oldest first: replayed to watchers that ask from
   * the beginning, and a later commit of one of them is ignored.
   */
  restore(jobId: string, output: string, batches: readonly CommittedBatch[]): void {
    const log = this.logs.get(this.key(jobId, output));
    if (!log) throw new Error(`output ${output} of job ${jobId} was never declared`);
    for (const b of batches) if (b.batchTimeMs > log.lastCommitted) this.retain(log, b);
  }

  watch(jobId: string, output: string, watcher: OutputWatcher, fromBeginning: boolean): () => void {
    const log = this.logs.get(this.key(jobId, output));
    if (!log) throw new Error(`output ${output} of job ${jobId} was never declared`);
    if (fromBeginning) for (const b of log.batches) watcher.send(b);
    log.watchers.add(watcher);
    return () => log.watchers.delete(watcher);
  }

  /** End every watcher of a job's outputs. */
  endJob(jobId: string, ok: boolean, message?: string): void {
    for (const [k, log] of this.logs) {
      if (!k.startsWith(`${jobId}\u0000`)) continue;
      for (const w of log.watchers) w.end(ok, message);
      log.watchers.clear();
    }
  }

  /** End every watcher with a retryable interruption: this scheduler stops serving (it shuts down or no longer leads). */
  interruptAll(message: string): void {
    for (const log of this.logs.values()) {
      for (const w of log.watchers) w.interrupt(message);
      log.watchers.clear();
    }
  }

  /** Forget a job's outputs altogether (a withdrawn submission); its watchers were ended by endJob. */
  forgetJob(jobId: string): void {
    for (const k of [...this.logs.keys()]) if (k.startsWith(`${jobId}\u0000`)) this.logs.delete(k);
  }

  retained(jobId: string, output: string): readonly CommittedBatch[] {
    return this.logs.get(this.key(jobId, output))?.batches ?? [];
  }
}
