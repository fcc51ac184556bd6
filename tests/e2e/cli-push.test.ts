/**
 * `rivulet push` as a user runs it (`node bin/rivulet.js push`) against a real
 * cluster: its flags take effect in what reaches the receiver, and its memory
 * stays bounded whatever the input size.
 *
 * To see the messages, the CLI talks to a recording relay in this test that
 * forwards every Push message to the real receiver and every answer back —
 * acks held for a moment, so that the in-flight window fills — and notes each
 * message's record count and bytes, and how many were unacknowledged at once.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { dial } from '../../lib/grpc/client.js';
import { startServer, type StartedServer } from '../../lib/grpc/server.js';
import { rivuletV1, type ReceiverClient } from '../../lib/proto/index.js';
import type { PushRequest, PushRequest__Output } from '../../lib/proto/gen/rivulet/v1/PushRequest.js';
import type { PushResponse, PushResponse__Output } from '../../lib/proto/gen/rivulet/v1/PushResponse.js';
import type { TransportSecurity } from '../../lib/security/transport.js';
import { cliSecurityEnv, useLocalCluster } from '../helpers/cluster.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(repo, 'bin/rivulet.js');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RIVULET_')));
// The test's relay is a plaintext in-process server (it dials the real receiver over mTLS).
const TO_RELAY = { RIVULET_INSECURE: 'true' };
const MiB = 1024 * 1024;
const HEAP_FLAG = '--max-old-space-size=32';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set (VmHWM) of the CLI process, bytes, as last read while it ran. */
  peakRss: number;
}

/** Run `rivulet push` with `input` on stdin, sampling its peak RSS; `nodeArgs` go to node. */
function push(args: string[], input: Readable, nodeArgs: string[], extraEnv: Record<string, string>): Promise<Run> {
  const child = spawn(process.execPath, [...nodeArgs, bin, 'push', ...args], { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakRss = 0;
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const sample = setInterval(() => {
    try {
      const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (kb) peakRss = Math.max(peakRss, Number(kb[1]) * 1024);
    } catch {
      // exited between samples
    }
  }, 100);
  input.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the CLI may exit before reading everything on failure
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearInterval(sample);
      resolve({ code, stdout, stderr, peakRss });
    });
  });
}

/** `count` lines of `width` characters each ('l' + zero-padded index + padding). */
function lines(count: number, width: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < count; i++) yield `l${String(i).padStart(9, '0')}`.padEnd(width, '.') + '\n';
    })(),
  );
}

/** `totalBytes` of identical 1 KiB lines, in 64 KiB chunks. */
function bulk(totalBytes: number): Readable {
  const chunk = Buffer.from(('x'.repeat(1023) + '\n').repeat(64));
  return Readable.from(
    (function* () {
      for (let sent = 0; sent < totalBytes; sent += chunk.length) yield chunk;
    })(),
  );
}

interface Relay {
  address: string;
  /** Every records message: its record count and payload bytes. */
  messages: Array<{ count: number; bytes: number }>;
  /** Most records messages sent by the CLI and not yet acked (as the CLI sees it). */
  maxUnacked: number;
  reset(): void;
  close(): Promise<void>;
}

async function startRelay(a: { receiver: string; security: TransportSecurity }, ackDelayMs: number): Promise<Relay> {
  const upstream: ReceiverClient = dial.receiver(a.receiver, { security: a.security });
  let unacked = 0;
  const relay: Relay = {
    address: '',
    messages: [],
    maxUnacked: 0,
    reset() {
      relay.messages = [];
      relay.maxUnacked = 0;
      unacked = 0;
    },
    close: async () => {
      await server.shutdown(500);
      upstream.close();
    },
  };
  const server: StartedServer = await startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 64 * MiB }, (s) =>
    s.addService(rivuletV1.Receiver.service, {
      Push: (call: ServerDuplexStream<PushRequest__Output, PushResponse>) => {
        const up = upstream.push();
        let delayed = 0;
        let upstreamDone = false;
        const maybeEnd = () => {
          if (upstreamDone && delayed === 0) call.end();
        };
        call.on('data', (m: PushRequest__Output) => {
          if (m.records) {
            relay.messages.push({ count: m.records.batch!.count, bytes: m.records.batch!.payload.length });
            relay.maxUnacked = Math.max(relay.maxUnacked, ++unacked);
          }
          const out: PushRequest = m.open ? { open: m.open } : { records: m.records };
          up.write(out);
        });
        call.on('end', () => up.end());
        call.on('cancelled', () => up.cancel());
        up.on('data', (r: PushResponse__Output) => {
          if (!r.ack && !r.nack) {
            call.write(r as PushResponse);
            return;
          }
          delayed++;
          setTimeout(() => {
            delayed--;
            unacked--;
            call.write(r as PushResponse);
            maybeEnd();
          }, ackDelayMs);
        });
        up.on('end', () => {
          upstreamDone = true;
          maybeEnd();
        });
        up.on('error', (err: { code: number; details: string }) => call.emit('error', { code: err.code, details: err.details }));
      },
    }),
  );
  server.health.set('SERVING');
  relay.address = server.address;
  return relay;
}

describe('rivulet push', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  let relay: Relay;
  useLocalCluster({ executors: 2, slots: 1, batchInterval: '500ms', blockInterval: '100ms' }, (started) => ({ cluster, client } = started));

  beforeAll(async () => {
    await client.submitJob(join(repo, 'examples/wordcount.ts'));
    relay = await startRelay(cluster.addresses(), 20);
  });
  afterAll(async () => relay?.close());

  it('--batch-records N: every message holds N lines (the last the rest); --in-flight K: K unacked at most, and reached', async () => {
    relay.reset();
    const r = await push(['lines', '--receiver', relay.address, '--batch-records', '50', '--in-flight', '3'], lines(2020, 20), [], TO_RELAY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('2020\n'); // acked by the real receiver
    expect(relay.messages.map((m) => m.count)).toEqual([...Array<number>(40).fill(50), 20]);
    expect(relay.maxUnacked).toBe(3);
  });

  it('--batch-bytes B: a batch is sent once its lines reach B bytes; the default in-flight is 16', async () => {
    relay.reset();
    // 100 bytes per line with its newline: 41 lines reach 4 KiB (4100 bytes).
    const r = await push(['lines', '--receiver', relay.address, '--batch-bytes', '4KiB'], lines(1000, 99), [], TO_RELAY);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('1000\n');
    expect(relay.messages.map((m) => m.count)).toEqual([...Array<number>(24).fill(41), 16]);
    // Packed: 99 characters and a 2-byte string header per line.
    expect(relay.messages[0]!.bytes).toBe(41 * 101);
    expect(relay.maxUnacked).toBe(16);
  });

  it('memory stays bounded: 96 MiB on stdin through a 32 MB heap', async () => {
    // Lines are JavaScript strings, on the heap: a CLI that kept what it read
    // (or let unacked batches pile up) would run out of heap long before the
    // end of the input, and exit with an error.
    const total = 96 * MiB;
    const small = await push(['lines', '--receiver', cluster.addresses().receiver], bulk(4 * MiB), [HEAP_FLAG], cliSecurityEnv(cluster));
    expect(small.code, small.stderr).toBe(0);
    const r = await push(['lines', '--receiver', cluster.addresses().receiver], bulk(total), [HEAP_FLAG], cliSecurityEnv(cluster));
    expect(r.code, r.stderr).toBe(0);
    expect(Number(r.stdout.trim())).toBe(total / 1024);
    console.log(`rivulet push with ${HEAP_FLAG}: peak RSS ${(small.peakRss / MiB).toFixed(0)} MiB for 4 MiB, ${(r.peakRss / MiB).toFixed(0)} MiB for ${total / MiB} MiB`);
    // Off the heap too (Buffers): 24 times the input costs far less than the difference.
    expect(small.peakRss).toBeGreaterThan(0);
    expect(r.peakRss - small.peakRss).toBeLessThan(total / 2);
  }, 180_000);
});
