/** LivenessGuard on its own, driven by a ManualClock and injected signals. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../lib/clock.js';
import { LivenessGuard, type LivenessGuardState } from '../../../services/scheduler/liveness-guard.js';

function setup() {
  const clock = new ManualClock(1_000_000);
  const transitions: string[] = [];
  const guard = new LivenessGuard({
    clock,
    timeoutMs: 1000,
    maxLagMs: 500,
    checkIntervalMs: 50,
    onTransition: (from: LivenessGuardState, to: LivenessGuardState) => transitions.push(`${from} -> ${to}`),
  });
  /** The liveness check timer: every 50 ms, as the scheduler runs it. */
  const checks: boolean[] = [];
  const tick = () => {
    checks.push(guard.mayJudge());
    clock.setTimeout(tick, 50);
  };
  tick();
  return { clock, guard, transitions, checks };
}

describe('LivenessGuard', () => {
  it('judges while the checks come on time and nothing is unhealthy', () => {
    const { clock, checks, transitions } = setup();
    clock.advance(5000);
    expect(checks.every((c) => c)).toBe(true);
    expect(transitions).toEqual([]);
  });

  it('a stall (the check runs late) suspends judging from that very check, for one timeout after it', () => {
    const { clock, guard, checks, transitions } = setup();
    clock.advance(1000);
    checks.length = 0;
    // Paused for 10 s: the first check after the pause is the one that sees it, before any queued heartbeat is read.
    clock.stall(10_000);
    clock.advance(0);
    expect(checks).toEqual([false]);
    expect(guard.status()).toMatchObject({ state: 'SUSPENDED' });
    expect(guard.status().reason).toMatch(/liveness check ran 10\d{3} ms after/);
    clock.advance(950);
    expect(checks.every((c) => !c)).toBe(true);
    clock.advance(100);
    expect(checks.at(-1)).toBe(true);
    expect(transitions).toEqual(['JUDGING -> SUSPENDED', 'SUSPENDED -> JUDGING']);
  });

  it('a short delay within maxLag does not suspend', () => {
    const { clock, checks } = setup();
    clock.stall(400); // the next check comes 450 ms after the previous: within 50 + 500
    clock.advance(0);
    expect(checks.every((c) => c)).toBe(true);
  });

  it('event-loop lag above maxLag suspends for one timeout after the last lag sample', () => {
    const { clock, guard, checks } = setup();
    guard.observe({ kind: 'lag', lagMs: 200 });
    clock.advance(100);
    expect(checks.at(-1)).toBe(true);
    guard.observe({ kind: 'lag', lagMs: 800 });
    clock.advance(600);
    guard.observe({ kind: 'lag', lagMs: 900 }); // still lagging: the window restarts
    clock.advance(900);
    expect(checks.at(-1)).toBe(false);
    clock.advance(200);
    expect(checks.at(-1)).toBe(true);
  });

  it('suspends while NATS is disconnected, however long, and for one timeout after the reconnect', () => {
    const { clock, guard, checks } = setup();
    guard.observe({ kind: 'disconnected' });
    clock.advance(10_000);
    expect(checks.slice(-150).every((c) => !c)).toBe(true);
    guard.observe({ kind: 'reconnected' });
    clock.advance(990);
    expect(checks.at(-1)).toBe(false);
    clock.advance(60);
    expect(checks.at(-1)).toBe(true);
    expect(guard.status()).toEqual({ state: 'JUDGING', reason: '', suspendedUntilMs: expect.any(Number) as number });
  });
});
