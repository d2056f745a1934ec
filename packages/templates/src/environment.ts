/**
 * The nunjucks environment that renders gp's (and users') Jinja-style templates like Jinja2 does for them
 * (autoescape off, trim_blocks, lstrip_blocks, `is defined`, `int`, `default`, `tojson`...), plus the hook that
 * makes every `{{ ... }}` output a marked *value* (see render.ts for why).
 *
 * Nothing happens at import: the environment is created on first use, and nunjucks' Jinja-compatibility patches
 * (which modify nunjucks' shared runtime) are installed only for the duration of one synchronous compile or
 * render, then removed again.
 */
import nunjucks from 'nunjucks';
import { doubleQuotedBody, jsonFlow } from './escape.js';
import { TemplateRenderError, TemplateSyntaxError, TemplateVariableError } from './errors.js';

/** Where a `{{ ... }}` of the template is: its first variable name (if any) and its position. */
export interface OutputSite {
  /** The first variable the expression reads (`kernel_cpus` in `{{ kernel_cpus | default(1) }}`). */
  variable?: string;
  line: number;
  column: number;
}

/** One emitted value: `str` for text (escaped as a double-quoted body), `json` for JSON flow (objects, `tojson`). */
export interface EmittedSpan {
  kind: 'str' | 'json';
  /** The value the output must decode to: the string itself, or the JSON data. */
  value: unknown;
  /** The text written into the output. */
  text: string;
  site: OutputSite;
}

/** A filter result that is already JSON (YAML flow): emitted as is, and verified as data. */
export class FlowValue {
  constructor(
    readonly json: string,
    readonly data: unknown,
  ) {}
  toString(): string {
    return this.json;
  }
}

/** Private-use characters that delimit an emitted value in the raw render: OPEN id SEP text CLOSE. */
export const MARK_OPEN = '\ue000';
export const MARK_SEP = '\ue001';
export const MARK_CLOSE = '\ue002';
const MARK_ANY = /[\ue000-\ue002]/;
const MARK_STRIP = /\ue000[0-9a-z]*\ue001|\ue002/g;
export const SPAN_RE = /\ue000([0-9a-z]+)\ue001([^\ue000-\ue002]*)\ue002/g;

const EMIT = '__gp_emit';

interface RenderState {
  spans: EmittedSpan[];
  sites: OutputSite[];
  /** The last value a filter refused (nunjucks does not keep the cause of errors it wraps). */
  refused?: FilterValueError;
}

let active: RenderState | undefined;

// ---- nunjucks internals used here (public exports of the nunjucks module, untyped by @types/nunjucks) ----
interface NjNode {
  lineno: number;
  colno: number;
  typename: string;
  fields: string[];
  children?: NjNode[];
  value?: unknown;
  [field: string]: unknown;
}
interface NjInternals {
  nodes: Record<string, new (...args: unknown[]) => NjNode>;
  parser: { parse(src: string, extensions: unknown[], opts: object): NjNode };
  compiler: { Compiler: new (name: string, throwOnUndefined: boolean) => { compile(ast: NjNode): void; getCode(): string } };
  runtime: { SafeString: new (s: string) => unknown };
  installJinjaCompat(): () => void;
  Template: new (src: { type: 'code'; obj: unknown }, env: nunjucks.Environment, path: string, eager: boolean) => nunjucks.Template;
}
const nj = (): NjInternals => nunjucks as unknown as NjInternals;

const ENV_OPTIONS = { autoescape: false, trimBlocks: true, lstripBlocks: true, throwOnUndefined: false } as const;

let environment: nunjucks.Environment | undefined;

/** The shared environment (created on first use). Users' filters can be added with `addTemplateFilter`. */
export function templateEnvironment(): nunjucks.Environment {
  if (environment) return environment;
  // An empty loader list: no `{% include %}`/`{% import %}`/`{% extends %}` from disk (nunjucks would otherwise
  // read templates from ./views).
  const env = new nunjucks.Environment([], { ...ENV_OPTIONS });
  registerFilters(env);
  environment = env;
  return env;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function isKeywordArgs(v: unknown): boolean {
  return isPlainObject(v) && (v as { __keywords?: unknown }).__keywords === true;
}

/** Captured output (macro, {% set %} block) back to plain text: each marked value becomes the value itself. */
function unmark(state: RenderState, s: string): string {
  if (!MARK_ANY.test(s)) return s;
  return s
    .replace(SPAN_RE, (_m, id: string, text: string) => {
      const span = state.spans[Number.parseInt(id, 36)];
      return span && span.kind === 'str' ? (span.value as string) : text;
    })
    .replace(MARK_STRIP, '');
}

/** Jinja's `int` on a string: decimal integers (with `_` separators) and decimals (truncated). */
function toInt(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof FlowValue) return toInt(value.data);
  if (typeof value === 'string' || value instanceof String) {
    const s = String(value).trim();
    if (/^[+-]?\d+(_\d+)*$/.test(s)) return Number.parseInt(s.replace(/_/g, ''), 10);
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Math.trunc(Number.parseFloat(s));
  }
  return undefined;
}

function toFloat(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' || value instanceof String) {
    const s = String(value).trim();
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number.parseFloat(s);
  }
  return undefined;
}

/** Thrown by filters on a bad value; the renderer names the variable that holds it. */
export class FilterValueError extends Error {
  constructor(
    readonly value: unknown,
    readonly expected: string,
  ) {
    super(`Invalid value ${JSON.stringify(value)}: expected ${expected}`);
    if (active) active.refused = this;
  }
}

function registerFilters(env: nunjucks.Environment): void {
  env.addFilter(EMIT, emit);
  // Jinja's tojson: sorted keys, HTML-safe and ASCII-only escapes; one line unless indent is given.
  env.addFilter('tojson', (value: unknown, indent?: unknown) => {
    const data = value instanceof FlowValue ? value.data : value;
    const json = jsonFlow(data, { sortKeys: true, htmlSafe: true, asciiOnly: true, ...(typeof indent === 'number' ? { indent } : {}) });
    return new FlowValue(json, JSON.parse(json) as unknown);
  });
  // Enterprise Gateway's filter name: a safely quoted YAML scalar (or flow collection) for an unquoted position.
  env.addFilter('yaml_safe', (value: unknown) => {
    const data = value instanceof FlowValue ? value.data : value === undefined ? '' : value;
    const json = jsonFlow(typeof data === 'object' || typeof data === 'number' || typeof data === 'boolean' ? data : String(data));
    return new FlowValue(json, JSON.parse(json) as unknown);
  });
  // nunjucks' dump (JSON.stringify) as flow data too.
  env.addFilter('dump', (value: unknown, spaces?: unknown) => {
    const data = value instanceof FlowValue ? value.data : value;
    const json = jsonFlow(data, typeof spaces === 'number' ? { indent: spaces } : {});
    return new FlowValue(json, JSON.parse(json) as unknown);
  });
  // int/float work on the strings gp passes (KERNEL_UID="1000"). A value that is not a number is an error unless
  // the template gives a default (`| int(0)`): Jinja's silent 0 would turn a bad KERNEL_UID into runAsUser: 0.
  env.addFilter('int', (value: unknown, ...rest: unknown[]) => {
    const args = rest.filter((a) => !isKeywordArgs(a));
    const kw = rest.find(isKeywordArgs) as Record<string, unknown> | undefined;
    if (value === undefined) throw new FilterValueError(undefined, 'a defined variable (the template applies | int to it)');
    const n = toInt(value);
    if (n !== undefined) return n;
    if (args.length > 0) return args[0];
    if (kw && 'default' in kw) return kw.default;
    throw new FilterValueError(value, 'an integer (the template applies | int to it)');
  });
  env.addFilter('float', (value: unknown, ...rest: unknown[]) => {
    const args = rest.filter((a) => !isKeywordArgs(a));
    if (value === undefined) throw new FilterValueError(undefined, 'a defined variable (the template applies | float to it)');
    const n = toFloat(value);
    if (n !== undefined) return n;
    if (args.length > 0) return args[0];
    throw new FilterValueError(value, 'a number (the template applies | float to it)');
  });
  // With autoescape off these only change text; their results are values like any other (never trusted markup).
  const html = (s: unknown): string =>
    String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);
  env.addFilter('safe', (value: unknown) => (typeof value === 'string' || value instanceof String ? String(value) : value));
  env.addFilter('escape', html);
  env.addFilter('e', html);
  env.addFilter('forceescape', html);
}

/**
 * The output hook: every `{{ expr }}` of a template is compiled as `{{ expr | __gp_emit(site) }}`.
 * Strings become marked double-quoted-string bodies, objects/arrays and `tojson` results marked JSON flow;
 * numbers, booleans (Jinja's True/False) and undefined/None (empty) are structure-neutral and written as is.
 */
function emit(value: unknown, siteIndex: unknown): string {
  const state = active;
  if (!state) throw new TemplateRenderError('gp template output outside of a render');
  const site = state.sites[typeof siteIndex === 'number' ? siteIndex : -1] ?? { line: 0, column: 0 };
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof FlowValue) return mark(state, { kind: 'json', value: value.data, text: value.json, site });
  if (Array.isArray(value) || isPlainObject(value)) {
    let text: string;
    try {
      text = jsonFlow(value);
    } catch (error) {
      throw new TemplateRenderError(`Cannot write the value at line ${site.line} as YAML: ${(error as Error).message}.`, { cause: error });
    }
    return mark(state, { kind: 'json', value: JSON.parse(text) as unknown, text, site });
  }
  // Strings, nunjucks SafeStrings (macro and block output) and anything else: one text value. Marks of values
  // emitted earlier into captured text (a macro body, {% set %} block) are dropped: the whole text is the value.
  const s = unmark(state, typeof value === 'string' ? value : String(value as string));
  return mark(state, { kind: 'str', value: s, text: doubleQuotedBody(s), site });
}

function mark(state: RenderState, span: EmittedSpan): string {
  const id = state.spans.length;
  state.spans.push(span);
  return `${MARK_OPEN}${id.toString(36)}${MARK_SEP}${span.text}${MARK_CLOSE}`;
}

/** A compiled template plus the output sites its `{{ }}` were rewritten with. */
export interface CompiledTemplate {
  template: nunjucks.Template;
  sites: OutputSite[];
  name: string;
}

function firstSymbol(node: unknown): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const n = node as NjNode;
  if (n.typename === 'Symbol' && typeof n.value === 'string') return n.value;
  if (n.typename === 'Filter' || n.typename === 'FunCall') {
    // In `x | f(a)` the filtered value is the first argument.
    const args = n.args as NjNode | undefined;
    const found = firstSymbol(args?.children?.[0]);
    if (found) return found;
  }
  for (const field of n.fields ?? []) {
    const found = firstSymbol(n[field]);
    if (found) return found;
  }
  for (const child of n.children ?? []) {
    const found = firstSymbol(child);
    if (found) return found;
  }
  return undefined;
}

function rewriteOutputs(root: NjNode, sites: OutputSite[]): void {
  const { nodes } = nj();
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return;
    const n = node as NjNode;
    if (n.typename === 'Output' && Array.isArray(n.children)) {
      n.children = n.children.map((child) => {
        if (child.typename === 'TemplateData') return child;
        visit(child);
        const variable = firstSymbol(child);
        const index = sites.length;
        sites.push({ ...(variable ? { variable } : {}), line: child.lineno + 1, column: child.colno + 1 });
        const args = new nodes.NodeList!(child.lineno, child.colno, [child, new nodes.Literal!(child.lineno, child.colno, index)]);
        return new nodes.Filter!(child.lineno, child.colno, new nodes.Symbol!(child.lineno, child.colno, EMIT), args);
      });
      return;
    }
    for (const field of n.fields ?? []) visit(n[field]);
    for (const child of n.children ?? []) visit(child);
  };
  visit(root);
}

/** Runs `fn` with nunjucks' Jinja compatibility (True/False/None, slices, .items()...) installed, then removes it. */
function withJinjaCompat<T>(fn: () => T): T {
  const uninstall = nj().installJinjaCompat.call(nunjucks);
  try {
    return fn();
  } finally {
    uninstall();
  }
}

function describeNunjucksError(error: unknown, name: string): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(unknown path\)/, `(${name})`).replace(/\s+/g, ' ').trim();
}

const RAW_BLOCK = /(\{%[-+]?\s*raw\s*[-+]?%\}[\s\S]*?\{%[-+]?\s*endraw\s*[-+]?%\})/;

/**
 * Source differences between Jinja2 and nunjucks, removed before parsing:
 * - Jinja normalizes line endings to \n and drops one trailing newline of the source (keep_trailing_newline=False);
 * - Jinja's trim_blocks/lstrip_blocks also apply to comments ({# ... #}); nunjucks' do not, so plain comments are
 *   removed here with Jinja's whitespace rules (comments with - or + modifiers are left to nunjucks).
 */
export function jinjaSource(source: string): string {
  const text = source.replace(/\r\n?/g, '\n').replace(/\n$/, '');
  return text
    .split(RAW_BLOCK)
    .map((part, index) => (index % 2 === 1 ? part : part.replace(/(^|\n)([ \t]*)\{#(?![-+])([\s\S]*?)(?<![-+])#\}\n?|\{#(?![-+])([\s\S]*?)(?<![-+])#\}\n?/g, (_m, nl: string | undefined) => nl ?? '')))
    .join('');
}

/** Compiles a template source with its `{{ }}` rewritten through the emit hook. */
export function compileTemplate(source: string, name: string): CompiledTemplate {
  if (MARK_ANY.test(source)) {
    throw new TemplateSyntaxError(`${name} contains a character in U+E000-U+E002, which gp reserves for rendering; remove it.`, { details: { template: name } });
  }
  const env = templateEnvironment();
  const internals = nj();
  const sites: OutputSite[] = [];
  let code: string;
  try {
    code = withJinjaCompat(() => {
      const ast = internals.parser.parse(jinjaSource(source), [], (env as unknown as { opts: object }).opts);
      rewriteOutputs(ast, sites);
      const compiler = new internals.compiler.Compiler(name, false);
      compiler.compile(ast);
      return compiler.getCode();
    });
  } catch (error) {
    throw new TemplateSyntaxError(`${name} is not a valid template: ${describeNunjucksError(error, name)}`, { cause: error, details: { template: name } });
  }
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, no-new-func
  const props = new Function(code)() as unknown;
  const template = new internals.Template({ type: 'code', obj: props }, env, name, true);
  return { template, sites, name };
}

/** Renders a compiled template; returns the raw output (with value marks) and the emitted values. */
export function renderCompiled(compiled: CompiledTemplate, vars: Record<string, unknown>): { raw: string; spans: EmittedSpan[] } {
  const state: RenderState = { spans: [], sites: compiled.sites };
  const previous = active;
  active = state;
  try {
    const raw = withJinjaCompat(() => compiled.template.render(vars));
    return { raw, spans: state.spans };
  } catch (error) {
    const cause = findCause(error) ?? state.refused;
    if (cause instanceof FilterValueError) {
      const variable = Object.keys(vars).find((k) => vars[k] === cause.value) ?? 'a template value';
      throw new TemplateVariableError(variable, cause.value, `${cause.expected} in ${compiled.name}`, { cause: error, details: { template: compiled.name } });
    }
    throw new TemplateRenderError(`Rendering ${compiled.name} failed: ${describeNunjucksError(error, compiled.name)}`, { cause: error, details: { template: compiled.name } });
  } finally {
    active = previous;
  }
}

/** nunjucks wraps errors thrown by filters in its TemplateError (`cause`); find ours. */
function findCause(error: unknown): unknown {
  let e: unknown = error;
  for (let i = 0; i < 5 && e; i++) {
    if (e instanceof FilterValueError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Adds a filter to the shared environment (for hosts that need one more filter in their templates). */
export function addTemplateFilter(name: string, fn: (...args: never[]) => unknown): void {
  if (name === EMIT) throw new TemplateSyntaxError(`The filter name ${EMIT} is reserved.`);
  templateEnvironment().addFilter(name, fn as (...args: unknown[]) => unknown);
}
