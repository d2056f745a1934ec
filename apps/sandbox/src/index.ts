// @gp/sandbox: gp-sandbox, JupyterLab with kernels as pods on an embedded control plane, for trying gp out.
export { Sandbox, type SandboxOptions, type SandboxReady } from './sandbox.js';
export { sandboxOptionTable, resolveSandboxSettings, DEFAULT_LAB_PORT, SANDBOX_LANGUAGES, type SandboxLanguage, type SandboxSettings, type ResolvedSandboxSettings } from './options.js';
export { parseArgs, settingsFromCommandLine, helpText, TRY_OUT_NOTICE } from './cli.js';
export { PortInUseError, MissingToolError, ComponentError } from './errors.js';
export { choosePort, tryPort } from './ports.js';
export type { KernelOffer } from './kernels.js';
