/**
 * NATS locked down: the server requires a client certificate from the cluster
 * CA and maps it to a user (`verify_and_map`), and each service's user may
 * publish and subscribe only what that service does. So an outsider cannot
 * connect at all, and even a compromised executor cannot forge a
 * `batch.ready`, announce streams, or edit the job journal: the NATS server
 * itself refuses (a "Publish Violation" in its log).
 *
 * The same table makes `rivulet up`'s nats-server configuration and the block
 * the README gives for an external NATS.
 *
 * A NATS cluster's routes (natsClusterConfig) are locked down too: mutual TLS
 * with the cluster CA, and only the NATS servers' own certificate
 * (NATS_ROUTE_USER) may open one (`verify_and_map` on the route port). A route
 * is trusted with every subject of every account, so a service's certificate —
 * from the same CA — must not be enough to join as a "server" and sidestep the
 * per-service permissions.
 */
import { SUBJECT_PREFIX } from '../nats/subjects.js';
import { SERVICE_ORGANIZATION, SERVICE_ROLES, type ServiceRole } from './identity.js';

/** Bucket and stream names (the services' options; defaults as in their config schemas). */
export interface NatsResourceNames {
  jobsBucket: string;
  outputsStream: string;
  checkpointBucket: string;
  lineageBucket: string;
  walBucket: string;
  tokenBucket: string;
  /** The scheduler's sinkStream (outputs' JetStream sinks). @default DEFAULT_SINK_STREAM */
  sinkStream?: string;
  /** The scheduler's sinkSubjects: the only subjects it may publish sink records to. @default DEFAULT_SINK_SUBJECTS */
  sinkSubjects?: readonly string[];
  /**
   * JetStream streams jobs may read as direct sources (ctx.jetStream): the
   * executors may read them (an ordered consumer, no acks) and the scheduler
   * may read their state. A job naming any other stream fails: its tasks are
   * refused by the NATS server. None by default — reading a stream is granted
   * per stream, by whoever runs NATS.
   */
  sourceStreams?: readonly string[];
}

/** The scheduler's sinkStream and sinkSubjects defaults (services/scheduler/config.ts). */
export const DEFAULT_SINK_STREAM = 'rivulet-sinks';
export const DEFAULT_SINK_SUBJECTS: readonly string[] = ['sinks.>'];

export const DEFAULT_NATS_NAMES: NatsResourceNames = {
  jobsBucket: 'rivulet-scheduler',
  outputsStream: 'rivulet-outputs',
  checkpointBucket: 'rivulet-checkpoints',
  lineageBucket: 'rivulet-lineage',
  walBucket: 'rivulet-receiver',
  tokenBucket: 'rivulet_tokens',
};

export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[] };
}

const P = SUBJECT_PREFIX;

/** Everything a JetStream client does on one stream: its API calls (create, info, consumers, direct gets). */
function streamApi(stream: string): string[] {
  // STREAM.INFO.<s>, CONSUMER.CREATE.<s>.…, STREAM.MSG.GET.<s>, CONSUMER.DURABLE.CREATE.<s>.…, DIRECT.GET.<s>.…
  return [`$JS.API.*.*.${stream}`, `$JS.API.*.*.${stream}.>`, `$JS.API.*.*.*.${stream}`, `$JS.API.*.*.*.${stream}.>`, `$JS.API.DIRECT.GET.${stream}`];
}

/** Reading a KV bucket (get, watch) without writing it. */
function kvReader(bucket: string): string[] {
  const s = `KV_${bucket}`;
  return [
    `$JS.API.STREAM.INFO.${s}`,
    // Opening a bucket that does not exist yet creates it (empty, same configuration) wherever a service starts first.
    `$JS.API.STREAM.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}.>`,
    `$JS.API.CONSUMER.DELETE.${s}.>`,
    `$JS.API.CONSUMER.INFO.${s}.>`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}.>`,
  ];
}

/**
 * Reading a JetStream direct source: the stream's info, and ordered consumers
 * on it (create, pull, info, delete) — no publish to its subjects, no acks of
 * durable consumers, no other stream. JetStream names the stream in each of
 * these subjects, so the permission is exactly "read this stream".
 */
function sourceReader(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.>`,
    `$JS.API.CONSUMER.DELETE.${stream}.>`,
  ];
}

/** JetStream plumbing every JetStream user needs: account info, flow control and acks of its own consumers, replies. */
const JS_COMMON = ['$JS.API.INFO', '$JS.API.STREAM.NAMES', '$JS.FC.>', '$JS.ACK.>', '_INBOX.>'];

export function natsPermissions(names: NatsResourceNames = DEFAULT_NATS_NAMES): Record<ServiceRole, NatsPermissions> {
  const n = names;
  return {
    scheduler: {
      publish: {
        allow: [
          `${P}.executor.lost.*`,
          `${P}.batch.completed.*`,
          `${P}.streams`,
          `${P}.rate-limits`,
          `${P}.batch.inputs.*`,
          ...JS_COMMON,
          ...streamApi(`KV_${n.jobsBucket}`),
          `$KV.${n.jobsBucket}.>`,
          ...streamApi(`OBJ_${n.jobsBucket}-bundles`),
          `$O.${n.jobsBucket}-bundles.>`,
          ...streamApi(n.outputsStream),
          `${n.outputsStream}.>`,
          ...streamApi(`OBJ_${n.checkpointBucket}`),
          `$O.${n.checkpointBucket}.>`,
          ...streamApi(`KV_${n.tokenBucket}`),
          `$KV.${n.tokenBucket}.>`,
          // Outputs' JetStream sinks (lib/sinks/jetstream.ts): records only under sinkSubjects, the stream it
          // keeps over them, and reading any stream's configuration to check a sink's duplicate window.
          ...(n.sinkSubjects ?? DEFAULT_SINK_SUBJECTS),
          ...streamApi(n.sinkStream ?? DEFAULT_SINK_STREAM),
          '$JS.API.STREAM.INFO.*',
          // JetStream sources: the stream's state decides each batch's range.
          ...(n.sourceStreams ?? []).map((s) => `$JS.API.STREAM.INFO.${s}`),
        ],
      },
      subscribe: { allow: [`${P}.executor.heartbeat.*`, `${P}.batch.ready.*`, `${P}.receiver.heartbeat.*`, '_INBOX.>'] },
    },
    receiver: {
      publish: {
        allow: [
          `${P}.batch.ready.*`,
          `${P}.receiver.heartbeat.*`,
          ...JS_COMMON,
          ...streamApi(`KV_${n.walBucket}`),
          `$KV.${n.walBucket}.>`,
          ...kvReader(n.tokenBucket),
        ],
      },
      subscribe: {
        allow: [
          `${P}.executor.heartbeat.*`,
          `${P}.executor.lost.*`,
          `${P}.streams`,
          `${P}.rate-limits`,
          `${P}.receiver.heartbeat.*`,
          `${P}.batch.inputs.*`,
          '_INBOX.>',
        ],
      },
    },
    lineage: {
      publish: { allow: [...JS_COMMON, ...streamApi(`KV_${n.lineageBucket}`), `$KV.${n.lineageBucket}.>`, ...kvReader(n.tokenBucket)] },
      subscribe: { allow: ['_INBOX.>'] },
    },
    executor: {
      publish: {
        allow: [
          `${P}.executor.heartbeat.*`,
          ...JS_COMMON,
          ...streamApi(`OBJ_${n.checkpointBucket}`),
          `$O.${n.checkpointBucket}.>`,
          ...(n.sourceStreams ?? []).flatMap(sourceReader),
        ],
      },
      subscribe: { allow: [`${P}.executor.lost.*`, `${P}.batch.inputs.*`, '_INBOX.>'] },
    },
  };
}

/**
 * The NATS users: one per service role, named by the certificate subject as
 * nats-server's `verify_and_map` spells it (RFC 2253, most specific first).
 * Both spellings of a role's subject are listed: with the organization
 * (`rivulet up`'s certificates) and without (Helm's genSignedCert).
 */
export function natsUsers(names: NatsResourceNames = DEFAULT_NATS_NAMES): Array<{ user: string; permissions: NatsPermissions }> {
  const perms = natsPermissions(names);
  return SERVICE_ROLES.flatMap((role) => [
    { user: `CN=${role},O=${SERVICE_ORGANIZATION}`, permissions: perms[role] },
    { user: `CN=${role}`, permissions: perms[role] },
  ]);
}

/**
 * A producer of source streams that is not a Rivulet service (`rivulet up`'s
 * and the tests' stand-in for an application writing to JetStream): it may
 * create and use the given streams and publish to `subjects`, and nothing of
 * Rivulet's.
 */
export function natsSourceProducer(streams: readonly string[], subjects: readonly string[]): NatsPermissions {
  return { publish: { allow: [...JS_COMMON, ...streams.flatMap(streamApi), ...subjects] }, subscribe: { allow: ['_INBOX.>'] } };
}

/**
 * The subject of the NATS servers' own certificate (lib/security/local-security.ts
 * issues it as O=rivulet, CN=nats-server), as `verify_and_map` spells it: the
 * only identity a route is accepted from.
 */
export const NATS_ROUTE_USER = 'CN=nats-server,O=rivulet';

/** One server of a NATS cluster: its route listener and the other servers' route URLs. */
export interface NatsClusterNode {
  /** The cluster's name (`cluster_name`), the same on every server. */
  clusterName: string;
  /** `host:port` of this server's route listener. */
  listen: string;
  /** `nats://host:port` of the other servers' route listeners. */
  routes: string[];
  /** Route TLS: this server's certificate (subject NATS_ROUTE_USER) and the CA. Absent = plaintext routes (insecure clusters only). */
  tls?: { certFile: string; keyFile: string; caFile: string };
}

/**
 * The `cluster` block of one server's configuration. Listen address and routes
 * live here rather than in --cluster/--routes flags: nats-server's --cluster
 * flag resets the cluster's authorization user, which would switch the route
 * check off.
 */
export function natsClusterConfig(n: NatsClusterNode): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    'cluster {',
    `  name: ${q(n.clusterName)}`,
    `  listen: ${q(n.listen)}`,
    `  routes: [${n.routes.map(q).join(', ')}]`,
    ...(n.tls
      ? [
          '  tls {',
          `    cert_file: ${q(n.tls.certFile)}`,
          `    key_file: ${q(n.tls.keyFile)}`,
          `    ca_file: ${q(n.tls.caFile)}`,
          '    verify_and_map: true',
          '  }',
          `  authorization { user: ${q(NATS_ROUTE_USER)} }`,
        ]
      : []),
    '}',
    '',
  ].join('\n');
}

/** The `tls` and `authorization` blocks of a nats-server configuration file. */
export function natsSecurityConfig(o: {
  certFile: string;
  keyFile: string;
  caFile: string;
  names?: NatsResourceNames;
  /** Users besides the services' (e.g. a producer of a source stream: `natsSourceProducer`), by certificate subject. */
  extraUsers?: ReadonlyArray<{ user: string; permissions: NatsPermissions }>;
}): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: string[]) => `[${xs.map(q).join(', ')}]`;
  const users = [...natsUsers(o.names), ...(o.extraUsers ?? [])]
    .map(({ user, permissions: p }) => {
      const pub = `publish: { allow: ${list(p.publish.allow)}${p.publish.deny ? `, deny: ${list(p.publish.deny)}` : ''} }`;
      return `    { user: ${q(user)}, permissions: { ${pub}, subscribe: { allow: ${list(p.subscribe.allow)} } } }`;
    })
    .join('\n');
  return [
    'tls {',
    `  cert_file: ${q(o.certFile)}`,
    `  key_file: ${q(o.keyFile)}`,
    `  ca_file: ${q(o.caFile)}`,
    '  verify_and_map: true',
    '}',
    'authorization {',
    '  users = [',
    users,
    '  ]',
    '}',
    '',
  ].join('\n');
}

/**
 * docs/nats-security.conf: natsSecurityConfig for an external NATS, then, commented out, the
 * `cluster` block each server of a JetStream cluster adds (natsReplicas > 1), for the first of
 * three servers `nats-0..2` of a headless Service `nats`.
 */
export function natsSecurityConfigDoc(files: { certFile: string; keyFile: string; caFile: string }, sourceStreams: readonly string[] = []): string {
  const cluster = natsClusterConfig({
    clusterName: 'rivulet',
    listen: '0.0.0.0:6222',
    routes: ['nats://nats-1.nats:6222', 'nats://nats-2.nats:6222'],
    tls: files,
  });
  return (
    natsSecurityConfig({ ...files, names: { ...DEFAULT_NATS_NAMES, sourceStreams } }) +
    [
      '',
      `# JetStream streams jobs may read with ctx.jetStream: ${sourceStreams.length > 0 ? sourceStreams.join(', ') : 'none'}. Reading a stream is granted`,
      '# per stream: regenerate with `node scripts/nats-security-conf.mjs CERT KEY CA --source-streams A,B`.',
      '',
      '# A JetStream cluster (natsReplicas 3 needs at least 3 servers): on each server, its own',
      '# server_name and the routes to the others (here: nats-0 of nats-0..2). Routes use mutual TLS,',
      `# and only a NATS server's own certificate may open one: its subject must be ${NATS_ROUTE_USER}`,
      '# (a service certificate from the same CA is refused: a route may use every subject).',
      '# server_name: "nats-0"',
      ...cluster.trimEnd().split('\n').map((l) => `# ${l}`),
      '',
    ].join('\n')
  );
}
