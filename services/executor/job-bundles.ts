/**
 * Job bundles this executor may run, by content hash (LoadJob). The code is
 * only verified and kept here; it is evaluated inside task workers dedicated
 * to it (never on the gRPC event loop), once per worker.
 *
 * A bundle is kept while a job that loaded it has not ended: the scheduler
 * names ended jobs on the task stream (RunTasksRequest.ended_jobs), and a
 * bundle no loaded job uses any more is dropped — without it an executor
 * would hold the code of every job ever submitted (up to maxBundleBytes
 * each) for as long as it runs. Kept per job, not per hash: two jobs of the
 * same code each load it, and the end of one leaves it to the other
 * whichever of its LoadJob and the end arrives first.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { bundleHash } from '../../lib/dstream/loader.js';
import type { PoolBundle } from './task-pool.js';

interface Held {
  bundle: PoolBundle;
  /** Jobs that loaded it and have not ended. */
  jobs: Set<string>;
}

export class JobBundles {
  private readonly byHash = new Map<string, Held>();

  /** Verify and keep a bundle for `jobId`. Idempotent by (job, hash); the code is verified once per hash. */
  load(jobId: string, hash: string, code: Uint8Array): void {
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new InvalidArgumentError(`bundle_hash must be the 64 hex digit sha256 of the bundle, got "${hash.slice(0, 80)}"`);
    }
    let held = this.byHash.get(hash);
    if (!held) {
      if (code.byteLength === 0) throw new InvalidArgumentError(`job ${jobId}: bundle is empty`);
      const actual = bundleHash(code);
      if (actual !== hash) {
        throw new InvalidArgumentError(`job ${jobId}: bundle_hash ${hash} does not match the sha256 of the bundle (${actual})`);
      }
      held = {
        bundle: { hash, code: Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('utf8'), source: `${jobId || 'job'}@${hash.slice(0, 12)}.js` },
        jobs: new Set(),
      };
      this.byHash.set(hash, held);
    }
    held.jobs.add(jobId);
  }

  /** `jobId` has ended: the bundles no other loaded job uses are dropped; their hashes. */
  endJob(jobId: string): string[] {
    const dropped: string[] = [];
    for (const [hash, held] of this.byHash) {
      if (!held.jobs.delete(jobId) || held.jobs.size > 0) continue;
      this.byHash.delete(hash);
      dropped.push(hash);
    }
    return dropped;
  }

  get(hash: string): PoolBundle | undefined {
    return this.byHash.get(hash)?.bundle;
  }

  get size(): number {
    return this.byHash.size;
  }
}
