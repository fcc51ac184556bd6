/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha, `@grpc/reflection`)
 * on every Rivulet server, so `grpcurl`, Postman and other generic clients
 * list and call the API without the .proto files.
 *
 * A server reflects exactly the services it serves — the executor's port shows
 * `rivulet.v1.Executor` and health, never the scheduler's API — by recording
 * what the service registers (`recordServices`) and building the reflection
 * index over the whole wire contract (lib/proto) restricted to those names.
 * Who may ask is the access table's business (lib/security/access-policy.ts):
 * reflection reveals the API's shape, never data, but only to authenticated
 * callers. This module never answers anything the contract does not define.
 */
import type * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { PACKAGE_DEFINITION } from '../proto/index.js';

/** The method paths reflection adds to a server: both protocol versions, since clients still differ (grpcurl asks v1 first, older tools only v1alpha). */
export const REFLECTION_METHOD_PATHS = [
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
] as const;

/** `package.Service` of a method path `/package.Service/Method`. */
function serviceOf(path: string): string {
  return path.slice(1, path.lastIndexOf('/'));
}

/**
 * Call `register` with `server`, noting the full name of every service it adds
 * (its methods' paths carry it). The server's own `addService` is what runs:
 * the override lives only for the duration of `register`.
 */
export function recordServices(server: grpc.Server, register: (server: grpc.Server) => void): Set<string> {
  const served = new Set<string>();
  const addService = server.addService.bind(server);
  server.addService = (service, implementation) => {
    for (const method of Object.values(service)) served.add(serviceOf(method.path));
    addService(service, implementation);
  };
  try {
    register(server);
  } finally {
    // Drop the instance property: the prototype's method is back.
    delete (server as Partial<Pick<grpc.Server, 'addService'>>).addService;
  }
  return served;
}

/** Add both reflection services to `server`, describing only `services` (full names). */
export function addReflection(server: grpc.Server, services: Iterable<string>): void {
  new ReflectionService(PACKAGE_DEFINITION, { services: [...services] }).addToServer(server);
}
