import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { rbacManifests, toJson, toYaml } from './index.js';

describe('toYaml', () => {
  const objects = rbacManifests({ modes: ['shared', 'auto'], sparkOperator: true });
  const text = toYaml(objects);

  it('writes one document per object, in order, that parses back to the same objects', () => {
    const docs = parseAllDocuments(text);
    expect(Array.isArray(docs) && docs.every((d) => d.errors.length === 0)).toBe(true);
    expect((docs as { toJS(): unknown }[]).map((d) => d.toJS())).toEqual(objects);
    expect(text.startsWith('---\napiVersion: v1\nkind: ServiceAccount\n')).toBe(true);
  });

  it('writes lists of values in flow style, without anchors', () => {
    expect(text).toContain('verbs: [get, list, watch, create, delete]');
    expect(text).toContain('apiGroups: [""]');
    expect(text).not.toMatch(/[&*][a-z]+\d/);
  });

  it('quotes values that kubectl\'s YAML 1.1 parser would read as booleans', () => {
    const out = toYaml(rbacManifests({ namespace: 'yes', appName: 'on' }));
    expect(out).toContain('namespace: "yes"');
    expect(out).toContain('app: "on"');
  });

  it('is stable: the same options give the same text', () => {
    expect(toYaml(rbacManifests({ modes: ['shared', 'auto'], sparkOperator: true }))).toBe(text);
  });
});

describe('toJson', () => {
  it('writes a v1 List (what kubectl apply -f - accepts) with the objects in order', () => {
    const objects = rbacManifests({ modes: ['byo'] });
    const text = toJson(objects);
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ apiVersion: 'v1', kind: 'List', items: objects });
  });
});
