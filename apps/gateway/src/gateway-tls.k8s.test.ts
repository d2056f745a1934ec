/**
 * gp-gateway in production shape on the testkit's control plane (#18): TLS with client-certificate
 * verification, Jupyter Server's GatewayClient with `ca_certs` and a client certificate running a real kernel
 * over https/wss; the env policy with a Jupyter Server whose environment carries KERNEL_FOO and KERNEL_VOLUMES;
 * --max-kernels / --max-kernels-per-user under a burst of concurrent launches.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestJupyterServer } from './e2e/jupyter-server.js';
import { makeTestCerts, type TestCerts } from './e2e/test-certs.js';
import { startGateway, type GatewayHandle } from './gateway.js';
import { DEFAULT_ALLOWED_ENV } from './options.js';

const GP_IMAGE = 'gp-test/gateway-kernel-py:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-gateway-tls-'));
const kernelsDir = join(dir, 'prefix', 'share', 'jupyter', 'kernels');
const token = 'tls-k8s-test-token';
let ns: string;
let certs: TestCerts;
let gateway: GatewayHandle;
const servers: TestJupyterServer[] = [];

/** A request straight to the gateway over TLS with the test client certificate. */
function gw(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${gateway.url}${path}`,
      {
        method,
        ca: readFileSync(certs.ca),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
        headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function kernelPods(kernelId: string): Promise<Array<{ name: string; volumes: string[] }>> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  return list.items.map((p) => ({ name: p.metadata!.name!, volumes: (p.spec?.volumes ?? []).map((v) => v.name) }));
}

async function jupyterServer(flags: string[], kernelEnv: Record<string, string>, env: Record<string, string> = {}): Promise<TestJupyterServer> {
  const [port] = await freePorts(1);
  const server = new TestJupyterServer({ port: port!, gatewayUrl: gateway.url, gatewayToken: token, dir: join(dir, `jupyter-${servers.length}`), flags, kernelEnv, env });
  servers.push(server);
  await server.ready();
  return server;
}

beforeAll(async () => {
  certs = makeTestCerts(dir);
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', GP_IMAGE], { stdio: 'pipe' });
  ns = await cluster.createNamespace('gwtls');
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: 0,
    token,
    kernelspec_dirs: [kernelsDir],
    state_file: '',
    allowed_env: DEFAULT_ALLOWED_ENV,
    certfile: certs.serverCert,
    keyfile: certs.serverKey,
    client_ca: certs.ca,
    max_kernels: 3,
    max_kernels_per_user: 1,
    orphan_namespaces: [ns],
    log_level: 'warn',
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
});

afterAll(async () => {
  for (const server of servers) await server.stop();
  await gateway?.close({ stopKernels: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('Jupyter Server (GatewayClient.ca_certs + client_cert) through a gateway with --certfile/--keyfile/--client-ca', () => {
  let aliceKernel: string;

  it('starts a kernel over https and runs code over wss; the environment\'s KERNEL_FOO and KERNEL_VOLUMES are dropped, not refused', async () => {
    expect(gateway.url).toMatch(/^https:/);
    const volumes = JSON.stringify([{ name: 'work', persistentVolumeClaim: { claimName: 'alice-work' } }]);
    const server = await jupyterServer(
      [`--GatewayClient.ca_certs=${certs.ca}`, `--GatewayClient.client_cert=${certs.clientCert}`, `--GatewayClient.client_key=${certs.clientKey}`],
      { KERNEL_USERNAME: 'alice', KERNEL_FOO: '1', KERNEL_VOLUMES: volumes },
    );
    const started = await server.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python' }) });
    expect(started.status, server.log.slice(-3000)).toBe(201);
    aliceKernel = started.body.id;
    const pods = await kernelPods(aliceKernel);
    expect(pods.map((p) => p.name)).toEqual([`alice-${aliceKernel}`]);
    expect(pods[0]!.volumes).not.toContain('work');
    const ran = await server.execute(aliceKernel, 'import os\nprint(os.environ["KERNEL_USERNAME"], os.environ.get("KERNEL_FOO"), os.environ.get("KERNEL_VOLUMES"))\n6*7');
    expect(ran).toMatchObject({ status: 'ok', result: '42', stdout: 'alice None None\n' });
  });

  it('a Jupyter Server with a client certificate from another CA, or none, is refused (403 GP_CLIENT_CERT_REQUIRED) and starts nothing', async () => {
    // Jupyter Server 2.21.1 uses ca_certs only together with client_cert (GatewayClient.load_connection_args):
    // without a client certificate, the gateway's CA is trusted through SSL_CERT_FILE.
    const stranger = await jupyterServer(
      [`--GatewayClient.ca_certs=${certs.ca}`, `--GatewayClient.client_cert=${certs.strangerCert}`, `--GatewayClient.client_key=${certs.strangerKey}`],
      { KERNEL_USERNAME: 'mallory' },
    );
    const anonymous = await jupyterServer([], { KERNEL_USERNAME: 'mallory' }, { SSL_CERT_FILE: certs.ca });
    for (const server of [stranger, anonymous]) {
      const refused = await server.request('/api/kernels', { method: 'POST', body: JSON.stringify({ name: 'k8s_python' }) });
      expect(refused.status, server.log.slice(-3000)).toBe(403);
      expect(server.log).toMatch(/This gateway requires a client certificate signed by its --client-ca \((no client certificate was presented|the client certificate is not signed by it: UNABLE_TO_VERIFY_LEAF_SIGNATURE)\)\.\] GP_CLIENT_CERT_REQUIRED/);
    }
    expect((await gw('GET', '/api/kernels')).body.map((k: { id: string }) => k.id)).toEqual([aliceKernel]);
  });

  it('a KERNEL_VOLUMES naming a host path is still refused with 403 naming it', async () => {
    const hostPath = JSON.stringify([{ name: 'root', hostPath: { path: '/' } }]);
    const refused = await gw('POST', '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: 'eve', KERNEL_VOLUMES: hostPath } });
    expect(refused).toMatchObject({ status: 403, body: { code: 'GP_ENV_NOT_ALLOWED', details: { refused: ['KERNEL_VOLUMES'] } } });
  });

  it('--max-kernels-per-user=1 / --max-kernels=3: a burst of concurrent launches cannot overshoot; restarts do not count', async () => {
    const launch = (user: string) => gw('POST', '/api/kernels', { name: 'k8s_python', env: { KERNEL_USERNAME: user } });
    // alice has 1 kernel. 4 concurrent launches for Bob: one passes, three are refused by the per-user limit.
    const burst = await Promise.all(Array.from({ length: 4 }, () => launch('Bob')));
    expect(burst.map((r) => r.status).sort()).toEqual([201, 403, 403, 403]);
    for (const r of burst.filter((r) => r.status === 403)) {
      expect(r.body).toMatchObject({ code: 'GP_KERNEL_LIMIT_REACHED', details: { limit: 'max_kernels_per_user', option: '--max-kernels-per-user', max: 1, user: 'Bob' } });
      expect(r.body.message).toContain('--max-kernels-per-user=1');
    }
    // bob (another case of the same name) is the same user.
    expect(await launch('bob')).toMatchObject({ status: 403, body: { details: { limit: 'max_kernels_per_user' } } });
    // 4 concurrent launches of 4 new users with one place left: one passes, three are refused by the total.
    const total = await Promise.all(['carol', 'dave', 'erin', 'frank'].map(launch));
    expect(total.map((r) => r.status).sort()).toEqual([201, 403, 403, 403]);
    for (const r of total.filter((r) => r.status === 403)) {
      expect(r.body).toMatchObject({ code: 'GP_KERNEL_LIMIT_REACHED', details: { limit: 'max_kernels', option: '--max-kernels', max: 3 } });
    }
    expect((await gw('GET', '/api/kernels')).body).toHaveLength(3);
    // At the limit, a restart is not a new kernel.
    expect((await gw('POST', `/api/kernels/${aliceKernel}/restart`)).status).toBe(200);
    // A kernel shut down frees its place.
    const bob = burst.find((r) => r.status === 201)!.body.id as string;
    expect((await gw('DELETE', `/api/kernels/${bob}`)).status).toBe(204);
    expect((await launch('grace')).status).toBe(201);
  });
});
