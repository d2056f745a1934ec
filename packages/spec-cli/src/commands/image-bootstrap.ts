/**
 * `k8s-spec image-bootstrap install`: installs gp's kernel-side launchers (and the `KERNEL_LANGUAGE`-dispatching
 * `bootstrap-kernel.sh` entrypoint) into a kernel image, the counterpart of the reference's
 * `jupyter image-bootstrap install`. It writes the layout of `@gp/launcher`'s `kernel-launchers/install.sh`:
 *
 *   <prefix>/bootstrap-kernel.sh                                  (0755, unless --launchers-only)
 *   <prefix>/kernel-launchers/python/scripts/launch_ipykernel.py  (0755) + gp_launcher.py, gp_pool.py (0644)
 *   <prefix>/kernel-launchers/R/scripts/launch_IRkernel.py        (0755), launch_IRkernel.R (0755) + gp_launcher.py, gp_spark_init.R (0644)
 *   <prefix>/kernel-launchers/scala/scripts/launch_toree.py       (0755) + gp_launcher.py (0644)
 *
 * Everything is checked before the first file is written (source files present, no conflicting target), so a
 * refused install leaves the target untouched; each file is written to a temporary name and renamed.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, GpError, createLogger, splitCommaList, type Logger, type ValueSource } from '@gp/core';
import type { Argv, CommandModule } from 'yargs';
import type { LoadedCommand } from './command.js';

export const IMAGE_BOOTSTRAP_DESCRIPTION = "Installs gp's kernel launchers and bootstrap script into a kernel image.";
export const LOGGER_NAME = 'ImageBootstrapInstaller';
/** The reference's fixed install location; `bootstrap-kernel.sh` finds `kernel-launchers/` beside itself. */
export const DEFAULT_PREFIX = '/usr/local/bin';
export const LAUNCHER_LANGUAGES = ['python', 'R', 'scala'] as const;
export type LauncherLanguage = (typeof LAUNCHER_LANGUAGES)[number];

/** A target file exists with other contents, the launchers are missing from @gp/launcher, or a write failed. */
export class ImageBootstrapError extends GpError {
  constructor(code: 'GP_TARGET_EXISTS' | 'GP_MISSING_RESOURCE' | 'GP_INSTALL_FAILED', message: string, details: Record<string, unknown>, cause?: unknown) {
    super(code, message, { details, httpStatus: code === 'GP_TARGET_EXISTS' ? 409 : 500, ...(cause === undefined ? {} : { cause }) });
  }
}

export interface ImageBootstrapOptions {
  /** Any case; `Python` by default, as the reference. */
  languages: readonly string[];
  launchersOnly: boolean;
  prefix: string;
  /** Replace target files whose contents differ (identical files are always accepted). */
  overwrite: boolean;
  /** The `kernel-launchers` folder to install from; default: the one shipped in `@gp/launcher`. */
  sourceDir?: string;
}

export interface PlannedFile {
  source: string;
  target: string;
  mode: number;
}

export interface ImageBootstrapResult {
  languages: LauncherLanguage[];
  launchersDir: string;
  /** Every file of the layout, in write order. */
  files: PlannedFile[];
  /** Those that were already there with the same contents (left as they were, modes fixed). */
  unchanged: string[];
}

const flag = (name: string): ValueSource => ({ kind: 'flag', name });

/** The files of one language under `kernel-launchers/`: [path in the source tree, path installed, mode]. */
const LANGUAGE_FILES: Record<LauncherLanguage, ReadonlyArray<readonly [string, string, number]>> = {
  python: [
    ['python/scripts/launch_ipykernel.py', 'python/scripts/launch_ipykernel.py', 0o755],
    ['shared/scripts/gp_launcher.py', 'python/scripts/gp_launcher.py', 0o644],
    ['shared/scripts/gp_pool.py', 'python/scripts/gp_pool.py', 0o644],
  ],
  R: [
    ['R/scripts/launch_IRkernel.py', 'R/scripts/launch_IRkernel.py', 0o755],
    // What an R --spark kernelspec's bin/run.sh hands to spark-submit.
    ['R/scripts/launch_IRkernel.R', 'R/scripts/launch_IRkernel.R', 0o755],
    ['shared/scripts/gp_launcher.py', 'R/scripts/gp_launcher.py', 0o644],
    ['R/scripts/gp_spark_init.R', 'R/scripts/gp_spark_init.R', 0o644],
  ],
  scala: [
    ['scala/scripts/launch_toree.py', 'scala/scripts/launch_toree.py', 0o755],
    ['shared/scripts/gp_launcher.py', 'scala/scripts/gp_launcher.py', 0o644],
  ],
};

/** `--languages python,R`, `--languages python --languages R` → [python, R]; any case; duplicates dropped. */
export function parseLanguages(values: readonly string[]): LauncherLanguage[] {
  const names = splitCommaList(values);
  if (names.length === 0) throw new ConfigError('languages', flag('languages'), values.join(','), `one or more of ${LAUNCHER_LANGUAGES.join(', ')}`);
  const languages: LauncherLanguage[] = [];
  for (const name of names) {
    const language = LAUNCHER_LANGUAGES.find((l) => l.toLowerCase() === name.toLowerCase());
    if (!language) throw new ConfigError('languages', flag('languages'), name, `${LAUNCHER_LANGUAGES.join(', ')}, any case`);
    if (!languages.includes(language)) languages.push(language);
  }
  return languages;
}

/** The `kernel-launchers` folder shipped in `@gp/launcher` (workspace link or installed package). */
export function shippedLaunchersDir(): string {
  let root: string | undefined;
  try {
    root = dirname(createRequire(import.meta.url).resolve('@gp/launcher/package.json'));
  } catch {
    root = undefined;
  }
  const dir = root && join(root, 'kernel-launchers');
  if (!dir || !existsSync(join(dir, 'bootstrap', 'bootstrap-kernel.sh'))) {
    throw new ImageBootstrapError(
      'GP_MISSING_RESOURCE',
      `The kernel launchers of @gp/launcher are missing${dir ? ` (${dir})` : ''}: reinstall @gp/spec-cli (its dependency @gp/launcher ships kernel-launchers/).`,
      { path: dir },
    );
  }
  return dir;
}

/** Every file to write, in order, with their sources checked to exist. Pure apart from reading the file system. */
export function planImageBootstrap(options: ImageBootstrapOptions): { languages: LauncherLanguage[]; launchersDir: string; files: PlannedFile[] } {
  const languages = parseLanguages(options.languages);
  if (options.prefix.trim() === '') throw new ConfigError('prefix', flag('prefix'), options.prefix, 'a directory path such as /usr/local/bin');
  const prefix = resolve(options.prefix);
  const sourceDir = options.sourceDir ?? shippedLaunchersDir();
  const launchersDir = join(prefix, 'kernel-launchers');
  const files: PlannedFile[] = [];
  for (const language of languages) {
    for (const [from, to, mode] of LANGUAGE_FILES[language]) files.push({ source: join(sourceDir, from), target: join(launchersDir, to), mode });
  }
  if (!options.launchersOnly) files.push({ source: join(sourceDir, 'bootstrap', 'bootstrap-kernel.sh'), target: join(prefix, 'bootstrap-kernel.sh'), mode: 0o755 });
  const missing = files.filter((f) => !existsSync(f.source)).map((f) => f.source);
  if (missing.length > 0) {
    throw new ImageBootstrapError('GP_MISSING_RESOURCE', `Launcher files are missing from ${sourceDir}: ${missing.join(', ')}.`, { missing });
  }
  return { languages, launchersDir, files };
}

/** The nearest existing ancestor of `path` must be a directory (else mkdir would fail half-way). */
function checkParentsAreDirectories(path: string): void {
  let dir = dirname(path);
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) {
    throw new ImageBootstrapError('GP_TARGET_EXISTS', `Cannot install ${path}: ${dir} exists and is not a directory. Choose another --prefix.`, { path, conflict: dir });
  }
}

/** Installs the launchers; throws before writing anything when a target conflicts or a source is missing. */
export function installImageLaunchers(options: ImageBootstrapOptions, logger?: Logger): ImageBootstrapResult {
  const { languages, launchersDir, files } = planImageBootstrap(options);
  const contents = new Map(files.map((f) => [f.source, readFileSync(f.source)]));
  const unchanged: string[] = [];
  const conflicts: string[] = [];
  for (const f of files) {
    checkParentsAreDirectories(f.target);
    if (!existsSync(f.target)) continue;
    if (!statSync(f.target).isFile()) {
      throw new ImageBootstrapError('GP_TARGET_EXISTS', `Cannot install ${f.target}: it exists and is not a regular file.`, { path: f.target });
    }
    if (readFileSync(f.target).equals(contents.get(f.source)!)) unchanged.push(f.target);
    else conflicts.push(f.target);
  }
  if (conflicts.length > 0 && !options.overwrite) {
    throw new ImageBootstrapError(
      'GP_TARGET_EXISTS',
      `These files exist with other contents: ${conflicts.join(', ')}. Pass --overwrite to replace them, or choose another --prefix. Nothing was written.`,
      { conflicts },
    );
  }
  logger?.info(`Installing gp kernel launchers (${languages.join(', ')}) into ${launchersDir}`);
  for (const f of files) {
    try {
      mkdirSync(dirname(f.target), { recursive: true });
      if (!unchanged.includes(f.target)) {
        const temporary = `${f.target}.gp-tmp-${process.pid}`;
        writeFileSync(temporary, contents.get(f.source)!, { mode: f.mode });
        chmodSync(temporary, f.mode); // the umask may have narrowed it
        renameSync(temporary, f.target);
      } else {
        chmodSync(f.target, f.mode);
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const hint = code === 'EACCES' || code === 'EPERM' ? ' Run as root (in the image build) or choose a writable --prefix.' : '';
      throw new ImageBootstrapError('GP_INSTALL_FAILED', `Could not write ${f.target} (${code ?? (error as Error).message}).${hint}`, { path: f.target, errno: code }, error);
    }
    logger?.debug(`Installed ${f.target}`);
  }
  if (!options.launchersOnly) logger?.info(`Installed the kernel bootstrap script ${join(resolve(options.prefix), 'bootstrap-kernel.sh')}`);
  return { languages, launchersDir, files, unchanged };
}

interface InstallArgs {
  languages: string[];
  launchersOnly: boolean;
  prefix: string;
  overwrite: boolean;
  logLevel: string;
}

const EXAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['$0 image-bootstrap install', 'Python launcher and bootstrap-kernel.sh into /usr/local/bin (in a Dockerfile RUN step)'],
  ['$0 image-bootstrap install --languages python,R', 'Python and R launchers'],
  ['$0 image-bootstrap install --languages scala', 'The Scala (Apache Toree) launcher; the image needs Java, a Scala 2.12 Spark and Toree'],
  ['$0 image-bootstrap install --languages R --launchers-only --prefix /opt/kernel', 'Only the R launcher, under /opt/kernel'],
];

export function createImageBootstrapCommand(logger?: Logger): CommandModule {
  const install: CommandModule = {
    command: 'install',
    describe: 'Install the kernel launchers (and, unless --launchers-only, bootstrap-kernel.sh) into the image.',
    builder: (yargs: Argv) =>
      yargs
        .option('languages', {
          type: 'string',
          array: true,
          default: ['Python'],
          describe: `Launchers to install, comma-separated or repeated: ${LAUNCHER_LANGUAGES.join(', ')} (any case).`,
        })
        .option('launchers-only', {
          type: 'boolean',
          default: false,
          describe: 'Install only the launchers, not <prefix>/bootstrap-kernel.sh.',
        })
        .option('prefix', {
          type: 'string',
          default: DEFAULT_PREFIX,
          describe: 'Directory receiving bootstrap-kernel.sh and kernel-launchers/ (the reference always uses /usr/local/bin).',
        })
        .option('overwrite', {
          type: 'boolean',
          default: false,
          describe: 'Replace existing files with other contents (identical files are always accepted).',
        })
        .option('log-level', {
          type: 'string',
          choices: ['DEBUG', 'INFO', 'WARN', 'ERROR', 'debug', 'info', 'warn', 'error'],
          default: 'INFO',
          describe: 'Log level.',
        })
        .strictOptions(),
    handler: (raw) => {
      const args = raw as unknown as InstallArgs;
      const log =
        logger ?? createLogger({ name: LOGGER_NAME, level: args.logLevel.toLowerCase() as 'debug' | 'info' | 'warn' | 'error' });
      installImageLaunchers({ languages: args.languages, launchersOnly: args.launchersOnly, prefix: args.prefix, overwrite: args.overwrite }, log);
    },
  };
  return {
    command: 'image-bootstrap',
    describe: IMAGE_BOOTSTRAP_DESCRIPTION,
    builder: (yargs: Argv) => {
      let y = yargs.command(install).demandCommand(1, "No subcommand specified. Must specify one of: ['install']");
      for (const [command, description] of EXAMPLES) y = y.example(command, description);
      return y;
    },
    handler: () => undefined,
  };
}

export const imageBootstrap: LoadedCommand = {
  module: createImageBootstrapCommand(),
  loggerName: LOGGER_NAME,
};
