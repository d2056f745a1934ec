/**
 * Warm-pool benchmark on a testkit cluster of its own (`pnpm --filter @gp/gateway bench:pool`, also in `pnpm bench`):
 *
 * 1. POST /api/kernels → first execute_result of `6*7` on the kernel's WebSocket, one kernel at a time, warm
 *    (a request of the pool's profile, with 5 pods waiting) and cold (another user: no pool) alternating on the
 *    same gateway and run: p50 / p95 of each (GP_BENCH_POOL_ROUNDS, default 10 of each).
 * 2. A burst of 20 concurrent POSTs (GP_BENCH_POOL_BURST): how many succeed, how many were served warm, and the
 *    pool's refill time: from the last response of the burst to 5 pods waiting again.
 *
 * Real ipykernel processes (the process node runs pods as local processes); the load average is printed.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCluster, testPythonBin } from '@gp/testkit';
import WebSocket from 'ws';
import { startGateway, type GatewayHandle } from '../gateway.js';

const IMAGE = 'gp-bench/pool-kernel-py:1';
const POOL = 5;
const ROUNDS = Number(process.env.GP_BENCH_POOL_ROUNDS ?? 10);
const BURST = Number(process.env.GP_BENCH_POOL_BURST ?? 20);

function firstResult(gw: GatewayHandle, token: string, kernelId: string): Promise<void> {
  const ws = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?token=${token}`);
  const msgId = randomUUID();
  return new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.header.msg_type === 'execute_result') resolve();
      else if (msg.header.msg_type === 'error') reject(new Error(msg.content.ename));
    });
    ws.once('open', () => {
      const header = { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'bench', date: new Date().toISOString(), version: '5.3' };
      ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code: '6*7', silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true }, buffers: [] }));
    });
  }).finally(() => ws.close());
}

async function startKernel(gw: GatewayHandle, token: string, user: string): Promise<{ id: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${gw.url}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${token}` }, body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: user } }) });
  if (res.status !== 201) throw new Error(`POST answered ${res.status}: ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  await firstResult(gw, token, id);
  return { id, ms: performance.now() - t0 };
}

async function stop(gw: GatewayHandle, token: string, id: string): Promise<void> {
  await fetch(`${gw.url}/api/kernels/${id}`, { method: 'DELETE', headers: { Authorization: `token ${token}` } });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

function poolWaiting(gw: GatewayHandle): number {
  const m = /gp_gateway_pool_pods\{pool="k8s_python\.alice",state="waiting"\} (\d+)/.exec(gw.metrics.expose());
  return m ? Number(m[1]) : 0;
}

async function untilWaiting(gw: GatewayHandle, n: number, timeoutMs = 300_000): Promise<number> {
  const t0 = performance.now();
  while (poolWaiting(gw) < n) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`the pool did not reach ${n} waiting pods within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gp-pool-bench-'));
  const cluster = await startCluster({ nodeCapacity: { cpu: '64', memory: '128Gi', pods: '250' }, log: (line) => process.stderr.write(`${line}\n`) });
  const token = randomUUID();
  let gw: GatewayHandle | undefined;
  try {
    cluster.registerImage(IMAGE, {
      command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
      env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1', GP_KERNEL_SHUTDOWN_GRACE: '1' },
    });
    execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(dir, 'prefix'), '--image-name', IMAGE], { stdio: 'pipe' });
    gw = await startGateway({
      ip: '127.0.0.1',
      port: 0,
      token,
      kernelspec_dirs: [join(dir, 'prefix', 'share', 'jupyter', 'kernels')],
      state_file: '',
      kernel_pools: [{ kernelspec: 'k8s_python', size: POOL, user: 'alice' }],
      log_level: 'error',
      ws_ping_interval: 0,
      kubeConfig: cluster.kc,
      hostEnv: { GP_NAMESPACE: 'default', PATH: process.env.PATH },
      responseListener: { ip: '127.0.0.1', port: 0 },
    });
    await untilWaiting(gw, POOL);
    const warm: number[] = [];
    const cold: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await untilWaiting(gw, POOL);
      const w = await startKernel(gw, token, 'alice');
      warm.push(w.ms);
      await stop(gw, token, w.id);
      const c = await startKernel(gw, token, 'bob');
      cold.push(c.ms);
      await stop(gw, token, c.id);
    }
    await untilWaiting(gw, POOL);
    const burstT0 = performance.now();
    // Refill: from the moment the burst drained the pool (0 waiting) until it has POOL waiting again.
    let drainedAt: number | undefined;
    let refilledAt: number | undefined;
    const watch = setInterval(() => {
      const n = poolWaiting(gw!);
      if (drainedAt === undefined && n === 0) drainedAt = performance.now();
      else if (drainedAt !== undefined && refilledAt === undefined && n >= POOL) refilledAt = performance.now();
    }, 10);
    const burst = await Promise.allSettled(Array.from({ length: BURST }, () => startKernel(gw!, token, 'alice')));
    const burstMs = performance.now() - burstT0;
    await untilWaiting(gw, POOL);
    await new Promise((r) => setTimeout(r, 50));
    clearInterval(watch);
    const refillMs = drainedAt !== undefined && refilledAt !== undefined ? refilledAt - drainedAt : NaN;
    const claimed = /gp_gateway_pool_claims_total\{pool="k8s_python\.alice",result="claimed"\} (\d+)/.exec(gw.metrics.expose())?.[1];
    for (const r of burst) if (r.status === 'fulfilled') await stop(gw, token, r.value.id);
    const ok = burst.filter((r) => r.status === 'fulfilled').length;
    const row = (name: string, xs: number[]) => `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(0)} | ${pct(xs, 95).toFixed(0)} |`;
    process.stdout.write(
      [
        `\nWarm pool benchmark (${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')})\n`,
        '| POST → first execute_result | n | p50 ms | p95 ms |',
        '|---|---|---|---|',
        row(`warm (pool of ${POOL})`, warm),
        row('cold (same run, another user)', cold),
        '',
        `| burst of ${BURST} | succeeded | claims from the pool so far | burst wall ms | refill ms (0 waiting → ${POOL} waiting) |`,
        '|---|---|---|---|---|',
        `| ${BURST} concurrent POSTs | ${ok}/${BURST} | ${claimed ?? '?'} (${ROUNDS} before the burst) | ${burstMs.toFixed(0)} | ${refillMs.toFixed(0)} |`,
        '',
      ].join('\n'),
    );
  } finally {
    await gw?.close({ stopKernels: true }).catch(() => undefined);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
