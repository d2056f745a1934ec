/**
 * gp's renderer against Python's Jinja2 (the project venv, jinja2 3.1.6), configured as the reference's launchers
 * do: trim_blocks, lstrip_blocks, no autoescaping, every KERNEL_* value passed through yaml.safe_load. All Python
 * renders of this file run in one subprocess (cases as JSON on stdin).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { testPython } from '@gp/testkit';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelTemplateVars, renderTemplate, templateFilePath, TEMPLATE_NAMES, type TemplateName } from './index.js';

const JINJA = String.raw`
import json, sys, yaml, jinja2
payload = json.load(sys.stdin)
env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, autoescape=False)
out = []
for case in payload["cases"]:
    try:
        keywords = dict(case["keywords"])
        for name, value in case["env"].items():
            if name.startswith("KERNEL_"):
                keywords[name.lower()] = yaml.safe_load(value)
        out.append({"text": env.from_string(case["source"]).render(**keywords)})
    except Exception as e:
        out.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(out, sys.stdout)
`;

interface Case {
  title: string;
  source: string;
  env: Record<string, string>;
  keywords: Record<string, unknown>;
  /** Values render as Python reprs in Jinja: compare parsed documents instead of text. */
  structured?: boolean;
}

const LAUNCHER = {
  kernel_id: '3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f',
  port_range: '40000..41000',
  response_address: '10.0.0.5:8877',
  public_key: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC7',
  spark_context_initialization_mode: 'lazy',
};

const BASE_ENV = {
  KERNEL_USERNAME: 'alice',
  KERNEL_POD_NAME: 'alice-3f1c2a9e',
  KERNEL_RESOURCE_NAME: 'alice-3f1c2a9e',
  KERNEL_NAMESPACE: 'default',
  KERNEL_SERVICE_ACCOUNT_NAME: 'default',
  KERNEL_IMAGE: 'elyra/kernel-py:dev',
  KERNEL_EXECUTOR_IMAGE: 'elyra/kernel-spark-py:dev',
  KERNEL_LANGUAGE: 'python',
};

const VOLUMES = JSON.stringify([
  { name: 'data', persistentVolumeClaim: { claimName: 'alice-data', readOnly: false } },
  { name: 'dshm', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
]);
const MOUNTS = '- name: data\n  mountPath: /home/jovyan/data\n- name: dshm\n  mountPath: /dev/shm\n';

/** Variable sets for both shipped templates. */
const MATRIX: { title: string; env: Record<string, string>; keywords?: Record<string, unknown>; structured?: boolean }[] = [
  { title: 'nothing but the launcher arguments', env: {} },
  { title: 'base kernel variables', env: BASE_ENV },
  { title: 'uid/gid', env: { ...BASE_ENV, KERNEL_UID: '1000', KERNEL_GID: '100' } },
  { title: 'uid only', env: { ...BASE_ENV, KERNEL_UID: '1001' } },
  { title: 'cpus alone', env: { ...BASE_ENV, KERNEL_CPUS: '500m' } },
  { title: 'whole cpus', env: { ...BASE_ENV, KERNEL_CPUS: '2' } },
  { title: 'fractional cpus', env: { ...BASE_ENV, KERNEL_CPUS: '0.5' } },
  { title: 'memory alone', env: { ...BASE_ENV, KERNEL_MEMORY: '2Gi' } },
  { title: 'gpus alone', env: { ...BASE_ENV, KERNEL_GPUS: '1' } },
  { title: 'cpus limit alone', env: { ...BASE_ENV, KERNEL_CPUS_LIMIT: '1500m' } },
  { title: 'memory limit alone', env: { ...BASE_ENV, KERNEL_MEMORY_LIMIT: '4Gi' } },
  { title: 'gpus limit alone', env: { ...BASE_ENV, KERNEL_GPUS_LIMIT: '2' } },
  {
    title: 'all resources',
    env: { ...BASE_ENV, KERNEL_CPUS: '1', KERNEL_MEMORY: '1g', KERNEL_GPUS: '1', KERNEL_CPUS_LIMIT: '2', KERNEL_MEMORY_LIMIT: '2g', KERNEL_GPUS_LIMIT: '1' },
  },
  { title: 'working dir', env: { ...BASE_ENV, KERNEL_WORKING_DIR: '/home/jovyan/work' } },
  { title: 'volumes and mounts (JSON and YAML block)', env: { ...BASE_ENV, KERNEL_VOLUMES: VOLUMES, KERNEL_VOLUME_MOUNTS: MOUNTS }, structured: true },
  { title: 'volumes only', env: { ...BASE_ENV, KERNEL_VOLUMES: '[{name: scratch, emptyDir: {}}]' }, structured: true },
  { title: 'config map, app name, spark version, executors', env: { ...BASE_ENV, KERNEL_SPARKAPP_CONFIG_MAP: 'spark-conf', KERNEL_APP_NAME: 'my-gateway', KERNEL_SPARK_VERSION: '3.4.1', KERNEL_EXECUTOR_INSTANCES: '3', KERNEL_EXECUTOR_MEMORY: '2g' } },
  { title: 'kernel class name', env: BASE_ENV, keywords: { kernel_class_name: 'ipykernel.ipkernel.IPythonKernel' } },
  {
    title: 'everything',
    env: {
      ...BASE_ENV,
      KERNEL_UID: '1000',
      KERNEL_GID: '100',
      KERNEL_CPUS: '4',
      KERNEL_MEMORY: '8g',
      KERNEL_GPUS: '1',
      KERNEL_CPUS_LIMIT: '4',
      KERNEL_MEMORY_LIMIT: '8g',
      KERNEL_GPUS_LIMIT: '1',
      KERNEL_WORKING_DIR: '/home/jovyan',
      KERNEL_VOLUMES: VOLUMES,
      KERNEL_VOLUME_MOUNTS: MOUNTS,
      KERNEL_SPARKAPP_CONFIG_MAP: 'cm',
    },
    keywords: { kernel_class_name: 'ipykernel.ipkernel.IPythonKernel' },
    structured: true,
  },
];

/** Small templates for the Jinja features users' edited templates are likely to use. */
const FEATURES: { title: string; source: string; env?: Record<string, string>; keywords?: Record<string, unknown> }[] = [
  { title: 'is defined / is not defined', source: 'a: {% if kernel_x is defined %}yes{% else %}no{% endif %}\nb: {% if kernel_y is not defined %}absent{% endif %}\n', env: { KERNEL_X: 'v' } },
  { title: 'undefined prints empty', source: 'a: "{{ kernel_missing }}"\n' },
  { title: 'default filter', source: 'a: "{{ kernel_missing | default(\'fallback\') }}"\nb: "{{ kernel_x | default(\'unused\') }}"\n', env: { KERNEL_X: 'set' } },
  { title: 'int filter on numbers', source: 'a: {{ kernel_uid | int }}\nc: {{ kernel_gid | int(7) }}\nd: {{ kernel_cpus | int(0) }}\ne: {{ kernel_memory | int }}\n', env: { KERNEL_UID: '1000', KERNEL_GID: '100', KERNEL_CPUS: '500m', KERNEL_MEMORY: '1.5' } },
  {
    title: 'loops with loop variables',
    source: 'items:\n{% for v in things %}\n- "{{ loop.index }}/{{ loop.length }}: {{ v }}{% if loop.last %} (last){% endif %}"\n{% endfor %}\n',
    keywords: { things: ['x', 'y', 'z'] },
  },
  { title: 'inline if and comparison', source: 'mode: "{{ \'lazy\' if spark_context_initialization_mode == \'lazy\' else \'other\' }}"\n', keywords: { spark_context_initialization_mode: 'lazy' } },
  { title: 'string filters', source: 'a: "{{ kernel_username | upper }}"\nb: "{{ kernel_username | replace(\'li\', \'LI\') }}"\nc: "{{ kernel_username | length }}"\n', env: { KERNEL_USERNAME: 'alice' } },
  { title: 'join and in', source: 'a: "{{ things | join(\',\') }}"\nb: {% if \'y\' in things %}has-y{% endif %}\n', keywords: { things: ['x', 'y'] } },
  { title: 'whitespace control', source: 'a: "{%- for v in things %} {{ v }}{% endfor -%}"\nb: x   {{- "y" }}\n', keywords: { things: ['a', 'b'] } },
  { title: 'set', source: '{% set who = kernel_username ~ "-" ~ kernel_id %}\nname: "{{ who }}"\n', env: { KERNEL_USERNAME: 'bob' }, keywords: { kernel_id: 'k1' } },
  { title: 'dict items and Jinja literals', source: 'labels:\n{% for k, v in extra.items() %}\n  {{ k }}: "{{ v }}"\n{% endfor %}\nflag: {{ True }}\n', keywords: { extra: { team: 'data', tier: 'gold' } } },
  { title: 'tojson', source: 'a: {{ extra | tojson }}\nb: {{ name | tojson }}\n', keywords: { extra: { z: 1, a: ['<x>', "it's", 'é'] }, name: 'a&b' } },
  { title: 'jinja comments and raw', source: '{# a comment #}\na: "{% raw %}{{ not rendered }} {# kept #}{% endraw %}"\n  {# indented #}\nb: 1 {# inline #}\nc: 2\n{#- stripped -#}\n\nd: 3\n' },
  { title: 'CRLF line endings', source: 'a: 1\r\n{% if True %}\r\nb: 2\r\n{% endif %}\r\n' },
  { title: 'nested conditions with indentation', source: 'spec:\n  {% if a is defined %}\n  a:\n    {% if b is defined %}\n    b: "{{ b }}"\n    {% endif %}\n  {% endif %}\n', keywords: { a: 1, b: 'two' } },
];

function cases(): Case[] {
  const out: Case[] = [];
  for (const name of TEMPLATE_NAMES) {
    const source = readFileSync(templateFilePath(name), 'utf8');
    for (const m of MATRIX) {
      out.push({ title: `${name}: ${m.title}`, source, env: m.env, keywords: { ...LAUNCHER, ...(m.keywords ?? {}) }, structured: m.structured ?? false });
    }
  }
  for (const f of FEATURES) out.push({ title: `feature: ${f.title}`, source: f.source, env: f.env ?? {}, keywords: f.keywords ?? {} });
  return out;
}

const ALL = cases();
let jinja: { text?: string; error?: string }[] = [];

beforeAll(() => {
  const payload = JSON.stringify({ cases: ALL.map((c) => ({ source: c.source, env: c.env, keywords: c.keywords })) });
  const result = spawnSync(testPython(), ['-c', JINJA], { input: payload, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`Jinja2 harness failed: ${result.stderr}`);
  jinja = JSON.parse(result.stdout) as typeof jinja;
  expect(jinja).toHaveLength(ALL.length);
});

function gpRender(c: Case): string {
  return renderTemplate(c.source, { ...kernelTemplateVars(c.env), ...c.keywords }, { name: c.title });
}

function documents(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1' }).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as unknown;
  });
}

describe('gp renders like Jinja2', () => {
  it.each(ALL.map((c, index) => [c.title, index] as const))('%s', (_title, index) => {
    const c = ALL[index]!;
    const expected = jinja[index]!;
    expect(expected.error).toBeUndefined();
    const actual = gpRender(c);
    if (c.structured) {
      // Jinja prints Python reprs ({'name': 'data'}), gp prints JSON flow: same YAML data.
      expect(documents(actual)).toEqual(documents(expected.text!));
      expect(actual).toMatch(/- \{"name": /);
    } else {
      expect(actual).toBe(expected.text);
    }
  });

  it('covers every shipped template with the whole matrix', () => {
    for (const name of TEMPLATE_NAMES satisfies readonly TemplateName[]) {
      expect(ALL.filter((c) => c.title.startsWith(`${name}:`))).toHaveLength(MATRIX.length);
    }
  });
});
