/**
 * `k8s-spec install` as a library: resolve options (default < config file < env < flags), plan the spec,
 * and write it atomically. The CLI command is a thin adapter over these functions.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  findDefaultConfigFile,
  pythonConfigFiles,
  kernelsDir,
  loadConfigFile,
  resolveConfig,
  silentLogger,
  type FlagValue,
  type KernelsDestination,
  type Logger,
  type ResolvedConfig,
  type ValueSource,
} from '@gp/core';
import { CONFIG_BASENAME, installOptionDefs, installOptions, type InstallValues } from './options.js';
import { resolveSources } from './resources.js';
import { kernelJsonText, planKernelSpec, type SpecFile, type SpecPlan } from './spec.js';
import { KernelSpecExistsError, checkWritableDestination, writeKernelSpec, type StagedFile } from './write.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolveRequest {
  /** Command-line values keyed by option name. */
  flags?: Readonly<Record<string, FlagValue | undefined>>;
  env?: Env;
  /** Home directory for the default config file search (tests). */
  home?: string;
}

export interface ResolvedInstall {
  config: ResolvedConfig<typeof installOptionDefs>;
  /** The config file that was read, if any. */
  configFile?: string;
  /** Python config files found where the default config file is looked for, which gp does not read. */
  skippedConfigFiles?: string[];
}

/** Reads the config file (given, `GP_CONFIG`, or the default location) and resolves every option. */
export async function resolveInstallOptions(request: ResolveRequest = {}): Promise<ResolvedInstall> {
  const env = request.env ?? process.env;
  const given = request.flags?.config_file;
  let configFile: string | undefined;
  let via: ValueSource | undefined;
  let skipped: string[] = [];
  if (given && typeof given.value === 'string' && given.value !== '') {
    configFile = given.value;
    via = { kind: 'flag', name: given.flag };
  } else if (env.GP_CONFIG) {
    configFile = env.GP_CONFIG;
    via = { kind: 'env', name: 'GP_CONFIG' };
  } else {
    configFile = request.home === undefined ? findDefaultConfigFile(CONFIG_BASENAME, env) : findDefaultConfigFile(CONFIG_BASENAME, env, request.home);
    via = { kind: 'default' };
    skipped = request.home === undefined ? pythonConfigFiles(CONFIG_BASENAME, env) : pythonConfigFiles(CONFIG_BASENAME, env, request.home);
  }
  const file = configFile ? await loadConfigFile(configFile, via) : undefined;
  const config = resolveConfig(installOptions, { flags: request.flags ?? {}, env, ...(file ? { file } : {}) });
  return { config, ...(configFile ? { configFile } : {}), ...(skipped.length > 0 ? { skippedConfigFiles: skipped } : {}) };
}

/** The active Python environment's prefix: VIRTUAL_ENV, CONDA_PREFIX, else python3's (or python's) sys.prefix. */
export function activePythonPrefix(env: Env = process.env): string {
  if (env.VIRTUAL_ENV) return env.VIRTUAL_ENV;
  if (env.CONDA_PREFIX) return env.CONDA_PREFIX;
  for (const python of ['python3', 'python']) {
    const r = spawnSync(python, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8', env: { ...env } as NodeJS.ProcessEnv });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new ConfigError('--sys-prefix', { kind: 'flag', name: 'sys-prefix' }, true, 'an active Python environment (VIRTUAL_ENV or CONDA_PREFIX set, or python3 on PATH)');
}

/** Where the spec goes: --user, --prefix / --sys-prefix, or the system directory. Conflicts are errors. */
export function destinationFor(values: InstallValues, sources: ResolvedInstall['config']['sources'], env: Env = process.env, cwd = process.cwd()): KernelsDestination {
  if (values.user && values.prefix !== '') {
    throw new ConfigError('--prefix', sources.prefix, values.prefix, 'no --prefix together with --user (choose one destination)');
  }
  if (values.user && values.sys_prefix) {
    throw new ConfigError('--sys-prefix', sources.sys_prefix, true, 'no --sys-prefix together with --user (choose one destination)');
  }
  if (values.sys_prefix && values.prefix !== '') {
    throw new ConfigError('--prefix', sources.prefix, values.prefix, 'no --prefix together with --sys-prefix (choose one destination)');
  }
  if (values.user) return { kind: 'user' };
  if (values.sys_prefix) return { kind: 'prefix', prefix: activePythonPrefix(env) };
  if (values.prefix !== '') return { kind: 'prefix', prefix: resolve(cwd, values.prefix) };
  return { kind: 'system' };
}

export interface InstallResult {
  kernelName: string;
  displayName: string;
  dir: string;
  plan: SpecPlan;
}

export interface InstallContext {
  env?: Env;
  logger?: Logger;
  cwd?: string;
  /** Where copied files come from (default: the launcher bundles, templates and logos installed with gp). */
  resources?: (files: readonly SpecFile[]) => Map<string, string>;
}

/** Plans and writes the spec for resolved options. Nothing is written unless every input is valid. */
export function installKernelSpec(resolved: ResolvedInstall, context: InstallContext = {}): InstallResult {
  const env = context.env ?? process.env;
  const logger = context.logger ?? silentLogger;
  const { values, sources } = resolved.config;
  if (resolved.configFile) logger.debug(`Read configuration from ${resolved.configFile}`);
  for (const path of resolved.skippedConfigFiles ?? []) {
    logger.warn(`Skipped ${path}: gp reads only JSON or YAML config files; write its settings to ${path.replace(/\.py$/, '.json')} (or .yaml) instead.`);
  }
  const plan = planKernelSpec(values, sources);
  const destination = destinationFor(values, sources, env, context.cwd);
  const dir = kernelsDir(destination, env);
  const target = join(dir, plan.kernelName);
  if (!values.replace && existsSync(target)) throw new KernelSpecExistsError(target);
  checkWritableDestination(dir, plan.kernelName);
  const copied = (context.resources ?? resolveSources)(plan.files);
  logger.info(`Installing kernel specification for '${plan.displayName}'`);
  for (const w of plan.warnings) logger.warn(w);
  const files: StagedFile[] = plan.files.map((f) =>
    'content' in f ? { path: f.path, content: f.content, mode: f.mode } : { path: f.path, source: copied.get(f.path)!, mode: f.mode },
  );
  files.push({ path: 'kernel.json', content: kernelJsonText(plan.kernelJson(target)), mode: 0o644 });
  const written = writeKernelSpec(dir, plan.kernelName, files, { replace: values.replace });
  logger.info(`Installed kernelspec ${plan.kernelName} in ${written}`);
  return { kernelName: plan.kernelName, displayName: plan.displayName, dir: written, plan };
}
