import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTOMATIC_NAMESPACE, GatewayMetrics, METRICS, metricsTable } from './gateway-metrics.js';
import { parseExposition, sampleValue } from './prometheus-parser.js';

const README = join(import.meta.dirname, '..', '..', 'README.md');

describe('the gateway metrics', () => {
  it('the README table is the one generated from the metric definitions', () => {
    expect(readFileSync(README, 'utf8')).toContain(`${metricsTable()}\n`);
  });

  it('exposes every defined metric (HELP and TYPE) and aggregates kernels by kernelspec and namespace, parsed by prometheus_client', () => {
    const kernels = [
      { kernelspec: 'k8s_python', namespace: 'team-a' },
      { kernelspec: 'k8s_python', namespace: 'team-a' },
      { kernelspec: 'k8s_r', namespace: AUTOMATIC_NAMESPACE },
    ];
    const m = new GatewayMetrics({ kernels: () => kernels, pendingKernels: () => 2, webSockets: () => 5, watchReconnects: () => 3, api: () => ({ reachable: false, outages: 1 }) });
    m.launch('k8s_python', 'success', '', 4.2);
    m.launch('k8s_python', 'failure', 'GP_KERNEL_IMAGE_PULL_FAILED', 0.3);
    m.relayed('iopub', 'to_client');
    m.kubeRequest('create', 'pods', 201);
    const text = m.expose();
    for (const def of Object.values(METRICS)) {
      expect(text).toContain(`# HELP ${def.name} `);
      expect(text).toContain(`# TYPE ${def.name} ${def.type}\n`);
    }
    const f = parseExposition(text);
    expect(sampleValue(f, 'gp_gateway_kernels_running', { kernelspec: 'k8s_python', namespace: 'team-a' })).toBe(2);
    expect(sampleValue(f, 'gp_gateway_kernels_running', { namespace: AUTOMATIC_NAMESPACE })).toBe(1);
    expect(sampleValue(f, 'gp_gateway_kernels_pending_reattach')).toBe(2);
    expect(sampleValue(f, 'gp_gateway_websockets_open')).toBe(5);
    expect(sampleValue(f, 'gp_gateway_kubernetes_watch_reconnects_total')).toBe(3);
    expect(sampleValue(f, 'gp_gateway_kubernetes_api_reachable')).toBe(0);
    expect(sampleValue(f, 'gp_gateway_kubernetes_api_outages_total')).toBe(1);
    expect(sampleValue(f, 'gp_gateway_kernel_launches_total', { result: 'failure', code: 'GP_KERNEL_IMAGE_PULL_FAILED' })).toBe(1);
    expect(sampleValue(f, 'gp_gateway_kernel_launch_duration_seconds_bucket', { result: 'success', le: '5' })).toBe(1);
    expect(sampleValue(f, 'gp_gateway_kernel_launch_duration_seconds_bucket', { result: 'success', le: '2.5' })).toBe(0);
    expect(sampleValue(f, 'gp_gateway_kubernetes_requests_total', { verb: 'create', resource: 'pods', code: '201' })).toBe(1);
  });
});
