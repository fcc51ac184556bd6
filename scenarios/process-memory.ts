/**
 * Memory of a local cluster's service processes over time, for the runs that
 * must show it flat (bench/soak.ts, bench/overload.ts, tests/chaos/overload.test.ts):
 * each service's resident set size read from /proc (Linux), sampled
 * periodically, and the flatness check of issue 11 — a service's RSS over
 * the last window within a tolerance of its RSS over the window right after
 * warm-up (rssFlatness says how they are compared). In scenarios/ so both benchmarks and tests may use it; it
 * imports product code only.
 */
import { readFileSync } from 'node:fs';
import type { LocalCluster } from '../lib/cluster/local-cluster.js';

export interface ServiceRef {
  name: string;
  pid: number;
}

/** Resident set size of a process in MiB (VmRSS), or NaN when it cannot be read (gone, or not Linux). */
export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms; Linux). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Every Rivulet service of the cluster (not nats-server), as it runs now: scheduler, receiver, lineage, each executor. */
export function clusterServices(cluster: Pick<LocalCluster, 'scheduler' | 'receiver' | 'lineage' | 'executors'>): ServiceRef[] {
  return [
    { name: 'scheduler', pid: cluster.scheduler.pid },
    { name: 'receiver', pid: cluster.receiver.pid },
    { name: 'lineage', pid: cluster.lineage.pid },
    ...cluster.executors.map((e) => ({ name: e.name, pid: e.pid })),
  ];
}

export interface RssSample {
  atMs: number;
  /** Service name → RSS in MiB (NaN: unreadable). */
  mb: Record<string, number>;
}

/**
 * Sample every service's RSS every `everyMs` (the services asked for anew
 * each time, so a restarted one is followed by name). Timer-driven and
 * synchronous (a /proc read), so it runs however busy the cluster is.
 */
export function sampleRss(services: () => ServiceRef[], everyMs = 1000): { samples: RssSample[]; stop(): void } {
  const samples: RssSample[] = [];
  const take = () => samples.push({ atMs: Date.now(), mb: Object.fromEntries(services().map((s) => [s.name, rssMB(s.pid)])) });
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
    },
  };
}

export interface RssWindow {
  /** Mean RSS (MiB) over the window. */
  meanMB: number;
  /** Highest RSS (MiB) sampled in the window. */
  peakMB: number;
}

export interface RssFlatness {
  service: string;
  /** The window of `windowMs` right after warm-up. */
  early: RssWindow;
  /** The last `windowMs` of the samples. */
  late: RssWindow;
  /** (late peak − early peak) / early peak. */
  change: number;
  /** change ≤ the tolerance (and both windows sampled): it did not grow. */
  flat: boolean;
}

/**
 * Issue 11's criterion, per service: RSS over the last `windowMs` of the
 * samples within `tolerance` (0.15 = 15%) of RSS over the `windowMs` after
 * `warmupEndMs`, compared by each window's peak. Peaks, not means: a
 * service's RSS is a sawtooth of V8 garbage collections (a major GC hands
 * pages back and drops RSS by 20-30%, which then regrows to the same level),
 * and whether a window's mean catches a trough depends on when the GCs fall;
 * its peak — the high-water mark a leak raises, and what a memory limit
 * meets — does not. Means are reported alongside. One-sided: what the
 * criterion guards against is growth (a leak, an unbounded buffer); a
 * service whose peak fell — an executor handing back the pages of a
 * start-up burst after a GC — is flat in that sense, and is reported as is.
 */
export function rssFlatness(samples: readonly RssSample[], o: { warmupEndMs: number; windowMs: number; tolerance: number }): RssFlatness[] {
  const endMs = samples.at(-1)?.atMs ?? 0;
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.mb)))];
  const window = (service: string, from: number, to: number): RssWindow => {
    const xs = samples.filter((s) => s.atMs >= from && s.atMs <= to).map((s) => s.mb[service] ?? NaN).filter((v) => Number.isFinite(v));
    return xs.length === 0 ? { meanMB: NaN, peakMB: NaN } : { meanMB: xs.reduce((a, b) => a + b, 0) / xs.length, peakMB: Math.max(...xs) };
  };
  return names.map((service) => {
    const early = window(service, o.warmupEndMs, o.warmupEndMs + o.windowMs);
    const late = window(service, endMs - o.windowMs, endMs);
    const change = (late.peakMB - early.peakMB) / early.peakMB;
    return { service, early, late, change, flat: Number.isFinite(change) && change <= o.tolerance };
  });
}

/** One line per service: `receiver  peak 142.1 → 145.3 MiB (+2.3%; mean 131.0 → 133.9) flat`. */
export function formatRssFlatness(rows: readonly RssFlatness[], tolerance: number): string[] {
  const width = Math.max(...rows.map((r) => r.service.length));
  return rows.map(
    (r) =>
      `${r.service.padEnd(width)}  peak ${r.early.peakMB.toFixed(1)} → ${r.late.peakMB.toFixed(1)} MiB (${r.change >= 0 ? '+' : ''}${(100 * r.change).toFixed(1)}%; ` +
      `mean ${r.early.meanMB.toFixed(1)} → ${r.late.meanMB.toFixed(1)})  ${r.flat ? 'flat' : `NOT FLAT (grew beyond +${Math.round(100 * tolerance)}%)`}`,
  );
}
