/**
 * The Helm chart without Helm: its generated templates are current, and its defaults agree with the facts
 * defined elsewhere (manifests.ts, the Dockerfile, @gp/rbac). `helm.k8s.test.ts` renders it with the real helm.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_KERNEL_CLUSTER_ROLE, TEMPLATE_RESOURCES } from '@gp/rbac';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readDockerfile } from './dockerfile.js';
import { CHART_DIR, GENERATED_FILES, modeKey, renderGeneratedFiles, renderRbacTemplate, staleGeneratedFiles } from './helm-chart.js';
import { DEFAULT_HTTP_PORT, DEFAULT_RESPONSE_PORT, GATEWAY_ENV, gatewayManifests } from './manifests.js';
import { gatewayOptionTable } from '../src/options.js';

type Values = {
  image: { repository: string; tag: string };
  service: { port: number };
  responsePort: number;
  replicas: number;
  kernelStore: { type: string; persistence: { enabled: boolean } };
  kernels: { clusterRole: string };
  kernelImagePuller: { images: string[] };
  culling: { idleTimeout: number; interval: number; connected: boolean; busy: boolean };
};
const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Values;
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as {
  properties: Record<string, { properties?: Record<string, { items?: { enum?: string[] } }> }>;
};

describe('generated chart files', () => {
  it('are current: regenerate with `pnpm --filter @gp/gateway chart`', () => {
    expect(staleGeneratedFiles()).toEqual([]);
  });

  it('the staleness check detects a hand edit of a generated file', () => {
    const rendered = renderGeneratedFiles();
    const committed = readFileSync(GENERATED_FILES.rbac, 'utf8');
    expect(committed).toBe(rendered.rbac);
    expect(committed.replace('verbs: [get, list, watch, create, delete]', 'verbs: ["*"]')).not.toBe(rendered.rbac);
  });

  it('adds the state Role and its RoleBinding of @gp/rbac (STATE_RULES) with kernelStore.type kubernetes only', () => {
    const text = renderRbacTemplate();
    const block = /\{\{- if eq \$\.Values\.kernelStore\.type "kubernetes" \}\}\n([\s\S]*?)\{\{- end \}\}\n$/.exec(text)?.[1] ?? '';
    expect(block).toContain('kind: Role\nmetadata:\n  name: {{ include "gp-gateway.fullname" $ }}-state\n');
    expect(block).toContain('kind: RoleBinding\n');
    expect(block).toContain('resources: [secrets]\n  verbs: [get, list, watch, create, update, delete]');
    expect(block).toContain('resources: [leases]');
  });

  it('has one RBAC block per switch combination, and a fail with @gp/rbac reason for each refused one', () => {
    const text = renderRbacTemplate();
    const blocks = text.match(/if eq \$key "[^"]+"/g) ?? [];
    expect(blocks).toHaveLength(28); // 32 combinations, less the 4 without any mode
    expect(text).toContain(`eq $key "${modeKey({ shared: true, byo: false, auto: false, byoNamespaces: false, kernelServiceAccount: false })}"`);
    // byoNamespaces without byo, and a kernel service account in auto-only mode: refused as @gp/rbac refuses them.
    expect(text).toContain('{{- fail (printf "gp-gateway: these values are refused by @gp/rbac: Invalid value %s for byoNamespaces: expected no namespaces unless mode \\"byo\\" is enabled." (toJson $.Values.byoNamespaces)) }}');
    expect(text).toMatch(/Invalid value %q for kernels\.serviceAccount: expected no kernel service account unless mode \\"shared\\".*\$\.Values\.kernels\.serviceAccount\) }}/);
    expect(text).not.toMatch(/zz[a-z]+zz/); // every sentinel was replaced
  });
});

describe('chart defaults agree with the rest of the project', () => {
  it('matches the manifests generator and @gp/rbac', () => {
    expect(values.service.port).toBe(DEFAULT_HTTP_PORT);
    expect(values.responsePort).toBe(DEFAULT_RESPONSE_PORT);
    expect(values.kernels.clusterRole).toBe(DEFAULT_KERNEL_CLUSTER_ROLE);
    // The replicated mode, as gatewayManifests() deploys by default: kernel records in Secrets, 2 replicas.
    const deployment = gatewayManifests().find((o) => o.kind === 'Deployment') as { spec: { replicas: number } };
    const config = gatewayManifests().find((o) => o.kind === 'ConfigMap') as { data: Record<string, string> };
    expect(values.replicas).toBe(deployment.spec.replicas);
    expect(values.kernelStore.type).toBe(config.data[GATEWAY_ENV.kernelStore]);
    expect(values.kernelStore.persistence.enabled).toBe(false);
    expect(schema.properties.kernels?.properties?.templateResources?.items?.enum).toEqual([...TEMPLATE_RESOURCES]);
  });

  it('culls as the gateway does by default', () => {
    expect(values.culling).toEqual({
      idleTimeout: gatewayOptionTable.options.cull_idle_timeout.default,
      interval: gatewayOptionTable.options.cull_interval.default,
      connected: gatewayOptionTable.options.cull_connected.default,
      busy: gatewayOptionTable.options.cull_busy.default,
    });
  });

  it('sets the gateway options under the environment names the gateway reads', () => {
    const configMap = readFileSync(join(CHART_DIR, 'templates', 'configmap.yaml'), 'utf8');
    const { options } = gatewayOptionTable;
    for (const option of [options.allowed_env, options.cull_idle_timeout, options.cull_interval, options.cull_connected, options.cull_busy, options.state_file, options.kernel_store, options.log_format, options.ip, options.port, options.max_kernels, options.max_kernels_per_user, options.certfile, options.keyfile, options.client_ca]) {
      expect(configMap).toContain(`${option.env}:`);
    }
  });

  it('pre-pulls the kernel images the Dockerfile puts in its kernelspecs', () => {
    const args = readDockerfile().argDefaults;
    expect(values.kernelImagePuller.images).toEqual(['KERNEL_PYTHON_IMAGE', 'KERNEL_R_IMAGE', 'KERNEL_SPARK_IMAGE'].map((a) => args.get(a)));
  });

  it('documents every value in the chart README', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const leaves = (o: object, prefix = ''): string[] =>
      Object.entries(o).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) && k !== 'resources' && k !== 'extraConfig' ? leaves(v as object, `${prefix}${k}.`) : [`${prefix}${k}`]));
    for (const path of leaves(values)) {
      const last = path.split('.').pop()!;
      expect(readme, path).toMatch(new RegExp(`\\| [^|]*\`(${path.replaceAll('.', '\\.')}|[^\`]*\\.${last})\``));
    }
  });

  it('refuses in extraConfig every variable the chart sets itself', () => {
    const helpers = readFileSync(join(CHART_DIR, 'templates', '_helpers.tpl'), 'utf8');
    const forbidden = /define "gp-gateway\.reservedEnv" -}}\n([A-Z_ ]+)\n/.exec(helpers)?.[1]?.split(' ') ?? [];
    expect(forbidden.length).toBeGreaterThan(10);
    const configMap = readFileSync(join(CHART_DIR, 'templates', 'configmap.yaml'), 'utf8');
    const setByChart = [...configMap.matchAll(/^ {2}([A-Z_]+):/gm)].map((m) => m[1]);
    for (const name of [...setByChart, ...Object.values(GATEWAY_ENV), 'GP_NAMESPACE', 'GP_RESPONSE_IP']) expect(forbidden).toContain(name);
  });
});
