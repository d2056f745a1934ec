/**
 * The response listener's host settings (`GP_RESPONSE_*`, `GP_PROHIBITED_LOCAL_IPS`), defined once through
 * core's option definitions: `responseListenerOptionsFromEnv` resolves them and the README's table is
 * rendered from them (`responseListenerEnvMarkdown`, kept equal to the README by a unit test).
 */
import { ConfigError } from '../errors.js';
import { defineOption, defineOptions, type OptionKind, type ParseContext } from '../config/options.js';
import { parseInteger, splitCommaList } from '../config/validators.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from './payload.js';

export const DEFAULT_RESPONSE_PORT = 8877;
export const DEFAULT_RESPONSE_PORT_RETRIES = 10;
export const DEFAULT_RESPONSE_READ_TIMEOUT_MS = 10_000;
export const DEFAULT_RESPONSE_KEY_POOL_SIZE = 2;
export const DEFAULT_RESPONSE_IDLE_TIMEOUT_MS = 2_000;
export const DEFAULT_RESPONSE_MAX_CONNECTIONS = 256;
export const DEFAULT_RESPONSE_MAX_PER_SOURCE = 16;

const SECTION = 'ResponseListener';

interface EnvOptionInit<T> {
  help: string;
  default: T;
  defaultText?: string;
  parse?: (raw: unknown, ctx: ParseContext) => T;
}

/** One host setting: one env var, no flag; its snake_case name is the variable without `GP_`. */
function envOption<T>(env: string, kind: OptionKind, init: EnvOptionInit<T>) {
  return defineOption<T>({ name: env.replace(/^GP_/, '').toLowerCase(), kind, section: SECTION, env, flag: false, ...init });
}

/** An integer in `min..max` (core's integer rule). */
function intIn(min: number, max: number): (raw: unknown, ctx: ParseContext) => number {
  return (raw, ctx) => parseInteger(raw, ctx.option, ctx.source, { min, max });
}

/** The advertised IP: trimmed; only blanks means "choose one" (undefined). */
function parseIp(raw: unknown, ctx: ParseContext): string | undefined {
  if (typeof raw !== 'string') throw new ConfigError(ctx.option, ctx.source, raw, 'an IPv4 address');
  return raw.trim() || undefined;
}

/** Comma-separated regular expressions (core's comma-list rule), each of which must compile. */
function parseRegexList(raw: unknown, ctx: ParseContext): string[] {
  const expected = 'comma-separated regular expressions';
  if (typeof raw !== 'string' && !Array.isArray(raw)) throw new ConfigError(ctx.option, ctx.source, raw, expected);
  const list = splitCommaList(raw as string | string[]);
  for (const re of list) {
    try {
      new RegExp(re);
    } catch {
      throw new ConfigError(ctx.option, ctx.source, re, expected);
    }
  }
  return list;
}

/** Every setting of the response listener, in the README's order. Timeouts are in seconds. */
export const RESPONSE_LISTENER_OPTIONS = defineOptions({
  response_ip: envOption<string | undefined>('GP_RESPONSE_IP', 'string', {
    help: 'address bound and advertised',
    default: undefined,
    defaultText: 'first non-loopback IPv4 not matching `GP_PROHIBITED_LOCAL_IPS`, else `127.0.0.1`',
    parse: parseIp,
  }),
  response_port: envOption('GP_RESPONSE_PORT', 'int', {
    help: 'first port tried (`0`: ephemeral)',
    default: DEFAULT_RESPONSE_PORT,
    parse: intIn(0, 65535),
  }),
  response_port_retries: envOption('GP_RESPONSE_PORT_RETRIES', 'int', {
    help: 'further ports: 4 sequential, then random within ±2n; `EADDRINUSE`/`EACCES` skip',
    default: DEFAULT_RESPONSE_PORT_RETRIES,
    parse: intIn(0, 1000),
  }),
  response_addr_any: envOption('GP_RESPONSE_ADDR_ANY', 'bool', {
    help: 'bind all IPv4 addresses, still advertise the IP above',
    default: false,
  }),
  prohibited_local_ips: envOption<string[]>('GP_PROHIBITED_LOCAL_IPS', 'list', {
    help: "comma-separated regexes (matched at the start, like Python's `re.match`)",
    default: [],
    defaultText: '–',
    parse: parseRegexList,
  }),
  response_allow_legacy: envOption('GP_RESPONSE_ALLOW_LEGACY', 'bool', {
    help: 'accept version 0 payloads (gp addition)',
    default: false,
  }),
  response_min_version: envOption<1 | 2>('GP_RESPONSE_MIN_VERSION', 'int', {
    help: '`2` refuses version 1 payloads: only gp launchers (gp addition)',
    default: 1,
    parse: intIn(1, 2) as (raw: unknown, ctx: ParseContext) => 1 | 2,
  }),
  response_max_bytes: envOption('GP_RESPONSE_MAX_BYTES', 'int', {
    help: 'payload size cap (gp addition)',
    default: DEFAULT_MAX_PAYLOAD_BYTES,
    parse: intIn(1024, 16 * 1024 * 1024),
  }),
  response_read_timeout: envOption('GP_RESPONSE_READ_TIMEOUT', 'int', {
    help: 'seconds a sender has to finish (gp addition)',
    default: DEFAULT_RESPONSE_READ_TIMEOUT_MS / 1000,
    parse: intIn(1, 3600),
  }),
  response_idle_timeout: envOption('GP_RESPONSE_IDLE_TIMEOUT', 'int', {
    help: 'seconds a connection may stay silent, its first byte included (gp addition)',
    default: DEFAULT_RESPONSE_IDLE_TIMEOUT_MS / 1000,
    parse: intIn(1, 3600),
  }),
  response_max_connections: envOption('GP_RESPONSE_MAX_CONNECTIONS', 'int', {
    help: 'connections open at once; at the cap a newcomer replaces the oldest idle one (gp addition)',
    default: DEFAULT_RESPONSE_MAX_CONNECTIONS,
    parse: intIn(1, 65536),
  }),
  response_max_per_source: envOption('GP_RESPONSE_MAX_PER_SOURCE', 'int', {
    help: 'connections open at once from one source address, same rule (gp addition)',
    default: DEFAULT_RESPONSE_MAX_PER_SOURCE,
    parse: intIn(1, 65536),
  }),
  response_key_pool: envOption('GP_RESPONSE_KEY_POOL', 'int', {
    help: 'RSA key pairs generated ahead in the background, so a launch need not wait for one; each serves one registration only, `0` disables (gp addition)',
    default: DEFAULT_RESPONSE_KEY_POOL_SIZE,
    parse: intIn(0, 64),
  }),
});

/** The README's "Environment" table, rendered from the definitions above. */
export function responseListenerEnvMarkdown(): string {
  const rows = ['| variable | default | meaning |', '|---|---|---|'];
  for (const def of RESPONSE_LISTENER_OPTIONS.list) {
    const dflt = def.defaultText ?? `\`${def.format(def.default)}\``;
    rows.push(`| \`${def.env.join('`, `')}\` | ${dflt} | ${def.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}
