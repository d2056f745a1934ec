/**
 * Validation of rendered documents before anything is sent, the objects of an automatic namespace, and the
 * wiring between them (pod env, ownerReferences). Pure.
 */
import { AuthorizationError, isDns1123Subdomain, isLabelValue, KERNEL_COMPONENT, kernelRoleBinding } from '@gp/core';
import { ManifestError } from './errors.js';
import type { ResolvedLaunch } from './inputs.js';

/** A Kubernetes object as plain JSON. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

/** Kinds a kernel-pod template may produce, with their only accepted apiVersion. */
export const POD_TEMPLATE_KINDS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  Secret: 'v1',
  PersistentVolumeClaim: 'v1',
  Service: 'v1',
  ConfigMap: 'v1',
};

/** Kinds the custom-resource template may produce. */
export const CUSTOM_RESOURCE_KINDS: Readonly<Record<string, string>> = {
  SparkApplication: 'sparkoperator.k8s.io/v1beta2',
};

export const KERNEL_LABELS = { component: KERNEL_COMPONENT } as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks each document's shape and kind and puts it in the kernel's namespace. A document naming another
 * namespace is refused, never moved.
 */
export function checkDocuments(docs: unknown[], allowed: Readonly<Record<string, string>>, namespace: string, template: string): Manifest[] {
  if (docs.length === 0) throw new ManifestError(`Template ${template} rendered no documents.`, { details: { template } });
  return docs.map((doc, i) => {
    const where = `document ${i + 1} of ${template}`;
    if (!isObject(doc)) throw new ManifestError(`${where} is not a mapping (got ${Array.isArray(doc) ? 'a list' : typeof doc}).`, { details: { template, index: i } });
    const { apiVersion, kind, metadata } = doc;
    if (typeof kind !== 'string' || !(kind in allowed)) {
      throw new ManifestError(`${where} has kind ${JSON.stringify(kind)}, which the launcher does not create; allowed kinds: ${Object.keys(allowed).join(', ')}.`, {
        details: { template, index: i, kind, allowed: Object.keys(allowed) },
      });
    }
    if (apiVersion !== allowed[kind]) {
      throw new ManifestError(`${where} (${kind}) has apiVersion ${JSON.stringify(apiVersion)}; expected "${allowed[kind]}".`, {
        details: { template, index: i, kind, apiVersion },
      });
    }
    if (!isObject(metadata) || typeof metadata.name !== 'string' || !isDns1123Subdomain(metadata.name)) {
      throw new ManifestError(`${where} (${kind}) needs metadata.name, a DNS-1123 subdomain; got ${JSON.stringify(isObject(metadata) ? metadata.name : metadata)}.`, {
        details: { template, index: i, kind },
      });
    }
    if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
      throw new ManifestError(`${where} (${kind} "${metadata.name}") names namespace ${JSON.stringify(metadata.namespace)}, but the kernel's namespace is "${namespace}".`, {
        details: { template, index: i, kind, name: metadata.name, namespace: metadata.namespace, expected: namespace },
      });
    }
    for (const field of ['labels', 'annotations'] as const) {
      const m = metadata[field];
      if (m === undefined || m === null) continue;
      if (!isObject(m) || !Object.values(m).every((v) => typeof v === 'string')) {
        throw new ManifestError(`${where} (${kind} "${metadata.name}") has metadata.${field} that is not a map of strings.`, { details: { template, index: i, kind } });
      }
    }
    const out = withoutNulls(doc) as Manifest;
    out.metadata.namespace = namespace;
    return out;
  });
}

/**
 * A copy without null-valued keys: `volumeMounts:` with nothing under it renders as null, which Kubernetes reads
 * as absent; dropping it keeps the manifest (and `--dry-run`'s output) equal to what the API server stores.
 */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null && v !== undefined) out[k] = withoutNulls(v);
  return out;
}

function checkIds(sc: unknown, where: string, r: ResolvedLaunch): void {
  if (!isObject(sc)) return;
  const uid = sc.runAsUser;
  const gid = sc.runAsGroup;
  if (typeof uid === 'number' && r.settings.prohibitedUids.includes(uid)) {
    throw new AuthorizationError('GP_UID_PROHIBITED', `The rendered pod runs ${where} as UID ${uid}, which is prohibited (GP_PROHIBITED_UIDS).`, { details: { uid, where } });
  }
  if (typeof gid === 'number' && r.settings.prohibitedGids.includes(gid)) {
    throw new AuthorizationError('GP_GID_PROHIBITED', `The rendered pod runs ${where} as GID ${gid}, which is prohibited (GP_PROHIBITED_GIDS).`, { details: { gid, where } });
  }
}

/**
 * The kernel pod as the launcher sends it: exactly one Pod, named and labelled for this kernel, in its namespace,
 * with the launcher's environment (and only that) added to its first container.
 */
export function preparePod(pod: Manifest, r: ResolvedLaunch, template: string): Manifest {
  const meta = pod.metadata;
  if (meta.name !== r.podName) {
    throw new ManifestError(`The pod in ${template} is named "${meta.name}", but this kernel's pod name is "${r.podName}"; render metadata.name from kernel_pod_name.`, {
      details: { template, name: meta.name, expected: r.podName },
    });
  }
  const labels = { ...(meta.labels ?? {}) };
  for (const [k, v] of Object.entries({ kernel_id: r.kernelId, ...KERNEL_LABELS })) {
    if (labels[k] !== undefined && labels[k] !== v) {
      throw new ManifestError(`The pod in ${template} has label ${k}="${labels[k]}"; the launcher requires ${k}="${v}".`, { details: { template, label: k, value: labels[k], expected: v } });
    }
    labels[k] = v;
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!isLabelValue(v)) throw new ManifestError(`The pod in ${template} has an invalid value for label ${k}: ${JSON.stringify(v)}.`, { details: { template, label: k } });
  }
  meta.labels = labels;

  const spec = pod.spec;
  if (!isObject(spec) || !Array.isArray(spec.containers) || spec.containers.length === 0 || !spec.containers.every(isObject)) {
    throw new ManifestError(`The pod in ${template} has no spec.containers.`, { details: { template } });
  }
  if (spec.serviceAccountName === undefined || spec.serviceAccountName === '') spec.serviceAccountName = r.serviceAccountName;
  if (spec.serviceAccountName !== r.serviceAccountName) {
    throw new ManifestError(`The pod in ${template} runs as service account ${JSON.stringify(spec.serviceAccountName)}; this kernel's is "${r.serviceAccountName}".`, {
      details: { template, serviceAccountName: spec.serviceAccountName, expected: r.serviceAccountName },
    });
  }
  checkIds(spec.securityContext, 'the pod', r);
  const containers = spec.containers as Record<string, unknown>[];
  for (const c of [...containers, ...(Array.isArray(spec.initContainers) ? (spec.initContainers as unknown[]) : [])]) {
    if (isObject(c)) checkIds(c.securityContext, `container ${JSON.stringify(c.name)}`, r);
  }
  const first = containers[0]!;
  first.env = mergeEnv(first.env, r.podEnv, template);
  return pod;
}

/** The template's env entries, minus any the launcher sets, then the launcher's in name order. */
export function mergeEnv(templateEnv: unknown, launcherEnv: Record<string, string>, template = 'the template'): { name: string; [k: string]: unknown }[] {
  if (templateEnv !== undefined && templateEnv !== null && !Array.isArray(templateEnv)) {
    throw new ManifestError(`The first container's env in ${template} is not a list.`, { details: { template } });
  }
  const entries = ((templateEnv as unknown[] | null | undefined) ?? []).map((e) => {
    if (!isObject(e) || typeof e.name !== 'string') throw new ManifestError(`An env entry in ${template} has no name.`, { details: { template } });
    return e as { name: string };
  });
  const kept = entries.filter((e) => !(e.name in launcherEnv));
  const added = Object.keys(launcherEnv)
    .sort()
    .map((name) => ({ name, value: launcherEnv[name]! }));
  return [...kept, ...added];
}

/** Namespace, ServiceAccount and RoleBinding of an automatic namespace, in creation order. */
export function automaticNamespaceManifests(r: ResolvedLaunch): Manifest[] {
  const labels = { app: r.settings.appName, component: KERNEL_COMPONENT, kernel_id: r.kernelId };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: r.namespace, labels: { ...labels } } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: r.serviceAccountName, namespace: r.namespace, labels: { ...labels } } },
    kernelRoleBinding({
      name: `${r.settings.kernelClusterRole}-binding`.slice(0, 253),
      namespace: r.namespace,
      labels,
      clusterRole: r.settings.kernelClusterRole,
      serviceAccount: r.serviceAccountName,
    }),
  ];
}

/** Placeholder uid in dry-run output, replaced by the pod's real uid at creation. */
export const PENDING_UID = '00000000-0000-0000-0000-000000000000';

/** Makes `doc` owned by the pod, so it is deleted with it. */
export function ownedByPod(doc: Manifest, pod: { metadata: { name: string; uid?: string } }): Manifest {
  const out = structuredClone(doc);
  const refs = (out.metadata.ownerReferences ?? []).filter((ref) => !(ref.kind === 'Pod' && ref.apiVersion === 'v1'));
  refs.push({ apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid ?? PENDING_UID, controller: true });
  out.metadata.ownerReferences = refs;
  return out;
}

/** Finds volumes using hostPath in KERNEL_VOLUMES (refused unless GP_ALLOW_HOST_PATH_VOLUMES=true). */
export function checkRequestVolumes(volumes: unknown, allowHostPath: boolean): void {
  if (!Array.isArray(volumes) || allowHostPath) return;
  for (const v of volumes) {
    if (isObject(v) && v.hostPath !== undefined) {
      throw new AuthorizationError(
        'GP_VOLUME_NOT_ALLOWED',
        `KERNEL_VOLUMES entry ${JSON.stringify(v.name ?? '')} uses hostPath, which this host does not allow (GP_ALLOW_HOST_PATH_VOLUMES=false); use a persistentVolumeClaim, configMap, secret or emptyDir volume.`,
        { details: { volume: v.name } },
      );
    }
  }
}
