/**
 * BENCHMARK HARNESS: the shuffle buckets a simulated executor "holds", for
 * its PlannedTasks (services/executor/planned-tasks.ts), whose planned
 * reducers start once every bucket they read is in the executor's store.
 * Simulated map tasks write nothing; when one finishes, the simulator
 * (executor-simulator.ts) records here, in memory, what a real one would
 * have stored: every bucket on its own executor, and bucket r on the
 * executor its ShuffleWrite.push names for r.
 *
 * Kept cheap, as the whole harness must be (256 × 4 slots, 100 ms batches:
 * a million buckets a batch): a bucket is never a stored block or a string,
 * only a map partition's entry under its shuffle id, with the reduce
 * partitions it delivered here (the push target's own list, not a copy) or
 * "all" on its own executor; `has` parses the block id. Only shuffles of a
 * group plan are recorded (`planned`): PlannedTasks asks about no other, as
 * its reducers wait only for the buckets of their plan's shuffle ids.
 */
import { shuffleBlockId } from '../../lib/scheduling/group-plan.js';

const PREFIX = 'shuffle/';

export class ShuffleBuckets {
  /** shuffle id → map partition → the reduce partitions held here ('all': the map ran here). */
  private readonly shuffles = new Map<string, Map<number, readonly number[] | 'all'>>();
  private readonly listeners: Array<(blockId: string) => void> = [];

  onPut(listener: (blockId: string) => void): void {
    this.listeners.push(listener);
  }

  /** Is block `shuffle/<shuffleId>/<map>/<reduce>` here? */
  has(blockId: string): boolean {
    if (!blockId.startsWith(PREFIX)) return false;
    const j = blockId.lastIndexOf('/');
    const i = blockId.lastIndexOf('/', j - 1);
    if (i < PREFIX.length) return false;
    const held = this.shuffles.get(blockId.slice(PREFIX.length, i))?.get(Number(blockId.slice(i + 1, j)));
    return held === 'all' || (held !== undefined && held.includes(Number(blockId.slice(j + 1))));
  }

  /**
   * Map partition `map` of `shuffleId` delivered `held` here; the listeners
   * hear of the buckets in `announce` (those a reducer here may wait for).
   */
  put(shuffleId: string, map: number, held: readonly number[] | 'all', announce: Iterable<number>): void {
    let maps = this.shuffles.get(shuffleId);
    if (!maps) this.shuffles.set(shuffleId, (maps = new Map<number, readonly number[] | 'all'>()));
    const before = maps.get(map);
    if (before === 'all') return;
    maps.set(map, before && held !== 'all' ? [...before, ...held] : held);
    if (this.listeners.length === 0) return;
    for (const r of announce) {
      const id = shuffleBlockId(shuffleId, map, r);
      for (const l of this.listeners) l(id);
    }
  }

  /**
   * DropBlocks' prefixes (the scheduler drops `shuffle/<job>:<batch>:` once
   * a batch is done; it drops no single bucket, so ids are not tracked).
   */
  drop(prefixes: readonly string[]): void {
    for (const p of prefixes) {
      if (p.length === 0 || (!p.startsWith(PREFIX) && !PREFIX.startsWith(p))) continue;
      const rest = p.slice(PREFIX.length);
      for (const id of [...this.shuffles.keys()]) if (id.startsWith(rest)) this.shuffles.delete(id);
    }
  }

  clear(): void {
    this.shuffles.clear();
  }

  get shuffleCount(): number {
    return this.shuffles.size;
  }
}
