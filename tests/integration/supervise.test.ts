/**
 * lib/process against real child processes (small `node -e` programs and a
 * real nats-server): readiness with a deadline and the output tail in the
 * error, SIGTERM then SIGKILL after the grace period, retry while a port is
 * taken, and nats-server on a port of its own choosing.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildStartError, isAddressInUse } from '../../lib/process/errors.js';
import { startNatsServer } from '../../lib/process/nats-server.js';
import { freePort, retryWhileAddressInUse } from '../../lib/process/ports.js';
import { isPidAlive, stopPid, supervise, type Supervised } from '../../lib/process/supervise.js';

const started: Array<Supervised<unknown>> = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.kill()));
});

/** A node child running `script`, ready once it printed `ready <value>`. */
async function node(script: string, opts: { readyTimeoutMs?: number } = {}): Promise<Supervised<string>> {
  const child = await supervise({
    name: 'child',
    command: process.execPath,
    args: ['-e', script],
    readyTimeoutMs: opts.readyTimeoutMs ?? 5000,
    ready: (probe) => /^ready (\S+)$/m.exec(probe.output())?.[1],
  });
  started.push(child);
  return child;
}

const listenOn = (port: number) => `
  const srv = require('node:net').createServer();
  srv.on('error', (e) => { console.error(String(e)); process.exit(1); });
  srv.listen(${port}, '127.0.0.1', () => console.log('ready ' + srv.address().port));
  setInterval(() => {}, 1000);`;

describe('supervise', () => {
  it('returns what the readiness check found, and stops the child with SIGTERM', async () => {
    const child = await node(listenOn(0));
    expect(Number(child.ready)).toBeGreaterThan(0);
    await child.stop(2000);
    expect(child.process.signalCode).toBe('SIGTERM');
    expect(isPidAlive(child.pid)).toBe(false);
  });

  it('SIGKILLs a child that ignores SIGTERM once the grace period is over', async () => {
    const child = await node(`process.on('SIGTERM', () => {}); console.log('ready 1'); setInterval(() => {}, 1000);`);
    const t0 = Date.now();
    await child.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(child.process.signalCode).toBe('SIGKILL');
  });

  it('fails with the output tail when the child exits before it is ready', async () => {
    const err = await node(`console.error('no config here'); process.exit(3);`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChildStartError);
    expect((err as ChildStartError).details).toMatchObject({ reason: 'exited', exitCode: 3 });
    expect((err as Error).message).toMatch(/child exited \(3\) before it was ready; last output:\nno config here/);
  });

  it('kills a child that is not ready by the deadline', async () => {
    const err = await node(`console.log('starting'); setInterval(() => {}, 1000);`, { readyTimeoutMs: 2000 }).catch((e: unknown) => e);
    expect((err as ChildStartError).details.reason).toBe('timeout');
    expect((err as Error).message).toMatch(/did not become ready within 2000 ms[\s\S]*starting/);
  });

  it('stopPid stops a process that is not a child of this one', async () => {
    const child = await node(`process.on('SIGTERM', () => {}); console.log('ready 1'); setInterval(() => {}, 1000);`);
    expect(await stopPid(child.pid, 200)).toBe('killed');
    expect(await stopPid(child.pid, 200)).toBe('gone');
  });
});

describe('ports', () => {
  let holder: Server | undefined;
  afterEach(() => holder?.close());

  it('retries a start on a taken port until the port is free', async () => {
    const port = await freePort();
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(port, '127.0.0.1', r));
    setTimeout(() => holder!.close(), 400);
    const attempts: number[] = [];
    const child = await retryWhileAddressInUse(() => node(listenOn(port)), { onRetry: (n) => attempts.push(n) });
    expect(Number(child.ready)).toBe(port);
    expect(attempts.length).toBeGreaterThan(0);
  });

  it('hands out bindable ports below the kernel\'s ephemeral range, which outgoing connections never take', async () => {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(low!);
      const srv = createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', resolve);
      });
      await new Promise((r) => srv.close(r));
    }
  });

  it('reports EADDRINUSE as such, and gives up after the timeout', async () => {
    const port = await freePort();
    holder = createServer();
    await new Promise<void>((r) => holder!.listen(port, '127.0.0.1', r));
    const err = await retryWhileAddressInUse(() => node(listenOn(port)), { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(isAddressInUse(err)).toBe(true);
  });
});

describe('startNatsServer', () => {
  it('lets nats-server pick its port and reads it back', async () => {
    const nats = await startNatsServer();
    try {
      expect(nats.port).toBeGreaterThan(0);
      expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
      // The port is really bound: binding it again fails.
      const again = createServer();
      const bound = await new Promise<boolean>((r) => {
        again.once('error', () => r(false));
        again.listen(nats.port, '127.0.0.1', () => again.close(() => r(true)));
      });
      expect(bound).toBe(false);
    } finally {
      await nats.stop();
    }
    expect(isPidAlive(nats.pid)).toBe(false);
  });
});
