/**
 * The Kubernetes objects that deploy the gp gateway: its RBAC from @gp/rbac (for the namespace modes the
 * operator enables), a ConfigMap with its GP_* configuration, a Deployment and a Service, and optionally
 * the Namespace and a PersistentVolumeClaim for the kernel store.
 *
 * Pure: no I/O. `render.ts` writes the default set to `kubernetes.yaml`; a test checks that file is current
 * and that the API server accepts every object (server-side dry-run) in each namespace mode.
 */
import { ConfigError, type ValueSource } from '@gp/core';
import { isDns1123Label, rbacManifests, resolveOptions, type NamespaceMode, type RbacObject, type RbacOptions } from '@gp/rbac';
import type {
  V1ConfigMap,
  V1Deployment,
  V1EnvVar,
  V1Namespace,
  V1PersistentVolumeClaim,
  V1PodDisruptionBudget,
  V1ResourceRequirements,
  V1Service,
  V1Volume,
} from '@kubernetes/client-node';
import { Document, isScalar, isSeq, visit } from 'yaml';

/** The gateway's own settings as environment variables (read by `gp-gateway` through @gp/core's config). */
export const GATEWAY_ENV = {
  /** Address the HTTP server binds. */
  ip: 'GP_GATEWAY_IP',
  port: 'GP_GATEWAY_PORT',
  /** The API token (`Authorization: token ...`); comes from a Secret, never from the ConfigMap. */
  token: 'GP_GATEWAY_TOKEN',
  /** The embedded kernel store (persisted kernel info, for re-attaching after a restart). */
  stateFile: 'GP_GATEWAY_STATE_FILE',
  /** `json`: one JSON object per log line, for the cluster's log collector. */
  logFormat: 'GP_GATEWAY_LOG_FORMAT',
  /** `kubernetes`: kernel records in Secrets, any replica serves any kernel. */
  kernelStore: 'GP_GATEWAY_KERNEL_STORE',
} as const;

/** Where the image keeps things (see Dockerfile). */
export const IMAGE_PATHS = {
  stateDir: '/var/lib/gp-gateway',
  stateFile: '/var/lib/gp-gateway/kernels.json',
  tmpDir: '/tmp',
} as const;

export const DEFAULT_GATEWAY_NAME = 'gp-gateway';
export const DEFAULT_GATEWAY_NAMESPACE = 'gp-gateway';
export const DEFAULT_GATEWAY_IMAGE = 'ghcr.io/gp/gateway:0.1.0';
export const DEFAULT_HTTP_PORT = 8888;
/** The response listener: kernel launchers in the kernel pods connect back to it (GP_RESPONSE_PORT). */
export const DEFAULT_RESPONSE_PORT = 8877;
/** The image's non-root user (see Dockerfile: `useradd --uid 1000 gateway`). */
export const IMAGE_UID = 1000;
export const IMAGE_GID = 1000;

export interface GatewayManifestOptions {
  /** Name of the Deployment, Service, ConfigMap, ServiceAccount; `GP_APP_NAME`. Default `gp-gateway`. */
  name?: string;
  /** The gateway's namespace (`GP_NAMESPACE`: shared-mode kernels run there too). Default `gp-gateway`. */
  namespace?: string;
  /** Emit the Namespace object (first). Default true. */
  createNamespace?: boolean;
  /** The gateway image. Default `ghcr.io/gp/gateway:0.1.0`. */
  image?: string;
  /** Default `IfNotPresent`. */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Namespace modes, as in @gp/rbac: decides the RBAC and `GP_SHARED_NAMESPACE`. Default `['shared']`. */
  modes?: RbacOptions['modes'];
  byoNamespaces?: readonly string[];
  sparkOperator?: boolean;
  /** `GP_KERNEL_CLUSTER_ROLE`. Default `kernel-controller`. */
  kernelClusterRole?: string;
  kernelServiceAccount?: string;
  templateResources?: RbacOptions['templateResources'];
  /** The gateway's HTTP port. Default 8888. */
  port?: number;
  /** The response listener's port. Default 8877. */
  responsePort?: number;
  /** Service type. Default `ClusterIP`. */
  serviceType?: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  /**
   * Secret holding the API token under key `token`. Default `<name>-token`. Not emitted: create it yourself
   * (`kubectl -n <ns> create secret generic <name>-token --from-literal=token=$(openssl rand -hex 32)`),
   * so that no token is ever written into a manifest file.
   */
  tokenSecretName?: string;
  /**
   * Keep the kernel store on a PersistentVolumeClaim of this size (e.g. `1Gi`) so that it survives the pod;
   * without it an emptyDir keeps it across container restarts only, and kernels left running by a replaced
   * pod (shutdown policy `leave`) are found by the next gateway's orphan sweep instead of re-attached.
   */
  stateVolumeSize?: string;
  storageClassName?: string;
  /**
   * `kubernetes` (default): kernel records in Secrets, `replicas` gateways behind the Service, any of them serves
   * any kernel (RollingUpdate, a PodDisruptionBudget). `file`: one gateway with its state file (Recreate).
   */
  kernelStore?: 'kubernetes' | 'file';
  /** Gateway replicas (kernelStore `kubernetes`). Default 2; `file` allows only 1. */
  replicas?: number;
  /** Container resources. Default: requests cpu 100m / memory 256Mi, limits memory 1Gi. */
  resources?: V1ResourceRequirements;
  /**
   * More gateway configuration for the ConfigMap (`GP_*`, `KERNEL_*` defaults...): names must be
   * environment variable names, and none may carry a secret (names with TOKEN, KEY, PASSWORD, SECRET).
   */
  config?: Readonly<Record<string, string>>;
}

/** Every object this module emits. */
export type GatewayObject = RbacObject | V1Namespace | V1ConfigMap | V1Deployment | V1Service | V1PersistentVolumeClaim | V1PodDisruptionBudget;

const source = (option: keyof GatewayManifestOptions): ValueSource => ({ kind: 'request', name: option });
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SECRET_LIKE = /TOKEN|KEY|PASSWORD|SECRET/i;
/** Set by this module from other options; the `config` option may not override them. */
const DERIVED_ENV = new Set<string>([
  'GP_APP_NAME',
  'GP_NAMESPACE',
  'GP_SHARED_NAMESPACE',
  'GP_KERNEL_CLUSTER_ROLE',
  'GP_RESPONSE_IP',
  'GP_RESPONSE_PORT',
  ...Object.values(GATEWAY_ENV),
]);
const QUANTITY = /^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

function checkPort(option: 'port' | 'responsePort', value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new ConfigError(option, source(option), value, 'an integer port from 1 to 65535');
  return value;
}

function checkName(option: 'name' | 'namespace' | 'tokenSecretName', value: string): string {
  if (!isDns1123Label(value)) throw new ConfigError(option, source(option), value, 'a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)');
  return value;
}

function labelsFor(name: string): Record<string, string> {
  return { app: name, component: 'gateway' };
}

/** The gateway's settings that follow from the namespace modes. */
export function namespaceModeEnv(modes: readonly NamespaceMode[]): { GP_SHARED_NAMESPACE: 'true' | 'false' } {
  // Automatic namespaces need GP_SHARED_NAMESPACE=false (no KERNEL_NAMESPACE -> a new namespace); with only
  // bring-your-own, a request without KERNEL_NAMESPACE must not fall back to the gateway's namespace either.
  const shared = modes.includes('shared') && !modes.includes('auto');
  return { GP_SHARED_NAMESPACE: shared ? 'true' : 'false' };
}

/** Validates the options and builds every object, in apply order. Throws `ConfigError` for a bad option. */
export function gatewayManifests(options: GatewayManifestOptions = {}): GatewayObject[] {
  const name = checkName('name', options.name ?? DEFAULT_GATEWAY_NAME);
  const namespace = checkName('namespace', options.namespace ?? DEFAULT_GATEWAY_NAMESPACE);
  const port = checkPort('port', options.port ?? DEFAULT_HTTP_PORT);
  const responsePort = checkPort('responsePort', options.responsePort ?? DEFAULT_RESPONSE_PORT);
  if (port === responsePort) throw new ConfigError('responsePort', source('responsePort'), responsePort, `a port other than the HTTP port ${port}`);
  const tokenSecretName = checkName('tokenSecretName', options.tokenSecretName ?? `${name}-token`);
  const image = options.image ?? DEFAULT_GATEWAY_IMAGE;
  if (image.trim() === '' || /\s/.test(image)) throw new ConfigError('image', source('image'), image, 'an image reference without spaces, e.g. registry.example.com/gp/gateway:0.1.0');
  if (options.stateVolumeSize !== undefined && !QUANTITY.test(options.stateVolumeSize)) {
    throw new ConfigError('stateVolumeSize', source('stateVolumeSize'), options.stateVolumeSize, 'a storage quantity such as 1Gi or 500Mi');
  }
  const kernelStore = options.kernelStore ?? 'kubernetes';
  if (kernelStore !== 'kubernetes' && kernelStore !== 'file') throw new ConfigError('kernelStore', source('kernelStore'), kernelStore, 'kubernetes or file');
  const replicated = kernelStore === 'kubernetes';
  const replicas = options.replicas ?? (replicated ? 2 : 1);
  if (!Number.isInteger(replicas) || replicas < 0 || (!replicated && replicas > 1)) {
    throw new ConfigError('replicas', source('replicas'), replicas, replicated ? 'a non-negative integer (2 or more for no single point of failure)' : "0 or 1 with kernelStore 'file' (one gateway per state file; use kernelStore 'kubernetes' for more)");
  }
  if (replicated && options.stateVolumeSize !== undefined) {
    throw new ConfigError('stateVolumeSize', source('stateVolumeSize'), options.stateVolumeSize, "no state volume with kernelStore 'kubernetes' (the records are Secrets); set kernelStore 'file' to keep a state file");
  }
  const config = options.config ?? {};
  for (const key of Object.keys(config)) {
    if (!ENV_NAME.test(key)) throw new ConfigError('config', source('config'), key, 'environment variable names (letters, digits, "_")');
    if (SECRET_LIKE.test(key)) throw new ConfigError('config', source('config'), key, `no secrets in the ConfigMap: put ${key} in a Secret and reference it from the Deployment`);
    if (DERIVED_ENV.has(key)) throw new ConfigError('config', source('config'), key, `a variable other than ${key}, which the manifests derive from their own options`);
  }

  // @gp/rbac validates its own options (modes, byo namespaces, kernel role...) and names them in its errors.
  const rbac = resolveOptions({
    appName: name,
    namespace,
    serviceAccountName: name,
    modes: options.modes ?? ['shared'],
    byoNamespaces: options.byoNamespaces ?? [],
    sparkOperator: options.sparkOperator ?? false,
    kernelClusterRole: options.kernelClusterRole,
    kernelServiceAccount: options.kernelServiceAccount,
    templateResources: options.templateResources ?? [],
    kernelStore,
  });
  const labels = labelsFor(name);
  const objects: GatewayObject[] = [];

  if (options.createNamespace ?? true) {
    const ns: V1Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: {
          ...labels,
          // Shared-mode kernel pods run here too, and the kernel pod template meets "baseline" (the gateway's
          // own pod meets "restricted"; a test checks both).
          'pod-security.kubernetes.io/enforce': 'baseline',
        },
      },
    };
    objects.push(ns);
  }
  objects.push(...rbacManifests(rbac));

  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
    data: {
      GP_APP_NAME: name,
      ...namespaceModeEnv(rbac.modes),
      GP_KERNEL_CLUSTER_ROLE: rbac.kernelClusterRole,
      GP_RESPONSE_PORT: String(responsePort),
      [GATEWAY_ENV.ip]: '0.0.0.0',
      [GATEWAY_ENV.port]: String(port),
      ...(replicated ? { [GATEWAY_ENV.kernelStore]: 'kubernetes' } : { [GATEWAY_ENV.stateFile]: IMAGE_PATHS.stateFile }),
      [GATEWAY_ENV.logFormat]: 'json',
      ...config,
    },
  };

  let stateVolume: V1Volume = { name: 'state', emptyDir: {} };
  if (options.stateVolumeSize !== undefined) {
    const pvc: V1PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `${name}-state`, namespace, labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: options.stateVolumeSize } },
        ...(options.storageClassName ? { storageClassName: options.storageClassName } : {}),
      },
    };
    objects.push(pvc);
    stateVolume = { name: 'state', persistentVolumeClaim: { claimName: `${name}-state` } };
  }

  const env: V1EnvVar[] = [
    // Shared-mode kernels go to the namespace the gateway actually runs in.
    { name: 'GP_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    // Kernel launchers connect back to the pod's own IP (pods have no stable DNS name without a headless Service).
    { name: 'GP_RESPONSE_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: GATEWAY_ENV.token, valueFrom: { secretKeyRef: { name: tokenSecretName, key: 'token' } } },
  ];

  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      // kernelStore kubernetes: any replica serves any kernel, so an update replaces one pod at a time and never
      // goes below `replicas` ready gateways. file: one gateway per state file; Recreate, so that an update never
      // runs two on it (the new one re-attaches to the running kernels).
      replicas,
      strategy: replicated ? { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } : { type: 'Recreate' },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          // Time for a graceful shutdown (closing websockets, stopping or leaving kernels per configuration).
          terminationGracePeriodSeconds: 60,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: IMAGE_UID,
            runAsGroup: IMAGE_GID,
            fsGroup: IMAGE_GID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'gateway',
              image,
              imagePullPolicy: options.imagePullPolicy ?? 'IfNotPresent',
              ports: [
                { name: 'http', containerPort: port, protocol: 'TCP' },
                { name: 'response', containerPort: responsePort, protocol: 'TCP' },
              ],
              envFrom: [{ configMapRef: { name } }],
              env,
              startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
              livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
              readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
              resources: options.resources ?? { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'state', mountPath: IMAGE_PATHS.stateDir },
                { name: 'tmp', mountPath: IMAGE_PATHS.tmpDir },
              ],
            },
          ],
          volumes: [stateVolume, { name: 'tmp', emptyDir: {} }],
        },
      },
    },
  };

  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: {
      type: options.serviceType ?? 'ClusterIP',
      selector: labels,
      // Only the HTTP API: kernel launchers reach the response port on the pod IP directly.
      ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }],
    },
  };

  objects.push(configMap, deployment, service);
  if (replicated && replicas >= 2) {
    // A node drain or cluster upgrade evicts one gateway at a time: the others keep serving every kernel.
    const pdb: V1PodDisruptionBudget = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name, namespace, labels },
      spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
    };
    objects.push(pdb);
  }
  return objects;
}

/**
 * Multi-document YAML (`---` before each object) for `kubectl apply -f -`. YAML 1.1 so that strings such as
 * `true` in the ConfigMap stay quoted for kubectl's parser; short scalar lists in flow style, as @gp/rbac does.
 */
export function manifestsToYaml(objects: readonly GatewayObject[]): string {
  return objects
    .map((object) => {
      const doc = new Document(object, { version: '1.1', aliasDuplicateObjects: false });
      visit(doc, {
        Seq(_key, node) {
          if (isSeq(node) && node.items.length > 0 && node.items.every((item) => isScalar(item))) node.flow = true;
        },
      });
      return `---\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
    })
    .join('');
}
