/**
 * The Helm chart's bundled NATS gets its users from this module, so the chart
 * and `natsSecurityConfig` cannot drift: scripts/gen-chart-nats.mjs writes
 * `chartNatsPermissions()` to helm/rivulet/files/nats-permissions.json, the
 * chart's `rivulet.nats.authorization` helper renders it with the release's
 * bucket, stream and subject names, and tests/helm checks both that the file
 * is current and that the rendered block equals natsSecurityConfig's output
 * for the same names.
 *
 * The permissions are natsPermissions() computed once with placeholders for
 * the names (`@jobsBucket@`, …). A list-valued name (sourceStreams,
 * sinkSubjects) is computed with one placeholder element: the subjects it
 * produces form a group the chart repeats once per element, in the list's
 * order — exactly what natsPermissions' spread / flatMap of the list gives.
 * The token bucket is no service option (every service uses the default), so
 * it is written in as it is.
 */
import { SERVICE_ORGANIZATION, SERVICE_ROLES } from './identity.js';
import { DEFAULT_NATS_NAMES, natsPermissions, natsUsers, type NatsPermissions, type NatsResourceNames } from './nats-permissions.js';

/** Single-valued names: each placeholder is replaced by the release's value. */
const SCALAR_NAMES = ['jobsBucket', 'outputsStream', 'checkpointBucket', 'lineageBucket', 'walBucket', 'sinkStream'] as const;
/** List-valued names: each group of subjects holding the placeholder is repeated per element. */
const LIST_NAMES = ['sourceStreams', 'sinkSubjects'] as const;

export const placeholder = (name: string): string => `@${name}@`;

/** One entry of an allow list: a subject, or subjects repeated per element of a list-valued name. */
export type ChartSubject = string | { each: (typeof LIST_NAMES)[number]; subjects: string[] };

export interface ChartNatsUser {
  user: string;
  publish: ChartSubject[];
  publishDeny?: ChartSubject[];
  subscribe: ChartSubject[];
}

export interface ChartNatsPermissions {
  /** Placeholders the chart replaces, by name. */
  scalars: Record<(typeof SCALAR_NAMES)[number], string>;
  lists: Record<(typeof LIST_NAMES)[number], string>;
  /** The services' users, in natsUsers' order (both spellings of each role's subject). */
  users: ChartNatsUser[];
  /**
   * The route user of the chart's NATS servers: the subject of the certificate the chart issues
   * them (Helm's genSignedCert and the chart's cert-manager Certificate set a CN only).
   */
  routeUser: string;
}

/** The CN of the NATS servers' certificate (lib/security/local-security.ts issues it with O=rivulet). */
export const NATS_SERVER_COMMON_NAME = 'nats-server';

function group(subjects: readonly string[]): ChartSubject[] {
  const out: ChartSubject[] = [];
  for (const s of subjects) {
    const list = LIST_NAMES.find((n) => s.includes(placeholder(n)));
    const last = out.at(-1);
    if (list === undefined) out.push(s);
    else if (typeof last === 'object' && last.each === list) last.subjects.push(s);
    else out.push({ each: list, subjects: [s] });
  }
  return out;
}

/** Expand a chart allow list with real names: what the chart's template does, for the self-check below. */
export function expandChartSubjects(entries: readonly ChartSubject[], names: Omit<Required<NatsResourceNames>, 'tokenBucket'>): string[] {
  const scalars = (s: string) => SCALAR_NAMES.reduce((acc, n) => acc.split(placeholder(n)).join(names[n]), s);
  return entries.flatMap((e) =>
    typeof e === 'string' ? [scalars(e)] : names[e.each].flatMap((value) => e.subjects.map((s) => scalars(s.split(placeholder(e.each)).join(value)))),
  );
}

export function chartNatsPermissions(): ChartNatsPermissions {
  const names = {
    ...Object.fromEntries(SCALAR_NAMES.map((n) => [n, placeholder(n)])),
    ...Object.fromEntries(LIST_NAMES.map((n) => [n, [placeholder(n)]])),
    tokenBucket: DEFAULT_NATS_NAMES.tokenBucket,
  } as unknown as Required<NatsResourceNames>;
  const perms = natsPermissions(names);
  const toChart = (user: string, p: NatsPermissions): ChartNatsUser => ({
    user,
    publish: group(p.publish.allow),
    ...(p.publish.deny ? { publishDeny: group(p.publish.deny) } : {}),
    subscribe: group(p.subscribe.allow),
  });
  const users = SERVICE_ROLES.flatMap((role) => [toChart(`CN=${role},O=${SERVICE_ORGANIZATION}`, perms[role]), toChart(`CN=${role}`, perms[role])]);
  const result: ChartNatsPermissions = {
    scalars: Object.fromEntries(SCALAR_NAMES.map((n) => [n, placeholder(n)])) as ChartNatsPermissions['scalars'],
    lists: Object.fromEntries(LIST_NAMES.map((n) => [n, placeholder(n)])) as ChartNatsPermissions['lists'],
    users,
    routeUser: `CN=${NATS_SERVER_COMMON_NAME}`,
  };
  selfCheck(result);
  return result;
}

/**
 * The grouping is only right when natsPermissions repeats each list's subjects per element in one
 * contiguous run; expand with two-element lists and compare, so a change that breaks it fails here
 * (at generation) rather than in a NATS server.
 */
function selfCheck(chart: ChartNatsPermissions): void {
  const names: Required<NatsResourceNames> = {
    jobsBucket: 'J',
    outputsStream: 'O',
    checkpointBucket: 'C',
    lineageBucket: 'L',
    walBucket: 'W',
    tokenBucket: DEFAULT_NATS_NAMES.tokenBucket,
    sinkStream: 'S',
    sinkSubjects: ['s1.>', 's2.*'],
    sourceStreams: ['A', 'B'],
  };
  const expected = natsUsers(names);
  const expand = (e: readonly ChartSubject[] | undefined) => (e ? expandChartSubjects(e, names) : undefined);
  const got = chart.users.map((u) => ({
    user: u.user,
    permissions: {
      publish: { allow: expand(u.publish)!, ...(u.publishDeny ? { deny: expand(u.publishDeny) } : {}) },
      subscribe: { allow: expand(u.subscribe)! },
    },
  }));
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new Error('chartNatsPermissions: the placeholder form does not expand to natsPermissions (a list-valued name is no longer one contiguous run per element)');
  }
}

/** Where the chart reads it, relative to the repository root. */
export const CHART_NATS_PERMISSIONS_FILE = 'helm/rivulet/files/nats-permissions.json';

/** The file's exact text (scripts/gen-chart-nats.mjs writes it; tests/helm checks it is current). */
export function chartNatsPermissionsFile(): string {
  const doc = {
    '//': 'Generated by `npm run gen:chart-nats` (scripts/gen-chart-nats.mjs) from lib/security/nats-permissions.ts; do not edit. Rendered by the rivulet.nats.authorization helper.',
    ...chartNatsPermissions(),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
