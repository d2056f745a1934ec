// The cost of a scrape and of counting a relayed message: `apps/gateway/node_modules/.bin/tsx apps/gateway/src/metrics/scrape-cost.mts` (README, Metrics).
import { GatewayMetrics } from './gateway-metrics.js';
const kernels = Array.from({ length: 1000 }, (_, i) => ({ kernelspec: `spec${i % 10}`, namespace: `ns${i % 10}` }));
const m = new GatewayMetrics({ kernels: () => kernels, pendingKernels: () => 0, webSockets: () => 4096, watchReconnects: () => 0, api: () => ({ reachable: true, outages: 0 }) });
for (let i = 0; i < 100_000; i++) { m.relayed(['shell', 'iopub', 'control', 'stdin'][i % 4]!, i % 2 ? 'to_client' : 'to_kernel'); }
for (let i = 0; i < 1000; i++) m.launch(`spec${i % 10}`, i % 7 ? 'success' : 'failure', i % 7 ? '' : 'GP_KERNEL_IMAGE_PULL_FAILED', i % 60);
const n = 1000; const t0 = performance.now();
let len = 0;
for (let i = 0; i < n; i++) len = m.expose().length;
const t1 = performance.now();
const r0 = performance.now(); for (let i = 0; i < 1_000_000; i++) m.relayed('iopub', 'to_client'); const r1 = performance.now();
console.log(`expose(): ${((t1 - t0) / n).toFixed(3)} ms per scrape, ${len} bytes; relayed(): ${((r1 - r0) * 1000 / 1e6).toFixed(3)} us per call`);
