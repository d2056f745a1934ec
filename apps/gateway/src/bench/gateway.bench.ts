/**
 * Gateway benchmark on a testkit cluster of its own (`pnpm --filter @gp/gateway bench`, also run by `pnpm bench`):
 *
 * 1. N kernels started through the gateway's REST + WebSocket API at once (N = 20 and 50; GP_BENCH_KERNELS
 *    overrides, e.g. `GP_BENCH_KERNELS=5`): how many succeed, and p50/p95 of the time from the POST
 *    /api/kernels to the first execute_result of `6*7` on the kernel's WebSocket.
 * 2. The gateway process's memory per kernel: RSS and V8 heap after forced GCs, with all N kernels connected
 *    (WebSockets open) and idle (WebSockets closed), minus the same gateway's figures before the round,
 *    divided by the kernels that started.
 *
 * The kernels are real ipykernel processes (the process node runs pods as local processes), so the numbers
 * depend on the machine's cores and load: the load average is printed with the table.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCluster, testPythonBin, type TestCluster } from '@gp/testkit';
import WebSocket from 'ws';
import { GatewayProcess } from './gateway-child.js';

const KERNEL_IMAGE = 'gp-bench/gateway-kernel-py:1';
const LAUNCH_TIMEOUT_SECONDS = 600;

interface KernelRun {
  ok: boolean;
  /** POST /api/kernels to the first execute_result, in ms. */
  ms: number;
  error?: string;
}

interface RoundResult {
  n: number;
  runs: KernelRun[];
  wallMs: number;
  rssPerKernelConnected: number;
  heapPerKernelConnected: number;
  rssPerKernelIdle: number;
  heapPerKernelIdle: number;
}

/** POST with no client-side timeout (a launch may legitimately take minutes under load). */
function postJson(url: string, token: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = request(url, { method: 'POST', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json', 'Content-Length': payload.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Opens the kernel's channels WebSocket and resolves with it once `6*7` has produced its execute_result. */
function executeOnce(gateway: GatewayProcess, kernelId: string): Promise<WebSocket> {
  const ws = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, {
    headers: { Authorization: `token ${gateway.token}` },
  });
  const msgId = randomUUID();
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    ws.once('close', () => reject(new Error('WebSocket closed before the result')));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { parent_header?: { msg_id?: string }; header: { msg_type: string }; content: { data?: Record<string, string>; ename?: string } };
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.header.msg_type === 'execute_result') {
        if (msg.content.data?.['text/plain'] === '42') resolve(ws);
        else reject(new Error(`unexpected result ${JSON.stringify(msg.content.data)}`));
      } else if (msg.header.msg_type === 'error') reject(new Error(`execute failed: ${msg.content.ename}`));
    });
    ws.once('open', () => {
      ws.send(
        JSON.stringify({
          channel: 'shell',
          header: { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'bench', date: new Date().toISOString(), version: '5.3' },
          parent_header: {},
          metadata: {},
          content: { code: '6*7', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          buffers: [],
        }),
      );
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function kernelPodCount(cluster: TestCluster, namespace: string): Promise<number> {
  return (await cluster.core.listNamespacedPod({ namespace, labelSelector: 'kernel_id' })).items.length;
}

async function round(cluster: TestCluster, n: number, kernelsDir: string, stateDir: string): Promise<RoundResult> {
  const namespace = await cluster.createNamespace(`bench-${n}`);
  const gateway = await GatewayProcess.start(cluster, namespace, kernelsDir, stateDir);
  const sockets: WebSocket[] = [];
  const kernelIds: string[] = [];
  try {
    const before = await gateway.memory();
    const started = performance.now();
    const runs = await Promise.all(
      Array.from({ length: n }, async (_v, i): Promise<KernelRun> => {
        const t0 = performance.now();
        try {
          const res = await postJson(`${gateway.url}/api/kernels`, gateway.token, { name: 'k8s_python', env: { KERNEL_USERNAME: `bench${i}` } });
          if (res.status !== 201) return { ok: false, ms: performance.now() - t0, error: `POST ${res.status}: ${res.body.slice(0, 300)}` };
          const kernelId = (JSON.parse(res.body) as { id: string }).id;
          kernelIds.push(kernelId);
          sockets.push(await executeOnce(gateway, kernelId));
          return { ok: true, ms: performance.now() - t0 };
        } catch (e) {
          return { ok: false, ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const wallMs = performance.now() - started;
    const succeeded = runs.filter((r) => r.ok).length;
    const connected = await gateway.memory();
    for (const ws of sockets) {
      ws.removeAllListeners('close');
      ws.close();
    }
    // Let the gateway see the closes and drop its per-connection state before measuring idle kernels.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const idle = await gateway.memory();
    const per = (after: number, base: number): number => (succeeded > 0 ? (after - base) / succeeded : Number.NaN);
    for (const r of runs.filter((x) => !x.ok).slice(0, 5)) process.stderr.write(`  failure: ${r.error}\n`);
    return {
      n,
      runs,
      wallMs,
      rssPerKernelConnected: per(connected.rss, before.rss),
      heapPerKernelConnected: per(connected.heapUsed, before.heapUsed),
      rssPerKernelIdle: per(idle.rss, before.rss),
      heapPerKernelIdle: per(idle.heapUsed, before.heapUsed),
    };
  } finally {
    const closing = performance.now();
    await gateway.close();
    process.stderr.write(`gateway bench: gateway stopped its ${kernelIds.length} kernels and exited in ${seconds(performance.now() - closing)}\n`);
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && (await kernelPodCount(cluster, namespace)) > 0) await new Promise((r) => setTimeout(r, 1000));
  }
}

const seconds = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);
const mib = (bytes: number): string => (Number.isNaN(bytes) ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(2)} MiB`);
const kib = (bytes: number): string => (Number.isNaN(bytes) ? 'n/a' : `${(bytes / 1024).toFixed(0)} KiB`);

function table(results: RoundResult[]): string {
  const lines = [
    '| kernels started at once | succeeded | p50 POST → first result | p95 | slowest | all done | gateway RSS / kernel (connected) | heap / kernel (connected) | RSS / kernel (idle) | heap / kernel (idle) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const ok = r.runs.filter((x) => x.ok).map((x) => x.ms).sort((a, b) => a - b);
    lines.push(
      `| ${r.n} | ${ok.length}/${r.n} | ${seconds(percentile(ok, 50))} | ${seconds(percentile(ok, 95))} | ${seconds(ok.at(-1) ?? Number.NaN)} | ${seconds(r.wallMs)} | ${mib(r.rssPerKernelConnected)} | ${kib(r.heapPerKernelConnected)} | ${mib(r.rssPerKernelIdle)} | ${kib(r.heapPerKernelIdle)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const counts = (process.env.GP_BENCH_KERNELS ?? '20,50').split(',').map((s) => Number.parseInt(s.trim(), 10)).filter((x) => x > 0);
  const work = mkdtempSync(join(tmpdir(), 'gp-gateway-bench-'));
  // Enough node capacity that scheduling never limits the rounds (kernel pods request nothing by default).
  const cluster = await startCluster({ nodeCapacity: { cpu: '64', memory: '128Gi', pods: '250' }, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    cluster.registerImage(KERNEL_IMAGE, {
      command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
      env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
    });
    execFileSync(
      process.execPath,
      [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(work, 'prefix'), '--image-name', KERNEL_IMAGE, '--launch-timeout', String(LAUNCH_TIMEOUT_SECONDS)],
      { stdio: 'pipe' },
    );
    const kernelsDir = join(work, 'prefix', 'share', 'jupyter', 'kernels');
    const results: RoundResult[] = [];
    for (const n of counts) {
      const load = loadavg()[0]!.toFixed(1);
      process.stderr.write(`gateway bench: starting ${n} kernels at once (load average ${load})\n`);
      results.push(await round(cluster, n, kernelsDir, work));
    }
    process.stdout.write(`\n## Gateway: concurrent kernel starts and memory per kernel\n\n`);
    process.stdout.write(`${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end; real ipykernel pods on the testkit process node.\n\n`);
    process.stdout.write(`${table(results)}\n`);
  } finally {
    const stopping = performance.now();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
    process.stderr.write(`gateway bench: cluster stopped in ${seconds(performance.now() - stopping)}\n`);
  }
}

await main();
// Client keep-alive sockets and the cluster client's agents would keep the process up for a while.
process.exit(0);
