/**
 * One resolution for every option, lowest to highest precedence:
 * built-in default < config file < environment variables (`GP_*`) < command-line flags.
 */
import { ConfigError, type ValueSource } from '../errors.js';
import type { AnyOptionDef, OptionDefs, OptionTable, ValuesOf } from './options.js';

/** A value given on the command line, with the flag the user typed (for messages). */
export interface FlagValue {
  value: unknown;
  flag: string;
}

export interface ConfigSources {
  /** Command-line values keyed by option name. */
  flags?: Readonly<Record<string, FlagValue | undefined>>;
  /** The environment (usually `process.env`). Empty strings count as unset. */
  env?: Readonly<Record<string, string | undefined>>;
  /** A parsed config file: flat `{ option: value }` and/or sectioned `{ Section: { option: value } }`. */
  file?: { path: string; data: unknown };
  /** What to do with config-file keys that name no option: `error` (default) or `ignore`. */
  unknownFileKeys?: 'error' | 'ignore';
}

export interface ResolvedConfig<D extends OptionDefs> {
  readonly values: ValuesOf<D>;
  readonly sources: { readonly [K in keyof D]: ValueSource };
  /** Whether the option was set by a flag, env var or config file (not left at its default). */
  isSet(name: keyof D & string): boolean;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How messages name an option: its flag (`port-range`) if it has one, else its snake_case name. */
export function optionLabel(def: AnyOptionDef): string {
  return def.flag || def.name;
}

/** Flattens a config file's data onto option names, rejecting unknown keys (naming the file and the key). */
export function readConfigFileValues(
  table: OptionTable,
  file: { path: string; data: unknown },
  unknownKeys: 'error' | 'ignore' = 'error',
): Map<string, { value: unknown; key: string }> {
  const out = new Map<string, { value: unknown; key: string }>();
  const source: ValueSource = { kind: 'file', path: file.path };
  if (file.data === null || file.data === undefined) return out;
  if (!isPlainObject(file.data)) {
    throw new ConfigError('config', source, file.data, 'a mapping of option names (or sections) to values');
  }
  const known = () =>
    `one of the options ${table.list.map((d) => d.name).join(', ')} (snake_case or kebab-case), or a section ${table.sections.join(', ')}`;
  for (const [key, value] of Object.entries(file.data)) {
    if (table.hasSection(key) && isPlainObject(value)) {
      for (const [sub, subValue] of Object.entries(value)) {
        const def = table.byName(sub, key);
        if (!def) {
          if (unknownKeys === 'ignore') continue;
          throw new ConfigError(`${key}.${sub}`, source, subValue, `a known option of section ${key}: ${known()}`);
        }
        out.set(def.name, { value: subValue, key: `${key}.${sub}` });
      }
      continue;
    }
    const def = table.byName(key);
    if (!def) {
      if (unknownKeys === 'ignore') continue;
      throw new ConfigError(key, source, value, known());
    }
    out.set(def.name, { value, key });
  }
  return out;
}

/**
 * Resolves every option of `table` from its sources. Each value is parsed and validated by its
 * definition; a bad value throws a `ConfigError` naming the option, its source, the value and what is valid.
 */
export function resolveConfig<D extends OptionDefs>(table: OptionTable<D>, sources: ConfigSources = {}): ResolvedConfig<D> {
  const values: Record<string, unknown> = {};
  const from: Record<string, ValueSource> = {};
  const fileValues = sources.file
    ? readConfigFileValues(table, sources.file, sources.unknownFileKeys ?? 'error')
    : new Map<string, { value: unknown; key: string }>();
  const env = sources.env ?? {};
  for (const def of table.list) {
    const flag = sources.flags?.[def.name];
    if (flag !== undefined && flag.value !== undefined) {
      const source: ValueSource = { kind: 'flag', name: flag.flag };
      values[def.name] = def.parse(flag.value, { option: `--${flag.flag}`, source, env });
      from[def.name] = source;
      continue;
    }
    const envName = def.env.find((name) => env[name] !== undefined && env[name] !== '');
    if (envName !== undefined) {
      const source: ValueSource = { kind: 'env', name: envName };
      values[def.name] = def.parse(env[envName], { option: optionLabel(def), source, env });
      from[def.name] = source;
      continue;
    }
    const fromFile = fileValues.get(def.name);
    if (fromFile && sources.file) {
      const source: ValueSource = { kind: 'file', path: sources.file.path };
      values[def.name] = def.parse(fromFile.value, { option: fromFile.key, source, env });
      from[def.name] = source;
      continue;
    }
    values[def.name] = def.default;
    from[def.name] = { kind: 'default' };
  }
  return {
    values: values as ValuesOf<D>,
    sources: from as { [K in keyof D]: ValueSource },
    isSet: (name) => from[name]?.kind !== 'default',
  };
}
