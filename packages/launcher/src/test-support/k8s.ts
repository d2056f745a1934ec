// Helpers for the launcher's k8s tests, on top of @gp/testkit's cluster: apply RBAC objects, list what exists in
// a namespace, build kernelspec directories and run the built bundles.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubernetesApiError } from '../errors.js';
import { createObject, type KubeClient, resourcePath } from '../kube.js';
import type { Manifest } from '../manifests.js';

export const LAUNCHER_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Creates each object (cluster-scoped when it has no namespace); existing ones are left as they are. */
export async function apply(client: KubeClient, objects: readonly K8sObject[]): Promise<void> {
  for (const o of objects) {
    try {
      await createObject(client, o as Manifest);
    } catch (e) {
      if (!(e instanceof KubernetesApiError && e.isAlreadyExists)) throw e;
    }
  }
}

export async function exists(client: KubeClient, apiVersion: string, kind: string, name: string, namespace?: string): Promise<boolean> {
  try {
    await client.request({ method: 'GET', path: resourcePath({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) }) });
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}

export async function getObject<T = K8sObject>(client: KubeClient, apiVersion: string, kind: string, name: string, namespace?: string): Promise<T> {
  return client.request<T>({ method: 'GET', path: resourcePath({ apiVersion, kind, name, ...(namespace ? { namespace } : {}) }) });
}

const KINDS: [string, string][] = [
  ['v1', 'Pod'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['v1', 'Service'],
  ['v1', 'PersistentVolumeClaim'],
  ['v1', 'ServiceAccount'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
];

/** `Kind/name` of every object in the namespace that a launch could create, minus the cluster's own ones. */
export async function inventory(client: KubeClient, namespace: string, ignore: string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const [apiVersion, kind] of KINDS) {
    const list = await client.request<{ items: K8sObject[] }>({ method: 'GET', path: resourcePath({ apiVersion, kind, namespace }) });
    for (const item of list.items) {
      const key = `${kind}/${item.metadata.name}`;
      if (key === 'ConfigMap/kube-root-ca.crt' || key === 'ServiceAccount/default' || ignore.includes(key)) continue;
      if (kind === 'Pod' && (item.metadata as { deletionTimestamp?: string }).deletionTimestamp) continue;
      out.push(key);
    }
  }
  return out.sort();
}

/** A kernelspec directory like `k8s-spec install` makes: `<tmp>/<name>/scripts/{bundle, template}`. */
export function kernelspecDir(name: string, files: { bundle: string; template: [string, string] }): string {
  const scripts = join(mkdtempSync(join(tmpdir(), 'gp-spec-')), name, 'scripts');
  mkdirSync(scripts, { recursive: true });
  copyFileSync(files.bundle, join(scripts, files.bundle.split('/').pop()!));
  copyFileSync(files.template[1], join(scripts, files.template[0]));
  return scripts;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bundle with exactly `env` (plus PATH), as jupyter_client would run the kernelspec argv. */
export function runNode(script: string, args: string[], env: Record<string, string>, cwd = tmpdir()): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * A pod template declaring one object of each template resource kind next to the pod (Secret `<pod>-secret`,
 * PersistentVolumeClaim `<pod>-work`, Service `svc-<kernel id>`, ConfigMap `<pod>-cfg`).
 */
export const COMPANIONS_TEMPLATE = {
  name: 'with-companions.yaml.j2',
  source: [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: "{{ kernel_pod_name }}"',
    'spec:',
    '  restartPolicy: Never',
    '  containers:',
    '  - name: kernel',
    '    image: "{{ kernel_image }}"',
    '---',
    'apiVersion: v1',
    'kind: Secret',
    'metadata:',
    '  name: "{{ kernel_pod_name }}-secret"',
    'stringData:',
    '  user: "{{ kernel_username }}"',
    '---',
    'apiVersion: v1',
    'kind: PersistentVolumeClaim',
    'metadata:',
    '  name: "{{ kernel_pod_name }}-work"',
    'spec:',
    '  accessModes: [ReadWriteOnce]',
    '  resources:',
    '    requests:',
    '      storage: 1Mi',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: "svc-{{ kernel_id }}"',
    'spec:',
    '  clusterIP: None',
    '  selector:',
    '    kernel_id: "{{ kernel_id }}"',
    '  ports:',
    '  - port: 8888',
    '---',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: "{{ kernel_pod_name }}-cfg"',
    'data:',
    '  user: "{{ kernel_username }}"',
    '',
  ].join('\n'),
};
