import { describe, expect, it } from 'vitest';
import {
  APPLICATION_RULES,
  KERNEL_RULES,
  STATE_RULES,
  applicableRules,
  applicationBindings,
  applicationRole,
  grantedVerbs,
  kernelClusterRole,
  rbacManifests,
  withoutRule,
  withoutVerb,
  type ClusterRole,
  type PolicyRule,
  type RbacObject,
  type RbacOptions,
  type Role,
} from './index.js';

const kinds = (objects: RbacObject[]) => objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
const rulesOf = (objects: RbacObject[], kind: 'Role' | 'ClusterRole', name: string): PolicyRule[] => {
  const role = objects.find((o) => o.kind === kind && o.metadata.name === name) as Role | ClusterRole | undefined;
  if (!role) throw new Error(`no ${kind} ${name} in ${kinds(objects).join(', ')}`);
  return role.rules;
};
const grants = (rules: PolicyRule[], group: string, resource: string): string[] =>
  rules.filter((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource)).flatMap((r) => r.verbs);

const COMBINATIONS: RbacOptions[] = [
  {},
  { modes: ['byo'] },
  { modes: ['auto'] },
  { modes: ['shared', 'byo', 'auto'], sparkOperator: true, templateResources: ['secrets', 'configmaps'] },
  { modes: ['shared', 'byo'], byoNamespaces: ['team-a', 'team-b'], kernelServiceAccount: 'kernel' },
  { modes: ['shared'], kernelServiceAccount: 'kernel', sparkOperator: true },
];

describe('shared mode (the default)', () => {
  const objects = rbacManifests({ namespace: 'gp' });

  it('is a ServiceAccount, a Role and a RoleBinding in the app namespace, nothing cluster-scoped', () => {
    expect(kinds(objects)).toEqual([
      'ServiceAccount/gp/gateway-provisioners',
      'Role/gp/gateway-provisioners-controller',
      'RoleBinding/gp/gateway-provisioners-controller',
    ]);
    expect(applicationBindings({ namespace: 'gp' })[0]).toMatchObject({
      roleRef: { kind: 'Role', name: 'gateway-provisioners-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'gateway-provisioners', namespace: 'gp' }],
    });
  });

  it('grants exactly the pod and event verbs the launcher calls', () => {
    expect(rulesOf(objects, 'Role', 'gateway-provisioners-controller')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: [''], resources: ['events'], verbs: ['list', 'watch'] },
    ]);
  });
});

describe('automatic namespaces', () => {
  const objects = rbacManifests({ modes: ['auto'], kernelClusterRole: 'my-kernel' });
  const app = rulesOf(objects, 'ClusterRole', 'gateway-provisioners-controller');

  it('binds the application ClusterRole cluster-wide and ships the kernel ClusterRole', () => {
    expect(kinds(objects)).toEqual([
      'ServiceAccount/default/gateway-provisioners',
      'ClusterRole//my-kernel',
      'ClusterRole//gateway-provisioners-controller',
      'ClusterRoleBinding//gateway-provisioners-controller',
    ]);
  });

  it('may create namespaces, service accounts and role bindings, and bind only the kernel role', () => {
    expect(grants(app, '', 'namespaces')).toEqual(['get', 'create', 'delete']);
    expect(grants(app, '', 'serviceaccounts')).toEqual(['create']);
    expect(grants(app, 'rbac.authorization.k8s.io', 'rolebindings')).toEqual(['create']);
    expect(app.filter((r) => r.verbs.includes('bind'))).toEqual([
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['my-kernel'], verbs: ['bind'] },
    ]);
  });

  it('gives the kernel role the spec\'s in-namespace rights', () => {
    expect(rulesOf(objects, 'ClusterRole', 'my-kernel')).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'create'] },
      { apiGroups: [''], resources: ['services'], verbs: ['list'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list'] },
    ]);
  });
});

describe('bring-your-own namespaces', () => {
  it('without a namespace list, grants the namespaced verbs cluster-wide but no namespace or binding rights', () => {
    const objects = rbacManifests({ modes: ['byo'] });
    expect(kinds(objects)).toEqual([
      'ServiceAccount/default/gateway-provisioners',
      'ClusterRole//gateway-provisioners-controller',
      'ClusterRoleBinding//gateway-provisioners-controller',
    ]);
    const app = rulesOf(objects, 'ClusterRole', 'gateway-provisioners-controller');
    expect(app.map((r) => r.resources?.[0])).toEqual(['pods', 'events']);
  });

  it('with a namespace list, binds by RoleBindings in the app namespace and each listed one only', () => {
    const objects = rbacManifests({ modes: ['shared', 'byo'], byoNamespaces: ['team-a', 'team-b', 'team-a'] });
    expect(kinds(objects)).toEqual([
      'ServiceAccount/default/gateway-provisioners',
      'ClusterRole//gateway-provisioners-controller',
      'RoleBinding/default/gateway-provisioners-controller',
      'RoleBinding/team-a/gateway-provisioners-controller',
      'RoleBinding/team-b/gateway-provisioners-controller',
    ]);
    expect(objects.some((o) => o.kind === 'ClusterRoleBinding')).toBe(false);
  });
});

describe('kernel service account', () => {
  it('is created and bound to the kernel ClusterRole by RoleBindings only', () => {
    const objects = rbacManifests({ modes: ['shared', 'byo'], byoNamespaces: ['team-a'], kernelServiceAccount: 'kernel' });
    expect(kinds(objects)).toEqual([
      'ServiceAccount/default/gateway-provisioners',
      'ServiceAccount/default/kernel',
      'ServiceAccount/team-a/kernel',
      'ClusterRole//kernel-controller',
      'ClusterRole//gateway-provisioners-controller',
      'RoleBinding/default/gateway-provisioners-controller',
      'RoleBinding/team-a/gateway-provisioners-controller',
      'RoleBinding/default/gateway-provisioners-kernel',
      'RoleBinding/team-a/gateway-provisioners-kernel',
    ]);
    const kernelBinding = objects.find((o) => o.metadata.name === 'gateway-provisioners-kernel' && o.metadata.namespace === 'team-a');
    expect(kernelBinding).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'kernel-controller' },
      subjects: [{ kind: 'ServiceAccount', name: 'kernel', namespace: 'team-a' }],
    });
  });

  it.each(COMBINATIONS)('never binds the kernel role cluster-wide (%j)', (options) => {
    const role = kernelClusterRole(options).metadata.name;
    const clusterBindings = rbacManifests(options).filter((o) => o.kind === 'ClusterRoleBinding');
    expect(clusterBindings.every((b) => 'roleRef' in b && b.roleRef.name !== role)).toBe(true);
  });
});

describe('opt-in rules', () => {
  it('ships SparkApplication rules only with the Spark Operator', () => {
    const without = applicationRole({ modes: ['auto'] }).rules;
    const withSpark = applicationRole({ modes: ['auto'], sparkOperator: true }).rules;
    expect(grants(without, 'sparkoperator.k8s.io', 'sparkapplications')).toEqual([]);
    expect(grants(withSpark, 'sparkoperator.k8s.io', 'sparkapplications')).toEqual(['get', 'list', 'watch', 'create', 'delete']);
  });

  it('ships template-resource rules only for the resources asked for', () => {
    const rules = applicationRole({ templateResources: ['persistentvolumeclaims', 'secrets'] }).rules;
    expect(rules.map((r) => r.resources?.[0])).toEqual(['pods', 'events', 'secrets', 'persistentvolumeclaims']);
    expect(grants(rules, '', 'secrets')).toEqual(['create']);
    expect(grants(applicationRole({}).rules, '', 'secrets')).toEqual([]);
  });

  it('appends extra rules after the generated ones, as copies', () => {
    const extra = { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] };
    const role = applicationRole({ extraRules: [extra] });
    expect(role.rules.at(-1)).toEqual(extra);
    role.rules.at(-1)?.verbs.push('delete');
    expect(extra.verbs).toEqual(['get']);
  });
});

describe('replicated gateway state (kernelStore: kubernetes)', () => {
  it('adds a Role and RoleBinding in the app namespace only, even when the app role is cluster-wide', () => {
    for (const modes of [['shared'], ['auto']] as const) {
      const objects = rbacManifests({ namespace: 'gw', modes, kernelStore: 'kubernetes' });
      const state = objects.filter((o) => o.metadata.name === 'gateway-provisioners-state');
      expect(kinds(state)).toEqual(['Role/gw/gateway-provisioners-state', 'RoleBinding/gw/gateway-provisioners-state']);
      expect((state[0] as Role).rules).toEqual([
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'create', 'update', 'delete'] },
      ]);
    }
  });

  it('ships nothing for the file store, and no secret rights beyond the state Role', () => {
    expect(kinds(rbacManifests({ namespace: 'gw' }))).not.toContain('Role/gw/gateway-provisioners-state');
    const app = applicationRole({ namespace: 'gw', kernelStore: 'kubernetes' }) as Role;
    expect(app.rules.some((r) => r.resources?.includes('secrets') || r.resources?.includes('leases'))).toBe(false);
    expect(grantedVerbs(STATE_RULES).every((v) => v.step.length > 0)).toBe(true);
  });
});

describe('least privilege', () => {
  it.each(COMBINATIONS)('has no wildcard, no cluster-admin, no update/patch (%j)', (options) => {
    const text = JSON.stringify(rbacManifests(options));
    expect(text).not.toContain('*');
    expect(text).not.toContain('cluster-admin');
    for (const o of rbacManifests(options)) {
      if (o.kind === 'Role' || o.kind === 'ClusterRole') {
        for (const rule of o.rules) expect(rule.verbs.filter((v) => ['update', 'patch', 'deletecollection', 'escalate'].includes(v))).toEqual([]);
      }
    }
  });

  it('gives the app no namespace, service-account or binding rights outside automatic mode', () => {
    for (const options of [{}, { modes: ['shared', 'byo'] as const }]) {
      const rules = applicationRole({ ...options, modes: [...(options.modes ?? ['shared'])] }).rules;
      expect(rules.filter((r) => r.resources?.some((x) => ['namespaces', 'serviceaccounts', 'rolebindings', 'clusterroles'].includes(x)))).toEqual([]);
    }
  });
});

describe('rules tables', () => {
  it('annotate every verb with the step that needs it, and have unique ids', () => {
    for (const table of [APPLICATION_RULES, KERNEL_RULES]) {
      expect(new Set(table.map((e) => e.id)).size).toBe(table.length);
      for (const entry of table) {
        expect(Object.keys(entry.verbs).length).toBeGreaterThan(0);
        for (const step of Object.values(entry.verbs)) expect(step).toMatch(/^(launch|ready|re-attach|restart|terminate|cleanup|kernel):/);
      }
    }
  });

  it('drive the builders: removing a verb or a rule removes exactly that grant', () => {
    const options: RbacOptions = { modes: ['auto'] };
    const full = applicationRole(options).rules;
    const noDelete = applicationRole(options, { application: withoutVerb(APPLICATION_RULES, 'pods', 'delete') }).rules;
    expect(grants(noDelete, '', 'pods')).toEqual(['get', 'list', 'watch', 'create']);
    expect(noDelete.length).toBe(full.length);
    const noBind = applicationRole(options, { application: withoutVerb(APPLICATION_RULES, 'bind-kernel-role', 'bind') }).rules;
    expect(noBind.length).toBe(full.length - 1);
    expect(noBind.some((r) => r.verbs.includes('bind'))).toBe(false);
    const noEvents = applicationRole(options, { application: withoutRule(APPLICATION_RULES, 'events') }).rules;
    expect(grants(noEvents, '', 'events')).toEqual([]);
    const kernel = kernelClusterRole(options, { kernel: withoutRule(KERNEL_RULES, 'services') }).rules;
    expect(grants(kernel, '', 'services')).toEqual([]);
  });

  it('reject unknown rule ids and verbs, so a minimality test cannot pass on a typo', () => {
    expect(() => withoutRule(APPLICATION_RULES, 'pod')).toThrow(/No rule "pod"/);
    expect(() => withoutVerb(APPLICATION_RULES, 'pods', 'patch')).toThrow(/No verb "patch" in rule "pods"/);
  });

  it('enumerate every shipped (rule, verb) pair with its step, for minimality tests', () => {
    const cases = grantedVerbs(APPLICATION_RULES, { modes: ['auto'] });
    expect(cases.map((c) => `${c.id}:${c.verb}`)).toEqual([
      'pods:get', 'pods:list', 'pods:watch', 'pods:create', 'pods:delete', 'events:list', 'events:watch',
      'namespaces:get', 'namespaces:create', 'namespaces:delete', 'serviceaccounts:create', 'rolebindings:create', 'bind-kernel-role:bind',
    ]);
    expect(cases.find((c) => c.verb === 'bind')?.step).toMatch(/^launch: RBAC escalation prevention/);
    for (const c of cases) {
      const rules = applicationRole({ modes: ['auto'] }, { application: withoutVerb(APPLICATION_RULES, c.id, c.verb) }).rules;
      expect(rules.some((r) => r.resources?.includes(c.resource) && r.verbs.includes(c.verb))).toBe(false);
    }
  });

  it('list which entries ship for given options', () => {
    expect(applicableRules(APPLICATION_RULES, {}).map((e) => e.id)).toEqual(['pods', 'events']);
    expect(applicableRules(APPLICATION_RULES, { modes: ['auto'], sparkOperator: true }).map((e) => e.id)).toEqual([
      'pods', 'events', 'sparkapplications', 'namespaces', 'serviceaccounts', 'rolebindings', 'bind-kernel-role',
    ]);
  });
});

describe('purity', () => {
  it('returns equal, independent objects for equal options', () => {
    const a = rbacManifests({ modes: ['auto'] });
    const b = rbacManifests({ modes: ['auto'] });
    expect(a).toEqual(b);
    (a[0] as RbacObject).metadata.labels!['app'] = 'changed';
    (applicationRole({ modes: ['auto'] }).rules[0] as PolicyRule).verbs.push('patch');
    expect(rbacManifests({ modes: ['auto'] })).toEqual(b);
    expect(APPLICATION_RULES.find((e) => e.id === 'pods')?.verbs).not.toHaveProperty('patch');
  });
});
