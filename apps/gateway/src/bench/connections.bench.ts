/**
 * WebSocket connections benchmark on a testkit cluster of its own (`pnpm --filter @gp/gateway bench`, also run
 * by `pnpm bench`; alone: `pnpm --filter @gp/gateway bench:connections`):
 *
 * K kernels (10; GP_BENCH_WS_KERNELS) and C WebSockets spread over them (1000; GP_BENCH_WS_CONNECTIONS), the
 * gateway in its own process. Before, with all C open, and after they all closed: the gateway's open file
 * descriptors, RSS, V8 heap and external memory (after two forced GCs), and the latency of `GET /api` (p50/p95 of sequential requests).
 * While they are open, one execute per kernel must reach every WebSocket of that kernel (iopub fan-out) and
 * its reply only its sender, so "open" means served, not just connected.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startCluster, testPythonBin } from '@gp/testkit';
import WebSocket from 'ws';
import { GatewayProcess } from './gateway-child.js';

const KERNEL_IMAGE = 'gp-bench/ws-kernel-py:1';
const API_SAMPLES = 200;

interface Snapshot {
  fds: number;
  rss: number;
  heap: number;
  /** Memory outside the V8 heap held by JavaScript objects (Buffers, the sockets' native side). */
  external: number;
  p50: number;
  p95: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function snapshot(gateway: GatewayProcess): Promise<Snapshot> {
  const times: number[] = [];
  for (let i = 0; i < API_SAMPLES; i++) {
    const t0 = performance.now();
    const res = await fetch(`${gateway.url}/api`, { headers: { Authorization: `token ${gateway.token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`GET /api answered ${res.status}`);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const memory = await gateway.memory();
  return { fds: readdirSync(`/proc/${gateway.pid}/fd`).length, rss: memory.rss, heap: memory.heapUsed, external: memory.external, p50: percentile(times, 50), p95: percentile(times, 95) };
}

/** A WebSocket that counts, per parent msg_id, what it received. */
class Client {
  readonly seen = new Map<string, Set<string>>();
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as { header: { msg_type: string }; parent_header?: { msg_id?: string } };
      const parent = msg.parent_header?.msg_id;
      if (!parent) return;
      if (!this.seen.has(parent)) this.seen.set(parent, new Set());
      this.seen.get(parent)!.add(msg.header.msg_type);
    });
  }

  static open(url: string): Promise<Client> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Client(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`WebSocket refused: ${res.statusCode}`)));
    });
  }

  execute(code: string): string {
    const msgId = randomUUID();
    const header = { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'bench', date: new Date().toISOString(), version: '5.3' };
    this.ws.send(JSON.stringify({ channel: 'shell', header, parent_header: {}, metadata: {}, content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false }, buffers: [] }));
    return msgId;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function main(): Promise<void> {
  const kernelCount = Number.parseInt(process.env.GP_BENCH_WS_KERNELS ?? '10', 10);
  const connections = Number.parseInt(process.env.GP_BENCH_WS_CONNECTIONS ?? '1000', 10);
  const work = mkdtempSync(join(tmpdir(), 'gp-ws-bench-'));
  const cluster = await startCluster({ nodeCapacity: { cpu: '64', memory: '128Gi', pods: '250' }, log: (line) => process.stderr.write(`${line}\n`) });
  let gateway: GatewayProcess | undefined;
  try {
    cluster.registerImage(KERNEL_IMAGE, {
      command: ['bash', join(repoRoot, 'packages', 'launcher', 'kernel-launchers', 'bootstrap', 'bootstrap-kernel.sh')],
      env: { PATH: `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`, PYTHONDONTWRITEBYTECODE: '1' },
    });
    execFileSync(process.execPath, [join(repoRoot, 'packages', 'spec-cli', 'dist', 'bin', 'k8s-spec.js'), 'install', '--prefix', join(work, 'prefix'), '--image-name', KERNEL_IMAGE], { stdio: 'pipe' });
    const namespace = await cluster.createNamespace('ws-bench');
    gateway = await GatewayProcess.start(cluster, namespace, join(work, 'prefix', 'share', 'jupyter', 'kernels'), work, { ws_ping_interval: 0 });
    const g = gateway;
    process.stderr.write(`ws bench: starting ${kernelCount} kernels\n`);
    const kernelIds = await Promise.all(
      Array.from({ length: kernelCount }, async (_v, i) => {
        const res = await fetch(`${g.url}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${g.token}` }, body: JSON.stringify({ name: 'k8s_python', env: { KERNEL_USERNAME: `ws${i}` } }) });
        const body = (await res.json()) as { id: string };
        if (res.status !== 201) throw new Error(`POST /api/kernels answered ${res.status}: ${JSON.stringify(body)}`);
        return body.id;
      }),
    );
    const before = await snapshot(g);

    process.stderr.write(`ws bench: opening ${connections} WebSockets (load average ${loadavg()[0]!.toFixed(1)})\n`);
    const t0 = performance.now();
    const clients: Client[][] = kernelIds.map(() => []);
    for (let i = 0; i < connections; i += 50) {
      const batch = Array.from({ length: Math.min(50, connections - i) }, (_v, j) => (i + j) % kernelCount);
      const opened = await Promise.all(batch.map((k) => Client.open(`${g.url.replace(/^http/, 'ws')}/api/kernels/${kernelIds[k]}/channels?token=${g.token}`)));
      opened.forEach((c, j) => clients[batch[j]!]!.push(c));
    }
    const openMs = performance.now() - t0;
    const executes = clients.map((group) => group[0]!.execute('print("hello", flush=True)'));
    await until('every WebSocket to see its kernel\'s output and each sender its reply', () =>
      clients.every((group, k) => group.every((c) => c.seen.get(executes[k]!)?.has('stream')) && group[0]!.seen.get(executes[k]!)?.has('execute_reply')),
    );
    const misrouted = clients.flatMap((group, k) => group.slice(1).filter((c) => c.seen.get(executes[k]!)?.has('execute_reply'))).length;
    const open = await snapshot(g);

    await Promise.all(clients.flat().map((c) => c.close()));
    await until('the gateway to count no connections', async () => {
      const res = await fetch(`${g.url}/api/kernels`, { headers: { Authorization: `token ${g.token}` } });
      return ((await res.json()) as Array<{ connections: number }>).every((k) => k.connections === 0);
    });
    await sleep(1000);
    const after = await snapshot(g);

    const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    const ms = (x: number): string => `${x.toFixed(1)} ms`;
    const row = (label: string, s: Snapshot): string => `| ${label} | ${s.fds} | ${mib(s.rss)} | ${mib(s.heap)} | ${mib(s.external)} | ${ms(s.p50)} | ${ms(s.p95)} |`;
    process.stdout.write(`\n## Gateway: ${connections} WebSockets across ${kernelCount} kernels\n\n`);
    process.stdout.write(`${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} at the end; real ipykernel pods on the testkit process node; gateway in its own process.\n\n`);
    process.stdout.write('| gateway | open fds | RSS | V8 heap used | external | `GET /api` p50 | p95 |\n|---|---:|---:|---:|---:|---:|---:|\n');
    process.stdout.write(`${row(`${kernelCount} kernels, no WebSocket`, before)}\n${row(`${connections} WebSockets open`, open)}\n${row('all closed again', after)}\n\n`);
    const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
    const signed = (x: number, f: (n: number) => string): string => `${x >= 0 ? '+' : ''}${f(x)}`;
    process.stdout.write(`Per connection: ${((open.fds - before.fds) / connections).toFixed(2)} fds, ${kib((open.heap - before.heap) / connections)} heap, ${kib((open.external - before.external) / connections)} external, ${kib((open.rss - before.rss) / connections)} RSS. `);
    process.stdout.write(`After close, against before: ${signed(after.fds - before.fds, String)} fds, ${signed(after.heap - before.heap, mib)} heap, ${signed(after.rss - before.rss, mib)} RSS. `);
    process.stdout.write(`Opening all took ${(openMs / 1000).toFixed(1)} s (batches of 50); every WebSocket saw its kernel's output, ${misrouted} got another's reply.\n`);
  } finally {
    await gateway?.close();
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
