/**
 * Creating (and deleting) a kernel's Kubernetes resources: the in-process API behind `launch_kubernetes.mjs`.
 *
 * Order: resolve and authorize inputs -> render -> validate every document -> (automatic mode) Namespace,
 * ServiceAccount, RoleBinding -> server-side dry run of the pod and its companions -> Pod -> companions with an
 * ownerReference to the pod. Any failure removes what this call created.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { GpError, type Logger, silentLogger } from '@gp/core';
import { describeRef, KubernetesApiError, type ObjectRef } from './errors.js';
import { resolveLaunch, type LaunchRequest, type NamespaceMode, type ResolvedLaunch } from './inputs.js';
import { call, createKubeClient, createObject, deleteObject, type KubeClient, loadKubeConfig, refOf, resourcePath } from './kube.js';
import {
  automaticNamespaceManifests,
  checkDocuments,
  type Manifest,
  ownedByPod,
  POD_TEMPLATE_KINDS,
  preparePod,
} from './manifests.js';
import { KERNEL_POD_TEMPLATE, loadTemplate, renderDocuments, type TemplateSource } from './render.js';

export interface LaunchOptions {
  /** Where to connect; defaults to in-cluster config / KUBECONFIG. Ignored when `client` is given. */
  kubeConfig?: KubeConfig;
  client?: KubeClient;
  logger?: Logger;
  /** Directory holding the kernelspec's templates (its `scripts/`); falls back to the packaged templates. */
  templateDir?: string;
  /** A template given directly (tests, hosts with their own templates). */
  template?: TemplateSource;
  /**
   * A restart of the same kernel: in automatic mode the kernel's namespace, service account and RoleBinding may
   * already exist (kept by `deleteKernelResources(handle, { keepNamespace: true })`) and are reused.
   */
  restart?: boolean;
}

/** What a launch created, enough to delete it later; plain JSON so a host can persist it. */
export interface KernelResourcesHandle {
  kernelId: string;
  namespace: string;
  namespaceMode: NamespaceMode;
  podName: string;
  /** True in automatic mode: the namespace is the kernel's and goes with it. */
  deleteNamespace: boolean;
  /** Objects in creation order (the namespace first in automatic mode). */
  objects: ObjectRef[];
}

export interface KernelPlan {
  resolved: ResolvedLaunch;
  /** Every manifest in creation order; companions carry an ownerReference with a placeholder uid. */
  manifests: Manifest[];
  pod: Manifest;
  handle: KernelResourcesHandle;
}

export interface LaunchResult extends KernelPlan {
  /** The objects as the API server returned them. */
  created: Manifest[];
}

function podTemplate(options: LaunchOptions): TemplateSource {
  return options.template ?? loadTemplate(KERNEL_POD_TEMPLATE, options.templateDir);
}

/** Resolves, renders and validates everything; contacts nothing. `--dry-run` prints `manifests`. */
export function planKernelResources(request: LaunchRequest, options: Pick<LaunchOptions, 'template' | 'templateDir'> = {}): KernelPlan {
  const resolved = resolveLaunch(request);
  const template = podTemplate(options);
  const docs = checkDocuments(renderDocuments(template, resolved), POD_TEMPLATE_KINDS, resolved.namespace, template.name);
  const pods = docs.filter((d) => d.kind === 'Pod');
  if (pods.length !== 1) {
    throw new GpError('GP_INVALID_MANIFEST', `Template ${template.name} must render exactly one Pod; it rendered ${pods.length}.`, {
      httpStatus: 500,
      details: { template: template.name, pods: pods.length },
    });
  }
  const pod = preparePod(pods[0]!, resolved, template.name);
  const companions = docs.filter((d) => d !== pods[0]).map((d) => ownedByPod(d, pod));
  const nsDocs = resolved.namespaceMode === 'auto' ? automaticNamespaceManifests(resolved) : [];
  const manifests = [...nsDocs, pod, ...companions];
  const seen = new Set<string>();
  for (const m of manifests) {
    const key = `${m.kind}/${m.metadata.name}`;
    if (seen.has(key)) throw new GpError('GP_INVALID_MANIFEST', `Template ${template.name} renders ${key} twice.`, { httpStatus: 500, details: { template: template.name, object: key } });
    seen.add(key);
  }
  return {
    resolved,
    manifests,
    pod,
    handle: {
      kernelId: resolved.kernelId,
      namespace: resolved.namespace,
      namespaceMode: resolved.namespaceMode,
      podName: resolved.podName,
      deleteNamespace: resolved.namespaceMode === 'auto',
      objects: manifests.map(refOf),
    },
  };
}

function clientFor(options: LaunchOptions): KubeClient {
  return options.client ?? createKubeClient(options.kubeConfig ?? loadKubeConfig());
}

/**
 * Creates the kernel's resources. On any failure, deletes what it created (the namespace in automatic mode) and
 * rethrows the typed error.
 */
export async function launchKernelResources(request: LaunchRequest, options: LaunchOptions = {}): Promise<LaunchResult> {
  const log = (options.logger ?? silentLogger).child({ kernel_id: request.kernelId });
  const plan = planKernelResources(request, options);
  const client = clientFor(options);
  const { resolved } = plan;
  const created: Manifest[] = [];
  const createdRefs: ObjectRef[] = [];
  log.info('Launching kernel resources', { namespace: resolved.namespace, mode: resolved.namespaceMode, pod: resolved.podName, username: resolved.username });
  try {
    const nsDocs = plan.manifests.slice(0, plan.manifests.indexOf(plan.pod));
    const companions = plan.manifests.slice(plan.manifests.indexOf(plan.pod) + 1);
    for (const doc of nsDocs) {
      const made = await createOrReuseForRestart(client, doc, resolved.kernelId, options.restart ?? false, log);
      if (made) {
        created.push(made);
        createdRefs.push(refOf(doc));
      }
    }
    // Validate the pod and its companions with the API server (admission, RBAC, schema) before creating any.
    for (const doc of [plan.pod, ...companions]) await createObject(client, doc, { dryRun: true });
    const pod = await createObject(client, plan.pod);
    created.push(pod);
    createdRefs.push(refOf(plan.pod));
    log.info(`Created ${describeRef(refOf(plan.pod))}`);
    for (const doc of companions) {
      const owned = ownedByPod(doc, pod);
      created.push(await createObject(client, owned));
      createdRefs.push(refOf(doc));
      log.debug(`Created ${describeRef(refOf(doc))}`);
    }
  } catch (error) {
    log.error('Kernel launch failed; removing what was created', { error: error as Error, created: createdRefs.map(describeRef) });
    await rollback(client, createdRefs, log);
    throw error;
  }
  return { ...plan, created };
}

/**
 * Creates one of the automatic namespace's objects (namespace, service account, RoleBinding). On a restart an
 * existing one is reused instead (a namespace only when labelled for this kernel); resolves `undefined` then.
 */
export async function createOrReuseForRestart(client: KubeClient, doc: Manifest, kernelId: string, restart: boolean, log: Logger): Promise<Manifest | undefined> {
  try {
    const made = await createObject(client, doc);
    log.debug(`Created ${describeRef(refOf(doc))}`);
    return made;
  } catch (e) {
    if (!(restart && e instanceof KubernetesApiError && e.isAlreadyExists)) throw e;
    if (doc.kind === 'Namespace') await checkOwnNamespace(client, doc, kernelId);
    log.info(`Reusing ${describeRef(refOf(doc))} for the restart`);
    return undefined;
  }
}

/** A restart may only reuse a namespace labelled for this very kernel. */
async function checkOwnNamespace(client: KubeClient, doc: Manifest, kernelId: string): Promise<void> {
  const ref = refOf(doc);
  const ns = await call<Manifest>(client, 'get', ref, { method: 'GET', path: resourcePath(ref) });
  if (ns.metadata.labels?.kernel_id !== kernelId) {
    throw new GpError('GP_NAMESPACE_CONFLICT', `Namespace "${ref.name}" already exists and does not belong to kernel ${kernelId}; refusing to reuse it.`, {
      httpStatus: 409,
      details: { namespace: ref.name, kernelId },
    });
  }
}

/**
 * Objects the launcher deletes itself: the pod (its companions carry an ownerReference to it, so the garbage
 * collector removes them) and, in automatic mode, the namespace (which takes everything in it). This is also
 * all that @gp/rbac's application role lets it delete.
 */
function rootsToDelete(refs: ObjectRef[], deleteNamespace: boolean): ObjectRef[] {
  const ns = refs.filter((r) => r.kind === 'Namespace');
  const roots = refs.filter((r) => r.kind === 'Pod' || r.plural !== undefined);
  return deleteNamespace && ns.length > 0 ? [...roots, ...ns] : roots;
}

async function rollback(client: KubeClient, refs: ObjectRef[], log: Logger): Promise<void> {
  // A namespace created by this call takes everything with it; otherwise the pod takes its companions.
  const createdNamespace = refs.filter((r) => r.kind === 'Namespace');
  const targets = createdNamespace.length > 0 ? createdNamespace : rootsToDelete(refs, false);
  if (targets.length === 0) return;
  try {
    await deleteRefs(client, targets, 0);
  } catch (e) {
    log.error('Could not remove every object of the failed launch', { error: e as Error, objects: targets.map(describeRef) });
  }
}

async function deleteRefs(client: KubeClient, refs: ObjectRef[], gracePeriodSeconds: number): Promise<ObjectRef[]> {
  const deleted: ObjectRef[] = [];
  let first: unknown;
  for (const ref of refs) {
    try {
      if (await deleteObject(client, ref, { propagationPolicy: 'Background', ...(ref.kind === 'Pod' ? { gracePeriodSeconds } : {}) })) deleted.push(ref);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
  return deleted;
}

export interface DeleteOptions {
  kubeConfig?: KubeConfig;
  client?: KubeClient;
  logger?: Logger;
  /** Pod deletion grace period; 0 (the default, as the reference) frees the pod name at once for restarts. */
  gracePeriodSeconds?: number;
  /** Keep the automatic namespace (restarts reuse it). */
  keepNamespace?: boolean;
}

/**
 * Deletes a kernel's resources: the pod (background propagation: its companions go with it through their
 * ownerReferences) and, in automatic mode, the namespace with everything in it. Objects already gone count as
 * deleted. Returns what was actually deleted.
 */
export async function deleteKernelResources(handle: KernelResourcesHandle, options: DeleteOptions = {}): Promise<ObjectRef[]> {
  const client = options.client ?? createKubeClient(options.kubeConfig ?? loadKubeConfig());
  const log = (options.logger ?? silentLogger).child({ kernel_id: handle.kernelId });
  const refs = rootsToDelete(handle.objects, handle.deleteNamespace && !options.keepNamespace);
  const deleted = await deleteRefs(client, refs, options.gracePeriodSeconds ?? 0);
  log.info('Deleted kernel resources', { objects: deleted.map(describeRef) });
  return deleted;
}
