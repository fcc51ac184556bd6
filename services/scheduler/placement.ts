/**
 * Where one task should run, decided now: pure, no state of its own.
 *
 * Delay scheduling (Zaharia et al., as Spark's TaskSetManager): a task whose
 * input is on a busy executor waits up to `localityWait` for a free slot
 * there (PROCESS_LOCAL) before it accepts an executor on the same host
 * (NODE_LOCAL), then any executor with a free slot (ANY). An executor
 * "has room" while it holds fewer than slots × taskQueueDepth tasks: tasks
 * beyond its idle slots wait in its own queue and start without a scheduler
 * round trip. Among equals, the executor with the most idle slots wins, then
 * the one with the most room, so faster executors — which free their slots
 * sooner — take more tasks. A task may also have an `affinity`: an executor
 * where running it saves work (its shuffle input was pushed there) but whose
 * absence costs only a fetch — taken when it has room, never waited for. Executors a task already failed on
 * are avoided, unless every live executor is one of them (retrying somewhere
 * beats never retrying).
 */
export type Locality = 'PROCESS_LOCAL' | 'NODE_LOCAL' | 'ANY';

/** What placement sees of an executor. */
export interface PlacementExecutor {
  id: string;
  host: string;
  /** Slots with no task assigned. */
  freeSlots: number;
  /** Tasks it may still be given: idle slots plus room in its queue (≥ freeSlots). */
  queueRoom: number;
  /** Its tasks are consistently slow (slowExecutorRatio): chosen last among equals. */
  slow?: boolean;
}

/** What placement sees of a task. */
export interface PlacementTask {
  /** Executors holding its input (empty: no preference). */
  preferred: readonly string[];
  /** Executors it should not run on again (it failed there). */
  excluded: ReadonlySet<string>;
  /** When it became runnable: the locality wait counts from here. */
  readySinceMs: number;
  /** A soft preference (pushed shuffle input): used when it has room, never waited for. */
  affinity?: string;
}

export type Placement =
  | { kind: 'launch'; executorId: string; locality: Locality }
  /** A preferred executor is alive but busy: wait until `untilMs` for a slot there. */
  | { kind: 'wait'; untilMs: number }
  /** No free slot anywhere it may run. */
  | { kind: 'none' };

export function place(task: PlacementTask, alive: readonly PlacementExecutor[], nowMs: number, localityWaitMs: number): Placement {
  const usable = alive.filter((e) => !task.excluded.has(e.id));
  const candidates = usable.length > 0 ? usable : alive;
  const free = candidates.filter((e) => e.queueRoom > 0);
  if (task.preferred.length > 0) {
    const local = free.filter((e) => task.preferred.includes(e.id));
    if (local.length > 0) return launch(mostFree(local)!, 'PROCESS_LOCAL');
    const preferredAlive = candidates.some((e) => task.preferred.includes(e.id));
    if (preferredAlive && nowMs - task.readySinceMs < localityWaitMs) return { kind: 'wait', untilMs: task.readySinceMs + localityWaitMs };
    const hosts = new Set(candidates.filter((e) => task.preferred.includes(e.id)).map((e) => e.host));
    const nodeLocal = free.filter((e) => hosts.has(e.host));
    if (nodeLocal.length > 0) return launch(mostFree(nodeLocal)!, 'NODE_LOCAL');
  }
  if (task.affinity !== undefined) {
    const near = free.find((e) => e.id === task.affinity);
    if (near) return launch(near, 'ANY');
  }
  const any = mostFree(free);
  return any ? launch(any, 'ANY') : { kind: 'none' };
}

/**
 * Whether a task placement would not launch is waiting by design — for
 * locality, or for a free slot on an executor it may use — rather than stuck
 * (status's `pendingWaiting`).
 */
export function waitingByDesign(task: PlacementTask, alive: readonly PlacementExecutor[], nowMs: number, localityWaitMs: number, localityTimerArmed: boolean): boolean {
  const aliveIds = new Set(alive.map((e) => e.id));
  const forLocality = task.preferred.some((id) => aliveIds.has(id)) && (nowMs - task.readySinceMs < localityWaitMs || localityTimerArmed);
  const usable = alive.filter((e) => !task.excluded.has(e.id));
  const candidates = usable.length > 0 ? usable : alive;
  return forLocality || !candidates.some((e) => e.queueRoom > 0);
}

function launch(e: PlacementExecutor, locality: Locality): Placement {
  return { kind: 'launch', executorId: e.id, locality };
}

function mostFree(list: readonly PlacementExecutor[]): PlacementExecutor | undefined {
  let best: PlacementExecutor | undefined;
  for (const e of list) {
    if (!best || better(e, best)) best = e;
  }
  return best;
}

/** A fast executor before a slow one; then more idle slots; then more queue room. */
function better(e: PlacementExecutor, than: PlacementExecutor): boolean {
  if (!!e.slow !== !!than.slow) return !e.slow;
  return e.freeSlots > than.freeSlots || (e.freeSlots === than.freeSlots && e.queueRoom > than.queueRoom);
}
