import type { CommandModule } from 'yargs';

// `k8s-spec rbac`: prints the RBAC manifests from @gp/rbac. Placeholder until issue #5 lands.
export const rbacCommand: CommandModule = {
  command: 'rbac',
  describe: 'Print the RBAC manifests a gp host application and its kernels need.',
  handler: () => {
    throw new Error('k8s-spec rbac is not implemented yet');
  },
};
