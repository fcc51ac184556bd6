/**
 * The import rules of STYLE.md, checked over the repository's TypeScript
 * sources (a regex over `import … from '…'`, `export … from '…'`, `import '…'`
 * and `import('…')` of relative paths — enough for this codebase, which has no
 * path aliases but `rivulet` in the examples):
 *
 * - product code (lib/ except lib/testing/, services/, client/, cli/) imports
 *   nothing from tests/, bench/, scenarios/ or lib/testing/ (the `rivulet/testing`
 *   entry, which is built on product code, not the other way round);
 * - tests import no benchmark code (shared workloads live in scenarios/);
 * - scenarios/ (shared by bench/ and tests/) imports neither of them;
 * - no service imports another service's folder (services share lib/ only);
 * - product files have no import cycle, type-only imports included (a cycle of
 *   types is still two modules that cannot be understood one without the other).
 *
 * Each failure names the importing file and what it imports, or the cycle.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const ROOTS = ['lib', 'services', 'client', 'cli', 'bench', 'scenarios', 'examples', 'tests'];
const SKIP = new Set(['node_modules', 'dist', 'gen']);

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIP.has(name) ? [] : sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Repo-relative, with forward slashes. */
const rel = (abs: string) => relative(repo, abs).split(sep).join('/');

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The relative imports of a file, resolved to repo-relative paths (`.js` → `.ts` when that is the source). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    // Comments may quote imports (module docs do); strip those that open a line
    // (a `/*` inside a string such as 'tests/**/*.ts' must not hide code).
    .replace(/^\s*\/\*[\s\S]*?\*\//gm, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const out = new Set<string>();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), m[1]!);
    const ts = target.replace(/\.js$/, '.ts');
    out.add(rel(existsSync(ts) ? ts : target));
  }
  return [...out];
}

type Kind = 'product' | 'testing-entry' | 'tests' | 'bench' | 'scenarios' | 'examples' | 'other';

function kindOf(path: string): Kind {
  if (path.startsWith('lib/testing/')) return 'testing-entry';
  if (/^(lib|services|client|cli)\//.test(path)) return 'product';
  const top = path.split('/')[0]!;
  return (['tests', 'bench', 'scenarios', 'examples'] as const).find((k) => k === top) ?? 'other';
}

const serviceOf = (path: string) => /^services\/([^/]+)\//.exec(path)?.[1];

const graph = new Map<string, string[]>(ROOTS.flatMap((r) => sourceFiles(join(repo, r))).map((f) => [rel(f), importsOf(f)]));

/** Every edge `from -> to` for which `bad(from, to)` holds, as readable lines. */
function violations(bad: (from: string, to: string) => boolean): string[] {
  const found: string[] = [];
  for (const [from, tos] of graph) for (const to of tos) if (bad(from, to)) found.push(`${from} imports ${to}`);
  return found.sort();
}

type Graph = ReadonlyMap<string, readonly string[]>;

/** One cycle per strongly connected component (Tarjan) of `graph` restricted to `nodes`, as `a -> b -> … -> a`. */
function cycles(graph: Graph, nodes: (path: string) => boolean): string[] {
  const edges = (n: string) => (graph.get(n) ?? []).filter((t) => nodes(t) && graph.has(t));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges(v).includes(v)) components.push(comp);
    }
  };
  for (const n of [...graph.keys()].filter(nodes).sort()) if (!index.has(n)) visit(n);
  // Within each component, the shortest cycle through its first file (breadth-first), to report.
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    while (queue.length > 0 && !last) {
      const v = queue.shift()!;
      for (const w of edges(v).filter((x) => inComp.has(x))) {
        if (w === start) {
          last = v;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = last!; v !== start; v = prev.get(v)!) path.splice(1, 0, v);
    return `${path.join(' -> ')} -> ${start}` + (comp.length > path.length ? ` (${comp.length} files in this cycle group)` : '');
  });
}

describe('import rules', () => {
  it('sees the repository', () => {
    // Guards against a regex or layout change that silently finds nothing.
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('lib/cluster/local-cluster.ts')).toContain('lib/cluster/service-process.ts');
    expect(graph.get('lib/testing/index.ts')).toContain('lib/process/ports.ts'); // export … from
    expect(kindOf('lib/testing/index.ts')).toBe('testing-entry');
    expect(kindOf('lib/process/supervise.ts')).toBe('product');
  });

  it('product code imports nothing from tests/, bench/, scenarios/ or lib/testing/', () => {
    expect(violations((from, to) => kindOf(from) === 'product' && ['tests', 'bench', 'scenarios', 'testing-entry'].includes(kindOf(to)))).toEqual([]);
  });

  it('tests import no benchmark code', () => {
    expect(violations((from, to) => kindOf(from) === 'tests' && kindOf(to) === 'bench')).toEqual([]);
  });

  it('scenarios/ imports neither tests nor benchmarks', () => {
    expect(violations((from, to) => kindOf(from) === 'scenarios' && ['tests', 'bench'].includes(kindOf(to)))).toEqual([]);
  });

  it("no service imports another service's folder", () => {
    expect(violations((from, to) => !!serviceOf(from) && !!serviceOf(to) && serviceOf(from) !== serviceOf(to))).toEqual([]);
  });

  it('product files have no import cycle', () => {
    expect(cycles(graph, (path) => kindOf(path) === 'product')).toEqual([]);
  });

  it('the cycle check reports a cycle it is shown', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(cycles(g, () => true).sort()).toEqual(['a -> b -> c -> a', 'e -> e']);
    expect(cycles(g, (n) => n !== 'c')).toEqual(['e -> e']);
  });
});
