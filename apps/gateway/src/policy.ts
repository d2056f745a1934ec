/**
 * Which variables a kernel request's `env` may carry: the operator's allow-list. Guarded variables
 * (`GUARDED_ENV`: admin-only ones such as namespace, service account, UID/GID, images, and mount-bearing
 * ones such as KERNEL_VOLUMES) pass only when listed by name; a wildcard matches only other KERNEL_* names.
 */
import { AuthorizationError, GpError } from '@gp/core';
import { checkClientSparkOpts } from '@gp/launcher';
import { ADMIN_ONLY_ENV, GUARDED_ENV } from './options.js';

const ADMIN_ONLY = new Set<string>(ADMIN_ONLY_ENV);

/**
 * Whether `name` is allowed by `allowList`: listed by name, or matched by a `PREFIX*` entry when it is a
 * KERNEL_* name that is neither admin-only nor mount-bearing (`GUARDED_ENV`).
 */
export function isEnvAllowed(name: string, allowList: readonly string[]): boolean {
  if (allowList.includes(name)) return true;
  if (Object.hasOwn(GUARDED_ENV, name) || !name.startsWith('KERNEL_')) return false;
  return allowList.some((entry) => entry.endsWith('*') && name.startsWith(entry.slice(0, -1)));
}

/** A request body that is not what the API takes: HTTP 400. */
export class BadRequestError extends GpError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('GP_BAD_REQUEST', message, { httpStatus: 400, details });
  }
}

/** Why a variable of a request's env was dropped (the kernel starts without it; a warning names it). */
export type DropReason = 'unlisted' | 'mount-bearing' | 'same-namespace';

export interface ScreenedEnv {
  /** What the kernel gets: the allowed variables, values as strings. */
  env: Record<string, string>;
  /** Variables left out, by name (never values), with why. */
  dropped: Array<{ name: string; why: DropReason }>;
}

export interface EnvContext {
  /** The namespace the gateway launches into (GP_NAMESPACE, default `default`): a KERNEL_NAMESPACE equal to it changes nothing. */
  namespace?: string;
}

/** Whether a mount-bearing value names a host path (any `hostPath` key, in any case or spelling the templates accept). */
function bearsHostPath(value: string): boolean {
  return /host_?path/i.test(value);
}

/**
 * Screens a POST /api/kernels `env`: a JSON object of string values (numbers and booleans are stringified, as
 * clients send them). Jupyter Server forwards every KERNEL_* variable of its own environment, so what a client
 * did not choose must not fail the launch, and what is dangerous must never pass (README: "The env policy"):
 * - allowed by --allowed-env: kept;
 * - admin-only (namespace, identity, images): 403, except a KERNEL_NAMESPACE equal to the gateway's namespace
 *   (dropped: it changes nothing);
 * - mount-bearing: 403 when it names a host path, otherwise dropped (never mounted) with a warning;
 * - any other KERNEL_* name: dropped with a warning;
 * - a name outside KERNEL_*: 403 (it would reach the launcher's process environment: LD_PRELOAD, PATH...).
 * Throws `AuthorizationError` (`GP_ENV_NOT_ALLOWED`, 403) naming every refused variable, or `BadRequestError`.
 */
export function screenKernelEnv(env: unknown, allowList: readonly string[], context: EnvContext = {}): ScreenedEnv {
  if (env === undefined || env === null) return { env: {}, dropped: [] };
  if (typeof env !== 'object' || Array.isArray(env)) {
    throw new BadRequestError(`The request's "env" must be a JSON object of variable names to strings, got ${Array.isArray(env) ? 'an array' : typeof env}.`, {
      field: 'env',
    });
  }
  const out: Record<string, string> = {};
  const dropped: ScreenedEnv['dropped'] = [];
  const refused: string[] = [];
  for (const [name, raw] of Object.entries(env as Record<string, unknown>)) {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw new BadRequestError(`The value of env variable ${name} must be a string, got ${raw === null ? 'null' : typeof raw}.`, { field: `env.${name}` });
    }
    const value = String(raw);
    if (isEnvAllowed(name, allowList)) out[name] = value;
    else if (!name.startsWith('KERNEL_')) refused.push(name);
    else if (ADMIN_ONLY.has(name)) {
      if (name === 'KERNEL_NAMESPACE' && value === (context.namespace || 'default')) dropped.push({ name, why: 'same-namespace' });
      else refused.push(name);
    } else if (GUARDED_ENV[name] === 'mount-bearing') {
      if (bearsHostPath(value)) refused.push(name);
      else dropped.push({ name, why: 'mount-bearing' });
    } else dropped.push({ name, why: 'unlisted' });
  }
  if (refused.length > 0) {
    const admin = refused.filter((name) => ADMIN_ONLY.has(name));
    const mounts = refused.filter((name) => GUARDED_ENV[name] === 'mount-bearing');
    throw new AuthorizationError(
      'GP_ENV_NOT_ALLOWED',
      `The gateway does not let clients set ${refused.join(', ')}` +
        (admin.length ? ` (${admin.join(', ')} ${admin.length === 1 ? 'is' : 'are'} admin-only${admin.includes('KERNEL_NAMESPACE') ? `; a KERNEL_NAMESPACE equal to the gateway's namespace ${JSON.stringify(context.namespace || 'default')} is ignored instead` : ''})` : '') +
        (mounts.length ? ` (${mounts.join(', ')} ${mounts.length === 1 ? 'names a host path' : 'name host paths'}: only listing by name allows it, never a wildcard)` : '') +
        `. Allowed: ${allowList.join(', ') || '(none)'}; an operator can change this with --allowed-env / GP_GATEWAY_ALLOWED_ENV.`,
      { details: { refused, allowed: [...allowList] } },
    );
  }
  // Client Spark options: parsed and checked before anything is created (403 naming admin-owned settings).
  if (out.KERNEL_EXTRA_SPARK_OPTS !== undefined && out.KERNEL_EXTRA_SPARK_OPTS.trim() !== '') checkClientSparkOpts(out.KERNEL_EXTRA_SPARK_OPTS);
  return { env: out, dropped };
}

/** `screenKernelEnv`'s kept variables (what is dropped is left out). */
export function checkKernelEnv(env: unknown, allowList: readonly string[], context: EnvContext = {}): Record<string, string> {
  return screenKernelEnv(env, allowList, context).env;
}

export interface StartKernelBody extends ScreenedEnv {
  name?: string;
}

/** Parses a POST /api/kernels body (`{name?, env?, path?}`), screening the env (`screenKernelEnv`). */
export function parseStartKernelBody(raw: string, allowList: readonly string[], context: EnvContext = {}): StartKernelBody {
  let body: unknown = {};
  if (raw.trim() !== '') {
    try {
      body = JSON.parse(raw);
    } catch {
      throw new BadRequestError('The request body is not valid JSON: expected {"name": "<kernelspec>", "env": {...}}.');
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestError('The request body must be a JSON object: {"name": "<kernelspec>", "env": {...}}.');
  }
  const { name, env } = body as { name?: unknown; env?: unknown };
  if (name !== undefined && name !== null && (typeof name !== 'string' || name === '')) {
    throw new BadRequestError(`The request's "name" must be a kernelspec name (a non-empty string), got ${JSON.stringify(name)}.`, { field: 'name' });
  }
  return { ...(typeof name === 'string' ? { name } : {}), ...screenKernelEnv(env, allowList, context) };
}
