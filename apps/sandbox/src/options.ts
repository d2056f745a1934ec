/**
 * gp-sandbox's options, defined once with `@gp/core`'s option definitions (default < GP_SANDBOX_* env < flag);
 * `--help` and the README's table derive from them.
 */
import { ConfigError, defineOption, defineOptions, resolveConfig, splitCommaList, type ConfigSources, type ParseContext, type ValuesOf } from '@gp/core';

export const SANDBOX_SECTION = 'SandboxApp';
export const SANDBOX_LANGUAGES = ['python', 'r'] as const;
export type SandboxLanguage = (typeof SANDBOX_LANGUAGES)[number];
/** JupyterLab's port when none is given (taken: the next free one is used, as Jupyter does). */
export const DEFAULT_LAB_PORT = 8888;

const port = (v: number): string | undefined => (v >= 0 && v <= 65535 ? undefined : 'a port number in 0..65535 (0 picks a free port)');

function parseLanguages(raw: unknown, ctx: ParseContext): SandboxLanguage[] {
  const valid = `a comma-separated list of ${SANDBOX_LANGUAGES.join(', ')} (at least one)`;
  if (typeof raw !== 'string' && (!Array.isArray(raw) || raw.some((i) => typeof i !== 'string'))) {
    throw new ConfigError(ctx.option, ctx.source, raw, valid);
  }
  // A string is core's comma list; array items (a config file's list) are taken one name each.
  const items = typeof raw === 'string' ? splitCommaList(raw) : (raw as string[]).map((i) => i.trim()).filter((i) => i !== '');
  const names = items.map((i) => i.toLowerCase());
  const bad = names.find((n) => !(SANDBOX_LANGUAGES as readonly string[]).includes(n));
  if (bad !== undefined || names.length === 0) throw new ConfigError(ctx.option, ctx.source, raw, valid);
  return [...new Set(names)] as SandboxLanguage[];
}

export const sandboxOptionTable = defineOptions({
  port: defineOption<number>({
    name: 'port',
    kind: 'int',
    section: SANDBOX_SECTION,
    help: `JupyterLab's port on 127.0.0.1. Left at the default and taken (say, by another sandbox), the next free port is used; a port given explicitly must be free. 0 picks any free port.`,
    default: DEFAULT_LAB_PORT,
    env: 'GP_SANDBOX_PORT',
    metavar: '<port>',
    validate: port,
  }),
  gateway_port: defineOption<number>({
    name: 'gateway_port',
    kind: 'int',
    section: SANDBOX_SECTION,
    help: "gp-gateway's port on 127.0.0.1; 0 picks a free port.",
    default: 0,
    env: 'GP_SANDBOX_GATEWAY_PORT',
    metavar: '<port>',
    validate: port,
  }),
  languages: defineOption<SandboxLanguage[]>({
    name: 'languages',
    kind: 'list',
    section: SANDBOX_SECTION,
    help: 'Kernel languages to offer, each as a kernel image backed by a local interpreter. By default R is offered only when R with IRkernel is installed (scripts/debian-packages.sh installs them); asked for explicitly, a missing one is an error.',
    default: [...SANDBOX_LANGUAGES],
    defaultText: 'python,r (r when installed)',
    env: 'GP_SANDBOX_LANGUAGES',
    envNote: 'comma-separated',
    metavar: '<language>...',
    parse: parseLanguages,
  }),
  python: defineOption<string>({
    name: 'python',
    kind: 'string',
    section: SANDBOX_SECTION,
    help: 'The Python whose environment has JupyterLab and ipykernel (the Python kernel image runs it). ./gp-sandbox sets it to the project venv that scripts/python-env.sh creates.',
    default: '',
    defaultText: '<checkout>/.venv/bin/python',
    env: 'GP_SANDBOX_PYTHON',
    metavar: '<path>',
  }),
  notebook_dir: defineOption<string>({
    name: 'notebook_dir',
    kind: 'string',
    section: SANDBOX_SECTION,
    help: "JupyterLab's root directory, where notebooks are saved. Default: a directory inside the sandbox's temporary directory, deleted when the sandbox stops.",
    default: '',
    defaultText: '(temporary)',
    env: 'GP_SANDBOX_NOTEBOOK_DIR',
    metavar: '<dir>',
  }),
  launch_timeout: defineOption<number>({
    name: 'launch_timeout',
    kind: 'int',
    section: SANDBOX_SECTION,
    help: 'Seconds a kernel pod may take to start and report back (the kernelspecs\' launch timeout).',
    default: 120,
    env: 'GP_SANDBOX_LAUNCH_TIMEOUT',
    metavar: '<seconds>',
    validate: (v) => (v > 0 ? undefined : 'a positive number of seconds'),
  }),
  kubeconfig: defineOption<boolean>({
    name: 'kubeconfig',
    kind: 'bool',
    section: SANDBOX_SECTION,
    help: 'Also write a kubeconfig for the embedded cluster (as its admin; deleted when the sandbox stops) and print `export KUBECONFIG=<file>`, to watch the kernel pods with kubectl.',
    default: false,
    env: 'GP_SANDBOX_KUBECONFIG',
  }),
});

export type SandboxSettings = ValuesOf<typeof sandboxOptionTable.options>;

export interface ResolvedSandboxSettings {
  settings: SandboxSettings;
  /** Whether each option was given (flag or env) rather than left at its default. */
  given: Record<keyof SandboxSettings, boolean>;
}

export function resolveSandboxSettings(sources: ConfigSources): ResolvedSandboxSettings {
  const resolved = resolveConfig(sandboxOptionTable, sources);
  const given = Object.fromEntries(sandboxOptionTable.list.map((d) => [d.name, resolved.isSet(d.name as keyof SandboxSettings)])) as Record<keyof SandboxSettings, boolean>;
  return { settings: resolved.values, given };
}
