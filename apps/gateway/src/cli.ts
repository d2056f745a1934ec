/**
 * The `gp-gateway` command line: flags derived from the option definitions (`--port=8888`,
 * `--allowed-env=A,B` or repeated), `--config=<file>` (JSON/YAML, flat or `{GatewayApp: {...}}`),
 * then GP_GATEWAY_* env; `--help` lists everything.
 */
import { loadConfigFile, parseFlags, resolveConfig, type FlagValue } from '@gp/core';
import { gatewayOptionTable, type GatewaySettings } from './options.js';

export interface ParsedArgs {
  help: boolean;
  config?: string;
  flags: Record<string, FlagValue>;
}

/** Parses argv (without node and the script) with core's flag parser: `--config` and `--GatewayApp.<option>` too. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed = parseFlags(gatewayOptionTable, argv, { section: 'GatewayApp', extraFlags: ['config'] });
  return { help: parsed.help, flags: parsed.flags, ...(parsed.extra.config !== undefined ? { config: parsed.extra.config } : {}) };
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
