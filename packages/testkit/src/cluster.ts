import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureClusterBinary } from './binary.js';
import { startHostsFileKeeper } from './spark/hosts-file.js';
import { ClusterClient, type ClusterInfo, type ImageSpec, writeImageTable } from './client.js';
import { sparkApplicationCrdPath } from './python.js';

export class ClusterStartError extends Error {
  readonly code = 'GP_TESTKIT_CLUSTER_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterStartError';
  }
}

export interface StartClusterOptions {
  /** A `gp-testcluster` binary; default: `ensureClusterBinary()` (builds it if missing). */
  binary?: string;
  /** Capacity of the process node, e.g. `{ cpu: '4', memory: '8Gi', 'nvidia.com/gpu': '1' }`. */
  nodeCapacity?: Record<string, string>;
  /** Initial image table (tests can add more with `registerImage`). Default: `busybox` (CMD `sh`). */
  images?: Record<string, ImageSpec>;
  /** Install the SparkApplication CRD from the shared data (default true). */
  installSparkCrd?: boolean;
  /** First CrashLoopBackOff / ImagePullBackOff delays of the process node, in seconds (kubelet: 10). */
  crashLoopBackoffSeconds?: number;
  imagePullBackoffSeconds?: number;
  /** Keep the temp dir (logs, data) after stop; also with GP_TESTKIT_KEEP=1. */
  keepDir?: boolean;
  /** Progress lines; default stderr. */
  log?: (line: string) => void;
  /** Give up starting after this long (default 180 s), counted once the binary is there (a build is not part of it). */
  startTimeoutMs?: number;
  /**
   * Kill everything at once on SIGINT/SIGTERM (default true). A host that stops its own processes first
   * (a long-running tool) passes false and calls `stop()` from its own signal handler; killing everything on
   * process exit stays on either way.
   */
  handleSignals?: boolean;
}

export interface TestCluster extends ClusterClient {
  /** Stop every process (pods included) and remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /**
   * Stops the kube-apiserver only (an API outage): etcd, the controller manager, the scheduler, the process
   * node and its pods keep running; clients get "connection refused" until `startApiServer()`. SIGTERM (a
   * graceful stop, SIGKILL after 10 s) by default, or `SIGKILL` for a crash. Resolves once the process is gone.
   */
  stopApiServer(options?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /**
   * Starts the kube-apiserver again with the same flags (same port, certificates and etcd, so every object
   * is still there); resolves once `/readyz` is ok. A no-op while it runs.
   */
  startApiServer(options?: { timeoutMs?: number }): Promise<void>;
  /** Whether the kube-apiserver process runs (false between `stopApiServer()` and `startApiServer()`). */
  readonly apiServerRunning: boolean;
}

export const DEFAULT_NODE_CAPACITY: Readonly<Record<string, string>> = {
  cpu: '4',
  memory: '8Gi',
  pods: '110',
  'ephemeral-storage': '20Gi',
};

const TEMP_PREFIX = 'gp-testcluster-';

/** Controllers of kube-controller-manager the tests have no use for. */
const DISABLED_CONTROLLERS = [
  'endpointslice-mirroring-controller',
  'horizontal-pod-autoscaler-controller',
  'disruption-controller',
  'certificatesigningrequest-signing-controller',
  'certificatesigningrequest-approving-controller',
  'certificatesigningrequest-cleaner-controller',
  'ttl-controller',
  'device-taint-eviction-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-attach-detach-controller',
  'persistentvolume-expander-controller',
  'ephemeral-volume-controller',
  'resourceclaim-controller',
  'legacy-serviceaccount-token-cleaner-controller',
  'validatingadmissionpolicy-status-controller',
  'volumeattributesclass-protection-controller',
  'service-cidr-controller',
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Component {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
  exitCode?: number | null;
}

/** Ports that are free right now on 127.0.0.1 (all distinct). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function procText(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'latin1');
  } catch {
    return '';
  }
}

/** Pod process groups the process node recorded (left behind if the node itself was killed). */
function podGroups(dir: string): number[] {
  const pgidDir = join(dir, 'pods', '.pgids');
  if (!existsSync(pgidDir)) return [];
  return readdirSync(pgidDir)
    .map(Number)
    .filter((pid) => pid > 0 && procText(pid, 'environ').includes(dir));
}

/**
 * Removes what a killed earlier run left: temp dirs whose owner process is gone, after
 * killing their components and pods (checked by command line / environment, so a reused
 * pid is never hit).
 */
export function sweepStaleClusters(log: (line: string) => void = () => {}): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((e) => e.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = join(tmpdir(), entry);
    const owner = Number(readFileSafe(join(dir, 'owner.pid')));
    if (owner && pidAlive(owner)) continue;
    if (existsSync(join(dir, 'kept'))) continue; // stopped cleanly, kept on request (GP_TESTKIT_KEEP)
    if (!owner && !existsSync(join(dir, 'pids'))) continue; // not ours or just being created
    const pidsDir = join(dir, 'pids');
    const components = existsSync(pidsDir) ? readdirSync(pidsDir).map((f) => Number(readFileSafe(join(pidsDir, f)))) : [];
    for (const pid of components) {
      if (pid > 0 && procText(pid, 'cmdline').includes('gp-testcluster')) killGroup(pid, 'SIGKILL');
    }
    for (const pgid of podGroups(dir)) killGroup(pgid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    log(`removed stale test cluster ${dir}`);
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function kubeconfigYaml(server: string, caFile: string, user: string, certFile: string, keyFile: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: gp-testcluster',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caFile}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate: ${certFile}`,
    `    client-key: ${keyFile}`,
    'contexts:',
    '- name: gp-testcluster',
    '  context:',
    '    cluster: gp-testcluster',
    `    user: ${user}`,
    '    namespace: default',
    'current-context: gp-testcluster',
    '',
  ].join('\n');
}

/** An HTTPS request to the API server as the cluster admin. */
export function adminRequest(
  info: Pick<ClusterInfo, 'apiServerUrl' | 'pkiDir'>,
  method: string,
  path: string,
  body?: unknown,
  /** Of the JSON body; e.g. `application/apply-patch+yaml` for a server-side apply (JSON is YAML). */
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  const url = new URL(path, info.apiServerUrl);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: readFileSync(join(info.pkiDir, 'ca.crt')),
        cert: readFileSync(join(info.pkiDir, 'admin.crt')),
        key: readFileSync(join(info.pkiDir, 'admin.key')),
        headers: payload ? { 'content-type': contentType, 'content-length': payload.length } : {},
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

/**
 * Starts a real control plane on loopback — embedded etcd, kube-apiserver (TLS, client
 * certificates, RBAC + Node authorization, the usual admission plugins), the controller
 * manager and the scheduler — plus the process node, in a fresh temp dir with fresh ports.
 * Resolves once the API is ready, the node is Ready and schedulable, the default service
 * account exists and the SparkApplication CRD is established.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[gp-testkit] ${line}\n`));
  sweepStaleClusters(log);
  const binary = options.binary ?? (await ensureClusterBinary({ log })).path;
  // The start budget begins once the binary is there: a cold build (or waiting for another
  // process's build) takes many minutes and is not part of starting the cluster.
  const started = Date.now();
  const deadline = started + (options.startTimeoutMs ?? 180_000);
  const kubernetesVersion = execFileSync(binary, ['version'], { encoding: 'utf8' }).trim();

  const dir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const pki = join(dir, 'pki');
  const logDir = join(dir, 'logs');
  const podLogDir = join(dir, 'pod-logs');
  for (const d of [logDir, podLogDir, join(dir, 'pids'), join(dir, 'pods')]) mkdirSync(d, { recursive: true });
  execFileSync(binary, ['certs', '--dir', pki], { stdio: ['ignore', 'ignore', 'pipe'] });

  const [etcdPort, etcdPeerPort, apiPort, cmPort, schedulerPort] = (await freePorts(5)) as [number, number, number, number, number];
  const apiServerUrl = `https://127.0.0.1:${apiPort}`;
  const ca = join(pki, 'ca.crt');
  const kubeconfigs: Record<string, string> = {};
  for (const [name, user] of [
    ['admin', 'gp-admin'],
    ['controller-manager', 'system:kube-controller-manager'],
    ['scheduler', 'system:kube-scheduler'],
    ['process-node', 'system:node:gp-node'],
  ] as const) {
    const path = join(dir, `${name}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(apiServerUrl, ca, user, join(pki, `${name}.crt`), join(pki, `${name}.key`)), { mode: 0o600 });
    kubeconfigs[name] = path;
  }
  const imagesFile = join(dir, 'images.json');
  writeImageTable(imagesFile, options.images ?? { busybox: { args: ['sh'] } });

  const info: ClusterInfo = {
    apiServerUrl,
    kubeconfigPath: kubeconfigs.admin!,
    pkiDir: pki,
    binary,
    imagesFile,
    podLogDir,
    logDir,
    dir,
    nodeName: 'gp-node',
    kubernetesVersion,
  };

  const apiServerArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    '--advertise-address=127.0.0.1',
    `--tls-cert-file=${join(pki, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(pki, 'apiserver.key')}`,
    `--client-ca-file=${ca}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(pki, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--authorization-mode=Node,RBAC',
    // The default admission plugins (NamespaceLifecycle, LimitRanger, ServiceAccount,
    // PodSecurity, Priority, DefaultTolerationSeconds, ResourceQuota, ...) plus NodeRestriction.
    '--enable-admission-plugins=NodeRestriction',
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    '--enable-priority-and-fairness=false',
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
  ];

  const components: Component[] = [];
  let stopped = false;
  const keep = options.keepDir ?? process.env.GP_TESTKIT_KEEP === '1';

  const launch = (name: string, args: string[]): Component => {
    const logPath = join(logDir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(binary, [name, ...args], {
      cwd: dir,
      detached: true, // own process group: stop() kills the group
      stdio: ['ignore', fd, fd],
      env: { ...process.env, GP_TESTCLUSTER_PDEATHSIG: '1' },
    });
    closeSync(fd);
    const component: Component = {
      name,
      child,
      logPath,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)))),
    };
    void component.exited.then((code) => {
      component.exitCode = code;
    });
    if (child.pid) writeFileSync(join(dir, 'pids', name), String(child.pid));
    components.push(component);
    return component;
  };

  const killAllSync = () => {
    // Pods first (the node would do it, but it may be gone), then the control plane.
    for (const pgid of podGroups(dir)) killGroup(pgid, 'SIGKILL');
    for (const c of components) if (c.child.pid) killGroup(c.child.pid, 'SIGKILL');
    if (keep) writeFileSync(join(dir, 'kept'), '');
    else rmSync(dir, { recursive: true, force: true });
  };
  const onExit = () => {
    if (!stopped) killAllSync();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopped) {
      stopped = true;
      killAllSync();
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Let whoever else listens (or the default action) handle the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const handleSignals = options.handleSignals ?? true;
  process.on('exit', onExit);
  if (handleSignals) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // The node first, so it stops its pods' process groups; then the control plane.
    for (const name of ['process-node', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      const c = running(name);
      if (c) await stopComponent(c, 'SIGTERM', 5000);
    }
    for (const pgid of podGroups(dir)) killGroup(pgid, 'SIGKILL');
    for (const c of components) if (c.child.pid) killGroup(c.child.pid, 'SIGKILL');
    if (keep) {
      writeFileSync(join(dir, 'kept'), '');
      log(`kept ${dir}`);
    } else {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  /** SIGTERM to a component's group, SIGKILL after `graceMs`; resolves once it exited. */
  const stopComponent = async (c: Component, signal: NodeJS.Signals, graceMs: number): Promise<void> => {
    if (!c.child.pid || c.exitCode !== undefined) return;
    killGroup(c.child.pid, signal);
    const done = await Promise.race([c.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      killGroup(c.child.pid, 'SIGKILL');
      await c.exited;
    }
  };
  const running = (name: string): Component | undefined => components.find((c) => c.name === name && c.exitCode === undefined);

  const failure = (what: string): ClusterStartError => {
    const tails = components
      .map((c) => {
        const text = readFileSafe(c.logPath).split('\n').slice(-15).join('\n');
        return `--- ${c.name}${c.exitCode !== undefined ? ` (exited ${c.exitCode})` : ''}: ${c.logPath}\n${text}`;
      })
      .join('\n');
    return new ClusterStartError(`test cluster did not start: ${what}\n${tails}`);
  };
  const waitUntil = async (what: string, check: () => Promise<boolean>) => {
    for (;;) {
      const dead = components.find((c) => c.exitCode !== undefined);
      if (dead) throw failure(`${dead.name} exited with code ${dead.exitCode} while waiting for ${what}`);
      try {
        if (await check()) return;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw failure(`timed out waiting for ${what}`);
      await sleep(200);
    }
  };

  try {
    launch('etcd', ['--data-dir', join(dir, 'etcd'), '--client-url', `http://127.0.0.1:${etcdPort}`, '--peer-url', `http://127.0.0.1:${etcdPeerPort}`]);
    launch('kube-apiserver', apiServerArgs);
    // The scheduler and the node retry until the API server is up; the controller manager
    // gives up after 10 s, so it starts once the API server is ready.
    launch('kube-scheduler', [
      `--kubeconfig=${kubeconfigs.scheduler}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      `--cert-dir=${join(dir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    const capacity = { ...DEFAULT_NODE_CAPACITY, ...options.nodeCapacity };
    launch('process-node', [
      `--kubeconfig=${kubeconfigs['process-node']}`,
      '--node-name=gp-node',
      `--capacity=${Object.entries(capacity)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
      `--images=${imagesFile}`,
      `--log-dir=${podLogDir}`,
      `--pods-dir=${join(dir, 'pods')}`,
      `--crash-loop-backoff=${options.crashLoopBackoffSeconds ?? 10}s`,
      `--image-pull-backoff=${options.imagePullBackoffSeconds ?? 10}s`,
    ]);

    await waitUntil('kube-apiserver /readyz', async () => {
      const res = await adminRequest(info, 'GET', '/readyz');
      return res.status === 200 && res.body.trim() === 'ok';
    });
    log(`kube-apiserver ready at ${apiServerUrl} (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    launch('kube-controller-manager', [
      `--kubeconfig=${kubeconfigs['controller-manager']}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${cmPort}`,
      `--cert-dir=${join(dir, 'controller-manager-certs')}`,
      '--leader-elect=false',
      '--profiling=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${join(pki, 'sa.key')}`,
      `--root-ca-file=${ca}`,
      // All default controllers (namespace, serviceaccount and its tokens, garbage collector,
      // resourcequota, root CA publisher, node lifecycle, clusterrole aggregation, workloads,
      // endpoints, PVC/PV protection, ...) except volume binding, autoscaling, CSR and DRA ones: each controller costs
      // start-up time (its own service account credentials) on a 2-core machine.
      `--controllers=*,${DISABLED_CONTROLLERS.map((c) => `-${c}`).join(',')}`,
    ]);
    const installCrd = async () => {
      if (!(options.installSparkCrd ?? true)) return;
      const crd = parseYaml(readFileSync(sparkApplicationCrdPath, 'utf8'));
      // Raw JSON, not client-node's typed API: its serializer drops x-kubernetes-* schema keys.
      const res = await adminRequest(info, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      if (res.status !== 201) throw failure(`installing the SparkApplication CRD: HTTP ${res.status} ${res.body.slice(0, 500)}`);
      await waitUntil('the SparkApplication CRD to be established', async () => {
        const r = await adminRequest(info, 'GET', '/apis/sparkoperator.k8s.io/v1beta2');
        return r.status === 200 && r.body.includes('sparkapplications');
      });
    };
    const nodeReady = () =>
      waitUntil('the process node to be Ready without taints', async () => {
        const res = await adminRequest(info, 'GET', '/api/v1/nodes/gp-node');
        if (res.status !== 200) return false;
        const node = JSON.parse(res.body) as {
          spec?: { taints?: unknown[] };
          status?: { conditions?: { type: string; status: string }[] };
        };
        const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return Boolean(ready) && (node.spec?.taints ?? []).length === 0;
      });
    const defaultServiceAccount = () =>
      waitUntil('the default service account (controller manager running)', async () => {
        const res = await adminRequest(info, 'GET', '/api/v1/namespaces/default/serviceaccounts/default');
        return res.status === 200;
      });
    const schedulerServing = () =>
      waitUntil('kube-scheduler to serve', async () => readFileSafe(join(logDir, 'kube-scheduler.log')).includes('Serving securely'));
    const results = await Promise.allSettled([installCrd(), nodeReady(), defaultServiceAccount(), schedulerServing()]);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
  } catch (err) {
    await stop();
    throw err;
  }
  log(`test cluster (Kubernetes ${kubernetesVersion}) up in ${((Date.now() - started) / 1000).toFixed(1)}s; KUBECONFIG=${info.kubeconfigPath}`);
  const client = new ClusterClient(info) as TestCluster;
  // Cluster DNS for the node's JVMs (Spark images): <dir>/hosts, kept from the Service and pod watches.
  const hostsKeeper = await startHostsFileKeeper(client.kc, dir, info.nodeName).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  client.stop = async () => {
    hostsKeeper.stop();
    await stop();
  };
  client.stopApiServer = async ({ signal = 'SIGTERM' } = {}) => {
    const c = running('kube-apiserver');
    if (!c || stopped) return;
    await stopComponent(c, signal, 10_000);
    log(`kube-apiserver stopped (${signal})`);
  };
  client.startApiServer = async ({ timeoutMs = 120_000 } = {}) => {
    if (stopped) throw new Error('startApiServer: the test cluster was stopped');
    if (running('kube-apiserver')) return;
    // Forget the exited process, so stop() and the pid file see the new one.
    for (let i = components.length - 1; i >= 0; i--) if (components[i]!.name === 'kube-apiserver') components.splice(i, 1);
    const restarted = Date.now();
    launch('kube-apiserver', apiServerArgs);
    for (;;) {
      const c = components.find((x) => x.name === 'kube-apiserver');
      if (c?.exitCode !== undefined) throw failure(`kube-apiserver exited with code ${c?.exitCode} while restarting`);
      const res = await adminRequest(info, 'GET', '/readyz').catch(() => undefined);
      if (res?.status === 200 && res.body.trim() === 'ok') break;
      if (Date.now() - restarted > timeoutMs) throw failure('timed out waiting for the restarted kube-apiserver /readyz');
      await sleep(200);
    }
    log(`kube-apiserver restarted (${((Date.now() - restarted) / 1000).toFixed(1)}s)`);
  };
  Object.defineProperty(client, 'apiServerRunning', { get: () => running('kube-apiserver') !== undefined });
  return client;
}
