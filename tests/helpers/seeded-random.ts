/**
 * Replayable randomness for chaos tests: kill moments and victims come from a
 * seeded PRNG (mulberry32), never from Math.random, so a failing run can be
 * replayed with the seed it printed. The seed is RIVULET_TEST_SEED when set,
 * else a fixed default per test (the same run every time unless asked otherwise).
 */

export interface SeededRandom {
  readonly seed: number;
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [min, max). */
  between(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** For assertion messages: `seed=<n> (replay: RIVULET_TEST_SEED=<n>)`. */
  describe(): string;
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A PRNG seeded from RIVULET_TEST_SEED (or `defaultSeed`); logs its seed under `label`. */
export function seededRandom(label: string, defaultSeed: number): SeededRandom {
  const fromEnv = process.env.RIVULET_TEST_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : defaultSeed;
  if (!Number.isInteger(seed)) throw new Error(`RIVULET_TEST_SEED must be an integer, got ${JSON.stringify(fromEnv)}`);
  const rand = mulberry32(seed);
  const describe = () => `seed=${seed} (replay: RIVULET_TEST_SEED=${seed})`;
  console.log(`[${label}] random ${describe()}`);
  return {
    seed,
    next: rand,
    between: (min, max) => min + rand() * (max - min),
    pick: (list) => {
      if (list.length === 0) throw new Error('pick from an empty list');
      return list[Math.floor(rand() * list.length)]!;
    },
    describe,
  };
}
