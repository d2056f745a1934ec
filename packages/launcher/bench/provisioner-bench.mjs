#!/usr/bin/env node
// The provisioner on the testkit's real control plane (started here, stopped at the end):
//   1. launch-to-ready of a k8s_python kernel through KubernetesProvisioner (in-process launcher, gp's
//      bootstrap-kernel.sh with the venv's ipykernel on the process node), split into phases from the
//      progress events, and the Kubernetes API requests one launch makes;
//   2. Kubernetes API requests while K kernels sit idle and the host polls each one every 3 s (as
//      jupyter_client's KernelRestarter does);
//   3. C concurrent launches: successes, p50/p95 launch time, wall time.
// API requests are counted by wrapping node's http(s).request, through which both gp's REST client and the
// watch transport go; a watch counts once per (re)connection.
// Prints markdown tables on stdout (progress on stderr).
// Usage: node bench/provisioner-bench.mjs   (needs `pnpm build` of @gp/launcher and @gp/testkit first;
//        `pnpm bench` does it). Env: BENCH_RUNS (5), BENCH_IDLE_KERNELS (5), BENCH_IDLE_SECONDS (60),
//        BENCH_CONCURRENT (50), BENCH_CONCURRENT_KERNEL (light | ipykernel, default light).
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const launcherDist = join(pkgDir, 'dist', 'index.js');
const testkitDist = join(pkgDir, '..', 'testkit', 'dist', 'index.js');
const coreDist = join(pkgDir, '..', 'core', 'dist', 'index.js');
for (const f of [launcherDist, testkitDist, coreDist]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; run 'pnpm build' (or 'pnpm --filter @gp/launcher... build') first.`);
    process.exit(1);
  }
}
const { KubernetesProvisioner, WatchHub } = await import(launcherDist);
const { startCluster, testPython, testPythonBin, repoRoot, JupyterKernelClient } = await import(testkitDist);
const { ResponseListener } = await import(coreDist);

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_KERNELS = Number(process.env.BENCH_IDLE_KERNELS ?? 5);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 50);
const CONCURRENT_KERNEL = process.env.BENCH_CONCURRENT_KERNEL ?? 'light';
const POLL_EVERY_MS = 3000;
const progressLine = (line) => process.stderr.write(`[bench] ${line}\n`);

// ---------------------------------------------------------------------------------------- request counting

/** Every request made through http(s).request while `counting` is on: method, path, whether it is a watch. */
const requests = [];
let counting = false;
for (const mod of [http, https]) {
  const original = mod.request;
  mod.request = function countedRequest(...args) {
    if (counting) {
      const url = args[0] instanceof URL ? args[0] : typeof args[0] === 'string' ? new URL(args[0]) : undefined;
      const options = args.find((a) => a && typeof a === 'object' && !(a instanceof URL)) ?? {};
      if (url) {
        requests.push({
          method: options.method ?? 'GET',
          path: url.pathname,
          watch: url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1',
        });
      }
    }
    return original.apply(this, args);
  };
}
// Modules that `import * as https from 'node:https'` (the watch transport) see the wrapper only after this.
syncBuiltinESMExports();
function countRequests() {
  requests.length = 0;
  counting = true;
  return () => {
    counting = false;
    const taken = [...requests];
    requests.length = 0;
    return taken;
  };
}
/** `GET pods 2, POST pods 1` style summary: verb and the last path segment that names a resource. */
function describeRequests(list) {
  const counts = new Map();
  for (const r of list) {
    const segments = r.path.split('/').filter(Boolean);
    const resource = segments.find((s, i) => i > 0 && ['pods', 'namespaces', 'events', 'serviceaccounts', 'rolebindings', 'secrets', 'configmaps', 'services', 'persistentvolumeclaims'].includes(s) && !segments.slice(i + 1).some((t) => ['pods', 'events', 'serviceaccounts', 'rolebindings', 'secrets', 'configmaps', 'services', 'persistentvolumeclaims'].includes(t)));
    const key = `${r.watch ? 'WATCH' : r.method} ${resource ?? r.path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, v]) => `${k} ×${v}`).join(', ');
}

// ---------------------------------------------------------------------------------------------- statistics

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const summary = (values) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? { median: NaN, p95: NaN } : { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95) };
};
const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '—');
const table = (header, rows) =>
  [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

// ------------------------------------------------------------------------------------------------- set-up

const GP_IMAGE = 'gp-bench/kernel-py:1';
const LIGHT_IMAGE = 'gp-bench/light-launcher:1';
progressLine('starting the testkit cluster');
const cluster = await startCluster({ log: progressLine });
let listener;
const provisioners = new Set();
try {
  const path = `${testPythonBin()}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  const launchers = join(repoRoot, 'packages', 'launcher', 'kernel-launchers');
  cluster.registerImage(GP_IMAGE, {
    command: ['bash', join(launchers, 'bootstrap', 'bootstrap-kernel.sh')],
    env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' },
  });
  // The light image: gp's real launcher protocol (ports, connection file, v2 payload, comm port) with `sleep`
  // as the "kernel", so 50 of them fit on two shared cores; ready = connection info received.
  const lightScript = [
    'import os, sys',
    `sys.path.insert(0, ${JSON.stringify(join(launchers, 'shared', 'scripts'))})`,
    'import gp_launcher',
    "sys.exit(gp_launcher.run(os.environ['KERNEL_ID'], os.environ['RESPONSE_ADDRESS'], os.environ['PUBLIC_KEY'],",
    "  os.environ.get('PORT_RANGE', '0..0'), 2, lambda _f: ['sleep', '3600']))",
  ].join('\n');
  cluster.registerImage(LIGHT_IMAGE, { command: [testPython(), '-c', lightScript], env: { PATH: path, PYTHONDONTWRITEBYTECODE: '1' } });

  const namespace = await cluster.createNamespace('bench');
  listener = await ResponseListener.start({ ip: '127.0.0.1', port: 0 });
  const hub = WatchHub.forKubeConfig(cluster.kc);
  const kernelSpec = (image) => ({
    argv: ['node', join(pkgDir, 'dist', 'scripts', 'launch_kubernetes.mjs'), '--kernel-id', '{kernel_id}', '--port-range', '{port_range}',
      '--response-address', '{response_address}', '--public-key', '{public_key}', '--kernel-class-name', 'ipykernel.ipkernel.IPythonKernel'],
    env: {},
    display_name: 'Kubernetes Python',
    language: 'python',
    metadata: { kernel_provisioner: { provisioner_name: 'kubernetes-provisioner', config: { image_name: image, launch_timeout: 300 } } },
  });
  const newProvisioner = (image) => {
    const p = new KubernetesProvisioner({
      kernelId: randomUUID(),
      kernelSpec: kernelSpec(image),
      kubeConfig: cluster.kc,
      hub,
      responseListener: listener,
      hostEnv: { GP_NAMESPACE: namespace },
    });
    provisioners.add(p);
    return p;
  };
  const release = async (p) => {
    await p.kill().catch(() => undefined);
    await p.cleanup().catch(() => undefined);
    provisioners.delete(p);
  };

  /** One launch with phase marks (ms since the request); `kernelInfo`: also connect a client and wait for kernel_info. */
  async function launchOnce(image, kernelInfo) {
    const p = newProvisioner(image);
    const t0 = performance.now();
    const marks = { request: 0 };
    const prepared = await p.preLaunch({ env: { KERNEL_USERNAME: 'bench' } });
    marks.prepared = performance.now() - t0;
    p.onProgress((e) => {
      if (marks[e.type] === undefined) marks[e.type] = performance.now() - t0;
    });
    const info = await p.launch();
    marks.launched = performance.now() - t0;
    let client;
    if (kernelInfo) {
      try {
        client = await JupyterKernelClient.connect(info, { timeoutMs: 120_000 });
      } catch (error) {
        let logs;
        try {
          logs = cluster.podLogs(prepared.namespace, prepared.podName);
        } catch (e) {
          logs = `(no logs: ${e})`;
        }
        progressLine(`   kernel ${prepared.podName} did not answer kernel_info: ${error}\n--- pod output ---\n${logs}\n---`);
        await release(p);
        throw error;
      }
      marks.kernelInfo = performance.now() - t0;
    }
    return { p, marks, client };
  }

  // ------------------------------------------------------------------------------------ 1. launch-to-ready
  progressLine(`1. ${RUNS} sequential launches of a real ipykernel (after one warm-up)`);
  // The first launch in the namespace starts its shared watches (and warms python's caches). That kernel stays
  // up during the runs, as other kernels do on a real host: the hub stops a namespace's watches when its last
  // kernel goes, so without it every sequential launch would be a cold one.
  const stopWarm = countRequests();
  const warm = await launchOnce(GP_IMAGE, true);
  const warmRequests = stopWarm();
  // The response registration alone (a fresh RSA-2048 key pair each, taken from the listener's background pool
  // while it lasts: back to back, the pool of 2 runs dry and later ones wait for a generation), to split preLaunch.
  const registrationTimes = [];
  for (let i = 0; i < Math.max(RUNS, 10); i++) {
    const t = performance.now();
    const registration = await listener.register(randomUUID());
    registrationTimes.push(performance.now() - t);
    registration.cancel();
  }
  const registration = summary(registrationTimes);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const stop = countRequests();
    const run = await launchOnce(GP_IMAGE, true);
    run.requests = stop();
    run.client.close();
    await release(run.p);
    runs.push(run);
    progressLine(`   run ${i + 1}: ${ms(run.marks.kernelInfo)} (${describeRequests(run.requests)})`);
  }
  warm.client.close();
  await release(warm.p);
  const phase = (from, to) => summary(runs.map((r) => r.marks[to] - r.marks[from]));
  const phases = [
    ['preLaunch: resolve config, authorize, names, response registration', phase('request', 'prepared'), 'host'],
    [`  of which the response registration's fresh RSA-2048 key (background pool of 2; ${registrationTimes.length} back to back, alone)`, registration, 'host'],
    ['create the pod (server-side dry run + create)', phase('prepared', 'pod-created'), 'host + API server'],
    ['pod created → scheduled (as seen by the watch)', phase('pod-created', 'scheduled'), 'scheduler'],
    ['scheduled → container started (as seen by the watch)', phase('scheduled', 'started'), 'node'],
    ['started → connection info received (the launcher sends it right after starting ipykernel)', phase('started', 'connection-info-received'), 'pod'],
    ['connection info → ready (decrypt, source check)', phase('connection-info-received', 'ready'), 'host'],
    ['ready → kernel answers kernel_info (ipykernel boot, client connects)', phase('ready', 'kernelInfo'), 'kernel + client'],
    ['**request → kernel_info answered**', phase('request', 'kernelInfo'), ''],
  ];
  const hostSide = summary(runs.map((r) => r.marks.prepared + (r.marks['pod-created'] - r.marks.prepared) + (r.marks.ready - r.marks['connection-info-received'])));
  const perLaunch = summary(runs.map((r) => r.requests.filter((q) => !q.watch).length));
  const watchesPerLaunch = summary(runs.map((r) => r.requests.filter((q) => q.watch).length));

  // --------------------------------------------------------------------------------------- 2. idle kernels
  progressLine(`2. ${IDLE_KERNELS} idle kernels for ${IDLE_SECONDS} s, poll() on each every ${POLL_EVERY_MS / 1000} s`);
  const idle = [];
  for (let i = 0; i < IDLE_KERNELS; i++) idle.push(await launchOnce(GP_IMAGE, true));
  const watchesAtIdleStart = hub.totals();
  const stopIdle = countRequests();
  const idleStart = performance.now();
  let polls = 0;
  let notAlive = 0;
  while (performance.now() - idleStart < IDLE_SECONDS * 1000) {
    for (const k of idle) {
      polls++;
      if (k.p.poll() !== null) notAlive++;
    }
    await new Promise((r) => setTimeout(r, POLL_EVERY_MS));
  }
  const idleMinutes = (performance.now() - idleStart) / 60_000;
  const idleRequests = stopIdle();
  for (const k of idle) {
    k.client.close();
    await release(k.p);
  }
  const idleRest = idleRequests.filter((q) => !q.watch).length;
  const idleWatches = idleRequests.filter((q) => q.watch).length;

  // ------------------------------------------------------------------------------------ 3. concurrent launches
  const concurrentImage = CONCURRENT_KERNEL === 'ipykernel' ? GP_IMAGE : LIGHT_IMAGE;
  progressLine(`3. ${CONCURRENT} concurrent launches (${CONCURRENT_KERNEL})`);
  const stopConcurrent = countRequests();
  const wallStart = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => launchOnce(concurrentImage, CONCURRENT_KERNEL === 'ipykernel')));
  const wall = performance.now() - wallStart;
  const concurrentRequests = stopConcurrent();
  const ok = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failures = settled.filter((s) => s.status === 'rejected').map((s) => `${s.reason?.code ?? ''} ${s.reason?.message ?? s.reason}`.slice(0, 160));
  const readyKey = CONCURRENT_KERNEL === 'ipykernel' ? 'kernelInfo' : 'launched';
  const concurrentTimes = summary(ok.map((r) => r.marks[readyKey]));
  const concurrentHost = summary(ok.map((r) => r.marks.prepared));
  progressLine(`   ${ok.length}/${CONCURRENT} ready in ${ms(wall)}; tearing down`);
  await Promise.all(ok.map(async (r) => {
    r.client?.close();
    await release(r.p);
  }));

  // ---------------------------------------------------------------------------------------------- report
  const [l1] = loadavg();
  console.log(`\n### Provisioner benchmarks (testkit control plane, Kubernetes ${cluster.info?.kubernetesVersion ?? ''}; ${cpus().length} cores, load average ${l1.toFixed(1)} at the end)\n`);
  console.log(`Launch-to-ready of a \`k8s_python\` kernel (KubernetesProvisioner, in-process launcher, real ipykernel), median and p95 of ${RUNS} sequential launches after a warm-up:\n`);
  console.log(table(['phase', 'median', 'p95', 'who'], phases.map(([name, s, who]) => [name, ms(s.median), ms(s.p95), who])));
  console.log(`\nHost-side share (preLaunch + create + connection info → ready): median ${ms(hostSide.median)}, p95 ${ms(hostSide.p95)}.`);
  console.log(`Kubernetes API requests per launch (another kernel keeps the namespace's watches running): ${perLaunch.median} REST requests (median), ${watchesPerLaunch.median} new watch connections; e.g. ${describeRequests(runs.at(-1).requests)} (the server-side dry run and the create).`);
  console.log(`The first launch in a namespace (cold watches): ${warmRequests.filter((q) => !q.watch).length} REST requests and ${warmRequests.filter((q) => q.watch).length} watch connections: ${describeRequests(warmRequests)}.\n`);
  console.log(`API requests while ${IDLE_KERNELS} kernels sat idle for ${(idleMinutes * 60).toFixed(0)} s with poll() on each every ${POLL_EVERY_MS / 1000} s (${polls} polls, ${notAlive} not alive; ${watchesAtIdleStart.activeWatches} shared watches open for the namespace):\n`);
  console.log(table(['what', 'count', 'per idle kernel per minute'], [
    ['REST requests (list/get/...)', String(idleRest), (idleRest / IDLE_KERNELS / idleMinutes).toFixed(2)],
    ['watch (re)connections, shared by all kernels', String(idleWatches), (idleWatches / IDLE_KERNELS / idleMinutes).toFixed(2)],
    ['reference, by its code path: poll() = one list_namespaced_pod', `${Math.round(polls)} (one per poll)`, (60_000 / POLL_EVERY_MS).toFixed(0)],
  ]));
  console.log(`\n${CONCURRENT} concurrent launches (${CONCURRENT_KERNEL === 'ipykernel' ? 'real ipykernel; ready = kernel_info answered' : "light image: gp's Python launcher protocol with `sleep` as the kernel; ready = connection info received and checked"}):\n`);
  console.log(table(['succeeded', 'p50 launch', 'p95 launch', 'wall time', 'p50 / p95 preLaunch', 'API requests (REST / watch)'], [[
    `${ok.length} / ${CONCURRENT}`, ms(concurrentTimes.median), ms(concurrentTimes.p95), ms(wall),
    `${ms(concurrentHost.median)} / ${ms(concurrentHost.p95)}`,
    `${concurrentRequests.filter((q) => !q.watch).length} / ${concurrentRequests.filter((q) => q.watch).length}`,
  ]]));
  if (failures.length > 0) console.log(`\nFailures: ${[...new Set(failures)].join('; ')}`);
} finally {
  await Promise.all([...provisioners].map((p) => p.kill().catch(() => undefined).then(() => p.cleanup().catch(() => undefined))));
  await listener?.close();
  await cluster.stop();
}
