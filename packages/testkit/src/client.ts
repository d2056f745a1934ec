import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, type CoreV1Event, type V1ObjectMeta } from '@kubernetes/client-node';

/** What a started cluster tells its tests (JSON-serializable: vitest `provide`s it). */
export interface ClusterInfo {
  /** `https://127.0.0.1:<port>` */
  apiServerUrl: string;
  /** An admin kubeconfig file (client certificate in group system:masters), for KUBECONFIG / kubectl. */
  kubeconfigPath: string;
  /** ca.crt/ca.key and the components' certificates. */
  pkiDir: string;
  /** The gp-testcluster binary (also issues client certificates for test identities). */
  binary: string;
  /** The process node's image table (JSON). */
  imagesFile: string;
  /** Pods' stdout/stderr: `<ns>_<pod>_<uid>/<container>/<restartCount>.log`. */
  podLogDir: string;
  /** The control plane's own logs (etcd.log, kube-apiserver.log, ...). */
  logDir: string;
  /** The cluster's temp dir (removed on stop). */
  dir: string;
  nodeName: string;
  kubernetesVersion: string;
}

/**
 * An image of the process node: the process that "is" the image. `command` is its
 * ENTRYPOINT and `args` its CMD; a container's `command`/`args` override them as in
 * Kubernetes. `env` is the image's environment, `workingDir` its WORKDIR.
 */
export interface ImageSpec {
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
}

export interface Identity {
  /** User name (certificate CN). */
  user: string;
  /** Groups (certificate O). */
  groups?: string[];
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message. */
  description?: string;
}

export class WaitTimeoutError extends Error {
  readonly code = 'GP_TESTKIT_WAIT_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

export function writeImageTable(path: string, table: Record<string, ImageSpec>): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, JSON.stringify(table, null, 2));
  renameSync(tmp, path); // atomic: the node never reads half a file
}

export function readImageTable(path: string): Record<string, ImageSpec> {
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8') || '{}') as Record<string, ImageSpec>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns something other than `undefined`/`false`/`null`, and
 * returns that. Errors thrown by `fn` count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const interval = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${options.description ?? 'a condition'}${detail}`);
    }
    await sleep(interval);
  }
}

function dnsLabel(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${clean || 'test'}-${randomBytes(3).toString('hex')}`;
}

/** Test-side access to a running test cluster. */
export class ClusterClient {
  readonly info: ClusterInfo;
  /** KubeConfig of the cluster admin (group system:masters). */
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  private readonly namespaces = new Set<string>();

  constructor(info: ClusterInfo) {
    this.info = info;
    this.kc = new KubeConfig();
    this.kc.loadFromFile(info.kubeconfigPath);
    this.core = this.kc.makeApiClient(CoreV1Api);
  }

  get apiServerUrl(): string {
    return this.info.apiServerUrl;
  }

  get kubeconfigPath(): string {
    return this.info.kubeconfigPath;
  }

  /**
   * A KubeConfig authenticating as `user` in `groups` (a client certificate from the
   * cluster CA). Without RBAC bindings such an identity may do nothing.
   */
  kubeConfigFor(identity: Identity): KubeConfig {
    const groups = identity.groups ?? [];
    const name = `id-${createHash('sha256').update(JSON.stringify([identity.user, groups])).digest('hex').slice(0, 16)}`;
    const crt = join(this.info.pkiDir, `${name}.crt`);
    if (!existsSync(crt)) {
      execFileSync(
        this.info.binary,
        ['certs', 'client', '--dir', this.info.pkiDir, '--user', identity.user, ...groups.flatMap((g) => ['--group', g]), '--out', name],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    }
    return this.configWithUser(identity.user, {
      certData: readFileSync(crt).toString('base64'),
      keyData: readFileSync(join(this.info.pkiDir, `${name}.key`)).toString('base64'),
    });
  }

  /** A KubeConfig with a token for a service account, from the real TokenRequest API. */
  async kubeConfigForServiceAccount(namespace: string, name: string, expirationSeconds = 3600): Promise<KubeConfig> {
    const tr = await this.core.createNamespacedServiceAccountToken({
      namespace,
      name,
      body: { spec: { audiences: [], expirationSeconds } },
    });
    const token = tr.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
    return this.configWithUser(`system:serviceaccount:${namespace}:${name}`, { token }, namespace);
  }

  private configWithUser(user: string, creds: { token?: string; certData?: string; keyData?: string }, namespace = 'default'): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'gp-testcluster',
          server: this.info.apiServerUrl,
          caData: readFileSync(join(this.info.pkiDir, 'ca.crt')).toString('base64'),
          skipTLSVerify: false,
        },
      ],
      users: [{ name: user, ...creds }],
      contexts: [{ name: 'gp-testcluster', cluster: 'gp-testcluster', user, namespace }],
      currentContext: 'gp-testcluster',
    });
    return kc;
  }

  /**
   * Creates a namespace `<prefix>-<random>` and waits for its default service account
   * (pods cannot be created before it exists). `cleanup()` deletes it.
   */
  async createNamespace(prefix = 'test', labels: Record<string, string> = {}): Promise<string> {
    const name = dnsLabel(prefix);
    await this.core.createNamespace({ body: { metadata: { name, labels: { 'gp-testkit': 'true', ...labels } } } });
    this.namespaces.add(name);
    await waitFor(() => this.core.readNamespacedServiceAccount({ name: 'default', namespace: name }), {
      timeoutMs: 60_000,
      description: `the default service account of namespace ${name}`,
    });
    return name;
  }

  /** Deletes the namespaces this client created (not waiting for them to be gone). */
  async cleanup(): Promise<void> {
    const names = [...this.namespaces];
    this.namespaces.clear();
    await Promise.all(names.map((name) => this.core.deleteNamespace({ name }).catch(() => undefined)));
  }

  waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions = {}): Promise<T> {
    return waitFor(fn, options);
  }

  /**
   * Kernel objects still alive: pods labelled `kernel_id`, gp's automatic kernel namespaces and
   * SparkApplications, except those being deleted (or in a namespace being deleted). Empty when every
   * test cleaned up after its kernels.
   */
  async kernelLeftovers(): Promise<string[]> {
    const namespaces = (await this.core.listNamespace()).items;
    const terminating = new Set(namespaces.filter((n) => n.metadata?.deletionTimestamp).map((n) => n.metadata?.name));
    const alive = (m: V1ObjectMeta | undefined): boolean => !m?.deletionTimestamp && !terminating.has(m?.namespace);
    const left: string[] = [];
    for (const ns of namespaces) {
      const labels = ns.metadata?.labels ?? {};
      if (labels.component === 'kernel' && labels.kernel_id && alive(ns.metadata)) left.push(`namespace ${ns.metadata?.name}`);
    }
    const pods = await this.core.listPodForAllNamespaces({ labelSelector: 'kernel_id' });
    for (const pod of pods.items) if (alive(pod.metadata)) left.push(`pod ${pod.metadata?.namespace}/${pod.metadata?.name}`);
    const apps = (await this.kc
      .makeApiClient(CustomObjectsApi)
      .listClusterCustomObject({ group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications' })
      .catch(() => ({ items: [] }))) as { items: Array<{ metadata?: V1ObjectMeta }> };
    for (const app of apps.items) if (alive(app.metadata)) left.push(`sparkapplication ${app.metadata?.namespace}/${app.metadata?.name}`);
    return left;
  }

  /** Events in a namespace (optionally about one object), oldest first. */
  async events(namespace: string, filter: { involvedObjectName?: string; reason?: string } = {}): Promise<CoreV1Event[]> {
    const selectors = [];
    if (filter.involvedObjectName) selectors.push(`involvedObject.name=${filter.involvedObjectName}`);
    if (filter.reason) selectors.push(`reason=${filter.reason}`);
    const list = await this.core.listNamespacedEvent({ namespace, fieldSelector: selectors.join(',') || undefined });
    const time = (e: CoreV1Event) =>
      new Date(e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? 0).getTime();
    return list.items.sort((a, b) => time(a) - time(b));
  }

  /** Adds (or replaces) an image in the process node's table; the node picks it up at once. */
  registerImage(image: string, spec: ImageSpec): void {
    const table = readImageTable(this.info.imagesFile);
    table[image] = spec;
    writeImageTable(this.info.imagesFile, table);
  }

  /** The stdout/stderr of a pod's container (its latest run), as the process node captured it. */
  podLogs(namespace: string, pod: string, container?: string): string {
    const dirs = existsSync(this.info.podLogDir)
      ? readdirSync(this.info.podLogDir)
          .filter((d) => d.startsWith(`${namespace}_${pod}_`))
          .map((d) => join(this.info.podLogDir, d))
          .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
      : [];
    const podDir = dirs[0];
    if (!podDir) return '';
    const containers = readdirSync(podDir);
    const cdir = join(podDir, container ?? containers[0] ?? '');
    if (!existsSync(cdir)) return '';
    const runs = readdirSync(cdir)
      .map((f) => Number.parseInt(f, 10))
      .filter((n) => !Number.isNaN(n))
      .sort((a, b) => b - a);
    return runs.length ? readFileSync(join(cdir, `${runs[0]}.log`), 'utf8') : '';
  }
}
