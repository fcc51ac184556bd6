/**
 * The chart's bundled NATS (templates/nats.yaml) run by real nats-servers on loopback, from the
 * configuration and Secrets as rendered. Only what a cluster provides and loopback cannot is
 * replaced: $SERVER_NAME (the pod name), the volume at /data (the launcher gives each server a store
 * directory), the pid file path, the routes' per-pod DNS names (loopback ports: the servers'
 * certificate carries 127.0.0.1 for `kubectl port-forward`, so route TLS is still verified), and the
 * mount path of the servers' TLS Secret (a local directory with the Secret's files, as the kubelet
 * writes them). The services' certificates are written out per role for the tests' clients.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNatsCluster, type NatsClusterHandle } from '../../lib/process/nats-cluster.js';
import type { ServiceRole } from '../../lib/security/identity.js';
import { RELEASE, componentName, find, materialiseVolumes, secretValue, type K8sObject } from './helpers.js';

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface RenderedNats {
  cluster: NatsClusterHandle;
  /** The rendered nats.conf (before any local rewriting). */
  conf: string;
  /** Each server's log: `<logDir>/<server name>.log`. */
  log(i: number): string;
  logDir: string;
  /** The servers' own TLS files (the rendered <release>-nats-tls Secret), when security is on. */
  serverTls?: TlsFiles;
  /** A service role's certificate, key and CA (its rendered Secret), when security is on. */
  roleTls(role: ServiceRole): TlsFiles;
  /** The configuration one server ran with, for a further server built from it. */
  localConf(node: { serverName: string; listen: string; routes: string[] }, pidFile: string): string;
}

/** Write a kubernetes.io/tls Secret's tls.crt, tls.key and ca.crt to `dir`. */
export function writeTlsSecret(objs: K8sObject[], secret: string, dir: string): TlsFiles {
  mkdirSync(dir, { recursive: true });
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  writeFileSync(files.caFile, secretValue(objs, secret, 'ca.crt'));
  writeFileSync(files.certFile, secretValue(objs, secret, 'tls.crt'));
  writeFileSync(files.keyFile, secretValue(objs, secret, 'tls.key'), { mode: 0o600 });
  return files;
}

export async function startRenderedNats(objs: K8sObject[], dir: string): Promise<RenderedNats> {
  const conf = find(objs, 'ConfigMap', `${RELEASE}-nats-config`).data['nats.conf'] as string;
  const sts = find(objs, 'StatefulSet', `${RELEASE}-nats`);
  const podSpec = sts.spec.template.spec;
  const [container] = podSpec.containers;
  // The Secret volume as the kubelet mounts it (the config map, pid dir and data volume are rewritten below).
  const tlsMounts = (container.volumeMounts as K8sObject[]).filter((m) => m.name === 'tls');
  const mounts = materialiseVolumes(podSpec, { ...container, volumeMounts: tlsMounts }, objs, join(dir, 'pod'));
  const secure = tlsMounts.length > 0;
  const withLocalPaths = (text: string) => [...mounts].reduce((t, [path, local]) => t.split(`${path}/`).join(`${local}/`), text);
  const localConf = (node: { serverName: string; listen: string; routes: string[] }, pidFile: string) =>
    withLocalPaths(conf)
      .replaceAll('$SERVER_NAME', node.serverName)
      .replace(/^\s*store_dir: \/data\n/m, '')
      .replace('/var/run/nats/nats.pid', pidFile)
      .replace(/(cluster \{[^}]*?)port: \d+/, `$1listen: ${node.listen}`)
      .replace(/routes: \[[^\]]*\]/, `routes: [\n${node.routes.join('\n')}\n]`);
  const clusterName = /cluster \{\s*name: (\S+)/.exec(conf)![1]!;
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const cluster = await startNatsCluster({
    size: sts.spec.replicas as number,
    name: clusterName,
    storeRoot: join(dir, 'store'),
    logDir,
    tls: secure,
    configFile: (node) => {
      const file = join(dir, `${node.serverName}.conf`);
      writeFileSync(file, localConf(node, join(dir, `${node.serverName}.pid`)));
      return file;
    },
  });
  const tlsDir = tlsMounts[0]?.mountPath as string | undefined;
  return {
    cluster,
    conf,
    logDir,
    log: (i) => join(logDir, `${cluster.servers[i]!.name}.log`),
    serverTls: tlsDir ? { caFile: `${mounts.get(tlsDir)}/ca.crt`, certFile: `${mounts.get(tlsDir)}/tls.crt`, keyFile: `${mounts.get(tlsDir)}/tls.key` } : undefined,
    roleTls: (role) => writeTlsSecret(objs, `${componentName(role)}-tls`, join(dir, 'roles', role)),
    localConf,
  };
}
