/**
 * The scheduler's gRPC side of the executors: one channel per executor
 * incarnation, job bundles shipped once per (incarnation, job) before the
 * first task that needs them (and the job's end told, so the bundle can go),
 * and tasks launched on one long-lived TaskStream per incarnation
 * (task-channel.ts): every task launched in one turn of the event loop goes
 * out in one message, results come back packed, and they are handed back
 * through callbacks — the caller posts them into its event loop. A result
 * streamed in slices is handed back only once whole (task-result-assembler.ts);
 * until then its task counts as unreported.
 */
import { status as Status, type Interceptor } from '@grpc/grpc-js';
import { dial, unary } from '../../lib/grpc/client.js';
import { errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import type { ExecutorClient } from '../../lib/proto/index.js';
import type { TaskSpec } from '../../lib/proto/gen/rivulet/v1/TaskSpec.js';
import { TaskChannel, type LaunchCallbacks } from './task-channel.js';
import { SchedulerExecutorClient } from './task-request-encoding.js';
import type { GroupPlan } from '../../lib/proto/gen/rivulet/v1/GroupPlan.js';
import type { PlanRevocation } from '../../lib/proto/gen/rivulet/v1/PlanRevocation.js';
import type { TaskResult__Output } from '../../lib/proto/gen/rivulet/v1/TaskResult.js';

export type { LaunchCallbacks } from './task-channel.js';

export interface ExecutorEndpoint {
  id: string;
  epoch: number;
  address: string;
}

export interface BundleRef {
  jobId: string;
  bundle: string;
  bundleHash: string;
}


interface Peer {
  epoch: number;
  client: ExecutorClient;
  /** LoadJob calls by job (a job's bundle never changes): an executor keeps a bundle while a job that loaded it runs. */
  loaded: Map<string, Promise<void>>;
  tasks: TaskChannel;
}

export class ExecutorGateway {
  private readonly peers = new Map<string, Peer>();
  /** Health probes in flight, by `<id>@<epoch>` (probe). */
  private readonly probes = new Map<string, Promise<boolean>>();
  private retiredLaunchMessages = 0;
  /** A planned task's result that no adopted attempt waited for yet (group-planner.ts keeps it). */
  plannedResult?: (r: TaskResult__Output) => void;
  /** A task stream broke: group plans sent on it are gone; `unreachable`: a transport failure. */
  channelBroken?: (executorId: string, epoch: number, unreachable: boolean) => void;
  /** The executor takes drops on its task stream (it says so in its heartbeats); otherwise DropBlocks calls. */
  readsStreamDrops?: (executorId: string) => boolean;

  constructor(
    private readonly log: Logger,
    private readonly maxMessageBytes: number,
    /** maxTaskResultBytes: the most one task's result may hold in memory while it is reassembled. */
    private readonly maxTaskResultBytes: number,
    /** Interceptors on every executor channel: the leader's term (lib/grpc/leader-term.ts). */
    private readonly interceptors: Interceptor[] = [],
  ) {}

  private peer(e: ExecutorEndpoint): Peer {
    const known = this.peers.get(e.id);
    if (known && known.epoch === e.epoch) return known;
    if (known) {
      this.retiredLaunchMessages += known.tasks.launchMessages;
      closePeer(known);
    }
    const client = dial.executorAs(SchedulerExecutorClient, e.address, { maxMessageBytes: this.maxMessageBytes, interceptors: this.interceptors });
    const fresh: Peer = { epoch: e.epoch, client, loaded: new Map(), tasks: new TaskChannel(client, e.id, this.maxTaskResultBytes, this.log) };
    fresh.tasks.unsolicited = (r) => this.plannedResult?.(r);
    fresh.tasks.onBroken = (unreachable) => this.channelBroken?.(e.id, e.epoch, unreachable);
    this.peers.set(e.id, fresh);
    return fresh;
  }

  private ensureLoaded(peer: Peer, job: BundleRef): Promise<void> {
    let p = peer.loaded.get(job.jobId);
    if (!p) {
      p = unary(
        peer.client,
        peer.client.loadJob,
        { jobId: job.jobId, bundleHash: job.bundleHash, bundle: Buffer.from(job.bundle) },
        { timeoutMs: 10_000, attempts: 3 },
      ).then(() => undefined);
      // A failed load must be retried by the next launch, not remembered.
      p.catch(() => peer.loaded.delete(job.jobId));
      peer.loaded.set(job.jobId, p);
    }
    return p;
  }

  launch(e: ExecutorEndpoint, job: BundleRef, tasks: TaskSpec[], cb: LaunchCallbacks): void {
    const peer = this.peer(e);
    const loaded = this.ensureLoaded(peer, job);
    loaded.then(
      () => {
        // The peer may have been replaced (a new incarnation) while the bundle loaded.
        if (this.peers.get(e.id) !== peer) {
          cb.onLost(
            tasks.map((t) => t.taskId!),
            `executor ${e.id} incarnation ${e.epoch} was replaced before its tasks were sent`,
            false,
          );
          return;
        }
        peer.tasks.send(tasks, cb);
      },
      (err: { code?: number }) =>
        cb.onLost(
          tasks.map((t) => t.taskId!),
          `cannot load job ${job.jobId} on executor ${e.id}: ${errorMessage(err)}`,
          err.code === Status.UNAVAILABLE,
        ),
    );
  }

  /** Send group plans (after loading the job's bundle there) and revocations on the executor's task stream. */
  sendPlans(e: ExecutorEndpoint, job: BundleRef | undefined, plans: GroupPlan[], revocations: PlanRevocation[]): void {
    const peer = this.peer(e);
    if (!job) return peer.tasks.sendPlans(plans, revocations);
    this.ensureLoaded(peer, job).then(
      () => {
        if (this.peers.get(e.id) === peer) peer.tasks.sendPlans(plans, revocations);
      },
      (err: unknown) => {
        this.log.warn({ executorId: e.id, jobId: job.jobId, err: errorMessage(err) }, 'cannot load the job for a group plan');
        if (this.peers.get(e.id) === peer) this.channelBroken?.(e.id, e.epoch, false);
      },
    );
  }

  /**
   * `jobId` has ended: tell the executor on its task stream, so it drops the
   * job's bundle unless another job it loaded uses it. Sent whether or not
   * this scheduler loaded the job there (a previous leader, or the same
   * process under an earlier incarnation, may have); after a LoadJob still in
   * flight, so it cannot overtake it and leave the bundle behind.
   */
  jobEnded(e: ExecutorEndpoint, jobId: string): void {
    const peer = this.peer(e);
    const load = peer.loaded.get(jobId);
    peer.loaded.delete(jobId);
    const send = () => {
      if (this.peers.get(e.id) === peer) peer.tasks.sendEndedJobs([jobId]);
    };
    if (!load) return send();
    void load.then(send, send);
  }

  /** Planned attempts an executor starts on its own: route their results to `cb` (task-channel.ts expect). */
  expect(e: ExecutorEndpoint, tasks: ReadonlyArray<{ taskId: string; attempt: number }>, cb: LaunchCallbacks): void {
    this.peer(e).tasks.expect(tasks, cb);
  }

  /** TaskStream messages that carried tasks, over every executor (status, tests). */
  launchMessages(): number {
    let n = 0;
    for (const p of this.peers.values()) n += p.tasks.launchMessages;
    return n + this.retiredLaunchMessages;
  }

  /**
   * Does the executor answer its health check? Used to confirm a loss suspected
   * from a broken call. One probe per incarnation at a time, its answer shared:
   * a broken task stream reports every task on it lost at once (one report per
   * launch or adopted attempt), and a channel dialled per report would stall the
   * scheduler's loop when it can least afford it — a storm of hundreds of probes
   * once held a loss for ~0.5 s, each probe timing out on the loop's lag rather
   * than on the refused connection it would have seen at once.
   */
  probe(e: ExecutorEndpoint, timeoutMs = 300): Promise<boolean> {
    const key = `${e.id}@${e.epoch}`;
    const inFlight = this.probes.get(key);
    if (inFlight) return inFlight;
    const p = this.probeOnce(e, timeoutMs).finally(() => this.probes.delete(key));
    this.probes.set(key, p);
    return p;
  }

  private async probeOnce(e: ExecutorEndpoint, timeoutMs: number): Promise<boolean> {
    const client = dial.health(e.address);
    const started = Date.now();
    try {
      const res = await unary(client, client.check, { service: '' }, { timeoutMs });
      return res.status === 'SERVING';
    } catch (err) {
      this.log.debug({ executorId: e.id, epoch: e.epoch, err: errorMessage(err), ms: Date.now() - started }, 'health probe failed');
      return false;
    } finally {
      client.close();
    }
  }

  /** Which executor and incarnation answer at `address` (undefined when nothing answers in time). */
  async identify(address: string, timeoutMs: number): Promise<{ executorId: string; epoch: number } | undefined> {
    const client = dial.executor(address, { maxMessageBytes: 64 * 1024, interceptors: this.interceptors });
    try {
      const res = await unary(client, client.identify, {}, { timeoutMs });
      return { executorId: res.executorId, epoch: Number(res.epoch) };
    } catch {
      return undefined;
    } finally {
      client.close();
    }
  }

  /** Ask `target` to copy blocks from their surviving replicas. */
  async replicate(target: ExecutorEndpoint, blocks: Array<{ blockId: string; records: number; source: ExecutorEndpoint }>): Promise<void> {
    const peer = this.peer(target);
    await unary(
      peer.client,
      peer.client.replicateBlocks,
      {
        blocks: blocks.map((b) => ({
          blockId: b.blockId,
          records: b.records,
          source: { executorId: b.source.id, address: b.source.address, epoch: b.source.epoch },
        })),
      },
      { timeoutMs: 30_000 },
    );
  }

  /**
   * Best effort: blocks nothing will read again. On the task stream, with
   * whatever else goes to the executor in this turn — a finished batch drops
   * its shuffle on every executor, one call each per batch otherwise — or, to
   * an executor that does not read drops there (an older one), as a
   * DropBlocks call.
   */
  drop(e: ExecutorEndpoint, blockIds: string[], prefixes: string[]): void {
    if (blockIds.length === 0 && prefixes.length === 0) return;
    const peer = this.peer(e);
    if (this.readsStreamDrops?.(e.id)) {
      peer.tasks.sendDrops(blockIds, prefixes);
      return;
    }
    unary(peer.client, peer.client.dropBlocks, { blockIds, prefixes }, { timeoutMs: 5000 }).catch((err) =>
      this.log.debug({ err, executorId: e.id }, 'DropBlocks failed (executor may be gone)'),
    );
  }

  /** Best effort. `onlyIfQueued`: only tasks not started yet (stealing); the killed ones report KILLED on their stream. */
  kill(e: ExecutorEndpoint, tasks: Array<{ taskId: string; attempt: number }>, onlyIfQueued = false): void {
    if (tasks.length === 0) return;
    const peer = this.peer(e);
    unary(peer.client, peer.client.killTasks, { tasks, onlyIfQueued }, { timeoutMs: 5000 }).catch(() => undefined);
  }

  forget(executorId: string): void {
    const peer = this.peers.get(executorId);
    if (peer) {
      this.retiredLaunchMessages += peer.tasks.launchMessages;
      closePeer(peer);
    }
    this.peers.delete(executorId);
  }

  close(): void {
    for (const p of this.peers.values()) closePeer(p);
    this.peers.clear();
  }
}

function closePeer(p: Peer): void {
  p.tasks.close();
  p.client.close();
}
