/**
 * One definition per option. CLI flags, `--help`, `--help-all`, environment parsing and config-file
 * parsing are all derived from these definitions (see `resolveConfig` and the CLI adapters).
 */
import { ConfigError, type ValueSource } from '../errors.js';
import type { LogLevel } from '../logging.js';
import {
  minPortRangeSize,
  parseBoolean,
  parseInteger,
  parseLogLevel,
  parsePortRange,
  parseUserList,
  portRangeToString,
  LOG_LEVEL_CHOICES,
  type PortRange,
} from './validators.js';

export type OptionKind = 'string' | 'int' | 'bool' | 'enum' | 'list' | 'port-range' | 'log-level';

/** What a parser gets besides the raw value: the option's display name and where the value came from. */
export interface ParseContext {
  /** How the option is named in messages (its flag, e.g. `port-range`, or its name). */
  option: string;
  source: ValueSource;
  /** The environment the value is resolved in, for settings that tune validation (GP_MIN_PORT_RANGE_SIZE). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface OptionDef<T = unknown> {
  /** snake_case name: the config-file key and the `--Section.name` form. */
  readonly name: string;
  readonly kind: OptionKind;
  /** Section ("class") the option belongs to, e.g. `BaseSpecApp`, for `--help-all` and sectioned config files. */
  readonly section: string;
  /** Help text, plain sentences (wrapped by the renderer). */
  readonly help: string;
  readonly default: T;
  /** How `--help` prints the default, when the value alone would mislead (e.g. a language-dependent default). */
  readonly defaultText?: string;
  /** Environment variables that set the option, highest priority first (e.g. `GP_PORT_RANGE`). */
  readonly env: readonly string[];
  /** The command-line flag (kebab-case), or `false` when the option has none. */
  readonly flag: string | false;
  /** Valid values for `enum` options (matched case-insensitively, returned in this spelling). */
  readonly choices?: readonly string[];
  /** Shown in help after the flag: `--port-range=<LOW..HIGH>`. */
  readonly metavar: string;
  /** Extra note after the env var mention, e.g. "comma-separated". */
  readonly envNote?: string;
  /** Parses a raw value (a string from a flag or env var, any JSON/YAML value from a config file). */
  parse(raw: unknown, ctx: ParseContext): T;
  /** Formats a value the way a user would type it (help defaults, debug output). */
  format(value: T): string;
}

export interface OptionInit<T> {
  name: string;
  kind: OptionKind;
  section: string;
  help: string;
  default: T;
  defaultText?: string;
  env?: string | readonly string[];
  flag?: string | false;
  choices?: readonly string[];
  metavar?: string;
  envNote?: string;
  /** Replaces the kind's parser. */
  parse?: (raw: unknown, ctx: ParseContext) => T;
  /** An extra check after parsing: returns what is valid when the value is not, else undefined. */
  validate?: (value: T) => string | undefined;
  format?: (value: T) => string;
}

export function kebabCase(name: string): string {
  return name.replace(/_/g, '-');
}

const KIND_METAVAR: Record<OptionKind, string> = {
  string: '<Unicode>',
  int: '<Int>',
  bool: '<Bool>',
  enum: '<Enum>',
  list: '<list-item-1>...',
  'port-range': '<LOW..HIGH>',
  'log-level': '<Enum>',
};

function parseString(raw: unknown, ctx: ParseContext): string {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  throw new ConfigError(ctx.option, ctx.source, raw, 'a string');
}

function kindParser(kind: OptionKind, choices: readonly string[] | undefined): (raw: unknown, ctx: ParseContext) => unknown {
  switch (kind) {
    case 'string':
      return parseString;
    case 'int':
      return (raw, ctx) => parseInteger(raw, ctx.option, ctx.source);
    case 'bool':
      return (raw, ctx) => parseBoolean(raw, ctx.option, ctx.source);
    case 'list':
      return (raw, ctx) => parseUserList(raw, ctx.option, ctx.source);
    case 'port-range':
      return (raw, ctx) => parsePortRange(raw, { option: ctx.option, source: ctx.source, minSize: minPortRangeSize(ctx.env ?? {}) });
    case 'log-level':
      return (raw, ctx) => parseLogLevel(raw, ctx.option, ctx.source);
    case 'enum':
      return (raw, ctx) => {
        const list = choices ?? [];
        if (typeof raw === 'string') {
          const hit = list.find((c) => c.toLowerCase() === raw.trim().toLowerCase());
          if (hit !== undefined) return hit;
        }
        throw new ConfigError(ctx.option, ctx.source, raw, `one of ${list.map((c) => `'${c}'`).join(', ')} (case-insensitive)`);
      };
  }
}

function kindFormatter(kind: OptionKind): (value: unknown) => string {
  switch (kind) {
    case 'list':
      return (v) => ((v as string[]).length ? (v as string[]).join(',') : '(empty)');
    case 'port-range':
      return (v) => portRangeToString(v as PortRange);
    case 'log-level':
      return (v) => String(v as LogLevel).toUpperCase();
    case 'string':
      return (v) => (v === undefined || v === null ? '(none)' : `'${String(v)}'`);
    default:
      return (v) => String(v);
  }
}

/** Builds one option definition; the flag defaults to the kebab-case name. */
export function defineOption<T>(init: OptionInit<T>): OptionDef<T> {
  const base = (init.parse ?? kindParser(init.kind, init.choices)) as (raw: unknown, ctx: ParseContext) => T;
  const validate = init.validate;
  const parse = validate
    ? (raw: unknown, ctx: ParseContext): T => {
        const value = base(raw, ctx);
        const expected = validate(value);
        if (expected !== undefined) throw new ConfigError(ctx.option, ctx.source, raw, expected);
        return value;
      }
    : base;
  const env = init.env === undefined ? [] : typeof init.env === 'string' ? [init.env] : [...init.env];
  const def: OptionDef<T> = {
    name: init.name,
    kind: init.kind,
    section: init.section,
    help: init.help,
    default: init.default,
    env,
    flag: init.flag === undefined ? kebabCase(init.name) : init.flag,
    metavar: init.metavar ?? (init.kind === 'log-level' ? KIND_METAVAR['log-level'] : KIND_METAVAR[init.kind]),
    parse,
    format: (init.format ?? kindFormatter(init.kind)) as (value: T) => string,
    ...(init.defaultText !== undefined ? { defaultText: init.defaultText } : {}),
    ...(init.kind === 'log-level' ? { choices: LOG_LEVEL_CHOICES } : init.choices ? { choices: init.choices } : {}),
    ...(init.envNote !== undefined ? { envNote: init.envNote } : {}),
  };
  return Object.freeze(def);
}

/** A pure flag that stands for a value of another option (`--debug` = `--log-level=DEBUG`). */
export interface FlagAlias {
  readonly flag: string;
  readonly help: string;
  /** The option it sets, and the raw value it sets it to. */
  readonly sets: { readonly option: string; readonly value: string };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptionDef = OptionDef<any>;
export type OptionDefs = Record<string, AnyOptionDef>;
export type ValuesOf<D extends OptionDefs> = { -readonly [K in keyof D]: D[K] extends OptionDef<infer T> ? T : never };

/** A set of option definitions, keyed by their snake_case name, plus pure-flag aliases. */
export interface OptionTable<D extends OptionDefs = OptionDefs> {
  readonly options: D;
  readonly aliases: readonly FlagAlias[];
  /** Options in definition order. */
  readonly list: readonly AnyOptionDef[];
  byFlag(flag: string): AnyOptionDef | undefined;
  /**
   * Finds an option by snake_case or kebab-case name, optionally qualified by a section: the option's own
   * section or one that inherits from it (`K8sSpecInstaller.port_range` finds the `BaseSpecApp` option).
   */
  byName(name: string, section?: string): AnyOptionDef | undefined;
  /** The sections in definition order, then sections that only inherit. */
  readonly sections: readonly string[];
  /** Whether `section` is a known section name. */
  hasSection(section: string): boolean;
}

export interface TableInit {
  aliases?: readonly FlagAlias[];
  /** Section inheritance: `{ K8sSpecInstaller: ['BaseSpecSparkApp'] }`. */
  parents?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Builds an option table. Keys must equal each definition's `name`; flags and env vars must be unique.
 */
export function defineOptions<D extends OptionDefs>(options: D, init: TableInit = {}): OptionTable<D> {
  const aliases = init.aliases ?? [];
  const parents = init.parents ?? {};
  const list = Object.values(options);
  const flags = new Map<string, AnyOptionDef>();
  const names = new Map<string, AnyOptionDef>();
  for (const [key, def] of Object.entries(options)) {
    if (key !== def.name) throw new Error(`option table key ${key} differs from the option's name ${def.name}`);
    if (def.flag) {
      if (flags.has(def.flag)) throw new Error(`flag --${def.flag} defined twice`);
      flags.set(def.flag, def);
    }
    names.set(def.name, def);
  }
  for (const alias of aliases) {
    if (flags.has(alias.flag)) throw new Error(`flag --${alias.flag} defined twice`);
    if (!names.has(alias.sets.option)) throw new Error(`alias --${alias.flag} sets unknown option ${alias.sets.option}`);
  }
  const sections = [...new Set([...list.map((d) => d.section), ...Object.keys(parents)])];
  const inherits = (section: string, ancestor: string, seen = new Set<string>()): boolean => {
    if (section === ancestor) return true;
    if (seen.has(section)) return false;
    seen.add(section);
    return (parents[section] ?? []).some((p) => inherits(p, ancestor, seen));
  };
  return {
    options,
    aliases,
    list,
    sections,
    hasSection: (section) => sections.includes(section),
    byFlag: (flag) => flags.get(flag),
    byName: (name, section) => {
      const def = names.get(name.replace(/-/g, '_'));
      if (!def) return undefined;
      return section === undefined || inherits(section, def.section) ? def : undefined;
    },
  };
}
