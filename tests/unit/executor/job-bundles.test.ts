import { describe, expect, it } from 'vitest';
import { JobBundles } from '../../../services/executor/job-bundles.js';
import { bundleHash } from '../../../lib/dstream/loader.js';

const code = (text: string) => {
  const bytes = Buffer.from(text);
  return { bytes, hash: bundleHash(bytes) };
};

describe('JobBundles', () => {
  it('keeps a bundle while a job that loaded it has not ended, whichever order loads and ends arrive in', () => {
    const bundles = new JobBundles();
    const shared = code('module.exports = 1;');
    const own = code('module.exports = 2;');
    bundles.load('a', shared.hash, shared.bytes);
    bundles.load('b', shared.hash, shared.bytes);
    bundles.load('c', own.hash, own.bytes);
    expect(bundles.size).toBe(2);
    // a ends: b still uses the same code.
    expect(bundles.endJob('a')).toEqual([]);
    expect(bundles.get(shared.hash)?.code).toBe('module.exports = 1;');
    expect(bundles.endJob('b')).toEqual([shared.hash]);
    expect(bundles.get(shared.hash)).toBeUndefined();
    expect(bundles.endJob('c')).toEqual([own.hash]);
    expect(bundles.size).toBe(0);
    // An end that overtook its job's LoadJob (or names a job never loaded here) is a no-op, and the load after it holds the bundle.
    expect(bundles.endJob('d')).toEqual([]);
    bundles.load('d', own.hash, own.bytes);
    expect(bundles.size).toBe(1);
    // Loading twice for one job is one hold.
    bundles.load('d', own.hash, own.bytes);
    expect(bundles.endJob('d')).toEqual([own.hash]);
    expect(bundles.endJob('d')).toEqual([]);
  });

  it('verifies the code against its hash once per hash, and refuses without holding anything', () => {
    const bundles = new JobBundles();
    const good = code('module.exports = 3;');
    expect(() => bundles.load('x', good.hash, Buffer.from('module.exports = 4;'))).toThrow(/does not match the sha256/);
    expect(() => bundles.load('x', 'not-a-hash', good.bytes)).toThrow(/64 hex digit/);
    expect(() => bundles.load('x', good.hash, new Uint8Array(0))).toThrow(/empty/);
    expect(bundles.size).toBe(0);
    expect(bundles.endJob('x')).toEqual([]);
    bundles.load('x', good.hash, good.bytes);
    // Held: a second job's load of the same hash is not verified again.
    bundles.load('y', good.hash, new Uint8Array(0));
    expect(bundles.endJob('x')).toEqual([]);
    expect(bundles.endJob('y')).toEqual([good.hash]);
  });
});
