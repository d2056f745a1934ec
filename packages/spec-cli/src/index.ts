// @gp/spec-cli: the `k8s-spec` CLI and the kernelspec installer behind it, usable as a library.
export { main, topLevelHelp, UsageError } from './cli.js';
export { COMMANDS, type CommandEntry } from './commands/registry.js';
export type { LoadedCommand } from './commands/command.js';
export { renderHelp, type HelpDoc } from './help.js';
export { DEFAULT_IMAGES, DEFAULT_IMAGE_TAG, type ImageKey } from './install/images.js';
export {
  activePythonPrefix,
  destinationFor,
  installKernelSpec,
  resolveInstallOptions,
  type InstallContext,
  type InstallResult,
  type ResolveRequest,
  type ResolvedInstall,
} from './install/install.js';
export { CONFIG_BASENAME, DEFAULT_KERNEL_CLASS, installOptionDefs, installOptions, type InstallValues } from './install/options.js';
export { MissingResourceError, launcherScriptPath, logoPath, templatePath } from './install/resources.js';
export {
  InvalidCombinationError,
  kernelJsonText,
  planKernelSpec,
  runScript,
  sparkOpts,
  type KernelJson,
  type SpecFile,
  type SpecPlan,
  type Variant,
} from './install/spec.js';
export { KernelSpecExistsError, KernelSpecWriteError, writeKernelSpec, type StagedFile } from './install/write.js';
