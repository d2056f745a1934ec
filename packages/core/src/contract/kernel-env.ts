/**
 * The kernel contract: the ONE catalogue of `KERNEL_*` variables a kernel launch reads. For each: what it
 * does, who may set it, and (where gp checks it) its parser. The launcher's request resolution, the
 * gateway's env policy (admin-only and mount-bearing names) and the READMEs' tables derive from it.
 *
 * Who may set it:
 * - `client`: a request may carry it (the gateway passes it when --allowed-env lists it; `allowedByDefault` ones
 *   are listed by default);
 * - `admin`: only the operator, by listing it in the gateway's --allowed-env by name (a wildcard never
 *   matches); a client's value is refused (403), a mount-bearing one dropped unless it names a host path;
 * - `host`: the host provisioner or the launcher sets it (from kernel.json or the launch); a client's value is
 *   overwritten or dropped.
 */
import { ConfigError, type ValueSource } from '../errors.js';
import { validateUsername } from '../config/validators.js';
import { parseImageReference } from './images.js';
import { DNS1123_LABEL_RULE, DNS1123_SUBDOMAIN_RULE, isDns1123Label, isDns1123Subdomain } from './names.js';
import { isNegative, parseQuantity, type Quantity } from './quantity.js';
import { parseSparkInitMode } from './spark-init-modes.js';

export type KernelEnvSetter = 'client' | 'admin' | 'host';

export interface KernelEnvVariable<T = unknown> {
  readonly name: string;
  /** What the variable does. */
  readonly help: string;
  readonly setBy: KernelEnvSetter;
  /** A client-settable variable the gateway allows by default. */
  readonly allowedByDefault?: true;
  /** It mounts volumes or config into the kernel's pods (guarded: only listing it by name allows it). */
  readonly mounts?: true;
  /**
   * Its parser: text in, value out; a ConfigError naming `option` (default: the variable) otherwise.
   * None: taken as text.
   */
  readonly parse?: (raw: string, source: ValueSource, option?: string) => T;
}

const MAX_ID = 2147483647;
const ID_RE = /^\d{1,10}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LANGUAGE_RE = /^[A-Za-z][A-Za-z0-9_+-]{0,31}$/;
const CLASS_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A numeric user/group id, 0..2147483647. */
export function parseNumericId(value: string, name: string, source: ValueSource): number {
  const v = value.trim();
  const n = ID_RE.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n > MAX_ID) throw new ConfigError(name, source, value, 'a non-negative integer id (0..2147483647)');
  return n;
}

/** A non-negative Kubernetes quantity (`500m`, `2`, `1.5Gi`). */
export function parseKernelQuantity(value: string, name: string, source: ValueSource): Quantity {
  const q = parseQuantity(value.trim());
  if (!q || isNegative(q)) throw new ConfigError(name, source, value, 'a non-negative Kubernetes quantity such as "500m", "2", "1.5Gi" or "512Mi"');
  return q;
}

function dnsName(what: 'label' | 'subdomain') {
  return (name: string) =>
    (raw: string, source: ValueSource): string => {
      const v = raw.trim();
      if (!(what === 'label' ? isDns1123Label(v) : isDns1123Subdomain(v))) throw new ConfigError(name, source, raw, what === 'label' ? DNS1123_LABEL_RULE : DNS1123_SUBDOMAIN_RULE);
      return v;
    };
}

function define<T>(entries: ReadonlyArray<Omit<KernelEnvVariable<T>, 'parse'> & { parse?: (name: string) => (raw: string, source: ValueSource) => T }>) {
  return entries.map((e) => {
    const { parse, ...rest } = e;
    return Object.freeze({ ...rest, ...(parse ? { parse: (raw: string, source: ValueSource, option = e.name) => parse(option)(raw, source) } : {}) }) as KernelEnvVariable<T>;
  });
}

const quantity = (name: string) => (raw: string, source: ValueSource) => parseKernelQuantity(raw, name, source);
const id = (name: string) => (raw: string, source: ValueSource) => parseNumericId(raw, name, source);
const image = (name: string) => (raw: string, source: ValueSource) => parseImageReference(raw, name, source);

/** Every `KERNEL_*` variable gp reads, in the order the docs list them. */
export const KERNEL_ENV: readonly KernelEnvVariable[] = define<unknown>([
  // Where and as whom the kernel runs: the operator's.
  { name: 'KERNEL_NAMESPACE', setBy: 'admin', help: 'the namespace of a bring-your-own kernel (used as is: a DNS-1123 label; must exist); the launcher writes back the resolved one', parse: dnsName('label') },
  { name: 'KERNEL_SERVICE_ACCOUNT_NAME', setBy: 'admin', help: "the kernel's service account (a DNS-1123 subdomain); required with a bring-your-own namespace", parse: dnsName('subdomain') },
  { name: 'KERNEL_UID', setBy: 'admin', help: 'the numeric user id the kernel runs as (default 1000), refused when in GP_PROHIBITED_UIDS', parse: id },
  { name: 'KERNEL_GID', setBy: 'admin', help: 'the numeric group id (default 100), refused when in GP_PROHIBITED_GIDS', parse: id },
  { name: 'KERNEL_IMAGE', setBy: 'admin', help: "the kernel's image; the host sets it from kernel.json's image_name (else GP_IMAGE_NAME)", parse: image },
  { name: 'KERNEL_EXECUTOR_IMAGE', setBy: 'admin', help: "Spark executors' image; the host sets it from executor_image_name (else the kernel image)", parse: image },
  { name: 'KERNEL_CLUSTER_ROLE', setBy: 'admin', help: "the reference's per-request cluster role; gp binds GP_KERNEL_CLUSTER_ROLE only" },
  { name: 'KERNEL_ID', setBy: 'admin', help: "the kernel's id: the host sets it from the launch (--kernel-id); a client's is refused" },
  // Mounts: the operator's too, but a client's value is dropped rather than refused unless it names a host path.
  { name: 'KERNEL_VOLUMES', setBy: 'admin', mounts: true, help: 'pod volumes (a YAML/JSON list), parsed by the templates; no hostPath unless GP_ALLOW_HOST_PATH_VOLUMES=true' },
  { name: 'KERNEL_VOLUME_MOUNTS', setBy: 'admin', mounts: true, help: "the kernel container's volume mounts (a YAML/JSON list), parsed by the templates" },
  { name: 'KERNEL_SPARKAPP_CONFIG_MAP', setBy: 'admin', mounts: true, help: "the SparkApplication's sparkConfigMap" },
  // Who the kernel is for, where it works, and what it may use: the client's.
  { name: 'KERNEL_USERNAME', setBy: 'client', allowedByDefault: true, help: 'the user the kernel runs for (default: the host process user); checked against GP_AUTHORIZED_USERS / GP_UNAUTHORIZED_USERS', parse: (name) => (raw, source) => validateUsername(raw, name, source) },
  { name: 'KERNEL_WORKING_DIR', setBy: 'client', allowedByDefault: true, help: 'an absolute path; honoured only with GP_MIRROR_WORKING_DIRS=true', parse: (name) => (raw, source) => {
    if (!raw.startsWith('/') || CONTROL.test(raw) || raw.length > 4096) throw new ConfigError(name, source, raw, 'an absolute path without control characters');
    return raw;
  } },
  { name: 'KERNEL_LAUNCH_TIMEOUT', setBy: 'client', allowedByDefault: true, help: "seconds this launch may take, up to the administrator's maximum" },
  { name: 'KERNEL_CPUS', setBy: 'client', allowedByDefault: true, help: 'CPU request (a Kubernetes quantity)', parse: quantity },
  { name: 'KERNEL_MEMORY', setBy: 'client', allowedByDefault: true, help: 'memory request (a Kubernetes quantity)', parse: quantity },
  { name: 'KERNEL_GPUS', setBy: 'client', allowedByDefault: true, help: 'GPU request (a whole number)', parse: quantity },
  { name: 'KERNEL_CPUS_LIMIT', setBy: 'client', allowedByDefault: true, help: 'CPU limit, at least the request', parse: quantity },
  { name: 'KERNEL_MEMORY_LIMIT', setBy: 'client', allowedByDefault: true, help: 'memory limit, at least the request', parse: quantity },
  { name: 'KERNEL_GPUS_LIMIT', setBy: 'client', allowedByDefault: true, help: 'GPU limit, equal to the request', parse: quantity },
  { name: 'KERNEL_EXTRA_SPARK_OPTS', setBy: 'client', allowedByDefault: true, help: "extra spark-submit options; settings the admin owns (images, service account, volumes, templates, namespace) are refused" },
  { name: 'KERNEL_POD_NAME', setBy: 'client', help: "the kernel pod's name, made a DNS-1123 label (default <username>-<kernel id>)" },
  // Set by the host from kernel.json and the launch.
  { name: 'KERNEL_LANGUAGE', setBy: 'host', help: "the kernelspec's language (python, r, scala)", parse: (name) => (raw, source) => {
    if (!LANGUAGE_RE.test(raw)) throw new ConfigError(name, source, raw, 'the kernel language from the kernelspec: python, r or scala');
    return raw;
  } },
  { name: 'KERNEL_NAME', setBy: 'host', help: "the kernelspec's name (its directory)" },
  { name: 'KERNEL_CLASS_NAME', setBy: 'host', help: 'the Python kernel class (--kernel-class-name)', parse: (name) => (raw, source) => {
    if (!CLASS_NAME_RE.test(raw)) throw new ConfigError(name, source, raw, 'a dotted class name such as ipykernel.ipkernel.IPythonKernel');
    return raw;
  } },
  { name: 'KERNEL_SPARK_CONTEXT_INIT_MODE', setBy: 'host', help: 'lazy, eager or none (--spark-context-initialization-mode)', parse: (name) => (raw, source) => parseSparkInitMode(raw, name, source) },
  { name: 'KERNEL_APP_NAME', setBy: 'host', help: "the reference's app label; gp's pods take GP_APP_NAME, never the request's" },
]);

const BY_NAME = new Map(KERNEL_ENV.map((v) => [v.name, v]));

/** The catalogue entry of a variable, or undefined for a name gp does not read. */
export function kernelEnvVariable(name: string): KernelEnvVariable | undefined {
  return BY_NAME.get(name);
}

/** The names of the catalogue entries that match, in catalogue order. */
export function kernelEnvNames(match: (v: KernelEnvVariable) => boolean): string[] {
  return KERNEL_ENV.filter(match).map((v) => v.name);
}

/**
 * Parses `raw` with the variable's parser (text as is when it has none). `option` names the value in errors
 * when it did not come as this variable (a flag, or a `GP_*` setting held to the same rule).
 */
export function parseKernelEnv<T>(name: string, raw: string, source: ValueSource = { kind: 'request', name }, option = name): T {
  const entry = BY_NAME.get(name);
  return (entry?.parse ? entry.parse(raw, source, option) : raw) as T;
}

/** The docs' table of the catalogue (Markdown), kept equal to the READMEs by unit tests. */
export function kernelEnvMarkdown(): string {
  const who: Record<KernelEnvSetter, string> = { client: 'client', admin: 'admin only', host: 'host' };
  const rows = ['| variable | who sets it | what it does |', '|---|---|---|'];
  for (const v of KERNEL_ENV) {
    const setter = `${who[v.setBy]}${v.allowedByDefault ? ' (allowed by default)' : ''}${v.mounts ? ' (mount-bearing)' : ''}`;
    rows.push(`| \`${v.name}\` | ${setter} | ${v.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}
