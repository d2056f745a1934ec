/**
 * What a provisioner reads from a kernelspec: the `metadata.kernel_provisioner.config`, the argv with the
 * reference's placeholders, and whether that argv runs gp's own launch script (then the provisioner launches
 * in-process instead of spawning it).
 */
import { basename, dirname } from 'node:path';
import { ConfigError, launcherKindOfScript, parseImageReference, parseLaunchTimeout, parseUserList, type KernelJson, type LauncherKind } from '@gp/core';
import type { Env } from '../env.js';

/** The parts of a Jupyter kernel.json a provisioner uses: the contract's `KernelJson` (`@gp/core`). */
export type KernelSpecLike = KernelJson;

/** `metadata.kernel_provisioner.config`, the reference's traits, in TypeScript spelling. */
export interface ProvisionerConfig {
  /** `image_name` → `KERNEL_IMAGE` (overwrites a request's value, as the reference). */
  imageName?: string;
  /** `executor_image_name` → `KERNEL_EXECUTOR_IMAGE`. */
  executorImageName?: string;
  /** `launch_timeout` in seconds. */
  launchTimeout?: number;
  /** `port_range` (`LOW..HIGH` or `0..0`). */
  portRange?: string;
  /** `authorized_users` / `unauthorized_users`: replace the host's GP_* lists when given. */
  authorizedUsers?: string[];
  unauthorizedUsers?: string[];
}

const src = (name: string) => ({ kind: 'kernelspec' as const, path: `metadata.kernel_provisioner.config.${name}` });

/** A config value that counts as given: not missing, null or an empty string (as traitlets leaves the default). */
function given(config: Record<string, unknown>, name: string): boolean {
  const v = config[name];
  return v !== undefined && v !== null && v !== '';
}

function str(config: Record<string, unknown>, name: string): string | undefined {
  if (!given(config, name)) return undefined;
  const v = config[name];
  if (typeof v !== 'string') throw new ConfigError(name, src(name), v, 'a string');
  return v;
}

/**
 * Reads and checks `metadata.kernel_provisioner.config` with `@gp/core`'s validators (the ones `k8s-spec install`
 * wrote it with): a bad value is a ConfigError naming the kernelspec key. `port_range` is checked at launch,
 * against the host's GP_MIN_PORT_RANGE_SIZE. Unknown keys are ignored (as traitlets warns).
 */
export function provisionerConfig(spec: KernelSpecLike): ProvisionerConfig {
  const raw = spec.metadata?.kernel_provisioner?.config ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError('config', src('config'), raw, 'an object of provisioner settings');
  }
  const config = raw;
  const out: ProvisionerConfig = {};
  if (given(config, 'image_name')) out.imageName = parseImageReference(config.image_name, 'image_name', src('image_name'));
  if (given(config, 'executor_image_name')) {
    out.executorImageName = parseImageReference(config.executor_image_name, 'executor_image_name', src('executor_image_name'));
  }
  if (given(config, 'launch_timeout')) out.launchTimeout = parseLaunchTimeout(config.launch_timeout, 'launch_timeout', src('launch_timeout'));
  const portRange = str(config, 'port_range');
  if (portRange !== undefined) out.portRange = portRange;
  for (const [key, field] of [
    ['authorized_users', 'authorizedUsers'],
    ['unauthorized_users', 'unauthorizedUsers'],
  ] as const) {
    const v = config[key];
    if (v !== undefined && v !== null) out[field] = parseUserList(v, key, src(key));
  }
  return out;
}

/** `${VAR}` in kernel.json env values, from the host environment (jupyter_client's `string.Template`, safe). */
export function substituteEnvValues(env: Record<string, string>, hostEnv: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    out[k] = String(v).replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, a?: string, b?: string) => {
      const name = a ?? b ?? '';
      const hv = hostEnv[name];
      return hv === undefined ? whole : hv;
    });
  }
  return out;
}

export type GpLauncherKind = LauncherKind;

/** A kernelspec argv that runs gp's own launch script: launched in-process, not spawned. */
export interface GpLauncherInvocation {
  kind: GpLauncherKind;
  /** The script's directory (the kernelspec's `scripts/`): where its templates are. */
  scriptDir: string;
  /** The script's arguments (after the script path). */
  args: string[];
  /** The kernelspec's name when the script is in `<name>/scripts/`. */
  kernelName?: string;
}

/**
 * Recognizes `node <dir>/launch_kubernetes.mjs ...` / `node <dir>/launch_custom_resource.mjs ...` (or the script
 * itself as argv[0]). The reference's `python launch_kubernetes.py` is not gp's and is spawned.
 */
export function detectGpLauncher(argv: readonly string[]): GpLauncherInvocation | undefined {
  const at = (i: number): GpLauncherInvocation | undefined => {
    const script = argv[i];
    if (script === undefined) return undefined;
    const kind = launcherKindOfScript(basename(script));
    if (!kind) return undefined;
    const scriptDir = dirname(script);
    return {
      kind,
      scriptDir,
      args: argv.slice(i + 1),
      ...(basename(scriptDir) === 'scripts' ? { kernelName: basename(dirname(scriptDir)) } : {}),
    };
  };
  const first = argv[0];
  if (first !== undefined && /^node(js)?(\d+)?(\.exe)?$/.test(basename(first))) return at(1);
  return at(0);
}
