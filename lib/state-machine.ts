/**
 * Guarded lifecycle transitions: an entity's state is a string union, the
 * legal moves are a table, and every move goes through `transition`, which
 * refuses an illegal one (a bug: the caller's view of the entity is stale)
 * and logs `OLD -> NEW` at debug. The pattern of grpc-js's
 * `Subchannel.transitionToState` and Temporal's worker `State`.
 */
import type { Logger } from './log.js';

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

/** The one place a guarded state changes; `what` names the entity in logs and errors. */
export function transition<S extends string>(
  entity: { readonly state: S },
  set: (to: S) => void,
  table: TransitionTable<S>,
  to: S,
  what: string,
  log: Pick<Logger, 'debug' | 'isLevelEnabled'> | undefined,
): void {
  const from = entity.state;
  if (!table[from].includes(to)) throw new IllegalTransitionError(`${what} is ${from} and cannot become ${to}`);
  // Checked first: on the task hot path the message would otherwise be built for nothing.
  if (log?.isLevelEnabled('debug')) log.debug({ what, from, to }, `${what} ${from} -> ${to}`);
  set(to);
}

/** Whether `to` is a legal next state (for callers that skip rather than fail). */
export function canTransition<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}
