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

/**
 * Checks a POST /api/kernels `env`: a JSON object of string values (numbers and booleans are
 * stringified, as clients send them), each name allowed. Throws `AuthorizationError`
 * (`GP_ENV_NOT_ALLOWED`, 403) naming every refused variable, or `BadRequestError` for a bad shape.
 */
export function checkKernelEnv(env: unknown, allowList: readonly string[]): Record<string, string> {
  if (env === undefined || env === null) return {};
  if (typeof env !== 'object' || Array.isArray(env)) {
    throw new BadRequestError(`The request's "env" must be a JSON object of variable names to strings, got ${Array.isArray(env) ? 'an array' : typeof env}.`, {
      field: 'env',
    });
  }
  const out: Record<string, string> = {};
  const refused: string[] = [];
  for (const [name, value] of Object.entries(env as Record<string, unknown>)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new BadRequestError(`The value of env variable ${name} must be a string, got ${value === null ? 'null' : typeof value}.`, { field: `env.${name}` });
    }
    if (!isEnvAllowed(name, allowList)) refused.push(name);
    else out[name] = String(value);
  }
  if (refused.length > 0) {
    const admin = refused.filter((name) => ADMIN_ONLY.has(name));
    const mounts = refused.filter((name) => GUARDED_ENV[name] === 'mount-bearing');
    throw new AuthorizationError(
      'GP_ENV_NOT_ALLOWED',
      `The gateway does not let clients set ${refused.join(', ')}` +
        (admin.length ? ` (${admin.join(', ')} ${admin.length === 1 ? 'is' : 'are'} admin-only)` : '') +
        (mounts.length ? ` (${mounts.join(', ')} ${mounts.length === 1 ? 'mounts' : 'mount'} volumes or config: only listing by name allows it, never a wildcard)` : '') +
        `. Allowed: ${allowList.join(', ') || '(none)'}; an operator can change this with --allowed-env / GP_GATEWAY_ALLOWED_ENV.`,
      { details: { refused, allowed: [...allowList] } },
    );
  }
  // Client Spark options: parsed and checked before anything is created (403 naming admin-owned settings).
  if (out.KERNEL_EXTRA_SPARK_OPTS !== undefined && out.KERNEL_EXTRA_SPARK_OPTS.trim() !== '') checkClientSparkOpts(out.KERNEL_EXTRA_SPARK_OPTS);
  return out;
}

export interface StartKernelBody {
  name?: string;
  env: Record<string, string>;
}

/** Parses a POST /api/kernels body (`{name?, env?, path?}`), checking the env against the allow-list. */
export function parseStartKernelBody(raw: string, allowList: readonly string[]): StartKernelBody {
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
  return { ...(typeof name === 'string' ? { name } : {}), env: checkKernelEnv(env, allowList) };
}
