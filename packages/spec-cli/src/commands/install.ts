/**
 * `k8s-spec install`: the yargs adapter over the option table (flags are derived from the definitions;
 * parsing and validation stay in @gp/core), plus its own `--help` / `--help-all` renderer.
 */
import { createLogger, parseBoolean, ConfigError, type FlagValue } from '@gp/core';
import type { Argv, CommandModule } from 'yargs';
import yargsParser from 'yargs-parser';
import { renderHelp } from '../help.js';
import { installKernelSpec, resolveInstallOptions } from '../install/install.js';
import { HELP_ORDER, SECTION_ORDER, installOptions } from '../install/options.js';
import { UsageError, type LoadedCommand } from './command.js';

export const INSTALL_DESCRIPTION = 'Creates a Jupyter kernel specification for use within a Kubernetes cluster.';
export const LOGGER_NAME = 'K8sSpecInstaller';

export const INSTALL_EXAMPLES = [
  'jupyter-k8s-spec install --language=R --kernel-name=r_k8s --image-name=foo/my_r_kernel_image:v4_0',
  "jupyter-k8s-spec install --language=Scala --spark --kernel-name=scala_k8s_spark --display-name='Scala on Kubernetes with Spark'",
  "jupyter-k8s-spec install --spark --crd --display-name='Python SparkOperator'",
];

const PARENTS = {
  K8sSpecInstaller: ['BaseSpecSparkApp'],
  BaseSpecSparkApp: ['BaseSpecApp'],
  BaseSpecApp: ['RemoteProvisionerConfigMixin', 'JupyterApp'],
  JupyterApp: ['Application'],
};

export function installHelp(all: boolean): string {
  return renderHelp(
    installOptions,
    {
      description: INSTALL_DESCRIPTION,
      order: HELP_ORDER,
      sectionOrder: ['Application', 'JupyterApp', 'RemoteProvisionerConfigMixin', 'BaseSpecApp', 'BaseSpecSparkApp', 'K8sSpecInstaller'].filter((s) =>
        SECTION_ORDER.includes(s),
      ),
      parents: PARENTS,
      examples: INSTALL_EXAMPLES,
      epilog: [
        'Configuration: every option above can also come from a config file (JSON or YAML, flat {"port_range": "40000..41000"} or by section {"BaseSpecApp": {"port_range": "40000..41000"}}) and, where named, from its environment variable. Precedence, lowest to highest: built-in default < config file < environment variable < command-line flag. The config file is --config FILE, else GP_CONFIG, else the first jupyter_k8s_spec_config.json/.yaml/.yml found in JUPYTER_CONFIG_DIR (default ~/.jupyter), JUPYTER_CONFIG_PATH, the etc/jupyter of the active environment (VIRTUAL_ENV or CONDA_PREFIX), /usr/local/etc/jupyter, /etc/jupyter.',
      ],
    },
    all,
  );
}

/**
 * Rewrites the reference's class-option form (`--K8sSpecInstaller.spark=True`, `--BaseSpecApp.port_range 4..5`)
 * and `--flag=value` booleans into plain flags. Unknown `--Class.name` options are errors.
 */
export function normalizeInstallArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--([A-Za-z]\w*)\.([\w-]+)(?:=(.*))?$/s.exec(arg);
    let flag: string | undefined;
    let value: string | undefined;
    let raw = arg;
    if (m) {
      const [, section, name, v] = m;
      const def = installOptions.byName(name!, section!);
      if (!def || !def.flag) {
        throw new ConfigError(arg.split('=')[0]!, { kind: 'flag', name: arg.slice(2).split('=')[0]! }, v ?? null, `a known class option: see 'k8s-spec install --help-all'`);
      }
      flag = def.flag;
      value = v;
      if (value === undefined && def.kind !== 'bool' && i + 1 < args.length) value = args[++i];
      raw = `--${flag}`;
    } else {
      const f = /^--([\w-]+)=(.*)$/s.exec(arg);
      if (f && installOptions.byFlag(f[1]!)?.kind === 'bool') {
        flag = f[1];
        value = f[2];
      }
    }
    if (!m && flag === undefined) {
      // `--extra-spark-opts --conf a=b`: a value option takes the next argument even when it starts with
      // `-`, unless that argument is one of our own options.
      const plain = /^--([\w-]+)$/.exec(arg);
      const valueDef = plain ? installOptions.byFlag(plain[1]!) : undefined;
      const next = args[i + 1];
      if (valueDef && valueDef.kind !== 'bool' && next !== undefined && next.startsWith('-') && !isOwnOption(next)) {
        out.push(`--${valueDef.flag}=${next}`);
        i++;
        continue;
      }
    }
    const def = flag ? installOptions.byFlag(flag) : undefined;
    if (def && def.kind === 'bool' && value !== undefined) {
      const on = parseBoolean(value, `--${flag}`, { kind: 'flag', name: flag! });
      out.push(on ? `--${flag}` : `--no-${flag}`);
    } else if (def && value !== undefined) {
      out.push(`--${flag}=${value}`);
    } else out.push(raw);
  }
  return out;
}

function isOwnOption(arg: string): boolean {
  if (arg === '-h' || arg === '--help' || arg === '--help-all') return true;
  const m = /^--(?:no-)?([\w-]+)(?:=.*)?$/s.exec(arg);
  if (m && (installOptions.byFlag(m[1]!) || installOptions.aliases.some((a) => a.flag === m[1]))) return true;
  return /^--[A-Za-z]\w*\.[\w-]+/.test(arg);
}

/** Collects the flags yargs parsed into resolveConfig's input, keyed by option name. */
export function flagValues(argv: Record<string, unknown>): Record<string, FlagValue> {
  const flags: Record<string, FlagValue> = {};
  for (const def of installOptions.list) {
    if (!def.flag) continue;
    let value = argv[def.flag];
    if (value === undefined) continue;
    if (Array.isArray(value) && def.kind !== 'list') value = value[value.length - 1];
    flags[def.name] = { value, flag: def.flag };
  }
  for (const alias of installOptions.aliases) {
    const on = argv[alias.flag];
    if ((Array.isArray(on) ? on[on.length - 1] : on) === true) flags[alias.sets.option] = { value: alias.sets.value, flag: alias.flag };
  }
  return flags;
}

const BOOLEAN_FLAGS = [
  ...installOptions.list.filter((d) => d.flag && d.kind === 'bool').map((d) => d.flag as string),
  ...installOptions.aliases.map((a) => a.flag),
];
const STRING_FLAGS = installOptions.list.filter((d) => d.flag && d.kind !== 'bool').map((d) => d.flag as string);

/**
 * Parses `install` arguments with yargs' parser (the same engine and option declarations as
 * `installCommand`, without loading all of yargs: this is the CLI's hot path). Unknown options and
 * positional arguments are errors, as yargs' strict mode makes them.
 */
export function parseInstallArgs(args: readonly string[]): Record<string, unknown> {
  const parsed = yargsParser([...normalizeInstallArgs(args)], {
    boolean: BOOLEAN_FLAGS,
    string: STRING_FLAGS,
    configuration: {
      'camel-case-expansion': false,
      'dot-notation': false,
      'duplicate-arguments-array': true,
      'parse-numbers': false,
      'parse-positional-numbers': false,
      'greedy-arrays': false,
    },
  });
  const known = new Set(['_', '--', ...BOOLEAN_FLAGS, ...STRING_FLAGS]);
  const unknown = [...Object.keys(parsed).filter((k) => !known.has(k)), ...parsed._.map(String)];
  if (unknown.length) {
    throw new UsageError(`Unknown argument${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Run 'k8s-spec install --help' for the valid options.`);
  }
  return parsed;
}

/** Runs `install` for command-line arguments (after the subcommand). */
export async function runInstall(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const resolved = await resolveInstallOptions({ flags: flagValues(parseInstallArgs(args)), env });
  const logger = createLogger({ name: LOGGER_NAME, level: resolved.config.values.log_level });
  installKernelSpec(resolved, { env, logger });
}

/**
 * `install` as a yargs command module, for embedding in other yargs programs. The `k8s-spec` bin runs
 * the same declarations through `runInstall`.
 */
export const installCommand: CommandModule = {
  command: 'install',
  describe: INSTALL_DESCRIPTION,
  builder: (y: Argv) => {
    let b = y;
    for (const def of installOptions.list) {
      if (!def.flag) continue;
      b = b.option(def.flag, { type: def.kind === 'bool' ? 'boolean' : 'string', describe: def.help });
    }
    for (const alias of installOptions.aliases) b = b.option(alias.flag, { type: 'boolean', describe: alias.help });
    return b;
  },
  handler: async (argv) => {
    const env = process.env;
    const resolved = await resolveInstallOptions({ flags: flagValues(argv as Record<string, unknown>), env });
    const logger = createLogger({ name: LOGGER_NAME, level: resolved.config.values.log_level });
    installKernelSpec(resolved, { env, logger });
  },
};

export const install: LoadedCommand = {
  module: installCommand,
  loggerName: LOGGER_NAME,
  help: (args) => (args.includes('--help-all') ? installHelp(true) : args.some((a) => a === '--help' || a === '-h') ? installHelp(false) : undefined),
  preprocess: normalizeInstallArgs,
  run: runInstall,
};
