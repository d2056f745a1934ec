/**
 * Both directions of compatibility with the reference (gateway_provisioners 0.5.0), on the real test control
 * plane, with defaults everywhere (no RESPONSE_VERSION, no GP_RESPONSE_ACK):
 *
 * | host                                                          | kernelspec + launcher in the image          |
 * |---------------------------------------------------------------|---------------------------------------------|
 * | gp (the provisioner API, `KubernetesProvisioner`)             | gp's; the reference's (from the wheel)      |
 * | the reference (Jupyter Server 2 + gateway_provisioners' own   | gp's; the reference's                       |
 * |   `KubernetesProvisioner`, unmodified, from the venv)         |                                             |
 *
 * Each cell: launch, execute, interrupt, restart, execute, shutdown, no pod left; the payload version used is
 * checked (and logged: by gp's launcher in the pod, by the gp host's listener). Every cell runs with CurveZMQ
 * transport encryption (#16): the gp host with `auto` and with `required`, the reference host with
 * `--KernelManager.transport_encryption=auto` and `=required` (one Jupyter Server each); each launch's keys are checked, the client connects with
 * them, and a restart gets new ones. Both kernelspecs are as their installers write them (the placeholder
 * `{transport_encryption}` and `metadata.supported_encryption: ["curve"]`). Before payload versions were
 * negotiated, gp's launcher under the reference host sent version 2 and the launch failed after its timeout
 * ("Unexpected version indicator received: 2!").
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger, ResponseListener } from '@gp/core';
import { freePorts, JupyterKernelClient, type JupyterConnectionInfo, repoRoot, testPython, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelSpecLike } from './provisioner/kernelspec.js';
import { KubernetesProvisioner } from './provisioner/provisioner.js';

const GP_IMAGE = 'gp-test/compat-gp-py:1';
const REF_IMAGE = 'gp-test/compat-reference-py:1';
/** Long enough that only a hang reaches it: every cell must work well before. */
const LAUNCH_TIMEOUT = 90;
/** The payload version each image's launcher must have used under each host. */
const EXPECTED = { gp: { gp: 2, reference: 1 }, reference: { gp: 1, reference: 1 } } as const;
type Side = 'gp' | 'reference';

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-compat-'));
const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
const specs: Record<Side, KernelSpecLike> = {} as Record<Side, KernelSpecLike>;
const clients: JupyterKernelClient[] = [];
let ns: string;

async function kernelPods(kernelId: string): Promise<string[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.map((p) => p.metadata!.name!);
}

async function noPodLeft(kernelId: string): Promise<void> {
  await cluster.waitFor(async () => (await kernelPods(kernelId)).length === 0, { timeoutMs: 60_000, description: `kernel ${kernelId}'s pod to go` });
}

/** The launcher's log in the kernel's (single) pod. */
async function launcherLog(kernelId: string): Promise<string> {
  const [pod] = await kernelPods(kernelId);
  expect(pod).toBeDefined();
  return cluster.podLogs(ns, pod!);
}

async function connect(info: JupyterConnectionInfo): Promise<JupyterKernelClient> {
  const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
  clients.push(client);
  return client;
}

/** Runs `time.sleep(60)`, interrupts it through the host once it runs, and expects a KeyboardInterrupt. */
async function expectInterrupt(client: JupyterKernelClient, interrupt: () => Promise<unknown>): Promise<void> {
  const { sleeping, result } = client.startSleepingCell();
  await sleeping;
  await interrupt();
  const outcome = await result;
  expect(outcome.status).toBe('error');
  expect(outcome.error?.ename).toBe('KeyboardInterrupt');
}

/** What gp's launcher logs about the version it chose (the reference's launcher logs nothing of it). */
function expectLauncherVersionLog(log: string, image: Side, version: number): void {
  if (image === 'gp') expect(log).toMatch(new RegExp(`Payload version ${version} \\(`));
}

/** Jupyter Server 2 from the venv: the reference host, with gateway_provisioners' KubernetesProvisioner. */
class ReferenceHost {
  readonly url: string;
  readonly token = randomUUID();
  readonly runtimeDir: string;
  private readonly proc: ChildProcess;
  output = '';

  constructor(port: number, responsePort: number, dataDir: string, readonly encryption: 'auto' | 'required') {
    this.url = `http://127.0.0.1:${port}`;
    const root = join(dir, `jupyter-${encryption}`);
    this.runtimeDir = join(root, 'runtime');
    mkdirSync(join(root, 'work'), { recursive: true });
    // A clean environment: nothing of gp's (no GP_RESPONSE_VERSIONS), only what the reference reads.
    const env: Record<string, string> = {
      PATH: path,
      HOME: process.env.HOME ?? root,
      LANG: process.env.LANG ?? 'C.UTF-8',
      JUPYTER_CONFIG_DIR: join(root, 'config'),
      JUPYTER_DATA_DIR: dataDir,
      JUPYTER_RUNTIME_DIR: this.runtimeDir,
      JUPYTER_PLATFORM_DIRS: '1',
      KUBECONFIG: cluster.kubeconfigPath,
      GP_USE_INCLUSTER_CONFIG: 'false',
      GP_NAMESPACE: ns,
      GP_RESPONSE_IP: '127.0.0.1',
      GP_RESPONSE_PORT: String(responsePort),
      KERNEL_USERNAME: 'refuser',
      PYTHONDONTWRITEBYTECODE: '1',
    };
    this.proc = spawn(
      join(testPythonBin(), 'jupyter'),
      ['server', '--no-browser', '--allow-root', `--KernelManager.transport_encryption=${encryption}`, '--ip=127.0.0.1', `--port=${port}`, '--ServerApp.port_retries=0', `--IdentityProvider.token=${this.token}`, `--ServerApp.root_dir=${join(root, 'work')}`, '--log-level=DEBUG'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout!.on('data', (d) => (this.output += d));
    this.proc.stderr!.on('data', (d) => (this.output += d));
  }

  async ready(): Promise<void> {
    await cluster.waitFor(
      async () => {
        if (this.proc.exitCode !== null) throw new Error(`Jupyter Server exited:\n${this.output}`);
        return (await fetch(`${this.url}/api/status`, { headers: this.headers() }).catch(() => undefined))?.ok === true;
      },
      { timeoutMs: 60_000, description: 'Jupyter Server to answer' },
    );
  }

  headers(): Record<string, string> {
    return { Authorization: `token ${this.token}`, 'Content-Type': 'application/json' };
  }

  async api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, { method, headers: this.headers(), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  }

  /** The connection file the server's KernelManager wrote from the provisioner's connection information. */
  connectionInfo(kernelId: string): JupyterConnectionInfo {
    return JSON.parse(readFileSync(join(this.runtimeDir, `kernel-${kernelId}.json`), 'utf8')) as JupyterConnectionInfo;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

const refHosts: ReferenceHost[] = [];
const gpLog = createMemoryLogger();
let listener: ResponseListener;

beforeAll(async () => {
  ns = await cluster.createNamespace('compat');
  // gp's image: the repository's bootstrap-kernel.sh and launchers, with the venv's python first on PATH.
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // The reference's image: gateway_provisioners' own launch_ipykernel.py + server_listener.py from the wheel.
  const pkg = execFileSync(testPython(), ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))']).toString().trim();
  const refDir = join(dir, 'reference-image');
  mkdirSync(refDir, { recursive: true });
  copyFileSync(join(pkg, 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py'), join(refDir, 'launch_ipykernel.py'));
  copyFileSync(join(pkg, 'kernel-launchers', 'shared', 'scripts', 'server_listener.py'), join(refDir, 'server_listener.py'));
  cluster.registerImage(REF_IMAGE, {
    command: [
      'bash',
      '-c',
      // As the reference's bootstrap-kernel.sh: TRANSPORT_ENCRYPTION (set by its launch_kubernetes.py) becomes the flag.
      `exec python ${join(refDir, 'launch_ipykernel.py')} --kernel-id "$KERNEL_ID" --port-range "$PORT_RANGE" --response-address "$RESPONSE_ADDRESS" --public-key "$PUBLIC_KEY" --spark-context-initialization-mode none \${TRANSPORT_ENCRYPTION:+--transport-encryption "$TRANSPORT_ENCRYPTION"}`,
    ],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });

  // gp's kernelspec, installed by the built CLI; the reference's, as `jupyter k8s-spec install` writes it,
  // running the wheel's launch_kubernetes.py (and kernel-pod.yaml.j2) in place.
  const prefix = join(dir, 'prefix');
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', prefix, '--image-name', GP_IMAGE], { stdio: 'pipe' });
  const kernels = join(prefix, 'share', 'jupyter', 'kernels');
  const gpSpecFile = join(kernels, 'k8s_python', 'kernel.json');
  specs.gp = JSON.parse(readFileSync(gpSpecFile, 'utf8')) as KernelSpecLike;
  specs.gp.metadata!.kernel_provisioner!.config!.launch_timeout = LAUNCH_TIMEOUT;
  writeFileSync(gpSpecFile, JSON.stringify(specs.gp, null, 2));
  specs.reference = {
    display_name: 'Reference Kubernetes Python',
    language: 'python',
    argv: [
      'python', join(pkg, 'kernel-launchers', 'kubernetes', 'scripts', 'launch_kubernetes.py'),
      '--kernel-id', '{kernel_id}', '--port-range', '{port_range}', '--response-address', '{response_address}',
      '--public-key', '{public_key}', '--transport-encryption', '{transport_encryption}', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel',
    ],
    metadata: { supported_encryption: ['curve'], kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: REF_IMAGE, launch_timeout: LAUNCH_TIMEOUT } } },
  } as KernelSpecLike;
  mkdirSync(join(kernels, 'ref_python'), { recursive: true });
  writeFileSync(join(kernels, 'ref_python', 'kernel.json'), JSON.stringify(specs.reference, null, 2));

  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0, logger: gpLog });
  const ports = await freePorts(4);
  for (const [i, encryption] of (['auto', 'required'] as const).entries()) {
    refHosts.push(new ReferenceHost(ports[2 * i]!, ports[2 * i + 1]!, join(prefix, 'share', 'jupyter'), encryption));
  }
  for (const host of refHosts) await host.ready();
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const host of refHosts) await host.stop();
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

const KERNELSPEC_NAME: Record<Side, string> = { gp: 'k8s_python', reference: 'ref_python' };

/** A launch's CurveZMQ keys: present and valid (the client then connects with them). */
function expectCurveKeys(info: { curve_publickey?: string; curve_secretkey?: string }): void {
  expect(info.curve_publickey).toMatch(/^.{40}$/);
  expect(info.curve_secretkey).toMatch(/^.{40}$/);
}

describe.each([
  ['gp', 'auto'],
  ['gp', 'required'],
  ['reference', 'auto'],
  ['reference', 'required'],
] as const)('a gp host (provisioner API) with %s\'s kernelspec and launcher, transport encryption %s', (image, encryption) => {
  it('launches, executes, interrupts, restarts, shuts down, and leaves no pod', async () => {
    const kernelId = randomUUID();
    const prov = new KubernetesProvisioner({
      kernelId,
      kernelSpec: structuredClone(specs[image]),
      kubeConfig: cluster.kc,
      responseListener: listener,
      hostEnv: { GP_NAMESPACE: ns, PATH: path, GP_TRANSPORT_ENCRYPTION: encryption },
      logger: gpLog,
    });
    try {
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'gpuser' } });
      let info = await prov.launch();
      expect(info.response_version).toBe(EXPECTED.gp[image]);
      expectCurveKeys(info);
      const firstKey = info.curve_publickey;
      const ready = gpLog.records.filter((r) => r.message === 'Kernel ready' && r.fields.kernel_id === kernelId);
      expect(ready.at(-1)?.fields).toMatchObject({ response_version: EXPECTED.gp[image], transport_encryption: 'curve' });
      const received = gpLog.records.filter((r) => r.message === 'Received kernel connection information' && r.fields.kernelId === kernelId);
      expect(received.map((r) => r.fields.version)).toEqual([EXPECTED.gp[image]]);
      expectLauncherVersionLog(await launcherLog(kernelId), image, EXPECTED.gp[image]);
      let client = await connect(info);
      await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
      await expectInterrupt(client, async () => expect(await prov.interrupt()).toBe(true));

      // Restart: the same provisioner, a new pod under the same name, a new key and payload.
      client.close();
      await prov.kill({ restart: true });
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'gpuser' } });
      info = await prov.launch();
      expect(info.response_version).toBe(EXPECTED.gp[image]);
      expectCurveKeys(info);
      expect(info.curve_publickey).not.toBe(firstKey);
      client = await connect(info);
      await expect(client.execute('6*7')).resolves.toMatchObject({ status: 'ok', result: '42' });

      await prov.shutdownRequested();
      await prov.wait({ timeoutMs: 60_000 });
    } finally {
      await prov.cleanup();
    }
    await noPodLeft(kernelId);
  }, 240_000);
});

describe.each([
  ['gp', 0, 'auto'],
  ['reference', 0, 'auto'],
  ['gp', 1, 'required'],
  ['reference', 1, 'required'],
] as const)('the reference host (Jupyter Server + gateway_provisioners) with %s\'s kernelspec and launcher, host #%i: transport_encryption %s', (image, hostIndex, encryption) => {
  it('launches, executes, interrupts, restarts, shuts down, and leaves no pod', async () => {
    const refHost = refHosts[hostIndex]!;
    expect(refHost.encryption).toBe(encryption);
    const logFrom = refHost.output.length;
    const started = await refHost.api('POST', '/api/kernels', { name: KERNELSPEC_NAME[image] });
    expect(started.status, refHost.output.slice(-4000)).toBe(201);
    const kernelId = ((await started.json()) as { id: string }).id;
    try {
      expectLauncherVersionLog(await launcherLog(kernelId), image, EXPECTED.reference[image]);
      const first = refHost.connectionInfo(kernelId) as JupyterConnectionInfo & { curve_publickey?: string; curve_secretkey?: string };
      expectCurveKeys(first);
      let client = await connect(first);
      await expect(client.execute('1+1')).resolves.toMatchObject({ status: 'ok', result: '2' });
      await expectInterrupt(client, async () => expect((await refHost.api('POST', `/api/kernels/${kernelId}/interrupt`)).status).toBe(204));

      client.close();
      const restarted = await refHost.api('POST', `/api/kernels/${kernelId}/restart`);
      expect(restarted.status, refHost.output.slice(-4000)).toBe(200);
      const second = refHost.connectionInfo(kernelId) as JupyterConnectionInfo & { curve_publickey?: string };
      expectCurveKeys(second);
      expect(second.curve_publickey).not.toBe(first.curve_publickey);
      client = await connect(second);
      await expect(client.execute('6*7')).resolves.toMatchObject({ status: 'ok', result: '42' });
      client.close();

      expect((await refHost.api('DELETE', `/api/kernels/${kernelId}`)).status).toBe(204);
      expect(existsSync(join(refHost.runtimeDir, `kernel-${kernelId}.json`))).toBe(false);
    } finally {
      await refHost.api('DELETE', `/api/kernels/${kernelId}`).catch(() => undefined);
    }
    await noPodLeft(kernelId);
    // The reference host logs the version it decoded (at debug level), once per launch.
    const log = refHost.output.slice(logFrom);
    expect(log).not.toContain('Unexpected version indicator');
    expect(log.match(/Version 1 payload received\./g)).toHaveLength(2);
  }, 240_000);
});

describe('a cell that cannot work', () => {
  it('a gp host that reads version 2 only names the cause when a reference launcher sends version 1, and leaves no pod', async () => {
    const strict = await ResponseListener.start({ ip: '127.0.0.1', port: 0, minVersion: 2 });
    const kernelId = randomUUID();
    const prov = new KubernetesProvisioner({
      kernelId,
      kernelSpec: structuredClone(specs.reference),
      kubeConfig: cluster.kc,
      responseListener: strict,
      hostEnv: { GP_NAMESPACE: ns, PATH: path },
    });
    try {
      await prov.preLaunch({ env: { KERNEL_USERNAME: 'gpuser' } });
      const error = await prov.launch().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ code: 'GP_RESPONSE_VERSION_REFUSED', details: { version: 1, accepted: '2' } });
      expect((error as Error).message).toContain('sent a version 1 payload, which this host does not read (it reads version 2)');
      expect((error as Error).message).toContain('GP_RESPONSE_MIN_VERSION=1');
    } finally {
      await prov.cleanup();
      await strict.close();
    }
    await noPodLeft(kernelId);
  }, 240_000);
});
