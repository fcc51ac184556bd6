/** Batch and task states move only through guarded transitions: illegal moves are refused, legal ones logged `OLD -> NEW` at debug. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../../lib/state-machine.js';
import { TaskAttempt } from '../../../services/scheduler/task-attempt.js';
import { runWithStages } from './fixtures.js';

function capturingLogger() {
  const lines: string[] = [];
  const log = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
        done();
      },
    }),
  );
  return { log, lines };
}

describe('guarded transitions', () => {
  it('a batch moves WAITING_INPUT → QUEUED → REGISTERING → RUNNING → COMPLETED, and nowhere from COMPLETED', () => {
    const { log, lines } = capturingLogger();
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    expect(run.state).toBe('RUNNING');
    run.moveTo('COMPLETED', log);
    expect(lines).toEqual([`batch job-1@1000 RUNNING -> COMPLETED`]);
    expect(() => run.moveTo('FAILED', log)).toThrow(IllegalTransitionError);
    expect(() => run.moveTo('RUNNING', log)).toThrow('batch job-1@1000 is COMPLETED and cannot become RUNNING');
    expect(run.state).toBe('COMPLETED');
  });

  it('a task attempt runs once and ends once', () => {
    const { log, lines } = capturingLogger();
    const run = runWithStages([{ kind: 'result', numPartitions: 1, parentStages: [] }]);
    const t = new TaskAttempt({ run, stageRun: run.stages[0]!, partition: 0, failures: 0, lostAttempts: 0, speculative: false, recovery: false, preferred: [], excluded: new Set(), readySinceMs: 0 });
    expect(() => t.moveTo('SUCCEEDED', log)).toThrow('cannot become SUCCEEDED'); // never launched
    t.start(1, { executorId: 'e1', epoch: 3, launchedAtMs: 0, locality: 'ANY' }, log);
    t.moveTo('LOST', log);
    expect(() => t.moveTo('SUCCEEDED', log)).toThrow(IllegalTransitionError); // a late result of a lost attempt
    expect(lines).toEqual(['task job-1/1000/0/0#1 PENDING -> RUNNING', 'task job-1/1000/0/0#1 RUNNING -> LOST']);
    const retry = t.retry({ failures: 0 });
    expect(retry.state).toBe('PENDING');
    retry.moveTo('CANCELLED', log);
    expect(() => retry.start(2, { executorId: 'e1', epoch: 3, launchedAtMs: 0, locality: 'ANY' }, log)).toThrow(IllegalTransitionError);
  });
});
