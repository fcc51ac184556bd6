/**
 * The Rivulet client SDK: submit jobs, watch their outputs batch by batch,
 * read cluster status, and push records (through RecordPusher).
 *
 *   const client = new RivuletClient({ scheduler: '127.0.0.1:7071', receiver: '127.0.0.1:7070' });
 *   const { jobId } = await client.submitJob('examples/wordcount.ts');
 *   for await (const batch of client.watchOutput(jobId, 'counts')) console.log(batch.records);
 *
 * Every failure surfaces as a typed error from lib/errors.ts carrying its gRPC
 * status code; a peer that cannot be reached at all surfaces as
 * `ConnectionError` (an UnavailableError naming the service and address), so
 * callers can tell "the cluster is down" from "the cluster said no".
 * Retries and deadlines are decided here and in lib/grpc/client.ts, never by
 * callers: `status`, `listStreams`, `slice` and `stopJob` take up to 3 attempts on the
 * transient codes (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED);
 * `submitJob` and pushes are sent once; `watchOutput` is watched again only
 * with `reconnect`. Every other code, ABORTED (a failed job) included, is final.
 */
import { status as Status, type ClientReadableStream } from '@grpc/grpc-js';
import { bundleJob } from '../lib/dstream/bundle.js';
import { dial, unary, withRetries, type CallOptions } from '../lib/grpc/client.js';
import { checkSliceRange } from '../lib/dstream/slice.js';
import { SchedulerEndpoints, standbyRefusal } from '../lib/grpc/scheduler-endpoints.js';
import type { ReceiverClient, SchedulerClient } from '../lib/proto/index.js';
import type { ClusterStatus__Output } from '../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { ExecutorStatus__Output } from '../lib/proto/gen/rivulet/v1/ExecutorStatus.js';
import type { JobStatus__Output } from '../lib/proto/gen/rivulet/v1/JobStatus.js';
import type { BatchStatus__Output } from '../lib/proto/gen/rivulet/v1/BatchStatus.js';
import type { OutputBatch__Output } from '../lib/proto/gen/rivulet/v1/OutputBatch.js';
import type { SliceOutputPart__Output } from '../lib/proto/gen/rivulet/v1/SliceOutputPart.js';
import type { SliceWindow__Output } from '../lib/proto/gen/rivulet/v1/SliceWindow.js';
import { OutputBatchAssembler, type OutputBatch } from './output-pieces.js';
import { ConnectionError, isConnectionFailure, typedCallError as typed } from './connection.js';
import { RecordPusher, type RecordPusherOptions } from './push.js';
import { clientSecurityFromEnv, type TransportSecurity } from './credentials.js';

export { ConnectionError, isConnectionFailure, RecordPusher, clientSecurityFromEnv };
export type { RecordPusherOptions, TransportSecurity, OutputBatch };

export type ClusterStatus = ClusterStatus__Output;
export type ExecutorStatus = ExecutorStatus__Output;
export type JobStatus = JobStatus__Output;
export type BatchStatus = BatchStatus__Output;

/** The default addresses, which are also the services' default ports. */
export const DEFAULT_SCHEDULER_ADDRESS = '127.0.0.1:7071';
export const DEFAULT_RECEIVER_ADDRESS = '127.0.0.1:7070';

export interface RivuletClientOptions {
  /** Scheduler address (host:port). @default "127.0.0.1:7071" */
  scheduler?: string;
  /**
   * Receiver address (host:port), used by pushers; several comma-separated (several receivers): pushers spread over
   * them and each fails over to the next when its receiver is lost (README "Several receivers"). @default "127.0.0.1:7070"
   */
  receiver?: string;
  /** Deadline of each unary call. @default 10000 */
  timeoutMs?: number;
  /**
   * Largest gRPC message sent or received on the scheduler channel and by
   * `dialReceiver()`. Pushers size their messages by the receiver's own limit.
   * @default 64 MiB
   */
  maxMessageBytes?: number;
  /**
   * TLS material and credential (README "Security"). @default from the
   * environment and `.rivulet/tls/` (client/credentials.ts `clientSecurityFromEnv`)
   */
  security?: TransportSecurity;
}

export interface SubmittedJob {
  jobId: string;
  bundleHash: string;
  /** Input streams the job reads (the receiver accepts pushes to these). */
  streams: string[];
  /** Named outputs, for watchOutput. */
  outputs: string[];
  /** The first batch the job will process. */
  firstBatchTimeMs: number;
  /** The job file as given, and the bundle's size, for messages. */
  source: string;
  bundleBytes: number;
}

export interface StatusOptions {
  /** Recent batches per job. @default 10 */
  recentBatches?: number;
  /** Jobs per page asked of the scheduler (0: its default, 1000). @default 0 */
  pageSize?: number;
  /** Return only the page starting at this token (a previous answer's nextPageToken). @default undefined */
  pageToken?: string;
  /** false: return only the first page. @default true */
  allPages?: boolean;
  /** Most pages followed. @default 100 */
  maxPages?: number;
}

export interface SubmitJobOptions {
  /** Display name. @default the file name without extension */
  name?: string;
}

export interface WatchOutputOptions {
  /** Also deliver batches already committed and still retained, oldest first. @default false */
  fromBeginning?: boolean;
  /** Stops the watch; iteration then ends without an error. */
  signal?: AbortSignal;
  /** Batches buffered before the stream is paused (flow control). @default 64 */
  highWaterMark?: number;
  /**
   * Survive a scheduler restart: when the scheduler goes away, keep trying to
   * watch again (for up to `reconnectTimeoutMs`), then deliver what was
   * committed since — the restarted scheduler replays its stored outputs —
   * skipping batch times already delivered, so each batch comes once, in order.
   * @default false
   */
  reconnect?: boolean;
  /** How long a reconnecting watch keeps trying. @default 60000 */
  reconnectTimeoutMs?: number;
}

/**
 * What `slice` returns: Spark's `DStream.slice(fromTime, toTime)` asked of a
 * job's output — the retained committed batches in the range — and which
 * range and batches that was, so a caller can tell a complete answer from a partial one.
 */
export interface OutputSlice {
  jobId: string;
  output: string;
  /** The range served, both ends aligned down to the output's grid: batches with fromMs ≤ batchTimeMs ≤ toMs. */
  fromMs: number;
  toMs: number;
  /** The output's grid: its batch times are zeroTimeMs + k × gridMs (the batch interval, or a window's slide). */
  gridMs: number;
  zeroTimeMs: number;
  /** The batches in range, oldest first. */
  batches: OutputBatch[];
  /** The committed batches the scheduler still retains for the output (outputRetentionBatches / outputRetentionBytes); undefined: none yet. */
  retained: { oldestMs: number; newestMs: number; batches: number } | undefined;
  /** Part of the range lies before the oldest retained batch, after the job started: batches committed there were dropped. */
  truncated: boolean;
  /** The range reaches past the newest committed batch of a running job: batches in range may yet be committed. */
  pending: boolean;
  /** Neither truncated nor pending: every batch the output has or will have in the range is here. */
  complete: boolean;
  /** RUNNING, STOPPED or FAILED. */
  jobState: string;
}

export interface SliceOptions {
  /** Deadline of the call (the whole answer). @default the client's timeoutMs */
  timeoutMs?: number;
}

/** A standby's refusal, or a leader ending a watch as it steps down or shuts down: try again (at the leader). */
const isSchedulerHandover = (err: unknown): boolean => standbyRefusal(err) !== undefined;

export class RivuletClient {
  readonly schedulerAddress: string;
  readonly receiverAddress: string;
  private readonly timeoutMs: number;
  private readonly maxMessageBytes: number | undefined;
  readonly security: TransportSecurity;
  /** The scheduler(s): one address, or several of which one leads (lib/grpc/scheduler-endpoints.ts). */
  private schedulerEndpoints: SchedulerEndpoints | undefined;
  private readonly pushers = new Set<RecordPusher>();
  private pushersMade = 0;

  constructor(opts: RivuletClientOptions = {}) {
    this.schedulerAddress = opts.scheduler ?? DEFAULT_SCHEDULER_ADDRESS;
    this.receiverAddress = opts.receiver ?? DEFAULT_RECEIVER_ADDRESS;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.maxMessageBytes = opts.maxMessageBytes;
    this.security = opts.security ?? clientSecurityFromEnv();
  }

  /** Channels are opened lazily, so a client for push-only use never dials the scheduler. */
  private get schedulers(): SchedulerEndpoints {
    this.schedulerEndpoints ??= new SchedulerEndpoints(this.schedulerAddress, { maxMessageBytes: this.maxMessageBytes, security: this.security });
    return this.schedulerEndpoints;
  }

  /**
   * A unary call to the leading scheduler. Calls with `attempts` > 1 are
   * idempotent (may go to another scheduler after a dropped connection);
   * the others move on only when no scheduler could have taken them.
   */
  private async call<Req, Res>(method: (c: SchedulerClient) => unknown, request: Req, opts: CallOptions = {}): Promise<Res> {
    const schedulers = this.schedulers;
    try {
      return await schedulers.call(
        (client) => unary<Req, Res>(client, method(client) as never, request, { timeoutMs: this.timeoutMs, ...opts }),
        { idempotent: (opts.attempts ?? 1) > 1 },
      );
    } catch (e) {
      // unary() already typed it; keep the original details to detect transport failures.
      throw typed((e as { cause?: unknown }).cause ?? e, 'scheduler', schedulers.address);
    }
  }

  /**
   * Bundle the job module at `path` (esbuild) and submit it. Bundling errors
   * reject with JobDefinitionError (INVALID_ARGUMENT) naming file:line:column;
   * the scheduler's own refusals keep their status. Sent once, never retried.
   */
  async submitJob(path: string, opts: SubmitJobOptions = {}): Promise<SubmittedJob> {
    const bundle = await bundleJob(path);
    const bytes = Buffer.from(bundle.code, 'utf8');
    // Not retried: a SubmitJob whose answer was lost could otherwise start the job twice.
    const res = await this.call<unknown, { jobId: string; bundleHash: string; streams: string[]; outputs: string[]; firstBatchTimeMs: number }>(
      (c) => c.submitJob,
      { name: opts.name ?? bundle.name, bundle: bytes, source: bundle.source },
    );
    return {
      jobId: res.jobId,
      bundleHash: res.bundleHash || bundle.hash,
      streams: res.streams,
      outputs: res.outputs,
      firstBatchTimeMs: Number(res.firstBatchTimeMs),
      source: path,
      bundleBytes: bytes.length,
    };
  }

  /**
   * Stop a job now: its queued and running batches are abandoned (their tasks
   * killed, nothing more committed) and watchers of its outputs end. Stopping a
   * job that already ended does nothing, so the call is retried (3 attempts) on
   * transient codes. NotFoundError for an unknown id.
   */
  async stopJob(jobId: string): Promise<void> {
    await this.call((c) => c.stopJob, { jobId }, { attempts: 3 });
  }

  /**
   * Executors, jobs and their recent batches. The scheduler answers one
   * bounded page of jobs at a time (scheduler.proto GetStatus); by default
   * this follows `nextPageToken` and returns every job (up to `maxPages`
   * pages — `nextPageToken` is then non-empty). With `pageToken` or
   * `allPages: false` it returns the one page asked for.
   */
  async status(opts: StatusOptions = {}): Promise<ClusterStatus> {
    const ask = (pageToken: string) =>
      this.call<unknown, ClusterStatus>(
        (c) => c.getStatus,
        { recentBatches: opts.recentBatches ?? 10, pageSize: opts.pageSize ?? 0, pageToken },
        { attempts: 3 },
      );
    const first = await ask(opts.pageToken ?? '');
    if (opts.pageToken !== undefined || opts.allPages === false) return first;
    const maxPages = opts.maxPages ?? 100;
    for (let page = 1; first.nextPageToken && page < maxPages; page++) {
      const next = await ask(first.nextPageToken);
      first.jobs.push(...next.jobs);
      first.nextPageToken = next.nextPageToken;
      first.jobsTotal = next.jobsTotal;
    }
    return first;
  }

  /**
   * A new API token (admins only). The token is returned once and stored only
   * hashed; give it to its user as RIVULET_TOKEN or `security.token`.
   */
  async createToken(o: { user: string; role: 'admin' | 'submit' | 'push' | 'view'; streams?: string[]; ttlMs?: number }): Promise<{ token: string; info: TokenInfo }> {
    const res = await this.call<unknown, { token: string; info: TokenInfo }>((c) => c.createToken, {
      user: o.user,
      role: o.role,
      streams: o.streams ?? [],
      ttlMs: o.ttlMs ?? 0,
    });
    return { token: res.token, info: tokenInfoOf(res.info) };
  }

  /** Revoke a token by id (the 16 hex digits after `rvt_`); false when there was none. Admins only. */
  async revokeToken(id: string): Promise<boolean> {
    const res = await this.call<unknown, { revoked: boolean }>((c) => c.revokeToken, { id });
    return res.revoked;
  }

  /** Every token (without secrets). Admins only. */
  async listTokens(): Promise<TokenInfo[]> {
    const res = await this.call<unknown, { tokens: TokenInfo[] }>((c) => c.listTokens, {}, { attempts: 3 });
    return res.tokens.map(tokenInfoOf);
  }

  /** The input streams read by running jobs, and the batch interval. */
  async listStreams(): Promise<{ streams: string[]; batchIntervalMs: number }> {
    const res = await this.call<unknown, { streams: string[]; batchIntervalMs: number }>((c) => c.listStreams, {}, { attempts: 3 });
    return { streams: res.streams, batchIntervalMs: Number(res.batchIntervalMs) };
  }

  /**
   * Every committed batch of `output` of job `jobId`, as it is committed. Ends
   * when the scheduler ends the stream (job stopped) or `signal` aborts; rejects
   * with NotFoundError for an unknown job/output and AbortedError when the job fails.
   */
  watchOutput(jobId: string, output: string, opts: WatchOutputOptions = {}): AsyncIterable<OutputBatch> {
    return { [Symbol.asyncIterator]: () => (opts.reconnect ? this.reconnectingIterator(jobId, output, opts) : this.watchIterator(jobId, output, opts)) };
  }

  /** watchOutput with `reconnect`: see WatchOutputOptions. */
  private async *reconnectingIterator(jobId: string, output: string, opts: WatchOutputOptions): AsyncGenerator<OutputBatch> {
    let last = Number.NEGATIVE_INFINITY;
    let fromBeginning = opts.fromBeginning ?? false;
    let giveUpAt: number | undefined;
    for (;;) {
      try {
        for await (const batch of this.watchIterator(jobId, output, { ...opts, fromBeginning })) {
          giveUpAt = undefined;
          if (batch.batchTimeMs <= last) continue; // replayed after a reconnect
          last = batch.batchTimeMs;
          yield batch;
        }
        return; // the job ended, or `signal` aborted
      } catch (err) {
        if (!(isConnectionFailure(err) || isSchedulerHandover(err)) || opts.signal?.aborted) throw err;
        giveUpAt ??= Date.now() + (opts.reconnectTimeoutMs ?? 60_000);
        if (Date.now() > giveUpAt) throw err;
      }
      // Whatever was committed while we were away is among the retained batches.
      fromBeginning = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 250);
        opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      if (opts.signal?.aborted) return;
    }
  }

  private async *watchIterator(jobId: string, output: string, opts: WatchOutputOptions): AsyncGenerator<OutputBatch> {
    if (opts.signal?.aborted) return;
    const highWaterMark = opts.highWaterMark ?? 64;
    const call: ClientReadableStream<OutputBatch__Output> = this.schedulers.client.watchOutput({
      jobId,
      output,
      fromBeginning: opts.fromBeginning ?? false,
    });
    const queue: OutputBatch__Output[] = [];
    let done = false;
    let failure: unknown;
    let cancelledByUs = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    call.on('data', (batch: OutputBatch__Output) => {
      queue.push(batch);
      // Flow control: stop reading from the network while the consumer is behind.
      if (queue.length >= highWaterMark) call.pause();
      notify();
    });
    call.on('end', () => {
      done = true;
      notify();
    });
    call.on('error', (err: { code?: number }) => {
      if (!(cancelledByUs && err.code === Status.CANCELLED)) failure = err;
      done = true;
      notify();
    });
    const onAbort = () => {
      cancelledByUs = true;
      call.cancel();
      done = true;
      notify();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // A batch too large for one message arrives in chunks (scheduler.proto OutputBatch): reassembled here.
    const assembler = new OutputBatchAssembler(jobId, output);
    try {
      for (;;) {
        if (queue.length > 0) {
          const piece = queue.shift()!;
          if (queue.length < highWaterMark / 2 && call.isPaused()) call.resume();
          const batch = assembler.add(piece);
          if (batch) yield batch;
          continue;
        }
        if (cancelledByUs) return;
        if (done) {
          if (failure !== undefined) {
            // A standby, or a leader that stepped down: the next attempt goes to the leader.
            this.schedulers.failover(failure, { idempotent: true });
            throw typed(failure, 'scheduler', this.schedulers.address);
          }
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      // The consumer stopped early (break/return): end the server stream too.
      if (!done) {
        cancelledByUs = true;
        call.cancel();
      }
    }
  }

  /**
   * Spark's `DStream.slice(fromTime, toTime)` on a job's output: the committed
   * batches the scheduler still retains whose batch time t has
   * fromTimeMs ≤ t ≤ toTimeMs, both ends first aligned down to the output's
   * grid, oldest first, large batches reassembled. It does not wait for
   * batches not committed yet (`pending` says the range reaches past the newest
   * of a running job), and a range reaching before the oldest retained batch
   * gets the retained part with `truncated` set, as Spark's slice returns the
   * RDDs it still remembers (keep more with the scheduler's
   * outputRetentionBatches / outputRetentionBytes). A read: tried up to 3
   * times on transient codes. InvalidArgumentError for a negative, non-integer
   * or reversed range; NotFoundError for an unknown job or output.
   */
  async slice(jobId: string, output: string, fromTimeMs: number, toTimeMs: number, opts: SliceOptions = {}): Promise<OutputSlice> {
    checkSliceRange(fromTimeMs, toTimeMs, 'slice', 'TimeMs');
    const schedulers = this.schedulers;
    const request = { jobId, output, fromTimeMs, toTimeMs };
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    try {
      // Moves on to the leader after a standby's refusal or a dropped connection (a read: idempotent).
      return await withRetries(() => schedulers.call((client) => readSlice(client, request, timeoutMs), { idempotent: true }), 3, 100);
    } catch (e) {
      throw typed(e, 'scheduler', schedulers.address);
    }
  }

  /**
   * A pusher for one input stream. Each pusher opens its own channel to the
   * receiver (so closing one never disturbs another); `close()` of this client
   * closes the pushers it made.
   */
  pusher(stream: string, options?: RecordPusherOptions): RecordPusher {
    // Several receiver addresses: each pusher starts on the next one, so producers spread over the receivers.
    const pusher = new RecordPusher(this.receiverAddress, stream, { security: this.security, startIndex: this.pushersMade++, ...options });
    this.pushers.add(pusher);
    return pusher;
  }

  /** A raw receiver client, for callers that need the wire API directly. */
  dialReceiver(): ReceiverClient {
    return dial.receiver(this.receiverAddress.split(",")[0]!.trim(), { maxMessageBytes: this.maxMessageBytes, security: this.security });
  }

  /** Close the scheduler channel and every pusher made by this client. */
  async close(): Promise<void> {
    const pushers = [...this.pushers];
    this.pushers.clear();
    await Promise.allSettled(pushers.map(async (p) => p.close()));
    this.schedulerEndpoints?.close();
    this.schedulerEndpoints = undefined;
  }
}

export interface TokenInfo {
  id: string;
  user: string;
  role: string;
  streams: string[];
  createdAtMs: number;
  /** 0: never expires. */
  expiresAtMs: number;
  createdBy: string;
}

function tokenInfoOf(i: TokenInfo): TokenInfo {
  return { ...i, createdAtMs: Number(i.createdAtMs), expiresAtMs: Number(i.expiresAtMs) };
}

/** The grpc status name of a code, e.g. 5 → "NOT_FOUND". */
export function statusName(code: number | undefined): string | undefined {
  if (code === undefined) return undefined;
  const name = (Status as unknown as Record<number, string>)[code];
  return typeof name === 'string' ? name : undefined;
}

/** One SliceOutput call: the window, then the batches, reassembled; rejects with the call's status. */
function readSlice(client: SchedulerClient, request: { jobId: string; output: string; fromTimeMs: number; toTimeMs: number }, timeoutMs: number): Promise<OutputSlice> {
  const { jobId, output } = request;
  return new Promise((resolve, reject) => {
    const call: ClientReadableStream<SliceOutputPart__Output> = client.sliceOutput(request, { deadline: Date.now() + timeoutMs });
    const assembler = new OutputBatchAssembler(jobId, output);
    let window: SliceWindow__Output | undefined;
    const batches: OutputBatch[] = [];
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      call.cancel();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    call.on('data', (part: SliceOutputPart__Output) => {
      try {
        if (part.window) {
          if (window) throw new Error(`SliceOutput of ${jobId}/${output}: a second window message`);
          window = part.window;
          return;
        }
        if (!window || !part.batch) throw new Error(`SliceOutput of ${jobId}/${output}: a batch before the window message`);
        const batch = assembler.add(part.batch);
        if (batch) batches.push(batch);
      } catch (err) {
        fail(err);
      }
    });
    call.on('error', (err) => fail(err));
    call.on('end', () => {
      if (failed) return;
      if (!window) return fail(new Error(`SliceOutput of ${jobId}/${output} ended without its window message`));
      if (assembler.incomplete || batches.length !== window.batches) {
        return fail(new Error(`SliceOutput of ${jobId}/${output} ended after ${batches.length} of ${window.batches} batches`));
      }
      const w = window;
      resolve({
        jobId,
        output,
        fromMs: Number(w.fromTimeMs),
        toMs: Number(w.toTimeMs),
        gridMs: Number(w.gridMs),
        zeroTimeMs: Number(w.zeroTimeMs),
        batches,
        retained: w.retainedBatches > 0 ? { oldestMs: Number(w.oldestRetainedMs), newestMs: Number(w.newestRetainedMs), batches: w.retainedBatches } : undefined,
        truncated: w.truncated,
        pending: w.pending,
        complete: !w.truncated && !w.pending,
        jobState: w.jobState,
      });
    });
  });
}
