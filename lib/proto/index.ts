/**
 * Loads the wire contract (proto/) at run time with the same options the
 * generated types in ./gen were made with, and hands out typed service
 * definitions and client constructors. Nothing else in the code base loads
 * .proto files.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import protobuf from 'protobufjs';
import type { ProtoGrpcType as ExecutorProto } from './gen/executor.js';
import type { ProtoGrpcType as HealthProto } from './gen/health.js';
import type { ProtoGrpcType as LineageProto } from './gen/lineage.js';
import type { ProtoGrpcType as ReceiverProto } from './gen/receiver.js';
import type { ProtoGrpcType as SchedulerProto } from './gen/scheduler.js';
import type { ProtoGrpcType as SchedulerTestingProto } from './gen/scheduler_testing.js';

/** Must match the flags in scripts/gen-proto.mjs. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function findProtoRoot(): string {
  // Works from lib/proto (tsx/vitest) and from dist/lib/proto (compiled).
  for (const rel of ['../../proto', '../../../proto']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${path}/rivulet/v1/common.proto`)) return path;
  }
  throw new Error('cannot find the proto/ folder next to lib/ or dist/');
}

export const PROTO_ROOT = findProtoRoot();

/** The whole wire contract as loaded (server reflection describes services from it, lib/grpc/reflection.ts). */
export const PACKAGE_DEFINITION: protoLoader.PackageDefinition = protoLoader.loadSync(
  [
    'rivulet/v1/receiver.proto',
    'rivulet/v1/scheduler.proto',
    // Test-only service (served when the scheduler runs with testDriver).
    'rivulet/v1/scheduler_testing.proto',
    'rivulet/v1/lineage.proto',
    'rivulet/v1/executor.proto',
    'grpc/health/v1/health.proto',
  ],
  { ...LOADER_OPTIONS, includeDirs: [PROTO_ROOT] },
);

const loaded = grpc.loadPackageDefinition(PACKAGE_DEFINITION) as unknown as ReceiverProto &
  SchedulerProto &
  SchedulerTestingProto &
  LineageProto &
  ExecutorProto &
  HealthProto;

export const rivuletV1 = loaded.rivulet.v1;

let typesRoot: protobuf.Root | undefined;
/**
 * The protobufjs type of a message (e.g. 'rivulet.v1.TaskSpec'), loaded as
 * the package definition above is (same files, same field names), for the
 * few encoders that write messages in parts (services/scheduler/task-request-encoding.ts).
 */
export function protoType(name: string): protobuf.Type {
  if (!typesRoot) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(PROTO_ROOT, target));
    root.loadSync(['rivulet/v1/executor.proto'], { keepCase: false });
    typesRoot = root;
  }
  return typesRoot.lookupType(name);
}
export const healthV1 = loaded.grpc.health.v1;

export type { ReceiverClient } from './gen/rivulet/v1/Receiver.js';
export type { SchedulerClient } from './gen/rivulet/v1/Scheduler.js';
export type { SchedulerTestingClient } from './gen/rivulet/v1/SchedulerTesting.js';
export type { LineageClient } from './gen/rivulet/v1/Lineage.js';
export type { ExecutorClient } from './gen/rivulet/v1/Executor.js';
export type { HealthClient } from './gen/grpc/health/v1/Health.js';
