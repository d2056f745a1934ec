/**
 * The `k8s-spec` (`jupyter-k8s-spec`) CLI: dispatches to a subcommand from the registry, built on yargs.
 * Every failure ends with one line on stderr and a non-zero exit code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, isGpError } from '@gp/core';
import { UsageError } from './commands/command.js';
import { COMMANDS } from './commands/registry.js';

export { UsageError };

export const APP_DESCRIPTION = 'Application used to create kernel specifications for use on Kubernetes clusters.';

export function topLevelHelp(prog = 'k8s-spec'): string {
  const lines = [APP_DESCRIPTION, '', 'Subcommands', '==========='];
  lines.push(`Subcommands are launched as \`${prog} cmd [args]\`. For information on`, `using subcommand 'cmd', do: \`${prog} cmd -h\`.`, '');
  for (const c of COMMANDS) lines.push(c.name, `    ${c.describe}`, '');
  lines.push('To see all available configurables, use `--help-all` on a subcommand.');
  lines.push(`\`${prog} --version\` prints the version.`);
  return lines.join('\n') + '\n';
}

/** This package's version, from its package.json (found from the source or the built bundle alike). */
export function cliVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@gp/spec-cli' && pkg.version) return pkg.version;
  }
  return 'unknown';
}

export interface MainIo {
  stdout?: (text: string) => void;
  stderr?: (line: string) => void;
}


/** Runs the CLI with `args` (without node and script); resolves to the exit code. */
export async function main(args: readonly string[], io: MainIo = {}): Promise<number> {
  const stdout = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const stderrLine = io.stderr ?? ((l: string) => void process.stderr.write(l + '\n'));
  const prog = 'k8s-spec';
  const first = args[0];
  if (first === '--version' || first === '-V') {
    stdout(`${cliVersion()}\n`);
    return 0;
  }
  if (first === undefined || first === '--help' || first === '-h' || first === '--help-all') {
    if (first === undefined) {
      stderrLine(`No subcommand specified. Must specify one of: [${COMMANDS.map((c) => `'${c.name}'`).join(', ')}]`);
      stderrLine('');
      stderrLine(topLevelHelp(prog));
      return 1;
    }
    stdout(topLevelHelp(prog));
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === first);
  let loggerName = 'K8sSpecApp';
  const fail = (message: string): number => {
    createLogger({ name: loggerName, write: stderrLine }).error(message);
    return 1;
  };
  if (!entry) {
    return fail(`Unknown subcommand '${first}': must be one of ${COMMANDS.map((c) => c.name).join(', ')}. Run '${prog} --help' for details.`);
  }
  try {
    const loaded = await entry.load();
    loggerName = loaded.loggerName ?? loggerName;
    const rest = args.slice(1);
    const help = loaded.help?.(rest);
    if (help !== undefined) {
      stdout(help);
      return 0;
    }
    if (loaded.run) {
      await loaded.run(rest);
      return 0;
    }
    const commandArgs = [entry.name, ...(loaded.preprocess ? loaded.preprocess(rest) : rest)];
    const { default: yargs } = await import('yargs');
    await yargs(commandArgs)
      .scriptName(prog)
      .command(loaded.module)
      .demandCommand(1)
      .strict()
      .version(false)
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new UsageError(`${msg}. Run '${prog} ${entry.name} --help' for the valid options.`);
      })
      .parseAsync();
    return 0;
  } catch (error) {
    if (isGpError(error) || error instanceof UsageError) return fail(error.message);
    return fail(`Unexpected error: ${(error as Error)?.stack ?? String(error)}`);
  }
}
