/**
 * Command lines of the apps built on option tables (`gp-gateway`, `gp-sandbox`): `--flag=value`, `--flag value`,
 * a bare `--flag` for a boolean, repeated list flags joined, `--help`/`-h`. The one parser for them, so every
 * app reads flags alike and names the valid ones when it meets another.
 */
import { ConfigError } from '../errors.js';
import type { OptionTable } from './options.js';
import type { FlagValue } from './resolve.js';

export interface ParseFlagsOptions {
  /** A traitlets-style section prefix also accepted on flags: `--GatewayApp.allowed_env=...`. */
  section?: string;
  /** Flags outside the table, taking one value (e.g. `config`); returned in `extra`. */
  extraFlags?: readonly string[];
}

export interface ParsedFlags {
  help: boolean;
  /** By option name, as `resolveConfig` takes them. */
  flags: Record<string, FlagValue>;
  /** Values of `extraFlags` that were given. */
  extra: Record<string, string>;
}

const FLAG_RE = /^--([A-Za-z][\w.-]*)(?:=(.*))?$/s;

/** Parses argv (without node and the script). An unknown flag or a positional word is a `ConfigError` listing the valid flags. */
export function parseFlags(table: OptionTable, argv: readonly string[], options: ParseFlagsOptions = {}): ParsedFlags {
  const out: ParsedFlags = { help: false, flags: {}, extra: {} };
  const extraFlags = options.extraFlags ?? [];
  const source = (name: string) => ({ kind: 'flag' as const, name });
  const known = () => `a known flag: ${[...table.list.filter((d) => d.flag).map((d) => `--${d.flag}`), ...extraFlags.map((f) => `--${f}`), '--help'].join(', ')}`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      out.help = true;
      continue;
    }
    const m = FLAG_RE.exec(arg);
    if (!m) throw new ConfigError(arg, source(arg), arg, known());
    let flag = m[1]!;
    let value: string | undefined = m[2];
    if (options.section && flag.startsWith(`${options.section}.`)) flag = flag.slice(options.section.length + 1).replace(/_/g, '-');
    if (extraFlags.includes(flag)) {
      value ??= argv[++i];
      if (value === undefined) throw new ConfigError(`--${flag}`, source(flag), undefined, 'a value');
      out.extra[flag] = value;
      continue;
    }
    const def = table.byFlag(flag) ?? table.byName(flag);
    if (!def || !def.flag) throw new ConfigError(`--${flag}`, source(flag), value ?? true, known());
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
