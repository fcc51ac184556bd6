/**
 * Judging a word count that left Rivulet through a sink (rows in a table,
 * messages on a subject) against the lines pushed (id-lines.ts), whatever the
 * batch boundaries were: exactly once means each id stored once with count 1,
 * every acked id stored, nothing stored that was never pushed (or refused and
 * not stored), and the other words adding up to the word count of exactly the
 * lines whose ids are stored.
 */
import { expect } from 'vitest';
import { countWords, idLine } from './id-lines.js';

export interface WordRow {
  word: string;
  count: number;
}

/** The non-id word counts of these lines' ids. */
export function colourCounts(ids: Iterable<number>): Map<string, number> {
  const m = countWords([...ids].map(idLine));
  for (const w of [...m.keys()]) if (w.startsWith('id')) m.delete(w);
  return m;
}

/** Returns the ids stored. `acked` may be empty (a failed job: only at-most-once can be asserted). */
export function expectRowsExactlyOnce(rows: readonly WordRow[], acked: ReadonlySet<number>, refused: ReadonlySet<number>, pushed: number, where: string): Set<number> {
  const ids = new Map<number, number>();
  const colours = new Map<string, number>();
  for (const r of rows) {
    if (r.word.startsWith('id')) {
      const id = Number(r.word.slice(2));
      expect(r.count, `${where}: id${id}'s count`).toBe(1);
      ids.set(id, (ids.get(id) ?? 0) + 1);
    } else colours.set(r.word, (colours.get(r.word) ?? 0) + r.count);
  }
  const twice = [...ids].filter(([, n]) => n > 1).map(([id]) => id);
  expect(twice, `${where}: ids stored more than once`).toEqual([]);
  const missing = [...acked].filter((id) => !ids.has(id));
  expect(missing.length, `${where}: acked ids missing (${missing.slice(0, 5).join(',')}…)`).toBe(0);
  expect([...ids.keys()].filter((id) => id >= pushed || (!acked.has(id) && !refused.has(id))), `${where}: ids never acked nor refused`).toEqual([]);
  expect(new Map([...colours].sort()), `${where}: colour counts`).toEqual(new Map([...colourCounts(ids.keys())].sort()));
  return new Set(ids.keys());
}

/** The ids among rows. */
export function idsIn(rows: readonly WordRow[]): Set<number> {
  return new Set(rows.filter((r) => r.word.startsWith('id')).map((r) => Number(r.word.slice(2))));
}
