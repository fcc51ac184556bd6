/**
 * Service configuration: one zod schema per service, read from flags and
 * environment variables with a single naming rule so that docs, the CLI and the
 * Helm chart can't disagree:
 *
 *   option `blockInterval`  ⇔  flag `--block-interval 200ms`  ⇔  env `RIVULET_BLOCK_INTERVAL=200ms`
 *
 * Flags win over env, env over defaults. Only a service's main.ts calls
 * `loadConfig`; everything else receives the parsed, fully-resolved object.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseBytes, parseDuration } from './units.js';

export { parseBytes, parseDuration, formatDuration } from './units.js';

/** A duration option: accepts "200ms", "1s" or a number of milliseconds. */
export const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      try {
        return parseDuration(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });

/** A size option: accepts "64MiB", "4mb" or a number of bytes. */
export const bytes = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      try {
        return parseBytes(v);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    });

/** An integer option given as a string in env/flags. */
export const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);

/** A list option: comma separated in env/flags ("a,b"), or an array. */
export const list = (def: readonly string[] = []) =>
  z
    .union([z.string(), z.array(z.string())])
    .default([...def])
    .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((s) => s.trim()).filter((s) => s.length > 0));

export const bool = (def: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
    .default(def)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/** Options every service has. */
export const commonOptions = {
  /** NATS server(s), comma separated. */
  natsUrl: z.string().default('nats://127.0.0.1:4222'),
  /**
   * Copies of every JetStream stream, KV bucket and object store this service
   * creates (lib/nats/replicas.ts): 1 on a single nats-server, 3 on a 3-node
   * JetStream cluster. An existing one with fewer is raised at start; more than
   * the NATS cluster can place fails start-up.
   */
  natsReplicas: int(1, 1, 5),
  /** Interface the gRPC server binds to. */
  host: z.string().default('127.0.0.1'),
  /** gRPC port; 0 picks a free one. */
  port: int(0, 0, 65535),
  /** Address other processes use to reach this one (host:port); defaults to host:boundPort. */
  advertiseAddress: z.string().optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Largest gRPC message this service accepts or sends. */
  maxMessageBytes: bytes('16MiB'),
  /** Port of the Prometheus metrics endpoint (`/metrics`, docs/telemetry.md); 0 = no endpoint. */
  metricsPort: int(0, 0, 65535),
  /** Interface the metrics endpoint binds to; defaults to `host`. */
  metricsHost: z.string().optional(),
  /**
   * gRPC server reflection (lib/grpc/reflection.ts) on this service's port, for grpcurl and
   * Postman; who may use it is the access table's (any authenticated caller).
   */
  grpcReflection: bool(true),
  // Security (lib/security/, README "Security"). On unless `insecure`.
  /** Plaintext gRPC and no access control: the behaviour before security existed, for a trusted network only. */
  insecure: bool(false),
  /** PEM file of the cluster CA: every peer's certificate must chain to it. */
  tlsCaFile: z.string().optional(),
  /** PEM certificate of this service (subject O=rivulet-service, CN=<role>). */
  tlsCertFile: z.string().optional(),
  /** PEM private key of `tlsCertFile`. */
  tlsKeyFile: z.string().optional(),
  /** How often the certificate, key and CA files are re-read (rotation without a restart). */
  tlsReloadInterval: duration('30s'),
  /** File holding the bootstrap admin token (user `admin`, role `admin`). */
  adminTokenFile: z.string().optional(),
  /** OIDC issuer whose JWTs are accepted as bearer tokens (with oidcAudience and oidcJwksUrl). */
  oidcIssuer: z.string().optional(),
  oidcAudience: z.string().optional(),
  /** The issuer's key set (its discovery document's jwks_uri). */
  oidcJwksUrl: z.string().optional(),
  /** Claim naming the user. */
  oidcUserClaim: z.string().default('sub'),
  /** Claim holding the user's role (admin, submit, push, view). */
  oidcRoleClaim: z.string().default('rivulet_role'),
};

export const ENV_PREFIX = 'RIVULET_';

export function envName(option: string): string {
  return ENV_PREFIX + option.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function flagName(option: string): string {
  return '--' + option.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/**
 * Read `schema`'s options from argv flags and env. Unknown flags and invalid
 * values throw ConfigError naming the flag/env variable and the problem.
 */
export function loadConfig<S extends z.ZodObject<z.ZodRawShape>>(
  schema: S,
  argv: readonly string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const keys = Object.keys(schema.shape);
  const byFlag = new Map(keys.map((k) => [flagName(k), k]));
  const raw: Record<string, unknown> = {};
  for (const k of keys) {
    const v = env[envName(k)];
    if (v !== undefined && v !== '') raw[k] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const key = byFlag.get(flag);
    if (!key) {
      throw new ConfigError(`unknown option ${flag}; known options: ${[...byFlag.keys()].join(', ')}`);
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`option ${flag} needs a value`);
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return key ? `${flagName(key)} / ${envName(key)}: ${issue.message}` : issue.message;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
