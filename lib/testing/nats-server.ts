/**
 * Starts a real nats-server (from PATH) with JetStream on a free loopback port
 * and a private store directory, for tests, benchmarks and `rivulet up`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function natsServerBinary(): string {
  return process.env.RIVULET_NATS_SERVER_BIN || 'nats-server';
}

export async function startNatsServer(opts: { port?: number; storeDir?: string } = {}): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'rivulet-nats-'));
  const child = spawn(natsServerBinary(), ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const onData = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within 10s:\n${output}`)), 10_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new Error(
          `cannot start nats-server (${err.message}); install it with \`apt-get install -y nats-server\` or set RIVULET_NATS_SERVER_BIN`,
        ),
      );
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code}:\n${output}`));
    });
    const check = setInterval(() => {
      if (output.includes('Server is ready')) {
        clearInterval(check);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      }
    }, 20);
  });
  child.stdout!.off('data', onData);
  child.stderr!.off('data', onData);
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!opts.storeDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
