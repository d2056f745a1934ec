/**
 * The launcher's typed errors, and the mapping of every Kubernetes API failure onto one of them.
 */
import { GpError, type GpErrorOptions } from '@gp/core';

/** The object a Kubernetes call concerned. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
  /** Resource name in the REST path when it is not the kind's usual plural (custom resources). */
  plural?: string;
}

export type K8sVerb = 'create' | 'get' | 'list' | 'delete' | 'patch' | 'update';

/** A rendered manifest the launcher refuses to send (kind not allowed, wrong namespace or labels, bad shape). */
export class ManifestError extends GpError {
  constructor(message: string, options: GpErrorOptions = {}) {
    super('GP_INVALID_MANIFEST', message, { httpStatus: 500, ...options });
  }
}

/** `launch_custom_resource` found no such resource type: the operator that defines it is not installed. */
export class CustomResourceNotInstalledError extends GpError {
  constructor(ref: ObjectRef, plural: string, options: GpErrorOptions = {}) {
    const group = ref.apiVersion.split('/')[0] ?? ref.apiVersion;
    const what = group === 'sparkoperator.k8s.io' ? 'the Spark Operator is not installed in this cluster' : `the operator providing ${group} is not installed in this cluster`;
    super(
      'GP_CRD_NOT_INSTALLED',
      `Cannot create ${ref.kind} "${ref.name ?? ''}": ${what} (no resource "${plural}" in API group/version "${ref.apiVersion}"). ` +
        'Install the operator and its CustomResourceDefinition, or use a kernelspec that does not need it.',
      { httpStatus: 503, ...options, details: { ...ref, plural, ...options.details } },
    );
  }
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'GP_K8S_BAD_REQUEST',
  401: 'GP_K8S_UNAUTHORIZED',
  403: 'GP_K8S_FORBIDDEN',
  404: 'GP_K8S_NOT_FOUND',
  409: 'GP_K8S_CONFLICT',
  410: 'GP_K8S_GONE',
  422: 'GP_K8S_INVALID',
  429: 'GP_K8S_TOO_MANY_REQUESTS',
};

const HTTP_BY_STATUS: Record<number, number> = { 400: 422, 401: 502, 403: 403, 404: 404, 409: 409, 422: 422 };

/** A failed Kubernetes API call: code, the API server's reason and message, and what was being done to what. */
export class KubernetesApiError extends GpError {
  constructor(
    code: string,
    message: string,
    readonly statusCode: number | undefined,
    readonly reason: string | undefined,
    readonly kubernetesMessage: string | undefined,
    readonly verb: K8sVerb,
    readonly target: ObjectRef,
    options: GpErrorOptions = {},
  ) {
    super(code, message, options);
  }

  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
  get isAlreadyExists(): boolean {
    return this.statusCode === 409 && this.reason === 'AlreadyExists';
  }
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

function parseStatus(body: unknown): StatusBody | undefined {
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body !== 'string' || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as StatusBody) : undefined;
  } catch {
    return undefined;
  }
}

export function describeRef(ref: ObjectRef): string {
  const name = ref.name ? ` "${ref.name}"` : '';
  const ns = ref.namespace ? ` in namespace "${ref.namespace}"` : '';
  return `${ref.kind}${name}${ns}`;
}

/**
 * Turns any failure of a Kubernetes call into a `KubernetesApiError`. Understands `{statusCode, body}` from the
 * launcher's own client, client-node's `ApiException` (`code`, raw-text `body`) and transport errors.
 */
export function kubernetesError(error: unknown, verb: K8sVerb, target: ObjectRef, server?: string): KubernetesApiError {
  if (error instanceof KubernetesApiError) return error;
  const e = error as { statusCode?: unknown; code?: unknown; body?: unknown; message?: unknown } | undefined;
  const statusCode =
    typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : undefined;
  const what = describeRef(target);
  if (statusCode === undefined) {
    const sysCode = typeof e?.code === 'string' ? e.code : undefined;
    const msg = typeof e?.message === 'string' ? e.message : String(error);
    return new KubernetesApiError(
      'GP_K8S_UNREACHABLE',
      `Could not ${verb} ${what}: the Kubernetes API server${server ? ` at ${server}` : ''} did not answer (${sysCode ?? msg}). ` +
        'Check KUBECONFIG / in-cluster configuration and that the API server is reachable.',
      undefined,
      undefined,
      msg,
      verb,
      target,
      { cause: error, httpStatus: 502, details: { verb, ...target, ...(sysCode ? { errno: sysCode } : {}), ...(server ? { server } : {}) } },
    );
  }
  const status = parseStatus(e?.body);
  const reason = status?.reason || (statusCode === 401 ? 'Unauthorized' : undefined);
  const k8sMessage = status?.message || (typeof e?.body === 'string' && e.body && !status ? e.body.slice(0, 500) : undefined);
  const causes = status?.details?.causes?.map((c) => (c.field ? `${c.field}: ${c.message ?? c.reason ?? ''}` : (c.message ?? c.reason ?? '')));
  let hint = '';
  if (statusCode === 403) hint = ' The identity the launcher runs as lacks this permission; grant it with the roles from @gp/rbac (k8s-spec rbac).';
  else if (statusCode === 401) hint = ' The credentials in the kubeconfig / service-account token were rejected.';
  const message =
    `Kubernetes refused to ${verb} ${what}: ${reason ?? `HTTP ${statusCode}`}` +
    (k8sMessage ? ` - ${k8sMessage}` : '') +
    '.' +
    hint;
  return new KubernetesApiError(CODE_BY_STATUS[statusCode] ?? (statusCode >= 500 ? 'GP_K8S_SERVER_ERROR' : 'GP_K8S_ERROR'), message, statusCode, reason, k8sMessage, verb, target, {
    cause: error,
    httpStatus: HTTP_BY_STATUS[statusCode] ?? 502,
    details: {
      verb,
      ...target,
      statusCode,
      ...(reason ? { reason } : {}),
      ...(k8sMessage ? { kubernetesMessage: k8sMessage } : {}),
      ...(causes && causes.length ? { causes } : {}),
    },
  });
}
