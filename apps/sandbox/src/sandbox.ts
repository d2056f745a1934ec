/**
 * The sandbox: the embedded control plane (`@gp/testkit`) with kernel images backed by local interpreters, gp's
 * kernelspecs for them, gp-gateway as its least-privilege ServiceAccount, and JupyterLab wired to the gateway.
 * Everything lives in one temp dir (`$TMPDIR/gp-sandbox-*`, the cluster's own `gp-testcluster-*` beside it) and
 * goes when it stops.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '@gp/core';
import { ensureClusterBinary, repoRoot, startCluster, type TestCluster } from '@gp/testkit/host';
import { ComponentError, MissingToolError } from './errors.js';
import { createGatewayRbac, KERNEL_NAMESPACE, writeAdminKubeconfig, writeGatewayKubeconfig } from './identity.js';
import { chooseKernels, installKernelSpecs, kernelImages, resolvePython, type KernelOffer } from './kernels.js';
import type { SandboxSettings } from './options.js';
import { choosePort } from './ports.js';
import { logTail, SANDBOX_DIR_PREFIX, startProcess, sweepStaleSandboxes, terminateChildren, type ManagedProcess } from './processes.js';

export interface SandboxOptions {
  settings: SandboxSettings;
  /** Which settings were given (flag or env) rather than defaulted: a given port must be free, a given language present. */
  given?: Partial<Record<keyof SandboxSettings, boolean>>;
  /** The environment the sandbox and its processes start from; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress lines for a person; default stderr. */
  log?: (line: string) => void;
}

export interface SandboxReady {
  /** What to open: JupyterLab's URL with its token. */
  labUrl: string;
  gatewayUrl: string;
  kernels: KernelOffer[];
  /** The sandbox's temp dir (logs in `logs/`). */
  dir: string;
  notebookDir: string;
  /** With `--kubeconfig`: an admin kubeconfig for kubectl. */
  kubeconfigPath?: string;
  /** The cluster's own temp dir. */
  clusterDir: string;
}

type State = 'new' | 'starting' | 'running' | 'stopping' | 'stopped';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment without the settings of gp, Jupyter and kernels of the shell the sandbox runs in. */
function cleanEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k.startsWith('GP_') || k.startsWith('KERNEL_') || k.startsWith('JUPYTER') || k === 'KUBECONFIG') continue;
    out[k] = v;
  }
  return out;
}

/** The testkit's build messages, for someone who waits for the first start. */
export function buildProgress(line: string): string {
  const text = line.trim();
  const building = /^building gp-testcluster \(Kubernetes (\S+)\) into (\S+);/.exec(text);
  if (building) {
    return `building the control plane (Kubernetes ${building[1]}) from its Go sources, once: about 15 minutes on 2 cores; later starts take seconds (cached in ${building[2]})`;
  }
  return `control plane build: ${text.replace(/^go build: /, '')}`;
}

export class Sandbox {
  private state: State = 'new';
  private dir: string | undefined;
  private cluster: TestCluster | undefined;
  private readonly processes: ManagedProcess[] = [];
  private readonly log: (line: string) => void;
  /** Resolves when, after start, gp-gateway or JupyterLab stopped on its own. */
  readonly failed: Promise<ComponentError>;
  private reportFailure: (e: ComponentError) => void = () => {};

  constructor(private readonly options: SandboxOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(`gp-sandbox: ${line}\n`));
    this.failed = new Promise((resolve) => (this.reportFailure = resolve));
  }

  async start(): Promise<SandboxReady> {
    if (this.state !== 'new') throw new Error(`the sandbox was already started (${this.state})`);
    this.state = 'starting';
    const { settings } = this.options;
    const given = this.options.given ?? {};
    const env = this.options.env ?? process.env;
    const base = cleanEnv(env);

    // Everything that can be wrong with the machine or the options, before anything starts.
    const python = resolvePython(settings.python, repoRoot, env);
    const pythonBin = dirname(python);
    const gatewayBin = join(repoRoot, 'apps', 'gateway', 'dist', 'bin', 'gp-gateway.js');
    if (!existsSync(gatewayBin)) throw new MissingToolError('gp-gateway', `${gatewayBin} is not built: run ./gp-sandbox (it builds the workspace) or 'pnpm build'.`);
    let notebookDir = '';
    if (settings.notebook_dir) {
      notebookDir = resolve(settings.notebook_dir);
      if (!existsSync(notebookDir) || !statSync(notebookDir).isDirectory()) {
        throw new ConfigError('--notebook-dir', { kind: 'flag', name: 'notebook-dir' }, settings.notebook_dir, 'an existing directory');
      }
    }
    const kernels = chooseKernels(settings.languages, Boolean(given.languages), env, this.log);
    const labPort = await choosePort(settings.port, 'port', Boolean(given.port));
    const gatewayPort = await choosePort(settings.gateway_port, 'gateway-port', Boolean(given.gateway_port), [labPort]);

    sweepStaleSandboxes(this.log);
    const dir = mkdtempSync(join(tmpdir(), SANDBOX_DIR_PREFIX));
    this.dir = dir;
    writeFileSync(join(dir, 'owner.pid'), String(process.pid));
    const tmp = join(dir, 'tmp');
    const lab = join(dir, 'lab');
    for (const d of [tmp, join(dir, 'logs'), join(lab, 'settings', '@jupyterlab', 'apputils-extension'), join(dir, 'notebooks')]) mkdirSync(d, { recursive: true });
    if (!notebookDir) notebookDir = join(dir, 'notebooks');

    const specsDir = await installKernelSpecs(kernels, { repoRoot, prefix: join(dir, 'kernelspecs'), configDir: join(dir, 'spec-config'), launchTimeout: settings.launch_timeout, env: base });

    const binary = await ensureClusterBinary({ log: (line) => this.log(buildProgress(line)) });
    this.log(`starting the embedded control plane (Kubernetes ${binary.kubernetesVersion}: etcd, kube-apiserver, controller manager, scheduler, a process node)`);
    const started = Date.now();
    this.cluster = await startCluster({
      binary: binary.path,
      images: kernelImages(kernels, repoRoot, pythonBin, tmp, base.PATH ?? '/usr/bin:/bin'),
      installSparkCrd: false,
      handleSignals: false,
      log: () => {},
    });
    const cluster = this.cluster;
    this.log(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)}s`);

    await createGatewayRbac(cluster);
    const gatewayKubeconfig = join(dir, 'gateway.kubeconfig');
    await writeGatewayKubeconfig(cluster, gatewayKubeconfig);

    const gatewayToken = randomBytes(24).toString('hex');
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // Tokens go through the environment, never the command line (which every user of the machine can read).
    const gateway = this.track(
      startProcess(dir, 'gp-gateway', process.execPath, [gatewayBin], {
        env: {
          ...base,
          TMPDIR: tmp,
          KUBECONFIG: gatewayKubeconfig,
          GP_NAMESPACE: KERNEL_NAMESPACE,
          GP_SHARED_NAMESPACE: 'true',
          GP_GATEWAY_IP: '127.0.0.1',
          GP_GATEWAY_PORT: String(gatewayPort),
          GP_GATEWAY_TOKEN: gatewayToken,
          GP_GATEWAY_KERNELSPEC_DIRS: specsDir,
          GP_GATEWAY_STATE_FILE: join(dir, 'gateway', 'kernels.json'),
          GP_GATEWAY_SHUTDOWN_POLICY: 'stop',
          GP_GATEWAY_ORPHAN_NAMESPACES: KERNEL_NAMESPACE,
          GP_RESPONSE_IP: '127.0.0.1',
          GP_RESPONSE_PORT: '0',
        },
      }),
    );
    await this.waitReady(gateway, 60_000, async () => (await fetch(`${gatewayUrl}/api/kernelspecs`, { headers: { Authorization: `token ${gatewayToken}` } })).ok);
    this.log(`gp-gateway serving at ${gatewayUrl} (as ServiceAccount ${KERNEL_NAMESPACE}/gp-gateway, kernels as pods in namespace ${KERNEL_NAMESPACE})`);

    // JupyterLab with its own config, data, runtime, settings and workspace dirs: nothing of the machine's
    // Jupyter setup leaks in, nothing is left behind. No news prompt (it would go online).
    writeFileSync(join(lab, 'settings', '@jupyterlab', 'apputils-extension', 'notification.jupyterlab-settings'), JSON.stringify({ fetchNews: 'false' }));
    const labToken = randomBytes(24).toString('hex');
    const username = userInfo().username;
    const labBase = `http://127.0.0.1:${labPort}`;
    const jupyter = this.track(
      startProcess(
        dir,
        'jupyterlab',
        join(pythonBin, 'jupyter-lab'),
        [
          '--no-browser',
          '--ip=127.0.0.1',
          `--port=${labPort}`,
          '--ServerApp.port_retries=0',
          `--ServerApp.root_dir=${notebookDir}`,
          `--GatewayClient.request_timeout=${settings.launch_timeout + 30}`,
          ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
        ],
        {
          cwd: notebookDir,
          env: {
            ...base,
            PATH: `${pythonBin}:${base.PATH ?? '/usr/bin:/bin'}`,
            TMPDIR: tmp,
            JUPYTER_CONFIG_DIR: join(lab, 'config'),
            JUPYTER_DATA_DIR: join(lab, 'data'),
            JUPYTER_RUNTIME_DIR: join(lab, 'runtime'),
            JUPYTER_PLATFORM_DIRS: '1',
            JUPYTERLAB_SETTINGS_DIR: join(lab, 'settings'),
            JUPYTERLAB_WORKSPACES_DIR: join(lab, 'workspaces'),
            JUPYTER_TOKEN: labToken,
            JUPYTER_GATEWAY_URL: gatewayUrl,
            JUPYTER_GATEWAY_AUTH_TOKEN: gatewayToken,
            // Kernel pods are named <user>-<kernel id>; gp refuses kernels for root (unauthorized_users).
            KERNEL_USERNAME: username === 'root' ? 'jovyan' : username,
            KERNEL_LAUNCH_TIMEOUT: String(settings.launch_timeout),
          },
        },
      ),
    );
    await this.waitReady(jupyter, 120_000, async () => (await fetch(`${labBase}/api/status`, { headers: { Authorization: `token ${labToken}` } })).ok);

    let kubeconfigPath: string | undefined;
    if (settings.kubeconfig) {
      kubeconfigPath = join(dir, 'kubeconfig');
      writeAdminKubeconfig(cluster, kubeconfigPath);
    }
    this.state = 'running';
    for (const p of this.processes) {
      void p.exited.then((code) => {
        if (this.state === 'running') {
          this.reportFailure(new ComponentError(p.name, `${p.name} stopped on its own (exit code ${code}); the last lines of ${p.logPath}:\n${logTail(p.logPath)}`, p.logPath));
        }
      });
    }
    return {
      labUrl: `${labBase}/lab?token=${labToken}`,
      gatewayUrl,
      kernels,
      dir,
      notebookDir,
      clusterDir: cluster.info.dir,
      ...(kubeconfigPath ? { kubeconfigPath } : {}),
    };
  }

  private track(p: ManagedProcess): ManagedProcess {
    this.processes.push(p);
    return p;
  }

  private async waitReady(p: ManagedProcess, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const code = p.exitCode();
      if (code !== undefined) {
        throw new ComponentError(p.name, `${p.name} exited with code ${code} while starting; the last lines of ${p.logPath}:\n${logTail(p.logPath)}`, p.logPath);
      }
      try {
        if (await check()) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new ComponentError(p.name, `${p.name} did not answer within ${timeoutMs / 1000}s; the last lines of ${p.logPath}:\n${logTail(p.logPath)}`, p.logPath);
      }
      await sleep(250);
    }
  }

  /**
   * Stops everything in order: JupyterLab, gp-gateway (which deletes its kernel pods), the cluster (its node
   * kills any pod process left), then the temp dir. Idempotent; safe after a failed start.
   */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    for (const p of [...this.processes].reverse()) {
      await p.stop(p.name === 'gp-gateway' ? 30_000 : 10_000).catch(() => undefined);
    }
    await this.cluster?.stop().catch(() => undefined);
    this.removeDir();
    this.state = 'stopped';
  }

  /**
   * Kills every process of the sandbox at once and removes its temp dir (a second Ctrl-C, a signal during the
   * start, process exit). The cluster, if it started, is killed by the testkit's own exit handler.
   */
  killSync(): void {
    for (const p of this.processes) p.killSync();
    terminateChildren();
    this.removeDir();
    this.state = 'stopped';
  }

  private removeDir(): void {
    if (!this.dir) return;
    // A --notebook-dir is the user's; only the sandbox's own dir goes.
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
