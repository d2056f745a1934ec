/**
 * Threat model, launch path (README.md here, section L), on the real control plane:
 * - idle connections to the gateway's response listener (300, cap 256) and to a kernel's comm port (20,
 *   cap 16) do not block a launch through the gateway's API nor its interrupt;
 * - secrets stay home: a gateway whose environment holds its token and a KUBECONFIG runs a kernelspec made
 *   by the reference (argv: `python launch_kubernetes.py`, which copies its whole environment into the
 *   pod); neither the pod spec nor the kernel's os.environ holds anything of the host but what a launcher needs.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseListener } from '@gp/core';
import { KubernetesProvisioner, type KernelSpecLike } from '@gp/launcher';
import { freePorts, JupyterKernelClient, repoRoot, testPython, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REF_IMAGE = 'gp-test/threat-reference-py:1';
const GP_IMAGE = 'gp-test/threat-gp-py:1';
const TOKEN = `gp-fake-gateway-token-${randomUUID()}`;
const KUBECONFIG_MARKER = `/nonexistent/kubeconfig-marker-${randomUUID()}`;
const HOST_ONLY = `host-only-value-${randomUUID()}`;

const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-threat-launch-'));
let listener: ResponseListener;
let ns: string;
let spec: KernelSpecLike;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  const python = testPython();
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  const pkg = execFileSync(python, ['-c', 'import gateway_provisioners, os; print(os.path.dirname(gateway_provisioners.__file__))']).toString().trim();
  // The reference's kernel image: its launch_ipykernel.py + server_listener.py.
  const refDir = join(dir, 'image');
  mkdirSync(refDir);
  copyFileSync(join(pkg, 'kernel-launchers', 'python', 'scripts', 'launch_ipykernel.py'), join(refDir, 'launch_ipykernel.py'));
  copyFileSync(join(pkg, 'kernel-launchers', 'shared', 'scripts', 'server_listener.py'), join(refDir, 'server_listener.py'));
  cluster.registerImage(REF_IMAGE, {
    command: [
      'bash',
      '-c',
      `exec python ${join(refDir, 'launch_ipykernel.py')} --kernel-id "$KERNEL_ID" --port-range "$PORT_RANGE" --response-address "$RESPONSE_ADDRESS" --public-key "$PUBLIC_KEY" --spark-context-initialization-mode none`,
    ],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // The reference's kernelspec: its launch_kubernetes.py and kernel-pod.yaml.j2, spawned by the host.
  const scripts = join(dir, 'kernelspec', 'scripts');
  mkdirSync(scripts, { recursive: true });
  for (const f of ['launch_kubernetes.py', 'kernel-pod.yaml.j2']) copyFileSync(join(pkg, 'kernel-launchers', 'kubernetes', 'scripts', f), join(scripts, f));
  spec = {
    language: 'python',
    display_name: 'Reference Python on Kubernetes',
    metadata: { kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: REF_IMAGE, launch_timeout: 110 } } },
    env: { SPEC_NAMED: 'from-the-kernelspec' },
    argv: ['python', join(scripts, 'launch_kubernetes.py'), '--kernel-id', '{kernel_id}', '--port-range', '{port_range}', '--response-address', '{response_address}', '--public-key', '{public_key}', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel'],
  } as KernelSpecLike;
  // gp's image and kernelspec (installed by the built CLI), for the gateway tests.
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  ns = await cluster.createNamespace('threat');
});

const idle: Socket[] = [];
async function idleConnections(port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => resolve());
        s.on('error', () => resolve());
        idle.push(s);
      }),
    ),
  );
}

describe('threat: idle connections starve the launch path', () => {
  it('a launch through the gateway API succeeds while 300 idle connections sit on its response listener, and its interrupt gets past 20 on the comm port', async () => {
    const { startGateway } = await import('../gateway.js');
    const { DEFAULT_ALLOWED_ENV } = await import('../options.js');
    const port = (await freePorts(1))[0]!;
    const token = randomUUID();
    const gateway = await startGateway({
      ip: '127.0.0.1',
      port,
      token,
      kernelspec_dirs: [join(dir, 'prefix', 'share', 'jupyter', 'kernels')],
      state_file: '',
      allowed_env: DEFAULT_ALLOWED_ENV,
      log_level: 'warn',
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
      responseListener: listener,
    });
    cleanups.push(() => gateway.close({ stopKernels: true }));
    try {
      await idleConnections(listener.port, 300);
      const headers = { Authorization: `token ${token}`, 'Content-Type': 'application/json' };
      const started = await fetch(`${gateway.url}/api/kernels`, { method: 'POST', headers, body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice', KERNEL_LAUNCH_TIMEOUT: '110' } }) });
      expect(started.status).toBe(201);
      const { id } = (await started.json()) as { id: string };
      const kernel = await gateway.kernels.get(id);
      await idleConnections(kernel.connectionInfo.comm_port!, 20);
      const interrupted = await fetch(`${gateway.url}/api/kernels/${id}/interrupt`, { method: 'POST', headers, body: '{}' });
      expect(interrupted.status).toBe(204);
      expect((await fetch(`${gateway.url}/api/kernels/${id}`, { method: 'DELETE', headers })).status).toBe(204);
    } finally {
      for (const s of idle.splice(0)) s.destroy();
    }
  });
});

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c().catch(() => undefined);
  await listener?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('threat: the gateway environment leaks into kernel pods through a spawned reference launcher', () => {
  it('the pod spec and the kernel os.environ hold no host secret, only what a launcher needs', async () => {
    const kernelId = randomUUID();
    const hostEnv = {
      ...process.env,
      PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      GP_NAMESPACE: ns,
      GP_GATEWAY_TOKEN: TOKEN,
      KUBECONFIG: KUBECONFIG_MARKER,
      AWS_SECRET_ACCESS_KEY: HOST_ONLY,
    };
    const prov = new KubernetesProvisioner({ kernelId, kernelSpec: spec, kubeConfig: cluster.kc, responseListener: listener, hostEnv });
    cleanups.push(() => prov.cleanup());
    const prepared = await prov.preLaunch({ env: { KERNEL_USERNAME: 'mallory' } });
    expect(prepared.mode).toBe('spawn');
    const info = await prov.launch();
    expect(info.response_version).toBe(1);

    const pod = await cluster.core.readNamespacedPod({ namespace: ns, name: prepared.podName });
    const env = pod.spec!.containers[0]!.env ?? [];
    const text = JSON.stringify(pod.spec);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(KUBECONFIG_MARKER);
    expect(text).not.toContain(HOST_ONLY);
    const names = env.map((e) => e.name);
    expect(names).not.toContain('GP_GATEWAY_TOKEN');
    expect(names).not.toContain('HOME');
    expect(names).toEqual(expect.arrayContaining(['KERNEL_ID', 'KERNEL_USERNAME', 'SPEC_NAMED', 'RESPONSE_ADDRESS', 'PUBLIC_KEY']));
    // Everything that is there is a launcher's need: the kernel's variables, the runtime ones, cluster access, and
    // the payload versions the host reads (GP_RESPONSE_VERSIONS, the negotiation a reference launcher ignores).
    const unexpected = names.filter((n) => !/^(KERNEL_|GP_NAMESPACE$|GP_RESPONSE_VERSIONS$|SPEC_NAMED$|RESPONSE_ADDRESS$|PUBLIC_KEY$|PORT_RANGE$|PATH$|LANG|LC_|TZ$|KUBECONFIG$|KUBERNETES_SERVICE_)/.test(n));
    expect(unexpected).toEqual([]);

    const client = await JupyterKernelClient.connect(info, { timeoutMs: 60_000 });
    cleanups.push(async () => client.close());
    const result = await client.execute('import os, json; json.dumps(dict(os.environ))');
    expect(result.status).toBe('ok');
    expect(result.result).not.toContain(TOKEN);
    expect(result.result).not.toContain(KUBECONFIG_MARKER);
    expect(result.result).not.toContain(HOST_ONLY);
    expect(result.result).toContain('from-the-kernelspec');
  });
});
