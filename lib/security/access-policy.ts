/**
 * Who may call which RPC: one table, method by method. A method missing from
 * the table is refused (fail closed), and a test checks that every method of
 * every service in proto/ has an entry, so a new RPC cannot ship without one.
 *
 * The table decides by role. Rules that depend on the request (a job's owner,
 * a token's streams) are checked by the handler with lib/security/identity.ts
 * (`mayActOnJob`, `mayPushTo`).
 */
import type { Principal, ServiceRole, UserRole } from './identity.js';

export interface AccessRule {
  /** Services (by certificate role) allowed to call. */
  services?: readonly ServiceRole[];
  /** User roles allowed to call (`admin` is always allowed when users are). */
  users?: readonly UserRole[] | 'any';
  /** No credential needed (health checks). */
  public?: true;
  /** Changes nothing: not fenced by the leader's term (lib/grpc/leader-term.ts), whoever asks. */
  readOnly?: true;
}

const ANY_USER = 'any' as const;
const SCHEDULER: readonly ServiceRole[] = ['scheduler'];
const ALL_SERVICES: readonly ServiceRole[] = ['scheduler', 'receiver', 'lineage', 'executor'];

/** Keyed by gRPC path, `/package.Service/Method`. */
export const ACCESS_POLICY: Readonly<Record<string, AccessRule>> = {
  // Load balancers and probes check health with no credential; it reveals nothing.
  '/grpc.health.v1.Health/Check': { public: true },
  '/grpc.health.v1.Health/Watch': { public: true },

  // Server reflection (lib/grpc/reflection.ts): the API's shape, which is public in proto/ anyway,
  // but only for callers who could use it — any user with a credential, any service — so an
  // outsider's scan learns no more than that a TLS port is there. Executors accept no user
  // credentials, so there only services may ask.
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo': { services: ALL_SERVICES, users: ANY_USER, readOnly: true },
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': { services: ALL_SERVICES, users: ANY_USER, readOnly: true },

  // Executors: only the control plane and their peers. LoadJob/RunTasks run code, so only the scheduler.
  '/rivulet.v1.Executor/PutBlock': { services: ['receiver', 'scheduler'] },
  '/rivulet.v1.Executor/FetchBlocks': { services: ['executor'] },
  '/rivulet.v1.Executor/DropBlocks': { services: SCHEDULER },
  '/rivulet.v1.Executor/LoadJob': { services: SCHEDULER },
  '/rivulet.v1.Executor/RunTasks': { services: SCHEDULER },
  '/rivulet.v1.Executor/TaskStream': { services: SCHEDULER },
  '/rivulet.v1.Executor/PushBlocks': { services: ['executor'] },
  '/rivulet.v1.Executor/KillTasks': { services: SCHEDULER },
  '/rivulet.v1.Executor/ReplicateBlocks': { services: SCHEDULER },
  '/rivulet.v1.Executor/Identify': { services: SCHEDULER, readOnly: true },

  // Lineage: the scheduler's store. Its statistics are for operators too.
  '/rivulet.v1.Lineage/RegisterBatch': { services: SCHEDULER },
  '/rivulet.v1.Lineage/RecordLocations': { services: SCHEDULER },
  '/rivulet.v1.Lineage/DropLocations': { services: SCHEDULER },
  '/rivulet.v1.Lineage/GetBatch': { services: SCHEDULER, readOnly: true },
  '/rivulet.v1.Lineage/LostOnExecutor': { services: SCHEDULER },
  '/rivulet.v1.Lineage/RemoveExecutor': { services: SCHEDULER },
  '/rivulet.v1.Lineage/PlanRebuild': { services: SCHEDULER, readOnly: true },
  '/rivulet.v1.Lineage/ForgetBatches': { services: SCHEDULER },
  '/rivulet.v1.Lineage/GetStats': { services: SCHEDULER, users: ['view'] },

  // Receiver: producers push (the stream is checked per message); the control plane reads batches.
  '/rivulet.v1.Receiver/Push': { users: ['push'] },
  '/rivulet.v1.Receiver/GetBatchBlocks': { services: ['scheduler', 'executor'] },

  // Scheduler: the client API. Stopping and watching a job is its owner's (checked in the handler).
  '/rivulet.v1.Scheduler/SubmitJob': { users: ['submit'] },
  '/rivulet.v1.Scheduler/StopJob': { users: ['submit'] },
  '/rivulet.v1.Scheduler/WatchOutput': { users: ['submit'] },
  // A slice of an output's retained batches: read by whoever may watch it (owner or admin, checked in the handler).
  '/rivulet.v1.Scheduler/SliceOutput': { users: ['submit'] },
  '/rivulet.v1.Scheduler/GetStatus': { users: ANY_USER },
  '/rivulet.v1.Scheduler/ListStreams': { services: ['receiver'], users: ANY_USER },
  '/rivulet.v1.Scheduler/CreateToken': { users: [] },
  '/rivulet.v1.Scheduler/RevokeToken': { users: [] },
  '/rivulet.v1.Scheduler/ListTokens': { users: [] },

  // Deterministic test driving (lib/testing): admins only.
  '/rivulet.v1.SchedulerTesting/SubmitDrivenJob': { users: [] },
  '/rivulet.v1.SchedulerTesting/RunBatch': { users: [] },
};

export type AccessDecision = { allowed: true } | { allowed: false; code: 'UNAUTHENTICATED' | 'PERMISSION_DENIED'; reason: string };

const ALLOW: AccessDecision = { allowed: true };

/** Decide whether `p` may call `path`. */
export function decide(path: string, p: Principal, policy: Readonly<Record<string, AccessRule>> = ACCESS_POLICY): AccessDecision {
  if (p.kind === 'insecure') return ALLOW;
  const rule = policy[path];
  if (!rule) return { allowed: false, code: 'PERMISSION_DENIED', reason: `${path} has no access rule, so nobody may call it` };
  if (rule.public) return ALLOW;
  switch (p.kind) {
    case 'anonymous':
      return { allowed: false, code: 'UNAUTHENTICATED', reason: `${path} needs a credential: ${p.reason}` };
    case 'service':
      if (rule.services?.includes(p.role)) return ALLOW;
      return { allowed: false, code: 'PERMISSION_DENIED', reason: `the ${p.role} service may not call ${path}` };
    case 'user': {
      const users = rule.users;
      if (users !== undefined && (p.role === 'admin' || users === ANY_USER || users.includes(p.role))) return ALLOW;
      const needed = users === undefined ? 'services only' : typeof users === 'string' ? 'any user' : ['admin', ...users].join(' or ');
      return { allowed: false, code: 'PERMISSION_DENIED', reason: `user ${p.user} (role ${p.role}) may not call ${path} (allowed: ${needed})` };
    }
  }
}

/**
 * The methods only a scheduler may call on executors and lineage that change
 * something: the leading scheduler's authority, so a call from a replaced
 * leader is refused by term (lib/grpc/leader-term.ts). Derived from the
 * table, so a new scheduler-only RPC is fenced without a second list to keep
 * (reads are marked `readOnly`).
 */
export function leaderOnlyMethods(service: 'Executor' | 'Lineage', policy: Readonly<Record<string, AccessRule>> = ACCESS_POLICY): ReadonlySet<string> {
  const prefix = `/rivulet.v1.${service}/`;
  return new Set(
    Object.entries(policy)
      .filter(
        ([path, rule]) =>
          path.startsWith(prefix) && !rule.readOnly && rule.users === undefined && rule.services?.length === 1 && rule.services[0] === 'scheduler',
      )
      .map(([path]) => path),
  );
}
