// The launcher with the real @gp/templates renderer and the shipped kernel-pod template (no cluster).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runLauncher } from './cli.js';
import { GpError } from '@gp/core';
import { readHostSettings } from './env.js';
import type { LaunchRequest } from './inputs.js';
import { planKernelResources } from './launch.js';
import { planCustomResource } from './crd.js';

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';

function request(env: Record<string, string> = {}, hostEnv: Record<string, string> = {}): LaunchRequest {
  return {
    kernelId: KID,
    responseAddress: '10.0.0.5:8877',
    publicKey: 'QUJD',
    kernelClassName: 'ipykernel.ipkernel.IPythonKernel',
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1', ...env },
    settings: readHostSettings(hostEnv),
  };
}

type Pod = { metadata: Record<string, unknown>; spec: { securityContext?: Record<string, unknown>; containers: { env: { name: string; value: string }[]; resources?: unknown; volumeMounts?: unknown; workingDir?: string }[]; volumes?: unknown } };

describe('the shipped kernel-pod template', () => {
  it('renders a valid kernel pod with the launcher env', () => {
    const plan = planKernelResources(request({ KERNEL_CPUS: '500m', KERNEL_MEMORY: '1Gi', KERNEL_MEMORY_LIMIT: '2Gi' }));
    expect(plan.manifests.map((m) => m.kind)).toEqual(['Pod']);
    const pod = plan.pod as unknown as Pod;
    expect(pod.metadata).toMatchObject({ name: `alice-${KID}`, namespace: 'default', labels: { kernel_id: KID, component: 'kernel' } });
    expect(pod.spec.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 100 });
    expect(pod.spec.containers[0]!.resources).toEqual({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } });
    const env = Object.fromEntries(pod.spec.containers[0]!.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ KERNEL_ID: KID, RESPONSE_ADDRESS: '10.0.0.5:8877', PUBLIC_KEY: 'QUJD', KERNEL_CLASS_NAME: 'ipykernel.ipkernel.IPythonKernel' });
  });

  it('labels the pod with the host app name, not the request one', () => {
    const pod = planKernelResources(request({ KERNEL_APP_NAME: 'spoofed' }, { GP_APP_NAME: 'my-gateway' })).pod;
    expect(pod.metadata.labels?.app).toBe('my-gateway');
  });

  it('keeps volumes as objects and refuses hostPath', () => {
    const plan = planKernelResources(
      request({ KERNEL_VOLUMES: '[{"name":"data","persistentVolumeClaim":{"claimName":"alice"}}]', KERNEL_VOLUME_MOUNTS: '[{"name":"data","mountPath":"/data"}]' }),
    );
    const pod = plan.pod as unknown as Pod;
    expect(pod.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'alice' } }]);
    expect(pod.spec.containers[0]!.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    expect(() => planKernelResources(request({ KERNEL_VOLUMES: '[{"name":"h","hostPath":{"path":"/"}}]' }))).toThrow(/hostPath/);
  });

  it.each([
    ['KERNEL_EXTRA', 'x"\nkind: Secret'],
    ['KERNEL_APP_NAME', 'a"\n  evil: "1'],
    ['KERNEL_VOLUME_MOUNTS', '[{"name":"x","mountPath":"/x"}]\n- {"name": "y"}'],
  ])('never lets %s change the structure', (name, value) => {
    let plan;
    try {
      plan = planKernelResources(request({ [name]: value }));
    } catch (e) {
      expect(e).toBeInstanceOf(GpError);
      return;
    }
    expect(plan.manifests.map((m) => m.kind)).toEqual(['Pod']);
    expect(JSON.stringify(plan.pod)).not.toContain('"evil"');
  });

  it('honours KERNEL_WORKING_DIR only when mirrored', () => {
    expect((planKernelResources(request({ KERNEL_WORKING_DIR: '/home/alice' })).pod as unknown as Pod).spec.containers[0]!.workingDir).toBeUndefined();
    expect(
      (planKernelResources(request({ KERNEL_WORKING_DIR: '/home/alice' }, { GP_MIRROR_WORKING_DIRS: 'true' })).pod as unknown as Pod).spec.containers[0]!.workingDir,
    ).toBe('/home/alice');
  });
});

describe('the shipped SparkApplication template', () => {
  it('renders one SparkApplication for the kernel', () => {
    const plan = planCustomResource(request({}, { GP_SHARED_NAMESPACE: 'false' }));
    expect(plan.manifests.map((m) => m.kind)).toEqual(['Namespace', 'ServiceAccount', 'RoleBinding', 'SparkApplication']);
    expect(plan.resource.metadata).toMatchObject({ name: `alice-${KID}`, namespace: `alice-${KID}` });
  });
});

describe('spark-submit inputs from the shipped template', () => {
  it('writes the pod template and an options line that bash reads back word for word', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp kpt \'quoted\' '));
    const pt = join(dir, 'pod.yaml');
    const so = join(dir, 'spark-opts');
    let stderr = '';
    const code = await runLauncher('kubernetes', {
      argv: ['--kernel-id', KID, '--response-address', '10.0.0.5:8877', '--public-key', 'QUJD', '--spark-context-initialization-mode', 'lazy', '--pod-template', pt, '--spark-opts-out', so],
      env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1', KERNEL_CPUS: '500m', KERNEL_CPUS_LIMIT: '2', KERNEL_MEMORY: '2Gi' },
      scriptDir: join(dir, 'no-kernelspec-here'),
      stdout: () => undefined,
      stderr: (s) => (stderr += s),
    });
    expect(code, stderr).toBe(0);
    const docs = parseAllDocuments(readFileSync(pt, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string } });
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ kind: 'Pod', metadata: { name: `alice-${KID}` } });
    // run.sh does: eval "SUBMIT_OPTS=(${SPARK_OPTS} ${POD_TEMPLATE_OPTS})"
    const words = execFileSync('bash', ['-c', 'eval "OPTS=($(cat "$1"))"; printf "%s\\0" "${OPTS[@]}"', 'sh', so], { encoding: 'utf8' }).split('\0').slice(0, -1);
    expect(words).toEqual([
      '--conf', `spark.kubernetes.driver.podTemplateFile=${pt}`,
      '--conf', `spark.kubernetes.executor.podTemplateFile=${pt}`,
      '--conf', 'spark.kubernetes.driver.pod.name=alice-3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c',
      '--conf', 'spark.driver.cores=1',
      '--conf', 'spark.executor.cores=1',
      '--conf', 'spark.kubernetes.driver.request.cores=500m',
      '--conf', 'spark.kubernetes.executor.request.cores=500m',
      '--conf', 'spark.kubernetes.driver.limit.cores=2',
      '--conf', 'spark.kubernetes.executor.limit.cores=2',
      '--conf', 'spark.driver.memory=2048m',
      '--conf', 'spark.executor.memory=2048m',
    ]);
  });
});
