/**
 * Reads deploy/Dockerfile for the tests that keep it honest (dockerfile.test.ts, image.k8s.test.ts): its
 * instructions, ARG defaults, the runtime stage, and shell words of simple RUN lines. Only the subset of
 * Dockerfile syntax the file uses: `\` continuations, `#` comments, `${ARG}` expansion, double quotes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const deployDir = dirname(fileURLToPath(import.meta.url));
export const appDir = dirname(deployDir);
export const repoRoot = dirname(dirname(appDir));

export interface Instruction {
  keyword: string;
  args: string;
}

export interface ParsedDockerfile {
  text: string;
  all: Instruction[];
  /** The last stage (the image that ships). */
  runtime: Instruction[];
  argDefaults: Map<string, string>;
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const all = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const space = line.indexOf(' ');
      return { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
    });
  const runtime = all.slice(all.findLastIndex((i) => i.keyword === 'FROM'));
  const argDefaults = new Map(all.filter((i) => i.keyword === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=', 2) as [string, string]));
  return { text, all, runtime, argDefaults };
}

export function readDockerfile(): ParsedDockerfile {
  return parseDockerfile(readFileSync(join(deployDir, 'Dockerfile'), 'utf8'));
}

/** Shell words of a simple command line: whitespace-separated, double quotes grouping, `${ARG}` expanded. */
export function shellWords(line: string, argDefaults: ReadonlyMap<string, string>): string[] {
  const expanded = line.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => {
    const value = argDefaults.get(name);
    if (value === undefined) throw new Error(`Dockerfile uses \${${name}} without an ARG default`);
    return value;
  });
  return [...expanded.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The runtime stage's `k8s-spec install` lines as argv (without `k8s-spec`). */
export function specInstallArgv(dockerfile: ParsedDockerfile): string[][] {
  return dockerfile.runtime
    .filter((i) => i.keyword === 'RUN' && i.args.startsWith('k8s-spec install'))
    .map((i) => shellWords(i.args, dockerfile.argDefaults).slice(1));
}

/** The runtime stage's `ENV` assignments (`ENV A=1 B=2`). */
export function runtimeEnv(dockerfile: ParsedDockerfile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of dockerfile.runtime.filter((x) => x.keyword === 'ENV')) {
    for (const word of shellWords(i.args.replace(/\$[A-Z_]+/g, ''), dockerfile.argDefaults)) {
      const eq = word.indexOf('=');
      if (eq > 0) env[word.slice(0, eq)] = word.slice(eq + 1);
    }
  }
  return env;
}

/**
 * The build stage's `pnpm ... deploy` commands, as argv (without `pnpm`), one per deployed package, in the
 * order the Dockerfile runs them. The tests deploy with exactly these words (plus `--offline`), so they install
 * what the image installs.
 */
export function deployArgv(dockerfile: ParsedDockerfile): string[][] {
  return dockerfile.all
    .filter((i) => i.keyword === 'RUN' && /\bpnpm\b.*\bdeploy\b/.test(i.args))
    .flatMap((i) => i.args.split('&&'))
    .map((command) => shellWords(command.trim(), dockerfile.argDefaults))
    .filter((words) => words[0] === 'pnpm' && words.includes('deploy'))
    .map((words) => words.slice(1));
}

/**
 * `deployArgv` for one package, to run offline into `out`. The deploy reads the workspace lockfile
 * (`inject-workspace-packages`), so it needs the store `pnpm install --frozen-lockfile` filled and no
 * registry metadata: `pnpm deploy --legacy` re-resolved every range and failed offline on an empty cache.
 */
export function deployCommand(dockerfile: ParsedDockerfile, filter: string, out: string): string[] {
  const argv = deployArgv(dockerfile).find((words) => words[words.indexOf('--filter') + 1] === filter);
  if (!argv) throw new Error(`the Dockerfile has no 'pnpm --filter ${filter} deploy' line`);
  return [...argv.slice(0, -1), '--offline', out];
}
