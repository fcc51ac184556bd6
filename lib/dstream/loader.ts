/**
 * Loading a job bundle (CommonJS code made by lib/dstream/bundle.ts) and
 * building its graph: in the executors' task workers, and for the scheduler
 * inside a sandbox worker (sandbox.ts) — never on a control-plane event loop.
 *
 * The bundle's `require('rivulet')` is answered with this process's own API
 * module, so a job always runs against the operators of the cluster it is
 * submitted to. Evaluation and the build function run under a time limit, so
 * a job that loops forever while building fails with a clear error instead of
 * hanging its thread.
 */
import { createHash } from 'node:crypto';
import { builtinModules, createRequire } from 'node:module';
import vm from 'node:vm';
import * as api from './index.js';
import { isJobDefinition, StreamingContext, type JobDefinition } from './api.js';
import { JobDefinitionError } from './errors.js';
import { JobGraph, type GraphNode } from './graph.js';

export interface LoadedJob {
  definition: JobDefinition;
  graph: JobGraph;
  bundleHash: string;
}

export function bundleHash(code: string | Uint8Array): string {
  return createHash('sha256').update(code).digest('hex');
}

const nodeRequire = createRequire(import.meta.url);

function jobRequire(id: string): unknown {
  if (id === 'rivulet' || id === 'rivulet/api') return api;
  if (id.startsWith('node:') || builtinModules.includes(id)) return nodeRequire(id);
  throw new JobDefinitionError(
    `job requires "${id}", which is neither rivulet nor a Node built-in; dependencies must be bundled into the job`,
  );
}

interface LoadSlot {
  module: { exports: Record<string, unknown> };
  require: (id: string) => unknown;
  build: (exports: Record<string, unknown>) => JobGraph;
}

/**
 * Evaluate the bundle and build the graph. Throws JobDefinitionError naming
 * `source` when the code does not parse, throws, does not export a job, or
 * builds an invalid graph.
 */
export function loadJob(code: string, source: string, timeoutMs = 5000): LoadedJob {
  let script: vm.Script;
  try {
    script = new vm.Script(
      `(function (module, exports, require, __build) {${code}\n;return __build(module.exports);})` +
        `(__rivuletLoad.module, __rivuletLoad.module.exports, __rivuletLoad.require, __rivuletLoad.build)`,
      { filename: source },
    );
  } catch (e) {
    throw new JobDefinitionError(`${source}: not valid JavaScript: ${(e as Error).message}`, { cause: e });
  }
  let definition: JobDefinition | undefined;
  const slot: LoadSlot = {
    module: { exports: {} },
    require: jobRequire,
    build: (exports) => {
      const candidate = isJobDefinition(exports.default) ? exports.default : exports;
      if (!isJobDefinition(candidate)) {
        throw new JobDefinitionError(`${source}: the module must \`export default defineJob(...)\``);
      }
      definition = candidate;
      const graph = new JobGraph();
      candidate.build(new StreamingContext(graph));
      return graph;
    },
  };
  const g = globalThis as { __rivuletLoad?: LoadSlot };
  g.__rivuletLoad = slot;
  let graph: JobGraph;
  try {
    graph = script.runInThisContext({ timeout: timeoutMs }) as JobGraph;
  } catch (e) {
    if (e instanceof JobDefinitionError) throw e;
    const err = e as Error & { code?: string };
    if (err?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
      throw new JobDefinitionError(`${source}: building the job took longer than ${timeoutMs} ms (jobBuildTimeout)`, { cause: e });
    }
    throw new JobDefinitionError(`${source}: the job threw while building: ${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`, {
      cause: e,
    });
  } finally {
    delete g.__rivuletLoad;
  }
  validateGraph(graph, source);
  return { definition: definition!, graph, bundleHash: bundleHash(code) };
}

/** Node fields holding user functions or user data: never part of a graph's description. */
const USER_FIELDS = ['fn', 'aggregator', 'reduceFn', 'invFn', 'filterFn', 'updateFn', 'mappingFn', 'initialState'] as const;

/**
 * The graph's nodes without user functions and data (sandbox.ts): everything
 * the scheduler plans with, and nothing that can run. Structured-clonable.
 */
export function describeNodes(graph: JobGraph): GraphNode[] {
  return graph.nodes.map((n) => {
    const copy: Record<string, unknown> = { ...n };
    for (const f of USER_FIELDS) delete copy[f];
    return copy as unknown as GraphNode;
  });
}

function validateGraph(graph: JobGraph, source: string): void {
  if (graph.sources.length === 0) throw new JobDefinitionError(`${source}: the job reads no stream (call ctx.receiverStream(name))`);
  if (graph.outputs.length === 0) {
    throw new JobDefinitionError(`${source}: the job has no output operation (call .output(name) or .print())`);
  }
}
