/**
 * Reassembles the task results of one RunTasks call: a result that did not
 * fit one message arrives as slices of its records' payload (executor.proto
 * TaskResult.records_offset / records_total_bytes), and only the whole result
 * ever leaves here. A result sent whole passes through untouched (the common
 * case costs one field read).
 *
 * What it guarantees, so that fencing and retries stay exact downstream:
 *  - slices are matched by attempt (task id + attempt) and must agree on the
 *    executor, epoch and record count and arrive in order; the result handed
 *    on carries that identity, so the task set fences it like any other;
 *  - a partial result is never handed on: one instance lives as long as its
 *    call, and a call that breaks mid-result drops it with the call — the
 *    task is then lost like every unreported task of a broken call;
 *  - memory is bounded by `maxResultBytes` (maxTaskResultBytes) per result:
 *    a result announced larger is answered with a FAILED result naming the
 *    option, and its slices are dropped as they come.
 *
 * A malformed sequence (a gap, a changed identity or size) is the executor's
 * bug, not the task's: it throws MalformedResultError and the caller ends the
 * call, which loses its tasks (retried elsewhere).
 */
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';

export class MalformedResultError extends Error {
  override name = 'MalformedResultError';
}

interface Incomplete {
  first: TaskResult__Output;
  total: number;
  received: number;
  /** undefined: over the limit, its slices are counted and dropped. */
  payload: Buffer | undefined;
}

export class TaskResultAssembler {
  private readonly partial = new Map<string, Incomplete>();

  constructor(private readonly maxResultBytes: number) {}

  /** Results begun and not complete. */
  get pending(): number {
    return this.partial.size;
  }

  /**
   * One message of the call in. Out: the whole result (the message itself when
   * it was not sliced; a FAILED result when the sliced one is over the
   * limit), or undefined while slices are missing (or being dropped).
   */
  accept(m: TaskResult__Output): TaskResult__Output | undefined {
    const total = m.recordsTotalBytes;
    if (!total) return m;
    const key = `${m.taskId}/${m.attempt}`;
    const slice = m.records?.payload ?? EMPTY;
    const offset = m.recordsOffset;
    let p = this.partial.get(key);
    if (!p) {
      if (offset !== 0) throw new MalformedResultError(`${describe(m)}: first slice starts at byte ${offset}`);
      const over = total > this.maxResultBytes;
      // Sized once from the announced total: every slice is copied in place, never concatenated again.
      p = { first: m, total, received: 0, payload: over ? undefined : Buffer.allocUnsafe(total) };
      this.partial.set(key, p);
      if (over) {
        this.account(key, p, m, slice);
        return tooLarge(m, total, this.maxResultBytes);
      }
    }
    this.account(key, p, m, slice);
    if (p.received < p.total || !p.payload) return undefined;
    return {
      ...p.first,
      records: { count: p.first.records?.count ?? 0, payload: p.payload },
      metrics: m.metrics ?? p.first.metrics,
      recordsOffset: 0,
      recordsTotalBytes: 0,
    };
  }

  /** Check a slice against what came before and take it in. */
  private account(key: string, p: Incomplete, m: TaskResult__Output, slice: Buffer): void {
    const f = p.first;
    if (m.recordsOffset !== p.received) {
      throw new MalformedResultError(`${describe(m)}: slice at byte ${m.recordsOffset} where byte ${p.received} was expected`);
    }
    if (m.recordsTotalBytes !== p.total || m.executorId !== f.executorId || m.epoch !== f.epoch || m.state !== f.state || (m.records?.count ?? 0) !== (f.records?.count ?? 0)) {
      throw new MalformedResultError(`${describe(m)}: slice at byte ${m.recordsOffset} does not match the result's first slice`);
    }
    if (p.received + slice.byteLength > p.total) {
      throw new MalformedResultError(`${describe(m)}: slices run past the announced ${p.total} bytes`);
    }
    if (slice.byteLength === 0) throw new MalformedResultError(`${describe(m)}: empty slice at byte ${p.received}`);
    p.payload?.set(slice, p.received);
    p.received += slice.byteLength;
    if (p.received === p.total) this.partial.delete(key);
  }
}

const EMPTY = Buffer.alloc(0);

function describe(m: TaskResult__Output): string {
  return `task ${m.taskId} attempt ${m.attempt} from executor ${m.executorId} (epoch ${m.epoch})`;
}

function tooLarge(m: TaskResult__Output, total: number, limit: number): TaskResult__Output {
  return {
    ...m,
    state: 'FAILED',
    userError: true,
    error:
      `the task's result is ${total} bytes, over the ${limit}-byte limit of one task's result (maxTaskResultBytes): ` +
      'spread the output over more partitions (e.g. repartition) or raise maxTaskResultBytes',
    records: null,
    recordsOffset: 0,
    recordsTotalBytes: 0,
  };
}
