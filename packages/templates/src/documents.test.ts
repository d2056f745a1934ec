import { describe, expect, it } from 'vitest';
import { parseRenderedDocuments, RenderedYamlError } from './index.js';

describe('parseRenderedDocuments', () => {
  it('returns each Kubernetes object, skipping empty documents', () => {
    const docs = parseRenderedDocuments('# comment\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: Secret\ndata: {k: djE=}\n...\n');
    expect(docs.map((d) => d.kind)).toEqual(['Pod', 'Secret']);
    expect(docs[0]!.metadata).toEqual({ name: 'a' });
  });

  it('reads YAML 1.2 core scalars (no YAML 1.1 yes/no or octal surprises)', () => {
    const [doc] = parseRenderedDocuments('apiVersion: v1\nkind: X\na: yes\nb: 010\nc: 0o10\nd: "1"\ne: null\n');
    expect(doc).toMatchObject({ a: 'yes', b: 10, c: 8, d: '1', e: null });
  });

  const bad: [string, string, RegExp][] = [
    ['duplicate keys', 'apiVersion: v1\nkind: Pod\nkind: Secret\n', /not valid YAML/],
    ['syntax', 'apiVersion: v1\nkind: [Pod\n', /not valid YAML/],
    ['non-object document', 'apiVersion: v1\nkind: Pod\n---\n- a\n- b\n', /document 2 .* is a list/],
    ['scalar document', 'just text\n', /is a string/],
    ['missing kind', 'apiVersion: v1\nmetadata: {}\n', /no kind/],
    ['empty apiVersion', 'apiVersion: ""\nkind: Pod\n', /no apiVersion/],
    ['metadata not a mapping', 'apiVersion: v1\nkind: Pod\nmetadata: [a]\n', /metadata that is not a mapping/],
    ['unknown tag', 'apiVersion: v1\nkind: Pod\nx: !!python/object:os.system {}\n', /not valid YAML/],
    ['complex key', 'apiVersion: v1\nkind: Pod\n? [a, b]\n: c\n', /key that is a list or mapping/],
    ['merge keys stay plain keys', 'apiVersion: v1\nkind: Pod\nbase: &b {a: 1}\nx:\n  <<: *b\n  <<: *b\n', /not valid YAML/],
    ['binary', 'apiVersion: v1\nkind: Pod\nx: !!binary aGk=\n', /contains a (Buffer|Uint8Array) value/],
  ];
  it.each(bad)('refuses %s', (_title, text, message) => {
    expect(() => parseRenderedDocuments(text, { name: 'my.yaml.j2' })).toThrow(RenderedYamlError);
    expect(() => parseRenderedDocuments(text, { name: 'my.yaml.j2' })).toThrow(message);
    try {
      parseRenderedDocuments(text, { name: 'my.yaml.j2' });
    } catch (error) {
      expect((error as RenderedYamlError).code).toBe('GP_INVALID_MANIFEST');
      expect((error as Error).message).toContain('my.yaml.j2');
    }
  });

  it('bounds alias expansion (billion laughs) and document count', () => {
    const lines = ['apiVersion: v1', 'kind: Pod', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
    expect(() => parseRenderedDocuments(lines.join('\n'))).toThrow(/aliases are limited/);
    expect(parseRenderedDocuments('apiVersion: v1\nkind: Pod\na: &x [1]\nb: *x\n')[0]).toMatchObject({ a: [1], b: [1] });
    expect(() => parseRenderedDocuments('apiVersion: v1\nkind: Pod\na: &x [1]\nb: *x\n', { maxAliasCount: 0 })).toThrow(RenderedYamlError);
    expect(() => parseRenderedDocuments('apiVersion: v1\nkind: A\n---\napiVersion: v1\nkind: B\n', { maxDocuments: 1 })).toThrow(/at most 1/);
  });
});
