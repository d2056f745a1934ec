import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runLauncher, type LauncherKind } from './cli.js';
import { POD_TEMPLATE } from './test-support/templates-stand-in.js';

vi.mock('@gp/templates', () => import('./test-support/templates-stand-in.js'));

const KID = '3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c';
const ARGS = ['--kernel-id', KID, '--port-range', '0..0', '--response-address', '10.0.0.5:8877', '--public-key', 'QUJD', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel'];

function kernelspec(template = POD_TEMPLATE): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'gp-launcher-')), 'k8s_python', 'scripts');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kernel-pod.yaml.j2'), template);
  return dir;
}

async function run(argv: string[], env: Record<string, string> = {}, kind: LauncherKind = 'kubernetes', scriptDir = kernelspec()) {
  let stdout = '';
  let stderr = '';
  const code = await runLauncher(kind, {
    argv,
    env: { KERNEL_USERNAME: 'alice', KERNEL_LANGUAGE: 'python', KERNEL_IMAGE: 'img:1', ...env },
    scriptDir,
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr };
}

describe('launch_kubernetes command line', () => {
  it('prints help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--pod-template FILE');
  });
  it.each([
    [['--kernel-id'], /argument missing|--kernel-id/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['--kernel-id', KID], /--response-address is required/],
    [[...ARGS, 'extra'], /unexpected argument "extra"/],
    [[...ARGS, '--spark-opts-out', '/tmp/x'], /needs --pod-template/],
  ])('refuses %j with one error line', async (argv, re) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(re);
  });
  it('prints every manifest with --dry-run and reads the template next to the script', async () => {
    const r = await run([...ARGS, '--dry-run'], { GP_SHARED_NAMESPACE: 'false' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; spec?: { containers: { env: { name: string; value: string }[] }[] } });
    expect(docs.map((d) => d.kind)).toEqual(['Namespace', 'ServiceAccount', 'RoleBinding', 'Pod', 'ConfigMap']);
    const env = docs[3]!.spec!.containers[0]!.env;
    expect(env.find((e) => e.name === 'KERNEL_NAME')?.value).toBe('k8s_python');
    expect(env.find((e) => e.name === 'KERNEL_CLASS_NAME')?.value).toBe('ipykernel.ipkernel.IPythonKernel');
  });
  it('passes the payload versions a gp host announced on to the pod, and nothing when none was announced', async () => {
    const podEnv = async (env: Record<string, string>) => {
      const r = await run([...ARGS, '--dry-run'], env);
      expect(r.code).toBe(0);
      const pod = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; spec?: { containers: { env: { name: string; value: string }[] }[] } }).find((d) => d.kind === 'Pod')!;
      return pod.spec!.containers[0]!.env;
    };
    expect((await podEnv({ GP_RESPONSE_VERSIONS: '2,1' })).find((e) => e.name === 'GP_RESPONSE_VERSIONS')?.value).toBe('2,1');
    // Run by a reference host: nothing announced, so gp's launcher in the pod sends version 1.
    expect((await podEnv({})).find((e) => e.name === 'GP_RESPONSE_VERSIONS')).toBeUndefined();
  });
  it('reports a typed error on one line and exits 1', async () => {
    const r = await run([...ARGS, '--dry-run'], { KERNEL_USERNAME: 'root' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^launch_kubernetes: error GP_USER_NOT_AUTHORIZED: User "root"/);
    expect(r.stdout).toBe('');
  });
  it('writes the pod template and spark options for spark-submit, creating nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-kpt-'));
    const pt = join(dir, 'pod.yaml');
    const so = join(dir, 'spark-opts');
    const tpl = POD_TEMPLATE.replace('      image: {{ kernel_image }}', '      image: {{ kernel_image }}\n      resources:\n        requests:\n          cpu: {{ kernel_cpus }}\n          memory: {{ kernel_memory }}');
    const r = await run([...ARGS, '--pod-template', pt, '--spark-opts-out', so], { KERNEL_CPUS: '500m', KERNEL_MEMORY: '2Gi' }, 'kubernetes', kernelspec(tpl));
    expect(r.code).toBe(0);
    const pod = parseAllDocuments(readFileSync(pt, 'utf8')).map((d) => d.toJS() as { kind: string });
    expect(pod.map((d) => d.kind)).toEqual(['Pod']);
    expect(readFileSync(so, 'utf8')).toBe(
      `--conf spark.kubernetes.driver.podTemplateFile=${pt} --conf spark.kubernetes.executor.podTemplateFile=${pt} ` +
        '--conf spark.kubernetes.driver.pod.name=alice-3f1b8a6c-2d4e-4f5a-9b8c-7d6e5f4a3b2c ' +
        '--conf spark.driver.cores=1 --conf spark.executor.cores=1 --conf spark.kubernetes.driver.request.cores=500m ' +
        '--conf spark.kubernetes.executor.request.cores=500m --conf spark.driver.memory=2048m --conf spark.executor.memory=2048m\n',
    );
  });
});
