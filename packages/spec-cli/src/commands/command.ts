/**
 * What a `k8s-spec` subcommand module provides once loaded, and the usage error its parser throws. Kept apart
 * from the registry so that subcommands never import the registry that loads them.
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
