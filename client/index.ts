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
 * callers: `status`, `listStreams` and `stopJob` take up to 3 attempts on the
 * transient codes (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED);
 * `submitJob` and pushes are sent once; `watchOutput` is watched again only
 * with `reconnect`. Every other code, ABORTED (a failed job) included, is final.
 */
import { status as Status, type ClientReadableStream } from '@grpc/grpc-js';
import { unpackRecords } from '../lib/codec/records.js';
import { bundleJob } from '../lib/dstream/bundle.js';
import { dial, unary, type CallOptions } from '../lib/grpc/client.js';
import { SchedulerEndpoints, standbyRefusal } from '../lib/grpc/scheduler-endpoints.js';
import type { ReceiverClient, SchedulerClient } from '../lib/proto/index.js';
import type { ClusterStatus__Output } from '../lib/proto/gen/rivulet/v1/ClusterStatus.js';
import type { ExecutorStatus__Output } from '../lib/proto/gen/rivulet/v1/ExecutorStatus.js';
import type { JobStatus__Output } from '../lib/proto/gen/rivulet/v1/JobStatus.js';
import type { BatchStatus__Output } from '../lib/proto/gen/rivulet/v1/BatchStatus.js';
import type { OutputBatch__Output } from '../lib/proto/gen/rivulet/v1/OutputBatch.js';
import { ConnectionError, isConnectionFailure, typedCallError as typed } from './connection.js';
import { RecordPusher, type RecordPusherOptions } from './push.js';
import { clientSecurityFromEnv, type TransportSecurity } from './credentials.js';

export { ConnectionError, isConnectionFailure, RecordPusher, clientSecurityFromEnv };
export type { RecordPusherOptions, TransportSecurity };

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

export interface OutputBatch {
  jobId: string;
  output: string;
  batchTimeMs: number;
  records: unknown[];
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
    let partial: { batchTimeMs: string; count: number; parts: Buffer[]; chunks: number } | undefined;
    try {
      for (;;) {
        if (queue.length > 0) {
          let batch = queue.shift()!;
          if (queue.length < highWaterMark / 2 && call.isPaused()) call.resume();
          if (batch.chunks > 1) {
            const payload = batch.records?.payload ?? Buffer.alloc(0);
            if (batch.chunk === 0) partial = { batchTimeMs: String(batch.batchTimeMs), count: batch.records?.count ?? 0, parts: [payload], chunks: batch.chunks };
            else if (partial && partial.batchTimeMs === String(batch.batchTimeMs) && batch.chunk === partial.parts.length) partial.parts.push(payload);
            else throw new Error(`output batch ${String(batch.batchTimeMs)} of ${jobId}/${output}: chunk ${batch.chunk} of ${batch.chunks} arrived out of order`);
            if (partial.parts.length < partial.chunks) continue;
            batch = { ...batch, records: { count: partial.count, payload: Buffer.concat(partial.parts) } };
            partial = undefined;
          }
          yield {
            jobId: batch.jobId || jobId,
            output: batch.output || output,
            batchTimeMs: Number(batch.batchTimeMs),
            records: batch.records ? unpackRecords(batch.records.payload) : [],
          };
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
