/**
 * Fencing a replaced scheduler out of the executors and lineage (issue 15).
 * A scheduler that leads sends its lease term (services/scheduler/
 * leader-lease.ts) as metadata on every call it makes to an executor or to
 * lineage; those services remember the highest term they have seen and
 * refuse a call carrying a lower one with FAILED_PRECONDITION. So once the
 * new leader has spoken to a service, a paused or partitioned former leader
 * can no longer launch tasks there, drop its blocks or rewrite lineage — the
 * journal itself is fenced by the lease. Seeing a higher term also tells a
 * service to end what it holds for the older one (an executor closes the old
 * leader's task streams and forgets its group plans).
 *
 * A call without the header (a test client, a tool) counts as term 0: it is
 * accepted until some leader has spoken, since only a scheduler may make
 * these calls at all (access-policy.ts).
 */
import * as grpc from '@grpc/grpc-js';

export const LEADER_TERM_KEY = 'rivulet-scheduler-term';

/** Adds the scheduler's term to every call of a channel. */
export function leaderTermClientInterceptor(term: number): grpc.Interceptor {
  const value = String(term);
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(LEADER_TERM_KEY, value);
        next(metadata, listener);
      },
    });
}

/** The term a call carries (0 when none). */
export function leaderTermOf(metadata: grpc.Metadata): number {
  const raw = metadata.get(LEADER_TERM_KEY)[0];
  if (typeof raw !== 'string') return 0;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** The highest scheduler term a service has seen; calls of lower terms are refused. */
export class LeaderTermFence {
  private highest = 0;
  private readonly listeners = new Set<(term: number) => void>();

  get term(): number {
    return this.highest;
  }

  /** False when `term` is older than one already seen; a newer one is remembered (and announced). */
  admit(term: number): boolean {
    if (term < this.highest) return false;
    if (term > this.highest) {
      this.highest = term;
      for (const l of this.listeners) l(term);
    }
    return true;
  }

  /** Called with each newer term as it is first seen. */
  onNewTerm(listener: (term: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  staleMessage(term: number): string {
    return `refused: this call comes from a scheduler of term ${term}, but a scheduler of term ${this.highest} has taken over (the caller no longer leads)`;
  }
}

/**
 * Server interceptor refusing calls of `methods` (full paths) whose term is
 * older than the fence's; the others pass untouched.
 */
export function leaderTermServerInterceptor(fence: LeaderTermFence, methods: ReadonlySet<string>): grpc.ServerInterceptor {
  return (methodDescriptor, call) => {
    if (!methods.has(methodDescriptor.path)) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const term = leaderTermOf(metadata);
            if (fence.admit(term)) {
              nextMetadata(metadata);
              return;
            }
            call.sendStatus({ code: grpc.status.FAILED_PRECONDITION, details: fence.staleMessage(term), metadata: new grpc.Metadata() });
          },
        });
      },
    });
  };
}
