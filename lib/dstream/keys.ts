/**
 * Keys compare structurally and hash the same on every executor: strings,
 * numbers, booleans, null and (nested) tuples of them. Primitive keys are used
 * as-is in a JS Map (so 1 and "1" stay distinct without allocating); composite
 * keys go through a canonical string in a second map, so no string key can
 * collide with the encoding of a tuple.
 */

/** A Map from structural key to value that keeps the original key for output. */
export class KeyMap<V> {
  private readonly primitives = new Map<unknown, V>();
  private readonly composites = new Map<string, { key: unknown; value: V }>();

  get size(): number {
    return this.primitives.size + this.composites.size;
  }

  get(key: unknown): V | undefined {
    if (isPrimitive(key)) return this.primitives.get(normalizeZero(key));
    return this.composites.get(canonicalKey(key))?.value;
  }

  set(key: unknown, value: V): void {
    if (isPrimitive(key)) this.primitives.set(normalizeZero(key), value);
    else {
      const c = canonicalKey(key);
      const entry = this.composites.get(c);
      if (entry) entry.value = value;
      else this.composites.set(c, { key, value });
    }
  }

  delete(key: unknown): boolean {
    if (isPrimitive(key)) return this.primitives.delete(normalizeZero(key));
    return this.composites.delete(canonicalKey(key));
  }

  /** Entries in insertion order; deleting the current entry while iterating is safe (Map semantics). */
  *entries(): IterableIterator<[unknown, V]> {
    yield* this.primitives.entries();
    for (const e of this.composites.values()) yield [e.key, e.value];
  }
}

function isPrimitive(k: unknown): boolean {
  const t = typeof k;
  return t === 'string' || t === 'number' || t === 'boolean' || k === null || t === 'bigint';
}

// -0 and 0 are the same key (as in Spark's equality on boxed numbers after hashing).
function normalizeZero(k: unknown): unknown {
  return k === 0 ? 0 : k;
}

/** A canonical string for any key; equal keys give equal strings. */
export function canonicalKey(k: unknown): string {
  switch (typeof k) {
    case 'string':
      return 's' + k;
    case 'number':
      return 'n' + (k === 0 ? 0 : k);
    case 'boolean':
      return k ? 'T' : 'F';
    case 'bigint':
      return 'b' + k.toString();
    case 'undefined':
      return 'u';
    case 'object':
      if (k === null) return 'N';
      if (Array.isArray(k)) return '[' + k.map(canonicalKey).join(',') + ']';
      return (
        '{' +
        Object.keys(k)
          .sort()
          .map((p) => JSON.stringify(p) + ':' + canonicalKey((k as Record<string, unknown>)[p]))
          .join(',') +
        '}'
      );
    default:
      throw new TypeError(`a ${typeof k} cannot be a key`);
  }
}

/** FNV-1a over UTF-16 code units: deterministic across processes and platforms. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function hashKey(k: unknown): number {
  // Strings are the common case: hash them directly, without building 's'+k.
  if (typeof k === 'string') return fnv1a(k, 0x811c9dc5 ^ 0x73);
  return fnv1a(canonicalKey(k));
}

/** The reduce partition of a key, the same on every executor. */
export function partitionOf(k: unknown, numPartitions: number): number {
  return hashKey(k) % numPartitions;
}
