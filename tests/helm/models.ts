/**
 * Every kind the chart may render, with what validates it: kubernetes-models' OpenAPI schemas for
 * Kubernetes' own kinds, and structural checks of the CRD fields the chart sets for cert-manager's
 * Certificate and the Prometheus Operator's PrometheusRule and ServiceMonitor (monitoring-models.ts).
 * Shared by the chart tests; a kind missing here fails validation.
 */
import { isIP } from 'node:net';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import type { K8sObject } from './helpers.js';
import { validatePrometheusRule, validateServiceMonitor } from './monitoring-models.js';

// Every kind the chart may render, with the model that validates it. A kind missing here fails
// the validation test, so a new template cannot slip through unvalidated.
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment as never,
  'apps/v1/StatefulSet': StatefulSet as never,
  'v1/Service': Service as never,
  'v1/ConfigMap': ConfigMap as never,
  'v1/ServiceAccount': ServiceAccount as never,
  'v1/Pod': Pod as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler as never,
  'v1/Secret': Secret as never,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy as never,
  'cert-manager.io/v1/Certificate': class {
    constructor(private readonly obj: K8sObject) {}
    validate(): void {
      validateCertificate(this.obj);
    }
  } as never,
  'monitoring.coreos.com/v1/PrometheusRule': class {
    constructor(private readonly obj: K8sObject) {}
    validate(): void {
      validatePrometheusRule(this.obj);
    }
  } as never,
  'monitoring.coreos.com/v1/ServiceMonitor': class {
    constructor(private readonly obj: K8sObject) {}
    validate(): void {
      validateServiceMonitor(this.obj);
    }
  } as never,
};

/**
 * cert-manager's Certificate is a CRD kubernetes-models does not ship: checked here against the
 * fields of cert-manager.io/v1 the chart uses (types, required fields and enums of its CRD schema).
 */
function validateCertificate(c: K8sObject): void {
  const fail = (what: string) => {
    throw new Error(`Certificate ${c.metadata?.name}: ${what}`);
  };
  const goDuration = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;
  if (typeof c.metadata?.name !== 'string') fail('metadata.name must be a string');
  const spec = c.spec as K8sObject | undefined;
  if (!spec) return fail('no spec');
  const known = ['secretName', 'secretTemplate', 'commonName', 'dnsNames', 'ipAddresses', 'usages', 'duration', 'renewBefore', 'privateKey', 'issuerRef'];
  for (const k of Object.keys(spec)) if (!known.includes(k)) fail(`spec.${k} is not a field the chart should set`);
  if (typeof spec.secretName !== 'string' || !spec.secretName) fail('spec.secretName is required');
  if (typeof spec.issuerRef?.name !== 'string' || !spec.issuerRef.name) fail('spec.issuerRef.name is required');
  if (spec.commonName !== undefined && (typeof spec.commonName !== 'string' || spec.commonName.length > 64)) fail('spec.commonName must be a string of at most 64 characters');
  if (spec.dnsNames !== undefined && !(Array.isArray(spec.dnsNames) && spec.dnsNames.every((d: unknown) => typeof d === 'string'))) fail('spec.dnsNames must be strings');
  if (spec.ipAddresses !== undefined && !(Array.isArray(spec.ipAddresses) && spec.ipAddresses.every((d: unknown) => typeof d === 'string' && isIP(d) !== 0))) fail('spec.ipAddresses must be IP addresses');
  const usages = ['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc'];
  for (const u of spec.usages ?? []) if (!usages.includes(u)) fail(`spec.usages: unknown usage ${JSON.stringify(u)}`);
  for (const k of ['duration', 'renewBefore']) if (spec[k] !== undefined && !goDuration.test(String(spec[k]))) fail(`spec.${k} is not a Go duration`);
  const pk = spec.privateKey as K8sObject | undefined;
  if (pk) {
    if (!['RSA', 'ECDSA', 'Ed25519'].includes(pk.algorithm)) fail(`spec.privateKey.algorithm ${pk.algorithm}`);
    if (!Number.isInteger(pk.size)) fail('spec.privateKey.size must be an integer');
    if (pk.rotationPolicy !== undefined && !['Never', 'Always'].includes(pk.rotationPolicy)) fail(`spec.privateKey.rotationPolicy ${pk.rotationPolicy}`);
  }
}

export function validateAll(objs: K8sObject[]): void {
  for (const obj of objs) {
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) throw new Error(`no kubernetes-models validator for ${obj.apiVersion} ${obj.kind}`);
    try {
      new Model(obj as never).validate();
    } catch (e) {
      throw new Error(`${obj.kind}/${obj.metadata?.name} is not a valid ${obj.apiVersion} ${obj.kind}: ${(e as Error).message}`, { cause: e });
    }
  }
}
