import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import nunjucks from 'nunjucks';
import { describe, expect, it } from 'vitest';
import {
  kernelTemplateVars,
  parseRenderedDocuments,
  renderTemplate,
  renderTemplateFile,
  templateFilePath,
  templatesDir,
  TemplateInjectionError,
  TemplateNameError,
  TemplateRenderError,
  TemplateSyntaxError,
  TemplateVariableError,
  TEMPLATE_NAMES,
} from './index.js';

const runtime = (nunjucks as unknown as { runtime: { contextOrFrameLookup: unknown; memberLookup: unknown } }).runtime;

describe('environment', () => {
  it('leaves nunjucks as it found it (no Jinja-compat patches outside a render)', () => {
    const before = [runtime.contextOrFrameLookup, runtime.memberLookup];
    expect(renderTemplate('a: {{ True }}\nb: "{{ d.items() | list | length }}"\n', { d: { x: 1 } })).toBe('a: True\nb: "1"');
    expect([runtime.contextOrFrameLookup, runtime.memberLookup]).toEqual(before);
  });

  it('does not autoescape', () => {
    expect(renderTemplate('a: "{{ v }}"', { v: "<b> & 'c'" })).toBe('a: "<b> & \'c\'"');
  });

  it('prints objects and arrays as JSON flow, booleans as Jinja does, undefined and null as nothing', () => {
    expect(renderTemplate('a: {{ o }}\nb: {{ l }}\nc: {{ t }}\nd: "{{ u }}{{ n }}"', { o: { k: 'v', n: 1, z: null }, l: [1, 'x'], t: true, n: null })).toBe(
      'a: {"k": "v", "n": 1, "z": null}\nb: [1, "x"]\nc: True\nd: ""',
    );
  });

  it('escapes strings inside double quotes so they keep their exact value', () => {
    const value = 'a"b\\c\nd\te\u2028f\u0085g\u0000h';
    const text = renderTemplate('apiVersion: v1\nkind: X\nv: "{{ v }}"\n', { v: value });
    expect(text).toBe('apiVersion: v1\nkind: X\nv: "a\\"b\\\\c\\nd\\te\\u2028f\\u0085g\\u0000h"');
    expect(parseRenderedDocuments(text)[0]!.v).toBe(value);
  });

  it('tojson, yaml_safe and dump write data', () => {
    expect(renderTemplate('a: {{ v | tojson }}\nb: {{ s | yaml_safe }}\nc: {{ v | dump }}\nd: {{ 5 | yaml_safe }}', { v: { b: '<x>', a: [1] }, s: 'x: "y"' })).toBe(
      'a: {"a": [1], "b": "\\u003cx\\u003e"}\nb: "x: \\"y\\""\nc: {"b": "<x>", "a": [1]}\nd: 5',
    );
  });

  it('int accepts numeric strings and refuses other text unless given a default', () => {
    expect(renderTemplate('a: {{ v | int }}\nb: {{ w | int }}\nc: {{ x | int(3) }}', { v: '1000', w: ' 1_000 ', x: 'abc' })).toBe('a: 1000\nb: 1000\nc: 3');
    expect(() => renderTemplate('a: {{ kernel_uid | int }}', { kernel_uid: 'root' }, { name: 'pod.j2' })).toThrow(TemplateVariableError);
    expect(() => renderTemplate('a: {{ kernel_uid | int }}', { kernel_uid: 'root' }, { name: 'pod.j2' })).toThrow(/"root" for kernel_uid \(from request variable KERNEL_UID\).*integer.*pod\.j2/);
    expect(() => renderTemplate('a: {{ kernel_uid | int }}', {})).toThrow(/defined/);
  });

  it('has no template loader: include/import/extends cannot read files', () => {
    expect(() => renderTemplate('{% include "/etc/passwd" %}', {})).toThrow(TemplateRenderError);
    expect(() => renderTemplate('{% include "kernel-pod.yaml.j2" %}', {})).toThrow(TemplateRenderError);
  });

  it('reports syntax errors with the template name', () => {
    expect(() => renderTemplate('a: {% if %}', {}, { name: 'broken.yaml.j2' })).toThrow(TemplateSyntaxError);
    expect(() => renderTemplate('a: {% if %}', {}, { name: 'broken.yaml.j2' })).toThrow(/broken\.yaml\.j2/);
    expect(() => renderTemplate('a: {{ v }}\n  b: [', { v: 'x' }, { name: 'bad-yaml.j2' })).toThrow(/bad-yaml\.j2 does not render to valid YAML/);
  });

  it('refuses gp-reserved characters in values and templates, and non-data values', () => {
    expect(() => renderTemplate('a: "{{ v }}"', { v: 'x\ue000' })).toThrow(TemplateVariableError);
    expect(() => renderTemplate('a: "\ue001"', {})).toThrow(TemplateSyntaxError);
    expect(() => renderTemplate('a: "{{ v }}"', { v: new Date(0) })).toThrow(TemplateVariableError);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => renderTemplate('a: "{{ v }}"', { v: circular })).toThrow(TemplateVariableError);
  });

  it("leaves the template's own YAML warnings to parseRenderedDocuments", () => {
    const text = renderTemplate('apiVersion: v1\nkind: X\nref: !Custom thing\nname: "{{ v }}"\n', { v: 'x' });
    expect(text).toContain('name: "x"');
    expect(() => parseRenderedDocuments(text)).toThrow(/Unresolved tag/);
    expect(() => renderTemplate('apiVersion: v1\nkind: X\nname: {{ v }}\n', { v: '!Custom x' })).toThrow(TemplateInjectionError);
  });

  it('compiles each source under its own name (cache keyed by source)', () => {
    expect(renderTemplate('a: 1', {}, { name: 'same' })).toBe('a: 1');
    expect(renderTemplate('a: 2', {}, { name: 'same' })).toBe('a: 2');
  });
});

describe('template files', () => {
  it('TEMPLATE_NAMES resolve to absolute paths of shipped files, also listed in package.json files', () => {
    for (const name of TEMPLATE_NAMES) {
      const path = templateFilePath(name);
      expect(isAbsolute(path)).toBe(true);
      expect(existsSync(path)).toBe(true);
      expect(path.startsWith(templatesDir())).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(templatesDir(), '..', 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('templates');
  });

  it('refuses names that are paths', () => {
    for (const bad of ['../package.json', '/etc/passwd', 'a/b.j2', '..', '', 'x\0']) expect(() => templateFilePath(bad)).toThrow(TemplateNameError);
    expect(templateFilePath('other-v1.yaml.j2')).toBe(join(templatesDir(), 'other-v1.yaml.j2'));
  });
});

const LAUNCHER = { kernel_id: 'k-1', port_range: '0..0', response_address: '10.0.0.1:8877', public_key: 'KEY', spark_context_initialization_mode: 'none' };

function pod(env: Record<string, string>, source?: string): Record<string, any> {
  const vars = { ...kernelTemplateVars(env), ...LAUNCHER };
  const text = source === undefined ? renderTemplateFile(templateFilePath('kernel-pod.yaml.j2'), vars) : renderTemplate(source, vars, { name: 'kernel-pod.yaml.j2' });
  const docs = parseRenderedDocuments(text);
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

describe('kernel-pod.yaml.j2', () => {
  const env = { KERNEL_POD_NAME: 'alice-k-1', KERNEL_NAMESPACE: 'team', KERNEL_SERVICE_ACCOUNT_NAME: 'kernels', KERNEL_IMAGE: 'elyra/kernel-py:3.2', KERNEL_UID: '1000', KERNEL_GID: '100' };

  it('renders the pod the spec describes', () => {
    const p = pod(env);
    expect(p).toMatchObject({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'alice-k-1',
        namespace: 'team',
        labels: { kernel_id: 'k-1', app: 'gateway-provisioners', component: 'kernel', source: 'kernel-pod.yaml' },
        annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' },
      },
      spec: { restartPolicy: 'Never', serviceAccountName: 'kernels', securityContext: { runAsUser: 1000, runAsGroup: 100, fsGroup: 100 } },
    });
    expect(p.spec.containers).toHaveLength(1);
    expect(p.spec.containers[0]).toMatchObject({ name: 'kernel', image: 'elyra/kernel-py:3.2' });
    expect(p.spec.containers[0].env ?? []).toEqual([]);
    expect(p.spec.containers[0].resources).toBeUndefined();
    expect(p.spec.containers[0].workingDir).toBeUndefined();
  });

  it('maps the resource variables to requests and limits', () => {
    const p = pod({ ...env, KERNEL_CPUS: '500m', KERNEL_MEMORY: '1Gi', KERNEL_GPUS: '1', KERNEL_CPUS_LIMIT: '1', KERNEL_MEMORY_LIMIT: '2Gi', KERNEL_GPUS_LIMIT: '2' });
    expect(p.spec.containers[0].resources).toEqual({
      requests: { cpu: '500m', memory: '1Gi', 'nvidia.com/gpu': '1' },
      limits: { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '2' },
    });
    expect(pod({ ...env, KERNEL_MEMORY_LIMIT: '2Gi' }).spec.containers[0].resources).toEqual({ limits: { memory: '2Gi' } });
  });

  it('sets workingDir, the app label override, and the conditional volumes', () => {
    const p = pod({
      ...env,
      KERNEL_WORKING_DIR: '/home/jovyan/work',
      KERNEL_APP_NAME: 'my-app',
      KERNEL_VOLUMES: '[{"name": "data", "persistentVolumeClaim": {"claimName": "c"}}]',
      KERNEL_VOLUME_MOUNTS: '- name: data\n  mountPath: /data\n  readOnly: true',
    });
    expect(p.metadata.labels.app).toBe('my-app');
    expect(p.spec.containers[0].workingDir).toBe('/home/jovyan/work');
    expect(p.spec.containers[0].volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]);
    expect(p.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }]);
  });

  it("takes the spec's /dev/shm edit (unconditional mount and volume before the loops)", () => {
    const shipped = readFileSync(templateFilePath('kernel-pod.yaml.j2'), 'utf8');
    const edited = shipped
      .replace(/(    volumeMounts:\n(#.*\n)*)/, '$1    - mountPath: /dev/shm\n      name: dshm\n')
      .replace(/(  volumes:\n(#.*\n)*)/, '$1  - name: dshm\n    emptyDir:\n      medium: Memory\n');
    expect(edited).not.toBe(shipped);
    const p = pod({ ...env, KERNEL_VOLUMES: '[{name: data, emptyDir: {}}]', KERNEL_VOLUME_MOUNTS: '[{name: data, mountPath: /data}]' }, edited);
    expect(p.spec.containers[0].volumeMounts).toEqual([{ mountPath: '/dev/shm', name: 'dshm' }, { name: 'data', mountPath: '/data' }]);
    expect(p.spec.volumes).toEqual([{ name: 'dshm', emptyDir: { medium: 'Memory' } }, { name: 'data', emptyDir: {} }]);
    const without = pod(env, edited);
    expect(without.spec.volumes).toEqual([{ name: 'dshm', emptyDir: { medium: 'Memory' } }]);
  });

  it("renders the reference's own template style (unquoted values, Python-style keys)", () => {
    // A template edited for the reference: unquoted image, int filters, the documented loops.
    const reference = [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: "{{ kernel_pod_name }}"',
      'spec:',
      '  {% if kernel_uid is defined %}',
      '  securityContext:',
      '    runAsUser: {{ kernel_uid | int }}',
      '  {% endif %}',
      '  containers:',
      '  - image: {{ kernel_image }}',
      '    name: {{ kernel_pod_name }}',
      '    volumeMounts:',
      '    {% if kernel_volume_mounts is defined %}',
      '      {% for volume_mount in kernel_volume_mounts %}',
      '    - {{ volume_mount }}',
      '      {% endfor %}',
      '    {% endif %}',
      '',
    ].join('\n');
    const p = pod({ ...env, KERNEL_VOLUME_MOUNTS: '[{name: d, mountPath: /d}]' }, reference);
    expect(p.spec.securityContext).toEqual({ runAsUser: 1000 });
    expect(p.spec.containers[0]).toEqual({ image: 'elyra/kernel-py:3.2', name: 'alice-k-1', volumeMounts: [{ name: 'd', mountPath: '/d' }] });
  });
});
