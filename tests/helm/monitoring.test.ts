/**
 * The chart's monitoring objects, rendered: the Grafana dashboard ConfigMap (sidecar label, the
 * streaming tab's panels, every panel a Prometheus query), the PrometheusRule (valid for
 * `promtool check rules`, and right for `promtool test rules` with tests/helm/fixtures/prometheus/
 * rules.test.yaml: each alert fires on the series it should and not on the others), the
 * ServiceMonitor with its headless metrics Service reaching every Rivulet pod's metrics port, and
 * the refusals. Whether the expressions match what the services really export is
 * tests/helm/prometheus.test.ts's question (a live cluster, a real Prometheus).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseValues, chartCopy, find, render, renderError, repoRoot, RELEASE, type ChartCopy, type K8sObject } from './helpers.js';
import { dashboardOf, PROMTOOL, rulesOf } from '../helpers/prometheus.js';

const ON = { otel: { metricsPort: 9464 }, grafana: { dashboards: { enabled: true } }, prometheusRule: { enabled: true }, serviceMonitor: { enabled: true } };

function promtool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { cwd, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, out: stdout + stderr }),
    );
  });
}

describe('monitoring: dashboard, alerts, scraping', () => {
  let chart: ChartCopy;
  let objs: K8sObject[];
  const dir = mkdtempSync(join(tmpdir(), 'rivulet-promtool-'));
  beforeAll(async () => {
    chart = chartCopy();
    objs = await render(chart, { ...baseValues(), ...ON });
  });
  afterAll(() => {
    chart?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders none of it by default', async () => {
    const plain = await render(chart, baseValues());
    expect(plain.filter((o) => ['PrometheusRule', 'ServiceMonitor'].includes(o.kind) || o.metadata.name.endsWith('-dashboard') || o.metadata.name.endsWith('-metrics'))).toEqual([]);
  });

  it('ships the streaming tab as a dashboard for the Grafana sidecar', () => {
    const cm = find(objs, 'ConfigMap', `${RELEASE}-rivulet-dashboard`);
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = dashboardOf(objs);
    expect(dashboard.uid).toBe('rivulet-streaming');
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of ['Input rate', 'Scheduling delay', 'Processing time', 'Total delay', 'Task locality', 'Executors alive', 'Recoveries', 'Speculative tasks', 'Block-store use', 'JetStream lag']) {
      expect(titles).toContain(t);
    }
    for (const p of dashboard.panels) {
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.expr, p.title).toMatch(/rivulet_/);
      expect(p.datasource.uid).toBe('${datasource}');
    }
    // Panels do not overlap on the grid.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
    // The file in the chart is the one shipped (importable by hand).
    expect(cm.data['rivulet-streaming.json']).toBe(readFileSync(join(repoRoot, 'helm/rivulet/dashboards/rivulet-streaming.json'), 'utf8').replace(/\n$/, ''));
  });

  it('puts the dashboard in the sidecar’s namespace and folder when asked', async () => {
    const moved = await render(chart, { ...baseValues(), grafana: { dashboards: { enabled: true, namespace: 'monitoring', folder: 'Streams', label: 'dash', labelValue: 'yes' } } });
    const cm = find(moved, 'ConfigMap', `${RELEASE}-rivulet-dashboard`);
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.annotations.grafana_folder).toBe('Streams');
    expect(cm.metadata.labels.dash).toBe('yes');
  });

  it('alert rules pass promtool check rules and promtool test rules', async () => {
    writeFileSync(join(dir, 'rules.yaml'), JSON.stringify({ groups: rulesOf(objs).groups }));
    copyFileSync(join(repoRoot, 'tests/helm/fixtures/prometheus/rules.test.yaml'), join(dir, 'rules.test.yaml'));
    const check = await promtool(['check', 'rules', 'rules.yaml'], dir);
    expect(check.out).toContain('SUCCESS: 5 rules found');
    expect(check.code).toBe(0);
    const test = await promtool(['test', 'rules', 'rules.test.yaml'], dir);
    expect(test.out, test.out).toContain('SUCCESS');
    expect(test.code).toBe(0);
    // The test file is live: a rule with a different threshold fails it.
    writeFileSync(join(dir, 'rules.yaml'), JSON.stringify({ groups: rulesOf(objs).groups }).replace('> 0.9', '> 0.99'));
    const broken = await promtool(['test', 'rules', 'rules.test.yaml'], dir);
    expect(broken.out).toContain('RivuletBlockStoreNearFull');
    expect(broken.code).not.toBe(0);
  });

  it('takes the falling-behind threshold from config.batchInterval, and every alert can be turned off', async () => {
    const slow = await render(chart, { ...baseValues(), config: { batchInterval: '2s' }, prometheusRule: { enabled: true, noLeader: { enabled: false } } });
    const rules = rulesOf(slow).groups[0]!.rules;
    expect(rules.find((r) => r.alert === 'RivuletTotalDelayAboveBatchInterval')!.expr).toMatch(/> 2000$/);
    expect(rules.map((r) => r.alert)).not.toContain('RivuletNoLeaderScheduler');
    expect(rules.find((r) => r.alert === 'RivuletNoLeaderScheduler')).toBeUndefined();
  });

  it('scrapes every Rivulet pod’s metrics port through a headless Service', () => {
    const svc = find(objs, 'Service', `${RELEASE}-rivulet-metrics`);
    const sm = find(objs, 'ServiceMonitor', `${RELEASE}-rivulet`);
    expect(svc.spec.clusterIP).toBe('None');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) expect(svc.metadata.labels[k], k).toBe(v);
    expect(sm.spec.endpoints[0].port).toBe('metrics');
    expect(svc.spec.ports[0]).toMatchObject({ name: 'metrics', port: 9464, targetPort: 'metrics' });
    for (const c of ['receiver', 'scheduler', 'lineage', 'executor']) {
      const pod = find(objs, 'Deployment', `${RELEASE}-rivulet-${c}`).spec.template;
      for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) expect(pod.metadata.labels[k], `${c} ${k}`).toBe(v);
      expect(pod.spec.containers[0].ports.some((p: K8sObject) => p.name === 'metrics' && p.containerPort === 9464), c).toBe(true);
    }
  });

  it('refuses a ServiceMonitor without a metrics port', async () => {
    const err = await renderError(chart, { ...baseValues(), serviceMonitor: { enabled: true } });
    expect(err).toContain('serviceMonitor.enabled=true needs otel.metricsPort');
    const bad = await renderError(chart, { ...baseValues(), prometheusRule: { enabled: true, totalDelay: { for: 'five minutes' } } });
    expect(bad).toMatch(/prometheusRule\.totalDelay\.for/);
  });
});
