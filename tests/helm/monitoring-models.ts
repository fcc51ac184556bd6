/**
 * The Prometheus Operator's PrometheusRule and ServiceMonitor are CRDs kubernetes-models does not
 * ship: checked here against the fields of monitoring.coreos.com/v1 the chart sets (types, required
 * fields and patterns of the operator's CRD schemas), so a typo in a template fails the chart tests
 * rather than a `kubectl apply`.
 */
import type { K8sObject } from './helpers.js';

const promDuration = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function failer(o: K8sObject) {
  return (what: string): never => {
    throw new Error(`${o.kind} ${o.metadata?.name}: ${what}`);
  };
}

function checkKnown(fail: (w: string) => never, where: string, obj: K8sObject, known: string[]): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) fail(`${where}.${k} is not a field of the CRD`);
}

function checkStringMap(fail: (w: string) => never, where: string, m: unknown): void {
  if (m === undefined) return;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(`${where} must be a map`);
  for (const [k, v] of Object.entries(m as object)) if (typeof v !== 'string') fail(`${where}.${k} must be a string`);
}

export function validatePrometheusRule(o: K8sObject): void {
  const fail = failer(o);
  if (typeof o.metadata?.name !== 'string') fail('metadata.name must be a string');
  checkKnown(fail, 'spec', o.spec ?? fail('no spec'), ['groups']);
  if (!Array.isArray(o.spec.groups)) fail('spec.groups must be a list');
  for (const [i, g] of (o.spec.groups as K8sObject[]).entries()) {
    checkKnown(fail, `spec.groups[${i}]`, g, ['name', 'interval', 'rules', 'partial_response_strategy', 'limit', 'query_offset', 'labels']);
    if (typeof g.name !== 'string' || !g.name) fail(`spec.groups[${i}].name is required`);
    if (g.interval !== undefined && !promDuration.test(String(g.interval))) fail(`spec.groups[${i}].interval is not a duration`);
    if (!Array.isArray(g.rules)) fail(`spec.groups[${i}].rules must be a list`);
    for (const [j, r] of (g.rules as K8sObject[]).entries()) {
      const at = `spec.groups[${i}].rules[${j}]`;
      checkKnown(fail, at, r, ['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
      if ((r.alert === undefined) === (r.record === undefined)) fail(`${at}: exactly one of alert and record`);
      if (typeof r.expr !== 'string' && typeof r.expr !== 'number') fail(`${at}.expr is required`);
      if (r.for !== undefined && !promDuration.test(String(r.for))) fail(`${at}.for is not a duration`);
      checkStringMap(fail, `${at}.labels`, r.labels);
      checkStringMap(fail, `${at}.annotations`, r.annotations);
      for (const k of Object.keys(r.labels ?? {})) if (!labelName.test(k)) fail(`${at}.labels: ${k} is not a label name`);
    }
  }
}

export function validateServiceMonitor(o: K8sObject): void {
  const fail = failer(o);
  if (typeof o.metadata?.name !== 'string') fail('metadata.name must be a string');
  const spec = (o.spec as K8sObject | undefined) ?? fail('no spec');
  checkKnown(fail, 'spec', spec, ['endpoints', 'selector', 'namespaceSelector', 'jobLabel', 'targetLabels', 'podTargetLabels', 'sampleLimit']);
  if (typeof spec.selector !== 'object' || spec.selector === null) fail('spec.selector is required');
  checkStringMap(fail, 'spec.selector.matchLabels', spec.selector.matchLabels);
  if (spec.namespaceSelector !== undefined) {
    checkKnown(fail, 'spec.namespaceSelector', spec.namespaceSelector, ['any', 'matchNames']);
  }
  if (!Array.isArray(spec.endpoints) || spec.endpoints.length === 0) fail('spec.endpoints must be a non-empty list');
  for (const [i, e] of (spec.endpoints as K8sObject[]).entries()) {
    const at = `spec.endpoints[${i}]`;
    checkKnown(fail, at, e, ['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'relabelings', 'metricRelabelings', 'honorLabels', 'tlsConfig']);
    if (typeof e.port !== 'string' && e.targetPort === undefined) fail(`${at}: port (a Service port name) or targetPort is required`);
    for (const k of ['interval', 'scrapeTimeout']) if (e[k] !== undefined && !promDuration.test(String(e[k]))) fail(`${at}.${k} is not a duration`);
    if (e.relabelings !== undefined && !Array.isArray(e.relabelings)) fail(`${at}.relabelings must be a list`);
  }
}
