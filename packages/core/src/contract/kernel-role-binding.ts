/**
 * The kernel contract: the RoleBinding that gives a kernel's service account the kernel ClusterRole
 * (`GP_KERNEL_CLUSTER_ROLE`) in one namespace. Built here only: by the launcher in each automatic namespace
 * (named `<role>-binding`) and by the RBAC generator for shared and listed bring-your-own namespaces (named
 * `<app>-kernel`); the names differ because each is already deployed under its own.
 */
export interface KernelRoleBindingInit {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  clusterRole: string;
  serviceAccount: string;
}

export interface KernelRoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  subjects: [{ kind: 'ServiceAccount'; name: string; namespace: string }];
  roleRef: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'ClusterRole'; name: string };
  [key: string]: unknown;
}

export function kernelRoleBinding(init: KernelRoleBindingInit): KernelRoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: init.name, namespace: init.namespace, labels: { ...init.labels } },
    subjects: [{ kind: 'ServiceAccount', name: init.serviceAccount, namespace: init.namespace }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: init.clusterRole },
  };
}
