/**
 * The state Role of the replicated gateway (@gp/rbac `STATE_RULES`, `kernelStore: 'kubernetes'`) is least
 * privilege, proven on the real control plane (RBAC enforced): with every verb, the store and the leases work as
 * the generated service account (and replicas.k8s.test.ts runs whole gateways as it); without any one verb, the
 * step that verb is annotated with fails with the API server's 403 for exactly that verb and resource.
 */
import { randomUUID } from 'node:crypto';
import { createKubeClient, WatchHub } from '@gp/launcher';
import { grantedVerbs, rbacManifests, STATE_RULES, withoutVerb, type RbacObject, type RuleTables } from '@gp/rbac';
import { silentLogger } from '@gp/core';
import { useCluster } from '@gp/testkit';
import type { KubeConfig } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { KubernetesKernelStore } from '../kube-store.js';
import type { KernelRecord } from '../store.js';
import { ReplicaLeases } from './leases.js';
import { applyRbac, canI } from './rbac.test-helper.js';

const cluster = useCluster();
const admin = createKubeClient(cluster.kc);
let ns: string;
let serial = 0;

beforeAll(async () => {
  ns = await cluster.createNamespace('state-rbac');
});

/** The generated objects for a fresh app name (optionally without one state verb), applied; its identity once bound. */
async function identity(tables: RuleTables = {}): Promise<KubeConfig> {
  const appName = `st${++serial}`;
  const objects: RbacObject[] = rbacManifests({ appName, namespace: ns, kernelStore: 'kubernetes' }, tables);
  await applyRbac(admin, objects);
  const kc = await cluster.kubeConfigForServiceAccount(ns, appName);
  // Both bindings seen by the authorizer: the application Role's and the state Role's (some verb it still has).
  const state = objects.find((o) => o.kind === 'Role' && o.metadata.name === `${appName}-state`);
  const rule = state && 'rules' in state ? state.rules[0] : undefined;
  await cluster.waitFor(async () => (await canI(kc, ns, 'create', 'pods')) && (!rule || (await canI(kc, ns, rule.verbs[0]!, rule.resources![0]!, rule.apiGroups![0]))), {
    timeoutMs: 30_000,
    description: `${appName}'s roles to be bound`,
  });
  return kc;
}

function record(kernelId: string): KernelRecord {
  return { kernelId, name: 'k8s_python', env: {}, provisionerInfo: { kernel_id: kernelId, kernel_ns: ns }, started: new Date().toISOString() };
}

function store(kc: KubeConfig): KubernetesKernelStore {
  return new KubernetesKernelStore({ kubeConfig: kc, hub: WatchHub.forKubeConfig(kc), namespace: ns, logger: silentLogger });
}

async function refused(step: () => Promise<unknown>, verb: string, resource: string): Promise<void> {
  const outcome = await step().then(
    () => undefined,
    (e: unknown) => e as { statusCode?: number; reason?: string; kubernetesMessage?: string; apiMessage?: string },
  );
  expect(outcome, `expected ${verb} ${resource} to be refused`).toBeDefined();
  expect(outcome).toMatchObject({ statusCode: 403, reason: 'Forbidden' });
  expect(outcome!.kubernetesMessage ?? outcome!.apiMessage).toMatch(new RegExp(`cannot ${verb} resource "${resource}"`));
}

/** The step each (rule, verb) is annotated with, run as `kc`; it must fail with 403 when the verb is missing. */
const STEPS: Record<string, (kc: KubeConfig) => Promise<unknown>> = {
  'kernel-records/get': (kc) => store(kc).read(randomUUID()),
  'kernel-records/list': async (kc) => {
    const s = store(kc);
    try {
      await s.start(AbortSignal.timeout(30_000));
    } finally {
      s.close();
    }
  },
  'kernel-records/watch': async (kc) => {
    const s = store(kc);
    await s.start(AbortSignal.timeout(30_000));
    const error = await cluster.waitFor(() => s.watchError, { timeoutMs: 30_000, description: 'the record watch to fail' });
    s.close();
    throw error;
  },
  'kernel-records/create': (kc) => store(kc).put(record(randomUUID())),
  'kernel-records/update': async (kc) => {
    const id = randomUUID();
    await store(cluster.kc).put(record(id));
    return store(kc).put(record(id));
  },
  'kernel-records/delete': async (kc) => {
    const id = randomUUID();
    await store(cluster.kc).put(record(id));
    return store(kc).delete(id);
  },
  'replica-leases/get': (kc) => new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger }).alive('someone-else'),
  'replica-leases/list': (kc) => new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger }).collectExpired(),
  'replica-leases/create': (kc) => new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger }).renew(),
  'replica-leases/update': async (kc) => {
    const leases = new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger });
    await leases.renew();
    return leases.renew();
  },
  'replica-leases/delete': async (kc) => {
    const leases = new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger });
    await leases.renew();
    return leases.release();
  },
};

describe('the state Role (kernel records and replica leases)', () => {
  it('lets the generated service account run every step', async () => {
    const kc = await identity();
    const s = store(kc);
    await s.start(AbortSignal.timeout(30_000));
    const id = randomUUID();
    await s.put(record(id));
    await s.put({ ...record(id), restarting: new Date().toISOString() });
    expect((await s.get(id, { fresh: true }))?.restarting).toBeDefined();
    await cluster.waitFor(async () => (await s.list()).some((r) => r.kernelId === id), { timeoutMs: 30_000, description: 'the watch to see the record' });
    await s.delete(id);
    expect(await s.read(id)).toBeUndefined();
    s.close();
    const one = new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger });
    const two = new ReplicaLeases({ kubeConfig: kc, namespace: ns, logger: silentLogger });
    await one.renew();
    await two.renew();
    await one.renew();
    expect([one.isLeader, two.isLeader].filter(Boolean)).toHaveLength(1);
    expect(await one.alive(two.id)).toBe(true);
    await one.collectExpired();
    await two.stop();
    expect(await one.alive(two.id)).toBe(false);
    await one.stop();
  });

  const cases = grantedVerbs(STATE_RULES);
  it('annotates a step for every verb it grants', () => {
    expect(cases.map((c) => `${c.id}/${c.verb}`).sort()).toEqual(Object.keys(STEPS).sort());
  });

  for (const c of cases) {
    it(`needs ${c.resource} ${c.verb}: without it, "${c.step.split(':')[0]}" fails with 403`, async () => {
      const kc = await identity({ state: withoutVerb(STATE_RULES, c.id, c.verb) });
      await refused(() => STEPS[`${c.id}/${c.verb}`]!(kc), c.verb, c.resource);
    });
  }
});
