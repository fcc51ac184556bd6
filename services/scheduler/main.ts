/**
 * Scheduler process: reads configuration, connects NATS, dials lineage and the
 * receiver, wires the scheduler's ports (lineage-ports.ts), resumes journaled
 * jobs (job-restore.ts), starts the gRPC server, the batch clock and the
 * status page. No scheduling logic lives here.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { systemClock } from '../../lib/clock.js';
import { dial } from '../../lib/grpc/client.js';
import { startServer } from '../../lib/grpc/server.js';
import { lazyBlobStore } from '../../lib/nats/blob-store.js';
import { connectNats, subscribe } from '../../lib/nats/connection.js';
import { subjects } from '../../lib/nats/subjects.js';
import { batchReadySchema, heartbeatSchema } from '../../lib/nats/schemas.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { runService } from '../../lib/service-main.js';
import { rememberInputTrace } from './batch-telemetry.js';
import { schedulerConfigSchema } from './config.js';
import { openDurableOutputs } from './durable-outputs.js';
import { ExecutorGateway } from './executor-gateway.js';
import { openJobJournal } from './job-journal.js';
import { restoreJournaledJobs } from './job-restore.js';
import { schedulerPorts } from './lineage-ports.js';
import type { LivenessSignal } from './liveness-guard.js';
import { Scheduler } from './scheduler.js';
import { schedulerHandlers } from './server.js';
import { TokenAdmin } from './token-admin.js';
import { followTokens, processSecurity } from '../../lib/security/service-security.js';
import { statusPageAuthorizer } from '../../lib/security/authenticate.js';
import { startStatusPage, type StatusPage } from './status-page/server.js';
import { DrivenBatchSource } from './test-driver/driven-batch-source.js';
import { testDriverHandlers } from './test-driver/handlers.js';

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
  const lineage = dial.lineage(config.lineageAddress);
  const receiver = dial.receiver(config.receiverAddress);
  const gateway = new ExecutorGateway(log, config.maxMessageBytes, config.maxTaskResultBytes);
  const journal = await openJobJournal(nc, config.jobsBucket, log, replicas);
  const durableOutputs = await openDurableOutputs(
    nc,
    config.outputsStream,
    { retentionBatches: config.outputRetentionBatches, retentionBytes: config.outputRetentionBytes, maxMessageBytes: config.maxMessageBytes, replicas: config.natsReplicas },
    log,
  );
  const ports = schedulerPorts({
    nc,
    lineage,
    receiver,
    gateway,
    journal,
    durableOutputs,
    checkpoints: lazyBlobStore(nc, config.checkpointBucket, replicas),
    shuffleId: (run, node) => scheduler.shuffleId(run, node),
    natsReplicas: config.natsReplicas,
    log,
  });
  const scheduler = new Scheduler(config, systemClock, ports, log);
  guard.signal = (signal) => scheduler.post({ type: 'livenessSignal', signal });
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
  const subs = [
    subscribe(nc, subjects.heartbeatAll, heartbeatSchema, (msg) => scheduler.post({ type: 'heartbeat', msg }), log),
    subscribe(
      nc,
      subjects.batchReadyAll,
      batchReadySchema,
      (msg) => {
        // The batch's trace continues from the receiver's (NATS headers): see batch-telemetry.ts.
        rememberInputTrace(msg.blocks);
        scheduler.post({ type: 'batchReady', msg });
      },
      log,
    ),
  ];
  // TEST-ONLY batch source: the SchedulerTesting service (rivulet/testing's runBatches), only with testDriver.
  const testDriver = config.testDriver
    ? testDriverHandlers(
        new DrivenBatchSource(scheduler, (jobId, output, t) => scheduler.outputs.retained(jobId, output).find((b) => b.batchTimeMs === t)),
        log,
        { maxMessageBytes: config.maxMessageBytes },
      )
    : undefined;
  await restoreJournaledJobs(scheduler, { journal, durableOutputs, lineage, batchIntervalMs: config.batchInterval, log });
  // Served only once the journaled jobs are back: a client that reached a restarted scheduler
  // earlier would be told its job does not exist (NOT_FOUND, final) rather than to try again.
  const server = await startServer({ ...config, log }, (s) => {
    s.addService(
      rivuletV1.Scheduler.service,
      schedulerHandlers(scheduler, log, { maxMessageBytes: config.maxMessageBytes, maxStatusBytes: config.maxStatusBytes, tokens: tokenAdmin }),
    );
    if (testDriver) s.addService(rivuletV1.SchedulerTesting.service, testDriver);
  });
  scheduler.start();
  // The status page is a window on the scheduler, not part of it: when it
  // cannot start (port taken) the scheduler runs on without it.
  let statusPage: StatusPage | undefined;
  try {
    statusPage = await startStatusPage({
      host: config.statusHost,
      port: config.statusPort,
      snapshot: (n) => scheduler.status({ recentBatches: n, maxBytes: Math.min(config.maxStatusBytes, config.maxMessageBytes) }),
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
  server.health.set('SERVING');
  return {
    address: server.address,
    stop: async () => {
      await statusPage?.close();
      clearInterval(lagTimer);
      loopDelay.disable();
      scheduler.stop();
      for (const s of subs) s.unsubscribe();
      tokenFollower.stop();
      await server.shutdown();
      gateway.close();
      testDriver?.close();
      lineage.close();
      receiver.close();
      await nc.drain();
    },
  };
});
