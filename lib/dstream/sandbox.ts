/**
 * Job code out of the control plane: the scheduler evaluates a job bundle and
 * builds its graph in a worker thread (sandbox-worker.ts) with a memory limit
 * (`resourceLimits`) and a hard deadline (`worker.terminate()`), and gets back
 * only the graph's function-free description. A bundle that loops, exits,
 * throws from a timer or exhausts memory fails its submission with a clear
 * error; nothing it scheduled outlives its worker, and the scheduler's event
 * loop never runs a line of it.
 *
 * This is isolation of the control plane from job code, not a security
 * boundary against it: the worker shares the process (a job can still call
 * `process.kill`, read files, open sockets). Who may submit jobs is the
 * defence against hostile code, as in Spark.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JobOptions } from './api.js';
import { JobDefinitionError } from './errors.js';
import { JobGraph } from './graph.js';
import { bundleHash } from './loader.js';
import type { FromSandbox, SandboxWorkerData } from './sandbox-protocol.js';

/** A job built in a sandbox: its graph without functions, for planning. */
export interface DescribedJob {
  graph: JobGraph;
  options: JobOptions;
  bundleHash: string;
}

export interface SandboxLimits {
  /** Time limit of evaluating the bundle and building its graph (jobBuildTimeout). */
  buildTimeoutMs: number;
  /** Heap limit of the worker (jobSandboxMemory), bytes. */
  memoryBytes: number;
}

/** The worker's own start-up (thread, module imports) on top of the build's time limit before it is killed. */
const STARTUP_ALLOWANCE_MS = 2000;

/** Where the compiled worker lives, from dist/ (compiled) or from the source tree (vitest). */
export function sandboxWorkerPath(): string {
  const candidates = ['./sandbox-worker.js', '../../dist/lib/dstream/sandbox-worker.js'];
  for (const rel of candidates) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('compiled sandbox worker not found (dist/lib/dstream/sandbox-worker.js): run `npm run build` first');
}

export function formatBytes(n: number): string {
  return n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`;
}

/** Describe why a sandbox worker stopped, from its exit code and last error. */
export function workerEndReason(exitCode: number, error: Error | undefined, memoryBytes: number, option: string): string {
  if ((error as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return `ran out of memory (limit ${formatBytes(memoryBytes)}, ${option})`;
  }
  if (error) return `threw outside any function the job declares: ${error.name}: ${error.message}`;
  return `ended its worker thread (exit code ${exitCode}, e.g. process.exit)`;
}

/**
 * One job's sandbox worker. `built` settles once: with the job's description,
 * or a JobDefinitionError naming `source`. `onEnd` is told when the worker
 * stops for any reason other than `terminate()`.
 */
export class JobSandbox {
  readonly worker: Worker;
  readonly built: Promise<DescribedJob>;
  /** [0]: the foreachBatch node running now (-1: none). */
  readonly probe = new Int32Array(new SharedArrayBuffer(4));
  private lastError: Error | undefined;
  private terminated = false;
  private settled = false;
  onMessage?: (msg: FromSandbox) => void;
  onEnd?: (reason: string) => void;

  constructor(
    code: string,
    readonly source: string,
    mode: SandboxWorkerData['mode'],
    readonly limits: SandboxLimits,
    workerPath = sandboxWorkerPath(),
  ) {
    this.probe[0] = -1;
    const data: SandboxWorkerData = { code, source, buildTimeoutMs: limits.buildTimeoutMs, mode, probe: this.probe.buffer as SharedArrayBuffer };
    const hash = bundleHash(code);
    let resolve!: (d: DescribedJob) => void;
    let reject!: (e: Error) => void;
    this.built = new Promise<DescribedJob>((res, rej) => ((resolve = res), (reject = rej)));
    this.built.catch(() => undefined); // a caller that never awaits must not see an unhandled rejection
    const fail = (message: string) => {
      if (this.settled) return;
      this.settled = true;
      clearTimeout(deadline);
      reject(new JobDefinitionError(message));
      this.terminate();
    };
    const deadline = setTimeout(
      () => fail(`${source}: building the job took longer than ${limits.buildTimeoutMs} ms (jobBuildTimeout); its worker thread was stopped`),
      limits.buildTimeoutMs + STARTUP_ALLOWANCE_MS,
    );
    this.worker = new Worker(workerPath, {
      name: `rivulet-job-sandbox`,
      workerData: data,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(16, Math.floor(limits.memoryBytes / (1 << 20))) },
    });
    this.worker.on('message', (msg: FromSandbox) => {
      if (msg.type === 'built' && !this.settled) {
        this.settled = true;
        clearTimeout(deadline);
        let graph: JobGraph;
        try {
          graph = JobGraph.fromNodes(msg.nodes);
        } catch (e) {
          return reject(new JobDefinitionError(`${source}: ${(e as Error).message}`));
        }
        return resolve({ graph, options: msg.options, bundleHash: hash });
      }
      if (msg.type === 'buildFailed') return fail(msg.message);
      this.onMessage?.(msg);
    });
    this.worker.on('error', (err) => {
      this.lastError = err;
    });
    this.worker.on('exit', (code) => {
      if (this.terminated) return;
      this.terminated = true;
      const reason = workerEndReason(code, this.lastError, limits.memoryBytes, 'jobSandboxMemory');
      fail(`${source}: the job's code ${reason} while building`);
      clearTimeout(deadline);
      this.onEnd?.(reason);
    });
  }

  get alive(): boolean {
    return !this.terminated;
  }

  /** Stop the worker (and everything the job's code scheduled in it). */
  terminate(): void {
    if (this.terminated) return;
    this.terminated = true;
    void this.worker.terminate();
  }
}

/**
 * Evaluate a bundle and build its graph in a throwaway worker. Rejects with
 * JobDefinitionError naming `source` (not valid JavaScript, threw, no job
 * exported, invalid graph, overran the time or memory limit, exited).
 */
export async function buildInSandbox(code: string, source: string, limits: SandboxLimits, workerPath?: string): Promise<DescribedJob> {
  const sandbox = new JobSandbox(code, source, 'build', limits, workerPath);
  try {
    return await sandbox.built;
  } finally {
    sandbox.terminate();
  }
}
