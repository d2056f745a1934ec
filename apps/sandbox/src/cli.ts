/**
 * The `gp-sandbox` command line: flags derived from the option definitions (`--port=8899`, `--kubeconfig`,
 * `--languages=python`), then GP_SANDBOX_* env; `--help` lists everything.
 */
import { parseFlags, type FlagValue } from '@gp/core';
import { resolveSandboxSettings, sandboxOptionTable, type ResolvedSandboxSettings } from './options.js';

export const TRY_OUT_NOTICE =
  'gp-sandbox is for trying gp out, not a production cluster: its node runs pods as local processes, as you, without isolation.';

export interface ParsedArgs {
  help: boolean;
  flags: Record<string, FlagValue>;
}

/** Parses argv (without node and the script) with core's flag parser. Unknown flags and positional words are a `ConfigError` listing the valid flags. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const { help, flags } = parseFlags(sandboxOptionTable, argv);
  return { help, flags };
}

export function settingsFromCommandLine(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): { help: true } | ({ help: false } & ResolvedSandboxSettings) {
  const args = parseArgs(argv);
  if (args.help) return { help: true };
  return { help: false, ...resolveSandboxSettings({ flags: args.flags, env }) };
}

export function helpText(): string {
  const lines = [
    'gp-sandbox: try gp in one command. Starts an embedded Kubernetes control plane, kernel images backed by',
    "this machine's interpreters, gp's kernelspecs, gp-gateway and JupyterLab wired to it, and prints the URL to open.",
    'Ctrl-C stops everything it started.',
    '',
    TRY_OUT_NOTICE,
    '',
    'Usage: ./gp-sandbox [--option=value ...]',
    '',
    'Precedence: built-in default < environment variables < flags.',
    '',
    'Options:',
  ];
  for (const def of sandboxOptionTable.list) {
    lines.push(def.kind === 'bool' ? `--${def.flag}` : `--${def.flag}=${def.metavar}`);
    lines.push(`    ${def.help}`);
    lines.push(`    Default: ${def.defaultText ?? def.format(def.default)}`);
    if (def.env.length) lines.push(`    Environment: ${def.env.join(', ')}${def.envNote ? ` (${def.envNote})` : ''}`);
  }
  lines.push('--help', '    This text.');
  return lines.join('\n');
}

/** The README's option table, derived from the definitions (a unit test keeps the README equal to it). */
export function optionsMarkdown(): string {
  const rows = ['| flag | environment | default | what it does |', '|---|---|---|---|'];
  for (const def of sandboxOptionTable.list) {
    const flag = def.kind === 'bool' ? `--${def.flag}` : `--${def.flag}=${def.metavar}`;
    const dflt = def.defaultText ?? def.format(def.default);
    rows.push(`| \`${flag}\` | \`${def.env.join('`, `')}\` | \`${dflt}\` | ${def.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}
