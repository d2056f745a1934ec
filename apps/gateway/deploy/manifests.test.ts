import { readFileSync } from 'node:fs';
import { ConfigError } from '@gp/core';
import type { V1ConfigMap, V1Deployment, V1Service } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GATEWAY_ENV, gatewayManifests, manifestsToYaml, namespaceModeEnv, type GatewayManifestOptions, type GatewayObject } from './manifests.js';
import { RENDERED_PATH, renderDefaultDeployment } from './render.js';
import { gatewayOptionTable } from '../src/options.js';
import { matchRoute } from '../src/router.js';

function find<T>(objects: GatewayObject[], kind: string): T {
  const found = objects.find((o) => o.kind === kind);
  if (!found) throw new Error(`no ${kind} in ${objects.map((o) => o.kind).join(', ')}`);
  return found as T;
}

function configOf(options: GatewayManifestOptions = {}): Record<string, string> {
  return find<V1ConfigMap>(gatewayManifests(options), 'ConfigMap').data ?? {};
}

function expectConfigError(options: GatewayManifestOptions, option: string, valueInMessage: string): void {
  let error: unknown;
  try {
    gatewayManifests(options);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).code).toBe('GP_INVALID_CONFIG');
  expect((error as ConfigError).option).toBe(option);
  expect((error as ConfigError).message).toContain(valueInMessage);
}

describe('gatewayManifests', () => {
  it('emits the namespace, the RBAC of @gp/rbac, then config, deployment and service, all in the namespace', () => {
    const objects = gatewayManifests({ namespace: 'kernels-gw' });
    expect(objects.map((o) => o.kind)).toEqual(['Namespace', 'ServiceAccount', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget']);
    for (const o of objects.slice(1)) expect(o.metadata?.namespace).toBe('kernels-gw');
    expect(gatewayManifests({ createNamespace: false }).map((o) => o.kind)[0]).toBe('ServiceAccount');
  });

  it('runs the deployment as the service account the RBAC binds', () => {
    const objects = gatewayManifests({ name: 'gw', modes: ['shared', 'auto'] });
    const deployment = find<V1Deployment>(objects, 'Deployment');
    const bindings = objects.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') as { subjects: { name: string }[] }[];
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect(b.subjects.map((s) => s.name)).toContain(deployment.spec?.template.spec?.serviceAccountName);
    expect(deployment.spec?.template.spec?.serviceAccountName).toBe('gw');
  });

  it('sets GP_SHARED_NAMESPACE from the namespace modes', () => {
    expect(namespaceModeEnv(['shared'])).toEqual({ GP_SHARED_NAMESPACE: 'true' });
    expect(namespaceModeEnv(['shared', 'byo'])).toEqual({ GP_SHARED_NAMESPACE: 'true' });
    expect(namespaceModeEnv(['byo'])).toEqual({ GP_SHARED_NAMESPACE: 'false' });
    expect(namespaceModeEnv(['auto'])).toEqual({ GP_SHARED_NAMESPACE: 'false' });
    expect(namespaceModeEnv(['shared', 'auto'])).toEqual({ GP_SHARED_NAMESPACE: 'false' });
    expect(configOf({ modes: ['automatic'] }).GP_SHARED_NAMESPACE).toBe('false');
    expect(configOf({ modes: ['auto'], kernelClusterRole: 'my-kernels' }).GP_KERNEL_CLUSTER_ROLE).toBe('my-kernels');
  });

  it('wires ports, probes, the pod IP for the response listener and the token from a Secret', () => {
    const objects = gatewayManifests({ port: 9000, responsePort: 9001, tokenSecretName: 'api-token' });
    const container = find<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 9000, protocol: 'TCP' },
      { name: 'response', containerPort: 9001, protocol: 'TCP' },
    ]);
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.valueFrom]));
    expect(env.GP_RESPONSE_IP).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(env.GP_NAMESPACE).toEqual({ fieldRef: { fieldPath: 'metadata.namespace' } });
    expect(env[GATEWAY_ENV.token]).toEqual({ secretKeyRef: { name: 'api-token', key: 'token' } });
    const config = find<V1ConfigMap>(objects, 'ConfigMap').data!;
    expect(config[GATEWAY_ENV.port]).toBe('9000');
    expect(config.GP_RESPONSE_PORT).toBe('9001');
    expect(find<V1Service>(objects, 'Service').spec?.ports).toEqual([{ name: 'http', port: 9000, targetPort: 'http', protocol: 'TCP' }]);
  });

  it('runs as a non-root user without privileges, with a read-only root file system', () => {
    const pod = find<V1Deployment>(gatewayManifests(), 'Deployment').spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers[0]!.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it('keeps the kernel store on a PersistentVolumeClaim when asked, else on an emptyDir', () => {
    const withPvc = gatewayManifests({ kernelStore: 'file', stateVolumeSize: '2Gi', storageClassName: 'fast' });
    const pvc = find<{ metadata: { name: string }; spec: unknown }>(withPvc, 'PersistentVolumeClaim');
    expect(pvc.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'fast' });
    const volumes = find<V1Deployment>(withPvc, 'Deployment').spec!.template.spec!.volumes!;
    expect(volumes.find((v) => v.name === 'state')).toEqual({ name: 'state', persistentVolumeClaim: { claimName: pvc.metadata.name } });
    const plain = find<V1Deployment>(gatewayManifests(), 'Deployment').spec!.template.spec!.volumes!;
    expect(plain.find((v) => v.name === 'state')).toEqual({ name: 'state', emptyDir: {} });
  });

  it('runs 2 replicas sharing their kernels through Secrets by default: RollingUpdate, a PodDisruptionBudget, the state Role', () => {
    const objects = gatewayManifests({ namespace: 'gw' });
    const deployment = find<V1Deployment>(objects, 'Deployment');
    expect(deployment.spec?.replicas).toBe(2);
    expect(deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect(deployment.spec?.template.spec?.containers[0]?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(find<{ spec: unknown }>(objects, 'PodDisruptionBudget').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { app: 'gp-gateway', component: 'gateway' } } });
    expect(configOf({})).toMatchObject({ GP_GATEWAY_KERNEL_STORE: 'kubernetes' });
    expect(configOf({}).GP_GATEWAY_STATE_FILE).toBeUndefined();
    expect(objects.some((o) => o.kind === 'Role' && o.metadata?.name === 'gp-gateway-state')).toBe(true);
    // The file store: one gateway, Recreate, no PDB, no state Role.
    const single = gatewayManifests({ kernelStore: 'file' });
    expect(find<V1Deployment>(single, 'Deployment').spec).toMatchObject({ replicas: 1, strategy: { type: 'Recreate' } });
    expect(single.some((o) => o.kind === 'PodDisruptionBudget' || o.metadata?.name === 'gp-gateway-state')).toBe(false);
    expectConfigError({ kernelStore: 'file', replicas: 2 }, 'replicas', '2');
    expectConfigError({ stateVolumeSize: '1Gi' }, 'stateVolumeSize', '1Gi');
  });

  it('adds operator configuration to the ConfigMap', () => {
    expect(configOf({ config: { GP_LAUNCH_TIMEOUT: '90', GP_PROHIBITED_UIDS: '0,1' } })).toMatchObject({ GP_LAUNCH_TIMEOUT: '90', GP_PROHIBITED_UIDS: '0,1' });
  });

  it('refuses bad options with the option, the value and what is valid, before building anything', () => {
    expectConfigError({ name: 'Gateway' }, 'name', '"Gateway"');
    expectConfigError({ namespace: 'a_b' }, 'namespace', '"a_b"');
    expectConfigError({ port: 70000 }, 'port', '70000');
    expectConfigError({ port: 8877 }, 'responsePort', 'other than the HTTP port 8877');
    expectConfigError({ image: 'my image' }, 'image', 'without spaces');
    expectConfigError({ stateVolumeSize: 'lots' }, 'stateVolumeSize', '"lots"');
    expectConfigError({ config: { 'bad-name': 'x' } }, 'config', '"bad-name"');
    expectConfigError({ config: { GP_GATEWAY_TOKEN: 'x' } }, 'config', 'Secret');
    expectConfigError({ config: { MY_API_KEY: 'x' } }, 'config', 'Secret');
    expectConfigError({ config: { GP_SHARED_NAMESPACE: 'false' } }, 'config', 'derive');
    // @gp/rbac's own validation comes through unchanged.
    expectConfigError({ modes: ['everywhere' as 'shared'] }, 'modes', 'everywhere');
    expectConfigError({ kernelClusterRole: 'cluster-admin' }, 'kernelClusterRole', 'cluster-admin');
  });

  it('never writes a token value into the manifests', () => {
    const yaml = manifestsToYaml(gatewayManifests({ modes: ['shared', 'byo', 'auto'], sparkOperator: true }));
    expect(yaml).not.toMatch(/kind: Secret\b/);
    expect(yaml).toContain('secretKeyRef');
  });
});

describe('agreement with the gateway', () => {
  it('sets only environment variables the gateway reads, and probes endpoints it serves', () => {
    const known = new Set(gatewayOptionTable.list.flatMap((def) => [...def.env]));
    for (const name of Object.values(GATEWAY_ENV)) expect(known, name).toContain(name);
    const objects = gatewayManifests({ config: { GP_GATEWAY_CULL_IDLE_TIMEOUT: '3600' } });
    for (const key of Object.keys(configOf({ config: { GP_GATEWAY_CULL_IDLE_TIMEOUT: '3600' } })).filter((k) => k.startsWith('GP_GATEWAY_'))) {
      expect(known, key).toContain(key);
    }
    const container = find<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(matchRoute(probe!.httpGet!.path!)?.kind).toBe(probe!.httpGet!.path!.slice(1));
    }
  });
});

describe('kubernetes.yaml', () => {
  it('is the current rendering of the generator (run `pnpm --filter @gp/gateway deploy:render` after changes)', () => {
    expect(readFileSync(RENDERED_PATH, 'utf8')).toBe(renderDefaultDeployment());
  });

  it('parses back to exactly the generated objects, with YAML 1.1 booleans quoted', () => {
    const docs = parseAllDocuments(readFileSync(RENDERED_PATH, 'utf8'), { version: '1.1' });
    expect(docs.every((d) => d.errors.length === 0)).toBe(true);
    expect(docs.map((d) => d.toJS())).toEqual(JSON.parse(JSON.stringify(gatewayManifests())));
    expect(readFileSync(RENDERED_PATH, 'utf8')).toContain('GP_SHARED_NAMESPACE: "true"');
  });
});
