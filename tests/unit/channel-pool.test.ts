/**
 * Peer channels do not pile up with churn (lib/grpc/channel-pool.ts): a
 * channel closes when its peer is declared lost or after an idle timeout,
 * never under a call in flight; executors replaced under new addresses leave
 * no channel behind — the receiver's PutBlock client against real gRPC
 * servers standing in for executors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../lib/clock.js';
import { ChannelPool } from '../../lib/grpc/channel-pool.js';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { rivuletV1 } from '../../lib/proto/index.js';
import { GrpcBlockPutter } from '../../services/receiver/block-replicator.js';

class FakeClient {
  closed = false;
  constructor(readonly address: string) {}
}

function pool(clock: ManualClock, idleTimeoutMs: number) {
  const dialled: FakeClient[] = [];
  const p = new ChannelPool<FakeClient>({
    dial: (a) => {
      const c = new FakeClient(a);
      dialled.push(c);
      return c;
    },
    close: (c) => (c.closed = true),
    clock,
    idleTimeoutMs,
  });
  return { p, dialled };
}

describe('ChannelPool', () => {
  it('reuses one client per address and closes it when its peer is lost', async () => {
    const clock = new ManualClock(0);
    const { p, dialled } = pool(clock, 0);
    await p.use('a:1', 'e1', () => Promise.resolve());
    await p.use('a:1', 'e1', () => Promise.resolve());
    await p.use('b:1', 'e2', () => Promise.resolve());
    expect(dialled.map((c) => c.address)).toEqual(['a:1', 'b:1']);
    p.peerLost('e1');
    expect(p.addresses()).toEqual(['b:1']);
    expect(dialled[0]!.closed).toBe(true);
    // The address is dialled again on its next use (a restarted executor on the same port).
    await p.use('a:1', 'e1', () => Promise.resolve());
    expect(dialled).toHaveLength(3);
    p.closeAll();
    expect(p.size).toBe(0);
    expect(dialled.every((c) => c.closed)).toBe(true);
  });

  it('closes idle clients, never one with a call in flight', async () => {
    const clock = new ManualClock(0);
    const { p, dialled } = pool(clock, 1000);
    await p.use('idle:1', 'e1', () => Promise.resolve());
    let release!: () => void;
    const busy = p.use('busy:1', 'e2', () => new Promise<void>((r) => (release = r)));
    clock.advance(3000);
    expect(p.addresses()).toEqual(['busy:1']);
    expect(dialled[0]!.closed).toBe(true);
    release();
    await busy;
    clock.advance(3000);
    expect(p.size).toBe(0);
    expect(dialled[1]!.closed).toBe(true);
  });
});

describe('GrpcBlockPutter: executors replaced under new addresses leave no channel behind', () => {
  const servers: StartedServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.shutdown(100)));
  });

  async function standIn(id: string): Promise<StartedServer> {
    const s = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 1024 * 1024 }, (srv) =>
      srv.addService(rivuletV1.Executor.service, {
        PutBlock: (_call: unknown, cb: (err: null, res: { executorId: string; epoch: number }) => void) => cb(null, { executorId: id, epoch: 1 }),
      }),
    );
    servers.push(s);
    return s;
  }

  it('closes a lost executor\'s channel at once and an idle one after the timeout', async () => {
    const clock = new ManualClock(Date.now());
    const putter = new GrpcBlockPutter({ timeoutMs: 5000, maxMessageBytes: 1024 * 1024, clock, idleTimeoutMs: 60_000 });
    const block = { blockId: 'b', stream: 's', records: 1, payload: Buffer.from('x') };
    // Three generations of two executors, each under new addresses (autoscaling).
    for (let gen = 0; gen < 3; gen++) {
      const ids = [`e${gen}a`, `e${gen}b`];
      const stand = await Promise.all(ids.map((id) => standIn(id)));
      for (let i = 0; i < 2; i++) {
        const r = await putter.put({ executorId: ids[i]!, epoch: 1, address: stand[i]!.address } as never, block);
        expect(r.executorId).toBe(ids[i]);
      }
      expect(putter.openChannels).toBe(2);
      // One is declared lost (executor.lost); the other just goes away and idles out.
      putter.peerLost(ids[0]!);
      clock.advance(61_000);
      expect(putter.openChannels, `generation ${gen}`).toBe(0);
    }
    putter.close();
  });
});
