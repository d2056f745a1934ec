/**
 * The `gp-gateway` command line: flags derived from the option definitions (`--port=8888`,
 * `--allowed-env=A,B` or repeated), `--config=<file>` (JSON/YAML, flat or `{GatewayApp: {...}}`),
 * then GP_GATEWAY_* env; `--help` lists everything.
 */
import { ConfigError, loadConfigFile, resolveConfig, type FlagValue } from '@gp/core';
import { gatewayOptionTable, type GatewaySettings } from './options.js';

export interface ParsedArgs {
  help: boolean;
  config?: string;
  flags: Record<string, FlagValue>;
}

/** Parses argv (without node and the script). Unknown flags are a `ConfigError` listing the valid ones. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { help: false, flags: {} };
  const source = (name: string) => ({ kind: 'flag' as const, name });
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    const m = /^--([A-Za-z][\w.-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new ConfigError(arg, source(arg), arg, 'a flag like --port=8888 (see --help)');
    let flag = m[1]!;
    let value: string | undefined = m[2];
    if (flag.startsWith('GatewayApp.')) flag = flag.slice('GatewayApp.'.length).replace(/_/g, '-');
    if (flag === 'config') {
      out.config = value ?? argv[++i];
      continue;
    }
    const def = gatewayOptionTable.byFlag(flag) ?? gatewayOptionTable.byName(flag);
    if (!def || !def.flag) {
      throw new ConfigError(`--${flag}`, source(flag), value ?? true, `a known flag: ${gatewayOptionTable.list.map((d) => `--${d.flag}`).join(', ')}, --config, --help`);
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (def.kind === 'bool' && (next === undefined || next.startsWith('--'))) value = 'true';
      else if (next === undefined) throw new ConfigError(`--${def.flag}`, source(def.flag), undefined, `a value (${def.metavar})`);
      else value = argv[++i]!;
    }
    const previous = out.flags[def.name];
    const combined = def.kind === 'list' && previous ? `${String(previous.value)},${value}` : value;
    out.flags[def.name] = { value: combined, flag: def.flag };
  }
  return out;
}

/** Resolves the settings from argv, env and an optional config file (same precedence as the k8s-spec CLI). */
export async function settingsFromCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ help: boolean; settings?: GatewaySettings; warnings: string[] }> {
  const args = parseArgs(argv);
  if (args.help) return { help: true, warnings: [] };
  const configPath = args.config ?? env.GP_GATEWAY_CONFIG;
  const file = configPath ? await loadConfigFile(configPath) : undefined;
  const resolved = resolveConfig(gatewayOptionTable, { flags: args.flags, env, ...(file ? { file } : {}) });
  const warnings: string[] = [];
  if (resolved.sources.token.kind === 'flag') {
    // Any user of the machine can read a process's arguments (ps, /proc/<pid>/cmdline).
    warnings.push('The token was given on the command line (--token), where any user of this machine can read it (ps); use --token-file or GP_GATEWAY_TOKEN instead.');
  }
  return { help: false, settings: resolved.values, warnings };
}

export function helpText(): string {
  const lines = [
    'gp-gateway: a Jupyter kernel gateway running kernels as Kubernetes pods.',
    '',
    'Usage: gp-gateway [--option=value ...]    then: jupyter lab --gateway-url=http://<ip>:<port> --GatewayClient.auth_token=<token>',
    '',
    'Precedence: built-in default < --config file (or GP_GATEWAY_CONFIG) < environment variables < flags.',
    '',
    'Options:',
  ];
  for (const def of gatewayOptionTable.list) {
    lines.push(`--${def.flag}=${def.metavar}`);
    lines.push(`    ${def.help}`);
    lines.push(`    Default: ${def.defaultText ?? def.format(def.default)}`);
    if (def.env.length) lines.push(`    Environment: ${def.env.join(', ')}${def.envNote ? ` (${def.envNote})` : ''}`);
    if (def.choices) lines.push(`    Choices: ${def.choices.join(', ')}`);
  }
  lines.push('--config=<file>', '    A JSON or YAML file of options (flat, or under a GatewayApp section).', '--help', '    This text.');
  lines.push('', 'The kernels also read the provisioner settings (GP_NAMESPACE, GP_PROHIBITED_UIDS, GP_RESPONSE_IP/PORT, ...) from the environment.');
  return lines.join('\n');
}
