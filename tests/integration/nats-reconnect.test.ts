/**
 * A KV put sent while nats-server is down, against a real nats-server killed
 * (SIGKILL) and restarted on the same port and store:
 * - bare, through nats.js, it is never answered — nats.js drops what it
 *   buffered when it dials again — and fails only at its timeout, long after
 *   NATS is back (the cause of late batches after a NATS restart);
 * - through the connection's ConnectionWatch (lib/nats/reconnect.ts, which
 *   the receiver's write-ahead log and lineage use) it is sent on the
 *   reconnect and stored.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterEach, describe, expect, it } from 'vitest';
import { connectNats, type NatsConnection } from '../../lib/nats/connection.js';
import { connectionWatch } from '../../lib/nats/reconnect.js';
import { startNatsServer, type NatsServerHandle } from '../../lib/process/nats-server.js';
import { waitFor } from '../helpers/wait.js';

/** Far longer than an outage plus a reconnect here, so which of the two ended a put is plain. */
const PUT_TIMEOUT_MS = 8000;

describe('KV puts across a nats-server restart (real server)', () => {
  let nats: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    await nats?.stop();
  });

  it('a bare put sent while down waits out its timeout; the same put through the ConnectionWatch is stored at the reconnect', async () => {
    nats = await startNatsServer({ removeStoreOnStop: true });
    nc = await connectNats(nats.url, 'reconnect-test');
    const watch = connectionWatch(nc);
    const kv = await new Kvm(jetstream(nc, { timeout: PUT_TIMEOUT_MS })).create('reconnect-test', { history: 1 });
    await kv.put('warm', new Uint8Array([0]));

    const { port, storeDir } = nats;
    await nats.kill();
    await waitFor(() => !watch.connected, 'the client noticing the server is gone', { timeoutMs: 5000, intervalMs: 20 });
    const sentAt = Date.now();
    const settledAfter = (p: Promise<unknown>) =>
      p.then(
        () => ({ ok: true, ms: Date.now() - sentAt }),
        (e: unknown) => ({ ok: false, ms: Date.now() - sentAt, err: String(e) }),
      );
    const bare = settledAfter(kv.put('bare', new Uint8Array([1])));
    const watched = settledAfter(watch.request(() => kv.put('watched', new Uint8Array([2])), PUT_TIMEOUT_MS));
    await new Promise((r) => setTimeout(r, 500));
    nats = await startNatsServer({ port, storeDir, removeStoreOnStop: true });
    const upAfterMs = Date.now() - sentAt;

    const w = await watched;
    expect(w.ok, JSON.stringify(w)).toBe(true);
    // Stored once NATS is back, not at the put's timeout: well before it, whatever the machine's load.
    expect(w.ms).toBeLessThan(upAfterMs + PUT_TIMEOUT_MS / 2);
    expect([...((await kv.get('watched'))?.value ?? [])]).toEqual([2]);

    const b = await bare;
    expect(b.ok, 'nats.js dropped the buffered put on reconnecting').toBe(false);
    expect(b.ms).toBeGreaterThanOrEqual(PUT_TIMEOUT_MS - 50);
    expect(await kv.get('bare')).toBeNull();
  }, 30_000);
});
