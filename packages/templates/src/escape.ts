/**
 * Text forms that are safe to place in YAML: the body of a double-quoted scalar, and JSON (a subset of YAML flow).
 * Neither ever contains a line break of any kind (LF, CR, NEL, LS, PS), a non-printable character or a raw
 * byte-order mark; all of those are written as escapes that JSON and YAML decode alike.
 */

const NAMED: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/**
 * Characters escaped in every form: C0 controls, DEL, C1 controls (incl. NEL U+0085), LS/PS (U+2028/9), the BOM,
 * the non-characters U+FFFE/U+FFFF, lone surrogates, and gp's private marker range (U+E000-U+E002).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff\ue000-\ue002]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function hex4(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function escapeUnsafe(ch: string): string {
  return NAMED[ch] ?? hex4(ch);
}

/** The body of a YAML (and JSON) double-quoted string whose value is exactly `value`. */
export function doubleQuotedBody(value: string): string {
  return value.replace(/["\\]/g, (c) => NAMED[c]!).replace(UNSAFE, escapeUnsafe);
}

export interface JsonFlowOptions {
  /** Sort object keys (Jinja's `tojson` does). */
  sortKeys?: boolean;
  /** Escape `<`, `>`, `&` and `'` as `\u003c`... as Jinja's `tojson` does. */
  htmlSafe?: boolean;
  /** Escape every non-ASCII character (Python's json.dumps default, used by `tojson`). */
  asciiOnly?: boolean;
  /** Pretty-print with this many spaces (multi-line output). */
  indent?: number;
}

function normalize(value: unknown, sortKeys: boolean, seen: Set<object>): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return null;
    if (typeof value === 'bigint') return Number(value);
    if (typeof value === 'function' || typeof value === 'symbol') return null;
    return value;
  }
  if (seen.has(value)) throw new TypeError('a value refers to itself (circular structure)');
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => normalize(v === undefined ? null : v, sortKeys, seen));
    if (value instanceof String || value instanceof Number || value instanceof Boolean) return value.valueOf();
    const keys = Object.keys(value);
    if (sortKeys) keys.sort();
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
      out[k] = normalize(v, sortKeys, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/**
 * JSON in Python's `json.dumps` layout (`, ` and `: ` separators), which is valid YAML flow on one line
 * (or block-indented JSON with `indent`). Strings are escaped like `doubleQuotedBody`, so the text never contains
 * a line break inside a string, whatever the data.
 */
export function jsonFlow(value: unknown, options: JsonFlowOptions = {}): string {
  const data = normalize(value === undefined ? null : value, options.sortKeys ?? false, new Set());
  const quote = (s: string): string => {
    let body = doubleQuotedBody(s);
    if (options.htmlSafe) body = body.replace(/[<>&']/g, hex4);
    if (options.asciiOnly) body = body.replace(/[^\u0000-\u007f]/g, hex4);
    return `"${body}"`;
  };
  const indent = options.indent !== undefined && options.indent > 0 ? ' '.repeat(options.indent) : undefined;
  const write = (v: unknown, pad: string): string => {
    if (typeof v === 'string') return quote(v);
    if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
    const inner = indent === undefined ? '' : pad + indent;
    const open = indent === undefined ? '' : `\n${inner}`;
    const close = indent === undefined ? '' : `\n${pad}`;
    const sep = indent === undefined ? ', ' : `,\n${inner}`;
    if (Array.isArray(v)) return v.length === 0 ? '[]' : `[${open}${v.map((x) => write(x, inner)).join(sep)}${close}]`;
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return `{${open}${entries.map(([k, x]) => `${quote(k)}: ${write(x, inner)}`).join(sep)}${close}}`;
  };
  return write(data, '');
}
