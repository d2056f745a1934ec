/**
 * Resolution and validation of everything a launch needs, before anything is created: names, namespace mode,
 * identity, resources, authorization. Pure: the same request always resolves the same way.
 */
import {
  AUTOMATIC_SERVICE_ACCOUNT,
  AuthorizationError,
  compareQuantities,
  ConfigError,
  DEFAULT_KERNEL_GID,
  DEFAULT_KERNEL_UID,
  isLabelValue,
  isSparkInitMode,
  isWholeNumber,
  kernelResourceName,
  parseKernelEnv,
  parsePortRange,
  RESPONSE_VERSIONS_ENV,
  SPARK_INIT_MODES,
  toDns1123Label,
  userListIncludes,
  validateUsername,
  type NamespaceMode,
  type Quantity,
  type SparkInitMode,
} from '@gp/core';
import type { Env, HostSettings } from './env.js';

export type { NamespaceMode, SparkInitMode };

/** The launcher's command-line arguments (the reference's), as the kernelspec argv passes them. */
export interface LaunchArgs {
  kernelId: string;
  /** `LOWER..UPPER` or `0..0` (default). */
  portRange?: string;
  /** `host:port` of the host's response listener. */
  responseAddress: string;
  /** Base64 SPKI DER public key of the host's response listener. */
  publicKey: string;
  sparkContextInitMode?: SparkInitMode;
  kernelClassName?: string;
  /** The kernelspec's name (its directory name); becomes KERNEL_NAME. */
  kernelName?: string;
  /**
   * The payload versions the host reads (`2,1`), announced to the pod's launcher as `GP_RESPONSE_VERSIONS`.
   * Only a gp host sets it; without it gp's launchers send version 1, which the reference's hosts read.
   */
  responseVersions?: string;
  /**
   * The host's filled `{transport_encryption}` (`--transport-encryption`): `auto` or `required` ask the pod's
   * launcher for CurveZMQ keys (pod env `TRANSPORT_ENCRYPTION`, as the reference's launch_kubernetes.py); empty,
   * `disabled` or an unfilled placeholder ask for nothing.
   */
  transportEncryption?: string;
}

export interface LaunchRequest extends LaunchArgs {
  /** The kernel's environment: the request's `KERNEL_*` variables. Only `KERNEL_*` names are read. */
  env: Env;
  /** The host's settings (`readHostSettings(process.env)` in the CLI). */
  settings: HostSettings;
  /** Username used when KERNEL_USERNAME is absent (the reference uses the host process's user). */
  defaultUsername?: string;
}

export interface KernelResources {
  cpus?: Quantity;
  memory?: Quantity;
  gpus?: Quantity;
  cpusLimit?: Quantity;
  memoryLimit?: Quantity;
  gpusLimit?: Quantity;
}

export interface ResolvedLaunch {
  kernelId: string;
  username: string;
  language: string;
  podName: string;
  namespace: string;
  namespaceMode: NamespaceMode;
  serviceAccountName: string;
  uid: number;
  gid: number;
  workingDir?: string;
  image: string;
  executorImage: string;
  portRange: string;
  responseAddress: string;
  publicKey: string;
  sparkContextInitMode: SparkInitMode;
  kernelClassName?: string;
  kernelName?: string;
  resources: KernelResources;
  /** Every variable the kernel's container gets from the launcher (KERNEL_* plus RESPONSE_ADDRESS etc.), by name. */
  podEnv: Record<string, string>;
  /** The request's KERNEL_* variables after resolution (canonical values written back), for template variables. */
  kernelEnv: Record<string, string>;
  settings: HostSettings;
}

const req = (name: string) => ({ kind: 'request' as const, name });
const flag = (name: string) => ({ kind: 'flag' as const, name });

const ENV_NAME_RE = /^KERNEL_[A-Za-z0-9_]+$/;
/** `auto` / `required` for the pod's launcher; nothing for empty, `disabled` or an unfilled placeholder. */
function transportEncryptionForPod(value: string | undefined): string | undefined {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'disabled' || v === '{transport_encryption}') return undefined;
  if (v === 'auto' || v === 'required') return v;
  throw new ConfigError('transport-encryption', { kind: 'flag', name: '--transport-encryption' }, value, "auto, required, disabled or empty");
}

const RESPONSE_VERSIONS_RE = /^[1-9]\d?(,[1-9]\d?){0,7}$/;
const RESPONSE_ADDRESS_RE = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const BASE64_RE = /^[A-Za-z0-9+/]+={0,2}$/;

function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** A name the request or the host gives, held to the contract's rule for a namespace or a service account. */
function checkName(name: string, v: string, what: 'label' | 'subdomain'): string {
  return parseKernelEnv<string>(what === 'label' ? 'KERNEL_NAMESPACE' : 'KERNEL_SERVICE_ACCOUNT_NAME', v, req(name), name);
}

function quantity(env: Env, name: string): Quantity | undefined {
  const v = value(env, name);
  return v === undefined ? undefined : parseKernelEnv<Quantity>(name, v);
}

/** KERNEL_CPUS/MEMORY/GPUS and their limits: grammar, sign, whole GPUs, limit >= request. */
export function resolveResources(env: Env): KernelResources {
  const r: KernelResources = {};
  const set = <K extends keyof KernelResources>(k: K, name: string) => {
    const q = quantity(env, name);
    if (q) r[k] = q;
  };
  set('cpus', 'KERNEL_CPUS');
  set('memory', 'KERNEL_MEMORY');
  set('gpus', 'KERNEL_GPUS');
  set('cpusLimit', 'KERNEL_CPUS_LIMIT');
  set('memoryLimit', 'KERNEL_MEMORY_LIMIT');
  set('gpusLimit', 'KERNEL_GPUS_LIMIT');
  for (const [k, name] of [
    ['gpus', 'KERNEL_GPUS'],
    ['gpusLimit', 'KERNEL_GPUS_LIMIT'],
  ] as const) {
    const q = r[k];
    if (q && !isWholeNumber(q)) throw new ConfigError(name, req(name), q.text, 'a whole number of GPUs, e.g. "1"');
  }
  for (const [request, limit, rName, lName] of [
    ['cpus', 'cpusLimit', 'KERNEL_CPUS', 'KERNEL_CPUS_LIMIT'],
    ['memory', 'memoryLimit', 'KERNEL_MEMORY', 'KERNEL_MEMORY_LIMIT'],
    ['gpus', 'gpusLimit', 'KERNEL_GPUS', 'KERNEL_GPUS_LIMIT'],
  ] as const) {
    const rq = r[request];
    const lq = r[limit];
    if (rq && lq && compareQuantities(lq, rq) < 0) {
      throw new ConfigError(lName, req(lName), lq.text, `a limit at least the request ${rName}=${rq.text}`);
    }
    if (request === 'gpus' && rq && lq && compareQuantities(lq, rq) !== 0) {
      throw new ConfigError(lName, req(lName), lq.text, `equal to ${rName}=${rq.text} (Kubernetes requires GPU requests and limits to match)`);
    }
  }
  return r;
}

/** Policy checks on the user and identity; refusals are AuthorizationErrors (HTTP 403). */
export function authorize(username: string, uid: number, gid: number, settings: HostSettings): void {
  const sources = settings.userListSources ?? { authorizedUsers: 'GP_AUTHORIZED_USERS', unauthorizedUsers: 'GP_UNAUTHORIZED_USERS' };
  if (userListIncludes(settings.unauthorizedUsers, username)) {
    throw new AuthorizationError('GP_USER_NOT_AUTHORIZED', `User "${username}" is not authorized to start kernels (listed in ${sources.unauthorizedUsers}).`, {
      details: { username, setting: sources.unauthorizedUsers },
    });
  }
  if (settings.authorizedUsers.length > 0 && !userListIncludes(settings.authorizedUsers, username)) {
    throw new AuthorizationError(
      'GP_USER_NOT_AUTHORIZED',
      `User "${username}" is not in the set of users authorized to start kernels (${sources.authorizedUsers}).`,
      { details: { username, setting: sources.authorizedUsers } },
    );
  }
  if (settings.prohibitedUids.includes(uid)) {
    throw new AuthorizationError('GP_UID_PROHIBITED', `Kernel UID ${uid} is prohibited (GP_PROHIBITED_UIDS); set KERNEL_UID to an allowed, non-root id such as 1000.`, {
      details: { uid, setting: 'GP_PROHIBITED_UIDS' },
    });
  }
  if (settings.prohibitedGids.includes(gid)) {
    throw new AuthorizationError('GP_GID_PROHIBITED', `Kernel GID ${gid} is prohibited (GP_PROHIBITED_GIDS); set KERNEL_GID to an allowed id such as 100.`, {
      details: { gid, setting: 'GP_PROHIBITED_GIDS' },
    });
  }
}

interface NamespaceChoice {
  mode: NamespaceMode;
  namespace: string;
  serviceAccountName: string;
}

/** The spec's three namespace modes, and what KERNEL_NAMESPACE / KERNEL_SERVICE_ACCOUNT_NAME may do in each. */
export function resolveNamespace(env: Env, settings: HostSettings, username: string, kernelId: string): NamespaceChoice {
  const clientNs = value(env, 'KERNEL_NAMESPACE')?.trim();
  const clientSa = value(env, 'KERNEL_SERVICE_ACCOUNT_NAME')?.trim();
  if (clientSa !== undefined) checkName('KERNEL_SERVICE_ACCOUNT_NAME', clientSa, 'subdomain');
  if (clientNs !== undefined) checkName('KERNEL_NAMESPACE', clientNs, 'label');
  checkName('GP_NAMESPACE', settings.namespace, 'label');
  checkName('GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME', settings.defaultServiceAccountName, 'subdomain');

  if (settings.sharedNamespace) {
    if (clientNs !== undefined && clientNs !== settings.namespace) {
      if (!settings.allowClientNamespace) {
        throw new AuthorizationError(
          'GP_NAMESPACE_NOT_ALLOWED',
          `KERNEL_NAMESPACE "${clientNs}" is not allowed: this host launches kernels in the shared namespace "${settings.namespace}" ` +
            '(GP_SHARED_NAMESPACE=true) and does not let requests choose a namespace (GP_ALLOW_CLIENT_NAMESPACE=false). Omit KERNEL_NAMESPACE.',
          { details: { namespace: clientNs, sharedNamespace: settings.namespace } },
        );
      }
      return { mode: 'byo', namespace: clientNs, serviceAccountName: clientSa ?? settings.defaultServiceAccountName };
    }
    if (clientSa !== undefined && clientSa !== settings.defaultServiceAccountName && !settings.allowClientNamespace) {
      throw new AuthorizationError(
        'GP_SERVICE_ACCOUNT_NOT_ALLOWED',
        `KERNEL_SERVICE_ACCOUNT_NAME "${clientSa}" is not allowed in the shared namespace "${settings.namespace}": kernels there run as ` +
          `"${settings.defaultServiceAccountName}" (GP_DEFAULT_KERNEL_SERVICE_ACCOUNT_NAME). Omit KERNEL_SERVICE_ACCOUNT_NAME.`,
        { details: { serviceAccountName: clientSa, allowed: settings.defaultServiceAccountName } },
      );
    }
    return { mode: 'shared', namespace: settings.namespace, serviceAccountName: clientSa ?? settings.defaultServiceAccountName };
  }
  if (clientNs !== undefined) {
    if (clientSa === undefined) {
      throw new ConfigError(
        'KERNEL_SERVICE_ACCOUNT_NAME',
        req('KERNEL_SERVICE_ACCOUNT_NAME'),
        undefined,
        `the name of a service account in namespace "${clientNs}": a request that brings its own namespace (KERNEL_NAMESPACE) must name the service account the kernel runs as`,
      );
    }
    return { mode: 'byo', namespace: clientNs, serviceAccountName: clientSa };
  }
  checkName('GP_KERNEL_CLUSTER_ROLE', settings.kernelClusterRole, 'subdomain');
  return { mode: 'auto', namespace: kernelResourceName(username, kernelId), serviceAccountName: clientSa ?? AUTOMATIC_SERVICE_ACCOUNT };
}

/** Validates the launcher arguments and the request, applies policy, and computes every name. Throws typed errors. */
export function resolveLaunch(request: LaunchRequest): ResolvedLaunch {
  const { env, settings } = request;

  const kernelId = request.kernelId?.trim() ?? '';
  if (!kernelId || !isLabelValue(kernelId)) {
    throw new ConfigError('--kernel-id', flag('kernel-id'), request.kernelId, 'a kernel id usable as a label value (e.g. a UUID): letters, digits, "-", "_", "." and at most 63 characters');
  }
  const portRange = (request.portRange ?? '0..0').trim() || '0..0';
  // The host's GP_MIN_PORT_RANGE_SIZE applies to the argument as it does to GP_PORT_RANGE and kernel.json.
  parsePortRange(portRange, { option: '--port-range', source: flag('port-range'), minSize: settings.minPortRangeSize });
  const m = RESPONSE_ADDRESS_RE.exec(request.responseAddress ?? '');
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new ConfigError('--response-address', flag('response-address'), request.responseAddress, 'HOST:PORT of the host response listener, e.g. "10.0.0.5:8877"');
  }
  if (!request.publicKey || !BASE64_RE.test(request.publicKey) || request.publicKey.length > 4096) {
    throw new ConfigError('--public-key', flag('public-key'), request.publicKey ? '[base64 value not shown]' : request.publicKey, 'the base64 public key of the host response listener');
  }
  const sparkContextInitMode = request.sparkContextInitMode ?? 'none';
  if (!isSparkInitMode(sparkContextInitMode)) {
    throw new ConfigError('--spark-context-initialization-mode', flag('spark-context-initialization-mode'), sparkContextInitMode, `one of ${SPARK_INIT_MODES.join(', ')}`);
  }
  if (request.kernelClassName !== undefined) parseKernelEnv('KERNEL_CLASS_NAME', request.kernelClassName, flag('kernel-class-name'), '--kernel-class-name');

  // Only KERNEL_* names are read from the request env, and each must be a valid variable name.
  const kernelEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('KERNEL_') || v === undefined) continue;
    if (!ENV_NAME_RE.test(k)) throw new ConfigError(k, req(k), v, 'a variable name of letters, digits and "_" after KERNEL_');
    kernelEnv[k] = v;
  }

  const username = validateUsername(value(kernelEnv, 'KERNEL_USERNAME') ?? request.defaultUsername, 'KERNEL_USERNAME', req('KERNEL_USERNAME'));
  const language = value(kernelEnv, 'KERNEL_LANGUAGE');
  if (language === undefined) {
    throw new ConfigError(
      'KERNEL_LANGUAGE',
      req('KERNEL_LANGUAGE'),
      language,
      'python, r or scala; a host provisioner sets it from the kernelspec\'s "language" (kernel.json) — when you run the launcher yourself, set KERNEL_LANGUAGE',
    );
  }
  parseKernelEnv('KERNEL_LANGUAGE', language);

  const uid = parseKernelEnv<number>('KERNEL_UID', value(kernelEnv, 'KERNEL_UID') ?? String(DEFAULT_KERNEL_UID));
  const gid = parseKernelEnv<number>('KERNEL_GID', value(kernelEnv, 'KERNEL_GID') ?? String(DEFAULT_KERNEL_GID));
  authorize(username, uid, gid, settings);

  const { mode, namespace, serviceAccountName } = resolveNamespace(kernelEnv, settings, username, kernelId);

  const podNameInput = value(kernelEnv, 'KERNEL_POD_NAME');
  const podName = podNameInput !== undefined ? toDns1123Label(podNameInput) : kernelResourceName(username, kernelId);
  if (!podName) {
    throw new ConfigError('KERNEL_POD_NAME', req('KERNEL_POD_NAME'), podNameInput, 'a pod name with at least one letter or digit');
  }

  let workingDir: string | undefined;
  const wd = value(kernelEnv, 'KERNEL_WORKING_DIR');
  if (wd !== undefined) {
    if (settings.mirrorWorkingDirs) {
      workingDir = parseKernelEnv<string>('KERNEL_WORKING_DIR', wd);
    } else {
      delete kernelEnv.KERNEL_WORKING_DIR; // honoured only with GP_MIRROR_WORKING_DIRS=true
    }
  }

  const imageText = value(kernelEnv, 'KERNEL_IMAGE') ?? settings.imageName;
  if (imageText === undefined) {
    throw new ConfigError('KERNEL_IMAGE', req('KERNEL_IMAGE'), imageText, 'a container image reference such as "elyra/kernel-py:3.2.3" (set by the host from the kernelspec image_name, or GP_IMAGE_NAME)');
  }
  const image = parseKernelEnv<string>('KERNEL_IMAGE', imageText);
  const executorImage = parseKernelEnv<string>('KERNEL_EXECUTOR_IMAGE', value(kernelEnv, 'KERNEL_EXECUTOR_IMAGE') ?? settings.executorImageName ?? image);

  const resources = resolveResources(kernelEnv);

  // Canonical values written back, as the reference's pre_launch does.
  Object.assign(kernelEnv, {
    KERNEL_ID: kernelId,
    KERNEL_USERNAME: username,
    KERNEL_LANGUAGE: language,
    KERNEL_POD_NAME: podName,
    KERNEL_NAMESPACE: namespace,
    KERNEL_SERVICE_ACCOUNT_NAME: serviceAccountName,
    KERNEL_UID: String(uid),
    KERNEL_GID: String(gid),
    KERNEL_IMAGE: image,
    KERNEL_EXECUTOR_IMAGE: executorImage,
    KERNEL_SPARK_CONTEXT_INIT_MODE: sparkContextInitMode,
  });
  if (request.kernelClassName) kernelEnv.KERNEL_CLASS_NAME = request.kernelClassName;
  if (request.kernelName) kernelEnv.KERNEL_NAME = request.kernelName;

  const podEnv: Record<string, string> = {
    ...kernelEnv,
    RESPONSE_ADDRESS: request.responseAddress,
    PUBLIC_KEY: request.publicKey,
    PORT_RANGE: portRange,
  };
  if (request.responseVersions !== undefined) {
    if (!RESPONSE_VERSIONS_RE.test(request.responseVersions)) {
      throw new ConfigError(RESPONSE_VERSIONS_ENV, { kind: 'env', name: RESPONSE_VERSIONS_ENV }, request.responseVersions, 'a comma-separated list of payload versions such as "2,1" (set by a gp host)');
    }
    podEnv[RESPONSE_VERSIONS_ENV] = request.responseVersions;
  }
  const encryption = transportEncryptionForPod(request.transportEncryption);
  if (encryption) podEnv.TRANSPORT_ENCRYPTION = encryption;

  const resolved: ResolvedLaunch = {
    kernelId,
    username,
    language,
    podName,
    namespace,
    namespaceMode: mode,
    serviceAccountName,
    uid,
    gid,
    image,
    executorImage,
    portRange,
    responseAddress: request.responseAddress,
    publicKey: request.publicKey,
    sparkContextInitMode,
    resources,
    podEnv,
    kernelEnv,
    settings,
  };
  if (workingDir !== undefined) resolved.workingDir = workingDir;
  if (request.kernelClassName) resolved.kernelClassName = request.kernelClassName;
  if (request.kernelName) resolved.kernelName = request.kernelName;
  return resolved;
}
