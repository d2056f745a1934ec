/**
 * `launch_custom_resource`: renders the custom-resource template (`sparkoperator.k8s.io-v1beta2.yaml.j2`) and
 * creates the SparkApplication in the kernel's namespace (creating the namespace first in automatic mode).
 */
import { GpError, type Logger, silentLogger } from '@gp/core';
import { CustomResourceNotInstalledError, describeRef, KubernetesApiError, type ObjectRef } from './errors.js';
import { resolveLaunch, type LaunchRequest, type ResolvedLaunch } from './inputs.js';
import { call, createKubeClient, createObject, deleteObject, type KubeClient, loadKubeConfig, refOf } from './kube.js';
import { automaticNamespaceManifests, checkDocuments, type Manifest, mergeEnv } from './manifests.js';
import { loadTemplate, renderDocuments, type TemplateSource } from './render.js';
import { createOrReuseForRestart, type KernelResourcesHandle, type LaunchOptions } from './launch.js';

/** The custom resource a kernelspec creates. */
export interface CustomResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const SPARK_APPLICATION: CustomResourceType = {
  group: 'sparkoperator.k8s.io',
  version: 'v1beta2',
  plural: 'sparkapplications',
  kind: 'SparkApplication',
};

export interface CustomResourceLaunchOptions extends LaunchOptions {
  /** Defaults to the Spark Operator's SparkApplication; its template is `<group>-<version>.yaml.j2`. */
  resource?: CustomResourceType;
}

export interface CustomResourcePlan {
  resolved: ResolvedLaunch;
  manifests: Manifest[];
  resource: Manifest;
  handle: KernelResourcesHandle;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function customResourceTemplateName(t: CustomResourceType): string {
  return `${t.group}-${t.version}.yaml.j2`;
}

/** Resolves, renders and validates; contacts nothing. */
export function planCustomResource(request: LaunchRequest, options: Pick<CustomResourceLaunchOptions, 'template' | 'templateDir' | 'resource'> = {}): CustomResourcePlan {
  const type = options.resource ?? SPARK_APPLICATION;
  const resolved = resolveLaunch(request);
  const template: TemplateSource = options.template ?? loadTemplate(customResourceTemplateName(type), options.templateDir);
  const docs = checkDocuments(renderDocuments(template, resolved), { [type.kind]: `${type.group}/${type.version}` }, resolved.namespace, template.name);
  if (docs.length !== 1) {
    throw new GpError('GP_INVALID_MANIFEST', `Template ${template.name} must render exactly one ${type.kind}; it rendered ${docs.length} documents.`, {
      httpStatus: 500,
      details: { template: template.name },
    });
  }
  const resource = docs[0]!;
  if (resource.metadata.name !== resolved.podName) {
    throw new GpError('GP_INVALID_MANIFEST', `The ${type.kind} in ${template.name} is named "${resource.metadata.name}"; this kernel's resource name is "${resolved.podName}" (kernel_resource_name).`, {
      httpStatus: 500,
      details: { template: template.name, name: resource.metadata.name, expected: resolved.podName },
    });
  }
  resource.metadata.labels = { ...(resource.metadata.labels ?? {}), kernel_id: resolved.kernelId, component: 'kernel' };
  const spec = resource.spec;
  if (isObject(spec)) {
    // The kernel's environment reaches driver and executors (through the operator's webhook), never the host's.
    for (const role of ['driver', 'executor']) {
      const r = spec[role];
      if (isObject(r)) r.env = mergeEnv(r.env, resolved.podEnv, template.name);
    }
  }
  const nsDocs = resolved.namespaceMode === 'auto' ? automaticNamespaceManifests(resolved) : [];
  const manifests = [...nsDocs, resource];
  const objects: ObjectRef[] = manifests.map(refOf);
  objects[objects.length - 1]!.plural = type.plural;
  return {
    resolved,
    manifests,
    resource,
    handle: {
      kernelId: resolved.kernelId,
      namespace: resolved.namespace,
      namespaceMode: resolved.namespaceMode,
      podName: resolved.podName,
      deleteNamespace: resolved.namespaceMode === 'auto',
      objects,
    },
  };
}

/** Whether the API server serves `group/version` at all (discovery). */
async function servesGroupVersion(client: KubeClient, type: CustomResourceType): Promise<boolean> {
  try {
    const list = await call<{ resources?: { name: string }[] }>(client, 'get', { apiVersion: `${type.group}/${type.version}`, kind: 'APIResourceList' }, {
      method: 'GET',
      path: `/apis/${type.group}/${type.version}`,
    });
    return (list.resources ?? []).some((r) => r.name === type.plural);
  } catch (e) {
    if (e instanceof KubernetesApiError && e.isNotFound) return false;
    throw e;
  }
}

/** Creates the custom resource (and, in automatic mode, its namespace first); removes what it created on failure. */
export async function launchCustomResource(
  request: LaunchRequest,
  options: CustomResourceLaunchOptions = {},
): Promise<CustomResourcePlan & { created: Manifest[] }> {
  const type = options.resource ?? SPARK_APPLICATION;
  const log: Logger = (options.logger ?? silentLogger).child({ kernel_id: request.kernelId });
  const plan = planCustomResource(request, options);
  const client = options.client ?? createKubeClient(options.kubeConfig ?? loadKubeConfig());
  const created: Manifest[] = [];
  const createdRefs: ObjectRef[] = [];
  const ref = { ...refOf(plan.resource), plural: type.plural };
  try {
    if (!(await servesGroupVersion(client, type))) throw new CustomResourceNotInstalledError(ref, type.plural);
    for (const doc of plan.manifests.slice(0, -1)) {
      // On a restart the automatic namespace kept by deleteKernelResources(handle, { keepNamespace: true }) is reused.
      const made = await createOrReuseForRestart(client, doc, request.kernelId, options.restart ?? false, log);
      if (made) {
        created.push(made);
        createdRefs.push(refOf(doc));
      }
    }
    try {
      created.push(await createObject(client, plan.resource, { plural: type.plural }));
    } catch (e) {
      // The CRD can disappear between discovery and creation; a 404 that is not about the namespace means that.
      if (e instanceof KubernetesApiError && e.isNotFound && !/namespaces? "[^"]*" not found/.test(e.kubernetesMessage ?? '')) {
        throw new CustomResourceNotInstalledError(ref, type.plural, { cause: e });
      }
      throw e;
    }
    createdRefs.push(ref);
    log.info(`Created ${describeRef(ref)}`);
  } catch (error) {
    log.error('Custom resource launch failed; removing what was created', { error: error as Error });
    // Only the namespace (automatic mode) can be left behind: the resource is the last step.
    for (const r of createdRefs.filter((x) => x.kind === 'Namespace')) await deleteObject(client, r).catch(() => false);
    throw error;
  }
  return { ...plan, created };
}
