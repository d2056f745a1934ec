/**
 * The gateway's options, defined with `@gp/core`'s option definitions: the same precedence
 * (default < config file < GP_* env < flag) and the same `ConfigError`s as the `k8s-spec` CLI.
 */
import { join } from 'node:path';
import {
  ConfigError,
  defineOption,
  defineOptions,
  jupyterDataDir,
  KERNEL_ENV,
  kernelEnvNames,
  resolveConfig,
  splitCommaList,
  transportEncryptionOption,
  type ConfigSources,
  type ParseContext,
  type LogLevel,
  type ResponseListenerOptions,
  type ValuesOf,
} from '@gp/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ResponseListener, Logger } from '@gp/core';
import { parsePoolEntries, type PoolEntry } from './pools.js';

export const GATEWAY_SECTION = 'GatewayApp';

/**
 * The request variables the gateway guards, each with its reason, derived from the kernel contract's
 * catalogue of `KERNEL_*` variables (`KERNEL_ENV` of @gp/core): the one definition behind `ADMIN_ONLY_ENV`,
 * `MOUNT_BEARING_ENV` and the wildcard rule of --allowed-env.
 * - admin-only: they choose where and as whom a kernel runs (namespace, service account, ids, images);
 * - mount-bearing: they put volumes or config into the kernel's pods (the templates' volume and mount lists,
 *   the SparkApplication's `sparkConfigMap`).
 * Only naming one in --allowed-env allows it; a wildcard never does.
 */
export const GUARDED_ENV: Readonly<Record<string, 'admin-only' | 'mount-bearing'>> = Object.freeze(
  Object.fromEntries(
    KERNEL_ENV.filter((v) => v.setBy === 'admin').map((v) => [v.name, v.mounts ? ('mount-bearing' as const) : ('admin-only' as const)]),
  ),
);

const guarded = (why: 'admin-only' | 'mount-bearing'): string[] =>
  Object.entries(GUARDED_ENV).filter(([, w]) => w === why).map(([name]) => name);

/** Variables only an operator may set: they choose where and as whom a kernel runs. */
export const ADMIN_ONLY_ENV: readonly string[] = guarded('admin-only');
/** Variables that mount volumes or config into a kernel's pods. */
export const MOUNT_BEARING_ENV: readonly string[] = guarded('mount-bearing');

/** What clients may set by default: who they are, where they work, and resource requests. */
export const DEFAULT_ALLOWED_ENV = kernelEnvNames((v) => v.setBy === 'client' && v.allowedByDefault === true);

/** A comma-separated string or an array of strings; blanks are dropped. */
function parseNameList(what: string): (raw: unknown, ctx: ParseContext) => string[] {
  return (raw, ctx) => {
    if (typeof raw === 'string') return splitCommaList(raw);
    if (!Array.isArray(raw) || raw.some((item) => typeof item !== 'string')) {
      throw new ConfigError(ctx.option, ctx.source, raw, `a comma-separated list (or array) of ${what}`);
    }
    // Array items (a config file's list) are names as given: trimmed, blanks dropped, not split at commas.
    return (raw as string[]).map((item) => item.trim()).filter((item) => item !== '');
  };
}

const nonNegative = (v: number): string | undefined => (v >= 0 ? undefined : 'a non-negative integer');
const positive = (v: number): string | undefined => (v > 0 ? undefined : 'a positive integer');

export const gatewayOptionTable = defineOptions({
  ip: defineOption<string>({
    name: 'ip',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: 'The IP address the gateway listens on.',
    default: '127.0.0.1',
    env: 'GP_GATEWAY_IP',
  }),
  port: defineOption<number>({
    name: 'port',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'The port the gateway listens on (0 picks a free port).',
    default: 8888,
    env: 'GP_GATEWAY_PORT',
    validate: (v) => (v >= 0 && v <= 65535 ? undefined : 'a port number in 0..65535'),
  }),
  base_url: defineOption<string>({
    name: 'base_url',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: 'The URL prefix of every endpoint, e.g. /gateway/.',
    default: '/',
    env: 'GP_GATEWAY_BASE_URL',
    validate: (v) => (v.startsWith('/') ? undefined : 'a path starting with /'),
  }),
  token: defineOption<string>({
    name: 'token',
    kind: 'string',
    section: GATEWAY_SECTION,
    help:
      'The token clients must send (`Authorization: token <token>`, or `?token=` on WebSocket URLs). When empty, the gateway generates one and prints it once to stderr (never to the logs).',
    default: '',
    defaultText: '(generated)',
    env: 'GP_GATEWAY_TOKEN',
  }),
  token_file: defineOption<string>({
    name: 'token_file',
    kind: 'string',
    section: GATEWAY_SECTION,
    help:
      'A file holding the token (surrounding whitespace ignored), e.g. a mounted Secret: unlike --token it is not visible in `ps`. Give the token one way only: this or --token.',
    default: '',
    defaultText: '(none)',
    env: 'GP_GATEWAY_TOKEN_FILE',
  }),
  kernelspec_dirs: defineOption<string[]>({
    name: 'kernelspec_dirs',
    kind: 'list',
    section: GATEWAY_SECTION,
    help:
      "Directories holding kernelspecs (each a `<name>/kernel.json`). Default: the Jupyter data path's `kernels/` directories (JUPYTER_PATH, the user data dir, the environment's prefix, the system dirs).",
    default: [],
    defaultText: '(the Jupyter data path)',
    env: 'GP_GATEWAY_KERNELSPEC_DIRS',
    envNote: 'comma-separated',
    metavar: '<dir>...',
    parse: parseNameList('directories'),
  }),
  default_kernel_name: defineOption<string>({
    name: 'default_kernel_name',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: 'The kernelspec reported as the default and used for a POST /api/kernels without a name. Default: the first kernelspec by name.',
    default: '',
    defaultText: '(the first kernelspec)',
    env: 'GP_GATEWAY_DEFAULT_KERNEL_NAME',
  }),
  state_file: defineOption<string>({
    name: 'state_file',
    kind: 'string',
    section: GATEWAY_SECTION,
    help:
      "The JSON file where each kernel's provisioner info (connection secrets included: keep it private) is kept so a restarted gateway re-attaches. Empty disables persistence.",
    default: join(jupyterDataDir(), 'gp-gateway', 'kernels.json'),
    defaultText: '<jupyter data dir>/gp-gateway/kernels.json',
    env: 'GP_GATEWAY_STATE_FILE',
  }),
  kernel_store: defineOption<'file' | 'kubernetes'>({
    name: 'kernel_store',
    kind: 'enum',
    choices: ['file', 'kubernetes'],
    section: GATEWAY_SECTION,
    help:
      "Where kernel records live. `file`: the `state_file` (one gateway process). `kubernetes`: one Secret per kernel in GP_NAMESPACE, owned by the kernel pod, watched by every replica: any number of gateway replicas serve any kernel, and a Lease elects the one that culls and sweeps (needs the state Role of `k8s-spec rbac --kernel-store kubernetes`).",
    default: 'file',
    env: 'GP_GATEWAY_KERNEL_STORE',
  }),
  allowed_env: defineOption<string[]>({
    name: 'allowed_env',
    kind: 'list',
    section: GATEWAY_SECTION,
    help: `Variables a POST /api/kernels body's env may carry. Any other KERNEL_* is dropped with a warning (Jupyter Server forwards its whole KERNEL_* environment), except admin-only ones, a KERNEL_NAMESPACE other than GP_NAMESPACE and host-path mounts: 403 naming them; non-KERNEL_* names: 403. A trailing * matches a prefix of KERNEL_* names (KERNEL_EXTRA_*), never another variable. ${ADMIN_ONLY_ENV.join(', ')} are admin-only and ${MOUNT_BEARING_ENV.join(', ')} mount volumes or config: a wildcard never matches them, only listing them by name allows them. KERNEL_EXTRA_SPARK_OPTS is parsed, and settings the admin owns (images, service account, volumes, pod templates, namespace, spark.kubernetes.* but resource sizes) get a 403 naming them.`,
    default: DEFAULT_ALLOWED_ENV,
    env: 'GP_GATEWAY_ALLOWED_ENV',
    envNote: 'comma-separated',
    metavar: '<name>...',
    parse: parseNameList('variable names'),
  }),
  max_kernels: defineOption<number>({
    name: 'max_kernels',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: "Kernels the gateway may run in total (as Enterprise Gateway's max_kernels), launches in flight included; one more is refused with 403 GP_KERNEL_LIMIT_REACHED before anything is created. Restarts do not count. 0: no limit. Counted per gateway process.",
    default: 0,
    defaultText: '0 (no limit)',
    env: 'GP_GATEWAY_MAX_KERNELS',
    validate: nonNegative,
  }),
  max_kernels_per_user: defineOption<number>({
    name: 'max_kernels_per_user',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: "Kernels one KERNEL_USERNAME may run (as Enterprise Gateway's max_kernels_per_user; names compared as the user lists: case-insensitive after NFKC; kernels without one count as one user), launches in flight included; one more is refused with 403 GP_KERNEL_LIMIT_REACHED. 0: no limit. Counted per gateway process.",
    default: 0,
    defaultText: '0 (no limit)',
    env: 'GP_GATEWAY_MAX_KERNELS_PER_USER',
    validate: nonNegative,
  }),
  kernel_pools: defineOption<PoolEntry[]>({
    name: 'kernel_pools',
    kind: 'list',
    section: GATEWAY_SECTION,
    help: "Warm pools of kernel pods: KERNELSPEC=SIZE (pods made as a request without KERNEL_* variables would be) or KERNELSPEC=SIZE@USER (as one of USER with nothing else set). A request whose resolved pod would differ in anything but the kernel's id and names (user, UID/GID, namespace, image, resources, volumes, env) launches cold. Pool pods count against --max-kernels. Only kernelspecs running gp's launch_kubernetes.mjs, not in automatic namespace mode.",
    default: [],
    defaultText: '(no pools)',
    env: 'GP_GATEWAY_KERNEL_POOLS',
    envNote: 'comma-separated',
    metavar: '<spec=size[@user]>...',
    parse: parsePoolEntries,
  }),
  kernel_pool_max_age: defineOption<number>({
    name: 'kernel_pool_max_age',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Seconds a pooled pod may wait for a claim before it is replaced by a fresh one (0: never).',
    default: 3600,
    env: 'GP_GATEWAY_KERNEL_POOL_MAX_AGE',
    validate: nonNegative,
  }),
  certfile: defineOption<string>({
    name: 'certfile',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: 'A PEM certificate (chain) file: with --keyfile, the gateway serves HTTPS and wss:// only (no plain HTTP listener).',
    default: '',
    defaultText: '(plain HTTP)',
    env: 'GP_GATEWAY_CERTFILE',
  }),
  keyfile: defineOption<string>({
    name: 'keyfile',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: "The PEM private key of --certfile (keep it private; it is never logged).",
    default: '',
    defaultText: '(none)',
    env: 'GP_GATEWAY_KEYFILE',
  }),
  client_ca: defineOption<string>({
    name: 'client_ca',
    kind: 'string',
    section: GATEWAY_SECTION,
    help: 'A PEM CA file: with it, every endpoint but /healthz and /readyz answers 403 GP_CLIENT_CERT_REQUIRED to a client without a certificate signed by this CA (REST and WebSocket). Needs --certfile and --keyfile.',
    default: '',
    defaultText: '(no client certificates)',
    env: 'GP_GATEWAY_CLIENT_CA',
  }),
  cull_idle_timeout: defineOption<number>({
    name: 'cull_idle_timeout',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Seconds a kernel may stay idle before it is shut down; 0 disables culling (as Jupyter Server).',
    default: 0,
    env: 'GP_GATEWAY_CULL_IDLE_TIMEOUT',
    validate: nonNegative,
  }),
  cull_interval: defineOption<number>({
    name: 'cull_interval',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Seconds between checks for idle kernels.',
    default: 300,
    env: 'GP_GATEWAY_CULL_INTERVAL',
    validate: positive,
  }),
  cull_connected: defineOption<boolean>({
    name: 'cull_connected',
    kind: 'bool',
    section: GATEWAY_SECTION,
    help: 'Whether kernels with open WebSocket connections may be culled.',
    default: false,
    env: 'GP_GATEWAY_CULL_CONNECTED',
  }),
  cull_busy: defineOption<boolean>({
    name: 'cull_busy',
    kind: 'bool',
    section: GATEWAY_SECTION,
    help: 'Whether busy kernels may be culled.',
    default: false,
    env: 'GP_GATEWAY_CULL_BUSY',
  }),
  ws_ping_interval: defineOption<number>({
    name: 'ws_ping_interval',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Seconds between WebSocket pings; a client that answers neither of two pings in a row is disconnected (one that vanished, or stopped reading). 0 disables.',
    default: 30,
    env: 'GP_GATEWAY_WS_PING_INTERVAL',
    validate: nonNegative,
  }),
  ws_max_message_size: defineOption<number>({
    name: 'ws_max_message_size',
    kind: 'int',
    section: GATEWAY_SECTION,
    help:
      "The largest WebSocket message (bytes) a client may send; a bigger one closes its connection with code 1009. 10 MiB, as Jupyter Server (tornado's websocket_max_message_size): nothing bigger can come through Jupyter Server.",
    default: 10 * 1024 * 1024,
    env: 'GP_GATEWAY_WS_MAX_MESSAGE_SIZE',
    validate: positive,
  }),
  ws_max_connections_per_kernel: defineOption<number>({
    name: 'ws_max_connections_per_kernel',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Kernel WebSockets one kernel may have open; one more is refused with HTTP 503 (GP_TOO_MANY_KERNEL_CONNECTIONS) before the upgrade.',
    default: 256,
    env: 'GP_GATEWAY_WS_MAX_CONNECTIONS_PER_KERNEL',
    validate: positive,
  }),
  ws_max_connections: defineOption<number>({
    name: 'ws_max_connections',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Kernel WebSockets the gateway may have open in total; one more is refused with HTTP 503 (GP_TOO_MANY_CONNECTIONS) before the upgrade.',
    default: 4096,
    env: 'GP_GATEWAY_WS_MAX_CONNECTIONS',
    validate: positive,
  }),
  allow_origin: defineOption<string[]>({
    name: 'allow_origin',
    kind: 'list',
    section: GATEWAY_SECTION,
    help:
      "Origins (e.g. https://lab.example.com) allowed to open kernel WebSockets, as Jupyter Server's allow_origin: `*` allows any; same-origin requests and clients that send no Origin (server-side clients such as Jupyter Server) are always allowed; any other Origin gets 403.",
    default: [],
    defaultText: '(same origin only)',
    env: 'GP_GATEWAY_ALLOW_ORIGIN',
    envNote: 'comma-separated',
    metavar: '<origin>...',
    parse: parseNameList('origins'),
  }),
  shutdown_policy: defineOption<'leave' | 'stop'>({
    name: 'shutdown_policy',
    kind: 'enum',
    choices: ['leave', 'stop'],
    section: GATEWAY_SECTION,
    help: 'What SIGTERM/SIGINT does to running kernels: `leave` them running (recorded, re-attached by the next gateway) or `stop` them.',
    default: 'leave',
    env: 'GP_GATEWAY_SHUTDOWN_POLICY',
  }),
  orphan_policy: defineOption<'report' | 'delete'>({
    name: 'orphan_policy',
    kind: 'enum',
    choices: ['report', 'delete'],
    section: GATEWAY_SECTION,
    help: 'What the orphan sweeps (at start-up, then every `orphan_sweep_interval`) do with labelled kernel pods no record owns: `report` them (a warning) or `delete` them.',
    default: 'report',
    env: 'GP_GATEWAY_ORPHAN_POLICY',
  }),
  orphan_namespaces: defineOption<string[]>({
    name: 'orphan_namespaces',
    kind: 'list',
    section: GATEWAY_SECTION,
    help: 'Namespaces the orphan sweep looks in. Default: GP_NAMESPACE (else `default`). Empty string entries are ignored.',
    default: [],
    defaultText: '(GP_NAMESPACE)',
    env: 'GP_GATEWAY_ORPHAN_NAMESPACES',
    envNote: 'comma-separated',
    metavar: '<namespace>...',
    parse: parseNameList('namespaces'),
  }),
  orphan_sweep_interval: defineOption<number>({
    name: 'orphan_sweep_interval',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: 'Seconds between orphan sweeps after the one at start-up (the `orphan_policy` applies to each); 0 sweeps only at start-up. A launch in flight is never swept: its record is written before its first object.',
    default: 300,
    env: 'GP_GATEWAY_ORPHAN_SWEEP_INTERVAL',
    validate: nonNegative,
  }),
  kube_api_check_interval: defineOption<number>({
    name: 'kube_api_check_interval',
    kind: 'int',
    section: GATEWAY_SECTION,
    help: "Seconds between checks that the Kubernetes API server answers (its /readyz). While it does not, the gateway's /readyz answers 503, launches and shutdowns are refused with 503 (nothing is forgotten), and one error is logged per outage (one info line when it is back).",
    default: 5,
    env: 'GP_GATEWAY_KUBE_API_CHECK_INTERVAL',
    validate: positive,
  }),
  metrics_port: defineOption<number>({
    name: 'metrics_port',
    kind: 'int',
    section: GATEWAY_SECTION,
    help:
      "A second port (on --ip) serving only GET /metrics, without the token, for Prometheus; 0: none. /metrics on the main port always needs the token, which opens every kernel: a scraper should not hold it.",
    default: 0,
    defaultText: '0 (none; /metrics on --port with the token)',
    env: 'GP_GATEWAY_METRICS_PORT',
    validate: (v) => (v >= 0 && v <= 65535 ? undefined : 'a port number in 1..65535, or 0 for none'),
  }),
  log_level: defineOption<LogLevel>({
    name: 'log_level',
    kind: 'log-level',
    section: GATEWAY_SECTION,
    help: 'The minimum level logged.',
    default: 'info',
    env: 'GP_GATEWAY_LOG_LEVEL',
  }),
  // CurveZMQ encryption of kernel channels: core's one definition (GP_TRANSPORT_ENCRYPTION, --transport-encryption),
  // shared with the provisioners; here in the gateway's config-file section.
  transport_encryption: Object.freeze({ ...transportEncryptionOption, section: GATEWAY_SECTION }),
  log_format: defineOption<'jupyter' | 'json'>({
    name: 'log_format',
    kind: 'enum',
    choices: ['jupyter', 'json'],
    section: GATEWAY_SECTION,
    help: 'Log lines as Jupyter prints them, or one JSON object per line.',
    default: 'jupyter',
    env: 'GP_GATEWAY_LOG_FORMAT',
  }),
});

export type GatewaySettings = ValuesOf<typeof gatewayOptionTable.options>;

/**
 * What `startGateway` takes: the settings (plain data; anything left out takes its default) plus what a
 * host may hand in. Without `kubeConfig` the usual loading applies (in-cluster, else KUBECONFIG / ~/.kube/config).
 */
export interface GatewayOptions extends Partial<GatewaySettings> {
  kubeConfig?: KubeConfig;
  /** `GP_*` settings and `${VAR}` values the provisioners read; default `process.env`. */
  hostEnv?: Readonly<Record<string, string | undefined>>;
  /** Where kernels send their connection information: a listener, or options to start one (default from GP_RESPONSE_*). */
  responseListener?: ResponseListener | ResponseListenerOptions;
  /** Default: a logger per `log_level` / `log_format` writing to stderr. */
  logger?: Logger;
}

/** Resolves every setting from its sources, as the CLI does; a bad value throws a `ConfigError`. */
export function resolveGatewaySettings(sources: ConfigSources): GatewaySettings {
  return resolveConfig(gatewayOptionTable, sources).values;
}

/** Fills what `options` leaves out with the defaults, checking each given value as its definition does. */
export function settingsFromOptions(options: GatewayOptions): GatewaySettings {
  const values: Record<string, unknown> = {};
  for (const def of gatewayOptionTable.list) {
    const given = (options as Record<string, unknown>)[def.name];
    values[def.name] = given === undefined ? def.default : def.parse(given, { option: def.name, source: { kind: 'flag', name: def.flag || def.name } });
  }
  return values as GatewaySettings;
}

