/**
 * lib/grpc/reflection.ts through startServer, in-process on 127.0.0.1:0 (this
 * process set up no security, so the server is plaintext): reflection lists
 * exactly the services registered, and `grpcReflection: false` leaves it out.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type StartedServer } from '../../../lib/grpc/server.js';
import { rivuletV1 } from '../../../lib/proto/index.js';
import { INSECURE_TRANSPORT } from '../../../lib/security/transport.js';
import { reflect } from '../../helpers/reflection.js';

describe('server reflection on startServer', () => {
  let started: StartedServer | undefined;
  afterEach(async () => {
    await started?.shutdown(100);
    started = undefined;
  });

  const start = (grpcReflection?: boolean) =>
    startServer({ host: '127.0.0.1', port: 0, maxMessageBytes: 1 << 20, grpcReflection }, (s) => s.addService(rivuletV1.Lineage.service, {}));

  it('is on by default and lists what the server serves, nothing more', async () => {
    started = await start();
    const r = await reflect(started.address, INSECURE_TRANSPORT, [{ listServices: '*' }, { fileContainingSymbol: 'rivulet.v1.Lineage.PlanRebuild' }]);
    expect(r.status.code).toBe(grpc.status.OK);
    expect(r.responses[0]!.listServicesResponse!.service.map((s) => s.name).sort()).toEqual(['grpc.health.v1.Health', 'rivulet.v1.Lineage']);
    expect(r.responses[1]!.fileDescriptorResponse!.fileDescriptorProto.length).toBeGreaterThan(0);
    // addService is the server's own again after registration.
    expect(Object.prototype.hasOwnProperty.call(started.server, 'addService')).toBe(false);
  });

  it('answers UNIMPLEMENTED with grpcReflection false', async () => {
    started = await start(false);
    const r = await reflect(started.address, INSECURE_TRANSPORT, [{ listServices: '*' }]);
    expect(r.status.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});
