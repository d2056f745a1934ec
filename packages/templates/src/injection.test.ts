/**
 * Injection-proofing, table-driven: hostile values in every variable the shipped templates use, and in every YAML
 * context a user's template can put a placeholder in. For each render the outcome is either a typed error, or
 * output whose documents equal the render with an inert value, with the inert value replaced by the hostile one
 * (a plain, unquoted value may be read by YAML as the number/boolean/null it spells). Never an extra field,
 * item or document.
 */
import { readFileSync } from 'node:fs';
import { GpError } from '@gp/core';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  kernelTemplateVars,
  renderTemplate,
  templateFilePath,
  TemplateInjectionError,
  TemplateVariableError,
  TEMPLATE_NAMES,
  type TemplateVars,
} from './index.js';

const HOSTILE: string[] = [
  'a\nb',
  'a\n  evil: true',
  'x"\nevil: 1\n"',
  '"',
  "'",
  "it's",
  'a: b',
  'key: value\nother: x',
  '#comment',
  'a #b',
  '{{ 7*7 }}',
  '{% if true %}x{% endif %}',
  '{# c #}',
  '---',
  '--- \nkind: Secret',
  '...',
  '...\n---\nkind: Secret',
  '\n- evil',
  '- evil',
  '&anchor x',
  '*alias',
  '!!python/object:os.system',
  '!!binary aGk=',
  '!local x',
  'a\u2028b',
  'a\u2029evil: 1',
  'a\u0085b: c',
  'a\tb',
  '\t',
  ' leading',
  'trailing ',
  '',
  '[a, b]',
  '{a: 1}',
  '|',
  '>',
  '? x',
  '%YAML 1.2',
  '@x',
  '`x',
  'null',
  'true',
  '0x10',
  '1e3',
  '\\',
  '\\n',
  '\\"',
  '\u0000',
  '\u001b[31m',
  '\u007f\u0080\u009f',
  '\ufeffbom',
  'é ü 日本 😀',
  '\ud800',
  '\r\nevil: 1',
  '\r',
  '\u00a0nbsp',
  'a,b',
  ']',
  '}',
  '<script>&amp;',
  'a'.repeat(100_000),
  `${'x\n'.repeat(1000)}---\n`,
];

const INERT = 'inertvalue';

function render(source: string, vars: TemplateVars, name = 'test.yaml.j2'): unknown[] {
  const text = renderTemplate(source, vars, { name });
  return parseAllDocuments(text, { version: '1.2', uniqueKeys: true }).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS({ maxAliasCount: 0 }) as unknown;
  });
}

function substitute(value: unknown, from: string, to: string): unknown {
  if (typeof value === 'string') return value.split(from).join(to);
  if (Array.isArray(value)) return value.map((v) => substitute(v, from, to));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [substitute(k, from, to) as string, substitute(v, from, to)]));
  }
  return value;
}

function yamlReading(text: string): unknown {
  try {
    return parse(text, { version: '1.2', logLevel: 'silent' }) as unknown;
  } catch {
    return Symbol('unparsable');
  }
}

/** Equal, except numbers may differ (| int results) and a whole unquoted value may be read as a YAML scalar. */
function matches(actual: unknown, expected: unknown, hostile: string): boolean {
  if (Object.is(actual, expected)) return true;
  if (typeof actual === 'number' && typeof expected === 'number') return true;
  if (typeof expected === 'string' && expected === hostile && (actual === null || typeof actual !== 'object')) {
    return Object.is(yamlReading(hostile), actual);
  }
  if (Array.isArray(actual) && Array.isArray(expected)) return actual.length === expected.length && actual.every((a, k) => matches(a, expected[k], hostile));
  if (actual && expected && typeof actual === 'object' && typeof expected === 'object' && !Array.isArray(actual) && !Array.isArray(expected)) {
    const ka = Object.keys(actual);
    const ke = Object.keys(expected);
    const sameKey = (k: string, e: string | undefined): boolean => k === e || (e === hostile && k === String(yamlReading(hostile) ?? ''));
    return ka.length === ke.length && ka.every((k, n) => sameKey(k, ke[n]) && matches((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[ke[n]!], hostile));
  }
  return false;
}

type Outcome = 'rendered' | 'refused';

const baselines = new Map<string, unknown[]>();

function expectTypedRefusal(error: unknown): void {
  expect(error).toBeInstanceOf(GpError);
  expect([TemplateInjectionError, TemplateVariableError].some((cls) => error instanceof cls), String(error)).toBe(true);
  expect((error as Error).message.length).toBeLessThan(2000);
}

/**
 * Renders with the hostile value; checks the outcome is a typed error or the inert render's structure with the
 * value in place. `value` is the hostile string itself, or data built from it by `build` (the inert render uses
 * `build(INERT)`), and the expected documents are the inert ones with INERT replaced by `hostile` everywhere.
 */
function check(source: string, vars: TemplateVars, variable: string, hostile: string, options: { inert?: string; build?: (s: string) => unknown } = {}): Outcome {
  const inert = options.inert ?? INERT;
  const build = options.build ?? ((s: string) => s);
  let baseline: unknown[];
  try {
    const key = JSON.stringify([source, vars, variable, build(inert)]);
    baseline = baselines.get(key) ?? render(source, { ...vars, [variable]: build(inert) });
    baselines.set(key, baseline);
  } catch (error) {
    // A placement gp refuses for any value (e.g. an anchor name): the hostile value must be refused too.
    expectTypedRefusal(error);
    expect(() => render(source, { ...vars, [variable]: build(hostile) })).toThrow(GpError);
    return 'refused';
  }
  let actual: unknown[];
  try {
    actual = render(source, { ...vars, [variable]: build(hostile) });
  } catch (error) {
    expectTypedRefusal(error);
    return 'refused';
  }
  const expected = substitute(baseline, inert, hostile);
  expect(matches(actual, expected, hostile), `${variable}=${JSON.stringify(hostile).slice(0, 80)}\n${JSON.stringify(actual).slice(0, 2000)}`).toBe(true);
  return 'rendered';
}

// ---------------------------------------------------------------------------------------------------------------

const SHIPPED = Object.fromEntries(TEMPLATE_NAMES.map((n) => [n, readFileSync(templateFilePath(n), 'utf8')]));

function variablesOf(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(/\{[{%][^}]*\}/g)) {
    for (const v of m[0].matchAll(/\b(kernel_[a-z0-9_]+|port_range|response_address|public_key|spark_context_initialization_mode)\b/g)) names.add(v[1]!);
  }
  return [...names].sort();
}

/** Every optional section on, so every placeholder is rendered. */
const FULL_VARS: TemplateVars = {
  ...kernelTemplateVars({
    KERNEL_USERNAME: 'alice',
    KERNEL_POD_NAME: 'alice-k1',
    KERNEL_RESOURCE_NAME: 'alice-k1',
    KERNEL_NAMESPACE: 'ns',
    KERNEL_SERVICE_ACCOUNT_NAME: 'sa',
    KERNEL_IMAGE: 'img:1',
    KERNEL_EXECUTOR_IMAGE: 'img:2',
    KERNEL_UID: '1000',
    KERNEL_GID: '100',
    KERNEL_CPUS: '2',
    KERNEL_MEMORY: '2g',
    KERNEL_GPUS: '1',
    KERNEL_CPUS_LIMIT: '2',
    KERNEL_MEMORY_LIMIT: '2g',
    KERNEL_GPUS_LIMIT: '1',
    KERNEL_WORKING_DIR: '/home/jovyan',
    KERNEL_SPARKAPP_CONFIG_MAP: 'cm',
    KERNEL_APP_NAME: 'gp',
    KERNEL_SPARK_VERSION: '3.5.3',
    KERNEL_IMAGE_PULL_POLICY: 'Always',
    KERNEL_EXECUTOR_INSTANCES: '2',
    KERNEL_EXECUTOR_MEMORY: '1g',
    KERNEL_EXECUTOR_CPUS_LIMIT: '1',
    KERNEL_VOLUMES: '[{"name": "d", "emptyDir": {}}]',
    KERNEL_VOLUME_MOUNTS: '[{"name": "d", "mountPath": "/d"}]',
  }),
  kernel_id: 'k1',
  port_range: '0..0',
  response_address: '10.0.0.1:8877',
  public_key: 'KEY',
  spark_context_initialization_mode: 'lazy',
  kernel_class_name: 'ipykernel.ipkernel.IPythonKernel',
};

/** Variables the shipped templates pass through `| int` (a hostile value there is refused as a non-integer). */
const INT_ONLY: Record<string, string[]> = {
  'kernel-pod.yaml.j2': ['kernel_uid', 'kernel_gid'],
  'sparkoperator.k8s.io-v1beta2.yaml.j2': ['kernel_gpus', 'kernel_executor_instances'],
};
const LISTS = ['kernel_volumes', 'kernel_volume_mounts'];
/** Variables whose empty value counts as unset (`{% if x is defined and x %}`, `default(y, true)`). */
const EMPTY_MEANS_UNSET = ['kernel_sparkapp_config_map', 'kernel_executor_image'];
const NUMERIC = /^\s*[+-]?(\d+(_\d+)*|\d+\.\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

describe('shipped templates: hostile values in every variable', () => {
  for (const name of TEMPLATE_NAMES) {
    const source = SHIPPED[name]!;
    const variables = variablesOf(source);

    it(`${name} uses the expected variables`, () => {
      for (const v of ['kernel_id', 'kernel_namespace', 'kernel_image', 'kernel_service_account_name', 'kernel_volumes', 'kernel_volume_mounts']) {
        expect(variables).toContain(v);
      }
      for (const v of variables) expect(Object.keys(FULL_VARS), `${v} has a value in FULL_VARS`).toContain(v);
    });

    for (const variable of variables.filter((v) => !LISTS.includes(v))) {
      it(`${name}: ${variable}`, () => {
        const intOnly = INT_ONLY[name]!.includes(variable);
        for (const hostile of HOSTILE) {
          if (EMPTY_MEANS_UNSET.includes(variable) && hostile === '') {
            // An empty value renders exactly as if the variable were not set.
            const { [variable]: _omitted, ...without } = FULL_VARS;
            expect(render(source, { ...FULL_VARS, [variable]: '' })).toEqual(render(source, without));
            continue;
          }
          const outcome = check(source, FULL_VARS, variable, hostile, intOnly ? { inert: '4321' } : {});
          // The shipped templates quote every string placeholder: a hostile string is always kept, as data.
          // Placeholders through | int refuse anything that is not a number.
          if (intOnly) expect(outcome, JSON.stringify(hostile).slice(0, 60)).toBe(NUMERIC.test(hostile) ? 'rendered' : 'refused');
          else expect(outcome, `${variable}=${JSON.stringify(hostile).slice(0, 60)}`).toBe('rendered');
        }
      });
    }

    for (const variable of LISTS.filter((v) => variables.includes(v))) {
      it(`${name}: ${variable} entries with hostile keys and values`, () => {
        const build = (s: string): unknown => [{ name: s, mountPath: `/data/${s}`, nested: { [s]: [s, { [`k-${s}`]: s }] } }, { name: 'plain' }];
        for (const hostile of HOSTILE) {
          expect(check(source, FULL_VARS, variable, hostile, { build })).toBe('rendered');
        }
      });
    }
  }

  it('hostile KERNEL_VOLUMES text is a list of objects or a ConfigError, never anything else', () => {
    for (const hostile of [...HOSTILE, '- a', '- [1]', '- null', '{}', '7', '- {a: *x}', '- &x {a: 1}\n- *x', '[{a: 1}, {a: 1, a: 2}]', '- !!python/object:os.system {}']) {
      for (const env of ['KERNEL_VOLUMES', 'KERNEL_VOLUME_MOUNTS']) {
        let vars: TemplateVars;
        try {
          vars = kernelTemplateVars({ [env]: hostile });
        } catch (error) {
          expect(error).toBeInstanceOf(TemplateVariableError);
          expect((error as Error).message).toContain(env.toLowerCase());
          continue;
        }
        const list = vars[env.toLowerCase()];
        expect(Array.isArray(list)).toBe(true);
        for (const entry of list as unknown[]) {
          expect(entry !== null && typeof entry === 'object' && !Array.isArray(entry)).toBe(true);
        }
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** Every place a user's template can put a placeholder, with what must never be refused there. */
const CONTEXTS: { title: string; source: string; alwaysRenders?: boolean; alwaysRefused?: boolean }[] = [
  { title: 'double-quoted value', source: 'a: 1\nv: "{{ v }}"\nz: 2\n', alwaysRenders: true },
  { title: 'double-quoted with text around', source: 'v: "pre-{{ v }}-post"\nz: 2\n', alwaysRenders: true },
  { title: 'double-quoted key', source: '"{{ v }}": 1\nz: 2\n', alwaysRenders: true },
  { title: 'double-quoted in a flow sequence', source: 'v: ["{{ v }}", "b"]\nz: 2\n', alwaysRenders: true },
  { title: 'tojson', source: 'v: {{ v | tojson }}\nz: 2\n', alwaysRenders: true },
  { title: 'yaml_safe', source: 'v: {{ v | yaml_safe }}\nz: 2\n', alwaysRenders: true },
  { title: 'yaml_safe as a sequence item', source: 'v:\n- {{ v | yaml_safe }}\n- b\nz: 2\n', alwaysRenders: true },
  { title: 'comment', source: 'a: 1 # {{ v }}\n# {{ v }}\nz: 2\n', alwaysRenders: true },
  { title: 'plain value', source: 'a: 1\nv: {{ v }}\nz: 2\n' },
  { title: 'plain with text around', source: 'v: pre-{{ v }}\nz: 2\n' },
  { title: 'plain key', source: '{{ v }}: 1\nz: 2\n' },
  { title: 'single-quoted value', source: "v: '{{ v }}'\nz: 2\n" },
  { title: 'literal block', source: 'v: |\n  {{ v }}\nz: 2\n' },
  { title: 'folded block', source: 'v: >\n  {{ v }}\nz: 2\n' },
  { title: 'plain in a flow sequence', source: 'v: [{{ v }}, b]\nz: 2\n' },
  { title: 'plain in a flow mapping', source: 'v: {k: {{ v }}, l: b}\nz: 2\n' },
  { title: 'sequence item', source: 'v:\n- {{ v }}\n- b\nz: 2\n' },
  { title: 'nested sequence item', source: 'v:\n  items:\n    - {{ v }}\n    - b\nz: 2\n' },
  { title: 'whole document', source: '{{ v }}\n' },
  { title: 'between documents', source: 'a: 1\n---\n{{ v }}\n---\nz: 2\n' },
  { title: 'anchor name', source: 'v: &{{ v }} x\nz: 2\n', alwaysRefused: true },
  { title: 'tag', source: 'v: !{{ v }} x\nz: 2\n', alwaysRefused: true },
  { title: 'captured with set', source: '{% set c %}{{ v }}{% endset %}v: "{{ c }}"\nz: 2\n', alwaysRenders: true },
  { title: 'macro output', source: '{% macro q(x) %}{{ x }}{% endmacro %}v: "{{ q(v) }}"\nz: 2\n', alwaysRenders: true },
  { title: 'safe filter', source: 'v: "{{ v | safe }}"\nz: 2\n', alwaysRenders: true },
  { title: 'value-preserving filters', source: 'v: "{{ v | string | default(\'d\') }}"\nz: 2\n', alwaysRenders: true },
  { title: 'concatenation', source: 'v: "{{ \'a\' ~ v ~ \'b\' }}"\nz: 2\n', alwaysRenders: true },
];

describe('every YAML context: hostile strings', () => {
  for (const ctx of CONTEXTS) {
    it(ctx.title, () => {
      const outcomes = HOSTILE.map((hostile) => [hostile, check(ctx.source, {}, 'v', hostile)] as const);
      // YAML limits implicit keys to 1024 characters: longer keys are refused even when quoted.
      const refused = outcomes.filter(([h, o]) => o === 'refused' && !(ctx.title.includes('key') && h.length > 1000));
      if (ctx.alwaysRenders) expect(refused.map(([h]) => h)).toEqual([]);
      // Plain contexts still take ordinary values; anchors and tags never take any.
      expect(check(ctx.source, {}, 'v', 'ordinary-value_1.2')).toBe(ctx.alwaysRefused ? 'refused' : 'rendered');
      if (ctx.alwaysRefused) expect(outcomes.filter(([, o]) => o === 'rendered')).toEqual([]);
    });
  }
});

describe('every YAML context: hostile objects and lists', () => {
  const objects: unknown[] = [
    { name: 'a\nb: c', mountPath: '---\n...' },
    { 'a: b': '#x', '"': "'" },
    ['- x', { '&a': '*a' }],
    { [`k${'\u2028'}`]: '\u0085\u2029' },
    [],
    {},
  ];
  for (const ctx of CONTEXTS.filter((c) => ['sequence item', 'plain value', 'tojson', 'yaml_safe', 'double-quoted value', 'plain in a flow sequence', 'whole document'].includes(c.title))) {
    it(ctx.title, () => {
      for (const value of objects) {
        // A JSON flow value either lands as exactly this data, or is refused (e.g. inside double quotes).
        let docs: unknown[];
        try {
          docs = render(ctx.source, { v: value });
        } catch (error) {
          expect(error).toBeInstanceOf(TemplateInjectionError);
          continue;
        }
        const baseline = render(ctx.source, { v: INERT });
        expect(docs).toEqual(JSON.parse(JSON.stringify(baseline).split(JSON.stringify(INERT)).join(JSON.stringify(value))));
      }
    });
  }
});

describe('error messages', () => {
  it('name the variable, the value, the template and the line', () => {
    let caught: unknown;
    try {
      renderTemplate('metadata:\n  name: x\nspec:\n  image: {{ kernel_image }}\n', { kernel_image: 'img\nkind: Secret' }, { name: 'my.yaml.j2' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateInjectionError);
    const e = caught as TemplateInjectionError;
    expect(e.code).toBe('GP_INVALID_CONFIG');
    expect(e.httpStatus).toBe(400);
    expect(e.message).toContain('kernel_image');
    expect(e.message).toContain('KERNEL_IMAGE');
    expect(e.message).toContain('"img\\nkind: Secret"');
    expect(e.message).toContain('my.yaml.j2');
    expect(e.message).toContain("template's line 4");
  });

  it('shortens very long values', () => {
    let caught: unknown;
    try {
      renderTemplate('v: {{ v }}\n', { v: `${'a'.repeat(10_000)}: b` });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateInjectionError);
    expect((caught as Error).message.length).toBeLessThan(1000);
  });
});
