/**
 * The shared skeleton of every service's main.ts: parse configuration (exit 2
 * with a clear message when invalid), create the logger, start OpenTelemetry
 * (lib/telemetry/sdk.ts: OTEL_* env, metricsPort), set up its security (TLS
 * material and access control, lib/security/service-security.ts), install signal handlers
 * that run the service's shutdown once and then flush telemetry, export the
 * process's event-loop delay (lib/telemetry/event-loop.ts), and log the
 * `listening` line that launchers wait for.
 */
import type { z } from 'zod';
import { loadConfig } from './config/index.js';
import { setUpServiceSecurity, type SecurityOptions } from './security/service-security.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { observeEventLoopDelay } from './telemetry/event-loop.js';
import { startTelemetry } from './telemetry/sdk.js';

export interface RunningService {
  address: string;
  stop(): Promise<void>;
}

export async function runService<S extends z.ZodObject<z.ZodRawShape> | z.ZodType>(
  serviceName: string,
  schema: S,
  start: (config: z.infer<S>, log: Logger) => Promise<RunningService>,
): Promise<void> {
  let config: z.infer<S>;
  try {
    config = loadConfig(schema as never);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rivulet ${serviceName}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(serviceName, (config as { logLevel?: string }).logLevel);
  // Before the service builds anything: metric instruments taken earlier would stay no-ops.
  const common = config as { metricsPort?: number; metricsHost?: string; host?: string };
  const telemetry = await startTelemetry({
    service: serviceName,
    metricsPort: common.metricsPort,
    metricsHost: common.metricsHost || common.host,
    onError: (err, what) => log.error({ err }, `${what} not started`),
  });
  observeEventLoopDelay();
  // Before the service dials or binds anything: both read the process's security (lib/security/service-security.ts).
  let security;
  try {
    security = await setUpServiceSecurity(config as unknown as SecurityOptions, log);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`rivulet ${serviceName}: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  if (telemetry.tracing || telemetry.metricsUrl) log.info({ tracing: telemetry.tracing, metrics: telemetry.metricsUrl }, 'telemetry started');
  let running: RunningService;
  try {
    running = await start(config, log);
  } catch (e) {
    log.fatal({ err: e }, `${serviceName} failed to start`);
    process.exit(1);
  }
  // Written directly rather than through the logger: launchers wait for this
  // line, and it must appear whatever the configured log level is.
  process.stdout.write(
    JSON.stringify({ level: 30, time: Date.now(), service: serviceName, pid: process.pid, address: running.address, msg: 'listening' }) + '\n',
  );
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    running
      .stop()
      // Flush the last spans and metrics (the batch in progress when stopped).
      .then(() => security.stop())
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0))
      .catch((err) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
