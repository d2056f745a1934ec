/**
 * The process node's answer to cluster DNS for JVMs: a hosts file (`<cluster dir>/hosts`) that maps every
 * Service's names (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.cluster.local`) and every node pod's hostname
 * to 127.0.0.1 (every pod's IP on this node), kept current from two watches. Spark's JVMs on the node read it
 * through `-Djdk.net.hosts.file=` (the JDK re-reads the file on each lookup). Nothing routes a Service's port:
 * a name resolves to the loopback address, and the port must be the one the pod really listens on.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, makeInformer, type Informer, type KubernetesObject, type V1Pod, type V1Service } from '@kubernetes/client-node';

export const HOSTS_FILE_NAME = 'hosts';

export interface HostsFileKeeper {
  path: string;
  stop(): void;
}

function serviceNames(s: V1Service): string[] {
  const name = s.metadata?.name;
  const ns = s.metadata?.namespace;
  if (!name || !ns) return [];
  return [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`];
}

function podNames(p: V1Pod): string[] {
  const name = p.metadata?.name;
  if (!name) return [];
  const host = p.spec?.hostname || name.slice(0, 63);
  const sub = p.spec?.subdomain;
  const ns = p.metadata?.namespace;
  return sub && ns ? [host, `${host}.${sub}.${ns}.svc`, `${host}.${sub}.${ns}.svc.cluster.local`] : [host];
}

/** The hosts file's text for these objects (sorted, one name per line). */
export function hostsFileText(services: readonly V1Service[], pods: readonly V1Pod[]): string {
  const names = new Set<string>(['localhost']);
  for (const s of services) for (const n of serviceNames(s)) names.add(n);
  for (const p of pods) for (const n of podNames(p)) names.add(n);
  return `# Kept by @gp/testkit (spark/hosts-file.ts): Service names and pod hostnames of the process node.\n${[...names].sort().map((n) => `127.0.0.1 ${n}`).join('\n')}\n`;
}

/** Starts keeping `<dir>/hosts` for the cluster; `stop()` ends the watches (the file stays until the dir goes). */
export async function startHostsFileKeeper(kc: KubeConfig, dir: string, nodeName: string): Promise<HostsFileKeeper> {
  const path = join(dir, HOSTS_FILE_NAME);
  const core = kc.makeApiClient(CoreV1Api);
  const services = makeInformer<V1Service>(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
  const pods = makeInformer<V1Pod>(kc, '/api/v1/pods', () => core.listPodForAllNamespaces());
  let stopped = false;
  const write = (): void => {
    if (stopped) return;
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, hostsFileText(services.list(), pods.list().filter((p) => p.spec?.nodeName === nodeName)));
    renameSync(tmp, path);
  };
  write();
  const informers: Informer<KubernetesObject>[] = [services as unknown as Informer<KubernetesObject>, pods as unknown as Informer<KubernetesObject>];
  for (const inf of informers) {
    for (const ev of ['add', 'update', 'delete'] as const) inf.on(ev, write);
    inf.on('connect', () => write());
    // A watch error (API server restart): the informer's own restart, a moment later.
    inf.on('error', () => {
      if (!stopped) setTimeout(() => void inf.start().catch(() => undefined), 1000);
    });
  }
  await Promise.all(informers.map((i) => i.start()));
  write();
  return {
    path,
    stop(): void {
      stopped = true;
      for (const i of informers) void i.stop();
    },
  };
}
