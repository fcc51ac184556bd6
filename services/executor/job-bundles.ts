/**
 * Job bundles this executor may run, by content hash (LoadJob). The code is
 * only verified and kept here; it is evaluated inside task workers dedicated
 * to it (never on the gRPC event loop), once per worker.
 */
import { InvalidArgumentError } from '../../lib/errors.js';
import { bundleHash } from '../../lib/dstream/loader.js';
import type { PoolBundle } from './task-pool.js';

export class JobBundles {
  private readonly byHash = new Map<string, PoolBundle>();

  /** Verify and keep a bundle. Idempotent by hash. */
  load(jobId: string, hash: string, code: Uint8Array): void {
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      throw new InvalidArgumentError(`bundle_hash must be the 64 hex digit sha256 of the bundle, got "${hash.slice(0, 80)}"`);
    }
    if (this.byHash.has(hash)) return;
    if (code.byteLength === 0) throw new InvalidArgumentError(`job ${jobId}: bundle is empty`);
    const actual = bundleHash(code);
    if (actual !== hash) {
      throw new InvalidArgumentError(`job ${jobId}: bundle_hash ${hash} does not match the sha256 of the bundle (${actual})`);
    }
    this.byHash.set(hash, {
      hash,
      code: Buffer.from(code.buffer, code.byteOffset, code.byteLength).toString('utf8'),
      source: `${jobId || 'job'}@${hash.slice(0, 12)}.js`,
    });
  }

  get(hash: string): PoolBundle | undefined {
    return this.byHash.get(hash);
  }

  get size(): number {
    return this.byHash.size;
  }
}
