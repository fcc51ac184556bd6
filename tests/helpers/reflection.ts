/**
 * A generic gRPC reflection client, as grpcurl is one: grpc-js plus the
 * reflection protocol's own .proto (shipped in @grpc/reflection), nothing from
 * Rivulet's proto/. It speaks either protocol version over one bidirectional
 * stream and decodes the file descriptors it receives with protobufjs'
 * descriptor.proto, so a test sees what a tool without the .proto files sees.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import { channelCredentials, type TransportSecurity } from '../../lib/security/transport.js';

const require = createRequire(import.meta.url);
// build/src/index.js → build/proto
const protoDir = join(dirname(require.resolve('@grpc/reflection')), '../proto');

const pkg = grpc.loadPackageDefinition(
  protoLoader.loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], {
    includeDirs: [protoDir],
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  }),
) as unknown as { grpc: { reflection: Record<'v1' | 'v1alpha', { ServerReflection: grpc.ServiceClientConstructor }> } };

export type ReflectionVersion = 'v1' | 'v1alpha';

/** Every method path of both reflection services, from the protocol's .proto files. */
export function reflectionMethodPaths(): string[] {
  return (['v1', 'v1alpha'] as const).flatMap((v) =>
    Object.values(pkg.grpc.reflection[v].ServerReflection.service).map((m) => m.path),
  );
}

export type ReflectionRequest = { listServices: string } | { fileContainingSymbol: string } | { fileByFilename: string };

export interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

export interface ReflectionResult {
  responses: ReflectionResponse[];
  status: grpc.StatusObject;
}

/**
 * Send `requests` on one ServerReflectionInfo stream to `address`, half-close,
 * and resolve with every response and the final status (an access-control
 * refusal ends the stream with a status and no response).
 */
export function reflect(
  address: string,
  security: TransportSecurity,
  requests: ReflectionRequest[],
  version: ReflectionVersion = 'v1',
): Promise<ReflectionResult> {
  const Client = pkg.grpc.reflection[version].ServerReflection;
  const client = new Client(address, channelCredentials(security, 'any-service'), { 'grpc.ssl_target_name_override': 'rivulet' });
  const call = (client as unknown as { serverReflectionInfo(opts: grpc.CallOptions): grpc.ClientDuplexStream<object, ReflectionResponse> }).serverReflectionInfo({
    deadline: Date.now() + 10_000,
  });
  const responses: ReflectionResponse[] = [];
  return new Promise<ReflectionResult>((resolve) => {
    call.on('data', (r: ReflectionResponse) => responses.push(r));
    // The status event carries the outcome; an error event is the same status as an exception.
    call.on('error', () => undefined);
    call.on('status', (status: grpc.StatusObject) => {
      client.close();
      resolve({ responses, status });
    });
    for (const r of requests) call.write(r);
    call.end();
  });
}

export interface FileDescriptor {
  name: string;
  package: string;
  dependency: string[];
  messageType: Array<{ name: string }>;
  service: Array<{ name: string; method: Array<{ name: string; inputType: string; outputType: string; clientStreaming?: boolean; serverStreaming?: boolean }> }>;
}

/** A FileDescriptorProto as reflection sends it, decoded. */
export function decodeFileDescriptor(bytes: Uint8Array): FileDescriptor {
  const message = descriptor.FileDescriptorProto.decode(bytes);
  return descriptor.FileDescriptorProto.toObject(message, { arrays: true, defaults: false }) as unknown as FileDescriptor;
}
