/** Small collection helpers for hot paths. */

/** Append `value` to the list under `key`, creating it: linear, unlike re-spreading the list on every append. */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Add `delta` to the count under `key`, dropping the entry at 0 (so the map's size counts keys with any). */
export function addCount<K>(map: Map<K, number>, key: K, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

/** Freeze `value` and every object and array it holds; returns it. For data shared by reference that nothing may edit. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
