/**
 * The one place `k8s-spec` subcommands are registered. Each is loaded only when used, so starting the CLI
 * for one command never pays for the others.
 */
import type { CommandModule } from 'yargs';

export interface LoadedCommand {
  module: CommandModule<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Logger name for this command's error lines (e.g. `K8sSpecInstaller`). */
  loggerName?: string;
  /** Own help text for these arguments, if they ask for help (else yargs' help applies). */
  help?: (args: readonly string[]) => string | undefined;
  /** Rewrites arguments before yargs parses them. */
  preprocess?: (args: readonly string[]) => string[];
  /** A direct runner for the arguments after the subcommand (skips loading yargs; used by the bin). */
  run?: (args: readonly string[]) => Promise<void>;
}

/** A usage problem reported by the argument parser (unknown flag, missing value). */
export class UsageError extends Error {}

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
