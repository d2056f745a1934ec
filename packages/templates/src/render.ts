/**
 * Rendering with structural verification: a template's values can never add or remove YAML fields, items or
 * documents.
 *
 * 1. Every `{{ ... }}` output is a *value*: strings are written as the body of a YAML double-quoted string (no line
 *    breaks, quotes or backslashes survive unescaped), objects/arrays and `tojson`/`yaml_safe` as one-line JSON
 *    flow. Each value is bracketed by private marks in the raw render.
 * 2. From that one render, two texts are built: the *real* text (marks removed) and an *inert* text in which each
 *    value is replaced by a unique alphanumeric token, which is a plain scalar in any YAML context. The inert text
 *    has exactly the structure the template alone produces (same control flow: it is the same render).
 * 3. Both are parsed; the real documents must equal the inert ones node for node: same document count, same
 *    keys, same sequence lengths, same scalars. Where the inert tree has a token, the real tree must hold exactly
 *    the value (a string, or the JSON data for a flow value; an unquoted value that YAML reads as a number,
 *    boolean or null is accepted when its source text is exactly the value). Anything else is refused with a
 *    TemplateInjectionError naming the variable.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { isAlias, isCollection, isMap, isNode, isPair, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { compileTemplate, renderCompiled, SPAN_RE, type CompiledTemplate, type EmittedSpan } from './environment.js';
import { TemplateInjectionError, TemplateSyntaxError, TemplateVariableError } from './errors.js';

/** Variables passed to a template (Jinja keywords): strings, numbers, booleans, null, arrays and plain objects. */
export type TemplateVars = Record<string, unknown>;

export interface RenderOptions {
  /** The template's name, for error messages (e.g. `kernel-pod.yaml.j2`). */
  name?: string;
}

const CACHE_LIMIT = 32;
const cache = new Map<string, CompiledTemplate>();

function compiled(source: string, name: string): CompiledTemplate {
  const key = `${name}\u0000${source}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const result = compileTemplate(source, name);
  cache.set(key, result);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return result;
}

const MAX_DEPTH = 64;

/** Checks the variables: plain data only, and no string may contain gp's reserved characters U+E000-U+E002. */
function checkVars(vars: TemplateVars): void {
  const walk = (name: string, v: unknown, depth: number, seen: Set<object>): void => {
    if (v === undefined || v === null || typeof v === 'boolean') return;
    if (typeof v === 'number') return;
    if (typeof v === 'string') {
      if (/[\ue000-\ue002]/.test(v)) throw new TemplateVariableError(name, v, 'text without the characters U+E000-U+E002 (reserved by gp)');
      return;
    }
    if (typeof v !== 'object') throw new TemplateVariableError(name, String(v), 'a string, number, boolean, null, list or mapping');
    if (depth > MAX_DEPTH) throw new TemplateVariableError(name, '(deeply nested value)', `at most ${MAX_DEPTH} levels of nesting`);
    if (seen.has(v)) throw new TemplateVariableError(name, '(circular value)', 'a value without cycles');
    const proto = Object.getPrototypeOf(v) as unknown;
    if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
      throw new TemplateVariableError(name, String(v), 'a string, number, boolean, null, list or plain mapping');
    }
    seen.add(v);
    for (const [k, x] of Object.entries(v)) {
      if (/[\ue000-\ue002]/.test(k)) throw new TemplateVariableError(name, k, 'keys without the characters U+E000-U+E002 (reserved by gp)');
      walk(name, x, depth + 1, seen);
    }
    seen.delete(v);
  };
  for (const [name, v] of Object.entries(vars)) walk(name, v, 0, new Set());
}

/**
 * Renders a Jinja-style template source (gp's or a user's edited copy) with `vars`, and verifies that no value
 * changed the YAML structure. Returns the YAML text.
 */
export function renderTemplate(source: string, vars: TemplateVars, options: RenderOptions = {}): string {
  const name = options.name ?? 'template';
  checkVars(vars);
  const template = compiled(source, name);
  const { raw, spans } = renderCompiled(template, { ...vars });
  let nonce = nonces.get(template);
  if (nonce === undefined || raw.includes(`gpv${nonce}`)) {
    // A value containing the template's token prefix gets a fresh one (and no shared inert parse).
    nonce = newNonce(raw);
    if (!nonces.has(template)) nonces.set(template, nonce);
  }
  return verifyRender(raw, spans, name, nonce);
}

/** Reads and renders a template file (the name in errors is the file's base name). */
export function renderTemplateFile(path: string, vars: TemplateVars): string {
  return renderTemplate(readFileSync(path, 'utf8'), vars, { name: basename(path) });
}

// ---------------------------------------------------------------------------------------------------------------

interface Located extends EmittedSpan {
  id: number;
  /** Offset of the value in the real text and in the inert text. */
  realStart: number;
  realEnd: number;
  inertStart: number;
  inertEnd: number;
}

const PARSE_OPTIONS = { version: '1.2', uniqueKeys: true, merge: false, strict: true, prettyErrors: false, logLevel: 'silent' } as const;

function newNonce(text: string): string {
  for (;;) {
    const nonce = Math.floor(Math.random() * 36 ** 6).toString(36).padStart(6, '0');
    if (!text.includes(`gpv${nonce}`)) return nonce;
  }
}

/** Token prefix per compiled template, so that renders with the same control flow share one inert text. */
const nonces = new WeakMap<CompiledTemplate, string>();

/** Parsed inert texts (read-only once parsed), by text: the inert parse of a template is the same for every value. */
const INERT_CACHE_LIMIT = 16;
const inertCache = new Map<string, ReturnType<typeof parseAllDocuments>>();

function parseInert(inert: string): ReturnType<typeof parseAllDocuments> {
  const hit = inertCache.get(inert);
  if (hit) return hit;
  const docs = parseAllDocuments(inert, PARSE_OPTIONS);
  inertCache.set(inert, docs);
  if (inertCache.size > INERT_CACHE_LIMIT) inertCache.delete(inertCache.keys().next().value!);
  return docs;
}

function verifyRender(raw: string, spans: EmittedSpan[], name: string, nonce: string): string {
  if (spans.length === 0) return raw;
  const token = (id: number): string => `gpv${nonce}n${id}z`;
  const tokenRe = new RegExp(`gpv${nonce}n(\\d+)z`, 'g');

  let real = '';
  let inert = '';
  let last = 0;
  const located: Located[] = [];
  for (const m of raw.matchAll(SPAN_RE)) {
    const id = Number.parseInt(m[1]!, 36);
    const span = spans[id];
    if (!span || span.text !== m[2]) throw new TemplateSyntaxError(`${name}: internal error locating rendered values.`);
    const between = raw.slice(last, m.index);
    real += between;
    inert += between;
    const t = token(id);
    located.push({ ...span, id, realStart: real.length, realEnd: real.length + span.text.length, inertStart: inert.length, inertEnd: inert.length + t.length });
    real += span.text;
    inert += t;
    last = m.index + m[0].length;
  }
  real += raw.slice(last);
  inert += raw.slice(last);
  if (/[\ue000-\ue002]/.test(real)) throw new TemplateSyntaxError(`${name}: internal error: unmatched value marks in the rendered text.`);
  const byId = new Map(located.map((l) => [l.id, l]));

  const inertDocs = parseInert(inert);
  const inertList = Array.isArray(inertDocs) ? inertDocs : [];
  for (const doc of inertList) {
    const err = doc.errors[0];
    if (err) {
      throw new TemplateSyntaxError(`${name} does not render to valid YAML (independently of its variables): ${err.message.split('\n')[0]} (line ${lineOf(inert, err.pos[0])}).`, {
        details: { template: name },
      });
    }
  }

  const fail = (candidates: Located[], where: string): never => {
    const span = candidates[0] ?? located[0]!;
    const variable = span.site.variable ?? `the expression at line ${span.site.line}`;
    throw new TemplateInjectionError(variable, span.value, name, `${where}, from the template's line ${span.site.line}`, {
      details: { variables: unique(candidates.map((c) => c.site.variable ?? `line ${c.site.line}`)) },
    });
  };
  const spansIn = (start: number, end: number, realOffsets: boolean): Located[] =>
    located.filter((l) => (realOffsets ? l.realStart < end && l.realEnd > start : l.inertStart < end && l.inertEnd > start));
  const spansNear = (pos: number): Located[] => {
    const inside = located.filter((l) => l.realStart <= pos && pos <= l.realEnd);
    if (inside.length) return inside;
    const lineStart = real.lastIndexOf('\n', pos - 1) + 1;
    const before = located.filter((l) => l.realStart >= lineStart && l.realStart <= pos);
    if (before.length) return before.reverse();
    const earlier = located.filter((l) => l.realStart <= pos);
    return earlier.length ? [earlier[earlier.length - 1]!] : located;
  };

  const realDocs = parseAllDocuments(real, PARSE_OPTIONS);
  const realList = Array.isArray(realDocs) ? realDocs : [];
  // Warnings the template causes by itself (e.g. its own custom tags) are left to parseRenderedDocuments; a
  // warning only the values cause is refused like an error.
  const inertWarnings = inertList.flatMap((d) => d.warnings.map((w) => w.code));
  for (const doc of realList) {
    const err = doc.errors[0];
    if (err) fail(spansNear(err.pos[0]), `the value breaks the YAML (${err.code}) at line ${lineOf(real, err.pos[0])}`);
    for (const warning of doc.warnings) {
      const k = inertWarnings.indexOf(warning.code);
      if (k >= 0) inertWarnings.splice(k, 1);
      else fail(spansNear(warning.pos[0]), `the value changes how YAML reads the text (${warning.code}) at line ${lineOf(real, warning.pos[0])}`);
    }
  }
  if (realList.length !== inertList.length) {
    const markers = located.filter((l) => /(^|\\n)(---|\.\.\.)/.test(l.text) || /^(---|\.\.\.)/.test(l.text));
    fail(markers.length ? markers : located, `the value changes the number of YAML documents (${inertList.length} -> ${realList.length})`);
  }

  const tokensOf = (s: string): number[] => [...s.matchAll(tokenRe)].map((m) => Number(m[1]));
  const expectedText = (s: string): string =>
    s.replace(tokenRe, (_, id: string) => {
      const l = byId.get(Number(id))!;
      return l.kind === 'str' ? (l.value as string) : l.text;
    });

  const compare = (i: unknown, r: unknown, path: string, iDoc: Document, rDoc: Document): void => {
    const mismatch = (why: string): never => {
      const range = isNode(i) ? i.range : undefined;
      const inTree = range ? spansIn(range[0], range[2], false) : [];
      const rRange = isNode(r) ? r.range : undefined;
      const inReal = rRange ? spansIn(rRange[0], rRange[2], true) : [];
      const pos = rRange?.[0] ?? range?.[0] ?? 0;
      return fail(inTree.length ? inTree : inReal.length ? inReal : spansNear(pos), `${why} at ${path || 'the document root'}`);
    };
    if (i === null || i === undefined) {
      if (r !== null && r !== undefined) mismatch('the value adds content');
      return;
    }
    if (isNode(i) && isNode(r)) {
      if (i.tag !== r.tag) mismatch(`the value changes a YAML tag (${String(r.tag)})`);
      if (i.anchor !== r.anchor) mismatch('the value adds or changes a YAML anchor');
    }
    if (isScalar(i)) {
      const ids = typeof i.value === 'string' ? tokensOf(i.value) : [];
      if (ids.length === 1 && i.value === token(ids[0]!) && byId.get(ids[0]!)!.kind === 'json') {
        const span = byId.get(ids[0]!)!;
        if (!isNode(r) || isAlias(r)) mismatch('the value is not the data it should be');
        let got: unknown;
        try {
          got = (r as YamlNode).toJS(rDoc, { maxAliasCount: 0 });
        } catch {
          mismatch('the value is not plain data');
        }
        if (!deepEqual(got, span.value)) mismatch('the value does not stay the data it should be');
        return;
      }
      if (!isScalar(r)) mismatch(`the value turns a scalar into a ${isMap(r) ? 'mapping' : isSeq(r) ? 'sequence' : 'different node'}`);
      const rs = r as typeof i;
      if (ids.length === 0) {
        if (!sameValue(i.value, rs.value)) mismatch('the value changes the template\'s own text');
        return;
      }
      const expected = expectedText(i.value as string);
      if (rs.value === expected) return;
      if (i.type === 'PLAIN' && rs.type === 'PLAIN' && rs.source === expected && !isCollection(rs.value)) return;
      mismatch('the value does not stay one scalar');
      return;
    }
    if (isMap(i)) {
      if (!isMap(r)) mismatch('the value changes a mapping');
      const rm = r as typeof i;
      if (i.items.length !== rm.items.length) mismatch(`the value changes the number of keys (${i.items.length} -> ${rm.items.length})`);
      i.items.forEach((pair, n) => {
        const other = rm.items[n]!;
        if (!isPair(pair) || !isPair(other)) mismatch('unexpected YAML node');
        const key = isScalar(pair.key) ? String(pair.key.value) : `[${n}]`;
        const sub = path ? `${path}.${key}` : key;
        compare(pair.key, other.key, `${sub} (key)`, iDoc, rDoc);
        compare(pair.value, other.value, sub, iDoc, rDoc);
      });
      return;
    }
    if (isSeq(i)) {
      if (!isSeq(r)) mismatch('the value changes a sequence');
      const rq = r as typeof i;
      if (i.items.length !== rq.items.length) mismatch(`the value changes the number of items (${i.items.length} -> ${rq.items.length})`);
      i.items.forEach((item, n) => compare(item, rq.items[n], `${path}[${n}]`, iDoc, rDoc));
      return;
    }
    if (isAlias(i)) {
      if (!isAlias(r) || i.source !== r.source) mismatch('the value changes an alias');
      return;
    }
    mismatch('unexpected YAML node');
  };

  inertList.forEach((iDoc, n) => {
    const rDoc = realList[n]!;
    compare(iDoc.contents, rDoc.contents, inertList.length > 1 ? `document ${n + 1}` : '', iDoc, rDoc);
  });
  return real;
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let k = 0; k < pos && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return line;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function sameValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || (typeof a === 'number' && typeof b === 'number' && a === b);
}

/** Structural equality of plain JSON-like data (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (sameValue(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, k) => deepEqual(x, bb[k]));
  }
  if (a instanceof Map || b instanceof Map) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
