/**
 * Idempotent push retries: what the receiver remembers of each pusher
 * session (PushOpen.session_id), so a message re-sent after an unclear
 * failure — the call broke, the receiver restarted, the ack was lost — is
 * stored once. Keyed by (stream, session, seq):
 *
 * - new      never seen, or seen and refused (a nack stores nothing, so a
 *            retry of it is simply new): store it;
 * - pending  accepted and still being stored (by this call or an earlier one
 *            that broke): do not store it again, answer when that finishes;
 * - acked    stored: answer `ack{duplicate}` at once.
 *
 * Per session it keeps a watermark (every seq at or below it was stored)
 * plus the stored seqs above it with their acks; pushers number their
 * messages 1, 2, 3… so the watermark follows and the set stays small.
 *
 * Bounded: a session idle (no message, nothing pending) for `retentionMs` is
 * forgotten — longer than any pusher retries (client pushRetryTimeout,
 * default 60 s) — and at most `maxSessions` are remembered: a new session
 * beyond that is refused (the caller answers RESOURCE_EXHAUSTED), never
 * silently forgotten. Across a restart the write-ahead log carries each
 * stored block's (session, seq) ranges (allocation-log.ts) and `restore`
 * puts them back, so a retry after a receiver restart is still a duplicate.
 *
 * Pure: takes times, owns no timers; Ingest drives it on the event loop.
 */
/** What is remembered of a stored seq's ack (ingest.ts AckInfo). */
export interface StoredAck {
  blockId: string;
  batchTimeMs: number;
}

export type DedupeVerdict<W> = { kind: 'new' } | { kind: 'pending'; waiters: W[] } | { kind: 'acked'; ack: StoredAck | undefined };

/** Contiguous seqs of one session stored in one block: [sessionId, firstSeq, lastSeq]. */
export type PushRange = [string, number, number];

interface SessionMemo<W> {
  watermark: number;
  ackedAbove: Map<number, StoredAck | undefined>;
  pending: Map<number, W[]>;
  lastSeenMs: number;
}

export interface PushDedupeOptions {
  retentionMs: number;
  maxSessions: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

export class PushDedupe<W> {
  private readonly sessions = new Map<string, SessionMemo<W>>();

  constructor(private readonly opts: PushDedupeOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  /**
   * A Push call opens (or re-opens) `session` on `stream`. Returns false when
   * it is new and `maxSessions` are remembered already (after forgetting the
   * idle ones): the caller refuses the call.
   */
  open(stream: string, session: string, nowMs: number): boolean {
    const key = keyOf(stream, session);
    const known = this.sessions.get(key);
    if (known) {
      known.lastSeenMs = nowMs;
      return true;
    }
    if (this.sessions.size >= this.opts.maxSessions) this.sweep(nowMs);
    if (this.sessions.size >= this.opts.maxSessions) return false;
    this.sessions.set(key, newMemo(nowMs));
    return true;
  }

  check(stream: string, session: string, seq: number, nowMs: number): DedupeVerdict<W> {
    const m = this.sessions.get(keyOf(stream, session));
    if (!m) return { kind: 'new' };
    m.lastSeenMs = nowMs;
    if (seq <= m.watermark) return { kind: 'acked', ack: undefined };
    if (m.ackedAbove.has(seq)) return { kind: 'acked', ack: m.ackedAbove.get(seq) };
    const waiters = m.pending.get(seq);
    if (waiters) return { kind: 'pending', waiters };
    return { kind: 'new' };
  }

  /** `seq` was accepted for storing: until it settles, a retry of it waits (`pending`). */
  begin(stream: string, session: string, seq: number, nowMs: number): void {
    const key = keyOf(stream, session);
    let m = this.sessions.get(key);
    if (!m) this.sessions.set(key, (m = newMemo(nowMs)));
    m.lastSeenMs = nowMs;
    m.pending.set(seq, []);
  }

  /**
   * `seq` settled: stored (`ack`) or refused (undefined: forgotten, a retry is
   * new). Returns the retries that waited for it, to be answered alike.
   */
  settle(stream: string, session: string, seq: number, ack: StoredAck | undefined, nowMs: number): W[] {
    const m = this.sessions.get(keyOf(stream, session));
    if (!m) return [];
    m.lastSeenMs = nowMs;
    const waiters = m.pending.get(seq) ?? [];
    m.pending.delete(seq);
    if (ack) this.markAcked(m, seq, ack);
    return waiters;
  }

  /** Put back what the write-ahead log says was stored (process start). */
  restore(stream: string, ranges: readonly PushRange[], nowMs: number): void {
    for (const [session, first, last] of ranges) {
      const key = keyOf(stream, session);
      let m = this.sessions.get(key);
      if (!m) this.sessions.set(key, (m = newMemo(nowMs)));
      for (let seq = first; seq <= last; seq++) this.markAcked(m, seq, undefined);
    }
  }

  /** Forget sessions idle for `retentionMs` with nothing pending. Returns how many were forgotten. */
  sweep(nowMs: number): number {
    let n = 0;
    for (const [key, m] of this.sessions) {
      if (m.pending.size === 0 && nowMs - m.lastSeenMs >= this.opts.retentionMs) {
        this.sessions.delete(key);
        n++;
      }
    }
    return n;
  }

  private markAcked(m: SessionMemo<W>, seq: number, ack: StoredAck | undefined): void {
    if (seq <= m.watermark) return;
    m.ackedAbove.set(seq, ack);
    while (m.ackedAbove.has(m.watermark + 1)) m.ackedAbove.delete(++m.watermark);
  }
}

function newMemo<W>(nowMs: number): SessionMemo<W> {
  return { watermark: 0, ackedAbove: new Map(), pending: new Map(), lastSeenMs: nowMs };
}

function keyOf(stream: string, session: string): string {
  return `${session}\u0000${stream}`;
}

/** The session seqs of a block's pushes as contiguous ranges (for the write-ahead log). */
export function pushRanges(pushes: ReadonlyArray<{ sessionId: string | undefined; seq: number }>): PushRange[] {
  const bySession = new Map<string, number[]>();
  for (const p of pushes) {
    if (!p.sessionId) continue;
    const list = bySession.get(p.sessionId) ?? [];
    list.push(p.seq);
    bySession.set(p.sessionId, list);
  }
  const out: PushRange[] = [];
  for (const [session, seqs] of bySession) {
    seqs.sort((a, b) => a - b);
    let first = seqs[0]!;
    let prev = first;
    for (const s of seqs.slice(1)) {
      if (s === prev + 1) {
        prev = s;
        continue;
      }
      out.push([session, first, prev]);
      first = prev = s;
    }
    out.push([session, first, prev]);
  }
  return out;
}
