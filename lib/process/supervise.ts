/**
 * The one way Rivulet starts, waits for and stops a child process — services,
 * nats-server, the chart test's pods — for `rivulet up`/`down`, the tests and
 * the benchmarks alike:
 *
 * - start: spawn, with the output either piped to us (kept as recent lines) or
 *   written to a log file the child owns (so it can outlive us, `--detach`);
 * - wait until healthy: a caller-given readiness check, polled until it returns
 *   a value, the child exits, or the deadline passes; the error names the
 *   reason and carries the tail of the child's output (ChildStartError). A
 *   child that does not become ready is killed: nothing half-started is left;
 * - stop: SIGTERM, SIGKILL after a grace period (as Kubernetes gives a pod),
 *   resolving once the process has exited. The same escalation serves our own
 *   children and pids recorded by another process (`rivulet down`).
 *
 * It knows nothing about what the child is: readiness (a log line, gRPC health,
 * a port) is the caller's. It never signals a pid it was not given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ChildStartError } from './errors.js';

/** What a readiness check sees. */
export interface ReadinessProbe {
  /** The child's output so far (pipe: the kept lines; log file: its last 256 KiB). */
  output(): string;
  /** Milliseconds left before the deadline (a check that waits on something should not wait longer). */
  remainingMs(): number;
}

export interface SuperviseOptions<T> {
  /** Display name, used in errors ("lineage", "nats-server"). */
  name: string;
  command: string;
  args?: readonly string[];
  /** The child's whole environment. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Send stdout and stderr to this file (truncated first), which the child then
   * owns, instead of a pipe: a child writing to a pipe nobody reads any more
   * dies (EPIPE/SIGPIPE), so a child that must outlive us needs a file.
   * @default a pipe: output kept as the last `keepLines` lines
   */
  logFile?: string;
  /** Each output line (pipe only), e.g. to forward it to a test's log. */
  onLine?: (line: string) => void;
  /** Lines of piped output kept for readiness checks and error reports. @default 500 */
  keepLines?: number;
  /**
   * Own process group, and not keeping this process alive: Ctrl-C in a terminal
   * then reaches only us (who stop the children in order), and with `logFile`
   * the child survives us. @default false
   */
  detached?: boolean;
  /**
   * Healthy yet? Called every `pollMs` until it returns something other than
   * `undefined` (that value becomes `Supervised.ready`); throwing fails the start.
   */
  ready: (probe: ReadinessProbe) => T | undefined | Promise<T | undefined>;
  /** Deadline for the readiness check to pass. @default 20000 */
  readyTimeoutMs?: number;
  /** @default 50 */
  pollMs?: number;
  /** Run the child as this user and group (a root parent starting PostgreSQL, which refuses to run as root). */
  uid?: number;
  gid?: number;
}

export type StopOutcome = 'terminated' | 'killed' | 'gone';

export interface Supervised<T> {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** What the readiness check returned (e.g. the address the child bound). */
  readonly ready: T;
  /**
   * The child's recent output, for error reports and checks on what it logged:
   * piped, every kept line (or their last `maxBytes`); with a log file, its last
   * `maxBytes` (default 8 KiB).
   */
  recentOutput(maxBytes?: number): string;
  /** Resolves when the child has exited. */
  readonly exited: Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL now (chaos tests); resolves once it has exited. */
  kill(): Promise<void>;
}

const ERROR_TAIL_BYTES = 8192;
const PROBE_TAIL_BYTES = 256 * 1024;

/** Start `command`, wait until `ready` passes, and return the handle; see the module doc. */
export async function supervise<T>(opts: SuperviseOptions<T>): Promise<Supervised<T>> {
  const { name } = opts;
  const keep = opts.keepLines ?? 500;
  const lines: string[] = [];
  let child: ChildProcess;
  if (opts.logFile) {
    const fd = openSync(opts.logFile, 'w');
    try {
      child = spawn(opts.command, opts.args ?? [], { env: opts.env ?? process.env, stdio: ['ignore', fd, fd], detached: opts.detached ?? false, ...ids(opts) });
    } finally {
      // The child has its own copy of the descriptor.
      closeSync(fd);
    }
  } else {
    child = spawn(opts.command, opts.args ?? [], { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false, ...ids(opts) });
    const remember = (line: string) => {
      lines.push(line);
      if (lines.length > keep) lines.shift();
      opts.onLine?.(line);
    };
    createInterface({ input: child.stdout! }).on('line', remember);
    createInterface({ input: child.stderr! }).on('line', remember);
  }
  const logFile = opts.logFile;
  const output = (maxBytes: number) => (logFile ? tailFile(logFile, maxBytes) : lastBytes(lines.join('\n'), maxBytes));
  const where = logFile ? ` (${logFile})` : '';

  // Settles once, with how the child ended (or could not start).
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // `on`, not `once`: a later 'error' (e.g. a signal that could not be sent) must not go unhandled.
    child.on('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
  });
  const exited = ended.then(() => undefined);

  const timeoutMs = opts.readyTimeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const probe: ReadinessProbe = { output: () => output(PROBE_TAIL_BYTES), remainingMs: () => Math.max(0, deadline - Date.now()) };
  const fail = (reason: 'timeout' | 'check-failed', message: string, cause?: unknown): never => {
    throw new ChildStartError(`${name} ${message}; last output${where}:\n${output(ERROR_TAIL_BYTES)}`, { child: name, reason, output: output(ERROR_TAIL_BYTES) }, { cause });
  };

  let value: T | undefined;
  let deadlineTimer: NodeJS.Timeout | undefined;
  // Also bounds a readiness check that itself never settles.
  const pastDeadline = new Promise<{ pastDeadline: true }>((r) => (deadlineTimer = setTimeout(() => r({ pastDeadline: true }), timeoutMs)));
  try {
    for (;;) {
      const outcome = await Promise.race([
        pastDeadline,
        ended.then((e) => ({ ended: e })),
        Promise.resolve()
          .then(() => opts.ready(probe))
          .then(
            (v) => ({ value: v }),
            (err: unknown) => ({ checkError: err }),
          ),
      ]);
      if ('ended' in outcome) {
        const e = outcome.ended;
        // Let the last output lines reach us before reporting them.
        await new Promise((r) => setTimeout(r, 50));
        if (e.spawnError) {
          throw new ChildStartError(`${name} could not be started (${e.spawnError.message})`, { child: name, reason: 'spawn-failed', output: '' }, { cause: e.spawnError });
        }
        const tail = output(ERROR_TAIL_BYTES);
        throw new ChildStartError(`${name} exited (${e.signal ?? e.code}) before it was ready; last output${where}:\n${tail}`, {
          child: name,
          reason: 'exited',
          output: tail,
          exitCode: e.code,
          signal: e.signal,
        });
      }
      if ('pastDeadline' in outcome) fail('timeout', `did not become ready within ${timeoutMs} ms`);
      if ('checkError' in outcome) fail('check-failed', `failed its readiness check (${(outcome.checkError as Error)?.message ?? outcome.checkError})`, outcome.checkError);
      if ('value' in outcome && outcome.value !== undefined) {
        value = outcome.value;
        break;
      }
      if (Date.now() >= deadline) fail('timeout', `did not become ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 50));
    }
  } catch (e) {
    clearTimeout(deadlineTimer);
    // Never leave a half-started child behind.
    if (running(child)) {
      child.kill('SIGKILL');
      await exited;
    }
    throw e;
  }
  clearTimeout(deadlineTimer);
  if (opts.detached) child.unref();
  return {
    name,
    pid: child.pid!,
    process: child,
    ready: value,
    recentOutput: (maxBytes?: number) => (maxBytes === undefined && !logFile ? lines.join('\n') : output(maxBytes ?? ERROR_TAIL_BYTES)),
    exited,
    stop: (graceMs = 5000) => stopChild(child, graceMs),
    kill: async () => {
      if (running(child)) child.kill('SIGKILL');
      await exited;
    },
  };
}

function ids(opts: { uid?: number; gid?: number }): { uid?: number; gid?: number } {
  return { ...(opts.uid !== undefined ? { uid: opts.uid } : {}), ...(opts.gid !== undefined ? { gid: opts.gid } : {}) };
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Something that can be signalled and waited for: our child, or a recorded pid. */
interface Stoppable {
  isRunning(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** True once it has exited, false if still running after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<boolean>;
}

/** The escalation both kinds share: SIGTERM, and SIGKILL if it is still running after `graceMs`. */
async function stopGracefully(target: Stoppable, graceMs: number, killWaitMs: number): Promise<StopOutcome> {
  if (!target.isRunning()) return 'gone';
  target.signal('SIGTERM');
  if (await target.waitForExit(graceMs)) return 'terminated';
  target.signal('SIGKILL');
  await target.waitForExit(killWaitMs);
  return 'killed';
}

/** Stop a child of this process: SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  const exit = new Promise<void>((resolve) => (running(child) ? child.once('exit', () => resolve()) : resolve()));
  await stopGracefully(
    {
      isRunning: () => running(child),
      signal: (s) => void child.kill(s),
      waitForExit: (ms) => raceTimeout(exit, ms),
    },
    graceMs,
    // SIGKILL cannot be ignored; 'exit' follows.
    Number.POSITIVE_INFINITY,
  );
}

/**
 * Stop a process that is not our child (e.g. recorded by a detached `rivulet up`):
 * SIGTERM, SIGKILL after `graceMs`, then wait (up to 5 s) until it is gone.
 * Whether `pid` still runs the right program is the caller's to check first.
 */
export function stopPid(pid: number, graceMs = 5000): Promise<StopOutcome> {
  return stopGracefully(
    {
      isRunning: () => isPidAlive(pid),
      signal: (s) => {
        try {
          process.kill(pid, s);
        } catch {
          // already gone
        }
      },
      waitForExit: async (ms) => {
        const deadline = Date.now() + ms;
        for (;;) {
          if (!isPidAlive(pid)) return true;
          if (Date.now() >= deadline) return false;
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    },
    graceMs,
    5000,
  );
}

/** True while `pid` runs; a zombie (exited, not yet reaped) counts as gone. */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (not Linux): kill(0) succeeded, so it runs.
    return true;
  }
}

async function raceTimeout(p: Promise<void>, ms: number): Promise<boolean> {
  if (!Number.isFinite(ms)) {
    await p;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  return done;
}

function lastBytes(text: string, maxBytes: number): string {
  return text.length > maxBytes ? text.slice(text.length - maxBytes) : text;
}

/** The last `maxBytes` of a file, for readiness checks and error reports; '' when unreadable. */
export function tailFile(path: string, maxBytes = ERROR_TAIL_BYTES): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
