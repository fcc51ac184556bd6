/**
 * Scheduler process: reads configuration, connects NATS, starts the gRPC
 * server and the status page, and contends for the leader lease
 * (leader-lease.ts). While it leads, a LeaderSession (leader-session.ts)
 * runs the term: the Scheduler, its channels, the resumed jobs; while it
 * stands by it follows the journal and refuses client calls with the
 * leader's address (leader-routing.ts). No scheduling logic lives here.
 */
import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { systemClock } from '../../lib/clock.js';
import { dial } from '../../lib/grpc/client.js';
import { startServer } from '../../lib/grpc/server.js';
import { connectNats, subscribe } from '../../lib/nats/connection.js';
import { subjects, type ReceiverHeartbeatMessage } from '../../lib/nats/subjects.js';
import { batchReadySchema, heartbeatSchema, receiverHeartbeatSchema } from '../../lib/nats/schemas.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import type { SchedulerHandlers } from '../../lib/proto/gen/rivulet/v1/Scheduler.js';
import type { SchedulerTestingHandlers } from '../../lib/proto/gen/rivulet/v1/SchedulerTesting.js';
import type { LeaderStatus } from '../../lib/proto/gen/rivulet/v1/LeaderStatus.js';
import { runService } from '../../lib/service-main.js';
import { observeGauge } from '../../lib/telemetry/metrics.js';
import { rememberInputTrace } from './batch-telemetry.js';
import { leaseRenewIntervalMs, schedulerConfigSchema } from './config.js';
import { openControlBucket } from './control-bucket.js';
import { openDurableOutputs } from './durable-outputs.js';
import { FollowedJournal } from './job-journal.js';
import { PreparedJobs } from './standby-prep.js';
import { lazyBlobStore } from '../../lib/nats/blob-store.js';
import { LeaderLease } from './leader-lease.js';
import { probeHolder } from './leader-probe.js';
import { routedHandlers, type Refusal } from './leader-routing.js';
import { LeaderSession } from './leader-session.js';
import type { LivenessSignal } from './liveness-guard.js';
import { standbyStatus } from './status.js';
import { TokenAdmin } from './token-admin.js';
import { followTokens, processSecurity } from '../../lib/security/service-security.js';
import { statusPageAuthorizer } from '../../lib/security/authenticate.js';
import { startStatusPage, type StatusPage } from './status-page/server.js';
import { SinkRunner } from './sink-runner.js';
import { connectionEnvName } from '../../lib/sinks/spec.js';

/** The health service name that is SERVING only while this scheduler leads (readiness). */
const LEADER_HEALTH_SERVICE = 'rivulet.v1.Scheduler';

await runService('scheduler', schedulerConfigSchema, async (config, log) => {
  // The liveness guard follows the NATS connection (liveness-guard.ts); events
  // before the scheduler exists are moot (it has judged nobody yet).
  const guard: { signal?: (signal: LivenessSignal) => void } = {};
  const nc = await connectNats(config.natsUrl, 'rivulet-scheduler', log, (status) => {
    if (status === 'disconnect') guard.signal?.({ kind: 'disconnected' });
    else if (status === 'reconnect') guard.signal?.({ kind: 'reconnected' });
  });
  // Tokens first: a client with a token minted by an earlier incarnation is let in from the first call.
  const security = processSecurity();
  const replicas = { replicas: config.natsReplicas, log };
  const tokenFollower = await followTokens(nc, log, replicas);
  const tokenAdmin = new TokenAdmin(tokenFollower.kv, security.tokens);
  // Several receivers: the first address answers when no receiver heartbeat was heard; otherwise each is asked at its own.
  const receiver = dial.receiver(config.receiverAddress.split(',')[0]!.trim());
  // Receiver heartbeats are heard also while standing by, so a new leader knows every receiver at once.
  const listeningSinceMs = Date.now();
  const receiverSightings = new Map<string, { msg: ReceiverHeartbeatMessage; seenAtMs: number }>();
  const durableOutputs = await openDurableOutputs(
    nc,
    config.outputsStream,
    { retentionBatches: config.outputRetentionBatches, retentionBytes: config.outputRetentionBytes, maxMessageBytes: config.maxMessageBytes, replicas: config.natsReplicas },
    log,
  );
  // Outputs' sinks are written by one worker thread of this process, for every term it leads.
  // The same identity as this process's own NATS connection (connectNats): the scheduler's NATS user.
  const ownTls = security.transport.insecure ? undefined : security.transport.files;
  const natsTls =
    config.natsUrl.split(',').some((u) => u.trim().startsWith('tls://')) && ownTls?.certFile && ownTls.keyFile
      ? { caFile: ownTls.caFile, certFile: ownTls.certFile, keyFile: ownTls.keyFile }
      : undefined;
  const sinks = new SinkRunner(
    {
      options: {
        retry: { retryTimeoutMs: config.sinkRetryTimeout, backoffMs: config.sinkRetryBackoff, maxBackoffMs: config.sinkRetryMaxBackoff },
        chunkRecords: config.sinkChunkRecords,
        maxConnections: config.sinkMaxConnections,
        requestTimeoutMs: config.sinkRequestTimeout,
        sinkSubjects: config.sinkSubjects,
        sinkStream: config.sinkStream,
        sinkStreamMaxBytes: config.sinkStreamMaxBytes,
        duplicateWindowMs: config.sinkDuplicateWindow,
      },
      nats: { url: config.natsUrl, replicas: config.natsReplicas, ...(natsTls ? { tls: natsTls } : {}) },
    },
    // A Postgres sink's connection string: RIVULET_SINK_<NAME> in this process's environment, never the job's.
    (name) => process.env[connectionEnvName(name)] || undefined,
    log,
  );
  const schedulerId = config.schedulerId || hostname();
  // The term in force: built when this scheduler takes the lease, stopped when it loses it.
  let session: LeaderSession | undefined;
  // Set once the server is bound (the lease names its address); calls before that are refused.
  const elected: { lease?: LeaderLease } = {};
  const refusal = (): Refusal => {
    const h = elected.lease?.currentHolder;
    if (elected.lease?.leadershipState === 'LEADING') return { details: `scheduler ${schedulerId} leads but is still resuming its jobs; try again` };
    if (!h || h.released) return { details: `scheduler ${schedulerId} is a standby and no scheduler leads right now; try again` };
    return { details: `scheduler ${schedulerId} is a standby; the leader is ${h.schedulerId} at ${h.address} (term ${h.term})`, leaderAddress: h.address };
  };
  // Bound before contending: the lease names this address. Calls are refused until this scheduler leads.
  const server = await startServer({ ...config, log }, (s) => {
    s.addService(rivuletV1.Scheduler.service, routedHandlers<SchedulerHandlers>(rivuletV1.Scheduler.service, () => session?.handlers, refusal));
    if (config.testDriver) {
      s.addService(
        rivuletV1.SchedulerTesting.service,
        routedHandlers<SchedulerTestingHandlers>(rivuletV1.SchedulerTesting.service, () => session?.testDriver, refusal),
      );
    }
  });
  // Heartbeats and batch announcements go to the scheduler of the term in force.
  const subs = [
    subscribe(nc, subjects.heartbeatAll, heartbeatSchema, (msg) => session?.scheduler.post({ type: 'heartbeat', msg }), log),
    subscribe(
      nc,
      subjects.receiverHeartbeatAll,
      receiverHeartbeatSchema,
      (msg) => {
        receiverSightings.delete(msg.receiverId);
        receiverSightings.set(msg.receiverId, { msg, seenAtMs: Date.now() });
        // Bounded: the receivers heard least recently go first (a receiver id is a pod name; they come and go).
        if (receiverSightings.size > 1000) receiverSightings.delete(receiverSightings.keys().next().value!);
        session?.scheduler.post({ type: 'receiverHeartbeat', msg });
      },
      log,
    ),
    subscribe(
      nc,
      subjects.batchReadyAll,
      batchReadySchema,
      (msg) => {
        if (!session) return;
        // The batch's trace continues from the receiver's (NATS headers): see batch-telemetry.ts.
        rememberInputTrace(msg.blocks);
        session.scheduler.post({ type: 'batchReady', msg });
      },
      log,
    ),
  ];
  const bucket = await openControlBucket(nc, config.jobsBucket, log, replicas);
  const followed = new FollowedJournal(config.jobsBucket, log);
  // While standing by, the running jobs' graphs are built ahead: a takeover then only registers them.
  const prepared = new PreparedJobs(lazyBlobStore(nc, `${config.jobsBucket}-bundles`, replicas), { buildTimeoutMs: config.jobBuildTimeout, memoryBytes: config.jobSandboxMemory }, log);
  let preparing = false;
  const prepareSoon = () => {
    if (preparing) return;
    preparing = true;
    setImmediate(() => {
      preparing = false;
      if (elected.lease?.leadershipState !== 'LEADING') prepared.prepare(followed.running());
    });
  };
  // One election at a time: a term starts only after the previous one stopped.
  let transition: Promise<void> = Promise.resolve();
  const leadershipStatus = (): LeaderStatus => {
    const h = elected.lease?.currentHolder;
    return {
      schedulerId: h?.schedulerId ?? '',
      address: h?.address ?? '',
      term: h?.term ?? 0,
      sinceMs: h?.sinceMs ?? 0,
      thisSchedulerId: schedulerId,
      timesElected: elected.lease?.counts.elected ?? 0,
      timesDeposed: elected.lease?.counts.deposed ?? 0,
    };
  };
  const startTerm = (term: number) => {
    transition = transition.then(async () => {
      if (elected.lease?.leadershipState !== 'LEADING' || elected.lease.currentTerm !== term) return;
      try {
        const next = await LeaderSession.start(term, { config, nc, receiver, durableOutputs, writer: elected.lease, followed, prepared, tokens: tokenAdmin, sinks, log });
        next.scheduler.leadership = leadershipStatus;
        if (elected.lease.leadershipState !== 'LEADING' || elected.lease.currentTerm !== term) {
          next.stop(); // deposed while resuming
          return;
        }
        session = next;
        // What this process heard of the receivers while standing by; warm once it listened for a heartbeat round and a half.
        const warm = Date.now() - listeningSinceMs >= 1.5 * config.receiverHeartbeatInterval;
        for (const { msg, seenAtMs } of receiverSightings.values()) next.scheduler.post({ type: 'receiverHeartbeat', msg, seenAtMs, warm });
        guard.signal = (signal) => next.scheduler.post({ type: 'livenessSignal', signal });
        server.health.set('SERVING', LEADER_HEALTH_SERVICE);
        log.info({ schedulerId, term, jobs: followed.size }, 'leading: jobs resumed, batches running');
      } catch (err) {
        log.error({ err, term }, 'could not start leading: releasing the lease and exiting (a supervisor restarts this scheduler)');
        await elected.lease.stop().catch(() => undefined);
        process.exitCode = 1;
        process.kill(process.pid, 'SIGTERM');
      }
    });
  };
  const stopTerm = (reason: string) => {
    transition = transition.then(() => {
      const s = session;
      session = undefined;
      guard.signal = undefined;
      server.health.set('NOT_SERVING', LEADER_HEALTH_SERVICE);
      if (s) {
        s.stop();
        log.warn({ schedulerId, term: s.term, reason }, 'stopped leading: standing by');
        prepareSoon();
      }
    });
  };
  const lease = new LeaderLease(
    bucket,
    { schedulerId, address: server.address, leaseTimeoutMs: config.leaseTimeout, renewIntervalMs: leaseRenewIntervalMs(config) },
    systemClock,
    {
      elected: startTerm,
      deposed: stopTerm,
      entry: (e) => {
        followed.apply(e.key, e.value);
        prepareSoon();
      },
    },
    log,
    // Early takeover when nothing listens at the holder's address (a killed process); the fence keeps it safe.
    (address) => probeHolder(address),
  );
  // Alive (liveness) from here; ready for clients (LEADER_HEALTH_SERVICE) only while leading.
  server.health.set('NOT_SERVING', LEADER_HEALTH_SERVICE);
  server.health.set('SERVING');
  elected.lease = lease;
  // Which scheduler leads, as each sees it: 1 on the leader, 0 on standbys; and how often this one took or lost the lease.
  observeGauge('rivulet.scheduler.leading', 'Whether this scheduler holds the leader lease (1) or stands by (0)', '{scheduler}', () => [
    { value: lease.leadershipState === 'LEADING' ? 1 : 0, attributes: { 'rivulet.scheduler.id': schedulerId } },
  ]);
  observeGauge('rivulet.scheduler.lease_changes', 'Times this scheduler took the lease and lost it since it started', '{change}', () => [
    { value: lease.counts.elected, attributes: { 'rivulet.scheduler.id': schedulerId, 'rivulet.lease.change': 'elected' } },
    { value: lease.counts.deposed, attributes: { 'rivulet.scheduler.id': schedulerId, 'rivulet.lease.change': 'deposed' } },
  ]);
  // JetStream direct sources: messages behind each subject filter's stream end (README, JetStream sources).
  observeGauge('rivulet.jetstream.lag', 'Stream sequences a JetStream source has not read yet: the stream\'s last sequence minus the end of the last completed batch\'s range', '{message}', () =>
    (session?.scheduler.jetStreamStatus() ?? []).flatMap((j) =>
      j.sources.map((s) => ({
        value: Number(s.lag),
        attributes: { 'rivulet.job.id': j.jobId, 'rivulet.jetstream.source': s.source ?? '', 'rivulet.jetstream.stream': s.stream ?? '', 'rivulet.jetstream.filter': s.filterSubject ?? '' },
      })),
    ),
  );
  await lease.start();
  // The event-loop lag, sampled a few times per liveness timeout: the worst
  // delay of each window goes to the guard. (A stall that stops this timer
  // too is caught by the liveness check's own drift.)
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const lagSampleMs = Math.max(50, Math.floor((config.heartbeatInterval * config.maxMissedHeartbeats) / 4));
  const lagTimer = setInterval(() => {
    const lagMs = loopDelay.max / 1e6;
    loopDelay.reset();
    guard.signal?.({ kind: 'lag', lagMs });
  }, lagSampleMs);
  lagTimer.unref();
  // The status page is a window on the scheduler, not part of it: when it
  // cannot start (port taken) the scheduler runs on without it.
  let statusPage: StatusPage | undefined;
  try {
    statusPage = await startStatusPage({
      host: config.statusHost,
      port: config.statusPort,
      snapshot: (n) =>
        session?.scheduler.status({ recentBatches: n, maxBytes: Math.min(config.maxStatusBytes, config.maxMessageBytes) }) ?? standbyStatus(config, leadershipStatus()),
      allowedHosts: config.statusAllowedHosts,
      // Security on: any user's token (status is readable by every authenticated user, as GetStatus is).
      ...(security.authenticator ? { authorize: statusPageAuthorizer(security.authenticator) } : {}),
      log,
    });
    // Written directly, like the `listening` line: launchers (rivulet up) read
    // the URL from it whatever the log level is.
    process.stdout.write(
      JSON.stringify({ level: 30, time: Date.now(), service: 'scheduler', pid: process.pid, url: statusPage.url, msg: 'status page' }) + '\n',
    );
  } catch (err) {
    log.error({ err, host: config.statusHost, port: config.statusPort }, 'status page not started');
  }
  return {
    address: server.address,
    stop: async () => {
      await statusPage?.close();
      clearInterval(lagTimer);
      loopDelay.disable();
      for (const sub of subs) sub.unsubscribe();
      // Stop the term first, then release the lease: a standby takes over at once.
      stopTerm('shutting down');
      await transition;
      await lease?.stop();
      prepared.stop();
      await sinks.close();
      tokenFollower.stop();
      await server.shutdown();
      receiver.close();
      await nc.drain();
    },
  };
});
