/**
 * Host-side kernel provisioners: the lifecycle of Gateway Provisioners' KubernetesProvisioner and
 * SparkOperatorProvisioner (pre_launch, launch_kernel + confirm_remote_startup, poll, wait, send_signal,
 * kill/terminate, shutdown_requested, cleanup, get/load_provisioner_info) on gp's building blocks:
 * `launchKernelResources` / `launchCustomResource` in-process (or the kernelspec's argv spawned, for other
 * launchers), readiness from the shared watches (`KernelWatcher`, fail-fast with the cause), the connection
 * information from the response listener, signals through the launcher's comm port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  checkTransportEncryptionResponse,
  GpError,
  RESPONSE_VERSIONS_ENV,
  resolveTransportEncryption,
  type ResolvedTransportEncryption,
  type VersionRefusal,
  parsePortRange,
  portRangeToString,
  sendCommRequest,
  sharedResponseListener,
  substituteArgv,
  silentLogger,
  type KernelConnectionInfo,
  type Logger,
  type ResponseListener,
  type ResponseRegistration,
} from '@gp/core';
import { parseLauncherArgs } from '../cli.js';
import { launchCustomResource, SPARK_APPLICATION, type CustomResourceType } from '../crd.js';
import { HELM_LAUNCH_TIMEOUT_ENV, KERNELSPEC_SETTINGS, readHostSettings, type Env, type HostSettings, type KernelSpecSetting } from '../env.js';
import { KubernetesApiError, type ObjectRef } from '../errors.js';
import { resolveLaunch, type LaunchRequest, type NamespaceMode, type ResolvedLaunch, type SparkInitMode as SparkContextInitMode } from '../inputs.js';
import { call, createKubeClient, loadKubeConfig, resourcePath, SA_TOKEN } from '../kube.js';
import { inClusterHost, launcherSpawnEnv } from './spawn-env.js';
import { transportEncryptionPolicy } from './encryption.js';
import { checkClientSparkOpts, sparkSubmitArgs } from '../spark-opts.js';
import { deleteKernelResources, launchKernelResources, type KernelResourcesHandle } from '../launch.js';
import { KernelLaunchCodes, KernelLaunchError } from '../watch/errors.js';
import { WatchHub } from '../watch/hub.js';
import { KernelWatcher, type KernelStatus } from '../watch/kernel-watcher.js';
import { resolveLaunchTimeout, type LaunchTimeout } from '../launch-policy/launch-timeout.js';
import { LaunchProgress, type LaunchProgressListener } from '../launch-policy/progress.js';
import type { PooledPodSource } from '../pool/types.js';
import { checkProvisionerInfo, handleFromInfo, PROVISIONER_INFO_VERSION, type CustomResourceRef, type ProvisionerInfo } from './info.js';
import {
  detectGpLauncher,
  provisionerConfig,
  substituteEnvValues,
  type GpLauncherInvocation,
  type KernelSpecLike,
  type ProvisionerConfig,
} from './kernelspec.js';


/** The launch's error when the kernel's launcher sent a payload version this host does not read. */
function versionRefusedError(kernelId: string, r: VersionRefusal): GpError {
  const sent = r.version === undefined ? 'an unknown payload version' : `a version ${r.version} payload`;
  const who = r.version === 1
    ? "The image runs a reference (Gateway Provisioners / Enterprise Gateway) launcher, or a gp launcher told RESPONSE_VERSION=1: use an image with gp's launchers, or let this host read version 1 (GP_RESPONSE_MIN_VERSION=1)."
    : r.version === 0
      ? 'The image runs a legacy Enterprise Gateway launcher: update its launchers (or set GP_RESPONSE_ALLOW_LEGACY=true, which is not confidential).'
      : "Update the image's launchers.";
  return new GpError(
    'GP_RESPONSE_VERSION_REFUSED',
    `Kernel ${kernelId}: its launcher sent ${sent}, which this host does not read (it reads version ${r.accepted}). ${who}`,
    { httpStatus: 502, details: { kernelId, version: r.version, accepted: r.accepted, from: r.from } },
  );
}

export const SIGINT = 2;
export const SIGKILL = 9;
export const SIGTERM = 15;

export interface ProvisionerOptions {
  kernelId: string;
  kernelSpec: KernelSpecLike;
  /** The kernelspec's name (`KERNEL_NAME`); defaults to the directory of its `scripts/`. */
  kernelName?: string;
  /** The kernelspec's directory, for a `{resource_dir}` placeholder in spawned argvs. */
  resourceDir?: string;
  /** Where to connect; defaults to in-cluster config / KUBECONFIG. */
  kubeConfig?: KubeConfig;
  /** The shared watches; defaults to `WatchHub.forKubeConfig(kubeConfig)`. */
  hub?: WatchHub;
  /** Defaults to the process-wide `sharedResponseListener()` (GP_RESPONSE_* settings). */
  responseListener?: ResponseListener;
  /** The host's environment: `GP_*` settings, `${VAR}` values, a spawned launcher's environment. Default `process.env`. */
  hostEnv?: Env;
  logger?: Logger;
  /**
   * Fail the launch when the connection information came from another address than the kernel pod's IP
   * (default true). Turn off only where the network rewrites source addresses (SNAT between pods and host).
   */
  verifyResponseSource?: boolean;
  /** Ceiling for a request's `KERNEL_LAUNCH_TIMEOUT` in seconds (default 600). */
  maxLaunchTimeout?: number;
  /** Grace `wait()` gives a kernel to end (the reference's 10 × 0.5 s). Default 5000 ms. */
  shutdownWaitMs?: number;
  /**
   * CurveZMQ policy (`disabled` / `auto` / `required`); default the host's `GP_TRANSPORT_ENCRYPTION` (`auto`).
   * See `@gp/core`'s protocol README, "Transport encryption".
   */
  transportEncryption?: string;
  /** Why the host that will connect cannot use CurveZMQ (e.g. its libzmq lacks it), if it cannot. */
  curveUnsupported?: string;
  /** Warm pools (`../pool/README.md`): a first launch claims a matching waiting pod from here instead of creating one. */
  pool?: PooledPodSource;
}

export interface PreLaunchOptions {
  /** The kernel request's environment (its `KERNEL_*` variables; a spawned launcher gets the rest too). */
  env?: Env;
  /** This launch's CurveZMQ policy (the reference's `transport_encryption` launch keyword); wins over the provisioner's. */
  transportEncryption?: string;
}

/** What `preLaunch` decided: the launch `launch()` will run. */
export interface PreparedLaunch {
  kernelId: string;
  /** `in-process` when the kernelspec runs gp's launch script, `spawn` otherwise. */
  mode: 'in-process' | 'spawn';
  /** The argv with placeholders substituted (what `spawn` runs). */
  argv: string[];
  /** The kernel's environment after the provisioner's changes (KERNEL_ID, KERNEL_IMAGE, names...). */
  env: Record<string, string>;
  namespace: string;
  namespaceMode: NamespaceMode;
  podName: string;
  username: string;
  launchTimeout: LaunchTimeout;
  restart: boolean;
}

export interface LaunchKernelOptions {
  /** Cancels the launch (GP_KERNEL_LAUNCH_CANCELLED); what was created is removed. */
  signal?: AbortSignal;
}

export interface TerminateOptions {
  /** A restart: keep a gp-created namespace for the next launch. */
  restart?: boolean;
}

interface Prepared extends PreparedLaunch {
  request: LaunchRequest;
  resolved: ResolvedLaunch;
  invocation?: GpLauncherInvocation;
  registration: ResponseRegistration;
  spawnEnv: Record<string, string>;
  encryption: ResolvedTransportEncryption;
}

/** The launcher subprocess of a spawned kernelspec argv failed. */
export class LauncherProcessError extends GpError {
  constructor(message: string, details: Record<string, unknown>, code = 'GP_LAUNCHER_FAILED') {
    super(code, message, { httpStatus: 500, details });
  }
}

/** A Spark kernelspec's run.sh failed: spark-submit (or the pod-template step before it) exited non-zero. */
export class SparkSubmitError extends LauncherProcessError {
  constructor(message: string, details: Record<string, unknown>) {
    super(message, details, 'GP_SPARK_SUBMIT_FAILED');
  }
}

/** Spark's own reason in spark-submit's output: the last exception line (`...Exception: message`), else the last lines. */
export function sparkSubmitReason(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('at ') && !l.startsWith('...'));
  const exception = [...lines].reverse().find((l) => /^(Caused by: |Exception in thread "[^"]*" )?[\w.$]+(Exception|Error)\b.*:/.test(l));
  return (exception ?? lines.slice(-3).join(' | ')).slice(0, 1000);
}

function stringEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Host settings a kernelspec overrode that were already warned about (once per kernelspec, not per kernel). */
const warnedOverrides = new Set<string>();

const ALIVE_PHASES = new Set(['waiting-for-sparkapplication', 'spark-submitting', 'waiting-for-pod', 'pending', 'scheduled', 'pulling', 'started', 'running']);

/**
 * The base of gp's Kubernetes provisioners. One instance per kernel (as jupyter_client makes one per kernel
 * manager); restarts reuse it: `kill({ restart: true })`, then `preLaunch` and `launch` again.
 */
export abstract class KubernetesProvisionerBase {
  readonly kernelId: string;
  protected readonly log: Logger;
  protected readonly hostEnv: Env;
  protected readonly config: ProvisionerConfig;
  protected readonly kc: KubeConfig;
  private readonly hub: WatchHub;
  private listener: ResponseListener | undefined;
  private progressChannel: LaunchProgress;
  private prepared: Prepared | undefined;
  private handle: KernelResourcesHandle | undefined;
  private watcher: KernelWatcher | undefined;
  private info: KernelConnectionInfo | undefined;
  private podIP: string | undefined;
  private hostIP: string | undefined;
  private launcherProcess: ChildProcess | undefined;
  private restarting = false;
  private launching = false;

  constructor(protected readonly options: ProvisionerOptions) {
    this.kernelId = options.kernelId;
    this.hostEnv = options.hostEnv ?? process.env;
    this.log = (options.logger ?? silentLogger).child({ kernel_id: options.kernelId });
    this.config = provisionerConfig(options.kernelSpec);
    this.kc = options.kubeConfig ?? loadKubeConfig(this.hostEnv);
    this.hub = options.hub ?? WatchHub.forKubeConfig(this.kc);
    this.listener = options.responseListener;
    this.progressChannel = new LaunchProgress(this.kernelId);
  }

  /** `kubernetes-provisioner` or `spark-operator-provisioner`. */
  abstract readonly provisionerName: string;
  protected abstract readonly kind: 'kubernetes' | 'spark-operator';
  protected abstract readonly launcherKind: 'kubernetes' | 'custom_resource';
  /** Creates the resources in-process; returns what to delete later. */
  protected abstract createResources(request: LaunchRequest, invocation: GpLauncherInvocation, restart: boolean): Promise<KernelResourcesHandle>;
  /** The handle a spawned launcher's resources will have (names are deterministic). */
  /** The kernel's own object (its pod, or its custom resource) as a launch would create it. */
  protected abstract plannedKernelObject(resolved: ResolvedLaunch): KernelResourcesHandle['objects'][number];

  /** The handle a launch of `r` creates (names are deterministic), for spawned launchers that return none. */
  protected plannedHandle(r: ResolvedLaunch): KernelResourcesHandle {
    const automatic = r.namespaceMode === 'auto';
    return {
      kernelId: r.kernelId,
      namespace: r.namespace,
      namespaceMode: r.namespaceMode,
      podName: r.podName,
      deleteNamespace: automatic,
      objects: [
        ...(automatic ? [{ apiVersion: 'v1', kind: 'Namespace', name: r.namespace }] : []),
        this.plannedKernelObject(r),
      ],
    };
  }
  protected abstract customResource(handle: KernelResourcesHandle): CustomResourceRef | undefined;

  /** The current launch's progress: namespace created, pod created, scheduled, pulling, started, connection info, ready. */
  get progress(): LaunchProgress {
    return this.progressChannel;
  }

  onProgress(listener: LaunchProgressListener): () => void {
    return this.progressChannel.on(listener);
  }

  /**
   * For warm pools (`../pool`): the in-process launch `preLaunch` prepared (request, resolution, the kernelspec's
   * template directory), or undefined (nothing prepared, or a spawned argv).
   */
  get preparedInProcessLaunch(): { request: LaunchRequest; resolved: ResolvedLaunch; templateDir: string } | undefined {
    const p = this.prepared;
    return p?.invocation ? { request: p.request, resolved: p.resolved, templateDir: p.invocation.scriptDir } : undefined;
  }

  /** The connection information of the running kernel (`ip` is the pod IP). Holds secrets. */
  get connectionInfo(): KernelConnectionInfo | undefined {
    return this.info;
  }

  /** Whether a kernel is (or was) launched or re-attached and not yet cleaned up. */
  get hasProcess(): boolean {
    return this.handle !== undefined;
  }

  /** The objects to delete, once known. */
  get resources(): KernelResourcesHandle | undefined {
    return this.handle;
  }

  /** Status from the watch cache (no API request), while a watcher follows the kernel. */
  status(): KernelStatus | undefined {
    return this.watcher?.status();
  }

  private async responseListener(): Promise<ResponseListener> {
    this.listener ??= await sharedResponseListener({ logger: this.log });
    return this.listener;
  }

  /** The host settings with the kernelspec's user lists applied. */
  protected settings(host: HostSettings = readHostSettings(this.hostEnv)): HostSettings {
    const s = { ...host };
    const sources = { ...(host.userListSources ?? { authorizedUsers: 'GP_AUTHORIZED_USERS', unauthorizedUsers: 'GP_UNAUTHORIZED_USERS' }) };
    // Refusals name the list that decided: the kernelspec's, when it replaced the host's.
    const fromSpec = (key: string) => `${key} of kernelspec '${this.kernelSpecLabel()}' (kernel.json)`;
    if (this.config.authorizedUsers) {
      s.authorizedUsers = this.config.authorizedUsers;
      sources.authorizedUsers = fromSpec('authorized_users');
    }
    if (this.config.unauthorizedUsers) {
      s.unauthorizedUsers = this.config.unauthorizedUsers;
      sources.unauthorizedUsers = fromSpec('unauthorized_users');
    }
    s.userListSources = sources;
    return s;
  }

  /** How warnings name this kernelspec: its name, else its directory, else its display name. */
  private kernelSpecLabel(): string {
    const spec = this.options.kernelSpec;
    return this.options.kernelName ?? detectGpLauncher(spec.argv)?.kernelName ?? this.options.resourceDir ?? spec.display_name ?? spec.argv.join(' ');
  }

  /**
   * The reference's precedence (facts §4) is kept: kernel.json's `metadata.kernel_provisioner.config` wins over
   * the host's `GP_*` env. Because `k8s-spec install` always writes `image_name` and `launch_timeout`, a host
   * value is then silently dead (GP #135): say so, once per kernelspec, setting and pair of values.
   */
  private warnAboutOverriddenHostSettings(host: HostSettings): void {
    const kernelSpecValues: Record<KernelSpecSetting, unknown> = {
      image_name: this.config.imageName,
      executor_image_name: this.config.executorImageName,
      launch_timeout: this.config.launchTimeout,
      port_range: this.config.portRange,
      authorized_users: this.config.authorizedUsers,
      unauthorized_users: this.config.unauthorizedUsers,
    };
    const hostValues: Record<KernelSpecSetting, unknown> = {
      image_name: host.imageName,
      executor_image_name: host.executorImageName,
      launch_timeout: host.launchTimeout,
      port_range: portRangeToString(host.portRange),
      authorized_users: host.authorizedUsers,
      unauthorized_users: host.unauthorizedUsers,
    };
    const kernelspec = this.kernelSpecLabel();
    for (const setting of KERNELSPEC_SETTINGS) {
      const envName = host.setBy[setting];
      const specValue = kernelSpecValues[setting];
      if (envName === undefined || specValue === undefined) continue;
      const specText = String(specValue);
      const hostText = String(hostValues[setting]);
      if (specText === hostText) continue;
      const key = JSON.stringify([kernelspec, setting, specText, envName, hostText]);
      if (warnedOverrides.has(key)) continue;
      warnedOverrides.add(key);
      this.log.warn(
        `The kernelspec's ${setting} (${specText}) wins over the host's ${envName} (${hostText}), as in Gateway Provisioners; ` +
          `remove ${setting} from metadata.kernel_provisioner.config in kernel.json to use the host's value.`,
        { kernelspec, setting, kernelspec_value: specText, env: envName, env_value: hostText },
      );
    }
    const helmTimeout = this.hostEnv[HELM_LAUNCH_TIMEOUT_ENV];
    const timeoutSource = host.setBy.launch_timeout;
    if (helmTimeout && timeoutSource !== undefined && timeoutSource !== HELM_LAUNCH_TIMEOUT_ENV && helmTimeout.trim() !== String(host.launchTimeout)) {
      const key = JSON.stringify([kernelspec, HELM_LAUNCH_TIMEOUT_ENV, helmTimeout, timeoutSource, host.launchTimeout]);
      if (!warnedOverrides.has(key)) {
        warnedOverrides.add(key);
        this.log.warn(`${HELM_LAUNCH_TIMEOUT_ENV} (${helmTimeout}) is ignored: ${timeoutSource} (${host.launchTimeout}) comes first.`, {
          kernelspec,
          env: HELM_LAUNCH_TIMEOUT_ENV,
          env_value: helmTimeout,
          used: timeoutSource,
        });
      }
    }
  }

  /**
   * Prepares the launch: the kernel's environment (kernel.json env with `${VAR}` substituted, the request's,
   * `KERNEL_ID`, `KERNEL_LANGUAGE`, `KERNEL_IMAGE` from `image_name`...), authorization and names through the
   * launcher's own resolution (`resolveLaunch`: throws its typed errors before anything exists), the launch
   * timeout, and a response-listener registration whose address and key go into the argv.
   */
  async preLaunch(options: PreLaunchOptions = {}): Promise<PreparedLaunch> {
    if (this.prepared) this.prepared.registration.cancel();
    this.prepared = undefined;
    if (this.progressChannel.history.length > 0 || this.progressChannel.isClosed) this.progressChannel = new LaunchProgress(this.kernelId);
    const spec = this.options.kernelSpec;
    const env: Record<string, string> = {
      ...substituteEnvValues(spec.env ?? {}, this.hostEnv),
      ...stringEnv(options.env ?? {}),
    };
    // jupyter_client's _finalize_env and the container provisioner's pre_launch.
    env.KERNEL_ID = this.kernelId;
    if (!env.KERNEL_LANGUAGE && spec.language) env.KERNEL_LANGUAGE = spec.language.toLowerCase();
    delete env.GP_REMOTE_PWD;
    delete env.LS_COLORS;
    if (this.config.imageName) env.KERNEL_IMAGE = this.config.imageName;
    if (this.config.executorImageName) env.KERNEL_EXECUTOR_IMAGE = this.config.executorImageName;
    else if (this.config.imageName) env.KERNEL_EXECUTOR_IMAGE = this.config.imageName;

    // The host's GP_* settings, parsed by @gp/core's definitions: a bad value is a ConfigError naming the
    // variable, raised here, before anything is registered or created.
    const host = readHostSettings(this.hostEnv);
    this.warnAboutOverriddenHostSettings(host);
    const launchTimeout = resolveLaunchTimeout({
      configured: this.config.launchTimeout ?? host.launchTimeout,
      configuredSource:
        this.config.launchTimeout !== undefined
          ? { kind: 'kernelspec', path: 'metadata.kernel_provisioner.config.launch_timeout' }
          : host.setBy.launch_timeout !== undefined
            ? { kind: 'env', name: host.setBy.launch_timeout }
            : { kind: 'default' },
      requested: options.env?.KERNEL_LAUNCH_TIMEOUT,
      ...(this.options.maxLaunchTimeout !== undefined ? { adminMaximum: this.options.maxLaunchTimeout } : {}),
    });
    if (launchTimeout.clamped) this.log.warn('KERNEL_LAUNCH_TIMEOUT above the maximum; clamped', { seconds: launchTimeout.seconds });

    const portRange = portRangeToString(
      this.config.portRange !== undefined
        ? parsePortRange(this.config.portRange, {
            option: 'port_range',
            source: { kind: 'kernelspec', path: 'metadata.kernel_provisioner.config.port_range' },
            minSize: host.minPortRangeSize,
          })
        : host.portRange,
    );
    // Resolved before anything is registered or created: `required` with a kernelspec that cannot do it ends here.
    const encryption = resolveTransportEncryption({
      kernelId: this.kernelId,
      policy: transportEncryptionPolicy(options.transportEncryption, this.options.transportEncryption, this.hostEnv),
      kernelSpec: spec,
      ...(this.options.curveUnsupported ? { hostUnsupported: this.options.curveUnsupported } : {}),
    });
    if (encryption.reason) {
      this.log.warn("Transport encryption cannot be applied; the kernel starts unencrypted since the policy is 'auto'", { reason: encryption.reason });
    }
    const listener = await this.responseListener();
    const registration = await listener.register(this.kernelId);
    try {
      const argv = substituteArgv(spec.argv, {
        transport_encryption: encryption.enabled ? encryption.policy : '',
        kernel_id: this.kernelId,
        response_address: registration.responseAddress,
        public_key: registration.publicKey,
        port_range: portRange,
        ...(this.options.resourceDir ? { resource_dir: this.options.resourceDir } : {}),
      });
      const invocation = detectGpLauncher(argv);
      const settings = this.settings(host);
      let request: LaunchRequest;
      if (invocation) {
        if (invocation.kind !== this.launcherKind) {
          throw new GpError(
            'GP_INVALID_KERNELSPEC',
            `The kernelspec runs launch_${invocation.kind}.mjs, which ${this.provisionerName} does not follow; use ${invocation.kind === 'kubernetes' ? 'kubernetes-provisioner' : 'spark-operator-provisioner'}.`,
            { httpStatus: 500, details: { argv: spec.argv, provisioner: this.provisionerName } },
          );
        }
        const parsed = parseLauncherArgs(invocation.kind, invocation.args);
        if (parsed.help) throw new GpError('GP_INVALID_KERNELSPEC', 'The kernelspec argv asks the launcher for --help.', { httpStatus: 500 });
        const v = parsed.values;
        if (v['dry-run'] || v['pod-template']) throw new GpError('GP_INVALID_KERNELSPEC', 'The kernelspec argv runs the launcher with --dry-run or --pod-template, which create nothing.', { httpStatus: 500 });
        request = {
          kernelId: String(v['kernel-id']),
          responseAddress: String(v['response-address']),
          publicKey: String(v['public-key']),
          env,
          settings,
          ...(currentUser() !== undefined ? { defaultUsername: currentUser() } : {}),
          ...(typeof v['port-range'] === 'string' ? { portRange: v['port-range'] } : {}),
          ...(typeof v['spark-context-initialization-mode'] === 'string' ? { sparkContextInitMode: v['spark-context-initialization-mode'] as SparkContextInitMode } : {}),
          ...(typeof v['kernel-class-name'] === 'string' ? { kernelClassName: v['kernel-class-name'] } : {}),
          ...(typeof v['transport-encryption'] === 'string' ? { transportEncryption: v['transport-encryption'] } : {}),
          responseVersions: registration.responseVersions,
        };
        const kernelName = this.options.kernelName ?? invocation.kernelName;
        if (kernelName) request.kernelName = kernelName;
        if (request.kernelId !== this.kernelId) {
          throw new GpError('GP_INVALID_KERNELSPEC', `The kernelspec argv passes --kernel-id ${request.kernelId}, not this kernel's id ${this.kernelId}; use the {kernel_id} placeholder.`, { httpStatus: 500 });
        }
      } else {
        request = {
          kernelId: this.kernelId,
          responseAddress: registration.responseAddress,
          publicKey: registration.publicKey,
          portRange,
          env,
          settings,
          responseVersions: registration.responseVersions,
          ...(currentUser() !== undefined ? { defaultUsername: currentUser() } : {}),
          ...(this.options.kernelName ? { kernelName: this.options.kernelName } : {}),
        };
      }
      // The launcher's own resolution: authorization, uid/gid policy, names, namespace mode.
      const resolved = resolveLaunch(request);
      env.KERNEL_USERNAME = resolved.username;
      env.KERNEL_POD_NAME = resolved.podName;
      env.KERNEL_SERVICE_ACCOUNT_NAME = resolved.serviceAccountName;
      // A spawned launcher gets the namespace it must use, except in automatic mode, where gp's launcher
      // creates it (and would read a KERNEL_NAMESPACE as bring-your-own).
      if (resolved.namespaceMode !== 'auto') env.KERNEL_NAMESPACE = resolved.namespace;
      if (invocation) request.env = env;
      // A client's spark-submit options are checked here (403 naming admin-owned settings); a spawned run.sh gets
      // the whole option list split into one argument per line, so it never evals or globs a client's text.
      if (env.KERNEL_EXTRA_SPARK_OPTS) checkClientSparkOpts(env.KERNEL_EXTRA_SPARK_OPTS);
      const adminSparkOpts = env.SPARK_OPTS || env.__TOREE_SPARK_OPTS__;
      if (!invocation && adminSparkOpts !== undefined) {
        env.GP_SPARK_SUBMIT_ARGS = sparkSubmitArgs(adminSparkOpts, { ...stringEnv(this.hostEnv), ...env }).join('\n');
      }
      // The kernel's part of a spawned launcher's environment; spawnLauncher adds only what a launcher needs
      // from the host (spawn-env.ts), never the host's environment.
      // It announces the payload versions this host reads (the reference's launch_kubernetes.py copies its
      // environment into the pod, where gp's launcher reads it); nobody else may set it.
      const spawnEnv = { ...env, [RESPONSE_VERSIONS_ENV]: registration.responseVersions };
      this.prepared = {
        kernelId: this.kernelId,
        mode: invocation ? 'in-process' : 'spawn',
        argv,
        env,
        namespace: resolved.namespace,
        namespaceMode: resolved.namespaceMode,
        podName: resolved.podName,
        username: resolved.username,
        launchTimeout,
        restart: this.restarting,
        request,
        resolved,
        ...(invocation ? { invocation } : {}),
        registration,
        spawnEnv,
        encryption,
      };
      this.log.info('Kernel launch prepared', {
        mode: this.prepared.mode,
        namespace: resolved.namespace,
        namespace_mode: resolved.namespaceMode,
        pod: resolved.podName,
        username: resolved.username,
        launch_timeout: launchTimeout.seconds,
        transport_encryption: encryption.enabled ? encryption.policy : 'disabled',
      });
      const { request: _r, resolved: _s, invocation: _i, registration: _g, spawnEnv: _e, encryption: _c, ...publicPart } = this.prepared;
      return publicPart;
    } catch (e) {
      registration.cancel();
      throw e;
    }
  }

  /**
   * Launches the kernel and waits until it is ready: creates its resources (or spawns the kernelspec's
   * launcher), follows the pod through the shared watches (failing at once with the cause: image pull,
   * unschedulable, crash...), then waits for the connection information while watching for a crash.
   * On any failure everything created is removed and the typed error is thrown (`KernelLaunchError`,
   * the launcher's errors, `LauncherProcessError`). Returns the connection info with `ip` = the pod IP.
   */
  async launch(options: LaunchKernelOptions = {}): Promise<KernelConnectionInfo> {
    const p = this.prepared;
    if (!p) throw new GpError('GP_PROVISIONER_STATE', 'launch() needs preLaunch() first.', { httpStatus: 500 });
    this.prepared = undefined;
    this.launching = true;
    const started = Date.now();
    const progress = this.progressChannel;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let processFailure: Promise<never> | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (options.signal?.aborted) throw cancelledError(p, 'before-launch');
      if (p.invocation) {
        // Warm pools: a first launch may get a waiting pod that matches it exactly (never on restart).
        const pooled = p.restart || !this.options.pool ? undefined : await this.options.pool.claim({ kernelId: this.kernelId, resolved: p.resolved, registration: p.registration, logger: this.log });
        this.handle = pooled ?? (await this.createResources(p.request, p.invocation, p.restart));
        if (this.handle.namespaceMode === 'auto' && !p.restart) progress.emit('namespace-created', `Namespace ${this.handle.namespace} created`, { namespace: this.handle.namespace });
      } else {
        this.handle = this.plannedHandle(p.resolved);
        processFailure = this.spawnLauncher(p);
        processFailure.catch(() => undefined);
      }
      this.restarting = false;
      const watcher = this.follow(this.handle, progress);
      const placement = await race(
        watcher.waitUntilRunning({ timeoutMs: Math.max(1, p.launchTimeout.ms - (Date.now() - started)), signal: ac.signal }),
        processFailure,
      );
      this.podIP = placement.podIP;
      this.hostIP = placement.hostIP;
      const remaining = Math.max(1, p.launchTimeout.ms - (Date.now() - started));
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(watcher.launchTimeoutError(p.launchTimeout.ms, { elapsedMs: Date.now() - started, phase: 'waiting-for-connection-info' })), remaining);
      });
      const cancelled = new Promise<never>((_, reject) => {
        const fail = (): void => reject(cancelledError(p, 'waiting-for-connection-info'));
        if (ac.signal.aborted) fail();
        else ac.signal.addEventListener('abort', fail, { once: true });
      });
      cancelled.catch(() => undefined);
      // A payload the host cannot read (e.g. a reference launcher's version 1 under GP_RESPONSE_MIN_VERSION=2)
      // will never be followed by one it can: fail now, with that cause, instead of at the timeout.
      const refused = p.registration.whenVersionRefused(placement.podIP).then((r) => Promise.reject(versionRefusedError(this.kernelId, r)));
      refused.catch(() => undefined);
      const info = await race(
        Promise.race([
          p.registration.connectionInfo,
          refused,
          watcher.whenFailed(ac.signal).then((e) => Promise.reject(e)),
          timeout,
          cancelled,
        ]),
        processFailure,
      );
      if (this.options.verifyResponseSource !== false && info.response_from && info.response_from !== placement.podIP) {
        throw new GpError(
          'GP_RESPONSE_SOURCE_MISMATCH',
          `Kernel ${this.kernelId}: the connection information came from ${info.response_from}, not from the kernel pod's IP ${placement.podIP}; refusing it (someone else may have answered for the kernel). Set verifyResponseSource: false only if the network rewrites source addresses.`,
          { httpStatus: 502, details: { kernelId: this.kernelId, responseFrom: info.response_from, podIP: placement.podIP, pod: placement.podName } },
        );
      }
      // Keys asked for but not returned: `required` fails here (the catch below removes the pod), `auto` warns.
      const transport = checkTransportEncryptionResponse(info, p.encryption);
      if (transport.warning) this.log.warn("Transport encryption was requested but is not in effect; the kernel runs unencrypted since the policy is 'auto'", { reason: transport.warning });
      info.ip = placement.podIP;
      this.info = info;
      progress.emit('connection-info-received', `Connection information received from ${placement.podName}`, { podIP: placement.podIP, responseVersion: info.response_version });
      progress.emit('ready', `Kernel ${this.kernelId} is ready`, { pod: placement.podName, namespace: this.handle.namespace });
      this.log.info('Kernel ready', { pod: placement.podName, namespace: this.handle.namespace, pod_ip: placement.podIP, response_version: info.response_version, transport_encryption: transport.encrypted ? 'curve' : 'none', elapsed_ms: Date.now() - started });
      return info;
    } catch (error) {
      const e = this.launchError(error, p, started);
      this.log.error('Kernel launch failed; removing its resources', { error: e, code: (e as GpError).code });
      p.registration.cancel();
      this.killLauncherProcess();
      await this.removeResources(false).catch((cleanupError: unknown) => this.log.warn('Could not remove the failed kernel\'s resources', { error: cleanupError }));
      this.closeWatcher();
      this.handle = undefined;
      throw e;
    } finally {
      this.launching = false;
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      ac.abort();
      progress.close();
    }
  }

  private launchError(error: unknown, p: Prepared, started: number): unknown {
    if (error instanceof GpError && error.code === 'GP_RESPONSE_WAIT_ENDED') {
      return this.watcher?.launchTimeoutError(p.launchTimeout.ms, { elapsedMs: Date.now() - started, phase: 'waiting-for-connection-info' }) ?? error;
    }
    return error;
  }

  private follow(handle: KernelResourcesHandle, progress: LaunchProgress): KernelWatcher {
    this.closeWatcher();
    const cr = this.customResource(handle);
    this.watcher = new KernelWatcher(this.hub, {
      namespace: handle.namespace,
      kernelId: this.kernelId,
      ...(cr ? { sparkApplication: cr } : { podName: handle.podName }),
      progress,
      logger: this.log,
    });
    return this.watcher;
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Runs a kernelspec argv that is not gp's launcher (e.g. the reference's `launch_kubernetes.py`), as the reference does. */
  private spawnLauncher(p: Prepared): Promise<never> {
    const [command, ...args] = p.argv;
    if (!command) throw new GpError('GP_INVALID_KERNELSPEC', 'The kernelspec argv is empty.', { httpStatus: 500 });
    this.log.info('Starting the kernelspec launcher', { command });
    // Cluster access: in a pod, the in-cluster address (its token is a file); elsewhere a launch-scoped
    // kubeconfig written from the host's, removed when the launcher exits.
    let kubeDir: string | undefined;
    let kubeconfigPath: string | undefined;
    if (!inClusterHost(this.hostEnv, this.options.kubeConfig !== undefined, existsSync(SA_TOKEN))) {
      kubeDir = mkdtempSync(join(tmpdir(), 'gp-launcher-kube-'));
      kubeconfigPath = join(kubeDir, 'kubeconfig');
      writeFileSync(kubeconfigPath, this.kc.exportConfig(), { mode: 0o600 });
    }
    const env = launcherSpawnEnv({ hostEnv: this.hostEnv, kernelEnv: p.spawnEnv, ...(kubeconfigPath ? { kubeconfigPath } : {}) });
    const removeKubeDir = (): void => {
      if (kubeDir) rmSync(kubeDir, { recursive: true, force: true });
      kubeDir = undefined;
      // A Spark run.sh removes its pod-template directory itself, unless it was killed (SIGKILL): then here.
      if (p.spawnEnv.GP_SPARK_SUBMIT_ARGS !== undefined) {
        rmSync(join(this.hostEnv.GP_POD_TEMPLATE_DIR || tmpdir(), `kpt_${this.kernelId}`), { recursive: true, force: true });
      }
    };
    let child: ChildProcess;
    try {
      child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      removeKubeDir();
      throw err;
    }
    child.once('exit', removeKubeDir);
    child.once('error', removeKubeDir);
    this.launcherProcess = child;
    let output = '';
    const keep = (c: Buffer): void => {
      output = (output + c.toString()).slice(-16000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return new Promise<never>((_, reject) => {
      child.once('error', (err) => reject(new LauncherProcessError(`The kernelspec launcher ${command} could not start: ${err.message}`, { command })));
      child.once('exit', (code, signal) => {
        if (this.launcherProcess === child) this.launcherProcess = undefined;
        if (code === 0) {
          this.log.debug('Kernelspec launcher finished', { command });
          return; // never settles: the launcher's job is done, the watcher follows the kernel
        }
        const how = signal ? `signal ${signal}` : `code ${code}`;
        if (p.spawnEnv.GP_SPARK_SUBMIT_ARGS !== undefined) {
          reject(new SparkSubmitError(`Kernel ${this.kernelId}: spark-submit (${command}) exited with ${how}: ${sparkSubmitReason(output)}`, { command, exitCode: code, signal }));
          return;
        }
        reject(
          new LauncherProcessError(`The kernelspec launcher ${command} exited with ${how}: ${output.trim().split('\n').slice(-5).join(' | ')}`, {
            command,
            exitCode: code,
            signal,
          }),
        );
      });
    });
  }

  private killLauncherProcess(): void {
    try {
      this.launcherProcess?.kill('SIGKILL');
    } catch {
      // already gone
    }
    this.launcherProcess = undefined;
  }

  /**
   * `None`-or-exit-code, as jupyter_client's `poll()`: `null` while the kernel's pod is pending or running,
   * otherwise its exit code (0 when unknown, as the reference: "pod not found" is 0). From the watch cache: no API request.
   */
  poll(): number | null {
    const s = this.watcher?.status();
    if (!s) return this.launching ? null : 0;
    if (ALIVE_PHASES.has(s.phase)) return null;
    const exitCode = s.classification?.exitCode ?? s.error?.failure.exitCode;
    return typeof exitCode === 'number' ? exitCode : 0;
  }

  /**
   * Resolves with the exit status once the kernel is no longer running, or `null` after `timeoutMs`
   * (default `shutdownWaitMs`, 5 s, as the reference's bounded wait).
   */
  async wait(options: { timeoutMs?: number } = {}): Promise<number | null> {
    const now = this.poll();
    if (now !== null || !this.watcher) return now;
    const watcher = this.watcher;
    const timeoutMs = options.timeoutMs ?? this.options.shutdownWaitMs ?? 5000;
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        off();
        resolve(this.poll());
      };
      const t = setTimeout(done, timeoutMs);
      const off = watcher.onChange(() => {
        if (this.poll() !== null) done();
      });
    });
  }

  /**
   * 0 → `poll()`; SIGKILL → `kill()`; any other signal → `{"signum": n}` to the launcher's comm port
   * (authenticated when the launcher sent a comm secret). Resolves `false` when nothing could be delivered.
   */
  async sendSignal(signum: number): Promise<boolean> {
    if (signum === 0) return this.poll() === null;
    if (signum === SIGKILL) {
      await this.kill();
      return true;
    }
    const target = this.commTarget();
    if (!target) {
      this.log.warn('No comm port to send the signal to', { signum });
      return false;
    }
    const result = await sendCommRequest(target, { signum }, { ...(this.info?.comm_secret ? { secret: this.info.comm_secret } : {}), logger: this.log });
    return result.delivered;
  }

  /** SIGINT through the comm port (interrupt_mode "signal"). */
  interrupt(): Promise<boolean> {
    return this.sendSignal(SIGINT);
  }

  private commTarget(): { host: string; port: number } | undefined {
    const port = this.info?.comm_port;
    const host = this.podIP ?? this.info?.ip;
    return port && host ? { host, port } : undefined;
  }

  /** Deletes the kernel's pod (or SparkApplication) and, unless restarting, a gp-created namespace. */
  async kill(options: TerminateOptions = {}): Promise<void> {
    this.killLauncherProcess();
    await this.removeResources(options.restart ?? false);
    // A restart creates a pod of the same name next: let the watch see this one go first.
    if (options.restart) await this.wait();
  }

  /** As the reference, the same as `kill()`: pods have no gentler stop that the launcher does not already get. */
  terminate(options: TerminateOptions = {}): Promise<void> {
    return this.kill(options);
  }

  /**
   * The kernel manager asked the kernel to shut down: tell the launcher (`{"shutdown": 1}` on the comm port),
   * then delete the resources (keeping a gp-created namespace on restart).
   */
  async shutdownRequested(options: TerminateOptions = {}): Promise<void> {
    const target = this.commTarget();
    if (target && this.poll() === null) {
      try {
        await sendCommRequest(target, { shutdown: 1 }, { ...(this.info?.comm_secret ? { secret: this.info.comm_secret } : {}), logger: this.log });
      } catch (e) {
        this.log.warn('The launcher did not take the shutdown request', { error: e });
      }
    }
    await this.removeResources(options.restart ?? false);
    if (options.restart) await this.wait();
  }

  /**
   * Releases what the provisioner holds (watches, registration, launcher process). Deletes nothing itself
   * (`kill`/`shutdownRequested` do), except a kernel whose resources are still listed when not restarting.
   */
  async cleanup(options: TerminateOptions = {}): Promise<void> {
    this.prepared?.registration.cancel();
    this.prepared = undefined;
    this.killLauncherProcess();
    if (!options.restart && this.handle) await this.removeResources(false).catch((e: unknown) => this.log.warn('cleanup could not delete the kernel resources', { error: e }));
    this.closeWatcher();
    this.info = undefined;
    this.podIP = undefined;
    this.hostIP = undefined;
    if (!options.restart) this.handle = undefined;
  }

  /** The reference's recommended shutdown wait, in seconds. */
  getShutdownWaitTime(recommended = 5): number {
    return recommended;
  }

  private async removeResources(restart: boolean): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    await deleteKernelResources(handle, { kubeConfig: this.kc, logger: this.log, keepNamespace: restart });
    this.restarting = restart;
  }

  /** Everything needed to re-attach after a host restart (see README). Holds secrets: store it, never log it. */
  getProvisionerInfo(): ProvisionerInfo {
    const out: ProvisionerInfo = { kernel_id: this.kernelId };
    if (this.info) out.connection_info = { ...this.info };
    if (this.podIP) {
      out.assigned_ip = this.podIP;
      out.ip = this.podIP;
    }
    if (this.hostIP) out.assigned_node_ip = this.hostIP;
    if (this.info?.comm_port) {
      out.comm_port = this.info.comm_port;
      if (this.podIP) out.comm_ip = this.podIP;
    }
    const h = this.handle;
    if (h) {
      out.assigned_host = h.podName;
      out.kernel_ns = h.namespace;
      out.delete_ns = h.deleteNamespace;
      const cr = this.customResource(h);
      out.gp = {
        version: PROVISIONER_INFO_VERSION,
        provisioner: this.kind,
        namespace_mode: h.namespaceMode,
        pod_name: h.podName,
        objects: h.objects.map((o) => ({ ...o })),
        ...(cr ? { custom_resource: cr } : {}),
      };
    }
    return out;
  }

  /**
   * Re-attaches to a kernel from `getProvisionerInfo()` (this or an earlier process): follows it again through
   * the watches, after one read of its pod / SparkApplication. A kernel found dead (gone, failed, finished) has
   * its remaining resources deleted; resolves `true` when the kernel is alive.
   */
  async loadProvisionerInfo(value: ProvisionerInfo): Promise<boolean> {
    const info = checkProvisionerInfo(value);
    if (info.kernel_id !== this.kernelId) {
      throw new GpError('GP_PROVISIONER_STATE', `Provisioner info is for kernel ${info.kernel_id}, not ${this.kernelId}.`, { httpStatus: 500 });
    }
    const handle = handleFromInfo(info);
    this.info = info.connection_info ? { ...info.connection_info } : undefined;
    this.podIP = info.assigned_ip ?? info.ip ?? info.connection_info?.ip;
    this.hostIP = info.assigned_node_ip;
    this.handle = handle;
    if (!handle) return false;
    if (info.gp?.custom_resource) this.loadedCustomResource = info.gp.custom_resource;
    const alive = await this.readAlive(handle);
    if (!alive) {
      this.log.info('Re-attached kernel is not running; deleting what is left of it', { namespace: handle.namespace, pod: handle.podName });
      await this.removeResources(false).catch((e: unknown) => this.log.warn('Could not delete the dead kernel\'s resources', { error: e }));
      this.closeWatcher();
      return false;
    }
    const progress = new LaunchProgress(this.kernelId);
    progress.close();
    const watcher = this.follow(handle, progress);
    // The watch cache must hold the pod before poll() can tell "not seen yet" from "gone".
    if (!(await seen(watcher, REATTACH_SYNC_MS))) {
      this.log.info('Re-attached kernel vanished before its watch saw it; deleting what is left of it', { namespace: handle.namespace, pod: handle.podName });
      await this.removeResources(false).catch((e: unknown) => this.log.warn('Could not delete the dead kernel\'s resources', { error: e }));
      this.closeWatcher();
      return false;
    }
    return true;
  }

  /**
   * Releases the watches and forgets the kernel without touching it (the host goes away and will re-attach from
   * `getProvisionerInfo()` later).
   */
  detach(): void {
    this.prepared?.registration.cancel();
    this.prepared = undefined;
    this.closeWatcher();
    this.handle = undefined;
    this.info = undefined;
  }

  /** Set by loadProvisionerInfo for the Spark subclass. */
  protected loadedCustomResource: CustomResourceRef | undefined;

  /** One read at re-attach: is the kernel's pod (or SparkApplication) there and not finished? */
  private async readAlive(handle: KernelResourcesHandle): Promise<boolean> {
    const client = createKubeClient(this.kc);
    const cr = this.customResource(handle);
    const ref: ObjectRef = cr
      ? { apiVersion: `${cr.group}/${cr.version}`, kind: 'SparkApplication', name: cr.name, namespace: handle.namespace, plural: cr.plural }
      : { apiVersion: 'v1', kind: 'Pod', name: handle.podName, namespace: handle.namespace };
    try {
      const obj = await call<{ metadata?: { deletionTimestamp?: string }; status?: { phase?: string; applicationState?: { state?: string } } }>(client, 'get', ref, {
        method: 'GET',
        path: resourcePath(ref),
      });
      if (obj.metadata?.deletionTimestamp) return false;
      if (cr) return !['FAILED', 'COMPLETED', 'SUBMISSION_FAILED', 'FAILING'].includes(obj.status?.applicationState?.state ?? '');
      return !['Succeeded', 'Failed'].includes(obj.status?.phase ?? '');
    } catch (e) {
      if (e instanceof KubernetesApiError && e.isNotFound) return false;
      throw e;
    }
  }
}

function cancelledError(p: PreparedLaunch, phase: string): KernelLaunchError {
  return new KernelLaunchError(KernelLaunchCodes.cancelled, 'the launch was cancelled', {
    kernelId: p.kernelId,
    namespace: p.namespace,
    resourceName: p.podName,
    reason: 'Cancelled',
    phase,
    events: [],
  });
}

const REATTACH_SYNC_MS = 30_000;

/** Resolves true once the watcher's cache holds the kernel's pod (or reports it gone/failed), false after `ms`. */
function seen(watcher: KernelWatcher, ms: number): Promise<boolean> {
  const has = (st: KernelStatus): boolean | undefined => (st.error ? false : st.pod ? true : undefined);
  const now = has(watcher.status());
  if (now !== undefined) return Promise.resolve(now);
  return new Promise((resolve) => {
    const off = watcher.onChange((st) => {
      const v = has(st);
      if (v !== undefined) {
        clearTimeout(t);
        off();
        resolve(v);
      }
    });
    const t = setTimeout(() => {
      off();
      resolve(false);
    }, ms);
  });
}

/** Settles with `p`, or rejects when `failure` (a launcher process dying) rejects first. */
function race<T>(p: Promise<T>, failure: Promise<never> | undefined): Promise<T> {
  return failure ? Promise.race([p, failure]) : p;
}

/** Kernels as pods: `metadata.kernel_provisioner.provisioner_name` `kubernetes-provisioner`. */
export class KubernetesProvisioner extends KubernetesProvisionerBase {
  readonly provisionerName = 'kubernetes-provisioner';
  protected readonly kind = 'kubernetes' as const;
  protected readonly launcherKind = 'kubernetes' as const;

  protected async createResources(request: LaunchRequest, invocation: GpLauncherInvocation, restart: boolean): Promise<KernelResourcesHandle> {
    const result = await launchKernelResources(request, {
      kubeConfig: this.kc,
      logger: this.log,
      templateDir: invocation.scriptDir,
      restart,
    });
    return result.handle;
  }

  protected plannedKernelObject(r: ResolvedLaunch): KernelResourcesHandle['objects'][number] {
    return { apiVersion: 'v1', kind: 'Pod', name: r.podName, namespace: r.namespace };
  }

  protected customResource(): CustomResourceRef | undefined {
    return undefined;
  }
}

export interface SparkOperatorProvisionerOptions extends ProvisionerOptions {
  /** The custom resource; default the Spark Operator's `sparkoperator.k8s.io/v1beta2` `sparkapplications`. */
  resource?: CustomResourceType;
}

/** Spark kernels as SparkApplications (Spark Operator): `spark-operator-provisioner`. The driver pod is the kernel. */
export class SparkOperatorProvisioner extends KubernetesProvisionerBase {
  readonly provisionerName = 'spark-operator-provisioner';
  protected readonly kind = 'spark-operator' as const;
  protected readonly launcherKind = 'custom_resource' as const;
  private readonly resourceType: CustomResourceType;

  constructor(options: SparkOperatorProvisionerOptions) {
    super(options);
    this.resourceType = options.resource ?? SPARK_APPLICATION;
  }

  protected async createResources(request: LaunchRequest, invocation: GpLauncherInvocation, restart: boolean): Promise<KernelResourcesHandle> {
    const result = await launchCustomResource(request, {
      kubeConfig: this.kc,
      logger: this.log,
      templateDir: invocation.scriptDir,
      resource: this.resourceType,
      restart,
    });
    return result.handle;
  }

  protected plannedKernelObject(r: ResolvedLaunch): KernelResourcesHandle['objects'][number] {
    const t = this.resourceType;
    return { apiVersion: `${t.group}/${t.version}`, kind: t.kind, name: r.podName, namespace: r.namespace, plural: t.plural };
  }

  protected customResource(handle: KernelResourcesHandle): CustomResourceRef | undefined {
    if (this.loadedCustomResource && this.loadedCustomResource.name === handle.podName) return this.loadedCustomResource;
    const t = this.resourceType;
    const ref = handle.objects.find((o) => o.plural !== undefined);
    const [group, version] = (ref?.apiVersion ?? `${t.group}/${t.version}`).split('/');
    return { group: group ?? t.group, version: version ?? t.version, plural: ref?.plural ?? t.plural, name: ref?.name ?? handle.podName };
  }
}

/** The provisioner names kernelspecs use in `metadata.kernel_provisioner.provisioner_name`. */
export const PROVISIONER_NAMES = ['kubernetes-provisioner', 'spark-operator-provisioner'] as const;
export type ProvisionerName = (typeof PROVISIONER_NAMES)[number];

/**
 * The provisioner a kernelspec names (`kubernetes-provisioner`, `spark-operator-provisioner`); a kernelspec
 * naming none whose argv runs `launch_custom_resource.mjs` gets the Spark Operator one, any other the Kubernetes one.
 */
export function createProvisioner(options: SparkOperatorProvisionerOptions): KubernetesProvisioner | SparkOperatorProvisioner {
  const name = options.kernelSpec.metadata?.kernel_provisioner?.provisioner_name;
  if (name === 'spark-operator-provisioner') return new SparkOperatorProvisioner(options);
  if (name === 'kubernetes-provisioner') return new KubernetesProvisioner(options);
  if (name === undefined) {
    return detectGpLauncher(options.kernelSpec.argv)?.kind === 'custom_resource' ? new SparkOperatorProvisioner(options) : new KubernetesProvisioner(options);
  }
  throw new GpError('GP_INVALID_KERNELSPEC', `Unknown provisioner_name "${name}" in the kernelspec; gp provides ${PROVISIONER_NAMES.join(', ')}.`, {
    httpStatus: 500,
    details: { provisionerName: name },
  });
}
