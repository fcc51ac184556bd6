/**
 * Which failures move a caller to another scheduler (lib/grpc/scheduler-endpoints.ts).
 * Only the decision: no channel is opened by failover().
 */
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { fromServiceError } from '../../../lib/errors.js';
import { LEADER_ADDRESS_KEY, SCHEDULER_ROLE_KEY, SchedulerEndpoints, schedulerAddressList, standbyRefusal } from '../../../lib/grpc/scheduler-endpoints.js';

function standbyError(leader?: string) {
  const metadata = new Metadata();
  metadata.set(SCHEDULER_ROLE_KEY, 'standby');
  if (leader) metadata.set(LEADER_ADDRESS_KEY, leader);
  // As callers see it: typed by unary(), the grpc error as its cause.
  return fromServiceError({ code: status.UNAVAILABLE, details: 'scheduler b is a standby', metadata });
}
const refused = () => fromServiceError({ code: status.UNAVAILABLE, details: 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1' });
const dropped = () => fromServiceError({ code: status.UNAVAILABLE, details: 'Connection dropped' });
const deadline = () => fromServiceError({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
const busy = () => fromServiceError({ code: status.UNAVAILABLE, details: 'no executors alive' });

describe('SchedulerEndpoints', () => {
  it('parses one or several addresses', () => {
    expect(schedulerAddressList('a:1')).toEqual(['a:1']);
    expect(schedulerAddressList(' a:1, b:2 ,a:1,')).toEqual(['a:1', 'b:2']);
    expect(() => schedulerAddressList(' , ')).toThrow(/no scheduler address/);
  });

  it('goes where a standby names the leader, also when that address was not given', () => {
    const e = new SchedulerEndpoints('a:1,b:2');
    expect(standbyRefusal(standbyError('b:2'))).toEqual({ leader: 'b:2' });
    expect(e.failover(standbyError('b:2'), { idempotent: false })).toBe(true);
    expect(e.address).toBe('b:2');
    const single = new SchedulerEndpoints('service:7071');
    expect(single.failover(standbyError('10.0.0.7:7071'), { idempotent: false })).toBe(true);
    expect(single.address).toBe('10.0.0.7:7071');
    expect(single.addresses).toEqual(['service:7071', '10.0.0.7:7071']);
  });

  it('moves on from a standby that knows no leader, from a refused connection, and (reads only) from a dropped one or a silent scheduler', () => {
    const e = new SchedulerEndpoints('a:1,b:2');
    expect(e.failover(standbyError(), { idempotent: false })).toBe(true);
    expect(e.address).toBe('b:2');
    expect(e.failover(refused(), { idempotent: false })).toBe(true);
    expect(e.address).toBe('a:1');
    // A submission may have reached a scheduler whose connection then dropped: not sent again elsewhere.
    expect(e.failover(dropped(), { idempotent: false })).toBe(false);
    expect(e.failover(deadline(), { idempotent: false })).toBe(false);
    expect(e.address).toBe('a:1');
    expect(e.failover(dropped(), { idempotent: true })).toBe(true);
    expect(e.failover(deadline(), { idempotent: true })).toBe(true);
    expect(e.address).toBe('a:1');
  });

  it('keeps a leader’s own answers, and with one address changes nothing', () => {
    const e = new SchedulerEndpoints('a:1,b:2');
    expect(e.failover(busy(), { idempotent: true })).toBe(false);
    expect(e.failover(fromServiceError({ code: status.NOT_FOUND, details: 'no such job' }), { idempotent: true })).toBe(false);
    const single = new SchedulerEndpoints('a:1');
    expect(single.failover(refused(), { idempotent: true })).toBe(false);
    expect(single.failover(standbyError(), { idempotent: true })).toBe(false);
  });
});
