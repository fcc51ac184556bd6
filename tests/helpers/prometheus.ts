/**
 * A real Prometheus for the monitoring tests: Debian's `prometheus` (2.42, with `promtool`;
 * .ci/run installs it) started on a free loopback port in a temp dir, scraping the targets it is
 * given every `scrapeInterval` and evaluating the rule files it is given, through the process
 * supervisor every service uses (lib/process/supervise.ts). Also: the chart's dashboard and rules
 * as rendered, and a dashboard query turned into the PromQL Grafana would send.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildStartError } from '../../lib/process/errors.js';
import { freePort } from '../../lib/process/ports.js';
import { supervise, type Supervised } from '../../lib/process/supervise.js';

export const PROMETHEUS = process.env.RIVULET_PROMETHEUS_BIN || '/usr/bin/prometheus';
export const PROMTOOL = process.env.RIVULET_PROMTOOL_BIN || '/usr/bin/promtool';
const INSTALL_HINT = 'install Prometheus with `apt-get install -y prometheus` (.ci/run does), or set RIVULET_PROMETHEUS_BIN / RIVULET_PROMTOOL_BIN';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered Kubernetes objects, read structurally
type Obj = Record<string, any>;

export interface DashboardPanel {
  title: string;
  datasource: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ expr: string; legendFormat?: string }>;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating: { list: Array<{ name: string; allValue?: string }> };
}

export interface RuleGroup {
  name: string;
  rules: Array<{ alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }>;
}

/** The dashboard JSON from the chart's rendered ConfigMap. */
export function dashboardOf(objs: Obj[]): Dashboard {
  const cm = objs.find((o) => o.kind === 'ConfigMap' && typeof o.data?.['rivulet-streaming.json'] === 'string');
  if (!cm) throw new Error('no dashboard ConfigMap rendered (grafana.dashboards.enabled)');
  return JSON.parse(cm.data['rivulet-streaming.json'] as string) as Dashboard;
}

/** The rule groups of the chart's rendered PrometheusRule (a Prometheus rule file's content). */
export function rulesOf(objs: Obj[]): { groups: RuleGroup[] } {
  const rule = objs.find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new Error('no PrometheusRule rendered (prometheusRule.enabled)');
  return { groups: rule.spec.groups as RuleGroup[] };
}

/**
 * A panel's query as Grafana sends it: template variables replaced the way Grafana does —
 * a multi-value variable set to All by its `allValue`, `$__rate_interval` by a window that holds
 * several scrapes. Throws on a variable it does not know, so a new one cannot slip through.
 */
export function grafanaQuery(expr: string, dashboard: Dashboard, rateInterval: string): string {
  const vars = new Map<string, string>([['__rate_interval', rateInterval]]);
  for (const v of dashboard.templating.list) if (v.allValue !== undefined) vars.set(v.name, v.allValue);
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    const value = vars.get(name);
    if (value === undefined) throw new Error(`unknown dashboard variable ${whole} in ${expr}`);
    return value;
  });
}

export interface ScrapeTarget {
  address: string;
  /** Labels the target's series get, as a ServiceMonitor's would (namespace, pod, service). */
  labels: Record<string, string>;
}

export interface RunningPrometheus {
  url: string;
  proc: Supervised<true>;
  /** An instant query; resolves with the result vector (rejects on a PromQL error). */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  /** Active alerts (pending or firing). */
  alerts(): Promise<Array<{ labels: Record<string, string>; state: string }>>;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: { targets: ScrapeTarget[]; rules?: { groups: RuleGroup[] }; scrapeInterval?: string }): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-prometheus-'));
  const interval = opts.scrapeInterval ?? '1s';
  const ruleFiles: string[] = [];
  if (opts.rules) {
    writeFileSync(join(dir, 'rules.yaml'), JSON.stringify(opts.rules));
    ruleFiles.push(join(dir, 'rules.yaml'));
  }
  // JSON is YAML.
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: ruleFiles,
    scrape_configs: [{ job_name: 'rivulet', static_configs: opts.targets.map((t) => ({ targets: [t.address], labels: t.labels })) }],
  };
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc: Supervised<true>;
  try {
    proc = await supervise({
      name: 'prometheus',
      command: PROMETHEUS,
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      readyTimeoutMs: 30_000,
      pollMs: 100,
      ready: async () => {
        try {
          return (await fetch(`${url}/-/ready`)).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const missing = e instanceof ChildStartError && e.details.reason === 'spawn-failed';
    throw new Error(`cannot start ${PROMETHEUS}: ${(e as Error).message}${missing ? `; ${INSTALL_HINT}` : ''}`, { cause: e });
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  return {
    url,
    proc,
    query: async (expr) => (await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    alerts: async () => (await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>('/api/v1/alerts')).alerts,
    stop: async () => {
      await proc.stop(5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
