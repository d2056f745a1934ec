/**
 * What a provisioner persists to re-attach to its kernel after the host restarts: plain JSON, with the
 * reference's keys (so a host's store keeps its shape) plus a `gp` block with everything the reference forgets
 * (the SparkApplication's group/version/plural, the objects created).
 */
import { ConfigError, namespaceModeOf, type KernelConnectionInfo, type NamespaceMode } from '@gp/core';
import type { KernelResourcesHandle } from '../launch.js';
import type { ObjectRef } from '../errors.js';

export const PROVISIONER_INFO_VERSION = 1;

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  name: string;
}

/**
 * The provisioner's persisted state. Holds secrets (`connection_info.key`, `connection_info.comm_secret`): store
 * it as the host stores connection files, never log it.
 */
export interface ProvisionerInfo {
  kernel_id: string;
  connection_info?: KernelConnectionInfo;
  /** The pod IP (the reference's `assigned_ip`; also `ip`). */
  assigned_ip?: string;
  /** The kernel pod's name (the reference's `assigned_host`). */
  assigned_host?: string;
  assigned_node_ip?: string;
  ip?: string;
  comm_ip?: string;
  comm_port?: number;
  /** The kernel's namespace (the reference's `kernel_ns`). */
  kernel_ns?: string;
  /** Whether the namespace is gp-created and goes with the kernel (the reference's `delete_ns`). */
  delete_ns?: boolean;
  gp?: {
    version: number;
    provisioner: 'kubernetes' | 'spark-operator';
    /** The contract's spelling; records of earlier versions say `automatic` (read as `auto`). */
    namespace_mode: NamespaceMode | 'automatic';
    pod_name: string;
    /** What the launch created, in creation order (the namespace first in automatic mode). */
    objects: ObjectRef[];
    /** SparkOperatorProvisioner: the custom resource. */
    custom_resource?: CustomResourceRef;
  };
}

/** The handle (what to delete) a persisted info describes; also from the reference's keys alone. */
export function handleFromInfo(info: ProvisionerInfo): KernelResourcesHandle | undefined {
  const namespace = info.kernel_ns;
  if (!namespace) return undefined;
  if (info.gp) {
    return {
      kernelId: info.kernel_id,
      namespace,
      namespaceMode: namespaceModeOf(info.gp.namespace_mode) ?? 'shared',
      podName: info.gp.pod_name,
      deleteNamespace: info.delete_ns ?? false,
      objects: info.gp.objects,
    };
  }
  // A reference provisioner's info: the pod (assigned_host) and, if it created it, the namespace.
  if (!info.assigned_host) return undefined;
  const objects: ObjectRef[] = [];
  if (info.delete_ns) objects.push({ apiVersion: 'v1', kind: 'Namespace', name: namespace });
  objects.push({ apiVersion: 'v1', kind: 'Pod', name: info.assigned_host, namespace });
  return {
    kernelId: info.kernel_id,
    namespace,
    namespaceMode: info.delete_ns ? 'auto' : 'shared',
    podName: info.assigned_host,
    deleteNamespace: info.delete_ns ?? false,
    objects,
  };
}

/** Checks the shape of persisted info before a provisioner trusts it. */
export function checkProvisionerInfo(value: unknown): ProvisionerInfo {
  const bad = (what: string, v: unknown): never => {
    throw new ConfigError('provisioner_info', { kind: 'default' }, v, what);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('an object from getProvisionerInfo()', '[not an object]');
  const info = value as ProvisionerInfo;
  if (typeof info.kernel_id !== 'string' || info.kernel_id === '') return bad('an object with a kernel_id', info.kernel_id);
  if (info.gp !== undefined) {
    if (info.gp.version !== PROVISIONER_INFO_VERSION) return bad(`gp.version ${PROVISIONER_INFO_VERSION}`, info.gp.version);
    if (!Array.isArray(info.gp.objects) || typeof info.gp.pod_name !== 'string') return bad('gp.objects and gp.pod_name', '[malformed gp block]');
  }
  if (info.comm_port !== undefined && (!Number.isInteger(info.comm_port) || info.comm_port < 1 || info.comm_port > 65535)) return bad('comm_port 1-65535', info.comm_port);
  return info;
}
