/**
 * A real NATS cluster on loopback: N nats-server processes (3 by default),
 * each with JetStream and its own store directory, routed to each other, for
 * the tests, benchmarks and `rivulet up` clusters that must survive the loss
 * of a NATS server (natsReplicas, lib/nats/replicas.ts). Each server is
 * started through nats-server.ts; what this module adds is the cluster:
 *
 * - route ports are needed before the servers start (each lists the others'):
 *   probed free, and a server whose route port was taken in between is started
 *   again on a fresh one (the others learn it by gossip: every server solicits
 *   routes to the others, and a route in either direction is enough);
 * - the cluster is ready when every running server is routed to every other
 *   one (/routez) and all agree on a JetStream meta leader with the full
 *   cluster size (/jsz), read from each server's monitoring port on 127.0.0.1
 *   — never after a guessed sleep;
 * - chaos: `kill(i)` is a SIGKILL keeping the server's store, `restart(i)`
 *   starts it again on the same client and route ports and the same store and
 *   waits until it is routed again and agrees on the meta leader;
 * - `streamsSettled()` says when every JetStream stream has a leader and
 *   every replica on a running server is current: the moment a further kill
 *   cannot cost a stream its quorum.
 *
 * Configuration (the `cluster {}` block, TLS, users) is the caller's: it is
 * handed each server's name and route addresses and returns a configuration
 * file (lib/security/local-security.ts natsClusterConfigFile). This module
 * never decides security.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAddressInUse } from './errors.js';
import { startNatsServer, type NatsServerHandle } from './nats-server.js';
import { freePort, retryWhileAddressInUse } from './ports.js';

/** What the caller's configuration file for one server must hold. */
export interface NatsClusterNodeConfig {
  serverName: string;
  clusterName: string;
  /** `127.0.0.1:<port>` of this server's route listener. */
  listen: string;
  /** `nats://127.0.0.1:<port>` of every other server's route listener. */
  routes: string[];
}

export interface NatsClusterOptions {
  /** Servers. @default 3 */
  size?: number;
  /** The cluster's name. @default "rivulet" */
  name?: string;
  /** Each server's store is `<storeRoot>/<server name>`. */
  storeRoot: string;
  /** Remove `storeRoot` on stop(). @default false */
  removeStoreOnStop?: boolean;
  /** Each server's output goes to `<logDir>/<server name>.log` (e.g. `nats-1.log`) instead of a pipe. */
  logDir?: string;
  /** @default false */
  detached?: boolean;
  /** Per server start, and for the whole cluster to be routed with a meta leader. @default 20000 */
  startTimeoutMs?: number;
  /** Write the configuration file of one server; returns its path. */
  configFile(node: NatsClusterNodeConfig): string;
  /** The configuration requires TLS: client URLs are `tls://…`. */
  tls?: boolean;
}

export interface NatsClusterServer {
  readonly name: string;
  /** Client URL (`tls://` or `nats://127.0.0.1:<port>`). */
  readonly url: string;
  readonly port: number;
  readonly routePort: number;
  readonly storeDir: string;
  /** The current process's pid (changes with restart); undefined while killed. */
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly monitorUrl: string | undefined;
}

export interface NatsClusterHandle {
  /** Every server's client URL, comma separated: what services are given (the client fails over between them). */
  readonly url: string;
  readonly servers: readonly NatsClusterServer[];
  /** SIGKILL server `i` (0-based) and wait for it to exit; its store is kept. */
  kill(i: number): Promise<void>;
  /** Start server `i` again (same ports, same store) and wait until it is routed to every running server and agrees on the meta leader. */
  restart(i: number): Promise<void>;
  /** Wait until every running server is routed to every other running one and all name the same JetStream meta leader. */
  waitUntilRouted(timeoutMs?: number): Promise<void>;
  /** Every stream has a leader and every replica of it on a running server is current (see the module comment). */
  streamsSettled(): Promise<{ settled: boolean; detail: string }>;
  /** Each JetStream stream as the running servers report it: its configured replicas and its leader (absent while electing). */
  streams(): Promise<Map<string, { replicas: number; leader?: string }>>;
  /** The JetStream meta leader's server name, as the first running server sees it (undefined while electing). */
  metaLeader(): Promise<string | undefined>;
  /** Stop every running server (SIGTERM, SIGKILL after `graceMs`). Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Pids of running servers, for state files and displays. */
  processes(): Array<{ name: string; pid: number; url: string; logFile?: string }>;
}

interface JszStream {
  name: string;
  config?: { num_replicas?: number };
  /** `replicas` lists the peers other than the reporting server; only the leader's view of their currency means anything. */
  cluster?: { leader?: string; replicas?: Array<{ name: string; current: boolean; offline?: boolean }> };
}
interface Jsz {
  meta_cluster?: { leader?: string; cluster_size?: number };
  account_details?: Array<{ stream_detail?: JszStream[] }>;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Start `size` routed nats-servers with JetStream and wait until they form one cluster with a meta leader. */
export async function startNatsCluster(opts: NatsClusterOptions): Promise<NatsClusterHandle> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 2 || size > 9) throw new Error(`a NATS cluster has 2-9 servers (got ${size})`);
  const clusterName = opts.name ?? 'rivulet';
  const startTimeoutMs = opts.startTimeoutMs ?? 20_000;
  const names = Array.from({ length: size }, (_, i) => `nats-${i + 1}`);
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    let p = await freePort();
    while (routePorts.includes(p)) p = await freePort();
    routePorts.push(p);
  }
  const handles: Array<NatsServerHandle | undefined> = new Array<NatsServerHandle | undefined>(size);
  const clientPorts: number[] = new Array<number>(size).fill(0);
  let stopped = false;

  const storeOf = (i: number) => join(opts.storeRoot, names[i]!);
  const logOf = (i: number) => (opts.logDir ? join(opts.logDir, `${names[i]}.log`) : undefined);
  const launch = (i: number) => {
    mkdirSync(storeOf(i), { recursive: true });
    const configFile = opts.configFile({
      serverName: names[i]!,
      clusterName,
      listen: `127.0.0.1:${routePorts[i]}`,
      routes: routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`),
    });
    return startNatsServer({
      configFile,
      tls: opts.tls,
      serverName: names[i],
      // A restart keeps its client port: clients know the servers by URL.
      port: clientPorts[i] || undefined,
      storeDir: storeOf(i),
      removeStoreOnStop: false,
      logFile: logOf(i),
      detached: opts.detached,
      startTimeoutMs,
      monitorPort: -1,
    });
  };

  const running = () => handles.map((h, i) => ({ h, i })).filter((x): x is { h: NatsServerHandle; i: number } => !!x.h);

  async function routedAndLed(): Promise<string | undefined> {
    const up = running();
    const leaders = new Set<string>();
    for (const { h } of up) {
      const routez = await getJson<{ num_routes?: number }>(`${h.monitorUrl}/routez`);
      if ((routez.num_routes ?? 0) < up.length - 1) return `${h.url} has ${routez.num_routes ?? 0} of ${up.length - 1} routes`;
      const jsz = await getJson<Jsz>(`${h.monitorUrl}/jsz`);
      const meta = jsz.meta_cluster;
      if (!meta?.leader) return `${h.url} knows no JetStream meta leader`;
      if ((meta.cluster_size ?? 0) < size) return `${h.url} sees a JetStream cluster of ${meta.cluster_size ?? 0} of ${size}`;
      leaders.add(meta.leader);
    }
    return leaders.size === 1 ? undefined : `the servers disagree on the meta leader (${[...leaders].join(', ')})`;
  }

  async function waitUntilRouted(timeoutMs = startTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let why: string | undefined;
    for (;;) {
      try {
        why = await routedAndLed();
      } catch (e) {
        why = (e as Error).message;
      }
      if (why === undefined) return;
      if (Date.now() > deadline) throw new Error(`the NATS cluster did not form within ${timeoutMs} ms: ${why}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function streams(): Promise<Array<{ server: string; streams: JszStream[] }>> {
    const out: Array<{ server: string; streams: JszStream[] }> = [];
    for (const { h, i } of running()) {
      const jsz = await getJson<Jsz>(`${h.monitorUrl}/jsz?streams=true&config=true`);
      out.push({ server: names[i]!, streams: (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []) });
    }
    return out;
  }

  const stopAll = async (graceMs?: number) => {
    for (const { h, i } of running().reverse()) {
      await h.stop(graceMs).catch(() => undefined);
      handles[i] = undefined;
    }
  };

  try {
    // Together: JetStream elects its meta leader only once a quorum of servers is up.
    await Promise.all(
      names.map(async (_, i) => {
        for (let attempt = 1; ; attempt++) {
          try {
            handles[i] = await launch(i);
            clientPorts[i] = handles[i]!.port;
            return;
          } catch (e) {
            // The probed route port was taken in between: another one (the others find it by gossip).
            if (!isAddressInUse(e) || attempt >= 5) throw e;
            routePorts[i] = await freePort();
          }
        }
      }),
    );
    await waitUntilRouted();
  } catch (e) {
    await stopAll(1000);
    throw e;
  }

  const server = (i: number): NatsClusterServer => ({
    name: names[i]!,
    get url() {
      return `${opts.tls ? 'tls' : 'nats'}://127.0.0.1:${clientPorts[i]}`;
    },
    get port() {
      return clientPorts[i]!;
    },
    get routePort() {
      return routePorts[i]!;
    },
    storeDir: storeOf(i),
    get pid() {
      return handles[i]?.pid;
    },
    get running() {
      return !!handles[i];
    },
    get monitorUrl() {
      return handles[i]?.monitorUrl;
    },
  });
  const servers = names.map((_, i) => server(i));
  const check = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= size) throw new Error(`no NATS server ${i} in a cluster of ${size}`);
  };

  return {
    url: servers.map((s) => s.url).join(','),
    servers,
    kill: async (i) => {
      check(i);
      const h = handles[i];
      if (!h) return;
      await h.kill();
      handles[i] = undefined;
    },
    restart: async (i) => {
      check(i);
      if (stopped) throw new Error('the NATS cluster is stopped');
      await handles[i]?.kill();
      // Right after a SIGKILL its ports may not be free yet.
      handles[i] = await retryWhileAddressInUse(() => launch(i), { timeoutMs: startTimeoutMs });
      await waitUntilRouted();
    },
    waitUntilRouted,
    streamsSettled: async () => {
      const seen = await streams();
      const up = new Set(running().map(({ i }) => names[i]!));
      const all = new Set(seen.flatMap((x) => x.streams.map((st) => st.name)));
      for (const name of all) {
        const views = seen.flatMap(({ server: s, streams: list }) => list.filter((st) => st.name === name).map((st) => ({ server: s, st })));
        const leader = views.find((v) => v.st.cluster?.leader)?.st.cluster?.leader;
        if (views.every((v) => !v.st.cluster)) continue; // R1 on one server: nothing elected, nothing to copy
        if (!leader) return { settled: false, detail: `stream ${name} has no leader` };
        const own = views.find((v) => v.server === leader);
        if (!own) return { settled: false, detail: `stream ${name}'s leader ${leader} does not report it yet` };
        const lagging = (own.st.cluster?.replicas ?? []).filter((r) => up.has(r.name) && (!r.current || r.offline));
        if (lagging.length > 0) return { settled: false, detail: `stream ${name}: the replica on ${lagging.map((r) => r.name).join(', ')} is not current` };
      }
      return { settled: true, detail: `${all.size} streams settled` };
    },
    streams: async () => {
      const out = new Map<string, { replicas: number; leader?: string }>();
      for (const { streams: list } of await streams()) {
        for (const st of list) {
          const known = out.get(st.name);
          const leader = st.cluster?.leader ?? known?.leader;
          out.set(st.name, { replicas: st.config?.num_replicas ?? known?.replicas ?? 1, ...(leader ? { leader } : {}) });
        }
      }
      return out;
    },
    metaLeader: async () => {
      const first = running()[0];
      if (!first) return undefined;
      return (await getJson<Jsz>(`${first.h.monitorUrl}/jsz`)).meta_cluster?.leader;
    },
    stop: async (graceMs) => {
      stopped = true;
      await stopAll(graceMs);
      if (opts.removeStoreOnStop) rmSync(opts.storeRoot, { recursive: true, force: true });
    },
    processes: () => running().map(({ h, i }) => ({ name: names[i]!, pid: h.pid, url: servers[i]!.url, logFile: logOf(i) })),
  };
}
