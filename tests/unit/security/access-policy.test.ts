import { describe, expect, it } from 'vitest';
import { ACCESS_POLICY, decide, leaderOnlyMethods } from '../../../lib/security/access-policy.js';
import type { Principal } from '../../../lib/security/identity.js';
import { healthV1, rivuletV1 } from '../../../lib/proto/index.js';
import { reflectionMethodPaths } from '../../helpers/reflection.js';

/** Every method path of every service the proto files define, and of server reflection (every server serves it). */
function allMethodPaths(): string[] {
  const services = [
    rivuletV1.Receiver,
    rivuletV1.Scheduler,
    rivuletV1.SchedulerTesting,
    rivuletV1.Lineage,
    rivuletV1.Executor,
    healthV1.Health,
  ] as unknown as Array<{ service: Record<string, { path: string }> }>;
  return [...services.flatMap((s) => Object.values(s.service).map((m) => m.path)), ...reflectionMethodPaths()];
}

const admin: Principal = { kind: 'user', user: 'root', role: 'admin', via: 'test' };
const submitter: Principal = { kind: 'user', user: 'alice', role: 'submit', via: 'test' };
const pusher: Principal = { kind: 'user', user: 'bob', role: 'push', via: 'test' };
const viewer: Principal = { kind: 'user', user: 'carol', role: 'view', via: 'test' };
const anonymous: Principal = { kind: 'anonymous', reason: 'nothing presented' };
const service = (role: 'scheduler' | 'receiver' | 'lineage' | 'executor'): Principal => ({ kind: 'service', role });

describe('the access table', () => {
  it('has a rule for every RPC of every service, and none for methods that do not exist', () => {
    const paths = allMethodPaths();
    expect(paths.length).toBeGreaterThan(30);
    const missing = paths.filter((p) => !(p in ACCESS_POLICY));
    expect(missing).toEqual([]);
    const stale = Object.keys(ACCESS_POLICY).filter((p) => !paths.includes(p));
    expect(stale).toEqual([]);
  });

  it('fences by the leader’s term exactly the scheduler-only calls that change something', () => {
    const names = (set: ReadonlySet<string>) => [...set].map((p) => p.slice(p.lastIndexOf('/') + 1)).sort();
    expect(names(leaderOnlyMethods('Executor'))).toEqual(['DropBlocks', 'KillTasks', 'LoadJob', 'ReplicateBlocks', 'RunTasks', 'TaskStream']);
    expect(names(leaderOnlyMethods('Lineage'))).toEqual(['DropLocations', 'ForgetBatches', 'LostOnExecutor', 'RecordLocations', 'RegisterBatch', 'RemoveExecutor']);
  });

  it('refuses a method it has no rule for, whoever calls', () => {
    const d = decide('/rivulet.v1.Executor/Shell', admin);
    expect(d).toMatchObject({ allowed: false, code: 'PERMISSION_DENIED' });
  });

  it('lets only health checks through without a credential', () => {
    for (const path of allMethodPaths()) {
      const d = decide(path, anonymous);
      if (path.startsWith('/grpc.health.v1.Health/')) expect(d.allowed).toBe(true);
      else expect(d, path).toMatchObject({ allowed: false, code: 'UNAUTHENTICATED' });
    }
  });

  it('lets any authenticated caller, and nobody else, use server reflection', () => {
    const paths = reflectionMethodPaths();
    expect(paths).toEqual(['/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo']);
    for (const path of paths) {
      for (const p of [admin, submitter, pusher, viewer, service('scheduler'), service('receiver'), service('lineage'), service('executor')]) {
        expect(decide(path, p).allowed, `${path} ${JSON.stringify(p)}`).toBe(true);
      }
      expect(decide(path, anonymous)).toMatchObject({ allowed: false, code: 'UNAUTHENTICATED' });
    }
  });

  it('lets no user, not even an admin, run code on or feed data to an executor', () => {
    for (const path of allMethodPaths().filter((p) => p.startsWith('/rivulet.v1.Executor/'))) {
      expect(decide(path, admin), path).toMatchObject({ allowed: false, code: 'PERMISSION_DENIED' });
    }
  });

  it('gives each service only the internal calls its role makes', () => {
    expect(decide('/rivulet.v1.Executor/LoadJob', service('scheduler')).allowed).toBe(true);
    expect(decide('/rivulet.v1.Executor/LoadJob', service('executor')).allowed).toBe(false);
    expect(decide('/rivulet.v1.Executor/LoadJob', service('receiver')).allowed).toBe(false);
    expect(decide('/rivulet.v1.Executor/PutBlock', service('receiver')).allowed).toBe(true);
    expect(decide('/rivulet.v1.Executor/FetchBlocks', service('executor')).allowed).toBe(true);
    expect(decide('/rivulet.v1.Executor/FetchBlocks', service('receiver')).allowed).toBe(false);
    expect(decide('/rivulet.v1.Lineage/RegisterBatch', service('scheduler')).allowed).toBe(true);
    expect(decide('/rivulet.v1.Lineage/ForgetBatches', service('executor')).allowed).toBe(false);
    expect(decide('/rivulet.v1.Scheduler/SubmitJob', service('executor')).allowed).toBe(false);
  });

  it('maps user roles to the client API', () => {
    expect(decide('/rivulet.v1.Scheduler/SubmitJob', submitter).allowed).toBe(true);
    expect(decide('/rivulet.v1.Scheduler/SubmitJob', pusher).allowed).toBe(false);
    expect(decide('/rivulet.v1.Scheduler/StopJob', pusher).allowed).toBe(false);
    expect(decide('/rivulet.v1.Receiver/Push', pusher).allowed).toBe(true);
    expect(decide('/rivulet.v1.Receiver/Push', viewer).allowed).toBe(false);
    expect(decide('/rivulet.v1.Scheduler/GetStatus', viewer).allowed).toBe(true);
    expect(decide('/rivulet.v1.Scheduler/CreateToken', submitter).allowed).toBe(false);
    expect(decide('/rivulet.v1.Scheduler/CreateToken', admin).allowed).toBe(true);
    const d = decide('/rivulet.v1.Scheduler/SubmitJob', viewer);
    expect(d).toMatchObject({ allowed: false, code: 'PERMISSION_DENIED' });
    expect(!d.allowed && d.reason).toContain('user carol (role view) may not call /rivulet.v1.Scheduler/SubmitJob');
  });
});
