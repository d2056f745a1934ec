/**
 * The one place `k8s-spec` subcommands are registered. Each is loaded only when used, so starting the CLI
 * for one command never pays for the others.
 */
import type { LoadedCommand } from './command.js';

export interface CommandEntry {
  name: string;
  describe: string;
  load: () => Promise<LoadedCommand>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'install',
    describe: 'Creates a Jupyter kernel specification for use within a Kubernetes cluster.',
    load: async () => (await import('./install.js')).install,
  },
  {
    name: 'rbac',
    describe: 'Prints the RBAC manifests a gp host application and its kernels need.',
    load: async () => ({ module: (await import('./rbac.js')).rbacCommand, loggerName: 'K8sSpecRbac' }),
  },
  {
    name: 'image-bootstrap',
    describe: "Installs gp's kernel launchers and bootstrap script into a kernel image.",
    load: async () => (await import('./image-bootstrap.js')).imageBootstrap,
  },
];
