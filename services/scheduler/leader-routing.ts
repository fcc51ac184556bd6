/**
 * The scheduler's gRPC services stay bound across terms of leadership
 * (main.ts); each call goes to the handlers of the term in force, or is
 * refused while this scheduler stands by (or is still resuming its jobs)
 * with UNAVAILABLE naming the leader — retryable, and clients given several
 * scheduler addresses move on to the leader (lib/grpc/scheduler-endpoints.ts,
 * which reads the metadata set here).
 */
import * as grpc from '@grpc/grpc-js';
import { LEADER_ADDRESS_KEY, SCHEDULER_ROLE_KEY } from '../../lib/grpc/scheduler-endpoints.js';

export interface Refusal {
  details: string;
  leaderAddress?: string;
}

function refusalError(r: Refusal): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(SCHEDULER_ROLE_KEY, 'standby');
  if (r.leaderAddress) metadata.set(LEADER_ADDRESS_KEY, r.leaderAddress);
  return { code: grpc.status.UNAVAILABLE, details: r.details, metadata };
}

type AnyHandler = (call: unknown, callback?: unknown) => void;

/**
 * Handlers for `definition` that delegate to `current()`'s, or refuse with
 * `refusal()` when it is undefined.
 */
export function routedHandlers<H extends object>(definition: grpc.ServiceDefinition, current: () => H | undefined, refusal: () => Refusal): H {
  const out: Record<string, AnyHandler> = {};
  for (const [name, method] of Object.entries(definition)) {
    out[name] = (call: unknown, callback?: unknown) => {
      const handlers = current() as Record<string, AnyHandler> | undefined;
      const handler = handlers?.[name];
      if (handler) {
        handler(call, callback);
        return;
      }
      const err = refusalError(refusal());
      if (method.responseStream) (call as grpc.ServerWritableStream<unknown, unknown>).emit('error', err);
      else (callback as grpc.sendUnaryData<unknown>)(err as grpc.ServiceError, null);
    };
  }
  return out as H;
}
