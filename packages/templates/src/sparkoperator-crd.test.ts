/**
 * The shipped SparkApplication template validates against the operator's real CRD schema
 * (vendored in packages/testkit/crds/), for several variable sets. Unknown fields are
 * made errors here (the API server would silently prune them), so a misspelled field in the template fails.
 */
import { readFileSync } from 'node:fs';
import { sparkApplicationCrdPath } from '@gp/testkit';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelTemplateVars, parseRenderedDocuments, renderTemplateFile, templateFilePath, type TemplateVars } from './index.js';

type Schema = Record<string, unknown>;

/** Objects with declared properties and no other way to hold fields get `additionalProperties: false`. */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema as Schema)) out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, closeObjects(s)])) : closeObjects(v);
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  // x-kubernetes-int-or-string: an integer or a string (the CRD usually spells it out with anyOf too).
  if (out['x-kubernetes-int-or-string'] === true && out.anyOf === undefined && out.type === undefined) out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  return out;
}

let validate: ValidateFunction;

beforeAll(() => {
  const crd = parse(readFileSync(sparkApplicationCrdPath, 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  expect(crd.spec.group).toBe('sparkoperator.k8s.io');
  const version = crd.spec.versions.find((v) => v.name === 'v1beta2');
  expect(version).toBeDefined();
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  validate = ajv.compile(closeObjects(version!.schema.openAPIV3Schema) as Schema);
});

const LAUNCHER: TemplateVars = {
  kernel_id: '3f1c2a9e-8d7b-4c6a-9e5f-1a2b3c4d5e6f',
  port_range: '0..0',
  response_address: '10.0.0.5:8877',
  public_key: 'MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC7',
  spark_context_initialization_mode: 'lazy',
};

const BASE = {
  KERNEL_USERNAME: 'alice',
  KERNEL_RESOURCE_NAME: 'alice-3f1c2a9e',
  KERNEL_NAMESPACE: 'default',
  KERNEL_SERVICE_ACCOUNT_NAME: 'default',
  KERNEL_IMAGE: 'elyra/kernel-spark-py:dev',
  KERNEL_EXECUTOR_IMAGE: 'elyra/kernel-spark-py:dev',
  KERNEL_CRD_GROUP: 'sparkoperator.k8s.io',
  KERNEL_CRD_VERSION: 'v1beta2',
  KERNEL_CRD_PLURAL: 'sparkapplications',
};

const SETS: [string, Record<string, string>, TemplateVars?][] = [
  ['base', BASE],
  ['no executor image (falls back to the kernel image)', { ...BASE, KERNEL_EXECUTOR_IMAGE: '' }],
  ['whole cpus, memory, gpus and limits', { ...BASE, KERNEL_CPUS: '2', KERNEL_MEMORY: '4g', KERNEL_GPUS: '1', KERNEL_CPUS_LIMIT: '2', KERNEL_MEMORY_LIMIT: '4g' }],
  ['fractional cpus', { ...BASE, KERNEL_CPUS: '500m' }],
  ['config map, spark version, executors, pull policy', { ...BASE, KERNEL_SPARKAPP_CONFIG_MAP: 'spark-defaults', KERNEL_SPARK_VERSION: '3.4.1', KERNEL_EXECUTOR_INSTANCES: '4', KERNEL_EXECUTOR_MEMORY: '2g', KERNEL_EXECUTOR_CPUS_LIMIT: '2', KERNEL_IMAGE_PULL_POLICY: 'Always' }],
  [
    'volumes and mounts',
    {
      ...BASE,
      KERNEL_VOLUMES: '[{"name": "data", "persistentVolumeClaim": {"claimName": "alice-data"}}, {"name": "dshm", "emptyDir": {"medium": "Memory"}}]',
      KERNEL_VOLUME_MOUNTS: '- {name: data, mountPath: /home/jovyan/data}\n- {name: dshm, mountPath: /dev/shm}',
    },
  ],
  ['empty volume lists', { ...BASE, KERNEL_VOLUMES: '[]', KERNEL_VOLUME_MOUNTS: '' }],
  ['kernel class name', BASE, { kernel_class_name: 'ipykernel.ipkernel.IPythonKernel' }],
];

function renderSpark(env: Record<string, string>, extra: TemplateVars = {}): Record<string, unknown> {
  const text = renderTemplateFile(templateFilePath('sparkoperator.k8s.io-v1beta2.yaml.j2'), { ...kernelTemplateVars(env), ...LAUNCHER, ...extra });
  const docs = parseRenderedDocuments(text);
  expect(docs).toHaveLength(1);
  return docs[0]!;
}

function errors(obj: unknown): string[] {
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

describe('sparkoperator.k8s.io-v1beta2.yaml.j2 against the SparkApplication CRD', () => {
  it.each(SETS)('%s', (_title, env, extra) => {
    const app = renderSpark(env, extra);
    expect(errors(app)).toEqual([]);
    expect(app).toMatchObject({ apiVersion: 'sparkoperator.k8s.io/v1beta2', kind: 'SparkApplication', metadata: { name: 'alice-3f1c2a9e', namespace: 'default' } });
    expect((app.spec as { executor: { image: string } }).executor.image).toBe(env.KERNEL_EXECUTOR_IMAGE || env.KERNEL_IMAGE);
  });

  it('renders the launcher arguments, sizes and volumes where the operator reads them', () => {
    const app = renderSpark(
      { ...BASE, KERNEL_CPUS: '2', KERNEL_MEMORY: '3g', KERNEL_GPUS: '1', KERNEL_VOLUMES: '[{name: d, emptyDir: {}}]', KERNEL_VOLUME_MOUNTS: '[{name: d, mountPath: /d}]' },
      { kernel_class_name: 'my.Kernel' },
    ) as { spec: Record<string, Record<string, unknown> & unknown[]> };
    const spec = app.spec as unknown as Record<string, unknown> & { driver: Record<string, unknown>; executor: Record<string, unknown> };
    expect(spec.arguments).toEqual([
      '--kernel-id', LAUNCHER.kernel_id, '--spark-context-initialization-mode', 'lazy', '--response-address', LAUNCHER.response_address,
      '--port-range', '0..0', '--public-key', LAUNCHER.public_key, '--kernel-class-name', 'my.Kernel',
    ]);
    expect(spec).toMatchObject({ type: 'Python', pythonVersion: '3', mode: 'cluster', restartPolicy: { type: 'Never' }, volumes: [{ name: 'd', emptyDir: {} }] });
    expect(spec.mainApplicationFile).toBe('local:///usr/local/bin/kernel-launchers/python/scripts/launch_ipykernel.py');
    expect(spec.sparkVersion).not.toBe('2.4.5');
    expect(spec.driver).toMatchObject({ cores: 2, coreRequest: '2', memory: '3g', gpu: { name: 'nvidia.com/gpu', quantity: 1 }, labels: { component: 'kernel' }, volumeMounts: [{ name: 'd', mountPath: '/d' }] });
    expect(spec.executor).toMatchObject({ instances: 2, labels: { component: 'worker' }, volumeMounts: [{ name: 'd', mountPath: '/d' }] });
  });

  it('the validator catches what the CRD forbids (so the checks above can fail)', () => {
    const app = renderSpark(BASE) as { spec: Record<string, unknown> };
    expect(errors({ ...app, spec: { ...app.spec, driver: undefined } }).join()).toContain('driver');
    expect(errors({ ...app, spec: { ...app.spec, mode: 'local' } }).join()).toContain('/spec/mode');
    expect(errors({ ...app, spec: { ...app.spec, executor: { ...(app.spec.executor as object), instances: 0 } } }).join()).toContain('/spec/executor/instances');
    expect(errors({ ...app, spec: { ...app.spec, driver: { ...(app.spec.driver as object), corez: 1 } } }).join()).toContain('corez');
    expect(errors({ ...app, spec: { ...app.spec, volumes: null } }).length).toBeGreaterThan(0);
  });
});
