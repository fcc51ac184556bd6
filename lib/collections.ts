/** Small collection helpers for hot paths. */

/** Append `value` to the list under `key`, creating it: linear, unlike re-spreading the list on every append. */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
