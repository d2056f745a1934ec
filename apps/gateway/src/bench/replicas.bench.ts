/**
 * Replicated gateway benchmark (`pnpm --filter @gp/gateway bench:replicas`, also run by `pnpm bench`), on a
 * testkit cluster of its own: three `gp-gateway --kernel-store kubernetes` processes.
 *
 * 1. Kubernetes API requests per idle kernel per minute: the three replicas' request counters
 *    (gp_gateway_kubernetes_requests_total, every verb) over an idle window with no kernel, then with K idle
 *    kernels (adopted by every replica); (with - without) / K, per minute. The lease renewals are the fixed cost.
 * 2. Time from a replica's death (SIGKILL) to each of its kernels running a cell again through a survivor.
 * GP_BENCH_REPLICA_KERNELS (default 5) and GP_BENCH_IDLE_SECONDS (default 30) size it.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCluster, testPythonBin } from '@gp/testkit';
import { GatewayProcess } from '../threat-model/gateway-process.js';
import { KernelSocket } from '../replica/kernel-socket.test-helper.js';

const KERNEL_IMAGE = 'gp-bench/replicas-kernel-py:1';
const token = randomUUID();

async function totalRequests(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers: { Authorization: `token ${token}` } })).text();
  let sum = 0;
  for (const m of text.matchAll(/^gp_gateway_kubernetes_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) sum += Number(m[1]);
  return sum;
}

async function allRequests(urls: string[]): Promise<number> {
  return (await Promise.all(urls.map(totalRequests))).reduce((a, b) => a + b, 0);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const k = Number(process.env.GP_BENCH_REPLICA_KERNELS ?? 5);
  const idleSeconds = Number(process.env.GP_BENCH_IDLE_SECONDS ?? 30);
  const work = mkdtempSync(join(tmpdir(), 'gp-replicas-bench-'));
  const cluster = await startCluster({ installSparkCrd: false, log: (line) => process.stderr.write(`${line}\n`) });
  const replicas: GatewayProcess[] = [];
  try {
    cluster.registerImage(KERNEL_IMAGE, {
      command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
      env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
    });
    execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(work, 'prefix'), '--image-name', KERNEL_IMAGE], { stdio: 'pipe' });
    const ns = await cluster.createNamespace('bench-replicas');
    for (let i = 0; i < 3; i++) {
      replicas.push(
        GatewayProcess.spawn({
          kubeconfig: cluster.info.kubeconfigPath,
          env: { GP_NAMESPACE: ns, GP_GATEWAY_KERNEL_STORE: 'kubernetes', GP_GATEWAY_TOKEN: token, GP_GATEWAY_KERNELSPEC_DIRS: join(work, 'prefix', 'share', 'jupyter', 'kernels'), GP_GATEWAY_ORPHAN_NAMESPACES: ns },
        }),
      );
    }
    const urls = await Promise.all(replicas.map((r) => r.url()));
    await sleep(5000);
    const base0 = await allRequests(urls);
    await sleep(idleSeconds * 1000);
    const base = (await allRequests(urls)) - base0;

    const ids: string[] = [];
    for (let i = 0; i < k; i++) {
      // Round robin over the replicas, as a Service would.
      const res = await fetch(`${urls[i % 3]}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: 'bench' } }) });
      if (res.status !== 201) throw new Error(`launch failed: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const url of urls) await fetch(`${url}/api/kernels`, { headers: { Authorization: `token ${token}` } }); // every replica adopts all
    await sleep(5000);
    const idle0 = await allRequests(urls);
    await sleep(idleSeconds * 1000);
    const idle = (await allRequests(urls)) - idle0;
    const perMinute = (n: number): number => (n * 60) / idleSeconds;
    const perKernel = (perMinute(idle) - perMinute(base)) / k;

    // Kill replica 0 (it launched kernels 0, 3, ...), then time until every kernel runs a cell through replica 1.
    const killedAt = performance.now();
    replicas[0]!.proc.kill('SIGKILL');
    const served: number[] = [];
    await Promise.all(
      ids.map(async (id) => {
        for (;;) {
          const socket = await KernelSocket.open(`${urls[1]!.replace('http', 'ws')}/api/kernels/${id}/channels?token=${token}&session_id=${randomUUID()}`).catch(() => undefined);
          const run = await socket?.execute('6*7').catch(() => undefined);
          socket?.close();
          if (run?.result === '42') break;
          await sleep(100);
        }
        served.push(performance.now() - killedAt);
      }),
    );
    for (const id of ids) await fetch(`${urls[1]}/api/kernels/${id}`, { method: 'DELETE', headers: { Authorization: `token ${token}` } });

    process.stdout.write(`\n## Gateway replicas: API requests per idle kernel, failover\n\n`);
    process.stdout.write(`${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')}; 3 replicas, ${k} idle kernels, ${idleSeconds} s windows.\n\n`);
    process.stdout.write('| figure | value |\n|---|---|\n');
    process.stdout.write(`| API requests/min, 3 replicas, no kernel (leases) | ${perMinute(base).toFixed(1)} |\n`);
    process.stdout.write(`| API requests/min, 3 replicas, ${k} idle kernels | ${perMinute(idle).toFixed(1)} |\n`);
    process.stdout.write(`| API requests per idle kernel per minute | ${perKernel.toFixed(2)} |\n`);
    process.stdout.write(`| replica SIGKILLed → all ${k} kernels run a cell through another replica, max | ${(Math.max(...served) / 1000).toFixed(2)} s |\n`);
  } finally {
    for (const r of replicas) await r.stop();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
