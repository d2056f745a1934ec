/**
 * Threat model, P (warm pools): hostile claims of a gateway's pooled pods — a wrong token, a replayed claim (a
 * valid MAC for another nonce), a claim of a pod already claimed — are refused, and the pod is not harmed: it
 * keeps waiting and then serves a kernel through the gateway, or (claimed) keeps serving its kernel.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimMac, probeClaimPort, sendClaim } from '@gp/launcher';
import { repoRoot, testPythonBin, useCluster } from '@gp/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type GatewayHandle } from '../gateway.js';

const IMAGE = 'gp-test/threat-pool-kernel-py:1';
const cluster = useCluster();
const dir = mkdtempSync(join(tmpdir(), 'gp-threat-pool-'));
const token = randomUUID();
let ns: string;
let gateway: GatewayHandle;

interface Waiting {
  name: string;
  port: number;
  secret: string;
}

async function waitingPods(): Promise<Waiting[]> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'gp-pool-state=waiting' });
  return list.items
    .filter((p) => !p.metadata?.deletionTimestamp)
    .map((p) => ({ name: p.metadata!.name!, port: Number(p.spec!.containers[0]!.env!.find((e) => e.name === 'GP_POOL_CLAIM_PORT')!.value), secret: `${p.metadata!.name}-claim` }));
}

async function tokenOf(w: Waiting): Promise<string> {
  const s = await cluster.core.readNamespacedSecret({ namespace: ns, name: w.secret });
  return Buffer.from(s.data!.token!, 'base64').toString('utf8');
}

/** The pod's greeting, then `claim` sent and the pod's answer. */
function rawClaim(port: number, claim: (nonce: string) => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let sent = false;
    const s = connect({ host: '127.0.0.1', port });
    s.on('data', (c: Buffer) => {
      buf += c.toString();
      if (!sent && buf.includes('\n')) {
        sent = true;
        const nonce = (JSON.parse(buf.slice(0, buf.indexOf('\n'))) as { nonce: string }).nonce;
        buf = '';
        s.end(claim(nonce));
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(buf));
  });
}

async function post(): Promise<string> {
  const res = await fetch(`${gateway.url}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}` }, body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'alice' } }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function podOf(kernelId: string): Promise<{ name: string; state?: string }> {
  const list = await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `kernel_id=${kernelId}` });
  const p = list.items[0]!;
  return { name: p.metadata!.name!, ...(p.metadata?.labels?.['gp-pool-state'] ? { state: p.metadata.labels['gp-pool-state'] } : {}) };
}

beforeAll(async () => {
  cluster.registerImage(IMAGE, {
    command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1', GP_KERNEL_SHUTDOWN_GRACE: '1' },
  });
  execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', IMAGE], { stdio: 'pipe' });
  ns = await cluster.createNamespace('threatpool');
  gateway = await startGateway({
    ip: '127.0.0.1',
    port: 0,
    token,
    kernelspec_dirs: [join(dir, 'prefix', 'share', 'jupyter', 'kernels')],
    state_file: '',
    orphan_namespaces: [ns],
    kernel_pools: [{ kernelspec: 'k8s_python', size: 1, user: 'alice' }],
    log_level: 'warn',
    ws_ping_interval: 0,
    kubeConfig: cluster.kc,
    hostEnv: { GP_NAMESPACE: ns, PATH: process.env.PATH },
    responseListener: { ip: '127.0.0.1', port: 0 },
  });
  await cluster.waitFor(async () => (await waitingPods()).length === 1 && (await probeClaimPort({ host: '127.0.0.1', port: (await waitingPods())[0]!.port })), { timeoutMs: 120_000, description: 'a pooled pod waiting' });
}, 180_000);

afterAll(async () => {
  await gateway?.close({ stopKernels: true }).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('P — hostile claims of pooled pods', () => {
  it('P1/P2: a wrong token and a replayed claim are refused; the pod keeps waiting and then serves a kernel', async () => {
    const [w] = await waitingPods();
    const target = { host: '127.0.0.1', port: w!.port };
    const body = { kernel_id: randomUUID(), response_address: '127.0.0.1:1', public_key: 'cG9vbA==', response_versions: '2,1' };
    await expect(sendClaim(target, randomBytes(32).toString('hex'), body)).rejects.toThrow(/authentication failed/);
    // A replay: a claim with a valid MAC (the real token), but for a nonce of an earlier exchange.
    const real = await tokenOf(w!);
    const text = JSON.stringify(body);
    const captured = JSON.stringify({ body: text, mac: claimMac(real, randomBytes(16).toString('hex'), text) });
    expect(await rawClaim(w!.port, () => captured)).toContain('authentication failed');
    // Garbage and an oversized claim.
    expect(await rawClaim(w!.port, () => 'x'.repeat(10_000))).toMatch(/claim too large|malformed/);
    expect(await rawClaim(w!.port, () => '{"body": 1}')).toContain('malformed claim');
    await expect(probeClaimPort(target)).resolves.toBe(true);
    // Not harmed: the same pod is the one the next kernel gets.
    const kernelId = await post();
    expect(await podOf(kernelId)).toEqual({ name: w!.name, state: 'claimed' });
  }, 180_000);

  it('P3: a claim of a claimed pod (even with its token) is refused; its kernel serves on', async () => {
    await cluster.waitFor(async () => (await waitingPods()).length === 1, { timeoutMs: 120_000, description: 'the pool refilled' });
    const [w] = await waitingPods();
    await cluster.waitFor(() => probeClaimPort({ host: '127.0.0.1', port: w!.port }), { timeoutMs: 120_000, description: 'the new pod waiting' });
    const real = await tokenOf(w!);
    const kernelId = await post();
    expect((await podOf(kernelId)).name).toBe(w!.name);
    await expect(cluster.core.readNamespacedSecret({ namespace: ns, name: w!.secret })).rejects.toMatchObject({ code: 404 });
    await expect(sendClaim({ host: '127.0.0.1', port: w!.port }, real, { kernel_id: randomUUID(), response_address: '127.0.0.1:1', public_key: 'cG9vbA==', response_versions: '2,1' })).rejects.toThrow(/Could not claim/);
    const res = await fetch(`${gateway.url}/api/kernels/${kernelId}`, { headers: { Authorization: `token ${token}` } });
    expect(res.status).toBe(200);
    const interrupt = await fetch(`${gateway.url}/api/kernels/${kernelId}/interrupt`, { method: 'POST', headers: { Authorization: `token ${token}` } });
    expect(interrupt.status).toBe(204);
  }, 180_000);
});
