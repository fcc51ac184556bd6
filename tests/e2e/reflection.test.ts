/**
 * gRPC server reflection on a real, secure cluster, seen by a generic client
 * that has none of Rivulet's .proto files (tests/helpers/reflection.ts, as
 * grpcurl is): every service lists exactly what it serves over both protocol
 * versions, hands out file descriptors from which a call can be built and
 * made, and refuses outsiders as the access table says (any authenticated
 * caller may reflect; executors know no user tokens but the bootstrap admin's).
 * Health stays public.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { describe, expect, it } from 'vitest';
import type { RivuletClient } from '../../client/index.js';
import { dial, unary } from '../../lib/grpc/client.js';
import type { LocalCluster } from '../../lib/cluster/local-cluster.js';
import { channelCredentials, type TransportSecurity } from '../../lib/security/transport.js';
import { useLocalCluster } from '../helpers/cluster.js';
import { decodeFileDescriptor, reflect, type FileDescriptor, type ReflectionVersion } from '../helpers/reflection.js';

const HEALTH = 'grpc.health.v1.Health';
const APIS = ['rivulet.v1.Scheduler', 'rivulet.v1.Receiver', 'rivulet.v1.Lineage', 'rivulet.v1.Executor'];

describe('gRPC server reflection', () => {
  let cluster: LocalCluster;
  let client: RivuletClient;
  useLocalCluster({ executors: 1, slots: 1, batchInterval: '500ms', blockInterval: '100ms' }, (s) => ({ cluster, client } = s));

  /** Each service's address, what it must list, and a credential its access control admits. */
  const targets = () => {
    const a = cluster.addresses();
    const admin = a.security;
    return [
      { name: 'rivulet.v1.Scheduler', address: a.scheduler, security: admin },
      { name: 'rivulet.v1.Receiver', address: a.receiver, security: admin },
      { name: 'rivulet.v1.Lineage', address: a.lineage, security: admin },
      // Executors accept no user credentials: a service identity reflects them.
      { name: 'rivulet.v1.Executor', address: a.executors[0]!, security: cluster.security!.as('scheduler') },
    ];
  };

  it('lists on every service exactly its own API and health, over v1 and v1alpha', async () => {
    for (const t of targets()) {
      for (const version of ['v1', 'v1alpha'] as ReflectionVersion[]) {
        const r = await reflect(t.address, t.security, [{ listServices: '*' }], version);
        expect(r.status.code, `${t.name} ${version}: ${r.status.details}`).toBe(grpc.status.OK);
        expect(r.responses).toHaveLength(1);
        const names = r.responses[0]!.listServicesResponse!.service.map((s) => s.name).sort();
        expect(names, `${t.name} ${version}`).toEqual([HEALTH, t.name].sort());
        for (const other of APIS.filter((n) => n !== t.name)) expect(names).not.toContain(other);
      }
    }
  });

  it('hands out a descriptor of rivulet.v1.Scheduler with everything its methods need, and a call built from it works', async () => {
    const a = cluster.addresses();
    const r = await reflect(a.scheduler, a.security, [{ fileContainingSymbol: 'rivulet.v1.Scheduler' }]);
    expect(r.status.code, r.status.details).toBe(grpc.status.OK);
    const bytes = r.responses[0]!.fileDescriptorResponse!.fileDescriptorProto;
    const files: FileDescriptor[] = bytes.map((b) => decodeFileDescriptor(b));
    const withScheduler = files.find((f) => f.service.some((s) => s.name === 'Scheduler'));
    expect(withScheduler?.package).toBe('rivulet.v1');
    const scheduler = withScheduler!.service.find((s) => s.name === 'Scheduler')!;
    expect(scheduler.method.map((m) => m.name)).toEqual(expect.arrayContaining(['SubmitJob', 'StopJob', 'WatchOutput', 'GetStatus', 'ListStreams']));
    expect(scheduler.method.find((m) => m.name === 'WatchOutput')!.serverStreaming).toBe(true);
    // Every type a method names is defined in the files handed out (dependencies included),
    // so a client can build requests without proto/.
    const defined = new Set(files.flatMap((f) => f.messageType.map((m) => `.${f.package}.${m.name}`)));
    for (const m of scheduler.method) {
      expect(defined, m.inputType).toContain(m.inputType);
      expect(defined, m.outputType).toContain(m.outputType);
    }

    // grpcurl's next step: build the types from the descriptors alone and call GetStatus.
    const root = (protobuf.Root as unknown as { fromDescriptor(set: unknown): protobuf.Root }).fromDescriptor(
      descriptor.FileDescriptorSet.create({ file: bytes.map((b) => descriptor.FileDescriptorProto.decode(b)) }),
    );
    const service = root.lookupService('rivulet.v1.Scheduler');
    const method = service.methods['GetStatus']!;
    method.resolve();
    const req = method.resolvedRequestType!;
    const res = method.resolvedResponseType!;
    const client = new grpc.Client(a.scheduler, channelCredentials(a.security, ['scheduler']), { 'grpc.ssl_target_name_override': 'rivulet' });
    try {
      const status = await new Promise<Record<string, unknown>>((resolve, reject) =>
        client.makeUnaryRequest(
          '/rivulet.v1.Scheduler/GetStatus',
          (v: object) => Buffer.from(req.encode(req.fromObject(v)).finish()),
          (b: Buffer) => res.toObject(res.decode(b), { arrays: true }),
          {},
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (err, value) => (err ? reject(err) : resolve(value!)),
        ),
      );
      expect(Object.keys(status)).toContain('executors');
      expect((status['executors'] as unknown[]).length).toBe(1);
    } finally {
      client.close();
    }
  });

  it('refuses outsiders as the access table says, and leaves health public', async () => {
    const outsider: TransportSecurity = { insecure: false, pem: { ca: cluster.security!.caPem() } };
    for (const t of targets()) {
      for (const version of ['v1', 'v1alpha'] as ReflectionVersion[]) {
        const r = await reflect(t.address, outsider, [{ listServices: '*' }], version);
        expect(r.status.code, `${t.name} ${version}`).toBe(grpc.status.UNAUTHENTICATED);
        expect(r.responses).toEqual([]);
      }
      // Health needs no credential, as before.
      const health = dial.health(t.address, { security: outsider });
      try {
        expect((await unary(health, health.check, { service: '' })).status).toBe('SERVING');
      } finally {
        health.close();
      }
    }
    // Any user may, whatever the role: a `view` token on the scheduler and the receiver. Executors
    // do not follow the token bucket, so there the same token is no credential.
    const a = cluster.addresses();
    const { token } = await client.createToken({ user: 'grpcurl', role: 'view' });
    const viewer = cluster.security!.withToken(token);
    for (const address of [a.scheduler, a.receiver]) {
      expect((await reflect(address, viewer, [{ listServices: '*' }])).status.code).toBe(grpc.status.OK);
    }
    const onExecutor = await reflect(a.executors[0]!, viewer, [{ listServices: '*' }]);
    expect(onExecutor.status.code).toBe(grpc.status.UNAUTHENTICATED);
    // Every service role may: a receiver's certificate on lineage.
    const asReceiver = await reflect(a.lineage, cluster.security!.as('receiver'), [{ listServices: '*' }]);
    expect(asReceiver.status.code).toBe(grpc.status.OK);
  });
});
