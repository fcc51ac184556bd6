/**
 * Sending task results back on one RunTasks call. A result that fits one
 * message — nearly all of them — is written as it is, at once, with no copy. A
 * larger one (a result task's records past maxMessageBytes) goes as
 * consecutive slices of its payload (executor.proto TaskResult.records_offset),
 * written only as fast as the call drains, so a large result is never
 * serialised all at once next to itself; slices of several large results go
 * one result after the other, and whole results never wait behind them.
 *
 * It decides nothing about whether a result may be sent — the task's size
 * limit (maxTaskResultBytes) is the runner's check — only how it travels. The
 * scheduler may accept smaller messages than this executor does, so a slice is
 * sized by the smaller of the two bounds; a scheduler that gives none does not
 * reassemble slices, and a result over one message is turned into a failure
 * saying so (the pre-slicing contract).
 */
import type { TaskResult } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';

/** Room in a message for everything next to the payload (ids, state, metrics, framing), besides the ids' own length. */
export const RESULT_MESSAGE_OVERHEAD = 1024;

/** The part of a ServerWritableStream the writer uses. */
export interface ResultSink {
  /** false: the stream is past its buffer; 'drain' follows. */
  write(message: TaskResult): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface ResultWriterOptions {
  /** This executor's own message bound (its maxMessageBytes). */
  maxMessageBytes: number;
  /** The call was cancelled: stop sending (nothing will read it). */
  cancelled(): boolean;
}

interface Sliced {
  slices: Iterator<TaskResult>;
  sent: () => void;
}

export class ResultWriter {
  private readonly queue: Sliced[] = [];
  private draining = false;

  constructor(
    private readonly sink: ResultSink,
    private readonly opts: ResultWriterOptions,
  ) {}

  /**
   * Send one task's result. `schedulerMaxMessageBytes` is the task's
   * ResultSink.max_message_bytes (0 when the scheduler does not reassemble
   * slices, or the task is not a result task). `sent` runs once its last
   * message is handed to the call.
   */
  send(result: TaskResult, schedulerMaxMessageBytes: number, sent: () => void): void {
    const payload = payloadOf(result);
    const bound = schedulerMaxMessageBytes > 0 ? Math.min(this.opts.maxMessageBytes, schedulerMaxMessageBytes) : this.opts.maxMessageBytes;
    const room = bound - RESULT_MESSAGE_OVERHEAD - Buffer.byteLength(result.taskId ?? '') - Buffer.byteLength(result.executorId ?? '');
    if (payload.byteLength <= room) {
      this.sink.write(result);
      sent();
      return;
    }
    if (schedulerMaxMessageBytes <= 0) {
      this.sink.write(tooLargeForOneMessage(result, payload.byteLength, this.opts.maxMessageBytes));
      sent();
      return;
    }
    this.queue.push({ slices: slicesOf(result, payload, Math.max(1, room)), sent });
    if (!this.draining) this.pump();
  }

  private pump(): void {
    while (this.queue.length > 0 && !this.opts.cancelled()) {
      const head = this.queue[0]!;
      const next = head.slices.next();
      if (next.done) {
        this.queue.shift();
        head.sent();
        continue;
      }
      if (!this.sink.write(next.value)) {
        this.draining = true;
        this.sink.once('drain', () => {
          this.draining = false;
          this.pump();
        });
        return;
      }
    }
  }
}

function payloadOf(result: TaskResult): Uint8Array {
  const p = result.records?.payload;
  if (p === undefined) return EMPTY;
  return typeof p === 'string' ? Buffer.from(p, 'base64') : p;
}

const EMPTY = new Uint8Array(0);

/** Views (no copies) of the payload, each in a message carrying the attempt's full identity; metrics ride on the last. */
function* slicesOf(result: TaskResult, payload: Uint8Array, sliceBytes: number): Generator<TaskResult> {
  const total = payload.byteLength;
  const count = result.records?.count ?? 0;
  for (let offset = 0; offset < total; offset += sliceBytes) {
    const end = Math.min(total, offset + sliceBytes);
    yield {
      taskId: result.taskId,
      attempt: result.attempt,
      executorId: result.executorId,
      epoch: result.epoch,
      state: result.state,
      records: { count, payload: payload.subarray(offset, end) },
      recordsOffset: offset,
      recordsTotalBytes: total,
      // The first slice is the one the scheduler keeps the rest of the result's fields from.
      ...(offset === 0 && result.deadLetters ? { deadLetters: result.deadLetters } : {}),
      ...(end === total && result.metrics ? { metrics: result.metrics } : {}),
    };
  }
}

/**
 * The scheduler gave no message bound, so it would take a first slice for the
 * whole result: the result is sent as a failure that says why instead (the
 * same every attempt).
 */
function tooLargeForOneMessage(result: TaskResult, bytes: number, maxMessageBytes: number): TaskResult {
  return {
    taskId: result.taskId,
    attempt: result.attempt,
    executorId: result.executorId,
    epoch: result.epoch,
    state: 'FAILED',
    userError: true,
    error:
      `the task's result is ${bytes} bytes, over the ${maxMessageBytes}-byte limit of one message (maxMessageBytes), ` +
      'and the scheduler does not take results in slices: upgrade it, spread the output over more partitions (e.g. repartition) or raise maxMessageBytes',
    ...(result.metrics ? { metrics: result.metrics } : {}),
  };
}
