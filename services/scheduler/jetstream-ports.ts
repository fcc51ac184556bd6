/**
 * The scheduler's JetStream source ports (jetstream-source.ts) on real NATS:
 * a stream's state from STREAM.INFO (the scheduler's NATS user may read the
 * info of the streams listed as sources, lib/security/nats-permissions.ts),
 * and each job's ranges written to the job journal bucket under
 * `jsrange.<job>` through the leader lease's fenced writes, so a scheduler
 * that no longer leads cannot journal a range. The followed journal
 * (job-journal.ts) reads them back for the next leader.
 */
import { jetstreamManager, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectionWatch } from '../../lib/nats/reconnect.js';
import { JS_RANGES_KEY_PREFIX, type JetStreamSourcePorts } from './jetstream-journal.js';
import type { JournalWriter } from './job-journal.js';

/** Deadline of one STREAM.INFO request. */
const INFO_TIMEOUT_MS = 3000;

export function jetStreamPorts(nc: NatsConnection, writer: JournalWriter): JetStreamSourcePorts {
  let jsm: JetStreamManager | undefined;
  const nats = connectionWatch(nc);
  return {
    async streamInfo(stream) {
      jsm ??= await jetstreamManager(nc);
      const m = jsm;
      try {
        const info = await nats.request(() => m.streams.info(stream), INFO_TIMEOUT_MS);
        return { exists: true, head: { firstSeq: info.state.first_seq, lastSeq: info.state.last_seq }, subjects: info.config.subjects ?? [] };
      } catch (e) {
        if (isStreamNotFound(e)) return { exists: false };
        if (isPermissionViolation(e)) return { exists: false, forbidden: true };
        throw e;
      }
    },
    writeRanges: (jobId, journal) => writer.write(JS_RANGES_KEY_PREFIX + jobId, new TextEncoder().encode(JSON.stringify(journal))),
  };
}

/** NATS refused the request's subject to this user (nats.js PermissionViolationError, possibly wrapped). */
function isPermissionViolation(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    if (x.name === 'PermissionViolationError' || /permissions violation/i.test(x.message)) return true;
  }
  return false;
}

/** JetStream says the stream does not exist (err_code 10059, status 404). */
function isStreamNotFound(e: unknown): boolean {
  return e instanceof JetStreamApiError && (e.status === 404 || e.code === 10059);
}
